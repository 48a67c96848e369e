//! The run-wide size budget of a report directory: whatever the Edge sends
//! and however many cases run, the whole directory stays under
//! [`RunBudget::LIMIT`] bytes (48 MB, under 50 MB with room for the file
//! system's view of directories).
//!
//! The budget is split once, before the first case starts, from the number
//! of planned attempts, so every case's allowance is known in advance and
//! does not depend on which case happened to finish first:
//!
//! - the run-wide files have fixed allowances: `index.html`
//!   [`HTML_BYTES`], `junit.xml` [`JUNIT_BYTES`], `dns.pcapng`
//!   [`DNS_TRACE_BYTES`], `summary.json` [`SUMMARY_BYTES_PER_ATTEMPT`] per
//!   attempt (each writer keeps to its allowance: see their docs);
//! - the rest is for the attempts' `cases/<id>/` directories: each gets
//!   the minimum (`CaseBudget::of(0)`), then half of what is left is
//!   shared out, a first attempt weighing [`FIRST_ATTEMPT_WEIGHT`] times a
//!   retry (there are at most `--retries` per case): that is each
//!   attempt's own allowance, known before the run starts. The other half
//!   is a pool: an attempt whose evidence is larger than its allowance
//!   takes what it needs more from it, up to the per-case maxima, while it
//!   lasts. A good run (12 MB for the whole catalogue) never empties the
//!   pool, so nothing of it is cut; a hostile Edge empties it, and from
//!   then on each case keeps its own allowance, which no other case can
//!   take;
//! - a case directory's allowance is split into what its transcript files
//!   (`transcript.txt` and `messages.json`) may hold, what its certificate
//!   files may hold, and the rest, which is its `trace.pcapng`'s. See
//!   [`CaseBudget`].
//!
//! Whatever a writer leaves out is said in the file itself: a pcapng
//! comment, a transcript note, a line in `index.html` or `junit.xml`.

use crate::bounds;

/// Bytes `index.html` may take.
pub const HTML_BYTES: u64 = 8_000_000;
/// Bytes `junit.xml` may take.
pub const JUNIT_BYTES: u64 = 3_000_000;
/// Bytes `dns.pcapng` may take.
pub const DNS_TRACE_BYTES: u64 = 1_000_000;
/// Bytes one attempt may add to `summary.json` (its reason is at most
/// [`crate::text::MAX_REASON_CHARS`] characters, escaped).
pub const SUMMARY_BYTES_PER_ATTEMPT: u64 = 6_000;
/// How many retry attempts' shares a first attempt gets of what is left
/// once every attempt has its minimum.
pub const FIRST_ATTEMPT_WEIGHT: u64 = 4;
/// The most a case's trace keeps, however large the budget (1 MiB).
pub const MAX_TRACE_BYTES: usize = 1024 * 1024;
/// The least a case's trace keeps: beyond [`RunBudget::MAX_PLANNED_ATTEMPTS`]
/// the limit cannot be promised.
pub const MIN_TRACE_BYTES: usize = 4 * 1024;
/// The most a case's certificate files keep (PEM and text, all chains).
pub const MAX_CERTIFICATE_BYTES: usize = 256 * 1024;
/// The least a case's certificate files keep (one chain of a usual size:
/// a chain that does not fit is replaced by a line saying so).
pub const MIN_CERTIFICATE_BYTES: usize = 4 * 1024;
/// The least a case's transcript keeps.
pub const MIN_TRANSCRIPT_BYTES: usize = 2 * 1024;
/// The fewest transcript entries a case keeps.
pub const MIN_ENTRIES: usize = 10;
/// What a transcript entry costs beyond its text in `transcript.txt` and
/// `messages.json` together (its time, actor, kind, addresses, JSON keys).
pub const ENTRY_OVERHEAD: usize = 250;
/// `transcript.txt` and `messages.json` each write a text in at most its
/// cost (see [`bounds::cost`]: control characters count as their escapes).
pub const TEXT_FACTOR: usize = 2;
/// What one entry can cost in both files beyond the case's text budget:
/// its overhead, and the minimum it keeps once that budget is spent with
/// the line marking the cut.
pub const ENTRY_WORST: usize =
    ENTRY_OVERHEAD + TEXT_FACTOR * (bounds::MIN_ENTRY_BYTES + bounds::MAX_NOTE_BYTES);

/// What one attempt's `cases/<id>/` directory may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseBudget {
    /// Bytes of `trace.pcapng` (frames, key log and comments).
    pub trace: usize,
    /// Transcript limits, applied before `transcript.txt` and
    /// `messages.json` are written.
    pub transcript: bounds::Limits,
    /// Bytes of certificate files (PEM and text dumps, all chains).
    pub certificates: usize,
}

impl CaseBudget {
    /// The bytes this allowance lets a case directory take at most.
    pub fn total(&self) -> u64 {
        (self.trace + self.text() + self.certificates) as u64
    }

