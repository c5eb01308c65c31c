//! Auth, body validation, faults, latency, connected flips and the `/__fake` control routes.

mod common;

use std::time::{Duration, Instant};

use common::{call, create_input, create_output, inputs_path, start, ACCOUNT, TOKEN};
use fake_cloudflare::{ControlError, Fault, RouteKind, TokenScope};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn auth_tells_bad_token_wrong_account_and_missing_permission_apart() {
    let fake = start().await;
    fake.add_token_without_stream("no-stream");
    let verify = "/user/tokens/verify";

    let ok = call(&fake, Method::GET, verify, Some(TOKEN), None).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json()["result"]["status"], "active");

    let bad = call(&fake, Method::GET, verify, Some("nope"), None).await;
    assert_eq!((bad.status, bad.code()), (StatusCode::UNAUTHORIZED, 10000));
    let missing = call(&fake, Method::GET, &inputs_path(), None, None).await;
    assert_eq!((missing.status, missing.code()), (StatusCode::UNAUTHORIZED, 10001));
    let bad = call(&fake, Method::GET, &inputs_path(), Some("nope"), None).await;
    assert_eq!((bad.status, bad.code()), (StatusCode::UNAUTHORIZED, 10000));

    let limited = call(&fake, Method::GET, verify, Some("no-stream"), None).await;
    assert_eq!(limited.json()["result"]["status"], "active");
    let limited = call(&fake, Method::GET, &inputs_path(), Some("no-stream"), None).await;
    assert_eq!((limited.status, limited.code()), (StatusCode::FORBIDDEN, 10000));

    let other = format!("/accounts/{}/stream/live_inputs", "a".repeat(32));
    let wrong = call(&fake, Method::GET, &other, Some(TOKEN), None).await;
    assert_eq!((wrong.status, wrong.code()), (StatusCode::FORBIDDEN, 10000));

    let accounts = call(&fake, Method::GET, "/accounts", Some("no-stream"), None).await;
    assert_eq!(accounts.json()["result"][0]["id"], ACCOUNT);

    fake.add_token("promoted", TokenScope::Full);
    let ok = call(&fake, Method::GET, &inputs_path(), Some("promoted"), None).await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn bodies_are_validated() {
    let fake = start().await;
    let input = create_input(&fake, json!({"meta": {"name": "a"}})).await;
    let uid = input["uid"].as_str().expect("uid");
    let outputs = format!("{}/{uid}/outputs", inputs_path());
    let cases: [(&Method, &str, &str, u64); 12] = [
        (&Method::POST, &inputs_path(), "{oops", 6007),
        (&Method::POST, &inputs_path(), "[1]", 10005),
        (&Method::POST, &inputs_path(), r#"{"meta": "x"}"#, 10005),
        (&Method::POST, &inputs_path(), r#"{"recording": {"mode": "always"}}"#, 10005),
        (&Method::POST, &inputs_path(), r#"{"deleteRecordingAfterDays": 3}"#, 10005),
        (&Method::POST, &inputs_path(), r#"{"enabled": "yes"}"#, 10005),
        (&Method::POST, &outputs, r#"{"streamKey": "k"}"#, 10005),
        (&Method::POST, &outputs, r#"{"url": "rtmp://x/app"}"#, 10005),
        (&Method::POST, &outputs, r#"{"url": "https://x/app", "streamKey": "k"}"#, 10005),
        (&Method::POST, &outputs, r#"{"url": "rtmp://x/app", "streamKey": 7}"#, 10005),
        (&Method::POST, &outputs, r#"{"url": "rtmp://x/app", "streamKey": "k", "enabled": 1}"#, 10005),
        (&Method::POST, &outputs, "", 6007),
    ];
    for (method, path, body, code) in cases {
        let r = call(&fake, method.clone(), path, Some(TOKEN), Some(body)).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, code), "{path} {body}");
    }
    let output = create_output(&fake, uid).await;
    assert_eq!(output["enabled"], true, "enabled defaults to true");
    let one = format!("{outputs}/{}", output["uid"].as_str().expect("uid"));
    let r = call(&fake, Method::PUT, &one, Some(TOKEN), Some("{}")).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, 10005));
    assert_eq!(fake.live_inputs()[0].meta, json!({"name": "a"}), "failed calls change nothing");
    assert_eq!(fake.outputs(uid).len(), 1);
}

#[tokio::test]
async fn unknown_ids_are_404_with_code_10003() {
    let fake = start().await;
    let missing = "0".repeat(32);
    let r = call(&fake, Method::GET, &format!("{}/{missing}", inputs_path()), Some(TOKEN), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, 10003));
    let input = create_input(&fake, json!({})).await;
    let path = format!("{}/{}/outputs/{missing}", inputs_path(), input["uid"].as_str().expect("uid"));
    let r = call(&fake, Method::DELETE, &path, Some(TOKEN), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, 10003));
}

#[tokio::test]
async fn faults_apply_in_order_then_requests_pass() {
    let fake = start().await;
    let path = inputs_path();
    fake.inject(Fault::Status(503));
    fake.inject(Fault::RateLimited { retry_after_secs: 7 });
    fake.inject(Fault::MalformedJson);
    fake.inject(Fault::Unauthorized);
    fake.inject(Fault::Delay(Duration::from_millis(150)));

    let r = call(&fake, Method::GET, &path, Some(TOKEN), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::SERVICE_UNAVAILABLE, 10002));
    let r = call(&fake, Method::GET, &path, Some(TOKEN), None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers["retry-after"], "7");
    let r = call(&fake, Method::GET, &path, Some(TOKEN), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(serde_json::from_str::<serde_json::Value>(&r.text).is_err());
    let r = call(&fake, Method::GET, &path, Some(TOKEN), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, 10000));
    let started = Instant::now();
    let r = call(&fake, Method::GET, &path, Some(TOKEN), None).await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(r.status, StatusCode::OK);
    let r = call(&fake, Method::GET, &path, Some(TOKEN), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(fake.request_count(), 6);
    assert_eq!(fake.request_count_for(RouteKind::ListLiveInputs), 6);
}

#[tokio::test]
async fn faults_aimed_at_one_route_leave_others_alone() {
    let fake = start().await;
    fake.inject_for(RouteKind::CreateOutput, Fault::Status(500), 2);
    let input = create_input(&fake, json!({})).await;
    let outputs = format!("{}/{}/outputs", inputs_path(), input["uid"].as_str().expect("uid"));
    let body = r#"{"url": "rtmp://x/app", "streamKey": "k"}"#;
    for _ in 0..2 {
        let r = call(&fake, Method::POST, &outputs, Some(TOKEN), Some(body)).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
    let r = call(&fake, Method::POST, &outputs, Some(TOKEN), Some(body)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(fake.request_count_for(RouteKind::CreateOutput), 3);
    assert_eq!(fake.request_count_for(RouteKind::CreateLiveInput), 1);
}

#[tokio::test]
async fn latency_does_not_serialize_concurrent_requests() {
    let fake = start().await;
    fake.set_latency(Duration::from_millis(200));
    let url = format!("{}/user/tokens/verify", fake.base_url());
    let started = Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let url = url.clone();
        calls.spawn(async move {
            let resp = reqwest::Client::new().get(url).bearer_auth(TOKEN).send().await;
            resp.map(|r| r.status())
        });
    }
    while let Some(done) = calls.join_next().await {
        assert_eq!(done.expect("task").expect("request"), StatusCode::OK);
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1200), "8 calls took {elapsed:?}: serialized?");
}

#[tokio::test]
async fn connected_flips_update_status_history_and_outputs() {
    let fake = start().await;
    let input = create_input(&fake, json!({})).await;
    let uid = input["uid"].as_str().expect("uid");
    create_output(&fake, uid).await;
    assert_eq!(fake.outputs(uid)[0].state, None, "no traffic yet");

    fake.set_connected(uid, true).expect("exists");
    let snap = &fake.live_inputs()[0];
    assert!(snap.connected);
    assert_eq!(snap.outputs[0].state.as_deref(), Some("connected"));
    fake.set_connected(uid, false).expect("exists");
    fake.set_connected(uid, true).expect("exists");
    let status = &fake.live_inputs()[0].status;
    assert_eq!(status["current"]["state"], "connected");
    assert_eq!(status["history"][0]["state"], "disconnected");
    assert_eq!(status["history"][0]["reason"], "client_disconnect");
    assert_eq!(status["history"][1]["state"], "connected");

    assert_eq!(fake.set_connected("nope", true), Err(ControlError::UnknownInput("nope".into())));
    let path = format!("{}/{uid}", inputs_path());
    call(&fake, Method::PUT, &path, Some(TOKEN), Some(r#"{"enabled": false}"#)).await;
    assert!(matches!(fake.set_connected(uid, true), Err(ControlError::InputDisabled(_))));
}

#[tokio::test]
async fn control_routes_drive_the_fake_over_http() {
    let fake = start().await;
    let input = create_input(&fake, json!({"meta": {"name": "e2e"}})).await;
    let uid = input["uid"].as_str().expect("uid");

    let r = call(
        &fake,
        Method::POST,
        &format!("/__fake/live_inputs/{uid}/connected"),
        None,
        Some(r#"{"connected": true, "ingestProtocol": "srt"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["status"]["current"]["ingestProtocol"], "srt");
    let r = call(&fake, Method::GET, "/__fake/live_inputs", None, None).await;
    assert_eq!(r.json()[0]["connected"], true);
    let r =
        call(&fake, Method::POST, "/__fake/live_inputs/nope/connected", None, Some(r#"{"connected": true}"#))
            .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = call(
        &fake,
        Method::POST,
        "/__fake/faults",
        None,
        Some(r#"{"kind": "status", "status": 502, "count": 2, "route": "get_live_input"}"#),
    )
    .await;
    assert_eq!(r.json()["pending"], 2);
    let r = call(&fake, Method::POST, "/__fake/faults", None, Some(r#"{"kind": "teapot"}"#)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let get = format!("{}/{uid}", inputs_path());
    assert_eq!(call(&fake, Method::GET, &inputs_path(), Some(TOKEN), None).await.status, StatusCode::OK);
    assert_eq!(call(&fake, Method::GET, &get, Some(TOKEN), None).await.status, StatusCode::BAD_GATEWAY);
    let r = call(&fake, Method::DELETE, "/__fake/faults", None, None).await;
    assert_eq!(r.json()["pending"], 0);

    let r = call(
        &fake,
        Method::POST,
        "/__fake/tokens",
        None,
        Some(r#"{"token": "t2", "scope": "without_stream"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        call(&fake, Method::GET, &inputs_path(), Some("t2"), None).await.status,
        StatusCode::FORBIDDEN
    );

    let r = call(&fake, Method::GET, "/__fake/requests", None, None).await.json();
    assert_eq!(r["total"], 4, "create, list, get, list");
    assert_eq!(r["by_route"]["GET /accounts/{account_id}/stream/live_inputs"], 2);

    let r = call(&fake, Method::PUT, "/__fake/latency", None, Some(r#"{"ms": 120}"#)).await;
    assert_eq!(r.status, StatusCode::OK);
    let started = Instant::now();
    call(&fake, Method::GET, "/user/tokens/verify", Some(TOKEN), None).await;
    assert!(started.elapsed() >= Duration::from_millis(120));

    let r = call(&fake, Method::POST, "/__fake/reset", None, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(fake.live_inputs().is_empty());
    assert_eq!(fake.request_count(), 0);
}

#[cfg(unix)]
#[tokio::test]
async fn the_binary_prints_its_base_url_and_stops_on_sigterm() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_fake-cloudflare"))
        .args(["--listen", "127.0.0.1:0", "--account-id", ACCOUNT, "--token", TOKEN])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the fake binary");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(20), BufReader::new(stdout).read_line(&mut line))
        .await
        .expect("the binary prints its base URL in time")
        .expect("read stdout");
    let base = line
        .trim()
        .strip_prefix("FAKE_CLOUDFLARE_BASE=")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"))
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:") && base.ends_with("/client/v4"));

    let http = reqwest::Client::new();
    let r = http
        .get(format!("{base}/user/tokens/verify"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("the binary serves");
    assert_eq!(r.status(), StatusCode::OK);

    let pid = child.id().expect("pid").to_string();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the binary stops on SIGTERM")
        .expect("wait");
    assert!(status.success(), "{status:?}");
}

#[test]
fn the_binary_rejects_missing_arguments() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fake-cloudflare"))
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .expect("run the binary");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--account-id"));
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let verify = |base: String| async move {
        reqwest::Client::new().get(format!("{base}/user/tokens/verify")).bearer_auth(TOKEN).send().await
    };
    let fake = start().await;
    let base = fake.base_url();
    assert!(verify(base.clone()).await.is_ok());
    fake.shutdown().await;
    assert!(verify(base).await.is_err(), "nothing listens after shutdown");

    let fake = start().await;
    let base = fake.base_url();
    drop(fake);
    let mut stopped = false;
    for _ in 0..100 {
        if verify(base.clone()).await.is_err() {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(stopped, "nothing listens after drop");
}
