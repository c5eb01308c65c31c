//! Twitch EventSub events → alerts (the payloads of
//! <https://dev.twitch.tv/docs/eventsub/eventsub-subscription-types/>).
//!
//! | type | alert | from | amount | message |
//! | --- | --- | --- | --- | --- |
//! | `channel.follow` v2 | follow | `user_name` | – | – |
//! | `channel.subscribe` | subscription | `user_name` | – | – (a gifted sub is skipped: its gift event makes the alert) |
//! | `channel.subscription.gift` | subscription | `user_name` or "Anonymous" | subs gifted (`total`) | – |
//! | `channel.subscription.message` | subscription | `user_name` | months (`cumulative_months`) | the viewer's message |
//! | `channel.cheer` | cheer | `user_name` or "Anonymous" | bits | the viewer's message |
//! | `channel.raid` | raid | `from_broadcaster_user_name` | viewers | – |
//!
//! Every alert carries `platform: "twitch"`. Only the viewers' own words become `message`
//! (which moderation may hold); what Twitch states (tier, counts) stays out of it.

use serde_json::Value;

use crate::alerts::{AlertInput, AlertKind, ANONYMOUS};

/// The `platform` of alerts from Twitch.
pub const PLATFORM: &str = "twitch";

/// The subscription types turned into alerts, with their versions.
pub const TYPES: [(&str, &str); 6] = [
    ("channel.follow", "2"),
    ("channel.subscribe", "1"),
    ("channel.subscription.gift", "1"),
    ("channel.subscription.message", "1"),
    ("channel.cheer", "1"),
    ("channel.raid", "1"),
];

fn text(event: &Value, key: &str) -> Option<String> {
    event.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn number(event: &Value, key: &str) -> Option<f64> {
    event.get(key).and_then(Value::as_f64).filter(|n| n.is_finite() && *n >= 0.0)
}

/// The display name, else the login, else "Anonymous".
fn who(event: &Value, name: &str, login: &str) -> String {
    text(event, name).or_else(|| text(event, login)).unwrap_or_else(|| ANONYMOUS.to_string())
}

fn anonymous(event: &Value) -> bool {
    event.get("is_anonymous").and_then(Value::as_bool).unwrap_or(false)
}

/// The alert an event of `kind` makes, if any.
pub fn to_alert(kind: &str, event: &Value) -> Option<AlertInput> {
    let viewer = || who(event, "user_name", "user_login");
    let (alert_kind, from, amount, message) = match kind {
        "channel.follow" => (AlertKind::Follow, viewer(), None, None),
        "channel.subscribe" => {
            if event.get("is_gift").and_then(Value::as_bool).unwrap_or(false) {
                return None;
            }
            (AlertKind::Subscription, viewer(), None, None)
        }
        "channel.subscription.gift" => {
            let from = if anonymous(event) { ANONYMOUS.to_string() } else { viewer() };
            (AlertKind::Subscription, from, number(event, "total"), None)
        }
        "channel.subscription.message" => {
            let message = event.get("message").and_then(|m| text(m, "text"));
            (AlertKind::Subscription, viewer(), number(event, "cumulative_months"), message)
        }
        "channel.cheer" => {
            let from = if anonymous(event) { ANONYMOUS.to_string() } else { viewer() };
            (AlertKind::Cheer, from, number(event, "bits"), text(event, "message"))
        }
        "channel.raid" => (
            AlertKind::Raid,
            who(event, "from_broadcaster_user_name", "from_broadcaster_user_login"),
            number(event, "viewers"),
            None,
        ),
        _ => return None,
    };
    Some(AlertInput {
        kind: alert_kind,
        from,
        amount,
        currency: None,
        message,
        platform: Some(PLATFORM.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_event_type_makes_its_alert() {
        let follow =
            to_alert("channel.follow", &json!({"user_name": "Cool_User", "user_login": "cool_user"}))
                .unwrap();
        assert_eq!(
            (follow.kind, follow.from.as_str(), follow.platform.as_deref()),
            (AlertKind::Follow, "Cool_User", Some("twitch"))
        );
        let sub = to_alert("channel.subscribe", &json!({"user_name": "A", "tier": "1000", "is_gift": false}))
            .unwrap();
        assert_eq!((sub.kind, sub.amount, sub.message), (AlertKind::Subscription, None, None));
        assert_eq!(to_alert("channel.subscribe", &json!({"user_name": "A", "is_gift": true})), None);
        let gift = to_alert(
            "channel.subscription.gift",
            &json!({"user_name": null, "total": 5, "is_anonymous": true}),
        )
        .unwrap();
        assert_eq!((gift.from.as_str(), gift.amount), ("Anonymous", Some(5.0)));
        let resub = to_alert(
            "channel.subscription.message",
            &json!({"user_name": "B", "cumulative_months": 15, "message": {"text": "Love the stream!", "emotes": []}}),
        )
        .unwrap();
        assert_eq!((resub.amount, resub.message.as_deref()), (Some(15.0), Some("Love the stream!")));
        let cheer = to_alert(
            "channel.cheer",
            &json!({"user_name": "C", "is_anonymous": false, "bits": 1000, "message": "pogchamp"}),
        )
        .unwrap();
        assert_eq!(
            (cheer.kind, cheer.amount, cheer.message.as_deref()),
            (AlertKind::Cheer, Some(1000.0), Some("pogchamp"))
        );
        let raid =
            to_alert("channel.raid", &json!({"from_broadcaster_user_name": "Raider", "viewers": 9001}))
                .unwrap();
        assert_eq!((raid.kind, raid.from.as_str(), raid.amount), (AlertKind::Raid, "Raider", Some(9001.0)));
        assert_eq!(to_alert("channel.ban", &json!({})), None);
        // Nameless and odd values never fail the intake.
        let odd = to_alert("channel.cheer", &json!({"bits": -3})).unwrap();
        assert_eq!((odd.from.as_str(), odd.amount), ("Anonymous", None));
    }
}
