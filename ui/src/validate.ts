// Platform form checks, the same rules as the engine (which checks again on save).
import type { PlatformKind } from "./bindings";

export const PRESETS: Record<PlatformKind, string | null> = {
  twitch: "rtmp://live.twitch.tv/app",
  youtube: "rtmp://a.rtmp.youtube.com/live2",
  kick: "rtmps://fa723fc1b171.global-contribute.live-video.net:443/app",
  facebook: "rtmps://live-api-s.facebook.com:443/rtmp",
  custom: null,
};

/** Other ingest servers offered as suggestions for the URL field. */
export const URL_SUGGESTIONS: Record<PlatformKind, string[]> = {
  twitch: ["rtmp://live.twitch.tv/app", "rtmps://live.twitch.tv:443/app"],
  youtube: ["rtmp://a.rtmp.youtube.com/live2", "rtmps://a.rtmps.youtube.com:443/live2"],
  kick: ["rtmps://fa723fc1b171.global-contribute.live-video.net:443/app"],
  facebook: ["rtmps://live-api-s.facebook.com:443/rtmp"],
  custom: ["rtmp://", "rtmps://"],
};

export type FieldErrors = Partial<Record<"name" | "url" | "key", string>>;

export interface PlatformDraft {
  originalName: string | null;
  name: string;
  kind: PlatformKind;
  url: string;
  key: string;
  hasStoredKey: boolean;
}

export function nameProblem(name: string): string | null {
  if (name.length === 0 || name.length > 40) return "The name must be 1 to 40 characters.";
  if (!/^[a-z0-9-]+$/.test(name)) return "Use only lowercase letters, digits and - in the name.";
  if (name.startsWith("-") || name.endsWith("-")) return "The name must not start or end with -.";
  return null;
}

export function urlProblem(url: string, kind: PlatformKind): string | null {
  const u = url.trim();
  if (u === "") return kind === "custom" ? "A custom platform needs an RTMP(S) URL." : null;
  let parsed: URL;
  try {
    parsed = new URL(u);
  } catch {
    return `“${u}” is not a valid URL.`;
  }
  if (parsed.protocol !== "rtmp:" && parsed.protocol !== "rtmps:") {
    return "The URL must start with rtmp:// or rtmps://.";
  }
  if (!parsed.hostname) return "The URL has no host.";
  return null;
}

/** Problems by field; empty when the draft can be saved. */
export function validatePlatform(d: PlatformDraft, existingNames: string[]): FieldErrors {
  const errors: FieldErrors = {};
  const name = d.name.trim();
  const nameErr = nameProblem(name);
  if (nameErr) errors.name = nameErr;
  else if (existingNames.some((n) => n === name && n !== d.originalName)) {
    errors.name = `A platform named “${name}” already exists.`;
  }
  const urlErr = urlProblem(d.url, d.kind);
  if (urlErr) errors.url = urlErr;
  if (d.key.trim() === "" && !(d.originalName && d.hasStoredKey)) errors.key = "The stream key is empty.";
  return errors;
}

/** A free default name for a kind: `twitch-main`, then `twitch-2`, ... */
export function suggestName(kind: PlatformKind, existingNames: string[]): string {
  const base = kind === "custom" ? "custom" : kind;
  if (!existingNames.includes(`${base}-main`)) return `${base}-main`;
  for (let i = 2; ; i++) if (!existingNames.includes(`${base}-${i}`)) return `${base}-${i}`;
}

/** The host part of a listen address ("127.0.0.1:1935", "[::1]:1935"), or null if malformed. */
export function parseListen(addr: string): { host: string; port: number } | null {
  const a = addr.trim();
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(a) ?? /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(a);
  if (!m) return null;
  const port = Number(m[2]);
  if (port > 65535) return null;
  if (!m[1].includes(":") && m[1].split(".").some((o) => Number(o) > 255)) return null;
  return { host: m[1].toLowerCase(), port };
}

/** What is wrong with a local ingest listen address, if anything. */
export function listenProblem(addr: string): string | null {
  const p = parseListen(addr);
  if (!p) return `“${addr.trim()}” is not an address like 127.0.0.1:1935.`;
  if (p.port === 0) return "Choose a port OBS can be told about (1935 is RTMP's usual one).";
  return null;
}

/** True when the address accepts connections from other machines (not loopback). */
export function listenExposed(addr: string): boolean {
  const p = parseListen(addr);
  if (!p) return false;
  const h = p.host;
  const loopback = /^127\./.test(h) || h === "::1" || /^::ffff:127\./.test(h);
  return !loopback;
}

/** The upload budget field: empty = no budget; else whole kbit/s, 1 … 10,000,000. */
export function parseBudget(text: string): { value: number | null; problem: string | null } {
  const t = text.trim().replace(/[ _,]/g, "");
  if (t === "") return { value: null, problem: null };
  if (!/^\d+$/.test(t)) return { value: null, problem: "The upload budget is a whole number of kbit/s (e.g. 12000)." };
  const n = Number(t);
  if (n === 0) return { value: null, problem: "The upload budget must be more than 0 kbit/s (leave it empty for none)." };
  if (n > 10_000_000) return { value: null, problem: "The upload budget must be at most 10,000,000 kbit/s." };
  return { value: n, problem: null };
}
