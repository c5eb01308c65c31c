import { describe, expect, it } from "vitest";
import type { ObsPreviousSettings, ObsProbe, ObsStatus } from "./bindings";
import {
  framesWords,
  obsHealthWords,
  obsLinkWords,
  obsProblem,
  obsStreamWords,
  previousWords,
  probeView,
  setupOffer,
} from "./obs";

const off: ObsStatus = {
  state: "off",
  url: null,
  obs_version: null,
  websocket_version: null,
  streaming: false,
  reconnecting: false,
  health: "idle",
  congestion: null,
  skipped_frames: null,
  total_frames: null,
  uses_app_ingest: null,
  previous: null,
  problem: null,
};
const connected: ObsStatus = { ...off, state: "connected", url: "ws://127.0.0.1:4455", obs_version: "29.0.2", websocket_version: "5.1.0" };

describe("obsLinkWords", () => {
  it("says the link's state in words, with the version and the address", () => {
    expect(obsLinkWords(connected)).toBe("Connected to OBS 29.0.2");
    expect(obsLinkWords({ ...off, state: "unreachable", url: "ws://127.0.0.1:4455" })).toMatch(
      /^OBS is not running, or its WebSocket server is off \(ws:\/\/127\.0\.0\.1:4455\)/,
    );
    expect(obsLinkWords({ ...off, state: "unreachable", url: "ws://h:1" }, true, true)).toBe(
      "OBS sends video, but its WebSocket server does not answer (ws://h:1).",
    );
    expect(obsLinkWords({ ...off, state: "connecting", url: "ws://h:1" })).toBe("Connecting to OBS at ws://h:1…");
    expect(obsLinkWords({ ...off, state: "incompatible" })).toMatch(/OBS 28 or newer/);
    expect(obsLinkWords(off)).toMatch(/^Not connected to OBS/);
  });
  it("tells a refused password from a missing one", () => {
    const auth = { ...off, state: "auth_failed" as const };
    expect(obsLinkWords(auth, true)).toBe("OBS refused the password.");
    expect(obsLinkWords(auth, false)).toBe("OBS asks for its WebSocket password.");
  });
});

describe("OBS's stream and health", () => {
  it("says whether OBS streams only while connected", () => {
    expect(obsStreamWords(off)).toBeNull();
    expect(obsStreamWords(connected)).toBe("OBS is not streaming");
    expect(obsStreamWords({ ...connected, streaming: true })).toBe("OBS is streaming");
  });
  it("words each health with its congestion", () => {
    expect(obsHealthWords(connected)).toBeNull();
    expect(obsHealthWords({ ...connected, health: "good", congestion: 0.034 })).toEqual({ text: "Good (congestion 3 %)", cls: "good" });
    const congested = obsHealthWords({ ...connected, health: "congested", congestion: 0.72 });
    expect(congested?.cls).toBe("warn");
    expect(congested?.text).toMatch(/^Congested \(congestion 72 %\): OBS drops frames/);
    expect(obsHealthWords({ ...connected, health: "reconnecting" })?.cls).toBe("bad");
    expect(obsHealthWords({ ...connected, health: "good", congestion: null })?.text).toBe("Good");
  });
  it("gives skipped of total frames with the share", () => {
    expect(framesWords(12, 3000)).toBe("12 skipped of 3,000 frames (0.4 %)");
    expect(framesWords(0, 0)).toBe("0 skipped of 0 frames");
    expect(framesWords(null, 10)).toBeNull();
    expect(framesWords(1, null)).toBeNull();
  });
});

describe("set up and restore", () => {
  it("offers Set up OBS until OBS streams to the app", () => {
    expect(setupOffer(off)).toBeNull();
    expect(setupOffer({ ...connected, uses_app_ingest: false })).toBe("offer");
    expect(setupOffer({ ...connected, uses_app_ingest: null })).toBe("offer");
    expect(setupOffer({ ...connected, uses_app_ingest: true })).toBe("done");
  });
  it("shows the kept settings by service or server, never a key", () => {
    const p = (x: Partial<ObsPreviousSettings>): ObsPreviousSettings => ({
      service_type: "rtmp_common",
      service: null,
      server: null,
      has_key: false,
      saved_at: "2026-01-01T00:00:00Z",
      ...x,
    });
    expect(previousWords(p({ service: "Twitch", server: "auto", has_key: true }))).toBe("Twitch, with its stream key");
    expect(previousWords(p({ service: "YouTube - RTMPS", server: "rtmps://a.rtmps.youtube.com:443/live2" }))).toBe(
      "YouTube - RTMPS (server rtmps://a.rtmps.youtube.com:443/live2)",
    );
    expect(previousWords(p({ service_type: "rtmp_custom", server: "rtmp://x/app", has_key: true }))).toBe(
      "rtmp://x/app, with its stream key",
    );
    expect(previousWords(p({}))).toBe("OBS's empty stream settings (never set)");
    expect(previousWords(p({ has_key: true }))).toBe("rtmp_common, with its stream key");
  });
  it("words the link's problem as OBS's", () => {
    expect(obsProblem(connected)).toBeNull();
    const p = obsProblem({ ...off, state: "auth_failed", problem: { kind: "auth_rejected", source: "obs", detail: "d" } });
    expect(p).toEqual({ text: "OBS refused the WebSocket password", detail: "d" });
  });
});

describe("probeView", () => {
  const probe = (x: Partial<ObsProbe>): ObsProbe => ({
    state: "unreachable",
    obs_version: null,
    websocket_version: null,
    auth_required: null,
    problem: null,
    ...x,
  });
  const url = "ws://127.0.0.1:4455";
  it("connected: names OBS's version and the address", () => {
    const v = probeView(probe({ state: "connected", obs_version: "29.0.2", websocket_version: "5.1.0" }), url, false);
    expect(v).toEqual({ kind: "connected", text: "Found OBS 29.0.2 (WebSocket 5.1.0) at ws://127.0.0.1:4455." });
  });
  it("asks for the password, and says when the typed one was refused", () => {
    expect(probeView(probe({ state: "auth_failed", auth_required: true }), url, false)).toMatchObject({ kind: "password", wrong: false });
    const wrong = probeView(probe({ state: "auth_failed", auth_required: true }), url, true);
    expect(wrong).toMatchObject({ kind: "password", wrong: true });
    expect(wrong.text).toMatch(/refused this password/);
  });
  it("explains how to turn the server on when nothing answers; OBS too old otherwise", () => {
    expect(probeView(probe({}), url, false)).toMatchObject({ kind: "turn_on" });
    expect(probeView(probe({ state: "incompatible" }), url, false).text).toMatch(/version 28 or newer/);
  });
});
