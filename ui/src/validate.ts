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
