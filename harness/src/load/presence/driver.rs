//! Runs the presence machine inside a load run: the engine starts
//! [`start_presence`] when the mix names `presence`. The driver opens its
//! own MTLS connections to the Edge (`connections` for the pool and for
//! each provider peer, see `link`), starts subscriptions at presence's
//! share of the offered rate, sends the NOTIFYs, refreshes and, once the
//! run stops, the unsubscribes (at the same pace, at least
//! [`MIN_TEARDOWN_RATE`] a second), and hands the engine one attempt and
//! one outcome per request, like any scenario. The SUBSCRIBEs and NOTIFYs
//! the Edge relays to the pool and the peers reach the machine through
//! the answering listeners (see `answers`).
//!
//! It also measures what idle subscriptions cost: the resident size once
//! every connection is open and before the first SUBSCRIBE, and again when
//! every subscription is held, with the table's own count of bytes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use picharness_reports::load::LatencySummary;
use picharness_reports::load::presence::{PresenceMemory, PresenceSummary};
use picharness_wire::sip::SipMessage;
use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedSender;

use super::link::{Link, LinkSpec, spawn_link};
use super::{
    Endpoint, Failure, Handling, Outgoing, Presence, PresenceConfig, PresenceTx, ProviderSide,
    memory,
};
use crate::load::capture::Capture;
use crate::load::control::Control;
use crate::load::event::{Event, Outcome as EventOutcome, What};
use crate::load::world::World;

/// The slowest teardown: unsubscribes a second, whatever the setup rate.
pub const MIN_TEARDOWN_RATE: f64 = 500.0;
/// How long the driver waits for its connections before it starts.
const CONNECT_WAIT: Duration = Duration::from_secs(5);
/// How often events go to the collector.
const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// `--subscriptions` and `--refresh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceSettings {
    pub subscriptions: u32,
    pub refresh: Duration,
}

impl PresenceSettings {
    /// How long the teardown of every subscription may take when set up
    /// at `rate` a second (the teardown's pace, or its minimum pace with
    /// 0), for the engine's settling.
    pub fn teardown_time(&self, rate: f64) -> Duration {
        let pace = rate.max(MIN_TEARDOWN_RATE);
        Duration::from_secs_f64(f64::from(self.subscriptions) / pace)
    }
}

/// What the links, the answering side and the driver share.
pub(crate) struct Shared {
    pub(super) state: Mutex<RunState>,
    pub(super) wake: Notify,
    pub(super) control: Arc<Control>,
    /// The role name of each endpoint: the pool first, then the providers.
    roles: Vec<String>,
    kind: u8,
}

/// The machine and what is measured around it.
pub(super) struct RunState {
    machine: Presence,
    events: Vec<Event>,
    latency: BTreeMap<PresenceTx, Histogram<u64>>,
    memory: PresenceMemory,
    held_at_teardown: u32,
    first_send: Option<Instant>,
    last_outcome: Option<Instant>,
}

impl Shared {
    /// The endpoint a role name plays.
    pub(super) fn endpoint_of(&self, role: &str) -> Option<Endpoint> {
        let i = self.roles.iter().position(|r| r == role)?;
        if i == 0 {
            Some(Endpoint::Pool)
        } else {
            u8::try_from(i - 1).ok().map(Endpoint::Provider)
        }
    }

    /// Whether a message is this run's presence traffic.
    pub(super) fn owns(&self, message: &SipMessage) -> bool {
        self.state.lock().is_ok_and(|s| s.machine.owns(message))
    }

    /// Gives an arriving message to the machine; the reply to send back.
    pub(super) fn handle(
        &self,
        at: Endpoint,
        message: &SipMessage,
        now: Instant,
    ) -> Option<SipMessage> {
        let Ok(mut state) = self.state.lock() else {
            return None;
        };
        let reply = match state.machine.on_message(at, message, now) {
            Handling::Reply(reply) => Some(reply),
            Handling::Consumed | Handling::NotMine => None,
        };
        state.settle(&self.control, self.kind, now);
        reply
    }
}

