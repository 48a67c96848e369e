//! Fitting a case's trace into its share of the run's report budget (see
//! `picharness_reports::budget`), measured as the bytes of the rendered
//! `trace.pcapng`.
//!
//! What is given up first is what belongs least to the case:
//!
//! 1. a connection opened before the case began (the Edge's connection to
//!    the pool, which every case shares) keeps its first
//!    [`SHARED_HEAD_BYTES`] (its TLS handshake) and what crossed it from
//!    the case's start; the bytes between are left out as a gap;
//! 2. datagrams keep at most half of the share, the first ones;
//! 3. then the connections share what is left: the smallest keep all they
//!    have, the others are cut to equal prefixes, the share shrinking until
//!    the file fits; as a last resort the trace keeps only its comments.
//!
//! Each step leaves a note: a comment in the pcapng file and an entry in
//! the transcript.

use std::time::SystemTime;

use picharness_reports::pcapng::pcapng_bytes;
use picharness_reports::{CaseEvidence, Direction, Omitted, TcpStream};
use picharness_simulators::tls::capture_cap::{kept_bytes, stream_cost, truncate_stream};

/// What a shared connection keeps of its start: its handshake (both
/// certificate chains and the TLS 1.3 handshake fit in it).
pub(super) const SHARED_HEAD_BYTES: usize = 16 * 1024;
/// The most comments a cut trace carries, and the most bytes of each.
const MAX_NOTES: usize = 8;
const NOTE_BYTES: usize = 300;
/// What a datagram costs in the file beyond its payload.
const DATAGRAM_COST: usize = 100;

/// Cuts `evidence`'s trace to at most `max` bytes of pcapng (see the module
/// docs); `started` is when the case began.
pub fn fit_trace(evidence: &mut CaseEvidence, started: SystemTime, max: usize) {
    let rendered = |e: &CaseEvidence| pcapng_bytes(e).map_or(0, |b| b.len());
    if rendered(evidence) <= max {
        return;
    }
    let mut notes = Vec::new();
    for stream in &mut evidence.streams {
        if let Some(note) = window_shared(stream, started) {
            notes.push((stream.opened_at, note));
        }
    }
    let mut size = rendered(evidence);
    if size > max {
        if let Some(note) = cap_datagrams(&mut evidence.datagrams, max / 2) {
            notes.push((started, note));
        }
        size = rendered(evidence);
    }
    let before: Vec<u64> = evidence.streams.iter().map(kept_bytes).collect();
    // Room for the comments this step and the last one add.
    let room = max.saturating_sub(MAX_NOTES * NOTE_BYTES);
    let mut share = room;
    for _ in 0..6 {
        if size <= room {
            break;
        }
        // Shrink the streams' share by the overshoot, and a little more.
        share = share.saturating_mul(room) / size.max(1) * 9 / 10;
        share_out(&mut evidence.streams, share);
        size = rendered(evidence);
    }
    for (stream, before) in evidence.streams.iter().zip(before) {
        let kept = kept_bytes(stream);
        if kept < before {
            notes.push((
                stream.opened_at,
                format!(
                    "capture of {} -> {} cut to its first {kept} bytes to fit this case's share of the report budget \
                     ({} more captured bytes left out)",
                    stream.client,
                    stream.server,
                    before - kept,
                ),
            ));
        }
    }
    if size > room {
        evidence.streams.clear();
        evidence.datagrams.clear();
        evidence.key_log.clear();
        notes.push((
            started,
            "every frame left out: not even the start of each connection fits this case's share of the report budget"
                .to_owned(),
        ));
    }
    notes.push((
        started,
        format!("this trace is cut to fit its share of the report budget ({max} bytes)"),
    ));
    if notes.len() > MAX_NOTES {
        let more = notes.len() + 1 - MAX_NOTES;
        notes.truncate(MAX_NOTES - 1);
        notes.push((started, format!("{more} more notes like these left out")));
    }
    for (at, mut text) in notes {
        if let Some(cut) = picharness_reports::text::cut_at(&text, NOTE_BYTES) {
            text = cut.to_owned();
        }
        evidence.add_capture_note(at, text, true);
    }
}

