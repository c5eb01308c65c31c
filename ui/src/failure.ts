// Why a platform is retrying or failed, in words: from the engine's typed `Failure`
// (kind + source), naming the platform. `detail` (the underlying error) is secondary text.
// Source `obs` is the link to OBS's WebSocket server (and OBS's stream as the source).
import type { Failure, PlatformKind, PlatformStatus } from "./bindings";

export const KIND_NAMES: Record<PlatformKind, string> = {
  twitch: "Twitch",
  youtube: "YouTube",
  kick: "Kick",
  facebook: "Facebook",
  custom: "Custom RTMP(S)",
};

/** How to name a platform in a sentence: "Twitch" for a preset named after its kind, the
 * user's name otherwise (with the service when it is a preset: "main (Twitch)"). */
export function platformLabel(name: string, kind: PlatformKind | null | undefined): string {
  if (!kind || kind === "custom") return name;
  const service = KIND_NAMES[kind];
  return name.trim().toLowerCase() === kind || name.trim() === "" ? service : `${name} (${service})`;
}

/** The headline for a failure: what went wrong, on which side, naming the platform. */
export function failureWords(f: Failure, platform: string): string {
  const cf = f.source === "cloudflare";
  const pf = f.source === "platform";
  switch (f.kind) {
    case "auth_rejected":
      if (cf) return "Cloudflare refused the API token";
      if (pf) return `${platform} refused the stream key`;
      if (f.source === "obs") return "OBS refused the WebSocket password";
      return `${platform}: access refused`;
    case "unreachable":
      if (cf) return "Cannot reach Cloudflare; check the network";
      if (pf) return `Cannot reach ${platform}'s server`;
      if (f.source === "obs") return "OBS is not running, or its WebSocket server is off";
      return "Cannot reach the local relay";
    case "timeout":
      if (cf) return "Cloudflare did not answer in time";
      if (pf) return `${platform}'s server did not answer in time`;
      if (f.source === "obs") return "OBS did not answer in time";
      return "No answer in time";
    case "rate_limited":
      if (cf) return "Cloudflare asked to slow down; retrying shortly";
      return `${platform} asked to slow down; retrying shortly`;
    case "source_lost":
      return "OBS stopped sending";
    case "not_configured":
      if (cf) return "Cloudflare is not set up: add your account ID and API token in Settings";
      if (pf) return `${platform} is not set up: check its server and stream key in Platforms`;
      return "Something required is not set up yet";
    case "ingest_down":
      return "The local relay is not running";
    case "protocol":
      if (cf) return "Cloudflare answered something unexpected";
      if (pf) return `${platform}'s server answered something unexpected`;
      if (f.source === "obs") return "OBS's WebSocket server answered something unexpected (OBS 28 or newer needed)";
      return "Unexpected answer";
    case "other":
      if (cf) return "Cloudflare reported a problem";
      if (pf) return `Problem sending to ${platform}`;
      if (f.source === "obs") return "OBS refused a request";
      return "The app ran into a problem";
  }
}

/** A platform's last problem, if it has one: headline and detail. */
export function platformProblem(status: PlatformStatus, platform: string): { text: string; detail: string } | null {
  if (status.status === "retrying" || status.status === "failed") {
    return { text: failureWords(status.reason, platform), detail: status.reason.detail };
  }
  return null;
}
