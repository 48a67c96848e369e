//! The subscription table: one compact entry per subscription, holding the
//! two dialogs the harness plays (the watcher's and the notifier's, each as
//! [`Dialog`] built from what actually arrived through the Edge), the
//! request each side has in flight, and the times that drive it. Users,
//! Call-ID and tags are not stored: they follow from the entry's index (see
//! `naming`). Deadlines are milliseconds since the run's start, in `u32`;
//! send times microseconds, for latencies.

use picharness_wire::sip::dialog::Dialog;

use super::PresenceTx;

/// Where a subscription is in its life, seen by the watcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Its SUBSCRIBE is not sent yet.
    NotStarted,
    /// A SUBSCRIBE (initial, refresh or unsubscribe) is out: the watcher
    /// waits for its 2xx and for the NOTIFY that follows it.
    Waiting,
    /// Established and idle until its refresh is due.
    Active,
    /// Ended by the unsubscribe and the terminated NOTIFY.
    Ended,
    /// Ended by a failure (counted once, where it happened).
    Failed,
}

/// A request one side sent and waits a final response for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct InFlight {
    pub tx: PresenceTx,
    pub cseq: u32,
    /// Microseconds since the run's start.
    pub sent_us: u64,
    /// It ends the subscription (Expires: 0, or a terminated NOTIFY).
    pub ends: bool,
}

/// One subscription's state.
#[derive(Debug, Clone)]
pub(super) struct Subscription {
    pub phase: Phase,
    /// Established and not ended: counted in `held`.
    pub held: bool,
    /// The Expires the notifier granted last.
    pub granted: u32,
    /// The watcher's dialog, from the first 2xx or NOTIFY that reached it.
    pub watcher: Option<Dialog>,
    /// The notifier's dialog, from the SUBSCRIBE that reached it.
    pub notifier: Option<Dialog>,
    /// The last CSeq the watcher and the notifier used (the dialog keeps
    /// the remote one only).
    pub watcher_seq: u32,
    pub notifier_seq: u32,
    /// The watcher's SUBSCRIBE waiting for its final response.
    pub subscribe: Option<InFlight>,
    /// What the watcher's last SUBSCRIBE asked for (0: the unsubscribe),
    /// and whether its NOTIFY has arrived.
    pub asked: u32,
    pub notified: bool,
    /// When the watcher's last SUBSCRIBE went out (the NOTIFY it awaits
    /// times out from there).
    pub waiting_since_ms: u32,
    /// The notifier's NOTIFY waiting for its final response.
    pub notify: Option<InFlight>,
    /// The NOTIFY the notifier sends once the one in flight is answered
    /// (RFC 6665 §4.2.2: one NOTIFY at a time per dialog).
    pub notify_next: Option<super::messages::NotifyState>,
    /// When the watcher refreshes (while `Active`).
    pub refresh_at_ms: u32,
    /// Whether the notifier's next NOTIFY says open (it alternates).
    pub open: bool,
}

impl Subscription {
    pub(super) const fn new() -> Self {
        Self {
            phase: Phase::NotStarted,
            held: false,
            granted: 0,
            watcher: None,
            notifier: None,
            watcher_seq: 0,
            notifier_seq: 0,
            subscribe: None,
            asked: 0,
            notified: false,
            waiting_since_ms: 0,
            notify: None,
            notify_next: None,
            refresh_at_ms: 0,
            open: true,
        }
    }

    /// Bytes this entry owns on the heap (string and vector capacities),
    /// not counting the allocator's own overhead.
    pub(super) fn heap_bytes(&self) -> usize {
        self.watcher.as_ref().map_or(0, dialog_heap_bytes)
            + self.notifier.as_ref().map_or(0, dialog_heap_bytes)
    }
}

fn dialog_heap_bytes(d: &Dialog) -> usize {
    d.id.call_id.capacity()
        + d.id.local_tag.capacity()
        + d.id.remote_tag.capacity()
        + d.remote_uri.capacity()
        + d.remote_target.capacity()
        + d.route_set.capacity() * std::mem::size_of::<String>()
        + d.route_set.iter().map(String::capacity).sum::<usize>()
}
