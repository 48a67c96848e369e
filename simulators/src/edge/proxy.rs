//! The reference Edge's transaction-stateful proxy core (RFC 3261 §16 on
//! top of wire's §17 transactions), sans-IO and clock-free in the way of
//! quinn-proto: the caller hands in each message with the connection it
//! came on and the time, and gets back the messages to write
//! ([`Transmit`]) and the next deadline to call [`ProxyCore::on_timer`] at.
//!
//! Every received request goes through a server transaction, so a
//! retransmission is absorbed (the stored response is sent again, nothing
//! is forwarded twice) and an INVITE is answered 100 Trying at once. Every
//! forwarded request goes through a client transaction. A CANCEL is
//! matched to its INVITE server transaction, answered here and sent on
//! once the forwarded INVITE has had a provisional response (§9.1,
//! §16.10). The ACK for a non-2xx final response ends at the transaction
//! that sent it, on each hop. Timer C (§16.6, §16.8) and Timers B and F
//! give 408 upstream. Where to send a request (routing and its rewrites)
//! is the transaction user's, the async layer's, decision.

mod entries;
mod relay;
#[cfg(test)]
mod tests;
mod timers;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use picharness_wire::sip::SipMessage;
use picharness_wire::sip::transaction::{
    Action, ClientInvite, ClientKey, ClientNonInvite, ServerInvite, ServerKey, ServerNonInvite,
    State, TimerConfig, TransactionError,
};

use super::fault::{Fault, FaultSet};
use super::refusal::refusal;
use super::routing::merge_key;
use entries::{Cancel, ClientEntry, ClientTx, ServerEntry, ServerTx, Upstream};

/// Timer C's default: RFC 3261 §16.6 asks for more than three minutes.
pub const DEFAULT_TIMER_C: Duration = Duration::from_secs(181);

/// The reference Edge's SIP timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeTimers {
    /// T1, the round-trip estimate: Timers B, F and H are 64*T1. 500 ms by
    /// default (RFC 3261 §17.1.1.1).
    pub t1: Duration,
    /// How long a forwarded INVITE may go without a provisional or final
    /// response ([`DEFAULT_TIMER_C`] by default).
    pub timer_c: Duration,
}

impl Default for EdgeTimers {
    fn default() -> Self {
        Self {
            t1: TimerConfig::default().t1,
            timer_c: DEFAULT_TIMER_C,
        }
    }
}

/// A connection as the core sees it: something to write to, told apart
/// from the others by its id.
pub(crate) trait Link: Clone {
    fn link_id(&self) -> u64;
}

/// A message to write on a connection.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Transmit<C> {
    pub(crate) to: C,
    pub(crate) message: SipMessage,
}

/// A received request the transaction user has to answer, forward or
/// forget.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RequestId(Id);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Id {
    Keyed(ServerKey),
    Unkeyed(u64),
    /// An ACK no transaction took (the ACK for a 2xx): forwarded
    /// statelessly, never answered.
    Ack,
}

/// What a received request led to.
#[derive(Debug)]
pub(crate) struct Received<C> {
    /// Answers the transaction layer gave at once (100 Trying, a stored
    /// response for a retransmission, a CANCEL's 200) and any CANCEL it
    /// sends on.
    pub(crate) sends: Vec<Transmit<C>>,
    /// A new request for the transaction user, `None` when the transaction
    /// layer absorbed it.
    pub(crate) new: Option<(RequestId, SipMessage)>,
}

/// The state of every transaction the Edge is part of.
#[derive(Debug)]
pub(crate) struct ProxyCore<C> {
    timers: EdgeTimers,
    faults: FaultSet,
    servers: HashMap<Id, ServerEntry<C>>,
    clients: HashMap<ClientKey, ClientEntry<C>>,
    next_unkeyed: u64,
}

impl<C: Link> ProxyCore<C> {
    pub(crate) fn new(timers: EdgeTimers, faults: FaultSet) -> Self {
        Self {
            timers,
            faults,
            servers: HashMap::new(),
            clients: HashMap::new(),
            next_unkeyed: 0,
        }
    }

    fn transaction_timers(&self) -> TimerConfig {
        TimerConfig { t1: self.timers.t1 }
    }

