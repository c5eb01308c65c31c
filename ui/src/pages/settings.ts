// Settings: platform accounts (sign in with Twitch), Cloudflare, where secrets live, streaming,
// OBS, sync, timing, hotkeys, start on login, and facts about the app.
import { call, commands, messageOf } from "../api";
import { fill, h } from "../dom";
import type { Ctx } from "../main";
import { secretBackend, secretsWords } from "../secrets";
import { accountsSection } from "./accounts";
import { cloudflareSection } from "./cloudflare";
import { obsSection } from "./obs_settings";
import { streamingSection } from "./streaming";
import { syncSection } from "./sync";

export function settingsPage(root: HTMLElement, ctx: Ctx): () => void {
  const s = ctx.settings;
  const cleanup = h("input", { type: "number", min: "0", step: "500", "data-testid": "cleanup-ms", value: s.cleanup_timeout_ms });
  const poll = h("input", { type: "number", min: "1000", step: "1000", "data-testid": "poll-ms", value: s.poll_interval_ms });
  const generalResult = h("div", { class: "result", "data-testid": "general-result" });
  const hkStart = h("input", { "data-testid": "hotkey-start", value: s.preferences.hotkey_start ?? "", placeholder: "e.g. CommandOrControl+Shift+F9" });
  const hkStop = h("input", { "data-testid": "hotkey-stop", value: s.preferences.hotkey_stop ?? "", placeholder: "e.g. CommandOrControl+Shift+F10" });
  const login = h("input", { type: "checkbox", "data-testid": "start-on-login", checked: s.preferences.start_on_login });
  const prefsResult = h("div", { class: "result", "data-testid": "prefs-result" });
  const info = h("div", { class: "muted small" });
  const secrets = h("p", { "data-testid": "secrets-backend" }, "Asking where secrets are kept…");
  const streaming = streamingSection(ctx);
  const sync = syncSection(ctx);
  const obs = obsSection(ctx);
  const accounts = accountsSection(ctx);
  const outcome = (el: HTMLElement, ok: boolean, text: string) => {
    el.className = ok ? "result ok" : "result error";
    el.textContent = text;
  };

  fill(
    root,
    h("h1", {}, "Settings"),
    s.seeded ? h("p", { class: "note" }, "STREAMPAI_CONFIG is set: its values replace these settings at every launch.") : null,
    accounts.el,
    cloudflareSection(ctx, () => streaming.refresh(), { offerSwitch: true }),
    h("section", { class: "card form", "data-testid": "secrets-section" }, h("h2", {}, "Secrets"), secrets),
    streaming.el,
    obs.el,
    sync.el,
    h(
      "section",
      { class: "card form" },
      h("h2", {}, "Timing"),
      h("label", {}, "Grace after the last window closes (ms)"),
      cleanup,
      h("label", {}, "How often to check for OBS (ms)"),
      poll,
      h(
        "button",
        {
          class: "primary",
          "data-testid": "general-save",
          onclick: async () => {
            try {
              ctx.settings = await call(
                commands.saveGeneral({
                  cloudflare_account_id: ctx.settings.cloudflare_account_id,
                  cleanup_timeout_ms: Number(cleanup.value),
                  poll_interval_ms: Number(poll.value),
                }),
              );
              outcome(generalResult, true, "Saved.");
            } catch (e) {
              outcome(generalResult, false, messageOf(e));
            }
          },
        },
        "Save",
      ),
      generalResult,
    ),
    h(
      "section",
      { class: "card form" },
      h("h2", {}, "Hotkeys and startup"),
      h("label", {}, "Start stream shortcut"),
      hkStart,
      h("label", {}, "Stop stream shortcut"),
      hkStop,
      h("label", { class: "check" }, login, " Start Streampai when I log in (in the tray)"),
      h(
        "button",
        {
          class: "primary",
          "data-testid": "prefs-save",
          onclick: async () => {
            try {
              ctx.settings = await call(
                commands.savePreferences({
                  hotkey_start: hkStart.value.trim() || null,
                  hotkey_stop: hkStop.value.trim() || null,
                  start_on_login: login.checked,
                }),
              );
              outcome(prefsResult, true, "Saved.");
            } catch (e) {
              outcome(prefsResult, false, messageOf(e));
            }
          },
        },
        "Save",
      ),
      prefsResult,
    ),
    h("section", { class: "card" }, h("h2", {}, "About"), info),
  );
  void secretBackend()
    .then((b) => {
      secrets.className = b.kind === "keyring" ? "" : "warning";
      secrets.textContent = secretsWords(b);
    })
    .catch((e) => {
      secrets.className = "error";
      secrets.textContent = messageOf(e);
    });
  void call(commands.getAppInfo()).then((a) =>
    fill(
      info,
      h("div", {}, `Version ${a.version}`),
      h("div", {}, "Control API: ", h("code", { "data-testid": "control-url" }, a.control.url ?? a.control.error ?? "starting…")),
      h("div", {}, `Data folder: ${a.data_dir}`),
      h("div", {}, `Logs: ${a.log_dir}`),
    ),
  );
  return () => {
    accounts.cleanup();
    streaming.cleanup();
    obs.cleanup();
    sync.cleanup();
  };
}
