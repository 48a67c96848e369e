//! Executes a case's steps in order against a topology. Every wait is
//! bounded by the case deadline; whatever happens, the evidence gathered so
//! far is returned with the verdict.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::transcript_log::TranscriptLog;
use picharness_reports::{Finding, FindingKind, TranscriptEntry, Verdict};
use picharness_simulators::actor::{ActorEvent, ActorEventKind, SipActor, UserRoute};
use picharness_simulators::sip_conn::ConnHandle;
use picharness_simulators::tls::ConnectionRecord;
use picharness_wire::sip::dialog::creates_dialog;
use picharness_wire::sip::{SipMessage, SipUri};
use rustls_pki_types::CertificateDer;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::Instant;

mod dialog;
mod expect;
mod robustness;
mod sent_requests;
pub(crate) use expect::{is_reader_limit, warning_note};
pub(crate) use robustness::WRONG_ANSWER;

pub(crate) use dialog::ActorDialog;
use sent_requests::SentRequests;

use super::checks;
use super::evidence::CaseArtifacts;
use super::matching::describe;
use super::outcome::Outcome;
use super::preview::{REASON_PREVIEW, escaped_preview};
use super::sip_validity::validity_problem;
use crate::locate::{EdgeCandidate, LocateError, locate_edge};
use crate::scenario::{
    Action, Actor, Case, Step, TemplateVars, render_message, template_substitute,
};
use crate::topology::Topology;

/// The state of one case while it runs.
pub(crate) struct CaseRun<'a> {
    pub(crate) topology: &'a Topology,
    pub(crate) vars: TemplateVars,
    pub(crate) deadline: Instant,
    inbox_tx: UnboundedSender<ActorEvent>,
    inbox: UnboundedReceiver<ActorEvent>,
    client_connections: HashMap<String, ConnHandle>,
    /// The latest request each actor received, by actor and by (actor, method).
    last_request: HashMap<String, (SipMessage, ConnHandle)>,
    last_request_by_method: HashMap<(String, String), (SipMessage, ConnHandle)>,
    /// The Via branch of each actor's latest send, for CANCEL (`{last_branch}`).
    last_branch: HashMap<String, String>,
    /// The To header of the latest response each actor received (`{response.to}`).
    last_response_to: HashMap<String, String>,
    /// The body of the latest message each actor sent (`body_as_sent_by`).
    last_sent_body: HashMap<String, Vec<u8>>,
    /// The requests each actor sent, to tell its answers from stray responses.
    sent_requests: SentRequests,
    /// The latest 2xx response to an INVITE any actor received (the SDP answer).
    invite_answer: Option<SipMessage>,
    /// The A/V call's relay and media sockets, between `av-call-allocate` and `av-call-media`.
    pub(crate) call: Option<checks::CallMedia>,
    /// Events that arrived for an actor whose expect step comes later in
    /// the current run of expect steps.
    deferred: VecDeque<ActorEvent>,
    /// Actors with expect steps later in the current run of expect steps.
    upcoming: Vec<String>,
    /// Each actor's own tag, stable for the whole case so dialogs hold.
    tags: HashMap<String, String>,
    /// Each actor's current dialog.
    dialogs: HashMap<String, ActorDialog>,
    /// The connection each actor's latest message arrived on.
    last_connection: HashMap<String, ConnHandle>,
    /// Actors this case took down; they are brought back up when it ends.
    downed: Vec<Actor>,
    /// Actors this case replaced with an impostor; they are themselves
    /// again when it ends.
    pub(crate) impersonated: Vec<Actor>,
    /// Whether the case runs alone (and so cleans up after itself).
    exclusive: bool,
    records: BTreeMap<u64, ConnectionRecord>,
    transcript: TranscriptLog,
    pub(crate) certificates: Vec<(String, Vec<CertificateDer<'static>>)>,
    /// What checks found that the pass reason should say (how the Edge refused, ...).
    findings: Vec<String>,
    /// What the case observed that its requirement does not judge.
    observations: Vec<String>,
    /// Warnings and observations (reported beside the verdict).
    recorded: Vec<Finding>,
    /// The requirement an `observe` rule's observation cites.
    first_requirement: String,
    /// UDP datagrams recorded at the harness's A/V sockets.
    pub(crate) av_datagrams: picharness_simulators::av::DatagramLog,
    /// Measurements a passing case reports after its reason (loss, jitter, ...).
    pub(crate) details: Vec<String>,
    /// An expect step is waiting for the answer to a hostile input.
    answering_hostile: bool,
    /// The background abuse a robustness case started and has not ended.
    pub(crate) abuse: Option<super::abuse::RunningAbuse>,
    /// Whether the case sent something that is not valid SIP (bytes that
    /// do not parse, or a message the validator finds an error in): what
    /// the Edge then relays inward is malformed input, not merely a request
    /// it should have refused.
    pub(crate) sent_malformed: bool,
    started: SystemTime,
    /// The case's id, for the run's view of the Edge's liveness.
    case_id: String,
    _routes: Vec<UserRoute>,
}

