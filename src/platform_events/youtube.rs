//! `YouTubeEvents`: a child of the user's tree (present when `[youtube] client_id` and
//! `client_secret` are set; reading only while the account is signed in) that turns the paid
//! and membership events of the channel's live chat into alerts through the AlertDesk, so
//! moderation, minimum amounts, durability and the overlay apply as for any alert.
//!
//! - Finds the live broadcast (`liveBroadcasts.list`, `broadcastStatus=active`,
//!   `broadcastType=all` so the default "Stream now" broadcast counts) and its
//!   `snippet.liveChatId`; while none is live it looks again every `[youtube] broadcast_poll_ms`
//!   (60 s by default). The broadcast it finds is published on the account handle
//!   (`set_live_broadcast`; `None` while none is live or once its chat ended): the `StreamInfo`
//!   child sends the saved title to it when the push on Start found none live — with the
//!   update call alone, the lookup here being the one that found it.
//! - Polls `liveChat/messages` with the last `nextPageToken`, never sooner than the
//!   `pollingIntervalMillis` YouTube gave; the page token outlives a restart of the child.
//! - The first page of a chat (no page token yet) is the chat's recent history, as YouTube
//!   documents: of it only messages published at most [`HISTORY_GRACE`] before the reader
//!   started make alerts (what happened while Streampai was not reading is not replayed as a
//!   burst of old alerts; the grace covers the minute between going live and finding the
//!   chat). Every alert is stored with the idempotency key `youtube:<message id>`, so a
//!   message seen twice (a duplicate delivery, a re-read page after a restart) makes one alert.
//! - Quota: each chat poll costs 5 units, each broadcast lookup 1. The poll interval is
//!   stretched so that what is left of the day's quota (`[youtube] daily_quota`, minus a
//!   reserve for title updates) lasts [`QUOTA_HORIZON`] or until the reset, whichever is
//!   sooner; when only the reserve is left, or YouTube answers `quotaExceeded`, reading stops
//!   until the reset (midnight Pacific time) and the status says so in words.
//! - A refused token is refreshed once through the account; a revoked sign-in signs the
//!   account out and the reader waits for a new sign-in (no retry storm). A chat that ended
//!   (`liveChatEnded`, `offlineAt`) sends it back to looking for a broadcast.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use serde_json::Value;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::youtube_alerts;
use crate::accounts::youtube_account::{AccessError, YouTubeAccess, YouTubeAccountHandle, YouTubeSession};
use crate::accounts::youtube_api::{self, YouTubeApiError, COST_CHAT};
use crate::accounts::{AccountError, AccountErrorKind, EventsState};
use crate::actor::ChildResult;
use crate::supervisor::{ChildSpec, Restart};
use crate::telemetry::esc;
use crate::user_stream_manager::UserStream;

/// How far back the first page's messages still make alerts.
pub(crate) const HISTORY_GRACE: chrono::Duration = chrono::Duration::seconds(60);
/// What is left of the day's quota is spread over this long (or until the reset).
pub(crate) const QUOTA_HORIZON: Duration = Duration::from_secs(4 * 3600);
/// Never poll more often than this, whatever YouTube says.
const MIN_POLL: Duration = Duration::from_millis(200);
const BACKOFF_INITIAL: Duration = Duration::from_secs(2);
const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// Where the reader is in a chat: kept across restarts of the child.
#[derive(Clone, Debug, Default)]
struct Cursor {
    /// The signed-in channel it belongs to (another sign-in starts afresh).
    channel_id: String,
    chat_id: String,
    page_token: Option<String>,
}

#[derive(Clone)]
pub(crate) struct YouTubeEventsArgs {
    pub user: UserStream,
    pub account: YouTubeAccountHandle,
    cursor: Arc<Mutex<Option<Cursor>>>,
}

/// The tree's `YouTubeEvents` child, when YouTube is configured.
pub(crate) fn spec(user: &UserStream) -> Option<ChildSpec> {
    let account = user.youtube_account()?.clone();
    if !user.config().youtube.configured() {
        return None;
    }
    let args = YouTubeEventsArgs { user: user.clone(), account, cursor: Arc::default() };
    Some(
        ChildSpec::new("YouTubeEvents", Restart::Permanent, move |ctx| run(args.clone(), ctx.cancel).boxed())
            .shutdown_timeout(Duration::from_secs(2)),
    )
}

/// The units kept back from chat polling (for title updates at 50 each and broadcast lookups).
pub(crate) fn reserve(limit: u32) -> u32 {
    (limit / 10).max(150)
}

