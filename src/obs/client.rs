//! A thin obs-websocket v5 client over `tokio-tungstenite`: connect + handshake, requests with a
//! timeout, events. One task owns the socket; [`ObsClient`] (cheap to clone) sends requests to
//! it, and the session's event channel ends with the reason the link ended.
//!
//! Why not `obws`: 0.15 needs Rust 1.89 (the workspace promises 1.85), brings a second WebSocket
//! stack (`tokio-websockets`) and ~20 crates, logs a warning on every connection attempt once its
//! version checks are skipped (which OBS 29 needs), parses events against the 5.5 schema, and has
//! no request timeouts. The subset the app needs is six message types (`protocol.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use super::protocol::{self, Incoming, ObsEvent, StreamService, StreamStatus, Version};
use crate::secrets::Secret;
use crate::telemetry::esc;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Largest message accepted from OBS (its biggest answer, GetVersion's request list, is a few KB).
const MAX_MESSAGE: usize = 1 << 20;
/// Requests waiting for an answer at once; more is a peer that stopped answering.
const MAX_PENDING: usize = 64;
/// Events buffered for the connection's owner.
const EVENT_BUFFER: usize = 256;

/// Why a connection failed or ended. Never holds the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObsError {
    /// Nothing answers at the address (OBS closed, or its WebSocket server off).
    #[error("{0}")]
    Unreachable(String),
    /// OBS refused the password (or asks for one and none is set).
    #[error("{0}")]
    AuthFailed(String),
    /// Something answers, but not obs-websocket 5 (an old 4.x plugin, another server).
    #[error("{0}")]
    Incompatible(String),
    /// OBS sent something that is not its protocol.
    #[error("{0}")]
    Protocol(String),
    /// No answer in time.
    #[error("OBS did not answer {0} in time")]
    Timeout(String),
    /// The link ended (OBS closed, or the connection dropped).
    #[error("{0}")]
    Lost(String),
    /// OBS answered a request with an error.
    #[error("OBS refused {request}: {comment} (code {code})")]
    Refused { request: String, code: u16, comment: String },
}

impl ObsError {
    /// The OBS request status for "the output is already running" / "is not running".
    pub fn is_output_running(&self) -> bool {
        matches!(self, ObsError::Refused { code: 500, .. })
    }
    pub fn is_output_not_running(&self) -> bool {
        matches!(self, ObsError::Refused { code: 501, .. })
    }
}

/// Where and how to connect.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub url: String,
    pub password: Option<Secret>,
    /// TCP + WebSocket upgrade, and each handshake message.
    pub connect_timeout: Duration,
    /// Each request's answer.
    pub request_timeout: Duration,
}

