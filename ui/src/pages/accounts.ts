// Settings › Accounts: one card per platform account the engine reports (Twitch, YouTube).
// Twitch: its app's client id (checked by the engine's rule while typing), "Sign in with Twitch"
// (the code shown big with Copy, Twitch's page opened in the browser). YouTube: its Google OAuth
// client's id and secret (the engine's rules while typing; the saved secret is never shown), "Sign
// in with YouTube" (Google's page opened in the browser, which comes back to the engine). Both:
// the state in words live from the engine (`account_status` events), Sign out, the event feed.
import { call, CommandError, commands, messageOf } from "../api";
import {
  accountEntries,
  accountWords,
  clientSaved,
  eventsWords,
  expiresWords,
  reduceAccounts,
  youtubeClientSavedWords,
  youtubeSecretPlaceholder,
} from "../accounts";
import type { AccountPlatform, AccountsStatus, AccountStatus, AccountsView, SignInView } from "../bindings";
import { checkField, liveCheck } from "../checks";
import { copyText, fill, h } from "../dom";
import { errorField } from "../format";
import type { Ctx } from "../main";
import { secretBackend, storeName } from "../secrets";

const TWITCH_CONSOLE = "https://dev.twitch.tv/console/apps";
const GOOGLE_CONSOLE = "https://console.cloud.google.com/";

type ClientField = "twitch_client_id" | "youtube_client_id" | "youtube_client_secret";

/** A client form's field (kept across redraws, so typing is never interrupted), its error line
 * and the engine's rule for it, checked while typing. */
function checkedInput(field: ClientField, testid: string, errorTestid: string, attrs: Record<string, string>) {
  const input = h("input", { "data-testid": testid, spellcheck: "false", autocomplete: "off", ...attrs });
  const error = h("div", { class: "field-error", "data-testid": errorTestid });
  const check = liveCheck(
    () => checkField({ field, value: input.value }),
    (p) => (error.textContent = p ?? ""),
  );
  input.addEventListener("input", check.typed);
  return { input, error, check };
}

