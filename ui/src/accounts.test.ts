import { describe, expect, it } from "vitest";
import {
  accountEntries,
  accountWords,
  alertSource,
  alertSourcesWords,
  clientSaved,
  eventsWords,
  expiresWords,
  feedsAlerts,
  reduceAccounts,
  youtubeClientSavedWords,
  youtubeSecretPlaceholder,
} from "./accounts";
import type { AccountsStatus, AccountStatus, AccountsView, Event, EventsStatus } from "./bindings";

const events = (over: Partial<EventsStatus> = {}): EventsStatus => ({ state: "off", subscriptions: 0, error: null, ...over });
const acct = (over: Partial<AccountStatus> = {}): AccountStatus => ({
  state: "signed_out",
  login: null,
  error: null,
  user_code: null,
  verification_uri: null,
  events: events(),
  ...over,
});

describe("account state in words", () => {
  it("says who is signed in, and what a waiting sign-in needs", () => {
    expect(accountWords("Twitch", acct({ state: "signed_in", login: "streampai_tester" }), true)).toEqual({
      text: "Signed in as streampai_tester",
      detail: null,
      tone: "ok",
      action: "sign_out",
    });
    const pending = accountWords("Twitch", acct({ state: "pending", user_code: "ABCDEFGH" }), true);
    expect(pending.text).toBe("Waiting for the code to be entered on Twitch's page…");
    expect(pending.action).toBe("cancel");
    // A browser sign-in (YouTube) has no code: the page is in the browser.
    expect(accountWords("YouTube", acct({ state: "pending" }), true).text).toBe(
      "Waiting for you to finish signing in on YouTube's page in your browser…",
    );
    expect(accountWords("Twitch", acct(), true)).toMatchObject({ text: "Not signed in", action: "sign_in", tone: "off" });
  });

  it("words each way a sign-in ends, with Sign in again", () => {
    const out = (kind: NonNullable<AccountStatus["error"]>["kind"], message = "the engine's words") =>
      accountWords("Twitch", acct({ error: { kind, message } }), true);
    expect(out("revoked").text).toBe("Signed out: Twitch no longer accepts the sign-in — Sign in again");
    expect(out("revoked").detail).toBe("the engine's words");
    expect(out("expired").text).toBe("The code expired before it was entered — Sign in again");
    expect(out("denied").text).toContain("declined on Twitch's page");
    expect(out("unreachable").text).toBe("Not signed in: Twitch cannot be reached right now");
    for (const kind of ["revoked", "expired", "denied", "unreachable"] as const) {
      expect(out(kind)).toMatchObject({ action: "sign_in", tone: "warn" });
    }
  });

  it("asks for the client id only while none is saved", () => {
    const s = acct({ error: { kind: "not_configured", message: "set [twitch] client_id" } });
    expect(accountWords("Twitch", s, false)).toMatchObject({
      text: "Not set up: Twitch sign-in needs the client id of your Twitch app",
      // The card's form says what to do; the engine's config keys are not repeated under it.
      detail: null,
    });
    // The engine keeps reporting not_configured until the next attempt: saved means ready.
    expect(accountWords("Twitch", s, true).text).toBe("Not signed in");
    // Before the engine's first status: no error yet, still not set up.
    expect(accountWords("Twitch", acct(), false).text).toBe("Not set up: Twitch sign-in needs the client id of your Twitch app");
  });

  it("asks YouTube for its Google OAuth client, id and secret both", () => {
    const s = acct({ error: { kind: "not_configured", message: "set [youtube] client_id and client_secret" } });
    expect(accountWords("YouTube", s, false)).toMatchObject({
      text: "Not set up: YouTube sign-in needs the client id and secret of your Google OAuth client",
      tone: "off",
      action: "sign_in",
    });
    expect(accountWords("YouTube", s, true).text).toBe("Not signed in");
  });

  it("counts a client as saved only when the form has all it needs", () => {
    const view = (over: Partial<AccountsView> = {}): AccountsView => ({
      twitch_client_id: "",
      twitch_client_id_from_env: false,
      youtube_client_id: "",
      youtube_client_secret_set: false,
      youtube_client_from_env: false,
      status: { twitch: acct(), youtube: acct() },
      ...over,
    });
    expect(clientSaved("twitch", null)).toBe(false);
    expect(clientSaved("twitch", view({ twitch_client_id: "abc" }))).toBe(true);
    expect(clientSaved("youtube", view({ twitch_client_id: "abc" }))).toBe(false);
    // YouTube needs the secret too: an id alone is not enough (the engine would refuse).
    expect(clientSaved("youtube", view({ youtube_client_id: "1-a.apps.googleusercontent.com" }))).toBe(false);
    const yt = view({ youtube_client_id: "1-a.apps.googleusercontent.com", youtube_client_secret_set: true });
    expect(clientSaved("youtube", yt)).toBe(true);
    expect(youtubeClientSavedWords(yt)).toBe("Saved. You can sign in now.");
    expect(youtubeClientSavedWords(view())).toBe("Client removed: no YouTube sign-in.");
    // A saved secret is never shown: the empty box says it is kept.
    expect(youtubeSecretPlaceholder(yt)).toBe("saved (leave empty to keep it)");
    expect(youtubeSecretPlaceholder(view())).toMatch(/^e\.g\. GOCSPX-/);
  });

  it("keeps the login when signed in but needing attention", () => {
    const w = accountWords(
      "Twitch",
      acct({ state: "error", login: "me", error: { kind: "unreachable", message: "connection refused" } }),
      true,
    );
    expect(w.text).toBe("Signed in as me, but Twitch cannot be reached right now");
    expect(w.detail).toBe("connection refused");
    expect(w).toMatchObject({ tone: "warn", action: "sign_out" });
  });
});