    /// A request arrived on `origin`.
    pub(crate) fn on_request(
        &mut self,
        origin: &C,
        request: SipMessage,
        now: Instant,
    ) -> Received<C> {
        let key = ServerKey::of(&request);
        let mut received = Received {
            sends: Vec::new(),
            new: None,
        };
        match request.method() {
            None => {}
            Some("ACK") => {
                let id = key.map(Id::Keyed);
                match id.as_ref().and_then(|id| self.servers.get_mut(id)) {
                    Some(entry) => {
                        // The ACK for a non-2xx final response ends at the
                        // INVITE server transaction (§17.2.1).
                        if let ServerTx::Invite(tx) = &mut entry.tx {
                            tx.on_request(request);
                        }
                        self.drop_if_done(id.as_ref());
                    }
                    None => received.new = Some((RequestId(Id::Ack), request)),
                }
            }
            Some(method) => {
                let cancel = method == "CANCEL";
                if let Some(key) = &key
                    && let Some(entry) = self.servers.get_mut(&Id::Keyed(key.clone()))
                {
                    // A retransmission: the stored response, if any, again.
                    let actions = match &mut entry.tx {
                        ServerTx::Invite(tx) => tx.on_request(request),
                        ServerTx::NonInvite(tx) => tx.on_request(request),
                        ServerTx::Unkeyed { .. } => Vec::new(),
                    };
                    received.sends = sends_to(origin, actions);
                    return received;
                }
                let (id, sends) = self.start_server(origin, key, request.clone());
                received.sends = sends;
                if cancel {
                    received.sends.extend(self.cancel(&id, now));
                } else {
                    received.new = Some((RequestId(id), request));
                }
            }
        }
        received
    }

    /// Starts the server transaction of a new request.
    fn start_server(
        &mut self,
        origin: &C,
        key: Option<ServerKey>,
        request: SipMessage,
    ) -> (Id, Vec<Transmit<C>>) {
        let started = match key.as_ref() {
            Some(_) if request.method() == Some("INVITE") => {
                ServerInvite::start(request.clone(), &self.transaction_timers())
                    .map(|(tx, actions)| (ServerTx::Invite(tx), actions))
            }
            Some(_) => ServerNonInvite::start(request.clone())
                .map(|(tx, actions)| (ServerTx::NonInvite(tx), actions)),
            None => Err(TransactionError::NoBranch),
        };
        let (id, tx, actions) = match (key, started) {
            (Some(key), Ok((tx, actions))) => (Id::Keyed(key), tx, actions),
            _ => {
                self.next_unkeyed += 1;
                (
                    Id::Unkeyed(self.next_unkeyed),
                    ServerTx::Unkeyed { answered: false },
                    Vec::new(),
                )
            }
        };
        self.servers.insert(
            id.clone(),
            ServerEntry {
                tx,
                origin: origin.clone(),
                request,
                downstream: None,
            },
        );
        (id, sends_to(origin, actions))
    }

    /// A CANCEL (its server transaction `id` just started): 200 when it
    /// matches an INVITE server transaction, whose forwarded INVITE is then
    /// cancelled downstream; 481 when it matches none (§16.10).
    fn cancel(&mut self, id: &Id, now: Instant) -> Vec<Transmit<C>> {
        let invite = match id {
            Id::Keyed(key) => key.cancelled_invite().map(Id::Keyed),
            _ => None,
        };
        let downstream = invite
            .as_ref()
            .and_then(|invite| self.servers.get(invite))
            .filter(|entry| matches!(entry.tx, ServerTx::Invite(_)))
            .map(|entry| entry.downstream.clone());
        let Some(downstream) = downstream else {
            let Some(request) = self.servers.get(id).map(|e| e.request.clone()) else {
                return Vec::new();
            };
            let refused = refusal(&request, 481, "Call/Transaction Does Not Exist", None);
            return self.answer(&RequestId(id.clone()), refused, now);
        };
        let Some(request) = self.servers.get(id).map(|e| e.request.clone()) else {
            return Vec::new();
        };
        let mut sends = self.answer(
            &RequestId(id.clone()),
            request.response(200, "OK", None),
            now,
        );
        if self.faults.has(Fault::CancelNotForwarded) {
            return sends;
        }
        if let Some(client_key) = downstream
            && let Some(client) = self.clients.get_mut(&client_key)
            && client.cancel == Cancel::NotAsked
            && matches!(client.tx.state(), State::Calling | State::Proceeding)
        {
            client.cancel = Cancel::Waiting;
            if client.provisional {
                sends.extend(self.send_cancel(&client_key, now));
            }
        }
        sends
    }

    /// Sends the CANCEL for the INVITE client transaction `invite`
    /// through a client transaction of its own.
    fn send_cancel(&mut self, invite: &ClientKey, now: Instant) -> Vec<Transmit<C>> {
        let Some(entry) = self.clients.get_mut(invite) else {
            return Vec::new();
        };
        let ClientTx::Invite(tx) = &entry.tx else {
            return Vec::new();
        };
        entry.cancel = Cancel::Sent;
        let cancel = tx.cancel_request();
        let egress = entry.egress.clone();
        let Ok((tx, actions)) = ClientNonInvite::start(cancel, now, &self.transaction_timers())
        else {
            return Vec::new();
        };
        self.clients.insert(
            tx.key().clone(),
            ClientEntry {
                tx: ClientTx::NonInvite(tx),
                egress: egress.clone(),
                upstream: Upstream::Cancel(invite.clone()),
                timer_c: None,
                provisional: false,
                cancel: Cancel::NotAsked,
            },
        );
        sends_to(&egress, actions)
    }

