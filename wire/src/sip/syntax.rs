//! Character classes and small lexical helpers taken from the RFC 3261 §25.1
//! ABNF, shared by the parser and the validator.

/// `token` characters (RFC 3261 §25.1).
pub(crate) fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// A non-empty run of token characters.
pub(crate) fn is_token(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(is_token_char)
}

/// `word` characters, used by Call-ID (RFC 3261 §25.1).
pub(crate) fn is_word_char(b: u8) -> bool {
    is_token_char(b) || b"()<>:\\\"/[]?{}".contains(&b)
}

/// `unreserved` characters of URIs (RFC 3261 §25.1).
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b)
}

/// Whether every `%` starts a two-hex-digit escape.
pub(crate) fn escapes_are_valid(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

/// Whether every byte is either `%`-escaped or satisfies `allowed`.
pub(crate) fn is_escaped_run(text: &str, allowed: impl Fn(u8) -> bool) -> bool {
    escapes_are_valid(text) && text.bytes().all(|b| b == b'%' || allowed(b))
}

/// Decodes `%HH` escapes (RFC 3261 §19.1.4); invalid escapes are kept as
/// they are.
pub fn unescape(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16)),
                bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16)),
            )
        {
            // invariant: two hex digits make at most 255.
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Splits on `separator` where it stands outside quoted strings and angle
/// brackets. Pieces are not trimmed and empty pieces are kept, so callers
/// can tell `a;;b` from `a;b`.
pub(crate) fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut escaped = false;
    let mut in_angle = false;
    let mut start = 0;
    for (i, ch) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match ch {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => in_angle = true,
            '>' if !quoted => in_angle = false,
            c if c == separator && !quoted && !in_angle => {
                out.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// Whether every quoted string is closed (a backslash escapes the next
/// character inside quotes).
pub(crate) fn quotes_balanced(text: &str) -> bool {
    let mut quoted = false;
    let mut escaped = false;
    for ch in text.chars() {
        if escaped {
            escaped = false;
        } else if quoted && ch == '\\' {
            escaped = true;
        } else if ch == '"' {
            quoted = !quoted;
        }
    }
    !quoted
}

/// Removes all spaces and tabs (LWS is allowed around many separators).
pub(crate) fn strip_lws(text: &str) -> String {
    text.chars().filter(|c| !matches!(c, ' ' | '\t')).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_and_word_classes() {
        assert!(is_token("!interesting-Method0123456789_*+`.%indeed'~"));
        assert!(!is_token("Bell,"));
        assert!(!is_token(""));
        assert!(
            b"intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
                .iter()
                .all(|b| *b == b'@' || is_word_char(*b))
        );
    }

    #[test]
    fn escapes() {
        assert!(escapes_are_valid("null-%00-null"));
        assert!(!escapes_are_valid("bad%4"));
        assert!(!escapes_are_valid("%ZZ"));
        assert_eq!(unescape("%75se%72"), b"user");
        assert_eq!(unescape("50%"), b"50%");
    }

    #[test]
    fn splitting_keeps_empties_and_respects_quotes() {
        assert_eq!(split_outside_quotes("a;;b", ';'), vec!["a", "", "b"]);
        assert_eq!(
            split_outside_quotes("\"x;y\" <sip:a;lr>;t=1", ';'),
            vec!["\"x;y\" <sip:a;lr>", "t=1"]
        );
        assert_eq!(
            split_outside_quotes("\"a\\\";b\";c", ';'),
            vec!["\"a\\\";b\"", "c"]
        );
    }

    #[test]
    fn quote_balance() {
        assert!(quotes_balanced("\"J Rosenberg \\\\\\\"\" <sip:a>"));
        assert!(!quotes_balanced("\"Mr. J. User <sip:j.user@example.com>"));
    }
}
