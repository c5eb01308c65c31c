//! Kick events relayed by the sync server (`POST /hooks/NAME/kick` there, checked against Kick's
//! signature; then a `hook` with `source: "kick"` to this engine) → alerts. The payload is the
//! server's trimmed form of Kick's documented webhook bodies (docs.kick.com/events/event-types):
//! `{"message_id", "type", "version", "timestamp", "event": {...}}`.
//!
//! | `type` | alert | from | amount | message |
//! | --- | --- | --- | --- | --- |
//! | `channel.followed` | follow | `follower.username` | – | – |
//! | `channel.subscription.new` | subscription | `subscriber.username` | months (`duration`) | – |
//! | `channel.subscription.renewal` | subscription | `subscriber.username` | months (`duration`) | – |
//! | `channel.subscription.gifts` | subscription | `gifter.username` or "Anonymous" | subs gifted (`giftee_count`) | – |
//! | `kicks.gifted` | cheer | `sender.username` | Kicks (`gift.amount`) | the viewer's `gift.message` |
//!
//! Every alert carries `platform: "kick"` and is keyed by the hook id (`kick:<Kick's message
//! id>`), so a duplicate delivery or a redelivery is one alert.

use serde_json::Value;

use crate::alerts::{Accepted, AlertDesk, AlertInput, AlertKind, AlertQueueError, ANONYMOUS};

/// The `platform` of alerts from Kick.
pub const PLATFORM: &str = "kick";

fn name(user: &Value) -> String {
    let anonymous = user.get("is_anonymous").and_then(Value::as_bool).unwrap_or(false);
    user.get("username")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty() && !anonymous)
        .map(str::to_string)
        .unwrap_or_else(|| ANONYMOUS.to_string())
}

fn number(v: &Value) -> Option<f64> {
    v.as_f64().filter(|n| n.is_finite() && *n >= 0.0)
}

/// The alert a relayed Kick event makes (`None`: not a type that makes one).
pub fn to_alert(payload: &Value) -> Option<AlertInput> {
    let e = &payload["event"];
    let (kind, from, amount, message) = match payload["type"].as_str()? {
        "channel.followed" => (AlertKind::Follow, name(&e["follower"]), None, None),
        "channel.subscription.new" | "channel.subscription.renewal" => {
            (AlertKind::Subscription, name(&e["subscriber"]), number(&e["duration"]), None)
        }
        "channel.subscription.gifts" => {
            (AlertKind::Subscription, name(&e["gifter"]), number(&e["giftee_count"]), None)
        }
        "kicks.gifted" => {
            let message = e["gift"]["message"].as_str().map(str::trim).filter(|m| !m.is_empty());
            (AlertKind::Cheer, name(&e["sender"]), number(&e["gift"]["amount"]), message.map(str::to_string))
        }
        _ => return None,
    };
    Some(AlertInput { kind, from, amount, currency: None, message, platform: Some(PLATFORM.into()) })
}

/// Store a relayed Kick event as an alert, idempotently by `key` (the hook id). `Ok(None)`: not
/// a type that makes an alert (nothing to store; the server may forget it).
pub(crate) fn accept(
    alerts: &AlertDesk,
    payload: &Value,
    key: &str,
) -> Result<Option<Accepted>, AlertQueueError> {
    match to_alert(payload) {
        Some(input) => alerts.accept_donor(input, Some(key), None).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(kind: &str, event: Value) -> Value {
        json!({"message_id": "01J", "type": kind, "version": "1", "timestamp": "2025-01-14T16:08:06Z", "event": event})
    }

    #[test]
    fn each_relayed_kick_event_makes_its_alert() {
        let user = |n: &str| json!({"user_id": 1, "username": n, "is_anonymous": false});
        let a = to_alert(&p("channel.followed", json!({"follower": user("Ann")}))).unwrap();
        assert_eq!(
            (a.kind, a.from.as_str(), a.amount, a.platform.as_deref()),
            (AlertKind::Follow, "Ann", None, Some("kick"))
        );
        let a =
            to_alert(&p("channel.subscription.renewal", json!({"subscriber": user("Bob"), "duration": 3})))
                .unwrap();
        assert_eq!((a.kind, a.from.as_str(), a.amount), (AlertKind::Subscription, "Bob", Some(3.0)));
        let anon = json!({"user_id": null, "username": null, "is_anonymous": true});
        let a =
            to_alert(&p("channel.subscription.gifts", json!({"gifter": anon, "giftee_count": 5}))).unwrap();
        assert_eq!((a.kind, a.from.as_str(), a.amount), (AlertKind::Subscription, ANONYMOUS, Some(5.0)));
        let a = to_alert(&p(
            "kicks.gifted",
            json!({"sender": user("Cleo"), "gift": {"amount": 500, "name": "Rage Quit", "message": " gg "}}),
        ))
        .unwrap();
        assert_eq!(
            (a.kind, a.from.as_str(), a.amount, a.message.as_deref()),
            (AlertKind::Cheer, "Cleo", Some(500.0), Some("gg"))
        );
        assert!(to_alert(&p("chat.message.sent", json!({}))).is_none());
        assert!(to_alert(&json!({"event": {}})).is_none());
    }
}
