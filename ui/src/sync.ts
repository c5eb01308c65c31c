// Settings › Sync and the remote devices: the connection state in words and the devices signed in
// elsewhere. The address and device-name rules are the engine's (`check_field`, see checks.ts).
import type { SessionInfo, SyncStatus } from "./bindings";
import { clockWords } from "./format";

/** The engine's sync link, as `get_sync_status` and the `sync_status` event report it. */
export type SyncStatusLike = SyncStatus;

/** The phone remote's address: the sync server's, over HTTP(S) (`ws://h:4860/sync` → `http://h:4860/`). */
export function remoteUrl(wsUrl: string): string | null {
  try {
    const u = new URL(wsUrl.trim());
    if (u.protocol !== "ws:" && u.protocol !== "wss:") return null;
    return `${u.protocol === "wss:" ? "https" : "http"}://${u.host}/`;
  } catch {
    return null;
  }
}

/** Why the last attempt failed, in plain words ("wrong token", "cannot reach the server"). */
export function syncErrorWords(error: string | null): string {
  const e = (error ?? "").trim();
  if (e === "") return "no answer yet";
  if (/refused the (sync )?token|unauthori[sz]ed|wrong token|unknown token/i.test(e)) return "wrong token";
  if (/no (sync )?token/i.test(e)) return "no token";
  if (/another protocol version|unsupported.version/i.test(e)) return "the server speaks another protocol version";
  if (/connection refused|cannot reach|unreachable|no route/i.test(e)) return "cannot reach the server";
  if (/stopped answering|did not answer|timed? ?out/i.test(e)) return "the server stopped answering";
  if (/answered HTTP \d+/i.test(e)) return "that address is not a sync server";
  if (/not a valid URL|bad sync server address/i.test(e)) return "the address is not valid";
  if (/shutting.down|restart/i.test(e)) return "the server is restarting";
  if (/dropped|closed the connection/i.test(e)) return "the connection dropped";
  return e;
}

/** The connection state in words: "Connected to …", "Retrying: wrong token", "Off". */
export function syncStateWords(s: SyncStatusLike): string {
  const server = s.server ?? "the sync server";
  switch (s.state) {
    case "off":
      return s.last_error ? `Off: ${syncErrorWords(s.last_error)}` : "Off";
    case "connecting":
      return `Connecting to ${server}…`;
    case "connected":
      return `Connected to ${server}`;
    case "retrying":
      return `Retrying: ${syncErrorWords(s.last_error)}`;
  }
}

export interface RemoteDevice {
  id: string;
  name: string;
  /** The earliest connection of this device (ISO time). */
  since: string;
  /** Connections of this device (two tabs on one phone count once, with 2). */
  connections: number;
}

/** The remote devices in the presence list (sessions `device:<id>@<conn>`), one per device id,
 * oldest first. */
export function remoteDevices(presence: SessionInfo[]): RemoteDevice[] {
  const byId = new Map<string, RemoteDevice>();
  for (const s of presence) {
    if (s.kind !== "device") continue;
    const m = /^device:(.+)@[^@]*$/.exec(s.id);
    const id = m ? m[1] : s.id;
    const prev = byId.get(id);
    if (!prev) {
      byId.set(id, { id, name: s.device ?? id, since: s.joined_at, connections: 1 });
    } else {
      prev.connections += 1;
      if (Date.parse(s.joined_at) < Date.parse(prev.since)) prev.since = s.joined_at;
    }
  }
  return [...byId.values()].sort((a, b) => Date.parse(a.since) - Date.parse(b.since) || a.id.localeCompare(b.id));
}

/** The devices of a sync status, grouped the same way. */
export function statusDevices(s: SyncStatusLike): RemoteDevice[] {
  return remoteDevices(
    s.devices.map((d) => ({ id: `device:${d.id}@`, kind: "device", device: d.name, joined_at: d.joined_at })),
  );
}

/** "since 14:05 (3 min)", "since 14:05 (just now)", "since Nov 25, 22:10 (2 h)". */
export function sinceWords(iso: string, now: number, locale?: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const when = clockWords(new Date(t), now, locale);
  const s = Math.max(0, Math.floor((now - t) / 1000));
  const ago = s < 60 ? "just now" : s < 3600 ? `${Math.floor(s / 60)} min` : s < 86400 ? `${Math.floor(s / 3600)} h` : `${Math.floor(s / 86400)} d`;
  return `since ${when} (${ago})`;
}
