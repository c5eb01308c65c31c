use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::*;

/// A child that counts its starts and ticks until cancelled.
fn counter(id: &str, restart: Restart, starts: Arc<AtomicU32>, ticks: Arc<AtomicU32>) -> ChildSpec {
    ChildSpec::new(id, restart, move |ctx: ChildCtx| {
        let starts = starts.clone();
        let ticks = ticks.clone();
        async move {
            starts.fetch_add(1, Ordering::SeqCst);
            loop {
                tokio::select! {
                    _ = ctx.cancel.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_millis(10)) => { ticks.fetch_add(1, Ordering::SeqCst); }
                }
            }
        }
    })
}

async fn wait_until(mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "condition not met in time");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_panicking_child_is_restarted_and_its_sibling_keeps_running() {
    let (sib_starts, sib_ticks) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let crash_starts = Arc::new(AtomicU32::new(0));
    let cs = crash_starts.clone();
    let crasher = ChildSpec::new("crasher", Restart::Permanent, move |_ctx| {
        let n = cs.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                tokio::time::sleep(Duration::from_millis(30)).await;
                panic!("boom");
            }
            std::future::pending::<()>().await;
            Ok(())
        }
    });
    let sup = Supervisor::new(
        SupervisorConfig::new("test"),
        vec![counter("sibling", Restart::Permanent, sib_starts.clone(), sib_ticks.clone()), crasher],
    );
    let info = sup.info();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(sup.run(cancel.clone()));
    wait_until(|| crash_starts.load(Ordering::SeqCst) == 2).await;
    let ticks_at_restart = sib_ticks.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(sib_starts.load(Ordering::SeqCst), 1, "sibling must not restart");
    assert!(sib_ticks.load(Ordering::SeqCst) > ticks_at_restart, "sibling keeps ticking");
    let children = info.children();
    let crasher = children.iter().find(|c| c.id == "crasher").unwrap();
    assert_eq!(crasher.restarts, 1);
    assert_eq!(children.iter().find(|c| c.id == "sibling").unwrap().restarts, 0);
    cancel.cancel();
    assert!(task.await.unwrap().is_ok());
}

#[tokio::test(start_paused = true)]
async fn restart_types_follow_otp() {
    // (restart type, exit kind) → restarted?
    for (restart, fail, expect_restart) in [
        (Restart::Permanent, false, true),
        (Restart::Permanent, true, true),
        (Restart::Transient, false, false),
        (Restart::Transient, true, true),
        (Restart::Temporary, false, false),
        (Restart::Temporary, true, false),
    ] {
        let starts = Arc::new(AtomicU32::new(0));
        let s = starts.clone();
        let spec = ChildSpec::new("c", restart, move |ctx: ChildCtx| {
            let n = s.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    return if fail { Err(ChildError::new("bad")) } else { Ok(()) };
                }
                ctx.cancel.cancelled().await;
                Ok(())
            }
        });
        let sup = Supervisor::new(SupervisorConfig::new("t"), vec![spec]);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(sup.run(cancel.clone()));
        tokio::time::sleep(Duration::from_secs(1)).await;
        let expected = if expect_restart { 2 } else { 1 };
        assert_eq!(starts.load(Ordering::SeqCst), expected, "{restart:?} fail={fail}");
        cancel.cancel();
        task.await.unwrap().unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn exceeding_restart_intensity_gives_up_and_the_parent_sees_it() {
    let inner_runs = Arc::new(AtomicU32::new(0));
    let ir = inner_runs.clone();
    // The inner supervisor's only child always fails at once.
    let inner = ChildSpec::new("inner", Restart::Transient, move |ctx: ChildCtx| {
        ir.fetch_add(1, Ordering::SeqCst);
        let failing =
            ChildSpec::new("flaky", Restart::Permanent, |_ctx| async { Err(ChildError::new("always")) });
        Supervisor::new(SupervisorConfig::new("inner").intensity(2, Duration::from_secs(5)), vec![failing])
            .run(ctx.cancel)
    });
    let restarts_seen = Arc::new(Mutex::new(Vec::new()));
    let rs = restarts_seen.clone();
    let outer =
        Supervisor::new(SupervisorConfig::new("outer").intensity(1, Duration::from_secs(60)), vec![inner])
            .on_restart(Arc::new(move |id, n| rs.lock().unwrap().push((id.to_string(), n))));
    let res = tokio::time::timeout(Duration::from_secs(60), outer.run(CancellationToken::new())).await;
    // inner gave up twice (initial + one restart); the outer then exceeded its own intensity.
    let err = res.expect("outer must give up").expect_err("outer must report failure");
    assert!(err.to_string().contains("restart intensity exceeded"), "{err}");
    assert_eq!(inner_runs.load(Ordering::SeqCst), 2);
    assert_eq!(*restarts_seen.lock().unwrap(), vec![("inner".to_string(), 1)]);
}

#[tokio::test(start_paused = true)]
async fn restarts_back_off_exponentially() {
    let times = Arc::new(Mutex::new(Vec::new()));
    let t = times.clone();
    let spec = ChildSpec::new("c", Restart::Permanent, move |_ctx| {
        t.lock().unwrap().push(Instant::now());
        async { Err(ChildError::new("fail")) }
    });
    let cfg = SupervisorConfig::new("t")
        .intensity(10, Duration::from_secs(60))
        .backoff(Duration::from_millis(100), Duration::from_millis(400));
    let cancel = CancellationToken::new();
    let task = tokio::spawn(Supervisor::new(cfg, vec![spec]).run(cancel.clone()));
    wait_until(|| times.lock().unwrap().len() >= 5).await;
    cancel.cancel();
    task.await.unwrap().unwrap();
    let t = times.lock().unwrap();
    let gaps: Vec<u128> = t.windows(2).map(|w| (w[1] - w[0]).as_millis()).collect();
    assert_eq!(&gaps[..4], &[100, 200, 400, 400]);
}

