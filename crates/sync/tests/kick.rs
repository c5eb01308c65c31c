//! Kick webhooks through the relay: `POST /hooks/{user}/kick` from the fake Kick (signed as Kick
//! signs, shaped after Kick's documented payloads): signature checked before anything else,
//! replay window, the user's channel, duplicates held once, relayed to the user's host as
//! `hook` messages with `source: "kick"`. The key comes from the configuration or from the
//! (fake) public-key endpoint.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use fake_platforms::kick::{example, Delivery};
use fake_platforms::{FakeKick, KickFault};
use serde_json::json;
use streampai_sync::protocol::{Hook, ServerMsg};
use streampai_sync::server::{self, RunningServer, ServerConfig};

const CHANNEL: u64 = 123456789;

async fn start_with(cfg: ServerConfig) -> RunningServer {
    init_tracing();
    // The host here stays silent between frames (no pings): a heartbeat timeout far off.
    let cfg = ServerConfig {
        heartbeat_interval: Duration::from_secs(5),
        heartbeat_timeout: Duration::from_secs(60),
        ..cfg
    };
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let users = users().with_kick_broadcaster("alice", CHANNEL);
    server::start(l, cfg, users, None, None).await.unwrap()
}

fn url(addr: SocketAddr, user: &str) -> String {
    format!("http://{addr}/hooks/{user}/kick")
}

async fn host(addr: SocketAddr) -> Client {
    let (mut c, _) = Client::hello_v(addr, ALICE, "pc", "host", 2).await;
    assert!(matches!(c.next().await, ServerMsg::PresenceState { .. }));
    assert!(matches!(c.next().await, ServerMsg::StreamState { .. }));
    c
}

async fn next_hook(c: &mut Client) -> Hook {
    match c.until(|m| matches!(m, ServerMsg::Hook(_))).await {
        ServerMsg::Hook(h) => h,
        _ => unreachable!(),
    }
}

fn one(d: Vec<Delivery>) -> Delivery {
    assert_eq!(d.len(), 1, "{d:?}");
    d.into_iter().next().unwrap()
}

#[tokio::test]
async fn signed_kick_events_reach_the_host_once_and_forged_replayed_or_foreign_ones_never() {
    let kick = FakeKick::start().await;
    let cfg = ServerConfig { kick_public_key: Some(kick.public_key_pem()), ..fast_config() };
    let srv = start_with(cfg).await;
    let addr = srv.local_addr();
    let to = url(addr, "alice");
    let mut h = host(addr).await;

    let d = one(kick
        .deliver(&to, "channel.followed", &example("channel.followed", CHANNEL, Some("Ann"), 0))
        .await);
    assert_eq!(d.status, 200, "{:?}", d.body);
    let id = format!("kick:{}", d.message_id);
    assert_eq!((&d.body["id"], &d.body["duplicate"]), (&json!(id), &json!(false)));
    let hook = next_hook(&mut h).await;
    assert_eq!((hook.id.as_str(), hook.source.as_str()), (id.as_str(), "kick"));
    assert_eq!(hook.payload["type"], "channel.followed");
    assert_eq!(hook.payload["message_id"], d.message_id.as_str());
    assert_eq!(hook.payload["event"]["follower"]["username"], "Ann");
    assert!(hook.payload["event"]["follower"].get("profile_picture").is_none(), "trimmed: {}", hook.payload);

    // Kick delivers the same message twice: held (and relayed) once.
    kick.push_fault(KickFault::Duplicate);
    let gifts = example("channel.subscription.gifts", CHANNEL, None, 5);
    let d = kick.deliver(&to, "channel.subscription.gifts", &gifts).await;
    assert_eq!(
        d.iter().map(|d| (d.status, d.body["duplicate"].clone())).collect::<Vec<_>>(),
        [(200, json!(false)), (200, json!(true))]
    );
    let hook = next_hook(&mut h).await;
    assert_eq!(hook.id, format!("kick:{}", d[0].message_id));
    assert_eq!(
        hook.payload["event"],
        json!({"gifter": {"user_id": null, "username": null, "is_anonymous": true}, "giftee_count": 5})
    );

    // Refused, each in words, nothing held.
    kick.push_fault(KickFault::BadSignature);
    let follow = example("channel.followed", CHANNEL, Some("Eve"), 0);
    let d = one(kick.deliver(&to, "channel.followed", &follow).await);
    assert_eq!((d.status, &d.body["error"]["kind"]), (401, &json!("unauthorized")), "{:?}", d.body);
    assert!(d.body["error"]["message"].as_str().unwrap().contains("Kick-Event-Signature"), "{:?}", d.body);
    kick.push_fault(KickFault::NoSignature);
    assert_eq!(one(kick.deliver(&to, "channel.followed", &follow).await).status, 401);
    kick.push_fault(KickFault::OldTimestamp(Duration::from_secs(20 * 60)));
    let d = one(kick.deliver(&to, "channel.followed", &follow).await);
    assert_eq!((d.status, &d.body["error"]["kind"]), (401, &json!("stale")), "{:?}", d.body);
    assert!(d.body["error"]["message"].as_str().unwrap().contains("600 s"), "{:?}", d.body);
    // A genuine delivery of another channel (every Kick app gets Kick's signatures).
    let foreign = example("channel.followed", 42, Some("Eve"), 0);
    let d = one(kick.deliver(&to, "channel.followed", &foreign).await);
    assert_eq!((d.status, &d.body["error"]["kind"]), (403, &json!("forbidden")), "{:?}", d.body);
    // A user without a Kick channel, and a user that does not exist: the same answer.
    assert_eq!(one(kick.deliver(&url(addr, "bob"), "channel.followed", &follow).await).status, 403);
    assert_eq!(one(kick.deliver(&url(addr, "nobody"), "channel.followed", &follow).await).status, 403);
    // The type header is not signed: a follow passed off as a subscription is refused.
    let d = one(kick.deliver(&to, "channel.subscription.new", &follow).await);
    assert_eq!(d.status, 400, "{:?}", d.body);
    // Not an alert: answered 200 (so Kick does not retry), not relayed.
    let chat = example("chat.message.sent", CHANNEL, Some("Eve"), 0);
    let d = one(kick.deliver(&to, "chat.message.sent", &chat).await);
    assert_eq!((d.status, &d.body["relayed"]), (200, &json!(false)), "{:?}", d.body);

    let seen: Vec<_> = h.drain(1).await.into_iter().filter(|m| matches!(m, ServerMsg::Hook(_))).collect();
    assert!(seen.is_empty(), "nothing refused or ignored reached the host: {seen:?}");
    srv.shutdown().await;
}

