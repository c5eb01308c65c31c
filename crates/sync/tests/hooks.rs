//! The webhook relay: `POST /hooks/{user}/kofi` with Ko-fi's own body, held per user and relayed
//! to hosts of protocol version 2 until they acknowledge, in memory and in Redis (across a server
//! restart and across instances). Redis tests need `redis-server` (scripts/sync-deps.sh).

mod common;

use std::net::SocketAddr;

use common::*;
use serde_json::{json, Value};
use streampai_sync::protocol::{Hook, ServerMsg};
use streampai_sync::server::{self, RunningServer, ServerConfig};
use streampai_sync::users::Users;

fn hook_users() -> Users {
    users().with_kofi_token("alice", KOFI_TOKEN)
}

async fn start_with(cfg: ServerConfig, redis: Option<&str>) -> RunningServer {
    init_tracing();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    server::start(l, cfg, hook_users(), None, redis).await.unwrap()
}

async fn donate(addr: SocketAddr, message_id: &str, from: &str) -> (u16, Value) {
    post_form(addr, "/hooks/alice/kofi", &kofi_body(&kofi_donation(KOFI_TOKEN, message_id, from, "3.00")))
        .await
}

/// A version-2 host of alice, past its presence and stream state.
async fn host(addr: SocketAddr, device: &str) -> Client {
    let (mut c, w) = Client::hello_v(addr, ALICE, device, "host", 2).await;
    assert!(matches!(w, ServerMsg::Welcome { version: 2, .. }), "{w:?}");
    assert!(matches!(c.next().await, ServerMsg::PresenceState { .. }));
    assert!(matches!(c.next().await, ServerMsg::StreamState { .. }));
    c
}

fn hooks(msgs: Vec<ServerMsg>) -> Vec<Hook> {
    msgs.into_iter()
        .filter_map(|m| match m {
            ServerMsg::Hook(h) => Some(h),
            _ => None,
        })
        .collect()
}

fn ids(hs: &[Hook]) -> Vec<&str> {
    hs.iter().map(|h| h.id.as_str()).collect()
}

async fn next_hook(c: &mut Client) -> Hook {
    match c.until(|m| matches!(m, ServerMsg::Hook(_))).await {
        ServerMsg::Hook(h) => h,
        _ => unreachable!(),
    }
}

async fn ack(c: &mut Client, id: &str) {
    c.send(json!({"type": "hook_ack", "id": id})).await;
}

#[tokio::test]
async fn a_kofi_post_reaches_a_connected_host_without_its_secrets_and_is_forgotten_after_the_ack() {
    let srv = start_with(fast_config(), None).await;
    let addr = srv.local_addr();
    let mut h = host(addr, "pc").await;

    let (status, body) = donate(addr, "m-1", "Ann").await;
    assert_eq!((status, &body["id"], &body["duplicate"]), (200, &json!("kofi:m-1"), &json!(false)), "{body}");
    let hook = next_hook(&mut h).await;
    assert_eq!((hook.id.as_str(), hook.source.as_str()), ("kofi:m-1", "kofi"));
    assert_eq!(hook.payload["from_name"], "Ann");
    assert_eq!(hook.payload["amount"], "3.00");
    assert_eq!(hook.payload["message_id"], "m-1");
    for secret in ["verification_token", "email", "shipping"] {
        assert!(hook.payload.get(secret).is_none(), "{secret} must not be relayed: {}", hook.payload);
    }
    // The same POST again while it is held: one event.
    let (status, body) = donate(addr, "m-1", "Ann").await;
    assert_eq!((status, &body["duplicate"]), (200, &json!(true)), "{body}");
    ack(&mut h, "kofi:m-1").await;
    assert!(hooks(h.drain(1).await).is_empty(), "a duplicate POST is not relayed twice on one connection");
    drop(h);

    // Acknowledged: a new host connection gets nothing.
    let mut h = host(addr, "pc").await;
    assert!(hooks(h.drain(2).await).is_empty());
    srv.shutdown().await;
}

