//! `TwitchEvents`: a child of the user's tree (present when `[twitch] client_id` is set;
//! connected only while the account is signed in) that turns Twitch EventSub notifications into
//! alerts through the AlertDesk, so moderation, minimum amounts, durability and the overlay
//! apply as for any alert.
//!
//! EventSub over WebSocket (<https://dev.twitch.tv/docs/eventsub/handling-websocket-events/>):
//! - connect, read `session_welcome`, create the six subscriptions with its session id within
//!   its keepalive window (a 401 refreshes the token once through the account; a 403 is a
//!   missing permission, reported as such);
//! - any message proves the link alive; none for the keepalive window (plus a margin) means it
//!   is lost: connect again and subscribe again (Twitch does not replay what was sent meanwhile);
//! - `session_reconnect`: connect to its URL while the old connection keeps delivering, switch
//!   once welcomed there; the subscriptions move with the session (no new subscribe);
//! - `revocation`: reported; a revoked authorization makes the account check its sign-in (and
//!   sign out if Twitch refuses it);
//! - duplicates: every notification's alert is stored with the idempotency key
//!   `twitch:<message_id>`, so a message delivered twice (or on both connections during a
//!   reconnect) makes one alert, also across restarts.
//!
//! Lost links are retried with backoff (1 s doubling to 60 s, with jitter; reset once a
//! connection had its subscriptions), and not at all while signed out.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::twitch_alerts::{self, TYPES};
use crate::accounts::twitch_account::{AccessError, TwitchAccess, TwitchAccountHandle, TwitchSession};
use crate::accounts::twitch_api::SubscribeError;
use crate::accounts::{AccountError, AccountErrorKind, EventsState, UrlKind};
use crate::actor::ChildResult;
use crate::supervisor::{ChildSpec, Restart};
use crate::telemetry::esc;
use crate::user_stream_manager::UserStream;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the old connection is read after a move to the reconnect URL.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);
const BACKOFF_INITIAL: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// EventSub messages are small; anything near this is not Twitch.
const MAX_MESSAGE: usize = 1 << 20;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[derive(Clone)]
pub(crate) struct TwitchEventsArgs {
    pub user: UserStream,
    pub account: TwitchAccountHandle,
}

/// The tree's `TwitchEvents` child, when Twitch is configured.
pub(crate) fn spec(user: &UserStream) -> Option<ChildSpec> {
    let account = user.twitch_account()?.clone();
    user.config().twitch.client_id()?;
    let args = TwitchEventsArgs { user: user.clone(), account };
    Some(
        ChildSpec::new("TwitchEvents", Restart::Permanent, move |ctx| run(args.clone(), ctx.cancel).boxed())
            .shutdown_timeout(Duration::from_secs(2)),
    )
}

#[derive(Deserialize)]
struct Envelope {
    metadata: Metadata,
    #[serde(default)]
    payload: Value,
}

#[derive(Deserialize)]
struct Metadata {
    message_id: String,
    message_type: String,
    #[serde(default)]
    subscription_type: Option<String>,
}

struct Welcome {
    session_id: String,
    keepalive: Duration,
}

/// How a connection ended.
enum End {
    Cancelled,
    /// Signed out, or signed in anew: follow the account.
    Account,
    /// The link was lost; `healthy` if it had its subscriptions.
    Lost {
        healthy: bool,
        why: String,
    },
    /// Nothing left to listen to (every subscription revoked): wait for the account to change.
    Idle(String),
}

/// The time without any message after which the link counts as lost.
fn lapse(keepalive: Duration) -> Duration {
    keepalive + keepalive.div_f64(2.0).max(Duration::from_secs(2))
}

/// A random delay in [d/2, d].
fn jitter(d: Duration) -> Duration {
    let half = d / 2;
    half + half.mul_f64(rand::random::<f64>())
}

