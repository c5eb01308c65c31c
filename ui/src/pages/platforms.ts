// Platforms: add, edit, remove and enable Twitch, YouTube, Kick, Facebook and custom RTMP(S).
import { call, CommandError, commands, messageOf } from "../api";
import type { PlatformKind, PlatformView, SettingsView } from "../bindings";
import { fill, h } from "../dom";
import { errorField, KIND_NAMES } from "../format";
import type { Ctx } from "../main";
import { liveCheck, platformPresets } from "../checks";
import { keptHint, secretBackend, storeName } from "../secrets";
import {
  platformNameProblem,
  platformUrlProblem,
  suggestName,
  urlSuggestions,
  validatePlatform,
  type FieldErrors,
} from "../validate";

const KINDS: PlatformKind[] = ["twitch", "youtube", "kick", "facebook", "custom"];

/** The add/edit form; calls `done` with the new settings after a successful save. */
export function platformForm(
  settings: SettingsView,
  editing: PlatformView | null,
  done: (s: SettingsView) => void,
  cancel?: () => void,
): HTMLElement {
  const names = settings.platforms.map((p) => p.name);
  const kind = h(
    "select",
    { "data-testid": "pf-kind", disabled: !!editing },
    KINDS.map((k) => h("option", { value: k }, KIND_NAMES[k])),
  );
  kind.value = editing?.kind ?? "twitch";
  const name = h("input", { "data-testid": "pf-name", value: editing?.name ?? suggestName("twitch", names) });
  const list = h("datalist", { id: "pf-url-presets" });
  const url = h("input", { "data-testid": "pf-url", list: "pf-url-presets", class: "mono" });
  const key = h("input", {
    type: "password",
    "data-testid": "pf-key",
    autocomplete: "off",
    placeholder: editing?.has_key ? keptHint(null) : "paste the stream key",
  });
  if (editing?.has_key) {
    void secretBackend()
      .then((b) => (key.placeholder = keptHint(b)))
      .catch(() => {});
  }
  const showKey = h("button", { type: "button", onclick: () => (key.type = key.type === "password" ? "text" : "password") }, "Show");
  const enabled = h("input", { type: "checkbox", "data-testid": "pf-enabled", checked: editing?.enabled ?? true });
  const errs: Record<keyof FieldErrors, HTMLElement> = {
    name: h("div", { class: "field-error", "data-testid": "pf-error-name" }),
    url: h("div", { class: "field-error", "data-testid": "pf-error-url" }),
    key: h("div", { class: "field-error", "data-testid": "pf-error-key" }),
  };
  const general = h("div", { class: "error", "data-testid": "pf-error" });
  const presetFor = (k: PlatformKind) => {
    url.placeholder = k === "custom" ? "rtmp://server/app" : "";
    void platformPresets()
      .then((presets) => {
        if (kind.value !== k) return; // the kind changed meanwhile
        fill(list, urlSuggestions(k, presets).map((u) => h("option", { value: u })));
        url.placeholder = presets[k] ?? "rtmp://server/app";
      })
      .catch(() => {});
  };
  presetFor(kind.value as PlatformKind);
  url.value = editing?.url ?? "";
  // Live checks with the engine's rules while typing (the same run again on save).
  const nameCheck = liveCheck(
    () => platformNameProblem(name.value, editing?.name ?? null, names),
    (p) => (errs.name.textContent = p ?? ""),
  );
  const urlCheck = liveCheck(
    () => (url.value.trim() === "" ? Promise.resolve(null) : platformUrlProblem(url.value, kind.value as PlatformKind)),
    (p) => (errs.url.textContent = p ?? ""),
  );
  name.addEventListener("input", nameCheck.typed);
  url.addEventListener("input", urlCheck.typed);
  kind.addEventListener("change", () => {
    const k = kind.value as PlatformKind;
    presetFor(k);
    if (!editing) name.value = suggestName(k, names);
    errs.name.textContent = "";
    urlCheck.typed();
  });
  const show = (fe: FieldErrors, message = "") => {
    (Object.keys(errs) as (keyof FieldErrors)[]).forEach((f) => (errs[f].textContent = fe[f] ?? ""));
    general.textContent = message;
  };
  const save = h("button", { class: "primary", "data-testid": "pf-save", type: "submit" }, editing ? "Save" : "Add platform");
  const form = h(
    "form",
    {
      class: "form card",
      "data-testid": "platform-form",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        const k = kind.value as PlatformKind;
        const draft = {
          originalName: editing?.name ?? null,
          name: name.value.trim(),
          kind: k,
          url: url.value,
          key: key.value,
          hasStoredKey: editing?.has_key ?? false,
        };
        save.disabled = true;
        try {
          const fe = await validatePlatform(draft, names);
          if (Object.keys(fe).length) return show(fe);
          const s = await call(
            commands.savePlatform({
              original_name: draft.originalName,
              name: draft.name,
              kind: k,
              url: url.value.trim() || null,
              enabled: enabled.checked,
              key: key.value.trim() || null,
            }),
          );
          show({});
          done(s);
        } catch (e) {
          const field = e instanceof CommandError ? errorField(e.error) : null;
          if (field && field in errs) show({ [field]: messageOf(e) });
          else show({}, messageOf(e));
        } finally {
          save.disabled = false;
        }
      },
    },
    h("h2", {}, editing ? `Edit ${editing.name}` : "Add a platform"),
    h("label", {}, "Platform"),
    kind,
    h("label", {}, "Name ", h("span", { class: "muted" }, "(a-z, 0-9, -)")),
    name,
    errs.name,
    h("label", {}, "Ingest URL ", h("span", { class: "muted" }, "(empty: the platform's default)")),
    url,
    list,
    errs.url,
    h("label", {}, "Stream key"),
    h("div", { class: "row" }, key, showKey),
    errs.key,
    h("label", { class: "check" }, enabled, " Enabled"),
    general,
    h("div", { class: "row" }, save, cancel ? h("button", { type: "button", onclick: cancel }, "Cancel") : null),
  );
  return form;
}

