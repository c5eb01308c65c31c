// Platform accounts in words: the sign-in state, the event feed, which platforms feed alerts, and
// where an alert came from. The engine's status (`accounts` in the status, `account_status`
// events) is the only source; nothing here keeps state.
import type {
  AccountPlatform,
  AccountsStatus,
  AccountStatus,
  AccountsView,
  Alert,
  Event,
  EventsStatus,
} from "./bindings";

/** The platforms one can sign in to, in display order, with their names. A platform shows up
 * once the engine reports it in `accounts` (YouTube joins when the engine has it). */
export const ACCOUNT_PLATFORMS: { id: string; label: string }[] = [
  { id: "twitch", label: "Twitch" },
  { id: "youtube", label: "YouTube" },
];

export function accountLabel(id: string): string {
  return ACCOUNT_PLATFORMS.find((p) => p.id === id)?.label ?? id;
}

/** The accounts the engine reports, in display order. */
export function accountEntries(status: AccountsStatus): { id: AccountPlatform; label: string; status: AccountStatus }[] {
  const all = status as unknown as Partial<Record<string, AccountStatus>>;
  return ACCOUNT_PLATFORMS.filter((p) => all[p.id]).map((p) => ({
    id: p.id as AccountPlatform,
    label: p.label,
    status: all[p.id]!,
  }));
}

/** Applies an `account_status` event (pure); other events leave the accounts unchanged. */
export function reduceAccounts(status: AccountsStatus, event: Event): AccountsStatus {
  if (event.type !== "account_status") return status;
  return { ...status, [event.platform]: event.status };
}

export type Tone = "ok" | "pending" | "warn" | "off";

/** What a platform's sign-in needs set up first: Twitch an app's client id, YouTube a Google
 * OAuth client (its id and secret). */
const SETUP_NEEDS: Record<string, string> = {
  Twitch: "the client id of your Twitch app",
  YouTube: "the client id and secret of your Google OAuth client",
};

/** The platform's app (client) is saved in Settings: Twitch's client id; YouTube's client id
 * and its secret. The view says so before the engine's status catches up. */
export function clientSaved(id: string, view: AccountsView | null): boolean {
  if (!view) return false;
  if (id === "twitch") return view.twitch_client_id !== "";
  if (id === "youtube") return view.youtube_client_id !== "" && view.youtube_client_secret_set;
  return true;
}

/** The YouTube client form's answer to a Save: what was saved, in words. */
export function youtubeClientSavedWords(view: AccountsView): string {
  return clientSaved("youtube", view) ? "Saved. You can sign in now." : "Client removed: no YouTube sign-in.";
}

/** The secret box's placeholder: a saved secret is never shown, only that there is one. */
export function youtubeSecretPlaceholder(view: AccountsView | null): string {
  return view?.youtube_client_secret_set ? "saved (leave empty to keep it)" : "e.g. GOCSPX-…";
}

/** What the card offers: sign in, sign out, or (while a code waits) cancel by signing out. */
export type AccountAction = "sign_in" | "sign_out" | "cancel";

export interface AccountWords {
  /** One line: "Signed in as …", "Waiting for the code…", "Signed out: … — Sign in again". */
  text: string;
  /** The platform's own words under it, when they add something. */
  detail: string | null;
  tone: Tone;
  action: AccountAction;
}

/**
 * An account's state in words. `configured`: the client is saved (the engine reports
 * `not_configured` until the next sign-in attempt even after it was saved).
 */
export function accountWords(label: string, s: AccountStatus, configured: boolean): AccountWords {
  const detail = s.error?.message ?? null;
  const who = s.login ?? "your account";
  switch (s.state) {
    case "pending":
      return {
        text: s.user_code
          ? `Waiting for the code to be entered on ${label}'s page…`
          : `Waiting for you to finish signing in on ${label}'s page in your browser…`,
        detail: null,
        tone: "pending",
        action: "cancel",
      };
    case "signed_in":
      return { text: `Signed in as ${who}`, detail: null, tone: "ok", action: "sign_out" };
    case "error":
      return { text: `Signed in as ${who}, but ${problemWords(label, s)}`, detail, tone: "warn", action: "sign_out" };
    case "signed_out":
      break;
  }
  const signIn = (text: string, tone: Tone = "warn"): AccountWords => ({ text, detail, tone, action: "sign_in" });
  if (!configured && (!s.error || s.error.kind === "not_configured")) {
    // The card's setup form says how; the engine's words (which config keys) are not repeated.
    const needs = SETUP_NEEDS[label] ?? `the client id of your ${label} app`;
    return { text: `Not set up: ${label} sign-in needs ${needs}`, detail: null, tone: "off", action: "sign_in" };
  }
  switch (s.error?.kind) {
    case undefined:
      return { text: "Not signed in", detail: null, tone: "off", action: "sign_in" };
    case "not_configured":
      return { text: "Not signed in", detail: null, tone: "off", action: "sign_in" };
    case "expired":
      return signIn(`The code expired before it was entered — Sign in again`);
    case "denied":
      return signIn(`The sign-in was declined on ${label}'s page — Sign in again to retry`);
    case "revoked":
      return signIn(`Signed out: ${label} no longer accepts the sign-in — Sign in again`);
    default:
      return signIn(`Not signed in: ${problemWords(label, s)}`);
  }
}

