// Stream setup: what to paste into OBS (server URL, stream key masked with reveal and copy).
import { call, commands, messageOf } from "../api";
import { copyText, fill, h } from "../dom";
import type { Ctx } from "../main";

const MASK = "••••••••••••••••";

export function streamPage(root: HTMLElement, _ctx: Ctx): () => void {
  const body = h("div", {}, h("p", {}, "Asking Cloudflare for your ingest settings…"));
  fill(
    root,
    h("h1", {}, "Stream setup"),
    h("p", { class: "muted" }, "In OBS: Settings › Stream › Service: Custom…, then paste these."),
    body,
  );
  let revealed: string | null = null;
  const note = h("span", { class: "note", "data-testid": "copy-note" });
  const flash = (text: string) => {
    note.textContent = text;
    window.setTimeout(() => (note.textContent = ""), 2000);
  };
  const key = async () => revealed ?? (revealed = await call(commands.revealIngestKey()));

  void (async () => {
    try {
      const ingest = await call(commands.getIngest());
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
      fill(
        body,
        h("label", {}, "Server"),
        h(
          "div",
          { class: "row" },
          h("input", { class: "mono", readonly: true, value: ingest.rtmps_url ?? "", "data-testid": "ingest-url" }),
          h("button", { onclick: async () => (await copyText(ingest.rtmps_url ?? ""), flash("Server copied")) }, "Copy"),
        ),
        h("label", {}, "Stream key"),
        h(
          "div",
          { class: "row" },
          keyBox,
          reveal,
          h(
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
          ),
        ),
        note,
        ingest.srt_url
          ? h("details", {}, h("summary", {}, "SRT instead of RTMPS"), h("code", { class: "mono" }, ingest.srt_url))
          : null,
        h("p", { class: "muted" }, "Keep the key secret: anyone with it can stream to your channels."),
      );
    } catch (e) {
      fill(
        body,
        h("p", { class: "error", "data-testid": "error" }, messageOf(e)),
        h("p", {}, h("a", { href: "#/settings" }, "Open Settings to set up Cloudflare")),
      );
    }
  })();
  return () => {};
}
