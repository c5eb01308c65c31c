// The first run's step markers: a step is "done" only when it was completed, never when skipped.

export type StepOutcome = "done" | "skipped" | null;

export interface StepMark {
  label: string;
  /** CSS class: `active`, `done`, `skipped` or empty. */
  cls: string;
  /** What the marker says after the label. */
  suffix: string;
}

export function stepMarks(labels: string[], current: number, outcomes: StepOutcome[]): StepMark[] {
  return labels.map((label, i) => {
    const outcome = outcomes[i] ?? null;
    if (i === current) return { label, cls: "active", suffix: "" };
    if (outcome === "done") return { label, cls: "done", suffix: " ✓" };
    if (outcome === "skipped") return { label, cls: "skipped", suffix: " (skipped)" };
    return { label, cls: "", suffix: "" };
  });
}
