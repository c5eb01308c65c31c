//! `streampai account sign-in twitch` end to end: the headless engine on a machine without a
//! keyring, the CLI, and the fake Twitch. The tokens end up in the secrets file (0600) and in no
//! other file, no log line and no CLI output; sign-out removes them. (Unix: file modes, `kill`.)
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fake_platforms::twitch::Route;
use fake_platforms::{FakeTwitch, TwitchOptions};

const BIN: &str = env!("CARGO_BIN_EXE_streampai");

/// No D-Bus, no keyring daemon, no secrets in env; debug logs.
fn bare(cmd: &mut Command, home: &Path) {
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("xdg"))
        .env("RUST_LOG", "debug");
}

fn write_config(dir: &Path, fake: &FakeTwitch) -> PathBuf {
    let path = dir.join("streampai.toml");
    let text = format!(
        "user_id = \"user-1\"\n[control]\nlisten = \"127.0.0.1:0\"\n[local]\nlisten = \"127.0.0.1:0\"\n\
         [storage]\ndir = {:?}\n[twitch]\nclient_id = {:?}\nauth_url = {:?}\napi_url = {:?}\neventsub_url = {:?}\n",
        dir.join("data").display().to_string(),
        fake.client_id(),
        fake.auth_url(),
        fake.api_url(),
        fake.eventsub_url(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

struct Headless {
    child: Child,
    addr: String,
    stderr: Arc<Mutex<String>>,
}

impl Headless {
    fn start(config: &Path, home: &Path) -> Headless {
        let mut cmd = Command::new(BIN);
        bare(&mut cmd, home);
        cmd.args(["headless", "--config"]).arg(config).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn streampai headless");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (pipe, sink) = (child.stderr.take().unwrap(), stderr.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = match line.trim().strip_prefix("streampai: control API on http://") {
            Some(a) => a.to_string(),
            None => panic!("no address line: {line:?}; stderr: {}", stderr.lock().unwrap()),
        };
        Headless { child, addr, stderr }
    }

    fn cli(&self, home: &Path, config: &Path, args: &[&str]) -> Output {
        let mut cmd = Command::new(BIN);
        bare(&mut cmd, home);
        cmd.env("STREAMPAI_CONTROL_LISTEN", &self.addr).args(args).arg("--config").arg(config);
        cmd.output().unwrap()
    }

    fn stop(mut self) -> String {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(self.child.wait().unwrap().success());
        self.stderr.lock().unwrap().clone()
    }
}

/// Every file under `dir` that contains `needle` (bytes), relative to `dir`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    found.push(p.strip_prefix(dir).unwrap().display().to_string());
                }
            }
        }
    }
    found
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("JSON on stdout: {out:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_sign_in_keeps_the_tokens_in_the_secrets_file_only() {
    let fake = FakeTwitch::start(TwitchOptions {
        device_interval_secs: 1,
        keepalive_timeout_secs: 2,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &fake);
    let home = dir.path();
    let engine = Headless::start(&config, home);

    let out = engine.cli(home, &config, &["account", "sign-in", "twitch", "--no-wait"]);
    assert!(out.status.success(), "{out:?}");
    let prompt = json(&out);
    let code = prompt["user_code"].as_str().expect("a user code").to_string();
    assert!(String::from_utf8_lossy(&out.stderr).contains(&code), "the code is shown: {out:?}");
    fake.approve(&code).unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let out = engine.cli(home, &config, &["account", "status"]);
        assert!(out.status.success(), "{out:?}");
        let v = json(&out);
        if v["twitch"]["state"] == "signed_in" {
            break v;
        }
        assert!(Instant::now() < deadline, "not signed in: {v}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(status["twitch"]["login"], "streampai_tester");
    // The engine has also connected EventSub (no window needed for the account; the CLI's
    // requests do not hold the tree, so events may be off): nothing below depends on it.

    let (access, refresh) = fake.live_tokens();
    assert_eq!((access.len(), refresh.len()), (1, 1));
    for token in [&access[0], &refresh[0]] {
        assert_eq!(files_containing(dir.path(), token), vec!["data/secrets.json".to_string()]);
    }
    {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            std::fs::metadata(dir.path().join("data/secrets.json")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    let out = engine.cli(home, &config, &["account", "sign-out", "twitch"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(fake.request_count(Route::Revoke), 1);
    for token in [&access[0], &refresh[0]] {
        assert!(files_containing(dir.path(), token).is_empty(), "deleted after sign-out");
    }
    let out = engine.cli(home, &config, &["account", "status"]);
    assert_eq!(json(&out)["twitch"]["state"], "signed_out");

    let logs = engine.stop();
    assert!(logs.contains("Twitch: signed in") && logs.contains("Twitch: signed out"), "{logs}");
    for token in [&access[0], &refresh[0]] {
        assert!(!logs.contains(token.as_str()), "a token in the log");
    }
}
