// The dashboard's state: the engine's status, kept current by applying engine events.
import { reduceAccounts } from "./accounts";
import type { Alert, AlertsView, Event, PlatformStatus, Status } from "./bindings";

const unmeasured = { bytes_sent: null, bitrate_kbps: null, reconnects: null, dropped_frames: null };

/** Applies one engine event to a status (pure). Events it cannot place leave it unchanged. */
export function reduceStatus(status: Status, event: Event): Status {
  switch (event.type) {
    case "stream_state":
      return {
        ...status,
        stream: { ...status.stream, state: event.state, uuid: event.uuid, started_at: event.started_at },
      };
    case "input_status":
      return { ...status, input: event.status };
    case "platform_status":
      return {
        ...status,
        stream: {
          ...status.stream,
          platforms: {
            ...status.stream.platforms,
            // The event carries the status; the output statistics stay until the next status poll.
            [event.platform]: { ...unmeasured, ...status.stream.platforms[event.platform], ...event.status },
          },
        },
      };
    case "manager_started":
      return { ...status, manager: "running" };
    case "sync_status":
      return { ...status, sync: event.status };
    case "obs_status":
      // The event carries OBS's figures as of the change; the status poll keeps them current.
      return { ...status, obs: event.status };
    case "stream_info":
      return { ...status, stream_info: event.info };
    case "manager_stopped":
      return { ...status, manager: "stopped", input: "unknown" };
    case "account_status":
      return { ...status, accounts: reduceAccounts(status.accounts, event) };
    case "presence_diff": {
      const gone = new Set(event.leaves.map((s) => s.id));
      const kept = status.presence.filter((s) => !gone.has(s.id));
      const fresh = event.joins.filter((j) => !kept.some((s) => s.id === j.id));
      return { ...status, presence: [...kept, ...fresh] };
    }
    default:
      return status;
  }
}

/** Live platforms / platforms taking part (not disabled). */
export function platformCounts(platforms: Partial<Record<string, PlatformStatus>>): { live: number; total: number } {
  const all = Object.values(platforms).filter((p): p is PlatformStatus => !!p);
  return {
    live: all.filter((p) => p.status === "live").length,
    total: all.filter((p) => p.status !== "disabled").length,
  };
}

/** Which stream buttons make sense now. */
export function streamButtons(status: Status): { start: boolean; stop: boolean } {
  const s = status.stream.state;
  return { start: s === "offline", stop: s === "starting" || s === "live" };
}

/** Applies an alert event to a queue snapshot (pure). */
export function reduceAlerts(snap: AlertsView, event: Event): AlertsView {
  switch (event.type) {
    case "alert_shown":
      return { ...snap, current: event.alert, queued: snap.queued.filter((a: Alert) => a.id !== event.alert.id) };
    case "alert_finished":
      return snap.current?.id === event.id ? { ...snap, current: null } : snap;
    case "alert_queue":
      return { ...snap, paused: event.paused };
    default:
      return snap;
  }
}

/** The upload as the dashboard shows it (from the engine's `status.upload`); `measured` is false
 * when no output reports a bitrate (offline, Cloudflare outputs). */
export interface Upload {
  total_kbps: number;
  budget_kbps: number | null;
  over_budget: boolean;
  measured: boolean;
}

export function uploadOf(status: Status): Upload {
  const u = status.upload;
  return {
    total_kbps: u.total_kbps ?? 0,
    budget_kbps: u.budget_kbps,
    over_budget: u.over_budget,
    measured: u.total_kbps !== null,
  };
}
