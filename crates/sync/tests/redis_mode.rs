//! Redis mode: two server instances on one real `redis-server` act as one (presence, state,
//! commands across instances; a crashed instance's devices leave after their keys expire).
//! Needs Debian's `redis-server` (scripts/sync-deps.sh installs it).

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use streampai_sync::protocol::ServerMsg;
use streampai_sync::server::{self, RunningServer};

async fn instance(url: &str) -> RunningServer {
    init_tracing();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cfg = streampai_sync::server::ServerConfig {
        heartbeat_interval: Duration::from_millis(100),
        heartbeat_timeout: Duration::from_millis(500),
        ..Default::default()
    };
    server::start(l, cfg, users(), None, Some(url)).await.unwrap()
}

/// Ping now and then while waiting for a message (short heartbeats in these tests).
async fn until_pinging(c: &mut Client, mut pred: impl FnMut(&ServerMsg) -> bool) -> ServerMsg {
    let deadline = std::time::Instant::now() + WAIT;
    let mut seq = 0;
    loop {
        seq += 1;
        c.ping(seq).await;
        if let Ok(m) = tokio::time::timeout(Duration::from_millis(100), c.next()).await {
            if pred(&m) {
                return m;
            }
        }
        assert!(std::time::Instant::now() < deadline, "no matching message in time");
    }
}

#[tokio::test]
async fn two_instances_act_as_one_and_a_crashed_one_is_reaped() {
    let redis = redis().await;
    let a = instance(&redis.url).await;
    let b = instance(&redis.url).await;

    let (mut host, _) = Client::hello(a.local_addr(), ALICE, "pc", "host").await;
    host.next().await; // presence_state
    host.next().await; // stream_state
    host.send(json!({"type": "stream_state", "state": {"phase": "live"}})).await;

    // A phone on the other instance sees the host and its state.
    let (mut phone, w) = Client::hello(b.local_addr(), ALICE, "phone", "device").await;
    let ServerMsg::Welcome { conn: phone_ref, .. } = w else { unreachable!() };
    let ServerMsg::PresenceState { presences } = phone.next().await else { panic!() };
    assert_eq!(ids(&presences), ["pc", "phone"]);
    let m = phone.next().await;
    assert!(matches!(&m, ServerMsg::StreamState { state: Some(s), .. } if s.phase == "live"), "{m:?}");
    let m = until_pinging(&mut host, |m| matches!(m, ServerMsg::PresenceDiff { .. })).await;
    let ServerMsg::PresenceDiff { joins, .. } = m else { unreachable!() };
    assert_eq!(ids(&joins), ["phone"]);

    // Bob on instance A sees nothing of alice's.
    let (mut bob, _) = Client::hello(a.local_addr(), BOB, "bob-phone", "device").await;
    let ServerMsg::PresenceState { presences } = bob.next().await else { panic!() };
    assert_eq!(ids(&presences), ["bob-phone"]);
    assert_eq!(bob.next().await, ServerMsg::StreamState { host: None, state: None });

    // A command crosses instances and its result comes back.
    phone.send(json!({"type": "command", "id": "x-1", "command": {"action": "stop"}})).await;
    let m = until_pinging(&mut host, |m| matches!(m, ServerMsg::Command { .. })).await;
    let ServerMsg::Command { id, from, .. } = m else { unreachable!() };
    assert_eq!((id.as_str(), from.as_str()), ("x-1", phone_ref.as_str()));
    host.send(json!({"type": "command_result", "id": "x-1", "to": from, "result": {"ok": true}})).await;
    let m = until_pinging(&mut phone, |m| matches!(m, ServerMsg::CommandResult { .. })).await;
    assert!(matches!(m, ServerMsg::CommandResult { result, .. } if result.ok));

    // State updates cross too.
    host.send(json!({"type": "stream_state", "state": {"phase": "stopping"}})).await;
    until_pinging(
        &mut phone,
        |m| matches!(m, ServerMsg::StreamState { state: Some(s), .. } if s.phase == "stopping"),
    )
    .await;

    // Instance B crashes with the phone on it: no close, no leave from B. A reaps the expired
    // connection key and announces the leave.
    b.abort();
    let m = until_pinging(
        &mut host,
        |m| matches!(m, ServerMsg::PresenceDiff { leaves, .. } if !leaves.is_empty()),
    )
    .await;
    let ServerMsg::PresenceDiff { leaves, .. } = m else { unreachable!() };
    assert_eq!(ids(&leaves), ["phone"]);
    assert_eq!(leaves["phone"].metas[0].conn, phone_ref);

    // The host leaving cleanly clears the state for a later joiner.
    drop(host);
    let (mut late, _) = Client::hello(a.local_addr(), ALICE, "laptop", "device").await;
    let m = late.next().await;
    let ServerMsg::PresenceState { presences } = m else { panic!() };
    // The host's leave may still be on its way; either way the state goes away.
    if presences.contains_key("pc") {
        until_pinging(&mut late, |m| matches!(m, ServerMsg::StreamState { state: None, .. })).await;
    } else {
        assert_eq!(late.next().await, ServerMsg::StreamState { host: None, state: None });
    }
    a.shutdown().await;
    drop(redis);
}

#[tokio::test]
async fn events_missed_while_the_subscription_was_down_are_caught_up() {
    let redis = redis().await;
    let a = instance(&redis.url).await;
    let b = instance(&redis.url).await;
    let (mut host, _) = Client::hello(a.local_addr(), ALICE, "pc", "host").await;
    host.next().await;
    host.next().await;
    let (mut phone, _) = Client::hello(b.local_addr(), ALICE, "phone", "device").await;
    until_pinging(
        &mut host,
        |m| matches!(m, ServerMsg::PresenceDiff { joins, .. } if joins.contains_key("phone")),
    )
    .await;
    let _ = phone.next().await;

    // Every subscriber connection is cut; the phone leaves right then, so instance A cannot get
    // the leave through pub/sub (it resubscribes 200 ms later) and no key expires to reap.
    let reply = redis.command("CLIENT KILL TYPE pubsub").await;
    assert!(reply.starts_with(':'), "{reply}");
    phone.send_raw(tokio_tungstenite::tungstenite::Message::Close(None)).await;
    let m = until_pinging(
        &mut host,
        |m| matches!(m, ServerMsg::PresenceDiff { leaves, .. } if !leaves.is_empty()),
    )
    .await;
    let ServerMsg::PresenceDiff { leaves, .. } = m else { unreachable!() };
    assert_eq!(ids(&leaves), ["phone"]);
    a.shutdown().await;
    b.shutdown().await;
}
