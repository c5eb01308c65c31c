//! Headless Chromium over WebDriver (Debian `chromium` + `chromium-driver`) for the tests of the
//! pages the engine serves: the OBS overlay and the sync server's phone remote.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

/// A chromedriver process with one browser session; killed on drop.
pub struct Driver {
    child: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Driver {
    /// Starts chromedriver and a headless session with its own profile in `profile`; `extra_args`
    /// go to Chromium (e.g. a window size). `None` when chromedriver is not installed.
    pub async fn start(profile: &Path, extra_args: &[&str]) -> Option<Driver> {
        let chromedriver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| Path::new(p).exists())?;
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        // Without the background-networking flags Chromium keeps dialling Google's hosts, which
        // this closed network refuses.
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ]
        .into_iter()
        .chain(extra_args.iter().copied())
        .map(str::to_string)
        .collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": args,
        }}}});
        let mut driver = Driver { child, base, session: String::new(), http };
        for _ in 0..100 {
            if let Ok(r) = driver.http.post(format!("{}/session", driver.base)).json(&caps).send().await {
                let v: Value = r.json().await.ok()?;
                let session = v["value"]["sessionId"].as_str().map(str::to_string);
                assert!(session.is_some(), "chromedriver refused the session: {v}");
                driver.session = session?;
                return Some(driver);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    /// One WebDriver command on the session; returns its `value`.
    pub async fn cmd(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let r = self.http.request(method, url).json(&body).send().await.unwrap();
        r.json::<Value>().await.unwrap()["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", json!({"url": url})).await;
    }

    /// Runs `script` (a function body) in the page and returns what it returns.
    pub async fn js(&self, script: &str) -> Value {
        self.cmd(reqwest::Method::POST, "/execute/sync", json!({"script": script, "args": []})).await
    }

    /// Polls `script` until it returns `true`, failing the test after 20 s.
    pub async fn wait_js(&self, what: &str, script: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while self.js(script).await != json!(true) {
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a PNG of the page (best effort: a screenshot is evidence, not an assertion).
    pub async fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let url = format!("{}/session/{}/screenshot", self.base, self.session);
        let Ok(r) = self.http.get(url).send().await else { return };
        let v: Value = r.json().await.unwrap_or_default();
        if let Some(b64) = v["value"].as_str() {
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(b64) {
                let _ = std::fs::write(path, bytes);
            }
        }
    }

    /// Ends the browser session (the drop kills chromedriver either way).
    pub async fn quit(&self) {
        let _ = self.cmd(reqwest::Method::DELETE, "", Value::Null).await;
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
