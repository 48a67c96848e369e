//! The proxy core's timers: when the async layer must next call in, and
//! what fires then. Timer C (RFC 3261 §16.6, §16.8) cancels downstream
//! after a provisional response or, without one, ends the transaction as
//! on a 408; a client transaction's own Timer B or F gives 408 upstream; a
//! server INVITE transaction's Timer H ends it.

use std::time::Instant;

use picharness_wire::sip::transaction::{Action, ClientKey};

use super::entries::{Cancel, ClientEntry, ClientTx, ServerEntry, ServerTx, Upstream};
use super::{Id, Link, ProxyCore, Transmit};

impl<C: Link> ProxyCore<C> {
    /// When [`ProxyCore::on_timer`] must next be called, if ever.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let servers = self.servers.values().filter_map(|e| e.tx.next_deadline());
        let clients = self.clients.values().filter_map(ClientEntry::next_deadline);
        servers.chain(clients).min()
    }

    /// Fires every timer due at `now`.
    pub(crate) fn on_timer(&mut self, now: Instant) -> Vec<Transmit<C>> {
        let mut sends = Vec::new();
        let due: Vec<ClientKey> = self
            .clients
            .iter()
            .filter(|(_, e)| e.next_deadline().is_some_and(|d| d <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            sends.extend(self.client_timer(&key, now));
        }
        let due: Vec<Id> = self
            .servers
            .iter()
            .filter(|(_, e)| e.tx.next_deadline().is_some_and(|d| d <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            if let Some(ServerEntry {
                tx: ServerTx::Invite(tx),
                ..
            }) = self.servers.get_mut(&id)
            {
                // Timer H: the ACK never came; nothing more to do.
                tx.on_timer(now);
            }
            self.drop_if_done(Some(&id));
        }
        sends
    }

    fn client_timer(&mut self, key: &ClientKey, now: Instant) -> Vec<Transmit<C>> {
        let Some(entry) = self.clients.get_mut(key) else {
            return Vec::new();
        };
        if entry.timer_c.is_some_and(|c| c <= now) {
            entry.timer_c = None;
            // §16.8: with a provisional response, cancel downstream and
            // wait for its final response; without, act as on a 408.
            if entry.provisional {
                if entry.cancel == Cancel::Sent {
                    return Vec::new();
                }
                return self.send_cancel(key, now);
            }
            return self.time_out(key, "Timer C", now);
        }
        let timed_out = match &mut entry.tx {
            ClientTx::Invite(tx) => tx.on_timer(now),
            ClientTx::NonInvite(tx) => tx.on_timer(now),
        };
        let Some(Action::TimedOut(timer)) = timed_out.into_iter().next() else {
            return Vec::new();
        };
        match entry.upstream.clone() {
            Upstream::Request(_) => self.time_out(key, &format!("Timer {timer:?}"), now),
            Upstream::Cancel(invite) => {
                // The CANCEL went unanswered: the INVITE is given up.
                self.clients.remove(key);
                self.time_out(&invite, "Timer F of its CANCEL", now)
            }
        }
    }

    /// Ends client transaction `key` as if it had a 408 (§16.8, §8.1.3.1)
    /// and answers upstream 408.
    fn time_out(&mut self, key: &ClientKey, timer: &str, now: Instant) -> Vec<Transmit<C>> {
        let Some(entry) = self.clients.remove(key) else {
            return Vec::new();
        };
        let Upstream::Request(id) = entry.upstream else {
            return Vec::new();
        };
        let why = format!("no final response from the next hop before {timer} fired");
        self.refuse(&id, 408, "Request Timeout", &why, now)
    }
}
