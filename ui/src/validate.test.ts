import { describe, expect, it } from "vitest";
import {
  listenExposed,
  listenProblem,
  nameProblem,
  parseBudget,
  suggestName,
  urlProblem,
  validatePlatform,
  type PlatformDraft,
} from "./validate";

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

describe("streaming settings", () => {
  it("checks the listen address", () => {
    expect(listenProblem("127.0.0.1:1935")).toBeNull();
    expect(listenProblem("[::1]:1935")).toBeNull();
    expect(listenProblem("localhost:1935")).toMatch(/not an address/);
    expect(listenProblem("127.0.0.1")).toMatch(/not an address/);
    expect(listenProblem("300.0.0.1:1935")).toMatch(/not an address/);
    expect(listenProblem("127.0.0.1:70000")).toMatch(/not an address/);
    expect(listenProblem("127.0.0.1:0")).toMatch(/port/);
  });
  it("warns about addresses other machines can reach", () => {
    expect(listenExposed("127.0.0.1:1935")).toBe(false);
    expect(listenExposed("127.0.0.2:1935")).toBe(false);
    expect(listenExposed("[::1]:1935")).toBe(false);
    expect(listenExposed("0.0.0.0:1935")).toBe(true);
    expect(listenExposed("192.168.1.20:1935")).toBe(true);
    expect(listenExposed("[::]:1935")).toBe(true);
    expect(listenExposed("garbage")).toBe(false); // a malformed address gets a problem, not a warning
  });
  it("reads the upload budget", () => {
    expect(parseBudget("")).toEqual({ value: null, problem: null });
    expect(parseBudget(" 12 000 ")).toEqual({ value: 12000, problem: null });
    expect(parseBudget("0").problem).toMatch(/more than 0/);
    expect(parseBudget("4.5").problem).toMatch(/whole number/);
    expect(parseBudget("20000000").problem).toMatch(/at most/);
  });
});