#[tokio::test(start_paused = true)]
async fn shutdown_is_in_reverse_order_and_aborts_a_stuck_child() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let mk = |id: &'static str| {
        let order = order.clone();
        ChildSpec::new(id, Restart::Permanent, move |ctx: ChildCtx| {
            let order = order.clone();
            async move {
                ctx.cancel.cancelled().await;
                order.lock().unwrap().push(id);
                Ok(())
            }
        })
    };
    let stuck = ChildSpec::new("stuck", Restart::Permanent, |_ctx| async {
        std::future::pending::<()>().await;
        Ok(())
    })
    .shutdown_timeout(Duration::from_millis(300));
    let sup = Supervisor::new(SupervisorConfig::new("t"), vec![mk("a"), mk("b"), stuck, mk("c")]);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(sup.run(cancel.clone()));
    tokio::time::sleep(Duration::from_millis(10)).await;
    let t0 = Instant::now();
    cancel.cancel();
    task.await.unwrap().unwrap();
    assert_eq!(*order.lock().unwrap(), vec!["c", "b", "a"]);
    assert!(t0.elapsed() >= Duration::from_millis(300), "stuck child got its timeout");
    assert!(t0.elapsed() < Duration::from_millis(1000), "then it was aborted");
}

#[tokio::test(start_paused = true)]
async fn dynamic_children_start_terminate_and_stop_in_parallel() {
    let (handle, mailbox) = Supervisor::channel();
    let sup = Supervisor::new(SupervisorConfig::new("dyn"), vec![]).with_mailbox(mailbox);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(sup.run(cancel.clone()));
    let slow_stop = |id: &str| {
        ChildSpec::new(id, Restart::Transient, |ctx: ChildCtx| async move {
            ctx.cancel.cancelled().await;
            tokio::time::sleep(Duration::from_millis(100)).await; // cleanup work
            Ok(())
        })
    };
    handle.start_child(slow_stop("a")).await.unwrap();
    handle.start_child(slow_stop("b")).await.unwrap();
    handle.start_child(slow_stop("c")).await.unwrap();
    assert_eq!(
        handle.start_child(slow_stop("a")).await,
        Err(SupervisorError::AlreadyStarted { id: "a".into() })
    );
    assert_eq!(handle.info().children().len(), 3);
    handle.terminate_child("c").await.unwrap();
    assert!(!handle.info().contains("c"));
    assert_eq!(handle.terminate_child("c").await, Err(SupervisorError::NotFound { id: "c".into() }));
    let t0 = Instant::now();
    handle.terminate_all().await.unwrap();
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(100) && took < Duration::from_millis(150),
        "parallel stop took {took:?}"
    );
    assert!(handle.info().children().is_empty());
    cancel.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_handle_outlives_a_restart_of_its_supervisor() {
    let (handle, mailbox) = Supervisor::channel();
    let first = CancellationToken::new();
    let task = tokio::spawn(
        Supervisor::new(SupervisorConfig::new("d"), vec![]).with_mailbox(mailbox.clone()).run(first.clone()),
    );
    handle
        .start_child(ChildSpec::new("x", Restart::Temporary, |c: ChildCtx| async move {
            c.cancel.cancelled().await;
            Ok(())
        }))
        .await
        .unwrap();
    first.cancel();
    task.await.unwrap().unwrap();
    assert!(handle.info().children().is_empty(), "children stop with their supervisor");
    let second = CancellationToken::new();
    let task = tokio::spawn(
        Supervisor::new(SupervisorConfig::new("d"), vec![]).with_mailbox(mailbox).run(second.clone()),
    );
    handle
        .start_child(ChildSpec::new("y", Restart::Temporary, |c: ChildCtx| async move {
            c.cancel.cancelled().await;
            Ok(())
        }))
        .await
        .unwrap();
    assert!(handle.info().contains("y"));
    second.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_crashed_child_cancels_what_it_spawned() {
    let grandchild_cancelled = Arc::new(AtomicU32::new(0));
    let gc = grandchild_cancelled.clone();
    let starts = Arc::new(AtomicU32::new(0));
    let s = starts.clone();
    let spec = ChildSpec::new("parent", Restart::Permanent, move |ctx: ChildCtx| {
        let gc = gc.clone();
        let n = s.fetch_add(1, Ordering::SeqCst);
        async move {
            let token = ctx.cancel.child_token();
            tokio::spawn(async move {
                token.cancelled().await;
                gc.fetch_add(1, Ordering::SeqCst);
            });
            if n == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
                panic!("crash");
            }
            ctx.cancel.cancelled().await;
            Ok(())
        }
    });
    let cancel = CancellationToken::new();
    let task = tokio::spawn(Supervisor::new(SupervisorConfig::new("t"), vec![spec]).run(cancel.clone()));
    wait_until(|| starts.load(Ordering::SeqCst) == 2).await;
    assert_eq!(grandchild_cancelled.load(Ordering::SeqCst), 1, "the crashed instance's task was cancelled");
    cancel.cancel();
    task.await.unwrap().unwrap();
}
