import { describe, expect, it } from "vitest";
import { CommandError } from "../api";
import { ingestProblem } from "./ingest";

const engine = (kind: "not_configured" | "not_running") =>
  new CommandError({ kind: "engine", error: { kind, message: "the Cloudflare manager is not running" } });

describe("ingestProblem", () => {
  it("sends a Cloudflare user without credentials to Settings, naming the no-account way", () => {
    const p = ingestProblem(engine("not_configured"));
    expect(p.action).toBe("settings");
    expect(p.text).toMatch(/Cloudflare is not set up/);
    expect(p.text).toMatch(/This computer/);
  });
  it("offers to try again while the stream manager is not running", () => {
    const p = ingestProblem(engine("not_running"));
    expect(p.action).toBe("retry");
    expect(p.text).toMatch(/not running/);
  });
  it("says anything else in the command's own words", () => {
    const p = ingestProblem(new CommandError({ kind: "ingest", message: "Cloudflare said no" }));
    expect(p).toEqual({ text: "Cloudflare said no", action: "retry" });
  });
});
