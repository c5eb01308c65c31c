//! Quit while live on a 2-worker runtime whose workers keep waiting for the main thread, as
//! Tauri's menu and tray setters make a caller on a worker do. A test binary of its own: it sets
//! Tauri's global runtime (2 workers, like the 2-core machine where a Quit took 30 s to exit).
//!
//! The mock runtime has no tray and runs `run_on_main_thread` tasks inline, so the shell's own
//! tray updates cannot recreate the wait here; the test plays the event loop's main thread
//! itself and has two tasks do what a menu setter does. It checks what matters for exiting: the
//! engine is shut down (outputs deleted) while the main thread still serves such waits, so
//! `RunEvent::Exit`, which blocks the main thread, returns at once instead of stalling the
//! engine's shutdown until its 30 s limit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_cloudflare::{FakeCloudflare, FakeOptions};
use streampai::config::PlatformConfig;
use streampai::secrets::{MemorySecrets, SecretName, SharedSecrets};
use streampai::Config;
use streampai::PlatformKind;
use streampai::StreamPhase;
use streampai_desktop::boot::Boot;
use streampai_desktop::settings::MemoryPersist;
use streampai_desktop::shell::{QuitPolicy, Shell};
use streampai_desktop::tray::actions;
use streampai_desktop::{lifecycle, setup};
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime};
use tauri::{Manager, RunEvent};

const WORKERS: usize = 2;

type MainTask = Box<dyn FnOnce() + Send>;

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    tauri::async_runtime::block_on(f)
}

/// What `MenuItem::set_text` does off the main thread: has it run something there and waits,
/// blocking its thread.
fn wait_for_main(main: &Sender<MainTask>) {
    let (done_tx, done_rx) = channel::<()>();
    let task: MainTask = Box::new(move || {
        let _ = done_tx.send(());
    });
    if main.send(task).is_ok() {
        let _ = done_rx.recv();
    }
}

#[test]
fn quit_while_live_shuts_the_engine_down_before_the_main_thread_blocks() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(WORKERS).enable_all().build().unwrap();
    tauri::async_runtime::set(Box::leak(Box::new(runtime)).handle().clone());

    // The fake Cloudflare on a runtime of its own: only the app's runtime is under test.
    let fake_runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = fake_runtime.block_on(FakeCloudflare::start(FakeOptions::default()));
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_user("quit");
    config.control.listen = "127.0.0.1:0".into();
    config.cloudflare.account_id = Some(fake.account_id().into());
    config.cloudflare.api_base = fake.base_url();
    config.cloudflare.poll_interval_ms = 100; // events keep flowing through the bridge
    config.stream.retry_initial_ms = 50;
    config.storage.dir = Some(dir.path().to_path_buf());
    // Never drive an OBS that happens to run on this machine.
    config.obs.enabled = false;
    for (name, kind) in [("tw", PlatformKind::Twitch), ("yt", PlatformKind::Youtube)] {
        config.platforms.push(PlatformConfig { name: name.into(), kind, url: None, enabled: true });
    }
    let secrets: SharedSecrets = Arc::new(
        MemorySecrets::new()
            .with(SecretName::CloudflareApiToken, fake.token())
            .with(SecretName::ControlToken, "t")
            .with(SecretName::StreamKey("tw".into()), "tw-key")
            .with(SecretName::StreamKey("yt".into()), "yt-key"),
    );
    let boot = Boot { data_dir: dir.path().to_path_buf(), seed: None };
    let shell =
        setup::start_shell(config, secrets, boot, Box::<MemoryPersist>::default(), QuitPolicy::test(true));
    let app = mock_builder().build(mock_context(noop_assets())).expect("mock app");
    tauri_specta::Builder::<MockRuntime>::new()
        .events(tauri_specta::collect_events![streampai_desktop::bridge::EngineEvent])
        .mount_events(app.handle());
    setup::install(app.handle(), shell, false);
    let shell = app.state::<Shell>();
    let outputs = || fake.live_inputs().iter().map(|i| fake.outputs(&i.uid).len()).sum::<usize>();

    block(actions::handle(app.handle(), actions::START).unwrap()).unwrap();
    wait_until("live on both platforms", || {
        block(shell.engine.status()).stream.state == StreamPhase::Live && outputs() == 2
    });

    // The test thread is the main thread from here on: it runs what the tasks hand it, while
    // a task per worker keeps asking it for something, every 10 ms (like tray refreshes).
    let (main_tx, main_rx) = channel::<MainTask>();
    let stop = Arc::new(AtomicBool::new(false));
    for _ in 0..WORKERS {
        let (main_tx, stop) = (main_tx.clone(), stop.clone());
        tauri::async_runtime::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                wait_for_main(&main_tx);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
    }
    drop(main_tx);
    let quit = actions::handle(app.handle(), actions::QUIT).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !quit.inner().is_finished() {
        assert!(Instant::now() < deadline, "Quit did not finish while the main thread was free");
        if let Ok(task) = main_rx.recv_timeout(Duration::from_millis(10)) {
            task();
        }
    }
    assert!(shell.quit.is_exiting());
    assert!(shell.engine_is_down(), "Quit shuts the engine down before asking to exit");
    assert_eq!(outputs(), 0, "outputs deleted before exiting");
    stop.store(true, Ordering::SeqCst);
    while let Ok(task) = main_rx.recv_timeout(Duration::from_secs(5)) {
        task(); // until every task has ended
    }

    // The event loop exits: the main thread (a thread of its own here) blocks in `RunEvent::Exit`
    // and serves nothing more, with every worker waiting for it (their requests held, not run).
    let (main_tx, main_rx) = channel::<MainTask>();
    for _ in 0..WORKERS {
        let main_tx = main_tx.clone();
        tauri::async_runtime::spawn(async move { wait_for_main(&main_tx) });
    }
    let held: Vec<MainTask> = (0..WORKERS)
        .map(|_| main_rx.recv_timeout(Duration::from_secs(5)).expect("every worker waiting"))
        .collect();
    let exit = std::thread::spawn({
        let app = app.handle().clone();
        move || lifecycle::on_run_event(&app, RunEvent::Exit)
    });
    let started = Instant::now();
    while !exit.is_finished() && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = started.elapsed();
    // Free the workers either way: a shutdown stalled like this would wait forever (even its
    // time limit needs a worker to fire).
    held.into_iter().for_each(|task| task());
    exit.join().unwrap();
    assert!(
        took < Duration::from_secs(2),
        "RunEvent::Exit stalled for {took:?} with the workers waiting for it"
    );
    assert_eq!(block(shell.engine.status()).stream.state, StreamPhase::Offline);
}
