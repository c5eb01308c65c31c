//! An in-process obs-websocket 5 server for the error paths real OBS cannot produce on demand
//! (malformed frames, slow answers, a foreign RPC version, a peer that never greets). Everything
//! else is tested against real OBS Studio (`tests/obs_*.rs`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use super::protocol;

/// How the fake greets.
#[derive(Clone, Debug)]
pub enum Greet {
    /// A proper Hello.
    Hello,
    /// Nothing at all (an obs-websocket 4.x plugin waits for requests).
    Silent,
    /// This text instead of a Hello.
    Raw(String),
}

#[derive(Clone, Debug)]
pub struct Behaviour {
    pub password: Option<String>,
    pub greet: Greet,
    /// The Hello's `rpcVersion`.
    pub rpc_version: u32,
    /// Refuse the Identify with close code 4010 (unsupported RPC version).
    pub refuse_rpc: bool,
    /// Wait this long before answering each request.
    pub answer_delay: Duration,
    /// Sent right after Identified (e.g. a malformed frame).
    pub after_identified: Option<String>,
    /// StartStream sends STARTING only; the test sends STARTED (`stream_event`) when it likes.
    pub hold_started: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            password: Some("fake-password".into()),
            greet: Greet::Hello,
            rpc_version: 1,
            refuse_rpc: false,
            answer_delay: Duration::ZERO,
            after_identified: None,
            hold_started: false,
        }
    }
}

/// OBS's state as the fake keeps it.
#[derive(Default)]
pub struct FakeState {
    pub streaming: AtomicBool,
    /// StartStream requests so far.
    pub starts: AtomicUsize,
    pub service: Mutex<Value>,
}

pub struct FakeObs {
    pub url: String,
    /// TCP connections accepted so far.
    pub connections: Arc<AtomicUsize>,
    /// Identified sessions so far.
    pub identified: Arc<AtomicUsize>,
    pub state: Arc<FakeState>,
    behaviour: Arc<Mutex<Behaviour>>,
    events: broadcast::Sender<String>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeObs {
    pub async fn start(b: Behaviour) -> FakeObs {
        Self::start_on(0, b).await
    }

    pub async fn start_on(port: u16, b: Behaviour) -> FakeObs {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind the fake OBS");
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let identified = Arc::new(AtomicUsize::new(0));
        let state = Arc::new(FakeState {
            streaming: AtomicBool::new(false),
            starts: AtomicUsize::new(0),
            service: Mutex::new(json!({
                "streamServiceType": "rtmp_common",
                "streamServiceSettings": {"service": "Twitch", "server": "auto", "key": "live_fake_key"}
            })),
        });
        let behaviour = Arc::new(Mutex::new(b));
        let (events, _) = broadcast::channel(64);
        let task = {
            let (connections, identified, state, behaviour, events) =
                (connections.clone(), identified.clone(), state.clone(), behaviour.clone(), events.clone());
            tokio::spawn(async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    connections.fetch_add(1, Ordering::SeqCst);
                    let b = behaviour.lock().unwrap().clone();
                    let (identified, state, events) = (identified.clone(), state.clone(), events.subscribe());
                    let live = behaviour.clone();
                    tokio::spawn(async move {
                        if let Ok(ws) = tokio_tungstenite::accept_async(tcp).await {
                            serve(ws, b, live, identified, state, events).await;
                        }
                    });
                }
            })
        };
        FakeObs {
            url: format!("ws://127.0.0.1:{port}"),
            connections,
            identified,
            state,
            behaviour,
            events,
            task,
        }
    }

    /// Change how new connections are served.
    pub fn set(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.behaviour.lock().unwrap());
    }

    /// Send a raw text frame to every identified connection.
    pub fn send(&self, text: &str) {
        let _ = self.events.send(text.to_string());
    }

    /// A `StreamStateChanged` event to every connection (and the fake's state follows).
    pub fn stream_event(&self, active: bool, state: &str) {
        self.state.streaming.store(active, Ordering::SeqCst);
        self.send(&stream_event(active, state));
    }

    /// Stop listening and drop every connection.
    pub fn stop(self) {
        self.task.abort();
        let _ = self.events.send(CLOSE_ALL.into());
    }
}

const CLOSE_ALL: &str = "\u{0}close";

