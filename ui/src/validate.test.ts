import { describe, expect, it } from "vitest";
import { nameProblem, suggestName, urlProblem, validatePlatform, type PlatformDraft } from "./validate";

const draft = (over: Partial<PlatformDraft> = {}): PlatformDraft => ({
  originalName: null,
  name: "twitch-main",
  kind: "twitch",
  url: "",
  key: "live_123",
  hasStoredKey: false,
  ...over,
});

describe("platform validation", () => {
  it("accepts a preset platform with a key", () => {
    expect(validatePlatform(draft(), [])).toEqual({});
  });
  it("rejects bad URLs", () => {
    expect(urlProblem("http://example.com/app", "custom")).toMatch(/rtmp:\/\//);
    expect(urlProblem("not a url", "twitch")).toMatch(/not a valid URL/);
    expect(urlProblem("", "custom")).toMatch(/needs an RTMP/);
    expect(urlProblem("", "youtube")).toBeNull();
    expect(urlProblem("rtmps://live.example.com:443/app", "custom")).toBeNull();
  });
  it("rejects an empty key unless one is stored for the platform being edited", () => {
    expect(validatePlatform(draft({ key: "  " }), []).key).toMatch(/empty/);
    expect(validatePlatform(draft({ key: "", originalName: "twitch-main", hasStoredKey: true }), ["twitch-main"]))
      .toEqual({});
  });
  it("rejects duplicate and malformed names", () => {
    expect(validatePlatform(draft(), ["twitch-main"]).name).toMatch(/already exists/);
    expect(validatePlatform(draft({ originalName: "twitch-main" }), ["twitch-main"]).name).toBeUndefined();
    expect(nameProblem("Twitch Main")).toMatch(/lowercase/);
    expect(nameProblem("-x")).toMatch(/start or end/);
    expect(nameProblem("")).toMatch(/1 to 40/);
  });
  it("suggests free names", () => {
    expect(suggestName("twitch", [])).toBe("twitch-main");
    expect(suggestName("twitch", ["twitch-main", "twitch-2"])).toBe("twitch-3");
  });
});
