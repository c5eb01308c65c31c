//! The EventSub subscription types the fake serves, their conditions and scopes, and example
//! events shaped after the official reference's example payloads
//! (<https://dev.twitch.tv/docs/eventsub/eventsub-subscription-types/>).

use serde_json::{json, Value};

use super::state::TwitchUser;

/// `(type, version)` of every subscription type the fake accepts.
pub const TYPES: [(&str, &str); 6] = [
    ("channel.follow", "2"),
    ("channel.subscribe", "1"),
    ("channel.subscription.gift", "1"),
    ("channel.subscription.message", "1"),
    ("channel.cheer", "1"),
    ("channel.raid", "1"),
];

/// The version the fake serves for `kind`, if it serves the type at all.
pub fn version_of(kind: &str) -> Option<&'static str> {
    TYPES.iter().find(|(t, _)| *t == kind).map(|(_, v)| *v)
}

/// The scope a user token needs to subscribe to `kind` (`None`: no authorization needed).
pub fn required_scope(kind: &str) -> Option<&'static str> {
    match kind {
        "channel.follow" => Some("moderator:read:followers"),
        "channel.subscribe" | "channel.subscription.gift" | "channel.subscription.message" => {
            Some("channel:read:subscriptions")
        }
        "channel.cheer" => Some("bits:read"),
        _ => None,
    }
}

/// The condition fields `kind` requires, all of which must name the token's user.
pub fn condition_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "channel.follow" => &["broadcaster_user_id", "moderator_user_id"],
        "channel.raid" => &["to_broadcaster_user_id"],
        _ => &["broadcaster_user_id"],
    }
}

/// A viewer named after `n` (`viewer_n` / `Viewer_N`), with id `1000 + n`.
fn viewer(n: u64) -> (String, String, String) {
    ((1000 + n).to_string(), format!("viewer_{n}"), format!("Viewer_{n}"))
}

fn broadcaster_fields(b: &TwitchUser) -> Value {
    json!({
        "broadcaster_user_id": b.id,
        "broadcaster_user_login": b.login,
        "broadcaster_user_name": b.display_name,
    })
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// An example `event` for `kind` sent to broadcaster `b`, from viewer number `n`; `None` for a
/// type the fake does not serve.
pub fn example(kind: &str, b: &TwitchUser, n: u64) -> Option<Value> {
    let (id, login, name) = viewer(n);
    let from = json!({"user_id": id, "user_login": login, "user_name": name});
    let event = match kind {
        "channel.follow" => merge(from, json!({"followed_at": now()})),
        "channel.subscribe" => merge(from, json!({"tier": "1000", "is_gift": false})),
        "channel.subscription.gift" => {
            merge(from, json!({"total": 2, "tier": "1000", "cumulative_total": 284, "is_anonymous": false}))
        }
        "channel.subscription.message" => merge(
            from,
            json!({
                "tier": "1000",
                "message": {"text": "Love the stream! FevziGG", "emotes": [{"begin": 17, "end": 23, "id": "302976485"}]},
                "cumulative_months": 15,
                "streak_months": 1,
                "duration_months": 6,
            }),
        ),
        "channel.cheer" => merge(from, json!({"is_anonymous": false, "message": "pogchamp", "bits": 1000})),
        "channel.raid" => {
            return Some(json!({
                "from_broadcaster_user_id": id,
                "from_broadcaster_user_login": login,
                "from_broadcaster_user_name": name,
                "to_broadcaster_user_id": b.id,
                "to_broadcaster_user_login": b.login,
                "to_broadcaster_user_name": b.display_name,
                "viewers": 9001,
            }))
        }
        _ => return None,
    };
    Some(merge(event, broadcaster_fields(b)))
}

/// Now in Twitch's timestamp form (RFC 3339, nanoseconds, `Z`).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}
