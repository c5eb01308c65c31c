//! `fake-cloudflare --listen 127.0.0.1:0 --account-id ACC --token TOK [--latency-ms N]`
//!
//! Prints `FAKE_CLOUDFLARE_BASE=http://127.0.0.1:PORT/client/v4` on stdout once listening and
//! serves until SIGINT or SIGTERM. Logs go to stderr (`RUST_LOG`, default `info`).

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use fake_cloudflare::{serve, FakeState, API_PREFIX};
use tokio::net::TcpListener;

const USAGE: &str =
    "usage: fake-cloudflare --account-id ACC --token TOK [--listen 127.0.0.1:0] [--latency-ms N]";

struct Args {
    listen: SocketAddr,
    account_id: String,
    token: String,
    latency: Duration,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let (mut account_id, mut token, mut latency) = (None, None, Duration::ZERO);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => {
                let v = value()?;
                listen = v.parse().map_err(|e| format!("--listen {v:?}: {e}"))?;
            }
            "--account-id" => account_id = Some(value()?),
            "--token" => token = Some(value()?),
            "--latency-ms" => {
                let v = value()?;
                let ms: u64 = v.parse().map_err(|e| format!("--latency-ms {v:?}: {e}"))?;
                latency = Duration::from_millis(ms);
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Args {
        listen,
        account_id: account_id.ok_or(format!("--account-id is required\n{USAGE}"))?,
        token: token.ok_or(format!("--token is required\n{USAGE}"))?,
        latency,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    fake_support::init_logging();
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("fake-cloudflare: cannot bind {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("fake-cloudflare: {e}");
            return ExitCode::FAILURE;
        }
    };
    let state = FakeState::new(args.account_id, args.token);
    state.set_latency(args.latency);
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "FAKE_CLOUDFLARE_BASE=http://{addr}{API_PREFIX}");
    let _ = stdout.flush();
    tracing::info!(%addr, "fake-cloudflare listening");
    let shutdown = async {
        fake_support::shutdown_signal().await;
        tracing::info!("fake-cloudflare: shutting down");
    };
    match serve(listener, state, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fake-cloudflare: {e}");
            ExitCode::FAILURE
        }
    }
}
