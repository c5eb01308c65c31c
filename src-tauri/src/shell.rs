//! The shell's managed state: the engine, the settings store, and what the UI shows about the
//! app itself. R-independent, so commands and tests share it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use streampai::secrets::SharedSecrets;
use streampai::{Config, Engine};

use crate::boot::Boot;
use crate::error::{UiError, UiResult};
use crate::settings::{Persist, Preferences, Stored};

/// How long the engine gets to stop streams and delete outputs on exit.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// How Quit asks while live, and whether it really exits (tests record the request instead).
pub struct QuitPolicy {
    /// `None`: ask with a dialog; `Some(answer)`: answer without asking (tests).
    pub auto_answer: Option<bool>,
    pub real_exit: bool,
    /// Set once an exit was requested (so closing the last window never blocks it, and the tray
    /// and notifications stop touching the GUI).
    pub exiting: AtomicBool,
}

impl QuitPolicy {
    pub fn interactive() -> Self {
        QuitPolicy { auto_answer: None, real_exit: true, exiting: AtomicBool::new(false) }
    }
    pub fn test(answer: bool) -> Self {
        QuitPolicy { auto_answer: Some(answer), real_exit: false, exiting: AtomicBool::new(false) }
    }
    pub fn is_exiting(&self) -> bool {
        self.exiting.load(Ordering::SeqCst)
    }
    /// Marks the app as exiting; returns whether it already was.
    pub fn begin_exit(&self) -> bool {
        self.exiting.swap(true, Ordering::SeqCst)
    }
}

/// Where the local control API listens (or why it does not).
#[derive(Clone, Debug, Default, Serialize, specta::Type)]
pub struct ControlInfo {
    pub url: Option<String>,
    pub error: Option<String>,
}

pub struct Shell {
    pub engine: Engine,
    pub boot: Boot,
    persist: Box<dyn Persist>,
    /// Serializes settings changes (read, change, apply, save).
    pub settings_lock: tokio::sync::Mutex<()>,
    pub control: Mutex<ControlInfo>,
    pub quit: QuitPolicy,
    /// Window labels handed out so far (for "open in new window").
    pub next_window: std::sync::atomic::AtomicU32,
    /// Set once the engine was shut down (see [`Shell::shutdown_engine`]).
    engine_down: tokio::sync::OnceCell<()>,
    /// What opens sign-in pages instead of the system's browser (`STREAMPAI_BROWSER`; tests
    /// set a recorder).
    pub browser: Option<std::ffi::OsString>,
}

impl Shell {
    pub fn new(engine: Engine, boot: Boot, persist: Box<dyn Persist>, quit: QuitPolicy) -> Self {
        Shell {
            engine,
            boot,
            persist,
            settings_lock: tokio::sync::Mutex::new(()),
            control: Mutex::new(ControlInfo::default()),
            quit,
            next_window: std::sync::atomic::AtomicU32::new(1),
            engine_down: tokio::sync::OnceCell::new(),
            browser: crate::browser::from_env(),
        }
    }

    /// Shuts the engine down (streams stopped, outputs deleted), at most [`SHUTDOWN_TIMEOUT`].
    /// Once: a caller that comes while a shutdown is under way waits for it, later ones return
    /// at once. The steps run as tasks on the runtime, so no caller may keep its worker threads
    /// waiting for something the shutdown's own caller holds (e.g. the GUI main thread).
    pub async fn shutdown_engine(&self) {
        self.engine_down
            .get_or_init(|| async {
                if tokio::time::timeout(SHUTDOWN_TIMEOUT, self.engine.shutdown()).await.is_err() {
                    tracing::warn!(timeout = ?SHUTDOWN_TIMEOUT, "engine shutdown timed out");
                } else {
                    tracing::info!("engine shut down");
                }
            })
            .await;
    }

    /// Has [`Shell::shutdown_engine`] finished?
    pub fn engine_is_down(&self) -> bool {
        self.engine_down.initialized()
    }

    pub fn secrets(&self) -> &SharedSecrets {
        self.engine.secrets()
    }

    pub fn stored(&self) -> Stored {
        self.persist.load()
    }

    pub fn preferences(&self) -> Preferences {
        self.persist.load().preferences
    }

    /// First run: setup not finished and no config file given.
    pub fn first_run(&self) -> bool {
        self.boot.seed.is_none() && !self.persist.load().setup_done
    }

    /// Save the config in force (after the engine accepted it).
    pub fn save_config(&self, config: &Config) -> UiResult<()> {
        let mut stored = self.persist.load();
        stored.config = Some(config.clone());
        self.persist.save(&stored).map_err(|message| UiError::Storage { message })
    }

    pub fn save_preferences(&self, preferences: Preferences) -> UiResult<()> {
        let mut stored = self.persist.load();
        stored.preferences = preferences;
        self.persist.save(&stored).map_err(|message| UiError::Storage { message })
    }

    pub fn set_setup_done(&self, done: bool) -> UiResult<()> {
        let mut stored = self.persist.load();
        stored.setup_done = done;
        if stored.config.is_none() {
            stored.config = Some((*self.engine.config()).clone());
        }
        self.persist.save(&stored).map_err(|message| UiError::Storage { message })
    }

    pub fn set_sync_off_url(&self, url: Option<String>) -> UiResult<()> {
        let mut stored = self.persist.load();
        if stored.sync_off_url == url {
            return Ok(());
        }
        stored.sync_off_url = url;
        self.persist.save(&stored).map_err(|message| UiError::Storage { message })
    }

    /// The engine changed its config itself (a remote device toggled a platform through the
    /// sync server): store it, so the next launch does not revert it. Returns whether the store
    /// changed.
    pub fn persist_engine_config(&self) -> UiResult<bool> {
        let config = self.engine.config();
        let stored = self.persist.load();
        if stored.config.as_ref() == Some(&*config) {
            return Ok(false);
        }
        self.save_config(&config)?;
        Ok(true)
    }

    /// Apply a changed config to the engine, then save it.
    pub async fn apply_config(&self, config: Config) -> UiResult<()> {
        self.engine.reconfigure(config.clone()).await?;
        self.save_config(&config)
    }

    /// Opens a sign-in page in the browser (see `browser.rs`).
    pub fn open_page(&self, url: &str) -> Result<(), String> {
        crate::browser::open(url, self.browser.clone())
    }

    pub fn control_info(&self) -> ControlInfo {
        self.control.lock().map(|c| c.clone()).unwrap_or_default()
    }
}
