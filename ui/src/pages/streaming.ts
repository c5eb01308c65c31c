// Settings › Streaming: ingest backend (locked while on air), local listen address (warned about
// when other machines can reach it), upload budget, auto start.
import { call, CommandError, commands, messageOf } from "../api";
import type { IngestBackend, StreamPhase } from "../bindings";
import { fill, h } from "../dom";
import { errorField, formatBitrate } from "../format";
import type { Ctx } from "../main";
import { checkField } from "../checks";
import { sentence } from "../format";

const FIELDS = ["ingest", "local_listen", "upload_budget_kbps"] as const;

export function streamingSection(ctx: Ctx): { el: HTMLElement; cleanup: () => void; refresh: () => void } {
  const s = ctx.settings;
  let phase: StreamPhase = "offline";
  const backend = h(
    "select",
    { "data-testid": "ingest-backend" },
    h("option", { value: "local" }, "This computer (local relay)"),
    h("option", { value: "cloudflare" }, "Cloudflare Stream"),
  );
  backend.value = s.ingest_backend;
  const locked = h("div", { class: "note", "data-testid": "ingest-locked" });
  const listen = h("input", { "data-testid": "local-listen", value: s.local_listen, placeholder: "127.0.0.1:1935" });
  const listenWarning = h("div", { class: "warning", "data-testid": "listen-warning" });
  const budget = h("input", {
    "data-testid": "upload-budget",
    inputmode: "numeric",
    value: s.upload_budget_kbps ?? "",
    placeholder: "none (e.g. 12000)",
  });
  const budgetHint = h("div", { class: "muted small", "data-testid": "upload-budget-hint" });
  const autoStart = h("input", { type: "checkbox", "data-testid": "auto-start", checked: s.auto_start });
  const fieldError = (f: (typeof FIELDS)[number]) =>
    h("div", { class: "field-error", "data-testid": `streaming-error-${f}` });
  const errors = { ingest: fieldError("ingest"), local_listen: fieldError("local_listen"), upload_budget_kbps: fieldError("upload_budget_kbps") };
  const result = h("div", { class: "result", "data-testid": "streaming-result" });
  const localOnly = h("div", { class: "form" });

  // The rules are the engine's (`check_field`); the UI only words them.
  const budgetValue = (): number | null => {
    const t = budget.value.replace(/[ _,]/g, "");
    return t === "" ? null : Number(t);
  };
  let seq = 0;
  const update = () => {
    const onAir = phase !== "offline";
    backend.disabled = onAir;
    locked.textContent = onAir
      ? "The stream is on air: stop it to switch the ingest backend (OBS would lose its server mid-stream)."
      : "";
    localOnly.hidden = backend.value !== "local";
    const mine = ++seq;
    void Promise.all([
      commands.checkField({ field: "local_listen_exposure", value: listen.value }),
      checkField({ field: "upload_budget", value: budget.value }),
    ])
      .then(([exposure, budgetProblem]) => {
        if (mine !== seq) return;
        listenWarning.textContent = exposure
          ? `${sentence(exposure)} Keep 127.0.0.1 unless OBS runs on another machine.`
          : "";
        listenWarning.hidden = listenWarning.textContent === "";
        const b = budgetProblem ? null : budgetValue();
        budgetHint.textContent = b !== null ? `= ${formatBitrate(b)} for all platforms together` : "";
      })
      .catch(() => {});
  };

  const save = async () => {
    for (const f of FIELDS) errors[f].textContent = "";
    const [listenErr, budgetErr] = await Promise.all([
      checkField({ field: "local_listen", value: listen.value }),
      checkField({ field: "upload_budget", value: budget.value }),
    ]);
    if (listenErr) errors.local_listen.textContent = listenErr;
    if (budgetErr) errors.upload_budget_kbps.textContent = budgetErr;
    if (listenErr || budgetErr) {
      result.className = "result error";
      result.textContent = "Check the fields above.";
      return;
    }
    try {
      ctx.settings = await call(
        commands.saveStreaming({
          ingest: backend.value as IngestBackend,
          local_listen: listen.value.trim(),
          upload_budget_kbps: budgetValue(),
          auto_start: autoStart.checked,
        }),
      );
      backend.value = ctx.settings.ingest_backend;
      listen.value = ctx.settings.local_listen;
      result.className = "result ok";
      result.textContent = "Saved.";
    } catch (e) {
      const field = e instanceof CommandError ? errorField(e.error) : null;
      if (field && field in errors) errors[field as (typeof FIELDS)[number]].textContent = messageOf(e);
      result.className = "result error";
      result.textContent = messageOf(e);
    }
    update();
  };

  backend.addEventListener("change", update);
  listen.addEventListener("input", update);
  budget.addEventListener("input", update);
  fill(
    localOnly,
    h("label", {}, "Listen address for OBS"),
    listen,
    errors.local_listen,
    listenWarning,
  );
  const el = h(
    "section",
    { class: "card form", "data-testid": "streaming-section" },
    h("h2", {}, "Streaming"),
    h("label", {}, "Where OBS streams to"),
    backend,
    locked,
    errors.ingest,
    localOnly,
    h("label", {}, "Upload budget (kbit/s, all platforms together)"),
    budget,
    budgetHint,
    errors.upload_budget_kbps,
    h("label", { class: "check" }, autoStart, " Start the stream when OBS starts sending"),
    h("button", { class: "primary", "data-testid": "streaming-save", onclick: save }, "Save"),
    result,
  );
  update();
  void call(commands.getStatus())
    .then((st) => {
      phase = st.stream.state;
      update();
    })
    .catch(() => {});
  const off = ctx.onEvent((ev) => {
    if (ev.type === "stream_state") {
      phase = ev.state;
      update();
    }
  });
  // Another section changed the settings (Cloudflare's "Use Cloudflare now"): show the backend in force.
  const refresh = () => {
    backend.value = ctx.settings.ingest_backend;
    update();
  };
  return { el, cleanup: off, refresh };
}
