//! `streampai headless` as a child process on a bare machine (no D-Bus, no keyring daemon, no
//! secrets in env), and the CLI pointed at it.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};

/// The `streampai` binary (set by cargo for integration tests; the in-crate tests that share
/// `tests/support` never start it).
pub fn bin() -> &'static str {
    match option_env!("CARGO_BIN_EXE_streampai") {
        Some(path) => path,
        None => panic!("only integration tests start the streampai binary"),
    }
}

/// No D-Bus, no keyring daemon, no secrets in env: a bare server; `RUST_LOG=log`.
pub fn bare(cmd: &mut Command, home: &Path, log: &str) {
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("xdg"))
        .env("RUST_LOG", log);
}

/// A config file in `dir` for a headless engine on loopback ports, its data in `dir/data`, and
/// then `sections` (TOML).
pub fn config_file(dir: &Path, sections: &str) -> std::path::PathBuf {
    let path = dir.join("streampai.toml");
    let text = format!(
        "user_id = \"user-1\"\n[control]\nlisten = \"127.0.0.1:0\"\n[local]\nlisten = \"127.0.0.1:0\"\n\
         [storage]\ndir = {:?}\n{sections}",
        dir.join("data").display().to_string(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// [`config_file`] with OBS off and `[twitch]` pointed at the fake Twitch.
pub fn twitch_config_file(dir: &Path, fake: &fake_platforms::FakeTwitch) -> std::path::PathBuf {
    let sections = format!(
        "[obs]\nenabled = false\n[twitch]\nclient_id = {:?}\nauth_url = {:?}\napi_url = {:?}\n\
         eventsub_url = {:?}\n",
        fake.client_id(),
        fake.auth_url(),
        fake.api_url(),
        fake.eventsub_url(),
    );
    config_file(dir, &sections)
}

/// [`config_file`] with `[youtube]` pointed at the fake YouTube.
pub fn youtube_config_file(dir: &Path, fake: &fake_platforms::FakeYouTube) -> std::path::PathBuf {
    let sections = format!(
        "[youtube]\nclient_id = {:?}\nclient_secret = {:?}\nauth_url = {:?}\ntoken_url = {:?}\n\
         api_url = {:?}\n",
        fake.client_id(),
        fake.client_secret(),
        fake.auth_url(),
        fake.token_url(),
        fake.api_url(),
    );
    config_file(dir, &sections)
}

/// The signed-in `tokens` are in the secrets file (mode 0600 on Unix) and in no other file
/// under `dir`.
pub fn assert_only_in_the_secrets_file(dir: &Path, tokens: &[&String]) {
    for token in tokens {
        assert_eq!(files_containing(dir, token), vec!["data/secrets.json".to_string()]);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("data/secrets.json")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

/// None of `tokens` is in any file under `dir`.
pub fn assert_in_no_file(dir: &Path, tokens: &[&String]) {
    for token in tokens {
        assert!(files_containing(dir, token).is_empty(), "deleted after sign-out");
    }
}

/// A CLI run's standard output as JSON.
pub fn stdout_json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("JSON on stdout: {out:?}"))
}

/// A running `streampai headless --config CONFIG`; its stderr is collected.
pub struct Headless {
    child: Child,
    pub addr: String,
    home: std::path::PathBuf,
    log: String,
    stderr: Arc<Mutex<String>>,
}

impl Headless {
    /// Starts it with `HOME=home` and `RUST_LOG=log`, and waits for its address line.
    pub fn start(config: &Path, home: &Path, log: &str) -> Headless {
        let mut cmd = Command::new(bin());
        bare(&mut cmd, home, log);
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
        Headless { child, addr, home: home.to_path_buf(), log: log.to_string(), stderr }
    }

    /// The logs so far.
    pub fn logs(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// `streampai ARGS --config CONFIG` on the same bare machine (`--config` names the data
    /// folder, and so the secrets file; env gives the live address).
    pub fn cli(&self, config: &Path, args: &[&str]) -> Output {
        let mut cmd = Command::new(bin());
        bare(&mut cmd, &self.home, &self.log);
        cmd.env("STREAMPAI_CONTROL_LISTEN", &self.addr).args(args).arg("--config").arg(config);
        cmd.output().unwrap()
    }

    /// The HTTP status of `GET path` (no token).
    pub fn get_status(&self, path: &str) -> u16 {
        let mut s = std::net::TcpStream::connect(&self.addr).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: {}\r\n\r\n", self.addr).unwrap();
        let mut head = String::new();
        s.read_to_string(&mut head).unwrap();
        head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
    }

    /// SIGTERM (via `kill`), asserts a clean exit, and returns all its logs.
    pub fn stop(mut self) -> String {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(self.child.wait().unwrap().success());
        self.logs()
    }
}

impl Headless {
    /// `streampai account status` until `platform` is signed in (30 s at most): its object.
    pub async fn wait_signed_in(&self, config: &Path, platform: &str) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let out = self.cli(config, &["account", "status"]);
            assert!(out.status.success(), "{out:?}");
            let v = stdout_json(&out);
            if v[platform]["state"] == "signed_in" {
                return v[platform].clone();
            }
            assert!(std::time::Instant::now() < deadline, "not signed in: {v}");
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
    }
}

/// Every file under `dir` that contains `needle` (bytes), relative to `dir`.
pub fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
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
