//! A case's transcript while it runs, bounded in memory whatever the Edge
//! sends: an Edge that floods a case with small valid messages makes a note
//! or an entry of each, and sixteen cases at once must not grow the
//! harness's memory without bound. The report files are bounded further
//! when they are written (`picharness_reports::bounds`).
//!
//! The log keeps every entry until it holds [`MAX_ENTRIES`]; past that, it
//! drops the oldest entry after the first [`KEPT_FIRST`] for each new one,
//! so it holds the start of the case and its latest entries, and counts
//! what it dropped (a note says so where the entries were). Once the texts
//! kept add up to [`MAX_TEXT_BYTES`], each new entry keeps at most
//! [`LATE_ENTRY_BYTES`] of its text, with a line saying how much was cut.

use picharness_reports::TranscriptEntry;
use picharness_reports::bounds::bounded_text;

/// The most entries kept in memory (twice what a report file keeps).
pub(crate) const MAX_ENTRIES: usize = 2 * picharness_reports::bounds::MAX_ENTRIES;
/// Entries at the start that are never dropped.
pub(crate) const KEPT_FIRST: usize =
    picharness_reports::bounds::MAX_ENTRIES - picharness_reports::bounds::KEPT_LAST;
/// Text bytes kept in full before later entries are cut.
pub(crate) const MAX_TEXT_BYTES: usize = 1024 * 1024;
/// What a later entry keeps of its text.
pub(crate) const LATE_ENTRY_BYTES: usize = 1024;

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct TranscriptLog {
    entries: Vec<TranscriptEntry>,
    text_bytes: usize,
    dropped: usize,
}

impl TranscriptLog {
    pub(crate) fn push(&mut self, mut entry: TranscriptEntry) {
        if self.text_bytes >= MAX_TEXT_BYTES
            && let std::borrow::Cow::Owned(cut) = bounded_text(&entry.text, LATE_ENTRY_BYTES)
        {
            entry.text = cut;
        }
        if self.entries.len() >= MAX_ENTRIES {
            let gone = self.entries.remove(KEPT_FIRST);
            self.text_bytes = self.text_bytes.saturating_sub(gone.text.len());
            self.dropped += 1;
        }
        self.text_bytes += entry.text.len();
        self.entries.push(entry);
    }

    /// The entries, with a note where some were dropped.
    pub(crate) fn into_entries(mut self) -> Vec<TranscriptEntry> {
        if self.dropped > 0 {
            let at = self.entries[KEPT_FIRST].at;
            self.entries.insert(
                KEPT_FIRST,
                TranscriptEntry {
                    at,
                    actor: "runner".to_owned(),
                    kind: "note".to_owned(),
                    local: None,
                    remote: None,
                    text: format!(
                        "{} transcript entries dropped here while the case ran (a case holds at most {MAX_ENTRIES} \
                         in memory); the bytes are in trace.pcapng as far as it keeps them",
                        self.dropped
                    ),
                },
            );
        }
        self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn entry(n: usize, len: usize) -> TranscriptEntry {
        TranscriptEntry {
            at: SystemTime::UNIX_EPOCH + Duration::from_millis(n as u64),
            actor: "aol".to_owned(),
            kind: "received".to_owned(),
            local: None,
            remote: None,
            text: "x".repeat(len),
        }
    }

    #[test]
    fn a_flood_keeps_the_start_the_end_and_a_count() {
        let mut log = TranscriptLog::default();
        for n in 0..100_000 {
            log.push(entry(n, 60 * 1024));
        }
        // The entry that crossed the line is kept whole.
        assert!(
            log.text_bytes <= MAX_TEXT_BYTES + 60 * 1024 + MAX_ENTRIES * (LATE_ENTRY_BYTES + 100)
        );
        let entries = log.into_entries();
        assert_eq!(entries.len(), MAX_ENTRIES + 1);
        assert_eq!(entries[0].at, entry(0, 0).at);
        assert_eq!(entries.last().map(|e| e.at), Some(entry(99_999, 0).at));
        assert!(
            entries[KEPT_FIRST].text.starts_with(&format!(
                "{} transcript entries dropped",
                100_000 - MAX_ENTRIES
            )),
            "{}",
            entries[KEPT_FIRST].text
        );
    }

    #[test]
    fn a_short_transcript_is_kept_as_it_came() {
        let mut log = TranscriptLog::default();
        for n in 0..10 {
            log.push(entry(n, 10));
        }
        assert_eq!(
            log.into_entries(),
            (0..10).map(|n| entry(n, 10)).collect::<Vec<_>>()
        );
    }
}
