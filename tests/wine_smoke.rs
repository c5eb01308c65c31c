//! The cross-built Windows engine (`streampai.exe headless`) under Wine, as a smoke test of the
//! Windows build: control API, a WebSocket client as a presence session, an RTMP publish from
//! ffmpeg on the local ingest relayed to nginx-rtmp (frame counts), and a clean stop on Ctrl-C.
//!
//! Ignored by default; `scripts/wine-smoke.sh` builds the `.exe` (+ the test-only
//! `bcryptprimitives.dll` shim Debian's Wine 8 needs) and runs it with `STREAMPAI_WINDOWS_EXE`
//! and `WINE` set. What it proves and what only a real Windows machine can: README, "Windows".

#[path = "relay_support/mod.rs"]
#[macro_use]
mod relay_support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use relay_support::{free_port, media, publish, Nginx};
use serde_json::Value;

const TOKEN: &str = "wine-control-token";
const INGEST_KEY: &str = "wine-ingest-key";

async fn get(client: &reqwest::Client, base: &str, path: &str) -> Value {
    let res = client.get(format!("{base}{path}")).bearer_auth(TOKEN).send().await.expect("GET");
    res.json().await.expect("JSON")
}

async fn until(what: &str, timeout: Duration, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Starts `cmd` and collects its stdout and stderr, line by line, as they come (one string for
/// both).
fn spawn_collecting(cmd: &mut Command) -> (Child, Arc<Mutex<String>>) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start wine");
    let out = Arc::new(Mutex::new(String::new()));
    for pipe in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let sink = out.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
    }
    (child, out)
}

/// How the engine exited, waiting up to 20 s; kills it and fails with its log if it goes on.
fn stopped(child: &mut Child, when: &str, log: impl Fn() -> String) -> ExitStatus {
    let status = (0..100).find_map(|_| {
        std::thread::sleep(Duration::from_millis(200));
        child.try_wait().ok().flatten()
    });
    let Some(status) = status else {
        let _ = child.kill();
        panic!("the engine did not stop {when}:\n{}", log());
    };
    status
}

#[tokio::test]
#[ignore = "needs the cross-built .exe and wine64: scripts/wine-smoke.sh"]
async fn the_windows_engine_runs_under_wine_and_relays_obs() {
    require_tools!();
    let exe = PathBuf::from(std::env::var("STREAMPAI_WINDOWS_EXE").expect("STREAMPAI_WINDOWS_EXE"));
    let wine = std::env::var("WINE").unwrap_or_else(|_| "wine64".into());
    assert!(exe.exists(), "{}", exe.display());
    let nginx = Nginx::start(&["tw"]);
    let dir = tempfile::tempdir().unwrap();
    let (control, ingest) = (free_port(), free_port());
    let config = dir.path().join("streampai.toml");
    std::fs::write(
        &config,
        format!(
            r#"user_id = "wine-user"
ingest = "local"
[presence]
cleanup_timeout_ms = 1000
[control]
listen = "127.0.0.1:{control}"
[local]
listen = "127.0.0.1:{ingest}"
[storage]
dir = "{data}"
[[platforms]]
name = "tw-main"
kind = "custom"
url = "{url}"
"#,
            data = dir.path().join("data").display(),
            url = nginx.url("tw"),
        ),
    )
    .unwrap();
    let prefix = dir.path().join("wineprefix");
    let mut cmd = Command::new(&wine);
    cmd.arg(&exe)
        .args(["headless", "--config"])
        .arg(&config)
        .env("WINEPREFIX", &prefix)
        .env("WINEDEBUG", "-all")
        .env("STREAMPAI_CONTROL_TOKEN", TOKEN)
        .env("STREAMPAI_INGEST_KEY", INGEST_KEY)
        .env("STREAMPAI_STREAM_KEY_TW_MAIN", "tw-key")
        .env("RUST_LOG", "info");
    let (mut child, out) = spawn_collecting(&mut cmd);
    let log = || out.lock().unwrap().clone();
    let base = format!("http://127.0.0.1:{control}");
    // A fresh Wine prefix takes a while to create.
    until("the control API", Duration::from_secs(120), async || log().contains("control API on http://"))
        .await;
    let http = reqwest::Client::new();
    assert_eq!(get(&http, &base, "/api/v1/status").await["manager"], "stopped", "{}", log());

    // A WebSocket client is a presence session: the tree starts.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!(
        "ws://127.0.0.1:{control}/api/v1/events?token={TOKEN}&device=wine"
    ))
    .await
    .expect("events socket");
    let first = ws.next().await.expect("a first frame").expect("frame");
    assert!(first.to_text().unwrap().contains("\"status\""));
    until("the tree runs with the socket present", Duration::from_secs(30), async || {
        let s = get(&http, &base, "/api/v1/status").await;
        s["manager"] == "running"
            && s["presence"].as_array().is_some_and(|p| p.iter().any(|x| x["kind"] == "socket"))
    })
    .await;

    // Start, then OBS (ffmpeg) publishes to the local ingest; nginx-rtmp receives everything.
    let res = http.post(format!("{base}/api/v1/stream/start")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 202, "{}", log());
    let addr = format!("127.0.0.1:{ingest}").parse().unwrap();
    let mut obs = publish(addr, "live", INGEST_KEY, None);
    until("the platform is live", Duration::from_secs(60), async || {
        get(&http, &base, "/api/v1/status").await["stream"]["platforms"]["tw-main"]["status"] == "live"
    })
    .await;
    let done =
        tokio::time::timeout(Duration::from_secs(90), obs.wait()).await.expect("publisher ends").unwrap();
    assert!(done.success());
    let res = http.post(format!("{base}/api/v1/stream/stop")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200, "{}", log());
    let rec = nginx.wait_recording("tw", &media().probe, 2).await;
    assert_eq!((rec.video_codec.as_str(), rec.audio_codec.as_str()), ("h264", "aac"));
    drop(ws);

    // Ctrl-C (Wine turns SIGINT into a console control event): the engine stops cleanly.
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-INT", &pid]).status();
    let status = stopped(&mut child, "on Ctrl-C", log);
    assert!(status.success(), "exit {status:?}:\n{}", log());
    assert!(
        log().contains("shutting down") && log().contains("Ctrl-C"),
        "the stop names its signal:\n{}",
        log()
    );
    assert!(!log().contains(INGEST_KEY) && !log().contains("tw-key"), "no key in the log");
}

