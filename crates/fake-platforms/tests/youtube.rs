//! The fake YouTube answers as Google documents: the consent redirect with code and state, the
//! PKCE check at the token endpoint, refresh and revocation, broadcasts, chat paging and the
//! quota's `quotaExceeded`.

use base64::Engine as _;
use fake_platforms::youtube::{Fault, Route, SCOPE_YOUTUBE};
use fake_platforms::{FakeYouTube, YouTubeOptions};
use serde_json::{json, Value};
use sha2::Digest;

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// GET the consent page; the redirect's query.
async fn consent(fake: &FakeYouTube, verifier: &str, state: &str) -> Vec<(String, String)> {
    let res = http()
        .get(fake.auth_url())
        .query(&[
            ("client_id", fake.client_id().as_str()),
            ("redirect_uri", "http://127.0.0.1:40123/"),
            ("response_type", "code"),
            ("scope", SCOPE_YOUTUBE),
            ("state", state),
            ("code_challenge", &challenge(verifier)),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let loc = res.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with("http://127.0.0.1:40123/?"), "{loc}");
    url_query(&loc)
}

fn url_query(loc: &str) -> Vec<(String, String)> {
    let q = loc.split_once('?').map(|x| x.1).unwrap_or_default();
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

fn get<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

async fn exchange(fake: &FakeYouTube, code: &str, verifier: &str) -> (u16, Value) {
    let res = http()
        .post(fake.token_url())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", &fake.client_id()),
            ("client_secret", &fake.client_secret()),
            ("redirect_uri", "http://127.0.0.1:40123/"),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn api(fake: &FakeYouTube, token: &str, path: &str) -> (u16, Value) {
    let res = http().get(format!("{}/{path}", fake.api_url())).bearer_auth(token).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn consent_redirects_with_code_and_state_and_the_verifier_is_checked() {
    let fake = FakeYouTube::start(YouTubeOptions::default()).await;
    let verifier = "v".repeat(64);
    let q = consent(&fake, &verifier, "st4te").await;
    assert_eq!(get(&q, "state"), Some("st4te"));
    let code = get(&q, "code").unwrap().to_string();

    let (status, body) = exchange(&fake, &code, &"w".repeat(64)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(fake.verifier_failures(), 1);
    let (status, body) = exchange(&fake, &code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    let access = body["access_token"].as_str().unwrap().to_string();
    let refresh = body["refresh_token"].as_str().unwrap().to_string();
    // A code is spent once used.
    assert_eq!(exchange(&fake, &code, &verifier).await.0, 400);

    let (s, ch) = api(&fake, &access, "channels?part=snippet&mine=true").await;
    assert_eq!((s, ch["items"][0]["snippet"]["title"].as_str()), (200, Some("Streampai Tester")));

    // Refresh keeps the refresh token; revocation ends the grant.
    let res = http()
        .post(fake.token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &fake.client_id()),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "the client secret is checked");
    let revoke = format!("http://{}/revoke", fake.addr());
    assert_eq!(http().post(&revoke).form(&[("token", &refresh)]).send().await.unwrap().status(), 200);
    let res = http()
        .post(fake.token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &fake.client_id()),
            ("client_secret", &fake.client_secret()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
    assert_eq!(api(&fake, &access, "channels?part=snippet&mine=true").await.0, 401);

    // A denial redirects with error=access_denied and the state.
    fake.inject_for(Route::Authorize, Fault::Deny, 1);
    let q = consent(&fake, &verifier, "again").await;
    assert_eq!(
        (get(&q, "error"), get(&q, "state"), get(&q, "code")),
        (Some("access_denied"), Some("again"), None)
    );
}

async fn signed_in(fake: &FakeYouTube) -> String {
    let verifier = "x".repeat(50);
    let q = consent(fake, &verifier, "s").await;
    let (s, body) = exchange(fake, get(&q, "code").unwrap(), &verifier).await;
    assert_eq!(s, 200);
    body["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn broadcasts_chat_pages_and_the_quota() {
    let fake = FakeYouTube::start(YouTubeOptions {
        page_size: 2,
        polling_interval_millis: 1500,
        ..Default::default()
    })
    .await;
    let token = signed_in(&fake).await;
    let b = fake.start_broadcast("Live now", true);
    // The persistent broadcast is listed with broadcastType=all only.
    let (_, l) = api(&fake, &token, "liveBroadcasts?part=snippet,status&broadcastStatus=active").await;
    assert_eq!(l["items"].as_array().unwrap().len(), 0);
    let (_, l) =
        api(&fake, &token, "liveBroadcasts?part=snippet,status&broadcastStatus=active&broadcastType=all")
            .await;
    assert_eq!(l["items"][0]["snippet"]["liveChatId"], b.live_chat_id.as_str());

    let ids: Vec<String> = ["superChatEvent", "newSponsorEvent", "membershipGiftingEvent"]
        .iter()
        .map(|k| fake.push_chat(k, "Viewer").unwrap())
        .collect();
    let (s, p1) = api(
        &fake,
        &token,
        &format!("liveChat/messages?part=snippet,authorDetails&liveChatId={}", b.live_chat_id),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(p1["pollingIntervalMillis"], 1500);
    assert_eq!(p1["items"].as_array().unwrap().len(), 2);
    assert_eq!(p1["items"][0]["id"], ids[0].as_str());
    assert_eq!(p1["items"][0]["snippet"]["superChatDetails"]["amountMicros"], "5000000");
    assert_eq!(p1["items"][0]["authorDetails"]["displayName"], "Viewer");
    let next = p1["nextPageToken"].as_str().unwrap();
    let (_, p2) = api(
        &fake,
        &token,
        &format!("liveChat/messages?part=snippet&liveChatId={}&pageToken={next}", b.live_chat_id),
    )
    .await;
    assert_eq!(p2["items"].as_array().unwrap().len(), 1);
    assert_eq!(p2["items"][0]["id"], ids[2].as_str());

    // Update: the scheduled start time is required.
    let put = |body: Value| {
        let http = http();
        let url = format!("{}/liveBroadcasts?part=snippet", fake.api_url());
        let token = token.clone();
        async move { http.put(url).bearer_auth(token).json(&body).send().await.unwrap() }
    };
    let r = put(json!({"id": b.id, "snippet": {"title": "New"}})).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["errors"][0]["reason"], "invalidScheduledStartTime");
    let r =
        put(json!({"id": b.id, "snippet": {"title": "New", "scheduledStartTime": b.scheduled_start_time}}))
            .await;
    assert_eq!(r.status(), 200);
    assert_eq!(fake.broadcasts()[0].title, "New");
    assert_eq!(fake.broadcasts()[0].description, "", "what the update leaves out is cleared");
    // list 1 (twice), chat 5 (twice), update 50 (the refused one is charged too).
    assert_eq!(fake.quota_used(), 1 + 1 + 5 + 5 + 50 + 50);

    // Past the quota: 403 quotaExceeded in Google's envelope, nothing more charged.
    fake.set_quota(fake.quota_used() + 7);
    let path = format!("liveChat/messages?part=snippet&liveChatId={}", b.live_chat_id);
    assert_eq!(api(&fake, &token, &path).await.0, 200);
    let (s, e) = api(&fake, &token, &path).await;
    assert_eq!((s, e["error"]["errors"][0]["reason"].as_str()), (403, Some("quotaExceeded")));
    assert_eq!(e["error"]["errors"][0]["domain"], "youtube.quota");
    fake.reset_quota();
    assert_eq!(api(&fake, &token, &path).await.0, 200);

    // An ended broadcast's chat answers liveChatEnded.
    fake.end_broadcasts();
    let (s, e) = api(&fake, &token, &path).await;
    assert_eq!((s, e["error"]["errors"][0]["reason"].as_str()), (403, Some("liveChatEnded")));
}

#[tokio::test]
async fn the_http_control_routes_drive_the_fake() {
    let fake = FakeYouTube::start(YouTubeOptions::default()).await;
    let base = format!("http://{}/__fake/youtube", fake.addr());
    let c = http();
    let b: Value = c
        .post(format!("{base}/broadcasts"))
        .json(&json!({"title": "T"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((b["title"].as_str(), b["life_cycle_status"].as_str()), (Some("T"), Some("live")));
    let r: Value = c
        .post(format!("{base}/chat/superChatEvent"))
        .json(&json!({"author": "Ann", "details": {"amountMicros": "1000000", "currency": "JPY"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = r["message_id"].as_str().unwrap().to_string();
    assert_eq!(c.post(format!("{base}/redeliver/{id}")).send().await.unwrap().status(), 204);
    assert_eq!(c.post(format!("{base}/chat/nope")).send().await.unwrap().status(), 404);
    assert_eq!(
        c.put(format!("{base}/quota")).json(&json!({"daily": 42})).send().await.unwrap().status(),
        204
    );
    let q: Value = c.get(format!("{base}/quota")).send().await.unwrap().json().await.unwrap();
    assert_eq!(q["daily"], 42);
    let f = c
        .post(format!("{base}/faults"))
        .json(&json!({"kind": "error", "status": 403, "reason": "quotaExceeded", "route": "chat_messages"}))
        .send()
        .await
        .unwrap();
    assert_eq!(f.status(), 200);
    assert_eq!(fake.pending_faults(), 1);
    let bad = c.post(format!("{base}/faults")).json(&json!({"kind": "error"})).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let token = signed_in(&fake).await;
    let (s, e) = api(
        &fake,
        &token,
        &format!("liveChat/messages?part=snippet&liveChatId={}", b["live_chat_id"].as_str().unwrap()),
    )
    .await;
    assert_eq!((s, e["error"]["errors"][0]["reason"].as_str()), (403, Some("quotaExceeded")));
    let revoked: Value = c.post(format!("{base}/revoke")).send().await.unwrap().json().await.unwrap();
    assert_eq!(revoked["revoked_grants"], 1);
    let ended: Value = c.post(format!("{base}/broadcasts/end")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ended["ended"], 1);
    let reqs: Value = c.get(format!("{base}/requests")).send().await.unwrap().json().await.unwrap();
    assert_eq!(reqs["by_route"]["chat_messages"], 1);
}