export function platformsPage(root: HTMLElement, ctx: Ctx): () => void {
  const listBox = h("div", {});
  const formBox = h("div", {});
  const problem = h("p", { class: "error", "data-testid": "error" });
  fill(root, h("h1", {}, "Platforms"), problem, listBox, formBox);

  const openForm = (editing: PlatformView | null) => {
    fill(
      formBox,
      platformForm(
        ctx.settings,
        editing,
        (s) => {
          ctx.settings = s;
          formBox.replaceChildren();
          draw();
        },
        () => formBox.replaceChildren(),
      ),
    );
  };

  const draw = () => {
    const rows = ctx.settings.platforms.map((p) =>
      h(
        "tr",
        { "data-testid": `platform-row-${p.name}` },
        h("td", {}, h("strong", {}, p.name)),
        h("td", {}, KIND_NAMES[p.kind]),
        h("td", { class: "mono small" }, p.ingest_url),
        h("td", {}, p.has_key ? "••••••" : h("span", { class: "error" }, "no key")),
        h(
          "td",
          {},
          h("input", {
            type: "checkbox",
            checked: p.enabled,
            title: "Enabled",
            "data-testid": `platform-enabled-${p.name}`,
            onchange: async (ev: Event) => {
              try {
                ctx.settings = await call(commands.setPlatformEnabled(p.name, (ev.target as HTMLInputElement).checked));
                problem.textContent = "";
              } catch (e) {
                problem.textContent = messageOf(e);
              }
              draw();
            },
          }),
        ),
        h(
          "td",
          {},
          h("button", { onclick: () => openForm(p), "data-testid": `platform-edit-${p.name}` }, "Edit"),
          h(
            "button",
            {
              class: "danger",
              "data-testid": `platform-remove-${p.name}`,
              onclick: async () => {
                const store = storeName(await secretBackend().catch(() => null));
                if (!confirm(`Remove ${p.name}? Its stream key is deleted from ${store}.`)) return;
                try {
                  ctx.settings = await call(commands.removePlatform(p.name));
                  problem.textContent = "";
                } catch (e) {
                  problem.textContent = messageOf(e);
                }
                draw();
              },
            },
            "Remove",
          ),
        ),
      ),
    );
    fill(
      listBox,
      rows.length
        ? h(
            "table",
            { class: "table" },
            h("tr", {}, ["Name", "Platform", "Ingest URL", "Key", "On", ""].map((t) => h("th", {}, t))),
            rows,
          )
        : h("p", { class: "empty" }, "No platforms yet."),
      h("button", { class: "primary", "data-testid": "add-platform", onclick: () => openForm(null) }, "Add platform"),
    );
  };
  draw();
  return () => {};
}
