// Debug: the live task tree (users, managers, children, restarts), refreshed every second.
import { call, commands, messageOf } from "../api";
import type { DebugTree } from "../bindings";
import { fill, h } from "../dom";
import { formatElapsed } from "../format";
import type { Ctx } from "../main";

function render(tree: DebugTree): HTMLElement {
  return h(
    "div",
    { "data-testid": "debug-tree" },
    h("p", { class: "muted" }, `Engine up ${formatElapsed(tree.uptime_ms / 1000)}`),
    tree.users.length === 0
      ? h("p", { "data-testid": "debug-empty" }, "No user tree is running (no window, client or live stream holds one).")
      : tree.users.map((u) =>
          h(
            "div",
            { class: "card" },
            h("h2", {}, `UserStreamManager:${u.user_id} — ${u.manager}`, u.manager_restarts ? ` (${u.manager_restarts} restarts)` : ""),
            h("p", { class: "muted" }, `Sessions: ${u.sessions.map((s) => `${s.id} (${s.kind})`).join(", ") || "none"}`),
            h(
              "ul",
              { class: "tree" },
              u.children.map((c) =>
                h(
                  "li",
                  {},
                  h("strong", {}, c.id),
                  ` ${c.state} · ${c.restart} · restarts ${c.restarts} · up ${formatElapsed(c.uptime_ms / 1000)}`,
                  c.children?.length
                    ? h("ul", {}, c.children.map((w) => h("li", {}, `${w.id} ${w.state} · restarts ${w.restarts}`)))
                    : null,
                ),
              ),
            ),
          ),
        ),
  );
}

export function debugPage(root: HTMLElement, _ctx: Ctx): () => void {
  const body = h("div", {});
  fill(root, h("h1", {}, "Debug"), body);
  const load = async () => {
    try {
      fill(body, render(await call(commands.getDebugTree())));
    } catch (e) {
      fill(body, h("p", { class: "error" }, messageOf(e)));
    }
  };
  void load();
  const timer = window.setInterval(load, 1000);
  return () => clearInterval(timer);
}
