use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

const FULL: &str = r#"
user_id = "user-123"
ingest = "cloudflare"
[presence]
cleanup_timeout_ms = 2500
stop_with_last_session = true
[control]
listen = "127.0.0.1:4999"
[cloudflare]
account_id = "acc"
api_base = "http://127.0.0.1:9/client/v4"
poll_interval_ms = 500
[alerts.durations_ms]
donation = 15000
[[platforms]]
name = "twitch-main"
kind = "twitch"
[[platforms]]
name = "my-rtmp"
kind = "custom"
url = "rtmps://ingest.example.com:443/live"
enabled = false
"#;

#[test]
fn a_full_file_parses_with_presets_and_defaults() {
    let (cfg, warnings) = Config::parse(FULL, &no_env).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(cfg.user_id, "user-123");
    assert_eq!(cfg.cleanup_timeout(), Duration::from_millis(2500));
    assert!(cfg.presence.stop_with_last_session);
    assert_eq!(cfg.cloudflare.account_id.as_deref(), Some("acc"));
    assert_eq!(cfg.cloudflare.request_timeout_ms, 10_000, "defaulted");
    assert_eq!(cfg.platforms[0].ingest_url().as_deref(), Some("rtmp://live.twitch.tv/app"));
    assert!(cfg.platforms[0].enabled, "enabled defaults to true");
    assert!(!cfg.platforms[1].enabled);
    assert_eq!(cfg.alerts.durations_ms.get(&AlertKind::Donation), Some(&15000));
}

#[test]
fn only_user_id_is_required_and_defaults_match_the_contract() {
    let (cfg, _) = Config::parse("user_id = \"u\"", &no_env).unwrap();
    assert_eq!(cfg.presence.cleanup_timeout_ms, 5000);
    assert!(!cfg.presence.stop_with_last_session);
    assert_eq!(cfg.control.listen, "127.0.0.1:4850");
    assert_eq!(cfg.cloudflare.api_base, "https://api.cloudflare.com/client/v4");
    assert_eq!(cfg.cloudflare.poll_interval_ms, 10_000);
    assert_eq!(cfg.history.sample_interval_ms, 5000);
    let err = Config::parse("", &no_env).unwrap_err();
    assert_eq!(err.key, "user_id");
}

#[test]
fn unknown_keys_are_warned_about_and_ignored() {
    let (_, warnings) =
        Config::parse("user_id = \"u\"\nfuture_knob = 1\n[presence]\nshiny = true\n", &no_env).unwrap();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("future_knob")));
    assert!(warnings.iter().any(|w| w.contains("presence.shiny")));
}

#[test]
fn env_beats_the_file() {
    let env = |k: &str| match k {
        "STREAMPAI_CLOUDFLARE_API_BASE" => Some("http://127.0.0.1:1/client/v4".to_string()),
        "STREAMPAI_CLEANUP_TIMEOUT_MS" => Some("42".to_string()),
        "STREAMPAI_USER_ID" => Some("env-user".to_string()),
        "STREAMPAI_SAMPLE_INTERVAL_MS" => Some("750".to_string()),
        _ => None,
    };
    let (cfg, _) = Config::parse(FULL, &env).unwrap();
    assert_eq!(cfg.cloudflare.api_base, "http://127.0.0.1:1/client/v4");
    assert_eq!(cfg.presence.cleanup_timeout_ms, 42);
    assert_eq!(cfg.user_id, "env-user");
    assert_eq!(cfg.history.sample_interval_ms, 750);
    let bad = |k: &str| (k == "STREAMPAI_POLL_INTERVAL_MS").then(|| "soon".to_string());
    assert_eq!(Config::parse(FULL, &bad).unwrap_err().key, "STREAMPAI_POLL_INTERVAL_MS");
}

#[test]
fn invalid_configs_name_the_key() {
    let cases: &[(&str, &str)] = &[
        ("user_id = ", "(file)"),
        ("user_id = \"u\"\n[[platforms]]\nname = \"a\"\nkind = \"myspace\"\n", "platforms[0].kind"),
        ("user_id = \"u\"\n[[platforms]]\nname = \"a\"\nkind = \"custom\"\n", "platforms[0].url"),
        ("user_id = \"u\"\n[[platforms]]\nname = \"a\"\nkind = \"custom\"\nurl = \"http://x/y\"\n", "platforms[0].url"),
        ("user_id = \"u\"\n[[platforms]]\nname = \"a\"\nkind = \"twitch\"\nurl = \"not a url\"\n", "platforms[0].url"),
        ("user_id = \"u\"\n[[platforms]]\nname = \"Bad Name\"\nkind = \"twitch\"\n", "platforms[0].name"),
        ("user_id = \"u\"\n[[platforms]]\nname = \"a\"\nkind = \"twitch\"\n[[platforms]]\nname = \"a\"\nkind = \"kick\"\n", "platforms[1].name"),
        ("user_id = \"u\"\n[[platforms]]\nkind = \"twitch\"\n", "platforms[0]"),
        ("user_id = \"u\"\n[control]\nlisten = \"localhost\"\n", "control.listen"),
        ("user_id = \"u\"\n[presence]\ncleanup_timeout_ms = \"soon\"\n", "presence.cleanup_timeout_ms"),
        ("user_id = \"u\"\n[cloudflare]\npoll_interval_ms = 0\n", "cloudflare.poll_interval_ms"),
        ("user_id = \"u\"\n[history]\nsample_interval_ms = 499\n", "history.sample_interval_ms"),
    ];
    for (text, key) in cases {
        let err = Config::parse(text, &no_env).expect_err(text);
        assert!(err.key.starts_with(key), "for {text:?}: got key {:?} ({})", err.key, err.message);
        assert!(err.to_string().contains(&err.key));
    }
}

