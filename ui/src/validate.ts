// Platform form checks: the rules are the engine's (`check_field`, see checks.ts); what stays here
// is the form's own: a name already taken in the list, an empty key, and the URL suggestions.
import type { PlatformKind } from "./bindings";
import { checkField, type Presets } from "./checks";

/** Other ingest servers offered as suggestions for the URL field, besides the kind's preset. */
export const OTHER_URLS: Record<PlatformKind, string[]> = {
  twitch: ["rtmps://live.twitch.tv:443/app"],
  youtube: ["rtmps://a.rtmps.youtube.com:443/live2"],
  kick: [],
  facebook: [],
  custom: ["rtmp://", "rtmps://"],
};

/** The URL field's suggestions: the engine's preset first, then the other servers. */
export function urlSuggestions(kind: PlatformKind, presets: Presets): string[] {
  const preset = presets[kind];
  return [...(preset ? [preset] : []), ...OTHER_URLS[kind].filter((u) => u !== preset)];
}

export type FieldErrors = Partial<Record<"name" | "url" | "key", string>>;

export interface PlatformDraft {
  originalName: string | null;
  name: string;
  kind: PlatformKind;
  url: string;
  key: string;
  hasStoredKey: boolean;
}

/** The name field: the engine's rules, then whether another platform has the name already. */
export async function platformNameProblem(name: string, originalName: string | null, existingNames: string[]): Promise<string | null> {
  const n = name.trim();
  const problem = await checkField({ field: "platform_name", value: n });
  if (problem) return problem;
  if (existingNames.some((e) => e === n && e !== originalName)) return `A platform named “${n}” already exists.`;
  return null;
}

/** The URL field (empty: the kind's preset), by the engine's rules. */
export function platformUrlProblem(url: string, kind: PlatformKind): Promise<string | null> {
  return checkField({ field: "platform_url", value: url, kind });
}

/** The key field: only whether there is one (the shell checks the rest on save). */
export function keyProblem(d: PlatformDraft): string | null {
  return d.key.trim() === "" && !(d.originalName && d.hasStoredKey) ? "The stream key is empty." : null;
}

/** Problems by field; empty when the draft can be saved. */
export async function validatePlatform(d: PlatformDraft, existingNames: string[]): Promise<FieldErrors> {
  const [name, url] = await Promise.all([
    platformNameProblem(d.name, d.originalName, existingNames),
    platformUrlProblem(d.url, d.kind),
  ]);
  const key = keyProblem(d);
  const errors: FieldErrors = {};
  if (name) errors.name = name;
  if (url) errors.url = url;
  if (key) errors.key = key;
  return errors;
}

/** A free default name for a kind: `twitch-main`, then `twitch-2`, ... */
export function suggestName(kind: PlatformKind, existingNames: string[]): string {
  const base = kind === "custom" ? "custom" : kind;
  if (!existingNames.includes(`${base}-main`)) return `${base}-main`;
  for (let i = 2; ; i++) if (!existingNames.includes(`${base}-${i}`)) return `${base}-${i}`;
}
