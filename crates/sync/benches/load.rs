//! Load tool for the sync server, loopback only and bounded: USERS × DEVICES device
//! connections (default 1,000 × 10 = 10,000), then one device per user leaves (paced) and the
//! presence-diff fan-out to the user's other devices is timed.
//!
//! The server runs in a child process (this binary with `--serve`), so its RSS is its own.
//! Prints: connect rate, server RSS per connection, fan-out latency p50/p99/max.
//!
//! `cargo bench -p streampai-sync --bench load` (release). Knobs: STREAMPAI_SYNC_LOAD_USERS,
//! STREAMPAI_SYNC_LOAD_DEVICES, STREAMPAI_SYNC_LOAD_LEAVES_PER_SEC (default 500). The whole run is
//! bounded by a 180 s deadline.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use streampai_sync::protocol::{decode_server, ServerMsg};
use streampai_sync::server::{self, ServerConfig};
use streampai_sync::users::{hash_token, Users};
use tokio::sync::{mpsc, Semaphore};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn token(u: usize) -> String {
    format!("load-token-{u:05}-{}", "x".repeat(40))
}

fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    streampai_sync::cli::raise_nofile_limit();
    if args.iter().any(|a| a == "--serve") {
        return serve_child(env("STREAMPAI_SYNC_LOAD_USERS", 1000));
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let deadline = Duration::from_secs(180);
    match rt.block_on(async { tokio::time::timeout(deadline, drive()).await }) {
        Ok(()) => {}
        Err(_) => {
            eprintln!("load: did not finish within {deadline:?}");
            std::process::exit(1);
        }
    }
}

/// The child: a server on 127.0.0.1:0 with USERS users; prints its address, runs until stdin
/// closes.
fn serve_child(users: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let tokens: Vec<(String, String)> = (0..users).map(|u| (format!("user{u}"), token(u))).collect();
        let users = Users::from_tokens(tokens.iter().map(|(n, t)| (n.as_str(), t.as_str())));
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        // Every device sends a few frames at once at connect: allow the default burst.
        let srv = server::start(l, ServerConfig::default(), users, None, None).await.unwrap();
        println!("{}", srv.local_addr());
        std::io::stdout().flush().unwrap();
        let _ = tokio::task::spawn_blocking(|| {
            let mut s = String::new();
            let _ = std::io::stdin().read_line(&mut s);
        })
        .await;
        srv.shutdown().await;
    });
    let _ = hash_token; // (tokens are hashed by Users::from_tokens)
}

type Sent = Arc<Mutex<HashMap<(usize, usize), Instant>>>;
type Lat = Arc<Mutex<Vec<Duration>>>;

