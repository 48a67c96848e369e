//! Judging an RTP stream measured through the relay (`av.media.rtp-stream`,
//! the media of `messenger.av.call`). AV-05's test method is "send RTP to
//! relay; ... expect packets relayed": a direction where no RTP came
//! through, or RTP from an address other than the relay, fails the case.
//! The quality limits the harness sets beyond that method (loss, the RTCP
//! receiver report, mean latency) are observations: counted, reported and
//! selectable with `--fail-on observation`, never a fail by themselves.

use picharness_simulators::av::{DirectionStats, StreamReport};

/// Loss above this, in either direction, is an observation.
const MAX_LOSS_PERCENT: f64 = 1.0;
/// Mean one-way latency above this is an observation (ITU-T G.114's limit
/// for acceptable conversation).
const MAX_LATENCY_MS: f64 = 400.0;

fn directions(report: &StreamReport) -> [(&'static str, &DirectionStats); 2] {
    [
        ("client->peer", &report.to_peer),
        ("peer->client", &report.to_client),
    ]
}

/// What makes the stream fail AV-05, if anything.
pub(super) fn stream_failure(report: &StreamReport) -> Option<String> {
    for (name, stats) in directions(report) {
        if stats.wrong_source > 0 {
            return Some(format!(
                "{name}: {} RTP packets came from an address other than the relay",
                stats.wrong_source
            ));
        }
        if stats.sent > 0 && stats.received == 0 {
            return Some(format!(
                "{name}: none of the {} RTP packets came through the relay (AV-05)",
                stats.sent
            ));
        }
    }
    None
}

/// What the harness notes beyond AV-05's method, one line per finding.
pub(super) fn stream_observations(report: &StreamReport) -> Vec<String> {
    let mut found = Vec::new();
    for (name, stats) in directions(report) {
        if stats.loss_percent() > MAX_LOSS_PERCENT {
            found.push(format!(
                "{name} RTP loss through the relay is {:.1}% ({} of {} received), above {MAX_LOSS_PERCENT}%",
                stats.loss_percent(),
                stats.received,
                stats.sent
            ));
        }
        if !stats.rtcp_received {
            found.push(format!(
                "{name}: the RTCP receiver report sent after the stream never came through the relay"
            ));
        }
        if stats.mean_latency_ms > MAX_LATENCY_MS {
            found.push(format!(
                "{name} mean one-way latency through the relay is {:.1} ms, above {MAX_LATENCY_MS} ms",
                stats.mean_latency_ms
            ));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(sent: u64, received: u64) -> DirectionStats {
        DirectionStats {
            sent,
            received,
            jitter_ms: 0.1,
            mean_latency_ms: 0.2,
            max_latency_ms: 0.3,
            wrong_source: 0,
            rtcp_received: true,
        }
    }

    fn report(to_peer: DirectionStats, to_client: DirectionStats) -> StreamReport {
        StreamReport {
            packets: 100,
            to_peer,
            to_client,
        }
    }

    #[test]
    fn a_clean_stream_neither_fails_nor_is_observed() {
        let clean = report(stats(100, 100), stats(100, 100));
        assert_eq!(stream_failure(&clean), None);
        assert!(stream_observations(&clean).is_empty());
    }

    #[test]
    fn nothing_relayed_or_a_wrong_source_fails() {
        let silent = report(stats(100, 100), stats(100, 0));
        let reason = stream_failure(&silent).unwrap_or_default();
        assert!(
            reason.contains("peer->client") && reason.contains("AV-05"),
            "{reason}"
        );
        let mut wrong = stats(100, 100);
        wrong.wrong_source = 3;
        let reason = stream_failure(&report(wrong, stats(100, 100))).unwrap_or_default();
        assert!(reason.contains("other than the relay"), "{reason}");
    }

    #[test]
    fn loss_a_missing_report_and_latency_are_observations_not_fails() {
        let mut slow = stats(100, 90);
        slow.rtcp_received = false;
        slow.mean_latency_ms = 450.0;
        let lossy = report(slow, stats(100, 100));
        assert_eq!(stream_failure(&lossy), None);
        let found = stream_observations(&lossy);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found[0].contains("loss") && found[0].contains("10.0%"),
            "{found:?}"
        );
        assert!(found[1].contains("RTCP"), "{found:?}");
        assert!(found[2].contains("latency"), "{found:?}");
    }
}
