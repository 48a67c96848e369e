//! Executes a case's steps in order against a topology. Every wait is
//! bounded by the case deadline; whatever happens, the evidence gathered so
//! far is returned with the verdict.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use picharness_reports::TranscriptEntry;
use picharness_simulators::actor::{ActorEvent, ActorEventKind, SipActor, UserRoute};
use picharness_simulators::sip_conn::ConnHandle;
use picharness_simulators::tls::ConnectionRecord;
use picharness_wire::sip::SipMessage;
use rustls_pki_types::CertificateDer;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::Instant;

use super::checks;
use super::evidence::CaseArtifacts;
use super::matching::{describe, header_problem, is_expected_kind};
use super::outcome::Outcome;
use crate::scenario::{
    Action, Actor, Case, MessageExpectation, Step, TemplateVars, render_message,
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
    last_request: HashMap<String, (SipMessage, ConnHandle)>,
    records: BTreeMap<u64, ConnectionRecord>,
    transcript: Vec<TranscriptEntry>,
    pub(crate) certificates: Vec<(String, Vec<CertificateDer<'static>>)>,
    /// UDP datagrams recorded at the harness's A/V sockets.
    pub(crate) av_datagrams: picharness_simulators::av::DatagramLog,
    /// Measurements a passing case reports after its reason (loss, jitter, ...).
    pub(crate) details: Vec<String>,
    started: SystemTime,
    _routes: Vec<UserRoute>,
}

fn slug(id: &str) -> String {
    id.replace('.', "-")
}

/// Runs `case` and returns its outcome and evidence. `nonce` makes this
/// run's user names unique.
pub async fn run_case(topology: &Topology, case: &Case, nonce: &str) -> (Outcome, CaseArtifacts) {
    let mut run = CaseRun::new(topology, case, nonce);
    let mut outcome = Outcome::pass(format!("all {} steps held", case.steps.len()));
    for (index, step) in case.steps.iter().enumerate() {
        let result = match tokio::time::timeout_at(run.deadline, run.step(step)).await {
            Ok(result) => result,
            Err(_) => Err(Outcome::fail(format!(
                "step did not complete within the case timeout of {} ms",
                case.timeout.as_millis()
            ))),
        };
        if let Err(mut failed) = result {
            failed.failed_step = Some(format!("{}: {}", index + 1, step.describe()));
            run.note(format!("verdict {}: {}", failed.verdict, failed.reason));
            outcome = failed;
            break;
        }
    }
    if outcome.verdict == picharness_reports::Verdict::Pass && !run.details.is_empty() {
        outcome.reason = format!("{}; {}", outcome.reason, run.details.join("; "));
    }
    let artifacts = run.finish();
    (outcome, artifacts)
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
        vars.set("call_id", format!("{slug}-{nonce}@picharness"));
        if let Some(profile) = case.providers.first().and_then(|p| topology.profile(p)) {
            vars.set(
                "peer.domain",
                profile.domains.first().cloned().unwrap_or_default(),
            );
            vars.set("peer.fqdn", profile.federation_fqdn.clone());
        }
        let mut routes = vec![topology.pool.route_user(&lync_user, inbox_tx.clone())];
        for provider in &case.providers {
            if let Some(peer) = topology.peers.get(provider) {
                routes.push(peer.route_user(&peer_user, inbox_tx.clone()));
            }
        }
        Self {
            topology,
            vars,
            deadline: Instant::now() + case.timeout,
            inbox_tx,
            inbox,
            client_connections: HashMap::new(),
            last_request: HashMap::new(),
            records: BTreeMap::new(),
            transcript: Vec::new(),
            certificates: Vec::new(),
            av_datagrams: picharness_simulators::av::DatagramLog::default(),
            details: Vec::new(),
            started: SystemTime::now(),
            _routes: routes,
        }
    }

    pub(crate) fn actor(&self, actor: &Actor) -> Result<&'a Arc<SipActor>, Outcome> {
        match actor {
            Actor::Pool => Ok(&self.topology.pool),
            Actor::Peer(name) => self
                .topology
                .peers
                .get(name)
                .ok_or_else(|| Outcome::error(format!("the topology has no {name} peer"))),
            Actor::Dns => Err(Outcome::error("the dns actor cannot send or receive SIP")),
            Actor::Av => Err(Outcome::error("the av actor cannot send or receive SIP")),
        }
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

    pub(crate) fn remember_connection(&mut self, record: &ConnectionRecord, id: u64) {
        self.records.entry(id).or_insert_with(|| record.clone());
    }

    fn log_message(&mut self, actor: &str, kind: &str, connection: &ConnHandle, text: String) {
        self.remember_connection(&connection.record, connection.id);
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
        if let Some(note) = &step.note {
            self.note(format!("step: {} ({note})", step.describe()));
        }
        match &step.action {
            Action::Send { template } => self.send(&step.actor, template).await,
            Action::Expect(expectation) => self.expect(&step.actor, expectation).await,
            Action::Reply { status } => self.reply(&step.actor, *status),
            Action::Check(kind) => checks::run_check(self, &step.actor, *kind).await,
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
        let (remote, server_name) = match actor {
            Actor::Pool => (
                self.topology.sut.internal,
                self.topology.sut.internal_fqdn.clone(),
            ),
            _ => (
                self.topology.sut.external,
                self.topology.sut.access_edge_fqdn.clone(),
            ),
        };
        let sip_actor = self.actor(actor)?;
        match sip_actor
            .connect(remote, &server_name, self.inbox_tx.clone())
            .await
        {
            Ok(connection) => {
                self.remember_connection(&connection.record, connection.id);
                self.note(format!(
                    "{name} connected {} -> {remote} ({server_name}) with MTLS",
                    connection.local
                ));
                self.client_connections.insert(name, connection.clone());
                Ok(connection)
            }
            Err((error, record)) => {
                if let Some(record) = record {
                    let id = u64::MAX - self.records.len() as u64;
                    self.remember_connection(&record, id);
                }
                Err(Outcome::fail(format!(
                    "{name} could not open a mutual TLS connection to the Edge at {remote} ({server_name}): {error}"
                )))
            }
        }
    }

    async fn send(&mut self, actor: &Actor, template: &str) -> Result<(), Outcome> {
        let sip_actor = self.actor(actor)?;
        self.vars.set("local.fqdn", sip_actor.fqdn().to_owned());
        self.vars.set(
            "tag",
            format!("{}-{:08x}", actor.name(), rand::random::<u32>()),
        );
        self.vars.set(
            "branch",
            format!("z9hG4bK-ph-{:016x}", rand::random::<u64>()),
        );
        let bytes = render_message(template, &self.vars);
        let connection = self.client_connection(actor).await?;
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

    fn reply(&mut self, actor: &Actor, status: u16) -> Result<(), Outcome> {
        let name = actor.name().to_owned();
        let Some((request, connection)) = self.last_request.get(&name).cloned() else {
            return Err(Outcome::error(format!(
                "scenario asks {name} to reply but {name} has received no request"
            )));
        };
        let tag = format!("{name}-{:08x}", rand::random::<u32>());
        let response = request
            .response(status, reason_phrase(status), Some(&tag))
            .to_bytes();
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

    async fn expect(
        &mut self,
        actor: &Actor,
        expectation: &MessageExpectation,
    ) -> Result<(), Outcome> {
        let wanted = actor.name();
        let what = describe(expectation);
        loop {
            let Some(event) = self.inbox.recv().await else {
                return Err(Outcome::error("the case inbox closed unexpectedly"));
            };
            match event.kind {
                ActorEventKind::Message(message) => {
                    let text = String::from_utf8_lossy(if message.raw.is_empty() {
                        &[]
                    } else {
                        &message.raw
                    })
                    .into_owned();
                    self.log_message(&event.actor, "received", &event.connection, text);
                    let provisional = message.status().is_some_and(|s| s < 200);
                    let expecting_provisional = matches!(expectation, MessageExpectation::Response { status, .. } if !status.matches(200) && (100..200).any(|s| status.matches(s)));
                    if provisional && !expecting_provisional {
                        continue;
                    }
                    if event.actor != wanted {
                        return Err(Outcome::fail(format!(
                            "{} arrived at {} while {wanted} waited for {what}",
                            message.summary(),
                            event.actor
                        )));
                    }
                    if !is_expected_kind(expectation, &message) {
                        return Err(Outcome::fail(format!(
                            "{wanted} expected {what} but received {}",
                            message.summary()
                        )));
                    }
                    if let Some(problem) = header_problem(expectation, &message, wanted, &self.vars)
                    {
                        return Err(Outcome::fail(problem));
                    }
                    if message.is_request() {
                        self.last_request
                            .insert(event.actor.clone(), (message, event.connection));
                    }
                    return Ok(());
                }
                ActorEventKind::Garbage { bytes, error } => {
                    self.log_message(
                        &event.actor,
                        "received",
                        &event.connection,
                        String::from_utf8_lossy(&bytes).into_owned(),
                    );
                    return Err(Outcome::fail(format!(
                        "{} received bytes that are not a SIP message: {error}",
                        event.actor
                    )));
                }
                ActorEventKind::Closed { reason } => {
                    self.remember_connection(&event.connection.record, event.connection.id);
                    self.note(format!(
                        "{}'s connection {} -> {} closed: {reason}",
                        event.actor, event.connection.local, event.connection.remote
                    ));
                    return Err(Outcome::fail(format!(
                        "the Edge closed {}'s connection ({reason}) while {wanted} waited for {what}",
                        event.actor
                    )));
                }
            }
        }
    }

    /// Waits no longer than the deadline; used by checks that poll.
    pub(crate) fn time_left(&self) -> Duration {
        self.remaining()
    }

    fn finish(self) -> CaseArtifacts {
        let ended = SystemTime::now();
        let from = self
            .started
            .checked_sub(Duration::from_millis(1))
            .unwrap_or(self.started);
        let mut datagrams = self.topology.dns_log.between(from, ended);
        datagrams.extend(self.av_datagrams.snapshot());
        CaseArtifacts::gather(
            self.records.into_values().collect(),
            datagrams,
            self.topology.key_log.snapshot(),
            self.transcript,
            self.certificates,
        )
    }
}