#[tokio::test]
async fn events_wait_for_an_offline_host_and_come_until_acknowledged_v1_hosts_never_see_them() {
    let srv = start_with(fast_config(), None).await;
    let addr = srv.local_addr();
    assert_eq!(donate(addr, "a", "Ann").await.0, 200);
    assert_eq!(donate(addr, "a", "Ann").await.0, 200);
    assert_eq!(donate(addr, "b", "Bob").await.0, 200);

    // An engine of protocol version 1 is welcomed as before and never sees a hook.
    let (mut old, w) = Client::hello(addr, ALICE, "old-pc", "host").await;
    assert!(matches!(w, ServerMsg::Welcome { version: 1, .. }), "{w:?}");
    let seen = old.drain(1).await;
    assert!(hooks(seen.clone()).is_empty(), "{seen:?}");
    old.send(json!({"type": "hook_ack", "id": "kofi:a"})).await;
    let (code, _, _) = old.closed().await;
    assert_eq!(code, 4003, "hook_ack needs version 2");

    // A version-2 host gets both, in order, once each per connection.
    let mut h = host(addr, "pc").await;
    let got = hooks(h.drain(1).await);
    assert_eq!(ids(&got), ["kofi:a", "kofi:b"]);
    // Not acknowledged (the host went away): they come again.
    drop(h);
    let mut h = host(addr, "pc").await;
    let got = hooks(h.drain(1).await);
    assert_eq!(ids(&got), ["kofi:a", "kofi:b"]);
    ack(&mut h, "kofi:a").await;
    ack(&mut h, "kofi:b").await;
    h.drain(2).await;
    drop(h);
    let mut h = host(addr, "pc").await;
    assert!(hooks(h.drain(1).await).is_empty());

    // A device may not acknowledge.
    let (mut phone, _) = Client::hello_v(addr, ALICE, "phone", "device", 2).await;
    phone.send(json!({"type": "hook_ack", "id": "kofi:a"})).await;
    assert_eq!(phone.closed().await.0, 4004);
    srv.shutdown().await;
}

#[tokio::test]
async fn wrong_or_missing_tokens_and_oversized_bodies_are_refused_and_nothing_is_held() {
    let cfg = ServerConfig { hook_body_bytes: 4096, ..fast_config() };
    let srv = start_with(cfg, None).await;
    let addr = srv.local_addr();
    let path = "/hooks/alice/kofi";

    let mut no_token = kofi_donation(KOFI_TOKEN, "x1", "Eve", "1");
    no_token.as_object_mut().unwrap().remove("verification_token");
    let (status, body) = post_form(addr, path, &kofi_body(&no_token)).await;
    assert_eq!((status, &body["error"]["kind"]), (401, &json!("unauthorized")), "{body}");

    let wrong = kofi_donation("d9ad3a47-3c4e-4d58-9d1b-6b2a2c5d7e11", "x2", "Eve", "1");
    assert_eq!(post_form(addr, path, &kofi_body(&wrong)).await.0, 403);
    // Unknown users and users without a Ko-fi token get the same answer (no user list leaks).
    let right = kofi_body(&kofi_donation(KOFI_TOKEN, "x3", "Eve", "1"));
    assert_eq!(post_form(addr, "/hooks/bob/kofi", &right).await.0, 403);
    assert_eq!(post_form(addr, "/hooks/nobody/kofi", &right).await.0, 403);
    assert_eq!(post_form(addr, path, "nodata=1").await.0, 400);
    assert_eq!(post_form(addr, path, "data=%7Bnot%20json").await.0, 400);

    let mut big = kofi_donation(KOFI_TOKEN, "x4", "Eve", "1");
    big["message"] = json!("x".repeat(5000));
    let (status, body) = post_form(addr, path, &kofi_body(&big)).await;
    assert_eq!((status, &body["error"]["kind"]), (413, &json!("too_large")), "{body}");

    let mut h = host(addr, "pc").await;
    let got = hooks(h.drain(1).await);
    assert!(got.is_empty(), "nothing refused was held: {:?}", ids(&got));
    // The listener still serves a good one.
    assert_eq!(post_form(addr, path, &right).await.0, 200);
    assert_eq!(next_hook(&mut h).await.id, "kofi:x3");
    srv.shutdown().await;
}

