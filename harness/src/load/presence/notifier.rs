//! The notifier's side of a subscription (the pool for a Lync user, a
//! provider peer for a provider user): it answers each SUBSCRIBE that
//! reaches it with 200 and the Expires it grants (all that was asked), then
//! sends a NOTIFY (RFC 6665 §4.2.2): active with a PIDF document that
//! alternates open and closed, or terminated after Expires: 0. One NOTIFY
//! is in flight per dialog at a time; a newer one waits for its answer.

use picharness_wire::sip::SipMessage;
use picharness_wire::sip::dialog::Dialog;

use super::messages::{self, BAD_REQUEST, GONE, NotifyState, Refusal, refusal_for};
use super::naming;
use super::schedule::Timer;
use super::table::{InFlight, Phase};
use super::{Endpoint, Failure, Now, Outgoing, Presence, PresenceTx, Ready, duration_ms, slot};

/// The Expires a SUBSCRIBE without one asks for (RFC 3856 §6.4).
const DEFAULT_PRESENCE_EXPIRES: u32 = 3600;

impl Presence {
    fn notifier_endpoint(&self, index: u32) -> Option<Endpoint> {
        self.parties(index).map(|(_, n)| n.endpoint)
    }

    /// A SUBSCRIBE reached endpoint `at`: the reply to send back.
    pub(super) fn on_subscribe(
        &mut self,
        index: u32,
        at: Endpoint,
        request: &SipMessage,
        _now: Now,
    ) -> SipMessage {
        let Some((_, notifier)) = self.parties(index) else {
            return messages::refusal(request, 481, "Call/Transaction Does Not Exist");
        };
        if Some(at) != self.notifier_endpoint(index) {
            self.counts.unexpected += 1;
            return messages::refusal(request, 404, "Not Found");
        }
        if !messages::is_presence_event(request) {
            return messages::refusal(request, 489, "Bad Event");
        }
        let tag = naming::notifier_tag(index);
        if let Err((code, reason)) = self.notifier_dialog_takes(index, request, &tag) {
            self.counts.unexpected += 1;
            return messages::refusal(request, code, reason);
        }
        let granted = messages::expires(request).unwrap_or(DEFAULT_PRESENCE_EXPIRES);
        let Some(entry) = self.entry_mut(index) else {
            return messages::refusal(request, 481, "Call/Transaction Does Not Exist");
        };
        let state = if granted == 0 {
            NotifyState::Terminated
        } else {
            let open = entry.open;
            entry.open = !open;
            NotifyState::Active {
                expires: granted,
                open,
            }
        };
        entry.notify_next = Some(state);
        if entry.notify.is_none() {
            self.ready.push_back(Ready::Notify(index));
        }
        messages::subscribe_ok(request, &notifier, &tag, granted)
    }

    /// Checks an arriving SUBSCRIBE against the notifier's dialog, or sets
    /// the dialog up from an initial one; the refusal's status otherwise.
    fn notifier_dialog_takes(
        &mut self,
        index: u32,
        request: &SipMessage,
        tag: &str,
    ) -> Result<(), Refusal> {
        let initial = request.to_addr().is_some_and(|a| a.tag().is_none());
        let entry = self.entry_mut(index).ok_or(GONE)?;
        if matches!(
            entry.phase,
            Phase::Ended | Phase::Failed | Phase::NotStarted
        ) {
            return Err(GONE);
        }
        match (entry.notifier.as_mut(), initial) {
            (Some(_), true) => Err((482, "Loop Detected")),
            (Some(dialog), false) => dialog.on_request(request).map_err(refusal_for),
            (None, true) => {
                let dialog = Dialog::as_uas(request, tag).map_err(|_| BAD_REQUEST)?;
                entry.notifier = Some(dialog);
                Ok(())
            }
            (None, false) => Err(GONE),
        }
    }

    /// The NOTIFY the notifier of `index` owes, unless one is in flight.
    pub(super) fn send_notify(&mut self, index: u32, now: Now) -> Option<Outgoing> {
        let (_, notifier) = self.parties(index)?;
        let timeout = duration_ms(self.config.timeout);
        let entry = self.table.get_mut(usize::try_from(index).ok()?)?;
        if entry.phase == Phase::Failed {
            entry.notify_next = None;
            if entry.notify.is_none() {
                entry.notifier = None;
            }
            return None;
        }
        if entry.notify.is_some() {
            return None;
        }
        let state = entry.notify_next.take()?;
        let dialog = entry.notifier.as_ref()?;
        let cseq = entry.notifier_seq.saturating_add(1);
        entry.notifier_seq = cseq;
        let message = messages::notify(&self.config.run_id, index, dialog, &notifier, cseq, state);
        entry.notify = Some(InFlight {
            tx: PresenceTx::Notify,
            cseq,
            sent_us: now.us,
            ends: state == NotifyState::Terminated,
        });
        self.notifies_in_flight += 1;
        self.counts.notifies_sent += 1;
        self.schedule
            .push(now.ms().saturating_add(timeout), index, Timer::Notify);
        Some(Outgoing {
            from: notifier.endpoint,
            tx: PresenceTx::Notify,
            message,
        })
    }

    /// The NOTIFY deadline came: if that NOTIFY is still unanswered, it
    /// timed out and the notifier drops the subscription (RFC 6665 §4.2.2).
    pub(super) fn notify_overdue(&mut self, index: u32, at_ms: u32) {
        let timeout = duration_ms(self.config.timeout);
        let Some(entry) = self.entry_mut(index) else {
            return;
        };
        let overdue = entry
            .notify
            .is_some_and(|f| Now::ms_of(f.sent_us).saturating_add(timeout) == at_ms);
        if !overdue {
            return;
        }
        entry.notify = None;
        entry.notify_next = None;
        entry.notifier = None;
        self.notifies_in_flight = self.notifies_in_flight.saturating_sub(1);
        self.record(PresenceTx::Notify, Err(Failure::Timeout), None);
        self.fail(index);
    }

    /// A response to one of the notifier's NOTIFYs.
    pub(super) fn on_notify_response(
        &mut self,
        index: u32,
        at: Endpoint,
        cseq: u32,
        response: &SipMessage,
        now: Now,
    ) {
        let code = response.status().unwrap_or(0);
        let expected = self.notifier_endpoint(index) == Some(at)
            && self
                .entry(index)
                .and_then(|s| s.notify)
                .is_some_and(|f| f.cseq == cseq);
        if !expected {
            self.counts.unexpected += 1;
            return;
        }
        if code < 200 {
            return;
        }
        let Some(entry) = slot(&mut self.table, index) else {
            return;
        };
        let Some(flight) = entry.notify.take() else {
            return;
        };
        self.notifies_in_flight = self.notifies_in_flight.saturating_sub(1);
        let latency = Some(Self::latency(flight.sent_us, now));
        if code >= 300 {
            entry.notifier = None;
            entry.notify_next = None;
            self.record(PresenceTx::Notify, Err(Failure::Status(code)), latency);
            self.fail(index);
            return;
        }
        if flight.ends || entry.phase == Phase::Failed {
            entry.notifier = None;
            entry.notify_next = None;
        } else if entry.notify_next.is_some() {
            self.ready.push_back(Ready::Notify(index));
        }
        self.record(PresenceTx::Notify, Ok(()), latency);
    }
}
