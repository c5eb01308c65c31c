//! `streampai sync-server ...`: the command-line front of the server (the `streampai` binary
//! flattens [`SyncServerArgs`] into its own CLI).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::server::{self, tls::TlsConfig, ServerConfig};
use crate::users::{self, Users};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SyncServerArgs {
    #[command(subcommand)]
    pub action: Option<SyncAction>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
pub enum SyncAction {
    /// Manage users.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserAction {
    /// Add a user and print their token once (only its SHA-256 is stored).
    Add {
        name: String,
        /// Folder of users.json.
        #[arg(long, env = "STREAMPAI_SYNC_DATA", default_value = ".")]
        data: PathBuf,
    },
    /// Set the user's Ko-fi verification token (ko-fi.com/manage/webhooks, Advanced),
    /// read from standard input so it stays out of the shell history; only its SHA-256 is
    /// stored. Ko-fi then posts to https://THIS-HOST/hooks/NAME/kofi.
    KofiToken {
        name: String,
        /// Folder of users.json.
        #[arg(long, env = "STREAMPAI_SYNC_DATA", default_value = ".")]
        data: PathBuf,
    },
    /// Set the user's Kick channel: Kick webhooks posted to https://THIS-HOST/hooks/NAME/kick
    /// are taken only for this broadcaster (its numeric user id on Kick).
    Kick {
        name: String,
        /// The channel's Kick user id (`broadcaster.user_id` in Kick's events).
        #[arg(long)]
        broadcaster_id: u64,
        /// Folder of users.json.
        #[arg(long, env = "STREAMPAI_SYNC_DATA", default_value = ".")]
        data: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "STREAMPAI_SYNC_LISTEN", default_value = "127.0.0.1:4860")]
    pub listen: String,
    /// Folder of users.json.
    #[arg(long, env = "STREAMPAI_SYNC_DATA", default_value = ".")]
    pub data: PathBuf,
    /// Redis URL (e.g. redis://127.0.0.1:6379): presence and routing shared by several instances.
    #[arg(long, env = "STREAMPAI_SYNC_REDIS")]
    pub redis: Option<String>,
    /// PEM certificate chain for wss:// (with --tls-key).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for wss://.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    #[arg(long, default_value_t = 5000)]
    pub heartbeat_interval_ms: u64,
    #[arg(long, default_value_t = 15000)]
    pub heartbeat_timeout_ms: u64,
    #[arg(long, default_value_t = crate::protocol::DEFAULT_MAX_MESSAGE_BYTES)]
    pub max_message_bytes: usize,
    /// Average frames per second per connection.
    #[arg(long, default_value_t = 20.0)]
    pub rate_per_sec: f64,
    #[arg(long, default_value_t = 40.0)]
    pub rate_burst: f64,
    /// A connection's request head must be complete within this (slow or silent sockets close).
    #[arg(long, default_value_t = 5000)]
    pub header_timeout_ms: u64,
    /// Connections not yet signed in (no hello accepted), in all; beyond it the oldest closes.
    #[arg(long, default_value_t = 1024)]
    pub max_pending: usize,
    /// The same per client address (loopback peers, e.g. a local reverse proxy: the total only).
    #[arg(long, default_value_t = 64)]
    pub max_pending_per_ip: usize,
    /// Webhook events (Ko-fi) held per user while their app is offline; beyond it Ko-fi's POST
    /// gets 503 `queue_full`.
    #[arg(long, default_value_t = 1000)]
    pub hook_queue_max: usize,
    /// A held webhook event not taken by the user's app within this many hours is dropped.
    #[arg(long, default_value_t = 168)]
    pub hook_ttl_hours: u64,
    /// Kick's public key (PEM file) for checking Kick webhook signatures; without it the key is
    /// fetched from --kick-public-key-url.
    #[arg(long)]
    pub kick_public_key: Option<PathBuf>,
    /// Where Kick publishes its public key; `off` to never fetch it.
    #[arg(long, default_value = crate::server::kick::KICK_PUBLIC_KEY_URL)]
    pub kick_public_key_url: String,
    /// Kick deliveries timestamped further than this from the server's clock are refused
    /// (replay window).
    #[arg(long, default_value_t = 600)]
    pub kick_max_age_secs: u64,
}