/// Deliver `body` until the server answers something else than 503 (its key fetched from the
/// fake's endpoint in the background); that answer's status.
async fn first_answer_with_a_key(kick: &FakeKick, to: &str, body: &serde_json::Value) -> u16 {
    let mut status = 0;
    for _ in 0..200 {
        status = one(kick.deliver(to, "channel.followed", body).await).status;
        if status != 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    status
}

#[tokio::test]
async fn the_key_is_fetched_from_the_public_key_url_and_until_then_kick_gets_503() {
    let kick = FakeKick::start().await;
    // A URL where nothing answers first: Kick's deliveries get 503 (Kick retries), not a 401.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/public/v1/public-key", l.local_addr().unwrap())
    };
    let srv = start_with(ServerConfig { kick_public_key_url: Some(dead), ..fast_config() }).await;
    let follow = example("channel.followed", CHANNEL, Some("Ann"), 0);
    let d = one(kick.deliver(&url(srv.local_addr(), "alice"), "channel.followed", &follow).await);
    assert_eq!((d.status, &d.body["error"]["kind"]), (503, &json!("unavailable")), "{:?}", d.body);
    srv.shutdown().await;

    // With the fake's endpoint the key loads in the background shortly after start.
    let srv =
        start_with(ServerConfig { kick_public_key_url: Some(kick.public_key_url()), ..fast_config() }).await;
    let to = url(srv.local_addr(), "alice");
    let status = first_answer_with_a_key(&kick, &to, &follow).await;
    assert_eq!(status, 200, "the key from the public-key endpoint verifies the fake's signatures");
    srv.shutdown().await;
}

#[tokio::test]
async fn a_rotated_key_is_fetched_again_and_forgeries_cannot_make_the_server_call_kick_over_and_over() {
    let kick = FakeKick::start().await;
    let srv =
        start_with(ServerConfig { kick_public_key_url: Some(kick.public_key_url()), ..fast_config() }).await;
    let to = url(srv.local_addr(), "alice");
    let follow = example("channel.followed", CHANNEL, Some("Ann"), 0);
    let status = first_answer_with_a_key(&kick, &to, &follow).await;
    assert_eq!(status, 200, "the first key loaded");
    let fetches = kick.key_fetches();

    // Kick rotates its key: the next genuine delivery fails with the old key, the server fetches
    // the new one once and the delivery passes.
    kick.rotate_key();
    let d = one(kick
        .deliver(&to, "channel.followed", &example("channel.followed", CHANNEL, Some("Bo"), 1))
        .await);
    assert_eq!(d.status, 200, "a delivery under Kick's new key: {:?}", d.body);
    assert_eq!(kick.key_fetches(), fetches + 1, "one fetch for the rotation");

    // Forgeries right after: refused, and no further call to Kick within the refetch interval.
    for i in 0..5 {
        kick.push_fault(KickFault::BadSignature);
        let d = one(kick
            .deliver(&to, "channel.followed", &example("channel.followed", CHANNEL, Some("X"), i))
            .await);
        assert_eq!(d.status, 401, "{:?}", d.body);
    }
    assert_eq!(kick.key_fetches(), fetches + 1, "forged signatures made no more fetches");
    // Genuine deliveries go on with the new key.
    let d = one(kick
        .deliver(&to, "channel.followed", &example("channel.followed", CHANNEL, Some("Cy"), 9))
        .await);
    assert_eq!(d.status, 200, "{:?}", d.body);
    srv.shutdown().await;
    kick.shutdown().await;
}