#[test]
fn the_ingest_backend_defaults_to_local_without_a_cloudflare_account() {
    let (cfg, warnings) = Config::parse("user_id = \"u\"", &no_env).unwrap();
    assert_eq!(cfg.ingest_backend(), IngestBackend::Local);
    assert!(warnings.is_empty());
    assert_eq!(cfg.local.listen, "127.0.0.1:1935");
    assert_eq!((cfg.local.source_grace_ms, cfg.local.source_timeout_ms), (10_000, 300_000));
    assert!(!cfg.stream.auto_start);
    let (cfg, _) = Config::parse(FULL, &no_env).unwrap();
    assert_eq!(cfg.ingest_backend(), IngestBackend::Cloudflare, "explicit");
    let (cfg, _) = Config::parse("user_id = \"u\"\n[cloudflare]\naccount_id = \"a\"\n", &no_env).unwrap();
    assert_eq!(cfg.ingest_backend(), IngestBackend::Cloudflare, "implied by the account");
    let (cfg, _) =
        Config::parse("user_id = \"u\"\ningest = \"local\"\n[cloudflare]\naccount_id = \"a\"\n", &no_env)
            .unwrap();
    assert_eq!(cfg.ingest_backend(), IngestBackend::Local, "explicit beats implied");
    let err = Config::parse("user_id = \"u\"\ningest = \"cloudflare\"\n", &no_env).unwrap_err();
    assert_eq!(err.key, "ingest");
}

#[test]
fn a_lan_bind_is_allowed_with_a_warning() {
    let (_, warnings) =
        Config::parse("user_id = \"u\"\n[local]\nlisten = \"0.0.0.0:1935\"\n", &no_env).unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("other machines"));
    let err = Config::parse("user_id = \"u\"\n[local]\nlisten = \"lan\"\n", &no_env).unwrap_err();
    assert_eq!(err.key, "local.listen");
}

#[test]
fn a_toml_syntax_error_gives_line_and_column() {
    let text = "user_id = \"u\"\n[control]\nlisten = \"127.0.0.1:1\n";
    let err = Config::parse(text, &no_env).unwrap_err();
    assert_eq!(err.key, "(file)");
    assert_eq!(err.line, Some(3), "{err}");
    assert!(err.column.is_some(), "{err}");
    assert!(err.to_string().contains("(line 3, column"), "{err}");
    assert!(err.message.contains("not valid TOML"), "{err}");
}

#[test]
fn a_bad_value_names_the_key_with_its_line_and_column() {
    let text = "user_id = \"u\"\n[[platforms]]\nname = \"a\"\nkind = \"twitch\"\n[[platforms]]\nname = \"b\"\n  kind = \"myspace\"\n";
    let err = Config::parse(text, &no_env).unwrap_err();
    assert_eq!(err.key, "platforms[1].kind", "{err}");
    assert!(err.message.contains("myspace"), "{err}");
    assert_eq!((err.line, err.column), (Some(7), Some(10)), "{err}");
    assert!(err.to_string().starts_with("invalid config: platforms[1].kind (line 7, column 10): "), "{err}");

    let text = "user_id = \"u\"\n[cloudflare]\npoll_interval_ms = \"often\"\n";
    let err = Config::parse(text, &no_env).unwrap_err();
    assert_eq!(err.key, "cloudflare.poll_interval_ms", "{err}");
    assert_eq!((err.line, err.column), (Some(3), Some(20)), "{err}");
}

#[test]
fn a_bad_value_from_env_has_no_file_position() {
    let text = "user_id = \"u\"\n[cloudflare]\npoll_interval_ms = 500\n";
    let env = |k: &str| (k == "STREAMPAI_POLL_INTERVAL_MS").then(|| "soon".to_string());
    let err = Config::parse(text, &env).unwrap_err();
    assert_eq!((err.line, err.column), (None, None), "{err}");
    assert_eq!(line_column("ab\ncdé\nx", 7), (2, 4));
    assert_eq!(line_column("ab\ncdé\nx", 8), (3, 1));
}

