//! `streampai sync-server` as a user runs it: `user add` prints a token once and stores only its
//! hash; the server signs that token in; `user kofi-token` (from stdin) lets Ko-fi post to
//! `/hooks/NAME/kofi`; SIGTERM closes every connection with 1001 and exits 0.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_streampai");

#[tokio::test]
async fn user_add_then_serve_then_sigterm() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["sync-server", "user", "add", "alice", "--data"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(token.len(), 64, "a 256-bit token in hex");
    let file = std::fs::read_to_string(data.path().join("users.json")).unwrap();
    assert!(file.contains("alice") && !file.contains(&token), "only the hash is stored");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&token), "shown once, on stdout only");
    // Adding the same user again fails.
    let again = Command::new(BIN)
        .args(["sync-server", "user", "add", "alice", "--data"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(!again.status.success());

    // The Ko-fi verification token comes from stdin (never an argument); only its hash is kept.
    const KOFI: &str = "5b0e9a1c-7d2f-4c3b-9e8a-1f2d3c4b5a69";
    let mut set = Command::new(BIN)
        .args(["sync-server", "user", "kofi-token", "alice", "--data"])
        .arg(data.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(set.stdin.take().unwrap(), "{KOFI}").unwrap();
    let out = set.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/hooks/alice/kofi"));
    let file = std::fs::read_to_string(data.path().join("users.json")).unwrap();
    assert!(file.contains("kofi_token_sha256") && !file.contains(KOFI), "{file}");

    let mut child = Command::new(BIN)
        .args(["sync-server", "--listen", "127.0.0.1:0", "--heartbeat-interval-ms", "1000", "--data"])
        .arg(data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("ws://127.0.0.1:") && url.ends_with("/sync"), "{line}");

    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
    let hello = json!({"type": "hello", "version": 1, "token": token, "device_id": "phone",
        "device_name": "Phone", "role": "device"});
    ws.send(Message::Text(hello.to_string().into())).await.unwrap();
    let Some(Ok(Message::Text(t))) = ws.next().await else { panic!("no welcome") };
    let v: serde_json::Value = serde_json::from_str(&t).unwrap();
    assert_eq!((v["type"].as_str(), v["user"].as_str()), (Some("welcome"), Some("alice")));
    assert_eq!(v["heartbeat_interval_ms"], 1000);

    // Ko-fi's webhook, as Ko-fi sends it, is taken for alice; a wrong token is refused.
    let hooks = url.replace("ws://", "http://").replace("/sync", "/hooks/alice/kofi");
    let post = |token: &str| {
        let data = json!({"verification_token": token, "message_id": "cli-1", "type": "Donation",
            "from_name": "Ann", "amount": "3.00", "currency": "USD", "is_public": true});
        reqwest::Client::new().post(hooks.as_str()).form(&[("data", data.to_string())]).send()
    };
    let r = post(KOFI).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["id"], "kofi:cli-1");
    assert_eq!(post("not-the-token").await.unwrap().status().as_u16(), 403);

    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let code = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(Some(f)))) => return u16::from(f.code),
                Some(Ok(_)) => {}
                _ => return 0,
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(code, 1001, "going away on shutdown");
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    assert!(status.success(), "{status:?}");
}
