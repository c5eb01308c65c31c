//! `fake-platforms [--listen 127.0.0.1:0] [--client-id ID] [--keepalive-secs N] [--interval-secs N]`
//!
//! Serves the fake Twitch and the fake YouTube on one port and prints their URLs on stdout once
//! listening: `TWITCH_AUTH_URL=http://127.0.0.1:PORT/oauth2`, `TWITCH_API_URL=.../helix`,
//! `TWITCH_EVENTSUB_URL=ws://.../ws`, `TWITCH_CLIENT_ID=...`, `YOUTUBE_AUTH_URL=.../o/oauth2/v2/auth`,
//! `YOUTUBE_TOKEN_URL=.../token`, `YOUTUBE_API_URL=.../youtube/v3`, `YOUTUBE_CLIENT_ID=...`,
//! `YOUTUBE_CLIENT_SECRET=...`. Test control: `/__fake/twitch/...`, `/__fake/youtube/...`.
//! Runs until SIGINT or SIGTERM. Logs go to stderr (`RUST_LOG`, default `info`).

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;

use fake_platforms::{serve_all, TwitchOptions, TwitchState, YouTubeOptions, YouTubeState};
use tokio::net::TcpListener;

const USAGE: &str =
    "usage: fake-platforms [--listen 127.0.0.1:0] [--client-id ID] [--keepalive-secs N] [--interval-secs N]";

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<(SocketAddr, TwitchOptions), String> {
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut opts = TwitchOptions::default();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|e| format!("{flag} {v:?}: {e}"));
        match flag.as_str() {
            "--listen" => {
                let v = value()?;
                listen = v.parse().map_err(|e| format!("--listen {v:?}: {e}"))?;
            }
            "--client-id" => opts.client_ids = vec![value()?],
            "--keepalive-secs" => opts.keepalive_timeout_secs = number(value()?)?,
            "--interval-secs" => opts.device_interval_secs = number(value()?)?,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok((listen, opts))
}

#[tokio::main]
async fn main() -> ExitCode {
    fake_support::init_logging();
    let (listen, opts) = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("fake-platforms: cannot listen on {listen}: {e}");
            return ExitCode::from(1);
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("fake-platforms: {e}");
            return ExitCode::from(1);
        }
    };
    let client_id = opts.client_ids.first().cloned().unwrap_or_default();
    let state = TwitchState::new(opts);
    let mut out = std::io::stdout();
    let _ = writeln!(out, "TWITCH_AUTH_URL=http://{addr}/oauth2");
    let _ = writeln!(out, "TWITCH_API_URL=http://{addr}/helix");
    let _ = writeln!(out, "TWITCH_EVENTSUB_URL=ws://{addr}/ws");
    let _ = writeln!(out, "TWITCH_CLIENT_ID={client_id}");
    let youtube = YouTubeState::new(YouTubeOptions::default());
    let yo = youtube.options();
    let _ = writeln!(out, "YOUTUBE_AUTH_URL=http://{addr}/o/oauth2/v2/auth");
    let _ = writeln!(out, "YOUTUBE_TOKEN_URL=http://{addr}/token");
    let _ = writeln!(out, "YOUTUBE_API_URL=http://{addr}/youtube/v3");
    let _ = writeln!(out, "YOUTUBE_CLIENT_ID={}", yo.client_id);
    let _ = writeln!(out, "YOUTUBE_CLIENT_SECRET={}", yo.client_secret);
    let _ = out.flush();
    match serve_all(listener, state, youtube, fake_support::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fake-platforms: {e}");
            ExitCode::from(1)
        }
    }
}
