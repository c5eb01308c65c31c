//! Shared helpers for the engine's integration tests: engines, the fake Cloudflare, waiting on
//! conditions (never fixed sleeps), and the control API on 127.0.0.1:0.
#![allow(dead_code)]

pub mod browser;
pub mod headless;
pub mod synced;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use fake_cloudflare::{FakeCloudflare, FakeOptions};
use streampai::config::{Config, PlatformConfig};
use streampai::secrets::{MemorySecrets, Secret, SecretName, SecretStore};
use streampai::PlatformKind;
use streampai::StateFile;
use streampai::{Engine, EngineOptions, Event};
use tokio::sync::broadcast;

/// Tracing output only when `TEST_LOG` is set.
pub fn init_tracing() {
    if std::env::var_os("TEST_LOG").is_some() {
        let filter = tracing_subscriber::EnvFilter::try_from_env("TEST_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("debug"));
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    }
}

/// A config for `user` with no Cloudflare account and no platforms.
pub fn config(user: &str) -> Config {
    let mut c = Config::for_user(user);
    c.control.listen = "127.0.0.1:0".into();
    // Tests run in parallel: every local ingest on its own free port.
    c.local.listen = "127.0.0.1:0".into();
    // Never drive an OBS that happens to run on this machine (the OBS tests turn it on, pointed
    // at their own headless OBS).
    c.obs.enabled = false;
    c
}

/// `c` with `[twitch]` pointed at the fake Twitch (and a short presence cleanup).
pub fn with_twitch(mut c: Config, fake: &fake_platforms::FakeTwitch) -> Config {
    c.twitch.client_id = Some(fake.client_id());
    c.twitch.auth_url = fake.auth_url();
    c.twitch.api_url = fake.api_url();
    c.twitch.eventsub_url = fake.eventsub_url();
    c.presence.cleanup_timeout_ms = 300;
    c
}

/// `c` with `[youtube]` pointed at the fake YouTube, its daily quota large enough that
/// YouTube's polling interval, not the quota, sets the pace.
pub fn with_youtube(mut c: Config, fake: &fake_platforms::FakeYouTube) -> Config {
    c.youtube.client_id = Some(fake.client_id());
    c.youtube.client_secret = Some(fake.client_secret());
    c.youtube.auth_url = fake.auth_url();
    c.youtube.token_url = fake.token_url();
    c.youtube.api_url = fake.api_url();
    c.youtube.daily_quota = 10_000_000;
    c
}

/// The consent page of a new YouTube sign-in (browser flow).
pub async fn youtube_authorize_url(e: &Engine) -> String {
    match e.start_sign_in(streampai::accounts::AccountPlatform::Youtube).await.expect("sign-in starts") {
        streampai::accounts::SignInStart::Browser(b) => b.authorize_url,
        other => panic!("a browser sign-in, not {other:?}"),
    }
}

/// A config pointed at the fake, with short intervals for real-time tests.
pub fn cloud_config(user: &str, fake: &FakeCloudflare, platforms: &[(&str, PlatformKind)]) -> Config {
    let mut c = config(user);
    c.cloudflare.account_id = Some(fake.account_id().to_string());
    c.cloudflare.api_base = fake.base_url();
    c.cloudflare.poll_interval_ms = 50;
    c.cloudflare.request_timeout_ms = 2000;
    c.presence.cleanup_timeout_ms = 300;
    c.stream.retry_initial_ms = 20;
    c.stream.retry_max_ms = 200;
    c.stream.stop_timeout_ms = 5000;
    c.platforms = platforms
        .iter()
        .map(|(name, kind)| PlatformConfig {
            name: name.to_string(),
            kind: *kind,
            url: (*kind == PlatformKind::Custom).then(|| format!("rtmps://{name}.example.com:443/live")),
            enabled: true,
        })
        .collect();
    c
}

/// Secrets with the fake's token and a key for every platform of `cfg`.
pub fn secrets_for(cfg: &Config, fake: Option<&FakeCloudflare>) -> Arc<MemorySecrets> {
    let s = MemorySecrets::new();
    if let Some(f) = fake {
        s.set(&SecretName::CloudflareApiToken, &Secret::new(f.token())).unwrap();
    }
    for p in &cfg.platforms {
        s.set(&SecretName::StreamKey(p.name.clone()), &Secret::new(format!("live_{}_key", p.name))).unwrap();
    }
    Arc::new(s)
}

pub async fn fake() -> FakeCloudflare {
    FakeCloudflare::start(FakeOptions::default()).await
}

pub fn engine(cfg: Config, secrets: Arc<MemorySecrets>) -> Engine {
    init_tracing();
    Engine::start(EngineOptions {
        config: cfg,
        secrets,
        state_file: Some(StateFile::in_memory()),
        db: Some(streampai::Db::open_in_memory().unwrap()),
    })
}

/// A wait's deadline in both clocks. In paused-time tests tokio jumps the clock forward whenever
/// the runtime is idle, also while the engine waits on a real OS thread (the local relay runs on
/// its own thread): the virtual deadline alone would expire in microseconds of real time. A wait
/// fails only once `timeout` has passed in virtual *and* in real time.
struct Deadline {
    virtual_end: tokio::time::Instant,
    real_end: std::time::Instant,
}

impl Deadline {
    fn new(timeout: Duration) -> Self {
        Deadline {
            virtual_end: tokio::time::Instant::now() + timeout,
            real_end: std::time::Instant::now() + timeout,
        }
    }
    fn passed(&self) -> bool {
        tokio::time::Instant::now() >= self.virtual_end && std::time::Instant::now() >= self.real_end
    }
}

/// Poll `cond` until it holds, failing the test after `timeout` (see [`Deadline`]).
pub async fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Deadline::new(timeout);
    while !cond() {
        assert!(!deadline.passed(), "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Like [`wait_until`] with an async condition.
pub async fn wait_until_async<F, Fut>(what: &str, timeout: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Deadline::new(timeout);
    while !cond().await {
        assert!(!deadline.passed(), "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Wait for the next event matching `pred`.
pub async fn next_event(
    rx: &mut broadcast::Receiver<Event>,
    timeout: Duration,
    mut pred: impl FnMut(&Event) -> bool,
) -> Event {
    let res = tokio::time::timeout(timeout, async {
        loop {
            match rx.recv().await {
                Ok(ev) if pred(&ev) => return ev,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("event bus closed"),
            }
        }
    })
    .await;
    res.expect("expected event did not arrive")
}

/// Drain what is buffered now.
pub fn drain(rx: &mut broadcast::Receiver<Event>) -> Vec<Event> {
    let mut out = vec![];
    while let Ok(ev) = rx.try_recv() {
        out.push(ev);
    }
    out
}

/// A control API served on 127.0.0.1:0 for `engine`.
pub struct Control {
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub token: String,
    stop: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Control {
    pub async fn start(engine: &Engine) -> Control {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let token = "test-control-token".to_string();
        let stop = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(streampai::control::serve(
            listener,
            engine.clone(),
            Secret::new(token.clone()),
            stop.clone().cancelled_owned(),
        ));
        Control { base: format!("http://{addr}"), addr, token, stop, task }
    }

    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::new()
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let res =
            self.http().get(format!("{}{path}", self.base)).bearer_auth(&self.token).send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn post(&self, path: &str) -> (u16, serde_json::Value) {
        let res =
            self.http().post(format!("{}{path}", self.base)).bearer_auth(&self.token).send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Ko-fi's webhook post: its `data` form field (the JSON Ko-fi sends, or any text); no bearer
    /// token, as Ko-fi calls it.
    pub async fn kofi(&self, data: impl std::fmt::Display) -> (u16, serde_json::Value) {
        let res = self
            .http()
            .post(format!("{}/webhooks/kofi", self.base))
            .form(&[("data", data.to_string())])
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// The five platform kinds, one each.
pub const FIVE: &[(&str, PlatformKind)] = &[
    ("twitch-main", PlatformKind::Twitch),
    ("youtube-main", PlatformKind::Youtube),
    ("kick-main", PlatformKind::Kick),
    ("facebook-main", PlatformKind::Facebook),
    ("custom-rtmp", PlatformKind::Custom),
];

/// A running engine against a fresh fake, with one window open.
pub struct Rig {
    pub fake: FakeCloudflare,
    pub engine: Engine,
    pub secrets: Arc<MemorySecrets>,
    pub events: broadcast::Receiver<Event>,
}

impl Rig {
    pub async fn new(platforms: &[(&str, PlatformKind)]) -> Rig {
        Self::with(platforms, |_| {}).await
    }

    pub async fn with(platforms: &[(&str, PlatformKind)], tweak: impl FnOnce(&mut Config)) -> Rig {
        let fake = fake().await;
        let mut cfg = cloud_config("user-1", &fake, platforms);
        tweak(&mut cfg);
        let secrets = secrets_for(&cfg, Some(&fake));
        let engine = engine(cfg, secrets.clone());
        let events = engine.subscribe();
        Rig { fake, engine, secrets, events }
    }

    pub fn open_window(&self, id: &str) {
        self.engine.join(id, streampai::SessionKind::Window, None);
    }

    pub fn close_window(&self, id: &str) {
        self.engine.leave(id);
    }

    /// The one live input the engine created.
    pub async fn input_uid(&self) -> String {
        wait_until("the live input exists", Duration::from_secs(10), || self.fake.live_inputs().len() == 1)
            .await;
        self.fake.live_inputs()[0].uid.clone()
    }

    pub async fn status(&self) -> streampai::Status {
        self.engine.status().await
    }

    pub async fn wait_state(&self, state: streampai::StreamPhase) {
        let what = format!("stream {state:?}");
        wait_until_async(&what, Duration::from_secs(15), || async {
            self.status().await.stream.state == state
        })
        .await;
    }

    pub async fn shutdown(self) {
        let Rig { fake, engine, events, secrets } = self;
        engine.shutdown().await;
        // Drop every engine handle first: its HTTP client's idle keep-alive connections would
        // otherwise hold the fake's graceful shutdown open.
        drop((engine, events, secrets));
        fake.shutdown().await;
    }
}

/// The local ingest's bound address, once the relay listens (read from the status, like any
/// front end would).
pub async fn local_ingest_addr(e: &Engine) -> Option<std::net::SocketAddr> {
    let url = e.status().await.ingest.url?;
    let addr: std::net::SocketAddr = url.strip_prefix("rtmp://")?.strip_suffix("/live")?.parse().ok()?;
    (addr.port() != 0).then_some(addr)
}

/// No platform has a relay output any more (the status measures none).
pub async fn relay_outputs_gone(e: &Engine) -> bool {
    e.status().await.stream.platforms.values().all(|p| p.bytes_sent.is_none())
}
