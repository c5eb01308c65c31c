//! The Device Code Grant: start a sign-in, then poll the token endpoint at the interval Twitch
//! gave (5 s slower after each `slow_down`) until tokens, expiry, refusal or the code's end.

use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::{Actor, PendingFlow, RETRY_INITIAL, VALIDATE_EVERY};
use crate::accounts::tokens::TwitchTokens;
use crate::accounts::twitch_api::Poll;
use crate::accounts::{AccountError, AccountErrorKind, SignInPrompt};
use crate::error::EngineError;
use crate::telemetry::esc;

fn expired_error() -> AccountError {
    AccountError::new(
        AccountErrorKind::Expired,
        "the sign-in code expired before it was entered on Twitch: sign in again for a new code",
    )
}

impl Actor {
    pub(super) async fn sign_in(&mut self) -> Result<SignInPrompt, EngineError> {
        let config = (self.config)();
        if config.client_id().is_none() {
            return Err(EngineError::NotConfigured {
                message: "Twitch sign-in needs the client id of a Twitch app: set [twitch] client_id \
                          (register one at dev.twitch.tv/console, Client Type \"Public\"; see the README)"
                    .into(),
            });
        }
        if let Some(p) = self.pending().filter(|p| p.config == config && p.expires_at > Instant::now()) {
            return Ok(p.prompt());
        }
        let api = self.api(&config).map_err(|e| EngineError::NotConfigured { message: e.message })?;
        match api.device().await {
            Ok(grant) => {
                let now = Instant::now();
                // At least a second between polls, whatever the answer says.
                let interval = Duration::from_secs(grant.interval.max(1));
                let flow = PendingFlow {
                    device_code: grant.device_code,
                    user_code: grant.user_code,
                    verification_uri: grant.verification_uri,
                    expires_at: now + Duration::from_secs(grant.expires_in),
                    interval,
                    next_poll: now + interval,
                    config,
                };
                let prompt = flow.prompt();
                info!(user_code = %esc(&prompt.user_code), "Twitch: sign-in started; waiting for the code to be entered");
                self.set_pending(Some(flow));
                self.last_error = None;
                Ok(prompt)
            }
            Err(e) if e.is_transient() => Err(EngineError::Unavailable { message: e.to_string() }),
            Err(e) => Err(EngineError::NotConfigured {
                message: format!(
                    "{e}: check [twitch] client_id (an app registered at dev.twitch.tv/console, Client Type \"Public\")"
                ),
            }),
        }
    }

    pub(super) async fn poll(&mut self) {
        let Some(mut flow) = self.pending() else { return };
        let now = Instant::now();
        if flow.expires_at <= now {
            info!("Twitch: the sign-in code expired");
            self.set_pending(None);
            self.last_error = Some(expired_error());
            return;
        }
        let api = match self.api(&flow.config) {
            Ok(a) => a,
            Err(e) => {
                self.set_pending(None);
                self.last_error = Some(e);
                return;
            }
        };
        match api.poll(&flow.device_code).await {
            Poll::Pending => {
                flow.next_poll = Instant::now() + flow.interval;
                self.set_pending(Some(flow));
            }
            Poll::SlowDown => {
                flow.interval += Duration::from_secs(5);
                flow.next_poll = Instant::now() + flow.interval;
                debug!(interval_s = flow.interval.as_secs(), "Twitch: asked to poll more slowly");
                self.set_pending(Some(flow));
            }
            Poll::Expired => {
                info!("Twitch: the sign-in code expired");
                self.set_pending(None);
                self.last_error = Some(expired_error());
            }
            Poll::Denied => {
                info!("Twitch: the sign-in was declined");
                self.set_pending(None);
                self.last_error =
                    Some(AccountError::new(AccountErrorKind::Denied, "the sign-in was declined on Twitch"));
            }
            Poll::Failed(e) if e.is_transient() => {
                debug!(cause = %e, "Twitch: sign-in poll failed; trying again at the next interval");
                flow.next_poll = Instant::now() + flow.interval;
                self.set_pending(Some(flow));
            }
            Poll::Failed(e) => {
                warn!(cause = %e, "Twitch: the sign-in was refused");
                self.set_pending(None);
                self.last_error = Some(AccountError::from_api(&e));
            }
            Poll::Tokens(set) => {
                self.set_pending(None);
                let mut tokens = TwitchTokens {
                    client_id: api.client_id().to_string(),
                    user_id: String::new(),
                    login: String::new(),
                    access: set.access,
                    refresh: set.refresh,
                    expires_at: Utc::now() + chrono::Duration::seconds(set.expires_in as i64),
                    scopes: set.scopes,
                };
                let validated = api.validate(&tokens.access).await;
                if let Ok(v) = &validated {
                    tokens.user_id = v.user_id.clone();
                    tokens.login = v.login.clone();
                }
                // A new sign-in replaces the old one: the old token is revoked (best effort).
                if let Some(old) = self.tokens.take() {
                    if let Err(e) = api.revoke(&old.access).await {
                        debug!(cause = %e, "Twitch: could not revoke the replaced sign-in");
                    }
                }
                self.tokens = Some(tokens);
                self.persist();
                self.next_generation();
                self.last_error = None;
                match validated {
                    Ok(_) => {
                        self.verified = true;
                        self.retry = RETRY_INITIAL;
                        self.next_validate = Some(Instant::now() + VALIDATE_EVERY);
                    }
                    Err(e) => {
                        self.verified = false;
                        self.note_failure(&e);
                    }
                }
                info!(login = %esc(&self.tokens.as_ref().map(|t| t.login.clone()).unwrap_or_default()), "Twitch: signed in");
            }
        }
    }
}
