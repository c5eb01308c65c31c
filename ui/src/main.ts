// The app frame: navigation, "open in new window", first-run setup, and the pages.
import "./style.css";
import { call, commands, messageOf, onEngineEvent } from "./api";
import type { Event, SettingsView, View } from "./bindings";
import { h, fill } from "./dom";
import { alertsPage } from "./pages/alerts";
import { analyticsPage } from "./pages/analytics";
import { dashboardPage } from "./pages/dashboard";
import { debugPage } from "./pages/debug";
import { platformsPage } from "./pages/platforms";
import { settingsPage } from "./pages/settings";
import { setupPage } from "./pages/setup";
import { streamPage } from "./pages/stream";

export interface Ctx {
  settings: SettingsView;
  refreshSettings(): Promise<SettingsView>;
  navigate(view: View): void;
  onEvent(cb: (e: Event) => void): () => void;
}

type Page = (root: HTMLElement, ctx: Ctx) => () => void;

const PAGES: { view: View; label: string; page: Page }[] = [
  { view: "dashboard", label: "Dashboard", page: dashboardPage },
  { view: "stream", label: "Stream setup", page: streamPage },
  { view: "platforms", label: "Platforms", page: platformsPage },
  { view: "alerts", label: "Alerts", page: alertsPage },
  { view: "analytics", label: "Analytics", page: analyticsPage },
  { view: "settings", label: "Settings", page: settingsPage },
  { view: "debug", label: "Debug", page: debugPage },
];

declare global {
  interface Window {
    __STREAMPAI_VIEW__?: string;
  }
}

function viewFromHash(): View | null {
  const v = location.hash.replace(/^#\/?/, "");
  return PAGES.some((p) => p.view === v) ? (v as View) : null;
}

async function start() {
  const app = document.getElementById("app")!;
  let settings: SettingsView;
  try {
    settings = await call(commands.getSettings());
  } catch (e) {
    fill(app, h("p", { class: "error", "data-testid": "error" }, `Cannot reach the app: ${messageOf(e)}`));
    return;
  }
  let cleanup: () => void = () => {};
  const nav = h("nav", { class: "nav" });
  const content = h("main", { class: "content" });
  const ctx: Ctx = {
    settings,
    async refreshSettings() {
      ctx.settings = await call(commands.getSettings());
      return ctx.settings;
    },
    navigate(view) {
      location.hash = `#/${view}`;
    },
    onEvent: onEngineEvent,
  };

  const show = () => {
    cleanup();
    if (ctx.settings.first_run) {
      nav.hidden = true;
      content.replaceChildren();
      cleanup = setupPage(content, ctx, () => {
        nav.hidden = false;
        ctx.navigate("dashboard");
        show();
      });
      return;
    }
    const view = viewFromHash() ?? "dashboard";
    const entry = PAGES.find((p) => p.view === view)!;
    fill(
      nav,
      h("div", { class: "brand" }, "Streampai"),
      PAGES.map((p) =>
        h("a", { href: `#/${p.view}`, class: p.view === view ? "active" : "", "data-testid": `nav-${p.view}` }, p.label),
      ),
      h(
        "button",
        {
          class: "ghost new-window",
          "data-testid": "open-new-window",
          title: "Open this page in a new window",
          onclick: () => void call(commands.openWindow(view)).catch((e) => alert(messageOf(e))),
        },
        "Open in new window ↗",
      ),
    );
    content.replaceChildren();
    document.title = `Streampai · ${entry.label}`;
    cleanup = entry.page(content, ctx);
  };

  const initial = window.__STREAMPAI_VIEW__;
  if (!viewFromHash() && initial && PAGES.some((p) => p.view === initial)) {
    history.replaceState(null, "", `#/${initial}`);
  }
  window.addEventListener("hashchange", show);
  fill(app, nav, content);
  show();
}

void start();