/// Run the `sync-server` command until ctrl-c / SIGTERM.
pub async fn run(args: SyncServerArgs) -> anyhow::Result<()> {
    match args.action {
        Some(SyncAction::User { action: UserAction::Add { name, data } }) => {
            let token = users::add_user(&data, &name)?;
            println!("{token}");
            eprintln!(
                "streampai: user {name} added to {}. The token above is shown once; every device of {name} signs in with it.",
                data.join(users::USERS_FILE).display()
            );
            Ok(())
        }
        Some(SyncAction::User { action: UserAction::KofiToken { name, data } }) => {
            use std::io::IsTerminal;
            if std::io::stdin().is_terminal() {
                eprintln!("Paste {name}'s Ko-fi verification token, then press Enter:");
            }
            let mut token = String::new();
            std::io::stdin().read_line(&mut token).context("cannot read the token from standard input")?;
            users::set_kofi_token(&data, &name, &token)?;
            eprintln!(
                "streampai: Ko-fi token of {name} saved (as a hash). Point Ko-fi's webhook URL at https://<this server>/hooks/{name}/kofi"
            );
            Ok(())
        }
        Some(SyncAction::User { action: UserAction::Kick { name, broadcaster_id, data } }) => {
            users::set_kick_broadcaster(&data, &name, broadcaster_id)?;
            eprintln!(
                "streampai: Kick channel {broadcaster_id} set for {name}. In your Kick app (kick.com/settings/developer), set the webhook URL to https://<this server>/hooks/{name}/kick"
            );
            Ok(())
        }
        None => serve(args.serve).await,
    }
}

async fn serve(a: ServeArgs) -> anyhow::Result<()> {
    if a.heartbeat_timeout_ms <= a.heartbeat_interval_ms {
        anyhow::bail!("--heartbeat-timeout-ms must be larger than --heartbeat-interval-ms");
    }
    let users = Users::load(&a.data)?;
    if users.is_empty() {
        tracing::warn!(data = %a.data.display(), "no users yet: add one with `streampai sync-server user add NAME`");
    }
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(c), Some(k)) => Some(TlsConfig::from_pem_files(c, k)?),
        _ => None,
    };
    let cfg = ServerConfig {
        heartbeat_interval: Duration::from_millis(a.heartbeat_interval_ms),
        heartbeat_timeout: Duration::from_millis(a.heartbeat_timeout_ms),
        max_message_bytes: a.max_message_bytes,
        rate_per_sec: a.rate_per_sec,
        rate_burst: a.rate_burst,
        hook_queue_max: a.hook_queue_max.max(1),
        hook_ttl: Duration::from_secs(a.hook_ttl_hours.max(1) * 3600),
        kick_public_key: match &a.kick_public_key {
            Some(p) => Some(
                std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read --kick-public-key {}", p.display()))?,
            ),
            None => None,
        },
        kick_public_key_url: Some(a.kick_public_key_url.clone()).filter(|u| u != "off"),
        kick_max_age: Duration::from_secs(a.kick_max_age_secs.max(1)),
        ..ServerConfig::default()
    };
    let cfg = ServerConfig {
        guard: crate::guard::GuardConfig {
            header_timeout: Duration::from_millis(a.header_timeout_ms.max(1)),
            max_pending: a.max_pending.max(1),
            max_pending_per_ip: a.max_pending_per_ip.max(1),
            ..cfg.guard.clone()
        },
        ..cfg
    };
    raise_nofile_limit();
    let listener = tokio::net::TcpListener::bind(&a.listen)
        .await
        .with_context(|| format!("cannot listen on {}", a.listen))?;
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    let srv = server::start(listener, cfg, users, tls, a.redis.as_deref()).await?;
    println!("streampai: sync server on {scheme}://{}/sync", srv.local_addr());
    let signal = wait_for_signal().await;
    tracing::info!(signal, "shutting down the sync server");
    srv.shutdown().await;
    Ok(())
}

pub use crate::guard::raise_nofile_limit;

