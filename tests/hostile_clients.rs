//! Hostile clients against the two HTTP listeners (issue 11, finding 4): the local control API
//! and the sync server (meant to face the internet). Loopback only and bounded (a few seconds):
//!
//! - 200 silent + 200 half-header sockets, each reopened when the server drops it, while a real
//!   client (an HTTP request; a WebSocket device with its hello) still gets through within 1 s;
//! - the hostile sockets are closed by the server (before the fix they stayed open forever);
//! - a half-sent request head is closed after the header timeout;
//! - on the sync server, 1,100 silent connections never exhaust anything: the oldest pending
//!   ones are closed as new ones come.
//!
//! Connect latency and RSS under attack are printed (`--nocapture`) for docs/PERFORMANCE.md.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

const IDLE: usize = 200;
const HALF: usize = 200;
/// The contract of the issue: a real client gets through within this, attack or not.
const CONNECT_WITHIN: Duration = Duration::from_secs(1);
const HALF_HEAD: &[u8] = b"GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

fn rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = s
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// A connection from `from` (any 127.x address; 127.0.0.1 by default).
async fn connect_from(from: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(format!("{from}:0").parse().unwrap())?;
    s.connect(to).await
}

/// Hostile sockets: `idle` that never send a byte and `half` that send half a request head,
/// each reopened (after a short pause) when the server closes it.
struct Attack {
    stop: CancellationToken,
    tasks: JoinSet<()>,
    /// Sockets open now (connected, not yet seen closed by the server).
    open: Arc<AtomicUsize>,
    /// Times the server closed one.
    closed: Arc<AtomicUsize>,
    /// Sockets whose first connect attempt is over (the ramp is done when all are).
    started: Arc<AtomicUsize>,
    total: usize,
}

