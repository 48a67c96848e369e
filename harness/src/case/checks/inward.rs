//! The no-malformed-inward check of the robustness cases: the Edge is the
//! boundary, so nothing malformed may cross it. Everything that reached the
//! pool since the case began (including requests no case was routed to and
//! bytes that were not SIP) is judged: garbage, a message the SIP validator
//! finds an error in, or a request with the Call-ID of the case's hostile
//! message fails the case as "relayed malformed input inward" (or, when
//! what the case sent was well formed, as "relayed inward a request it
//! should have refused"). The liveness probe's MESSAGEs are the only
//! arrivals expected.
//!
//! Robustness cases run alone (or on a private copy of the embedded
//! topology), so what reached the pool in their time is theirs.

use picharness_simulators::actor::IntakeKind;

use super::liveness_probe::PROBE_CALL_ID_PREFIX;
use crate::case::execute::{CaseRun, is_reader_limit};
use crate::case::outcome::Outcome;
use crate::case::preview::{REASON_PREVIEW, escaped_preview};
use crate::case::sip_validity::validity_problem;

/// The first words of the verdict reason when the check fails.
pub(crate) const RELAYED_INWARD: &str = "relayed malformed input inward";

/// The first words when the hostile request reached the pool although it
/// is well formed (a Max-Forwards 0, a Route pointing inward): the Edge
/// forwarded what it should have answered itself.
pub(crate) const RELAYED_REFUSABLE: &str = "relayed inward a request it should have refused";

/// How to name the hostile request reaching the pool: malformed input when
/// what the case sent was malformed, a request it should have refused
/// otherwise.
pub(crate) fn relayed_phrase(run: &CaseRun<'_>) -> &'static str {
    if run.sent_malformed {
        RELAYED_INWARD
    } else {
        RELAYED_REFUSABLE
    }
}

pub(super) fn check_nothing_malformed_inward(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let Some(pool) = run.topology.pool.as_ref() else {
        return Err(Outcome::error(
            "the topology has no pool (external-only mode)",
        ));
    };
    let hostile_call_id = run.vars.value("call_id").map(str::to_owned);
    let arrivals = pool.intake().since(run.started_at());
    let mut seen = 0;
    for arrival in &arrivals {
        match &arrival.what {
            IntakeKind::Garbage { error, .. } if is_reader_limit(error) => {
                return Err(Outcome::fail(format!(
                    "{RELAYED_REFUSABLE}: a message over the harness's reader limit reached the pool from {} ({error}); no Edge may forward one that long (SIP-21)",
                    arrival.remote
                )));
            }
            IntakeKind::Garbage { bytes, error } => {
                return Err(Outcome::fail(format!(
                    "{RELAYED_INWARD}: bytes that are not SIP reached the pool from {} ({error}): {}",
                    arrival.remote,
                    escaped_preview(bytes, REASON_PREVIEW)
                )));
            }
            IntakeKind::Message(message) => {
                let call_id = message.call_id().unwrap_or_default();
                if call_id.starts_with(PROBE_CALL_ID_PREFIX) {
                    continue;
                }
                seen += 1;
                if let Some(problem) = validity_problem(message, "pool") {
                    return Err(Outcome::fail(format!("{RELAYED_INWARD}: {problem}")));
                }
                if message.is_request()
                    && hostile_call_id
                        .as_deref()
                        .is_some_and(|hostile| !hostile.is_empty() && call_id == hostile)
                {
                    return Err(Outcome::fail(format!(
                        "{}: the hostile request reached the pool as {} (a boundary must refuse it, not forward it)",
                        relayed_phrase(run),
                        message.summary()
                    )));
                }
                run.note(format!(
                    "no-malformed-inward: {} reached the pool and is valid SIP",
                    message.summary()
                ));
            }
        }
    }
    run.note(format!(
        "no-malformed-inward: {} arrival(s) at the pool besides the liveness probe, none malformed",
        seen
    ));
    Ok(())
}