fn slug(id: &str) -> String {
    id.replace('.', "-")
}

/// Runs `case` and returns its outcome and evidence. `nonce` makes this
/// run's user names unique.
pub async fn run_case(topology: &Topology, case: &Case, nonce: &str) -> (Outcome, CaseArtifacts) {
    if let Some(reason) = topology
        .setting
        .skip_reason(case)
        .or_else(|| crate::applicability::missing_feature(&topology.profiles, case))
    {
        return (
            Outcome::new(Verdict::Skipped, reason),
            CaseArtifacts::default(),
        );
    }
    // Exclusive cases disturb shared actors. Against the embedded Edge each
    // gets a private copy of the topology, so nothing waits for it; against
    // a configured SUT it runs alone, and its wait for the others is not
    // part of its time.
    if case.exclusive
        && let Some(copies) = &topology.private_copies
    {
        return match copies.start().await {
            Ok((private, lease)) => {
                let (outcome, artifacts) = run_steps(&private, case, nonce, Duration::ZERO).await;
                drop(private);
                drop(lease);
                (outcome, artifacts)
            }
            Err(e) => (
                Outcome::error(format!(
                    "cannot start a private copy of the embedded topology for this exclusive case: {e}"
                )),
                CaseArtifacts::default(),
            ),
        };
    }
    let waiting = Instant::now();
    let _shared;
    let _alone;
    if case.exclusive {
        _alone = topology.exclusive.write().await;
    } else {
        _shared = topology.exclusive.read().await;
    }
    run_steps(topology, case, nonce, waiting.elapsed()).await
}

/// Runs the steps of `case` against `topology`; `waited` is how long the
/// case waited to start (recorded with its artifacts).
async fn run_steps(
    topology: &Topology,
    case: &Case,
    nonce: &str,
    waited: Duration,
) -> (Outcome, CaseArtifacts) {
    let mut run = CaseRun::new(topology, case, nonce);
    let mut outcome = Outcome::pass(format!("all {} steps held", case.steps.len()));
    let mut unmet = 0;
    for (index, step) in case.steps.iter().enumerate() {
        run.upcoming = upcoming_expect_actors(&case.steps[index + 1..]);
        // "step N: ..." marks where each step starts; the HTML ladder finds
        // the failed step by this number (the same N as `failed_step`).
        let note = step
            .note
            .as_ref()
            .map(|note| format!(" ({note})"))
            .unwrap_or_default();
        run.note(format!("step {}: {}{note}", index + 1, step.describe()));
        let result = match tokio::time::timeout_at(run.deadline, run.step(step)).await {
            Ok(result) => result,
            Err(_) => Err(Outcome::fail(run.timed_out(step, case.timeout))),
        };
        let result = match (result, &step.if_unmet) {
            (Err(failed), Some(if_unmet)) if failed.verdict == Verdict::Fail => {
                // The requirement does not ask for this: what failed is a
                // finding, and the case goes on.
                run.note(format!(
                    "step {} unmet, recorded as {} citing {}: {}",
                    index + 1,
                    if_unmet.kind,
                    if_unmet.cites,
                    failed.reason
                ));
                run.record_finding(if_unmet.kind, &if_unmet.cites, failed.reason);
                unmet += 1;
                Ok(())
            }
            (result, _) => result,
        };
        if let Err(mut failed) = result {
            if step.control {
                failed = control_failed(index, step, failed);
            }
            if crate::plan::is_robustness(case) {
                failed = robustness::classify(&mut run, case, index, step, failed).await;
            }
            failed.failed_step = Some(format!("{}: {}", index + 1, step.describe()));
            run.note(format!("verdict {}: {}", failed.verdict, failed.reason));
            outcome = failed;
            break;
        }
    }
    if let Err(restore) = run.restore().await
        && outcome.verdict == Verdict::Pass
    {
        outcome = restore;
    }
    if outcome.verdict == Verdict::Pass && unmet > 0 {
        outcome.reason = format!(
            "{} of {} steps held; {unmet} unmet step(s) recorded as findings (not asked for by the requirement)",
            case.steps.len() - unmet,
            case.steps.len()
        );
    }
    if talks_sip(case) {
        let judged = topology
            .liveness
            .judge(
                &case.id,
                run.started,
                topology.sut.external,
                outcome.clone(),
            )
            .await;
        if judged != outcome {
            run.note(format!("liveness: {}", judged.reason));
        }
        outcome = judged;
    }
    if outcome.verdict == Verdict::Pass && !run.findings.is_empty() {
        outcome.reason = format!("{}: {}", outcome.reason, run.findings.join("; "));
    }
    if outcome.verdict == Verdict::Pass && !run.details.is_empty() {
        outcome.reason = format!("{}; {}", outcome.reason, run.details.join("; "));
    }
    if outcome.verdict == Verdict::Pass && !run.observations.is_empty() {
        outcome.reason = format!(
            "{}; observation: {}",
            outcome.reason,
            run.observations.join("; observation: ")
        );
    }
    outcome.observations = std::mem::take(&mut run.observations);
    outcome.findings = std::mem::take(&mut run.recorded);
    let mut artifacts = run.finish();
    artifacts.waited = waited;
    (outcome, artifacts)
}