    /// The transaction user answers request `id` (a refusal, the Edge's
    /// own answer to OPTIONS, or a response relayed from downstream).
    pub(crate) fn respond(
        &mut self,
        id: &RequestId,
        response: SipMessage,
        now: Instant,
    ) -> Vec<Transmit<C>> {
        self.answer(id, response, now)
    }

    fn answer(&mut self, id: &RequestId, response: SipMessage, now: Instant) -> Vec<Transmit<C>> {
        let Some(entry) = self.servers.get_mut(&id.0) else {
            return Vec::new();
        };
        let final_response = response.status().is_some_and(|s| s >= 200);
        let success = response.status().is_some_and(|s| (200..300).contains(&s));
        let origin = entry.origin.clone();
        let sends = match &mut entry.tx {
            ServerTx::Invite(tx) => match tx.respond(response.clone(), now) {
                Ok(actions) => sends_to(&origin, actions),
                // A 2xx after a final response is still forwarded (§16.7
                // step 10): it makes a dialog the caller must learn of.
                Err(_) if success => vec![Transmit {
                    to: origin,
                    message: response,
                }],
                Err(_) => Vec::new(),
            },
            ServerTx::NonInvite(tx) => tx
                .respond(response)
                .map(|actions| sends_to(&origin, actions))
                .unwrap_or_default(),
            ServerTx::Unkeyed { answered } => {
                *answered |= final_response;
                vec![Transmit {
                    to: origin,
                    message: response,
                }]
            }
        };
        self.drop_if_done(Some(&id.0));
        sends
    }

    /// The transaction user forwards request `id`, rewritten as `request`
    /// (the Edge's Via with a new branch on top), on `egress`.
    pub(crate) fn forward(
        &mut self,
        id: &RequestId,
        egress: &C,
        request: SipMessage,
        now: Instant,
    ) -> Vec<Transmit<C>> {
        if id.0 == Id::Ack {
            // The ACK for a 2xx is end to end: no transaction (§16.6).
            return vec![Transmit {
                to: egress.clone(),
                message: request,
            }];
        }
        let config = self.transaction_timers();
        let started = if request.method() == Some("INVITE") {
            ClientInvite::start(request.clone(), now, &config)
                .map(|(tx, actions)| (ClientTx::Invite(tx), actions))
        } else {
            ClientNonInvite::start(request.clone(), now, &config)
                .map(|(tx, actions)| (ClientTx::NonInvite(tx), actions))
        };
        let Ok((tx, actions)) = started else {
            // A request too broken for a client transaction (relayed under
            // `relay-malformed`) goes out all the same; no answer can be
            // matched to it, so nothing is kept.
            self.servers.remove(&id.0);
            return vec![Transmit {
                to: egress.clone(),
                message: request,
            }];
        };
        let key = match &tx {
            ClientTx::Invite(tx) => tx.key().clone(),
            ClientTx::NonInvite(tx) => tx.key().clone(),
        };
        let timer_c = matches!(tx, ClientTx::Invite(_)).then(|| now + self.timers.timer_c);
        self.clients.insert(
            key.clone(),
            ClientEntry {
                tx,
                egress: egress.clone(),
                upstream: Upstream::Request(id.clone()),
                timer_c,
                provisional: false,
                cancel: Cancel::NotAsked,
            },
        );
        if let Some(entry) = self.servers.get_mut(&id.0) {
            entry.downstream = Some(key);
        }
        sends_to(egress, actions)
    }

    /// The transaction user drops request `id` unanswered (a fault that
    /// ignores it, or stays silent).
    pub(crate) fn forget(&mut self, id: &RequestId) {
        self.servers.remove(&id.0);
    }

