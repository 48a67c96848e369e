//! Turning the planned mutations into robustness cases. Each case has the
//! shape of the RFC 4475 cases: a control liveness probe, the hostile
//! request from a Messenger peer, a refusal or silence (an accepting answer
//! fails), the liveness probe, and the no-malformed-inward check.

use std::time::Duration;

use super::{Class, PLAN, Planned, Rng, case_id, class, ops};
use crate::scenario::{
    Action, Actor, Case, CheckKind, MessageExpectation, REFUSAL_SILENCE_WAIT, Step,
};

/// The peer that sends every mutation (the bases are its requests).
const PEER: &str = "messenger";

/// How long one mutation case may take: two probes (5 s bound each, a few
/// ms against a good Edge) and a 2 s wait for silence fit.
const CASE_TIMEOUT: Duration = Duration::from_secs(8);

/// The mutation cases for the `cases` of a catalogue: none for a base whose
/// case the catalogue lacks (a scenarios directory of one's own), or whose
/// request a mutation does not apply to (reported in the error list).
pub fn generate(cases: &[Case]) -> (Vec<Case>, Vec<String>) {
    let mut generated = Vec::new();
    let mut problems = Vec::new();
    for planned in PLAN {
        let (base, _, _) = *planned;
        let Some(source) = base_case(cases, base) else {
            continue;
        };
        let Some(template) = base_template(source) else {
            problems.push(format!(
                "mutation base {base}: case {} has no send step by {PEER}",
                source.id
            ));
            continue;
        };
        match mutation_case(*planned, source, template) {
            Ok(case) => generated.push(case),
            Err(e) => problems.push(format!("{}: {e}", case_id(*planned))),
        }
    }
    (generated, problems)
}

/// The catalogue case a base is taken from.
fn base_case<'a>(cases: &'a [Case], base: &str) -> Option<&'a Case> {
    let (_, id) = super::BASES.iter().find(|(name, _)| *name == base)?;
    cases.iter().find(|c| c.id == *id)
}

/// The first request the base case's peer sends.
pub fn base_template(case: &Case) -> Option<&str> {
    case.steps
        .iter()
        .find_map(|step| match (&step.actor, &step.action) {
            (Actor::Peer(peer), Action::Send { template, .. }) if peer == PEER => {
                Some(template.as_str())
            }
            _ => None,
        })
}

fn mutation_case(planned: Planned, source: &Case, template: &str) -> Result<Case, String> {
    let id = case_id(planned);
    let mut rng = Rng::for_id(&id);
    let (base, target, op) = planned;
    let mutated = ops::apply(template, target, op, &mut rng)?;
    let method = template
        .split_whitespace()
        .next()
        .unwrap_or("request")
        .to_owned();
    let answer = match class(planned) {
        Class::Syntax => {
            "400 Bad Request (RFC 3261 §16.3: a proxy validates a request before forwarding it), or discarded (SIP-10)"
        }
        Class::Framing => {
            "400, or the connection closed (the stream cannot be framed: SIP-05), or discarded (SIP-10)"
        }
    };
    let mut requirements = vec!["SIP-10".to_owned()];
    if matches!(target, super::Target::Header("content-length")) {
        requirements.push("SIP-05".to_owned());
    }
    let peer = Actor::Peer(PEER.to_owned());
    let step = |actor: &Actor, action: Action, note: Option<String>, control: bool| Step {
        actor: actor.clone(),
        action,
        line: 0,
        note,
        control,
        if_unmet: None,
    };
    let steps = vec![
        step(
            &peer,
            Action::Check(CheckKind::LivenessProbe),
            Some("control: before the hostile input, a fresh good peer is served".to_owned()),
            true,
        ),
        step(
            &peer,
            Action::Send {
                template: mutated.template,
                reuse_connection: false,
            },
            Some(format!(
                "hostile input: the {method} of {} with one mutation (seed {:#x}): {}",
                source.id,
                super::SEED,
                mutated.what
            )),
            false,
        ),
        step(
            &peer,
            Action::Expect(MessageExpectation::RefusalOrSilence(REFUSAL_SILENCE_WAIT)),
            Some(answer.to_owned()),
            false,
        ),
        step(&peer, Action::Check(CheckKind::LivenessProbe), None, false),
        step(
            &Actor::Pool,
            Action::Check(CheckKind::NothingMalformedInward),
            None,
            false,
        ),
    ];
    Ok(Case {
        title: format!(
            "Mutation of a provider peer's {method} ({base}): {}; refused or discarded, never forwarded, and the Edge keeps serving good peers",
            mutated.what
        ),
        id,
        requirements,
        providers: vec![PEER.to_owned()],
        tags: vec![
            crate::plan::ROBUSTNESS_TAG.to_owned(),
            "sip".to_owned(),
            "syntax".to_owned(),
            "mutation".to_owned(),
            "inbound".to_owned(),
        ],
        timeout: CASE_TIMEOUT,
        no_fault_reason: None,
        exclusive: true,
        needs: Vec::new(),
        steps,
        source: source.source.clone(),
    })
}
