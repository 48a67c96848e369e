//! Bytes the SUT sent, shown in a verdict reason or a note: escaped so any
//! byte is safe in a terminal, JSON, XML and HTML, and bounded so a flood
//! of junk cannot swell a report.

use std::fmt::Write as _;

/// How many bytes of the SUT's junk a reason shows.
pub(crate) const REASON_PREVIEW: usize = 200;

/// `"SIP/2.0 200 OK\r\nVia: ..."` followed by the total when it was cut:
/// printable ASCII as is, CR, LF, tab, quote and backslash as escapes,
/// every other byte as `\xNN`.
pub(crate) fn escaped_preview(bytes: &[u8], max: usize) -> String {
    let shown = &bytes[..bytes.len().min(max)];
    let mut out = String::with_capacity(shown.len() + 16);
    out.push('"');
    for &byte in shown {
        match byte {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(byte)),
            other => {
                let _ = write!(out, "\\x{other:02x}");
            }
        }
    }
    out.push('"');
    if shown.len() < bytes.len() {
        let _ = write!(
            out,
            "... (the first {} of {} bytes)",
            shown.len(),
            bytes.len()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_non_ascii_bytes_are_escaped() {
        assert_eq!(
            escaped_preview(b"SIP/2.0 200 OK\r\n\x1b[2J\"\xef\xbf\xbe\\", 100),
            r#""SIP/2.0 200 OK\r\n\x1b[2J\"\xef\xbf\xbe\\""#
        );
    }

    #[test]
    fn long_input_is_cut_and_says_how_long_it_was() {
        let junk = vec![b'A'; 10 * 1024 * 1024];
        let shown = escaped_preview(&junk, 8);
        assert_eq!(shown, "\"AAAAAAAA\"... (the first 8 of 10485760 bytes)");
    }
}
