//! Text from the outside world, made safe for a log line.
//!
//! Any field a stranger can set (a donor's name, an alert message, a device name) is logged
//! through [`Esc`]: control characters (newline, carriage return, ESC, DEL, C1 controls), the
//! Unicode line/paragraph separators and the bidirectional overrides are written as Rust-style
//! escapes (`\n`, `\u{1b}`, `\u{202e}`), and a backslash as `\\`, so nobody can start a forged
//! log line, recolour a terminal, or make text read backwards. Letters of every script stay
//! readable (`José`, `日本`, emoji), unlike `str::escape_default`.

use std::fmt::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A `Display` that escapes control characters; see the module documentation.
#[derive(Clone, Copy)]
pub struct Esc<'a>(pub &'a str);

/// Shorthand: `tracing::info!(from = %esc(&alert.from), ...)`.
pub fn esc(s: &str) -> Esc<'_> {
    Esc(s)
}

/// Whether `c` is written escaped.
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || c == '\\'
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(needs_escape) {
            f.write_str(&rest[..i])?;
            let c = rest[i..].chars().next().unwrap_or_default();
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                '\\' => f.write_str("\\\\")?,
                c => write!(f, "\\u{{{:x}}}", c as u32)?,
            }
            rest = &rest[i + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

impl fmt::Debug for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        fmt::Display::fmt(self, f)?;
        f.write_char('"')
    }
}

/// The escaped text as a `String` (for a `format!` into a message).
pub fn escaped(s: &str) -> String {
    Esc(s).to_string()
}

/// One log line per burst of a repeated refusal (a wrong token, a full listener), with a count,
/// instead of one per event: `static WRONG: Burst = Burst::new();` then
/// `if let Some(n) = WRONG.hit() { warn!(refused = n, "...") }`.
pub struct Burst {
    last_ms: AtomicU64,
    folded: AtomicU64,
}

/// At most one line per this many milliseconds for one [`Burst`].
pub const BURST_WINDOW_MS: u64 = 10_000;

impl Burst {
    pub const fn new() -> Burst {
        Burst { last_ms: AtomicU64::new(0), folded: AtomicU64::new(0) }
    }

    /// `Some(n)`: write a line now, for `n` events (this one and those kept quiet since the
    /// last line); `None`: stay quiet.
    pub fn hit(&self) -> Option<u64> {
        let n = self.folded.fetch_add(1, Ordering::Relaxed) + 1;
        let now =
            SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(1).max(1);
        let last = self.last_ms.load(Ordering::Relaxed);
        if last != 0 && now.saturating_sub(last) < BURST_WINDOW_MS {
            return None;
        }
        if self.last_ms.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return None;
        }
        self.folded.fetch_sub(n, Ordering::Relaxed);
        Some(n)
    }
}

impl Default for Burst {
    fn default() -> Self {
        Burst::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_letters_kept() {
        assert_eq!(
            escaped("Ann\n2026-01-01T00:00:00Z WARN forged"),
            "Ann\\n2026-01-01T00:00:00Z WARN forged"
        );
        assert_eq!(escaped("\u{1b}[31mred\u{1b}[0m"), "\\u{1b}[31mred\\u{1b}[0m");
        assert_eq!(escaped("a\r\tb\\n\u{7f}\u{85}"), "a\\r\\tb\\\\n\\u{7f}\\u{85}");
        assert_eq!(escaped("x\u{2028}y\u{202e}z"), "x\\u{2028}y\\u{202e}z");
        assert_eq!(escaped("José 日本 🎉"), "José 日本 🎉");
        assert_eq!(format!("{:?}", Esc("a\nb")), "\"a\\nb\"");
    }

    #[test]
    fn a_burst_is_one_line() {
        let b = Burst::new();
        assert_eq!(b.hit(), Some(1));
        let lines = (0..10_000).filter_map(|_| b.hit()).count();
        assert_eq!(lines, 0, "within the window every refusal is folded");
        // The next window's line counts what was kept quiet.
        b.last_ms.store(1, Ordering::Relaxed);
        assert_eq!(b.hit(), Some(10_001));
    }
}
