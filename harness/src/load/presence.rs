//! The presence load scenario, sans-IO: N subscriptions between provider
//! users and Lync users, half of them inbound (a provider user watches a
//! Lync user) and half outbound, spread over the providers. The harness
//! plays both ends of each: the watcher sends SUBSCRIBE, the notifier (the
//! pool for a Lync user, the provider peer for a provider user) answers 200
//! with the granted Expires and sends a NOTIFY with a PIDF document, and the
//! watcher answers that 200 (RFC 6665, RFC 3856). Each subscription is
//! refreshed inside its dialog every `refresh`, each refresh again answered
//! with a NOTIFY, and at the end torn down with Expires: 0 and a terminated
//! NOTIFY.
//!
//! The engine owns the sockets and the clock: it starts subscriptions at its
//! offered rate ([`Presence::start_next`]), sends what
//! [`Presence::poll_transmit`] returns from the named endpoint to the Edge,
//! hands every message that arrives at an endpoint to
//! [`Presence::on_message`] (sending the reply it gets back on the same
//! connection), and wakes it at [`Presence::poll_timeout`]. Each request the
//! harness sends ends in exactly one [`Outcome`] (a 2xx with its latency, a
//! refusal, a timeout, a protocol violation, or unanswered when the run
//! stops), so attempts always equal successes plus failures.
//!
//! In a load run, `driver` runs the machine on the engine's runtime over
//! its own connections (`link`), and `answers` hands it what the Edge
//! relays to the pool and the peers.
//!
//! Subscriptions live in a compact table (see `table`) with a deadline heap
//! for refreshes and timeouts (see `schedule`); [`Presence::table_bytes`]
//! counts what the table owns, and `memory` reads the process's resident
//! size, so a run can report the cost of an idle subscription.

mod answers;
mod driver;
mod link;
pub mod memory;
mod messages;
mod naming;
mod notifier;
mod schedule;
mod table;
mod watcher;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use picharness_wire::sip::SipMessage;

pub use answers::{PRESENCE, PresenceAnswers, PresenceMix};
pub use driver::{DriverContext, MIN_TEARDOWN_RATE, PresenceRun, PresenceSettings, start_presence};
pub use naming::Direction;

use schedule::{Schedule, Timer};
use table::{Phase, Subscription};

/// One of the harness's SIP endpoints: the internal pool, or a provider
/// peer (index into [`PresenceConfig::providers`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Pool,
    Provider(u8),
}

/// A provider as the presence scenario needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSide {
    /// Its name (`messenger`, `yahoo`, `aol`), used in user names.
    pub name: String,
    /// The SIP domains its users belong to (at least one; users are
    /// spread over them).
    pub domains: Vec<String>,
    /// Its federation FQDN, the host of its users' contacts.
    pub fqdn: String,
}

/// What the scenario needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceConfig {
    /// How many subscriptions to set up.
    pub subscriptions: u32,
    /// How often each subscription is refreshed.
    pub refresh: Duration,
    /// The Expires each SUBSCRIBE asks for (see
    /// [`PresenceConfig::default_expires`]).
    pub expires: u32,
    /// How long a request may wait for its final response, and a watcher
    /// for the NOTIFY after its SUBSCRIBE.
    pub timeout: Duration,
    /// The enterprise's SIP domain (the Lync users').
    pub sut_domain: String,
    /// The pool's FQDN, the host of Lync users' contacts.
    pub pool_fqdn: String,
    pub providers: Vec<ProviderSide>,
    /// Unique to the run (letters, digits, `-`): starts every Call-ID,
    /// branch and user name, so traffic of different runs never mixes.
    pub run_id: String,
}

impl PresenceConfig {
    /// Twice the refresh interval and at least 60 s, so that a subscription
    /// never lapses between refreshes and no notifier finds it too brief.
    pub fn default_expires(refresh: Duration) -> u32 {
        let twice = refresh.as_secs().saturating_mul(2);
        u32::try_from(twice).unwrap_or(u32::MAX).max(60)
    }
}