impl RunState {
    /// Turns the machine's outcomes into events and latencies.
    fn settle(&mut self, control: &Control, kind: u8, now: Instant) {
        let at_ms = control.ms(now);
        let step = control.step();
        while let Some(outcome) = self.machine.pop_outcome() {
            self.last_outcome = Some(now);
            let latency_us = outcome
                .latency
                .map_or(0, |l| u32::try_from(l.as_micros()).unwrap_or(u32::MAX));
            let mapped = match outcome.result {
                Ok(()) => EventOutcome::Success,
                Err(Failure::Status(code) | Failure::Protocol(code, _)) => {
                    EventOutcome::Status(code)
                }
                Err(Failure::Timeout) => EventOutcome::Timeout,
                Err(Failure::Connection) => EventOutcome::Connection,
                Err(Failure::Unanswered) => EventOutcome::Abandoned,
            };
            if let Err(Failure::Protocol(code, why)) = outcome.result {
                control.note(format!(
                    "presence: a {code} to a SUBSCRIBE counts as failed: {why}"
                ));
            }
            if outcome.latency.is_some()
                && let Some(h) = self.latency.get_mut(&outcome.tx)
            {
                h.saturating_record(u64::from(latency_us).max(1));
            }
            self.events.push(Event {
                at_ms,
                kind,
                step,
                what: What::Done {
                    outcome: mapped,
                    latency_us,
                },
            });
        }
    }

    fn attempt(&mut self, control: &Control, kind: u8, now: Instant) {
        self.first_send.get_or_insert(now);
        self.events.push(Event {
            at_ms: control.ms(now),
            kind,
            step: control.step(),
            what: What::Attempt,
        });
    }

    /// Takes the resident size and the table's bytes with `held` idle.
    fn measure_held(&mut self) {
        let held = self.machine.counts().held;
        self.memory.measured_with = held;
        self.memory.entry_bytes = Presence::entry_size() as u64;
        if held > 0 {
            self.memory.table_bytes_per_subscription =
                (self.machine.table_bytes() / held as usize) as u64;
        }
        self.memory.resident_held_bytes = memory::resident_bytes();
        self.memory.resident_bytes_per_subscription = self
            .memory
            .resident_before_bytes
            .zip(self.memory.resident_held_bytes)
            .filter(|_| held > 0)
            .map(|(before, after)| after.saturating_sub(before) / u64::from(held));
    }
}

/// A started presence run: the answering side's scenario, the driver's
/// task, and what it measured at the end.
pub struct PresenceRun {
    pub(super) shared: Arc<Shared>,
    settings: PresenceSettings,
    expires: u32,
}

/// What the driver needs from the engine.
pub struct DriverContext {
    pub control: Arc<Control>,
    pub events: UnboundedSender<Vec<Event>>,
    /// Presence's index in the mix.
    pub kind: u8,
    /// Presence's share of the offered rate.
    pub share: f64,
    pub connections: u32,
    pub timeout: Duration,
    pub capture: Arc<Capture>,
}