fn close_words(code: u16) -> &'static str {
    match code {
        4000 => "Twitch had an internal error",
        4001 => "Twitch closed it: the app sent a message (never expected)",
        4002 => "Twitch closed it: no answer to its ping",
        4003 => "Twitch closed it: no subscription was made in time",
        4004 => "Twitch closed it: the move to the reconnect URL took too long",
        4005 => "Twitch closed it: network timeout",
        4006 => "Twitch closed it: network error",
        4007 => "Twitch closed it: invalid reconnect URL",
        _ => "Twitch closed it",
    }
}

/// Connect and read the welcome.
async fn connect(url: String) -> Result<(Ws, Welcome), String> {
    let mut cfg = WebSocketConfig::default();
    cfg.max_message_size = Some(MAX_MESSAGE);
    cfg.max_frame_size = Some(MAX_MESSAGE);
    let fut = tokio_tungstenite::connect_async_with_config(url.as_str(), Some(cfg), false);
    let mut ws = match tokio::time::timeout(CONNECT_TIMEOUT, fut).await {
        Ok(Ok((ws, _))) => ws,
        Ok(Err(e)) => return Err(format!("cannot connect to Twitch EventSub: {e}")),
        Err(_) => {
            return Err(format!("Twitch EventSub did not answer within {} s", CONNECT_TIMEOUT.as_secs()))
        }
    };
    let welcome = async {
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(Message::Text(t)) => {
                    let Ok(env) = serde_json::from_str::<Envelope>(&t) else { continue };
                    if env.metadata.message_type != "session_welcome" {
                        continue;
                    }
                    let session = &env.payload["session"];
                    let id = session["id"].as_str().unwrap_or_default().to_string();
                    let keepalive = session["keepalive_timeout_seconds"].as_u64().unwrap_or(10).clamp(1, 600);
                    return if id.is_empty() {
                        Err("Twitch's welcome had no session id".to_string())
                    } else {
                        Ok(Welcome { session_id: id, keepalive: Duration::from_secs(keepalive) })
                    };
                }
                Ok(Message::Close(f)) => {
                    return Err(close_words(f.map(|f| u16::from(f.code)).unwrap_or(1000)).to_string())
                }
                Ok(_) => {}
                Err(e) => return Err(format!("the EventSub connection failed: {e}")),
            }
        }
        Err("the EventSub connection closed before its welcome".to_string())
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, welcome).await {
        Ok(Ok(w)) => Ok((ws, w)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(format!("no welcome from Twitch EventSub within {} s", CONNECT_TIMEOUT.as_secs())),
    }
}

struct Events {
    args: TwitchEventsArgs,
    session_rx: watch::Receiver<Option<TwitchSession>>,
}

pub(crate) async fn run(args: TwitchEventsArgs, cancel: CancellationToken) -> ChildResult {
    let session_rx = args.account.session();
    let mut me = Events { args, session_rx };
    let mut backoff = BACKOFF_INITIAL;
    let result = loop {
        let session = match me.wait_for_session(&cancel).await {
            Some(s) => s,
            None => break Ok(()),
        };
        me.set_state(EventsState::Connecting, None);
        match me.connection(&session, &cancel).await {
            End::Cancelled => break Ok(()),
            End::Account => backoff = BACKOFF_INITIAL,
            End::Idle(why) => {
                me.set_state(EventsState::Off, Some(AccountError::new(AccountErrorKind::Revoked, why)));
                if !me.wait_for_change(&session, &cancel).await {
                    break Ok(());
                }
            }
            End::Lost { healthy, why } => {
                backoff = if healthy { BACKOFF_INITIAL } else { (backoff * 2).min(BACKOFF_MAX) };
                let wait = jitter(backoff);
                warn!(cause = %why, retry_ms = wait.as_millis() as u64, "Twitch EventSub: connection lost; reconnecting (events meanwhile are not replayed)");
                me.set_state(
                    EventsState::Reconnecting,
                    Some(AccountError::new(AccountErrorKind::Unreachable, why)),
                );
                tokio::select! {
                    _ = cancel.cancelled() => break Ok(()),
                    _ = tokio::time::sleep(wait) => {}
                    _ = me.session_rx.changed() => {}
                }
            }
        }
    };
    me.set_state(EventsState::Off, None);
    result
}

