// OBS, connected, in words: the link's state, OBS's stream and health, the settings kept for
// "Restore", what to offer ("Set up OBS for me" or "OBS is set up"), and the first run's probe.
// Pure, so it is tested directly; the pages only lay it out.
import type { ObsPreviousSettings, ObsProbe, ObsStatus } from "./bindings";
import { failureWords } from "./failure";

/** Where OBS's WebSocket server is switched on and its password found (OBS 28 and newer). */
export const TURN_ON_STEPS = [
  "In OBS, open Tools › WebSocket Server Settings.",
  "Tick “Enable WebSocket server” (the port is 4455 unless you changed it).",
  "Keep “Enable Authentication” on; “Show Connect Info” shows the password to enter here.",
  "Press OK (or Apply), then Try again here.",
];

/** The link to OBS in a sentence. `hasPassword`: a password is stored (Settings › OBS), so
 * `auth_failed` means OBS refused it rather than that OBS asks for one. `receiving`: video
 * arrives from OBS (so OBS runs, whatever its WebSocket server says). */
export function obsLinkWords(s: ObsStatus, hasPassword = true, receiving = false): string {
  switch (s.state) {
    case "off":
      return "Not connected to OBS (the link is off while Streampai's stream manager is stopped or in Settings › OBS).";
    case "connecting":
      return `Connecting to OBS at ${s.url ?? "its WebSocket address"}…`;
    case "connected":
      return s.obs_version ? `Connected to OBS ${s.obs_version}` : "Connected to OBS";
    case "unreachable":
      return receiving
        ? `OBS sends video, but its WebSocket server does not answer (${s.url ?? "no address"}).`
        : `OBS is not running, or its WebSocket server is off (${s.url ?? "no address"}).`;
    case "auth_failed":
      return hasPassword ? "OBS refused the password." : "OBS asks for its WebSocket password.";
    case "incompatible":
      return "Something answers that is not OBS's WebSocket server 5 (OBS 28 or newer is needed).";
  }
}

/** OBS's stream output in a few words; `null` when not connected. */
export function obsStreamWords(s: ObsStatus): string | null {
  if (s.state !== "connected") return null;
  return s.streaming ? "OBS is streaming" : "OBS is not streaming";
}

/** OBS's own view of its output while streaming: the health word and its class. */
export function obsHealthWords(s: ObsStatus): { text: string; cls: "good" | "warn" | "bad" } | null {
  switch (s.health) {
    case "idle":
      return null;
    case "good":
      return { text: `Good${congestionSuffix(s.congestion)}`, cls: "good" };
    case "congested":
      return { text: `Congested${congestionSuffix(s.congestion)}: OBS drops frames to keep up`, cls: "warn" };
    case "reconnecting":
      return { text: "Reconnecting: OBS lost its connection to the ingest", cls: "bad" };
  }
}

function congestionSuffix(c: number | null): string {
  if (c === null || !Number.isFinite(c)) return "";
  return ` (congestion ${Math.round(Math.min(1, Math.max(0, c)) * 100)} %)`;
}

/** "12 skipped of 3,000 frames (0.4 %)"; `null` when OBS reports no figures. */
export function framesWords(skipped: number | null, total: number | null, locale?: string): string | null {
  if (total === null || skipped === null) return null;
  const n = (v: number) => v.toLocaleString(locale ?? "en");
  const pct = total > 0 ? ` (${((skipped / total) * 100).toFixed(1)} %)` : "";
  return `${n(skipped)} skipped of ${n(total)} frames${pct}`;
}

/** OBS's kept settings in words: the service or the server, never a key. */
export function previousWords(p: ObsPreviousSettings): string {
  const key = p.has_key ? ", with its stream key" : "";
  if (p.service && p.service_type === "rtmp_common") {
    return `${p.service}${p.server && p.server !== "auto" ? ` (server ${p.server})` : ""}${key}`;
  }
  if (p.service) return `${p.service}${key}`;
  if (p.server) return `${p.server}${key}`;
  return p.has_key ? `${p.service_type}${key}` : "OBS's empty stream settings (never set)";
}

/** What the dashboard offers about OBS's stream settings. */
export type SetupOffer = "offer" | "done" | null;

export function setupOffer(s: ObsStatus): SetupOffer {
  if (s.state !== "connected") return null;
  if (s.uses_app_ingest === true) return "done";
  return "offer";
}

/** The link's problem as a headline (kind + side), with the detail apart; `null` when none. */
export function obsProblem(s: ObsStatus): { text: string; detail: string } | null {
  if (!s.problem) return null;
  return { text: failureWords(s.problem, "OBS"), detail: s.problem.detail };
}

/** The first run's "Connect OBS" step after a probe: what to show. */
export type ProbeView =
  | { kind: "connected"; text: string }
  | { kind: "password"; text: string; wrong: boolean }
  | { kind: "turn_on"; text: string }
  | { kind: "incompatible"; text: string };

/** `triedPassword`: the probe was made with a password the user typed. */
export function probeView(p: ObsProbe, url: string, triedPassword: boolean): ProbeView {
  switch (p.state) {
    case "connected": {
      const v = p.obs_version ? ` ${p.obs_version}` : "";
      const ws = p.websocket_version ? ` (WebSocket ${p.websocket_version})` : "";
      return { kind: "connected", text: `Found OBS${v}${ws} at ${url}.` };
    }
    case "auth_failed":
      return triedPassword
        ? { kind: "password", wrong: true, text: "OBS refused this password. Check it in OBS (Show Connect Info) and try again." }
        : { kind: "password", wrong: false, text: `Found OBS at ${url}. It asks for its WebSocket password.` };
    case "incompatible":
      return {
        kind: "incompatible",
        text: `Something answers at ${url}, but it is not OBS's WebSocket server 5. Update OBS to version 28 or newer (it is built in).`,
      };
    default:
      return { kind: "turn_on", text: `No OBS answers at ${url}: OBS is closed, or its WebSocket server is off.` };
  }
}
