//! Bounded, printable excerpts of text that came off the wire, for findings
//! and error messages. A peer chooses what it sends: an excerpt is never cut
//! inside a character, never longer than a fixed number of characters, and
//! never carries a raw control character to a terminal or a report.

use std::borrow::Cow;
use std::fmt::Write;

/// The most characters of one peer-supplied value quoted in a finding or an
/// error message.
pub const MAX_QUOTED_CHARS: usize = 120;

/// The most characters of one finding's sentence.
pub const MAX_FINDING_CHARS: usize = 400;

/// `text` unchanged when it has at most `max_chars` characters; otherwise
/// its first and last characters with the number left out in between, as
/// `abc…[1234 characters left out]…xyz`. Cuts fall between characters.
pub fn elide(text: &str, max_chars: usize) -> Cow<'_, str> {
    let total = text.chars().count();
    if total <= max_chars {
        return Cow::Borrowed(text);
    }
    let tail = max_chars / 3;
    let head = max_chars - tail;
    let left_out = total - head - tail;
    let head_end = text.char_indices().nth(head).map_or(text.len(), |(i, _)| i);
    let tail_start = text
        .char_indices()
        .nth(total - tail)
        .map_or(text.len(), |(i, _)| i);
    Cow::Owned(format!(
        "{}…[{left_out} characters left out]…{}",
        &text[..head_end],
        &text[tail_start..]
    ))
}

/// `text` elided to [`MAX_QUOTED_CHARS`], owned: what an error value keeps
/// of a peer's text.
pub fn excerpt(text: &str) -> String {
    elide(text, MAX_QUOTED_CHARS).into_owned()
}

/// `text` elided to [`MAX_QUOTED_CHARS`] and quoted like `{:?}`: in double
/// quotes, with control characters, quotes and backslashes escaped.
pub fn quote(text: &str) -> String {
    format!("{:?}", elide(text, MAX_QUOTED_CHARS))
}

/// `text` with every control character (C0, DEL, C1) written as a visible
/// `\u{..}` escape, so that it cannot move a terminal's cursor or end a
/// line in a report. Other characters are kept.
pub fn visible(text: &str) -> Cow<'_, str> {
    escape_chars(text, char::is_control)
}

/// `text` with every character `escape` picks written as a visible
/// `\u{..}` escape (hexadecimal code point in braces); borrowed unchanged
/// when it picks none.
pub fn escape_chars(text: &str, escape: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if escape(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_borrowed_unchanged() {
        assert!(matches!(elide("abc", 3), Cow::Borrowed("abc")));
        assert_eq!(elide("", 0), "");
    }

    #[test]
    fn long_text_keeps_both_ends_and_counts_what_is_left_out() {
        let text: String = ('a'..='z').collect();
        assert_eq!(elide(&text, 9), "abcdef…[17 characters left out]…xyz");
    }

    #[test]
    fn cuts_never_fall_inside_a_character() {
        // Multi-byte characters at every position around the cut points.
        for prefix in 0..8 {
            let text = format!("{}{}", "a".repeat(prefix), "é€😀".repeat(20));
            for max in 0..12 {
                let out = elide(&text, max);
                assert!(out.chars().count() <= max + 40, "{out}");
            }
        }
    }

    #[test]
    fn quote_escapes_controls_and_bounds_the_length() {
        assert_eq!(quote("a\u{1b}[2Jb"), "\"a\\u{1b}[2Jb\"");
        let long = "€".repeat(10_000);
        let quoted = quote(&long);
        assert!(quoted.chars().count() < MAX_QUOTED_CHARS + 40, "{quoted}");
        assert!(quoted.contains("characters left out"));
    }

    #[test]
    fn visible_escapes_every_control_character() {
        assert_eq!(visible("ok"), "ok");
        assert_eq!(
            visible("a\u{0}b\u{1b}c\u{7f}d\u{85}e\tf"),
            "a\\u{0}b\\u{1b}c\\u{7f}d\\u{85}e\\u{9}f"
        );
    }
}