/// Waits for the signal to stop and says which one came, for the log. Unix: Ctrl-C (SIGINT) or
/// SIGTERM (what service managers send). Windows: Ctrl-C, Ctrl-Break, the console window being
/// closed, the user logging off, or the system shutting down; for the last three Windows ends the
/// process once its handler returns, and tokio's handler does not return, so the caller's clean
/// stop runs to its end (within the time Windows allows: about 5 s for a closed console, more for
/// a shutdown). Shared by the `streampai` binary's long-running commands.
pub async fn wait_for_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => "Ctrl-C",
                _ = term.recv() => "SIGTERM",
            };
        }
    }
    #[cfg(windows)]
    {
        if let Some(which) = windows_console::wait().await {
            return which;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "Ctrl-C"
}

#[cfg(windows)]
mod windows_console {
    use tokio::signal::windows::{ctrl_break, ctrl_c, ctrl_close, ctrl_logoff, ctrl_shutdown};

    /// The console's control events and the session's end; `None` if a console listener cannot
    /// be installed.
    pub(super) async fn wait() -> Option<&'static str> {
        let (mut c, mut brk) = (ctrl_c().ok()?, ctrl_break().ok()?);
        let (mut close, mut shutdown) = (ctrl_close().ok()?, ctrl_shutdown().ok()?);
        let mut logoff = ctrl_logoff().ok()?;
        let mut session_end = session_end::watch();
        let service = in_services_session();
        loop {
            return Some(tokio::select! {
                _ = c.recv() => "Ctrl-C",
                _ = brk.recv() => "Ctrl-Break",
                _ = close.recv() => "console closed",
                _ = shutdown.recv() => "system shutdown",
                _ = logoff.recv() => {
                    // Windows sends every console process the logoff of *any* user; run as a
                    // service (session 0), the engine outlives the users' sessions.
                    if service {
                        tracing::info!("a user logged off; running as a service, so still running");
                        continue;
                    }
                    "user logoff"
                }
                Some(which) = session_end.recv() => which,
            });
        }
    }

    /// Session 0 is where services run (no interactive user since Windows Vista).
    fn in_services_session() -> bool {
        use windows_sys::Win32::System::RemoteDesktop::ProcessIdToSessionId;
        use windows_sys::Win32::System::Threading::GetCurrentProcessId;
        let mut session = u32::MAX;
        // SAFETY: plain Win32 calls; `session` outlives the call.
        let ok = unsafe { ProcessIdToSessionId(GetCurrentProcessId(), &mut session) };
        ok != 0 && session == 0
    }

    /// Logoff and shutdown through a hidden window. Windows stops sending the console's logoff
    /// and shutdown events to a console program once it has loaded user32 (shell32, which the
    /// known-folder lookup loads, does), and sends its windows `WM_ENDSESSION` instead; so the
    /// engine keeps a hidden top-level window for it, as Microsoft's documentation of
    /// `SetConsoleCtrlHandler` advises.
    mod session_end {
        use std::sync::OnceLock;
        use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
        use windows_sys::Win32::Foundation::{HWND, LPARAM, LRESULT, WPARAM};
        use windows_sys::Win32::System::LibraryLoader::GetModuleHandleW;
        use windows_sys::Win32::UI::WindowsAndMessaging::{
            CreateWindowExW, DefWindowProcW, DispatchMessageW, GetMessageW, RegisterClassW, TranslateMessage,
            ENDSESSION_LOGOFF, MSG, WM_ENDSESSION, WM_QUERYENDSESSION, WNDCLASSW, WS_OVERLAPPED,
        };

        static SENDER: OnceLock<UnboundedSender<&'static str>> = OnceLock::new();

        /// Starts the window's thread (once per process) and returns the receiver of its
        /// notices; a receiver that never yields if the window cannot be made.
        pub(super) fn watch() -> UnboundedReceiver<&'static str> {
            let (tx, rx) = unbounded_channel();
            if SENDER.set(tx).is_ok() {
                let spawned = std::thread::Builder::new().name("session-end".into()).spawn(|| {
                    // SAFETY: the window and its class live on this thread, which pumps its
                    // messages until the process ends.
                    if let Err(e) = unsafe { run() } {
                        tracing::warn!(
                            "no session-end window ({e}); logoff/shutdown end the engine abruptly"
                        );
                    }
                });
                if let Err(e) = spawned {
                    tracing::warn!(cause = %e, "no session-end thread");
                }
            }
            rx
        }

        fn wide(s: &str) -> Vec<u16> {
            s.encode_utf16().chain(std::iter::once(0)).collect()
        }

        unsafe fn run() -> Result<(), &'static str> {
            let class = wide("StreampaiSessionEnd");
            let title = wide("Streampai engine");
            let instance = GetModuleHandleW(std::ptr::null());
            let mut wc: WNDCLASSW = std::mem::zeroed();
            wc.lpfnWndProc = Some(window_proc);
            wc.hInstance = instance;
            wc.lpszClassName = class.as_ptr();
            if RegisterClassW(&wc) == 0 {
                return Err("RegisterClassW failed");
            }
            // Top-level and never shown: message-only windows get no WM_ENDSESSION.
            let hwnd = CreateWindowExW(
                0,
                class.as_ptr(),
                title.as_ptr(),
                WS_OVERLAPPED,
                0,
                0,
                0,
                0,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                instance,
                std::ptr::null(),
            );
            if hwnd.is_null() {
                return Err("CreateWindowExW failed");
            }
            let mut msg: MSG = std::mem::zeroed();
            while GetMessageW(&mut msg, std::ptr::null_mut(), 0, 0) > 0 {
                TranslateMessage(&msg);
                DispatchMessageW(&msg);
            }
            Ok(())
        }

        unsafe extern "system" fn window_proc(
            hwnd: HWND,
            msg: u32,
            wparam: WPARAM,
            lparam: LPARAM,
        ) -> LRESULT {
            match msg {
                WM_QUERYENDSESSION => 1,
                WM_ENDSESSION if wparam != 0 => {
                    let which = if (lparam as u32) & ENDSESSION_LOGOFF != 0 {
                        "user logoff"
                    } else {
                        "system shutdown"
                    };
                    if let Some(tx) = SENDER.get() {
                        let _ = tx.send(which);
                    }
                    // Windows ends the process once this returns: wait here while the engine
                    // stops; the process exits when it has.
                    loop {
                        std::thread::park();
                    }
                }
                _ => DefWindowProcW(hwnd, msg, wparam, lparam),
            }
        }
    }
}
