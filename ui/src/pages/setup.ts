// First run, local-first: where OBS sends (this computer, the default, or Cloudflare with its
// credentials), a first platform, then Connect OBS: Streampai finds OBS and sets it up (or shows
// what to paste into OBS by hand). A skipped step never shows as done.
import { call, commands, messageOf } from "../api";
import type { IngestBackend, SettingsView } from "../bindings";
import { fill, h } from "../dom";
import type { Ctx } from "../main";
import { stepMarks, type StepOutcome } from "../steps";
import { cloudflareSection } from "./cloudflare";
import { ingestBox } from "./ingest";
import { obsConnect } from "./obs_connect";
import { platformForm } from "./platforms";

const LABELS = ["Where OBS sends", "Platforms", "Connect OBS"];

/** Sets the ingest backend through Settings › Streaming's command (the rest unchanged). */
function saveBackend(s: SettingsView, ingest: IngestBackend): Promise<SettingsView> {
  return call(
    commands.saveStreaming({
      ingest,
      local_listen: s.local_listen,
      upload_budget_kbps: s.upload_budget_kbps,
      auto_start: s.auto_start,
    }),
  );
}

function choice(backend: IngestBackend, chosen: boolean, title: string, words: string, pick: () => void): HTMLElement {
  const radio = h("input", {
    type: "radio",
    name: "setup-backend",
    value: backend,
    checked: chosen,
    "data-testid": `setup-backend-${backend}`,
    onchange: pick,
  });
  return h(
    "label",
    { class: chosen ? "choice chosen" : "choice" },
    radio,
    h("div", {}, h("strong", {}, title), h("p", { class: "muted" }, words)),
  );
}

export function setupPage(root: HTMLElement, ctx: Ctx, finished: () => void): () => void {
  const body = h("div", { class: "setup", "data-testid": "setup" });
  fill(root, body);
  const outcomes: StepOutcome[] = [null, null, null];
  const steps = h("ol", { class: "steps", "data-testid": "setup-steps" });
  const markStep = (current: number) =>
    fill(
      steps,
      stepMarks(LABELS, current, outcomes).map((m, i) =>
        h("li", { class: m.cls, "data-testid": `setup-step-${i}` }, m.label + m.suffix),
      ),
    );
  const finish = async () => {
    try {
      ctx.settings = await call(commands.finishSetup());
      finished();
    } catch (e) {
      alert(messageOf(e));
    }
  };

  const stepWhere = () => {
    markStep(0);
    let backend: IngestBackend = ctx.settings.ingest_backend;
    const problem = h("p", { class: "error", "data-testid": "setup-error" });
    const choices = h("div", { class: "choices" });
    const cfBox = h("div", { "data-testid": "setup-cloudflare" });
    const draw = () => {
      fill(
        choices,
        choice(
          "local",
          backend === "local",
          "This computer (no account needed)",
          "OBS sends to Streampai on this computer, which sends it on to each platform. Your upload carries one copy per platform.",
          () => ((backend = "local"), draw()),
        ),
        choice(
          "cloudflare",
          backend === "cloudflare",
          "Cloudflare Stream",
          "OBS sends once to Cloudflare, which relays to every platform. Needs a Cloudflare account and an API token.",
          () => ((backend = "cloudflare"), draw()),
        ),
      );
      cfBox.hidden = backend !== "cloudflare";
      problem.textContent = "";
    };
    fill(cfBox, cloudflareSection(ctx, () => (problem.textContent = "")));
    draw();
    const next = async () => {
      const s = ctx.settings;
      if (backend === "cloudflare" && (!s.cloudflare_account_id || !s.has_cloudflare_token)) {
        problem.textContent = "Save your Cloudflare account ID and API token first, or choose This computer.";
        return;
      }
      try {
        ctx.settings = await saveBackend(s, backend);
        outcomes[0] = "done";
        stepPlatform();
      } catch (e) {
        problem.textContent = messageOf(e);
      }
    };
    fill(
      body,
      h("h1", {}, "Welcome to Streampai"),
      h("p", {}, "OBS streams once; Streampai sends it to every platform. Three short steps."),
      steps,
      h("h2", {}, "Where should OBS send your stream?"),
      choices,
      cfBox,
      problem,
      h(
        "div",
        { class: "row" },
        h("button", { class: "primary", "data-testid": "setup-next", onclick: () => void next() }, "Next"),
        h(
          "button",
          { class: "ghost", "data-testid": "setup-skip", onclick: () => ((outcomes[0] = "skipped"), stepPlatform()) },
          "Skip for now",
        ),
      ),
    );
  };

  const stepPlatform = () => {
    markStep(1);
    const added = h("p", { class: "ok", "data-testid": "setup-added" });
    const formBox = h("div", {});
    const showForm = () =>
      fill(
        formBox,
        platformForm(ctx.settings, null, (s) => {
          ctx.settings = s;
          added.textContent = `Added: ${s.platforms.map((p) => p.name).join(", ")}. Add another or continue.`;
          showForm();
        }),
      );
    showForm();
    const next = () => {
      outcomes[1] = ctx.settings.platforms.length > 0 ? "done" : "skipped";
      stepObs();
    };
    fill(
      body,
      h("h1", {}, "Where do you stream?"),
      steps,
      added,
      formBox,
      h(
        "div",
        { class: "row" },
        h("button", { class: "primary", "data-testid": "setup-next", onclick: next }, "Continue"),
        h("button", { class: "ghost", "data-testid": "setup-back", onclick: stepWhere }, "Back"),
      ),
    );
  };

  const stepObs = () => {
    markStep(2);
    const finishBtn = h("button", { "data-testid": "setup-finish", onclick: () => void finish() });
    const showFinish = () => {
      const done = outcomes[2] === "done";
      finishBtn.className = done ? "primary" : "";
      finishBtn.textContent = done ? "Go to the dashboard" : "Skip and go to the dashboard";
    };
    showFinish();
    const connect = obsConnect(() => {
      // Done only once OBS streams to Streampai; leaving without it leaves the step unmarked.
      outcomes[2] = "done";
      markStep(LABELS.length);
      showFinish();
    });
    fill(
      body,
      h("h1", {}, "Connect OBS"),
      steps,
      h("h2", {}, "Let Streampai set up OBS"),
      connect,
      h("h2", {}, "Or set OBS up by hand"),
      h("p", {}, "In OBS: Settings › Stream › Service: Custom…, then paste these."),
      ingestBox(),
      h("p", {}, "Then press Start on the dashboard (or let Streampai start when OBS starts streaming)."),
      h("p", { class: "muted" }, "Closing the window keeps Streampai in the tray; Quit from the tray ends it."),
      h(
        "div",
        { class: "row" },
        finishBtn,
        h("button", { class: "ghost", "data-testid": "setup-back", onclick: stepPlatform }, "Back"),
      ),
    );
  };

  stepWhere();
  return () => {};
}
