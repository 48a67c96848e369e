//! How much of a connection a capture keeps, whatever the peer sends: an
//! Edge that floods valid small frames must not be able to grow the
//! harness's memory or a case's `trace.pcapng` without bound.
//!
//! A capture is measured in *trace bytes*: each segment costs its payload
//! plus [`SEGMENT_COST`], about what it adds to `trace.pcapng` (its frame's
//! block and headers and the acknowledgement written after it) and a little
//! more than what it costs in memory.
//!
//! A connection keeps its first [`HEAD_BYTES`] (the evidence of its start:
//! the handshake and the first messages) and then a sliding tail of its
//! latest [`TAIL_BYTES`]: once the tail is full, its oldest segments make
//! room for new ones and are counted as a gap between head and tail
//! ([`picharness_reports::Omitted`]: bytes per direction and when the last
//! of them crossed). So a long-lived connection (the Edge's connection to
//! the pool, which every case shares and which carries about 2.3 kB per
//! case) still holds each running case's part, and a flood keeps its start
//! and its latest bytes, never more than the cap.
//!
//! The bounds, measured against a run of the whole catalogue against the
//! reference Edge (135 cases): the largest connection was 213 kB of trace and
//! the largest case trace 562 kB, so both caps are about twice what a
//! conforming Edge needs:
//!
//! - one connection keeps at most [`MAX_CONNECTION_BYTES`] (512 KiB: a
//!   256 KiB head and a 256 KiB tail; in memory that is at most 512 KiB of
//!   payload, since a segment's cost is more than its bookkeeping);
//! - one case keeps at most [`MAX_CASE_BYTES`] (1 MiB) of all its
//!   connections, in the order they were opened; once that is spent, each
//!   further connection keeps at most [`MIN_CONNECTION_BYTES`] (16 KiB: its
//!   handshake and first message).

use picharness_reports::TcpStream as CapturedStream;

/// What one recorded segment costs beyond its payload, in trace bytes.
pub const SEGMENT_COST: usize = 160;
/// The most one connection's capture keeps (512 KiB of trace).
pub const MAX_CONNECTION_BYTES: usize = HEAD_BYTES + TAIL_BYTES;
/// What a connection keeps of its start (256 KiB of trace).
pub const HEAD_BYTES: usize = 256 * 1024;
/// What a connection keeps of its latest bytes once its head is full
/// (256 KiB of trace: about 110 cases' part of the shared pool connection).
pub const TAIL_BYTES: usize = 256 * 1024;
/// The most one case keeps of all its connections (1 MiB of trace).
pub const MAX_CASE_BYTES: usize = 1024 * 1024;
/// What a connection keeps once its case's budget is spent (16 KiB).
pub const MIN_CONNECTION_BYTES: usize = 16 * 1024;

/// What a capture counted but did not keep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotKept {
    /// Payload bytes left out.
    pub bytes: u64,
    /// Segments (reads or writes) left out, whole or in part.
    pub segments: u64,
}

impl NotKept {
    /// Whether anything was left out.
    pub fn any(&self) -> bool {
        self.bytes > 0
    }

    /// Adds `other` to this count.
    pub fn add(&mut self, other: Self) {
        self.bytes = self.bytes.saturating_add(other.bytes);
        self.segments = self.segments.saturating_add(other.segments);
    }

    /// Counts `len` payload bytes of one segment as left out.
    pub(crate) fn count(&mut self, len: usize) {
        self.add(Self {
            bytes: u64::try_from(len).unwrap_or(u64::MAX),
            segments: 1,
        });
    }
}

/// The trace bytes a segment of `len` payload bytes costs.
pub fn segment_cost(len: usize) -> usize {
    len.saturating_add(SEGMENT_COST)
}

/// The trace bytes `stream` costs as it is.
pub fn stream_cost(stream: &CapturedStream) -> usize {
    stream
        .segments
        .iter()
        .map(|s| segment_cost(s.bytes.len()))
        .fold(0, usize::saturating_add)
}

