//! Making text the SUT chose safe to write: bounded in size, with control
//! characters shown as visible escapes (so `cat transcript.txt` or a
//! terminal never runs an Edge's escape sequences), and with every
//! character XML 1.0 forbids replaced (so `junit.xml` and `index.html` stay
//! well formed whatever arrived).
//!
//! Escapes are written `\u{1b}` (hexadecimal code point in braces). A
//! backslash the SUT sent is kept as it is, so the escapes are for reading;
//! the exact bytes are in `trace.pcapng`.

use std::borrow::Cow;

use picharness_wire::text::escape_chars;

/// The most characters of a case's reason (it is one sentence; what the SUT
/// sent is quoted in it, bounded, by the checks).
pub const MAX_REASON_CHARS: usize = 2_000;

pub use picharness_wire::text::elide;

/// At most `max_bytes` of `text`, cut at the last character boundary at or
/// before it; `None` when nothing had to be cut.
pub fn cut_at(text: &str, max_bytes: usize) -> Option<&str> {
    if text.len() <= max_bytes {
        return None;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(&text[..end])
}

/// `text` with control characters (C0, DEL, C1) written as `\u{..}`
/// escapes; tab is kept when `keep_tab`. Line breaks count as control
/// characters: callers split lines first.
pub fn visible_controls(text: &str, keep_tab: bool) -> Cow<'_, str> {
    escape_chars(text, |c| c.is_control() && !(keep_tab && c == '\t'))
}

/// A reason as every report and the terminal show it: elided to
/// [`MAX_REASON_CHARS`], on one line, control characters escaped.
pub fn reason_text(reason: &str) -> String {
    visible_controls(&elide(reason, MAX_REASON_CHARS), false).into_owned()
}

/// `text` with every character XML 1.0 does not allow (C0 controls but tab,
/// LF and CR; U+FFFE and U+FFFF) or discourages (DEL, C1 controls,
/// noncharacters) written as a `\u{..}` escape. Rust strings hold no
/// surrogates: bytes that were not UTF-8 became U+FFFD when decoded.
pub fn xml_safe(text: &str) -> Cow<'_, str> {
    escape_chars(text, |c| !is_xml_friendly(c))
}

/// Whether `c` may stand in an XML 1.0 document (the `Char` production)
/// and is not one of the characters the specification asks documents to
/// avoid (§2.2).
fn is_xml_friendly(c: char) -> bool {
    let n = u32::from(c);
    match c {
        '\t' | '\n' | '\r' => true,
        _ if c.is_control() => false,
        _ => !(0xFDD0..=0xFDEF).contains(&n) && (n & 0xFFFE) != 0xFFFE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elide_keeps_both_ends_and_never_cuts_a_character() {
        let text: String = ('a'..='z').collect();
        assert_eq!(elide(&text, 9), "abcdef…[17 characters left out]…xyz");
        assert!(matches!(elide("short", 9), Cow::Borrowed("short")));
        let wide = "é€😀".repeat(50);
        for max in 0..20 {
            let _ = elide(&wide, max);
        }
    }

    #[test]
    fn cut_at_falls_on_a_character_boundary() {
        assert_eq!(cut_at("abc", 3), None);
        assert_eq!(cut_at("a€b", 2), Some("a"));
        assert_eq!(cut_at("a€b", 4), Some("a€"));
        assert_eq!(cut_at("€", 0), Some(""));
    }

    #[test]
    fn controls_become_visible_escapes() {
        assert_eq!(visible_controls("plain", false), "plain");
        assert_eq!(
            visible_controls("\u{1b}[2J\tx\u{0}\u{85}", true),
            "\\u{1b}[2J\tx\\u{0}\\u{85}"
        );
        assert_eq!(visible_controls("a\tb\nc", false), "a\\u{9}b\\u{a}c");
        assert_eq!(reason_text("a\nb\u{1b}c"), "a\\u{a}b\\u{1b}c");
    }

    #[test]
    fn xml_forbidden_and_discouraged_characters_are_replaced() {
        assert_eq!(xml_safe("a\tb\r\nc"), "a\tb\r\nc");
        assert_eq!(
            xml_safe("\u{0}\u{b}\u{1b}\u{7f}\u{9f}\u{fdd0}\u{fffe}\u{ffff}\u{1fffe}\u{10ffff}"),
            "\\u{0}\\u{b}\\u{1b}\\u{7f}\\u{9f}\\u{fdd0}\\u{fffe}\\u{ffff}\\u{1fffe}\\u{10ffff}"
        );
        assert_eq!(xml_safe("é€😀\u{fffd}\u{fdef}x"), "é€😀\u{fffd}\\u{fdef}x");
    }
}
