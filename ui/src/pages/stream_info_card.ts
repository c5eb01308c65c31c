// The dashboard's "Stream info" card (one title everywhere): the title, Twitch's category (search
// → pick; only with a Twitch sign-in), YouTube's description, Save → one line per platform, and
// the last push. The form is built once and kept across the dashboard's redraws (typing is never
// interrupted); the status parts follow the engine's view (`stream_info` event / status).
import { call, CommandError, commands, messageOf } from "../api";
import type { AccountsStatus, PushReport, StreamInfoView, TwitchCategory } from "../bindings";
import { fill, h } from "../dom";
import { errorField } from "../format";
import { CATEGORY_HINT, formOf, inputOf, lastPushWords, pushLines, twitchSignedIn, type InfoForm } from "../stream_info";

export interface StreamInfoCard {
  el: HTMLElement;
  /** Shows the engine's view and whether Twitch is signed in; fills the form once. */
  show(view: StreamInfoView, accounts: AccountsStatus | null): void;
}

export function streamInfoCard(): StreamInfoCard {
  let form: InfoForm | null = null;
  let view: StreamInfoView | null = null;
  let signedIn = false;
  let busy = false;
  let found: TwitchCategory[] = [];
  let searchProblem = "";
  let report: PushReport | null = null;

  const title = h("input", { "data-testid": "stream-info-title", placeholder: "What the stream is about", maxlength: "140" });
  const titleError = h("div", { class: "field-error", "data-testid": "stream-info-error-title" });
  const query = h("input", { "data-testid": "stream-info-category-query", placeholder: "Search Twitch categories" });
  const picked = h("div", { "data-testid": "stream-info-category" });
  const results = h("ul", { class: "category-results", "data-testid": "stream-info-category-results" });
  const categoryBox = h("div", { class: "category-box" });
  const description = h("textarea", {
    "data-testid": "stream-info-description",
    rows: "3",
    placeholder: "YouTube's description (optional)",
  });
  const descriptionError = h("div", { class: "field-error", "data-testid": "stream-info-error-description" });
  const saveBtn = h("button", { class: "primary", "data-testid": "stream-info-save", onclick: () => void save() }, "Save");
  const outcome = h("div", { class: "result", "data-testid": "stream-info-result" });
  const lastPush = h("div", { class: "muted small", "data-testid": "stream-info-last-push" });
  const searchBtn = h("button", { "data-testid": "stream-info-category-search", onclick: () => void search() }, "Search");
  query.addEventListener("keydown", (ev) => {
    if ((ev as KeyboardEvent).key === "Enter") void search();
  });
  const errors: Record<string, HTMLElement> = { title: titleError, youtube_description: descriptionError };

  const el = h(
    "section",
    { class: "card stream-info", "data-testid": "stream-info-card" },
    h("h2", {}, "Stream info"),
    h("div", { class: "muted small" }, "One title for every platform, pushed on Save and at every Start."),
    h("div", { class: "form" }, h("label", {}, "Title"), title, titleError, h("label", {}, "Twitch category"), categoryBox, h("label", {}, "YouTube description"), description, descriptionError),
    h("div", { class: "row" }, saveBtn),
    outcome,
    lastPush,
  );

  const drawCategory = () => {
    fill(
      picked,
      form?.category
        ? h("strong", { "data-testid": "stream-info-category-name" }, form.category.name)
        : h("span", { class: "muted", "data-testid": "stream-info-category-name" }, "None picked: Twitch's stays as it is"),
    );
    if (!signedIn) {
      fill(categoryBox, picked, h("div", { class: "muted small", "data-testid": "stream-info-category-hint" }, CATEGORY_HINT));
      return;
    }
    fill(
      results,
      found.map((c) =>
        h(
          "li",
          {},
          h(
            "button",
            {
              class: "ghost small",
              "data-testid": `stream-info-category-pick-${c.id}`,
              onclick: () => {
                if (form) form.category = { id: c.id, name: c.name };
                found = [];
                query.value = "";
                drawCategory();
              },
            },
            c.name,
          ),
        ),
      ),
    );
    fill(
      categoryBox,
      picked,
      h("div", { class: "row" }, query, searchBtn),
      searchProblem ? h("div", { class: "error", "data-testid": "stream-info-category-error" }, searchProblem) : null,
      found.length ? results : null,
    );
  };

  const drawStatus = () => {
    saveBtn.disabled = busy || form === null;
    searchBtn.disabled = busy;
    if (view) lastPush.textContent = lastPushWords(view, Date.now());
    if (report) {
      fill(
        outcome,
        pushLines(report).map((l) =>
          h("div", { class: l.tone === "off" ? "muted" : l.tone, "data-testid": `stream-info-push-${l.platform}` }, l.text),
        ),
      );
    }
  };

  const search = async () => {
    const q = query.value.trim();
    if (!q) return;
    searchProblem = "";
    try {
      found = await call(commands.searchTwitchCategories(q));
      if (found.length === 0) searchProblem = `No Twitch category matches “${q}”.`;
    } catch (e) {
      found = [];
      searchProblem = messageOf(e);
    }
    drawCategory();
  };

  const save = async () => {
    if (!form) return;
    form.title = title.value;
    form.description = description.value;
    busy = true;
    Object.values(errors).forEach((e) => (e.textContent = ""));
    fill(outcome, h("span", { class: "muted" }, "Saving and pushing…"));
    report = null;
    drawStatus();
    try {
      report = await call(commands.saveStreamInfo(inputOf(form)));
    } catch (e) {
      const field = e instanceof CommandError ? errorField(e.error) : null;
      const target = field ? errors[field] : undefined;
      if (target) {
        target.textContent = messageOf(e);
        outcome.textContent = "";
      } else fill(outcome, h("span", { class: "error", "data-testid": "stream-info-error" }, messageOf(e)));
    }
    busy = false;
    drawStatus();
  };

  return {
    el,
    show(v, accounts) {
      view = v;
      const wasSignedIn = signedIn;
      signedIn = twitchSignedIn(accounts);
      if (form === null) {
        form = formOf(v);
        title.value = form.title;
        description.value = form.description;
        drawCategory();
      } else if (wasSignedIn !== signedIn) drawCategory();
      drawStatus();
    },
  };
}
