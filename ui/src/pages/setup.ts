// First run: Cloudflare, then a first platform, then the dashboard.
import { call, commands, messageOf } from "../api";
import { fill, h } from "../dom";
import type { Ctx } from "../main";
import { cloudflareSection } from "./cloudflare";
import { platformForm } from "./platforms";

export function setupPage(root: HTMLElement, ctx: Ctx, finished: () => void): () => void {
  const body = h("div", { class: "setup", "data-testid": "setup" });
  fill(root, body);
  const finish = async () => {
    try {
      ctx.settings = await call(commands.finishSetup());
      finished();
    } catch (e) {
      alert(messageOf(e));
    }
  };
  const steps = h("ol", { class: "steps" });
  const markStep = (n: number) =>
    fill(steps, ["Cloudflare", "First platform", "Done"].map((t, i) => h("li", { class: i === n ? "active" : i < n ? "done" : "" }, t)));

  const stepCloudflare = () => {
    markStep(0);
    fill(
      body,
      h("h1", {}, "Welcome to Streampai"),
      h("p", {}, "OBS streams once; Streampai sends it to every platform. Three short steps."),
      steps,
      cloudflareSection(ctx, () => {}),
      h(
        "div",
        { class: "row" },
        h("button", { class: "primary", "data-testid": "setup-next", onclick: stepPlatform }, "Next"),
        h("button", { class: "ghost", "data-testid": "setup-skip", onclick: stepPlatform }, "Skip for now"),
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
    fill(
      body,
      h("h1", {}, "Where do you stream?"),
      steps,
      added,
      formBox,
      h(
        "div",
        { class: "row" },
        h("button", { class: "primary", "data-testid": "setup-next", onclick: stepDone }, "Continue"),
        h("button", { class: "ghost", onclick: stepCloudflare }, "Back"),
      ),
    );
  };
  const stepDone = () => {
    markStep(2);
    fill(
      body,
      h("h1", {}, "All set"),
      steps,
      h("p", {}, "Point OBS at the server and key on the Stream setup page, then press Start on the dashboard."),
      h("p", { class: "muted" }, "Closing the window keeps Streampai in the tray; Quit from the tray ends it."),
      h("button", { class: "primary", "data-testid": "setup-finish", onclick: () => void finish() }, "Go to the dashboard"),
    );
  };
  stepCloudflare();
  return () => {};
}
