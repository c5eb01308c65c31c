// Dashboard: OBS input in words, Start/Stop, elapsed time and UUID, which platforms feed alerts,
// the OBS card (the link, OBS's own health, Set up OBS / Restore) next to one card per platform,
// the other devices signed in through the sync server, and the "Stream info" card (one title
// everywhere) under Start.
import { call, commands, messageOf } from "../api";
import type { PlatformSnapshot, Status } from "../bindings";
import { h, fill } from "../dom";
import { KIND_NAMES, platformLabel, platformProblem } from "../failure";
import {
  elapsedSince,
  formatBitrate,
  formatBytes,
  formatElapsed,
  inputWords,
  phaseWords,
  platformWords,
} from "../format";
import type { Ctx } from "../main";
import { platformCounts, reduceStatus, streamButtons, uploadOf } from "../state";
import { remoteDevices, sinceWords, syncStateWords } from "../sync";
import { sourcesLine } from "./alerts";
import { bitrateChart } from "./bitrate_chart";
import { obsCard } from "./obs_card";
import { streamInfoCard } from "./stream_info_card";

export function dashboardPage(root: HTMLElement, ctx: Ctx): () => void {
  let status: Status | null = null;
  let problem = "";
  let busy = false;
  const body = h("div", { class: "dashboard" });
  // The stream info form sits between the redrawn parts and is never re-attached (focus stays).
  const info = streamInfoCard();
  info.el.hidden = true;
  const rest = h("div", {});
  const elapsed = h("span", { "data-testid": "elapsed" });
  // Other devices signed in through the sync server (presence sessions of kind `device`).
  const devicesBox = h("section", { class: "card devices", "data-testid": "remote-devices" });
  const drawDevices = () => {
    const list = status ? remoteDevices(status.presence) : [];
    const sync = status?.sync;
    devicesBox.hidden = list.length === 0 && (!sync || sync.state === "off");
    fill(
      devicesBox,
      h("h2", {}, "Other devices"),
      sync ? h("div", { class: "muted small", "data-testid": "dashboard-sync-state" }, `Sync: ${syncStateWords(sync)}`) : null,
      list.length === 0 ? h("div", { class: "muted", "data-testid": "remote-devices-none" }, "No other device signed in.") : null,
      h(
        "ul",
        { class: "device-list" },
        list.map((d) =>
          h(
            "li",
            { "data-testid": `remote-device-${d.id}` },
            h("strong", { "data-testid": `remote-device-name-${d.id}` }, d.name),
            " ",
            h("span", { class: "muted" }, sinceWords(d.since, Date.now())),
            d.connections > 1 ? h("span", { class: "muted" }, ` · ${d.connections} connections`) : null,
          ),
        ),
      ),
    );
  };
  // The current stream's bitrate chart (the same as Analytics), refreshed while on air.
  const chart = bitrateChart("live-chart");
  const chartBox = h("section", { class: "card live-chart" }, h("h2", {}, "This stream"), chart.el);
  let chartFor: string | null = null;
  let chartLoaded = false;
  const loadChart = async () => {
    const uuid = status?.stream.uuid ?? null;
    if (!uuid) return;
    try {
      const detail = await call(commands.streamDetail(uuid));
      if (detail && status?.stream.uuid === uuid) {
        chart.show(detail);
        chartLoaded = true;
        chartBox.hidden = false;
      }
    } catch {
      // The history is best effort here; Analytics shows its errors.
    }
  };
  // The stream info form after the live figures: while live the platform cards come first.
  fill(root, h("h1", {}, "Dashboard"), body, rest, info.el);
  const obs = obsCard(() => void load());

  const load = async () => {
    try {
      status = await call(commands.getStatus());
    } catch (e) {
      problem = messageOf(e);
    }
    draw();
  };

  const act = async (what: "start" | "stop") => {
    busy = true;
    problem = "";
    draw();
    try {
      await call(what === "start" ? commands.startStream() : commands.stopStream());
    } catch (e) {
      problem = messageOf(e);
    }
    busy = false;
    await load();
  };

  const tick = () => {
    drawDevices();
    const s = status?.stream;
    elapsed.textContent = s && s.state !== "offline" ? formatElapsed(elapsedSince(s.started_at, Date.now())) : "";
  };

  // Output statistics (the local relay measures them; Cloudflare outputs report none).
  const stats = (name: string, st: PlatformSnapshot) => {
    if (st.bitrate_kbps === null && st.bytes_sent === null) return null;
    const item = (label: string, testid: string, value: string) =>
      h("div", {}, h("dt", {}, label), h("dd", { "data-testid": `${testid}-${name}` }, value));
    return h(
      "dl",
      { class: "stats" },
      item("Bitrate", "platform-bitrate", formatBitrate(st.bitrate_kbps)),
      item("Sent", "platform-sent", formatBytes(st.bytes_sent)),
      item("Dropped frames", "platform-dropped", st.dropped_frames === null ? "—" : String(st.dropped_frames)),
      item("Reconnects", "platform-reconnects", st.reconnects === null ? "—" : String(st.reconnects)),
    );
  };

  const uploadLine = (st: Status) => {
    const up = uploadOf(st);
    const onAir = st.stream.state !== "offline";
    if (!onAir && !up.measured) return null;
    const budget = up.budget_kbps !== null ? ` of ${formatBitrate(up.budget_kbps)} budget` : "";
    return h(
      "div",
      { class: `upload${up.over_budget ? " over" : ""}`, "data-testid": "upload" },
      h("span", { class: "muted" }, "Outgoing: "),
      h(
        "strong",
        { "data-testid": "upload-total" },
        up.measured ? formatBitrate(up.total_kbps) : st.ingest.backend === "cloudflare" ? "relayed by Cloudflare" : "—",
      ),
      up.measured ? h("span", { class: "muted" }, budget) : null,
      up.over_budget
        ? h(
            "div",
            { class: "warning", "data-testid": "upload-warning" },
            `Over your upload budget: the platforms together need ${formatBitrate(up.total_kbps)}, ` +
              `the budget is ${formatBitrate(up.budget_kbps)}. Lower the OBS bitrate or turn a platform off; ` +
              "otherwise every platform may stutter.",
          )
        : null,
    );
  };

  const card = (name: string, st: PlatformSnapshot) => {
    const cfg = ctx.settings.platforms.find((p) => p.name === name);
    const attempt = st.status === "retrying" ? st.attempt : null;
    const why = platformProblem(st, platformLabel(name, cfg?.kind));
    return h(
      "div",
      { class: `card platform ${st.status}`, "data-testid": `platform-card-${name}` },
      h("div", { class: "card-head" }, h("strong", {}, name), h("span", { class: "muted" }, cfg ? KIND_NAMES[cfg.kind] : "")),
      h("div", { class: `pill ${st.status}`, "data-testid": `platform-status-${name}` }, platformWords(st)),
      attempt !== null ? h("div", { class: "muted" }, `Retry ${attempt}`) : null,
      why
        ? h(
            "div",
            { class: "problem", "data-testid": `platform-problem-${name}` },
            why.text,
            why.detail ? h("div", { class: "muted small", "data-testid": `platform-problem-detail-${name}` }, why.detail) : null,
          )
        : null,
      stats(name, st),
      h(
        "label",
        { class: "switch" },
        h("input", {
          type: "checkbox",
          checked: st.status !== "disabled",
          "data-testid": `platform-toggle-${name}`,
          onchange: async (ev: Event) => {
            const on = (ev.target as HTMLInputElement).checked;
            try {
              ctx.settings = await call(commands.setPlatformEnabled(name, on));
            } catch (e) {
              problem = messageOf(e);
            }
            await load();
          },
        }),
        " Enabled",
      ),
    );
  };

  const draw = () => {
    if (!status) {
      fill(body, problem ? h("p", { class: "error", "data-testid": "error" }, problem) : h("p", {}, "Loading…"));
      fill(rest);
      return;
    }
    const s = status.stream;
    const buttons = streamButtons(status);
    const counts = platformCounts(s.platforms);
    const names = Object.keys(s.platforms);
    fill(
      body,
      h(
        "div",
        { class: `obs ${status.input}`, "data-testid": "obs-state" },
        h("span", { class: "dot" }),
        inputWords(status.input),
      ),
      h(
        "div",
        { class: "stream-row" },
        h("span", { class: `pill big ${s.state}`, "data-testid": "stream-state" }, phaseWords(s.state)),
        h("button", { class: "primary", "data-testid": "start-btn", disabled: !buttons.start || busy, onclick: () => act("start") }, "Start stream"),
        h("button", { class: "danger", "data-testid": "stop-btn", disabled: !buttons.stop || busy, onclick: () => act("stop") }, "Stop stream"),
        s.state !== "offline" ? h("span", { class: "muted" }, `${counts.live}/${counts.total} platforms live · `, elapsed) : null,
      ),
      s.uuid ? h("div", { class: "muted" }, "Stream ", h("code", { "data-testid": "stream-uuid" }, s.uuid)) : null,
    );
    info.el.hidden = false;
    info.show(status.stream_info, status.accounts);
    fill(
      rest,
      uploadLine(status),
      sourcesLine(status.accounts, ctx),
      devicesBox,
      problem ? h("p", { class: "error", "data-testid": "error" }, problem) : null,
      h("div", { class: "cards" }, obs.el, names.map((n) => card(n, s.platforms[n]!))),
      names.length
        ? null
        : h(
            "p",
            { class: "empty" },
            "No platforms yet. ",
            h("a", { href: "#/platforms" }, "Add Twitch, YouTube, Kick, Facebook or any RTMP server"),
            ".",
          ),
      s.uuid ? chartBox : null,
    );
    obs.show(status.obs, status.input === "receiving_traffic");
    tick();
    if ((s.uuid ?? null) !== chartFor) {
      chartFor = s.uuid ?? null;
      chartLoaded = false;
      chartBox.hidden = true;
      void loadChart();
    }
  };

  const off = ctx.onEvent((ev) => {
    if (status) status = reduceStatus(status, ev);
    if (ev.type === "manager_started" || ev.type === "manager_stopped") void load();
    else draw();
  });
  const timer = window.setInterval(tick, 1000);
  // Settings may change elsewhere (another window) and the output statistics are only in the
  // status: reload it every 2 s while on air, every 5 s otherwise.
  let polled = 0;
  const poll = window.setInterval(() => {
    polled += 1;
    const onAir = status !== null && status.stream.state !== "offline";
    if (polled % (onAir ? 2 : 5) === 0) void load();
    // The engine writes a sample per platform every 5 s.
    if (onAir && (polled % 5 === 0 || !chartLoaded)) void loadChart();
  }, 1000);
  void load();
  return () => {
    off();
    clearInterval(timer);
    clearInterval(poll);
    chart.destroy();
  };
}
