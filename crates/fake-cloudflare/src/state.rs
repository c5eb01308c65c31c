//! The fake's in-memory state: tokens, live inputs and their outputs, faults, latency and
//! request counters, plus the test-control methods that drive it.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::faults::{Fault, FaultQueue, RouteKind};
use crate::render;

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    /// Valid, with Stream permission on the configured account.
    Full,
    /// Valid (verify says `active`) but without Stream permission: live-input calls get 403.
    WithoutStream,
}

/// How live input `status` is served (see SOURCE.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusForm {
    /// `{"current": {...}, "history": [...]}` or `null` (what the live API answers).
    #[default]
    Object,
    /// `"connected"`, `"client_disconnect"`, ... or `null` (what the schema declares).
    String,
}

/// Why a test-control call could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("no live input with uid {0:?}")]
    UnknownInput(String),
    #[error("no output with uid {0:?} on that live input")]
    UnknownOutput(String),
    #[error("live input {0:?} is disabled and rejects connections")]
    InputDisabled(String),
}

pub(crate) struct TokenInfo {
    pub id: String,
    pub scope: TokenScope,
}

#[derive(Clone, Debug)]
pub(crate) struct Recording {
    pub mode: String,
    pub timeout_seconds: i64,
    pub require_signed_urls: bool,
    pub allowed_origins: Vec<String>,
    pub hide_live_viewer_count: bool,
}

