// Settings › OBS: the link on/off, OBS's WebSocket address, Start/Stop together, and the password
// (kept in the secret store, never shown back; "Forget password" for an OBS that asks for none).
// The link's state in words, live from the engine (`obs_status` events).
import { call, CommandError, commands, messageOf } from "../api";
import type { ObsSettingsView, ObsStatus, SecretBackend } from "../bindings";
import { h } from "../dom";
import { errorField } from "../format";
import type { Ctx } from "../main";
import { checkField, liveCheck } from "../checks";
import { obsLinkWords } from "../obs";
import { keptHint, secretBackend, storeName } from "../secrets";

const FIELDS = ["obs_url", "obs_password"] as const;
type Field = (typeof FIELDS)[number];

export function obsSection(ctx: Ctx): { el: HTMLElement; cleanup: () => void } {
  let view: ObsSettingsView | null = null;
  let status: ObsStatus | null = null;
  let backend: SecretBackend | null = null;
  let store = storeName(null);
  const enabled = h("input", { type: "checkbox", "data-testid": "obs-enabled" });
  const url = h("input", { "data-testid": "obs-url", placeholder: "ws://127.0.0.1:4455", spellcheck: "false" });
  const startWith = h("input", { type: "checkbox", "data-testid": "obs-start-with" });
  const stopWith = h("input", { type: "checkbox", "data-testid": "obs-stop-with" });
  const password = h("input", {
    type: "password",
    "data-testid": "obs-settings-password",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "from OBS › Tools › WebSocket Server Settings",
  });
  const passwordState = h("div", { class: "muted small", "data-testid": "obs-password-state" });
  const forget = h("button", { class: "ghost", "data-testid": "obs-password-forget" }, "Forget password");
  const state = h("div", { class: "sync-state", "data-testid": "obs-settings-state" });
  const result = h("div", { class: "result", "data-testid": "obs-settings-result" });
  const fieldError = (f: Field) => h("div", { class: "field-error", "data-testid": `obs-error-${f.replace(/^obs_/, "")}` });
  const errors: Record<Field, HTMLElement> = { obs_url: fieldError("obs_url"), obs_password: fieldError("obs_password") };
  const outcome = (ok: boolean, text: string) => {
    result.className = ok ? "result ok" : "result error";
    result.textContent = text;
  };

  const draw = () => {
    if (view) {
      passwordState.textContent = view.password_from_env
        ? `The password comes from STREAMPAI_OBS_PASSWORD (it wins over ${store}).`
        : view.has_password
          ? `A password is stored in ${store}; type a new one to replace it.`
          : "No password stored (OBS asks for one unless its authentication is off).";
      forget.disabled = !view.has_password || view.password_from_env;
      password.placeholder = view.has_password ? keptHint(backend) : "from OBS › Tools › WebSocket Server Settings";
    }
    if (status) {
      state.className = `sync-state ${status.state === "connected" ? "connected" : status.state === "connecting" ? "connecting" : ""}`;
      state.textContent = obsLinkWords(status, view?.has_password ?? true);
    }
  };

  const setForm = (v: ObsSettingsView) => {
    view = v;
    enabled.checked = v.enabled;
    url.value = v.url;
    startWith.checked = v.start_with_stream;
    stopWith.checked = v.stop_with_stream;
    draw();
  };
  const clearErrors = () => {
    for (const f of FIELDS) errors[f].textContent = "";
  };
  const fail = (e: unknown) => {
    const field = e instanceof CommandError ? errorField(e.error) : null;
    if (field && field in errors) errors[field as Field].textContent = messageOf(e);
    outcome(false, messageOf(e));
  };

  const urlCheck = liveCheck(
    () => checkField({ field: "obs_url", value: url.value }),
    (p) => (errors.obs_url.textContent = p ?? ""),
  );

  const save = async () => {
    clearErrors();
    const urlErr = await urlCheck.now();
    const pwErr = password.value !== "" ? await checkField({ field: "obs_password", value: password.value }) : null;
    if (pwErr) errors.obs_password.textContent = pwErr;
    if (urlErr || pwErr) {
      outcome(false, "Check the fields above.");
      return;
    }
    try {
      setForm(
        await call(
          commands.saveObs({
            enabled: enabled.checked,
            url: url.value.trim(),
            start_with_stream: startWith.checked,
            stop_with_stream: stopWith.checked,
          }),
        ),
      );
      if (password.value !== "") {
        setForm(await call(commands.setObsPassword(password.value)));
        password.value = ""; // never shown back
      }
      outcome(true, "Saved.");
    } catch (e) {
      fail(e);
    }
  };

  forget.addEventListener("click", async () => {
    clearErrors();
    try {
      setForm(await call(commands.setObsPassword(null)));
      outcome(true, "Password forgotten.");
    } catch (e) {
      fail(e);
    }
  });
  url.addEventListener("input", urlCheck.typed);

  const el = h(
    "section",
    { class: "card form", "data-testid": "obs-section" },
    h("h2", {}, "OBS"),
    h(
      "p",
      { class: "muted small" },
      "Streampai talks to OBS through OBS's own WebSocket server (OBS 28 and newer): it can set OBS up to stream to " +
        "Streampai, start and stop OBS's stream with yours, and show OBS's health on the dashboard.",
    ),
    h("div", { class: "row" }, h("span", { class: "muted" }, "Status:"), state),
    h("label", { class: "check" }, enabled, " Connect to OBS"),
    h("label", {}, "OBS's WebSocket address"),
    url,
    errors.obs_url,
    h("label", {}, "Password"),
    h("div", { class: "row" }, password, forget),
    passwordState,
    errors.obs_password,
    h("label", { class: "check" }, startWith, " Start together: Start here starts OBS's stream, Start Streaming in OBS starts Streampai's"),
    h("label", { class: "check" }, stopWith, " Stop together: Stop here stops OBS's stream; when OBS stops, Streampai ends the stream shortly after"),
    h("button", { class: "primary", "data-testid": "obs-save", onclick: save }, "Save"),
    result,
  );
  void call(commands.getObsSettings()).then(setForm).catch(fail);
  void secretBackend()
    .then((b) => {
      backend = b;
      store = storeName(b);
      draw();
    })
    .catch(() => {});
  let live = false;
  const off = ctx.onEvent((ev) => {
    if (ev.type === "obs_status") {
      live = true;
      status = ev.status;
      draw();
    }
  });
  void call(commands.getObsStatus())
    .then((s) => {
      if (!live) {
        status = s;
        draw();
      }
    })
    .catch(() => {});
  return { el, cleanup: off };
}
