//! Shared helpers: a server on 127.0.0.1:0 and a protocol-speaking test client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
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
        Client::hello_v(addr, token, device_id, role, 1).await
    }

    /// [`Client::hello`] offering protocol `version`.
    pub async fn hello_v(
        addr: SocketAddr,
        token: &str,
        device_id: &str,
        role: &str,
        version: u32,
    ) -> (Client, ServerMsg) {
        let mut c = Client::connect(addr).await;
        c.send(json!({"type": "hello", "version": version, "token": token, "device_id": device_id,
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

    /// Ping, and return every message that came before its pong (what the server had queued).
    pub async fn drain(&mut self, seq: u64) -> Vec<ServerMsg> {
        self.ping(seq).await;
        let mut seen = vec![];
        loop {
            let m = tokio::time::timeout(WAIT, self.ws.next()).await.expect("a frame in time");
            match m {
                Some(Ok(Message::Text(t))) => match decode_server(t.as_bytes(), 1 << 20).unwrap() {
                    ServerMsg::Pong { seq: s } if s == seq => return seen,
                    ServerMsg::Pong { .. } => {}
                    other => seen.push(other),
                },
                Some(Ok(_)) => {}
                other => panic!("expected a frame, got {other:?}"),
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

/// A private redis-server on a free loopback port, killed on drop.
pub struct Redis {
    child: Child,
    pub url: String,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    /// Send one inline command; returns the first line of the reply.
    pub async fn command(&self, cmd: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        s.write_all(format!("{cmd}\r\n").as_bytes()).await.unwrap();
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or_default().to_string()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn redis() -> Redis {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server is not installed: run scripts/sync-deps.sh");
    let url = format!("redis://127.0.0.1:{port}/");
    let r = Redis { child, url, port, _dir: dir };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let _ = s.write_all(b"PING\r\n").await;
            let mut buf = [0u8; 16];
            if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await {
                if buf[..n].starts_with(b"+PONG") {
                    return r;
                }
            }
        }
        assert!(std::time::Instant::now() < deadline, "redis-server did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A raw HTTP/1.1 POST of a form body on loopback; returns (status, JSON body).
pub async fn post_form(addr: SocketAddr, path: &str, body: &str) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(WAIT, s.read_to_end(&mut out)).await.expect("an answer in time").unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let status: u16 = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// Ko-fi's webhook body: `data=<url-encoded JSON>` as Ko-fi sends it.
pub fn kofi_body(data: &Value) -> String {
    let enc: String = data
        .to_string()
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("data={enc}")
}

pub const KOFI_TOKEN: &str = "d9ad3a47-3c4e-4d58-9d1b-6b2a2c5d7e10";

/// A Ko-fi donation as Ko-fi documents it (every field), signed with `token`.
pub fn kofi_donation(token: &str, message_id: &str, from: &str, amount: &str) -> Value {
    json!({
        "verification_token": token,
        "message_id": message_id,
        "timestamp": "2026-12-06T08:00:00Z",
        "type": "Donation",
        "is_public": true,
        "from_name": from,
        "message": "Good luck with the stream!",
        "amount": amount,
        "url": "https://ko-fi.com/Home/CoffeeShop?txid=00000000-1111-2222-3333-444444444444",
        "email": "donor@example.com",
        "currency": "USD",
        "is_subscription_payment": false,
        "is_first_subscription_payment": false,
        "kofi_transaction_id": "00000000-1111-2222-3333-444444444444",
        "shop_items": null,
        "tier_name": null,
        "shipping": {"full_name": "Donor", "street_address": "1 Road"}
    })
}