async fn drive() {
    let users = env("STREAMPAI_SYNC_LOAD_USERS", 1000);
    let devices = env("STREAMPAI_SYNC_LOAD_DEVICES", 10).max(2);
    let leaves_per_sec = env("STREAMPAI_SYNC_LOAD_LEAVES_PER_SEC", 500).max(1);
    let total = users * devices;

    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .arg("--serve")
        .env("STREAMPAI_SYNC_LOAD_USERS", users.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server child");
    let pid = child.id();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().to_string();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let base = rss_kib(pid);
    println!("load: server pid {pid} on {addr}, baseline RSS {:.1} MiB", base as f64 / 1024.0);
    println!("load: {users} users x {devices} devices = {total} connections");

    let sent: Sent = Arc::default();
    let lat: Lat = Arc::default();
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<()>();
    let mut leavers: HashMap<usize, mpsc::UnboundedSender<()>> = HashMap::new();
    let gate = Arc::new(Semaphore::new(256));
    let t0 = Instant::now();
    for u in 0..users {
        for d in 0..devices {
            let (leave_tx, leave_rx) = mpsc::unbounded_channel();
            if d == 0 {
                leavers.insert(u, leave_tx);
            }
            let url = format!("ws://{addr}/sync");
            tokio::spawn(device(
                url,
                u,
                d,
                gate.clone(),
                ready_tx.clone(),
                leave_rx,
                sent.clone(),
                lat.clone(),
            ));
        }
    }
    for _ in 0..total {
        ready_rx.recv().await.expect("a device failed to connect");
    }
    let connect_s = t0.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss = rss_kib(pid);
    println!("load: {total} connected in {connect_s:.2} s ({:.0} connections/s)", total as f64 / connect_s);
    println!(
        "load: server RSS {:.1} MiB ({:.1} KiB per connection over the baseline)",
        rss as f64 / 1024.0,
        (rss.saturating_sub(base)) as f64 / total as f64
    );

    // Fan-out: one device per user leaves, paced; its (devices - 1) peers time the diff.
    let pace = Duration::from_secs_f64(1.0 / leaves_per_sec as f64);
    let t1 = Instant::now();
    for u in 0..users {
        sent.lock().unwrap().insert((u, 0), Instant::now());
        let _ = leavers[&u].send(());
        tokio::time::sleep_until(tokio::time::Instant::from_std(t1 + pace * (u as u32 + 1))).await;
    }
    let expected = users * (devices - 1);
    let wait_until = Instant::now() + Duration::from_secs(20);
    while lat.lock().unwrap().len() < expected && Instant::now() < wait_until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut l = lat.lock().unwrap().clone();
    l.sort();
    let pct = |p: f64| {
        l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1))).copied().unwrap_or_default()
    };
    println!(
        "load: presence-diff fan-out ({} leaves at {leaves_per_sec}/s, {} of {expected} deliveries timed): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        users,
        l.len(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        l.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    println!("load: server RSS at the end {:.1} MiB", rss_kib(pid) as f64 / 1024.0);
    drop(child.stdin.take());
    let _ = child.wait();
}

#[allow(clippy::too_many_arguments)]
async fn device(
    url: String,
    u: usize,
    d: usize,
    gate: Arc<Semaphore>,
    ready: mpsc::UnboundedSender<()>,
    mut leave: mpsc::UnboundedReceiver<()>,
    sent: Sent,
    lat: Lat,
) {
    let mut cfg = WebSocketConfig::default();
    cfg.read_buffer_size = 4096;
    cfg.write_buffer_size = 0;
    let permit = gate.acquire().await.unwrap();
    let (mut ws, _) = match tokio_tungstenite::connect_async_with_config(url.as_str(), Some(cfg), true).await
    {
        Ok(x) => x,
        Err(e) => {
            eprintln!("load: connect failed: {e}");
            return;
        }
    };
    let hello = serde_json::json!({"type": "hello", "version": 1, "token": token(u),
        "device_id": format!("dev{d}"), "device_name": format!("Device {d}"), "role": "device"});
    ws.send(Message::Text(hello.to_string().into())).await.unwrap();
    // Ready once the welcome arrived.
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                if let Ok(ServerMsg::Welcome { .. }) = decode_server(t.as_bytes(), 1 << 20) {
                    break;
                }
                if let Ok(ServerMsg::Error { code, .. }) = decode_server(t.as_bytes(), 1 << 20) {
                    eprintln!("load: refused: {code:?}");
                    return;
                }
            }
            Some(Ok(_)) => {}
            _ => return,
        }
    }
    drop(permit);
    let _ = ready.send(());
    let mut ping = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_millis(1000 + (u * 7 + d * 13) as u64 % 4000),
        Duration::from_secs(5),
    );
    let mut seq = 0u64;
    loop {
        tokio::select! {
            _ = ping.tick() => {
                seq += 1;
                let p = format!(r#"{{"type":"ping","seq":{seq}}}"#);
                if ws.send(Message::Text(p.into())).await.is_err() { return; }
            }
            Some(()) = leave.recv() => {
                let _ = ws.close(None).await;
                return;
            }
            m = ws.next() => match m {
                Some(Ok(Message::Text(t))) => {
                    let now = Instant::now();
                    if let Ok(ServerMsg::PresenceDiff { leaves, .. }) = decode_server(t.as_bytes(), 1 << 20) {
                        for dev in leaves.keys() {
                            let left: usize = dev.trim_start_matches("dev").parse().unwrap_or(usize::MAX);
                            if let Some(t0) = sent.lock().unwrap().get(&(u, left)) {
                                lat.lock().unwrap().push(now - *t0);
                            }
                        }
                    }
                }
                Some(Ok(_)) => {}
                _ => return,
            }
        }
    }
}
