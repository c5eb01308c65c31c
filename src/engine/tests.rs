//! In-crate tests of the engine's wiring.

use std::time::Duration;

use super::*;
use crate::presence::SessionKind;
use crate::secrets::{MemorySecrets, SecretName};

fn engine_with_sync(dir: &std::path::Path) -> Engine {
    let mut config = Config::for_user("u1");
    config.control.listen = "127.0.0.1:0".into();
    config.local.listen = "127.0.0.1:0".into();
    config.storage.dir = Some(dir.to_path_buf());
    // A closed port: the client keeps retrying, which is all this test needs.
    config.sync.url = Some("ws://127.0.0.1:9/".into());
    let secrets = MemorySecrets::new().with(SecretName::SyncToken, "sync-token");
    Engine::start(EngineOptions {
        config,
        secrets: Arc::new(secrets),
        state_file: None,
        db: Some(Db::open_in_memory().unwrap()),
    })
}

async fn wait_for(mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("condition not met within 5 s");
}

fn sync_child(e: &Engine) -> Option<crate::supervisor::ChildInfo> {
    e.debug_tree().engine.into_iter().find(|c| c.id == "SyncClient")
}

#[tokio::test]
async fn a_panic_in_the_sync_client_is_restarted_by_the_root_supervisor() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with_sync(dir.path());
    wait_for(|| sync_child(&engine).is_some_and(|c| c.state == "running")).await;
    assert_eq!(sync_child(&engine).unwrap().restarts, 0);
    wait_for(|| engine.sync_status().state != crate::sync::SyncState::Off).await;

    engine.inner.sync.inject_panic().await;
    wait_for(|| sync_child(&engine).is_some_and(|c| c.restarts == 1 && c.state == "running")).await;
    // The restarted client runs again: it is trying to reach the (closed) server.
    wait_for(|| engine.sync_status().state != crate::sync::SyncState::Off).await;
    // And it still takes new settings: turning sync off stops it.
    let mut cfg = (*engine.config()).clone();
    cfg.sync.url = None;
    engine.reconfigure(cfg).await.unwrap();
    assert_eq!(engine.sync_status().state, crate::sync::SyncState::Off);
    engine.shutdown().await;
}

#[tokio::test]
async fn only_a_restarted_sync_client_clears_the_remote_sessions_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with_sync(dir.path());
    // A remote session known from the very start survives the client's first start...
    engine.join("device:phone", SessionKind::Device, Some("phone".into()));
    wait_for(|| sync_child(&engine).is_some_and(|c| c.state == "running")).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let devices =
        |e: &Engine| e.presence().list(e.user_id()).iter().filter(|s| s.kind == SessionKind::Device).count();
    assert_eq!(devices(&engine), 1, "the first start must not clear sessions joined meanwhile");
    // ... and a crashed client's sessions are cleared when it comes back.
    engine.inner.sync.inject_panic().await;
    wait_for(|| sync_child(&engine).is_some_and(|c| c.restarts == 1)).await;
    wait_for(|| devices(&engine) == 0).await;
    engine.shutdown().await;
}

#[tokio::test]
async fn the_engine_is_dropped_when_its_last_handle_goes() {
    // The sync client holds the engine weakly: no cycle keeps it alive after shutdown.
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with_sync(dir.path());
    let weak = Arc::downgrade(&engine.inner);
    engine.shutdown().await;
    drop(engine);
    wait_for(|| weak.upgrade().is_none()).await;
}
