//! The user's tree under supervision, against the fake Cloudflare: killing any one child restarts
//! only that child and loses nothing; a worker restart adopts its output; too many restarts make
//! the tree give up, and the users' supervisor starts it again.

use std::time::Duration;

use super::support::*;
use streampai::alerts::{AlertInput, AlertKind};
use streampai::Event;
use streampai::{PlatformStatus, StreamPhase};

const CHILDREN: [&str; 7] = [
    "StreamStateServer",
    "CloudflareManager",
    "CloudflareLiveInputMonitor",
    "PlatformSupervisor",
    "AlertQueue",
    "StreamAutomation",
    "ObsConnection",
];

fn restarts(rig: &Rig) -> Vec<(String, u32)> {
    rig.engine.user().tree_children().into_iter().map(|c| (c.id, c.restarts)).collect()
}

#[tokio::test]
async fn killing_any_child_restarts_only_it_and_loses_nothing() {
    // Seven kills within seconds: allow them (the default intensity, 3 in 5 s, would give up).
    let mut rig = Rig::with(&FIVE[..3], |c| c.supervision.max_restarts = 10).await;
    rig.open_window("window:main");
    let uuid = rig.engine.start_stream().await.unwrap();
    rig.wait_state(StreamPhase::Live).await;
    let input = rig.input_uid().await;
    let outputs_before: Vec<String> = {
        let mut v: Vec<String> = rig.fake.outputs(&input).into_iter().map(|o| o.uid).collect();
        v.sort();
        v
    };
    let alerts = &rig.engine.user().alerts;
    alerts.pause().await.unwrap();
    for name in ["ana", "bo"] {
        alerts.push(AlertInput::new(AlertKind::Follow, name)).await.unwrap();
    }
    let worker_tasks_before = rig.engine.user().workers.info().children();

    for (i, child) in CHILDREN.iter().enumerate() {
        drain(&mut rig.events);
        rig.engine.user().tree.kill_child(child).await.unwrap();
        next_event(
            &mut rig.events,
            Duration::from_secs(10),
            |e| matches!(e, Event::ChildRestarted { child: c, restarts: 1, .. } if c == child),
        )
        .await;
        wait_until_async(&format!("{child} answers again"), Duration::from_secs(10), || async {
            rig.engine
                .user()
                .tree_children()
                .iter()
                .any(|c| c.id == *child && c.state == "running" && c.restarts == 1)
                && rig.engine.status().await.stream.state == StreamPhase::Live
                && rig.engine.user().alerts.snapshot().await.is_ok()
                && rig.engine.user().workers.info().children().len() == 3
        })
        .await;
        // Only this child restarted.
        for (id, n) in restarts(&rig) {
            let expected = if CHILDREN[..=i].contains(&id.as_str()) { 1 } else { 0 };
            assert_eq!(n, expected, "after killing {child}: {id} restarted {n} times");
        }
        // Nothing was lost.
        let status = rig.engine.status().await;
        assert_eq!(status.stream.uuid, Some(uuid), "after killing {child}");
        assert!(
            status.stream.platforms.values().all(|p| p.status == PlatformStatus::Live),
            "{child}: {status:?}"
        );
        let mut outputs: Vec<String> = rig.fake.outputs(&input).into_iter().map(|o| o.uid).collect();
        outputs.sort();
        assert_eq!(outputs, outputs_before, "after killing {child}: the platforms stayed on air");
        let snap = rig.engine.user().alerts.snapshot().await.unwrap();
        assert!(snap.paused, "after killing {child}");
        assert_eq!(snap.queued.len(), 2, "after killing {child}");
        let evs = drain(&mut rig.events);
        assert!(!evs.iter().any(|e| matches!(e, Event::ManagerStopped { .. })), "{child}: {evs:#?}");
        if *child != "PlatformSupervisor" {
            // Workers untouched: same children, no restarts.
            let now = rig.engine.user().workers.info().children();
            assert!(now.iter().all(|w| w.restarts == 0), "{child}: {now:?}");
            assert_eq!(now.len(), worker_tasks_before.len());
        }
    }
    rig.engine.stop_stream().await.unwrap();
    assert!(rig.fake.outputs(&input).is_empty());
    rig.shutdown().await;
}

#[tokio::test]
async fn a_killed_worker_adopts_its_output_and_its_siblings_do_not_notice() {
    let mut rig = Rig::new(&FIVE[..3]).await;
    rig.open_window("window:main");
    rig.engine.start_stream().await.unwrap();
    rig.wait_state(StreamPhase::Live).await;
    let input = rig.input_uid().await;
    let before = rig.fake.outputs(&input);
    drain(&mut rig.events);
    rig.engine.user().workers.kill_child("youtube-main").await.unwrap();
    next_event(&mut rig.events, Duration::from_secs(10), |e| {
        matches!(e, Event::ChildRestarted { child, supervisor, .. } if child == "youtube-main" && supervisor == "PlatformSupervisor")
    })
    .await;
    wait_until("worker back", Duration::from_secs(10), || {
        rig.engine.user().workers.info().children().iter().any(|w| w.id == "youtube-main" && w.restarts == 1)
    })
    .await;
    let after = rig.fake.outputs(&input);
    assert_eq!(after.len(), 3, "no duplicate output: {after:?}");
    assert_eq!(
        after.iter().map(|o| &o.uid).collect::<Vec<_>>(),
        before.iter().map(|o| &o.uid).collect::<Vec<_>>()
    );
    let others: Vec<_> =
        rig.engine.user().workers.info().children().into_iter().filter(|w| w.id != "youtube-main").collect();
    assert!(others.iter().all(|w| w.restarts == 0));
    rig.shutdown().await;
}

#[tokio::test]
async fn too_many_restarts_make_the_tree_give_up_and_its_parent_restarts_it() {
    let mut rig = Rig::new(&[]).await;
    rig.open_window("window:main");
    wait_until("tree up", Duration::from_secs(5), || rig.engine.user().tree_children().len() == 7).await;
    drain(&mut rig.events);
    // Intensity is 3 restarts in 5 s: the fourth kill is one too many.
    for n in 1..=4u32 {
        wait_until("child running", Duration::from_secs(5), || {
            rig.engine.user().tree_children().iter().any(|c| c.id == "AlertQueue" && c.state == "running")
        })
        .await;
        rig.engine.user().tree.kill_child("AlertQueue").await.unwrap();
        if n < 4 {
            next_event(
                &mut rig.events,
                Duration::from_secs(5),
                |e| matches!(e, Event::ChildRestarted { restarts, .. } if *restarts == n),
            )
            .await;
        }
    }
    let stopped =
        next_event(&mut rig.events, Duration::from_secs(10), |e| matches!(e, Event::ManagerStopped { .. }))
            .await;
    let Event::ManagerStopped { reason, .. } = stopped else { unreachable!() };
    assert!(reason.starts_with("gave_up"), "{reason}");
    // The users' supervisor restarts the tree (transient child, abnormal exit).
    next_event(&mut rig.events, Duration::from_secs(10), |e| matches!(e, Event::ManagerStarted { .. })).await;
    wait_until("tree back", Duration::from_secs(5), || rig.engine.user().tree_children().len() == 7).await;
    let tree = rig.engine.debug_tree();
    assert_eq!(tree.users[0].manager_restarts, 1);
    assert!(rig.engine.user().tree_children().iter().all(|c| c.restarts == 0));
    rig.shutdown().await;
}
