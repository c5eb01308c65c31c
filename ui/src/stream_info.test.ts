import { describe, expect, it } from "vitest";
import type { AccountsStatus, AccountStatus, PushReport, StreamInfoView } from "./bindings";
import { formOf, inputOf, lastPushWords, pushLines, pushWords, twitchSignedIn } from "./stream_info";

const report = (over: Partial<PushReport["results"]> = {}, trigger: PushReport["trigger"] = "save"): PushReport => ({
  at: "2026-12-06T09:30:00Z",
  trigger,
  results: { twitch: { ok: true }, youtube: { ok: true }, ...over },
});
const view = (over: Partial<StreamInfoView> = {}): StreamInfoView => ({
  info: null,
  saved_at: null,
  pushing: false,
  last_push: null,
  ...over,
});

describe("push results in words", () => {
  it("says updated, not signed in, no live broadcast, or the platform's own words", () => {
    const lines = pushLines(
      report({ youtube: { ok: false, error: { kind: "not_signed_in", message: "sign in to YouTube first" } } }),
    );
    expect(lines).toEqual([
      { platform: "twitch", text: "Twitch: updated", ok: true, tone: "ok" },
      { platform: "youtube", text: "YouTube: not signed in", ok: false, tone: "off" },
    ]);
    expect(pushWords("YouTube", { ok: false, error: { kind: "no_broadcast", message: "start the stream first" } })).toEqual({
      text: "YouTube: no live broadcast — start the stream first",
      ok: false,
      tone: "error",
    });
    expect(pushWords("Twitch", { ok: false, error: { kind: "refused", message: "Twitch refused: bad game_id" } }).text).toBe(
      "Twitch: Twitch refused: bad game_id",
    );
    expect(pushWords("Twitch", { ok: false, error: { kind: "rate_limited", message: " " } }).text).toBe(
      "Twitch: not updated (rate limited)",
    );
  });

  it("says when and why the last push happened", () => {
    const now = Date.parse("2026-12-06T10:00:00Z");
    expect(lastPushWords(view(), now)).toBe("");
    expect(lastPushWords(view({ last_push: report({}, "start") }), now, "en-GB")).toMatch(/^Pushed at Start, \d\d:\d\d$/);
    expect(lastPushWords(view({ last_push: report() }), now, "en-GB")).toMatch(/^Pushed on Save, \d\d:\d\d$/);
    expect(lastPushWords(view({ last_push: report(), pushing: true }), now)).toBe("Pushing to the platforms…");
    expect(lastPushWords(view({ last_push: report() }), Date.parse("2026-12-09T10:00:00Z"), "en-US")).toMatch(
      /^Pushed on Save, Dec 6, /,
    );
  });
});

describe("the form", () => {
  it("picks a category only with a Twitch sign-in", () => {
    const acct = (state: AccountStatus["state"]) => ({ twitch: { state } as AccountStatus }) as AccountsStatus;
    expect(twitchSignedIn(acct("signed_in"))).toBe(true);
    expect(twitchSignedIn(acct("error"))).toBe(true);
    expect(twitchSignedIn(acct("signed_out"))).toBe(false);
    expect(twitchSignedIn(acct("pending"))).toBe(false);
    expect(twitchSignedIn(null)).toBe(false);
  });

  it("starts from the saved info and sends what was typed and picked", () => {
    expect(formOf(null)).toEqual({ title: "", category: null, description: "" });
    const f = formOf(
      view({
        info: { title: "Speedrun", twitch_category_id: "509658", twitch_category_name: "Just Chatting", youtube_description: null },
      }),
    );
    expect(f).toEqual({ title: "Speedrun", category: { id: "509658", name: "Just Chatting" }, description: "" });
    expect(inputOf({ ...f, description: "links below" })).toEqual({
      title: "Speedrun",
      twitch_category_id: "509658",
      twitch_category_name: "Just Chatting",
      youtube_description: "links below",
    });
    expect(inputOf({ title: "x", category: null, description: "  " })).toEqual({
      title: "x",
      twitch_category_id: null,
      twitch_category_name: null,
      youtube_description: null,
    });
  });
});