/// Logoff and shutdown: Windows sends them to a console program that has loaded user32 as
/// `WM_ENDSESSION` to its windows, not as console events; the engine keeps a hidden window for
/// it. `wineboot --end-session` sends the same messages (Wine's null display driver lets the
/// window exist without a display): the engine stops cleanly, naming the shutdown.
#[tokio::test]
#[ignore = "needs the cross-built .exe and wine64: scripts/wine-smoke.sh"]
async fn the_windows_engine_stops_cleanly_when_the_session_ends() {
    let exe = PathBuf::from(std::env::var("STREAMPAI_WINDOWS_EXE").expect("STREAMPAI_WINDOWS_EXE"));
    let wine = std::env::var("WINE").unwrap_or_else(|_| "wine64".into());
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("wineprefix");
    let wine_cmd = |args: &[&str]| {
        let mut c = Command::new(&wine);
        c.args(args).env("WINEPREFIX", &prefix).env("WINEDEBUG", "-all");
        c
    };
    let null_display =
        wine_cmd(&["reg", "add", r"HKCU\Software\Wine\Drivers", "/v", "Graphics", "/d", "null", "/f"])
            .output()
            .expect("wine reg");
    assert!(null_display.status.success(), "{null_display:?}");
    let control = free_port();
    let config = dir.path().join("streampai.toml");
    std::fs::write(
        &config,
        format!(
            "user_id = \"wine-user\"\ningest = \"local\"\n[control]\nlisten = \"127.0.0.1:{control}\"\n\
             [local]\nlisten = \"127.0.0.1:{ingest}\"\n[storage]\ndir = \"{data}\"\n",
            ingest = free_port(),
            data = dir.path().join("data").display(),
        ),
    )
    .unwrap();
    let mut cmd = wine_cmd(&[]);
    cmd.arg(&exe)
        .args(["headless", "--config"])
        .arg(&config)
        .env("STREAMPAI_CONTROL_TOKEN", TOKEN)
        .env("STREAMPAI_INGEST_KEY", INGEST_KEY)
        .env("RUST_LOG", "info");
    let (mut child, out) = spawn_collecting(&mut cmd);
    let log = || out.lock().unwrap().clone();
    until("the control API", Duration::from_secs(120), async || log().contains("control API on http://"))
        .await;
    let http = reqwest::Client::new();
    assert_eq!(
        get(&http, &format!("http://127.0.0.1:{control}"), "/api/v1/status").await["manager"],
        "stopped"
    );
    assert!(!log().contains("no session-end window"), "the hidden window exists:\n{}", log());

    let ended = wine_cmd(&["wineboot", "--end-session"]).output().expect("wineboot");
    assert!(ended.status.success(), "{ended:?}");
    let status = stopped(&mut child, "at the session's end", log);
    assert!(status.success(), "exit {status:?}:\n{}", log());
    assert!(log().contains("system shutdown"), "the stop names the shutdown:\n{}", log());
}
