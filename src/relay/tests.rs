//! Handle-level tests that need no external tools (the real-peer tests are in
//! `tests/relay_e2e.rs`).

use std::time::Duration;

use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::*;

async fn relay() -> RelayHandle {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    Relay::start(RelayConfig::new(Secret::new("ingest-key")), listener, CancellationToken::new())
        .await
        .unwrap()
}

/// Connect and complete the RTMP handshake as a client.
async fn handshaken(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut hs = Handshake::new(PeerType::Client);
    s.write_all(&hs.generate_outbound_p0_and_p1().unwrap()).await.unwrap();
    let mut buf = vec![0u8; 8192];
    loop {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed during the handshake");
        match hs.process_bytes(&buf[..n]).unwrap() {
            HandshakeProcessResult::InProgress { response_bytes } => {
                s.write_all(&response_bytes).await.unwrap()
            }
            HandshakeProcessResult::Completed { response_bytes, .. } => {
                s.write_all(&response_bytes).await.unwrap();
                return s;
            }
        }
    }
}

/// Publish to the relay with `rml_rtmp`'s client session and send one AVC keyframe; the
/// connection is returned so the publisher stays connected.
async fn publish_keyframe(addr: SocketAddr, key: &str) -> TcpStream {
    use rml_rtmp::sessions::{ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult};
    let mut s = handshaken(addr).await;
    let (mut session, _) = ClientSession::new(ClientSessionConfig::new()).unwrap();
    let mut pending = vec![session.request_connection("live".into()).unwrap()];
    let mut buf = vec![0u8; 8192];
    let mut connected = false;
    loop {
        for r in pending.drain(..) {
            match r {
                ClientSessionResult::OutboundResponse(p) => s.write_all(&p.bytes).await.unwrap(),
                ClientSessionResult::RaisedEvent(ClientSessionEvent::ConnectionRequestAccepted) => {
                    connected = true
                }
                ClientSessionResult::RaisedEvent(ClientSessionEvent::PublishRequestAccepted) => {
                    let key = bytes::Bytes::from_static(&[0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65]);
                    let t = rml_rtmp::time::RtmpTimestamp::new(0);
                    if let ClientSessionResult::OutboundResponse(p) =
                        session.publish_video_data(key, t, false).unwrap()
                    {
                        s.write_all(&p.bytes).await.unwrap();
                    }
                    return s;
                }
                _ => {}
            }
        }
        if connected {
            connected = false;
            let publish = rml_rtmp::sessions::PublishRequestType::Live;
            pending.push(session.request_publishing(key.into(), publish).unwrap());
            continue;
        }
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "the relay closed the publisher");
        pending = session.handle_input(&buf[..n]).unwrap();
    }
}

/// Read until the peer closes; false if it stays open for `limit`.
async fn closes_within(s: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 4096];
    tokio::time::timeout(limit, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn outputs_are_validated_and_named_uniquely() {
    let relay = relay().await;
    let bad = relay.add_output("a", "http://example.com/app", Secret::new("k")).await;
    assert!(matches!(bad, Err(RelayError::InvalidUrl { .. })), "{bad:?}");
    let blank = relay.add_output("a", "rtmp://127.0.0.1:1/app", Secret::new(" ")).await;
    assert!(matches!(blank, Err(RelayError::Config { .. })), "{blank:?}");
    relay.add_output("a", "rtmp://127.0.0.1:1/app", Secret::new("k")).await.unwrap();
    let dup = relay.add_output("a", "rtmp://127.0.0.1:1/app", Secret::new("k")).await;
    assert_eq!(dup, Err(RelayError::DuplicateOutput { name: "a".into() }));
    let out = relay.outputs();
    assert_eq!(out.len(), 1);
    // No publisher yet: nothing connects.
    assert_eq!((out[0].state.clone(), out[0].connected), (OutputState::WaitingForSource, false));
    assert_eq!(out[0].target, "rtmp://127.0.0.1:1");
    assert_eq!(relay.remove_output("b").await, Err(RelayError::UnknownOutput { name: "b".into() }));
    relay.remove_output("a").await.unwrap();
    assert!(relay.outputs().is_empty());
    relay.shutdown().await;
    assert_eq!(relay.add_output("c", "rtmp://h/app", Secret::new("k")).await, Err(RelayError::Closed));
}

#[tokio::test]
async fn a_protocol_error_closes_only_that_connection() {
    let relay = relay().await;
    let mut events = relay.subscribe();
    // Garbage instead of a handshake.
    let mut junk = TcpStream::connect(relay.local_addr()).await.unwrap();
    junk.write_all(&[0x03; 4000]).await.unwrap();
    // A continuation chunk for a message that never started, after a good handshake.
    let mut bad = handshaken(relay.local_addr()).await;
    bad.write_all(&[0xc5, 0, 0, 0]).await.unwrap();
    assert!(closes_within(&mut bad, Duration::from_secs(5)).await, "the bad connection is closed");
    // The relay still serves: a new connection completes its handshake.
    let _good = handshaken(relay.local_addr()).await;
    assert!(!relay.ingest().publishing);
    assert!(events.try_recv().is_err(), "nothing was published or rejected");
    drop(junk);
    relay.shutdown().await;
}

#[tokio::test]
async fn an_output_gives_up_after_max_reconnects() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut cfg = RelayConfig::new(Secret::new("ingest-key"));
    cfg.max_reconnects = 2;
    cfg.retry_initial = Duration::from_millis(10);
    cfg.retry_max = Duration::from_millis(40);
    let relay = Relay::start(cfg, listener, CancellationToken::new()).await.unwrap();
    let mut events = relay.subscribe();
    // Nothing listens on port 1: every attempt is refused.
    relay.add_output("dead", "rtmp://127.0.0.1:1/app", Secret::new("k")).await.unwrap();
    let _publisher = publish_keyframe(relay.local_addr(), "ingest-key").await;
    let failed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(RelayEvent::OutputState { state: OutputState::Failed { reason }, .. }) =
                events.recv().await
            {
                return reason;
            }
        }
    })
    .await
    .expect("the output fails");
    assert!(failed.detail.contains("connect"), "{failed}");
    assert_eq!(failed.kind, crate::failure::FailureKind::Unreachable, "{failed:?}");
    assert_eq!(failed.source, crate::failure::FailureSource::Platform);
    let o = &relay.outputs()[0];
    assert_eq!((o.reconnects, o.connected), (2, false), "{o:?}");
    assert!(relay.ingest().publishing);
    relay.shutdown().await;
}

#[test]
fn a_dedicated_relay_runs_on_its_own_thread() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let cancel = CancellationToken::new();
    let cfg = RelayConfig::new(Secret::new("ingest-key"));
    let relay = Relay::start_dedicated(cfg, listener, cancel.clone()).unwrap();
    // Used from another runtime.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        relay.add_output("a", "rtmp://127.0.0.1:1/app", Secret::new("k")).await.unwrap();
        assert_eq!(relay.outputs().len(), 1);
        let _s = handshaken(relay.local_addr()).await;
        cancel.cancel();
        relay.shutdown().await;
    });
    let blank = Relay::start_dedicated(
        RelayConfig::new(Secret::new("")),
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        CancellationToken::new(),
    );
    assert!(matches!(blank, Err(RelayError::Config { .. })));
}
