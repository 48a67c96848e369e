//! The watcher's side of a subscription: it sends the SUBSCRIBE (initial,
//! refresh, unsubscribe), takes the 2xx and the NOTIFY that follow in
//! either order (a NOTIFY may overtake the 2xx, RFC 6665 §4.1.2.4, and then
//! sets the dialog up), answers the NOTIFY, and once both have arrived
//! holds the subscription until its refresh is due.

use picharness_wire::sip::SipMessage;
use picharness_wire::sip::dialog::{Dialog, DialogError};

use super::messages::{self, BAD_REQUEST, GONE, NotifyState, Refusal, refusal_for};
use super::naming;
use super::schedule::Timer;
use super::table::{InFlight, Phase};
use super::{Endpoint, Failure, Now, Outgoing, Presence, PresenceTx, Ready, duration_ms, slot};

impl Presence {
    fn watcher_endpoint(&self, index: u32) -> Option<Endpoint> {
        self.parties(index).map(|(w, _)| w.endpoint)
    }

    /// The initial SUBSCRIBE of subscription `index`.
    pub(super) fn send_initial(&mut self, index: u32, now: Now) -> Option<Outgoing> {
        let (watcher, presentity) = self.parties(index)?;
        let call_id = naming::call_id(&self.call_id_prefix, index);
        let message = messages::initial_subscribe(
            &self.config.run_id,
            index,
            &call_id,
            &watcher,
            &presentity,
            &naming::watcher_tag(index),
            self.config.expires,
        );
        if let Some(entry) = self.entry_mut(index) {
            entry.watcher_seq = 1;
        }
        self.begin_wait(index, PresenceTx::Subscribe, 1, self.config.expires, now);
        Some(Outgoing {
            from: watcher.endpoint,
            tx: PresenceTx::Subscribe,
            message,
        })
    }

    /// A refresh, or during teardown the unsubscribe, of an idle
    /// subscription.
    pub(super) fn send_refresh(&mut self, index: u32, now: Now) -> Option<Outgoing> {
        let (watcher, _) = self.parties(index)?;
        let (tx, expires) = if self.tearing_down {
            (PresenceTx::Unsubscribe, 0)
        } else {
            (PresenceTx::Refresh, self.config.expires)
        };
        let entry = self.table.get_mut(usize::try_from(index).ok()?)?;
        if entry.phase != Phase::Active {
            return None;
        }
        let dialog = entry.watcher.as_ref()?;
        let cseq = entry.watcher_seq.saturating_add(1);
        entry.watcher_seq = cseq;
        let message = messages::in_dialog_subscribe(
            &self.config.run_id,
            index,
            dialog,
            &watcher,
            cseq,
            expires,
        );
        self.begin_wait(index, tx, cseq, expires, now);
        Some(Outgoing {
            from: watcher.endpoint,
            tx,
            message,
        })
    }

    fn begin_wait(&mut self, index: u32, tx: PresenceTx, cseq: u32, asked: u32, now: Now) {
        let timeout = duration_ms(self.config.timeout);
        let Some(entry) = self.entry_mut(index) else {
            return;
        };
        entry.phase = Phase::Waiting;
        entry.subscribe = Some(InFlight {
            tx,
            cseq,
            sent_us: now.us,
            ends: asked == 0,
        });
        entry.asked = asked;
        entry.notified = false;
        entry.waiting_since_ms = now.ms();
        self.waiting += 1;
        self.schedule
            .push(now.ms().saturating_add(timeout), index, Timer::Watcher);
    }

    /// A refresh deadline came: still wanted if the subscription is idle
    /// and due then.
    pub(super) fn refresh_due(&mut self, index: u32, at_ms: u32) {
        if self
            .entry(index)
            .is_some_and(|s| s.phase == Phase::Active && s.refresh_at_ms == at_ms)
        {
            self.ready.push_back(Ready::Refresh(index));
        }
    }