impl Default for Recording {
    fn default() -> Self {
        Recording {
            mode: "off".into(),
            timeout_seconds: 0,
            require_signed_urls: false,
            allowed_origins: Vec::new(),
            hide_live_viewer_count: false,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct InputKeys {
    pub rtmps: String,
    pub rtmps_playback: String,
    pub srt_passphrase: String,
    pub srt_playback_passphrase: String,
    pub webrtc: String,
}

impl InputKeys {
    pub fn generate() -> Self {
        InputKeys {
            rtmps: stream_key(),
            rtmps_playback: stream_key(),
            srt_passphrase: stream_key(),
            srt_playback_passphrase: stream_key(),
            webrtc: stream_key(),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct StatusEntry {
    pub state: String,
    pub reason: String,
    pub ingest_protocol: String,
    pub entered_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub(crate) struct Connection {
    pub current: StatusEntry,
    /// Earlier states, most recent first.
    pub history: Vec<StatusEntry>,
}

impl Connection {
    pub fn is_connected(&self) -> bool {
        self.current.state == "connected"
    }
}

#[derive(Clone, Debug)]
pub(crate) struct OutputRecord {
    pub uid: String,
    pub url: String,
    pub stream_key: String,
    pub enabled: bool,
    pub changed_at: DateTime<Utc>,
    pub forced_state: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct InputRecord {
    pub uid: String,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub meta: Map<String, Value>,
    pub recording: Recording,
    pub delete_recording_after_days: Option<f64>,
    pub default_creator: Option<String>,
    pub enabled: bool,
    pub prefer_low_latency: bool,
    pub keys: InputKeys,
    pub keys_rotated_at: Option<DateTime<Utc>>,
    pub connection: Option<Connection>,
    pub outputs: Vec<OutputRecord>,
}

/// Everything behind the one lock. The lock is never held across an `.await`.
pub(crate) struct Store {
    pub tokens: HashMap<String, TokenInfo>,
    pub inputs: Vec<InputRecord>,
    pub faults: FaultQueue,
    pub latency: Duration,
    pub status_form: StatusForm,
    pub total_requests: u64,
    pub by_route: BTreeMap<String, u64>,
}

pub(crate) struct Shared {
    pub account_id: String,
    pub token: String,
    pub customer_code: String,
    pub store: Mutex<Store>,
}

/// The fake's shared state; cheap to clone. Both the HTTP routes and the test-control methods
/// work on it.
#[derive(Clone)]
pub struct FakeState(pub(crate) Arc<Shared>);

impl std::fmt::Debug for FakeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeState").field("account_id", &self.0.account_id).finish_non_exhaustive()
    }
}

/// A live input as tests see it.
#[derive(Clone, Debug, Serialize)]
pub struct LiveInputSnapshot {
    pub uid: String,
    pub meta: Value,
    /// `defaultCreator` as last sent (not part of the response schema, so not served).
    pub default_creator: Option<String>,
    pub enabled: bool,
    pub connected: bool,
    /// The status in object form, as the API would serve it.
    pub status: Value,
    pub rtmps_stream_key: String,
    pub srt_passphrase: String,
    pub outputs: Vec<OutputSnapshot>,
}

/// An output as tests see it.
#[derive(Clone, Debug, Serialize)]
pub struct OutputSnapshot {
    pub uid: String,
    pub url: String,
    pub stream_key: String,
    pub enabled: bool,
    /// `current.state` as served: `connected`, `disconnected`, a forced state, or `None`.
    pub state: Option<String>,
}

impl FakeState {
    pub fn new(account_id: impl Into<String>, token: impl Into<String>) -> Self {
        let token = token.into();
        let mut tokens = HashMap::new();
        tokens.insert(token.clone(), TokenInfo { id: hex_id(), scope: TokenScope::Full });
        FakeState(Arc::new(Shared {
            account_id: account_id.into(),
            token,
            customer_code: customer_code(),
            store: Mutex::new(Store {
                tokens,
                inputs: Vec::new(),
                faults: FaultQueue::default(),
                latency: Duration::ZERO,
                status_form: StatusForm::default(),
                total_requests: 0,
                by_route: BTreeMap::new(),
            }),
        }))
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave the store half-updated in a way that
        // matters to a fake, so a poisoned lock is simply taken over.
        self.0.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn account_id(&self) -> &str {
        &self.0.account_id
    }

    /// The token configured at start (full Stream permission).
    pub fn token(&self) -> &str {
        &self.0.token
    }

    /// Adds (or changes) a token.
    pub fn add_token(&self, token: impl Into<String>, scope: TokenScope) {
        let mut store = self.store();
        let entry = store.tokens.entry(token.into()).or_insert(TokenInfo { id: hex_id(), scope });
        entry.scope = scope;
    }

    pub fn set_status_form(&self, form: StatusForm) {
        self.store().status_form = form;
    }

    /// Marks an input as receiving (`connected`) or not (`disconnected`, reason
    /// `client_disconnect`), over RTMP. The previous state moves to the history.
    pub fn set_connected(&self, uid: &str, connected: bool) -> Result<(), ControlError> {
        self.set_connected_via(uid, connected, "rtmp")
    }

    /// [`FakeState::set_connected`] with the ingest protocol (`rtmp`, `srt`, `webrtc`).
    pub fn set_connected_via(&self, uid: &str, connected: bool, protocol: &str) -> Result<(), ControlError> {
        let mut store = self.store();
        let input = find_input(&mut store, uid)?;
        if connected && !input.enabled {
            return Err(ControlError::InputDisabled(uid.to_string()));
        }
        let now = Utc::now();
        let (state, reason) =
            if connected { ("connected", "connected") } else { ("disconnected", "client_disconnect") };
        let entry = StatusEntry {
            state: state.into(),
            reason: reason.into(),
            ingest_protocol: protocol.into(),
            entered_at: now,
            last_seen: now,
        };
        match &mut input.connection {
            Some(conn) => {
                let previous = std::mem::replace(&mut conn.current, entry);
                conn.history.insert(0, previous);
                conn.history.truncate(20);
            }
            None => input.connection = Some(Connection { current: entry, history: Vec::new() }),
        }
        Ok(())
    }

    /// Forces an output's `status.current.state` (e.g. `"error"`); `None` returns it to the
    /// state derived from its input.
    pub fn set_output_state(
        &self,
        input_uid: &str,
        output_uid: &str,
        state: Option<&str>,
    ) -> Result<(), ControlError> {
        let mut store = self.store();
        let input = find_input(&mut store, input_uid)?;
        let output = input
            .outputs
            .iter_mut()
            .find(|o| o.uid == output_uid)
            .ok_or_else(|| ControlError::UnknownOutput(output_uid.to_string()))?;
        output.forced_state = state.map(str::to_string);
        output.changed_at = Utc::now();
        Ok(())
    }

    pub fn live_inputs(&self) -> Vec<LiveInputSnapshot> {
        self.store().inputs.iter().map(snapshot).collect()
    }

    pub fn live_input(&self, uid: &str) -> Option<LiveInputSnapshot> {
        self.store().inputs.iter().find(|i| i.uid == uid).map(snapshot)
    }

    /// The outputs of an input (empty if there is no such input).
    pub fn outputs(&self, input_uid: &str) -> Vec<OutputSnapshot> {
        self.live_input(input_uid).map(|i| i.outputs).unwrap_or_default()
    }

    /// Queues a fault for the next API request.
    pub fn inject(&self, fault: Fault) {
        self.inject_n(fault, 1);
    }

    /// Queues a fault for each of the next `n` API requests.
    pub fn inject_n(&self, fault: Fault, n: usize) {
        self.store().faults.push(fault, n, None);
    }

    /// Queues a fault for each of the next `n` requests of one kind; other requests pass.
    pub fn inject_for(&self, route: RouteKind, fault: Fault, n: usize) {
        self.store().faults.push(fault, n, Some(route));
    }

    pub fn pending_faults(&self) -> usize {
        self.store().faults.len()
    }

    pub fn clear_faults(&self) {
        self.store().faults.clear();
    }

    /// Delay added to every API request. Concurrent requests wait concurrently.
    pub fn set_latency(&self, latency: Duration) {
        self.store().latency = latency;
    }

    /// API requests received (test-control routes are not counted).
    pub fn request_count(&self) -> u64 {
        self.store().total_requests
    }

    pub fn request_count_for(&self, route: RouteKind) -> u64 {
        self.store().by_route.get(&route.key()).copied().unwrap_or(0)
    }

    /// Requests per `"METHOD /template"`.
    pub fn requests_by_route(&self) -> BTreeMap<String, u64> {
        self.store().by_route.clone()
    }

    /// Forgets inputs, outputs, faults, latency and counters; tokens stay.
    pub fn reset(&self) {
        let mut store = self.store();
        store.inputs.clear();
        store.faults.clear();
        store.latency = Duration::ZERO;
        store.total_requests = 0;
        store.by_route.clear();
    }

    pub(crate) fn customer_code(&self) -> &str {
        &self.0.customer_code
    }
}

fn find_input<'a>(store: &'a mut Store, uid: &str) -> Result<&'a mut InputRecord, ControlError> {
    store.inputs.iter_mut().find(|i| i.uid == uid).ok_or_else(|| ControlError::UnknownInput(uid.to_string()))
}

fn snapshot(input: &InputRecord) -> LiveInputSnapshot {
    LiveInputSnapshot {
        uid: input.uid.clone(),
        meta: Value::Object(input.meta.clone()),
        default_creator: input.default_creator.clone(),
        enabled: input.enabled,
        connected: input.connection.as_ref().is_some_and(Connection::is_connected),
        status: render::input_status(input, StatusForm::Object),
        rtmps_stream_key: input.keys.rtmps.clone(),
        srt_passphrase: input.keys.srt_passphrase.clone(),
        outputs: input
            .outputs
            .iter()
            .map(|o| OutputSnapshot {
                uid: o.uid.clone(),
                url: o.url.clone(),
                stream_key: o.stream_key.clone(),
                enabled: o.enabled,
                state: render::output_state(input, o).map(|(s, _)| s),
            })
            .collect(),
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// 32 lowercase hex characters, like Cloudflare uids.
pub(crate) fn hex_id() -> String {
    hex(&rand::random::<[u8; 16]>())
}

/// A stream key in Cloudflare's shape: 32 hex, `k`, 32 hex.
pub(crate) fn stream_key() -> String {
    format!("{}k{}", hex_id(), hex_id())
}

/// 16 lowercase alphanumerics, like the `customer-<code>` part of Stream hostnames.
fn customer_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    rand::random::<[u8; 16]>().iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}
