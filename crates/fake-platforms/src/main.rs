//! `fake-platforms [--listen 127.0.0.1:0] [--client-id ID] [--keepalive-secs N] [--interval-secs N]`
//!
//! Serves the fake Twitch and prints its URLs on stdout once listening:
//! `TWITCH_AUTH_URL=http://127.0.0.1:PORT/oauth2`, `TWITCH_API_URL=.../helix`,
//! `TWITCH_EVENTSUB_URL=ws://.../ws`, `TWITCH_CLIENT_ID=...`. Test control: `/__fake/twitch/...`.
//! Runs until SIGINT or SIGTERM. Logs go to stderr (`RUST_LOG`, default `info`).

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;

use fake_platforms::{serve_twitch, TwitchOptions, TwitchState};
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
    let _ = out.flush();
    match serve_twitch(listener, state, fake_support::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fake-platforms: {e}");
            ExitCode::from(1)
        }
    }
}