    /// The watcher's wait deadline came: if it still waits since then, its
    /// SUBSCRIBE timed out (one failure), or its NOTIFY never came (the
    /// notifier's NOTIFY accounts for that failure itself).
    pub(super) fn watcher_overdue(&mut self, index: u32, at_ms: u32) {
        let timeout = duration_ms(self.config.timeout);
        let Some(entry) = self.entry_mut(index) else {
            return;
        };
        if entry.phase != Phase::Waiting || entry.waiting_since_ms.saturating_add(timeout) != at_ms
        {
            return;
        }
        if let Some(flight) = entry.subscribe.take() {
            self.record(flight.tx, Err(Failure::Timeout), None);
        }
        self.fail(index);
    }

    /// A final or provisional response to one of the watcher's SUBSCRIBEs.
    pub(super) fn on_subscribe_response(
        &mut self,
        index: u32,
        at: Endpoint,
        cseq: u32,
        response: &SipMessage,
        now: Now,
    ) {
        let code = response.status().unwrap_or(0);
        let expected = self.watcher_endpoint(index) == Some(at)
            && self
                .entry(index)
                .and_then(|s| s.subscribe)
                .is_some_and(|f| f.cseq == cseq);
        if !expected {
            self.counts.unexpected += 1;
            return;
        }
        if code < 200 {
            return;
        }
        let Some(flight) = self.entry_mut(index).and_then(|s| s.subscribe.take()) else {
            return;
        };
        let latency = Some(Self::latency(flight.sent_us, now));
        if code >= 300 {
            self.record(flight.tx, Err(Failure::Status(code)), latency);
            self.fail(index);
            return;
        }
        if self.entry(index).is_some_and(|s| s.watcher.is_none()) {
            match self.initial_dialog(index, response) {
                Ok(dialog) => {
                    if let Some(entry) = self.entry_mut(index) {
                        entry.watcher = Some(dialog);
                    }
                }
                Err(_) => {
                    self.record(
                        flight.tx,
                        Err(Failure::Protocol(
                            code,
                            "the 2xx to the SUBSCRIBE sets up no dialog (To tag or Contact missing, RFC 3261 §12.1.2)",
                        )),
                        latency,
                    );
                    self.fail(index);
                    return;
                }
            }
        }
        self.record(flight.tx, Ok(()), latency);
        let Some(entry) = self.entry_mut(index) else {
            return;
        };
        let granted = messages::expires(response)
            .unwrap_or(entry.asked)
            .min(entry.asked);
        entry.granted = granted;
        if entry.asked > 0 && granted == 0 {
            self.counts.ended_early += 1;
            self.fail(index);
            return;
        }
        if entry.notified {
            self.complete(index, now);
        }
    }

    /// The watcher's dialog from its initial SUBSCRIBE (rebuilt: it is a
    /// function of the index) and the 2xx.
    fn initial_dialog(&self, index: u32, response: &SipMessage) -> Result<Dialog, DialogError> {
        let (watcher, presentity) = self
            .parties(index)
            .ok_or(DialogError::Missing("subscription"))?;
        let request = messages::initial_subscribe(
            &self.config.run_id,
            index,
            &naming::call_id(&self.call_id_prefix, index),
            &watcher,
            &presentity,
            &naming::watcher_tag(index),
            self.config.expires,
        );
        Dialog::as_uac(&request, response)
    }

