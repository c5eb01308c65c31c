// Alerts: the desk's view (on screen, queue, held for approval), a test alert,
// pause/resume/skip/replay/clear, approve/reject. Everything goes through the engine's alert desk
// (same rules as the control API and the tray), so it works while the task tree is down.
import { call, commands, messageOf } from "../api";
import type { Alert, AlertKind, AlertsView } from "../bindings";
import { fill, h } from "../dom";
import type { Ctx } from "../main";
import { reduceAlerts } from "../state";

const KINDS: AlertKind[] = ["donation", "follow", "subscription", "raid", "cheer"];

function describe(a: Alert): string {
  const amount = a.amount !== null ? ` · ${a.amount}${a.currency ? ` ${a.currency}` : ""}` : "";
  return `${a.kind} from ${a.from}${amount}`;
}

/** What happened to a test alert, from the desk's answer. */
function acceptedWords(state: string): string {
  switch (state) {
    case "held":
      return "Test alert held for approval (moderation is on).";
    case "filtered":
      return "Test alert filtered: below the minimum amount for its kind.";
    default:
      return "Test alert queued.";
  }
}

export function alertsPage(root: HTMLElement, ctx: Ctx): () => void {
  let snap: AlertsView | null = null;
  const history: Alert[] = [];
  const body = h("div", {});
  const problem = h("p", { class: "error", "data-testid": "error" });
  const note = h("p", { class: "muted", "data-testid": "alert-accepted" });
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
        {
          class: "primary",
          "data-testid": "send-test-alert",
          onclick: () =>
            run(async () => {
              const r = await call(commands.sendTestAlert(kind.value as AlertKind));
              note.textContent = acceptedWords(r.state);
            }),
        },
        "Send test alert",
      ),
      h("button", { "data-testid": "alerts-pause", onclick: () => run(() => call(commands.alertsPause())) }, "Pause"),
      h("button", { "data-testid": "alerts-resume", onclick: () => run(() => call(commands.alertsResume())) }, "Resume"),
      h("button", { "data-testid": "alerts-skip", onclick: () => run(() => call(commands.alertsSkip())) }, "Skip"),
      h("button", { class: "danger", "data-testid": "alerts-clear", onclick: () => run(() => call(commands.alertsClear())) }, "Clear"),
    ),
    note,
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
      h("ol", { "data-testid": "alert-queue" }, snap.queued.map((a: Alert) => h("li", {}, describe(a)))),
      h("h2", {}, `Waiting for approval (${snap.held.length})`),
      snap.held.length
        ? h(
            "ul",
            { "data-testid": "alert-held" },
            snap.held.map((a: Alert) =>
              h(
                "li",
                { "data-testid": `held-${a.id}` },
                describe(a),
                a.message ? h("div", { class: "muted" }, `“${a.message}”`) : null,
                h(
                  "div",
                  { class: "row" },
                  h(
                    "button",
                    { class: "small primary", "data-testid": `approve-${a.id}`, onclick: () => run(() => call(commands.alertsApprove(a.id))) },
                    "Approve",
                  ),
                  h(
                    "button",
                    { class: "small danger", "data-testid": `reject-${a.id}`, onclick: () => run(() => call(commands.alertsReject(a.id))) },
                    "Reject",
                  ),
                ),
              ),
            ),
          )
        : h("p", { class: "muted", "data-testid": "alert-held-none" }, "None: alerts with a message wait here when moderation is on."),
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
  // Held alerts come in through other doors (control API, phone) without an event: look again.
  const poll = window.setInterval(async () => {
    try {
      snap = await call(commands.alertsSnapshot());
      draw();
    } catch {
      // The next action shows the problem.
    }
  }, 5000);
  return () => {
    off();
    window.clearInterval(poll);
  };
}
