//! The headless engine on a server without a keyring (no D-Bus session, so no Secret Service):
//! secrets go to `<data dir>/secrets.json`, so the control token and the overlay key survive a
//! restart (the OBS overlay URL keeps working) and the CLI finds the token without env vars.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};

const BIN: &str = env!("CARGO_BIN_EXE_streampai");

/// No D-Bus, no keyring daemon, no secrets in env: a bare server.
fn bare(cmd: &mut Command, home: &Path) {
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("xdg"))
        .env("RUST_LOG", "info");
}

fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("streampai.toml");
    let text = format!(
        "user_id = \"user-1\"\n[control]\nlisten = \"127.0.0.1:0\"\n[local]\nlisten = \"127.0.0.1:0\"\n[storage]\ndir = {:?}\n",
        dir.join("data").display().to_string()
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
    fn logs(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
    fn stop(mut self) -> String {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(self.child.wait().unwrap().success());
        self.logs()
    }
    /// The HTTP status of `GET path` (no token).
    fn get_status(&self, path: &str) -> u16 {
        let mut s = std::net::TcpStream::connect(&self.addr).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: {}\r\n\r\n", self.addr).unwrap();
        let mut head = String::new();
        s.read_to_string(&mut head).unwrap();
        head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
    }
    fn cli_status(&self, home: &Path, config: &Path) -> Output {
        let mut cmd = Command::new(BIN);
        bare(&mut cmd, home);
        // `--config` names the data folder (and so the secrets file); env gives the live address.
        cmd.env("STREAMPAI_CONTROL_LISTEN", &self.addr).arg("status").arg("--config").arg(config);
        cmd.output().unwrap()
    }
}

fn stored(data: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(data.join("secrets.json")).expect("the secrets file");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn without_a_keyring_the_overlay_key_and_the_control_token_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let data = dir.path().join("data");

    let first = Headless::start(&config, dir.path());
    let secrets = stored(&data);
    let overlay = secrets["secrets"]["overlay-key"].as_str().expect("overlay key stored").to_string();
    assert!(secrets["secrets"]["control-token"].is_string(), "control token stored");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("secrets.json")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert_eq!(first.get_status(&format!("/overlay/alerts?key={overlay}")), 200);
    let out = first.cli_status(dir.path(), &config);
    assert!(out.status.success(), "the CLI reads the token from the file: {out:?}");
    let logs = first.stop();
    assert!(logs.contains("secrets are stored in") && logs.contains("secrets.json"), "said once: {logs}");
    assert!(logs.contains("saved it in the secrets file"), "{logs}");

    // Restart: the same overlay URL still works, no new token is made, the CLI still gets in.
    let second = Headless::start(&config, dir.path());
    assert_eq!(second.get_status(&format!("/overlay/alerts?key={overlay}")), 200, "{}", second.logs());
    assert_ne!(second.get_status("/overlay/alerts?key=wrong"), 200);
    let out = second.cli_status(dir.path(), &config);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"stream\""), "{out:?}");
    let logs = second.stop();
    assert!(!logs.contains("generated a control token"), "{logs}");
    assert_eq!(stored(&data)["secrets"]["overlay-key"].as_str(), Some(overlay.as_str()));
}
