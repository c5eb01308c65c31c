//! What a test can make the fake Twitch do and see: approve or deny a device code, push an
//! event, deliver a message again, send a reconnect, revoke the authorization, drop keepalives,
//! close sessions, inject faults; and the counters and records to assert on.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value;

use super::examples;
use super::faults::{Fault, Route};
use super::state::{
    random_token, ChannelInfo, Conn, ConnCmd, ControlError, DeliveredMessage, DeviceStatus,
    SubscriptionSnapshot, TwitchState,
};

impl TwitchState {
    /// The user enters the code on twitch.tv/activate and authorizes the app.
    pub fn approve(&self, user_code: &str) -> Result<(), ControlError> {
        self.decide(Some(user_code), DeviceStatus::Approved)
    }

    /// Approve the most recent code still waiting.
    pub fn approve_latest(&self) -> Result<String, ControlError> {
        let code = self.latest_pending().ok_or(ControlError::NothingPending)?;
        self.approve(&code)?;
        Ok(code)
    }

    /// The user refuses to authorize the app.
    pub fn deny(&self, user_code: &str) -> Result<(), ControlError> {
        self.decide(Some(user_code), DeviceStatus::Denied)
    }

    fn decide(&self, user_code: Option<&str>, status: DeviceStatus) -> Result<(), ControlError> {
        let mut g = self.lock();
        let wanted = user_code.unwrap_or_default().to_string();
        let code = g
            .device_codes
            .values_mut()
            .find(|c| c.user_code == wanted && c.status == DeviceStatus::Pending)
            .ok_or_else(|| ControlError::UnknownUserCode(wanted.clone()))?;
        if code.expires_at <= Instant::now() {
            return Err(ControlError::Expired(wanted));
        }
        code.status = status;
        Ok(())
    }

    /// The user code of the most recent device code still pending, if any.
    pub fn latest_pending(&self) -> Option<String> {
        let g = self.lock();
        let now = Instant::now();
        g.device_codes
            .values()
            .filter(|c| c.status == DeviceStatus::Pending && c.expires_at > now)
            .max_by_key(|c| c.expires_at)
            .map(|c| c.user_code.clone())
    }

    /// Revoke every grant of the broadcaster (the user disconnected the app in their Twitch
    /// settings): tokens stop working, enabled subscriptions are revoked with a `revocation`
    /// message (`authorization_revoked`) on their session.
    pub fn revoke_authorization(&self) -> usize {
        let user_id = self.user().id;
        {
            let mut g = self.lock();
            for grant in g.grants.values_mut().filter(|gr| gr.user_id == user_id) {
                grant.revoked = true;
            }
        }
        self.revoke_subscriptions(None, "authorization_revoked")
    }

    /// Revoke the enabled subscriptions of `kind` (all kinds with `None`) with `status`
    /// (`authorization_revoked`, `user_removed`, `version_removed`), each announced by a
    /// `revocation` message on its session. Returns how many were revoked.
    pub fn revoke_subscriptions(&self, kind: Option<&str>, status: &str) -> usize {
        let mut out = Vec::new();
        {
            let mut g = self.lock();
            let mut revoked = Vec::new();
            for sub in g.subscriptions.iter_mut() {
                if sub.status == "enabled" && kind.is_none_or(|k| k == sub.kind) {
                    sub.status = status.to_string();
                    revoked.push(sub.clone());
                }
            }
            for sub in revoked {
                if let Some(conn) = g.sessions.get(&sub.session_id).and_then(|s| s.conn.clone()) {
                    out.push((conn, sub));
                }
            }
        }
        let n = out.len();
        for (conn, sub) in out {
            let (id, text) = super::eventsub::revocation(&sub);
            self.send(&conn, &sub.session_id, &id, "revocation", Some(sub.kind.clone()), text);
        }
        n
    }

    pub(crate) fn send(
        &self,
        conn: &Conn,
        session_id: &str,
        message_id: &str,
        message_type: &str,
        subscription_type: Option<String>,
        text: String,
    ) {
        self.record(DeliveredMessage {
            message_id: message_id.to_string(),
            message_type: message_type.to_string(),
            subscription_type,
            session_id: session_id.to_string(),
            connection: conn.id,
            text: text.clone(),
        });
        let _ = conn.tx.send(ConnCmd::Text(text));
    }

    /// Send a `notification` with the example event of `kind` (from a new viewer each time) to
    /// every connected session subscribed to it. Returns the message id.
    pub fn push_event(&self, kind: &str) -> Result<String, ControlError> {
        let n = {
            let mut g = self.lock();
            g.events_pushed += 1;
            g.events_pushed
        };
        let event =
            examples::example(kind, &self.user(), n).ok_or_else(|| ControlError::UnknownType(kind.into()))?;
        self.push_event_with(kind, event)
    }

    /// Send a `notification` of `kind` carrying `event` as given.
    pub fn push_event_with(&self, kind: &str, event: Value) -> Result<String, ControlError> {
        examples::version_of(kind).ok_or_else(|| ControlError::UnknownType(kind.into()))?;
        let targets: Vec<(Conn, SubscriptionSnapshot)> = {
            let g = self.lock();
            g.subscriptions
                .iter()
                .filter(|s| s.kind == kind && s.status == "enabled")
                .filter_map(|s| {
                    g.sessions.get(&s.session_id).and_then(|x| x.conn.clone()).map(|c| (c, s.clone()))
                })
                .collect()
        };
        if targets.is_empty() {
            return Err(ControlError::NoSubscription(kind.into()));
        }
        let message_id = uuid::Uuid::new_v4().to_string();
        for (conn, sub) in targets {
            let text = super::eventsub::notification(&message_id, &sub, &event);
            self.send(&conn, &sub.session_id, &message_id, "notification", Some(sub.kind.clone()), text);
        }
        Ok(message_id)
    }