#[tokio::test]
async fn a_full_queue_answers_503_and_keeps_what_it_holds() {
    let cfg = ServerConfig { hook_queue_max: 3, ..fast_config() };
    let srv = start_with(cfg, None).await;
    let addr = srv.local_addr();
    for id in ["q1", "q2", "q3"] {
        assert_eq!(donate(addr, id, "Ann").await.0, 200);
    }
    let (status, body) = donate(addr, "q4", "Ann").await;
    assert_eq!((status, &body["error"]["kind"]), (503, &json!("queue_full")), "{body}");
    // A repeat of a held one is still a success (it is held).
    assert_eq!(donate(addr, "q1", "Ann").await.0, 200);

    let mut h = host(addr, "pc").await;
    let got = hooks(h.drain(1).await);
    assert_eq!(ids(&got), ["kofi:q1", "kofi:q2", "kofi:q3"]);
    ack(&mut h, "kofi:q1").await;
    h.drain(2).await;
    // Room again: Ko-fi's retry of q4 goes through.
    assert_eq!(donate(addr, "q4", "Ann").await.0, 200);
    assert_eq!(next_hook(&mut h).await.id, "kofi:q4");
    srv.shutdown().await;
}

#[tokio::test]
async fn a_long_backlog_comes_in_windows_and_its_acks_are_not_rate_limited() {
    let srv = start_with(fast_config(), None).await;
    let addr = srv.local_addr();
    let n = 80;
    for i in 0..n {
        assert_eq!(donate(addr, &format!("w{i:03}"), "Ann").await.0, 200);
    }
    let mut h = host(addr, "pc").await;
    let mut seen = Vec::new();
    while seen.len() < n {
        let hook = next_hook(&mut h).await;
        assert!(!seen.contains(&hook.id), "{} twice on one connection", hook.id);
        ack(&mut h, &hook.id).await;
        seen.push(hook.id);
    }
    let mut want: Vec<String> = (0..n).map(|i| format!("kofi:w{i:03}")).collect();
    want.sort();
    seen.sort();
    assert_eq!(seen, want);
    assert!(hooks(h.drain(1).await).is_empty(), "the connection is still open and nothing is left");
    srv.shutdown().await;
}