/// Payload bytes kept in `stream` (not counting a gap).
pub fn kept_bytes(stream: &CapturedStream) -> u64 {
    stream
        .segments
        .iter()
        .map(|s| u64::try_from(s.bytes.len()).unwrap_or(u64::MAX))
        .fold(0, u64::saturating_add)
}

/// How many payload bytes of a segment of `len` bytes fit when `spent`
/// trace bytes of `max` are already used (0 when not even its cost fits).
pub(crate) fn fitting(len: usize, spent: usize, max: usize) -> usize {
    let room = max.saturating_sub(spent);
    len.min(room.saturating_sub(SEGMENT_COST))
}

/// Cuts `stream` to its longest prefix that costs at most `max` trace
/// bytes (a segment may be cut in part) and says what was left out. When
/// the cut reaches back to a gap between head and tail, the gap's bytes are
/// counted as left out too and the gap is gone: what is kept is a prefix.
pub fn truncate_stream(stream: &mut CapturedStream, max: usize) -> NotKept {
    let mut spent = 0usize;
    let mut not_kept = NotKept::default();
    let mut cut_at = None;
    for (i, segment) in stream.segments.iter_mut().enumerate() {
        let len = segment.bytes.len();
        let fits = fitting(len, spent, max);
        if fits < len {
            if fits > 0 {
                not_kept.count(len - fits);
                segment.bytes.truncate(fits);
                cut_at = Some(i + 1);
            } else {
                cut_at = Some(i);
            }
            break;
        }
        spent = spent.saturating_add(segment_cost(len));
    }
    if let Some(at) = cut_at {
        for dropped in stream.segments.drain(at..) {
            not_kept.count(dropped.bytes.len());
        }
        if let Some(gap) = stream.omitted.filter(|g| g.after >= stream.segments.len()) {
            not_kept.add(NotKept {
                bytes: gap.bytes(),
                segments: gap.segments,
            });
            stream.omitted = None;
        }
    }
    not_kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use picharness_reports::{Direction, Segment};
    use std::time::SystemTime;

    fn stream(sizes: &[usize]) -> CapturedStream {
        CapturedStream {
            client: "127.0.0.1:40000".parse().unwrap(),
            server: "127.0.0.2:5061".parse().unwrap(),
            opened_at: SystemTime::UNIX_EPOCH,
            segments: sizes
                .iter()
                .enumerate()
                .map(|(i, n)| Segment {
                    at: SystemTime::UNIX_EPOCH,
                    direction: Direction::ServerToClient,
                    bytes: vec![u8::try_from(i % 256).unwrap(); *n],
                })
                .collect(),
            closed_at: None,
            omitted: None,
        }
    }

    #[test]
    fn truncation_keeps_a_prefix_within_the_cap_and_counts_the_rest() {
        let mut s = stream(&[1000, 1000, 1000, 1000]);
        let max = 2 * segment_cost(1000) + segment_cost(500);
        let not_kept = truncate_stream(&mut s, max);
        assert_eq!(s.segments.len(), 3);
        assert_eq!(s.segments[2].bytes, vec![2u8; 500]);
        assert_eq!(kept_bytes(&s), 2500);
        assert!(stream_cost(&s) <= max);
        assert_eq!(
            not_kept,
            NotKept {
                bytes: 1500,
                segments: 2
            }
        );
    }

    #[test]
    fn a_stream_within_the_cap_is_left_alone() {
        let mut s = stream(&[10, 20]);
        let before = s.clone();
        assert!(!truncate_stream(&mut s, MAX_CONNECTION_BYTES).any());
        assert_eq!(s, before);
    }

    #[test]
    fn a_segment_whose_cost_does_not_fit_is_dropped_whole() {
        let mut s = stream(&[100, 100]);
        let not_kept = truncate_stream(&mut s, segment_cost(100) + SEGMENT_COST - 1);
        assert_eq!(s.segments.len(), 1);
        assert_eq!(
            not_kept,
            NotKept {
                bytes: 100,
                segments: 1
            }
        );
    }
}