/// Cuts `streams` to `share` trace bytes in all: the smallest keep all
/// they have, the others share the rest equally (each cut to a prefix).
fn share_out(streams: &mut [TcpStream], share: usize) {
    let mut order: Vec<usize> = (0..streams.len()).collect();
    order.sort_by_key(|i| stream_cost(&streams[*i]));
    let mut left = share;
    for (n, i) in order.into_iter().enumerate() {
        let each = left / (streams.len() - n);
        truncate_stream(&mut streams[i], each);
        left = left.saturating_sub(stream_cost(&streams[i]));
    }
}

/// Keeps of a connection opened before `started` its first
/// [`SHARED_HEAD_BYTES`] and the segments from `started`, and says what
/// was left out between them. A gap the capture already has (what slid out
/// of its tail) joins the new one when the case's part begins after it; when
/// the case's part begins before it, the stream is left as it is (its gap
/// is noted by `capture_gaps`).
fn window_shared(stream: &mut TcpStream, started: SystemTime) -> Option<String> {
    if stream.opened_at >= started {
        return None;
    }
    let gap = stream.omitted;
    let head_end = gap.map_or(stream.segments.len(), |g| {
        g.after.min(stream.segments.len())
    });
    let mut head = 0usize;
    let mut spent = 0usize;
    for segment in &stream.segments[..head_end] {
        if segment.at >= started || spent + segment.bytes.len() > SHARED_HEAD_BYTES {
            break;
        }
        spent += segment.bytes.len();
        head += 1;
    }
    let window = stream
        .segments
        .iter()
        .position(|s| s.at >= started)
        .unwrap_or(stream.segments.len())
        .max(head);
    if window == head || gap.is_some_and(|g| window < g.after) {
        return None;
    }
    let mut omitted = gap.unwrap_or(Omitted {
        after: 0,
        client_bytes: 0,
        server_bytes: 0,
        segments: 0,
        until: None,
    });
    omitted.after = head;
    for segment in stream.segments.drain(head..window) {
        let len = u64::try_from(segment.bytes.len()).unwrap_or(u64::MAX);
        match segment.direction {
            Direction::ClientToServer => omitted.client_bytes += len,
            Direction::ServerToClient => omitted.server_bytes += len,
        }
        omitted.segments += 1;
        omitted.until = omitted.until.max(Some(segment.at));
    }
    stream.omitted = Some(omitted);
    Some(format!(
        "capture of {} -> {}: this connection was opened before the case began and is shared with other cases; \
         its first {spent} bytes and what crossed it from the case's start are kept, {} bytes between them are left out",
        stream.client,
        stream.server,
        omitted.bytes()
    ))
}

