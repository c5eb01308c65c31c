// Words for what the engine reports: input status, stream phase, platform status, errors.
import type {
  ConnectionProblem,
  EngineError,
  InputStatus,
  PlatformStatus,
  StreamPhase,
  UiError,
} from "./bindings";

/** `hh:mm:ss` from seconds (negative counts as 0). */
export function formatElapsed(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

/** Seconds since an ISO time, at `now` (ms since epoch). */
export function elapsedSince(iso: string | null, now: number): number {
  if (!iso) return 0;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : Math.max(0, (now - t) / 1000);
}

export function inputWords(input: InputStatus): string {
  switch (input) {
    case "receiving_traffic":
      return "Receiving from OBS";
    case "no_traffic":
      return "Waiting for OBS…";
    default:
      return "Checking for OBS…";
  }
}

/** The stream phase in the API's own words (as the control API, the CLI and the tray say it). */
export function phaseWords(phase: StreamPhase): string {
  return phase;
}

export function platformWords(status: PlatformStatus): string {
  switch (status.status) {
    case "starting":
      return "connecting…";
    case "live":
      return "live";
    case "retrying":
      return `retrying (attempt ${status.attempt})`;
    case "failed":
      return "failed";
    case "stopped":
      return "ready";
    case "disabled":
      return "off";
  }
}

export { KIND_NAMES } from "./failure";

export function connectionProblemWords(p: ConnectionProblem): string {
  switch (p.kind) {
    case "BadToken":
      return "Bad token: the API token is invalid, expired or disabled.";
    case "WrongAccount":
      return "Wrong account: this token has no access to that account ID.";
    case "NoStreamPermission":
      return "No Stream permission: give the token Account › Stream › Edit.";
    case "Unreachable":
      return `Cloudflare is unreachable: ${p.detail}`;
    case "Other":
      return p.detail;
  }
}

function engineWords(e: EngineError): string {
  switch (e.kind) {
    case "invalid_platform":
      return `Check your platforms: ${e.message}`;
    case "not_configured":
      return "Cloudflare is not set up yet: add your account ID and API token in Settings.";
    case "invalid_transition":
      return e.message.replace(/^cannot/i, "Cannot");
    case "unavailable":
      return `The stream manager is busy or restarting; try again. (${e.message})`;
    case "unknown_user":
      return e.message;
    case "invalid_config":
      return `${e.key}: ${e.message}`;
    case "storage":
      return `The local database could not be read or written: ${e.message}`;
    case "not_running":
      return sentence(e.message);
    case "ingest":
      return e.message;
    case "cloudflare":
      return connectionProblemWords(e.problem);
    case "secrets":
      // Complete sentences from the secret store that name the way out: shown as they come.
      return sentence(e.message);
    case "obs_unavailable":
    case "obs_streaming":
    case "obs":
      // The engine's sentences name the reason and the way out ("OBS is streaming: stop OBS's
      // stream first, then try again").
      return sentence(e.message);
    case "invalid_input":
      return `${e.field}: ${e.message}`;
    case "not_signed_in":
    case "platform":
      // "… needs a signed-in Twitch account: sign in to Twitch first"; a platform's own words.
      return sentence(e.message);
  }
}

/** The engine's lower-case words (field checks, secret store, invalid input) for display, in one
 * place: the first letter capitalised, `code` in “quotes”, and a full stop at the end. */
export function sentence(message: string): string {
  const m = message.trim().replace(/`([^`]*)`/g, "“$1”");
  if (m === "") return m;
  const first = m.charAt(0).toUpperCase() + m.slice(1);
  return /[.!?…]$/.test(first) ? first : `${first}.`;
}

/** Any command error in words. */
export function errorWords(e: UiError): string {
  switch (e.kind) {
    case "engine":
      return engineWords(e.error);
    case "invalid":
      return sentence(e.message);
    case "keyring":
      // The secret store's own words (keyring or secrets file), which name the way out.
      return sentence(e.message);
    case "cloudflare":
      return connectionProblemWords(e.problem);
    case "ingest":
    case "alerts":
    case "storage":
    case "window":
      return e.message;
  }
}

/** The field an error is about, when it names one. */
export function errorField(e: UiError): string | null {
  return e.kind === "invalid" ? e.field : null;
}

/** A bitrate in human units: "850 kbit/s", "4.2 Mbit/s"; `null` (not measured): "—". */
export function formatBitrate(kbps: number | null | undefined): string {
  if (kbps === null || kbps === undefined || !Number.isFinite(kbps)) return "—";
  const k = Math.max(0, kbps);
  if (k >= 1_000_000) return `${(k / 1_000_000).toFixed(1)} Gbit/s`;
  if (k >= 1000) return `${(k / 1000).toFixed(1)} Mbit/s`;
  return `${Math.round(k)} kbit/s`;
}

/** A byte count in decimal units: "512 B", "3.4 MB", "1.3 GB"; `null` (not measured): "—". */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return "—";
  const units = ["kB", "MB", "GB", "TB"];
  let v = Math.max(0, bytes);
  if (v < 1000) return `${Math.round(v)} B`;
  let unit = "B";
  for (const u of units) {
    if (v < 1000) break;
    v /= 1000;
    unit = u;
  }
  return `${v.toFixed(1)} ${unit}`;
}

/** "14:05" today, "Nov 25, 22:10" another day. */
export function clockWords(d: Date, now: number, locale?: string): string {
  const time = d.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
  return new Date(now).toDateString() === d.toDateString()
    ? time
    : `${d.toLocaleDateString(locale, { month: "short", day: "numeric" })}, ${time}`;
}