export function accountsSection(ctx: Ctx): { el: HTMLElement; cleanup: () => void } {
  let view: AccountsView | null = null;
  let accounts: AccountsStatus | null = null;
  // This window's last sign-in answer per platform (the open error, the code's lifetime).
  const prompts: Partial<Record<string, SignInView>> = {};
  let busy = false;
  let store = storeName(null);
  const cards = h("div", { class: "account-cards" });
  const intro = h("p", { class: "muted small" });

  // Twitch's client id form.
  const {
    input: clientId,
    error: clientIdError,
    check: clientIdCheck,
  } = checkedInput("twitch_client_id", "twitch-client-id", "twitch-error-client-id", {
    placeholder: "e.g. wbmytr93xzw8zbg0p1izqyzzc5mbiz",
  });
  const clientIdResult = h("div", { class: "result", "data-testid": "twitch-client-id-result" });
  const setup = h(
    "details",
    { class: "account-setup", "data-testid": "account-setup-twitch" },
    h("summary", {}, "Twitch app (client id)"),
    h(
      "ol",
      { class: "muted small" },
      h("li", {}, "At ", h("code", {}, TWITCH_CONSOLE), " choose Register Your Application (Twitch asks for two-factor authentication first)."),
      h("li", {}, "Any name; OAuth Redirect URL ", h("code", {}, "http://localhost"), " (unused); any category; ", h("strong", {}, "Client Type: Public"), "."),
      h("li", {}, "Paste its Client ID here. A public client has no secret: Streampai never asks for one."),
    ),
    h("label", {}, "Client id"),
    h(
      "div",
      { class: "row" },
      clientId,
      h("button", { "data-testid": "twitch-client-id-save", onclick: () => void saveClientId() }, "Save"),
    ),
    clientIdError,
    h("div", { class: "muted small", "data-testid": "twitch-client-id-env" }),
    clientIdResult,
  );

  // YouTube's Google OAuth client form. The secret box starts empty: a saved secret never
  // comes back to the window; empty keeps it.
  const {
    input: ytId,
    error: ytIdError,
    check: ytIdCheck,
  } = checkedInput("youtube_client_id", "youtube-client-id", "youtube-error-client-id", {
    placeholder: "e.g. 1234-abc.apps.googleusercontent.com",
  });
  const {
    input: ytSecret,
    error: ytSecretError,
    check: ytSecretCheck,
  } = checkedInput("youtube_client_secret", "youtube-client-secret", "youtube-error-client-secret", {
    type: "password",
    placeholder: youtubeSecretPlaceholder(null),
  });
  const ytResult = h("div", { class: "result", "data-testid": "youtube-client-result" });
  const ytEnv = h("div", { class: "muted small", "data-testid": "youtube-client-env" });
  const ytSetup = h(
    "details",
    { class: "account-setup", "data-testid": "account-setup-youtube" },
    h("summary", {}, "Google OAuth client (client id and secret)"),
    h(
      "ol",
      { class: "muted small" },
      h("li", {}, "At ", h("code", {}, GOOGLE_CONSOLE), " pick a project and enable the YouTube Data API v3."),
      h("li", {}, "Set up its OAuth consent screen (while in Testing, add your Google account as a test user)."),
      h("li", {}, "Create an OAuth client ID of type ", h("strong", {}, "Desktop app"), " and paste its Client ID and Client secret here."),
    ),
    h("label", {}, "Client id"),
    h("div", { class: "row" }, ytId),
    ytIdError,
    h("label", {}, "Client secret"),
    h(
      "div",
      { class: "row" },
      ytSecret,
      h("button", { "data-testid": "youtube-client-save", onclick: () => void saveYouTubeClient() }, "Save"),
    ),
    ytSecretError,
    h(
      "div",
      { class: "muted small", "data-testid": "youtube-secret-note" },
      "Google treats a Desktop app client's secret as not confidential (it ships with every installed app): " +
        "Streampai keeps it in its settings file, never in logs.",
    ),
    ytEnv,
    ytResult,
  );
  const setups: Partial<Record<string, HTMLDetailsElement>> = { twitch: setup, youtube: ytSetup };

  const results: Partial<Record<string, HTMLElement>> = {};
  const resultFor = (id: string) =>
    (results[id] ??= h("div", { class: "result", "data-testid": `account-result-${id}` }));
  const outcome = (el: HTMLElement, ok: boolean, text: string) => {
    el.className = ok ? "result ok" : "result error";
    el.textContent = text;
  };

  // Set up when the form's client is saved (the engine's status says `not_configured` until
  // the next attempt).
  const configured = (id: string) => clientSaved(id, view);

  const act = async (id: AccountPlatform, label: string, f: () => Promise<void>) => {
    if (busy) return;
    busy = true;
    draw();
    try {
      await f();
      resultFor(id).textContent = "";
    } catch (e) {
      const field = e instanceof CommandError ? errorField(e.error) : null;
      if (field === "twitch_client_id") {
        setup.open = true;
        clientIdError.textContent = messageOf(e);
      } else if (field === "youtube_client_id" || field === "youtube_client_secret") {
        ytSetup.open = true;
        (field === "youtube_client_id" ? ytIdError : ytSecretError).textContent = messageOf(e);
      }
      outcome(resultFor(id), false, `${label}: ${messageOf(e)}`);
    } finally {
      busy = false;
      draw();
    }
  };

  const signIn = (id: AccountPlatform, label: string) =>
    act(id, label, async () => {
      const answer = await call(commands.accountSignIn(id));
      prompts[id] = answer;
      // The status event may come before or after the answer: the answer's code counts too.
      if (accounts) {
        const cur = (accounts as unknown as Record<string, AccountStatus>)[id];
        if (cur && cur.state !== "signed_in") {
          accounts = {
            ...accounts,
            [id]: { ...cur, state: "pending", error: null, user_code: answer.prompt?.user_code ?? null, verification_uri: answer.prompt?.verification_uri ?? null },
          };
        }
      }
    });

  const signOut = (id: AccountPlatform, label: string) =>
    act(id, label, async () => {
      delete prompts[id];
      setView(await call(commands.accountSignOut(id)));
    });

  const openPage = (id: AccountPlatform, label: string) =>
    act(id, label, async () => {
      await call(commands.openSignInPage(id));
    });

  const saveClientId = async () => {
    clientIdError.textContent = "";
    const problem = await clientIdCheck.now();
    if (problem) {
      outcome(clientIdResult, false, "Check the client id above.");
      return;
    }
    try {
      setView(await call(commands.saveTwitchClientId(clientId.value.trim())));
      outcome(clientIdResult, true, clientId.value.trim() ? "Saved. You can sign in now." : "Client id removed: no Twitch sign-in.");
    } catch (e) {
      const field = e instanceof CommandError ? errorField(e.error) : null;
      if (field === "twitch_client_id") clientIdError.textContent = messageOf(e);
      outcome(clientIdResult, false, messageOf(e));
    }
  };

  const saveYouTubeClient = async () => {
    ytIdError.textContent = "";
    ytSecretError.textContent = "";
    const [idProblem, secretProblem] = await Promise.all([ytIdCheck.now(), ytSecretCheck.now()]);
    if (idProblem || secretProblem) {
      outcome(ytResult, false, `Check the client ${idProblem ? "id" : "secret"} above.`);
      return;
    }
    try {
      setView(await call(commands.saveYoutubeClient(ytId.value.trim(), ytSecret.value.trim())));
      ytSecret.value = "";
      outcome(ytResult, true, youtubeClientSavedWords(view!));
    } catch (e) {
      // A field's problem is shown under the field (once); anything else here.
      const field = e instanceof CommandError ? errorField(e.error) : null;
      if (field === "youtube_client_id" || field === "youtube_client_secret") {
        (field === "youtube_client_id" ? ytIdError : ytSecretError).textContent = messageOf(e);
        outcome(ytResult, false, `Check the client ${field === "youtube_client_id" ? "id" : "secret"} above.`);
      } else {
        outcome(ytResult, false, messageOf(e));
      }
    }
  };

  const setView = (v: AccountsView) => {
    view = v;
    accounts = v.status;
    clientId.value = v.twitch_client_id;
    ytId.value = v.youtube_client_id;
    ytSecret.placeholder = youtubeSecretPlaceholder(v);
    draw();
  };

  const card = (id: AccountPlatform, label: string, s: AccountStatus) => {
    const words = accountWords(label, s, configured(id));
    const signedIn = s.state === "signed_in" || s.state === "error";
    const events = eventsWords(label, s.events, signedIn);
    const prompt = prompts[id];
    const code = s.state === "pending" ? (s.user_code ?? prompt?.prompt?.user_code ?? null) : null;
    const uri = s.verification_uri ?? prompt?.page ?? null;
    const pending =
      s.state === "pending"
        ? h(
            "div",
            { class: "device-code", "data-testid": `account-pending-${id}` },
            code
              ? [
                  h("div", { class: "muted small" }, `Enter this code on ${label}'s page:`),
                  h(
                    "div",
                    { class: "row" },
                    h("output", { class: "code", "data-testid": `account-code-${id}` }, code),
                    h(
                      "button",
                      {
                        "data-testid": `account-copy-${id}`,
                        onclick: async (ev: MouseEvent) => {
                          await copyText(code);
                          (ev.target as HTMLButtonElement).textContent = "Copied ✓";
                        },
                      },
                      "Copy",
                    ),
                  ),
                ]
              : null,
            uri
              ? h(
                  "div",
                  { class: "small" },
                  prompt?.open_error
                    ? h("span", { class: "warning", "data-testid": `account-open-error-${id}` }, `The browser did not open (${prompt.open_error}): open this page yourself: `)
                    : h("span", { class: "muted" }, "The page opened in your browser: "),
                  h("code", { "data-testid": `account-uri-${id}` }, uri),
                )
              : null,
            h(
              "div",
              { class: "row" },
              h("button", { class: "small", "data-testid": `account-open-${id}`, disabled: busy, onclick: () => void openPage(id, label) }, `Open ${label}'s page again`),
              h("span", { class: "muted small" }, prompt?.prompt ? expiresWords(prompt.prompt.expires_in) : ""),
            ),
          )
        : null;
    const buttons =
      words.action === "sign_in"
        ? h(
            "button",
            { class: "primary", "data-testid": `account-sign-in-${id}`, disabled: busy || !configured(id), onclick: () => void signIn(id, label) },
            `Sign in with ${label}`,
          )
        : h(
            "button",
            { class: words.action === "cancel" ? "" : "danger", "data-testid": `account-sign-out-${id}`, disabled: busy, onclick: () => void signOut(id, label) },
            words.action === "cancel" ? "Cancel" : "Sign out",
          );
    return h(
      "div",
      { class: `account-card tone-${words.tone}`, "data-testid": `account-card-${id}`, "data-state": s.state },
      h("div", { class: "account-head" }, h("span", { class: `badge src-${id}` }, label), h("span", { class: "dot" })),
      h("div", { class: `account-state ${words.tone}`, "data-testid": `account-state-${id}` }, words.text),
      words.detail ? h("div", { class: "muted small", "data-testid": `account-detail-${id}` }, words.detail) : null,
      pending,
      h("div", { class: "row" }, buttons),
      h("div", { class: `small account-events ${events.tone}`, "data-testid": `account-events-${id}` }, events.text),
      setups[id] ?? null,
      h("p", { class: "muted small", "data-testid": `account-replay-note-${id}` }, `Events sent while the app is not connected to ${label} are not replayed by ${label}.`),
      resultFor(id),
    );
  };

  const draw = () => {
    intro.textContent =
      "Sign in to your platforms: their follows, subs, cheers, raids and Super Chats become alerts (the same queue, moderation and " +
      `OBS overlay as every alert). Sign-ins are kept in ${store} only; Streampai never sees your password.`;
    if (!accounts) return fill(cards, h("p", { class: "muted" }, "Loading…"));
    const entries = accountEntries(accounts);
    const env = setup.querySelector('[data-testid="twitch-client-id-env"]');
    if (env) {
      env.textContent = view?.twitch_client_id_from_env
        ? "STREAMPAI_TWITCH_CLIENT_ID is set: it replaces this client id at every launch."
        : "";
    }
    ytEnv.textContent = view?.youtube_client_from_env
      ? "STREAMPAI_YOUTUBE_CLIENT_ID or _SECRET is set: it replaces what is saved here at every launch."
      : "";
    // Until the first view: nothing is known to be saved, the forms stay as they are.
    if (view) for (const id of ["twitch", "youtube"]) if (!configured(id)) setups[id]!.open = true;
    fill(cards, entries.map((e) => card(e.id, e.label, e.status)));
  };

  const el = h(
    "section",
    { class: "card", "data-testid": "accounts-section" },
    h("h2", {}, "Accounts"),
    intro,
    cards,
  );
  draw();
  void call(commands.getAccounts())
    .then(setView)
    .catch((e) => outcome(resultFor("twitch"), false, messageOf(e)));
  void secretBackend()
    .then((b) => {
      store = storeName(b);
      draw();
    })
    .catch(() => {});
  const off = ctx.onEvent((ev) => {
    if (ev.type !== "account_status" || !accounts) return;
    const was = (accounts as unknown as Partial<Record<string, AccountStatus>>)[ev.platform]?.state;
    accounts = reduceAccounts(accounts, ev);
    if (ev.status.state !== "pending") delete prompts[ev.platform];
    // Signed in: the app's setup has done its job, fold it away.
    const form = setups[ev.platform];
    if (form && ev.status.state === "signed_in" && was !== "signed_in") form.open = false;
    draw();
  });
  return { el, cleanup: off };
}
