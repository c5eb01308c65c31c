import { describe, expect, it } from "vitest";
import { stepMarks } from "./steps";

const LABELS = ["Where OBS sends", "Platforms", "Connect OBS"];

describe("stepMarks", () => {
  it("marks completed steps done and the current one active", () => {
    const m = stepMarks(LABELS, 2, ["done", "done", null]);
    expect(m.map((s) => s.cls)).toEqual(["done", "done", "active"]);
    expect(m[0].suffix).toBe(" ✓");
  });
  it("never shows a skipped step as done", () => {
    const m = stepMarks(LABELS, 1, ["skipped", null, null]);
    expect(m[0].cls).toBe("skipped");
    expect(m[0].suffix).not.toMatch(/✓/);
    expect(m[1].cls).toBe("active");
  });
  it("leaves steps not reached (or gone back over) unmarked", () => {
    expect(stepMarks(LABELS, 0, [null, "done", null]).map((s) => s.cls)).toEqual(["active", "done", ""]);
    expect(stepMarks(LABELS, 0, []).map((s) => s.cls)).toEqual(["active", "", ""]);
  });
});

describe("stepMarks past the last step", () => {
  it("shows every outcome once no step is current: done only where completed", () => {
    const m = stepMarks(LABELS, LABELS.length, ["done", "skipped", "done"]);
    expect(m.map((s) => s.cls)).toEqual(["done", "skipped", "done"]);
    expect(stepMarks(LABELS, LABELS.length, ["done", "done", null])[2].cls).toBe("");
  });
});