/// Time a case gets beyond its own timeout because the run asked a check
/// to wait longer: `--av-expiry-wait` for the allocation expiry check.
fn extra_time(topology: &Topology, case: &Case) -> Duration {
    let waits_for_expiry = case.steps.iter().any(|s| {
        matches!(
            s.action,
            Action::Check(crate::scenario::CheckKind::TurnAllocationExpiry)
        )
    });
    match &topology.av {
        Some(view) if waits_for_expiry => checks::av_expiry::extra_time(view.expiry_wait_secs),
        _ => Duration::ZERO,
    }
}

/// Whether the case talks SIP with the Edge (a peer or the pool acts in it):
/// then a dead Edge explains its failure.
fn talks_sip(case: &Case) -> bool {
    case.steps
        .iter()
        .any(|s| matches!(s.actor, Actor::Peer(_) | Actor::Pool))
}

/// Why the case does not apply: a provider it uses whose profile lacks a
/// feature the case needs.
/// A control step proves the Edge works; when it does not hold, a refusal
/// elsewhere in the case proves nothing, so the case cannot be judged.
fn control_failed(index: usize, step: &Step, failed: Outcome) -> Outcome {
    if !matches!(failed.verdict, Verdict::Fail | Verdict::Inconclusive) {
        return failed;
    }
    Outcome::inconclusive(format!(
        "control step {} ({}) did not hold, so this Edge was not shown to work and a refusal proves nothing: {}",
        index + 1,
        step.describe(),
        failed.reason
    ))
}

/// The actors that expect something in the run of expect steps starting at
/// `rest[0]`. Within such a run, messages for different actors may arrive
/// in any order; for each actor, order holds.
fn upcoming_expect_actors(rest: &[Step]) -> Vec<String> {
    rest.iter()
        .take_while(|s| matches!(s.action, Action::Expect(_)))
        .map(|s| s.actor.name().to_owned())
        .collect()
}

/// Why a step that ran out of time failed, naming what never happened.
fn timeout_reason(step: &Step, timeout: Duration) -> String {
    let ms = timeout.as_millis();
    match &step.action {
        Action::Expect(expectation) => format!(
            "nothing arrived at {} while it waited for {} (case timeout {ms} ms)",
            step.actor.name(),
            describe(expectation)
        ),
        _ => format!(
            "{} did not complete within the case timeout of {ms} ms",
            step.describe()
        ),
    }
}

/// The phrase a simulated actor uses for a status code it sends.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        200 => "OK",
        202 => "Accepted",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        483 => "Too Many Hops",
        486 => "Busy Here",
        488 => "Not Acceptable Here",
        500 => "Server Internal Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

impl<'a> CaseRun<'a> {
    fn new(topology: &'a Topology, case: &'a Case, nonce: &str) -> Self {
        let (inbox_tx, inbox) = unbounded_channel();
        let slug = slug(&case.id);
        let lync_user = format!("lync-{slug}-{nonce}");
        let peer_user = format!("peer-{slug}-{nonce}");
        let mut vars = TemplateVars::default();
        vars.set("user.lync", lync_user.clone());
        vars.set("user.peer", peer_user.clone());
        vars.set("sut.domain", topology.sut.sip_domain.clone());
        vars.set("sut.fqdn", topology.sut.access_edge_fqdn.clone());
        vars.set("sut.internal_fqdn", topology.sut.internal_fqdn.clone());
        if let Some(pool) = &topology.pool {
            vars.set("pool.fqdn", pool.fqdn().to_owned());
        }
        vars.set("call_id", format!("{slug}-{nonce}@picharness"));
        if let Some(profile) = case.providers.first().and_then(|p| topology.profile(p)) {
            vars.set(
                "peer.domain",
                profile.domains.first().cloned().unwrap_or_default(),
            );
            vars.set("peer.fqdn", profile.federation_fqdn.clone());
        }
        let mut routes: Vec<UserRoute> = topology
            .pool
            .iter()
            .map(|pool| pool.route_user(&lync_user, inbox_tx.clone()))
            .collect();
        for provider in &case.providers {
            if let Some(peer) = topology.peers.get(provider) {
                routes.push(peer.route_user(&peer_user, inbox_tx.clone()));
            }
        }
        Self {
            topology,
            vars,
            deadline: Instant::now() + case.timeout + extra_time(topology, case),
            inbox_tx,
            inbox,
            client_connections: HashMap::new(),
            last_request: HashMap::new(),
            last_request_by_method: HashMap::new(),
            last_branch: HashMap::new(),
            last_response_to: HashMap::new(),
            last_sent_body: HashMap::new(),
            sent_requests: SentRequests::default(),
            invite_answer: None,
            call: None,
            deferred: VecDeque::new(),
            upcoming: Vec::new(),
            tags: HashMap::new(),
            dialogs: HashMap::new(),
            last_connection: HashMap::new(),
            downed: Vec::new(),
            impersonated: Vec::new(),
            exclusive: case.exclusive,
            records: BTreeMap::new(),
            transcript: TranscriptLog::default(),
            certificates: Vec::new(),
            findings: Vec::new(),
            observations: Vec::new(),
            recorded: Vec::new(),
            first_requirement: case.requirements.first().cloned().unwrap_or_default(),
            av_datagrams: picharness_simulators::av::DatagramLog::default(),
            details: Vec::new(),
            answering_hostile: false,
            abuse: None,
            sent_malformed: false,
            started: SystemTime::now(),
            case_id: case.id.clone(),
            _routes: routes,
        }
    }

