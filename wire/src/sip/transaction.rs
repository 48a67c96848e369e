//! SIP transactions (RFC 3261 §17) as sans-IO state machines for reliable
//! transports (TCP/TLS). The caller passes every message and the current
//! time in, and gets back [`Action`]s (send this, hand that to the
//! transaction user, the transaction timed out) and the next deadline to
//! call `on_timer` at. Nothing here reads a clock, so Timer B's 32 seconds
//! are a unit test, not a sleep.
//!
//! On reliable transports RFC 3261 §17 sets the retransmission timers
//! (A, E, G) off and the wait timers D, I, J and K to zero, so only B, F and
//! H ever run; a state whose timer is zero is left at once.

mod client_invite;
mod client_non_invite;
mod key;
#[cfg(test)]
mod pair_tests;
mod server_invite;
mod server_non_invite;
#[cfg(test)]
mod tests_support;

use std::time::Duration;

pub use client_invite::ClientInvite;
pub use client_non_invite::ClientNonInvite;
pub use key::{ClientKey, ServerKey};
pub use server_invite::ServerInvite;
pub use server_non_invite::ServerNonInvite;

use super::message::SipMessage;

/// Timer values (RFC 3261 §17.1.1.1, Table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate, 500 ms by default.
    pub t1: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
        }
    }
}

impl TimerConfig {
    /// 64*T1: Timers B, F and H.
    pub fn transaction_timeout(&self) -> Duration {
        self.t1.saturating_mul(64)
    }
}

/// The states of RFC 3261 §17 (Figures 5 to 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Calling,
    Trying,
    Proceeding,
    Completed,
    Confirmed,
    Terminated,
}

/// The named timers, so a timeout says which one fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// INVITE client: no response at all within 64*T1 (§17.1.1.2).
    B,
    /// Non-INVITE client: no final response within 64*T1 (§17.1.2.2).
    F,
    /// INVITE server: no ACK for a final 3xx-6xx within 64*T1 (§17.2.1).
    H,
}

/// What the caller must do after feeding the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write this message to the connection.
    Send(SipMessage),
    /// Hand this message to the transaction user.
    Deliver(SipMessage),
    /// The transaction timed out; the transaction user is told (for a
    /// client this counts as a 408 Request Timeout, §8.1.3.1).
    TimedOut(Timer),
}

/// Why a message or command was refused by a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransactionError {
    #[error("a client transaction needs a request, got {0}")]
    NotARequest(String),
    #[error("{0} is not a response")]
    NotAResponse(String),
    #[error(
        "the request has no topmost Via with a branch, so responses cannot be matched (RFC 3261 §17.1.3)"
    )]
    NoBranch,
    #[error(
        "this kind of transaction does not take that method (INVITE has its own kinds, ACK has no transaction of its own)"
    )]
    WrongMethod,
    #[error("the transaction is {0:?} and cannot send a response now")]
    WrongState(State),
}
