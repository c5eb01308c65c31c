import { describe, expect, it } from "vitest";
import {
  alignSamples,
  chartData,
  chartNote,
  durationWords,
  endedByWords,
  eventTone,
  outcomeWords,
  toMarkers,
  type SampleIn,
} from "./chart";

const T0 = "2026-11-25T20:00:00.000Z";
const t0 = Date.parse(T0) / 1000;
const at = (s: number) => new Date((t0 + s) * 1000).toISOString();
const sample = (s: number, platform: string, bitrate_kbps: number | null): SampleIn => ({
  at: at(s),
  platform,
  bitrate_kbps,
  bytes_sent: bitrate_kbps === null ? null : s * 1000,
});

describe("alignSamples", () => {
  it("puts samples written a few ms apart on one x, one series per platform", () => {
    const out = alignSamples([
      sample(5.002, "yt", 4100),
      sample(5.0, "tw", 4200),
      sample(10.001, "tw", 4300),
      sample(10.004, "yt", 4000),
    ]);
    expect(out.platforms).toEqual(["tw", "yt"]);
    expect(out.data[0]).toEqual([t0 + 5, t0 + 10.001]);
    expect(out.data[1]).toEqual([4200, 4300]);
    expect(out.data[2]).toEqual([4100, 4000]);
    expect(out.measured).toBe(true);
  });
  it("leaves a gap (null) where a platform has no sample", () => {
    const out = alignSamples([sample(5, "tw", 4200), sample(10, "tw", 4300), sample(10.2, "yt", 900)]);
    expect(out.data[0]).toEqual([t0 + 5, t0 + 10]);
    expect(out.data[2]).toEqual([null, 900]);
  });
  it("starts a new x when the same platform reports twice within the window", () => {
    const out = alignSamples([sample(5, "tw", 1), sample(5.5, "tw", 2)]);
    expect(out.data[0]).toEqual([t0 + 5, t0 + 5.5]);
    expect(out.data[1]).toEqual([1, 2]);
  });
  it("keeps unmeasured samples (Cloudflare) as nulls and says so", () => {
    const out = alignSamples([sample(5, "tw", null), sample(5.1, "yt", null)]);
    expect(out.data).toEqual([[t0 + 5], [null], [null]]);
    expect(out.measured).toBe(false);
  });
  it("handles no samples", () => {
    expect(alignSamples([])).toEqual({ platforms: [], data: [[]], measured: false });
  });
});

describe("markers", () => {
  it("turns events into markers on the same axis, in time order", () => {
    const m = toMarkers([
      { at: at(12), platform: "tw", kind: "retrying", detail: "attempt 1: refused" },
      { at: at(1), platform: "tw", kind: "live", detail: null },
      { at: at(30), platform: null, kind: "source_lost", detail: null },
    ]);
    expect(m.map((x) => x.t)).toEqual([t0 + 1, t0 + 12, t0 + 30]);
    expect(m.map((x) => x.tone)).toEqual(["good", "warn", "bad"]);
    expect(m[1].label).toBe("tw: retrying (attempt 1: refused)");
    expect(m[2].label).toBe("stream: source lost");
    expect(eventTone("stopped")).toBe("neutral");
  });
});

describe("chartData", () => {
  it("spans the stream from start to end and lists platforms seen only in events", () => {
    const c = chartData({
      started_at: T0,
      ended_at: at(60),
      samples: [sample(5, "tw", 4200)],
      events: [
        { at: at(1), platform: "tw", kind: "live", detail: null },
        { at: at(2), platform: "yt", kind: "failed", detail: "bad key" },
      ],
    });
    expect(c.platforms).toEqual(["tw", "yt"]);
    expect(c.data).toEqual([[t0 + 5], [4200], [null]]);
    expect(c.range).toEqual({ min: t0, max: t0 + 60 });
    expect(c.markers).toHaveLength(2);
  });
  it("runs to now while on air, and gives a short stream a readable axis", () => {
    const now = (t0 + 42) * 1000;
    expect(chartData({ started_at: T0, ended_at: null, samples: [], events: [] }, now).range).toEqual({
      min: t0,
      max: t0 + 42,
    });
    const short = chartData({ started_at: T0, ended_at: at(2), samples: [], events: [] });
    expect(short.range).toEqual({ min: t0, max: t0 + 10 });
    expect(short.data).toEqual([[]]);
  });
});

describe("history words", () => {
  it("says how long a stream ran", () => {
    expect(durationWords(T0, at(12))).toBe("12 s");
    expect(durationWords(T0, at(245))).toBe("4 min 05 s");
    expect(durationWords(T0, at(3720))).toBe("1 h 02 min");
    expect(durationWords(T0, null, (t0 + 90) * 1000)).toBe("1 min 30 s");
    expect(durationWords("nope", null)).toBe("—");
  });
  it("says how it ended and how each platform did", () => {
    expect(endedByWords("stopped")).toBe("Stopped");
    expect(endedByWords("source_lost")).toMatch(/OBS stopped/);
    expect(endedByWords("crashed")).toMatch(/crashed/);
    expect(endedByWords(null)).toBe("On air");
    expect(outcomeWords("live", 0)).toBe("live to the end");
    expect(outcomeWords("failed", 1)).toBe("failed, 1 retry");
    expect(outcomeWords("retrying", 3)).toBe("retrying at the end, 3 retries");
  });
});

describe("chartNote", () => {
  it("explains a chart without lines", () => {
    const base = { started_at: T0, ended_at: at(60), samples: [], events: [] };
    expect(chartNote({ ...base, backend: "local" }, true)).toBe("");
    expect(chartNote({ ...base, backend: "cloudflare" }, false)).toMatch(/Cloudflare/);
    expect(chartNote({ ...base, backend: "local" }, false)).toMatch(/No bitrate was recorded/);
    expect(chartNote({ ...base, ended_at: null, backend: "local" }, false)).toMatch(/yet/);
  });
});
