//! A Twitch sign-in as kept in the secret store: one entry (`twitch-tokens`) holding the access
//! and refresh token together, so every rotation is one atomic write (one keyring item, or one
//! atomic replace of the secrets file) and a crash never pairs an old access token with a spent
//! refresh token.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::secrets::{Secret, SecretError, SecretName, SecretStore};

/// The stored form's version.
const VERSION: u32 = 1;

/// A signed-in account. Tokens are [`Secret`]s: `Debug` never shows them.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TwitchTokens {
    pub client_id: String,
    /// Empty until the first validation answered (then the broadcaster's id).
    pub user_id: String,
    pub login: String,
    pub access: Secret,
    pub refresh: Secret,
    pub expires_at: DateTime<Utc>,
    pub scopes: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    version: u32,
    client_id: String,
    user_id: String,
    login: String,
    access_token: String,
    refresh_token: String,
    expires_at: DateTime<Utc>,
    scopes: Vec<String>,
}

impl TwitchTokens {
    /// Load the stored sign-in: `Ok(None)` when there is none; an entry Streampai did not write
    /// counts as none (logged, without its value).
    pub fn load(store: &dyn SecretStore) -> Result<Option<TwitchTokens>, SecretError> {
        Self::load_entry(store, &SecretName::TwitchTokens)
    }

    /// [`Self::load`] from the entry `name` (each platform has its own).
    pub fn load_entry(
        store: &dyn SecretStore,
        name: &SecretName,
    ) -> Result<Option<TwitchTokens>, SecretError> {
        let Some(raw) = store.get(name)? else { return Ok(None) };
        match serde_json::from_str::<Stored>(raw.expose()) {
            Ok(s) if s.version == VERSION => Ok(Some(TwitchTokens {
                client_id: s.client_id,
                user_id: s.user_id,
                login: s.login,
                access: Secret::new(s.access_token),
                refresh: Secret::new(s.refresh_token),
                expires_at: s.expires_at,
                scopes: s.scopes,
            })),
            Ok(_) | Err(_) => {
                tracing::warn!(
                    entry = %name.key(),
                    "the stored sign-in is not in a form this version reads; sign in again"
                );
                Ok(None)
            }
        }
    }

    /// Write the whole sign-in at once.
    pub fn store(&self, store: &dyn SecretStore) -> Result<(), SecretError> {
        self.store_entry(store, &SecretName::TwitchTokens)
    }

    /// [`Self::store`] to the entry `name`.
    pub fn store_entry(&self, store: &dyn SecretStore, name: &SecretName) -> Result<(), SecretError> {
        let stored = Stored {
            version: VERSION,
            client_id: self.client_id.clone(),
            user_id: self.user_id.clone(),
            login: self.login.clone(),
            access_token: self.access.expose().to_string(),
            refresh_token: self.refresh.expose().to_string(),
            expires_at: self.expires_at,
            scopes: self.scopes.clone(),
        };
        let text = serde_json::to_string(&stored).map_err(|e| SecretError::Unavailable(e.to_string()))?;
        store.set(name, &Secret::new(text))
    }

    pub fn delete(store: &dyn SecretStore) -> Result<(), SecretError> {
        store.delete(&SecretName::TwitchTokens)
    }

    /// Is the access token still good for `margin`?
    pub fn fresh_for(&self, margin: chrono::Duration) -> bool {
        self.expires_at - margin > Utc::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MemorySecrets;

    #[test]
    fn a_sign_in_round_trips_as_one_entry_and_never_prints_its_tokens() {
        let store = MemorySecrets::new();
        assert_eq!(TwitchTokens::load(&store).unwrap(), None);
        let t = TwitchTokens {
            client_id: "cid".into(),
            user_id: "1".into(),
            login: "me".into(),
            access: Secret::new("acc-123"),
            refresh: Secret::new("ref-456"),
            expires_at: Utc::now() + chrono::Duration::hours(4),
            scopes: vec!["bits:read".into()],
        };
        t.store(&store).unwrap();
        assert_eq!(TwitchTokens::load(&store).unwrap(), Some(t.clone()));
        let shown = format!("{t:?}");
        assert!(!shown.contains("acc-123") && !shown.contains("ref-456"), "{shown}");
        assert!(t.fresh_for(chrono::Duration::minutes(1)));
        store.set(&SecretName::TwitchTokens, &Secret::new("{not ours")).unwrap();
        assert_eq!(TwitchTokens::load(&store).unwrap(), None);
        TwitchTokens::delete(&store).unwrap();
        assert_eq!(store.get(&SecretName::TwitchTokens).unwrap(), None);
    }
}
