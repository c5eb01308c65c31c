import { describe, expect, it } from "vitest";
import type { Failure, FailureKind, FailureSource } from "./bindings";
import { failureWords, platformLabel, platformProblem } from "./failure";

const f = (kind: FailureKind, source: FailureSource, detail = "d"): Failure => ({ kind, source, detail });

describe("failureWords", () => {
  it("words refused credentials by side", () => {
    expect(failureWords(f("auth_rejected", "platform"), "Twitch")).toBe("Twitch refused the stream key");
    expect(failureWords(f("auth_rejected", "cloudflare"), "Twitch")).toBe("Cloudflare refused the API token");
  });
  it("a local-relay platform answering 403 is the platform's refusal, never Cloudflare's", () => {
    const w = failureWords(f("auth_rejected", "platform", "HTTP 403"), "YouTube");
    expect(w).toMatch(/YouTube/);
    expect(w).not.toMatch(/Cloudflare/);
  });
  it("words unreachable, timeout and rate limits naming the side", () => {
    expect(failureWords(f("unreachable", "platform"), "Kick")).toBe("Cannot reach Kick's server");
    expect(failureWords(f("unreachable", "cloudflare"), "Kick")).toMatch(/^Cannot reach Cloudflare/);
    expect(failureWords(f("timeout", "platform"), "Kick")).toBe("Kick's server did not answer in time");
    expect(failureWords(f("timeout", "cloudflare"), "Kick")).toBe("Cloudflare did not answer in time");
    expect(failureWords(f("rate_limited", "cloudflare"), "Kick")).toMatch(/^Cloudflare asked to slow down/);
    expect(failureWords(f("rate_limited", "platform"), "Kick")).toMatch(/^Kick asked to slow down/);
  });
  it("words the source, setup, relay, protocol and other kinds", () => {
    expect(failureWords(f("source_lost", "obs"), "Kick")).toBe("OBS stopped sending");
    expect(failureWords(f("not_configured", "cloudflare"), "Kick")).toMatch(/^Cloudflare is not set up/);
    expect(failureWords(f("not_configured", "platform"), "Kick")).toMatch(/^Kick is not set up/);
    expect(failureWords(f("ingest_down", "app"), "Kick")).toBe("The local relay is not running");
    expect(failureWords(f("protocol", "platform"), "Kick")).toBe("Kick's server answered something unexpected");
    expect(failureWords(f("protocol", "cloudflare"), "Kick")).toBe("Cloudflare answered something unexpected");
    expect(failureWords(f("other", "platform"), "Kick")).toBe("Problem sending to Kick");
    expect(failureWords(f("other", "cloudflare"), "Kick")).toBe("Cloudflare reported a problem");
  });
  it("words the link to OBS as OBS's, never as a platform's", () => {
    expect(failureWords(f("auth_rejected", "obs"), "Kick")).toBe("OBS refused the WebSocket password");
    expect(failureWords(f("unreachable", "obs"), "Kick")).toMatch(/^OBS is not running, or its WebSocket server is off/);
    expect(failureWords(f("timeout", "obs"), "Kick")).toBe("OBS did not answer in time");
    expect(failureWords(f("protocol", "obs"), "Kick")).toMatch(/OBS 28 or newer/);
    expect(failureWords(f("other", "obs"), "Kick")).toBe("OBS refused a request");
    for (const k of ["auth_rejected", "unreachable", "timeout", "protocol", "other"] as FailureKind[]) {
      expect(failureWords(f(k, "obs"), "Kick")).not.toMatch(/Kick/);
    }
  });
  it("has words for every kind from every source", () => {
    const kinds: FailureKind[] = [
      "auth_rejected",
      "unreachable",
      "timeout",
      "rate_limited",
      "source_lost",
      "not_configured",
      "ingest_down",
      "protocol",
      "other",
    ];
    const sources: FailureSource[] = ["cloudflare", "platform", "obs", "app"];
    for (const k of kinds) for (const s of sources) expect(failureWords(f(k, s), "Kick")).toMatch(/\w/);
  });
});

describe("platformProblem", () => {
  it("gives the headline and keeps the detail as secondary text", () => {
    const reason = f("auth_rejected", "platform", "server said 403 Forbidden");
    expect(platformProblem({ status: "failed", reason }, "Twitch")).toEqual({
      text: "Twitch refused the stream key",
      detail: "server said 403 Forbidden",
    });
    expect(platformProblem({ status: "retrying", reason, attempt: 2 }, "Twitch")?.text).toMatch(/Twitch/);
    expect(platformProblem({ status: "live" }, "Twitch")).toBeNull();
  });
  it("names the platform as the streamer knows it", () => {
    expect(platformLabel("twitch", "twitch")).toBe("Twitch");
    expect(platformLabel("main", "youtube")).toBe("main (YouTube)");
    expect(platformLabel("my-server", "custom")).toBe("my-server");
    expect(platformLabel("gone", undefined)).toBe("gone");
  });
});