impl Events {
    fn set_state(&self, state: EventsState, error: Option<AccountError>) {
        self.args.account.status.update_twitch(|s| {
            s.events.state = state;
            if state != EventsState::Connected {
                s.events.subscriptions = 0;
            }
            s.events.error = error;
        });
    }

    /// The signed-in session (`None` when cancelled); the state is `off` meanwhile.
    async fn wait_for_session(&mut self, cancel: &CancellationToken) -> Option<TwitchSession> {
        loop {
            if let Some(s) = self.session_rx.borrow_and_update().clone() {
                return Some(s);
            }
            self.args.account.status.update_twitch(|s| {
                if s.events.state != EventsState::Off {
                    s.events = Default::default();
                }
            });
            tokio::select! {
                _ = cancel.cancelled() => return None,
                r = self.session_rx.changed() => if r.is_err() { cancel.cancelled().await; return None; },
            }
        }
    }

    /// Wait until the session is no longer `session` (false when cancelled).
    async fn wait_for_change(&mut self, session: &TwitchSession, cancel: &CancellationToken) -> bool {
        loop {
            if self.session_rx.borrow_and_update().as_ref() != Some(session) {
                return true;
            }
            tokio::select! {
                _ = cancel.cancelled() => return false,
                r = self.session_rx.changed() => if r.is_err() { return false; },
            }
        }
    }

    fn session_changed(&self, session: &TwitchSession) -> bool {
        self.session_rx.borrow().as_ref() != Some(session)
    }

    async fn access(&self, rejected: Option<&TwitchAccess>) -> Result<TwitchAccess, End> {
        match self.args.account.access(rejected.map(|a| a.token.clone())).await {
            Ok(a) => Ok(a),
            Err(AccessError::SignedOut) => Err(End::Account),
            Err(AccessError::Unavailable(why)) => Err(End::Lost { healthy: false, why }),
        }
    }

    /// Create the six subscriptions on `ws_session`; how many are in place.
    async fn subscribe_all(&self, ws_session: &str) -> Result<u32, End> {
        let mut access = self.access(None).await?;
        let uid = access.user_id.clone();
        let mut ok = 0u32;
        let mut problems: Vec<AccountError> = Vec::new();
        for (kind, version) in TYPES {
            let condition = match kind {
                "channel.follow" => json!({"broadcaster_user_id": uid, "moderator_user_id": uid}),
                "channel.raid" => json!({"to_broadcaster_user_id": uid}),
                _ => json!({"broadcaster_user_id": uid}),
            };
            let body = json!({
                "type": kind,
                "version": version,
                "condition": condition,
                "transport": {"method": "websocket", "session_id": ws_session},
            });
            let mut res = access.api.subscribe(&access.token, &body).await;
            if res == Err(SubscribeError::Unauthorized) {
                access = self.access(Some(&access)).await?;
                res = access.api.subscribe(&access.token, &body).await;
            }
            match res {
                Ok(()) | Err(SubscribeError::Exists) => ok += 1,
                Err(SubscribeError::Forbidden(m)) => problems.push(AccountError::new(
                    AccountErrorKind::MissingScope,
                    format!("no permission for {kind} ({m}): sign out and in again to grant it"),
                )),
                Err(SubscribeError::Unauthorized) => {
                    return Err(End::Lost {
                        healthy: false,
                        why: "Twitch refused the refreshed token".into(),
                    })
                }
                Err(SubscribeError::Failed(e)) => {
                    problems.push(AccountError::from_api(&e));
                }
            }
        }
        if ok == 0 {
            let why = problems.first().map(|p| p.message.clone()).unwrap_or_else(|| "no subscription".into());
            return Err(End::Lost {
                healthy: false,
                why: format!("no EventSub subscription could be made: {why}"),
            });
        }
        for p in &problems {
            warn!(cause = %p.message, "Twitch EventSub: a subscription is missing");
        }
        let error = problems.into_iter().next();
        self.args.account.status.update_twitch(|s| {
            s.events.state = EventsState::Connected;
            s.events.subscriptions = ok;
            s.events.error = error;
        });
        Ok(ok)
    }