    /// The most the transcript files take: the text twice, and each entry
    /// (and the note of entries left out) at its worst.
    pub fn text(&self) -> usize {
        TEXT_FACTOR * self.transcript.case_bytes + (self.transcript.entries + 1) * ENTRY_WORST
    }

    /// The allowance of a directory of `bytes`: a twelfth for certificates,
    /// a quarter for the transcript files (half of it for entries, half
    /// for their text), the rest for the trace; each within its own
    /// minimum and maximum.
    pub fn of(bytes: u64) -> Self {
        let bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        let certificates = (bytes / 12).clamp(MIN_CERTIFICATE_BYTES, MAX_CERTIFICATE_BYTES);
        let text = bytes / 4;
        let entries = (text / 2 / ENTRY_WORST).clamp(MIN_ENTRIES, bounds::MAX_ENTRIES);
        let case_bytes = (text.saturating_sub((entries + 1) * ENTRY_WORST) / TEXT_FACTOR)
            .clamp(MIN_TRANSCRIPT_BYTES, bounds::MAX_CASE_BYTES);
        let transcript = bounds::Limits {
            case_bytes,
            entries,
            ..bounds::Limits::DEFAULT
        };
        let mut budget = Self {
            trace: 0,
            transcript,
            certificates,
        };
        let rest = bytes.saturating_sub(budget.text() + certificates);
        budget.trace = rest.clamp(MIN_TRACE_BYTES, MAX_TRACE_BYTES);
        budget
    }
}

impl CaseBudget {
    /// This allowance grown towards `need` (what the case would keep under
    /// the per-case maxima) with at most `available` more bytes: the
    /// transcript first, then the trace. Returns the grown allowance and the
    /// bytes it took; its [`CaseBudget::total`] grows by no more than those.
    pub fn grown(&self, need: &Self, available: u64) -> (Self, u64) {
        let mut left = usize::try_from(available).unwrap_or(usize::MAX);
        let mut grown = *self;
        let entries = need
            .transcript
            .entries
            .saturating_sub(grown.transcript.entries)
            .min(left / ENTRY_WORST);
        grown.transcript.entries += entries;
        left -= entries * ENTRY_WORST;
        let text = need
            .transcript
            .case_bytes
            .saturating_sub(grown.transcript.case_bytes)
            .min(left / TEXT_FACTOR);
        grown.transcript.case_bytes += text;
        left -= text * TEXT_FACTOR;
        let trace = need.trace.saturating_sub(grown.trace).min(left);
        grown.trace += trace;
        left -= trace;
        let taken = usize::try_from(available).unwrap_or(usize::MAX) - left;
        (grown, u64::try_from(taken).unwrap_or(u64::MAX))
    }
}

/// The budget of one run (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunBudget {
    /// Bytes the whole report directory may take.
    pub limit: u64,
    /// Planned first attempts (the selected cases).
    pub cases: u64,
    /// Planned retry attempts (cases times `--retries`).
    pub retries: u64,
    /// A first attempt's directory.
    pub first: CaseBudget,
    /// A retry attempt's directory.
    pub retry: CaseBudget,
    /// Bytes beyond their own allowance that attempts may draw on, first
    /// come, first served (see [`CaseBudget::grown`]).
    pub pool: u64,
}

impl RunBudget {
    /// The report directory's limit: 48 MB.
    pub const LIMIT: u64 = 48_000_000;
    /// Beyond this many planned attempts the minimum allowances no longer
    /// fit in the limit; [`RunBudget::fits`] is then false.
    pub const MAX_PLANNED_ATTEMPTS: u64 = 1_000;

    /// The budget of a run of `cases` cases, each retried up to `retries`
    /// times, within [`Self::LIMIT`].
    pub fn new(cases: usize, retries: usize) -> Self {
        Self::within(Self::LIMIT, cases, retries)
    }

    /// The same within `limit` bytes.
    pub fn within(limit: u64, cases: usize, retries: usize) -> Self {
        let cases = u64::try_from(cases.max(1)).unwrap_or(u64::MAX);
        let retries = cases.saturating_mul(u64::try_from(retries).unwrap_or(u64::MAX));
        let attempts = cases.saturating_add(retries);
        let run_files = HTML_BYTES
            .min(limit / 5)
            .saturating_add(JUNIT_BYTES.min(limit / 10))
            .saturating_add(DNS_TRACE_BYTES.min(limit / 50))
            .saturating_add(SUMMARY_BYTES_PER_ATTEMPT.saturating_mul(attempts));
        let dirs = limit.saturating_sub(run_files);
        // Every attempt gets the minimum; half of what is left is shared
        // out by weight, a first attempt counting FIRST_ATTEMPT_WEIGHT
        // retries; the other half is the pool.
        let minimum = CaseBudget::of(0).total();
        let surplus = dirs.saturating_sub(minimum.saturating_mul(attempts)) / 2;
        let weights = cases
            .saturating_mul(FIRST_ATTEMPT_WEIGHT)
            .saturating_add(retries)
            .max(1);
        let unit = surplus / weights;
        let first_dir = minimum.saturating_add(unit.saturating_mul(FIRST_ATTEMPT_WEIGHT));
        let retry_dir = minimum.saturating_add(unit);
        let first = CaseBudget::of(first_dir);
        let retry = CaseBudget::of(retry_dir);
        let floors = first
            .total()
            .saturating_mul(cases)
            .saturating_add(retry.total().saturating_mul(retries));
        Self {
            limit,
            cases,
            retries,
            first,
            retry,
            pool: dirs.saturating_sub(floors),
        }
    }

