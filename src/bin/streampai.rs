//! `streampai`: the headless engine and a CLI for a running instance.
//!
//! - `streampai headless [--config FILE]` runs the engine and the local control API.
//! - `streampai sync-server [--listen ADDR] [--data DIR] [--redis URL]` runs the sync server;
//!   `streampai sync-server user add NAME [--data DIR]` adds a user and prints their token once.
//! - `streampai status|start|stop|debug [--config FILE]`, `streampai obs
//!   status|setup|restore|reconnect|password` talk to a running instance and print JSON; the exit code is 0 only on a 2xx answer (2 for a bad config, 1 otherwise).
//! - `streampai account sign-in twitch [--no-wait]` prints the code to enter on Twitch's page,
//!   then waits until the sign-in completes (exit 0 when signed in); `account sign-in youtube`
//!   prints the Google page to open in a browser on this machine (its redirect goes to the
//!   engine's loopback listener) and waits the same way; `account sign-out twitch|youtube`;
//!   `account status` prints the accounts part of the status.
//! - `streampai stream info` prints the saved stream info and the last push's results;
//!   `stream info --title … [--twitch-category ID] [--youtube-description …]` saves it, pushes
//!   it to every signed-in platform and prints each platform's result in words (exit 0 when
//!   saved and no signed-in platform failed); `stream categories QUERY` searches Twitch's.

#[path = "streampai/stream_cmd.rs"]
mod stream_cmd;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use streampai::config::{Config, ConfigError, DEFAULT_CONTROL_LISTEN};
use streampai::secrets::{Secret, SecretBackendKind, SecretName, SharedSecrets};
use streampai::{Engine, EngineOptions};

#[derive(Parser)]
#[command(name = "streampai", version, about = "Streampai: simulcast companion for OBS")]
struct Cli {
    /// Config file (TOML); default: env STREAMPAI_CONFIG.
    #[arg(long, global = true, env = "STREAMPAI_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the engine with no GUI and serve the local control API.
    Headless,
    /// Print the running instance's status.
    Status,
    /// Start the stream on every enabled platform.
    Start,
    /// Stop the stream.
    Stop,
    /// Print the live task tree.
    Debug,
    /// Run the sync server (multi-device presence and remote control), or manage its users.
    SyncServer(Box<streampai_sync::cli::SyncServerArgs>),
    /// Alerts.
    Alert {
        #[command(subcommand)]
        action: AlertCommand,
    },
    /// OBS: the link's status, "Set up OBS for me", restore OBS's previous stream settings.
    Obs {
        #[command(subcommand)]
        action: ObsCommand,
    },
    /// Platform accounts (sign in to Twitch or YouTube so their events become alerts).
    Account {
        #[command(subcommand)]
        action: AccountCommand,
    },
    /// The stream info (one title for every platform) and Twitch's category search.
    Stream {
        #[command(subcommand)]
        action: stream_cmd::StreamCommand,
    },
}

#[derive(Subcommand)]
enum ObsCommand {
    /// Print the link to OBS and OBS's stream health.
    Status,
    /// Write the app's ingest into OBS's stream settings (OBS's previous ones are kept).
    Setup,
    /// Put OBS's previous stream settings back.
    Restore,
    /// Connect to OBS again now (e.g. after fixing its password in OBS).
    Reconnect,
    /// Store OBS's WebSocket password (read from standard input, one line; an empty input is
    /// refused) and connect with it.
    Password,
}

#[derive(clap::Subcommand)]
enum AccountCommand {
    /// Sign in: prints the code to enter at the address shown (Twitch) or the page to open in a
    /// browser on this machine (YouTube), then waits for the sign-in.
    SignIn {
        platform: AccountPlatformArg,
        /// Print the code and return at once (`account status` shows the outcome).
        #[arg(long)]
        no_wait: bool,
    },
    /// Sign out (the token is revoked and the sign-in deleted).
    SignOut { platform: AccountPlatformArg },
    /// Print the accounts' status.
    Status,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum AccountPlatformArg {
    Twitch,
    Youtube,
}

impl AccountPlatformArg {
    fn as_str(self) -> &'static str {
        match self {
            AccountPlatformArg::Twitch => "twitch",
            AccountPlatformArg::Youtube => "youtube",
        }
    }
}

