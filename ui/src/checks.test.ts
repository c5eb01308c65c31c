import { afterEach, describe, expect, it, vi } from "vitest";
import type { FieldCheck } from "./bindings";

// The shell's `check_field`, mocked with the engine's lower-case words.
const engine = vi.hoisted(() => ({
  checkField: vi.fn(async (c: FieldCheck): Promise<string | null> => {
    if (c.field === "sync_url" && c.value.startsWith("http://")) {
      return "use ws:// here, not http:// (the server speaks WebSocket)";
    }
    if (c.field === "device_name" && /\t/.test(c.value)) return "the device name cannot contain control characters";
    return null;
  }),
  platformPresets: vi.fn(async () => []),
}));
vi.mock("./bindings", () => ({ commands: engine }));

import { checkField, liveCheck } from "./checks";
import { sentence } from "./format";

describe("engine field checks", () => {
  it("asks the engine and words its answer for display", async () => {
    expect(await checkField({ field: "sync_url", value: "http://host:4860" })).toBe(
      "Use ws:// here, not http:// (the server speaks WebSocket).",
    );
    expect(await checkField({ field: "sync_url", value: "ws://host:4860" })).toBeNull();
    expect(await checkField({ field: "device_name", value: "a\tb" })).toBe(
      "The device name cannot contain control characters.",
    );
    expect(engine.checkField).toHaveBeenLastCalledWith({ field: "device_name", value: "a\tb" });
  });
});

describe("sentence", () => {
  it("capitalises, quotes code and ends with a full stop, once", () => {
    expect(sentence("`Twitch` may only use a-z, 0-9 and -")).toBe("“Twitch” may only use a-z, 0-9 and -.");
    expect(sentence("The system keyring is not available (no result). Unlock it.")).toBe(
      "The system keyring is not available (no result). Unlock it.",
    );
    expect(sentence("")).toBe("");
  });
});

describe("liveCheck", () => {
  afterEach(() => vi.useRealTimers());
  it("checks once after typing stops and drops answers a newer check overtook", async () => {
    vi.useFakeTimers();
    const answers: (string | null)[] = [];
    let value = "a";
    const resolvers: ((p: string | null) => void)[] = [];
    const check = vi.fn(
      () =>
        new Promise<string | null>((resolve) => {
          const v = value;
          resolvers.push(() => resolve(v === "bad" ? "bad value" : null));
        }),
    );
    const live = liveCheck(check, (p) => answers.push(p), 200);
    live.typed();
    live.typed();
    vi.advanceTimersByTime(199);
    expect(check).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(check).toHaveBeenCalledTimes(1); // one check for the burst
    value = "bad";
    const now = live.now(); // a save while the first check is still out
    resolvers[1](null);
    expect(await now).toBe("bad value");
    resolvers[0](null); // the older answer arrives last: dropped
    await Promise.resolve();
    await Promise.resolve();
    expect(answers).toEqual(["bad value"]);
  });
  it("blocks a save when the check itself cannot run", async () => {
    const live = liveCheck(() => Promise.reject(new Error("IPC down")), () => {});
    expect(await live.now()).toMatch(/Cannot check this field: IPC down/);
  });
});