/// How long to wait before the next chat poll: at least YouTube's `interval`, stretched so
/// the usable rest of the quota lasts the horizon (or until the reset). `None`: only the
/// reserve is left, stop until the reset.
pub(crate) fn pace(interval: Duration, used: u32, limit: u32, until_reset: Duration) -> Option<Duration> {
    let usable = limit.saturating_sub(reserve(limit)).saturating_sub(used);
    let calls = usable / COST_CHAT;
    if calls == 0 {
        return None;
    }
    let spread = until_reset.min(QUOTA_HORIZON) / calls;
    Some(interval.max(spread).max(MIN_POLL))
}

fn until_reset(now: DateTime<Utc>) -> Duration {
    (youtube_api::next_reset(now) - now).to_std().unwrap_or(Duration::from_secs(3600))
}

fn quota_words(used: u32, limit: u32, said_by_youtube: bool, now: DateTime<Utc>) -> String {
    let hours = until_reset(now).as_secs().div_ceil(3600);
    if said_by_youtube {
        format!(
            "YouTube's daily API quota for this app is used up (quotaExceeded): Super Chats and memberships \
             are read again after the reset at midnight Pacific time (in about {hours} h)"
        )
    } else {
        format!(
            "{used} of the {limit} units of YouTube's daily API quota are used (the rest is kept for title \
             updates): Super Chats and memberships are read again after the reset at midnight Pacific time \
             (in about {hours} h)"
        )
    }
}

/// How one round ended.
enum Step {
    /// Go on after this long.
    Wait(Duration),
    /// The account changed (signed out, or signed in anew).
    Account,
}

struct Events {
    args: YouTubeEventsArgs,
    session_rx: watch::Receiver<Option<YouTubeSession>>,
    /// When this reader started (the first page's history cut-off).
    started: DateTime<Utc>,
    backoff: Duration,
    /// The channel being read.
    channel_id: String,
}

pub(crate) async fn run(args: YouTubeEventsArgs, cancel: CancellationToken) -> ChildResult {
    let session_rx = args.account.session();
    let mut me =
        Events { args, session_rx, started: Utc::now(), backoff: BACKOFF_INITIAL, channel_id: String::new() };
    'outer: loop {
        let Some(session) = me.wait_for_session(&cancel).await else { break };
        if me.cursor().is_some_and(|c| c.channel_id != session.channel_id) {
            me.no_broadcast();
        }
        me.channel_id = session.channel_id.clone();
        me.set_state(EventsState::Connecting, 0, None);
        loop {
            let step = tokio::select! {
                _ = cancel.cancelled() => break 'outer,
                s = me.step() => s,
            };
            let wait = match step {
                Step::Account => continue 'outer,
                Step::Wait(d) => d,
            };
            tokio::select! {
                _ = cancel.cancelled() => break 'outer,
                _ = tokio::time::sleep(wait) => {}
                r = me.session_rx.changed() => {
                    if r.is_err() || me.session_rx.borrow().as_ref() != Some(&session) {
                        continue 'outer;
                    }
                }
            }
        }
    }
    me.set_state(EventsState::Off, 0, None);
    Ok(())
}

impl Events {
    fn set_state(&self, state: EventsState, subscriptions: u32, error: Option<AccountError>) {
        self.args.account.update_status(|s| {
            s.events.state = state;
            s.events.subscriptions = subscriptions;
            s.events.error = error;
        });
    }

