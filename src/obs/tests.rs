//! The client against the in-process fake: the error paths real OBS cannot produce on demand.

use std::time::Duration;

use super::client::{connect, ConnectOptions, ObsError};
use super::fake::{Behaviour, FakeObs, Greet};
use super::protocol::{ObsEvent, OutputState};
use crate::secrets::Secret;

fn opts(url: &str, password: Option<&str>) -> ConnectOptions {
    let mut o = ConnectOptions::new(url, password.map(Secret::new));
    o.connect_timeout = Duration::from_millis(500);
    o.request_timeout = Duration::from_millis(500);
    o
}

#[tokio::test]
async fn connects_with_the_password_and_reads_versions_events_and_answers() {
    let fake = FakeObs::start(Behaviour::default()).await;
    let mut s = connect(&opts(&fake.url, Some("fake-password"))).await.unwrap();
    assert_eq!(s.client.version().obs_version, "29.0.2");
    assert_eq!(s.client.version().obs_web_socket_version, "5.1.0");
    assert!(s.greeting.auth_required);
    assert!(!s.client.stream_status().await.unwrap().output_active);
    s.client.start_stream().await.unwrap();
    let first = s.events.recv().await.unwrap().unwrap();
    assert_eq!(first, ObsEvent::StreamState { active: false, state: OutputState::Starting });
    let second = s.events.recv().await.unwrap().unwrap();
    assert_eq!(second, ObsEvent::StreamState { active: true, state: OutputState::Started });
    // OBS's refusal comes back typed.
    let again = s.client.start_stream().await.unwrap_err();
    assert!(again.is_output_running(), "{again:?}");
    let svc = s.client.stream_service().await.unwrap();
    assert_eq!(svc.stream_service_type, "rtmp_common");
    fake.stop();
}

#[tokio::test]
async fn a_wrong_or_missing_password_is_auth_failed_and_never_in_the_error() {
    let fake = FakeObs::start(Behaviour::default()).await;
    let wrong = connect(&opts(&fake.url, Some("not-the-password"))).await.err().unwrap();
    assert!(matches!(wrong, ObsError::AuthFailed(_)), "{wrong:?}");
    assert!(!wrong.to_string().contains("not-the-password"));
    let missing = connect(&opts(&fake.url, None)).await.err().unwrap();
    assert!(matches!(missing, ObsError::AuthFailed(ref m) if m.contains("asks for")), "{missing:?}");
    assert_eq!(fake.identified.load(std::sync::atomic::Ordering::SeqCst), 0);
    // No password needed: none sent, connected.
    let open = FakeObs::start(Behaviour { password: None, ..Behaviour::default() }).await;
    let s = connect(&opts(&open.url, Some("ignored"))).await.unwrap();
    assert!(!s.greeting.auth_required);
}

