//! What the proxy core remembers of each transaction: the server side of a
//! request it received (wire's INVITE or non-INVITE server transaction,
//! where the request came from) and the client side of a request it sent
//! (wire's client transaction, where it went, what it answers upstream,
//! Timer C and the CANCEL state of a forwarded INVITE).

use std::time::Instant;

use picharness_wire::sip::SipMessage;
use picharness_wire::sip::transaction::{
    ClientInvite, ClientKey, ClientNonInvite, ServerInvite, ServerNonInvite, State,
};

use super::RequestId;

/// The server transaction of a received request.
#[derive(Debug)]
pub(super) enum ServerTx {
    Invite(ServerInvite),
    NonInvite(ServerNonInvite),
    /// A request that carries too little to be matched (no Via, no CSeq:
    /// what `relay-malformed` lets through). It has no transaction; its
    /// answers go straight back, and its first final one ends it.
    Unkeyed {
        answered: bool,
    },
}

impl ServerTx {
    /// Whether the request still waits for its final response.
    pub(super) fn awaits_final(&self) -> bool {
        match self {
            Self::Invite(tx) => tx.state() == State::Proceeding,
            Self::NonInvite(tx) => matches!(tx.state(), State::Trying | State::Proceeding),
            Self::Unkeyed { answered } => !answered,
        }
    }

    pub(super) fn is_terminated(&self) -> bool {
        match self {
            Self::Invite(tx) => tx.state() == State::Terminated,
            Self::NonInvite(tx) => tx.state() == State::Terminated,
            Self::Unkeyed { answered } => *answered,
        }
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        match self {
            Self::Invite(tx) => tx.next_deadline(),
            Self::NonInvite(tx) => tx.next_deadline(),
            Self::Unkeyed { .. } => None,
        }
    }
}

/// A request received, with its transaction.
#[derive(Debug)]
pub(super) struct ServerEntry<C> {
    pub(super) tx: ServerTx,
    /// The connection it arrived on, where its answers go.
    pub(super) origin: C,
    /// The request as it arrived.
    pub(super) request: SipMessage,
    /// The client transaction that forwarded it, once forwarded.
    pub(super) downstream: Option<ClientKey>,
}

/// The client transaction of a request sent.
#[derive(Debug)]
pub(super) enum ClientTx {
    Invite(ClientInvite),
    NonInvite(ClientNonInvite),
}

impl ClientTx {
    pub(super) fn state(&self) -> State {
        match self {
            Self::Invite(tx) => tx.state(),
            Self::NonInvite(tx) => tx.state(),
        }
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        match self {
            Self::Invite(tx) => tx.next_deadline(),
            Self::NonInvite(tx) => tx.next_deadline(),
        }
    }
}

/// Whom a client transaction's responses are for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Upstream {
    /// The received request it forwards.
    Request(RequestId),
    /// The Edge itself: a CANCEL it sent for the INVITE client transaction
    /// with this key. Its answers end here.
    Cancel(ClientKey),
}

/// Where a forwarded INVITE stands with CANCEL (RFC 3261 §9.1, §16.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cancel {
    NotAsked,
    /// Asked for before any provisional response came back: sent when one
    /// does.
    Waiting,
    Sent,
}

/// A request sent, with its transaction.
#[derive(Debug)]
pub(super) struct ClientEntry<C> {
    pub(super) tx: ClientTx,
    /// The connection it went out on.
    pub(super) egress: C,
    pub(super) upstream: Upstream,
    /// Timer C of a forwarded INVITE (RFC 3261 §16.6 step 11).
    pub(super) timer_c: Option<Instant>,
    /// A provisional response came back (a CANCEL may now be sent).
    pub(super) provisional: bool,
    pub(super) cancel: Cancel,
}

impl<C> ClientEntry<C> {
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        [self.tx.next_deadline(), self.timer_c]
            .into_iter()
            .flatten()
            .min()
    }
}
