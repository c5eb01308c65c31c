//! Ko-fi donations that reach a desktop behind NAT: a POST to the sync server's
//! `/hooks/alice/kofi` becomes exactly one alert (`"platform": "kofi"`) in the engine's alert
//! store, also when posted twice, when the desktop was offline at the time, and (Redis mode) when
//! the sync server restarted in between. And an engine of protocol version 2 still connects to a
//! server that speaks version 1 only. All on loopback; Redis needs `redis-server`
//! (scripts/sync-deps.sh).

mod support;
#[path = "../crates/sync/tests/common/mod.rs"]
mod sync_common;

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use streampai::alerts::Alert;
use streampai::Engine;
use streampai_sync::server::{self, RunningServer};
use streampai_sync::users::Users;
use support::*;
use sync_common::{kofi_body, kofi_donation, post_form, KOFI_TOKEN};
use tokio_tungstenite::tungstenite::Message;

const ALICE: &str = "alice-sync-token-0001";
const WAIT: Duration = Duration::from_secs(15);

async fn sync_server(addr: &str, redis: Option<&str>) -> RunningServer {
    let l = tokio::net::TcpListener::bind(addr).await.unwrap();
    let users = Users::from_tokens([("alice", ALICE)]).with_kofi_token("alice", KOFI_TOKEN);
    server::start(l, sync_common::fast_config(), users, None, redis).await.unwrap()
}

async fn donate(addr: SocketAddr, message_id: &str, from: &str, amount: &str) -> (u16, Value) {
    let data = kofi_donation(KOFI_TOKEN, message_id, from, amount);
    post_form(addr, "/hooks/alice/kofi", &kofi_body(&data)).await
}

fn synced_engine(addr: SocketAddr) -> Engine {
    support::synced::synced_engine(addr, ALICE)
}

async fn wait_for_alerts(e: &Engine, n: usize) -> Vec<Alert> {
    support::synced::wait_for_alerts(e, n, WAIT).await
}

fn froms(a: &[Alert]) -> Vec<&str> {
    let mut f: Vec<&str> = a.iter().map(|a| a.from.as_str()).collect();
    f.sort();
    f
}

#[tokio::test]
async fn a_kofi_post_to_the_sync_server_becomes_one_alert_also_when_posted_twice() {
    let srv = sync_server("127.0.0.1:0", None).await;
    let addr = srv.local_addr();
    let e = synced_engine(addr);
    wait_until("the engine is connected", WAIT, || {
        serde_json::to_value(e.sync_status()).unwrap()["state"] == "connected"
    })
    .await;

    let (status, body) = donate(addr, "0b5e2c4e-0001", "Ann", "5,00").await;
    assert_eq!(status, 200, "{body}");
    let a = wait_for_alerts(&e, 1).await;
    assert_eq!(a.len(), 1);
    let json = serde_json::to_value(&a[0]).unwrap();
    assert_eq!(json["platform"], "kofi", "{json}");
    assert_eq!((json["from"].as_str(), json["amount"].as_f64()), (Some("Ann"), Some(5.0)));
    assert_eq!(json["currency"], "USD");
    assert_eq!(json["message"], "Good luck with the stream!");

    // Ko-fi retries the same donation (e.g. it missed our 200): still one alert. A later,
    // different donation proves the retry was relayed and processed first (one connection keeps
    // the order).
    assert_eq!(donate(addr, "0b5e2c4e-0001", "Ann", "5,00").await.0, 200);
    assert_eq!(donate(addr, "0b5e2c4e-0002", "Bob", "lots").await.0, 200);
    let a = wait_for_alerts(&e, 2).await;
    assert_eq!(froms(&a), ["Ann", "Bob"], "{a:?}");
    // The same rules as the local Ko-fi webhook: an unreadable amount is held with the reason.
    let bob = a.iter().find(|a| a.from == "Bob").unwrap();
    assert!(bob.message.as_deref().unwrap_or_default().contains("unreadable amount"), "{bob:?}");
    assert!(e.alerts().view().await.unwrap().held.iter().any(|h| h.from == "Bob"));
    e.shutdown().await;
    srv.shutdown().await;
}

