//! The guard's own tests: head detection, eviction order, the log of a flood.

use super::*;
use std::io;

fn watch(bytes: &[&[u8]]) -> bool {
    let g = Guard::new("test", GuardConfig::default());
    let (_io, peer) = g.wrap((), "127.0.0.1:1".parse().unwrap());
    let mut w = HeadWatch::new((), peer.admission);
    bytes.iter().any(|b| w.scan(b))
}

#[tokio::test]
async fn finds_the_end_of_a_head_across_reads() {
    assert!(watch(&[b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"]));
    assert!(watch(&[b"GET / HTTP/1.1\r\nHo", b"st: a\r", b"\n", b"\r\n"]));
    assert!(watch(&[b"\r\nGET / HTTP/1.1\n\n"]));
    assert!(!watch(&[b"GET / HTTP/1.1\r\nHost: a\r\n"]));
    assert!(!watch(&[b"\r\n\r\n"]));
}

#[tokio::test]
async fn the_oldest_pending_connection_is_evicted_per_ip_and_in_total() {
    let cfg = GuardConfig { max_pending: 3, max_pending_per_ip: 2, ..GuardConfig::default() };
    let g = Guard::new("test", cfg);
    let a: SocketAddr = "10.0.0.1:1".parse().unwrap();
    let b: SocketAddr = "10.0.0.2:1".parse().unwrap();
    let (a1, _) = g.wrap((), a);
    let (a2, _) = g.wrap((), a);
    let (a3, _) = g.wrap((), a); // evicts a1 (per IP)
    assert_eq!(a1.slot.state.load(Ordering::SeqCst), EVICTED);
    assert_eq!(g.stats().pending, 2);
    let (b1, pb1) = g.wrap((), b);
    let (b2, _) = g.wrap((), b); // total 4 > 3: evicts a2
    assert_eq!(a2.slot.state.load(Ordering::SeqCst), EVICTED);
    assert_ne!(a3.slot.state.load(Ordering::SeqCst), EVICTED);
    pb1.admission.admit();
    assert_eq!(g.stats().pending, 2);
    drop(b2);
    assert_eq!(g.stats().pending, 1);
    assert_eq!(b1.slot.state.load(Ordering::SeqCst), ADMITTED);
    assert_eq!(g.stats().evicted, 2);
}

#[tokio::test]
async fn a_connection_past_its_request_head_is_evicted_last() {
    let cfg = GuardConfig {
        max_pending: 10,
        max_pending_per_ip: 2,
        admit_on_head: false,
        ..GuardConfig::default()
    };
    let g = Guard::new("test", cfg);
    let a: SocketAddr = "10.0.0.1:1".parse().unwrap();
    let (a1, p1) = g.wrap((), a);
    let (a2, _) = g.wrap((), a);
    head_done(&p1.admission.0); // a1 sent its whole request: still pending (no hello yet)
    assert_eq!(a1.slot.state.load(Ordering::SeqCst), HEAD_DONE);
    let (a3, p3) = g.wrap((), a);
    assert_eq!(a2.slot.state.load(Ordering::SeqCst), EVICTED, "the fresh one goes first");
    assert_eq!(a1.slot.state.load(Ordering::SeqCst), HEAD_DONE);
    head_done(&p3.admission.0);
    let (_a4, _) = g.wrap((), a);
    assert_eq!(a1.slot.state.load(Ordering::SeqCst), EVICTED, "then the oldest headed one");
    assert_eq!(a3.slot.state.load(Ordering::SeqCst), HEAD_DONE);
}

/// A flood of evictions writes one warning per 10 s, not one per connection.
#[tokio::test]
async fn ten_thousand_evictions_write_one_short_warning() {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let w = buf.clone();
    let sub = tracing_subscriber::fmt().with_ansi(false).with_writer(move || w.clone()).finish();
    let g = Guard::new("test", GuardConfig { max_pending: 1, ..GuardConfig::default() });
    tracing::subscriber::with_default(sub, || {
        let peer: SocketAddr = "10.0.0.1:1".parse().unwrap();
        let mut keep = Vec::new();
        for _ in 0..10_001 {
            keep.push(g.wrap((), peer));
        }
    });
    assert_eq!(g.stats().evicted, 10_000);
    let log = buf.0.lock().unwrap().clone();
    assert_eq!(log.iter().filter(|b| **b == b'\n').count(), 1, "{}", String::from_utf8_lossy(&log));
    assert!(log.len() < 10 * 1024);
}
