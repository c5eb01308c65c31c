//! `streampai stream info` end to end: the headless engine (state file on disk), the CLI and the
//! fake Twitch. Save and push (results in words), show, a refused input naming its field, a
//! failed push (exit 1, the save kept), the category search, and the saved info after a restart
//! of the engine. (Unix: `kill`.)
#![cfg(unix)]

mod support;

use std::process::Output;
use std::time::{Duration, Instant};

use fake_platforms::twitch::{Fault, Route};
use fake_platforms::{FakeTwitch, TwitchOptions};
use support::headless::{stdout_json, twitch_config_file, Headless};

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_saves_pushes_shows_and_keeps_the_stream_info() {
    let fake = FakeTwitch::start(TwitchOptions {
        device_interval_secs: 1,
        keepalive_timeout_secs: 5,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = twitch_config_file(dir.path(), &fake);
    let home = dir.path();
    let engine = Headless::start(&config, home, "info");

    // Not signed in yet: saved, and each platform says so (exit 0: nothing failed).
    let out = engine.cli(&config, &["stream", "info", "--title", "First title"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(text.contains("Saved.") && text.contains("Twitch: not signed in"), "{text}");
    assert!(text.contains("YouTube: not signed in"), "{text}");

    let out = engine.cli(&config, &["account", "sign-in", "twitch", "--no-wait"]);
    assert!(out.status.success(), "{out:?}");
    fake.approve(stdout_json(&out)["user_code"].as_str().unwrap()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while stdout_json(&engine.cli(&config, &["account", "status"]))["twitch"]["state"] != "signed_in" {
        assert!(Instant::now() < deadline, "not signed in");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let out = engine.cli(&config, &["stream", "categories", "fort"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout_json(&out)["categories"][0]["name"], "Fortnite");

    let out = engine.cli(
        &config,
        &[
            "stream",
            "info",
            "--title",
            "Speedruns & chill",
            "--twitch-category",
            "33214",
            "--youtube-description",
            "Hi!",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(text.contains("Twitch: updated"), "{text}");
    assert!(text.contains("YouTube: not signed in"), "{text}");
    assert_eq!(fake.channel_info().title, "Speedruns & chill");
    assert_eq!(fake.channel_info().game_name, "Fortnite");

    // Refused input: exit 1, the field named, nothing saved or sent.
    let sent = fake.request_count(Route::Channels);
    let out = engine.cli(&config, &["stream", "info", "--title", "   "]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("title: enter a title"), "{out:?}");
    assert_eq!(fake.request_count(Route::Channels), sent);

    // A push that fails: exit 1 with Twitch's trouble in words; the save stands.
    fake.inject_for(Route::Channels, Fault::Status(503), 1);
    let out =
        engine.cli(&config, &["stream", "info", "--title", "Kept anyway", "--twitch-category", "33214"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = stdout(&out);
    assert!(
        text.contains("Saved.") && text.contains("Twitch: not updated (server)") && text.contains("503"),
        "{text}"
    );

    let out = engine.cli(&config, &["stream", "info"]);
    assert!(out.status.success(), "{out:?}");
    let shown = stdout_json(&out);
    assert_eq!(shown["info"]["title"], "Kept anyway");
    assert_eq!(shown["info"]["twitch_category_name"], "Fortnite", "the name kept with the same id");
    assert_eq!(shown["last_push"]["results"]["twitch"]["error"]["kind"], "server");
    let logs = engine.stop();
    assert!(logs.contains("stream info updated") && logs.contains("stream info not updated"), "{logs}");

    // The engine restarts: the saved info is still there.
    let engine = Headless::start(&config, home, "info");
    let out = engine.cli(&config, &["stream", "info"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout_json(&out)["info"], shown["info"]);
    assert_eq!(stdout_json(&out)["last_push"], shown["last_push"]);
    engine.stop();
}
