//! The INVITE server transaction (RFC 3261 §17.2.1, Figure 7) over a
//! reliable transport: 100 Trying is sent at once, Timer G is off, Timer H
//! is 64*T1 in Completed, and Timer I is zero, so Confirmed is left as soon
//! as the ACK arrives. A 2xx ends the transaction (RFC 3261 as written;
//! RFC 6026's Accepted state is not modelled).

use std::time::Instant;

use super::{Action, ServerKey, State, Timer, TimerConfig, TransactionError};
use crate::sip::message::SipMessage;

#[derive(Debug, Clone)]
pub struct ServerInvite {
    key: ServerKey,
    state: State,
    last_response: Option<SipMessage>,
    timer_h: Option<Instant>,
    timeout: std::time::Duration,
}

impl ServerInvite {
    /// Starts on an arriving INVITE: the INVITE goes to the TU and a
    /// 100 Trying is sent (§17.2.1: the TU is not assumed to answer within
    /// 200 ms).
    pub fn start(
        request: SipMessage,
        config: &TimerConfig,
    ) -> Result<(Self, Vec<Action>), TransactionError> {
        if request.method() != Some("INVITE") {
            return Err(TransactionError::WrongMethod);
        }
        let key = ServerKey::of(&request).ok_or(TransactionError::NoBranch)?;
        let trying = request.response(100, "Trying", None);
        Ok((
            Self {
                key,
                state: State::Proceeding,
                last_response: Some(trying.clone()),
                timer_h: None,
                timeout: config.transaction_timeout(),
            },
            vec![Action::Deliver(request), Action::Send(trying)],
        ))
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn key(&self) -> &ServerKey {
        &self.key
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.timer_h
    }

    /// The TU answers.
    pub fn respond(
        &mut self,
        response: SipMessage,
        now: Instant,
    ) -> Result<Vec<Action>, TransactionError> {
        let code = response
            .status()
            .ok_or_else(|| TransactionError::NotAResponse(response.summary()))?;
        if self.state != State::Proceeding {
            return Err(TransactionError::WrongState(self.state));
        }
        match code {
            100..=199 => {}
            200..=299 => self.state = State::Terminated,
            _ => {
                self.state = State::Completed;
                self.timer_h = Some(now + self.timeout);
            }
        }
        self.last_response = Some(response.clone());
        Ok(vec![Action::Send(response)])
    }

    /// Feeds a request that matched this transaction's key: a
    /// retransmitted INVITE or the ACK for a 3xx-6xx.
    pub fn on_request(&mut self, request: SipMessage) -> Vec<Action> {
        match (self.state, request.method()) {
            (State::Proceeding | State::Completed, Some("INVITE")) => self
                .last_response
                .clone()
                .map(Action::Send)
                .into_iter()
                .collect(),
            (State::Completed, Some("ACK")) => {
                // Timer I is zero on reliable transports (§17.2.1).
                self.state = State::Terminated;
                self.timer_h = None;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    pub fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        match self.timer_h {
            Some(deadline) if now >= deadline && self.state == State::Completed => {
                self.state = State::Terminated;
                self.timer_h = None;
                vec![Action::TimedOut(Timer::H)]
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::sip::transaction::tests_support::{ack_for, invite, response_to};

    #[test]
    fn sends_trying_and_delivers_the_invite() {
        let (tx, actions) = ServerInvite::start(invite(), &TimerConfig::default()).expect("starts");
        assert_eq!(tx.state(), State::Proceeding);
        let [Action::Deliver(inv), Action::Send(trying)] = actions.as_slice() else {
            panic!("unexpected {actions:?}");
        };
        assert_eq!(inv, &invite());
        assert_eq!(trying.status(), Some(100));
        assert_eq!(
            trying.headers.first("to"),
            Some("<sip:bob@contoso.test>"),
            "100 carries no tag"
        );
    }

    #[test]
    fn failure_waits_for_ack_under_timer_h() {
        let t0 = Instant::now();
        let (mut tx, _) = ServerInvite::start(invite(), &TimerConfig::default()).expect("starts");
        let busy = response_to(&invite(), 486);
        assert_eq!(
            tx.respond(busy.clone(), t0),
            Ok(vec![Action::Send(busy.clone())])
        );
        assert_eq!(tx.state(), State::Completed);
        assert_eq!(tx.next_deadline(), Some(t0 + Duration::from_secs(32)));
        assert_eq!(
            tx.on_request(invite()),
            vec![Action::Send(busy)],
            "retransmitted INVITE gets the final response again"
        );
        assert_eq!(
            tx.on_timer(t0 + Duration::from_secs(32)),
            vec![Action::TimedOut(Timer::H)]
        );
        assert_eq!(tx.state(), State::Terminated);
    }

    #[test]
    fn ack_ends_completed_at_once() {
        let t0 = Instant::now();
        let (mut tx, _) = ServerInvite::start(invite(), &TimerConfig::default()).expect("starts");
        tx.respond(response_to(&invite(), 404), t0)
            .expect("responds");
        assert!(tx.on_request(ack_for(&invite())).is_empty());
        assert_eq!(tx.state(), State::Terminated);
        assert!(tx.on_timer(t0 + Duration::from_secs(40)).is_empty());
    }

    #[test]
    fn success_terminates_and_no_more_responses() {
        let t0 = Instant::now();
        let (mut tx, _) = ServerInvite::start(invite(), &TimerConfig::default()).expect("starts");
        let ringing = response_to(&invite(), 180);
        tx.respond(ringing.clone(), t0).expect("responds");
        assert_eq!(tx.on_request(invite()), vec![Action::Send(ringing)]);
        tx.respond(response_to(&invite(), 200), t0)
            .expect("responds");
        assert_eq!(tx.state(), State::Terminated);
        assert_eq!(
            tx.respond(response_to(&invite(), 200), t0),
            Err(TransactionError::WrongState(State::Terminated))
        );
    }
}
