//! The `streampai` binary as a user runs it: `headless` against the fake Cloudflare, the CLI
//! talking to it, config errors, a kill -9 while live and the reconcile at the next start.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_cloudflare::FakeCloudflare;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_streampai");
const TOKEN: &str = "cli-test-token";

fn write_config(dir: &Path, fake: &FakeCloudflare, extra: &str) -> std::path::PathBuf {
    let path = dir.join("streampai.toml");
    let text = format!(
        r#"user_id = "user-123"
[presence]
cleanup_timeout_ms = 300
[control]
listen = "127.0.0.1:0"
[cloudflare]
account_id = "{account}"
api_base = "{base}"
poll_interval_ms = 100
[stream]
retry_initial_ms = 20
[obs]
url = "ws://127.0.0.1:{obs_port}"
[storage]
dir = "{data}"
[[platforms]]
name = "twitch-main"
kind = "twitch"
[[platforms]]
name = "my-rtmp"
kind = "custom"
url = "rtmps://ingest.example.com:443/live"
{extra}"#,
        account = fake.account_id(),
        base = fake.base_url(),
        data = dir.join("data").display(),
        // Nothing listens there: never a real OBS on this machine.
        obs_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn base_env(cmd: &mut Command, fake: &FakeCloudflare, home: &Path) {
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("xdg"))
        .env("STREAMPAI_CONTROL_TOKEN", TOKEN)
        .env("STREAMPAI_CLOUDFLARE_API_TOKEN", fake.token())
        .env("STREAMPAI_STREAM_KEY_TWITCH_MAIN", "live_twitch_secret")
        .env("STREAMPAI_STREAM_KEY_MY_RTMP", "custom_secret")
        .env("RUST_LOG", "info");
}

struct Headless {
    child: Child,
    addr: String,
    stderr: Arc<Mutex<String>>,
}

impl Headless {
    fn start(config: &Path, fake: &FakeCloudflare, home: &Path) -> Headless {
        let mut cmd = Command::new(BIN);
        base_env(&mut cmd, fake, home);
        cmd.args(["headless", "--config"]).arg(config).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn streampai headless");
        let stderr = Arc::new(Mutex::new(String::new()));
        let err_pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err_pipe).lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).expect("read the address line");
        let addr = line
            .trim()
            .strip_prefix("streampai: control API on http://")
            .unwrap_or_else(|| panic!("{line}"))
            .to_string();
        Headless { child, addr, stderr }
    }

    fn logs(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap()
    }
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&out.stdout)))
}

/// `GET url` with the control token; the JSON body.
async fn get_json(url: &str) -> serde_json::Value {
    let resp = reqwest::Client::new().get(url).bearer_auth(TOKEN).send().await.unwrap();
    assert!(resp.status().is_success(), "GET {url}: {}", resp.status());
    resp.json().await.unwrap()
}

