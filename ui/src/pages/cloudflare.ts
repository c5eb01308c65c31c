// The Cloudflare section, shared by Settings and the first-run setup: account ID, API token
// (into the keyring), and "Test connection" with the exact problem in words.
import { call, CommandError, commands, messageOf } from "../api";
import type { SettingsView } from "../bindings";
import { fill, h } from "../dom";
import type { Ctx } from "../main";

export function cloudflareSection(ctx: Ctx, onSaved: (s: SettingsView) => void): HTMLElement {
  const s = ctx.settings;
  const account = h("input", { "data-testid": "cf-account", value: s.cloudflare_account_id, placeholder: "32-character account ID" });
  const token = h("input", {
    type: "password",
    autocomplete: "off",
    "data-testid": "cf-token",
    placeholder: s.has_cloudflare_token ? "stored in the keyring — leave empty to keep" : "API token with Stream › Edit",
  });
  const result = h("div", { class: "result", "data-testid": "cf-result" });
  const say = (ok: boolean, text: string) => {
    result.className = ok ? "result ok" : "result error";
    fill(result, text);
  };
  const test = async () => {
    say(true, "Testing…");
    try {
      await call(commands.testCloudflare({ account_id: account.value, token: token.value || null }));
      say(true, "Connected: the token can manage Stream live inputs on this account.");
      return true;
    } catch (e) {
      say(false, messageOf(e));
      return false;
    }
  };
  const save = async () => {
    try {
      let next = ctx.settings;
      if (token.value.trim()) next = await call(commands.setCloudflareToken(token.value));
      next = await call(
        commands.saveGeneral({
          cloudflare_account_id: account.value,
          cleanup_timeout_ms: next.cleanup_timeout_ms,
          poll_interval_ms: next.poll_interval_ms,
        }),
      );
      token.value = "";
      token.placeholder = next.has_cloudflare_token ? "stored in the keyring — leave empty to keep" : token.placeholder;
      ctx.settings = next;
      say(true, "Saved.");
      onSaved(next);
      return true;
    } catch (e) {
      say(false, e instanceof CommandError ? messageOf(e) : String(e));
      return false;
    }
  };
  return h(
    "section",
    { class: "card form" },
    h("h2", {}, "Cloudflare Stream"),
    h("p", { class: "muted" }, "OBS streams to Cloudflare once; Cloudflare relays to every platform."),
    h("label", {}, "Account ID"),
    account,
    h("label", {}, "API token"),
    token,
    h(
      "div",
      { class: "row" },
      h("button", { "data-testid": "cf-test", type: "button", onclick: () => void test() }, "Test connection"),
      h("button", { class: "primary", "data-testid": "cf-save", type: "button", onclick: () => void save() }, "Save"),
    ),
    result,
  );
}
