// What to paste into OBS, for either backend: the server (from `get_ingest`), the stream key
// masked until Reveal (`reveal_ingest_key`: the UI gets the key only then), Copy for both.
// Shared by Stream setup and the first run's last step.
import { call, CommandError, commands, messageOf } from "../api";
import type { IngestSettings, UiError } from "../bindings";
import { copyText, fill, h } from "../dom";

export const MASK = "••••••••••••••••";

/** The engine error kind behind a command error, if any. */
function engineKind(e: unknown): string | null {
  if (!(e instanceof CommandError)) return null;
  const err: UiError = e.error;
  return err.kind === "engine" ? err.error.kind : null;
}

/** Words for why the ingest settings are not available, and what to do. */
export function ingestProblem(e: unknown): { text: string; action: "settings" | "retry" | null } {
  switch (engineKind(e)) {
    case "not_configured":
      return {
        text:
          "OBS is set to send to Cloudflare, but Cloudflare is not set up yet: add your account ID and API token, " +
          "or switch Settings › Streaming to “This computer” (no account needed).",
        action: "settings",
      };
    case "not_running":
      return {
        text: "Streampai's stream manager is not running right now, so Cloudflare cannot be asked. Try again in a moment.",
        action: "retry",
      };
    default:
      return { text: messageOf(e), action: "retry" };
  }
}

/** The server + key box. `onLoaded` gets the settings once they are in. */
export function ingestBox(onLoaded: (s: IngestSettings) => void = () => {}): HTMLElement {
  const box = h("div", { class: "ingest", "data-testid": "ingest-box" });
  let revealed: string | null = null;
  const note = h("span", { class: "note", "data-testid": "copy-note" });
  const flash = (text: string) => {
    note.textContent = text;
    window.setTimeout(() => (note.textContent = ""), 2000);
  };
  const key = async () => revealed ?? (revealed = await call(commands.revealIngestKey()));

  const show = (ingest: IngestSettings) => {
    const keyBox = h("input", { class: "mono", readonly: true, value: MASK, "data-testid": "ingest-key" });
    const reveal = h(
      "button",
      {
        "data-testid": "reveal-key",
        onclick: async () => {
          try {
            if (keyBox.value === MASK) {
              keyBox.value = await key();
              reveal.textContent = "Hide";
            } else {
              keyBox.value = MASK;
              reveal.textContent = "Reveal";
            }
          } catch (e) {
            flash(messageOf(e));
          }
        },
      },
      "Reveal",
    );
    const copyKey = h(
      "button",
      {
        "data-testid": "copy-key",
        onclick: async () => {
          try {
            await copyText(await key());
            flash("Stream key copied");
          } catch (e) {
            flash(messageOf(e));
          }
        },
      },
      "Copy",
    );
    fill(
      box,
      h(
        "p",
        { class: "muted", "data-testid": "ingest-backend-words" },
        ingest.backend === "local"
          ? "OBS sends to this computer; Streampai relays to every platform (no account needed)."
          : "OBS sends to Cloudflare Stream; Cloudflare relays to every platform.",
      ),
      h("label", {}, "Server"),
      h(
        "div",
        { class: "row" },
        h("input", { class: "mono", readonly: true, value: ingest.server, "data-testid": "ingest-url" }),
        h(
          "button",
          { "data-testid": "copy-server", onclick: async () => (await copyText(ingest.server), flash("Server copied")) },
          "Copy",
        ),
      ),
      h("label", {}, "Stream key"),
      ingest.has_key
        ? h("div", { class: "row" }, keyBox, reveal, copyKey)
        : h("p", { class: "error", "data-testid": "ingest-no-key" }, "No stream key yet."),
      note,
      ingest.srt_url
        ? h("details", {}, h("summary", {}, "SRT instead of RTMPS"), h("code", { class: "mono" }, ingest.srt_url))
        : null,
      h("p", { class: "muted" }, "Keep the key secret: anyone with it can stream to your channels."),
    );
    onLoaded(ingest);
  };

  let waits = 0;
  const load = async () => {
    if (waits === 0) fill(box, h("p", { "data-testid": "ingest-loading" }, "Getting your ingest settings…"));
    try {
      show(await call(commands.getIngest()));
      waits = 0;
    } catch (e) {
      // The stream manager is (re)starting, e.g. right after a backend switch: ask again shortly.
      if (engineKind(e) === "not_running" && waits < 15 && box.isConnected) {
        waits += 1;
        window.setTimeout(() => void load(), 1000);
        return;
      }
      waits = 0;
      const p = ingestProblem(e);
      fill(
        box,
        h("p", { class: "error", "data-testid": "error" }, p.text),
        p.action === "settings"
          ? h("p", {}, h("a", { href: "#/settings", "data-testid": "open-settings" }, "Open Settings"))
          : h("button", { "data-testid": "ingest-retry", onclick: () => void load() }, "Try again"),
      );
    }
  };
  void load();
  return box;
}
