//! Shared helpers: a server on 127.0.0.1:0 and a protocol-speaking test client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use streampai_sync::protocol::{decode_server, ServerMsg};
use streampai_sync::server::{self, RunningServer, ServerConfig};
use streampai_sync::users::Users;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const ALICE: &str = "alice-token-0123456789";
pub const BOB: &str = "bob-token-9876543210";

pub fn init_tracing() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt().with_env_filter("debug").with_test_writer().try_init();
    }
}

pub fn users() -> Users {
    Users::from_tokens([("alice", ALICE), ("bob", BOB)])
}

/// Short heartbeats so timeouts show within a test.
pub fn fast_config() -> ServerConfig {
    ServerConfig {
        heartbeat_interval: Duration::from_millis(100),
        heartbeat_timeout: Duration::from_millis(400),
        hello_timeout: Duration::from_millis(500),
        ..ServerConfig::default()
    }
}

pub async fn start(cfg: ServerConfig) -> RunningServer {
    init_tracing();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    server::start(l, cfg, users(), None, None).await.unwrap()
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

pub const WAIT: Duration = Duration::from_secs(10);

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/sync")).await.unwrap();
        Client { ws }
    }

    pub async fn send(&mut self, v: Value) {
        self.ws.send(Message::Text(v.to_string().into())).await.unwrap();
    }

    pub async fn send_raw(&mut self, m: Message) {
        let _ = self.ws.send(m).await;
    }

    /// Connect and say hello; returns the client after its `welcome`.
    pub async fn hello(addr: SocketAddr, token: &str, device_id: &str, role: &str) -> (Client, ServerMsg) {
        let mut c = Client::connect(addr).await;
        c.send(json!({"type": "hello", "version": 1, "token": token, "device_id": device_id,
            "device_name": device_id.to_uppercase(), "role": role}))
            .await;
        let w = c.next().await;
        assert!(matches!(w, ServerMsg::Welcome { .. }), "{w:?}");
        (c, w)
    }

    /// The next protocol message (pongs skipped), or panic after WAIT.
    pub async fn next(&mut self) -> ServerMsg {
        loop {
            let m = tokio::time::timeout(WAIT, self.ws.next()).await.expect("a frame in time");
            match m {
                Some(Ok(Message::Text(t))) => {
                    let msg = decode_server(t.as_bytes(), 1 << 20).unwrap();
                    if !matches!(msg, ServerMsg::Pong { .. }) {
                        return msg;
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("expected a frame, got {other:?}"),
            }
        }
    }

    /// Skip messages until one matches.
    pub async fn until(&mut self, mut pred: impl FnMut(&ServerMsg) -> bool) -> ServerMsg {
        loop {
            let m = self.next().await;
            if pred(&m) {
                return m;
            }
        }
    }

    /// Read until the close frame; returns (code, reason) and the messages before it.
    pub async fn closed(&mut self) -> (u16, String, Vec<ServerMsg>) {
        let mut seen = vec![];
        loop {
            let m = tokio::time::timeout(WAIT, self.ws.next()).await.expect("a close in time");
            match m {
                Some(Ok(Message::Text(t))) => seen.push(decode_server(t.as_bytes(), 1 << 20).unwrap()),
                Some(Ok(Message::Close(Some(f)))) => return (f.code.into(), f.reason.to_string(), seen),
                Some(Ok(Message::Close(None))) | None => return (0, String::new(), seen),
                Some(Ok(_)) => {}
                Some(Err(e)) => return (0, e.to_string(), seen),
            }
        }
    }

    pub async fn ping(&mut self, seq: u64) {
        self.send(json!({"type": "ping", "seq": seq})).await;
    }
}

/// Device ids present in a presence map.
pub fn ids(p: &streampai_sync::protocol::Presences) -> Vec<String> {
    p.keys().cloned().collect()
}
