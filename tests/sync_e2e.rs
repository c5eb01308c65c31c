//! Two headless engines and a phone-like client through one sync server, on loopback: remote
//! presence keeps the tree alive, commands are relayed and acknowledged, vanished devices and
//! a lost server expire on time, and the engine reconnects after a server restart.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::json;
use streampai::secrets::{Secret, SecretName, SecretStore};
use streampai::Engine;
use streampai::PlatformKind;
use streampai::SessionKind;
use streampai_sync::protocol::{decode_server, ServerMsg};
use streampai_sync::server::{self, RunningServer, ServerConfig};
use streampai_sync::users::Users;
use support::*;
use tokio_tungstenite::tungstenite::Message;

const ALICE: &str = "alice-sync-token-0001";
const BOB: &str = "bob-sync-token-0002";
const WAIT: Duration = Duration::from_secs(15);

fn server_config() -> ServerConfig {
    ServerConfig {
        heartbeat_interval: Duration::from_millis(100),
        heartbeat_timeout: Duration::from_millis(600),
        ..ServerConfig::default()
    }
}

async fn sync_server(addr: &str) -> RunningServer {
    let l = tokio::net::TcpListener::bind(addr).await.unwrap();
    server::start(l, server_config(), Users::from_tokens([("alice", ALICE), ("bob", BOB)]), None, None)
        .await
        .unwrap()
}

/// A headless engine (against its own fake Cloudflare) that syncs through `addr`.
async fn synced_engine(
    user: &str,
    token: &str,
    device: &str,
    addr: SocketAddr,
) -> (Engine, fake_cloudflare::FakeCloudflare) {
    let fake = fake().await;
    let mut cfg = cloud_config(user, &fake, &[("twitch-main", PlatformKind::Twitch)]);
    cfg.presence.cleanup_timeout_ms = 300;
    cfg.sync.url = Some(format!("ws://{addr}"));
    cfg.sync.device_id = Some(device.into());
    cfg.sync.device_name = Some(device.to_uppercase());
    cfg.sync.reconnect_initial_ms = 50;
    cfg.sync.reconnect_max_ms = 200;
    let secrets = secrets_for(&cfg, Some(&fake));
    secrets.set(&SecretName::SyncToken, &Secret::new(token)).unwrap();
    (engine(cfg, secrets), fake)
}

