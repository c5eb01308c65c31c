// The first run's "Connect OBS": finds OBS at its WebSocket address (127.0.0.1:4455 unless set
// otherwise) with one probe, asks for the password when OBS wants one, or explains how to turn
// OBS's WebSocket server on; then offers "Set up OBS for me".
import { call, CommandError, commands, messageOf } from "../api";
import type { ObsProbe } from "../bindings";
import { fill, h } from "../dom";
import { checkField } from "../checks";
import { errorField } from "../format";
import { previousWords, probeView, TURN_ON_STEPS } from "../obs";

/** `onSetUp` runs once OBS streams to the app. */
export function obsConnect(onSetUp: () => void): HTMLElement {
  const box = h("div", { class: "obs-connect", "data-testid": "obs-connect" });
  const status = h("div", { "data-testid": "obs-connect-status" });
  const body = h("div", { class: "form" });
  const result = h("div", { class: "result", "data-testid": "obs-connect-result" });
  const password = h("input", {
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "OBS's WebSocket password",
    "data-testid": "obs-connect-password",
  });
  const passwordError = h("div", { class: "field-error", "data-testid": "obs-connect-password-error" });
  const url = h("input", { "data-testid": "obs-connect-url", spellcheck: "false", placeholder: "ws://127.0.0.1:4455" });
  const urlError = h("div", { class: "field-error", "data-testid": "obs-connect-url-error" });
  let savedUrl = "";
  let busy = false;
  let done = false;
  fill(box, status, body, result);

  const outcome = (ok: boolean, text: string) => {
    result.className = ok ? "result ok" : "result error";
    result.textContent = text;
  };
  const button = (testid: string, text: string, onclick: () => void, primary = false) =>
    h("button", { class: primary ? "primary" : "", "data-testid": testid, disabled: busy, onclick }, text);

  /** The address typed, when it differs from `[obs] url` (`null`: the saved one). */
  const typedUrl = () => (url.value.trim() !== "" && url.value.trim() !== savedUrl ? url.value.trim() : null);

  const show = (p: ObsProbe, triedPassword: boolean) => {
    const where = typedUrl() ?? savedUrl;
    const v = probeView(p, where, triedPassword);
    status.className = v.kind === "connected" ? "ok" : v.kind === "password" && v.wrong ? "error" : "";
    status.textContent = v.text;
    status.dataset.kind = v.kind;
    switch (v.kind) {
      case "connected":
        fill(
          body,
          h("p", {}, "Streampai can point OBS's stream settings at itself. OBS's current settings are kept, and Restore on the dashboard puts them back."),
          h("div", { class: "row" }, button("obs-connect-setup", "Set up OBS for me", () => void setup(), true)),
        );
        break;
      case "password":
        fill(
          body,
          h("label", {}, "OBS's WebSocket password"),
          h("div", { class: "row" }, password, button("obs-connect-btn", "Connect", () => void connect(), true)),
          passwordError,
          h("p", { class: "muted small" }, "In OBS: Tools › WebSocket Server Settings › Show Connect Info shows the server password."),
        );
        break;
      case "turn_on":
      case "incompatible":
        fill(
          body,
          v.kind === "turn_on"
            ? h("ol", { class: "turn-on", "data-testid": "obs-connect-steps" }, TURN_ON_STEPS.map((s) => h("li", {}, s)))
            : null,
          h("div", { class: "row" }, button("obs-connect-retry", "Try again", () => void find(), true)),
          h(
            "details",
            {},
            h("summary", {}, "OBS on another address or port?"),
            h("div", { class: "row" }, url),
            urlError,
          ),
        );
        break;
    }
  };

  const probe = async (pw: string | null) => {
    urlError.textContent = "";
    const typed = typedUrl();
    if (typed) {
      const problem = await checkField({ field: "obs_url", value: typed });
      if (problem) {
        urlError.textContent = problem;
        throw new Error(problem);
      }
    }
    return call(commands.probeObs(typed, pw));
  };

  const find = async () => {
    if (done) return;
    busy = true;
    result.textContent = "";
    status.className = "";
    status.textContent = `Looking for OBS at ${typedUrl() ?? savedUrl}…`;
    try {
      show(await probe(null), false);
    } catch (e) {
      outcome(false, messageOf(e));
    }
    busy = false;
    body.querySelectorAll("button").forEach((b) => (b.disabled = false));
  };

  /** Keeps the address the user typed (it worked) as `[obs] url`. */
  const keepUrl = async () => {
    const typed = typedUrl();
    if (!typed) return;
    const v = await call(commands.getObsSettings());
    const saved = await call(
      commands.saveObs({ enabled: true, url: typed, start_with_stream: v.start_with_stream, stop_with_stream: v.stop_with_stream }),
    );
    savedUrl = saved.url;
  };

  const connect = async () => {
    passwordError.textContent = "";
    const problem = await checkField({ field: "obs_password", value: password.value });
    if (problem) {
      passwordError.textContent = problem;
      return;
    }
    busy = true;
    body.querySelectorAll("button").forEach((b) => (b.disabled = true));
    try {
      const p = await probe(password.value);
      if (p.state === "connected") {
        // It works: keep the password (secret store only) and the address; the link connects.
        await keepUrl();
        await call(commands.setObsPassword(password.value));
        password.value = "";
      }
      show(p, true);
    } catch (e) {
      const field = e instanceof CommandError ? errorField(e.error) : null;
      if (field === "obs_password") passwordError.textContent = messageOf(e);
      outcome(false, messageOf(e));
    }
    busy = false;
    body.querySelectorAll("button").forEach((b) => (b.disabled = false));
  };

  /** Waits (up to 15 s) for the app's own link to OBS to be up: it connects right after the
   * password is saved. */
  const linkUp = async (): Promise<boolean> => {
    for (let i = 0; i < 50; i++) {
      const s = await call(commands.getObsStatus());
      if (s.state === "connected") return true;
      if (s.state === "auth_failed" || s.state === "incompatible") return false;
      await new Promise((r) => setTimeout(r, 300));
    }
    return false;
  };

  const setup = async () => {
    busy = true;
    body.querySelectorAll("button").forEach((b) => (b.disabled = true));
    outcome(true, "Setting up OBS…");
    try {
      await keepUrl();
      if (!(await linkUp())) await call(commands.obsReconnect());
      const r = await call(commands.obsSetup());
      const kept = r.previous ? ` OBS's previous settings (${previousWords(r.previous)}) are kept: Restore on the dashboard puts them back.` : "";
      done = true;
      fill(body, h("p", { class: "ok", "data-testid": "obs-connect-done" }, `✓ OBS is set up: it streams to ${r.server}.${kept}`));
      result.textContent = "";
      onSetUp();
    } catch (e) {
      outcome(false, messageOf(e));
      body.querySelectorAll("button").forEach((b) => (b.disabled = false));
    }
    busy = false;
  };

  status.textContent = "Looking for OBS…";
  void call(commands.getObsSettings())
    .then((v) => {
      savedUrl = v.url;
      url.value = v.url;
      return find();
    })
    .catch((e) => outcome(false, messageOf(e)));
  return box;
}
