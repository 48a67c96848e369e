//! The presence part of `load.json`: how many subscriptions were held, how
//! many NOTIFYs flowed, and what an idle subscription costs in memory on
//! the harness's side.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::results::LatencySummary;

/// What the presence scenario did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresenceSummary {
    /// Subscriptions asked for (`--subscriptions`).
    pub requested: u32,
    /// Seconds between refreshes (`--refresh`).
    pub refresh_s: u64,
    /// The Expires each SUBSCRIBE asked for.
    pub expires_s: u32,
    /// Initial SUBSCRIBEs sent.
    pub started: u32,
    /// Subscriptions that got their 2xx and first NOTIFY.
    pub established: u32,
    /// The most held at once.
    pub held_peak: u32,
    /// Held when the teardown began.
    pub held_at_teardown: u32,
    /// Refreshes answered 2xx and followed by their NOTIFY.
    pub refreshed: u64,
    /// Torn down cleanly: Expires: 0 answered, terminated NOTIFY seen.
    pub torn_down: u32,
    /// Ended by a failure.
    pub failed: u32,
    /// Ended early by the notifier's side; included in `failed`.
    pub ended_early: u32,
    pub notifies_sent: u64,
    /// NOTIFYs that reached a watcher.
    pub notifies_received: u64,
    /// `notifies_received` per second of traffic.
    pub notify_rate: f64,
    /// Messages of the run that matched nothing in flight.
    pub unexpected: u64,
    /// Latency by presence transaction (`presence-subscribe`,
    /// `presence-refresh`, `presence-unsubscribe`, `presence-notify`).
    pub latency: BTreeMap<String, LatencySummary>,
    pub memory: PresenceMemory,
}

/// What idle subscriptions cost on the harness's side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresenceMemory {
    /// Subscriptions held idle when measured.
    pub measured_with: u32,
    /// The size of one table entry (both dialogs inline).
    pub entry_bytes: u64,
    /// What the table owns (entries, dialog strings, schedule) per held
    /// subscription, without the allocator's overhead.
    pub table_bytes_per_subscription: u64,
    /// The process's resident size before the first subscription and with
    /// all held and idle (absent where it cannot be read).
    pub resident_before_bytes: Option<u64>,
    pub resident_held_bytes: Option<u64>,
    /// The resident growth per held subscription: everything the harness
    /// keeps for it, allocator overhead included.
    pub resident_bytes_per_subscription: Option<u64>,
}
