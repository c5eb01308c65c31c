// Stream setup: what to paste into OBS, for the ingest backend in force (local relay or
// Cloudflare): server, stream key masked with reveal and copy.
import { fill, h } from "../dom";
import type { Ctx } from "../main";
import { ingestBox } from "./ingest";

export function streamPage(root: HTMLElement, _ctx: Ctx): () => void {
  fill(
    root,
    h("h1", {}, "Stream setup"),
    h("p", { class: "muted" }, "In OBS: Settings › Stream › Service: Custom…, then paste these."),
    ingestBox(),
  );
  return () => {};
}
