// Settings › Sync: the sync server's address, this device's name, on/off, the token (masked,
// kept in the secret store: the system keyring or the secrets file) and the connection state in words, live from the engine.
import { call, CommandError, commands, messageOf } from "../api";
import type { SyncSettingsView } from "../bindings";
import { fill, h } from "../dom";
import { errorField } from "../format";
import type { Ctx } from "../main";
import { checkField, liveCheck } from "../checks";
import { secretBackend, storeName } from "../secrets";
import { remoteUrl, syncStateWords, type SyncStatusLike } from "../sync";

const FIELDS = ["sync_url", "sync_device_name", "sync_token"] as const;
type Field = (typeof FIELDS)[number];

export function syncSection(ctx: Ctx): { el: HTMLElement; cleanup: () => void } {
  let view: SyncSettingsView | null = null;
  let status: SyncStatusLike | null = null;
  let store = storeName(null);
  const enabled = h("input", { type: "checkbox", "data-testid": "sync-enabled" });
  const url = h("input", { "data-testid": "sync-url", placeholder: "ws://192.168.1.10:4860", spellcheck: "false" });
  const name = h("input", { "data-testid": "sync-device-name", placeholder: "this computer's name" });
  const token = h("input", {
    type: "password",
    "data-testid": "sync-token",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "paste the token from `streampai sync-server user add NAME`",
  });
  const tokenState = h("div", { class: "muted small", "data-testid": "sync-token-state" });
  const forget = h("button", { class: "ghost", "data-testid": "sync-token-forget" }, "Forget token");
  const state = h("div", { class: "sync-state", "data-testid": "sync-state" });
  const remote = h("div", { class: "muted small", "data-testid": "sync-remote" });
  const result = h("div", { class: "result", "data-testid": "sync-result" });
  const fieldError = (f: Field) => h("div", { class: "field-error", "data-testid": `sync-error-${f.replace(/^sync_/, "")}` });
  const errors: Record<Field, HTMLElement> = {
    sync_url: fieldError("sync_url"),
    sync_device_name: fieldError("sync_device_name"),
    sync_token: fieldError("sync_token"),
  };
  const outcome = (ok: boolean, text: string) => {
    result.className = ok ? "result ok" : "result error";
    result.textContent = text;
  };

  const draw = () => {
    if (view) {
      tokenState.textContent = view.token_from_env
        ? `The token comes from STREAMPAI_SYNC_TOKEN (it wins over ${store}).`
        : view.has_token
          ? `A token is stored in ${store}.`
          : "No token stored.";
      forget.disabled = !view.has_token || view.token_from_env;
      name.placeholder = `this computer's name (${view.effective_device_name})`;
    }
    const shown: SyncStatusLike = status ?? { state: "off", server: null, last_error: null, devices: [] };
    state.className = `sync-state ${shown.state}`;
    state.textContent = syncStateWords(shown);
    const phone = remoteUrl(url.value);
    fill(
      remote,
      phone
        ? ["Phone remote: open ", h("code", { "data-testid": "sync-remote-url" }, phone), " in the phone's browser and sign in with the same token."]
        : null,
    );
  };

  const setForm = (v: SyncSettingsView) => {
    view = v;
    enabled.checked = v.enabled;
    url.value = v.url;
    name.value = v.device_name;
    draw();
  };

  // After a change the engine has applied, its status in force (the change's own `sync_status`
  // event follows; reading it here keeps the line right even if a window missed that event).
  const refreshStatus = async () => {
    try {
      status = await call(commands.getSyncStatus());
      draw();
    } catch {
      // the event still updates the line
    }
  };

  const clearErrors = () => {
    for (const f of FIELDS) errors[f].textContent = "";
  };
  const fail = (e: unknown) => {
    const field = e instanceof CommandError ? errorField(e.error) : null;
    if (field && field in errors) errors[field as Field].textContent = messageOf(e);
    outcome(false, messageOf(e));
  };

  // The engine's rules, live while typing and again on save. The token's rules are the shell's
  // (`set_sync_token` answers with a field error before anything is stored).
  const urlCheck = liveCheck(
    () =>
      enabled.checked || url.value.trim() !== "" ? checkField({ field: "sync_url", value: url.value }) : Promise.resolve(null),
    (p) => (errors.sync_url.textContent = p ?? ""),
  );
  const nameCheck = liveCheck(
    () => checkField({ field: "device_name", value: name.value }),
    (p) => (errors.sync_device_name.textContent = p ?? ""),
  );

  const save = async () => {
    clearErrors();
    const [urlErr, nameErr] = await Promise.all([urlCheck.now(), nameCheck.now()]);
    if (urlErr || nameErr) {
      outcome(false, "Check the fields above.");
      return;
    }
    try {
      // The token first, so the engine has it when sync is switched on.
      const input = { enabled: enabled.checked, url: url.value.trim(), device_name: name.value.trim() };
      if (token.value !== "") {
        view = await call(commands.setSyncToken(token.value)); // the form keeps what was typed
        token.value = "";
        draw();
      }
      setForm(await call(commands.saveSync(input)));
      await refreshStatus();
      outcome(true, enabled.checked && !view?.has_token ? "Saved. Add a token to connect." : "Saved.");
    } catch (e) {
      fail(e);
    }
  };

  forget.addEventListener("click", async () => {
    clearErrors();
    try {
      setForm(await call(commands.forgetSyncToken()));
      await refreshStatus();
      outcome(true, "Token forgotten: this computer no longer signs in to the sync server.");
    } catch (e) {
      fail(e);
    }
  });
  url.addEventListener("input", () => {
    draw();
    if (url.value.trim() !== "") urlCheck.typed();
    else errors.sync_url.textContent = "";
  });
  name.addEventListener("input", nameCheck.typed);

  const el = h(
    "section",
    { class: "card form", "data-testid": "sync-section" },
    h("h2", {}, "Sync"),
    h(
      "p",
      { class: "muted small", "data-testid": "sync-explain" },
      "Links this app to your sync server: your other devices signed in there count as presence (they keep the stream " +
        "manager up), and the phone remote lives at the server's address.",
    ),
    h("div", { class: "row" }, h("span", { class: "muted" }, "Status:"), state),
    h("label", { class: "check" }, enabled, " Connect to a sync server"),
    h("label", {}, "Server address"),
    url,
    errors.sync_url,
    remote,
    h("label", {}, "This device's name (shown to your other devices)"),
    name,
    errors.sync_device_name,
    h("label", {}, "Token"),
    h("div", { class: "row" }, token, forget),
    tokenState,
    errors.sync_token,
    h("button", { class: "primary", "data-testid": "sync-save", onclick: save }, "Save"),
    result,
  );
  draw();
  void call(commands.getSyncSettings()).then(setForm).catch(fail);
  void secretBackend()
    .then((b) => {
      store = storeName(b);
      draw();
    })
    .catch(() => {});
  const off = watchSyncStatus(ctx, (s) => {
    status = s;
    draw();
  });
  return { el, cleanup: off };
}

/** The engine's sync status now and on every change (`sync_status` events). */
export function watchSyncStatus(ctx: Ctx, cb: (s: SyncStatusLike) => void): () => void {
  let live = false;
  const off = ctx.onEvent((ev) => {
    if (ev.type === "sync_status") {
      live = true;
      cb(ev.status);
    }
  });
  void call(commands.getSyncStatus())
    .then((s) => {
      if (!live) cb(s);
    })
    .catch(() => {});
  return off;
}
