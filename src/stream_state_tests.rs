use super::*;
use crate::events::EventBus;

struct Rig {
    handle: StreamStateHandle,
    mailbox: Mailbox<Msg>,
    args: StreamStateArgs,
    presence: Presence,
    events: tokio::sync::broadcast::Receiver<Event>,
}

fn rig(hold_lease: bool) -> Rig {
    let bus = EventBus::new();
    let events = bus.subscribe("u");
    let presence = Presence::new(bus.clone());
    let (handle, mailbox) = StreamStateHandle::channel();
    let args = StreamStateArgs {
        user_id: "u".into(),
        events: bus.user("u"),
        stash: StreamStash::default(),
        presence: presence.clone(),
        hold_lease,
        platforms: vec![("a".into(), true), ("b".into(), true), ("off".into(), false)],
    };
    Rig { handle, mailbox, args, presence, events }
}

fn spawn(r: &Rig) -> (CancellationToken, tokio::task::JoinHandle<ChildResult>) {
    let c = CancellationToken::new();
    (c.clone(), tokio::spawn(run(r.args.clone(), r.mailbox.clone(), c)))
}

#[tokio::test]
async fn full_lifecycle_with_events_and_lease() {
    let mut r = rig(true);
    let (_c, _t) = spawn(&r);
    let snap = r.handle.snapshot().await.unwrap();
    assert_eq!(snap.state, StreamPhase::Offline);
    assert_eq!(snap.platforms.get("b"), Some(&PlatformStatus::Stopped));
    assert_eq!(snap.platforms.get("off"), Some(&PlatformStatus::Disabled));

    let uuid = r.handle.begin_start(vec!["a".into(), "b".into()]).await.unwrap();
    assert_eq!(uuid.get_version_num(), 4);
    assert!(r.presence.list("u").iter().any(|s| s.id == LEASE_ID), "live stream holds a lease");
    r.handle.set_platform("a", PlatformStatus::Live).await.unwrap();
    assert_eq!(r.handle.snapshot().await.unwrap().state, StreamPhase::Starting, "b still starting");
    r.handle
        .set_platform(
            "b",
            PlatformStatus::Retrying {
                reason: crate::failure::Failure::new(
                    crate::failure::FailureKind::Timeout,
                    crate::failure::FailureSource::Cloudflare,
                    "timeout",
                ),
                attempt: 1,
            },
        )
        .await
        .unwrap();
    let snap = r.handle.snapshot().await.unwrap();
    assert_eq!((snap.state, snap.uuid), (StreamPhase::Live, Some(uuid)));

    assert_eq!(r.handle.begin_stop().await.unwrap(), uuid);
    r.handle.finish_stop().await.unwrap();
    let snap = r.handle.snapshot().await.unwrap();
    assert_eq!((snap.state, snap.uuid, snap.started_at), (StreamPhase::Offline, None, None));
    assert_eq!(snap.platforms.get("a"), Some(&PlatformStatus::Stopped));
    assert!(r.presence.list("u").is_empty(), "lease released");

    let mut states = vec![];
    let mut ended = vec![];
    while let Ok(ev) = r.events.try_recv() {
        match ev {
            Event::StreamState { state, .. } => states.push(state),
            Event::StreamEnded { uuid: u, ended_by, .. } => {
                assert_eq!(states.last(), Some(&StreamPhase::Stopping), "sent before offline");
                ended.push((u, ended_by));
            }
            _ => {}
        }
    }
    use StreamPhase::*;
    assert_eq!(states, vec![Starting, Live, Stopping, Offline]);
    assert_eq!(ended, vec![(uuid, EndReason::Stopped)]);

    // The reason given at the stop is the one reported at the end.
    let uuid = r.handle.begin_start(vec!["a".into()]).await.unwrap();
    r.handle.begin_stop_for(EndReason::SourceLost).await.unwrap();
    r.handle.finish_stop().await.unwrap();
    let mut reasons = vec![];
    while let Ok(ev) = r.events.try_recv() {
        if let Event::StreamEnded { uuid: u, ended_by, .. } = ev {
            reasons.push((u, ended_by));
        }
    }
    assert_eq!(reasons, vec![(uuid, EndReason::SourceLost)]);
}

