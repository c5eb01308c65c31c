// The Cloudflare section, shared by Settings and the first-run setup: account ID, API token
// (into the secret store), and "Test connection" with the exact problem in words. Saving never
// switches where OBS sends: in Settings, while OBS sends to this computer, it says so and offers
// "Use Cloudflare now" (the same switch as Settings › Streaming).
import { call, CommandError, commands, messageOf } from "../api";
import type { SecretBackend, SettingsView } from "../bindings";
import { fill, h } from "../dom";
import type { Ctx } from "../main";
import { keptHint, secretBackend } from "../secrets";

export function cloudflareSection(
  ctx: Ctx,
  onSaved: (s: SettingsView) => void,
  options: { offerSwitch?: boolean } = {},
): HTMLElement {
  const s = ctx.settings;
  let store: SecretBackend | null = null;
  const keptPlaceholder = () => keptHint(store);
  const account = h("input", { "data-testid": "cf-account", value: s.cloudflare_account_id, placeholder: "32-character account ID" });
  const token = h("input", {
    type: "password",
    autocomplete: "off",
    "data-testid": "cf-token",
    placeholder: s.has_cloudflare_token ? keptPlaceholder() : "API token with Stream › Edit",
  });
  void secretBackend()
    .then((b) => {
      store = b;
      if (ctx.settings.has_cloudflare_token) token.placeholder = keptPlaceholder();
    })
    .catch(() => {});
  const result = h("div", { class: "result", "data-testid": "cf-result" });
  const say = (ok: boolean, text: string, ...more: Node[]) => {
    result.className = ok ? "result ok" : "result error";
    fill(result, text, ...more);
  };
  const useCloudflare = async () => {
    try {
      const cur = ctx.settings;
      ctx.settings = await call(
        commands.saveStreaming({
          ingest: "cloudflare",
          local_listen: cur.local_listen,
          upload_budget_kbps: cur.upload_budget_kbps,
          auto_start: cur.auto_start,
        }),
      );
      say(true, "OBS now sends to Cloudflare: paste the new server and stream key from Stream setup into OBS.");
      onSaved(ctx.settings);
    } catch (e) {
      say(false, messageOf(e));
    }
  };
  /** After a save: whether OBS still sends to this computer, with the way to switch. */
  const savedWords = (next: SettingsView) => {
    const ready = next.cloudflare_account_id !== "" && next.has_cloudflare_token;
    if (!options.offerSwitch || !ready || next.ingest_backend !== "local") return say(true, "Saved.");
    say(
      true,
      "Saved. OBS still sends to this computer: saving credentials does not switch it. ",
      h("button", { type: "button", "data-testid": "cf-use-now", onclick: () => void useCloudflare() }, "Use Cloudflare now"),
    );
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
      token.placeholder = next.has_cloudflare_token ? keptPlaceholder() : token.placeholder;
      ctx.settings = next;
      savedWords(next);
      onSaved(next);
      return true;
    } catch (e) {
      say(false, e instanceof CommandError ? messageOf(e) : String(e));
      return false;
    }
  };
  return h(
    "section",
    { class: "card form", "data-testid": "cloudflare-section" },
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
