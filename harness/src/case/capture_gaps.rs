//! Notes for the gaps a capture left in a long connection: a connection
//! keeps its first and its latest bytes (see
//! `picharness_simulators::tls::capture_cap`), so what slid out between them
//! is missing from the trace. A case says so when the gap touches it:
//!
//! - on a connection the case opened, always (a flood, or a long exchange);
//! - on a connection opened before the case (the Edge's connection to the
//!   pool, shared by every case), only when bytes of the case's own time slid
//!   out: then part of the case's traffic on it is not in the trace (its
//!   messages are still in the transcript). A gap wholly before the case's
//!   start is other cases' traffic and is not worth a note.
//!
//! Each note is a comment of the pcapng file and an entry of the transcript.

use std::time::SystemTime;

use picharness_reports::{CaseEvidence, TcpStream};
use picharness_simulators::tls::capture_cap::{HEAD_BYTES, TAIL_BYTES};

/// The most gap notes copied into a trace's comments (each is also in the
/// transcript).
const MAX_TRACE_NOTES: usize = 4;

/// Notes each gap of `evidence`'s streams that touches the case begun at
/// `started` (see the module docs).
pub(super) fn note_gaps(evidence: &mut CaseEvidence, started: SystemTime) {
    let notes: Vec<(SystemTime, String)> = evidence
        .streams
        .iter()
        .filter_map(|stream| gap_note(stream, started))
        .collect();
    for (n, (at, text)) in notes.into_iter().enumerate() {
        evidence.add_capture_note(at, text, n < MAX_TRACE_NOTES);
    }
}

fn gap_note(stream: &TcpStream, started: SystemTime) -> Option<(SystemTime, String)> {
    let gap = stream.omitted?;
    let bounds = format!(
        "a connection's capture keeps its first {} KiB and its latest {} KiB of trace",
        HEAD_BYTES / 1024,
        TAIL_BYTES / 1024
    );
    let what = format!(
        "{} bytes ({} from the client, {} from the server, {} reads or writes)",
        gap.bytes(),
        gap.client_bytes,
        gap.server_bytes,
        gap.segments
    );
    if stream.opened_at >= started {
        let at = gap.until.unwrap_or(stream.opened_at);
        return Some((
            at,
            format!(
                "capture of {} -> {}: {what} left out between its start and its latest bytes ({bounds})",
                stream.client, stream.server
            ),
        ));
    }
    let until = gap.until.filter(|until| *until >= started)?;
    let after_ms = until.duration_since(started).map_or(0, |d| d.as_millis());
    Some((
        started,
        format!(
            "capture of {} -> {} (opened before this case, shared with other cases): part of this case's \
             traffic on it is not in the trace: {what} slid out of the capture, the last of them {after_ms} ms \
             after this case began ({bounds}); this case's messages on it are in the transcript",
            stream.client, stream.server
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use picharness_reports::{Direction, Omitted, Segment};
    use std::time::Duration;

    fn at(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000) + Duration::from_millis(ms)
    }

    /// A stream opened at `opened` with 10 segments and a gap after the
    /// 5th whose last bytes crossed at `until`.
    fn stream(opened: u64, until: u64) -> TcpStream {
        TcpStream {
            client: "127.80.0.11:40000".parse().expect("address"),
            server: "127.80.0.20:5061".parse().expect("address"),
            opened_at: at(opened),
            segments: (0..10)
                .map(|i| Segment {
                    at: at(if i < 5 { opened + i } else { until + i }),
                    direction: Direction::ClientToServer,
                    bytes: vec![b'x'; 100],
                })
                .collect(),
            closed_at: None,
            omitted: Some(Omitted {
                after: 5,
                client_bytes: 7000,
                server_bytes: 3000,
                segments: 12,
                until: Some(at(until)),
            }),
        }
    }

    fn noted(streams: Vec<TcpStream>, started: u64) -> CaseEvidence {
        let mut evidence = CaseEvidence {
            streams,
            ..CaseEvidence::default()
        };
        note_gaps(&mut evidence, at(started));
        evidence
    }

    #[test]
    fn a_shared_connection_whose_case_part_slid_out_says_so() {
        let evidence = noted(vec![stream(0, 950)], 900);
        assert_eq!(evidence.trace_notes.len(), 1);
        let note = &evidence.trace_notes[0];
        assert!(
            note.contains("part of this case's traffic on it is not in the trace"),
            "{note}"
        );
        assert!(note.contains("10000 bytes"), "{note}");
        assert!(note.contains("50 ms after this case began"), "{note}");
        assert_eq!(evidence.transcript.len(), 1);
        assert_eq!(evidence.transcript[0].text, *note);
    }

    #[test]
    fn a_shared_connection_whose_gap_is_before_the_case_needs_no_note() {
        let evidence = noted(vec![stream(0, 800)], 900);
        assert!(evidence.trace_notes.is_empty());
        assert!(evidence.transcript.is_empty());
    }

    #[test]
    fn a_gap_in_the_case_s_own_connection_is_noted() {
        let evidence = noted(vec![stream(1000, 1500)], 900);
        assert_eq!(evidence.trace_notes.len(), 1);
        assert!(
            evidence.trace_notes[0].contains("left out between its start and its latest bytes")
        );
    }

    #[test]
    fn a_stream_without_a_gap_needs_no_note() {
        let mut s = stream(0, 950);
        s.omitted = None;
        assert!(noted(vec![s], 900).trace_notes.is_empty());
    }
}
