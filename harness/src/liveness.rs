//! The run's view of whether the Edge is still there. Cases mark the Edge
//! alive whenever it accepts one of their connections or sends them a
//! message; when a case that talks SIP ends badly, one TCP connection to the
//! Edge's external address tells whether the Edge still accepts
//! connections. If it does not, the case either saw the Edge alive and is
//! the one during which it died (its verdict and evidence stay its own), or
//! it began after the Edge was last seen alive and so could not be judged:
//! it becomes inconclusive, naming when the Edge was last seen.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use picharness_reports::{EdgeLiveness, Verdict};
use picharness_simulators::tls::tcp_connect;

use crate::case::Outcome;

/// How long the probe waits for the Edge to accept a TCP connection.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
struct State {
    /// When the Edge was last seen alive, and during which case.
    last_alive: Option<(SystemTime, String)>,
    stopped: bool,
    died_during: Option<String>,
    not_judged: Vec<String>,
    came_back: bool,
}

/// Shared by every case of a run.
#[derive(Debug, Default)]
pub struct Liveness {
    state: Mutex<State>,
}

impl Liveness {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The Edge did something only a live Edge does, now, during `case`.
    pub fn alive(&self, case: &str) {
        let mut state = self.state();
        if state.stopped {
            state.came_back = true;
        }
        state.last_alive = Some((SystemTime::now(), case.to_owned()));
    }

    /// Judges a case that ended badly against the Edge's liveness: when the
    /// Edge no longer accepts connections at `edge`, the verdict becomes
    /// inconclusive for a case that began after the Edge was last seen
    /// alive, and the reason of the case during which it died says so.
    pub async fn judge(
        &self,
        case: &str,
        started: SystemTime,
        edge: SocketAddr,
        outcome: Outcome,
    ) -> Outcome {
        if outcome.verdict != Verdict::Fail {
            return outcome;
        }
        let refusal = match tcp_connect(None, edge, PROBE_TIMEOUT).await {
            Ok(_) => {
                self.alive(case);
                return outcome;
            }
            Err(e) => e.to_string(),
        };
        let mut state = self.state();
        state.stopped = true;
        let last = state
            .last_alive
            .clone()
            .map(|(at, during)| (rfc3339(at), during, at >= started));
        match last {
            Some((at, _, true)) => {
                state.died_during.get_or_insert_with(|| case.to_owned());
                let mut kept = outcome;
                kept.reason = format!(
                    "{} (the Edge stopped answering during this case: last seen alive at {at}, and now {refusal})",
                    kept.reason
                );
                kept
            }
            Some((at, during, false)) => {
                state.not_judged.push(case.to_owned());
                not_judged(
                    outcome,
                    &format!(
                        "the Edge stopped answering before this case began (last seen alive at {at}, during {during}; now {refusal})"
                    ),
                )
            }
            None => {
                state.not_judged.push(case.to_owned());
                not_judged(
                    outcome,
                    &format!("the Edge was never seen alive in this run ({refusal})"),
                )
            }
        }
    }

    /// The run-level record, or `None` when the Edge never stopped answering.
    pub fn record(&self) -> Option<EdgeLiveness> {
        let state = self.state();
        if !state.stopped {
            return None;
        }
        Some(EdgeLiveness {
            stopped_answering: true,
            last_seen_alive_at: state.last_alive.as_ref().map(|(at, _)| rfc3339(*at)),
            last_seen_during: state.last_alive.as_ref().map(|(_, case)| case.clone()),
            died_during: state.died_during.clone(),
            cases_not_judged: state.not_judged.clone(),
            came_back: state.came_back,
        })
    }
}

fn not_judged(outcome: Outcome, why: &str) -> Outcome {
    let mut judged = Outcome::inconclusive(format!(
        "{why}, so this case could not be judged: {}",
        outcome.reason
    ));
    judged.failed_step = outcome.failed_step;
    judged
}

/// One line for the end of a run: what happened to the Edge.
pub fn describe(record: &EdgeLiveness) -> String {
    let seen = match (&record.last_seen_alive_at, &record.last_seen_during) {
        (Some(at), Some(case)) => format!("last seen alive at {at} during {case}"),
        _ => "never seen alive".to_owned(),
    };
    let died = record
        .died_during
        .as_ref()
        .map(|case| format!("; it died during {case}"))
        .unwrap_or_default();
    let back = if record.came_back {
        "; it answered again later"
    } else {
        ""
    };
    format!(
        "the Edge stopped answering ({seen}{died}{back}); {} case(s) after that could not be judged and are inconclusive",
        record.cases_not_judged.len()
    )
}

fn rfc3339(at: SystemTime) -> String {
    let odt = time::OffsetDateTime::from(at);
    odt.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| odt.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_case_after_the_edge_died_is_inconclusive_and_the_dying_case_keeps_its_verdict() {
        // Nothing listens on this port of a fresh loopback address.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let dead = listener.local_addr().expect("addr");
        drop(listener);
        let liveness = Liveness::default();
        let before = SystemTime::now();
        liveness.alive("a.first");
        let dying = liveness
            .judge("a.first", before, dead, Outcome::fail("no answer"))
            .await;
        assert_eq!(dying.verdict, Verdict::Fail);
        assert!(
            dying.reason.contains("stopped answering during this case"),
            "{}",
            dying.reason
        );
        let later = SystemTime::now() + Duration::from_millis(5);
        let after = liveness
            .judge(
                "a.second",
                later,
                dead,
                Outcome::fail("TCP connection refused"),
            )
            .await;
        assert_eq!(after.verdict, Verdict::Inconclusive);
        assert!(after.reason.contains("during a.first"), "{}", after.reason);
        let passed = liveness
            .judge("a.third", later, dead, Outcome::pass("fine"))
            .await;
        assert_eq!(passed.verdict, Verdict::Pass);
        let record = liveness.record().expect("stopped");
        assert_eq!(record.died_during.as_deref(), Some("a.first"));
        assert_eq!(record.cases_not_judged, ["a.second"]);
        assert!(describe(&record).starts_with("the Edge stopped answering"));
    }

    #[tokio::test]
    async fn an_edge_that_accepts_connections_changes_nothing() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let alive = listener.local_addr().expect("addr");
        let liveness = Liveness::default();
        let judged = liveness
            .judge(
                "a.case",
                SystemTime::now(),
                alive,
                Outcome::fail("wrong header"),
            )
            .await;
        assert_eq!(judged, Outcome::fail("wrong header"));
        assert!(liveness.record().is_none());
    }
}
