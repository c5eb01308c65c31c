//! Text a peer chose, made safe for a log line or a status reason: control characters
//! (newlines, ESC sequences, ...) are escaped so a peer cannot forge a log entry or drive the
//! terminal, and the length is bounded. Stream keys never get this far: callers redact them.

use std::fmt::Write;

/// `s` with control characters escaped (`\n`, `\u{1b}`, ...), cut to `max` characters (marked
/// with `…`).
pub(crate) fn escape(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max) + 8);
    for (i, c) in s.chars().enumerate() {
        if i >= max {
            out.push('…');
            break;
        }
        if c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}')
        {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_length_bounded() {
        let forged = "live\n2026-01-01T00:00:00Z  WARN forged\x1b[2J";
        let e = escape(forged, 200);
        assert!(!e.contains('\n') && !e.contains('\x1b'), "{e}");
        assert_eq!(e, "live\\n2026-01-01T00:00:00Z  WARN forged\\u{1b}[2J");
        assert_eq!(escape("abcdef", 3), "abc…");
        assert_eq!(escape("plain app", 64), "plain app");
    }
}