    async fn wait_for_session(&mut self, cancel: &CancellationToken) -> Option<YouTubeSession> {
        loop {
            if let Some(s) = self.session_rx.borrow_and_update().clone() {
                return Some(s);
            }
            self.args.account.update_status(|s| {
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

    /// How often a live broadcast is looked for while none is live (1 quota unit each).
    fn idle_poll(&self) -> Duration {
        self.args.user.config().youtube.broadcast_poll()
    }

    /// No live broadcast to read (none found, or its chat ended).
    fn no_broadcast(&self) {
        self.set_cursor(None);
        self.args.account.set_live_broadcast(None);
    }

    fn cursor(&self) -> Option<Cursor> {
        self.args.cursor.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_cursor(&self, c: Option<Cursor>) {
        *self.args.cursor.lock().unwrap_or_else(|p| p.into_inner()) = c;
    }

    /// A trouble that is worth trying again: shown, and waited out with backoff.
    fn trouble(&mut self, e: &YouTubeApiError) -> Step {
        let wait = self.backoff;
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
        warn!(cause = %e, retry_s = wait.as_secs(), "YouTube live chat: trying again later");
        self.set_state(EventsState::Reconnecting, 0, Some(AccountError::from_youtube(e)));
        Step::Wait(wait)
    }

    /// The day's quota is (nearly) spent: stop until the reset.
    fn quota_pause(&self, api: &youtube_api::YouTubeApi, said_by_youtube: bool) -> Step {
        let now = Utc::now();
        let limit = api.config().daily_quota;
        let words = quota_words(api.quota_used(), limit, said_by_youtube, now);
        warn!("YouTube live chat: daily quota used up; paused until the reset");
        let state = if self.cursor().is_some() { EventsState::Reconnecting } else { EventsState::Connecting };
        self.set_state(state, 0, Some(AccountError::new(AccountErrorKind::RateLimited, words)));
        Step::Wait(until_reset(now) + Duration::from_secs(60))
    }

    async fn access(&self, rejected: Option<&YouTubeAccess>) -> Result<YouTubeAccess, Step> {
        match self.args.account.access(rejected.map(|a| a.token.clone())).await {
            Ok(a) => Ok(a),
            Err(AccessError::SignedOut) => Err(Step::Account),
            Err(AccessError::Unavailable(why)) => {
                warn!(cause = %esc(&why), "YouTube live chat: no usable sign-in now");
                self.set_state(
                    EventsState::Reconnecting,
                    0,
                    Some(AccountError::new(AccountErrorKind::Unreachable, why)),
                );
                Err(Step::Wait(BACKOFF_MAX.min(Duration::from_secs(60))))
            }
        }
    }

    /// One round: look for the chat, or read its next page.
    async fn step(&mut self) -> Step {
        let access = match self.access(None).await {
            Ok(a) => a,
            Err(step) => return step,
        };
        let api = access.api.clone();
        let limit = api.config().daily_quota;
        let now = Utc::now();
        if pace(Duration::ZERO, api.quota_used(), limit, until_reset(now)).is_none() {
            return self.quota_pause(&api, false);
        }
        match self.cursor() {
            None => self.find_chat(access).await,
            Some(cursor) => self.read_chat(access, cursor).await,
        }
    }

    async fn find_chat(&mut self, access: YouTubeAccess) -> Step {
        let mut res = access.api.active_broadcasts(&access.token).await;
        if res == Err(YouTubeApiError::Unauthorized) {
            let again = match self.access(Some(&access)).await {
                Ok(a) => a,
                Err(step) => return step,
            };
            res = again.api.active_broadcasts(&again.token).await;
        }
        match res {
            Ok(list) => {
                self.backoff = BACKOFF_INITIAL;
                match list.into_iter().find_map(|b| b.live_chat_id.clone().map(|c| (b, c))) {
                    Some((broadcast, chat_id)) => {
                        info!(broadcast = %esc(&broadcast.title), "YouTube live chat: found the live broadcast");
                        self.set_cursor(Some(Cursor {
                            channel_id: self.channel_id.clone(),
                            chat_id,
                            page_token: None,
                        }));
                        self.args.account.set_live_broadcast(Some(broadcast));
                        Step::Wait(Duration::ZERO)
                    }
                    None => {
                        debug!("YouTube live chat: no broadcast is live; looking again later");
                        self.no_broadcast();
                        self.set_state(EventsState::Connecting, 0, None);
                        Step::Wait(self.idle_poll())
                    }
                }
            }
            Err(YouTubeApiError::QuotaExceeded) => self.quota_pause(&access.api, true),
            Err(YouTubeApiError::Unauthorized) => self.unauthorized(),
            Err(e) => self.trouble(&e),
        }
    }

    /// The refreshed token was refused too.
    fn unauthorized(&mut self) -> Step {
        let e = AccountError::new(AccountErrorKind::Revoked, "YouTube refused the refreshed sign-in");
        self.set_state(EventsState::Reconnecting, 0, Some(e));
        let wait = self.backoff.max(Duration::from_secs(60));
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
        Step::Wait(wait)
    }

    async fn read_chat(&mut self, access: YouTubeAccess, cursor: Cursor) -> Step {
        let token = cursor.page_token.as_deref();
        let mut res = access.api.chat_page(&access.token, &cursor.chat_id, token).await;
        let mut api = access.api.clone();
        if matches!(res, Err(YouTubeApiError::Unauthorized)) {
            let again = match self.access(Some(&access)).await {
                Ok(a) => a,
                Err(step) => return step,
            };
            api = again.api.clone();
            res = again.api.chat_page(&again.token, &cursor.chat_id, token).await;
        }
        let page = match res {
            Ok(p) => p,
            Err(YouTubeApiError::QuotaExceeded) => return self.quota_pause(&api, true),
            Err(YouTubeApiError::Unauthorized) => return self.unauthorized(),
            Err(YouTubeApiError::Refused { reason, .. })
                if matches!(
                    reason.as_str(),
                    "liveChatEnded" | "liveChatNotFound" | "liveChatDisabled" | "forbidden"
                ) =>
            {
                info!(reason = %esc(&reason), "YouTube live chat: the chat is over; looking for a live broadcast");
                self.no_broadcast();
                self.set_state(EventsState::Connecting, 0, None);
                return Step::Wait(Duration::ZERO);
            }
            Err(YouTubeApiError::Refused { reason, .. }) if reason == "pageTokenInvalid" => {
                self.set_cursor(Some(Cursor { page_token: None, ..cursor }));
                return Step::Wait(Duration::from_secs(1));
            }
            Err(e) => return self.trouble(&e),
        };
        self.backoff = BACKOFF_INITIAL;
        let first = cursor.page_token.is_none();
        for item in &page.items {
            if first && self.is_history(item) {
                continue;
            }
            self.deliver(item);
        }
        let over = page.offline_at.is_some();
        self.set_cursor(
            (!over).then(|| Cursor { page_token: page.next_page_token.clone(), ..cursor.clone() }),
        );
        if over {
            info!("YouTube live chat: the stream went offline; looking for a live broadcast");
            self.args.account.set_live_broadcast(None);
            self.set_state(EventsState::Connecting, 0, None);
            return Step::Wait(self.idle_poll());
        }
        self.set_state(EventsState::Connected, 1, None);
        let limit = api.config().daily_quota;
        match pace(page.polling_interval, api.quota_used(), limit, until_reset(Utc::now())) {
            Some(wait) => Step::Wait(wait),
            None => self.quota_pause(&api, false),
        }
    }

    /// On a chat's first page: published before the reader started (less the grace)?
    fn is_history(&self, item: &Value) -> bool {
        let published =
            item["snippet"]["publishedAt"].as_str().and_then(|p| DateTime::parse_from_rfc3339(p).ok());
        match published {
            Some(p) => p.with_timezone(&Utc) < self.started - HISTORY_GRACE,
            None => true,
        }
    }

    /// One chat event → one alert (idempotent by message id).
    fn deliver(&self, item: &Value) {
        let Some(input) = youtube_alerts::to_alert(item) else { return };
        let Some(id) = youtube_alerts::message_id(item) else {
            debug!("YouTube live chat: an event without an id; skipped");
            return;
        };
        let kind = item["snippet"]["type"].as_str().unwrap_or_default().to_string();
        let key = format!("youtube:{}", id.chars().take(150).collect::<String>());
        match self.args.user.alert_desk().accept_donor(input, Some(&key), None) {
            Ok(a) if a.duplicate => debug!(alert_id = %a.id, "YouTube live chat: duplicate dropped"),
            Ok(a) => {
                info!(alert_id = %a.id, kind = %esc(&kind), state = a.state, "YouTube event became an alert")
            }
            Err(e) => warn!(cause = %e, kind = %esc(&kind), "YouTube event could not be stored as an alert"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_honours_youtube_and_stretches_to_last_the_quota() {
        let day = Duration::from_secs(20 * 3600);
        // A big quota: YouTube's interval rules.
        assert_eq!(pace(Duration::from_secs(2), 0, 1_000_000, day), Some(Duration::from_secs(2)));
        // The default quota: 9,000 usable units = 1,800 polls over four hours = 8 s apart.
        assert_eq!(pace(Duration::from_secs(2), 0, 10_000, day), Some(Duration::from_secs(8)));
        // Half used: 4,000 usable = 800 polls = 18 s.
        assert_eq!(pace(Duration::from_secs(2), 5_000, 10_000, day), Some(Duration::from_secs(18)));
        // An hour to the reset: spread over that hour only.
        let p = pace(Duration::from_secs(2), 5_000, 10_000, Duration::from_secs(3600)).unwrap();
        assert_eq!(p, Duration::from_millis(4500));
        // Only the reserve left: stop.
        assert_eq!(pace(Duration::from_secs(2), 9_000, 10_000, day), None);
        assert_eq!(pace(Duration::from_secs(2), 20_000, 10_000, day), None);
        // Never faster than the floor.
        assert_eq!(pace(Duration::ZERO, 0, 1_000_000, day), Some(MIN_POLL));
    }

    #[test]
    fn quota_words_say_when_it_comes_back() {
        let now = Utc::now();
        let w = quota_words(9000, 10_000, false, now);
        assert!(w.contains("9000 of the 10000 units") && w.contains("midnight Pacific"), "{w}");
        assert!(quota_words(0, 10_000, true, now).contains("quotaExceeded"));
    }
}