/// The configuration cannot drive a presence run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresenceError {
    #[error("presence needs at least one provider with a SIP domain to subscribe with")]
    NoProvider,
    #[error("presence needs a refresh interval of at least one second")]
    RefreshTooShort,
    #[error("the run id {0:?} may hold only letters, digits and '-'")]
    BadRunId(String),
}

/// The kinds of request the scenario sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PresenceTx {
    /// The initial SUBSCRIBE.
    Subscribe,
    /// A SUBSCRIBE inside the dialog that extends it.
    Refresh,
    /// The SUBSCRIBE with Expires: 0.
    Unsubscribe,
    /// A NOTIFY from the notifier.
    Notify,
}

impl PresenceTx {
    pub const ALL: [Self; 4] = [
        Self::Subscribe,
        Self::Refresh,
        Self::Unsubscribe,
        Self::Notify,
    ];

    /// The transaction type's name in results.
    pub fn name(self) -> &'static str {
        match self {
            Self::Subscribe => "presence-subscribe",
            Self::Refresh => "presence-refresh",
            Self::Unsubscribe => "presence-unsubscribe",
            Self::Notify => "presence-notify",
        }
    }
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failure {
    /// A final response other than 2xx.
    Status(u16),
    /// No final response within the timeout.
    Timeout,
    /// The run stopped before the final response came.
    Unanswered,
    /// No connection could carry it.
    Connection,
    /// The final response (with this status) broke the protocol so the
    /// subscription cannot go on.
    Protocol(u16, &'static str),
}

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub tx: PresenceTx,
    /// A 2xx, or why it failed.
    pub result: Result<(), Failure>,
    /// From the send to the final response, when one came.
    pub latency: Option<Duration>,
}

/// A request to send from `from` to the Edge.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub from: Endpoint,
    pub tx: PresenceTx,
    pub message: SipMessage,
}

/// What the scenario made of a message that arrived.
#[derive(Debug, Clone)]
pub enum Handling {
    /// Not presence traffic of this run: someone else's.
    NotMine,
    /// Send this response back on the connection the request came on.
    Reply(SipMessage),
    /// A response, taken into account.
    Consumed,
}

/// Counts over the run, for results and the progress line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PresenceCounts {
    pub requested: u32,
    /// Initial SUBSCRIBEs sent.
    pub started: u32,
    /// Subscriptions that got their 2xx and first NOTIFY.
    pub established: u32,
    /// Established and not (yet) ended or failed.
    pub held: u32,
    /// The most held at once.
    pub held_peak: u32,
    /// Refreshes answered 2xx and followed by their NOTIFY.
    pub refreshed: u64,
    pub notifies_sent: u64,
    /// NOTIFYs that reached a watcher (any state).
    pub notifies_received: u64,
    /// Torn down cleanly: unsubscribe answered and terminated NOTIFY seen.
    pub torn_down: u32,
    /// Ended by a failure.
    pub failed: u32,
    /// Ended by the notifier's side before the watcher asked (terminated
    /// NOTIFY or Expires: 0 on a refresh); included in `failed`.
    pub ended_early: u32,
    /// Messages of this run that matched no request in flight (late,
    /// duplicated, or misrouted).
    pub unexpected: u64,
}

/// Work waiting for `poll_transmit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ready {
    Notify(u32),
    Refresh(u32),
}

/// The presence scenario's state.
#[derive(Debug)]
pub struct Presence {
    config: PresenceConfig,
    call_id_prefix: String,
    epoch: Instant,
    table: Vec<Subscription>,
    schedule: Schedule,
    next_start: u32,
    ready: VecDeque<Ready>,
    outcomes: VecDeque<Outcome>,
    counts: PresenceCounts,
    tearing_down: bool,
    /// The next subscription `unsubscribe_next` looks at.
    teardown_cursor: u32,
    /// Subscriptions whose watcher waits for a 2xx or NOTIFY.
    waiting: u32,
    notifies_in_flight: u32,
}

