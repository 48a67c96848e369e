//! How much of a case's transcript the report files keep, whatever the SUT
//! sent: a hostile Edge must not be able to make a report grow without
//! bound. `transcript.txt` and `messages.json` are written from
//! [`bounded_entries`]; the exact bytes stay in `trace.pcapng`.
//!
//! Sizes are counted as the text costs once written: a control character
//! counts 6 bytes (it is written as an escape, `\u{1b}` or `\u001b`), a
//! quote or backslash 2, anything else its UTF-8 length. The bounds are:
//!
//! - one entry keeps at most [`MAX_ENTRY_BYTES`] (the SIP message size
//!   limit, so every message a conforming Edge may send is kept whole);
//! - the entries of one case keep at most [`MAX_CASE_BYTES`] in all; once
//!   that is spent, each further entry keeps at most [`MIN_ENTRY_BYTES`];
//! - at most [`MAX_ENTRIES`] entries are kept: the first
//!   `MAX_ENTRIES - KEPT_LAST` and the last [`KEPT_LAST`], with a note
//!   saying how many were left out between them.
//!
//! A cut entry ends with a line `[N more bytes not kept in this report]`.

use std::borrow::Cow;

use crate::evidence::TranscriptEntry;

/// The most one entry keeps (64 KiB, the SIP message size limit).
pub const MAX_ENTRY_BYTES: usize = 64 * 1024;
/// The most all the entries of one case keep (128 KiB).
pub const MAX_CASE_BYTES: usize = 128 * 1024;
/// What an entry keeps once the case's budget is spent.
pub const MIN_ENTRY_BYTES: usize = 128;
/// The most the line marking a cut entry, or the note saying how many
/// entries were left out, costs.
pub const MAX_NOTE_BYTES: usize = 100;
/// The most entries one case keeps.
pub const MAX_ENTRIES: usize = 200;
/// How many of the last entries are kept when there are too many.
pub const KEPT_LAST: usize = 50;

/// How much of a transcript is kept: the constants above, or smaller
/// ones a run's budget sets (see [`crate::budget`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most one entry keeps.
    pub entry_bytes: usize,
    /// The most all entries keep (beyond it, each keeps
    /// [`MIN_ENTRY_BYTES`]).
    pub case_bytes: usize,
    /// The most entries kept.
    pub entries: usize,
}

impl Limits {
    /// The constants above.
    pub const DEFAULT: Self = Self {
        entry_bytes: MAX_ENTRY_BYTES,
        case_bytes: MAX_CASE_BYTES,
        entries: MAX_ENTRIES,
    };

    /// How many of the last entries are kept when there are too many.
    fn kept_last(&self) -> usize {
        KEPT_LAST.min(self.entries / 4)
    }
}

/// What a report file of one case holds of `entries` (see the module docs).
/// Borrows when nothing had to be cut.
pub fn bounded_entries(entries: &[TranscriptEntry]) -> Cow<'_, [TranscriptEntry]> {
    bounded_entries_within(entries, Limits::DEFAULT)
}

/// [`bounded_entries`] within `limits`.
pub fn bounded_entries_within(
    entries: &[TranscriptEntry],
    limits: Limits,
) -> Cow<'_, [TranscriptEntry]> {
    let max_entries = limits.entries.max(1);
    let fits = entries.len() <= max_entries
        && entries.iter().all(|e| cost(&e.text) <= limits.entry_bytes)
        && entries.iter().map(|e| cost(&e.text)).sum::<usize>() <= limits.case_bytes;
    if fits {
        return Cow::Borrowed(entries);
    }
    let head = max_entries - limits.kept_last();
    let selected: Vec<&TranscriptEntry> = if entries.len() > max_entries {
        entries[..head]
            .iter()
            .chain(&entries[entries.len() - limits.kept_last()..])
            .collect()
    } else {
        entries.iter().collect()
    };
    let left_out = entries.len() - selected.len();
    let mut budget = limits.case_bytes;
    let mut out = Vec::with_capacity(selected.len() + 1);
    for (i, entry) in selected.into_iter().enumerate() {
        if left_out > 0 && i == head {
            out.push(TranscriptEntry {
                at: entry.at,
                actor: "report".to_owned(),
                kind: "note".to_owned(),
                local: None,
                remote: None,
                text: format!(
                    "{left_out} transcript entries left out here (this case keeps at most {max_entries})"
                ),
            });
        }
        let allowed = budget.clamp(MIN_ENTRY_BYTES, limits.entry_bytes.max(MIN_ENTRY_BYTES));
        let text = bounded_text(&entry.text, allowed);
        budget = budget.saturating_sub(cost(&text));
        out.push(TranscriptEntry {
            text: text.into_owned(),
            ..entry.clone_without_text()
        });
    }
    Cow::Owned(out)
}

