//! What a connection reports to the collector: attempts and outcomes,
//! stamped with the milliseconds since the traffic started. Connections
//! batch them and hand over a batch about ten times a second, so counting
//! costs a push per transaction, not a channel message.

/// The outcome of one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx final response.
    Success,
    /// A final response other than 2xx.
    Status(u16),
    /// No final response within the timeout.
    Timeout,
    /// No connection could carry it, or it closed first.
    Connection,
    /// Unanswered when the run was stopped for good.
    Abandoned,
}

/// One thing that happened.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    /// Milliseconds since the traffic started.
    pub at_ms: u32,
    /// The scenario's index in the mix.
    pub kind: u8,
    /// The find-max step (or 0) the transaction was started in.
    pub step: u16,
    pub what: What,
}

#[derive(Debug, Clone, Copy)]
pub enum What {
    Attempt,
    Done {
        outcome: Outcome,
        /// From send to final response (0 for outcomes without one).
        latency_us: u32,
    },
}