/// Starts the presence driver on the current runtime; the run and the
/// driver's task (the engine waits for it to settle).
pub fn start_presence(
    world: &World,
    settings: PresenceSettings,
    ctx: DriverContext,
) -> Result<(PresenceRun, tokio::task::JoinHandle<()>), String> {
    let providers: Vec<ProviderSide> = world
        .providers()
        .into_iter()
        .map(|p| ProviderSide {
            name: p.name,
            domains: p.domains,
            fqdn: p.fqdn,
        })
        .collect();
    let expires = PresenceConfig::default_expires(settings.refresh);
    let now = Instant::now();
    let machine = Presence::new(
        PresenceConfig {
            subscriptions: settings.subscriptions,
            refresh: settings.refresh,
            expires,
            timeout: ctx.timeout,
            sut_domain: world.sut.sip_domain.clone(),
            pool_fqdn: world.pool.fqdn.clone(),
            providers,
            run_id: format!("p{:06x}", rand::random::<u32>() & 0x00ff_ffff),
        },
        now,
    )
    .map_err(|e| e.to_string())?;
    let mut latency = BTreeMap::new();
    for tx in PresenceTx::ALL {
        if let Ok(h) = Histogram::new_with_bounds(1, 3_600_000_000, 3) {
            latency.insert(tx, h);
        }
    }
    let roles = std::iter::once(world.pool.name.clone())
        .chain(world.peers.iter().map(|p| p.name.clone()))
        .collect();
    let shared = Arc::new(Shared {
        state: Mutex::new(RunState {
            machine,
            events: Vec::new(),
            latency,
            memory: PresenceMemory::default(),
            held_at_teardown: 0,
            first_send: None,
            last_outcome: None,
        }),
        wake: Notify::new(),
        control: ctx.control.clone(),
        roles,
        kind: ctx.kind,
    });
    let mut links: Vec<Vec<Link>> = Vec::new();
    let mut link_tasks = Vec::new();
    let sides = std::iter::once((
        Endpoint::Pool,
        &world.pool,
        world.sut.internal,
        &world.sut.internal_fqdn,
    ))
    .chain(world.peers.iter().enumerate().filter_map(|(i, peer)| {
        let p = u8::try_from(i).ok()?;
        Some((
            Endpoint::Provider(p),
            peer,
            world.sut.external,
            &world.sut.access_edge_fqdn,
        ))
    }));
    for (endpoint, role, remote, server_name) in sides {
        let local_ip = role
            .listener
            .local_addr()
            .map_err(|e| format!("{}: {e}", role.name))?
            .ip();
        let mut of_endpoint = Vec::new();
        for _ in 0..ctx.connections.max(1) {
            let (link, task) = spawn_link(
                LinkSpec {
                    endpoint,
                    role: role.name.clone(),
                    local_ip,
                    remote,
                    server_name: server_name.clone(),
                    tls: role.client.clone(),
                    capture: ctx.capture.clone(),
                },
                shared.clone(),
            );
            of_endpoint.push(link);
            link_tasks.push(task);
        }
        links.push(of_endpoint);
    }
    let task = tokio::spawn(drive(shared.clone(), links, link_tasks, ctx));
    Ok((
        PresenceRun {
            shared,
            settings,
            expires,
        },
        task,
    ))
}

/// Index of an endpoint's links.
fn slot(endpoint: Endpoint) -> usize {
    match endpoint {
        Endpoint::Pool => 0,
        Endpoint::Provider(p) => usize::from(p) + 1,
    }
}

/// Sends requests on their endpoint's open links in turn.
struct Sender {
    links: Vec<Vec<Link>>,
    turn: Vec<usize>,
}

impl Sender {
    fn send(&mut self, out: &Outgoing) -> bool {
        let i = slot(out.from);
        let (Some(links), Some(turn)) = (self.links.get(i), self.turn.get_mut(i)) else {
            return false;
        };
        for _ in 0..links.len() {
            *turn = (*turn + 1) % links.len().max(1);
            if let Some(link) = links.get(*turn)
                && link.is_up()
                && link.send(out.message.to_bytes())
            {
                return true;
            }
        }
        false
    }

    fn all_up(&self) -> bool {
        self.links.iter().flatten().all(Link::is_up)
    }

    fn close(&self) {
        for link in self.links.iter().flatten() {
            link.close();
        }
    }
}

/// Sends `out`, or tells the machine it could not be sent.
fn dispatch(
    state: &mut RunState,
    sender: &mut Sender,
    out: &Outgoing,
    shared: &Shared,
    now: Instant,
) {
    state.attempt(&shared.control, shared.kind, now);
    if !sender.send(out) {
        state.machine.unsent(out);
    }
}

