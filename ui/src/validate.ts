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
