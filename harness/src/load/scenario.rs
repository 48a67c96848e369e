//! The interface between the load engine and a scenario.
//!
//! The engine owns the connections, the pacing, the matching of responses
//! to requests and the counting; a scenario only says what a transaction
//! looks like. Each originating connection (a provider peer's connection to
//! the Edge's external side, or the pool's connection to its internal side)
//! asks the scenarios of its [`Origin`] in turn (by weight) to write their
//! next request with [`Scenario::write_request`]; the engine sends it,
//! waits for the final response on the same connection and records the
//! outcome and latency under [`Scenario::name`]. On the answering side
//! (what the Edge relays to the pool or to a provider peer) every request
//! is first offered to each scenario's [`Scenario::answer`]; when none
//! takes it, the engine answers `200 OK`.
//!
//! A scenario is shared by every connection (`Send + Sync`); state it
//! keeps (subscriptions, dialogs) must be behind its own lock or atomics.

use picharness_wire::sip::SipMessage;

/// Which side of the Edge a scenario's transactions start on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A provider peer sends to the Edge's external listener (inbound).
    Provider,
    /// The pool sends to the Edge's internal listener (outbound).
    Pool,
    /// It drives its own connections on both sides (presence); the engine
    /// starts it itself and gives it no originating connection.
    Own,
}

/// A provider as the load scenarios address it.
#[derive(Debug, Clone)]
pub struct ProviderUsers {
    /// The profile's name (`messenger`).
    pub name: String,
    /// Its federation FQDN (the peer's Via host).
    pub fqdn: String,
    /// Its SIP domains; users are spread over them.
    pub domains: Vec<String>,
}

/// What a scenario needs to write one request.
#[derive(Debug)]
pub struct RequestContext<'a> {
    /// The FQDN of the sending role (the provider's federation FQDN, or the
    /// pool's), for the Via header.
    pub local_fqdn: &'a str,
    /// The sending provider (for [`Origin::Provider`]); `None` for the pool.
    pub provider: Option<&'a ProviderUsers>,
    /// Every provider, for requests from the pool.
    pub providers: &'a [ProviderUsers],
    /// The Edge's SIP domain (the Lync users' domain).
    pub sut_domain: &'a str,
    /// The transaction's number on this connection; with `connection` it
    /// is unique in the run and picks the users.
    pub seq: u64,
    /// The connection's number in the run.
    pub connection: u32,
    /// How many distinct users each side has.
    pub users: u32,
    /// The Call-ID the request must carry (the engine matches the
    /// response by it).
    pub call_id: &'a str,
    /// A branch unique in the run (without the `z9hG4bK` prefix).
    pub branch: &'a str,
}

impl RequestContext<'_> {
    /// The Lync user this transaction addresses (`lync17`).
    pub fn lync_user(&self) -> u64 {
        self.seq
            .wrapping_mul(7919)
            .wrapping_add(u64::from(self.connection))
            % u64::from(self.users.max(1))
    }

    /// The provider user this transaction addresses.
    pub fn peer_user(&self) -> u64 {
        self.seq
            .wrapping_mul(104_729)
            .wrapping_add(u64::from(self.connection) * 31)
            % u64::from(self.users.max(1))
    }

    /// The provider a request from the pool goes to: round-robin.
    pub fn target_provider(&self) -> Option<&ProviderUsers> {
        let n = self.providers.len();
        if n == 0 {
            return None;
        }
        let index = (self.seq as usize).wrapping_add(self.connection as usize) % n;
        self.providers.get(index)
    }
}

/// One kind of transaction the load engine can drive.
pub trait Scenario: Send + Sync {
    /// The name used in `--mix` and in the results (`message-in`).
    fn name(&self) -> &'static str;

    /// Where its transactions start.
    fn origin(&self) -> Origin;

    /// Appends one complete request (headers, body, Content-Length) to
    /// `out`, with `ctx.call_id` as Call-ID.
    fn write_request(&self, ctx: &RequestContext<'_>, out: &mut Vec<u8>);

    /// Offered every request that reaches the answering side (the pool or
    /// a provider peer, named by `role`); appends the answer (and anything
    /// else to send on that connection) to `out` and returns `true` when
    /// it takes the request, `false` to let the next scenario or the
    /// default `200 OK` answer.
    fn answer(&self, _role: &str, _request: &SipMessage, _out: &mut Vec<u8>) -> bool {
        false
    }

    /// Told of every final response to one of its own requests.
    fn on_final_response(&self, _response: &SipMessage) {}
}
