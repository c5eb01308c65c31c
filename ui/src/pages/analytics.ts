// Analytics: every past stream, newest first (date, duration, how it ended, backend, platforms
// with their outcome); the selected stream's bitrate chart with its platform events.
import { call, commands, messageOf } from "../api";
import type { StreamDetail, StreamRecord } from "../bindings";
import { durationWords, endedByWords, outcomeWords } from "../chart";
import { fill, h } from "../dom";
import { formatBytes } from "../format";
import type { Ctx } from "../main";
import { bitrateChart } from "./bitrate_chart";

function when(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d.toLocaleString([], { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

const BACKENDS: Record<string, string> = { local: "Local relay", cloudflare: "Cloudflare" };

function platformsCell(r: StreamRecord): HTMLElement {
  const names = Object.keys(r.platforms);
  if (!names.length) return h("span", { class: "muted" }, r.ended_at ? "not recorded" : "on air…");
  return h(
    "ul",
    { class: "outcomes" },
    names.map((n) => {
      const p = r.platforms[n]!;
      const sent = p.bytes_sent !== null && p.bytes_sent !== undefined ? ` · ${formatBytes(p.bytes_sent)} sent` : "";
      return h(
        "li",
        { class: `outcome ${p.outcome}` },
        h("strong", {}, n),
        ` ${outcomeWords(p.outcome, p.retries ?? 0)}${sent}`,
      );
    }),
  );
}

export function analyticsPage(root: HTMLElement, ctx: Ctx): () => void {
  let streams: StreamRecord[] | null = null;
  let selected: string | null = null;
  let detail: StreamDetail | null = null;
  let problem = "";
  const list = h("div", {});
  const title = h("h2", { "data-testid": "analytics-title" });
  const chart = bitrateChart("analytics-chart");
  const detailBox = h("section", { class: "card", "data-testid": "analytics-detail", hidden: true }, title, chart.el);
  fill(root, h("h1", {}, "Analytics"), list, detailBox);

  const loadDetail = async () => {
    if (!selected) return;
    try {
      detail = await call(commands.streamDetail(selected));
    } catch (e) {
      problem = messageOf(e);
      detail = null;
    }
    drawDetail();
  };

  const select = (uuid: string) => {
    selected = uuid;
    drawList();
    void loadDetail();
  };

  const drawDetail = () => {
    detailBox.hidden = !detail;
    if (!detail) return;
    fill(
      title,
      `${when(detail.started_at)} · ${durationWords(detail.started_at, detail.ended_at)} · `,
      h("span", { "data-testid": "analytics-detail-ended" }, endedByWords(detail.ended_by)),
    );
    chart.show(detail);
  };

  const drawList = () => {
    if (!streams) {
      fill(list, problem ? h("p", { class: "error", "data-testid": "error" }, problem) : h("p", {}, "Loading…"));
      return;
    }
    if (!streams.length) {
      fill(
        list,
        h(
          "div",
          { class: "card empty", "data-testid": "analytics-empty" },
          h("p", {}, "No streams yet."),
          h(
            "p",
            { class: "muted" },
            "Every stream you start is recorded here: how long it ran, how it ended, how each platform did, and its bitrate over time. ",
            h("a", { href: "#/dashboard" }, "Go to the dashboard"),
            " to start one.",
          ),
        ),
      );
      return;
    }
    fill(
      list,
      problem ? h("p", { class: "error", "data-testid": "error" }, problem) : null,
      h(
        "table",
        { class: "table streams", "data-testid": "stream-list" },
        h(
          "thead",
          {},
          h("tr", {}, ["Started", "Duration", "Ended", "Ingest", "Platforms"].map((c) => h("th", {}, c))),
        ),
        h(
          "tbody",
          {},
          streams.map((r) =>
            h(
              "tr",
              {
                class: `history-row${r.uuid === selected ? " selected" : ""}`,
                "data-testid": `stream-row-${r.uuid}`,
                "data-ended-by": r.ended_by ?? "",
                onclick: () => select(r.uuid),
              },
              h("td", {}, when(r.started_at)),
              h("td", {}, durationWords(r.started_at, r.ended_at)),
              h("td", { "data-testid": `stream-ended-${r.uuid}` }, endedByWords(r.ended_by)),
              h("td", {}, BACKENDS[r.backend] ?? r.backend),
              h("td", {}, platformsCell(r)),
            ),
          ),
        ),
      ),
    );
  };

  const load = async () => {
    try {
      streams = await call(commands.streamHistory());
      problem = "";
    } catch (e) {
      problem = messageOf(e);
    }
    if (streams?.length && !streams.some((s) => s.uuid === selected)) selected = streams[0].uuid;
    drawList();
    await loadDetail();
  };

  // A stream on air grows: refresh the list and the selected chart every 5 s (the sample rate).
  const timer = window.setInterval(() => {
    const onAir = streams?.some((s) => s.ended_at === null);
    if (onAir) void load();
  }, 5000);
  const off = ctx.onEvent((ev) => {
    if (ev.type === "stream_state" && (ev.state === "live" || ev.state === "offline")) void load();
  });
  void load();
  return () => {
    clearInterval(timer);
    off();
    chart.destroy();
  };
}