async fn cli_async(
    h: &Headless,
    args: &'static [&'static str],
    config: &Path,
    fake: &FakeCloudflare,
    home: &Path,
) -> Output {
    // The CLI blocks; run it off the runtime so the in-process fake keeps serving.
    let (config, home) = (config.to_path_buf(), home.to_path_buf());
    let (addr, fake_token) = (h.addr.clone(), fake.token().to_string());
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("STREAMPAI_CONTROL_TOKEN", TOKEN)
            .env("STREAMPAI_CLOUDFLARE_API_TOKEN", &fake_token)
            .env("STREAMPAI_CONTROL_LISTEN", &addr)
            .args(args)
            .arg("--config")
            .arg(&config);
        cmd.output().unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_engine_and_cli_end_to_end() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &fake, "");
    let h = Headless::start(&config, &fake, dir.path());

    let out = cli_async(&h, &["status"], &config, &fake, dir.path()).await;
    assert!(out.status.success(), "{out:?}");
    let s = json(&out);
    assert_eq!((s["manager"].as_str(), s["stream"]["state"].as_str()), (Some("stopped"), Some("offline")));

    // A client connects: the tree starts.
    let url = format!("ws://{}/api/v1/events?token={TOKEN}", h.addr);
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    wait_until_async("tree running", Duration::from_secs(10), || async {
        json(&cli_async(&h, &["status"], &config, &fake, dir.path()).await)["manager"] == "running"
    })
    .await;
    // OBS starts sending: detected.
    wait_until("input created", Duration::from_secs(10), || fake.live_inputs().len() == 1).await;
    let input = fake.live_inputs()[0].uid.clone();
    fake.set_connected(&input, true).unwrap();
    wait_until_async("traffic detected", Duration::from_secs(10), || async {
        json(&cli_async(&h, &["status"], &config, &fake, dir.path()).await)["input"] == "receiving_traffic"
    })
    .await;

    let out = cli_async(&h, &["start"], &config, &fake, dir.path()).await;
    assert!(out.status.success(), "{out:?}");
    let uuid = json(&out)["uuid"].as_str().unwrap().to_string();
    wait_until_async("live", Duration::from_secs(10), || async {
        json(&cli_async(&h, &["status"], &config, &fake, dir.path()).await)["stream"]["state"] == "live"
    })
    .await;
    assert_eq!(fake.outputs(&input).len(), 2);
    let out = cli_async(&h, &["start"], &config, &fake, dir.path()).await;
    assert_eq!(out.status.code(), Some(1), "start while live → 409 → exit 1");
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_transition"));

    let out = cli_async(&h, &["debug"], &config, &fake, dir.path()).await;
    let d = json(&out);
    let children = d["users"][0]["children"].as_array().unwrap();
    let platforms = children.iter().find(|c| c["id"] == "PlatformSupervisor").unwrap();
    assert_eq!(platforms["children"].as_array().unwrap().len(), 2, "{d}");

    let out = cli_async(&h, &["stop"], &config, &fake, dir.path()).await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(json(&out)["uuid"].as_str(), Some(uuid.as_str()));
    assert!(fake.outputs(&input).is_empty());

    // The client leaves: the tree stops after the grace.
    drop(ws);
    wait_until_async("tree stopped", Duration::from_secs(10), || async {
        json(&cli_async(&h, &["status"], &config, &fake, dir.path()).await)["manager"] == "stopped"
    })
    .await;

    let logs = h.logs();
    assert!(logs.contains("[UserStreamManager:user-123]"), "{logs}");
    assert!(logs.contains("[PlatformWorker:user-123:twitch-main]"), "{logs}");
    for secret in ["live_twitch_secret", "custom_secret", fake.token(), TOKEN] {
        assert!(!logs.contains(secret), "a secret reached the log: {secret}");
    }
    let status = tokio::task::spawn_blocking(move || h.terminate()).await.unwrap();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_while_live_is_reconciled_at_the_next_start() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &fake, "");
    let h = Headless::start(&config, &fake, dir.path());
    let out = cli_async(&h, &["start"], &config, &fake, dir.path()).await;
    assert!(out.status.success(), "{out:?}");
    wait_until("two outputs", Duration::from_secs(10), || {
        fake.live_inputs().first().is_some_and(|i| fake.outputs(&i.uid).len() == 2)
    })
    .await;
    let input = fake.live_inputs()[0].uid.clone();
    let old: Vec<String> = fake.outputs(&input).into_iter().map(|o| o.uid).collect();
    let mut child = h.child;
    child.kill().unwrap(); // SIGKILL: no cleanup at all
    child.wait().unwrap();
    assert_eq!(fake.outputs(&input).len(), 2, "the outputs outlive the crash");

    let h = Headless::start(&config, &fake, dir.path());
    let out = cli_async(&h, &["start"], &config, &fake, dir.path()).await;
    assert!(out.status.success(), "{out:?}");
    wait_until("fresh outputs only", Duration::from_secs(10), || {
        let now = fake.outputs(&input);
        now.len() == 2 && now.iter().all(|o| !old.contains(&o.uid))
    })
    .await;
    assert_eq!(fake.live_inputs().len(), 1, "the stored live input was reused");
    // The history knows the first stream was cut short.
    let streams = json(&cli_async(&h, &["status"], &config, &fake, dir.path()).await);
    assert_eq!(streams["stream"]["state"], "live");
    let list = get_json(&format!("http://{}/api/v1/streams", h.addr)).await;
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    assert!(list[0]["ended_at"].is_null(), "the new stream is on air");
    assert_eq!(list[1]["ended_by"], "crashed", "{list}");
    assert!(!list[1]["ended_at"].is_null());
    let out = cli_async(&h, &["stop"], &config, &fake, dir.path()).await;
    assert!(out.status.success());
    assert!(fake.outputs(&input).is_empty());
    tokio::task::spawn_blocking(move || h.terminate()).await.unwrap();
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configs_exit_2_naming_the_key() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("user_id = \n", "(file)"),
        ("user_id = \"u\"\n[[platforms]]\nname = \"a\"\nkind = \"myspace\"\n", "platforms[0].kind"),
        ("user_id = \"u\"\n[[platforms]]\nname = \"a\"\nkind = \"custom\"\nurl = \"ftp://x\"\n", "platforms[0].url"),
        ("user_id = \"u\"\n[[platforms]]\nname = \"a\"\nkind = \"kick\"\n[[platforms]]\nname = \"a\"\nkind = \"kick\"\n", "platforms[1].name"),
        ("user_id = \"u\"\n[obs]\nurl = \"http://127.0.0.1:4455\"\n", "obs.url"),
    ];
    for (text, key) in cases {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        let mut cmd = Command::new(BIN);
        base_env(&mut cmd, &fake, dir.path());
        let out = cmd.args(["headless", "--config"]).arg(&path).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(key), "{text}: message should name {key}: {err}");
        assert!(out.stdout.is_empty(), "nothing started: {}", String::from_utf8_lossy(&out.stdout));
    }
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_fails_clearly_without_an_instance_or_with_a_wrong_token() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &fake, "");
    let mut cmd = Command::new(BIN);
    base_env(&mut cmd, &fake, dir.path());
    let out = cmd
        .env("STREAMPAI_CONTROL_LISTEN", "127.0.0.1:1")
        .args(["status", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no streampai instance"), "{out:?}");

    let h = Headless::start(&config, &fake, dir.path());
    let mut cmd = Command::new(BIN);
    base_env(&mut cmd, &fake, dir.path());
    let addr = h.addr.clone();
    let out = tokio::task::spawn_blocking(move || {
        cmd.env("STREAMPAI_CONTROL_TOKEN", "wrong")
            .env("STREAMPAI_CONTROL_LISTEN", addr)
            .args(["status"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unauthorized"));
    tokio::task::spawn_blocking(move || h.terminate()).await.unwrap();
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_mid_burst_loses_no_accepted_alert_and_duplicates_none() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &fake, "");
    let h = Headless::start(&config, &fake, dir.path());
    let base = format!("http://{}", h.addr);
    let http = reqwest::Client::new();
    const TOTAL: usize = 400;
    let accepted = Arc::new(Mutex::new(Vec::<(usize, String)>::new()));
    let mut senders = vec![];
    for lane in 0..8 {
        let (http, base, accepted) = (http.clone(), base.clone(), accepted.clone());
        senders.push(tokio::spawn(async move {
            for i in (lane..TOTAL).step_by(8) {
                let body = serde_json::json!({"kind": "follow", "from": format!("viewer-{i}"), "idempotency_key": format!("k-{i}")});
                match http.post(format!("{base}/api/v1/alerts")).bearer_auth(TOKEN).json(&body).send().await {
                    Ok(r) if r.status().is_success() => {
                        let v: serde_json::Value = r.json().await.unwrap();
                        accepted.lock().unwrap().push((i, v["id"].as_str().unwrap().to_string()));
                    }
                    _ => return, // the server is gone
                }
            }
        }));
    }
    wait_until("a good part of the burst is in", Duration::from_secs(30), || {
        accepted.lock().unwrap().len() >= TOTAL / 4
    })
    .await;
    let mut child = h.child;
    child.kill().unwrap(); // SIGKILL in the middle of the burst
    child.wait().unwrap();
    for s in senders {
        s.await.unwrap();
    }
    let acked = accepted.lock().unwrap().clone();
    assert!(acked.len() < TOTAL, "the kill landed mid-burst ({} of {TOTAL})", acked.len());

    let h = Headless::start(&config, &fake, dir.path());
    let base = format!("http://{}", h.addr);
    let view = get_json(&format!("{base}/api/v1/alerts")).await;
    let queued: Vec<String> =
        view["queued"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect();
    for (i, id) in &acked {
        assert_eq!(
            queued.iter().filter(|q| *q == id).count(),
            1,
            "accepted alert {i} ({id}) must be there exactly once"
        );
    }
    // The sender retries everything with the same keys: nothing is queued twice.
    for i in 0..TOTAL {
        let body = serde_json::json!({"kind": "follow", "from": format!("viewer-{i}"), "idempotency_key": format!("k-{i}")});
        let r =
            http.post(format!("{base}/api/v1/alerts")).bearer_auth(TOKEN).json(&body).send().await.unwrap();
        assert!(r.status().is_success());
        let v: serde_json::Value = r.json().await.unwrap();
        if let Some((_, id)) = acked.iter().find(|(j, _)| *j == i) {
            assert_eq!(v["id"].as_str(), Some(id.as_str()), "same key, same alert");
        }
    }
    let view = get_json(&format!("{base}/api/v1/alerts")).await;
    assert_eq!(view["queued"].as_array().unwrap().len(), TOTAL, "every alert exactly once");
    tokio::task::spawn_blocking(move || h.terminate()).await.unwrap();
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_test_from_the_cli() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &fake, "");
    let h = Headless::start(&config, &fake, dir.path());
    let out = cli_async(&h, &["alert", "test"], &config, &fake, dir.path()).await;
    assert!(out.status.success(), "{out:?}");
    let id = json(&out)["id"].as_str().unwrap().to_string();
    let view = get_json(&format!("http://{}/api/v1/alerts", h.addr)).await;
    assert_eq!(view["queued"][0]["id"], id.as_str());
    assert_eq!(view["queued"][0]["from"], "Streampai test");
    tokio::task::spawn_blocking(move || h.terminate()).await.unwrap();
    fake.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obs_from_the_cli() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &fake, "");
    let h = Headless::start(&config, &fake, dir.path());
    // A window-less headless engine runs no tree: OBS is off.
    let out = cli_async(&h, &["obs", "status"], &config, &fake, dir.path()).await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(json(&out)["state"], "off");
    let out = cli_async(&h, &["obs", "setup"], &config, &fake, dir.path()).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not_running"), "{out:?}");
    // The password from standard input: empty is refused naming the field; a real one is kept.
    let out = cli_async(&h, &["obs", "password"], &config, &fake, dir.path()).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("obs.password"), "{out:?}");
    let (addr, cfg) = (h.addr.clone(), config.clone());
    let home = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = Command::new(BIN)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("STREAMPAI_CONTROL_TOKEN", TOKEN)
            .env("STREAMPAI_CONTROL_LISTEN", &addr)
            .args(["obs", "password", "--config"])
            .arg(&cfg)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"cli-obs-secret\n").unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("cli-obs-secret"));
    let logs = tokio::task::spawn_blocking(move || {
        let logs = h.logs();
        h.terminate();
        logs
    })
    .await
    .unwrap();
    assert!(!logs.contains("cli-obs-secret"), "the password never reaches the log");
    fake.shutdown().await;
}