    /// A NOTIFY reached endpoint `at`: the reply to send back.
    pub(super) fn on_notify(
        &mut self,
        index: u32,
        at: Endpoint,
        request: &SipMessage,
        now: Now,
    ) -> SipMessage {
        let Some((_, presentity)) = self.parties(index) else {
            return messages::refusal(request, 481, "Call/Transaction Does Not Exist");
        };
        if self.watcher_endpoint(index) != Some(at) {
            self.counts.unexpected += 1;
            return messages::refusal(request, 404, "Not Found");
        }
        if let Err((code, reason)) = self.watcher_dialog_takes(index, request) {
            self.counts.unexpected += 1;
            return messages::refusal(request, code, reason);
        }
        self.counts.notifies_received += 1;
        if !messages::is_presence_event(request) {
            return messages::refusal(request, 489, "Bad Event");
        }
        let Some(state) = messages::notify_state(request) else {
            return messages::refusal(request, 400, "Bad Subscription-State");
        };
        if !messages::carries_pidf_of(request, &presentity.aor()) {
            return messages::refusal(request, 400, "Bad PIDF Body");
        }
        let Some(entry) = self.entry_mut(index) else {
            return messages::refusal(request, 481, "Call/Transaction Does Not Exist");
        };
        let awaited = entry.phase == Phase::Waiting && !entry.notified;
        let unsubscribing = entry.asked == 0;
        match (state, awaited, unsubscribing) {
            (NotifyState::Terminated, true, true) | (NotifyState::Active { .. }, true, false) => {
                entry.notified = true;
                if entry.subscribe.is_none() {
                    self.complete(index, now);
                }
            }
            (NotifyState::Terminated, _, false) => {
                self.counts.ended_early += 1;
                self.fail(index);
            }
            // A NOTIFY nobody waits for that keeps the subscription: fine.
            _ => {}
        }
        messages::notify_ok(request)
    }

    /// Checks an arriving NOTIFY against the watcher's dialog, or sets the
    /// dialog up from it when it overtook the 2xx; the refusal's status
    /// otherwise.
    fn watcher_dialog_takes(&mut self, index: u32, request: &SipMessage) -> Result<(), Refusal> {
        let tag = naming::watcher_tag(index);
        let entry = self.entry_mut(index).ok_or(GONE)?;
        let initial_out =
            entry.phase == Phase::Waiting && entry.subscribe.is_some_and(|f| f.cseq == 1);
        match entry.watcher.as_mut() {
            Some(dialog) => dialog.on_request(request).map_err(refusal_for),
            None if initial_out => {
                let to_tag = request.to_addr().and_then(|a| a.tag().map(str::to_owned));
                if to_tag.as_deref() != Some(tag.as_str()) {
                    return Err(GONE);
                }
                let dialog = Dialog::as_uas(request, &tag).map_err(|_| BAD_REQUEST)?;
                entry.watcher = Some(dialog);
                Ok(())
            }
            None => Err(GONE),
        }
    }

    /// The 2xx and the NOTIFY of the watcher's SUBSCRIBE have both come.
    pub(super) fn complete(&mut self, index: u32, now: Now) {
        let refresh = duration_ms(self.config.refresh);
        let tearing_down = self.tearing_down;
        let Some(entry) = slot(&mut self.table, index) else {
            return;
        };
        if entry.phase != Phase::Waiting {
            return;
        }
        self.waiting = self.waiting.saturating_sub(1);
        if entry.asked == 0 {
            entry.phase = Phase::Ended;
            entry.watcher = None;
            let was_held = std::mem::take(&mut entry.held);
            if was_held {
                self.counts.held = self.counts.held.saturating_sub(1);
            }
            self.counts.torn_down += 1;
            return;
        }
        entry.phase = Phase::Active;
        let granted_ms = entry.granted.saturating_mul(1000);
        let refresh_in = refresh.min(granted_ms / 2).max(1);
        entry.refresh_at_ms = now.ms().saturating_add(refresh_in);
        let at = entry.refresh_at_ms;
        if entry.held {
            self.counts.refreshed += 1;
        } else {
            entry.held = true;
            self.counts.established += 1;
            self.counts.held += 1;
            self.counts.held_peak = self.counts.held_peak.max(self.counts.held);
        }
        self.schedule.push(at, index, Timer::Refresh);
        if tearing_down {
            self.ready.push_back(Ready::Refresh(index));
        }
    }
}
