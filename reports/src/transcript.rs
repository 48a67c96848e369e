//! `transcript.txt`: the SIP messages and harness notes of one case, as text
//! for people.
//!
//! The file starts with a `# t0 = <RFC 3339 time>` line giving the time of
//! the first entry. Each message then gets a header line with its time
//! relative to t0, the actor, the kind and the addresses, then its text
//! indented by four spaces (CRLF shown as LF), then a blank line:
//!
//! ```text
//! [+12.345 ms] messenger sent 127.80.1.1:40112 -> 127.80.0.10:5061
//!     OPTIONS sip:sip.example.test;transport=tls SIP/2.0
//!     Via: SIP/2.0/TLS 127.80.1.1:40112;branch=z9hG4bK-1
//!
//! ```
//!
//! The arrow always points the way the message travelled: `local -> remote`
//! for `sent`, `local <- remote` for `received`. A `note` is one line:
//! `[+13.000 ms] runner note: the text`.
//!
//! What the SUT sent is written so that `cat transcript.txt` is safe:
//! control characters other than tab (an Edge's terminal escape sequences,
//! NUL, a CR that is not part of a CRLF) appear as `\u{1b}`-style escapes
//! (see [`crate::text`]), and the entries are bounded as
//! [`crate::bounds`] says.

use std::path::Path;
use std::time::{Duration, SystemTime};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::bounds::bounded_entries;
use crate::evidence::TranscriptEntry;
use crate::text::visible_controls;

/// Writes the transcript of `entries` to `path` (see the module docs).
pub fn write_transcript(path: &Path, entries: &[TranscriptEntry]) -> std::io::Result<()> {
    std::fs::write(path, render_transcript(entries))
}

/// Renders `entries`, in the order given, as transcript text (see the module
/// docs). No entries give an empty string.
pub fn render_transcript(entries: &[TranscriptEntry]) -> String {
    let entries = bounded_entries(entries);
    let Some(first) = entries.first() else {
        return String::new();
    };
    let t0 = first.at;
    let mut out = String::new();
    if let Ok(stamp) = OffsetDateTime::from(t0).format(&Rfc3339) {
        out.push_str("# t0 = ");
        out.push_str(&stamp);
        out.push('\n');
    }
    for entry in entries.iter() {
        out.push_str(&header(t0, entry));
        out.push('\n');
        if entry.kind == "note" {
            continue;
        }
        let text = entry.text.replace("\r\n", "\n");
        for line in text.trim_end_matches('\n').split('\n') {
            if !line.is_empty() {
                out.push_str("    ");
                out.push_str(&visible_controls(line, true));
            }
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// `[+12.345 ms] actor kind addresses`, or for a note
/// `[+12.345 ms] actor note: text` with the text on one line.
fn header(t0: SystemTime, entry: &TranscriptEntry) -> String {
    let mut line = format!(
        "[{}] {} {}",
        relative_time(t0, entry.at),
        visible_controls(&entry.actor, false),
        visible_controls(&entry.kind, false)
    );
    if entry.kind == "note" {
        line.push_str(": ");
        line.push_str(&visible_controls(&one_line(&entry.text), false));
        return line;
    }
    let arrow = if entry.kind == "received" { "<-" } else { "->" };
    match (entry.local, entry.remote) {
        (Some(local), Some(remote)) => line.push_str(&format!(" {local} {arrow} {remote}")),
        (Some(local), None) => line.push_str(&format!(" {local} {arrow} ?")),
        (None, Some(remote)) => line.push_str(&format!(" ? {arrow} {remote}")),
        (None, None) => {}
    }
    line
}

/// `+12.345 ms` after t0, or `-0.500 ms` for an entry before it.
fn relative_time(t0: SystemTime, at: SystemTime) -> String {
    let (sign, delta) = match at.duration_since(t0) {
        Ok(delta) => ('+', delta),
        Err(before) => ('-', before.duration()),
    };
    format!("{sign}{} ms", millis(delta))
}

/// Milliseconds with three decimals (microsecond precision, truncated).
fn millis(delta: Duration) -> String {
    let micros = delta.as_micros();
    format!("{}.{:03}", micros / 1000, micros % 1000)
}

/// Line breaks and the whitespace around them become one space.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn addr(s: &str) -> Option<SocketAddr> {
        Some(s.parse().unwrap())
    }

    fn base() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_487_448)
    }

    fn entry(micros: u64, actor: &str, kind: &str, text: &str) -> TranscriptEntry {
        TranscriptEntry {
            at: base() + Duration::from_micros(micros),
            actor: actor.to_owned(),
            kind: kind.to_owned(),
            local: addr("127.80.1.1:40112"),
            remote: addr("127.80.0.10:5061"),
            text: text.to_owned(),
        }
    }

    #[test]
    fn renders_messages_and_notes_relative_to_the_first_entry() {
        let entries = vec![
            entry(0, "runner", "note", "connecting\r\n  to the Edge\n"),
            entry(
                12_345,
                "messenger",
                "sent",
                "OPTIONS sip:sip.example.test SIP/2.0\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
            ),
            entry(
                1_500_000,
                "messenger",
                "received",
                "SIP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
            ),
            TranscriptEntry {
                local: None,
                remote: None,
                ..entry(1_500_001, "pool", "note", "done")
            },
        ];
        let expected = "\
# t0 = 2026-11-24T02:30:48Z
[+0.000 ms] runner note: connecting to the Edge
[+12.345 ms] messenger sent 127.80.1.1:40112 -> 127.80.0.10:5061
    OPTIONS sip:sip.example.test SIP/2.0
    CSeq: 1 OPTIONS
    Content-Length: 0

[+1500.000 ms] messenger received 127.80.1.1:40112 <- 127.80.0.10:5061
    SIP/2.0 200 OK
    Content-Length: 2

    hi

[+1500.001 ms] pool note: done
";
        assert_eq!(render_transcript(&entries), expected);
    }

    #[test]
    fn entries_before_the_first_and_missing_addresses() {
        let entries = vec![
            entry(1_000, "messenger", "sent", "A"),
            TranscriptEntry {
                remote: None,
                ..entry(500, "messenger", "received", "B")
            },
        ];
        let text = render_transcript(&entries);
        assert!(
            text.contains(
                "[+0.000 ms] messenger sent 127.80.1.1:40112 -> 127.80.0.10:5061\n    A\n\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("[-0.500 ms] messenger received 127.80.1.1:40112 <- ?\n    B\n\n"),
            "{text}"
        );
        assert_eq!(render_transcript(&[]), "");
    }

    #[test]
    fn write_transcript_writes_the_rendered_text() {
        let entries = vec![entry(0, "runner", "note", "hello")];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("transcript.txt");
        write_transcript(&path, &entries).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            render_transcript(&entries)
        );
    }
}
