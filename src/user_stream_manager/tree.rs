//! The tree itself: the UserStreamManager supervisor and its children's specs.

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, info_span, Instrument};

use super::{IngestHandles, UserStream};
use crate::alerts::queue as alert_queue;
use crate::alerts::AlertQueueArgs;
use crate::cloudflare::manager::{self as cf_manager, CloudflareManagerArgs};
use crate::cloudflare::monitor::{self, MonitorArgs};
use crate::events::Event;
use crate::ingest::local::{self, LocalIngestArgs};
use crate::platforms::supervisor::{self as platform_sup, PlatformSupervisorArgs};
use crate::platforms::worker::RetryPolicy;
use crate::stream_state::{self, StreamStateArgs};
use crate::supervisor::{ChildSpec, Restart, Supervisor, SupervisorConfig};

impl UserStream {
    /// The tree as a child of the users' DynamicSupervisor (transient: restarted only if it
    /// gives up).
    pub fn child_spec(&self) -> ChildSpec {
        let me = self.clone();
        ChildSpec::new(self.user_id.clone(), Restart::Transient, move |ctx| {
            let me = me.clone();
            let span = info_span!("UserStreamManager", user_id = %me.user_id);
            async move { me.run_tree(ctx.cancel).await }.instrument(span)
        })
        .shutdown_timeout(
            Duration::from_millis(self.config().stream.stop_timeout_ms) + Duration::from_secs(5),
        )
    }

    async fn run_tree(self, cancel: tokio_util::sync::CancellationToken) -> crate::actor::ChildResult {
        let user = self.user_id.clone();
        let events = self.bus.user(&user);
        info!("[UserStreamManager:{user}] starting");
        events.emit(Event::ManagerStarted { user_id: user.clone() });
        let hook_events = events.clone();
        let hook_user = user.clone();
        let sup = Supervisor::new(
            SupervisorConfig::new(format!("UserStreamManager:{user}")).intensity(
                self.config().supervision.max_restarts,
                Duration::from_millis(self.config().supervision.period_ms),
            ),
            self.children_specs(),
        )
        .with_mailbox(self.tree_mailbox.clone())
        .on_restart(Arc::new(move |child, restarts| {
            hook_events.emit(Event::ChildRestarted {
                user_id: hook_user.clone(),
                supervisor: "UserStreamManager".into(),
                child: child.to_string(),
                restarts,
            })
        }));
        let res = sup.run(cancel).await;
        let reason = match &res {
            Ok(()) => "shutdown".to_string(),
            Err(e) => format!("gave_up: {e}"),
        };
        info!("[UserStreamManager:{user}] stopped ({reason})");
        events.emit(Event::ManagerStopped { user_id: user, reason });
        res
    }

