// The dashboard's "Stream info" card in words (one title everywhere): each platform's push
// result, the last push, whether a Twitch category can be picked, and the input a Save sends.
// The engine's view (`stream_info` in the status, the `stream_info` event) is the only source.
import { clockWords } from "./format";
import type { AccountsStatus, PushReport, PushResult, StreamInfoInput, StreamInfoView } from "./bindings";

export const INFO_PLATFORMS: { id: "twitch" | "youtube"; label: string }[] = [
  { id: "twitch", label: "Twitch" },
  { id: "youtube", label: "YouTube" },
];

export type PushTone = "ok" | "off" | "error";

/** One platform's result in one line: "Twitch: updated", "YouTube: not signed in" (tone `off`:
 * nothing to fix here), "YouTube: no live broadcast — …", else the platform's own words. */
export function pushWords(label: string, r: PushResult): { text: string; ok: boolean; tone: PushTone } {
  if (r.ok) return { text: `${label}: updated`, ok: true, tone: "ok" };
  const e = r.error;
  if (!e) return { text: `${label}: not updated`, ok: false, tone: "error" };
  const msg = e.message.trim();
  switch (e.kind) {
    case "not_signed_in":
      return { text: `${label}: not signed in`, ok: false, tone: "off" };
    case "no_broadcast":
      return {
        text: msg ? `${label}: no live broadcast — ${msg}` : `${label}: no live broadcast`,
        ok: false,
        tone: "error",
      };
    default:
      return {
        text: msg ? `${label}: ${msg}` : `${label}: not updated (${e.kind.replace(/_/g, " ")})`,
        ok: false,
        tone: "error",
      };
  }
}

/** Every platform's line, in display order. */
export function pushLines(report: PushReport): { platform: string; text: string; ok: boolean; tone: PushTone }[] {
  return INFO_PLATFORMS.map((p) => ({ platform: p.id, ...pushWords(p.label, report.results[p.id]) }));
}

/** "Pushed at Start, 14:05" / "Pushed on Save, Nov 25, 22:10"; "" before any push. */
export function lastPushWords(view: StreamInfoView, now: number, locale?: string): string {
  if (view.pushing) return "Pushing to the platforms…";
  const p = view.last_push;
  if (!p) return "";
  const t = Date.parse(p.at);
  if (Number.isNaN(t)) return "";
  const when = clockWords(new Date(t), now, locale);
  return p.trigger === "start" ? `Pushed at Start, ${when}` : `Pushed on Save, ${when}`;
}

/** A category can be searched only with a Twitch sign-in (a sign-in with a problem still is one). */
export function twitchSignedIn(accounts: AccountsStatus | null | undefined): boolean {
  const s = accounts?.twitch?.state;
  return s === "signed_in" || s === "error";
}

export const CATEGORY_HINT = "Sign in to Twitch in Settings › Accounts to pick a category.";

export interface InfoForm {
  title: string;
  /** The picked category (`null`: none picked; the one on Twitch is left as it is). */
  category: { id: string; name: string } | null;
  description: string;
}

/** The form as the saved info fills it (empty before the first save). */
export function formOf(view: StreamInfoView | null | undefined): InfoForm {
  const i = view?.info;
  return {
    title: i?.title ?? "",
    category: i?.twitch_category_id ? { id: i.twitch_category_id, name: i.twitch_category_name ?? `#${i.twitch_category_id}` } : null,
    description: i?.youtube_description ?? "",
  };
}

/** What Save sends (the engine trims and checks; empty fields count as none). */
export function inputOf(f: InfoForm): StreamInfoInput {
  return {
    title: f.title,
    twitch_category_id: f.category?.id ?? null,
    twitch_category_name: f.category?.name ?? null,
    youtube_description: f.description.trim() === "" ? null : f.description,
  };
}
