//! LocalIngestManager and LocalIngestMonitor.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, instrument, warn};

use crate::actor::ChildResult;
use crate::config::LocalConfig;
use crate::relay::{IngestState, Relay, RelayConfig, RelayHandle};
use crate::secrets::Secret;
use crate::stream_state::{InputStatus, StreamStateHandle};

/// Where the running relay is published for the monitor, the workers and the status; `None`
/// while it is down. Made once per user, so it outlives restarts.
#[derive(Clone)]
pub struct RelaySlot(Arc<watch::Sender<Option<RelayHandle>>>);

impl Default for RelaySlot {
    fn default() -> Self {
        RelaySlot(Arc::new(watch::channel(None).0))
    }
}

impl RelaySlot {
    pub fn get(&self) -> Option<RelayHandle> {
        self.0.borrow().clone()
    }

    pub fn watch(&self) -> watch::Receiver<Option<RelayHandle>> {
        self.0.subscribe()
    }

    /// The relay, waiting up to `timeout` for it to come up.
    pub async fn wait(&self, timeout: Duration) -> Option<RelayHandle> {
        let mut rx = self.watch();
        let found = match tokio::time::timeout(timeout, rx.wait_for(Option::is_some)).await {
            Ok(Ok(r)) => r.clone(),
            _ => None,
        };
        found
    }

    fn set(&self, relay: Option<RelayHandle>) {
        self.0.send_replace(relay);
    }
}

#[derive(Clone)]
pub struct LocalIngestArgs {
    pub user_id: String,
    pub config: LocalConfig,
    pub ingest_key: Secret,
    pub slot: RelaySlot,
    pub state: StreamStateHandle,
}

fn relay_config(args: &LocalIngestArgs, listen: SocketAddr) -> RelayConfig {
    let mut cfg = RelayConfig::new(args.ingest_key.clone());
    cfg.listen = listen;
    cfg.max_reconnects = args.config.max_reconnects;
    cfg.extra_ca_file = args.config.extra_ca_file.clone();
    cfg
}

/// LocalIngestManager: binds the ingest address and runs the relay on its own thread
/// (`Relay::start_dedicated`). A bind failure (port in use) is retried with backoff and logged
/// once, never a crash loop.
#[instrument(name = "LocalIngestManager", skip_all, fields(user_id = %args.user_id))]
pub async fn run_manager(args: LocalIngestArgs, cancel: CancellationToken) -> ChildResult {
    let user = &args.user_id;
    let listen: SocketAddr = match args.config.listen.parse() {
        Ok(a) => a,
        Err(_) => {
            return Err(crate::actor::ChildError::new(format!(
                "local.listen `{}` is not an address",
                args.config.listen
            )))
        }
    };
    let mut delay = Duration::from_millis(500);
    let mut logged = false;
    let listener = loop {
        match bind(listen) {
            Ok(l) => break l,
            Err(e) => {
                if !logged {
                    error!(cause = %e, "[LocalIngestManager:{user}] cannot listen on {listen}; retrying");
                    logged = true;
                }
                tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    };
    // The relay runs on a thread of its own (a current-thread runtime): its frames never wait
    // behind the rest of the engine (docs/PERFORMANCE.md). Its token is a child of this one, so
    // the thread ends when this child stops or dies.
    let relay_cancel = cancel.child_token();
    let listener = listener.into_std().map_err(|e| crate::actor::ChildError::new(format!("relay: {e}")))?;
    let (cfg, token) = (relay_config(&args, listen), relay_cancel.clone());
    let relay = tokio::task::spawn_blocking(move || Relay::start_dedicated(cfg, listener, token))
        .await
        .map_err(|e| crate::actor::ChildError::new(format!("relay thread: {e}")))?
        .map_err(|e| crate::actor::ChildError::new(format!("relay: {e}")))?;
    info!("[LocalIngestManager:{user}] OBS ingest on rtmp://{}/live", relay.local_addr());
    args.slot.set(Some(relay.clone()));
    cancel.cancelled().await;
    args.slot.set(None);
    relay.shutdown().await;
    Ok(())
}

/// LocalIngestMonitor: "receiving traffic" means media bytes arrived in the last few seconds,
/// not merely a connected socket. Tells the StreamStateServer on change only.
#[instrument(name = "LocalIngestMonitor", skip_all, fields(user_id = %args.user_id))]
pub async fn run_monitor(args: LocalIngestArgs, cancel: CancellationToken) -> ChildResult {
    let mut slot = args.slot.watch();
    let mut last: Option<InputStatus> = None;
    loop {
        let relay = slot.borrow_and_update().clone();
        match relay {
            None => {
                tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    r = slot.changed() => if r.is_err() { return Ok(()) },
                }
            }
            Some(relay) => {
                let mut ingest = relay.watch_ingest();
                loop {
                    let status = match *ingest.borrow_and_update() {
                        IngestState::Publishing { receiving: true } => InputStatus::ReceivingTraffic,
                        _ => InputStatus::NoTraffic,
                    };
                    if last != Some(status) {
                        last = Some(status);
                        info!(?status, "[LocalIngestMonitor:{}] input", args.user_id);
                        args.state.set_input(status).await?;
                    }
                    tokio::select! {
                        _ = cancel.cancelled() => return Ok(()),
                        r = ingest.changed() => if r.is_err() { break },
                        r = slot.changed() => {
                            if r.is_err() { return Ok(()) }
                            break;
                        }
                    }
                }
                warn!("[LocalIngestMonitor:{}] relay went away", args.user_id);
            }
        }
    }
}

/// Pending connections the kernel queues for the ingest before the relay accepts them. The
/// default (128) overflows when strangers open hundreds of sockets at once, and the kernel then
/// retransmits OBS's SYN only after 1, 3, 7 s; the relay's own admission control bounds what it
/// accepts.
const INGEST_BACKLOG: u32 = 1024;

fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket =
        if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    // Like std's and tokio's `bind`: a restarted engine rebinds at once (not on Windows, where
    // the option means something else).
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(INGEST_BACKLOG)
}