    /// Bytes `index.html` may take.
    pub fn html(&self) -> u64 {
        HTML_BYTES.min(self.limit / 5)
    }

    /// Bytes `junit.xml` may take.
    pub fn junit(&self) -> u64 {
        JUNIT_BYTES.min(self.limit / 10)
    }

    /// Bytes `dns.pcapng` may take.
    pub fn dns_trace(&self) -> u64 {
        DNS_TRACE_BYTES.min(self.limit / 50)
    }

    /// The most the whole report directory can take under this budget.
    pub fn worst_case(&self) -> u64 {
        let attempts = self.cases.saturating_add(self.retries);
        self.html()
            .saturating_add(self.junit())
            .saturating_add(self.dns_trace())
            .saturating_add(SUMMARY_BYTES_PER_ATTEMPT.saturating_mul(attempts))
            .saturating_add(self.first.total().saturating_mul(self.cases))
            .saturating_add(self.retry.total().saturating_mul(self.retries))
            .saturating_add(self.pool)
    }

    /// Whether [`Self::worst_case`] is within the limit (false only for
    /// runs of more than about [`Self::MAX_PLANNED_ATTEMPTS`] attempts,
    /// whose minimum allowances add up to more).
    pub fn fits(&self) -> bool {
        self.worst_case() <= self.limit
    }

    /// The allowance of an attempt: the first, or a retry.
    pub fn case(&self, retry: bool) -> CaseBudget {
        if retry { self.retry } else { self.first }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thousand_attempts_fit_the_limit_with_and_without_retries() {
        for (cases, retries) in [(1_000, 0), (500, 1), (250, 3)] {
            let budget = RunBudget::new(cases, retries);
            assert!(budget.fits(), "{budget:?}: {}", budget.worst_case());
            assert!(budget.worst_case() <= 50_000_000);
            assert!(budget.first.trace >= MIN_TRACE_BYTES);
        }
    }

    #[test]
    fn every_case_count_up_to_the_maximum_fits() {
        for cases in (1..=RunBudget::MAX_PLANNED_ATTEMPTS as usize).step_by(7) {
            let budget = RunBudget::new(cases, 0);
            assert!(budget.fits(), "{cases} cases: {}", budget.worst_case());
        }
        assert!(!RunBudget::new(100_000, 0).fits());
    }

    #[test]
    fn the_current_catalogue_keeps_the_per_case_maxima() {
        // 137 cases today, about 300 planned. A good run of the 137 writes
        // 12 MB of which 10 MB in case directories, the largest 400 kB
        // (docs/report-budget.md): each case's own allowance plus the pool
        // hold all of it.
        for cases in [137, 300] {
            let budget = RunBudget::new(cases, 0);
            assert!(budget.first.trace >= 32 * 1024, "{cases}: {budget:?}");
            assert!(budget.pool >= 12_000_000, "{cases}: {budget:?}");
            assert!(budget.fits(), "{cases}: {budget:?}");
        }
    }

    #[test]
    fn an_allowance_never_exceeds_the_bytes_it_was_made_from() {
        let minimum = CaseBudget::of(0).total();
        for bytes in (minimum..20_000_000).step_by(997) {
            let budget = CaseBudget::of(bytes);
            assert!(budget.total() <= bytes, "{bytes}: {budget:?}");
        }
    }

    #[test]
    fn growing_takes_no_more_than_available_and_needed() {
        let floor = CaseBudget::of(0);
        let need = CaseBudget::of(100_000_000);
        for available in [0, 1, 1_000, 100_000, 10_000_000] {
            let (grown, taken) = floor.grown(&need, available);
            assert!(taken <= available);
            assert!(grown.total() <= floor.total() + taken, "{available}");
            assert!(grown.trace <= need.trace.max(floor.trace));
        }
        let (grown, taken) = floor.grown(&floor, 1_000_000);
        assert_eq!((grown, taken), (floor, 0));
    }

    #[test]
    fn a_small_limit_scales_everything_down() {
        let budget = RunBudget::within(3_000_000, 31, 0);
        assert!(budget.fits(), "{budget:?}: {}", budget.worst_case());
        assert!(budget.first.trace < MAX_TRACE_BYTES);
    }
}
