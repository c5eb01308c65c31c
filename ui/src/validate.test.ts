import { beforeEach, describe, expect, it, vi } from "vitest";
import type { FieldCheck } from "./bindings";

// The shell's commands, mocked: `check_field` answers in the engine's lower-case words.
const engine = vi.hoisted(() => ({
  checkField: vi.fn(async (c: FieldCheck): Promise<string | null> => {
    if (c.field === "platform_name") return /^[a-z0-9-]{1,40}$/.test(c.value) ? null : "must be 1 to 40 characters";
    if (c.field === "platform_url") {
      if (c.value.trim() === "") return c.kind === "custom" ? "a custom platform needs an rtmp:// or rtmps:// URL" : null;
      return c.value.startsWith("rtmp") ? null : `\`${c.value}\` must start with rtmp:// or rtmps://`;
    }
    return null;
  }),
  platformPresets: vi.fn(async () => [
    { kind: "twitch" as const, url: "rtmp://live.twitch.tv/app" },
    { kind: "custom" as const, url: null },
  ]),
}));
vi.mock("./bindings", () => ({ commands: engine }));

import {
  suggestName,
  urlSuggestions,
  validatePlatform,
  type PlatformDraft,
} from "./validate";
import { platformPresets } from "./checks";

const draft = (over: Partial<PlatformDraft> = {}): PlatformDraft => ({
  originalName: null,
  name: "twitch-main",
  kind: "twitch",
  url: "",
  key: "live_123",
  hasStoredKey: false,
  ...over,
});

describe("platform validation (the engine's rules through check_field)", () => {
  beforeEach(() => {
    engine.checkField.mockClear();
  });
  it("accepts a preset platform with a key, asking the engine about the name and the URL", async () => {
    expect(await validatePlatform(draft({ name: " twitch-main " }), [])).toEqual({});
    expect(engine.checkField).toHaveBeenCalledWith({ field: "platform_name", value: "twitch-main" });
    expect(engine.checkField).toHaveBeenCalledWith({ field: "platform_url", value: "", kind: "twitch" });
  });
  it("shows the engine's words under the field, worded for display", async () => {
    const fe = await validatePlatform(draft({ kind: "custom", url: "http://example.com/app" }), []);
    expect(fe).toEqual({ url: "“http://example.com/app” must start with rtmp:// or rtmps://." });
    expect((await validatePlatform(draft({ kind: "custom" }), [])).url).toBe(
      "A custom platform needs an rtmp:// or rtmps:// URL.",
    );
    expect((await validatePlatform(draft({ name: "" }), [])).name).toBe("The name must be 1 to 40 characters.");
  });
  it("cannot be saved while the engine's check fails, whatever the other fields say", async () => {
    engine.checkField.mockResolvedValueOnce("`x y` may only use a-z, 0-9 and -");
    expect(Object.keys(await validatePlatform(draft({ name: "x y" }), []))).toEqual(["name"]);
  });
  it("rejects an empty key unless one is stored for the platform being edited", async () => {
    expect((await validatePlatform(draft({ key: "  " }), [])).key).toMatch(/empty/);
    expect(
      await validatePlatform(draft({ key: "", originalName: "twitch-main", hasStoredKey: true }), ["twitch-main"]),
    ).toEqual({});
  });
  it("rejects a name another platform has", async () => {
    expect((await validatePlatform(draft(), ["twitch-main"])).name).toMatch(/already exists/);
    expect((await validatePlatform(draft({ originalName: "twitch-main" }), ["twitch-main"])).name).toBeUndefined();
  });
  it("suggests free names", () => {
    expect(suggestName("twitch", [])).toBe("twitch-main");
    expect(suggestName("twitch", ["twitch-main", "twitch-2"])).toBe("twitch-3");
  });
  it("offers the engine's preset first among the URL suggestions", async () => {
    const presets = await platformPresets();
    expect(presets.twitch).toBe("rtmp://live.twitch.tv/app");
    expect(urlSuggestions("twitch", presets)).toEqual(["rtmp://live.twitch.tv/app", "rtmps://live.twitch.tv:443/app"]);
    expect(urlSuggestions("custom", presets)).toEqual(["rtmp://", "rtmps://"]);
    await platformPresets();
    expect(engine.platformPresets).toHaveBeenCalledTimes(1); // asked once per window
  });
});