#[test]
fn obs_settings_default_on_and_a_bad_url_names_the_key() {
    let (cfg, _) = Config::parse("user_id = \"u\"\n", &no_env).unwrap();
    assert_eq!(cfg.obs, ObsConfig::default());
    assert!(cfg.obs.enabled && cfg.obs.start_with_stream && cfg.obs.stop_with_stream);
    assert_eq!(cfg.obs.url, "ws://127.0.0.1:4455");
    let text = "user_id = \"u\"\n[obs]\nenabled = false\nurl = \"wss://studio.lan:4455\"\nstop_with_stream = false\n";
    let (cfg, warnings) = Config::parse(text, &no_env).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!((cfg.obs.enabled, cfg.obs.start_with_stream, cfg.obs.stop_with_stream), (false, true, false));
    let err =
        Config::parse("user_id = \"u\"\n[obs]\nurl = \"http://127.0.0.1:4455\"\n", &no_env).unwrap_err();
    assert_eq!(err.key, "obs.url");
    assert!(err.message.contains("ws://"), "{err}");
    let env = |k: &str| (k == "STREAMPAI_OBS_URL").then(|| "ws://10.0.0.5:4455".to_string());
    assert_eq!(Config::parse("user_id = \"u\"\n", &env).unwrap().0.obs.url, "ws://10.0.0.5:4455");
    let bad_env = |k: &str| (k == "STREAMPAI_OBS_URL").then(|| "ws://me:pw@10.0.0.5:4455".to_string());
    assert_eq!(Config::parse("user_id = \"u\"\n", &bad_env).unwrap_err().key, "obs.url");
}

#[test]
fn twitch_defaults_env_overrides_and_bad_urls_name_their_key() {
    let (cfg, _) = Config::parse("user_id = \"u\"", &no_env).unwrap();
    assert_eq!(cfg.twitch.client_id, None);
    assert_eq!(cfg.twitch.auth_url, "https://id.twitch.tv/oauth2");
    assert_eq!(cfg.twitch.api_url, "https://api.twitch.tv/helix");
    assert_eq!(cfg.twitch.eventsub_url, "wss://eventsub.wss.twitch.tv/ws");
    let env = |k: &str| (k == "STREAMPAI_TWITCH_CLIENT_ID").then(|| "abc123".to_string());
    let (cfg, _) = Config::parse("user_id = \"u\"", &env).unwrap();
    assert_eq!(cfg.twitch.client_id.as_deref(), Some("abc123"));
    let err = Config::parse("user_id = \"u\"\n[twitch]\napi_url = \"ftp://api.example.com\"\n", &no_env)
        .unwrap_err();
    assert_eq!(err.key, "twitch.api_url");
    assert!(err.message.contains("https://"), "{}", err.message);
    let err = Config::parse(
        "user_id = \"u\"\n[twitch]\neventsub_url = \"ws://eventsub.example.com/ws\"\n",
        &no_env,
    )
    .unwrap_err();
    assert_eq!(err.key, "twitch.eventsub_url");
    let err = Config::parse("user_id = \"u\"\n[twitch]\nclient_id = \"not valid!\"\n", &no_env).unwrap_err();
    assert_eq!(err.key, "twitch.client_id");
}

#[test]
fn youtube_defaults_env_overrides_and_bad_urls_name_their_key() {
    let (cfg, _) = Config::parse("user_id = \"u\"", &no_env).unwrap();
    assert_eq!((cfg.youtube.client_id.as_deref(), cfg.youtube.client_secret.as_deref()), (None, None));
    assert_eq!(cfg.youtube.auth_url, "https://accounts.google.com/o/oauth2/v2/auth");
    assert_eq!(cfg.youtube.token_url, "https://oauth2.googleapis.com/token");
    assert_eq!(cfg.youtube.api_url, "https://www.googleapis.com/youtube/v3");
    assert_eq!(cfg.youtube.daily_quota, 10_000);
    let env = |k: &str| match k {
        "STREAMPAI_YOUTUBE_CLIENT_ID" => Some("123-abc.apps.googleusercontent.com".to_string()),
        "STREAMPAI_YOUTUBE_CLIENT_SECRET" => Some("GOCSPX-x".to_string()),
        _ => None,
    };
    let (cfg, _) = Config::parse("user_id = \"u\"", &env).unwrap();
    assert!(cfg.youtube.configured());
    let text = "user_id = \"u\"\n[youtube]\nclient_id = \"1-a.apps.googleusercontent.com\"\nclient_secret = \"s\"\ndaily_quota = 50000\n";
    let (cfg, _) = Config::parse(text, &no_env).unwrap();
    assert_eq!(cfg.youtube.daily_quota, 50_000);
    for (text, key) in [
        ("[youtube]\ntoken_url = \"http://oauth2.example.com/token\"\n", "youtube.token_url"),
        ("[youtube]\nauth_url = \"not a url\"\n", "youtube.auth_url"),
        ("[youtube]\napi_url = \"https://www.googleapis.com/youtube/v3?key=1\"\n", "youtube.api_url"),
        ("[youtube]\nclient_id = \"not valid!\"\n", "youtube.client_id"),
    ] {
        let err = Config::parse(&format!("user_id = \"u\"\n{text}"), &no_env).unwrap_err();
        assert_eq!(err.key, key, "{text}");
    }
}