    pub(crate) fn actor(&self, actor: &Actor) -> Result<&'a Arc<SipActor>, Outcome> {
        match actor {
            Actor::Pool => self
                .topology
                .pool
                .as_ref()
                .ok_or_else(|| Outcome::error("the topology has no pool (external-only mode)")),
            Actor::Peer(name) => self
                .topology
                .peers
                .get(name)
                .ok_or_else(|| Outcome::error(format!("the topology has no {name} peer"))),
            Actor::Dns => Err(Outcome::error("the dns actor cannot send or receive SIP")),
            Actor::Av => Err(Outcome::error("the av actor cannot send or receive SIP")),
        }
    }

    /// Why a step ran out of time, with what arrived at the step's actor
    /// that is not a complete message (a message the Edge stopped sending
    /// halfway): then "nothing arrived" would be untrue.
    fn timed_out(&mut self, step: &Step, timeout: Duration) -> String {
        let mut reason = timeout_reason(step, timeout);
        let partial = self.unframed_at(&step.actor);
        if let Some(first) = partial.first() {
            reason = reason.replacen("nothing arrived at", "no complete message arrived at", 1);
            reason.push_str(&format!("; {first}"));
            for line in partial {
                self.note(line);
            }
        }
        reason
    }

    /// What the actor's connections hold that is not (yet) a complete
    /// message, one line per connection.
    fn unframed_at(&self, actor: &Actor) -> Vec<String> {
        let Ok(sip_actor) = self.actor(actor) else {
            return Vec::new();
        };
        let name = actor.name();
        let mut seen = std::collections::HashSet::new();
        let mut waiting = Vec::new();
        let own = self
            .client_connections
            .get(name)
            .into_iter()
            .chain(self.last_connection.get(name))
            .map(|c| (c.clone(), c.unframed()));
        for (connection, unframed) in own.chain(sip_actor.unframed_accepted()) {
            if unframed.total == 0 || !seen.insert(connection.id) {
                continue;
            }
            waiting.push(format!(
                "{} bytes of an incomplete message are waiting on {name}'s connection {} <- {}: {}",
                unframed.total,
                connection.local,
                connection.remote,
                escaped_preview(&unframed.head, REASON_PREVIEW)
            ));
        }
        waiting
    }

    pub(crate) fn note(&mut self, text: impl Into<String>) {
        self.transcript.push(TranscriptEntry {
            at: SystemTime::now(),
            actor: "runner".to_owned(),
            kind: "note".to_owned(),
            local: None,
            remote: None,
            text: text.into(),
        });
    }

    /// Records something the requirement does not judge: in the
    /// transcript now, and with the verdict at the end.
    pub(crate) fn observe(&mut self, text: impl Into<String>) {
        let text = text.into();
        self.note(format!("observation: {text}"));
        // A first-class observation too, citing the case's first
        // requirement (the one whose test method the rule goes beyond).
        let cites = self.first_requirement.clone();
        self.recorded.push(Finding {
            kind: FindingKind::Observation,
            requirement: cites,
            text: text.clone(),
        });
        self.observations.push(text);
    }

    /// The Edge's names and the addresses of its listeners: what a header
    /// naming "the Edge" may hold.
    pub(crate) fn edge_hosts(&self) -> Vec<String> {
        let sut = &self.topology.sut;
        let mut hosts = vec![sut.access_edge_fqdn.clone(), sut.internal_fqdn.clone()];
        let addresses = sut
            .pool_members
            .iter()
            .chain([&sut.external, &sut.internal])
            .map(|a| a.ip().to_string());
        for address in addresses {
            if !hosts.contains(&address) {
                hosts.push(address);
            }
        }
        hosts
    }

    pub(crate) fn remember_connection(&mut self, record: &ConnectionRecord, id: u64) {
        self.records.entry(id).or_insert_with(|| record.clone());
    }

    /// Keeps the certificate chain the Edge presented on `connection` as
    /// case evidence, once per name: `sut-external-server-chain` or
    /// `sut-internal-server-chain` when our actor connected to the Edge,
    /// `sut-client-chain-to-<actor>` when the Edge connected to it.
    fn remember_sut_chain(&mut self, actor: &str, connection: &ConnHandle) {
        if connection.peer_chain.is_empty() {
            return;
        }
        let name = if connection.remote == self.topology.sut.external {
            "sut-external-server-chain".to_owned()
        } else if connection.remote == self.topology.sut.internal {
            "sut-internal-server-chain".to_owned()
        } else {
            format!("sut-client-chain-to-{actor}")
        };
        if self.certificates.iter().all(|(known, _)| *known != name) {
            self.certificates
                .push((name, connection.peer_chain.as_ref().clone()));
        }
    }

    fn log_message(&mut self, actor: &str, kind: &str, connection: &ConnHandle, text: String) {
        if kind == "received" {
            self.topology.liveness.alive(&self.case_id);
        }
        self.remember_connection(&connection.record, connection.id);
        self.remember_sut_chain(actor, connection);
        self.transcript.push(TranscriptEntry {
            at: SystemTime::now(),
            actor: actor.to_owned(),
            kind: kind.to_owned(),
            local: Some(connection.local),
            remote: Some(connection.remote),
            text,
        });
    }

    fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    async fn step(&mut self, step: &Step) -> Result<(), Outcome> {
        match &step.action {
            Action::Send {
                template,
                reuse_connection,
            } => self.send(&step.actor, template, *reuse_connection).await,
            Action::SendRaw {
                bytes,
                reuse_connection,
            } => self.send_raw(&step.actor, bytes, *reuse_connection).await,
            Action::SetState { up } => self.set_state(&step.actor, *up).await,
            Action::Expect(expectation) => self.expect(&step.actor, expectation).await,
            Action::Reply {
                status,
                to_method,
                body,
            } => self.reply(&step.actor, *status, to_method.as_deref(), body.as_ref()),
            Action::Check(kind) => checks::run_check(self, &step.actor, *kind).await,
            Action::Abuse(abuse) => self.abuse_step(&step.actor, *abuse).await,
        }
    }

    /// The actor's client connection to the SUT, opened on first use: peers
    /// connect to the Access Edge's external side, the pool to its internal side.
    async fn client_connection(&mut self, actor: &Actor) -> Result<ConnHandle, Outcome> {
        let name = actor.name().to_owned();
        if let Some(existing) = self
            .client_connections
            .get(&name)
            .filter(|c| !c.is_closed())
        {
            return Ok(existing.clone());
        }
        let candidates = self.edge_candidates(actor).await?;
        let sip_actor = self.actor(actor)?;
        let mut failures = Vec::new();
        let mut all_refused_here = true;
        let mut wrong_ports: Vec<u16> = Vec::new();
        for candidate in candidates {
            let (remote, server_name) = (candidate.address, candidate.server_name);
            match sip_actor
                .connect(remote, &server_name, self.inbox_tx.clone())
                .await
            {
                Ok(connection) => {
                    self.topology.liveness.alive(&self.case_id);
                    self.remember_connection(&connection.record, connection.id);
                    self.note(format!(
                        "{name} connected {} -> {remote} ({server_name}) with MTLS",
                        connection.local
                    ));
                    self.client_connections.insert(name, connection.clone());
                    return Ok(connection);
                }
                Err((error, record)) => {
                    if let Some(record) = record {
                        let id = u64::MAX - self.records.len() as u64;
                        self.remember_connection(&record, id);
                    }
                    all_refused_here &=
                        matches!(error, picharness_simulators::tls::TlsError::Refused(_));
                    if matches!(error, picharness_simulators::tls::TlsError::Refused(_)) {
                        wrong_ports.push(remote.port());
                    }
                    let failure = format!("at {remote} ({server_name}): {error}");
                    self.note(format!("{name} could not connect {failure}"));
                    failures.push(failure);
                }
            }
        }
        let reason = format!(
            "{name} could not open a mutual TLS connection to the Edge {}",
            failures.join("; nor ")
        );
        // The harness declined to send. For a peer, the destination came
        // from the SUT's DNS: a port other than 5061 is the SUT's DNS
        // breaking DNS-01 (never the harness's safety net posing as Edge
        // behaviour); an address the configuration does not name is said as
        // such, since the configuration may be what is incomplete.
        if all_refused_here && !failures.is_empty() {
            if matches!(actor, Actor::Peer(_)) && wrong_ports.iter().any(|p| *p != 5061) {
                return Err(Outcome::fail(format!(
                    "the SUT's DNS points {name} at port {} where the Edge must listen on 5061 (DNS-01); the harness's address allow-list refused to send there because the SUT pointed there: {}",
                    wrong_ports
                        .iter()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    failures.join("; ")
                )));
            }
            let why = if matches!(actor, Actor::Peer(_)) {
                "; the address allow-list refused it because the SUT's DNS pointed there, but the configuration does not name that address, so the Edge could not be judged"
            } else {
                ""
            };
            return Err(Outcome::error(format!("{reason}{why}")));
        }
        Err(Outcome::fail(reason))
    }

    /// Where an actor's client connection to the SUT goes: the pool to the
    /// Edge's internal side; a peer wherever its profile's way of locating
    /// the Edge (DNS) says, in order.
    async fn edge_candidates(&mut self, actor: &Actor) -> Result<Vec<EdgeCandidate>, Outcome> {
        let sut = &self.topology.sut;
        let how = match actor {
            Actor::Pool => {
                return Ok(vec![EdgeCandidate {
                    address: sut.internal,
                    server_name: sut.internal_fqdn.clone(),
                }]);
            }
            Actor::Peer(name) => self
                .topology
                .profile(name)
                .map(|p| p.locate_edge)
                .unwrap_or_default(),
            Actor::Dns | Actor::Av => {
                return Err(Outcome::error(format!(
                    "the {} actor cannot send or receive SIP",
                    actor.name()
                )));
            }
        };
        let name = actor.name().to_owned();
        match locate_edge(
            how,
            sut,
            self.topology.dns_server,
            self.topology.dns_client_log.clone(),
        )
        .await
        {
            Ok(located) => {
                for note in located.notes {
                    self.note(format!("{name} locating the Edge: {note}"));
                }
                Ok(located.candidates)
            }
            Err(LocateError::NotFound { reason, notes }) => {
                for note in notes {
                    self.note(format!("{name} locating the Edge: {note}"));
                }
                Err(Outcome::fail(format!(
                    "{name} could not locate the Edge: {reason}"
                )))
            }
            Err(LocateError::NoAnswer { reason, notes }) => {
                for note in notes {
                    self.note(format!("{name} locating the Edge: {note}"));
                }
                Err(Outcome::inconclusive(format!(
                    "{name} could not locate the Edge: {reason}"
                )))
            }
        }
    }

    pub(crate) async fn send(
        &mut self,
        actor: &Actor,
        template: &str,
        reuse_connection: bool,
    ) -> Result<(), Outcome> {
        let sip_actor = self.actor(actor)?;
        self.vars.set("local.fqdn", sip_actor.fqdn().to_owned());
        let tag = self.tag_of(actor.name());
        self.vars.set("tag", tag);
        let branch = format!("z9hG4bK-ph-{:016x}", rand::random::<u64>());
        // `{last_branch}` is the branch of the actor's latest send that made
        // a new one (a CANCEL or hop-by-hop ACK reuses it and keeps it).
        let previous_branch = self
            .last_branch
            .get(actor.name())
            .cloned()
            .unwrap_or_default();
        if template.contains("{branch}") {
            self.last_branch
                .insert(actor.name().to_owned(), branch.clone());
        }
        self.vars.set("last_branch", previous_branch);
        self.vars.set("branch", branch);
        let response_to = self
            .last_response_to
            .get(actor.name())
            .cloned()
            .unwrap_or_default();
        self.vars.set("response.to", response_to);
        let dialog = self
            .dialogs
            .get(actor.name())
            .map(ActorDialog::template_values);
        if dialog.is_none()
            && (template.contains("{dialog.target}") || template.contains("{dialog.remote}"))
        {
            // Sending a request with an empty target would make the SUT's
            // refusal look like its fault: the scenario is what went wrong.
            return Err(Outcome::error(format!(
                "the scenario sends in a dialog, but {} is in none: it has neither answered an INVITE or SUBSCRIBE with 101-299 nor accepted such an answer to one it sent (RFC 3261 §12.1; the message that forms a dialog needs a Contact and tags)",
                actor.name()
            )));
        }
        let (target, route, remote) = dialog.unwrap_or_default();
        self.vars.set("dialog.target", target);
        self.vars.set("dialog.remote", remote);
        self.vars.set("dialog.route", route);
        let bytes = render_message(template, &self.vars);
        self.sent_requests.record(actor.name(), &bytes);
        if SipMessage::parse(&bytes).map_or(true, |m| validity_problem(&m, "").is_some()) {
            self.sent_malformed = true;
        }
        let body = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or_else(Vec::new, |at| bytes[at + 4..].to_vec());
        self.last_sent_body.insert(actor.name().to_owned(), body);
        let connection = self.sending_connection(actor, reuse_connection).await?;
        self.log_message(
            actor.name(),
            "sent",
            &connection,
            String::from_utf8_lossy(&bytes).into_owned(),
        );
        connection.send(bytes).map_err(|_| {
            Outcome::fail(format!(
                "the Edge closed the connection from {} before the message could be sent",
                actor.name()
            ))
        })
    }

    /// The connection a send goes on: the actor's own client connection to
    /// the SUT, or (`reuse`) the one the actor's latest message arrived on,
    /// which this case then claims so what comes back on it reaches it.
    async fn sending_connection(
        &mut self,
        actor: &Actor,
        reuse: bool,
    ) -> Result<ConnHandle, Outcome> {
        if !reuse {
            return self.client_connection(actor).await;
        }
        let name = actor.name();
        let Some(connection) = self.last_connection.get(name).cloned() else {
            return Err(Outcome::error(format!(
                "scenario asks {name} to send on the connection of its latest message, but it has received none"
            )));
        };
        self.actor(actor)?
            .claim_connection(connection.id, self.inbox_tx.clone());
        Ok(connection)
    }

    /// Takes the actor down or brings it back up.
    async fn set_state(&mut self, actor: &Actor, up: bool) -> Result<(), Outcome> {
        let sip_actor = self.actor(actor)?;
        if up {
            sip_actor.come_up().await.map_err(|e| {
                Outcome::error(format!("{} could not come back up: {e}", actor.name()))
            })?;
            self.downed.retain(|a| a != actor);
            self.note(format!("{} is serving again", actor.name()));
        } else {
            sip_actor.go_down();
            self.downed.push(actor.clone());
            self.note(format!(
                "{} went down: its listener is closed and its connections dropped",
                actor.name()
            ));
        }
        Ok(())
    }

    /// Brings back every actor this case took down, whatever its verdict,
    /// so no later case inherits a broken topology. An exclusive case also
    /// closes its own connections and waits for the SUT to close its side,
    /// so nothing it set up (a connection the SUT reuses) outlives it.
    async fn restore(&mut self) -> Result<(), Outcome> {
        self.end_abuse_left_running().await;
        if self.exclusive {
            let connections: Vec<ConnHandle> = self.client_connections.values().cloned().collect();
            for connection in connections {
                if !connection.close(Duration::from_secs(2)).await {
                    self.note(format!(
                        "the SUT did not close {} -> {} within 2 s of our close",
                        connection.local, connection.remote
                    ));
                }
            }
        }
        for actor in std::mem::take(&mut self.impersonated) {
            self.actor(&actor)?.stop_impersonating().await;
        }
        for actor in std::mem::take(&mut self.downed) {
            self.set_state(&actor, true).await?;
        }
        Ok(())
    }

    /// The actor's tag for this case, made on first use.
    fn tag_of(&mut self, actor: &str) -> String {
        self.tags
            .entry(actor.to_owned())
            .or_insert_with(|| picharness_simulators::actor::new_tag(actor))
            .clone()
    }

    async fn send_raw(
        &mut self,
        actor: &Actor,
        bytes: &[u8],
        reuse_connection: bool,
    ) -> Result<(), Outcome> {
        let keep_alive = bytes.iter().all(|b| matches!(b, b'\r' | b'\n'));
        if !keep_alive
            && SipMessage::parse(bytes).map_or(true, |m| validity_problem(&m, "").is_some())
        {
            self.sent_malformed = true;
        }
        let connection = self.sending_connection(actor, reuse_connection).await?;
        self.log_message(
            actor.name(),
            "sent",
            &connection,
            format!(
                "{} raw bytes: {:?}",
                bytes.len(),
                String::from_utf8_lossy(bytes)
            ),
        );
        connection.send(bytes.to_vec()).map_err(|_| {
            Outcome::fail(format!(
                "the Edge closed the connection from {} before the bytes could be sent",
                actor.name()
            ))
        })
    }

    pub(crate) fn reply(
        &mut self,
        actor: &Actor,
        status: u16,
        to_method: Option<&str>,
        body: Option<&(String, String)>,
    ) -> Result<(), Outcome> {
        let name = actor.name().to_owned();
        let latest = match to_method {
            Some(method) => self
                .last_request_by_method
                .get(&(name.clone(), method.to_owned())),
            None => self.last_request.get(&name),
        };
        let Some((request, connection)) = latest.cloned() else {
            let what = to_method.map_or_else(|| "request".to_owned(), |m| format!("{m} request"));
            return Err(Outcome::error(format!(
                "scenario asks {name} to reply but {name} has received no {what}"
            )));
        };
        let tag = self.tag_of(&name);
        let mut response = request.response(status, reason_phrase(status), Some(&tag));
        if request.method() == Some("SUBSCRIBE")
            && (200..300).contains(&status)
            && let Some(expires) = request.headers.first("expires")
        {
            // RFC 6665 §4.2.1.1: the 2xx carries the granted duration.
            let expires = expires.to_owned();
            response.headers.push("Expires", expires);
        }
        if request.method().is_some_and(creates_dialog) && (200..300).contains(&status) {
            let user = request
                .request_uri()
                .and_then(|u| SipUri::parse(u).ok())
                .and_then(|u| u.user)
                .unwrap_or_default();
            let fqdn = self.actor(actor)?.fqdn().to_owned();
            response
                .headers
                .push("Contact", format!("<sip:{user}@{fqdn}:5061;transport=tls>"));
        }
        if let Some((content_type, template)) = body {
            let text = template_substitute(&template.replace("\r\n", "\n"), &self.vars)
                .replace('\n', "\r\n");
            response.headers.push("Content-Type", content_type.clone());
            response.set_body(text.into_bytes());
        }
        self.last_sent_body
            .insert(name.clone(), response.body.clone());
        self.answered(&name, &request, status);
        let response = response.to_bytes();
        self.log_message(
            &name,
            "sent",
            &connection,
            String::from_utf8_lossy(&response).into_owned(),
        );
        connection.send(response).map_err(|_| {
            Outcome::fail(format!(
                "the Edge closed its connection to {name} before the {status} could be sent"
            ))
        })
    }

    /// Records a finding for the pass reason (and the transcript).
    pub(crate) fn finding(&mut self, text: impl Into<String>) {
        let text = text.into();
        self.note(text.clone());
        self.findings.push(text);
    }

    /// Records a warning or an observation citing `requirement`: counted
    /// and reported beside the verdict, never a fail by itself.
    pub(crate) fn record_finding(
        &mut self,
        kind: FindingKind,
        requirement: &str,
        text: impl Into<String>,
    ) {
        let text = text.into();
        self.note(format!("{kind} ({requirement}): {text}"));
        self.recorded.push(Finding {
            kind,
            requirement: requirement.to_owned(),
            text,
        });
    }

    /// Keeps a probe connection's record (a connection a check opened
    /// outside the actors' connection pools) for the case's trace.
    pub(crate) fn remember_probe_connection(&mut self, record: &ConnectionRecord) {
        let id = u64::MAX - self.records.len() as u64;
        self.remember_connection(record, id);
    }

    /// Waits up to `within` for the next SIP message that reaches one of
    /// the case's actors and logs it; `None` when nothing arrived.
    pub(crate) async fn next_arrival(&mut self, within: Duration) -> Option<(String, SipMessage)> {
        let deadline = Instant::now() + within.min(self.remaining());
        loop {
            let event = tokio::time::timeout_at(deadline, self.inbox.recv())
                .await
                .ok()??;
            if let ActorEventKind::Message(message) = event.kind {
                let text = String::from_utf8_lossy(&message.raw).into_owned();
                self.log_message(&event.actor, "received", &event.connection, text);
                return Some((event.actor, message));
            }
        }
    }

    /// Like [`Self::next_arrival`], and a request that arrives becomes the
    /// one [`Self::reply`] answers for its actor.
    pub(crate) async fn next_arrival_to_answer(
        &mut self,
        within: Duration,
    ) -> Option<(String, SipMessage)> {
        self.next_arrival_on(within)
            .await
            .map(|(actor, message, _)| (actor, message))
    }

    /// Like [`Self::next_arrival_to_answer`], with the id of the connection
    /// the message arrived on.
    pub(crate) async fn next_arrival_on(
        &mut self,
        within: Duration,
    ) -> Option<(String, SipMessage, u64)> {
        let deadline = Instant::now() + within.min(self.remaining());
        loop {
            let event = tokio::time::timeout_at(deadline, self.inbox.recv())
                .await
                .ok()??;
            if let ActorEventKind::Message(message) = event.kind {
                let text = String::from_utf8_lossy(&message.raw).into_owned();
                self.log_message(&event.actor, "received", &event.connection, text);
                if let Some(method) = message.method() {
                    let kept = (message.clone(), event.connection.clone());
                    self.last_request_by_method
                        .insert((event.actor.clone(), method.to_owned()), kept.clone());
                    self.last_request.insert(event.actor.clone(), kept);
                }
                return Some((event.actor, message, event.connection.id));
            }
        }
    }

    /// The latest `method` request `actor` received.
    pub(crate) fn received_request(&self, actor: &str, method: &str) -> Option<&SipMessage> {
        self.last_request_by_method
            .get(&(actor.to_owned(), method.to_owned()))
            .map(|(message, _)| message)
    }

    /// The latest 2xx to an INVITE that reached any actor.
    pub(crate) fn invite_answer(&self) -> Option<&SipMessage> {
        self.invite_answer.as_ref()
    }

    /// When the case began (what reached an actor since belongs to it).
    pub(crate) fn started_at(&self) -> SystemTime {
        self.started
    }

    /// Waits no longer than the deadline; used by checks that poll.
    pub(crate) fn time_left(&self) -> Duration {
        self.remaining()
    }

    fn finish(mut self) -> CaseArtifacts {
        let ended = SystemTime::now();
        let from = self
            .started
            .checked_sub(Duration::from_millis(1))
            .unwrap_or(self.started);
        let crl_log = self.topology.crl.as_ref().map(|crl| crl.log().clone());
        if let Some(log) = &crl_log {
            for request in log.requests_between(from, ended) {
                self.note(format!(
                    "HTTP request to the CRL responder: {}",
                    request.one_line()
                ));
            }
        }
        let mut datagrams = self.topology.dns_log.between(from, ended);
        datagrams.extend(self.av_datagrams.snapshot());
        let datagrams_not_kept = self.av_datagrams.not_kept();
        if datagrams_not_kept > 0 {
            self.note(format!(
                "{datagrams_not_kept} later datagrams not kept: a case keeps at most {} bytes of datagrams",
                picharness_simulators::av::MAX_CASE_DATAGRAM_BYTES
            ));
        }
        let mut artifacts = CaseArtifacts::gather(
            self.records.into_values().collect(),
            datagrams,
            self.topology.key_log.snapshot(),
            self.transcript.into_entries(),
            self.certificates,
        );
        artifacts.started = Some(self.started);
        // DNS over TCP of the case's time window, beside the UDP datagrams.
        artifacts
            .evidence
            .streams
            .extend(self.topology.dns_log.tcp_streams_between(from, ended));
        // CRL fetches (HTTP) of the same window.
        if let Some(log) = crl_log {
            artifacts
                .evidence
                .streams
                .extend(log.tcp_streams_between(from, ended));
        }
        artifacts
    }
}
