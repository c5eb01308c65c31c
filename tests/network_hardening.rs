//! Issue 11 over real loopback sockets, the control API's side: no donation is lost (finding 6),
//! every error is JSON, the Host header is checked, the bearer scheme is case-insensitive and a
//! device name is bounded (finding 7, and the `?device=` part of finding 5).

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use streampai::secrets::{Secret, SecretName, SecretStore};
use support::*;

#[tokio::test]
async fn no_kofi_donation_is_lost() {
    let cfg = config("user-1");
    let secrets = secrets_for(&cfg, None);
    secrets.set(&SecretName::KofiToken, &Secret::new("tok")).unwrap();
    let e = engine(cfg.clone(), secrets);
    let c = Control::start(&e).await;
    let long_name = "N".repeat(150);
    let long_message = "m".repeat(800);
    let cases = [
        json!({"message_id": "empty-name", "from_name": "", "amount": "3.00", "currency": "EUR"}),
        json!({"message_id": "long-name", "from_name": long_name, "amount": "5.00"}),
        json!({"message_id": "long-message", "from_name": "Ann", "message": long_message, "amount": "1.00"}),
        json!({"message_id": "comma", "from_name": "Bo", "amount": "3,00", "currency": "EUR"}),
        json!({"message_id": "thousands", "from_name": "Cy", "amount": "1.234,56", "currency": "EUR"}),
        json!({"message_id": "unreadable", "from_name": "Di", "amount": "a lot", "message": "hi"}),
    ];
    let mut ids = std::collections::HashMap::new();
    for mut case in cases {
        case["verification_token"] = json!("tok");
        let key = case["message_id"].as_str().unwrap().to_string();
        let (code, body) = c.kofi(&case).await;
        assert_eq!(code, 200, "{key}: a donor's payment is never refused: {body}");
        ids.insert(key, body["id"].as_str().unwrap().to_string());
    }
    let (_, view) = c.get("/api/v1/alerts").await;
    let find = |key: &str| -> Value {
        let id = &ids[key];
        let all = view["queued"].as_array().unwrap().iter().chain(view["held"].as_array().unwrap());
        all.into_iter().find(|a| a["id"] == id.as_str()).cloned().unwrap_or_else(|| panic!("{key} not kept"))
    };
    assert_eq!(find("empty-name")["from"], "Anonymous");
    let name = find("long-name")["from"].as_str().unwrap().to_string();
    assert!(name.chars().count() == 100 && name.ends_with('…'), "{name}");
    let msg = find("long-message")["message"].as_str().unwrap().to_string();
    assert!(msg.chars().count() == 500 && msg.ends_with('…'));
    assert_eq!(find("comma")["amount"], 3.0);
    assert_eq!(find("thousands")["amount"], 1234.56);
    // Unreadable: held for the streamer, with the reason and the donor's message.
    let held = &view["held"].as_array().unwrap();
    let unreadable = held.iter().find(|a| a["id"] == ids["unreadable"].as_str()).expect("held");
    let note = unreadable["message"].as_str().unwrap();
    assert!(note.contains("a lot") && note.ends_with("hi"), "{note}");
    // A wrong token or a body that is not Ko-fi's is still refused: nothing to trust.
    let (code, _) = c.kofi(&json!({"verification_token": "nope", "from_name": "x"})).await;
    assert_eq!(code, 403);
    // The API's own route (for tools) keeps its strict contract.
    let res = c
        .http()
        .post(format!("{}/api/v1/alerts", c.base))
        .bearer_auth(&c.token)
        .json(&json!({"kind": "donation", "from": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    c.stop().await;
    e.shutdown().await;
}

async fn raw(c: &Control, req: reqwest::RequestBuilder) -> (u16, String, Value) {
    let res = req.send().await.unwrap();
    let code = res.status().as_u16();
    let ctype = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let _ = c;
    (code, ctype, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_error_is_json_and_foreign_hosts_are_refused() {
    let cfg = config("user-1");
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    let c = Control::start(&e).await;
    let http = c.http();
    let url = |p: &str| format!("{}{p}", c.base);
    let cases = [
        ("405", http.post(url("/api/v1/status")).bearer_auth(&c.token), 405, "method_not_allowed"),
        (
            "bad percent-encoding",
            http.get(url("/api/v1/streams/%FF")).bearer_auth(&c.token),
            400,
            "bad_request",
        ),
        ("not a WebSocket", http.get(url("/api/v1/events")).bearer_auth(&c.token), 400, "bad_request"),
        ("unknown route", http.get(url("/nope")), 404, "not_found"),
        (
            "DNS rebinding",
            http.get(url("/api/v1/status")).bearer_auth(&c.token).header("host", "evil.example"),
            403,
            "forbidden",
        ),
    ];
    for (what, req, code, kind) in cases {
        let (got, ctype, body) = raw(&c, req).await;
        assert_eq!(got, code, "{what}: {body}");
        assert!(ctype.starts_with("application/json"), "{what}: {ctype}");
        assert_eq!(body["error"]["kind"], kind, "{what}: {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {body}");
    }
    // Loopback names pass; the bearer scheme in any case (RFC 7235).
    let port = c.addr.port();
    for (host, scheme) in [(format!("localhost:{port}"), "bearer"), (format!("127.0.0.1:{port}"), "BEARER")] {
        let res = http
            .get(url("/api/v1/status"))
            .header("host", host.as_str())
            .header("authorization", format!("{scheme} {}", c.token))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{host} {scheme}");
    }
    c.stop().await;
    e.shutdown().await;
}

#[tokio::test]
async fn a_device_name_is_bounded_and_free_of_control_characters() {
    let cfg = config("user-1");
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    let c = Control::start(&e).await;
    let forged = format!("phone\n2026-01-01T00:00:00Z  WARN forged\u{1b}[31m{}", "x".repeat(8192));
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", &c.token)
        .append_pair("device", &forged)
        .finish();
    let (_ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/v1/events?{q}", c.addr)).await.unwrap();
    let t = std::time::Instant::now();
    let device = loop {
        let (_, debug) = c.get("/api/v1/debug").await;
        let sessions = debug["users"][0]["sessions"].as_array().cloned().unwrap_or_default();
        if let Some(d) = sessions.iter().find_map(|s| s["device"].as_str().map(str::to_string)) {
            break d;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "the events socket never showed in presence: {debug}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(device.chars().count() <= 64, "{} chars", device.chars().count());
    assert!(!device.chars().any(char::is_control), "{device:?}");
    assert!(device.starts_with("phone2026-01-01"), "{device:?}");
    c.stop().await;
    e.shutdown().await;
}