async fn drive(
    shared: Arc<Shared>,
    links: Vec<Vec<Link>>,
    link_tasks: Vec<tokio::task::JoinHandle<()>>,
    ctx: DriverContext,
) {
    let turn = vec![0; links.len()];
    let mut sender = Sender { links, turn };
    let control = shared.control.clone();
    // Every connection open (or a while passed) before the first SUBSCRIBE,
    // so the resident size before counts them.
    let ready_by = Instant::now() + CONNECT_WAIT;
    while !sender.all_up() && Instant::now() < ready_by && !control.is_stopping() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if let Ok(mut state) = shared.state.lock() {
        state.memory.resident_before_bytes = memory::resident_bytes();
    }
    let mut credit = 0.0f64;
    let mut last = Instant::now();
    let mut last_flush = last;
    let mut pace = MIN_TEARDOWN_RATE;
    let mut measured = false;
    loop {
        let next = shared
            .state
            .lock()
            .ok()
            .and_then(|s| s.machine.poll_timeout());
        let now = Instant::now();
        let mut wait = next.map_or(Duration::from_millis(50), |t| {
            t.saturating_duration_since(now)
        });
        wait = wait.min(Duration::from_millis(10));
        tokio::select! {
            () = shared.wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
        let now = Instant::now();
        let dt = now.saturating_duration_since(last).as_secs_f64();
        last = now;
        let Ok(mut state) = shared.state.lock() else {
            break;
        };
        if control.is_abandoned() {
            state.machine.abandon();
            state.settle(&control, shared.kind, now);
            break;
        }
        let rate = control.rate() * ctx.share;
        if rate > 0.0 {
            pace = rate.max(MIN_TEARDOWN_RATE);
        }
        if control.is_stopping() && !state.machine.tearing_down() {
            state.held_at_teardown = state.machine.counts().held;
            if !measured {
                state.measure_held();
                measured = true;
            }
            state.machine.begin_teardown();
            credit = 0.0;
        }
        let budget = if state.machine.tearing_down() {
            pace
        } else {
            rate
        };
        credit = (credit + budget * dt).min(budget.max(1.0));
        while credit >= 1.0 {
            let next = if state.machine.tearing_down() {
                state.machine.unsubscribe_next(now)
            } else {
                state.machine.start_next(now)
            };
            let Some(out) = next else {
                credit = 0.0;
                break;
            };
            credit -= 1.0;
            dispatch(&mut state, &mut sender, &out, &shared, now);
        }
        while let Some(out) = state.machine.poll_transmit(now) {
            dispatch(&mut state, &mut sender, &out, &shared, now);
        }
        if !measured && state.machine.counts().held >= state.machine.counts().requested {
            state.measure_held();
            measured = true;
        }
        state.settle(&control, shared.kind, now);
        let done = state.machine.is_done();
        if done || now.saturating_duration_since(last_flush) >= FLUSH_EVERY {
            last_flush = now;
            let events = std::mem::take(&mut state.events);
            if !events.is_empty() {
                let _ = ctx.events.send(events);
            }
        }
        if done {
            break;
        }
    }
    if let Ok(mut state) = shared.state.lock() {
        let events = std::mem::take(&mut state.events);
        if !events.is_empty() {
            let _ = ctx.events.send(events);
        }
    }
    sender.close();
    for task in link_tasks {
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    }
}

impl PresenceRun {
    /// The presence part of `load.json`.
    pub fn summary(&self) -> PresenceSummary {
        let Ok(state) = self.shared.state.lock() else {
            return self.empty_summary();
        };
        let c = state.machine.counts();
        let span = state
            .first_send
            .zip(state.last_outcome)
            .map_or(0.0, |(first, last)| {
                last.saturating_duration_since(first).as_secs_f64()
            });
        PresenceSummary {
            requested: c.requested,
            refresh_s: self.settings.refresh.as_secs(),
            expires_s: self.expires,
            started: c.started,
            established: c.established,
            held_peak: c.held_peak,
            held_at_teardown: state.held_at_teardown,
            refreshed: c.refreshed,
            torn_down: c.torn_down,
            failed: c.failed,
            ended_early: c.ended_early,
            notifies_sent: c.notifies_sent,
            notifies_received: c.notifies_received,
            notify_rate: if span > 0.0 {
                c.notifies_received as f64 / span
            } else {
                0.0
            },
            unexpected: c.unexpected,
            latency: state
                .latency
                .iter()
                .filter(|(_, h)| !h.is_empty())
                .map(|(tx, h)| {
                    (
                        tx.name().to_owned(),
                        LatencySummary {
                            count: h.len(),
                            p50_us: h.value_at_quantile(0.50),
                            p90_us: h.value_at_quantile(0.90),
                            p99_us: h.value_at_quantile(0.99),
                            max_us: h.max(),
                        },
                    )
                })
                .collect(),
            memory: state.memory.clone(),
        }
    }

    fn empty_summary(&self) -> PresenceSummary {
        PresenceSummary {
            requested: self.settings.subscriptions,
            refresh_s: self.settings.refresh.as_secs(),
            expires_s: self.expires,
            started: 0,
            established: 0,
            held_peak: 0,
            held_at_teardown: 0,
            refreshed: 0,
            torn_down: 0,
            failed: 0,
            ended_early: 0,
            notifies_sent: 0,
            notifies_received: 0,
            notify_rate: 0.0,
            unexpected: 0,
            latency: BTreeMap::new(),
            memory: PresenceMemory::default(),
        }
    }
}
