//! The bench's server role: the local relay alone in its own process (the bench binary runs
//! itself again with `STREAMPAI_RELAY_BENCH_ROLE=server`), so CPU time and peak RSS are those of
//! a whole process running it. Not a product binary.
//!
//! Prints `READY <addr>` once listening, then `STATS <json>` every second (buffers, outputs),
//! and shuts down (outputs unpublish) when stdin closes.

use std::time::Duration;

use clap::Parser;
use streampai::relay::{Relay, RelayConfig};
use streampai::secrets::Secret;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(about = "Run the local relay for a benchmark", name = "relay-bench-server")]
struct Args {
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// The ingest stream key.
    #[arg(long)]
    key: String,
    /// `name,url,key` per output.
    #[arg(long = "output")]
    outputs: Vec<String>,
    /// Runtime worker threads; 1 = current-thread runtime.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// Set in the environment of the bench's own child process to run it as the relay server.
pub const ROLE_VAR: &str = "STREAMPAI_RELAY_BENCH_ROLE";

pub fn main() -> anyhow::Result<()> {
    streampai::telemetry::init("warn");
    let args = Args::parse();
    let rt = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()?
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(args.threads).enable_all().build()?
    };
    rt.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&args.listen).await?;
    let relay =
        Relay::start(RelayConfig::new(Secret::new(args.key)), listener, CancellationToken::new()).await?;
    for o in &args.outputs {
        let mut parts = o.splitn(3, ',');
        let (Some(name), Some(url), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            anyhow::bail!("--output wants name,url,key");
        };
        relay.add_output(name, url, Secret::new(key)).await?;
    }
    println!("READY {}", relay.local_addr());
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 64];
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            r = stdin.read(&mut buf) => if matches!(r, Ok(0) | Err(_)) { break },
            _ = tick.tick() => print_stats(&relay),
        }
    }
    relay.shutdown().await;
    print_stats(&relay);
    Ok(())
}

fn print_stats(relay: &streampai::relay::RelayHandle) {
    let stats = serde_json::json!({
        "buffered": relay.buffered_bytes(),
        "buffered_peak": relay.buffered_peak_bytes(),
        "ingest": relay.ingest(),
        "outputs": relay.outputs(),
    });
    println!("STATS {stats}");
}
