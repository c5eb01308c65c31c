//! Checking a pushed [`AlertInput`], and the AlertQueue's error type.

use chrono::Utc;
use serde::Serialize;
use uuid::Uuid;

use super::{Alert, AlertInput};
use crate::actor::ActorError;

/// Longest `from` and `platform`, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest `message`, in characters.
pub const MAX_MESSAGE_CHARS: usize = 500;
/// Longest `currency`, in characters.
pub const MAX_CURRENCY_CHARS: usize = 16;

/// Serialized as `{"kind": "not_found", "id": ...}`, `{"kind": "invalid", "message": ...}`,
/// `{"kind": "full", "limit": ...}` or `{"kind": "actor", "error": {"kind": "timeout"}}`.
#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize)]
#[serde(into = "ErrorWire")]
pub enum AlertQueueError {
    #[error("no shown alert with id {id}")]
    NotFound { id: String },
    #[error("invalid alert: {message}")]
    Invalid { message: String },
    #[error("the alert queue is full ({limit} alerts)")]
    Full { limit: usize },
    #[error("alert storage failed: {message}")]
    Storage { message: String },
    #[error(transparent)]
    Actor(#[from] ActorError),
}

impl From<crate::storage::DbError> for AlertQueueError {
    fn from(e: crate::storage::DbError) -> Self {
        AlertQueueError::Storage { message: e.to_string() }
    }
}

/// The JSON shape of [`AlertQueueError`] (a plain tagged newtype would repeat the `kind` key).
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum ErrorWire {
    NotFound { id: String },
    Invalid { message: String },
    Full { limit: usize },
    Storage { message: String },
    Actor { error: ActorError },
}

impl From<AlertQueueError> for ErrorWire {
    fn from(err: AlertQueueError) -> Self {
        match err {
            AlertQueueError::NotFound { id } => ErrorWire::NotFound { id },
            AlertQueueError::Invalid { message } => ErrorWire::Invalid { message },
            AlertQueueError::Full { limit } => ErrorWire::Full { limit },
            AlertQueueError::Storage { message } => ErrorWire::Storage { message },
            AlertQueueError::Actor(error) => ErrorWire::Actor { error },
        }
    }
}

fn invalid(message: impl Into<String>) -> AlertQueueError {
    AlertQueueError::Invalid { message: message.into() }
}

/// `Invalid` if `value` has more than `max` characters.
fn check_len(field: &str, value: Option<&str>, max: usize) -> Result<(), AlertQueueError> {
    match value {
        Some(v) if v.chars().count() > max => {
            Err(invalid(format!("`{field}` is longer than {max} characters")))
        }
        _ => Ok(()),
    }
}

/// Check an input and turn it into an alert with a fresh id.
pub(crate) fn validate(input: AlertInput) -> Result<Alert, AlertQueueError> {
    let from = input.from.trim();
    if from.is_empty() {
        return Err(invalid("`from` must not be empty"));
    }
    if input.amount.is_some_and(|a| !a.is_finite() || a < 0.0) {
        return Err(invalid("`amount` must be a finite number, zero or more"));
    }
    check_len("from", Some(from), MAX_NAME_CHARS)?;
    check_len("message", input.message.as_deref(), MAX_MESSAGE_CHARS)?;
    check_len("currency", input.currency.as_deref(), MAX_CURRENCY_CHARS)?;
    check_len("platform", input.platform.as_deref(), MAX_NAME_CHARS)?;
    Ok(Alert {
        id: Uuid::new_v4().to_string(),
        kind: input.kind,
        from: from.to_string(),
        amount: input.amount,
        currency: input.currency,
        message: input.message,
        platform: input.platform,
        received_at: Utc::now(),
    })
}

/// Shown for a donor who gave no name.
pub const ANONYMOUS: &str = "Anonymous";

/// `s` cut to `max` characters, the cut marked with "…" (which counts as one of them).
pub fn truncate_marked(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The donor paths' intake (Ko-fi): never refuses what a paying donor sent. Names and messages
/// too long are cut (marked with "…"), an empty name becomes [`ANONYMOUS`], a negative or
/// non-finite amount is dropped. The result always passes [`validate`].
pub(crate) fn lenient(input: AlertInput) -> AlertInput {
    let from = input.from.trim();
    let from = if from.is_empty() { ANONYMOUS.to_string() } else { truncate_marked(from, MAX_NAME_CHARS) };
    let cut = |v: Option<String>, max| v.map(|v| truncate_marked(&v, max));
    AlertInput {
        kind: input.kind,
        from,
        amount: input.amount.filter(|a| a.is_finite() && *a >= 0.0),
        currency: cut(
            input.currency.map(|c| c.trim().to_string()).filter(|c| !c.is_empty()),
            MAX_CURRENCY_CHARS,
        ),
        message: cut(input.message, MAX_MESSAGE_CHARS),
        platform: cut(input.platform, MAX_NAME_CHARS),
    }
}

/// An amount as people and payment sites write it: "3", "3.00", "3,00", "1.234,56",
/// "1,234.56", "1 234,56", "3.00 €", "$5", "USD 5". `None` when no sensible number is in it.
///
/// With both separators, the last one is the decimal point. A lone comma is a decimal comma
/// unless exactly three digits follow it ("1,234" is a thousand-two-hundred-thirty-four, as
/// "1.234" stays 1.234: a dot alone is always a decimal point, as Ko-fi writes it).
pub fn parse_amount(raw: &str) -> Option<f64> {
    let raw = raw.trim();
    if raw.starts_with('-') || raw.chars().any(|c| c == '-' || c == '+') {
        return None;
    }
    // Keep digits and separators; currency signs, codes and (thin, no-break) spaces go.
    let kept: String = raw.chars().filter(|c| c.is_ascii_digit() || *c == '.' || *c == ',').collect();
    let digits_elsewhere = raw.chars().any(|c| c.is_numeric() && !c.is_ascii_digit());
    if kept.is_empty() || !kept.chars().any(|c| c.is_ascii_digit()) || digits_elsewhere {
        return None;
    }
    // Letters other than a currency code or sign around the number: not an amount ("3 or 4").
    let letters: String = raw.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.chars().count() > 3 {
        return None;
    }
    let commas = kept.matches(',').count();
    let dots = kept.matches('.').count();
    let normal = match (commas, dots) {
        (0, 0) => kept,
        (0, 1) => kept,
        (0, _) => kept.replace('.', ""),
        (_, 0) => {
            let after = kept.rsplit(',').next().unwrap_or("");
            if commas == 1 && after.len() != 3 {
                kept.replace(',', ".")
            } else {
                kept.replace(',', "")
            }
        }
        _ => {
            let last_comma = kept.rfind(',').unwrap_or(0);
            let last_dot = kept.rfind('.').unwrap_or(0);
            let (thousands, decimal) = if last_comma > last_dot { ('.', ',') } else { (',', '.') };
            if kept.matches(decimal).count() > 1 {
                return None;
            }
            kept.replace(thousands, "").replace(decimal, ".")
        }
    };
    let v: f64 = normal.parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::AlertKind;

    #[test]
    fn amounts_parse_in_common_locale_forms() {
        let cases = [
            ("3", 3.0),
            ("3.00", 3.0),
            ("3,00", 3.0),
            ("3,5", 3.5),
            ("1.234,56", 1234.56),
            ("1,234.56", 1234.56),
            ("1,234", 1234.0),
            ("1.234.567", 1234567.0),
            ("1 234,56", 1234.56),
            ("1\u{a0}234,56", 1234.56),
            ("3.00 €", 3.0),
            ("€3,00", 3.0),
            ("$5", 5.0),
            ("USD 5.25", 5.25),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_amount(raw), Some(want), "{raw}");
        }
        for raw in ["", "abc", "-3", "three euros", "1,2,3.4.5", "€", "3 or 4 dollars"] {
            assert_eq!(parse_amount(raw), None, "{raw}");
        }
    }

    #[test]
    fn lenient_intake_keeps_what_a_donor_sent() {
        let long_name = "n".repeat(150);
        let mut input = AlertInput::new(AlertKind::Donation, "  ");
        input.message = Some("m".repeat(700));
        let out = lenient(input);
        assert_eq!(out.from, ANONYMOUS);
        let msg = out.message.clone().unwrap();
        assert_eq!(msg.chars().count(), MAX_MESSAGE_CHARS);
        assert!(msg.ends_with('…'));
        assert!(validate(out).is_ok());
        let out = lenient(AlertInput::new(AlertKind::Donation, &long_name).with_amount(f64::NAN));
        assert_eq!(out.from.chars().count(), MAX_NAME_CHARS);
        assert!(out.from.ends_with('…') && out.amount.is_none());
        assert!(validate(out).is_ok());
    }

    #[test]
    fn inputs_and_errors_have_their_json_shape() {
        let json = r#"{"kind":"raid","from":"crew","amount":12}"#;
        let input: AlertInput = serde_json::from_str(json).unwrap();
        assert_eq!(input, AlertInput::new(AlertKind::Raid, "crew").with_amount(12.0));
        let err = AlertQueueError::NotFound { id: "x".into() };
        let expected = serde_json::json!({"kind": "not_found", "id": "x"});
        assert_eq!(serde_json::to_value(err).unwrap(), expected);
        let err = AlertQueueError::from(ActorError::Timeout);
        let expected = r#"{"kind":"actor","error":{"kind":"timeout"}}"#;
        assert_eq!(serde_json::to_string(&err).unwrap(), expected);
    }
}
