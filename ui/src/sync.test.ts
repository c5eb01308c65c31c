import { describe, expect, it } from "vitest";
import type { SessionInfo } from "./bindings";
import {
  remoteDevices,
  remoteUrl,
  sinceWords,
  statusDevices,
  syncErrorWords,
  syncStateWords,
  type SyncStatusLike,
} from "./sync";

describe("sync settings", () => {
  it("derives the phone remote's address", () => {
    expect(remoteUrl("ws://192.168.1.10:4860")).toBe("http://192.168.1.10:4860/");
    expect(remoteUrl("wss://sync.example.com/sync")).toBe("https://sync.example.com/");
    expect(remoteUrl("http://x")).toBeNull();
    expect(remoteUrl("garbage")).toBeNull();
  });
});

describe("connection state in words", () => {
  const st = (over: Partial<SyncStatusLike>): SyncStatusLike => ({
    state: "off",
    server: null,
    last_error: null,
    devices: [],
    ...over,
  });
  it("says where it is connected and why it retries", () => {
    expect(syncStateWords(st({}))).toBe("Off");
    // The engine's own words (src/sync/client.rs).
    expect(
      syncStateWords(st({ state: "off", last_error: "no sync token: save the token from `streampai sync-server user add` first" })),
    ).toBe("Off: no token");
    expect(
      syncStateWords(
        st({ state: "retrying", last_error: "the sync server refused the sync token (unknown or revoked): check the token" }),
      ),
    ).toBe("Retrying: wrong token");
    expect(
      syncStateWords(st({ state: "retrying", last_error: "cannot reach the sync server: connection refused (is it running?)" })),
    ).toBe("Retrying: cannot reach the server");
    expect(syncStateWords(st({ state: "retrying", last_error: "the sync server stopped answering" }))).toBe(
      "Retrying: the server stopped answering",
    );
    expect(
      syncStateWords(st({ state: "retrying", last_error: "the address answered HTTP 404 Not Found instead of the sync protocol" })),
    ).toBe("Retrying: that address is not a sync server");
    expect(syncStateWords(st({ state: "connecting", server: "ws://h:4860/sync" }))).toBe("Connecting to ws://h:4860/sync…");
    expect(syncStateWords(st({ state: "connected", server: "ws://h:4860/sync" }))).toBe("Connected to ws://h:4860/sync");
    expect(syncStateWords(st({ state: "retrying", last_error: "unauthorized: unknown token" }))).toBe("Retrying: wrong token");
    expect(syncStateWords(st({ state: "retrying", last_error: "Connection refused (os error 111)" }))).toBe(
      "Retrying: cannot reach the server",
    );
  });
  it("keeps unknown errors as they are", () => {
    expect(syncErrorWords("something odd")).toBe("something odd");
    expect(syncErrorWords(null)).toBe("no answer yet");
  });
});

describe("remote devices", () => {
  const s = (id: string, kind: SessionInfo["kind"], device: string | null, joined_at: string): SessionInfo => ({
    id,
    kind,
    device,
    joined_at,
  });
  it("lists devices once each, oldest first, and ignores windows and leases", () => {
    const list = remoteDevices([
      s("window:main", "window", null, "2026-11-26T02:00:00Z"),
      s("device:phone@c-2", "device", "Phone", "2026-11-26T02:10:00Z"),
      s("device:laptop@c-1", "device", "Laptop", "2026-11-26T02:05:00Z"),
      s("device:phone@c-3", "device", "Phone", "2026-11-26T02:08:00Z"),
      s("lease:stream", "lease", null, "2026-11-26T02:01:00Z"),
    ]);
    expect(list).toEqual([
      { id: "laptop", name: "Laptop", since: "2026-11-26T02:05:00Z", connections: 1 },
      { id: "phone", name: "Phone", since: "2026-11-26T02:08:00Z", connections: 2 },
    ]);
    expect(remoteDevices([])).toEqual([]);
  });
  it("reads a sync status's devices the same way", () => {
    const list = statusDevices({
      state: "connected",
      server: "ws://h/sync",
      last_error: null,
      devices: [
        { id: "phone", name: "Phone", joined_at: "2026-11-26T02:10:00Z" },
        { id: "phone", name: "Phone", joined_at: "2026-11-26T02:09:00Z" },
      ],
    });
    expect(list).toEqual([{ id: "phone", name: "Phone", since: "2026-11-26T02:09:00Z", connections: 2 }]);
  });
  it("says since when", () => {
    const now = Date.parse("2026-11-26T02:13:30Z");
    expect(sinceWords("2026-11-26T02:13:10Z", now, "en-GB")).toMatch(/^since \d\d:\d\d \(just now\)$/);
    expect(sinceWords("2026-11-26T02:10:00Z", now, "en-GB")).toMatch(/\(3 min\)$/);
    expect(sinceWords("2026-11-25T22:00:00Z", now, "en-GB")).toMatch(/\(4 h\)$/);
    expect(sinceWords("nonsense", now)).toBe("");
  });
});
