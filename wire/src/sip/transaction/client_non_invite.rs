//! The non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6) over a
//! reliable transport: Timer E is off, Timer F is 64*T1 in Trying and
//! Proceeding, and Timer K is zero, so Completed is left at once.

use std::time::Instant;

use super::{Action, ClientKey, State, Timer, TimerConfig, TransactionError};
use crate::sip::message::SipMessage;

#[derive(Debug, Clone)]
pub struct ClientNonInvite {
    key: ClientKey,
    state: State,
    timer_f: Option<Instant>,
}

impl ClientNonInvite {
    /// Starts the transaction: the request is to be sent now and Timer F
    /// armed. INVITE and ACK are refused (they have their own rules).
    pub fn start(
        request: SipMessage,
        now: Instant,
        config: &TimerConfig,
    ) -> Result<(Self, Vec<Action>), TransactionError> {
        match request.method() {
            None => return Err(TransactionError::NotARequest(request.summary())),
            Some("INVITE" | "ACK") => return Err(TransactionError::WrongMethod),
            Some(_) => {}
        }
        let key = ClientKey::of(&request).ok_or(TransactionError::NoBranch)?;
        Ok((
            Self {
                key,
                state: State::Trying,
                timer_f: Some(now + config.transaction_timeout()),
            },
            vec![Action::Send(request)],
        ))
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn key(&self) -> &ClientKey {
        &self.key
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.timer_f
    }

    /// Feeds a response that matched this transaction's key.
    pub fn on_response(&mut self, response: SipMessage) -> Vec<Action> {
        let Some(code) = response.status() else {
            return Vec::new();
        };
        match self.state {
            State::Trying | State::Proceeding if code < 200 => {
                self.state = State::Proceeding;
                vec![Action::Deliver(response)]
            }
            State::Trying | State::Proceeding => {
                // Timer K is zero on reliable transports (§17.1.2.2).
                self.state = State::Terminated;
                self.timer_f = None;
                vec![Action::Deliver(response)]
            }
            _ => Vec::new(),
        }
    }

    pub fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        match self.timer_f {
            Some(deadline) if now >= deadline => {
                self.state = State::Terminated;
                self.timer_f = None;
                vec![Action::TimedOut(Timer::F)]
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::sip::transaction::tests_support::{invite, message_request, response_to};

    #[test]
    fn timer_f_fires_in_proceeding_too() {
        let t0 = Instant::now();
        let (mut tx, sent) =
            ClientNonInvite::start(message_request(), t0, &TimerConfig::default()).expect("starts");
        assert_eq!(sent, vec![Action::Send(message_request())]);
        let trying = response_to(&message_request(), 100);
        assert_eq!(
            tx.on_response(trying.clone()),
            vec![Action::Deliver(trying)]
        );
        assert_eq!(tx.state(), State::Proceeding);
        assert!(tx.on_timer(t0 + Duration::from_millis(31_999)).is_empty());
        assert_eq!(
            tx.on_timer(t0 + Duration::from_secs(32)),
            vec![Action::TimedOut(Timer::F)]
        );
        assert_eq!(tx.state(), State::Terminated);
    }

    #[test]
    fn final_response_terminates_and_later_ones_are_absorbed() {
        let t0 = Instant::now();
        let config = TimerConfig {
            t1: Duration::from_millis(100),
        };
        let (mut tx, _) = ClientNonInvite::start(message_request(), t0, &config).expect("starts");
        assert_eq!(tx.next_deadline(), Some(t0 + Duration::from_millis(6400)));
        let ok = response_to(&message_request(), 200);
        assert_eq!(
            tx.on_response(ok.clone()),
            vec![Action::Deliver(ok.clone())]
        );
        assert_eq!(tx.state(), State::Terminated);
        assert!(tx.on_response(ok).is_empty());
        assert!(tx.on_timer(t0 + Duration::from_secs(60)).is_empty());
    }

    #[test]
    fn refuses_invite() {
        assert!(matches!(
            ClientNonInvite::start(invite(), Instant::now(), &TimerConfig::default()),
            Err(TransactionError::WrongMethod)
        ));
    }
}
