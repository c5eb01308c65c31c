//! Issue 11, finding 5: text a stranger sets (an alert's sender, a Ko-fi donor's name) never
//! forges a log line nor reaches the log with raw control characters. (Sync device ids cannot
//! carry any: the protocol refuses them before anything is logged.) And a burst of refusals
//! writes one line, not one each.
//! One test in its own binary: it owns the process's tracing subscriber and reads what it wrote.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use streampai::secrets::{Secret, SecretName, SecretStore};
use streampai::Event;
use support::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// What an attacker sends: a newline and a line of their own, then an ESC colour sequence.
const FORGED: &str = "ann\nFORGED  WARN streampai: the stream key is 1234\u{1b}[31m";

#[tokio::test]
async fn forged_newlines_and_escapes_never_reach_the_log_raw() {
    let log = Captured::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug,hyper=info,reqwest=info,tungstenite=info,tokio_tungstenite=info")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let cfg = config("user-1");
    let secrets = secrets_for(&cfg, None);
    secrets.set(&SecretName::KofiToken, &Secret::new("tok")).unwrap();
    let e = engine(cfg.clone(), secrets);
    let c = Control::start(&e).await;
    let mut events = e.subscribe();

    // An alert from a tool, shown once the tree runs ("alert shown" logs the sender).
    let res = c
        .http()
        .post(format!("{}/api/v1/alerts", c.base))
        .bearer_auth(&c.token)
        .json(&json!({"kind": "donation", "from": FORGED, "amount": 5.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    e.join("window:1", streampai::SessionKind::Window, None);
    next_event(&mut events, Duration::from_secs(10), |ev| matches!(ev, Event::AlertShown { .. })).await;

    // A Ko-fi donor with a forged name and an amount nobody can read (logged as held).
    let data = json!({"verification_token": "tok", "message_id": "m1", "from_name": FORGED, "amount": "?"});
    assert_eq!(c.kofi(&data).await.0, 200);

    for what in ["alert shown", "partly unreadable"] {
        wait_until(what, Duration::from_secs(10), || log.text().contains(what)).await;
    }
    let text = log.text();
    assert!(!text.contains('\u{1b}'), "a raw ESC reached the log:\n{text}");
    for line in text.lines() {
        assert!(!line.starts_with("FORGED"), "a forged line:\n{line}");
    }
    // The fields were logged, escaped, so the test can see them.
    assert!(text.contains("ann\\nFORGED"), "{text}");

    // Issue 11, finding 2's log part on this listener: a burst of 1,000 wrong tokens writes one
    // short line with a count, not a line each.
    let before = log.text().len();
    let http = c.http();
    for _ in 0..1000 {
        let res = http.get(format!("{}/api/v1/status", c.base)).bearer_auth("wrong").send().await.unwrap();
        assert_eq!(res.status(), 401);
    }
    let grown = &log.text()[before..];
    assert_eq!(grown.matches("wrong token").count(), 1, "{grown}");
    assert!(grown.len() < 10 * 1024, "{} bytes of log for 1,000 refusals", grown.len());
    c.stop().await;
    e.shutdown().await;
}
