//! Background abuses of the robustness cases: `abuse = "NAME"` starts one
//! and returns once it holds (its connections are open), so the liveness
//! probe that follows runs *during* the abuse; `abuse = "end"` stops it,
//! writes what it saw into the transcript, keeps a bounded share of its
//! connections for the trace, and judges the Edge's immediate answers to
//! it (a handshake without a client certificate the Edge let through is a
//! wrong answer; how long the Edge kept slow connections is a finding).
//!
//! Every abuse is bounded: a fixed number of connections (see
//! [`crate::scenario::AbuseKind::describe`]), at most
//! [`ABUSE_MAX_HOLD`] of life, and the trace keeps the first
//! [`KEPT_CONNECTIONS`] connections (each itself capped by the capture),
//! the others counted as left out. The harness's own limits (open files,
//! local ports) never pose as the Edge's behaviour: an abuse that meets one
//! makes the case inconclusive, naming the limit.

mod burst;
mod fd_budget;
mod renegotiation;
mod slow;
mod tls12_record;
mod tls_abuse;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use picharness_simulators::pki::CertifiedKey;
use picharness_simulators::tls::{ConnectionRecord, KeyLogCollector, TlsError};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::execute::CaseRun;
use super::outcome::Outcome;
use crate::scenario::{
    ABUSE_MAX_HOLD, AbuseKind, AbuseStep, Actor, LONG_CHAIN_INTERMEDIATES, render_message,
};

/// Connections of an abuse the trace keeps in full (each within the
/// capture's own per-connection cap); later ones are counted only.
pub(crate) const KEPT_CONNECTIONS: usize = 8;
/// How long an abuse may take to get into place (its connections opened).
const SET_UP_BOUND: Duration = Duration::from_secs(20);
/// How long `abuse = "end"` waits for the abuse to wind down before it
/// cuts it off (its evidence is kept either way).
const WIND_DOWN_BOUND: Duration = Duration::from_secs(8);
/// Each connection attempt of an abuse gets this long.
pub(super) const CONNECT_BOUND: Duration = Duration::from_secs(5);
/// The Call-ID prefix of the abuses' requests, so the inward check can
/// tell them.
pub(crate) const ABUSE_CALL_ID_PREFIX: &str = "abuse-";

/// The request the slow abuses send (never completed by slowloris).
const ABUSE_MESSAGE: &str = "MESSAGE sip:{user.lync}@{sut.domain} SIP/2.0
Via: SIP/2.0/TLS {local.fqdn}:5061;branch=z9hG4bK-abuse-{tag}
Max-Forwards: 70
From: <sip:{user.peer}@{peer.domain}>;tag={tag}
To: <sip:{user.lync}@{sut.domain}>
Call-ID: {abuse.call_id}
CSeq: 1 MESSAGE
Content-Type: text/plain; charset=UTF-8
Content-Length: {content_length}

A request sent one byte at a time.
";

/// What an abuse's task needs, owned (it outlives the step that started it).
pub(super) struct AbuseContext {
    /// The abusing actor's address, where its connections come from.
    pub(super) local_ip: IpAddr,
    /// The Edge's external listener.
    pub(super) remote: SocketAddr,
    pub(super) server_name: String,
    /// The abusing peer's own certificate (for the abuses that complete
    /// mutual TLS).
    pub(super) identity: Arc<CertifiedKey>,
    pub(super) key_log: Arc<KeyLogCollector>,
    /// The request the slow abuses send.
    pub(super) message: Vec<u8>,
    /// The long-chain abuse's certificate, made when it starts.
    pub(super) long_chain: Option<Arc<CertifiedKey>>,
    /// Becomes true when the abuse must stop.
    pub(super) stop: watch::Receiver<bool>,
    pub(super) log: Arc<AbuseLog>,
}

impl AbuseContext {
    /// Resolves when the abuse must stop (asked to, or held its longest).
    pub(super) async fn stopped(&self) {
        let mut stop = self.stop.clone();
        let _ = tokio::time::timeout(ABUSE_MAX_HOLD, stop.wait_for(|s| *s)).await;
    }

    pub(super) fn is_stopped(&self) -> bool {
        *self.stop.borrow()
    }
}