    async fn connection(&mut self, session: &TwitchSession, cancel: &CancellationToken) -> End {
        let url = self.args.user.config().twitch.eventsub_url.clone();
        let (mut ws, mut welcome) = tokio::select! {
            _ = cancel.cancelled() => return End::Cancelled,
            r = connect(url) => match r {
                Ok(x) => x,
                Err(why) => return End::Lost { healthy: false, why },
            },
        };
        debug!(session = %esc(&welcome.session_id), keepalive_s = welcome.keepalive.as_secs(), "Twitch EventSub: welcomed");
        let subscribed = tokio::select! {
            _ = cancel.cancelled() => return End::Cancelled,
            r = tokio::time::timeout(welcome.keepalive, self.subscribe_all(&welcome.session_id)) => r,
        };
        let mut subscriptions = match subscribed {
            Ok(Ok(n)) => n,
            Ok(Err(end)) => return end,
            Err(_) => {
                return End::Lost {
                    healthy: false,
                    why: "subscribing took longer than Twitch's keepalive window".into(),
                }
            }
        };
        info!(subscriptions, login = %esc(&session.login), "Twitch EventSub: listening");
        let mut reconnect: Option<BoxFuture<'static, Result<(Ws, Welcome), String>>> = None;
        // After a move, the old connection is read until Twitch closes it (bounded): what it
        // had sent before the new welcome is not lost.
        let mut draining: Option<(Ws, Instant)> = None;
        let mut deadline = Instant::now() + lapse(welcome.keepalive);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return End::Cancelled,
                r = self.session_rx.changed() => {
                    if r.is_err() || self.session_changed(session) {
                        return End::Account;
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return End::Lost {
                        healthy: true,
                        why: format!("no message from Twitch for {} s (keepalive lapsed)", lapse(welcome.keepalive).as_secs()),
                    };
                }
                moved = async { reconnect.as_mut().expect("checked").await }, if reconnect.is_some() => {
                    reconnect = None;
                    match moved {
                        Ok((new_ws, w)) => {
                            let old = std::mem::replace(&mut ws, new_ws);
                            draining = Some((old, Instant::now() + DRAIN_LIMIT));
                            welcome = w;
                            deadline = Instant::now() + lapse(welcome.keepalive);
                            info!("Twitch EventSub: moved to the reconnect URL (subscriptions kept)");
                        }
                        Err(why) => warn!(cause = %why, "Twitch EventSub: the reconnect URL failed; staying on the old connection"),
                    }
                }
                old = async {
                    let (old_ws, until) = draining.as_mut().expect("checked");
                    tokio::time::timeout_at(*until, old_ws.next()).await
                }, if draining.is_some() => {
                    match old {
                        Ok(Some(Ok(Message::Text(t)))) => {
                            if let Ok(env) = serde_json::from_str::<Envelope>(&t) {
                                if env.metadata.message_type == "notification" {
                                    self.deliver(&env);
                                }
                            }
                        }
                        Ok(Some(Ok(_))) => {}
                        // Closed, failed, or past the limit: done with it.
                        _ => draining = None,
                    }
                }
                msg = ws.next() => {
                    let text = match msg {
                        Some(Ok(Message::Text(t))) => t,
                        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Binary(_) | Message::Frame(_))) => continue,
                        ended => {
                            let ended = match ended {
                                Some(Err(e)) => format!("the EventSub connection failed: {e}"),
                                Some(Ok(Message::Close(f))) => {
                                    let code = f.map(|f| u16::from(f.code)).unwrap_or(1000);
                                    format!("{} (close code {code})", close_words(code))
                                }
                                _ => "Twitch closed the EventSub connection".to_string(),
                            };
                            // Twitch closes the old connection once the new one is welcomed:
                            // during a move, that close may be read before the new welcome.
                            // The move decides.
                            let Some(moving) = reconnect.take() else {
                                return End::Lost { healthy: true, why: ended };
                            };
                            let moved = tokio::select! {
                                _ = cancel.cancelled() => return End::Cancelled,
                                m = moving => m,
                            };
                            match moved {
                                Ok((new_ws, w)) => {
                                    ws = new_ws;
                                    welcome = w;
                                    deadline = Instant::now() + lapse(welcome.keepalive);
                                    info!("Twitch EventSub: moved to the reconnect URL (subscriptions kept)");
                                    continue;
                                }
                                Err(e) => {
                                    return End::Lost {
                                        healthy: true,
                                        why: format!("{ended}; the reconnect URL failed too: {e}"),
                                    }
                                }
                            }
                        }
                    };
                    deadline = Instant::now() + lapse(welcome.keepalive);
                    let Ok(env) = serde_json::from_str::<Envelope>(&text) else {
                        debug!("Twitch EventSub: a message that is not EventSub's; ignored");
                        continue;
                    };
                    match env.metadata.message_type.as_str() {
                        "session_keepalive" | "session_welcome" => {}
                        "notification" => self.deliver(&env),
                        "session_reconnect" => {
                            let url = env.payload["session"]["reconnect_url"].as_str().unwrap_or_default().to_string();
                            match crate::accounts::config::endpoint_problem(&url, UrlKind::WebSocket) {
                                None if reconnect.is_none() => {
                                    debug!("Twitch EventSub: asked to reconnect");
                                    reconnect = Some(connect(url).boxed());
                                }
                                None => {}
                                Some(problem) => warn!(cause = %esc(&problem), "Twitch EventSub: ignored a reconnect URL"),
                            }
                        }
                        "revocation" => {
                            let sub = &env.payload["subscription"];
                            let kind = sub["type"].as_str().unwrap_or("?").to_string();
                            let status = sub["status"].as_str().unwrap_or("?").to_string();
                            let why = format!("Twitch revoked the {kind} subscription ({status})");
                            warn!(kind = %esc(&kind), status = %esc(&status), "Twitch EventSub: subscription revoked");
                            subscriptions = subscriptions.saturating_sub(1);
                            let kind_of = if status == "authorization_revoked" { AccountErrorKind::Revoked } else { AccountErrorKind::Refused };
                            let n = subscriptions;
                            let err = AccountError::new(kind_of, why.clone());
                            self.args.account.status.update_twitch(|s| {
                                s.events.subscriptions = n;
                                s.events.error = Some(err);
                            });
                            if status == "authorization_revoked" {
                                self.args.account.check().await;
                            }
                            if subscriptions == 0 {
                                return End::Idle(why);
                            }
                        }
                        other => debug!(kind = %esc(other), "Twitch EventSub: unknown message type; ignored"),
                    }
                }
            }
        }
    }

    /// One notification → one alert (idempotent by message id).
    fn deliver(&self, env: &Envelope) {
        let kind = env.metadata.subscription_type.clone().unwrap_or_default();
        let event = &env.payload["event"];
        let Some(input) = twitch_alerts::to_alert(&kind, event) else {
            debug!(kind = %esc(&kind), "Twitch EventSub: event makes no alert");
            return;
        };
        let key = format!("twitch:{}", env.metadata.message_id.chars().take(150).collect::<String>());
        match self.args.user.alert_desk().accept_donor(input, Some(&key), None) {
            Ok(a) if a.duplicate => debug!(alert_id = %a.id, "Twitch EventSub: duplicate delivery dropped"),
            Ok(a) => {
                info!(alert_id = %a.id, kind = %esc(&kind), state = a.state, "Twitch event became an alert")
            }
            Err(e) => warn!(cause = %e, kind = %esc(&kind), "Twitch event could not be stored as an alert"),
        }
    }
}