#[derive(Subcommand)]
enum AlertCommand {
    /// Send a test alert (a $5 donation) through the running instance.
    Test,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("streampai: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let res = match cli.command {
        Command::Headless => rt.block_on(headless(cli.config)),
        Command::Status => rt.block_on(client(cli.config, reqwest::Method::GET, "/api/v1/status")),
        Command::Start => rt.block_on(client(cli.config, reqwest::Method::POST, "/api/v1/stream/start")),
        Command::Stop => rt.block_on(client(cli.config, reqwest::Method::POST, "/api/v1/stream/stop")),
        Command::Debug => rt.block_on(client(cli.config, reqwest::Method::GET, "/api/v1/debug")),
        Command::SyncServer(args) => rt.block_on(async {
            streampai::telemetry::init("info");
            streampai_sync::cli::run(*args).await.map(|()| ExitCode::SUCCESS)
        }),
        Command::Obs { action } => rt.block_on(obs(cli.config, action)),
        Command::Account { action } => rt.block_on(account(cli.config, action)),
        Command::Stream { action } => {
            rt.block_on(async { stream_cmd::run(Api::new(cli.config)?, action).await })
        }
        Command::Alert { action: AlertCommand::Test } => rt.block_on(request(
            cli.config,
            reqwest::Method::POST,
            "/api/v1/alerts",
            Some(serde_json::json!({
                "kind": "donation", "from": "Streampai test", "amount": 5.0, "currency": "USD",
                "message": "This is a test alert"
            })),
        )),
    };
    match res {
        Ok(code) => code,
        Err(e) => {
            if let Some(ce) = e.downcast_ref::<ConfigError>() {
                eprintln!("streampai: {ce}");
                return ExitCode::from(2);
            }
            eprintln!("streampai: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn obs(config: Option<PathBuf>, action: ObsCommand) -> anyhow::Result<ExitCode> {
    use reqwest::Method;
    match action {
        ObsCommand::Status => client(config, Method::GET, "/api/v1/obs").await,
        ObsCommand::Setup => client(config, Method::POST, "/api/v1/obs/setup").await,
        ObsCommand::Restore => client(config, Method::POST, "/api/v1/obs/restore").await,
        ObsCommand::Reconnect => client(config, Method::POST, "/api/v1/obs/reconnect").await,
        ObsCommand::Password => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).context("cannot read the password from standard input")?;
            let password = line.trim_end_matches(['\r', '\n']).to_string();
            let body = serde_json::json!({ "password": password });
            request(config, Method::POST, "/api/v1/obs/password", Some(body)).await
        }
    }
}

/// Env vars, then the OS keyring, or the secrets file in the data folder when there is no keyring
/// (shared with the desktop app, so the CLI reads the token the app stored).
fn secrets(data_dir: &Path) -> SharedSecrets {
    streampai::secrets::open(data_dir)
}

async fn headless(config_path: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    streampai::telemetry::init("info");
    streampai::telemetry::raise_open_file_limit();
    let (config, warnings) = Config::load(config_path.as_deref())?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    let secrets = secrets(&config.data_dir());
    let token = control_token(&secrets);
    let listener = tokio::net::TcpListener::bind(&config.control.listen)
        .await
        .with_context(|| format!("cannot listen on {} (control.listen)", config.control.listen))?;
    let addr = listener.local_addr()?;
    let db_path = config.data_dir().join("streampai.db");
    let db = streampai::Db::open(&db_path)?;
    let engine = Engine::start(EngineOptions { config, secrets, state_file: None, db: Some(db) });
    println!("streampai: control API on http://{addr}");
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(streampai::control::serve(
        listener,
        engine.clone(),
        token,
        shutdown.clone().cancelled_owned(),
    ));
    let signal = streampai_sync::cli::wait_for_signal().await;
    tracing::info!(signal, "shutting down: stopping the stream and the tree");
    engine.shutdown().await;
    shutdown.cancel();
    let _ = server.await;
    Ok(ExitCode::SUCCESS)
}

/// The control token from env, keyring or secrets file; generated, stored and shown once if absent.
fn control_token(secrets: &SharedSecrets) -> Secret {
    if let Ok(Some(t)) = secrets.get(&SecretName::ControlToken) {
        if !t.is_blank() {
            return t;
        }
    }
    let token = Secret::generate();
    let backend = secrets.backend();
    let place = match (backend.kind, backend.path) {
        (SecretBackendKind::File, Some(path)) => format!("the secrets file {path}"),
        _ => "the OS keyring".to_string(),
    };
    match secrets.set(&SecretName::ControlToken, &token) {
        Ok(()) => eprintln!(
            "streampai: generated a control token and saved it in {place}. It is shown once:\n  {}\n(set STREAMPAI_CONTROL_TOKEN to choose your own)",
            token.expose()
        ),
        Err(e) => eprintln!(
            "streampai: generated a control token for this run only ({e}):\n  {}\nSet STREAMPAI_CONTROL_TOKEN to keep one across runs.",
            token.expose()
        ),
    }
    token
}

/// The control address and the data folder (where the secrets file is): from the config if one
/// is given, else env (`STREAMPAI_CONTROL_LISTEN`, `STREAMPAI_DATA_DIR`) or the defaults.
fn client_target(config_path: Option<PathBuf>) -> Result<(String, PathBuf), ConfigError> {
    match config_path {
        Some(p) => {
            let config = Config::load(Some(&p))?.0;
            Ok((config.control.listen.clone(), config.data_dir()))
        }
        None => {
            let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
            Ok((
                env("STREAMPAI_CONTROL_LISTEN").unwrap_or_else(|| DEFAULT_CONTROL_LISTEN.into()),
                env("STREAMPAI_DATA_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(streampai::config::default_data_dir),
            ))
        }
    }
}

async fn client(
    config_path: Option<PathBuf>,
    method: reqwest::Method,
    path: &str,
) -> anyhow::Result<ExitCode> {
    request(config_path, method, path, None).await
}

async fn request(
    config_path: Option<PathBuf>,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> anyhow::Result<ExitCode> {
    let api = Api::new(config_path)?;
    let (status, body) = api.call(method, path, body).await?;
    let pretty = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or(body);
    if (200..300).contains(&status) {
        println!("{pretty}");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("{pretty}");
        Ok(ExitCode::from(1))
    }
}

/// `streampai account ...`.
async fn account(config_path: Option<PathBuf>, action: AccountCommand) -> anyhow::Result<ExitCode> {
    let (platform, no_wait) = match action {
        AccountCommand::Status => {
            let api = Api::new(config_path)?;
            let (status, body) = api.call(reqwest::Method::GET, "/api/v1/status", None).await?;
            let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            if !(200..300).contains(&status) {
                eprintln!("{}", serde_json::to_string_pretty(&v).unwrap_or(body));
                return Ok(ExitCode::from(1));
            }
            println!("{}", serde_json::to_string_pretty(&v["accounts"])?);
            return Ok(ExitCode::SUCCESS);
        }
        AccountCommand::SignOut { platform } => {
            let path = format!("/api/v1/accounts/{}/sign-out", platform.as_str());
            return request(config_path, reqwest::Method::POST, &path, None).await;
        }
        AccountCommand::SignIn { platform, no_wait } => (platform, no_wait),
    };
    let api = Api::new(config_path)?;
    let path = format!("/api/v1/accounts/{}/sign-in", platform.as_str());
    let (status, body) = api.call(reqwest::Method::POST, &path, None).await?;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    if !(200..300).contains(&status) {
        eprintln!("{}", serde_json::to_string_pretty(&v).unwrap_or(body));
        return Ok(ExitCode::from(1));
    }
    println!("{}", serde_json::to_string_pretty(&v)?);
    let expires_in = match v["authorize_url"].as_str() {
        Some(url) => {
            // The engine's listener takes Google's redirect for 5 minutes.
            eprintln!(
                "streampai: open this page in a browser on this machine and allow access (within 5 minutes):\n{url}"
            );
            300
        }
        None => {
            let expires_in = v["expires_in"].as_u64().unwrap_or(0);
            eprintln!(
                "streampai: open {} and enter the code {} (within {} minutes)",
                v["verification_uri"].as_str().unwrap_or("?"),
                v["user_code"].as_str().unwrap_or("?"),
                expires_in.div_ceil(60)
            );
            expires_in
        }
    };
    if no_wait {
        return Ok(ExitCode::SUCCESS);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(expires_in + 30);
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        let (status, body) = api.call(reqwest::Method::GET, "/api/v1/status", None).await?;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let account = &v["accounts"][platform.as_str()];
        let state = account["state"].as_str().unwrap_or_default();
        if (200..300).contains(&status) && state != "pending" {
            println!("{}", serde_json::to_string_pretty(account)?);
            return Ok(if state == "signed_in" { ExitCode::SUCCESS } else { ExitCode::from(1) });
        }
        if std::time::Instant::now() > deadline {
            eprintln!("streampai: the sign-in did not complete in time");
            return Ok(ExitCode::from(1));
        }
    }
}

/// A running instance's control API, with its token.
struct Api {
    base: String,
    token: Secret,
    http: reqwest::Client,
}

impl Api {
    fn new(config_path: Option<PathBuf>) -> anyhow::Result<Api> {
        let (listen, data_dir) = client_target(config_path)?;
        let base = format!("http://{listen}");
        let secrets = secrets(&data_dir);
        let token =
            secrets.get(&SecretName::ControlToken).ok().flatten().filter(|t| !t.is_blank()).with_context(
                || {
                    let place = match secrets.backend().path {
                        Some(path) => format!("the OS keyring or {path}"),
                        None => "the OS keyring".into(),
                    };
                    format!(
            "no control token in {place}: start the desktop app or `streampai headless` once to create one, \
             or set STREAMPAI_CONTROL_TOKEN"
        )
                },
            )?;
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(60)).build()?;
        Ok(Api { base, token, http })
    }

    /// The answer's status and body text.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<(u16, String)> {
        let base = &self.base;
        let mut req = self.http.request(method, format!("{base}{path}")).bearer_auth(self.token.expose());
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.with_context(|| format!("no streampai instance answering at {base}"))?;
        let status = res.status().as_u16();
        Ok((status, res.text().await.unwrap_or_default()))
    }
}
