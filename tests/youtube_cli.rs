//! `streampai account sign-in youtube` end to end: the headless engine on a machine without a
//! keyring, the CLI, and the fake YouTube. The CLI prints the Google page to open; the test
//! plays the browser (GETs it and follows the redirect into the engine's loopback listener).
//! The tokens end up in the secrets file (0600) and in no other file, no log line and no CLI
//! output; sign-out revokes and removes them. (Unix: file modes.)
#![cfg(unix)]

mod support;

use fake_platforms::youtube::Route;
use fake_platforms::{FakeYouTube, YouTubeOptions};
use support::headless::{
    assert_in_no_file, assert_only_in_the_secrets_file, stdout_json, youtube_config_file, Headless,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_sign_in_prints_the_page_and_keeps_the_tokens_in_the_secrets_file_only() {
    let fake = FakeYouTube::start(YouTubeOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = youtube_config_file(dir.path(), &fake);
    let engine = Headless::start(&config, dir.path(), "debug");

    let out = engine.cli(&config, &["account", "sign-in", "youtube", "--no-wait"]);
    assert!(out.status.success(), "{out:?}");
    let url = stdout_json(&out)["authorize_url"].as_str().expect("the page to open").to_string();
    assert!(String::from_utf8_lossy(&out.stderr).contains(&url), "the page is shown: {out:?}");
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(page.contains("Signed in to YouTube"), "{page}");

    let status = engine.wait_signed_in(&config, "youtube").await;
    assert_eq!(status["login"], "Streampai Tester");

    let (access, refresh) = fake.live_tokens();
    assert_eq!((access.len(), refresh.len()), (1, 1));
    assert_only_in_the_secrets_file(dir.path(), &[&access[0], &refresh[0]]);

    let out = engine.cli(&config, &["account", "sign-out", "youtube"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(fake.request_count(Route::Revoke), 1);
    assert_in_no_file(dir.path(), &[&access[0], &refresh[0]]);
    assert_eq!(stdout_json(&engine.cli(&config, &["account", "status"]))["youtube"]["state"], "signed_out");

    let logs = engine.stop();
    assert!(logs.contains("YouTube: signed in") && logs.contains("YouTube: signed out"), "{logs}");
    for secret in [&access[0], &refresh[0], &fake.client_secret()] {
        assert!(!logs.contains(secret.as_str()), "a secret in the log");
    }
}
