//! The OBS overlay page in a real headless Chromium (Debian `chromium` + `chromium-driver`,
//! driven over WebDriver): an alert posted to the API appears on the page, and the page reports
//! when it finished showing.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use streampai::events::AlertOutcome;
use streampai::Event;
use streampai::SessionKind;
use support::browser::Driver;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_posted_to_the_api_appears_on_the_overlay_in_chromium() {
    let profile = tempfile::tempdir().unwrap();
    let Some(driver) = Driver::start(profile.path(), &[]).await else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium-driver must be installed in CI (scripts/deps.sh)"
        );
        eprintln!("SKIP: chromium/chromedriver not installed (scripts/deps.sh installs them)");
        return;
    };
    let mut cfg = config("user-1");
    cfg.alerts.default_duration_ms = 2000;
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    let c = Control::start(&e).await;
    e.join("window:1", SessionKind::Window, None);
    wait_until("tree", Duration::from_secs(5), || {
        e.debug_tree().users.first().is_some_and(|u| u.children.len() == 7)
    })
    .await;

    driver.goto(&format!("{}/overlay/alerts?key={}", c.base, e.overlay_key().expose())).await;
    wait_until("overlay connected", Duration::from_secs(15), || e.alerts().overlays_connected() == 1).await;
    let mut events = e.subscribe();
    let body = json!({"kind": "donation", "from": "Chromium Fan", "amount": 7, "currency": "USD", "message": "hello overlay"});
    let r = c
        .http()
        .post(format!("{}/api/v1/alerts", c.base))
        .bearer_auth(&c.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();

    // What a viewer sees: the alert box visible ("on") with the alert's words.
    let probe = "const b = document.getElementById('alert'); return {on: b.classList.contains('on'), \
                 headline: document.getElementById('headline').textContent, \
                 message: document.getElementById('message').textContent};";
    let mut seen = Value::Null;
    for _ in 0..100 {
        seen = driver.cmd(reqwest::Method::POST, "/execute/sync", json!({"script": probe, "args": []})).await;
        if seen["on"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen["on"], true, "the alert box never showed: {seen}");
    let headline = seen["headline"].as_str().unwrap_or_default();
    assert!(headline.contains("Chromium Fan donated") && headline.contains('7'), "headline: {headline:?}");
    assert_eq!(seen["message"], "hello overlay");
    // The page reports the alert done after its 2 s; the queue's own timer would wait 7 s.
    let t0 = std::time::Instant::now();
    let ev = next_event(&mut events, Duration::from_secs(10), |ev| matches!(ev, Event::AlertFinished { .. }))
        .await;
    assert!(
        matches!(ev, Event::AlertFinished { id: ref got, outcome: AlertOutcome::Shown, .. } if *got == id)
    );
    assert!(
        t0.elapsed() < Duration::from_secs(6),
        "advanced on the overlay's report, not the fallback timer"
    );
    driver.quit().await;
    c.stop().await;
    e.shutdown().await;
}