fn devices(e: &Engine) -> Vec<(String, Option<String>)> {
    e.sessions().into_iter().filter(|s| s.kind == SessionKind::Device).map(|s| (s.id, s.device)).collect()
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A phone: a plain WebSocket client speaking the protocol, pinging in the background.
struct Phone {
    rx: tokio::sync::mpsc::UnboundedReceiver<ServerMsg>,
    tx: tokio::sync::mpsc::UnboundedSender<String>,
    stop: tokio_util::sync::CancellationToken,
    freeze: tokio_util::sync::CancellationToken,
}

impl Drop for Phone {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Phone {
    async fn connect(addr: SocketAddr, token: &str, device_id: &str) -> Phone {
        let (mut ws, _): (Ws, _) =
            tokio_tungstenite::connect_async(format!("ws://{addr}/sync")).await.unwrap();
        let hello = json!({"type": "hello", "version": 1, "token": token, "device_id": device_id,
            "device_name": "Phone", "role": "device"});
        ws.send(Message::Text(hello.to_string().into())).await.unwrap();
        let (tx, mut out) = tokio::sync::mpsc::unbounded_channel::<String>();
        let (in_tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let stop = tokio_util::sync::CancellationToken::new();
        let freeze = tokio_util::sync::CancellationToken::new();
        let (stop2, freeze2) = (stop.clone(), freeze.clone());
        tokio::spawn(async move {
            let mut ping = tokio::time::interval(Duration::from_millis(100));
            let mut seq = 0;
            loop {
                tokio::select! {
                    _ = stop2.cancelled() => return,
                    _ = freeze2.cancelled() => {
                        // Hold the socket open, silent and unread, until the test ends.
                        stop2.cancelled().await;
                        drop(ws);
                        return;
                    }
                    _ = ping.tick() => {
                        seq += 1;
                        let p = json!({"type": "ping", "seq": seq}).to_string();
                        if ws.send(Message::Text(p.into())).await.is_err() { return; }
                    }
                    Some(m) = out.recv() => { if ws.send(Message::Text(m.into())).await.is_err() { return; } }
                    m = ws.next() => match m {
                        Some(Ok(Message::Text(t))) => {
                            let m = decode_server(t.as_bytes(), 1 << 20).unwrap();
                            if !matches!(m, ServerMsg::Pong { .. }) { let _ = in_tx.send(m); }
                        }
                        Some(Ok(_)) => {}
                        _ => return,
                    }
                }
            }
        });
        Phone { rx, tx, stop, freeze }
    }

    async fn until(&mut self, mut pred: impl FnMut(&ServerMsg) -> bool) -> ServerMsg {
        tokio::time::timeout(WAIT, async {
            loop {
                let m = self.rx.recv().await.expect("phone connection open");
                if pred(&m) {
                    return m;
                }
            }
        })
        .await
        .expect("message in time")
    }

    async fn command(&mut self, id: &str, command: serde_json::Value) -> serde_json::Value {
        self.tx.send(json!({"type": "command", "id": id, "command": command}).to_string()).unwrap();
        let m = self.until(|m| matches!(m, ServerMsg::CommandResult { id: i, .. } if i == id)).await;
        let ServerMsg::CommandResult { result, .. } = m else { unreachable!() };
        serde_json::to_value(result).unwrap()
    }

    /// Vanish: stop pinging and reading, without a close frame (the socket stays open).
    fn freeze(&self) {
        self.freeze.cancel();
    }
}

#[tokio::test]
async fn two_engines_and_a_phone_through_one_server() {
    let srv = sync_server("127.0.0.1:0").await;
    let addr = srv.local_addr();
    let (alice, _fa) = synced_engine("alice-local", ALICE, "studio-pc", addr).await;
    let (bob, _fb) = synced_engine("bob-local", BOB, "bob-pc", addr).await;
    assert!(!alice.is_running(), "no window, no device: no tree");

    // The phone signs in as alice, sees alice's engine and its state.
    let mut phone = Phone::connect(addr, ALICE, "phone").await;
    let m = phone.until(|m| matches!(m, ServerMsg::PresenceState { .. })).await;
    let ServerMsg::PresenceState { presences } = m else { unreachable!() };
    assert!(presences.contains_key("phone"));
    // The engine may still be connecting: wait for its join if it was not there yet.
    if !presences.contains_key("studio-pc") {
        phone
            .until(|m| matches!(m, ServerMsg::PresenceDiff { joins, .. } if joins.contains_key("studio-pc")))
            .await;
    }
    assert!(!presences.contains_key("bob-pc"));

    // The phone's presence holds alice's tree (and only alice's).
    wait_until("the phone is a device session of alice's engine", WAIT, || devices(&alice).len() == 1).await;
    assert_eq!(devices(&alice)[0].1.as_deref(), Some("Phone"));
    assert!(devices(&alice)[0].0.starts_with("device:phone@"));
    wait_until("alice's tree starts for the phone", WAIT, || alice.is_running()).await;
    assert!(devices(&bob).is_empty());
    assert!(!bob.is_running());
    // The status lists it.
    let status = serde_json::to_value(alice.status().await).unwrap();
    let p = &status["presence"][0];
    assert_eq!((p["kind"].as_str(), p["device"].as_str()), (Some("device"), Some("Phone")), "{status}");

    // The engine publishes its state; the phone sees it.
    phone
        .until(|m| matches!(m, ServerMsg::StreamState { state: Some(s), .. } if s.manager == "running"))
        .await;

    // Start and stop from the phone: relayed, executed, acknowledged.
    let r = phone.command("start-1", json!({"action": "start"})).await;
    assert_eq!(r["ok"], true, "{r}");
    assert!(r["data"]["uuid"].is_string());
    phone.until(|m| matches!(m, ServerMsg::StreamState { state: Some(s), .. } if s.phase == "live")).await;
    let r = phone.command("start-2", json!({"action": "start"})).await;
    assert_eq!(
        (r["ok"].as_bool(), r["error"]["kind"].as_str()),
        (Some(false), Some("invalid_transition")),
        "{r}"
    );
    let r = phone.command("stop-1", json!({"action": "stop"})).await;
    assert_eq!(r["ok"], true, "{r}");
    let m = phone
        .until(|m| matches!(m, ServerMsg::StreamState { state: Some(s), .. } if s.phase == "offline"))
        .await;
    let ServerMsg::StreamState { state: Some(s), .. } = m else { unreachable!() };
    assert_eq!(s.platforms["twitch-main"].status, "stopped");
    // Platform toggles and alert controls.
    let r = phone
        .command(
            "t-1",
            json!({"action": "set_platform_enabled", "platform": "twitch-main", "enabled": false}),
        )
        .await;
    assert_eq!(r["ok"], true, "{r}");
    assert!(!alice.config().platforms[0].enabled);
    let r = phone
        .command("t-2", json!({"action": "set_platform_enabled", "platform": "nope", "enabled": true}))
        .await;
    assert_eq!(r["error"]["kind"], "unknown_platform");
    let r = phone.command("a-1", json!({"action": "alert_pause"})).await;
    assert_eq!(r["ok"], true, "{r}");

    // The phone closes: the usual grace applies, then the tree stops.
    drop(phone);
    wait_until("the phone's session leaves", WAIT, || devices(&alice).is_empty()).await;
    wait_until("alice's tree stops after the grace", WAIT, || !alice.is_running()).await;

    alice.shutdown().await;
    bob.shutdown().await;
    srv.shutdown().await;
}

#[tokio::test]
async fn a_window_closing_while_the_phone_is_connected_keeps_the_tree() {
    let srv = sync_server("127.0.0.1:0").await;
    let addr = srv.local_addr();
    let (alice, _f) = synced_engine("alice-local", ALICE, "studio-pc", addr).await;
    alice.join("window:main", SessionKind::Window, None);
    wait_until("tree up", WAIT, || alice.is_running()).await;
    let _phone = Phone::connect(addr, ALICE, "phone").await;
    wait_until("phone tracked", WAIT, || devices(&alice).len() == 1).await;
    let mut events = alice.subscribe();
    alice.leave("window:main");
    // Well past the 300 ms grace: the phone holds the tree.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(alice.is_running());
    assert!(drain(&mut events).iter().all(|e| !matches!(e, streampai::Event::CleanupScheduled { .. })));
    alice.shutdown().await;
    srv.shutdown().await;
}

#[tokio::test]
async fn a_vanished_phone_expires_after_the_heartbeat_timeout() {
    let srv = sync_server("127.0.0.1:0").await;
    let addr = srv.local_addr();
    let (alice, _f) = synced_engine("alice-local", ALICE, "studio-pc", addr).await;
    let phone = Phone::connect(addr, ALICE, "phone").await;
    wait_until("phone tracked", WAIT, || devices(&alice).len() == 1).await;
    let t0 = std::time::Instant::now();
    phone.freeze();
    wait_until("the vanished phone leaves", WAIT, || devices(&alice).is_empty()).await;
    assert!(t0.elapsed() >= Duration::from_millis(400), "left before the timeout: {:?}", t0.elapsed());
    wait_until("then the grace stops the tree", WAIT, || !alice.is_running()).await;
    alice.shutdown().await;
    srv.shutdown().await;
}

#[tokio::test]
async fn server_restart_then_reconnect_and_a_lost_server_expires_remote_sessions() {
    let srv = sync_server("127.0.0.1:0").await;
    let addr = srv.local_addr();
    let (alice, _f) = synced_engine("alice-local", ALICE, "studio-pc", addr).await;
    let _phone = Phone::connect(addr, ALICE, "phone").await;
    wait_until("phone tracked", WAIT, || devices(&alice).len() == 1).await;
    let before = devices(&alice)[0].0.clone();

    // A clean restart: the old phone connection is gone; a new one is tracked through the
    // reconnected engine.
    srv.shutdown().await;
    let srv = sync_server(&addr.to_string()).await;
    let mut phone = Phone::connect(addr, ALICE, "phone").await;
    phone.until(|m| matches!(m, ServerMsg::StreamState { state: Some(_), .. })).await;
    wait_until("the engine reconnected and tracks the new phone connection", WAIT, || {
        let d = devices(&alice);
        d.len() == 1 && d[0].0 != before
    })
    .await;
    let r = phone.command("after-restart", json!({"action": "alert_resume"})).await;
    assert_eq!(r["ok"], true, "{r}");

    // A crash: no close frames at all. The engine hears nothing and expires the phone after the
    // heartbeat timeout (never lingers).
    srv.abort();
    wait_until("remote sessions expire when the server is lost", WAIT, || devices(&alice).is_empty()).await;
    alice.shutdown().await;
}

fn sync_state(e: &Engine) -> String {
    serde_json::to_value(e.sync_status()).unwrap()["state"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn reconfigure_turns_sync_on_and_off_and_the_status_follows() {
    let srv = sync_server("127.0.0.1:0").await;
    let addr = srv.local_addr();
    let fake = fake().await;
    let cfg = cloud_config("alice-local", &fake, &[("twitch-main", PlatformKind::Twitch)]);
    let secrets = secrets_for(&cfg, Some(&fake));
    secrets.set(&SecretName::SyncToken, &Secret::new(ALICE)).unwrap();
    let alice = engine(cfg.clone(), secrets);
    let control = Control::start(&alice).await;
    let (_, st) = control.get("/api/v1/status").await;
    assert_eq!(st["sync"], json!({"state": "off", "server": null, "last_error": null, "devices": []}));
    let mut events = alice.subscribe();

    // On: the client starts and connects; the UI hears about it.
    let mut on = cfg.clone();
    on.sync.url = Some(format!("ws://{addr}"));
    on.sync.device_id = Some("studio-pc".into());
    on.sync.reconnect_initial_ms = 50;
    on.sync.reconnect_max_ms = 200;
    alice.reconfigure(on.clone()).await.unwrap();
    next_event(
        &mut events,
        WAIT,
        |e| matches!(e, streampai::Event::SyncStatus { status, .. } if sync_state_of(status) == "connected"),
    )
    .await;
    assert_eq!(alice.sync_status().server, Some(format!("ws://{addr}/sync")));
    assert_eq!(alice.sync_status().last_error, None);

    // A phone signs in: a device session, and a device in the sync status.
    let _phone = Phone::connect(addr, ALICE, "phone").await;
    wait_until("phone tracked", WAIT, || devices(&alice).len() == 1).await;
    wait_until("phone in the sync status", WAIT, || alice.sync_status().devices.len() == 1).await;
    let d = &alice.sync_status().devices[0];
    assert_eq!((d.id.as_str(), d.name.as_str()), ("phone", "Phone"));
    let (_, st) = control.get("/api/v1/status").await;
    assert_eq!(st["sync"]["state"], "connected", "{st}");
    assert_eq!(st["sync"]["devices"][0]["id"], "phone", "{st}");
    wait_until("the phone holds the tree", WAIT, || alice.is_running()).await;

    // A device name change restarts the client; the phone is tracked again.
    let mut renamed = on.clone();
    renamed.sync.device_name = Some("Studio".into());
    alice.reconfigure(renamed.clone()).await.unwrap();
    assert_eq!(alice.config().sync.device_name.as_deref(), Some("Studio"));
    wait_until("reconnected with the phone", WAIT, || {
        sync_state(&alice) == "connected" && devices(&alice).len() == 1
    })
    .await;

    // Off: the client stops, remote sessions leave at once, then the grace stops the tree.
    alice.reconfigure(cfg.clone()).await.unwrap();
    assert_eq!(alice.sync_status(), streampai::sync::SyncStatus::default());
    assert!(devices(&alice).is_empty(), "remote device sessions gone with sync off");
    wait_until("the tree stops after the grace", WAIT, || !alice.is_running()).await;
    let (_, st) = control.get("/api/v1/status").await;
    assert_eq!(st["sync"]["state"], "off", "{st}");

    control.stop().await;
    alice.shutdown().await;
    srv.shutdown().await;
}

fn sync_state_of(s: &streampai::sync::SyncStatus) -> String {
    serde_json::to_value(s).unwrap()["state"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_bad_token_shows_the_refusal_in_words_and_a_new_token_connects() {
    let srv = sync_server("127.0.0.1:0").await;
    let addr = srv.local_addr();
    let bad = "not-a-real-token-9999";
    let fake = fake().await;
    let mut cfg = cloud_config("alice-local", &fake, &[("twitch-main", PlatformKind::Twitch)]);
    cfg.sync.url = Some(format!("ws://{addr}"));
    cfg.sync.reconnect_initial_ms = 50;
    cfg.sync.reconnect_max_ms = 200;
    let secrets = secrets_for(&cfg, Some(&fake));
    secrets.set(&SecretName::SyncToken, &Secret::new(bad)).unwrap();
    let alice = engine(cfg, secrets.clone());
    wait_until("the refusal is reported", WAIT, || alice.sync_status().last_error.is_some()).await;
    let st = alice.sync_status();
    assert_eq!(sync_state_of(&st), "retrying");
    let why = st.last_error.unwrap();
    assert!(why.contains("refused the sync token"), "{why}");
    assert!(!why.contains(bad));
    assert!(!serde_json::to_string(&alice.status().await).unwrap().contains(bad));

    // Reload with the right token: connected, the error cleared.
    secrets.set(&SecretName::SyncToken, &Secret::new(ALICE)).unwrap();
    alice.reload_secrets().await.unwrap();
    wait_until("connected with the new token", WAIT, || sync_state(&alice) == "connected").await;
    assert_eq!(alice.sync_status().last_error, None);

    // A server that is not there: said in words too.
    srv.shutdown().await;
    wait_until("the lost server is reported", WAIT, || {
        sync_state(&alice) == "retrying"
            && alice.sync_status().last_error.is_some_and(|e| e.contains("connection refused"))
    })
    .await;
    alice.shutdown().await;
}

#[tokio::test]
async fn a_platform_toggled_from_the_phone_announces_a_config_change() {
    let srv = sync_server("127.0.0.1:0").await;
    let addr = srv.local_addr();
    let (alice, _f) = synced_engine("alice-local", ALICE, "studio-pc", addr).await;
    let mut phone = Phone::connect(addr, ALICE, "phone").await;
    phone
        .until(|m| matches!(m, ServerMsg::StreamState { state: Some(s), .. } if s.manager == "running"))
        .await;
    let mut events = alice.subscribe();
    let r = phone
        .command(
            "t-1",
            json!({"action": "set_platform_enabled", "platform": "twitch-main", "enabled": false}),
        )
        .await;
    assert_eq!(r["ok"], true, "{r}");
    next_event(&mut events, WAIT, |e| matches!(e, streampai::Event::ConfigChanged { .. })).await;
    assert!(!alice.config().platforms[0].enabled);
    // The same again changes nothing: no event.
    let r = phone
        .command(
            "t-2",
            json!({"action": "set_platform_enabled", "platform": "twitch-main", "enabled": false}),
        )
        .await;
    assert_eq!(r["ok"], true, "{r}");
    assert!(drain(&mut events).iter().all(|e| !matches!(e, streampai::Event::ConfigChanged { .. })));
    alice.shutdown().await;
    srv.shutdown().await;
}