/// `text` if it costs at most `max` (see the module docs); otherwise its
/// longest prefix that does, cut between characters, and a line saying how
/// many bytes were left out.
pub fn bounded_text(text: &str, max: usize) -> Cow<'_, str> {
    let mut spent = 0;
    for (i, c) in text.char_indices() {
        spent += char_cost(c);
        if spent > max {
            return Cow::Owned(format!(
                "{}\n[{} more bytes not kept in this report]",
                &text[..i],
                text.len() - i
            ));
        }
    }
    Cow::Borrowed(text)
}

/// What `text` costs once written (see the module docs).
pub fn cost(text: &str) -> usize {
    text.chars().map(char_cost).sum()
}

fn char_cost(c: char) -> usize {
    match c {
        '"' | '\\' => 2,
        _ if c.is_control() => 6,
        _ => c.len_utf8(),
    }
}

impl TranscriptEntry {
    fn clone_without_text(&self) -> Self {
        Self {
            at: self.at,
            actor: self.actor.clone(),
            kind: self.kind.clone(),
            local: self.local,
            remote: self.remote,
            text: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn entry(n: u64, text: &str) -> TranscriptEntry {
        TranscriptEntry {
            at: SystemTime::UNIX_EPOCH + Duration::from_millis(n),
            actor: "messenger".to_owned(),
            kind: "received".to_owned(),
            local: None,
            remote: None,
            text: text.to_owned(),
        }
    }

    #[test]
    fn small_transcripts_are_borrowed_unchanged() {
        let entries = vec![entry(1, "SIP/2.0 200 OK\r\n\r\n"), entry(2, "note")];
        assert!(matches!(bounded_entries(&entries), Cow::Borrowed(_)));
    }

    #[test]
    fn a_huge_entry_is_cut_and_says_so() {
        let junk = "a".repeat(10 * 1024 * 1024);
        let entries = vec![entry(1, &junk)];
        let kept = bounded_entries(&entries);
        assert_eq!(kept.len(), 1);
        assert!(cost(&kept[0].text) < MAX_ENTRY_BYTES + 100);
        assert!(
            kept[0].text.ends_with(&format!(
                "[{} more bytes not kept in this report]",
                junk.len() - MAX_ENTRY_BYTES
            )),
            "{}",
            &kept[0].text[kept[0].text.len() - 80..]
        );
    }

    #[test]
    fn control_characters_count_as_their_escapes() {
        let junk = "\u{1b}".repeat(100_000);
        let kept = bounded_text(&junk, 600);
        assert!(kept.starts_with(&"\u{1b}".repeat(100)));
        assert!(!kept.starts_with(&"\u{1b}".repeat(101)));
    }

    #[test]
    fn cuts_fall_between_characters() {
        let text = "€".repeat(1000);
        for max in 0..10 {
            let _ = bounded_text(&text, max);
        }
        assert!(bounded_text(&text, 4).starts_with("€\n["));
    }

    #[test]
    fn the_case_budget_and_the_entry_count_are_bounded() {
        let big = "b".repeat(60 * 1024);
        let entries: Vec<TranscriptEntry> = (0..10_000).map(|n| entry(n, &big)).collect();
        let kept = bounded_entries(&entries);
        assert_eq!(kept.len(), MAX_ENTRIES + 1);
        let total: usize = kept.iter().map(|e| cost(&e.text)).sum();
        assert!(
            total <= MAX_CASE_BYTES + (MAX_ENTRIES + 1) * (MIN_ENTRY_BYTES + 64),
            "{total}"
        );
        let note = &kept[MAX_ENTRIES - KEPT_LAST];
        assert_eq!(note.kind, "note");
        assert_eq!(
            note.text,
            format!(
                "{} transcript entries left out here (this case keeps at most {MAX_ENTRIES})",
                10_000 - MAX_ENTRIES
            )
        );
        // The first and the last entries are the ones kept.
        assert_eq!(kept[0].at, entries[0].at);
        assert_eq!(kept.last().map(|e| e.at), entries.last().map(|e| e.at));
    }
}
