//! Alerts over the control API: intake, validation, idempotency, moderation, Ko-fi, the
//! overlay socket, and the stream history.

mod support;

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use streampai::events::AlertOutcome;
use streampai::secrets::{Secret, SecretName, SecretStore};
use streampai::Event;
use streampai::StreamPhase;
use support::*;
use tokio_tungstenite::tungstenite::Message;

async fn post_json(c: &Control, path: &str, body: &Value) -> (u16, Value) {
    let res =
        c.http().post(format!("{}{path}", c.base)).bearer_auth(&c.token).json(body).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

async fn post_raw(c: &Control, path: &str, body: Vec<u8>) -> (u16, Value) {
    let res = c
        .http()
        .post(format!("{}{path}", c.base))
        .bearer_auth(&c.token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn alerts_are_accepted_with_no_session_and_shown_once_a_tree_runs() {
    let cfg = config("user-1");
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    let c = Control::start(&e).await;
    let mut events = e.subscribe();
    let (code, body) = post_json(
        &c,
        "/api/v1/alerts",
        &json!({"kind": "donation", "from": "ana", "amount": 25.0, "currency": "EUR", "message": "hi"}),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    assert!(!e.is_running(), "accepting an alert starts nothing");
    let (_, view) = c.get("/api/v1/alerts").await;
    assert_eq!(view["queued"][0]["id"], id.as_str());
    assert_eq!(view["queued"][0]["from"], "ana");
    assert!(view["current"].is_null());
    assert!(view["queued"][0]["platform"].is_null(), "absent optional fields are null");

    e.join("window:1", streampai::SessionKind::Window, None);
    let shown =
        next_event(&mut events, Duration::from_secs(10), |ev| matches!(ev, Event::AlertShown { .. })).await;
    let Event::AlertShown { alert, .. } = shown else { unreachable!() };
    assert_eq!(alert.id, id);
    let (_, view) = c.get("/api/v1/alerts").await;
    assert_eq!(view["current"]["id"], id.as_str());
    c.stop().await;
    e.shutdown().await;
}

#[tokio::test]
async fn idempotency_keys_and_bad_input() {
    let cfg = config("user-1");
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    let c = Control::start(&e).await;
    let alert = json!({"kind": "follow", "from": "bo", "idempotency_key": "hook-42"});
    let (c1, b1) = post_json(&c, "/api/v1/alerts", &alert).await;
    let (c2, b2) = post_json(&c, "/api/v1/alerts", &alert).await;
    assert_eq!((c1, c2), (201, 200));
    assert_eq!(b1["id"], b2["id"]);
    assert_eq!(b2["duplicate"], true);

    let bad: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"{not json".to_vec(), 400, "bad_request"),
        (br#"{"kind": "hug", "from": "x"}"#.to_vec(), 400, "bad_request"),
        (br#"{"kind": "follow"}"#.to_vec(), 400, "bad_request"),
        (br#"{"kind": "follow", "from": "   "}"#.to_vec(), 422, "invalid_alert"),
        (br#"{"kind": "donation", "from": "x", "amount": -3}"#.to_vec(), 422, "invalid_alert"),
        (
            json!({"kind": "donation", "from": "x", "message": "m".repeat(501)}).to_string().into_bytes(),
            422,
            "invalid_alert",
        ),
        (json!({"kind": "follow", "from": "n".repeat(101)}).to_string().into_bytes(), 422, "invalid_alert"),
        (
            json!({"kind": "follow", "from": "x", "message": "z".repeat(70_000)}).to_string().into_bytes(),
            413,
            "too_large",
        ),
    ];
    for (body, code, kind) in bad {
        let preview = String::from_utf8_lossy(&body[..body.len().min(60)]).to_string();
        let (got, err) = post_raw(&c, "/api/v1/alerts", body).await;
        assert_eq!(got, code, "{preview}: {err}");
        assert_eq!(err["error"]["kind"], kind, "{preview}: {err}");
        assert!(err["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let view = e.alerts().view().await.unwrap();
    let stored = view.queued.len() + view.held.len() + usize::from(view.current.is_some());
    assert_eq!(stored, 1, "nothing else was stored");
    c.stop().await;
    e.shutdown().await;
}

#[tokio::test]
async fn moderation_holds_alerts_with_a_message_and_minimums_filter() {
    let mut cfg = config("user-1");
    cfg.alerts.moderation = true;
    cfg.alerts.min_amounts.insert(streampai::alerts::AlertKind::Donation, 2.0);
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    let c = Control::start(&e).await;
    e.join("window:1", streampai::SessionKind::Window, None);
    wait_until("tree", Duration::from_secs(5), || {
        e.debug_tree().users.first().is_some_and(|u| u.children.len() == 7)
    })
    .await;
    let mut events = e.subscribe();
    let (_, held) = post_json(
        &c,
        "/api/v1/alerts",
        &json!({"kind": "donation", "from": "a", "amount": 5, "message": "rude?"}),
    )
    .await;
    assert_eq!(held["state"], "held");
    // The windows learn at once that it waits for review (no polling).
    let ev =
        next_event(&mut events, Duration::from_secs(5), |ev| matches!(ev, Event::AlertHeld { .. })).await;
    assert!(
        matches!(ev, Event::AlertHeld { ref alert, .. } if alert.from == "a" && Some(alert.id.as_str()) == held["id"].as_str())
    );
    let (_, other) = post_json(
        &c,
        "/api/v1/alerts",
        &json!({"kind": "donation", "from": "b", "amount": 5, "message": "spam"}),
    )
    .await;
    let (_, small) =
        post_json(&c, "/api/v1/alerts", &json!({"kind": "donation", "from": "c", "amount": 1})).await;
    assert_eq!(small["state"], "filtered");
    let (_, view) = c.get("/api/v1/alerts").await;
    assert_eq!(view["held"].as_array().unwrap().len(), 2);
    assert!(view["current"].is_null() && view["queued"].as_array().unwrap().is_empty());

    let (code, _) = c.post(&format!("/api/v1/alerts/{}/approve", held["id"].as_str().unwrap())).await;
    assert_eq!(code, 200);
    let ev =
        next_event(&mut events, Duration::from_secs(5), |ev| matches!(ev, Event::AlertShown { .. })).await;
    assert!(matches!(ev, Event::AlertShown { ref alert, .. } if alert.from == "a"));
    let (code, _) = c.post(&format!("/api/v1/alerts/{}/reject", other["id"].as_str().unwrap())).await;
    assert_eq!(code, 200);
    let (code, body) = c.post("/api/v1/alerts/nope/approve").await;
    assert_eq!((code, body["error"]["kind"].as_str()), (404, Some("not_found")));
    let (_, view) = c.get("/api/v1/alerts").await;
    assert!(view["held"].as_array().unwrap().is_empty());
    c.stop().await;
    e.shutdown().await;
}

#[tokio::test]
async fn the_kofi_webhook_is_verified_and_idempotent() {
    let cfg = config("user-1");
    let secrets = secrets_for(&cfg, None);
    let e = engine(cfg.clone(), secrets.clone());
    let c = Control::start(&e).await;
    let kofi = |token: &str, id: &str| {
        json!({"verification_token": token, "message_id": id, "type": "Donation", "from_name": "Jo",
               "message": "great stream", "amount": "3.50", "currency": "USD", "is_public": true})
    };
    let (code, body) = c.kofi(kofi("tok", "m1")).await;
    assert_eq!((code, body["error"]["kind"].as_str()), (403, Some("forbidden")), "not set up yet");
    secrets.set(&SecretName::KofiToken, &Secret::new("tok")).unwrap();
    let (code, _) = c.kofi(kofi("wrong", "m1")).await;
    assert_eq!(code, 403);
    let (code, first) = c.kofi(kofi("tok", "m1")).await;
    assert_eq!(code, 200, "{first}");
    let (_, again) = c.kofi(kofi("tok", "m1")).await;
    assert_eq!(first["id"], again["id"], "Ko-fi retries do not queue twice");
    let (code, _) = c.kofi("{oops").await;
    assert_eq!(code, 400);
    let (_, view) = c.get("/api/v1/alerts").await;
    let q = view["queued"].as_array().unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(
        (q[0]["kind"].as_str(), q[0]["amount"].as_f64(), q[0]["platform"].as_str()),
        (Some("donation"), Some(3.5), Some("kofi"))
    );
    c.stop().await;
    e.shutdown().await;
}

#[tokio::test]
async fn the_overlay_shows_alerts_and_paces_the_queue() {
    let mut cfg = config("user-1");
    cfg.alerts.default_duration_ms = 60_000; // only the overlay's report can end it quickly
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    let c = Control::start(&e).await;
    let key = e.overlay_key().expose().to_string();
    let page = c.http().get(format!("{}/overlay/alerts?key=wrong", c.base)).send().await.unwrap();
    assert_eq!(page.status(), 403);
    let page = c.http().get(format!("{}/overlay/alerts?key={key}", c.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("/overlay/alerts/ws"));

    e.join("window:1", streampai::SessionKind::Window, None);
    wait_until("tree", Duration::from_secs(5), || {
        e.debug_tree().users.first().is_some_and(|u| u.children.len() == 7)
    })
    .await;
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/overlay/alerts/ws?key={key}", c.addr))
            .await
            .unwrap();
    wait_until("overlay counted", Duration::from_secs(5), || e.alerts().overlays_connected() == 1).await;
    let mut events = e.subscribe();
    let (_, a) =
        post_json(&c, "/api/v1/alerts", &json!({"kind": "raid", "from": "crew", "amount": 50})).await;
    let (_, b) = post_json(&c, "/api/v1/alerts", &json!({"kind": "follow", "from": "next"})).await;
    let frame = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap().unwrap().unwrap();
    let frame: Value = serde_json::from_str(frame.to_text().unwrap()).unwrap();
    assert_eq!((frame["type"].as_str(), frame["alert"]["id"].as_str()), (Some("show"), a["id"].as_str()));
    assert_eq!(frame["duration_ms"], 60_000);
    ws.send(Message::Text(json!({"type": "finished", "id": a["id"]}).to_string().into())).await.unwrap();
    let ev =
        next_event(&mut events, Duration::from_secs(5), |ev| matches!(ev, Event::AlertFinished { .. })).await;
    assert!(
        matches!(ev, Event::AlertFinished { ref id, outcome: AlertOutcome::Shown, .. } if Some(id.as_str()) == a["id"].as_str())
    );
    let ev =
        next_event(&mut events, Duration::from_secs(5), |ev| matches!(ev, Event::AlertShown { .. })).await;
    assert!(matches!(ev, Event::AlertShown { ref alert, .. } if Some(alert.id.as_str()) == b["id"].as_str()));

    // A rotated key locks the old URL out.
    let (_, rotated) = c.post("/api/v1/overlay/rotate-key").await;
    assert_ne!(rotated["key"].as_str(), Some(key.as_str()));
    let page = c.http().get(format!("{}/overlay/alerts?key={key}", c.base)).send().await.unwrap();
    assert_eq!(page.status(), 403);
    drop(ws);
    wait_until("overlay gone", Duration::from_secs(5), || e.alerts().overlays_connected() == 0).await;
    c.stop().await;
    e.shutdown().await;
}

#[tokio::test]
async fn every_stream_is_in_the_history() {
    let rig = Rig::new(&FIVE[..2]).await;
    let c = Control::start(&rig.engine).await;
    rig.open_window("window:main");
    let uuid = rig.engine.start_stream().await.unwrap();
    rig.wait_state(StreamPhase::Live).await;
    let (_, list) = c.get("/api/v1/streams").await;
    assert_eq!(list[0]["uuid"], uuid.to_string());
    assert!(list[0]["ended_at"].is_null(), "on air");
    rig.engine.stop_stream().await.unwrap();
    wait_until_async("recorded", Duration::from_secs(5), || async {
        !c.get("/api/v1/streams").await.1[0]["ended_at"].is_null()
    })
    .await;
    let (_, list) = c.get("/api/v1/streams").await;
    let s = &list[0];
    assert_eq!((s["ended_by"].as_str(), s["backend"].as_str()), (Some("stopped"), Some("cloudflare")));
    assert_eq!(s["platforms"]["twitch-main"]["outcome"], "live");
    assert_eq!(s["platforms"]["youtube-main"]["outcome"], "live");
    c.stop().await;
    rig.shutdown().await;
}

#[tokio::test]
async fn alerts_cleared_while_the_queue_is_down_stay_cleared() {
    let cfg = config("user-1");
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    let c = Control::start(&e).await;
    for i in 0..3 {
        let (code, _) =
            post_json(&c, "/api/v1/alerts", &json!({"kind": "follow", "from": format!("f{i}")})).await;
        assert_eq!(code, 201);
    }
    let (code, _) = c.post("/api/v1/alerts/clear").await;
    assert_eq!(code, 200);
    let (_, kept) = post_json(&c, "/api/v1/alerts", &json!({"kind": "follow", "from": "after-clear"})).await;
    let mut events = e.subscribe();
    e.join("window:1", streampai::SessionKind::Window, None);
    let ev =
        next_event(&mut events, Duration::from_secs(5), |ev| matches!(ev, Event::AlertShown { .. })).await;
    assert!(
        matches!(ev, Event::AlertShown { ref alert, .. } if Some(alert.id.as_str()) == kept["id"].as_str()),
        "{ev:?}"
    );
    let (_, view) = c.get("/api/v1/alerts").await;
    assert!(view["queued"].as_array().unwrap().is_empty(), "cleared alerts did not come back: {view}");
    c.stop().await;
    e.shutdown().await;
}
