//! The webhook relay's logs at debug level: a refused and an accepted Ko-fi POST leave lines
//! that say what happened, and never the verification token, the donor's e-mail or address.
//! (Its own binary: it installs the process-wide log subscriber.)

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use streampai_sync::protocol::ServerMsg;
use streampai_sync::server;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_of_a_kofi_post_reaches_the_log() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let srv = server::start(l, fast_config(), users().with_kofi_token("alice", KOFI_TOKEN), None, None)
        .await
        .unwrap();
    let addr = srv.local_addr();
    let wrong_token = "0f0e0d0c-aaaa-bbbb-cccc-000000000000";
    let refused = kofi_body(&kofi_donation(wrong_token, "log-1", "Ann", "1"));
    assert_eq!(post_form(addr, "/hooks/alice/kofi", &refused).await.0, 403);
    let ok = kofi_body(&kofi_donation(KOFI_TOKEN, "log-2", "Ann", "1"));
    assert_eq!(post_form(addr, "/hooks/alice/kofi", &ok).await.0, 200);
    let (mut host, _) = Client::hello_v(addr, ALICE, "pc", "host", 2).await;
    let m = host.until(|m| matches!(m, ServerMsg::Hook(_))).await;
    let ServerMsg::Hook(hook) = m else { unreachable!() };
    host.send(serde_json::json!({"type": "hook_ack", "id": hook.id})).await;
    host.drain(1).await;
    srv.shutdown().await;

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("wrong Ko-fi verification token"), "{text}");
    assert!(text.contains("kofi:log-2"), "the accepted event is logged by its id: {text}");
    for secret in [KOFI_TOKEN, wrong_token, "donor@example.com", "1 Road", ALICE] {
        assert!(!text.contains(secret), "{secret} in the log:\n{text}");
    }
}