#[tokio::test]
async fn invalid_transitions_are_typed_errors() {
    let r = rig(false);
    let (_c, _t) = spawn(&r);
    let err = r.handle.begin_stop().await.unwrap_err();
    assert_eq!(err, StreamError::InvalidTransition { action: "stop", state: StreamPhase::Offline });
    r.handle.begin_start(vec!["a".into()]).await.unwrap();
    let err = r.handle.begin_start(vec!["a".into()]).await.unwrap_err();
    assert_eq!(err, StreamError::InvalidTransition { action: "start", state: StreamPhase::Starting });
    r.handle.begin_stop().await.unwrap();
    assert!(matches!(
        r.handle.begin_stop().await,
        Err(StreamError::InvalidTransition { state: StreamPhase::Stopping, .. })
    ));
    assert!(r.presence.list("u").is_empty(), "no lease when hold_lease is off");
}

#[tokio::test]
async fn input_status_is_published_only_on_change() {
    let mut r = rig(false);
    let (_c, _t) = spawn(&r);
    for s in [
        InputStatus::NoTraffic,
        InputStatus::NoTraffic,
        InputStatus::ReceivingTraffic,
        InputStatus::ReceivingTraffic,
    ] {
        r.handle.set_input(s).await.unwrap();
    }
    assert_eq!(r.handle.snapshot().await.unwrap().input, InputStatus::ReceivingTraffic);
    let mut seen = vec![];
    while let Ok(ev) = r.events.try_recv() {
        if let Event::InputStatus { status, .. } = ev {
            seen.push(status);
        }
    }
    assert_eq!(seen, vec![InputStatus::NoTraffic, InputStatus::ReceivingTraffic]);
}

#[tokio::test]
async fn a_restarted_server_recovers_the_stream_on_air() {
    let r = rig(true);
    let (c, t) = spawn(&r);
    let uuid = r.handle.begin_start(vec!["a".into()]).await.unwrap();
    r.handle.set_platform("a", PlatformStatus::Live).await.unwrap();
    t.abort(); // a crash: the task dies without running its graceful end
    assert!(t.await.unwrap_err().is_cancelled());
    drop(c);
    r.presence.untrack("u", LEASE_ID);
    let (_c2, _t2) = spawn(&r);
    let snap = r.handle.snapshot().await.unwrap();
    assert_eq!((snap.state, snap.uuid), (StreamPhase::Live, Some(uuid)));
    assert_eq!(snap.platforms.get("a"), Some(&PlatformStatus::Live));
    assert!(r.presence.is_present("u"), "lease re-held after recovery");
}

#[tokio::test]
async fn late_platform_reports_after_stop_are_ignored() {
    let r = rig(false);
    let (_c, _t) = spawn(&r);
    r.handle.begin_start(vec!["a".into()]).await.unwrap();
    r.handle.begin_stop().await.unwrap();
    r.handle.finish_stop().await.unwrap();
    r.handle.set_platform("a", PlatformStatus::Live).await.unwrap();
    assert_eq!(r.handle.snapshot().await.unwrap().platforms.get("a"), Some(&PlatformStatus::Stopped));
}

#[tokio::test]
async fn a_graceful_stop_of_the_server_ends_the_stream() {
    let r = rig(true);
    let (c, t) = spawn(&r);
    r.handle.begin_start(vec!["a".into()]).await.unwrap();
    c.cancel(); // the tree is going away
    t.await.unwrap().unwrap();
    let d = r.args.stash.lock().unwrap().clone();
    assert_eq!((d.state, d.uuid), (StreamPhase::Offline, None));
    assert!(r.presence.list("u").is_empty(), "lease released");
}