    fn children_specs(&self) -> Vec<ChildSpec> {
        let cfg = self.config();
        let user = self.user_id.clone();
        let events = self.bus.user(&user);

        let state_args = StreamStateArgs {
            user_id: user.clone(),
            events: events.clone(),
            stash: self.stash.stream.clone(),
            presence: self.presence.clone(),
            hold_lease: !cfg.presence.stop_with_last_session,
            platforms: cfg.platforms.iter().map(|p| (p.name.clone(), p.enabled)).collect(),
        };
        let mb = self.boxes.state.clone();
        let state = ChildSpec::new("StreamStateServer", Restart::Permanent, move |ctx| {
            stream_state::run(state_args.clone(), mb.clone(), ctx.cancel)
        });

        let stop_timeout = Duration::from_millis(cfg.stream.stop_timeout_ms);
        let plat_args = PlatformSupervisorArgs {
            user_id: user.clone(),
            ingest: self.ingest.clone(),
            state: self.state.clone(),
            events: events.clone(),
            retry: RetryPolicy {
                initial: Duration::from_millis(cfg.stream.retry_initial_ms),
                max: Duration::from_millis(cfg.stream.retry_max_ms),
                max_attempts: cfg.stream.max_attempts,
            },
            stop_timeout,
            stash: self.stash.platforms.clone(),
            workers: self.workers.clone(),
            workers_mailbox: self.workers_mailbox.clone(),
            source_grace: Duration::from_millis(cfg.local.source_grace_ms),
        };
        let mb = self.boxes.platforms.clone();
        let platforms = ChildSpec::new("PlatformSupervisor", Restart::Permanent, move |ctx| {
            platform_sup::run(plat_args.clone(), mb.clone(), ctx.cancel)
        })
        .shutdown_timeout(stop_timeout + Duration::from_secs(2));

        let alert_args = AlertQueueArgs {
            events,
            default_duration: Duration::from_millis(cfg.alerts.default_duration_ms),
            durations: cfg.alerts.durations_ms.iter().map(|(k, v)| (*k, Duration::from_millis(*v))).collect(),
            stash: self.stash.alerts.clone(),
            store: Some(self.stores.alerts.clone()),
            overlays: self.overlays.clone(),
        };
        let mb = self.boxes.alerts.clone();
        let alerts = ChildSpec::new("AlertQueue", Restart::Permanent, move |ctx| {
            alert_queue::run(alert_args.clone(), mb.clone(), ctx.cancel)
        });

        let (manager, monitor) = match &self.ingest {
            IngestHandles::Cloudflare { manager, client } => {
                let cf_args = CloudflareManagerArgs {
                    user_id: user.clone(),
                    client: client.clone(),
                    state: self.state_file.clone(),
                };
                let mb = self.boxes.cloudflare.clone();
                let mon_args = MonitorArgs {
                    user_id: user.clone(),
                    client: client.clone(),
                    manager: manager.clone(),
                    state: self.state.clone(),
                    poll_interval: Duration::from_millis(cfg.cloudflare.poll_interval_ms),
                    poll_now: self.obs_input_poll().clone(),
                };
                (
                    ChildSpec::new("CloudflareManager", Restart::Permanent, move |ctx| {
                        cf_manager::run(cf_args.clone(), mb.clone(), ctx.cancel)
                    }),
                    ChildSpec::new("CloudflareLiveInputMonitor", Restart::Permanent, move |ctx| {
                        monitor::run(mon_args.clone(), ctx.cancel)
                    }),
                )
            }
            IngestHandles::Local { relay } => {
                let local = LocalIngestArgs {
                    user_id: user.clone(),
                    config: cfg.local.clone(),
                    ingest_key: self.ingest_key(),
                    slot: relay.clone(),
                    state: self.state.clone(),
                };
                let mon = local.clone();
                (
                    ChildSpec::new("LocalIngestManager", Restart::Permanent, move |ctx| {
                        local::run_manager(local.clone(), ctx.cancel)
                    }),
                    ChildSpec::new("LocalIngestMonitor", Restart::Permanent, move |ctx| {
                        local::run_monitor(mon.clone(), ctx.cancel)
                    }),
                )
            }
        };
        let auto_args = crate::stream_automation::AutomationArgs {
            user: self.clone(),
            source_timeout: Duration::from_millis(cfg.local.source_timeout_ms),
            source_grace: Duration::from_millis(cfg.local.source_grace_ms),
            auto_start: cfg.stream.auto_start,
            disarmed: self.stash.auto_start_disarmed.clone(),
        };
        let automation = ChildSpec::new("StreamAutomation", Restart::Permanent, move |ctx| {
            crate::stream_automation::run(auto_args.clone(), ctx.cancel)
        });
        let obs_args =
            crate::obs::connection::ObsArgs { user: self.clone(), mailbox: self.boxes.obs.clone() };
        let obs = ChildSpec::new("ObsConnection", Restart::Permanent, move |ctx| {
            crate::obs::connection::run(obs_args.clone(), ctx.cancel)
        });
        let mut children = vec![state, manager, monitor, platforms, alerts, automation, obs];
        // Platform event feeds (issue 14): present when configured, connected while signed in.
        children.extend(crate::platform_events::twitch_events_spec(self));
        children.extend(crate::platform_events::youtube_events_spec(self));
        children
    }
}
