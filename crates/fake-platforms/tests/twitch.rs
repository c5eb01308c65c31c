//! The fake Twitch answers as Twitch documents: the device flow's errors, rotating refresh
//! tokens, Helix auth and errors, and the EventSub WebSocket's messages, reconnects and
//! revocations.

use std::time::Duration;

use fake_platforms::twitch::{Fault, Route};
use fake_platforms::{FakeTwitch, TwitchOptions};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const SCOPES: &str = "moderator:read:followers channel:read:subscriptions bits:read channel:manage:broadcast";

/// Interval 0 (no `slow_down` for polling at once) and a two-second keepalive.
fn quick() -> TwitchOptions {
    TwitchOptions { device_interval_secs: 0, keepalive_timeout_secs: 2, ..TwitchOptions::default() }
}

async fn form(url: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let res = reqwest::Client::new().post(url).form(params).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

async fn device(fake: &FakeTwitch) -> Value {
    let (status, body) =
        form(&format!("{}/device", fake.auth_url()), &[("client_id", &fake.client_id()), ("scopes", SCOPES)])
            .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn poll(fake: &FakeTwitch, device_code: &str) -> (u16, Value) {
    form(
        &format!("{}/token", fake.auth_url()),
        &[
            ("client_id", &fake.client_id()),
            ("scopes", SCOPES),
            ("device_code", device_code),
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ],
    )
    .await
}

/// A signed-in user's tokens: (access, refresh).
async fn sign_in(fake: &FakeTwitch) -> (String, String) {
    let d = device(fake).await;
    fake.approve(d["user_code"].as_str().unwrap()).unwrap();
    let (status, t) = poll(fake, d["device_code"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{t}");
    (t["access_token"].as_str().unwrap().into(), t["refresh_token"].as_str().unwrap().into())
}

#[tokio::test]
async fn device_flow_answers_pending_then_tokens_and_words_its_errors() {
    let fake = FakeTwitch::start(quick()).await;
    let d = device(&fake).await;
    for key in ["device_code", "user_code", "verification_uri"] {
        assert!(d[key].is_string(), "{key} in {d}");
    }
    assert_eq!((d["expires_in"].as_u64(), d["interval"].as_u64()), (Some(1800), Some(0)));
    let user_code = d["user_code"].as_str().unwrap();
    assert!(d["verification_uri"].as_str().unwrap().ends_with(&format!("device-code={user_code}")));
    let code = d["device_code"].as_str().unwrap();

    assert_eq!(poll(&fake, code).await, (400, json!({"status": 400, "message": "authorization_pending"})));
    fake.approve(user_code).unwrap();
    let (status, t) = poll(&fake, code).await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["token_type"], "bearer");
    assert_eq!(t["scope"], json!(SCOPES.split(' ').collect::<Vec<_>>()));
    assert!(t["access_token"].is_string() && t["refresh_token"].is_string() && t["expires_in"].is_u64());
    // A spent code.
    assert_eq!(poll(&fake, code).await.1["message"], "invalid device code");

    // Denied, unknown client, unknown code.
    let d = device(&fake).await;
    fake.deny(d["user_code"].as_str().unwrap()).unwrap();
    assert_eq!(poll(&fake, d["device_code"].as_str().unwrap()).await.1["message"], "access_denied");
    let (status, body) = form(&format!("{}/device", fake.auth_url()), &[("client_id", "nope")]).await;
    assert_eq!((status, body["message"].as_str()), (400, Some("invalid client")));
    assert_eq!(poll(&fake, "made-up").await.1["message"], "invalid device code");
    assert_eq!(fake.request_count(Route::TokenDeviceCode), 5);
}

#[tokio::test]
async fn polling_sooner_than_the_interval_is_told_to_slow_down_and_codes_expire() {
    let fake = FakeTwitch::start(TwitchOptions { device_interval_secs: 5, ..quick() }).await;
    let d = device(&fake).await;
    let (_, body) = poll(&fake, d["device_code"].as_str().unwrap()).await;
    assert_eq!(body["message"], "slow_down");
    assert_eq!(fake.slow_downs(), 1);

    let fake = FakeTwitch::start(TwitchOptions { device_expires_in_secs: 0, ..quick() }).await;
    let d = device(&fake).await;
    assert_eq!(poll(&fake, d["device_code"].as_str().unwrap()).await.1["message"], "expired_token");

    // An injected slow_down on a code that may be polled.
    let fake = FakeTwitch::start(quick()).await;
    fake.inject_for(Route::TokenDeviceCode, Fault::SlowDown, 1);
    let d = device(&fake).await;
    assert_eq!(poll(&fake, d["device_code"].as_str().unwrap()).await.1["message"], "slow_down");
    assert_eq!(fake.slow_downs(), 1);
}

#[tokio::test]
async fn refresh_tokens_rotate_validate_answers_and_revoke_ends_the_grant() {
    let fake = FakeTwitch::start(quick()).await;
    let (access, refresh) = sign_in(&fake).await;
    let validate = |token: String| {
        let url = format!("{}/validate", fake.auth_url());
        async move {
            let res = reqwest::Client::new()
                .get(url)
                .header("Authorization", format!("OAuth {token}"))
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, v) = validate(access.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(v["login"], "streampai_tester");
    assert_eq!(v["user_id"], "141981764");
    assert_eq!(v["client_id"], fake.client_id());
    assert!(v["scopes"].as_array().unwrap().len() == 4 && v["expires_in"].as_u64().unwrap() > 0);

    let refresh_with = |r: String| {
        let url = format!("{}/token", fake.auth_url());
        let client_id = fake.client_id();
        async move {
            form(&url, &[("client_id", &client_id), ("grant_type", "refresh_token"), ("refresh_token", &r)])
                .await
        }
    };
    let (status, t) = refresh_with(refresh.clone()).await;
    assert_eq!(status, 200, "{t}");
    let refresh2 = t["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(refresh2, refresh);
    assert_eq!(
        refresh_with(refresh).await,
        (400, json!({"status": 400, "message": "Invalid refresh token"}))
    );
    let access2 = t["access_token"].as_str().unwrap().to_string();
    assert_eq!(validate(access2.clone()).await.0, 200);

    let (status, _) = form(
        &format!("{}/revoke", fake.auth_url()),
        &[("client_id", &fake.client_id()), ("token", &access2)],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(validate(access2).await, (401, json!({"status": 401, "message": "invalid access token"})));
    assert_eq!(refresh_with(refresh2).await.0, 400);
    assert_eq!(fake.request_count(Route::TokenRefresh), 3);
}

fn helix(fake: &FakeTwitch, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .request(method, format!("{}{path}", fake.api_url()))
        .bearer_auth(token)
        .header("Client-Id", fake.client_id())
}

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn helix_checks_the_token_and_client_and_serves_users_channels_and_categories() {
    let fake = FakeTwitch::start(quick()).await;
    let (access, _) = sign_in(&fake).await;
    let (status, users) = send(helix(&fake, reqwest::Method::GET, "/users", &access)).await;
    assert_eq!(status, 200);
    assert_eq!(users["data"][0]["login"], "streampai_tester");
    assert_eq!(users["data"][0]["id"], "141981764");

    let (status, err) = send(helix(&fake, reqwest::Method::GET, "/users", "wrong")).await;
    assert_eq!(
        (status, err["error"].as_str(), err["message"].as_str()),
        (401, Some("Unauthorized"), Some("Invalid OAuth token"))
    );
    let other = reqwest::Client::new()
        .get(format!("{}/users", fake.api_url()))
        .bearer_auth(&access)
        .header("Client-Id", "other");
    assert_eq!(send(other).await.1["message"], "Client ID and OAuth token do not match");

    let patch = helix(&fake, reqwest::Method::PATCH, "/channels?broadcaster_id=141981764", &access)
        .json(&json!({"title": "One title everywhere", "game_id": "33214"}));
    assert_eq!(send(patch).await.0, 204);
    let info = fake.channel_info();
    assert_eq!((info.title.as_str(), info.game_name.as_str()), ("One title everywhere", "Fortnite"));
    let empty = helix(&fake, reqwest::Method::PATCH, "/channels?broadcaster_id=141981764", &access)
        .json(&json!({"title": ""}));
    assert_eq!(send(empty).await.0, 400);

    let (status, found) =
        send(helix(&fake, reqwest::Method::GET, "/search/categories?query=fort", &access)).await;
    assert_eq!(status, 200);
    assert_eq!(found["data"][0]["name"], "Fortnite");
    assert!(found["data"][0]["box_art_url"].is_string());
    assert_eq!(send(helix(&fake, reqwest::Method::GET, "/search/categories", &access)).await.0, 400);
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str) -> Ws {
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

/// The next JSON message (`None` once closed), skipping keepalives unless `keepalives`.
async fn next(ws: &mut Ws, keepalives: bool) -> Option<Value> {
    loop {
        let msg =
            tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a message in time")?;
        match msg {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if keepalives || v["metadata"]["message_type"] != "session_keepalive" {
                    return Some(v);
                }
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

async fn close_code(ws: &mut Ws) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("closed in time") {
            Some(Ok(Message::Close(Some(f)))) => return Some(f.code.into()),
            Some(Ok(_)) => {}
            _ => return None,
        }
    }
}

async fn subscribe(
    fake: &FakeTwitch,
    access: &str,
    kind: &str,
    version: &str,
    session: &str,
) -> (u16, Value) {
    let user = "141981764";
    let condition = match kind {
        "channel.follow" => json!({"broadcaster_user_id": user, "moderator_user_id": user}),
        "channel.raid" => json!({"to_broadcaster_user_id": user}),
        _ => json!({"broadcaster_user_id": user}),
    };
    let body = json!({"type": kind, "version": version, "condition": condition,
                      "transport": {"method": "websocket", "session_id": session}});
    send(helix(fake, reqwest::Method::POST, "/eventsub/subscriptions", access).json(&body)).await
}

#[tokio::test]
async fn eventsub_welcomes_keeps_alive_notifies_redelivers_and_carries_subscriptions_across_a_reconnect() {
    let fake = FakeTwitch::start(quick()).await;
    let (access, _) = sign_in(&fake).await;
    let mut ws = connect(&fake.eventsub_url()).await;
    let welcome = next(&mut ws, true).await.unwrap();
    assert_eq!(welcome["metadata"]["message_type"], "session_welcome");
    let session = welcome["payload"]["session"]["id"].as_str().unwrap().to_string();
    assert_eq!(welcome["payload"]["session"]["keepalive_timeout_seconds"], 2);
    assert_eq!(welcome["payload"]["session"]["status"], "connected");

    let (status, created) = subscribe(&fake, &access, "channel.cheer", "1", &session).await;
    assert_eq!(status, 202, "{created}");
    assert_eq!(created["data"][0]["status"], "enabled");
    assert_eq!(created["data"][0]["transport"]["session_id"], session.as_str());
    assert!(created["data"][0]["transport"]["connected_at"].is_string());
    assert_eq!(subscribe(&fake, &access, "channel.cheer", "1", &session).await.0, 409);
    assert_eq!(subscribe(&fake, &access, "channel.cheer", "1", "no-such-session").await.0, 400);
    assert_eq!(subscribe(&fake, &access, "channel.follow", "1", &session).await.0, 400, "v1 is not served");

    // A keepalive within the window.
    assert_eq!(next(&mut ws, true).await.unwrap()["metadata"]["message_type"], "session_keepalive");

    let id = fake.push_event("channel.cheer").unwrap();
    let n = next(&mut ws, false).await.unwrap();
    assert_eq!(n["metadata"]["message_id"], id.as_str());
    assert_eq!(n["metadata"]["subscription_type"], "channel.cheer");
    assert_eq!(n["payload"]["event"]["bits"], 1000);
    assert_eq!(n["payload"]["subscription"]["type"], "channel.cheer");
    fake.redeliver(&id).unwrap();
    assert_eq!(next(&mut ws, false).await.unwrap()["metadata"]["message_id"], id.as_str());

    // Reconnect: same session on the new URL, the old connection closes after the welcome.
    let urls = fake.send_reconnect().unwrap();
    let r = next(&mut ws, false).await.unwrap();
    assert_eq!(r["metadata"]["message_type"], "session_reconnect");
    assert_eq!(r["payload"]["session"]["reconnect_url"], urls[0].as_str());
    // The old connection still delivers until the client moves.
    let before = fake.push_event("channel.cheer").unwrap();
    assert_eq!(next(&mut ws, false).await.unwrap()["metadata"]["message_id"], before.as_str());
    let mut moved = connect(&urls[0]).await;
    let w2 = next(&mut moved, true).await.unwrap();
    assert_eq!(w2["payload"]["session"]["id"], session.as_str());
    assert_eq!(close_code(&mut ws).await, Some(1000));
    let after = fake.push_event("channel.cheer").unwrap();
    assert_eq!(next(&mut moved, false).await.unwrap()["metadata"]["message_id"], after.as_str());
    assert_eq!(fake.subscriptions().len(), 1, "no new subscription was needed");
    // A spent reconnect URL.
    let mut again = connect(&urls[0]).await;
    assert_eq!(close_code(&mut again).await, Some(4007));

    // Keepalives stop on command.
    fake.set_keepalives(false);
    let quiet = tokio::time::timeout(Duration::from_millis(4500), next(&mut moved, true)).await;
    assert!(quiet.is_err(), "no keepalive while they are off: {quiet:?}");

    // Revocation.
    assert_eq!(fake.revoke_authorization(), 1);
    let rev = next(&mut moved, false).await.unwrap();
    assert_eq!(rev["metadata"]["message_type"], "revocation");
    assert_eq!(rev["payload"]["subscription"]["status"], "authorization_revoked");
}

#[tokio::test]
async fn eventsub_closes_unused_and_talkative_connections_and_checks_scopes() {
    let fake = FakeTwitch::start(quick()).await;
    let mut idle = connect(&fake.eventsub_url()).await;
    next(&mut idle, true).await.unwrap();
    assert_eq!(close_code(&mut idle).await, Some(4003));

    let mut chatty = connect(&fake.eventsub_url()).await;
    next(&mut chatty, true).await.unwrap();
    chatty.send(Message::Text("hello".into())).await.unwrap();
    assert_eq!(close_code(&mut chatty).await, Some(4001));

    // A token without bits:read cannot subscribe to cheers.
    let d = form(
        &format!("{}/device", fake.auth_url()),
        &[("client_id", &fake.client_id()), ("scopes", "channel:read:subscriptions")],
    )
    .await
    .1;
    fake.approve(d["user_code"].as_str().unwrap()).unwrap();
    let t = poll(&fake, d["device_code"].as_str().unwrap()).await.1;
    let access = t["access_token"].as_str().unwrap();
    let mut ws = connect(&fake.eventsub_url()).await;
    let session =
        next(&mut ws, true).await.unwrap()["payload"]["session"]["id"].as_str().unwrap().to_string();
    assert_eq!(subscribe(&fake, access, "channel.cheer", "1", &session).await.0, 403);
    assert_eq!(subscribe(&fake, access, "channel.subscribe", "1", &session).await.0, 202);
    fake.inject_for(Route::CreateSubscription, Fault::Status(429), 1);
    assert_eq!(subscribe(&fake, access, "channel.raid", "1", &session).await.0, 429);
}