impl ConnectOptions {
    pub fn new(url: &str, password: Option<Secret>) -> Self {
        ConnectOptions {
            url: url.to_string(),
            password,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// Where a request's answer goes.
type Reply = oneshot::Sender<Result<Value, ObsError>>;

/// A request to the socket's task.
struct Cmd {
    request_type: &'static str,
    data: Option<Value>,
    reply: Reply,
}

/// Sends requests over one live connection. Cheap to clone; fails with [`ObsError::Lost`] once
/// the connection is gone.
#[derive(Clone)]
pub struct ObsClient {
    tx: mpsc::Sender<Cmd>,
    timeout: Duration,
    version: Arc<Version>,
}

impl ObsClient {
    /// OBS's versions, read at connect.
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// Send `request_type` with optional data; the answer's `responseData` (or `null`).
    pub async fn request(&self, request_type: &'static str, data: Option<Value>) -> Result<Value, ObsError> {
        let (reply, rx) = oneshot::channel();
        let lost = || ObsError::Lost("the connection to OBS is closed".into());
        let work = async {
            self.tx.send(Cmd { request_type, data, reply }).await.map_err(|_| lost())?;
            rx.await.map_err(|_| lost())?
        };
        tokio::time::timeout(self.timeout, work).await.map_err(|_| {
            ObsError::Timeout(format!("{request_type} within {} s", self.timeout.as_secs_f32()))
        })?
    }

    pub async fn stream_status(&self) -> Result<StreamStatus, ObsError> {
        let v = self.request("GetStreamStatus", None).await?;
        decode("GetStreamStatus", v)
    }

    pub async fn stream_service(&self) -> Result<StreamService, ObsError> {
        let v = self.request("GetStreamServiceSettings", None).await?;
        decode("GetStreamServiceSettings", v)
    }

    pub async fn set_stream_service(&self, service: &StreamService) -> Result<(), ObsError> {
        let data = serde_json::to_value(service).map_err(|e| ObsError::Protocol(e.to_string()))?;
        self.request("SetStreamServiceSettings", Some(data)).await.map(|_| ())
    }

    pub async fn start_stream(&self) -> Result<(), ObsError> {
        self.request("StartStream", None).await.map(|_| ())
    }

    pub async fn stop_stream(&self) -> Result<(), ObsError> {
        self.request("StopStream", None).await.map(|_| ())
    }
}

fn decode<T: serde::de::DeserializeOwned>(what: &str, v: Value) -> Result<T, ObsError> {
    serde_json::from_value(v)
        .map_err(|e| ObsError::Protocol(format!("OBS's answer to {what} is malformed: {e}")))
}

/// What the peer said in its greeting.
#[derive(Clone, Debug)]
pub struct Greeting {
    pub websocket_version: String,
    /// The server asks for a password.
    pub auth_required: bool,
}

/// One live connection: requests through `client`; `events` yields OBS's events and, last, the
/// reason the link ended (then `None`).
pub struct Session {
    pub client: ObsClient,
    pub events: mpsc::Receiver<Result<ObsEvent, ObsError>>,
    pub greeting: Greeting,
    close: CancellationToken,
}

impl Session {
    /// Close the connection (a WebSocket close frame, then the socket).
    pub fn close(&self) {
        self.close.cancel();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.close.cancel();
    }
}

/// Connect, greet and identify, read OBS's version: a live [`Session`], or why not.
pub async fn connect(opts: &ConnectOptions) -> Result<Session, ObsError> {
    let mut cfg = WebSocketConfig::default();
    cfg.max_message_size = Some(MAX_MESSAGE);
    cfg.max_frame_size = Some(MAX_MESSAGE);
    let url = esc(&opts.url).to_string();
    let fut = tokio_tungstenite::connect_async_with_config(opts.url.as_str(), Some(cfg), true);
    let mut ws = match tokio::time::timeout(opts.connect_timeout, fut).await {
        Ok(Ok((ws, _))) => ws,
        Ok(Err(e)) => return Err(connect_error(&url, &e)),
        Err(_) => {
            return Err(ObsError::Unreachable(format!(
                "nothing answered at {url} within {} s",
                opts.connect_timeout.as_secs_f32()
            )))
        }
    };
    let hello = match next_incoming(&mut ws, opts.connect_timeout, "its greeting (Hello)").await {
        Ok(Incoming::Hello(h)) => h,
        Ok(Incoming::Other(op)) => {
            return Err(ObsError::Incompatible(format!(
                "{url} did not greet like obs-websocket 5 (OBS 28 or newer): it sent op {op} first"
            )))
        }
        Ok(_) => {
            return Err(ObsError::Incompatible(format!(
                "{url} did not greet like obs-websocket 5 (OBS 28 or newer)"
            )))
        }
        Err(ObsError::Timeout(_)) => {
            return Err(ObsError::Incompatible(format!(
                "{url} accepted a WebSocket but sent no obs-websocket 5 greeting (an obs-websocket 4.x \
                 plugin? OBS 28 or newer has version 5 built in)"
            )))
        }
        Err(ObsError::Protocol(p)) => return Err(ObsError::Incompatible(format!("{url}: {p}"))),
        Err(e) => return Err(e),
    };
    if hello.rpc_version < protocol::RPC_VERSION {
        return Err(ObsError::Incompatible(format!(
            "obs-websocket {} speaks RPC version {}; the app needs {}",
            esc(&hello.obs_web_socket_version),
            hello.rpc_version,
            protocol::RPC_VERSION
        )));
    }
    let greeting = Greeting {
        websocket_version: hello.obs_web_socket_version.chars().take(32).collect(),
        auth_required: hello.authentication.is_some(),
    };
    let auth = match (&hello.authentication, &opts.password) {
        (Some(_), None) => {
            let _ = ws.close(None).await;
            return Err(ObsError::AuthFailed(
                "OBS asks for its WebSocket password: enter it (OBS: Tools › WebSocket Server Settings › Show Connect Info)"
                    .into(),
            ));
        }
        (Some(c), Some(p)) => Some(protocol::auth_response(p.expose(), c)),
        (None, _) => None,
    };
    let identify = protocol::identify(auth, protocol::SUBSCRIBE_GENERAL | protocol::SUBSCRIBE_OUTPUTS);
    ws.send(Message::Text(identify.into())).await.map_err(|e| lost_words(&e))?;
    match next_incoming(&mut ws, opts.connect_timeout, "the identification (Identified)").await? {
        Incoming::Identified(i) if i.negotiated_rpc_version == protocol::RPC_VERSION => {}
        Incoming::Identified(i) => {
            return Err(ObsError::Incompatible(format!(
                "OBS negotiated RPC version {}; the app speaks {}",
                i.negotiated_rpc_version,
                protocol::RPC_VERSION
            )))
        }
        _ => return Err(ObsError::Protocol("OBS answered the identification with another message".into())),
    }
    let close = CancellationToken::new();
    let (tx, rx) = mpsc::channel(16);
    let (ev_tx, events) = mpsc::channel(EVENT_BUFFER);
    tokio::spawn(io_task(ws, rx, ev_tx, close.clone()));
    let mut client = ObsClient {
        tx,
        timeout: opts.request_timeout,
        version: Arc::new(Version {
            obs_version: String::new(),
            obs_web_socket_version: greeting.websocket_version.clone(),
            rpc_version: protocol::RPC_VERSION,
        }),
    };
    let version: Version = match client.request("GetVersion", None).await {
        Ok(v) => decode("GetVersion", v)?,
        Err(e) => {
            close.cancel();
            return Err(e);
        }
    };
    client.version = Arc::new(Version {
        obs_version: version.obs_version.chars().take(32).collect(),
        obs_web_socket_version: version.obs_web_socket_version.chars().take(32).collect(),
        rpc_version: version.rpc_version,
    });
    Ok(Session { client, events, greeting, close })
}

/// The next protocol message during the handshake (pings are answered by tungstenite).
async fn next_incoming(ws: &mut Ws, timeout: Duration, what: &str) -> Result<Incoming, ObsError> {
    let read = async {
        loop {
            match ws.next().await {
                None => return Err(ObsError::Lost(format!("OBS closed the connection before {what}"))),
                Some(Err(e)) => return Err(lost_words(&e)),
                Some(Ok(Message::Text(t))) => {
                    return protocol::parse(t.as_str()).map_err(|m| ObsError::Protocol(m.0));
                }
                Some(Ok(Message::Close(frame))) => return Err(closed(frame.as_ref())),
                Some(Ok(Message::Binary(_))) => {
                    return Err(ObsError::Protocol(
                        "a binary frame where obs-websocket sends JSON text".into(),
                    ))
                }
                Some(Ok(_)) => continue,
            }
        }
    };
    tokio::time::timeout(timeout, read).await.map_err(|_| ObsError::Timeout(what.to_string()))?
}

/// A close frame in words, by obs-websocket's close codes.
fn closed(frame: Option<&CloseFrame>) -> ObsError {
    let code = frame.map(|f| u16::from(f.code));
    let reason = frame.map(|f| esc(f.reason.as_str()).to_string().chars().take(200).collect::<String>());
    match code {
        Some(protocol::CLOSE_AUTHENTICATION_FAILED) => ObsError::AuthFailed(
            "OBS refused the password: check it in OBS (Tools › WebSocket Server Settings) and enter it again"
                .into(),
        ),
        Some(protocol::CLOSE_UNSUPPORTED_RPC_VERSION) => ObsError::Incompatible(format!(
            "OBS does not speak the app's RPC version {} ({})",
            protocol::RPC_VERSION,
            reason.unwrap_or_default()
        )),
        Some(c) => ObsError::Lost(match reason.filter(|r| !r.is_empty()) {
            Some(r) => format!("OBS closed the connection (code {c}: {r})"),
            None => format!("OBS closed the connection (code {c})"),
        }),
        None => ObsError::Lost("OBS closed the connection".into()),
    }
}

fn connect_error(url: &str, e: &tokio_tungstenite::tungstenite::Error) -> ObsError {
    use tokio_tungstenite::tungstenite::Error as E;
    match e {
        E::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => ObsError::Unreachable(format!(
            "nothing listens at {url}: is OBS open with its WebSocket server on (Tools › WebSocket Server Settings)?"
        )),
        E::Io(io) => ObsError::Unreachable(format!("cannot reach OBS at {url}: {io}")),
        E::Tls(t) => ObsError::Unreachable(format!("TLS with {url} failed: {t}")),
        E::Http(r) => ObsError::Incompatible(format!(
            "{url} answered HTTP {} instead of a WebSocket: not OBS's WebSocket server",
            r.status()
        )),
        E::Url(u) => ObsError::Unreachable(format!("bad OBS address {url}: {u}")),
        other => ObsError::Unreachable(format!("cannot connect to OBS at {url}: {other}")),
    }
}

fn lost_words(e: &tokio_tungstenite::tungstenite::Error) -> ObsError {
    use tokio_tungstenite::tungstenite::Error as E;
    match e {
        E::Capacity(c) => ObsError::Protocol(format!("OBS sent a message over the limit: {c}")),
        E::Protocol(tokio_tungstenite::tungstenite::error::ProtocolError::ResetWithoutClosingHandshake) => {
            ObsError::Lost("OBS went away without closing the connection (closed or crashed)".into())
        }
        E::Protocol(p) => ObsError::Protocol(format!("OBS broke the WebSocket protocol: {p}")),
        E::Utf8 => ObsError::Protocol("OBS sent text that is not UTF-8".into()),
        E::Io(io) => ObsError::Lost(format!("the connection to OBS dropped: {io}")),
        other => ObsError::Lost(format!("the connection to OBS dropped: {other}")),
    }
}

/// Owns the socket: requests out, answers to their callers, events to the owner. Ends on a
/// close, an error, a malformed frame or `close`; the last event is the reason.
async fn io_task(
    mut ws: Ws,
    mut cmds: mpsc::Receiver<Cmd>,
    events: mpsc::Sender<Result<ObsEvent, ObsError>>,
    close: CancellationToken,
) {
    let ids = AtomicU64::new(1);
    let mut pending: HashMap<String, (&'static str, Reply)> = HashMap::new();
    let end = loop {
        tokio::select! {
            _ = close.cancelled() => {
                let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(Some(CloseFrame {
                    code: CloseCode::Normal,
                    reason: "".into(),
                }))).await;
                break ObsError::Lost("the app closed the connection".into());
            }
            cmd = cmds.recv() => {
                let Some(cmd) = cmd else {
                    let _ = ws.close(None).await;
                    break ObsError::Lost("the app closed the connection".into());
                };
                pending.retain(|_, (_, r)| !r.is_closed());
                if pending.len() >= MAX_PENDING {
                    let _ = cmd.reply.send(Err(ObsError::Timeout(format!(
                        "{} ({MAX_PENDING} requests waiting)", cmd.request_type
                    ))));
                    continue;
                }
                let id = ids.fetch_add(1, Ordering::Relaxed).to_string();
                let text = protocol::request(cmd.request_type, &id, cmd.data.as_ref());
                if let Err(e) = ws.send(Message::Text(text.into())).await {
                    let err = lost_words(&e);
                    let _ = cmd.reply.send(Err(err.clone()));
                    break err;
                }
                pending.insert(id, (cmd.request_type, cmd.reply));
            }
            frame = ws.next() => {
                let text = match frame {
                    None => break ObsError::Lost("OBS closed the connection".into()),
                    Some(Err(e)) => break lost_words(&e),
                    Some(Ok(Message::Close(f))) => break closed(f.as_ref()),
                    Some(Ok(Message::Binary(_))) => {
                        break ObsError::Protocol("a binary frame where obs-websocket sends JSON text".into())
                    }
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(_)) => continue,
                };
                match protocol::parse(text.as_str()) {
                    Err(m) => break ObsError::Protocol(format!("OBS sent {}", m.0)),
                    Ok(Incoming::Response(r)) => {
                        let Some((request_type, reply)) = pending.remove(&r.request_id) else { continue };
                        let answer = if r.request_status.result {
                            Ok(r.response_data.unwrap_or(Value::Null))
                        } else {
                            Err(ObsError::Refused {
                                request: request_type.to_string(),
                                code: r.request_status.code,
                                comment: r
                                    .request_status
                                    .comment
                                    .map(|c| esc(&c).to_string().chars().take(200).collect())
                                    .unwrap_or_else(|| "no reason given".into()),
                            })
                        };
                        let _ = reply.send(answer);
                    }
                    Ok(Incoming::Event(raw)) => match ObsEvent::from_raw(raw) {
                        Ok(ev) => {
                            if events.try_send(Ok(ev)).is_err() {
                                break ObsError::Protocol(format!(
                                    "more than {EVENT_BUFFER} OBS events waiting: the link is reset"
                                ));
                            }
                        }
                        Err(m) => break ObsError::Protocol(format!("OBS sent {}", m.0)),
                    },
                    Ok(_) => continue,
                }
            }
        }
    };
    for (_, (_, reply)) in pending.drain() {
        let _ = reply.send(Err(end.clone()));
    }
    // Best effort: the owner may be gone already.
    let _ = tokio::time::timeout(Duration::from_secs(1), events.send(Err(end))).await;
}
