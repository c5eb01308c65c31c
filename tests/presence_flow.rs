//! Presence → PresenceManager → UserStreamManager, in paused time (no sockets involved: the
//! engine runs with no Cloudflare account).

mod support;

use std::time::Duration;

use streampai::Event;
use streampai::SessionKind;
use support::*;

const GRACE: Duration = Duration::from_millis(5000);

fn window(e: &streampai::Engine, id: &str) {
    e.join(id, SessionKind::Window, None);
}
fn close(e: &streampai::Engine, id: &str) {
    e.leave(id);
}
async fn settle() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

#[tokio::test(start_paused = true)]
async fn three_windows_close_two_stays_close_last_stops_after_the_grace() {
    let cfg = config("user-1");
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    let mut events = e.subscribe();
    assert!(!e.is_running());
    for w in ["window:1", "window:2", "window:3"] {
        window(&e, w);
    }
    wait_until("tree starts", Duration::from_secs(5), || e.is_running()).await;
    close(&e, "window:1");
    close(&e, "window:2");
    tokio::time::sleep(GRACE * 3).await;
    assert!(e.is_running(), "one window left keeps the tree");

    close(&e, "window:3");
    tokio::time::sleep(GRACE - Duration::from_millis(100)).await;
    assert!(e.is_running(), "still inside the grace period");
    tokio::time::sleep(Duration::from_millis(200)).await;
    wait_until("tree stops", Duration::from_secs(1), || !e.is_running()).await;

    let evs = drain(&mut events);
    let started = evs.iter().filter(|e| matches!(e, Event::ManagerStarted { .. })).count();
    let stopped = evs.iter().filter(|e| matches!(e, Event::ManagerStopped { .. })).count();
    let scheduled = evs.iter().filter(|e| matches!(e, Event::CleanupScheduled { .. })).count();
    assert_eq!((started, stopped, scheduled), (1, 1, 1), "{evs:#?}");
    e.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn rejoining_inside_the_grace_never_stops_the_tree() {
    let cfg = config("user-1");
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    let mut events = e.subscribe();
    window(&e, "window:a");
    wait_until("tree starts", Duration::from_secs(5), || e.is_running()).await;
    close(&e, "window:a");
    tokio::time::sleep(GRACE / 2).await;
    window(&e, "window:b");
    tokio::time::sleep(GRACE * 4).await;
    assert!(e.is_running());
    let evs = drain(&mut events);
    assert!(evs.iter().any(|e| matches!(e, Event::CleanupCancelled { .. })));
    assert!(!evs.iter().any(|e| matches!(e, Event::ManagerStopped { .. })), "{evs:#?}");
    e.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn leave_join_leave_in_one_window_waits_a_full_grace_after_the_last_leave() {
    let cfg = config("user-1");
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    window(&e, "window:a");
    wait_until("tree starts", Duration::from_secs(5), || e.is_running()).await;
    close(&e, "window:a");
    tokio::time::sleep(Duration::from_millis(2000)).await;
    window(&e, "window:a");
    settle().await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    close(&e, "window:a");
    // The first timer would have fired 5 s after the first leave, i.e. 2 s from now.
    tokio::time::sleep(Duration::from_millis(4000)).await;
    assert!(e.is_running(), "the stale timer of the first leave must not stop the tree");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    wait_until("tree stops", Duration::from_secs(1), || !e.is_running()).await;
    e.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn every_session_kind_counts_and_starting_is_idempotent() {
    let cfg = config("user-1");
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    let mut events = e.subscribe();
    e.join("socket:1", SessionKind::Socket, None);
    e.join("device:phone", SessionKind::Device, Some("phone".into()));
    e.join("window:main", SessionKind::Window, None);
    wait_until("tree starts", Duration::from_secs(5), || e.is_running()).await;
    e.leave("window:main");
    e.leave("socket:1");
    tokio::time::sleep(GRACE * 2).await;
    assert!(e.is_running(), "a remote device holds the tree");
    e.leave("device:phone");
    tokio::time::sleep(GRACE + Duration::from_millis(100)).await;
    wait_until("tree stops", Duration::from_secs(1), || !e.is_running()).await;
    let evs = drain(&mut events);
    assert_eq!(evs.iter().filter(|e| matches!(e, Event::ManagerStarted { .. })).count(), 1);
    e.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_grace_is_configurable() {
    let mut cfg = config("user-1");
    cfg.presence.cleanup_timeout_ms = 250;
    let e = engine(cfg.clone(), secrets_for(&cfg, None));
    window(&e, "window:a");
    wait_until("tree starts", Duration::from_secs(5), || e.is_running()).await;
    close(&e, "window:a");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(e.is_running());
    tokio::time::sleep(Duration::from_millis(100)).await;
    wait_until("tree stops", Duration::from_secs(1), || !e.is_running()).await;
    e.shutdown().await;
}