    /// A response arrived from downstream.
    pub(crate) fn on_response(&mut self, response: SipMessage, now: Instant) -> Vec<Transmit<C>> {
        let Some(key) = ClientKey::of(&response) else {
            return Vec::new();
        };
        let Some(entry) = self.clients.get_mut(&key) else {
            return Vec::new();
        };
        let status = response.status().unwrap_or_default();
        let actions = match &mut entry.tx {
            ClientTx::Invite(tx) => {
                if (101..200).contains(&status) {
                    // §16.7 step 2: a provisional response restarts Timer C.
                    entry.timer_c = Some(now + self.timers.timer_c);
                } else if status >= 200 {
                    entry.timer_c = None;
                }
                let forwarded = (status >= 300).then(|| tx.request().clone());
                let actions = tx.on_response(response);
                actions
                    .into_iter()
                    .filter_map(|action| match (action, &forwarded) {
                        // The hop-by-hop ACK of a non-2xx final response.
                        (Action::Send(ack), Some(invite)) => {
                            relay::hop_ack(&self.faults, ack, invite).map(Action::Send)
                        }
                        (other, _) => Some(other),
                    })
                    .collect::<Vec<_>>()
            }
            ClientTx::NonInvite(tx) => tx.on_response(response),
        };
        let egress = entry.egress.clone();
        let upstream = entry.upstream.clone();
        let mut sends = Vec::new();
        let mut delivered = None;
        for action in actions {
            match action {
                Action::Send(message) => sends.push(Transmit {
                    to: egress.clone(),
                    message,
                }),
                Action::Deliver(message) => delivered = Some(message),
                Action::TimedOut(_) => {}
            }
        }
        if delivered.is_some() && status < 200 {
            let waiting = entry.cancel == Cancel::Waiting;
            entry.provisional = true;
            if waiting {
                sends.extend(self.send_cancel(&key, now));
            }
        }
        if self
            .clients
            .get(&key)
            .is_some_and(|e| e.tx.state() == State::Terminated)
        {
            self.clients.remove(&key);
        }
        let Some(response) = delivered else {
            return sends;
        };
        // A 100 is hop by hop: not forwarded (§16.7 step 3); a CANCEL's
        // answer ends here.
        if status == 100 {
            return sends;
        }
        if let Upstream::Request(id) = upstream
            && let Some(response) = relay::upstream_form(&self.faults, response)
        {
            sends.extend(self.answer(&id, response, now));
        }
        sends
    }

    /// Connection `link_id` is gone: every request forwarded on it is
    /// answered 503 upstream with `why` (or dropped silently under
    /// `silent-when-next-hop-down`).
    pub(crate) fn on_closed(&mut self, link_id: u64, why: &str, now: Instant) -> Vec<Transmit<C>> {
        let gone: Vec<ClientKey> = self
            .clients
            .iter()
            .filter(|(_, e)| e.egress.link_id() == link_id)
            .map(|(k, _)| k.clone())
            .collect();
        let mut sends = Vec::new();
        for key in gone {
            let Some(entry) = self.clients.remove(&key) else {
                continue;
            };
            if let Upstream::Request(id) = entry.upstream {
                if self.faults.has(Fault::SilentWhenNextHopDown) {
                    self.forget(&id);
                    continue;
                }
                sends.extend(self.refuse(&id, 503, "Service Unavailable", why, now));
            }
        }
        sends
    }

    /// Answers request `id` with the Edge's own `status` and a Warning.
    fn refuse(
        &mut self,
        id: &RequestId,
        status: u16,
        reason: &str,
        why: &str,
        now: Instant,
    ) -> Vec<Transmit<C>> {
        let Some(request) = self.servers.get(&id.0).map(|e| e.request.clone()) else {
            return Vec::new();
        };
        self.answer(id, refusal(&request, status, reason, Some(why)), now)
    }

    /// Removes the server transaction `id` once it has ended.
    fn drop_if_done(&mut self, id: Option<&Id>) {
        if let Some(id) = id
            && self.servers.get(id).is_some_and(|e| e.tx.is_terminated())
        {
            self.servers.remove(id);
        }
    }

    /// Whether `request` (new, as `id`) merges with another request still
    /// waiting for its final response: the same Call-ID, From tag and
    /// CSeq, no To tag, another transaction (RFC 3261 §8.2.2.2).
    pub(crate) fn merges_with_pending(&self, id: &RequestId, request: &SipMessage) -> bool {
        let Some(key) = merge_key(request) else {
            return false;
        };
        self.servers.iter().any(|(other, entry)| {
            other != &id.0
                && entry.tx.awaits_final()
                && merge_key(&entry.request).as_ref() == Some(&key)
        })
    }

    /// Whether a request that arrived on connection `link_id` has been
    /// forwarded and waits for its final response (`pipelining-drops`).
    pub(crate) fn has_pending_from(&self, link_id: u64) -> bool {
        self.servers.values().any(|entry| {
            entry.origin.link_id() == link_id
                && entry
                    .downstream
                    .as_ref()
                    .is_some_and(|key| self.clients.contains_key(key))
        })
    }
}

/// The transaction's `Send` actions as messages to write on `to`.
fn sends_to<C: Clone>(to: &C, actions: Vec<Action>) -> Vec<Transmit<C>> {
    actions
        .into_iter()
        .filter_map(|action| match action {
            Action::Send(message) => Some(Transmit {
                to: to.clone(),
                message,
            }),
            _ => None,
        })
        .collect()
}
