// The dashboard's OBS card: the link in words, OBS's version, whether OBS streams and its own
// health (congestion, skipped of total frames, reconnecting), "Set up OBS for me" or "OBS is set
// up", OBS's previous settings with "Restore" (never a key), a refused setup with its reason,
// and the password + "Try again" when OBS refused the password.
import { call, commands, messageOf } from "../api";
import type { ObsStatus } from "../bindings";
import { fill, h } from "../dom";
import {
  framesWords,
  obsHealthWords,
  obsLinkWords,
  obsProblem,
  obsStreamWords,
  previousWords,
  setupOffer,
} from "../obs";
import { checkField } from "../checks";
import { sentence } from "../format";

export interface ObsCard {
  el: HTMLElement;
  /** Shows the status (re-draws only when something shown changed); `receiving`: video arrives
   * from OBS (the input status). */
  show(s: ObsStatus, receiving: boolean): void;
}

export function obsCard(reload: () => void): ObsCard {
  const el = h("section", { class: "card obs-card", "data-testid": "obs-card" });
  const password = h("input", {
    type: "password",
    autocomplete: "off",
    placeholder: "OBS's WebSocket password",
    "data-testid": "obs-password",
  });
  const result = h("div", { class: "result", "data-testid": "obs-result" });
  let status: ObsStatus | null = null;
  let receiving = false;
  let shown = "";
  let busy = false;
  let hasPassword = true;
  const outcome = (ok: boolean, text: string) => {
    result.className = ok ? "result ok" : "result error";
    result.textContent = text;
  };

  const act = async (what: () => Promise<string>) => {
    busy = true;
    result.textContent = "";
    draw(true);
    try {
      outcome(true, await what());
    } catch (e) {
      outcome(false, messageOf(e));
    }
    busy = false;
    draw(true);
    reload();
  };

  const setup = () =>
    act(async () => {
      const r = await call(commands.obsSetup());
      if (r.unchanged) return `OBS already streams to Streampai (${r.server}).`;
      const kept = r.previous ? ` Your previous settings (${previousWords(r.previous)}) are kept: Restore puts them back.` : "";
      return `Done: OBS now streams to ${r.server}.${kept}`;
    });
  const restore = () =>
    act(async () => {
      const r = await call(commands.obsRestore());
      const key = r.restored.has_key && !r.key_restored ? " Enter the stream key in OBS again: it was no longer stored." : "";
      return `OBS's previous settings are back: ${previousWords(r.restored)}.${key}`;
    });
  const retry = () =>
    act(async () => {
      const typed = password.value;
      if (typed.trim() !== "") {
        const problem = await checkField({ field: "obs_password", value: typed });
        if (problem) throw new Error(problem);
        const view = await call(commands.setObsPassword(typed));
        hasPassword = view.has_password;
        password.value = "";
        return "Password saved. Connecting to OBS…";
      }
      await call(commands.obsReconnect());
      return "Connecting to OBS again…";
    });

  const draw = (force = false) => {
    if (!status) return;
    const s = status;
    const key = JSON.stringify([s, busy, hasPassword, receiving]);
    if (!force && key === shown) return;
    shown = key;
    const health = obsHealthWords(s);
    const frames = framesWords(s.skipped_frames, s.total_frames);
    const stream = obsStreamWords(s);
    const problem = obsProblem(s);
    const offer = setupOffer(s);
    const item = (label: string, testid: string, value: string, cls = "") =>
      h("div", {}, h("dt", {}, label), h("dd", { "data-testid": testid, class: cls }, value));
    fill(
      el,
      h("div", { class: "card-head" }, h("strong", {}, "OBS"), h("span", { class: "muted small" }, s.url ?? "")),
      h("div", { class: `obs-link ${s.state}`, "data-testid": "obs-link" }, h("span", { class: "dot" }), obsLinkWords(s, hasPassword, receiving)),
      // The engine's detail where the headline needs it (what answered instead of OBS 5).
      problem && s.state === "incompatible"
        ? h("div", { class: "muted small", "data-testid": "obs-problem" }, sentence(problem.detail))
        : null,
      stream
        ? h(
            "dl",
            { class: "stats" },
            item("Stream", "obs-streaming", stream),
            health ? item("Health", "obs-health", health.text, `health ${health.cls}`) : null,
            frames ? item("Frames", "obs-frames", frames) : null,
            s.websocket_version ? item("WebSocket", "obs-websocket", s.websocket_version) : null,
          )
        : null,
      offer === "offer"
        ? h(
            "div",
            { class: "obs-setup" },
            h("button", { class: "primary", "data-testid": "obs-setup-btn", disabled: busy, onclick: setup }, "Set up OBS for me"),
            h("div", { class: "muted small" }, "Points OBS's Settings › Stream at Streampai; OBS's current settings are kept for Restore."),
          )
        : null,
      offer === "done" ? h("div", { class: "ok", "data-testid": "obs-set-up" }, "✓ OBS is set up: it streams to Streampai") : null,
      s.previous
        ? h(
            "div",
            { class: "obs-previous", "data-testid": "obs-previous" },
            h("span", { class: "muted" }, "Kept from before: "),
            h("span", { "data-testid": "obs-previous-words" }, previousWords(s.previous)),
            " ",
            h("button", { "data-testid": "obs-restore-btn", disabled: busy || s.streaming, onclick: restore }, "Restore"),
          )
        : null,
      s.state === "auth_failed"
        ? h(
            "div",
            { class: "row obs-password" },
            password,
            h("button", { "data-testid": "obs-retry", disabled: busy, onclick: retry }, "Try again"),
          )
        : null,
      s.state === "auth_failed"
        ? h("div", { class: "muted small" }, "In OBS: Tools › WebSocket Server Settings › Show Connect Info shows the password.")
        : null,
      s.state === "incompatible"
        ? h("button", { "data-testid": "obs-retry", disabled: busy, onclick: retry }, "Try again")
        : null,
      s.state === "unreachable"
        ? h(
            "div",
            { class: "muted small", "data-testid": "obs-turn-on" },
            receiving
              ? "Turn on OBS's WebSocket server: Tools › WebSocket Server Settings › Enable (and check the address in Settings › OBS)."
              : "Start OBS, and turn on its WebSocket server: Tools › WebSocket Server Settings › Enable.",
          )
        : null,
      result,
    );
  };

  void call(commands.getObsSettings())
    .then((v) => {
      hasPassword = v.has_password;
      draw(true);
    })
    .catch(() => {});

  return {
    el,
    show(s, r) {
      status = s;
      receiving = r;
      draw();
    },
  };
}
