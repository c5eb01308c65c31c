//! Helix's channel information (<https://dev.twitch.tv/docs/api/reference/#modify-channel-information>)
//! and category search (<https://dev.twitch.tv/docs/api/reference/#search-categories>), for "one
//! title everywhere". Both need a user token; modifying needs `channel:manage:broadcast`.
//!
//! A 401 comes back as `Refused { status: 401, .. }`: the caller refreshes the token and tries
//! once more (see `stream_info/twitch.rs`).

use reqwest::header::AUTHORIZATION;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{status_error, TwitchApi, TwitchApiError};
use crate::secrets::Secret;
use crate::stream_info::TwitchCategory;

impl TwitchApi {
    /// A Helix request with the user token and the client id.
    fn helix(
        &self,
        method: reqwest::Method,
        path: &str,
        access: &Secret,
    ) -> Result<reqwest::RequestBuilder, TwitchApiError> {
        let auth = Self::bearer("Bearer", access)?;
        Ok(self
            .inner
            .http
            .request(method, format!("{}/{path}", self.inner.api_url))
            .header(AUTHORIZATION, auth)
            .header("Client-Id", self.client_id()))
    }

    /// `PATCH /channels?broadcaster_id=…` with `title` and, when given, `game_id` (`"0"` or
    /// `""` clears the category). Twitch answers 204.
    pub async fn modify_channel(
        &self,
        access: &Secret,
        broadcaster_id: &str,
        title: &str,
        game_id: Option<&str>,
    ) -> Result<(), TwitchApiError> {
        let mut body = Map::new();
        body.insert("title".into(), json!(title));
        if let Some(g) = game_id {
            body.insert("game_id".into(), json!(g));
        }
        let req = self
            .helix(reqwest::Method::PATCH, "channels", access)?
            .query(&[("broadcaster_id", broadcaster_id)])
            .json(&Value::Object(body));
        let (status, body) = self.send(req).await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(status_error(status, &body))
        }
    }

    /// `GET /channels?broadcaster_id=…`: the channel's category as `(game_id, game_name)`
    /// (empty strings when none is set); `None` when Twitch lists no such channel.
    pub async fn channel_category(
        &self,
        access: &Secret,
        broadcaster_id: &str,
    ) -> Result<Option<(String, String)>, TwitchApiError> {
        let req = self
            .helix(reqwest::Method::GET, "channels", access)?
            .query(&[("broadcaster_id", broadcaster_id)]);
        let (status, body) = self.send(req).await?;
        if !status.is_success() {
            return Err(status_error(status, &body));
        }
        #[derive(Deserialize)]
        struct Channel {
            #[serde(default)]
            game_id: String,
            #[serde(default)]
            game_name: String,
        }
        #[derive(Deserialize)]
        struct Page {
            data: Vec<Channel>,
        }
        let page: Page = serde_json::from_slice(&body)
            .map_err(|e| TwitchApiError::Protocol(format!("channel answer: {e}")))?;
        Ok(page.data.into_iter().next().map(|c| (c.game_id, c.game_name)))
    }

    /// `GET /search/categories?query=…&first=…`: categories whose name matches.
    pub async fn search_categories(
        &self,
        access: &Secret,
        query: &str,
        first: u8,
    ) -> Result<Vec<TwitchCategory>, TwitchApiError> {
        let first = first.clamp(1, 100).to_string();
        let req = self
            .helix(reqwest::Method::GET, "search/categories", access)?
            .query(&[("query", query), ("first", first.as_str())]);
        let (status, body) = self.send(req).await?;
        if !status.is_success() {
            return Err(status_error(status, &body));
        }
        #[derive(Deserialize)]
        struct Page {
            data: Vec<TwitchCategory>,
        }
        serde_json::from_slice::<Page>(&body)
            .map(|p| p.data)
            .map_err(|e| TwitchApiError::Protocol(format!("category search answer: {e}")))
    }
}
