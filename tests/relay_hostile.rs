//! The ingest against hostile clients (issue 11), loopback only, each test against a relay in a
//! child process (its memory, file table and log are its own):
//! - 200 idle + 200 half-handshake sockets, reopened whenever the relay drops them, while a real
//!   publisher (ffmpeg) connects and publishes;
//! - 16 connections each sending partial 8 MiB messages before authenticating: the relay
//!   process's RSS stays under 100 MB and is back near its baseline once they close;
//! - a burst of 10,000 refused connections writes under 10 KB of log, and text a peer chose
//!   (an application name with a newline and an ESC sequence) never reaches the log raw.

mod relay_support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use relay_support::child::{RelayProcess, RssPeak};
use relay_support::{publish, wait_until};
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// The relay child (see `relay_support::child`); a no-op in the test process itself.
#[test]
fn relay_process_child() {
    relay_support::child::serve_if_child();
}

fn start(key: &str) -> RelayProcess {
    RelayProcess::start("relay_process_child", key)
}

/// A stranger: connects, optionally sends half a handshake, holds the socket until the relay
/// closes it, and reconnects at once; until `stop`.
async fn stranger(addr: SocketAddr, half: bool, stop: CancellationToken, opened: Arc<AtomicUsize>) {
    let mut buf = vec![0u8; 4096];
    while !stop.is_cancelled() {
        let Ok(mut s) = TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        opened.fetch_add(1, Ordering::Relaxed);
        if half {
            let mut c0c1 = vec![3u8];
            c0c1.extend(std::iter::repeat_n(7u8, 768)); // half of C1
            let _ = s.write_all(&c0c1).await;
        }
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                r = s.read(&mut buf) => if matches!(r, Ok(0) | Err(_)) { break },
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_holding_sockets_never_lock_out_the_publisher() {
    require_tools!();
    let relay = start("obs-key-lockout");
    // For comparison (docs/PERFORMANCE.md): the same publisher with no one else around.
    relay_support::media(); // encoded once, before any timing
    let started = Instant::now();
    let quiet = publish(relay.addr, "live", "obs-key-lockout", Some(1)).wait().await.unwrap();
    eprintln!(
        "no strangers: {quiet}, publishing after {:?}",
        relay.publishing_since(started).map(|t| t - started)
    );
    let stop = CancellationToken::new();
    let opened = Arc::new(AtomicUsize::new(0));
    for i in 0..400 {
        tokio::spawn(stranger(relay.addr, i % 2 == 1, stop.clone(), opened.clone()));
    }
    assert!(wait_until(Duration::from_secs(20), || opened.load(Ordering::Relaxed) >= 400).await);
    let mut results = Vec::new();
    for attempt in 0..3 {
        let before = opened.load(Ordering::Relaxed);
        let started = Instant::now();
        let mut ffmpeg = publish(relay.addr, "live", "obs-key-lockout", Some(2));
        let status =
            tokio::time::timeout(Duration::from_secs(30), ffmpeg.wait()).await.expect("ffmpeg ends").unwrap();
        let connected = relay.publishing_since(started).map(|t| t - started);
        let churn = opened.load(Ordering::Relaxed) - before;
        eprintln!("attempt {attempt}: {status}, publishing after {connected:?}, {churn} stranger (re)connections meanwhile");
        results.push((status.success(), connected));
    }
    stop.cancel();
    assert!(
        results.iter().all(|(ok, connected)| *ok && connected.is_some()),
        "the publisher was locked out: {results:?}\nrelay log tail:\n{}",
        tail(&relay.log(), 2000)
    );
}

fn tail(s: &str, n: usize) -> &str {
    &s[s.len().saturating_sub(n)..]
}

/// Handshake as an RTMP client.
async fn handshaken(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let mut s = TcpStream::connect(addr).await?;
    let mut hs = Handshake::new(PeerType::Client);
    s.write_all(&hs.generate_outbound_p0_and_p1().unwrap()).await?;
    let mut buf = vec![0u8; 8192];
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        match hs.process_bytes(&buf[..n]).map_err(|e| std::io::Error::other(format!("{e:?}")))? {
            HandshakeProcessResult::InProgress { response_bytes } => s.write_all(&response_bytes).await?,
            HandshakeProcessResult::Completed { response_bytes, .. } => {
                s.write_all(&response_bytes).await?;
                return Ok(s);
            }
        }
    }
}

/// SetChunkSize(4096), then on each of `streams` chunk streams the first 7 MiB of an 8 MiB
/// video message (4096-byte chunks): what a stranger sends to make the relay buffer.
fn partial_messages(streams: u8) -> Vec<u8> {
    let mut v = vec![0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0x10, 0x00];
    let chunk = [0u8; 4096];
    for csid in 3..3 + streams {
        v.extend_from_slice(&[csid, 0, 0, 0, 0x80, 0, 0, 9, 1, 0, 0, 0]); // 8 MiB, type 9, stream 1
        for i in 0..(7 << 20) / 4096 {
            if i > 0 {
                v.push(0xc0 | csid);
            }
            v.extend_from_slice(&chunk);
        }
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_messages_before_authentication_hold_no_memory() {
    require_tools!();
    let relay = start("obs-key-memory");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let baseline = relay.rss_mib();
    let peak = RssPeak::watch(&relay);
    let payload = Arc::new(partial_messages(4));
    let hold = CancellationToken::new();
    let finished = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (payload, hold, finished) = (payload.clone(), hold.clone(), finished.clone());
        let addr = relay.addr;
        tasks.push(tokio::spawn(async move {
            let Ok(mut s) = handshaken(addr).await else {
                finished.fetch_add(1, Ordering::Relaxed);
                return 0;
            };
            let mut sent = 0;
            for piece in payload.chunks(64 * 1024) {
                if s.write_all(piece).await.is_err() {
                    break;
                }
                sent += piece.len();
            }
            finished.fetch_add(1, Ordering::Relaxed);
            // Keep the connection open (what was sent stays buffered, if the relay kept it).
            tokio::select! {
                _ = hold.cancelled() => {}
                _ = tokio::time::sleep(Duration::from_secs(20)) => {}
            }
            sent
        }));
    }
    // Until every sender is done or was cut off (bounded), then a moment for the peak sampler.
    let done = wait_until(Duration::from_secs(30), || {
        finished.load(Ordering::Relaxed) == 16 || relay.rss_mib() > baseline + 400.0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let during = peak.peak_mib().max(relay.rss_mib());
    hold.cancel();
    let mut sent = 0;
    for t in tasks {
        sent += t.await.unwrap();
    }
    let back = wait_until(Duration::from_secs(10), || relay.rss_mib() < baseline + 10.0).await;
    let after = relay.rss_mib();
    eprintln!(
        "relay RSS: baseline {baseline:.1} MiB, peak {during:.1} MiB under 16 connections x 4 partial 8 MiB \
         messages ({:.0} MiB sent), {after:.1} MiB after they closed (all cut off in time: {done})",
        sent as f64 / 1048576.0
    );
    assert!(during < 100.0, "RSS reached {during:.1} MiB before any stream key was checked");
    assert!(back, "RSS did not return near the baseline: {after:.1} MiB vs {baseline:.1} MiB");
}

/// An RTMP client that sends `connect(app)` and, when accepted, `publish(key)`.
async fn try_publish(addr: SocketAddr, app: &str, key: &str) {
    use rml_rtmp::sessions::{ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult};
    let Ok(mut s) = handshaken(addr).await else { return };
    let (mut session, _) = ClientSession::new(ClientSessionConfig::new()).unwrap();
    let mut pending = vec![session.request_connection(app.into()).unwrap()];
    let mut buf = vec![0u8; 8192];
    loop {
        for r in pending.drain(..) {
            match r {
                ClientSessionResult::OutboundResponse(p) if s.write_all(&p.bytes).await.is_err() => return,
                ClientSessionResult::RaisedEvent(ClientSessionEvent::ConnectionRequestAccepted) => {
                    let r =
                        session.request_publishing(key.into(), rml_rtmp::sessions::PublishRequestType::Live);
                    if let Ok(r) = r {
                        let ClientSessionResult::OutboundResponse(p) = r else { return };
                        if s.write_all(&p.bytes).await.is_err() {
                            return;
                        }
                    }
                }
                _ => {}
            }
        }
        let n = match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => return,
        };
        match session.handle_input(&buf[..n]) {
            Ok(r) => pending = r,
            Err(_) => return,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_refusals_writes_a_few_lines_and_nothing_forged() {
    require_tools!();
    let relay = start("obs-key-logs-right");
    let before = relay.log_len();
    let refused = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (addr, refused) = (relay.addr, refused.clone());
        tasks.push(tokio::spawn(async move {
            let mut buf = [0u8; 64];
            for _ in 0..1240 {
                // An unsupported RTMP version: refused at the first byte.
                let Ok(mut s) = TcpStream::connect(addr).await else { continue };
                let _ = s.write_all(&[6u8; 1537]).await;
                let _ = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await;
                refused.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for _ in 0..40 {
        try_publish(relay.addr, "live", "obs-key-logs-guess").await;
        try_publish(relay.addr, "live\n2026-01-01T00:00:00Z  WARN forged entry\x1b[2J", "x").await;
        refused.fetch_add(2, Ordering::Relaxed);
    }
    for t in tasks {
        t.await.unwrap();
    }
    // The burst's summary comes once its window (10 s) has passed.
    let summarized =
        wait_until(Duration::from_secs(15), || relay.log().contains("more connections refused")).await;
    let log = relay.log();
    let written = &log[before.min(log.len())..];
    eprintln!(
        "{} refusals wrote {} bytes of log:\n{written}",
        refused.load(Ordering::Relaxed),
        written.len()
    );
    assert!(refused.load(Ordering::Relaxed) >= 10_000);
    assert!(written.len() < 10 * 1024, "{} bytes of log for one burst", written.len());
    assert!(summarized, "no summary line with the count");
    assert!(!written.contains('\x1b'), "an ESC sequence reached the log");
    assert!(!written.lines().any(|l| l.starts_with("2026-01-01")), "a forged line reached the log");
    assert!(!written.contains("obs-key-logs"), "a stream key reached the log");
}
