// The bitrate chart (uPlot): one line per platform on a time axis, platform events as marker
// lines on the same axis, and the events listed under the chart. Used by Analytics and the
// live Dashboard; the data shaping lives in ../chart.ts.
import type uPlot from "uplot";
import { chartData, chartNote, type ChartData, type Marker, type StreamIn } from "../chart";
import { fill, h } from "../dom";
import { formatBitrate } from "../format";

const COLORS = ["#a78bfa", "#38bdf8", "#f472b6", "#facc15", "#4ade80", "#fb923c", "#e879f9", "#2dd4bf"];
const TONES: Record<Marker["tone"], string> = { good: "#22c55e", warn: "#f59e0b", bad: "#ef4444", neutral: "#9aa1b2" };

function markersPlugin(get: () => Marker[]): uPlot.Plugin {
  return {
    hooks: {
      draw: (u: uPlot) => {
        const { ctx, bbox } = u;
        const px = devicePixelRatio || 1;
        ctx.save();
        ctx.font = `${10 * px}px "DejaVu Sans", sans-serif`;
        ctx.textBaseline = "top";
        let lastLabelX = -Infinity;
        for (const m of get()) {
          const x = Math.round(u.valToPos(m.t, "x", true));
          if (x < bbox.left || x > bbox.left + bbox.width) continue;
          ctx.strokeStyle = TONES[m.tone];
          ctx.fillStyle = TONES[m.tone];
          ctx.lineWidth = px;
          ctx.setLineDash([4 * px, 3 * px]);
          ctx.beginPath();
          ctx.moveTo(x, bbox.top);
          ctx.lineTo(x, bbox.top + bbox.height);
          ctx.stroke();
          // A short label where there is room (markers close together share the first label).
          if (x - lastLabelX > 60 * px) {
            ctx.fillText(m.kind.replace(/_/g, " "), x + 3 * px, bbox.top + 2 * px);
            lastLabelX = x;
          }
        }
        ctx.restore();
      },
    },
  };
}

function clock(t: number): string {
  return new Date(t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export interface BitrateChart {
  el: HTMLElement;
  show(stream: StreamIn): void;
  destroy(): void;
}

/** A chart element; `show` (re)draws it for a stream (call again with fresh data while live). */
export function bitrateChart(testid: string): BitrateChart {
  const plotBox = h("div", { class: "chart-plot", "data-testid": `${testid}-plot` });
  const note = h("p", { class: "muted small", "data-testid": `${testid}-note` });
  const events = h("ol", { class: "events", "data-testid": `${testid}-events` });
  const el = h("div", { class: "chart", "data-testid": testid }, plotBox, note, events);
  let plot: uPlot | null = null;
  let current: ChartData | null = null;
  let shownPlatforms = "";
  let destroyed = false;

  const width = () => Math.max(320, Math.floor(el.clientWidth || plotBox.clientWidth || 700));

  const build = async (c: ChartData) => {
    const UPlot = (await import("./uplot_loader")).default;
    if (destroyed || current !== c) return; // closed, or newer data arrived meanwhile
    plot?.destroy();
    const opts: uPlot.Options = {
      width: width(),
      height: 240,
      plugins: [markersPlugin(() => current?.markers ?? [])],
      scales: {
        x: { time: true, range: () => [current!.range.min, current!.range.max] },
        y: { range: (_u, _min, max) => [0, Math.max(max ?? 0, 1000) * 1.15] },
      },
      axes: [
        { stroke: "#9aa1b2", grid: { stroke: "#2a2f3d" }, ticks: { stroke: "#2a2f3d" } },
        {
          stroke: "#9aa1b2",
          size: 80,
          grid: { stroke: "#2a2f3d" },
          ticks: { stroke: "#2a2f3d" },
          values: (_u, splits) => splits.map((v) => formatBitrate(v)),
        },
      ],
      series: [
        { value: (_u, v) => (v === null ? "—" : clock(v)) },
        ...c.platforms.map((name, i) => ({
          label: name,
          stroke: COLORS[i % COLORS.length],
          width: 2,
          // Platforms fed the same stream draw on top of each other: every other one dashed.
          dash: i % 2 ? [8, 5] : undefined,
          spanGaps: false,
          points: { show: c.data[0].length < 40 },
          value: (_u: uPlot, v: number | null) => formatBitrate(v),
        })),
      ],
      legend: { live: true },
    };
    plot = new UPlot(opts, c.data as uPlot.AlignedData, plotBox);
    shownPlatforms = c.platforms.join("\u0000");
  };

  const resize = new ResizeObserver(() => {
    if (plot) plot.setSize({ width: width(), height: 240 });
  });
  resize.observe(el);

  return {
    el,
    show(stream) {
      const c = chartData(stream);
      current = c;
      // For tests and tools: how many points the chart has, and whether any carries a bitrate.
      el.dataset.points = String(c.data[0].length);
      el.dataset.measured = String(c.measured);
      if (!plot || c.platforms.join("\u0000") !== shownPlatforms) {
        build(c).catch((e) => {
          note.textContent = `The chart cannot be drawn: ${String(e)}`;
        });
      } else plot.setData(c.data as uPlot.AlignedData); // the scales' range functions read `current`
      note.textContent = chartNote(stream, c.measured);
      fill(
        events,
        c.markers.map((m) =>
          h("li", { class: `event ${m.tone}` }, h("span", { class: "mono muted" }, clock(m.t)), " ", m.label),
        ),
      );
      if (!c.markers.length) fill(events, h("li", { class: "muted" }, "No platform events recorded."));
    },
    destroy() {
      destroyed = true;
      resize.disconnect();
      plot?.destroy();
      plot = null;
    },
  };
}
