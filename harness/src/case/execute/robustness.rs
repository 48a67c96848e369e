//! The verdict of a robustness case names what broke. A step that fails is
//! classified: the hostile input could not be sent (inconclusive: nothing
//! was tested), the immediate answer was wrong, or the hostile message
//! reached the pool instead of being answered. After a wrong answer the
//! liveness probe still runs: an Edge that crashed or stopped serving
//! others is reported as such, with the wrong answer beside it.

use picharness_reports::Verdict;

use super::CaseRun;
use crate::case::checks::liveness_probe::PROBE_BOUND;
use crate::case::checks::{self, relayed_phrase};
use crate::case::outcome::Outcome;
use crate::scenario::{AbuseStep, Action, Actor, Case, CheckKind, Step};

/// The first words of a reason for a wrong answer to the hostile input.
pub(crate) const WRONG_ANSWER: &str = "wrong immediate answer";

/// Reclassifies `failed`, the outcome of `step` (the `index`th) of the
/// robustness case `case`.
pub(super) async fn classify(
    run: &mut CaseRun<'_>,
    case: &Case,
    index: usize,
    step: &Step,
    failed: Outcome,
) -> Outcome {
    if failed.verdict != Verdict::Fail {
        return failed;
    }
    let before_probe = !case.steps[..index]
        .iter()
        .any(|s| !s.control && s.action == Action::Check(CheckKind::LivenessProbe));
    match &step.action {
        Action::Send { .. } | Action::SendRaw { .. } if before_probe => {
            Outcome::inconclusive(format!(
                "the hostile input was never sent properly, so nothing was tested: {}",
                failed.reason
            ))
        }
        Action::Expect(_) | Action::Abuse(AbuseStep::End)
            if matches!(step.actor, Actor::Peer(_)) =>
        {
            let named = if failed.reason.contains(" arrived at pool ") {
                format!("{}: {}", relayed_phrase(run), failed.reason)
            } else {
                format!("{WRONG_ANSWER}: {}", failed.reason)
            };
            let Some(prober) = probe_actor(case) else {
                return Outcome::fail(named);
            };
            // The wrong answer may have used up the case's time (a silent
            // Edge): the probe gets its own.
            let probe_time = tokio::time::Instant::now() + 3 * PROBE_BOUND;
            run.deadline = run.deadline.max(probe_time);
            run.note(format!(
                "the answer to the hostile input was wrong ({named}); the liveness probe runs to see whether the Edge still serves others"
            ));
            match checks::run_check(run, &prober, CheckKind::LivenessProbe).await {
                Err(probe) if probe.verdict == Verdict::Fail => {
                    Outcome::fail(format!("{}; before that, {named}", probe.reason))
                }
                _ => Outcome::fail(named),
            }
        }
        _ => failed,
    }
}

/// The peer that runs the case's liveness probe.
fn probe_actor(case: &Case) -> Option<Actor> {
    case.steps
        .iter()
        .find(|s| !s.control && s.action == Action::Check(CheckKind::LivenessProbe))
        .map(|s| s.actor.clone())
}