/// Entry `index` of `table`, borrowing only the table.
fn slot(table: &mut [Subscription], index: u32) -> Option<&mut Subscription> {
    table.get_mut(usize::try_from(index).ok()?)
}

/// A moment of the run: microseconds since its start (send times and
/// latencies), and milliseconds (deadlines).
#[derive(Debug, Clone, Copy)]
struct Now {
    us: u64,
}

impl Now {
    fn since(epoch: Instant, now: Instant) -> Self {
        Self {
            us: u64::try_from(now.saturating_duration_since(epoch).as_micros()).unwrap_or(u64::MAX),
        }
    }

    fn ms(self) -> u32 {
        Self::ms_of(self.us)
    }

    fn ms_of(us: u64) -> u32 {
        u32::try_from(us / 1000).unwrap_or(u32::MAX)
    }
}

fn duration_ms(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

impl Presence {
    /// A scenario with every subscription not started; `now` is the run's
    /// start, from which it counts time.
    pub fn new(config: PresenceConfig, now: Instant) -> Result<Self, PresenceError> {
        if config.providers.is_empty() || config.providers.iter().any(|p| p.domains.is_empty()) {
            return Err(PresenceError::NoProvider);
        }
        if config.refresh < Duration::from_secs(1) {
            return Err(PresenceError::RefreshTooShort);
        }
        if config.run_id.is_empty()
            || !config
                .run_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(PresenceError::BadRunId(config.run_id));
        }
        let n = config.subscriptions;
        let table = (0..n).map(|_| Subscription::new()).collect();
        Ok(Self {
            call_id_prefix: naming::call_id_prefix(&config.run_id),
            epoch: now,
            table,
            schedule: Schedule::default(),
            next_start: 0,
            ready: VecDeque::new(),
            outcomes: VecDeque::new(),
            counts: PresenceCounts {
                requested: n,
                ..PresenceCounts::default()
            },
            tearing_down: false,
            teardown_cursor: 0,
            waiting: 0,
            notifies_in_flight: 0,
            config,
        })
    }

    fn clock(&self, now: Instant) -> Now {
        Now::since(self.epoch, now)
    }

    /// The counts so far.
    pub fn counts(&self) -> &PresenceCounts {
        &self.counts
    }

    /// Whether every subscription has been started (or teardown began).
    pub fn all_started(&self) -> bool {
        self.tearing_down || self.next_start >= self.config.subscriptions
    }

    /// Whether a message belongs to this run's presence traffic.
    pub fn owns(&self, message: &SipMessage) -> bool {
        message
            .call_id()
            .is_some_and(|c| c.trim().starts_with(&self.call_id_prefix))
    }

    /// Starts the next subscription: its initial SUBSCRIBE, or `None` when
    /// all are started or teardown began.
    pub fn start_next(&mut self, now: Instant) -> Option<Outgoing> {
        if self.all_started() {
            return None;
        }
        let index = self.next_start;
        self.next_start += 1;
        self.counts.started += 1;
        self.send_initial(index, self.clock(now))
    }

    /// The next request to send, after handling the deadlines due at
    /// `now`: NOTIFYs the notifiers owe, refreshes due, unsubscribes.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Outgoing> {
        self.handle_timeout(now);
        let clock = self.clock(now);
        while let Some(ready) = self.ready.pop_front() {
            let sent = match ready {
                Ready::Notify(index) => self.send_notify(index, clock),
                Ready::Refresh(index) => self.send_refresh(index, clock),
            };
            if sent.is_some() {
                return sent;
            }
        }
        None
    }

    /// When the scenario next needs `poll_transmit`: now if work is ready,
    /// else the soonest deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.ready.is_empty() {
            return Some(self.epoch);
        }
        self.schedule
            .next_ms()
            .map(|ms| self.epoch + Duration::from_millis(u64::from(ms)))
    }

    /// Takes the next finished request's outcome.
    pub fn pop_outcome(&mut self) -> Option<Outcome> {
        self.outcomes.pop_front()
    }

    /// Handles every deadline due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now_ms = self.clock(now).ms();
        while let Some(due) = self.schedule.pop_due(now_ms) {
            match due.timer {
                Timer::Refresh => self.refresh_due(due.index, due.at_ms),
                Timer::Watcher => self.watcher_overdue(due.index, due.at_ms),
                Timer::Notify => self.notify_overdue(due.index, due.at_ms),
            }
        }
    }

    /// Stops starting subscriptions; from now on [`Presence::unsubscribe_next`]
    /// tears the held ones down at the caller's pace, and a subscription
    /// whose exchange is under way is unsubscribed as soon as it is done.
    pub fn begin_teardown(&mut self) {
        self.tearing_down = true;
    }

    /// Whether teardown has begun.
    pub fn tearing_down(&self) -> bool {
        self.tearing_down
    }

    /// During teardown, the unsubscribe of the next idle subscription, or
    /// `None` when every subscription has had its turn.
    pub fn unsubscribe_next(&mut self, now: Instant) -> Option<Outgoing> {
        if !self.tearing_down {
            return None;
        }
        let clock = self.clock(now);
        while self.teardown_cursor < self.next_start {
            let index = self.teardown_cursor;
            self.teardown_cursor += 1;
            if self.entry(index).is_some_and(|s| s.phase == Phase::Active)
                && let Some(out) = self.send_refresh(index, clock)
            {
                return Some(out);
            }
        }
        None
    }

    /// Whether teardown began and nothing is left to send or wait for.
    pub fn is_done(&self) -> bool {
        self.tearing_down
            && self.teardown_cursor >= self.next_start
            && self.waiting == 0
            && self.notifies_in_flight == 0
            && self.ready.is_empty()
    }

    /// Ends every request still in flight as unanswered (the run stops).
    pub fn abandon(&mut self) {
        self.tearing_down = true;
        self.teardown_cursor = self.next_start;
        self.ready.clear();
        for index in 0..self.next_start {
            let Some(entry) = self.entry_mut(index) else {
                continue;
            };
            let subscribe = entry.subscribe.take();
            let notify = entry.notify.take();
            entry.notify_next = None;
            if let Some(flight) = subscribe {
                self.outcomes.push_back(Outcome {
                    tx: flight.tx,
                    result: Err(Failure::Unanswered),
                    latency: None,
                });
            }
            if let Some(flight) = notify {
                self.notifies_in_flight = self.notifies_in_flight.saturating_sub(1);
                self.outcomes.push_back(Outcome {
                    tx: flight.tx,
                    result: Err(Failure::Unanswered),
                    latency: None,
                });
            }
            if self.entry(index).is_some_and(|s| s.phase == Phase::Waiting) {
                self.fail(index);
            }
        }
    }

    /// A request from `start_next` or `poll_transmit` could not be sent (no
    /// connection of its endpoint was open): it ends as a connection
    /// failure, and its subscription with it.
    pub fn unsent(&mut self, out: &Outgoing) {
        let Some(index) = out
            .message
            .call_id()
            .and_then(|c| naming::index_of(&self.call_id_prefix, c))
        else {
            return;
        };
        let cseq = out.message.cseq().map(|c| c.0);
        let Some(entry) = slot(&mut self.table, index) else {
            return;
        };
        let flight = if out.tx == PresenceTx::Notify {
            if entry.notify.map(|f| f.cseq) != cseq {
                return;
            }
            entry.notifier = None;
            entry.notify_next = None;
            self.notifies_in_flight = self.notifies_in_flight.saturating_sub(1);
            self.counts.notifies_sent = self.counts.notifies_sent.saturating_sub(1);
            entry.notify.take()
        } else {
            if entry.subscribe.map(|f| f.cseq) != cseq {
                return;
            }
            entry.subscribe.take()
        };
        if let Some(flight) = flight {
            self.record(flight.tx, Err(Failure::Connection), None);
            self.fail(index);
        }
    }

    /// Handles a message that arrived at endpoint `at`.
    pub fn on_message(&mut self, at: Endpoint, message: &SipMessage, now: Instant) -> Handling {
        if !self.owns(message) {
            return Handling::NotMine;
        }
        let clock = self.clock(now);
        let index = message
            .call_id()
            .and_then(|c| naming::index_of(&self.call_id_prefix, c))
            .filter(|&i| i < self.next_start);
        let method = message.method().map(str::to_owned);
        match (method.as_deref(), index) {
            (Some(_), None) => {
                self.counts.unexpected += 1;
                Handling::Reply(messages::refusal(
                    message,
                    481,
                    "Call/Transaction Does Not Exist",
                ))
            }
            (Some("SUBSCRIBE"), Some(index)) => {
                Handling::Reply(self.on_subscribe(index, at, message, clock))
            }
            (Some("NOTIFY"), Some(index)) => {
                Handling::Reply(self.on_notify(index, at, message, clock))
            }
            (Some(_), Some(_)) => {
                self.counts.unexpected += 1;
                Handling::Reply(messages::refusal(message, 405, "Method Not Allowed"))
            }
            (None, Some(index)) => {
                match message.cseq().map(|(n, m)| (n, m.to_ascii_uppercase())) {
                    Some((cseq, m)) if m == "SUBSCRIBE" => {
                        self.on_subscribe_response(index, at, cseq, message, clock);
                    }
                    Some((cseq, m)) if m == "NOTIFY" => {
                        self.on_notify_response(index, at, cseq, message, clock);
                    }
                    _ => self.counts.unexpected += 1,
                }
                Handling::Consumed
            }
            (None, None) => {
                self.counts.unexpected += 1;
                Handling::Consumed
            }
        }
    }

    /// Bytes the subscription table owns: the entries, their dialogs'
    /// strings, the deadline heap and the work queue (not the allocator's
    /// overhead; the resident size in `memory` has that).
    pub fn table_bytes(&self) -> usize {
        self.table.capacity() * std::mem::size_of::<Subscription>()
            + self
                .table
                .iter()
                .map(Subscription::heap_bytes)
                .sum::<usize>()
            + self.schedule.heap_bytes()
            + self.ready.capacity() * std::mem::size_of::<Ready>()
    }

    /// The size of one table entry without its dialogs' strings.
    pub fn entry_size() -> usize {
        std::mem::size_of::<Subscription>()
    }

    fn entry(&self, index: u32) -> Option<&Subscription> {
        self.table.get(usize::try_from(index).ok()?)
    }

    fn entry_mut(&mut self, index: u32) -> Option<&mut Subscription> {
        slot(&mut self.table, index)
    }

    fn parties(&self, index: u32) -> Option<(naming::Party, naming::Party)> {
        naming::parties(&self.config, index)
    }

    fn record(&mut self, tx: PresenceTx, result: Result<(), Failure>, latency: Option<Duration>) {
        self.outcomes.push_back(Outcome {
            tx,
            result,
            latency,
        });
    }

    fn latency(sent_us: u64, now: Now) -> Duration {
        Duration::from_micros(now.us.saturating_sub(sent_us))
    }

    /// Ends a subscription by a failure: counted once, dialogs freed. A
    /// request still in flight keeps its record so its answer still ends it.
    fn fail(&mut self, index: u32) {
        let Some(entry) = self.entry_mut(index) else {
            return;
        };
        if matches!(
            entry.phase,
            Phase::NotStarted | Phase::Ended | Phase::Failed
        ) {
            return;
        }
        let was_waiting = entry.phase == Phase::Waiting;
        let was_held = entry.held;
        entry.phase = Phase::Failed;
        entry.held = false;
        entry.watcher = None;
        if entry.notify.is_none() {
            entry.notifier = None;
        }
        entry.notify_next = None;
        if was_waiting {
            self.waiting = self.waiting.saturating_sub(1);
        }
        if was_held {
            self.counts.held = self.counts.held.saturating_sub(1);
        }
        self.counts.failed += 1;
    }
}
