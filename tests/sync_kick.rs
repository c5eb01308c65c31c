//! Kick events that reach a desktop behind NAT: the fake Kick POSTs signed webhooks (Kick's
//! headers, signature and documented payloads) to the sync server's `/hooks/alice/kick`, which
//! relays them to the engine: each becomes exactly one alert of the right kind and amount with
//! `"platform": "kick"`, also when Kick delivers it twice; a forged one never does; and (Redis
//! mode) one taken while the desktop was offline arrives after a sync-server restart. All on
//! loopback; Redis needs `redis-server` (scripts/sync-deps.sh).

mod support;
#[path = "../crates/sync/tests/common/mod.rs"]
mod sync_common;

use std::net::SocketAddr;
use std::time::Duration;

use fake_platforms::kick::example;
use fake_platforms::{FakeKick, KickFault};
use streampai::alerts::{Alert, AlertKind};
use streampai::Engine;
use streampai_sync::server::{self, RunningServer, ServerConfig};
use streampai_sync::users::Users;
use support::*;

const ALICE: &str = "alice-sync-token-0001";
const CHANNEL: u64 = 123456789;
const WAIT: Duration = Duration::from_secs(15);

async fn sync_server(addr: &str, kick: &FakeKick, redis: Option<&str>) -> RunningServer {
    let l = tokio::net::TcpListener::bind(addr).await.unwrap();
    let users = Users::from_tokens([("alice", ALICE)]).with_kick_broadcaster("alice", CHANNEL);
    let cfg = ServerConfig { kick_public_key: Some(kick.public_key_pem()), ..sync_common::fast_config() };
    server::start(l, cfg, users, None, redis).await.unwrap()
}

fn synced_engine(addr: SocketAddr) -> Engine {
    support::synced::synced_engine(addr, ALICE)
}

async fn alerts(e: &Engine) -> Vec<Alert> {
    support::synced::all_alerts(e).await
}

async fn wait_for_alerts(e: &Engine, n: usize) -> Vec<Alert> {
    support::synced::wait_for_alerts(e, n, WAIT).await
}

async fn send(kick: &FakeKick, addr: SocketAddr, kind: &str, from: Option<&str>, n: u64) -> Vec<u16> {
    let url = format!("http://{addr}/hooks/alice/kick");
    kick.deliver(&url, kind, &example(kind, CHANNEL, from, n)).await.into_iter().map(|d| d.status).collect()
}

#[tokio::test]
async fn kick_events_through_the_sync_server_become_one_alert_each_of_the_right_kind() {
    let kick = FakeKick::start().await;
    let srv = sync_server("127.0.0.1:0", &kick, None).await;
    let addr = srv.local_addr();
    let e = synced_engine(addr);
    wait_until("the engine is connected", WAIT, || {
        serde_json::to_value(e.sync_status()).unwrap()["state"] == "connected"
    })
    .await;

    assert_eq!(send(&kick, addr, "channel.followed", Some("Ann"), 0).await, [200]);
    assert_eq!(send(&kick, addr, "channel.subscription.new", Some("Bob"), 1).await, [200]);
    // Kick delivers this one twice.
    kick.push_fault(KickFault::Duplicate);
    assert_eq!(send(&kick, addr, "channel.subscription.renewal", Some("Cleo"), 3).await, [200, 200]);
    assert_eq!(send(&kick, addr, "channel.subscription.gifts", None, 5).await, [200]);
    // Forged: refused, never an alert.
    kick.push_fault(KickFault::BadSignature);
    assert_eq!(send(&kick, addr, "channel.followed", Some("Mallory"), 0).await, [401]);
    assert_eq!(send(&kick, addr, "chat.message.sent", Some("Chatty"), 0).await, [200]);
    // The last one: once it is in, everything before it was processed (one connection, in order).
    assert_eq!(send(&kick, addr, "kicks.gifted", Some("Dan"), 500).await, [200]);

    let deadline = std::time::Instant::now() + WAIT;
    let a = loop {
        let a = alerts(&e).await;
        if a.iter().any(|a| a.from == "Dan") {
            break a;
        }
        assert!(std::time::Instant::now() < deadline, "Dan's Kicks never arrived: {a:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let mut got: Vec<(String, AlertKind, Option<f64>, Option<String>)> =
        a.iter().map(|a| (a.from.clone(), a.kind, a.amount, a.platform.clone())).collect();
    got.sort_by(|x, y| x.0.cmp(&y.0));
    let kick_ = Some("kick".to_string());
    assert_eq!(
        got,
        [
            ("Ann".to_string(), AlertKind::Follow, None, kick_.clone()),
            ("Anonymous".to_string(), AlertKind::Subscription, Some(5.0), kick_.clone()),
            ("Bob".to_string(), AlertKind::Subscription, Some(1.0), kick_.clone()),
            ("Cleo".to_string(), AlertKind::Subscription, Some(3.0), kick_.clone()),
            ("Dan".to_string(), AlertKind::Cheer, Some(500.0), kick_.clone()),
        ],
        "one alert per event (the duplicate once, the forged and the chat message none)"
    );
    let dan = a.iter().find(|a| a.from == "Dan").unwrap();
    assert_eq!(dan.message.as_deref(), Some("w"), "the viewer's message with the Kicks");
    e.shutdown().await;
    srv.shutdown().await;
}

#[tokio::test]
async fn redis_mode_keeps_a_kick_event_for_an_offline_desktop_across_a_server_restart() {
    let kick = FakeKick::start().await;
    let redis = sync_common::redis().await;
    let srv = sync_server("127.0.0.1:0", &kick, Some(&redis.url)).await;
    let addr = srv.local_addr();
    kick.push_fault(KickFault::Duplicate);
    assert_eq!(send(&kick, addr, "channel.subscription.gifts", Some("Gina"), 10).await, [200, 200]);
    srv.shutdown().await;
    assert_eq!(redis.command("HLEN sp:hooks:alice").await, ":1", "held once");

    let srv = sync_server(&addr.to_string(), &kick, Some(&redis.url)).await;
    let e = synced_engine(addr);
    let a = wait_for_alerts(&e, 1).await;
    assert_eq!(
        (a[0].from.as_str(), a[0].kind, a[0].amount, a[0].platform.as_deref()),
        ("Gina", AlertKind::Subscription, Some(10.0), Some("kick"))
    );
    wait_until_async("the server forgot the acknowledged event", WAIT, || async {
        redis.command("HLEN sp:hooks:alice").await == ":0"
    })
    .await;
    assert_eq!(alerts(&e).await.len(), 1);
    e.shutdown().await;
    srv.shutdown().await;
}