/// Keeps the first datagrams that fit in `max` bytes.
fn cap_datagrams(datagrams: &mut Vec<picharness_reports::Datagram>, max: usize) -> Option<String> {
    let mut spent = 0usize;
    let kept = datagrams
        .iter()
        .take_while(|d| {
            spent += d.bytes.len() + DATAGRAM_COST;
            spent <= max
        })
        .count();
    if kept == datagrams.len() {
        return None;
    }
    let left: usize = datagrams.drain(kept..).map(|d| d.bytes.len()).sum();
    Some(format!(
        "datagrams cut to the first {kept} to fit this case's share of the report budget ({left} more bytes left out)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use picharness_reports::{Datagram, Segment};
    use std::time::Duration;

    fn at(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000) + Duration::from_millis(ms)
    }

    fn stream(opened: u64, segments: usize, len: usize) -> TcpStream {
        TcpStream {
            client: "127.80.0.11:40000".parse().expect("address"),
            server: "127.80.0.20:5061".parse().expect("address"),
            opened_at: at(opened),
            segments: (0..segments)
                .map(|i| Segment {
                    at: at(opened + i as u64),
                    direction: if i % 2 == 0 {
                        Direction::ClientToServer
                    } else {
                        Direction::ServerToClient
                    },
                    bytes: vec![b'x'; len],
                })
                .collect(),
            closed_at: None,
            omitted: None,
        }
    }

    fn size(e: &CaseEvidence) -> usize {
        pcapng_bytes(e).expect("renders").len()
    }

    #[test]
    fn a_trace_within_its_share_is_left_alone() {
        let mut evidence = CaseEvidence {
            streams: vec![stream(0, 10, 1000)],
            ..CaseEvidence::default()
        };
        let before = evidence.clone();
        fit_trace(&mut evidence, at(0), 1_000_000);
        assert_eq!(evidence, before);
    }

    #[test]
    fn a_shared_connection_keeps_its_head_and_the_case_window() {
        // Opened at 0, 1000 segments of 1 kB; the case starts at 900 ms.
        let mut evidence = CaseEvidence {
            streams: vec![stream(0, 1000, 1000)],
            ..CaseEvidence::default()
        };
        fit_trace(&mut evidence, at(900), 300_000);
        let s = &evidence.streams[0];
        let omitted = s.omitted.expect("a gap");
        assert_eq!(omitted.after, 16);
        assert_eq!(s.segments.len(), 16 + 100);
        assert_eq!(omitted.client_bytes + omitted.server_bytes, 884 * 1000);
        assert!(size(&evidence) <= 300_000);
        assert!(evidence.trace_notes.iter().any(|n| n.contains("shared")));
        assert!(
            evidence
                .transcript
                .iter()
                .any(|e| e.text.contains("shared"))
        );
        // The comment is in the file.
        let bytes = pcapng_bytes(&evidence).expect("renders");
        assert!(bytes.windows(9).any(|w| w == b"left out "));
    }

    #[test]
    fn a_capture_gap_joins_the_window_gap_when_the_case_part_is_in_the_tail() {
        // 1000 segments of 1 kB; the capture kept 0..300 and 700..1000.
        let mut s = stream(0, 1000, 1000);
        s.segments.drain(300..700);
        s.omitted = Some(Omitted {
            after: 300,
            client_bytes: 200_000,
            server_bytes: 200_000,
            segments: 400,
            until: Some(at(699)),
        });
        let mut evidence = CaseEvidence {
            streams: vec![s],
            ..CaseEvidence::default()
        };
        fit_trace(&mut evidence, at(900), 300_000);
        let s = &evidence.streams[0];
        let gap = s.omitted.expect("a gap");
        assert_eq!(gap.after, 16);
        assert_eq!(s.segments.len(), 16 + 100);
        assert_eq!(gap.bytes(), 884 * 1000);
        assert_eq!(gap.segments, 884);
        assert!(s.segments[16..].iter().all(|seg| seg.at >= at(900)));
        assert!(size(&evidence) <= 300_000);
    }

    #[test]
    fn a_flood_is_cut_to_the_share_whatever_its_shape() {
        for max in [4_096, 20_000, 100_000, 1_000_000] {
            let mut evidence = CaseEvidence {
                streams: (0..40).map(|i| stream(10 + i, 500, 3000)).collect(),
                datagrams: (0..5000)
                    .map(|i| Datagram {
                        at: at(20 + i),
                        source: "127.80.0.12:3478".parse().expect("address"),
                        destination: "127.80.1.100:40000".parse().expect("address"),
                        bytes: vec![0; 1200],
                    })
                    .collect(),
                key_log: vec![b'k'; 4000],
                ..CaseEvidence::default()
            };
            fit_trace(&mut evidence, at(0), max);
            assert!(size(&evidence) <= max, "{max}: {}", size(&evidence));
            assert!(!evidence.trace_notes.is_empty());
        }
    }
}