#[tokio::test]
async fn redis_keeps_events_across_a_server_restart_and_delivers_across_instances() {
    let redis = redis().await;
    let a = start_with(fast_config(), Some(&redis.url)).await;
    assert_eq!(donate(a.local_addr(), "r1", "Ann").await.0, 200);
    assert_eq!(donate(a.local_addr(), "r1", "Ann").await.0, 200);
    a.shutdown().await;
    assert_eq!(redis.command("HLEN sp:hooks:alice").await, ":1");

    // A new server process on the same Redis has it for the host.
    let b = start_with(fast_config(), Some(&redis.url)).await;
    let mut h = host(b.local_addr(), "pc").await;
    let got = hooks(h.drain(1).await);
    assert_eq!(ids(&got), ["kofi:r1"]);
    assert!(got[0].payload.get("verification_token").is_none());

    // A POST to another instance reaches the host on this one.
    let c = start_with(fast_config(), Some(&redis.url)).await;
    assert_eq!(donate(c.local_addr(), "r2", "Bob").await.0, 200);
    assert_eq!(next_hook(&mut h).await.id, "kofi:r2");
    ack(&mut h, "kofi:r1").await;
    ack(&mut h, "kofi:r2").await;
    h.drain(2).await;
    assert_eq!(redis.command("HLEN sp:hooks:alice").await, ":0");
    drop(h);
    c.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn redis_queue_full_is_a_503_and_refused_events_are_not_held() {
    let redis = redis().await;
    let cfg = ServerConfig { hook_queue_max: 2, ..fast_config() };
    let a = start_with(cfg, Some(&redis.url)).await;
    let addr = a.local_addr();
    assert_eq!(donate(addr, "f1", "Ann").await.0, 200);
    assert_eq!(donate(addr, "f2", "Ann").await.0, 200);
    assert_eq!(donate(addr, "f3", "Ann").await.0, 503);
    let wrong = kofi_body(&kofi_donation("nope", "f4", "Eve", "1"));
    assert_eq!(post_form(addr, "/hooks/alice/kofi", &wrong).await.0, 403);
    assert_eq!(redis.command("HLEN sp:hooks:alice").await, ":2");
    let mut h = host(addr, "pc").await;
    assert_eq!(ids(&hooks(h.drain(1).await)), ["kofi:f1", "kofi:f2"]);
    a.shutdown().await;
}

#[tokio::test]
async fn a_body_that_never_arrives_times_out_and_holds_nothing() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let cfg = ServerConfig { hook_body_timeout: std::time::Duration::from_millis(300), ..fast_config() };
    let srv = start_with(cfg, None).await;
    let addr = srv.local_addr();
    let body = kofi_body(&kofi_donation(KOFI_TOKEN, "slow-1", "Ann", "1"));
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /hooks/alice/kofi HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    // The head and half the body, then nothing.
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body.as_bytes()[..body.len() / 2]).await.unwrap();
    let mut out = vec![0u8; 1024];
    let n = tokio::time::timeout(WAIT, s.read(&mut out)).await.expect("an answer in time").unwrap();
    let text = String::from_utf8_lossy(&out[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    let mut h = host(addr, "pc").await;
    assert!(hooks(h.drain(1).await).is_empty());
    srv.shutdown().await;
}

/// Messages until one matches `pred` (that one included last).
async fn collect_until(c: &mut Client, mut pred: impl FnMut(&ServerMsg) -> bool) -> Vec<ServerMsg> {
    let mut seen = vec![];
    loop {
        let m = c.next().await;
        let done = pred(&m);
        seen.push(m);
        if done {
            return seen;
        }
    }
}

fn joined(m: &ServerMsg, device: &str) -> bool {
    matches!(m, ServerMsg::PresenceDiff { joins, .. } if joins.contains_key(device))
}

#[tokio::test]
async fn with_two_hosts_online_one_takes_each_event_and_the_other_takes_over_when_it_leaves() {
    let srv = start_with(fast_config(), None).await;
    let addr = srv.local_addr();
    // A host of protocol 1 connected first never takes events, so it does not hold them up.
    let (_old, _) = Client::hello(addr, ALICE, "old-pc", "host").await;
    let mut studio = host(addr, "studio-pc").await;
    let mut laptop = host(addr, "laptop").await;

    let (status, body) = donate(addr, "two-1", "Ann").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(next_hook(&mut studio).await.id, "kofi:two-1", "the longest-connected host takes it");
    // The POST was answered after the event was queued for every connection it goes to: a
    // ping answered now comes after it.
    let seen = hooks(laptop.drain(1).await);
    assert!(seen.is_empty(), "the second host must not get it too (two alerts): {:?}", ids(&seen));

    // The studio PC goes away without acknowledging: the laptop takes it, once.
    drop(studio);
    assert_eq!(next_hook(&mut laptop).await.id, "kofi:two-1");
    assert_eq!(donate(addr, "two-2", "Bob").await.0, 200);
    assert_eq!(next_hook(&mut laptop).await.id, "kofi:two-2");
    // A host that comes back is now the younger one: it gets nothing the laptop has.
    let mut studio = host(addr, "studio-pc").await;
    assert!(hooks(studio.drain(1).await).is_empty());
    assert_eq!(donate(addr, "two-3", "Cleo").await.0, 200);
    assert_eq!(next_hook(&mut laptop).await.id, "kofi:two-3");
    assert!(hooks(studio.drain(2).await).is_empty());
    for id in ["kofi:two-1", "kofi:two-2", "kofi:two-3"] {
        ack(&mut laptop, id).await;
    }
    assert!(hooks(laptop.drain(3).await).is_empty(), "each event once on this connection");
    drop(laptop);
    // Acknowledged: nothing comes again.
    assert!(hooks(studio.drain(4).await).is_empty());
    srv.shutdown().await;
}

#[tokio::test]
async fn redis_two_hosts_on_two_instances_take_each_event_once_also_when_one_instance_dies() {
    let redis = redis().await;
    let s1 = start_with(fast_config(), Some(&redis.url)).await;
    let s2 = start_with(fast_config(), Some(&redis.url)).await;
    let s3 = start_with(fast_config(), Some(&redis.url)).await;
    let mut studio = host(s1.local_addr(), "studio-pc").await;
    let mut laptop = host(s2.local_addr(), "laptop").await;
    // Both instances know both hosts before the first POST (the laptop's instance had the
    // studio PC in the presence it sent).
    studio.until(|m| joined(m, "laptop")).await;

    assert_eq!(donate(s3.local_addr(), "rt-1", "Ann").await.0, 200);
    assert_eq!(next_hook(&mut studio).await.id, "kofi:rt-1");
    // Events of one user reach each instance in publish order: the join of a phone published
    // after the POST reaches the laptop after anything of the POST would have.
    let (_phone, _) = Client::hello_v(s1.local_addr(), ALICE, "phone", "device", 2).await;
    let seen = hooks(collect_until(&mut laptop, |m| joined(m, "phone")).await);
    assert!(seen.is_empty(), "the second host must not get it too: {:?}", ids(&seen));

    // The studio PC leaves without acknowledging: the laptop (other instance) takes it.
    drop(studio);
    assert_eq!(next_hook(&mut laptop).await.id, "kofi:rt-1");
    ack(&mut laptop, "kofi:rt-1").await;

    // A newer host on a third instance; then the laptop's instance dies (no goodbye) while the
    // laptop holds an unacknowledged event: once its keys expire, the newer host takes it.
    let mut desk = host(s3.local_addr(), "desk").await;
    assert_eq!(donate(s1.local_addr(), "rt-2", "Bob").await.0, 200);
    assert_eq!(next_hook(&mut laptop).await.id, "kofi:rt-2");
    s2.abort();
    // (Pinging meanwhile, as a host does, so the server keeps it while the keys expire.)
    let mut seq = 10;
    let taken = loop {
        seq += 1;
        if let Some(h) = hooks(desk.drain(seq).await).pop() {
            break h;
        }
        assert!(seq < 300, "the desk never took the dead instance's event");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(taken.id, "kofi:rt-2");
    ack(&mut desk, "kofi:rt-2").await;
    desk.drain(1).await;
    assert_eq!(redis.command("HLEN sp:hooks:alice").await, ":0");
    assert_eq!(redis.command("HLEN sp:hookowner:alice").await, ":0");
    drop(desk);
    s1.shutdown().await;
    s3.shutdown().await;
}

fn phase_of(m: &ServerMsg) -> Option<&str> {
    match m {
        ServerMsg::StreamState { state: Some(s), .. } => Some(s.phase.as_str()),
        _ => None,
    }
}

/// The two-host rig of both modes: the studio PC connected first, then the laptop; the laptop
/// goes live (its overlay is the one in the stream), then offline again.
async fn the_live_host_takes_the_events(studio_addr: SocketAddr, laptop_addr: SocketAddr, post: SocketAddr) {
    let mut studio = host(studio_addr, "studio-pc").await;
    let mut laptop = host(laptop_addr, "laptop").await;
    studio.until(|m| joined(m, "laptop")).await;

    laptop.send(json!({"type": "stream_state", "state": {"phase": "live"}})).await;
    // The studio PC's instance knows the laptop is live once it passed the state on.
    studio.until(|m| phase_of(m) == Some("live")).await;
    assert_eq!(donate(post, "live-1", "Ann").await.0, 200);
    assert_eq!(next_hook(&mut laptop).await.id, "kofi:live-1", "the host on air takes it");
    ack(&mut laptop, "kofi:live-1").await;
    let seen = hooks(studio.drain(1).await);
    assert!(seen.is_empty(), "the longest-connected host must not get it: {:?}", ids(&seen));

    // Off air again: the longest-connected host takes them.
    laptop.send(json!({"type": "stream_state", "state": {"phase": "offline"}})).await;
    studio.until(|m| phase_of(m) == Some("offline")).await;
    assert_eq!(donate(post, "live-2", "Bob").await.0, 200);
    assert_eq!(next_hook(&mut studio).await.id, "kofi:live-2");
    ack(&mut studio, "kofi:live-2").await;
    let seen = hooks(laptop.drain(2).await);
    assert!(seen.is_empty(), "the laptop is off air: {:?}", ids(&seen));
}

#[tokio::test]
async fn the_host_on_air_takes_the_events_then_the_longest_connected_again() {
    let srv = start_with(fast_config(), None).await;
    let addr = srv.local_addr();
    the_live_host_takes_the_events(addr, addr, addr).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn redis_the_host_on_air_takes_the_events_across_instances() {
    let redis = redis().await;
    let s1 = start_with(fast_config(), Some(&redis.url)).await;
    let s2 = start_with(fast_config(), Some(&redis.url)).await;
    let s3 = start_with(fast_config(), Some(&redis.url)).await;
    the_live_host_takes_the_events(s1.local_addr(), s2.local_addr(), s3.local_addr()).await;
    s1.shutdown().await;
    s2.shutdown().await;
    s3.shutdown().await;
}