/// What an abuse saw, shared with its task so nothing is lost when the
/// task is cut off.
#[derive(Default)]
pub(super) struct AbuseLog {
    notes: Mutex<Vec<String>>,
    records: Mutex<Vec<ConnectionRecord>>,
    not_kept: AtomicUsize,
    /// Immediate answers the requirement rules out, one line each.
    wrong: Mutex<Vec<String>>,
    /// What the Edge did that no requirement judges.
    findings: Mutex<Vec<String>>,
    /// What the Edge did that is worth a reader's attention though no
    /// requirement forbids it (an old protocol version accepted).
    observations: Mutex<Vec<String>>,
    /// Why the harness itself could not go on (its own limits).
    harness_limit: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AbuseLog {
    pub(super) fn note(&self, text: impl Into<String>) {
        lock(&self.notes).push(text.into());
    }

    /// Keeps a connection for the trace while there is room.
    pub(super) fn keep(&self, record: &ConnectionRecord) {
        let mut records = lock(&self.records);
        if records.len() < KEPT_CONNECTIONS {
            records.push(record.clone());
        } else {
            self.not_kept.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(super) fn wrong(&self, text: impl Into<String>) {
        lock(&self.wrong).push(text.into());
    }

    pub(super) fn finding(&self, text: impl Into<String>) {
        lock(&self.findings).push(text.into());
    }

    pub(super) fn observation(&self, text: impl Into<String>) {
        lock(&self.observations).push(text.into());
    }

    pub(super) fn harness_limit(&self, text: impl Into<String>) {
        lock(&self.harness_limit).get_or_insert(text.into());
    }
}

/// Whether a connection failure is the harness's own (no file descriptor,
/// no local port, a destination it declines), never the Edge's doing.
pub(super) fn harness_side(error: &TlsError) -> bool {
    let own = |e: &std::io::Error| {
        // EMFILE, ENFILE, EADDRNOTAVAIL, ENOBUFS, ENOMEM.
        matches!(e.raw_os_error(), Some(24 | 23 | 99 | 105 | 12))
    };
    match error {
        TlsError::Bind { .. }
        | TlsError::Refused(_)
        | TlsError::Config(_)
        | TlsError::InvalidServerName(_) => true,
        TlsError::Connect { source, .. } | TlsError::Io(source) => own(source),
        _ => false,
    }
}

/// An abuse running in the background.
pub(crate) struct RunningAbuse {
    kind: AbuseKind,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    log: Arc<AbuseLog>,
    started: Instant,
}

impl CaseRun<'_> {
    pub(super) async fn abuse_step(
        &mut self,
        actor: &Actor,
        step: AbuseStep,
    ) -> Result<(), Outcome> {
        match step {
            AbuseStep::Start(kind) => self.start_abuse(actor, kind).await,
            AbuseStep::End => match self.abuse.take() {
                Some(running) => self.end_abuse(running).await,
                None => Err(Outcome::error("no abuse is running to end")),
            },
        }
    }

    async fn start_abuse(&mut self, actor: &Actor, kind: AbuseKind) -> Result<(), Outcome> {
        let sip_actor = self.actor(actor)?;
        if let Some(short) = fd_budget::shortfall(kind, self.topology.kind == "embedded-reference")
        {
            return Err(Outcome::inconclusive(format!(
                "the harness cannot run the {} abuse within its own limits, so the Edge was not tested: {short}",
                kind.name()
            )));
        }
        self.vars.set("local.fqdn", sip_actor.fqdn().to_owned());
        self.vars
            .set("tag", format!("abuse-{:08x}", rand::random::<u32>()));
        self.vars.set(
            "abuse.call_id",
            format!(
                "{ABUSE_CALL_ID_PREFIX}{:08x}@picharness",
                rand::random::<u32>()
            ),
        );
        let message = render_message(ABUSE_MESSAGE, &self.vars);
        let long_chain = if kind == AbuseKind::LongChain {
            let Some(pki) = self.topology.peer_pki.as_ref() else {
                return Err(Outcome::inconclusive(
                    "the harness holds no CA the Edge trusts, so it cannot issue the long chain",
                ));
            };
            let identity = pki
                .long_chain_identity(sip_actor.fqdn(), LONG_CHAIN_INTERMEDIATES)
                .map_err(|e| Outcome::error(format!("cannot issue the long chain: {e}")))?;
            Some(identity)
        } else {
            None
        };
        let (stop_tx, stop) = watch::channel(false);
        let log = Arc::new(AbuseLog::default());
        let ctx = AbuseContext {
            local_ip: sip_actor.ip(),
            remote: self.topology.sut.external,
            server_name: self.topology.sut.access_edge_fqdn.clone(),
            identity: sip_actor.identity().clone(),
            key_log: self.topology.key_log.clone(),
            message,
            long_chain,
            stop,
            log: log.clone(),
        };
        self.note(format!(
            "abuse {} from {} to {}: {}",
            kind.name(),
            ctx.local_ip,
            ctx.remote,
            kind.describe()
        ));
        let (ready_tx, ready) = oneshot::channel();
        let task = tokio::spawn(run_abuse(kind, ctx, ready_tx));
        let started = Instant::now();
        let running = RunningAbuse {
            kind,
            stop: stop_tx,
            task,
            log,
            started,
        };
        let bound = SET_UP_BOUND.min(self.time_left());
        let set_up = tokio::time::timeout(bound, ready).await;
        let set_up = match set_up {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err("the abuse ended before it was in place".to_owned()),
            Err(_) => Err(format!(
                "the abuse was not in place within {} ms",
                bound.as_millis()
            )),
        };
        match set_up {
            Ok(summary) => {
                self.note(format!(
                    "abuse {} holds after {} ms: {summary}",
                    kind.name(),
                    started.elapsed().as_millis()
                ));
                self.abuse = Some(running);
                Ok(())
            }
            Err(why) => {
                let limit = lock(&running.log.harness_limit).clone();
                self.collect_abuse(running).await;
                Err(Outcome::inconclusive(match limit {
                    Some(limit) => format!(
                        "the harness reached its own limit setting up the {} abuse, so the Edge was not tested: {limit}",
                        kind.name()
                    ),
                    None => format!(
                        "the {} abuse could not be set up, so nothing was tested: {why}",
                        kind.name()
                    ),
                }))
            }
        }
    }

    async fn end_abuse(&mut self, running: RunningAbuse) -> Result<(), Outcome> {
        let kind = running.kind;
        let log = running.log.clone();
        self.collect_abuse(running).await;
        if let Some(limit) = lock(&log.harness_limit).clone() {
            return Err(Outcome::inconclusive(format!(
                "the harness reached its own limit during the {} abuse, so what the Edge did cannot be judged: {limit}",
                kind.name()
            )));
        }
        for finding in lock(&log.findings).iter() {
            self.finding(format!("{}: {finding}", kind.name()));
        }
        for observation in std::mem::take(&mut *lock(&log.observations)) {
            self.observe(observation);
        }
        let wrong = lock(&log.wrong).clone();
        if let Some(first) = wrong.first() {
            let more = if wrong.len() > 1 {
                format!(" (and {} more like it)", wrong.len() - 1)
            } else {
                String::new()
            };
            // The robustness verdict names it a wrong immediate answer.
            return Err(Outcome::fail(format!("{first}{more}")));
        }
        Ok(())
    }

    /// Stops the abuse (bounded), then writes its notes and keeps its
    /// connections for the trace.
    async fn collect_abuse(&mut self, running: RunningAbuse) {
        let RunningAbuse {
            kind,
            stop,
            mut task,
            log,
            started,
        } = running;
        let _ = stop.send(true);
        if tokio::time::timeout(WIND_DOWN_BOUND, &mut task)
            .await
            .is_err()
        {
            task.abort();
            self.note(format!(
                "abuse {}: cut off after {} ms of winding down",
                kind.name(),
                WIND_DOWN_BOUND.as_millis()
            ));
        }
        for note in std::mem::take(&mut *lock(&log.notes)) {
            self.note(format!("abuse {}: {note}", kind.name()));
        }
        let records = std::mem::take(&mut *lock(&log.records));
        for record in &records {
            self.remember_probe_connection(record);
        }
        let not_kept = log.not_kept.load(Ordering::Relaxed);
        let truncated = if not_kept > 0 {
            format!(
                "; trace truncated: the first {} connections kept, {not_kept} more left out",
                records.len()
            )
        } else {
            String::new()
        };
        self.note(format!(
            "abuse {} ended after {} ms{truncated}",
            kind.name(),
            started.elapsed().as_millis()
        ));
    }

    /// A probe that failed while an abuse held says which abuse.
    pub(crate) fn during_abuse(&self, failed: Outcome) -> Outcome {
        let Some(running) = &self.abuse else {
            return failed;
        };
        let Some((head, rest)) = failed.reason.split_once(": ") else {
            return failed;
        };
        let mut named = failed.clone();
        named.reason = format!(
            "{head}: while the {} abuse held ({}), {rest}",
            running.kind.name(),
            running.kind.describe()
        );
        named
    }

    /// Ends an abuse a failed case left running, keeping its evidence.
    pub(super) async fn end_abuse_left_running(&mut self) {
        if let Some(running) = self.abuse.take() {
            self.collect_abuse(running).await;
        }
    }
}

async fn run_abuse(
    kind: AbuseKind,
    ctx: AbuseContext,
    ready: oneshot::Sender<Result<String, String>>,
) {
    match kind {
        AbuseKind::Slowloris => slow::slowloris(ctx, ready).await,
        AbuseKind::IdleConnections => slow::idle_connections(ctx, ready).await,
        AbuseKind::SilentConnections => slow::silent_connections(ctx, ready, false).await,
        AbuseKind::PartialClientHello => slow::silent_connections(ctx, ready, true).await,
        AbuseKind::UnauthenticatedBurst => burst::unauthenticated_burst(ctx, ready).await,
        AbuseKind::GarbageRecord => tls_abuse::bad_record(ctx, ready, false).await,
        AbuseKind::OverlongRecord => tls_abuse::bad_record(ctx, ready, true).await,
        AbuseKind::OldClientHello => tls_abuse::old_client_hello(ctx, ready).await,
        AbuseKind::LongChain => tls_abuse::long_chain(ctx, ready).await,
        AbuseKind::Renegotiation => renegotiation::renegotiation(ctx, ready).await,
    }
}
