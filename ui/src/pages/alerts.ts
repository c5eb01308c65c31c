// Alerts: the desk's view (on screen, queue, held for approval), each alert with where it came
// from (Twitch, Ko-fi, manual), which platforms feed alerts now, a test alert,
// pause/resume/skip/replay/clear, approve/reject. Everything goes through the engine's alert desk
// (same rules as the control API and the tray), so it works while the task tree is down.
import { alertSource, alertSourcesWords, reduceAccounts } from "../accounts";
import { call, commands, messageOf } from "../api";
import type { AccountsStatus, Alert, AlertKind, AlertsView } from "../bindings";
import { fill, h } from "../dom";
import type { Ctx } from "../main";
import { reduceAlerts } from "../state";

const KINDS: AlertKind[] = ["donation", "follow", "subscription", "raid", "cheer"];

function words(a: Alert): string {
  const amount = a.amount !== null ? ` · ${a.amount}${a.currency ? ` ${a.currency}` : ""}` : "";
  return `${a.kind} from ${a.from}${amount}`;
}

/** An alert's line: where it came from (a badge), then what it is. */
function describe(a: Alert): (HTMLElement | string)[] {
  const src = alertSource(a);
  return [h("span", { class: `badge src-${src.id}`, "data-testid": "alert-source", title: `From ${src.label}` }, src.label), " ", words(a)];
}

/** Which platforms feed alerts now (signed in, events connected), with a way to Settings (the
 * Alerts page and the dashboard). */
export function sourcesLine(accounts: AccountsStatus | null, ctx: Ctx): HTMLElement {
  const line = h("p", { class: "small alert-sources", "data-testid": "alert-sources" });
  if (!accounts) return line;
  fill(
    line,
    h("span", { class: "muted" }, "Platform alerts: "),
    alertSourcesWords(accounts).flatMap((s, i) => [
      i > 0 ? h("span", { class: "muted" }, " · ") : null,
      h("span", { class: `source ${s.tone}`, "data-testid": `alert-source-${s.id}` }, s.text),
    ]),
    h("span", { class: "muted" }, " · Ko-fi webhook, test alerts and the control API always. "),
    h("a", { href: "#/settings", onclick: () => ctx.navigate("settings") }, "Accounts in Settings"),
  );
  return line;
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
  let accounts: AccountsStatus | null = null;
  const history: Alert[] = [];
  const sources = h("div", {});
  const drawSources = () => fill(sources, sourcesLine(accounts, ctx));
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
    sources,
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
      h("p", { "data-testid": "alert-current", "data-platform": snap.current ? alertSource(snap.current).id : null }, snap.current ? describe(snap.current) : "Nothing"),
      h("h2", {}, `Queue (${snap.queued.length})`),
      h("ol", { "data-testid": "alert-queue" }, snap.queued.map((a: Alert) => h("li", { "data-platform": alertSource(a).id }, describe(a)))),
      h("h2", {}, `Waiting for approval (${snap.held.length})`),
      snap.held.length
        ? h(
            "ul",
            { "data-testid": "alert-held" },
            snap.held.map((a: Alert) =>
              h(
                "li",
                { "data-testid": `held-${a.id}`, "data-platform": alertSource(a).id },
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
            { "data-testid": "alert-history" },
            history.map((a) =>
              h(
                "li",
                { "data-platform": alertSource(a).id },
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
    if (ev.type === "account_status" && accounts) {
      accounts = reduceAccounts(accounts, ev);
      drawSources();
    }
    if (ev.type === "alert_shown" && !history.some((a) => a.id === ev.alert.id)) history.unshift(ev.alert);
    if (snap) snap = reduceAlerts(snap, ev);
    if (ev.type.startsWith("alert_")) void run(async () => {});
  });
  void run(async () => {});
  void call(commands.getAccounts())
    .then((v) => {
      accounts = v.status;
      drawSources();
    })
    .catch(() => {});
  // Held alerts from any door (control API, phone, Ko-fi, platforms) come as `alert_held`.
  return off;
}
