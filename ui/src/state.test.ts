import { describe, expect, it } from "vitest";
import type { AlertsView, Status } from "./bindings";
import { platformCounts, reduceAlerts, reduceStatus, streamButtons, uploadOf } from "./state";

const base: Status = {
  user_id: "u",
  manager: "running",
  input: "unknown",
  ingest: { backend: "local", url: null, stream_key: null },
  stream: {
    state: "offline",
    uuid: null,
    started_at: null,
    platforms: { a: { status: "stopped", bytes_sent: null, bitrate_kbps: null, reconnects: null, dropped_frames: null } },
  },
  upload: { total_kbps: null, budget_kbps: null, over_budget: false },
  presence: [],
  sync: { state: "off", server: null, last_error: null, devices: [] },
  obs: {
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
  },
  accounts: {
    twitch: {
      state: "signed_out",
      login: null,
      error: null,
      user_code: null,
      verification_uri: null,
      events: { state: "off", subscriptions: 0, error: null },
    },
    youtube: {
      state: "signed_out",
      login: null,
      error: null,
      user_code: null,
      verification_uri: null,
      events: { state: "off", subscriptions: 0, error: null },
    },
  },
  stream_info: { info: null, saved_at: null, pushing: false, last_push: null },
};

describe("reduceStatus", () => {
  it("takes the stream info and its last push results from their event", () => {
    const info = {
      info: { title: "t", twitch_category_id: null, twitch_category_name: null, youtube_description: null },
      saved_at: "2026-01-01T00:00:00Z",
      pushing: false,
      last_push: {
        at: "2026-01-01T00:00:01Z",
        trigger: "save" as const,
        results: {
          twitch: { ok: true },
          youtube: { ok: false, error: { kind: "not_signed_in" as const, message: "not signed in to YouTube" } },
        },
      },
    };
    const s = reduceStatus(base, { type: "stream_info", user_id: "u", info });
    expect(s.stream_info).toEqual(info);
  });

  it("follows the stream, the input and each platform", () => {
    let s = reduceStatus(base, { type: "input_status", user_id: "u", status: "receiving_traffic" });
    expect(s.input).toBe("receiving_traffic");
    s = reduceStatus(s, {
      type: "stream_state",
      user_id: "u",
      state: "live",
      uuid: "0b5c1a7e-0000-4000-8000-000000000000",
      started_at: "2026-01-01T00:00:00Z",
    });
    expect(s.stream.state).toBe("live");
    s = reduceStatus(s, { type: "platform_status", user_id: "u", platform: "a", status: { status: "live" } });
    expect(s.stream.platforms.a?.status).toBe("live");
    expect(s.stream.platforms.a?.bytes_sent).toBeNull(); // statistics kept until the next poll
    expect(base.stream.platforms.a?.status).toBe("stopped"); // not mutated
    expect(streamButtons(s)).toEqual({ start: false, stop: true });
    expect(streamButtons(base)).toEqual({ start: true, stop: false });
  });
  it("tracks presence joins and leaves", () => {
    const win = { id: "window:main", kind: "window", device: null, joined_at: "2026-01-01T00:00:00Z" } as const;
    let s = reduceStatus(base, { type: "presence_diff", user_id: "u", joins: [win], leaves: [] });
    expect(s.presence.map((p) => p.id)).toEqual(["window:main"]);
    s = reduceStatus(s, { type: "presence_diff", user_id: "u", joins: [], leaves: [win] });
    expect(s.presence).toEqual([]);
    expect(reduceStatus(s, { type: "manager_stopped", user_id: "u", reason: "shutdown" }).manager).toBe("stopped");
  });
  it("takes the sync status from its event", () => {
    const status = {
      state: "connected",
      server: "ws://h:4860/sync",
      last_error: null,
      devices: [{ id: "phone", name: "Phone", joined_at: "2026-01-01T00:00:00Z" }],
    } as const;
    const s = reduceStatus(base, { type: "sync_status", user_id: "u", status: { ...status, devices: [...status.devices] } });
    expect(s.sync.state).toBe("connected");
    expect(s.sync.devices.map((d) => d.name)).toEqual(["Phone"]);
    expect(base.sync.state).toBe("off"); // not mutated
  });
  it("takes the OBS status from its event", () => {
    const obs = { ...base.obs, state: "connected" as const, obs_version: "29.0.2", streaming: true, health: "congested" as const };
    const s = reduceStatus(base, { type: "obs_status", user_id: "u", status: obs });
    expect([s.obs.state, s.obs.health, s.obs.streaming]).toEqual(["connected", "congested", true]);
    expect(base.obs.state).toBe("off"); // not mutated
  });
  it("takes an account's status from its event", () => {
    const twitch = { ...base.accounts.twitch, state: "signed_in" as const, login: "me" };
    const s = reduceStatus(base, { type: "account_status", user_id: "u", platform: "twitch", status: twitch });
    expect([s.accounts.twitch.state, s.accounts.twitch.login]).toEqual(["signed_in", "me"]);
    expect(base.accounts.twitch.state).toBe("signed_out"); // not mutated
  });
  it("counts live platforms out of the enabled ones", () => {
    expect(
      platformCounts({ a: { status: "live" }, b: { status: "starting" }, c: { status: "disabled" } }),
    ).toEqual({ live: 1, total: 2 });
  });
});

describe("reduceAlerts", () => {
  it("moves the shown alert on screen and clears it when finished", () => {
    const alert = {
      id: "1",
      kind: "follow",
      from: "x",
      amount: null,
      currency: null,
      message: null,
      platform: null,
      received_at: "2026-01-01T00:00:00Z",
    } as const;
    const snap: AlertsView = { paused: false, current: null, queued: [alert], held: [] };
    let s = reduceAlerts(snap, { type: "alert_shown", user_id: "u", alert });
    expect(s.current?.id).toBe("1");
    expect(s.queued).toEqual([]);
    s = reduceAlerts(s, { type: "alert_finished", user_id: "u", id: "1", outcome: "shown" });
    expect(s.current).toBeNull();
    expect(reduceAlerts(s, { type: "alert_queue", user_id: "u", paused: true, queued: 0 }).paused).toBe(true);
  });
});

describe("uploadOf", () => {
  const withUpload = (total_kbps: number | null, budget_kbps: number | null, over_budget: boolean): Status => ({
    ...base,
    upload: { total_kbps, budget_kbps, over_budget },
  });
  it("shows the engine's total against the budget", () => {
    expect(uploadOf(withUpload(8300, 10_000, false))).toEqual({
      total_kbps: 8300,
      budget_kbps: 10_000,
      over_budget: false,
      measured: true,
    });
    expect(uploadOf(withUpload(12_300, 10_000, true)).over_budget).toBe(true);
  });
  it("says when nothing is measured (offline, Cloudflare outputs)", () => {
    const u = uploadOf(withUpload(null, 5000, false));
    expect(u).toEqual({ total_kbps: 0, budget_kbps: 5000, over_budget: false, measured: false });
  });
});
