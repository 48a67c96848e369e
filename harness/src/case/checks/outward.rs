//! The no-relay-outward check of the robustness cases: a hostile request
//! from one provider must not be sent on to a provider (the Edge is no open
//! relay, FED-14). Robustness cases run alone, so any request that reached
//! a provider peer during the case was the Edge relaying the hostile input
//! back out.

use picharness_simulators::actor::IntakeKind;

use crate::case::execute::CaseRun;
use crate::case::outcome::Outcome;

/// The first words of the verdict reason when the check fails.
pub(crate) const RELAYED_OUTWARD: &str = "relayed back out a request it should have refused";

pub(super) fn check_nothing_relayed_outward(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let since = run.started_at();
    let mut found = None;
    for (name, peer) in &run.topology.peers {
        for arrival in peer.intake().since(since) {
            if let IntakeKind::Message(message) = &arrival.what
                && message.is_request()
            {
                found = Some(format!(
                    "{RELAYED_OUTWARD}: {} reached provider {name} from {}",
                    message.summary(),
                    arrival.remote
                ));
                break;
            }
        }
        if found.is_some() {
            break;
        }
    }
    if let Some(reason) = found {
        return Err(Outcome::fail(reason));
    }
    run.note("no-relay-outward: no request reached any provider peer during the case");
    Ok(())
}