impl Attack {
    async fn start(to: SocketAddr, idle: usize, half: usize, reopen: bool) -> Attack {
        let stop = CancellationToken::new();
        let (open, closed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let started = Arc::new(AtomicUsize::new(0));
        let mut tasks = JoinSet::new();
        for i in 0..idle + half {
            let (stop, open, closed, started) = (stop.clone(), open.clone(), closed.clone(), started.clone());
            let sends_half = i >= idle;
            tasks.spawn(async move {
                // Ramp up over ~0.1 s per 1,000 sockets rather than overflowing the kernel's
                // accept queue in one go (which only delays some connects by a SYN retry).
                tokio::time::sleep(Duration::from_micros(100 * i as u64)).await;
                let mut first = true;
                loop {
                    let res = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(to)).await;
                    if std::mem::take(&mut first) {
                        started.fetch_add(1, Ordering::SeqCst);
                    }
                    let Ok(Ok(mut s)) = res else {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    };
                    open.fetch_add(1, Ordering::SeqCst);
                    if sends_half {
                        let _ = s.write_all(HALF_HEAD).await;
                    }
                    let mut buf = [0u8; 512];
                    let server_closed = tokio::select! {
                        _ = stop.cancelled() => false,
                        _ = async { while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {} } => true,
                    };
                    open.fetch_sub(1, Ordering::SeqCst);
                    if !server_closed {
                        return;
                    }
                    closed.fetch_add(1, Ordering::SeqCst);
                    if !reopen {
                        // Keep the task alive until the stop, like a patient attacker.
                        stop.cancelled().await;
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            });
        }
        Attack { stop, tasks, open, closed, started, total: idle + half }
    }

    /// Wait until every socket made its first connect attempt.
    async fn ramped(&self) {
        wait_until("the attack's sockets all connect once", Duration::from_secs(10), || {
            self.started.load(Ordering::SeqCst) >= self.total
        })
        .await;
    }

    fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    fn closed(&self) -> usize {
        self.closed.load(Ordering::SeqCst)
    }

    async fn stop(mut self) {
        self.stop.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Time `attempt` `n` times (n odd). A lockout is an attempt with no answer within 10 s; the
/// contract's [`CONNECT_WITHIN`] is checked on the median: on a loaded machine one attempt can
/// meet a full accept queue and wait for the kernel's first SYN retransmit (exactly 1 s; seen
/// in CI at load 15 as 1.01 s), which is the kernel's pacing, not the server holding it back.
/// Returns the worst, for the printed figures.
async fn worst_of<F, Fut>(what: &str, n: usize, mut attempt: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut took = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        tokio::time::timeout(Duration::from_secs(10), attempt())
            .await
            .unwrap_or_else(|_| panic!("{what}: no answer within 10 s (locked out)"));
        took.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    took.sort();
    let median = took[took.len() / 2];
    assert!(median < CONNECT_WITHIN, "{what}: median {median:?} under attack (all: {took:?})");
    took[took.len() - 1]
}

/// Wait until the server has closed most hostile sockets at least once and holds at most
/// `max_open` of them open at a time.
async fn wait_bounded(attack: &Attack, max_open: usize, within: Duration) {
    let t = Instant::now();
    loop {
        if attack.closed() >= 100 && attack.open() <= max_open {
            return;
        }
        assert!(
            t.elapsed() < within,
            "the server keeps hostile sockets open: {} open, {} ever closed",
            attack.open(),
            attack.closed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Send `bytes`, then wait for the server to close the connection; returns when it did.
async fn closed_after(to: SocketAddr, bytes: &[u8], within: Duration) -> Duration {
    let t = Instant::now();
    let mut s = connect_from("127.0.0.3", to).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut buf = [0u8; 4096];
    let closed =
        tokio::time::timeout(within, async { while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {} })
            .await;
    assert!(
        closed.is_ok(),
        "the connection ({:?}...) is still open after {within:?}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(20)])
    );
    t.elapsed()
}

#[tokio::test]
async fn the_control_api_closes_half_sent_heads_and_silent_sockets() {
    let cfg = config("user-1");
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    let c = Control::start(&e).await;
    // The control API's header timeout is 5 s.
    let (half, silent) = tokio::join!(
        closed_after(c.addr, HALF_HEAD, Duration::from_secs(9)),
        closed_after(c.addr, b"", Duration::from_secs(9)),
    );
    assert!(half >= Duration::from_secs(4) && silent >= Duration::from_secs(4), "{half:?} {silent:?}");
    c.stop().await;
    e.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_api_serves_through_idle_and_half_header_floods() {
    let cfg = config("user-1");
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    let c = Control::start(&e).await;
    streampai::telemetry::raise_open_file_limit();
    let rss0 = rss_mib();
    let attack = Attack::start(c.addr, IDLE, HALF, true).await;
    // The control API keeps at most 128 pending connections (oldest closed first). The
    // attacker's count also holds sockets still in the kernel's accept queue and closes it has
    // not noticed yet (many on a loaded machine): under 300 of the 400 proves the eviction (a
    // server that kept them would hold all 400).
    wait_bounded(&attack, 300, Duration::from_secs(20)).await;
    let url = format!("{}/api/v1/status", c.base);
    let worst = worst_of("GET /api/v1/status", 5, || {
        let (url, token) = (url.clone(), c.token.clone());
        async move {
            // A fresh client each time: a new connection, as a tool or a browser tab would.
            let res = reqwest::Client::new().get(&url).bearer_auth(token).send().await.unwrap();
            assert_eq!(res.status(), 200);
        }
    })
    .await;
    let rss_attack = rss_mib();
    println!(
        "control API under {IDLE} idle + {HALF} half-header sockets: worst request {:.1} ms, \
         {} hostile sockets open, {} closed by the server; test process RSS {rss0:.1} -> {rss_attack:.1} MiB",
        worst.as_secs_f64() * 1000.0,
        attack.open(),
        attack.closed()
    );
    attack.stop().await;
    c.stop().await;
    e.shutdown().await;
}

mod sync {
    use super::*;
    use streampai_sync::server::{self, ServerConfig};
    use streampai_sync::users::Users;

    const TOKEN: &str = "alice-hostile-token-0001";

    type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

    /// Connect a device and wait for its welcome.
    async fn signed_in(addr: SocketAddr, n: usize) -> Ws {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/sync")).await.unwrap();
        let hello = serde_json::json!({"type": "hello", "version": 1, "token": TOKEN,
            "device_id": format!("phone-{n}"), "device_name": "Phone", "role": "device"});
        ws.send(Message::Text(hello.to_string().into())).await.unwrap();
        expect(&mut ws, "\"welcome\"").await;
        ws
    }

    async fn expect(ws: &mut Ws, what: &str) {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) if t.contains(what) => return,
                Some(Ok(_)) => {}
                other => panic!("no {what}: {other:?}"),
            }
        }
    }

    async fn device_hello(addr: SocketAddr, n: usize) {
        let mut ws = signed_in(addr, n).await;
        let _ = ws.close(None).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sync_server_serves_through_idle_and_half_header_floods() {
        init_tracing();
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        // The shipped limits (5 s header timeout), with room for 256 pending connections instead
        // of 1,024, so that 1,100 at once pass it by far.
        let mut cfg = ServerConfig::default();
        cfg.guard.max_pending = 256;
        let srv = server::start(l, cfg, Users::from_tokens([("alice", TOKEN)]), None, None).await.unwrap();
        let addr = srv.local_addr();
        streampai::telemetry::raise_open_file_limit();
        let rss0 = rss_mib();

        // 1. 1,100 silent connections at once (not reopened): the oldest pending ones are
        //    closed as the cap is passed (the kernel may hold some back a second or two in its
        //    accept queue), the rest by the header timeout.
        let burst = Attack::start(addr, 1100, 0, false).await;
        burst.ramped().await;
        let worst_burst =
            worst_of("a device's hello during 1,100 silent sockets", 5, || device_hello(addr, 0)).await;
        let t = Instant::now();
        loop {
            let g = srv.guard_stats();
            assert!(g.pending <= 256, "{g:?}");
            // Every connection the server took is closed: the oldest for room, the rest by the
            // header timeout. (Before the fix none ever was.)
            if g.pending == 0 && burst.closed() >= 500 {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(9),
                "1,100 silent sockets: {} closed, {g:?}",
                burst.closed()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let burst_stats = srv.guard_stats();
        burst.stop().await;

        // 2. 200 idle + 200 half-header sockets, reopened when dropped. A device signed in
        //    before is never evicted: it pings through the whole attack.
        let mut steady = signed_in(addr, 1000).await;
        let attack = Attack::start(addr, IDLE, HALF, true).await;
        wait_bounded(&attack, IDLE + HALF, Duration::from_secs(9)).await;
        let mut n = 0;
        let worst = worst_of("a device's hello", 5, || {
            n += 1;
            device_hello(addr, n)
        })
        .await;
        let ping = serde_json::json!({"type": "ping", "seq": 1});
        steady.send(Message::Text(ping.to_string().into())).await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), expect(&mut steady, "\"pong\""))
            .await
            .expect("the device signed in before the attack still answers");
        let rss_attack = rss_mib();
        println!(
            "sync server under 1,100 silent sockets: worst hello {:.1} ms ({burst_stats:?}); under {IDLE} \
             idle + {HALF} half-header sockets: worst hello {:.1} ms, {} closed by the server, guard {:?}; \
             test process RSS {rss0:.1} -> {rss_attack:.1} MiB",
            worst_burst.as_secs_f64() * 1000.0,
            worst.as_secs_f64() * 1000.0,
            attack.closed(),
            srv.guard_stats()
        );
        attack.stop().await;
        srv.shutdown().await;
    }

    #[tokio::test]
    async fn the_sync_server_closes_half_sent_heads_and_idle_unauthenticated_sockets() {
        init_tracing();
        let mut cfg = ServerConfig::default();
        cfg.guard.header_timeout = Duration::from_millis(500);
        cfg.guard.idle_timeout = Duration::from_millis(800);
        cfg.heartbeat_interval = Duration::from_millis(100);
        cfg.heartbeat_timeout = Duration::from_millis(300);
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let srv = server::start(l, cfg, Users::from_tokens([("alice", TOKEN)]), None, None).await.unwrap();
        let addr = srv.local_addr();
        let keep_alive = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        let (half, silent, idle) = tokio::join!(
            closed_after(addr, HALF_HEAD, Duration::from_secs(5)),
            closed_after(addr, b"", Duration::from_secs(5)),
            // A whole request answered, then silence on the kept-alive connection.
            closed_after(addr, keep_alive, Duration::from_secs(5)),
        );
        println!("sync server closed a half head after {half:?}, a silent socket after {silent:?}, an idle one after {idle:?}");
        wait_until("no pending connection left", Duration::from_secs(3), || srv.guard_stats().pending == 0)
            .await;
        srv.shutdown().await;
    }
}