/** A problem short enough for the state line (the engine's message is shown under it). */
function problemWords(label: string, s: AccountStatus): string {
  switch (s.error?.kind) {
    case "unreachable":
      return `${label} cannot be reached right now`;
    case "timeout":
      return `${label} did not answer in time`;
    case "rate_limited":
      return `${label} asks to slow down; trying again shortly`;
    case "secrets":
      return "the sign-in could not be saved in the secret store";
    case "missing_scope":
      return "a permission is missing — Sign in again to grant it";
    case "refused":
      return `${label} refused a request`;
    case "protocol":
      return `${label} answered something unexpected`;
    default:
      return s.error?.message ?? "something needs attention";
  }
}

/** What each platform's events become alerts of. */
const EVENT_KINDS: Record<string, string> = {
  Twitch: "follows, subs, cheers and raids",
  YouTube: "Super Chats, Super Stickers and memberships",
};

/** The event feed in words, with the note that the platform does not replay missed events. */
export function eventsWords(label: string, e: EventsStatus, signedIn: boolean): { text: string; tone: Tone } {
  if (!signedIn) return { text: `Sign in to get ${label}'s ${EVENT_KINDS[label] ?? "events"} as alerts.`, tone: "off" };
  const why = e.error ? `: ${e.error.message}` : "";
  // YouTube has no event subscriptions: its events are the live broadcast's chat, read while
  // one is live (none live yet: "connecting").
  if (label === "YouTube" && e.state === "connected") {
    return { text: `Receiving YouTube events from the live chat as alerts${why}`, tone: e.error ? "warn" : "ok" };
  }
  if (label === "YouTube" && e.state === "connecting") {
    return { text: "Waiting for a live broadcast on YouTube: its live chat brings the alerts", tone: "pending" };
  }
  switch (e.state) {
    case "connected":
      return {
        text: `Receiving ${label} events (${e.subscriptions} ${e.subscriptions === 1 ? "type" : "types"}) as alerts${why}`,
        tone: e.error ? "warn" : "ok",
      };
    case "connecting":
      return { text: `Connecting to ${label}'s events…`, tone: "pending" };
    case "reconnecting":
      return {
        text: `Reconnecting to ${label}'s events${why} — what happens meanwhile is not replayed by ${label}`,
        tone: "warn",
      };
    case "off":
      return { text: `Events off: they flow while the app runs${why}`, tone: e.error ? "warn" : "off" };
  }
}

/** Does this account feed alerts right now? */
export function feedsAlerts(s: AccountStatus): boolean {
  return (s.state === "signed_in" || s.state === "error") && s.events.state === "connected";
}

/** The Alerts page's line: which platforms feed alerts ("Twitch: receiving, as streampai_tester"). */
export function alertSourcesWords(status: AccountsStatus): { id: string; text: string; tone: Tone }[] {
  return accountEntries(status).map(({ id, label, status: s }) => {
    if (feedsAlerts(s)) return { id, text: `${label}: receiving${s.login ? `, as ${s.login}` : ""}`, tone: "ok" };
    if (s.state === "signed_in" || s.state === "error") {
      return { id, text: `${label}: signed in, events ${s.events.state === "off" ? "off" : "connecting"}`, tone: "pending" };
    }
    if (s.state === "pending") return { id, text: `${label}: signing in…`, tone: "pending" };
    return { id, text: `${label}: not signed in`, tone: "off" };
  });
}

/** Where an alert came from, for its badge: the platform, or "manual" (test button, control
 * API, phone) when it carries none. */
export function alertSource(a: Pick<Alert, "platform">): { id: string; label: string } {
  const p = (a.platform ?? "").trim().toLowerCase();
  switch (p) {
    case "":
      return { id: "manual", label: "Manual" };
    case "twitch":
      return { id: "twitch", label: "Twitch" };
    case "youtube":
      return { id: "youtube", label: "YouTube" };
    case "kofi":
      return { id: "kofi", label: "Ko-fi" };
    default:
      // Another sender's own name (the control API accepts any): shown as given, styled neutral.
      return { id: "other", label: a.platform!.trim() };
  }
}

/** "15 min" for the code's lifetime. */
export function expiresWords(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return "";
  return seconds >= 60
    ? `The code works for ${Math.floor(seconds / 60)} min.`
    : `The code works for ${Math.round(seconds)} s.`;
}
