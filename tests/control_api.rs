//! The local control API over real loopback sockets: auth, status shape, errors, and the events
//! WebSocket counting as a presence session.

mod support;

use std::time::Duration;

use futures::StreamExt;
use streampai::PlatformKind;
use support::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::test]
async fn every_route_needs_the_token() {
    let cfg = config("user-1");
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    let c = Control::start(&e).await;
    let http = c.http();
    for (method, path) in [
        ("GET", "/api/v1/status"),
        ("POST", "/api/v1/stream/start"),
        ("POST", "/api/v1/stream/stop"),
        ("GET", "/api/v1/debug"),
        ("GET", "/api/v1/events"),
    ] {
        let url = format!("{}{path}", c.base);
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let none = http.request(m.clone(), &url).send().await.unwrap();
        assert_eq!(none.status(), 401, "{method} {path} without token");
        let body: serde_json::Value = none.json().await.unwrap();
        assert_eq!(body["error"]["kind"], "unauthorized");
        let wrong = http.request(m.clone(), &url).bearer_auth("nope").send().await.unwrap();
        assert_eq!(wrong.status(), 401, "{method} {path} with a wrong token");
        let wrong_query = http.request(m, format!("{url}?token=nope")).send().await.unwrap();
        assert_eq!(wrong_query.status(), 401);
    }
    assert!(!e.is_running(), "rejected requests start nothing");
    let (code, body) = c.get("/api/v1/nope").await;
    assert_eq!((code, body["error"]["kind"].as_str()), (404, Some("not_found")));
    c.stop().await;
    e.shutdown().await;
}

#[tokio::test]
async fn status_lists_every_platform_and_errors_have_kinds() {
    let mut cfg = config("user-1");
    cfg.platforms = vec![
        streampai::config::PlatformConfig {
            name: "tw".into(),
            kind: PlatformKind::Twitch,
            url: None,
            enabled: true,
        },
        streampai::config::PlatformConfig {
            name: "yt".into(),
            kind: PlatformKind::Youtube,
            url: None,
            enabled: false,
        },
    ];
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    let c = Control::start(&e).await;
    let (code, s) = c.get("/api/v1/status").await;
    assert_eq!(code, 200);
    assert_eq!(s["user_id"], "user-1");
    assert_eq!(s["manager"], "stopped");
    assert_eq!(s["input"], "unknown");
    assert_eq!(s["stream"]["state"], "offline");
    assert!(s["stream"]["uuid"].is_null());
    assert_eq!(s["stream"]["platforms"]["tw"]["status"], "stopped");
    assert_eq!(s["stream"]["platforms"]["yt"]["status"], "disabled");
    assert!(s["stream"]["platforms"]["tw"]["bytes_sent"].is_null());
    assert!(s["stream"]["platforms"]["tw"].as_object().unwrap().contains_key("dropped_frames"));
    assert_eq!(s["ingest"]["backend"], "local", "no Cloudflare account: the local relay");
    assert!(s["ingest"]["url"].as_str().unwrap().starts_with("rtmp://127.0.0.1:"));
    assert!(s["ingest"]["stream_key"].as_str().is_some_and(|k| k.len() >= 20), "the OBS key is generated");

    let (code, body) = c.post("/api/v1/stream/stop").await;
    assert_eq!((code, body["error"]["kind"].as_str()), (409, Some("invalid_transition")));
    c.stop().await;
    e.shutdown().await;

    // Cloudflare chosen but no API token: a clear 422, nothing started.
    cfg.ingest = Some(streampai::config::IngestBackend::Cloudflare);
    cfg.cloudflare.account_id = Some("acc".into());
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    let c = Control::start(&e).await;
    let (code, body) = c.post("/api/v1/stream/start").await;
    assert_eq!((code, body["error"]["kind"].as_str()), (422, Some("not_configured")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("Cloudflare"));
    c.stop().await;
    e.shutdown().await;
}

#[tokio::test]
async fn the_events_socket_is_a_presence_session() {
    let mut cfg = config("user-1");
    cfg.presence.cleanup_timeout_ms = 200;
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    let c = Control::start(&e).await;

    // Header auth.
    let mut req = format!("ws://{}/api/v1/events", c.addr).into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {}", c.token).parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let first = ws.next().await.unwrap().unwrap();
    let first: serde_json::Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
    assert_eq!(first["type"], "status");
    wait_until("tree starts for the socket", Duration::from_secs(5), || e.is_running()).await;
    let (_, s) = c.get("/api/v1/status").await;
    assert_eq!(s["presence"][0]["kind"], "socket");

    // The socket streams events: the manager starting is among them.
    let mut saw_started = false;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(2), ws.next()).await {
        let v: serde_json::Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        if v["type"] == "manager_started" {
            saw_started = true;
            break;
        }
    }
    assert!(saw_started, "manager_started event on the socket");

    // A second client with ?token= (browsers cannot set headers).
    let url = format!("ws://{}/api/v1/events?token={}&device=phone", c.addr, c.token);
    let (ws2, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    wait_until("two sessions", Duration::from_secs(2), || e.sessions().len() == 2).await;
    assert!(e.sessions().iter().any(|s| s.device.as_deref() == Some("phone")));

    ws.close(None).await.unwrap();
    drop(ws);
    wait_until("first socket leaves", Duration::from_secs(2), || e.sessions().len() == 1).await;
    assert!(e.is_running());
    drop(ws2); // dropped without a close frame: the server notices the TCP close
    wait_until("tree stops after the grace", Duration::from_secs(5), || !e.is_running()).await;
    c.stop().await;
    e.shutdown().await;
}

#[tokio::test]
async fn debug_shows_the_tree() {
    let cfg = config("user-1");
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    let c = Control::start(&e).await;
    let (_, d) = c.get("/api/v1/debug").await;
    assert_eq!(d["users"].as_array().unwrap().len(), 0);
    e.join("window:1", streampai::SessionKind::Window, None);
    wait_until_async("seven children", Duration::from_secs(5), || async {
        c.get("/api/v1/debug").await.1["users"][0]["children"].as_array().map(|a| a.len()) == Some(7)
    })
    .await;
    let (_, d) = c.get("/api/v1/debug").await;
    let u = &d["users"][0];
    assert_eq!(u["user_id"], "user-1");
    assert_eq!(u["manager"], "running");
    assert_eq!(u["sessions"][0]["id"], "window:1");
    let names: Vec<&str> =
        u["children"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "StreamStateServer",
            "LocalIngestManager",
            "LocalIngestMonitor",
            "PlatformSupervisor",
            "AlertQueue",
            "StreamAutomation",
            "ObsConnection"
        ]
    );
    assert!(u["children"][0]["uptime_ms"].is_u64());
    assert_eq!(u["children"][0]["restarts"], 0);
    c.stop().await;
    e.shutdown().await;
}