#[tokio::test]
async fn a_donation_while_the_desktop_is_offline_arrives_once_when_it_connects() {
    let srv = sync_server("127.0.0.1:0", None).await;
    let addr = srv.local_addr();
    assert_eq!(donate(addr, "off-1", "Cleo", "3").await.0, 200);
    assert_eq!(donate(addr, "off-1", "Cleo", "3").await.0, 200);

    let e = synced_engine(addr);
    let a = wait_for_alerts(&e, 1).await;
    assert_eq!(froms(&a), ["Cleo"]);
    assert_eq!(a[0].platform.as_deref(), Some("kofi"));
    // Acknowledged once stored: a second desktop session gets nothing more (a later donation
    // is the only new alert).
    e.shutdown().await;
    let e = synced_engine(addr);
    assert_eq!(donate(addr, "off-2", "Dan", "4").await.0, 200);
    let a = wait_for_alerts(&e, 1).await;
    assert_eq!(froms(&a), ["Dan"], "a new engine (fresh store) gets only what was not acknowledged");
    e.shutdown().await;
    srv.shutdown().await;
}

#[tokio::test]
async fn redis_mode_keeps_a_donation_across_a_sync_server_restart() {
    let redis = sync_common::redis().await;
    let srv = sync_server("127.0.0.1:0", Some(&redis.url)).await;
    let addr = srv.local_addr();
    assert_eq!(donate(addr, "redis-1", "Eve", "7.50").await.0, 200);
    srv.shutdown().await;

    // The restarted server (a new process state, same Redis) still holds it for the desktop.
    let srv = sync_server(&addr.to_string(), Some(&redis.url)).await;
    let e = synced_engine(addr);
    let a = wait_for_alerts(&e, 1).await;
    assert_eq!((a[0].from.as_str(), a[0].amount, a[0].platform.as_deref()), ("Eve", Some(7.5), Some("kofi")));
    wait_until_async("the server forgot the acknowledged event", WAIT, || async {
        redis.command("HLEN sp:hooks:alice").await == ":0"
    })
    .await;
    e.shutdown().await;
    srv.shutdown().await;
}

/// A sync server of protocol version 1 only (what was deployed before the relay): it refuses
/// any other version as such servers do. Returns the versions each hello offered.
async fn old_server() -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<u64>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(s).await else { return };
                let Some(Ok(Message::Text(t))) = ws.next().await else { return };
                let hello: Value = serde_json::from_str(&t).unwrap();
                let version = hello["version"].as_u64().unwrap();
                let _ = tx.send(version);
                if version != 1 {
                    let err = json!({"type": "error", "code": "unsupported_version",
                        "message": "this server speaks protocol version 1", "fatal": true});
                    let _ = ws.send(Message::Text(err.to_string().into())).await;
                    let _ = ws.close(None).await;
                    return;
                }
                for m in [
                    json!({"type": "welcome", "version": 1, "user": "alice", "conn": "old-1",
                        "heartbeat_interval_ms": 100, "heartbeat_timeout_ms": 600, "max_message_bytes": 16384}),
                    json!({"type": "presence_state", "presences": {}}),
                    json!({"type": "stream_state", "host": null, "state": null}),
                ] {
                    let _ = ws.send(Message::Text(m.to_string().into())).await;
                }
                while let Some(Ok(m)) = ws.next().await {
                    let Message::Text(t) = m else { continue };
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if v["type"] == "ping" {
                        let pong = json!({"type": "pong", "seq": v["seq"]});
                        let _ = ws.send(Message::Text(pong.to_string().into())).await;
                    }
                }
            });
        }
    });
    (addr, rx)
}

#[tokio::test]
async fn an_engine_of_version_2_still_connects_to_a_version_1_server() {
    let (addr, mut versions) = old_server().await;
    let e = synced_engine(addr);
    wait_until("the engine is connected to the old server", WAIT, || {
        serde_json::to_value(e.sync_status()).unwrap()["state"] == "connected"
    })
    .await;
    let first = versions.recv().await.unwrap();
    let second = versions.recv().await.unwrap();
    assert_eq!((first, second), (2, 1), "offers the newest version, then the server's");
    e.shutdown().await;
}
