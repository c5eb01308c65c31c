// Chart data shaping for the bitrate charts (pure; no DOM, no uPlot): bitrate samples → series
// aligned on one time axis (seconds since the epoch, uPlot's default), platform events →
// markers on the same axis; plus the words the history list uses.

/** One bitrate sample (the engine writes one per platform every 5 s while live). */
export interface SampleIn {
  at: string;
  platform: string;
  bitrate_kbps: number | null;
  bytes_sent: number | null;
}

/** One recorded platform (or stream) event. */
export interface EventIn {
  at: string;
  platform: string | null;
  kind: string;
  detail: string | null;
}

/** What a chart needs of a stream. */
export interface StreamIn {
  started_at: string;
  ended_at: string | null;
  samples: SampleIn[];
  events: EventIn[];
  /** `local` or `cloudflare`. */
  backend?: string;
}

export interface Marker {
  /** Seconds since the epoch. */
  t: number;
  platform: string | null;
  kind: string;
  /** e.g. "youtube-main: retrying (attempt 2: refused)". */
  label: string;
  tone: MarkerTone;
}

export type MarkerTone = "good" | "warn" | "bad" | "neutral";

export interface ChartData {
  /** Series names, in the order of `data[1..]`. */
  platforms: string[];
  /** uPlot's AlignedData: `[xs, platform 1 values, …]`; `null` where a platform has no sample. */
  data: [number[], ...(number | null)[][]];
  markers: Marker[];
  /** The x range to show: the stream's start to its end (or `now` while on air). */
  range: { min: number; max: number };
  /** Some sample carried a bitrate (Cloudflare outputs carry none). */
  measured: boolean;
}

/** Samples of different platforms taken within this many seconds share one x. */
export const ALIGN_WINDOW_S = 1.5;

const secs = (iso: string): number => Date.parse(iso) / 1000;

/** Samples → one shared time axis with a value per platform. Samples are bucketed: a new x
 * starts when a sample is more than `ALIGN_WINDOW_S` after the bucket's first sample, or when
 * its platform already has a value in the bucket. */
export function alignSamples(samples: SampleIn[]): Pick<ChartData, "platforms" | "data" | "measured"> {
  const valid = samples
    .map((s) => ({ ...s, t: secs(s.at) }))
    .filter((s) => Number.isFinite(s.t))
    .sort((a, b) => a.t - b.t);
  const platforms = [...new Set(valid.map((s) => s.platform))].sort();
  const index = new Map(platforms.map((p, i) => [p, i]));
  const xs: number[] = [];
  const rows: (number | null)[][] = [];
  let bucketStart = -Infinity;
  let current: (number | null | undefined)[] = [];
  for (const s of valid) {
    const col = index.get(s.platform)!;
    if (s.t - bucketStart > ALIGN_WINDOW_S || current[col] !== undefined) {
      bucketStart = s.t;
      xs.push(s.t);
      current = new Array(platforms.length).fill(undefined);
      rows.push(current as (number | null)[]);
    }
    current[col] = s.bitrate_kbps;
  }
  const series = platforms.map((_, col) => rows.map((r) => (r[col] === undefined ? null : r[col])));
  return {
    platforms,
    data: [xs, ...series],
    measured: valid.some((s) => s.bitrate_kbps !== null),
  };
}

/** How an event kind reads on the chart. */
export function eventTone(kind: string): MarkerTone {
  switch (kind) {
    case "live":
      return "good";
    case "retrying":
    case "starting":
      return "warn";
    case "failed":
    case "source_lost":
    case "crashed":
      return "bad";
    default:
      return "neutral";
  }
}

/** Words for an event kind ("source_lost" → "source lost"). */
export function eventWords(kind: string): string {
  return kind.replace(/_/g, " ");
}

export function toMarkers(events: EventIn[]): Marker[] {
  return events
    .map((e) => ({ e, t: secs(e.at) }))
    .filter(({ t }) => Number.isFinite(t))
    .sort((a, b) => a.t - b.t)
    .map(({ e, t }) => ({
      t,
      platform: e.platform,
      kind: e.kind,
      tone: eventTone(e.kind),
      label: `${e.platform ?? "stream"}: ${eventWords(e.kind)}${e.detail ? ` (${e.detail})` : ""}`,
    }));
}

/** The whole chart for a stream: series, markers, and the x range (its start to its end, or
 * to `now` (ms) while it is on air), widened to include every sample and event. */
export function chartData(stream: StreamIn, now: number = Date.now()): ChartData {
  const aligned = alignSamples(stream.samples);
  // Platforms that had events but no samples still get a (empty) series, so the legend lists them.
  const named = new Set(aligned.platforms);
  const extra = [
    ...new Set(stream.events.map((e) => e.platform).filter((p): p is string => !!p && !named.has(p))),
  ].sort();
  const platforms = [...aligned.platforms, ...extra];
  const xs = aligned.data[0];
  const data = [xs, ...aligned.data.slice(1), ...extra.map(() => xs.map(() => null))] as ChartData["data"];
  const markers = toMarkers(stream.events);
  const start = secs(stream.started_at);
  const end = stream.ended_at ? secs(stream.ended_at) : now / 1000;
  const times = [...xs, ...markers.map((m) => m.t)];
  let min = Number.isFinite(start) ? start : Math.min(...times);
  let max = Number.isFinite(end) ? end : Math.max(...times);
  if (times.length) {
    min = Math.min(min, ...times);
    max = Math.max(max, ...times);
  }
  if (!Number.isFinite(min) || !Number.isFinite(max)) min = max = now / 1000;
  if (max - min < 10) max = min + 10; // a few seconds of stream still gets a readable axis
  return { platforms, data, markers, range: { min, max }, measured: aligned.measured };
}

/** "1 h 02 min", "4 min 05 s", "12 s"; an unfinished stream counts to `now` (ms). */
export function durationWords(startedAt: string, endedAt: string | null, now: number = Date.now()): string {
  const start = Date.parse(startedAt);
  const end = endedAt ? Date.parse(endedAt) : now;
  if (Number.isNaN(start) || Number.isNaN(end)) return "—";
  const s = Math.max(0, Math.round((end - start) / 1000));
  const pad = (n: number) => String(n).padStart(2, "0");
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  return `${s} s`;
}

/** How a stream ended, in words. */
export function endedByWords(endedBy: string | null): string {
  switch (endedBy) {
    case null:
      return "On air";
    case "stopped":
      return "Stopped";
    case "source_lost":
      return "OBS stopped sending";
    case "crashed":
      return "App crashed (closed at next launch)";
    default:
      return eventWords(endedBy);
  }
}

/** A platform's outcome over a stream, in words. */
export function outcomeWords(outcome: string, retries: number): string {
  const base: Record<string, string> = {
    live: "live to the end",
    failed: "failed",
    retrying: "retrying at the end",
    disabled: "turned off",
    starting: "never connected",
    stopped: "stopped",
  };
  const words = base[outcome] ?? eventWords(outcome);
  return retries > 0 ? `${words}, ${retries} ${retries === 1 ? "retry" : "retries"}` : words;
}

/** The line under a chart that explains missing lines, or "" when there are bitrates to show. */
export function chartNote(stream: StreamIn, measured: boolean): string {
  if (measured) return "";
  if (stream.backend === "cloudflare") {
    return "Cloudflare relays this stream and reports no per-platform bitrate: only the platform events are shown.";
  }
  return stream.ended_at
    ? "No bitrate was recorded for this stream (a sample is taken every 5 s per platform while live)."
    : "No bitrate samples yet (one every 5 s per platform while live).";
}