#[tokio::test]
async fn peers_that_are_not_obs_websocket_5_are_incompatible() {
    // Never greets (the 4.x plugin waits for requests).
    let silent = FakeObs::start(Behaviour { greet: Greet::Silent, ..Behaviour::default() }).await;
    let e = connect(&opts(&silent.url, Some("fake-password"))).await.err().unwrap();
    assert!(matches!(e, ObsError::Incompatible(ref m) if m.contains("no obs-websocket 5 greeting")), "{e:?}");
    // Greets with garbage.
    let garbage = FakeObs::start(Behaviour {
        greet: Greet::Raw("{\"hello\": \"world\"".into()),
        ..Behaviour::default()
    })
    .await;
    let e = connect(&opts(&garbage.url, Some("fake-password"))).await.err().unwrap();
    assert!(matches!(e, ObsError::Incompatible(ref m) if m.contains("cut-off JSON")), "{e:?}");
    // Another op first.
    let other =
        FakeObs::start(Behaviour { greet: Greet::Raw(r#"{"op":5,"d":{}}"#.into()), ..Behaviour::default() })
            .await;
    let e = connect(&opts(&other.url, Some("fake-password"))).await.err().unwrap();
    assert!(matches!(e, ObsError::Incompatible(_)), "{e:?}");
    // An RPC version the app does not speak: refused by the server (4010)...
    let refuse = FakeObs::start(Behaviour { refuse_rpc: true, ..Behaviour::default() }).await;
    let e = connect(&opts(&refuse.url, Some("fake-password"))).await.err().unwrap();
    assert!(matches!(e, ObsError::Incompatible(ref m) if m.contains("RPC version")), "{e:?}");
    // ... or a Hello announcing only an older one.
    let old = FakeObs::start(Behaviour { rpc_version: 0, ..Behaviour::default() }).await;
    let e = connect(&opts(&old.url, Some("fake-password"))).await.err().unwrap();
    assert!(matches!(e, ObsError::Incompatible(ref m) if m.contains("RPC version 0")), "{e:?}");
    // An HTTP server that is not a WebSocket.
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = http.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = http.accept().await {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").await;
        }
    });
    let e = connect(&opts(&format!("ws://{addr}"), None)).await.err().unwrap();
    assert!(matches!(e, ObsError::Incompatible(ref m) if m.contains("HTTP 404")), "{e:?}");
}

#[tokio::test]
async fn nothing_listening_is_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let e = connect(&opts(&format!("ws://127.0.0.1:{port}"), None)).await.err().unwrap();
    assert!(matches!(e, ObsError::Unreachable(ref m) if m.contains("nothing listens")), "{e:?}");
}

#[tokio::test]
async fn a_malformed_frame_after_identification_ends_the_session_with_a_protocol_error() {
    let fake =
        FakeObs::start(Behaviour { after_identified: Some("\u{1}not json".into()), ..Behaviour::default() })
            .await;
    // The frame may arrive during GetVersion (connect fails) or right after (the session ends).
    match connect(&opts(&fake.url, Some("fake-password"))).await {
        Err(e) => assert!(matches!(e, ObsError::Protocol(_)), "{e:?}"),
        Ok(mut s) => {
            let end = s.events.recv().await.unwrap().unwrap_err();
            assert!(matches!(end, ObsError::Protocol(ref m) if m.contains("not JSON")), "{end:?}");
            let after = s.client.stream_status().await.unwrap_err();
            assert!(matches!(after, ObsError::Lost(_) | ObsError::Protocol(_)), "{after:?}");
        }
    }
    // A malformed event (fields of the wrong type) too.
    let fake2 = FakeObs::start(Behaviour::default()).await;
    let mut s = connect(&opts(&fake2.url, Some("fake-password"))).await.unwrap();
    fake2.send(r#"{"op":5,"d":{"eventType":"StreamStateChanged","eventData":{"outputActive":"yes"}}}"#);
    let end = s.events.recv().await.unwrap().unwrap_err();
    assert!(matches!(end, ObsError::Protocol(ref m) if m.contains("StreamStateChanged")), "{end:?}");
}

#[tokio::test]
async fn slow_answers_time_out_and_late_answers_are_dropped() {
    let fake = FakeObs::start(Behaviour::default()).await;
    let s = connect(&opts(&fake.url, Some("fake-password"))).await.unwrap();
    // Connections from now on answer slowly; this one too (the fake reads the setting per
    // connection, so reconnect).
    fake.set(|b| b.answer_delay = Duration::from_millis(1500));
    drop(s);
    let e = connect(&opts(&fake.url, Some("fake-password"))).await.err().unwrap();
    assert!(matches!(e, ObsError::Timeout(ref m) if m.contains("GetVersion")), "{e:?}");
    fake.set(|b| b.answer_delay = Duration::from_millis(700));
    let mut slow = opts(&fake.url, Some("fake-password"));
    slow.request_timeout = Duration::from_millis(1000);
    let s = connect(&slow).await.unwrap();
    // Three requests at once: all answered in turn, the later ones past the timeout.
    let (a, b, c) =
        tokio::join!(s.client.stream_status(), s.client.stream_status(), s.client.stream_status());
    assert!(a.is_ok(), "{a:?}");
    assert!(matches!(b, Err(ObsError::Timeout(_))) || matches!(c, Err(ObsError::Timeout(_))), "{b:?} {c:?}");
}