    /// Send the message `message_id` again, unchanged, on its session's current connection
    /// (Twitch may deliver a message more than once).
    pub fn redeliver(&self, message_id: &str) -> Result<(), ControlError> {
        let (msg, conn) = {
            let g = self.lock();
            let msg = g
                .delivered
                .iter()
                .find(|m| m.message_id == message_id)
                .cloned()
                .ok_or_else(|| ControlError::UnknownMessage(message_id.into()))?;
            let conn = g
                .sessions
                .get(&msg.session_id)
                .and_then(|s| s.conn.clone())
                .ok_or(ControlError::NoSession)?;
            (msg, conn)
        };
        self.send(
            &conn,
            &msg.session_id,
            &msg.message_id,
            &msg.message_type,
            msg.subscription_type.clone(),
            msg.text,
        );
        Ok(())
    }

    /// Send `session_reconnect` on every connected session: each names a new URL; its old
    /// connection keeps delivering until the client is welcomed on the new one, then closes.
    /// Returns the reconnect URLs.
    pub fn send_reconnect(&self) -> Result<Vec<String>, ControlError> {
        let mut out = Vec::new();
        {
            let mut g = self.lock();
            let base = g.ws_url.clone();
            let ids: Vec<String> = g
                .sessions
                .iter()
                .filter(|(_, s)| s.conn.is_some() && s.reconnect.is_none())
                .map(|(k, _)| k.clone())
                .collect();
            for id in ids {
                let token = random_token(32);
                g.reconnects.insert(token.clone(), id.clone());
                let s = g.sessions.get_mut(&id).expect("listed above");
                s.reconnect = Some(token.clone());
                let url = format!("{base}?reconnect={token}");
                out.push((s.conn.clone().expect("connected"), id, url, s.connected_at.clone()));
            }
        }
        if out.is_empty() {
            return Err(ControlError::NoSession);
        }
        let grace = self.lock().opts.reconnect_grace;
        let mut urls = Vec::new();
        for (conn, id, url, connected_at) in out {
            let (mid, text) = super::eventsub::reconnect(&id, &url, &connected_at);
            self.send(&conn, &id, &mid, "session_reconnect", None, text);
            urls.push(url);
            // The client has `grace` to move; then the old connection goes (4004).
            let old = conn.clone();
            let state = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(grace).await;
                let still = state.lock().sessions.get(&id).is_some_and(|s| {
                    s.conn.as_ref().is_some_and(|c| c.id == old.id) && s.reconnect.is_some()
                });
                if still {
                    let _ = old.tx.send(ConnCmd::Close(4004, "reconnect grace time expired".into()));
                }
            });
        }
        Ok(urls)
    }

    /// Close every connected session's connection with `code` (e.g. 4000 internal error).
    pub fn close_sessions(&self, code: u16, reason: &str) -> usize {
        let g = self.lock();
        let mut n = 0;
        for s in g.sessions.values() {
            if let Some(c) = &s.conn {
                let _ = c.tx.send(ConnCmd::Close(code, reason.into()));
                n += 1;
            }
        }
        n
    }

    /// Stop (or resume) sending `session_keepalive` messages; the connections stay open.
    pub fn set_keepalives(&self, on: bool) {
        self.lock().keepalives = on;
    }

    /// Every subscription ever created, oldest first.
    pub fn subscriptions(&self) -> Vec<SubscriptionSnapshot> {
        self.lock().subscriptions.clone()
    }

    /// Every message the EventSub server sent, oldest first.
    pub fn delivered(&self) -> Vec<DeliveredMessage> {
        self.lock().delivered.clone()
    }

    /// Ids of the sessions connected now.
    pub fn sessions(&self) -> Vec<String> {
        self.lock().sessions.iter().filter(|(_, s)| s.conn.is_some()).map(|(k, _)| k.clone()).collect()
    }

    pub fn channel_info(&self) -> ChannelInfo {
        self.channel()
    }

    /// Requests served per operation.
    pub fn requests(&self) -> BTreeMap<Route, u64> {
        self.lock().requests.by_route()
    }

    pub fn request_count(&self, route: Route) -> u64 {
        self.lock().requests.get(route)
    }

    pub fn total_requests(&self) -> u64 {
        self.lock().requests.total()
    }

    /// When each device-code poll arrived, oldest first.
    pub fn device_polls(&self) -> Vec<Instant> {
        self.lock().device_polls.clone()
    }

    /// How many `slow_down` answers were given (injected or for polling too fast).
    pub fn slow_downs(&self) -> u64 {
        self.lock().slow_downs
    }

    /// Access and refresh tokens that work now.
    pub fn live_tokens(&self) -> (Vec<String>, Vec<String>) {
        let g = self.lock();
        fake_support::live_tokens(&g.access, &g.refresh, |id| g.grants.get(&id).is_some_and(|gr| !gr.revoked))
    }

    /// Make every access token expire now (refresh tokens keep working).
    pub fn expire_access_tokens(&self) {
        let now = Instant::now();
        for r in self.lock().access.values_mut() {
            r.expires_at = now;
        }
    }

    pub fn inject(&self, fault: Fault) {
        self.lock().faults.push(fault, 1, None);
    }

    pub fn inject_for(&self, route: Route, fault: Fault, n: usize) {
        self.lock().faults.push(fault, n, Some(route));
    }

    pub fn pending_faults(&self) -> usize {
        self.lock().faults.len()
    }

    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }
}