fn stream_event(active: bool, state: &str) -> String {
    json!({"op": 5, "d": {"eventType": "StreamStateChanged", "eventIntent": 64,
        "eventData": {"outputActive": active, "outputState": state}}})
    .to_string()
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn serve(
    mut ws: Ws,
    b: Behaviour,
    live: Arc<Mutex<Behaviour>>,
    identified: Arc<AtomicUsize>,
    state: Arc<FakeState>,
    mut events: broadcast::Receiver<String>,
) {
    let (challenge, salt) = ("fake-challenge", "fake-salt");
    match &b.greet {
        Greet::Silent => {
            // Keep the socket open, say nothing.
            while let Some(Ok(_)) = ws.next().await {}
            return;
        }
        Greet::Raw(t) => {
            let _ = ws.send(Message::Text(t.clone().into())).await;
        }
        Greet::Hello => {
            let mut d = json!({"obsWebSocketVersion": "5.1.0", "rpcVersion": b.rpc_version});
            if b.password.is_some() {
                d["authentication"] = json!({"challenge": challenge, "salt": salt});
            }
            let _ = ws.send(Message::Text(json!({"op": 0, "d": d}).to_string().into())).await;
        }
    }
    // Identify.
    let identify = loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                break serde_json::from_str::<Value>(t.as_str()).unwrap_or(Value::Null)
            }
            Some(Ok(_)) => continue,
            _ => return,
        }
    };
    if b.refuse_rpc {
        let _ = ws
            .close(Some(CloseFrame { code: CloseCode::from(4010), reason: "unsupported rpc version".into() }))
            .await;
        return;
    }
    if let Some(pw) = &b.password {
        let expected = protocol::auth_response(
            pw,
            &protocol::Challenge { challenge: challenge.into(), salt: salt.into() },
        );
        if identify["d"]["authentication"].as_str() != Some(expected.as_str()) {
            let _ = ws
                .close(Some(CloseFrame {
                    code: CloseCode::from(4009),
                    reason: "Authentication failed.".into(),
                }))
                .await;
            return;
        }
    }
    let rpc = identify["d"]["rpcVersion"].as_u64().unwrap_or(0);
    let _ =
        ws.send(Message::Text(json!({"op": 2, "d": {"negotiatedRpcVersion": rpc}}).to_string().into())).await;
    identified.fetch_add(1, Ordering::SeqCst);
    if let Some(t) = &b.after_identified {
        let _ = ws.send(Message::Text(t.clone().into())).await;
    }
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(t) if t == CLOSE_ALL => return,
                Ok(t) => { if ws.send(Message::Text(t.into())).await.is_err() { return } }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return,
            },
            msg = ws.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                let req: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                let d = &req["d"];
                let ty = d["requestType"].as_str().unwrap_or_default().to_string();
                let id = d["requestId"].clone();
                let (delay, hold_started) = {
                    let now = live.lock().unwrap();
                    (now.answer_delay, now.hold_started)
                };
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let (ok, code, data, mut extra) = answer(&ty, &d["requestData"], &state);
                if hold_started && ty == "StartStream" {
                    state.streaming.store(false, Ordering::SeqCst);
                    extra.truncate(1);
                }
                let mut body = json!({"requestType": ty, "requestId": id,
                    "requestStatus": {"result": ok, "code": code}});
                if let Some(v) = data {
                    body["responseData"] = v;
                }
                if ws.send(Message::Text(json!({"op": 7, "d": body}).to_string().into())).await.is_err() {
                    return;
                }
                for e in extra {
                    let _ = ws.send(Message::Text(e.into())).await;
                }
            }
        }
    }
}

/// (result, code, responseData, events to send after the answer)
fn answer(ty: &str, data: &Value, state: &FakeState) -> (bool, u16, Option<Value>, Vec<String>) {
    if ty == "StartStream" {
        state.starts.fetch_add(1, Ordering::SeqCst);
    }
    let streaming = state.streaming.load(Ordering::SeqCst);
    match ty {
        "GetVersion" => (
            true,
            100,
            Some(json!({"obsVersion": "29.0.2", "obsWebSocketVersion": "5.1.0", "rpcVersion": 1})),
            vec![],
        ),
        "GetStreamStatus" => (
            true,
            100,
            Some(json!({"outputActive": streaming, "outputReconnecting": false, "outputCongestion": 0.0,
                "outputSkippedFrames": 0, "outputTotalFrames": if streaming { 30 } else { 0 }, "outputBytes": 0})),
            vec![],
        ),
        "GetStreamServiceSettings" => (true, 100, Some(state.service.lock().unwrap().clone()), vec![]),
        "SetStreamServiceSettings" => {
            *state.service.lock().unwrap() = data.clone();
            (true, 100, None, vec![])
        }
        "StartStream" if streaming => (false, 500, None, vec![]),
        "StartStream" => {
            state.streaming.store(true, Ordering::SeqCst);
            (
                true,
                100,
                None,
                vec![
                    stream_event(false, "OBS_WEBSOCKET_OUTPUT_STARTING"),
                    stream_event(true, "OBS_WEBSOCKET_OUTPUT_STARTED"),
                ],
            )
        }
        "StopStream" if !streaming => (false, 501, None, vec![]),
        "StopStream" => {
            state.streaming.store(false, Ordering::SeqCst);
            (
                true,
                100,
                None,
                vec![
                    stream_event(false, "OBS_WEBSOCKET_OUTPUT_STOPPING"),
                    stream_event(false, "OBS_WEBSOCKET_OUTPUT_STOPPED"),
                ],
            )
        }
        _ => (false, 204, None, vec![]),
    }
}
