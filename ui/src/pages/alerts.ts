// Alerts: the queue, a test alert, pause/resume/skip/replay/clear.
import { call, commands, messageOf } from "../api";
import type { Alert, AlertKind, AlertQueueSnapshot } from "../bindings";
import { fill, h } from "../dom";
import type { Ctx } from "../main";
import { reduceAlerts } from "../state";

const KINDS: AlertKind[] = ["donation", "follow", "subscription", "raid", "cheer"];

function describe(a: Alert): string {
  const amount = a.amount !== null ? ` · ${a.amount}${a.currency ? ` ${a.currency}` : ""}` : "";
  return `${a.kind} from ${a.from}${amount}`;
}

export function alertsPage(root: HTMLElement, ctx: Ctx): () => void {
  let snap: AlertQueueSnapshot | null = null;
  const history: Alert[] = [];
  const body = h("div", {});
  const problem = h("p", { class: "error", "data-testid": "error" });
  const kind = h("select", { "data-testid": "alert-kind" }, KINDS.map((k) => h("option", { value: k }, k)));
  const run = async (f: () => Promise<unknown>) => {
    try {
      await f();
      problem.textContent = "";
      snap = await call(commands.alertsSnapshot());
    } catch (e) {
      problem.textContent = messageOf(e);
    }
    draw();
  };
  fill(
    root,
    h("h1", {}, "Alerts"),
    h(
      "div",
      { class: "row" },
      kind,
      h(
        "button",
        { class: "primary", "data-testid": "send-test-alert", onclick: () => run(() => call(commands.sendTestAlert(kind.value as AlertKind))) },
        "Send test alert",
      ),
      h("button", { "data-testid": "alerts-pause", onclick: () => run(() => call(commands.alertsPause())) }, "Pause"),
      h("button", { "data-testid": "alerts-resume", onclick: () => run(() => call(commands.alertsResume())) }, "Resume"),
      h("button", { "data-testid": "alerts-skip", onclick: () => run(() => call(commands.alertsSkip())) }, "Skip"),
      h("button", { class: "danger", "data-testid": "alerts-clear", onclick: () => run(() => call(commands.alertsClear())) }, "Clear"),
    ),
    problem,
    body,
  );

  const draw = () => {
    if (!snap) return fill(body, h("p", {}, "Loading…"));
    fill(
      body,
      h("p", { "data-testid": "alerts-paused" }, snap.paused ? "Paused: nothing new goes on screen." : "Running."),
      h("h2", {}, "On screen"),
      h("p", { "data-testid": "alert-current" }, snap.current ? describe(snap.current) : "Nothing"),
      h("h2", {}, `Queue (${snap.queued.length})`),
      h("ol", { "data-testid": "alert-queue" }, snap.queued.map((a) => h("li", {}, describe(a)))),
      h("h2", {}, "Shown in this window"),
      history.length
        ? h(
            "ul",
            {},
            history.map((a) =>
              h(
                "li",
                {},
                describe(a),
                " ",
                h("button", { class: "small", onclick: () => run(() => call(commands.alertsReplay(a.id))) }, "Replay"),
              ),
            ),
          )
        : h("p", { class: "muted" }, "None yet."),
    );
  };

  const off = ctx.onEvent((ev) => {
    if (ev.type === "alert_shown" && !history.some((a) => a.id === ev.alert.id)) history.unshift(ev.alert);
    if (snap) snap = reduceAlerts(snap, ev);
    if (ev.type.startsWith("alert_")) void run(async () => {});
  });
  void run(async () => {});
  return off;
}
