//! The OBS overlay page in a real headless Chromium (Debian `chromium` + `chromium-driver`,
//! driven over WebDriver): an alert posted to the API appears on the page, and the page reports
//! when it finished showing.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use streampai::events::AlertOutcome;
use streampai::presence::SessionKind;
use streampai::Event;
use support::*;

struct Driver {
    child: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Driver {
    async fn start(profile: &std::path::Path) -> Option<Driver> {
        let chromedriver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())?;
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     format!("--user-data-dir={}", profile.display())]
        }}}});
        let mut session = None;
        for _ in 0..100 {
            if let Ok(r) = http.post(format!("{base}/session")).json(&caps).send().await {
                let v: Value = r.json().await.ok()?;
                session = v["value"]["sessionId"].as_str().map(str::to_string);
                assert!(session.is_some(), "chromedriver refused the session: {v}");
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some(Driver { child, base, session: session?, http })
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let r = self.http.request(method, url).json(&body).send().await.unwrap();
        r.json::<Value>().await.unwrap()["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", json!({"url": url})).await;
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_posted_to_the_api_appears_on_the_overlay_in_chromium() {
    let profile = tempfile::tempdir().unwrap();
    let Some(driver) = Driver::start(profile.path()).await else {
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
    e.presence().track("user-1", "window:1", SessionKind::Window, None);
    wait_until("tree", Duration::from_secs(5), || e.user().tree_children().len() == 6).await;

    driver.goto(&format!("{}/overlay/alerts?key={}", c.base, e.overlay_key().expose())).await;
    wait_until("overlay connected", Duration::from_secs(15), || {
        e.user().overlays.load(std::sync::atomic::Ordering::SeqCst) == 1
    })
    .await;
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
    let _ = driver.cmd(reqwest::Method::DELETE, "", Value::Null).await;
    c.stop().await;
    e.shutdown().await;
}
