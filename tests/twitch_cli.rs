//! `streampai account sign-in twitch` end to end: the headless engine on a machine without a
//! keyring, the CLI, and the fake Twitch. The tokens end up in the secrets file (0600) and in no
//! other file, no log line and no CLI output; sign-out removes them. (Unix: file modes, `kill`.)
#![cfg(unix)]

mod support;

use fake_platforms::twitch::Route;
use fake_platforms::{FakeTwitch, TwitchOptions};
use support::headless::{
    assert_in_no_file, assert_only_in_the_secrets_file, stdout_json, twitch_config_file, Headless,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_sign_in_keeps_the_tokens_in_the_secrets_file_only() {
    let fake = FakeTwitch::start(TwitchOptions {
        device_interval_secs: 1,
        keepalive_timeout_secs: 2,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = twitch_config_file(dir.path(), &fake);
    let home = dir.path();
    let engine = Headless::start(&config, home, "debug"); // debug: no token even there

    let out = engine.cli(&config, &["account", "sign-in", "twitch", "--no-wait"]);
    assert!(out.status.success(), "{out:?}");
    let prompt = stdout_json(&out);
    let code = prompt["user_code"].as_str().expect("a user code").to_string();
    assert!(String::from_utf8_lossy(&out.stderr).contains(&code), "the code is shown: {out:?}");
    fake.approve(&code).unwrap();

    let status = engine.wait_signed_in(&config, "twitch").await;
    assert_eq!(status["login"], "streampai_tester");
    // The engine has also connected EventSub (no window needed for the account; the CLI's
    // requests do not hold the tree, so events may be off): nothing below depends on it.

    let (access, refresh) = fake.live_tokens();
    assert_eq!((access.len(), refresh.len()), (1, 1));
    assert_only_in_the_secrets_file(dir.path(), &[&access[0], &refresh[0]]);

    let out = engine.cli(&config, &["account", "sign-out", "twitch"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(fake.request_count(Route::Revoke), 1);
    assert_in_no_file(dir.path(), &[&access[0], &refresh[0]]);
    let out = engine.cli(&config, &["account", "status"]);
    assert_eq!(stdout_json(&out)["twitch"]["state"], "signed_out");

    let logs = engine.stop();
    assert!(logs.contains("Twitch: signed in") && logs.contains("Twitch: signed out"), "{logs}");
    for token in [&access[0], &refresh[0]] {
        assert!(!logs.contains(token.as_str()), "a token in the log");
    }
}
