//! The sync server on loopback: authentication, isolation, presence, commands, heartbeats,
//! limits and shutdown.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use streampai_sync::protocol::{Command, ServerMsg};
use streampai_sync::server::ServerConfig;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn wrong_token_is_refused_before_any_state() {
    let srv = start(ServerConfig::default()).await;
    // Alice is online, with a host that published state.
    let (mut host, _) = Client::hello(srv.local_addr(), ALICE, "pc", "host").await;
    host.send(json!({"type": "stream_state", "state": {"phase": "live"}})).await;

    let mut c = Client::connect(srv.local_addr()).await;
    c.send(json!({"type": "hello", "version": 1, "token": "not-a-token", "device_id": "x",
        "device_name": "X", "role": "device"}))
        .await;
    let (code, reason, seen) = c.closed().await;
    assert_eq!((code, reason.as_str()), (4001, "unauthorized"));
    assert_eq!(seen.len(), 1, "only the error frame: {seen:?}");
    assert!(matches!(
        seen[0],
        ServerMsg::Error { code: streampai_sync::protocol::ErrorCode::Unauthorized, fatal: true, .. }
    ));

    // A wrong version is refused too, and so is anything but a hello first.
    let mut c = Client::connect(srv.local_addr()).await;
    c.send(json!({"type": "hello", "version": 99, "token": ALICE, "device_id": "x",
        "device_name": "X", "role": "device"}))
        .await;
    assert_eq!(c.closed().await.0, 4002);
    let mut c = Client::connect(srv.local_addr()).await;
    c.ping(1).await;
    let (code, _, seen) = c.closed().await;
    assert_eq!(code, 4003);
    assert!(seen.iter().all(|m| matches!(m, ServerMsg::Error { .. })), "{seen:?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn silence_before_hello_times_out() {
    let srv =
        start(ServerConfig { hello_timeout: Duration::from_millis(200), ..ServerConfig::default() }).await;
    let mut c = Client::connect(srv.local_addr()).await;
    let (code, reason, _) = c.closed().await;
    assert_eq!((code, reason.as_str()), (4000, "hello_timeout"));
    srv.shutdown().await;
}

#[tokio::test]
async fn presence_across_devices_with_joins_and_leaves() {
    let srv = start(ServerConfig::default()).await;
    let addr = srv.local_addr();
    let (mut host, w) = Client::hello(addr, ALICE, "pc", "host").await;
    let ServerMsg::Welcome { user, heartbeat_interval_ms, heartbeat_timeout_ms, .. } = w else {
        unreachable!()
    };
    assert_eq!((user.as_str(), heartbeat_interval_ms, heartbeat_timeout_ms), ("alice", 5000, 15000));
    let ServerMsg::PresenceState { presences } = host.next().await else { panic!() };
    assert_eq!(ids(&presences), ["pc"]);
    assert_eq!(host.next().await, ServerMsg::StreamState { host: None, state: None });

    let (mut phone, _) = Client::hello(addr, ALICE, "phone", "device").await;
    let ServerMsg::PresenceState { presences } = phone.next().await else { panic!() };
    assert_eq!(ids(&presences), ["pc", "phone"]);
    assert_eq!(phone.next().await, ServerMsg::StreamState { host: None, state: None });
    let ServerMsg::PresenceDiff { joins, leaves } = host.next().await else { panic!() };
    assert_eq!((ids(&joins), leaves.len()), (vec!["phone".to_string()], 0));
    assert_eq!(joins["phone"].metas[0].device_name, "PHONE");

    // A second connection of the same device is a second meta under the same key.
    let (phone2, _) = Client::hello(addr, ALICE, "phone", "device").await;
    let ServerMsg::PresenceDiff { joins, .. } = host.next().await else { panic!() };
    assert_eq!(ids(&joins), ["phone"]);
    drop(phone2);
    let ServerMsg::PresenceDiff { joins, leaves } = host.next().await else { panic!() };
    assert_eq!((joins.len(), ids(&leaves)), (0, vec!["phone".to_string()]));

    // The host's state reaches the phone; the host leaving clears it.
    host.send(json!({"type": "stream_state", "state": {"phase": "live", "platforms": {"twitch": {"status": "live"}}}}))
        .await;
    let m = phone.until(|m| matches!(m, ServerMsg::StreamState { .. })).await;
    let ServerMsg::StreamState { host: Some(_), state: Some(s) } = m else { panic!("{m:?}") };
    assert_eq!((s.phase.as_str(), s.platforms["twitch"].status.as_str()), ("live", "live"));
    // A late joiner gets the state right after its presence.
    let (mut laptop, _) = Client::hello(addr, ALICE, "laptop", "device").await;
    laptop.next().await;
    assert!(matches!(laptop.next().await, ServerMsg::StreamState { state: Some(_), .. }));
    host.send_raw(Message::Close(None)).await;
    let ServerMsg::PresenceDiff { leaves, .. } =
        phone.until(|m| matches!(m, ServerMsg::PresenceDiff { leaves, .. } if !leaves.is_empty())).await
    else {
        panic!()
    };
    assert_eq!(ids(&leaves), ["pc"]);
    assert_eq!(phone.next().await, ServerMsg::StreamState { host: None, state: None });
    srv.shutdown().await;
}

#[tokio::test]
async fn users_are_isolated() {
    let srv = start(ServerConfig::default()).await;
    let addr = srv.local_addr();
    let (mut a_host, _) = Client::hello(addr, ALICE, "pc", "host").await;
    a_host.next().await;
    a_host.next().await;
    let (mut b_phone, _) = Client::hello(addr, BOB, "phone", "device").await;
    let ServerMsg::PresenceState { presences } = b_phone.next().await else { panic!() };
    assert_eq!(ids(&presences), ["phone"], "bob never sees alice's devices");
    assert_eq!(b_phone.next().await, ServerMsg::StreamState { host: None, state: None });
    // Bob's command finds no host of his: alice's host never sees it.
    b_phone.send(json!({"type": "command", "id": "b1", "command": {"action": "stop"}})).await;
    let ServerMsg::CommandResult { id, result } = b_phone.next().await else { panic!() };
    assert_eq!((id.as_str(), result.ok, result.error.unwrap().kind.as_str()), ("b1", false, "no_host"));
    // Alice's host answering with bob's connection ref reaches nobody.
    let (mut a_phone, _) = Client::hello(addr, ALICE, "phone", "device").await;
    let _ = a_host.next().await; // alice's phone joined
    a_phone.next().await;
    a_phone.next().await;
    a_host.send(json!({"type": "stream_state", "state": {"phase": "offline"}})).await;
    a_host.ping(7).await;
    // Bob sees none of it: his next frame is his own pong.
    b_phone.ping(1).await;
    let m = tokio::time::timeout(WAIT, futures::StreamExt::next(&mut b_phone.ws))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(m.into_text().unwrap().as_str(), r#"{"type":"pong","seq":1}"#);
    srv.shutdown().await;
}

#[tokio::test]
async fn commands_are_relayed_to_the_host_and_acknowledged() {
    let srv = start(ServerConfig::default()).await;
    let addr = srv.local_addr();
    let (mut host, _) = Client::hello(addr, ALICE, "pc", "host").await;
    let (mut phone, w) = Client::hello(addr, ALICE, "phone", "device").await;
    let ServerMsg::Welcome { conn: phone_ref, .. } = w else { unreachable!() };
    phone
        .send(json!({"type": "command", "id": "r-1",
        "command": {"action": "set_platform_enabled", "platform": "twitch", "enabled": false}}))
        .await;
    let m = host.until(|m| matches!(m, ServerMsg::Command { .. })).await;
    let ServerMsg::Command { id, from, device_id, command, .. } = m else { unreachable!() };
    assert_eq!((id.as_str(), from.as_str(), device_id.as_str()), ("r-1", phone_ref.as_str(), "phone"));
    assert_eq!(command, Command::SetPlatformEnabled { platform: "twitch".into(), enabled: false });
    host.send(
        json!({"type": "command_result", "id": "r-1", "to": from, "result": {"ok": true, "data": {"x": 1}}}),
    )
    .await;
    let m = phone.until(|m| matches!(m, ServerMsg::CommandResult { .. })).await;
    let ServerMsg::CommandResult { id, result } = m else { unreachable!() };
    assert_eq!((id.as_str(), result.ok, result.data), ("r-1", true, Some(json!({"x": 1}))));

    // Roles are enforced: a device may not answer or publish; a host may not command.
    phone.send(json!({"type": "stream_state", "state": {"phase": "live"}})).await;
    assert_eq!(phone.closed().await.0, 4004);
    host.send(json!({"type": "command", "id": "x", "command": {"action": "start"}})).await;
    assert_eq!(host.closed().await.0, 4004);
    srv.shutdown().await;
}

#[tokio::test]
async fn a_vanished_device_leaves_after_the_heartbeat_timeout() {
    let srv = start(fast_config()).await;
    let addr = srv.local_addr();
    let (mut watcher, _) = Client::hello(addr, ALICE, "laptop", "device").await;
    let t0 = std::time::Instant::now();
    let (mut ghost, _) = Client::hello(addr, ALICE, "phone", "device").await;
    // The ghost keeps its TCP connection but goes silent; the watcher keeps pinging.
    let mut seq = 0;
    let leave = loop {
        seq += 1;
        watcher.ping(seq).await;
        let m = tokio::time::timeout(Duration::from_millis(100), watcher.next()).await;
        if let Ok(ServerMsg::PresenceDiff { leaves, .. }) = m {
            if !leaves.is_empty() {
                break leaves;
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "the ghost never left");
    };
    assert_eq!(ids(&leave), ["phone"]);
    // 400 ms timeout: it cannot have been dropped before that.
    assert!(t0.elapsed() >= Duration::from_millis(400), "{:?}", t0.elapsed());
    let (code, reason, _) = ghost.closed().await;
    assert_eq!((code, reason.as_str()), (4006, "heartbeat_timeout"));
    srv.shutdown().await;
}

#[tokio::test]
async fn bad_frames_close_with_a_reason_and_the_server_lives_on() {
    let srv = start(ServerConfig { max_message_bytes: 1024, ..ServerConfig::default() }).await;
    let addr = srv.local_addr();
    let cases: Vec<(Message, u16)> = vec![
        (Message::Text("{not json".into()), 4003),
        (Message::Text(r#"{"type":"teleport"}"#.into()), 4003),
        (Message::Binary(vec![1, 2, 3].into()), 4003),
        (Message::Text(format!(r#"{{"type":"ping","seq":1,"pad":"{}"}}"#, "x".repeat(4000)).into()), 1009),
        (
            Message::Text(
                r#"{"type":"hello","version":1,"token":"t","device_id":"a","device_name":"b","role":"host"}"#
                    .into(),
            ),
            4003,
        ),
    ];
    for (frame, want) in cases {
        let (mut c, _) = Client::hello(addr, ALICE, "dev", "device").await;
        c.send_raw(frame).await;
        let (code, reason, _) = c.closed().await;
        assert_eq!(code, want, "{reason}");
    }
    // Rate limit: a flood closes with rate_limited.
    let srv2 = start(ServerConfig { rate_per_sec: 5.0, rate_burst: 5.0, ..ServerConfig::default() }).await;
    let (mut c, _) = Client::hello(srv2.local_addr(), ALICE, "dev", "device").await;
    for i in 0..50 {
        c.ping(i).await;
    }
    let (code, reason, _) = c.closed().await;
    assert_eq!((code, reason.as_str()), (4005, "rate_limited"));
    // Still serving.
    let (_ok, _) = Client::hello(addr, ALICE, "dev", "device").await;
    srv.shutdown().await;
    srv2.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_every_connection_with_going_away() {
    let srv = start(ServerConfig::default()).await;
    let (mut a, _) = Client::hello(srv.local_addr(), ALICE, "pc", "host").await;
    let (mut b, _) = Client::hello(srv.local_addr(), BOB, "phone", "device").await;
    assert_eq!(srv.connections(), 2);
    srv.shutdown().await;
    assert_eq!(a.closed().await.0, 1001);
    assert_eq!(b.closed().await.0, 1001);
}

#[tokio::test]
async fn a_device_that_stops_reading_is_dropped_as_a_slow_consumer() {
    let srv = start(ServerConfig {
        queue_frames: 8,
        rate_per_sec: 100_000.0,
        rate_burst: 100_000.0,
        max_message_bytes: 64 * 1024,
        // Long enough that only the slow-consumer rule can drop the ghost within the test.
        heartbeat_timeout: Duration::from_secs(120),
        ..ServerConfig::default()
    })
    .await;
    let addr = srv.local_addr();
    let (host, _) = Client::hello(addr, ALICE, "pc", "host").await;
    let (_ghost, _) = Client::hello(addr, ALICE, "ghost", "device").await; // never reads again
    let (mut w, mut r) = futures::StreamExt::split(host.ws);
    // The host drains its own echoes.
    tokio::spawn(async move { while futures::StreamExt::next(&mut r).await.is_some() {} });
    // Big state frames until the ghost's socket buffers and its queue are full.
    let reason = "r".repeat(60_000);
    let frame = json!({"type": "stream_state", "state": {"phase": "live",
        "platforms": {"twitch": {"status": "retrying", "reason": reason}}}})
    .to_string();
    let t0 = std::time::Instant::now();
    loop {
        let (mut probe, _) = Client::hello(addr, ALICE, "probe", "device").await;
        let ServerMsg::PresenceState { presences } = probe.next().await else { panic!() };
        if !presences.contains_key("ghost") {
            break;
        }
        for _ in 0..50 {
            if futures::SinkExt::send(&mut w, Message::Text(frame.clone().into())).await.is_err() {
                panic!("the host was dropped instead");
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "the ghost was never dropped");
    }
    srv.shutdown().await;
}