describe("the event feed in words", () => {
  it("counts the event types and warns that missed events are not replayed", () => {
    expect(eventsWords("Twitch", events({ state: "connected", subscriptions: 6 }), true)).toEqual({
      text: "Receiving Twitch events (6 types) as alerts",
      tone: "ok",
    });
    expect(eventsWords("Twitch", events({ state: "connected", subscriptions: 1 }), true).text).toContain("(1 type)");
    const r = eventsWords("Twitch", events({ state: "reconnecting", error: { kind: "unreachable", message: "the link dropped" } }), true);
    expect(r.text).toBe("Reconnecting to Twitch's events: the link dropped — what happens meanwhile is not replayed by Twitch");
    expect(r.tone).toBe("warn");
    expect(eventsWords("Twitch", events({ state: "connecting" }), true).tone).toBe("pending");
    expect(eventsWords("Twitch", events(), false).text).toContain("Sign in to get Twitch's follows");
    expect(eventsWords("YouTube", events(), false).text).toBe("Sign in to get YouTube's Super Chats, Super Stickers and memberships as alerts.");
    // YouTube: one live chat, no event types to count; none live yet is a wait, not a fault.
    expect(eventsWords("YouTube", events({ state: "connected", subscriptions: 1 }), true)).toEqual({
      text: "Receiving YouTube events from the live chat as alerts",
      tone: "ok",
    });
    expect(eventsWords("YouTube", events({ state: "connecting" }), true).text).toBe(
      "Waiting for a live broadcast on YouTube: its live chat brings the alerts",
    );
  });
});

/** Accounts as an engine that reports only Twitch would (the UI lists what it is given). */
const only = (twitch: AccountStatus) => ({ twitch }) as unknown as AccountsStatus;

describe("accounts from the engine", () => {
  it("lists the platforms the engine reports, in order, and applies account_status events", () => {
    const status = only(acct());
    expect(accountEntries(status).map((e) => [e.id, e.label])).toEqual([["twitch", "Twitch"]]);
    // A platform the engine adds later (YouTube) shows up after Twitch.
    const both = { youtube: acct(), twitch: acct() } as unknown as AccountsStatus;
    expect(accountEntries(both).map((e) => e.label)).toEqual(["Twitch", "YouTube"]);

    const signedIn = acct({ state: "signed_in", login: "me", events: events({ state: "connected", subscriptions: 6 }) });
    const ev: Event = { type: "account_status", user_id: "u", platform: "twitch", status: signedIn };
    const next = reduceAccounts(status, ev);
    expect(next.twitch).toEqual(signedIn);
    expect(status.twitch.state).toBe("signed_out"); // pure
    expect(reduceAccounts(status, { type: "manager_started" } as Event)).toBe(status);
  });

  it("says which platforms feed alerts now", () => {
    const feeding = acct({ state: "signed_in", login: "me", events: events({ state: "connected", subscriptions: 6 }) });
    expect(feedsAlerts(feeding)).toBe(true);
    expect(feedsAlerts({ ...feeding, events: events({ state: "reconnecting" }) })).toBe(false);
    expect(feedsAlerts(acct({ events: events({ state: "connected" }) }))).toBe(false);
    expect(alertSourcesWords(only(feeding))).toEqual([{ id: "twitch", text: "Twitch: receiving, as me", tone: "ok" }]);
    expect(alertSourcesWords(only(acct()))[0]).toMatchObject({ text: "Twitch: not signed in", tone: "off" });
    expect(alertSourcesWords(only(acct({ state: "pending" })))[0].text).toBe("Twitch: signing in…");
    expect(alertSourcesWords(only({ ...feeding, events: events({ state: "connecting" }) }))[0]).toMatchObject({
      text: "Twitch: signed in, events connecting",
      tone: "pending",
    });
  });
});

describe("where an alert came from", () => {
  it("badges platforms, and alerts without one as manual", () => {
    expect(alertSource({ platform: "twitch" })).toEqual({ id: "twitch", label: "Twitch" });
    expect(alertSource({ platform: "kofi" })).toEqual({ id: "kofi", label: "Ko-fi" });
    expect(alertSource({ platform: "youtube" })).toEqual({ id: "youtube", label: "YouTube" });
    expect(alertSource({ platform: null })).toEqual({ id: "manual", label: "Manual" });
    expect(alertSource({ platform: "  " })).toEqual({ id: "manual", label: "Manual" });
    // Anything else a control API caller named: its own name, neutral style.
    expect(alertSource({ platform: "StreamDeck" })).toEqual({ id: "other", label: "StreamDeck" });
  });

  it("words the code's lifetime", () => {
    expect(expiresWords(1800)).toBe("The code works for 30 min.");
    expect(expiresWords(45)).toBe("The code works for 45 s.");
    expect(expiresWords(0)).toBe("");
  });
});
