//! CloudflareManager: makes sure the user's Live Input exists and knows the OBS ingest settings.
//!
//! The input's uid is remembered in the state file. On (re)start the stored uid is reused if the
//! API still has it; if the API says it is gone, an input named `streampai:<user>` is looked for
//! and reused, else a new one is created. A flaky API never leads to a duplicate input: only a
//! definite "not found" does.

use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{info, instrument, warn};

use super::api::{CloudflareClient, CloudflareError, CreateLiveInput, LiveInput};
use crate::actor::{self, ActorError, ChildResult, Mailbox};
use crate::secrets::Secret;
use crate::state_file::StateFile;

/// Where OBS streams to (Cloudflare backend).
#[derive(Clone, Debug, Serialize)]
pub struct IngestInfo {
    pub input_uid: String,
    pub rtmps_url: Option<String>,
    #[serde(skip)]
    pub rtmps_stream_key: Option<Secret>,
    pub srt_url: Option<String>,
    pub srt_stream_id: Option<String>,
}

impl IngestInfo {
    fn from_input(input: &LiveInput) -> Self {
        IngestInfo {
            input_uid: input.uid.clone(),
            rtmps_url: input.rtmps.as_ref().map(|r| r.url.clone()),
            rtmps_stream_key: input.rtmps.as_ref().map(|r| r.stream_key.clone()),
            srt_url: input.srt.as_ref().map(|s| s.url.clone()),
            srt_stream_id: input.srt.as_ref().map(|s| s.stream_id.clone()),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IngestError {
    #[error("Cloudflare is not configured (set cloudflare.account_id and the API token)")]
    NotConfigured,
    #[error("Cloudflare: {message}")]
    Cloudflare {
        message: String,
        /// What kind of failure, for the platforms' status.
        #[serde(skip)]
        kind: crate::failure::FailureKind,
        retryable: bool,
        #[serde(skip)]
        retry_after: Option<Duration>,
    },
    #[error(transparent)]
    Actor(#[from] ActorError),
}

impl From<CloudflareError> for IngestError {
    fn from(e: CloudflareError) -> Self {
        IngestError::Cloudflare {
            message: e.to_string(),
            kind: crate::failure::Failure::from(&e).kind,
            retryable: e.is_retryable(),
            retry_after: e.retry_after(),
        }
    }
}

impl IngestError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, IngestError::Cloudflare { retryable: true, .. } | IngestError::Actor(_))
    }
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            IngestError::Cloudflare { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct CloudflareManagerArgs {
    pub user_id: String,
    /// `None` when Cloudflare is not configured.
    pub client: Option<CloudflareClient>,
    pub state: StateFile,
}

pub enum Msg {
    Ensure(oneshot::Sender<Result<IngestInfo, IngestError>>),
    Cached(oneshot::Sender<Option<IngestInfo>>),
}

#[derive(Clone)]
pub struct CloudflareManagerHandle {
    tx: mpsc::Sender<Msg>,
}

/// Ensuring may take a few API calls, each with its own timeout.
const ENSURE_TIMEOUT: Duration = Duration::from_secs(60);

impl CloudflareManagerHandle {
    pub fn channel() -> (Self, Mailbox<Msg>) {
        let (tx, mb) = actor::mailbox(64);
        (CloudflareManagerHandle { tx }, mb)
    }
    /// The live input, created or found if needed.
    pub async fn ensure_input(&self) -> Result<IngestInfo, IngestError> {
        actor::call(&self.tx, Msg::Ensure, ENSURE_TIMEOUT).await?
    }
    /// The live input if it is already known (no API call).
    pub async fn cached(&self) -> Result<Option<IngestInfo>, ActorError> {
        actor::call(&self.tx, Msg::Cached, actor::CALL_TIMEOUT).await
    }
}

fn state_key(user: &str) -> String {
    format!("cloudflare.live_input.{user}")
}

fn input_name(user: &str) -> String {
    format!("streampai:{user}")
}

#[instrument(name = "CloudflareManager", skip_all, fields(user_id = %args.user_id))]
pub async fn run(
    args: CloudflareManagerArgs,
    mailbox: Mailbox<Msg>,
    cancel: CancellationToken,
) -> ChildResult {
    let mut rx = mailbox.lock().await;
    let mut cached: Option<IngestInfo> = None;
    loop {
        let msg = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            m = rx.recv() => match m { Some(m) => m, None => return Ok(()) },
        };
        match msg {
            Msg::Cached(reply) => {
                let _ = reply.send(cached.clone());
            }
            Msg::Ensure(reply) => {
                let res = match &cached {
                    Some(info) => Ok(info.clone()),
                    None => tokio::select! {
                        _ = cancel.cancelled() => return Ok(()),
                        r = ensure(&args) => r,
                    },
                };
                if let Ok(info) = &res {
                    cached = Some(info.clone());
                }
                let _ = reply.send(res);
            }
        }
    }
}

async fn ensure(args: &CloudflareManagerArgs) -> Result<IngestInfo, IngestError> {
    let client = args.client.as_ref().ok_or(IngestError::NotConfigured)?;
    let user = &args.user_id;
    let key = state_key(user);
    if let Some(uid) = args.state.get(&key) {
        match client.get_live_input(&uid).await {
            Ok(input) => {
                info!("[CloudflareManager:{user}] reusing live input {uid}");
                return Ok(IngestInfo::from_input(&input));
            }
            Err(CloudflareError::NotFound) => {
                warn!("[CloudflareManager:{user}] stored live input {uid} no longer exists");
            }
            Err(e) => return Err(e.into()),
        }
    }
    let name = input_name(user);
    let existing = client
        .list_live_inputs()
        .await?
        .into_iter()
        .find(|i| i.meta.get("name").and_then(|n| n.as_str()) == Some(name.as_str()));
    let input = match existing {
        Some(summary) => {
            info!("[CloudflareManager:{user}] found live input {} by name", summary.uid);
            // List results may omit the ingest credentials; fetch the full input.
            client.get_live_input(&summary.uid).await?
        }
        None => {
            let input = client.create_live_input(&CreateLiveInput::named(&name)).await?;
            info!("[CloudflareManager:{user}] created live input {}", input.uid);
            input
        }
    };
    if let Err(e) = args.state.set(&key, Some(&input.uid)) {
        warn!(cause = %e, "cannot remember the live input uid");
    }
    Ok(IngestInfo::from_input(&input))
}
