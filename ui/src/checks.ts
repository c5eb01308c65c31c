// The engine's field checks and platform presets, asked through the shell (`check_field`,
// `platform_presets`): the UI keeps no copy of the rules, only words them for display.
import { commands, type FieldCheck, type PlatformKind } from "./bindings";
import { sentence } from "./format";

/** What is wrong with a field, worded for display, or `null`. Rejects only when the IPC fails. */
export async function checkField(check: FieldCheck): Promise<string | null> {
  const problem = await commands.checkField(check);
  if (problem === null) return null;
  // The name rules say "must be 1 to 40 characters" without a subject.
  if (check.field === "platform_name" && /^must\b/.test(problem)) return sentence(`the name ${problem}`);
  return sentence(problem);
}

export type Presets = Record<PlatformKind, string | null>;

let presets: Promise<Presets> | null = null;

/** Every kind's default ingest URL (`null` for custom), asked once per window. */
export function platformPresets(): Promise<Presets> {
  presets ??= commands.platformPresets().then((list) => {
    const out = { twitch: null, youtube: null, kick: null, facebook: null, custom: null } as Presets;
    for (const p of list) out[p.kind] = p.url;
    return out;
  });
  presets.catch(() => (presets = null)); // asked again next time
  return presets;
}

/**
 * A live check for one field while the user types: runs `check` `delay` ms after the last call
 * and hands its answer to `show`, dropping answers that a newer call has overtaken. `now()` checks
 * at once (on save) and returns the answer.
 */
export function liveCheck(
  check: () => Promise<string | null>,
  show: (problem: string | null) => void,
  delay = 250,
): { typed: () => void; now: () => Promise<string | null> } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let seq = 0;
  const run = async () => {
    const mine = ++seq;
    let problem: string | null;
    try {
      problem = await check();
    } catch (e) {
      problem = `Cannot check this field: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (mine === seq) show(problem);
    return problem;
  };
  return {
    typed: () => {
      clearTimeout(timer);
      timer = setTimeout(() => void run(), delay);
    },
    now: () => {
      clearTimeout(timer);
      return run();
    },
  };
}
