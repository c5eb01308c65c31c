//! YouTube live chat events → alerts (the liveChatMessage resource of
//! <https://developers.google.com/youtube/v3/live/docs/liveChatMessages>).
//!
//! | `snippet.type` | alert | from | amount | currency | message |
//! | --- | --- | --- | --- | --- | --- |
//! | `superChatEvent` | donation | `authorDetails.displayName` | `superChatDetails.amountMicros` / 10⁶ | `superChatDetails.currency` | `userComment` |
//! | `superStickerEvent` | donation | the author | `superStickerDetails.amountMicros` / 10⁶ | its `currency` | – |
//! | `newSponsorEvent` | subscription | the new member | – | – | – |
//! | `memberMilestoneChatEvent` | subscription | the member | months (`memberMonth`) | – | `userComment` |
//! | `membershipGiftingEvent` | subscription | the gifter | memberships gifted (`giftMembershipsCount`) | – | – |
//!
//! Plain chat (`textMessageEvent`) and everything else makes no alert. Every alert carries
//! `platform: "youtube"`. Only the viewers' own words become `message` (which moderation may
//! hold). `amountMicros` is a string in the REST JSON (int64); a number is read too.

use serde_json::Value;

use crate::alerts::{AlertInput, AlertKind, ANONYMOUS};

/// The `platform` of alerts from YouTube.
pub const PLATFORM: &str = "youtube";

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// A non-negative number given as a JSON number or a decimal string.
fn number(v: &Value, key: &str) -> Option<f64> {
    let n = match v.get(key)? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    (n.is_finite() && n >= 0.0).then_some(n)
}

fn money(details: &Value) -> (Option<f64>, Option<String>) {
    let amount = number(details, "amountMicros").map(|m| m / 1_000_000.0);
    let currency =
        text(details, "currency").filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()));
    (amount, currency.map(|c| c.to_ascii_uppercase()))
}

/// The message's id (the idempotency key's tail), if it has one.
pub fn message_id(item: &Value) -> Option<&str> {
    item.get("id").and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// The alert a liveChatMessage makes, if any.
pub fn to_alert(item: &Value) -> Option<AlertInput> {
    let snippet = item.get("snippet")?;
    let kind = snippet.get("type").and_then(Value::as_str)?;
    let from = item
        .get("authorDetails")
        .and_then(|a| text(a, "displayName"))
        .unwrap_or_else(|| ANONYMOUS.to_string());
    let details = |key: &str| snippet.get(key).cloned().unwrap_or(Value::Null);
    let (alert_kind, amount, currency, message) = match kind {
        "superChatEvent" => {
            let d = details("superChatDetails");
            let (amount, currency) = money(&d);
            (AlertKind::Donation, amount, currency, text(&d, "userComment"))
        }
        "superStickerEvent" => {
            let (amount, currency) = money(&details("superStickerDetails"));
            (AlertKind::Donation, amount, currency, None)
        }
        "newSponsorEvent" => (AlertKind::Subscription, None, None, None),
        "memberMilestoneChatEvent" => {
            let d = details("memberMilestoneChatDetails");
            (AlertKind::Subscription, number(&d, "memberMonth"), None, text(&d, "userComment"))
        }
        "membershipGiftingEvent" => {
            let d = details("membershipGiftingDetails");
            (AlertKind::Subscription, number(&d, "giftMembershipsCount"), None, None)
        }
        _ => return None,
    };
    Some(AlertInput { kind: alert_kind, from, amount, currency, message, platform: Some(PLATFORM.into()) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg(kind: &str, details: Option<(&str, Value)>) -> Value {
        let mut snippet = json!({"type": kind, "publishedAt": "2026-01-01T00:00:00Z"});
        if let Some((k, d)) = details {
            snippet[k] = d;
        }
        json!({"id": "LCC.1", "snippet": snippet, "authorDetails": {"displayName": "Viewer One"}})
    }

    #[test]
    fn each_event_type_makes_its_alert() {
        let sc = to_alert(&msg(
            "superChatEvent",
            Some((
                "superChatDetails",
                json!({"amountMicros": "5000000", "currency": "USD", "userComment": "hi!"}),
            )),
        ))
        .unwrap();
        assert_eq!(
            (
                sc.kind,
                sc.from.as_str(),
                sc.amount,
                sc.currency.as_deref(),
                sc.message.as_deref(),
                sc.platform.as_deref()
            ),
            (AlertKind::Donation, "Viewer One", Some(5.0), Some("USD"), Some("hi!"), Some("youtube"))
        );
        let st = to_alert(&msg(
            "superStickerEvent",
            Some(("superStickerDetails", json!({"amountMicros": 1990000, "currency": "eur", "superStickerMetadata": {"altText": "cat"}}))),
        ))
        .unwrap();
        assert_eq!(
            (st.kind, st.amount, st.currency.as_deref(), st.message),
            (AlertKind::Donation, Some(1.99), Some("EUR"), None)
        );
        let sp = to_alert(&msg(
            "newSponsorEvent",
            Some(("newSponsorDetails", json!({"memberLevelName": "Gold"}))),
        ))
        .unwrap();
        assert_eq!((sp.kind, sp.amount), (AlertKind::Subscription, None));
        let ms = to_alert(&msg(
            "memberMilestoneChatEvent",
            Some(("memberMilestoneChatDetails", json!({"memberMonth": 6, "userComment": "half a year"}))),
        ))
        .unwrap();
        assert_eq!((ms.amount, ms.message.as_deref()), (Some(6.0), Some("half a year")));
        let gift = to_alert(&msg(
            "membershipGiftingEvent",
            Some(("membershipGiftingDetails", json!({"giftMembershipsCount": 5}))),
        ))
        .unwrap();
        assert_eq!((gift.kind, gift.amount), (AlertKind::Subscription, Some(5.0)));
        assert_eq!(
            to_alert(&msg("textMessageEvent", Some(("textMessageDetails", json!({"messageText": "x"}))))),
            None
        );
        // Odd values never fail the intake.
        let odd = to_alert(&json!({"snippet": {"type": "superChatEvent", "superChatDetails": {"amountMicros": "-3", "currency": "US DOLLAR"}}})).unwrap();
        assert_eq!((odd.from.as_str(), odd.amount, odd.currency), ("Anonymous", None, None));
        assert_eq!(message_id(&msg("newSponsorEvent", None)), Some("LCC.1"));
    }
}
