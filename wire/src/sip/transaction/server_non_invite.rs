//! The non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8) over a
//! reliable transport: Timer J is zero, so a final response ends it.

use super::{Action, ServerKey, State, TransactionError};
use crate::sip::message::SipMessage;

#[derive(Debug, Clone)]
pub struct ServerNonInvite {
    key: ServerKey,
    state: State,
    last_response: Option<SipMessage>,
}

impl ServerNonInvite {
    /// Starts on an arriving request other than INVITE and ACK; the request
    /// goes to the TU.
    pub fn start(request: SipMessage) -> Result<(Self, Vec<Action>), TransactionError> {
        match request.method() {
            None => return Err(TransactionError::NotARequest(request.summary())),
            Some("INVITE" | "ACK") => return Err(TransactionError::WrongMethod),
            Some(_) => {}
        }
        let key = ServerKey::of(&request).ok_or(TransactionError::NoBranch)?;
        Ok((
            Self {
                key,
                state: State::Trying,
                last_response: None,
            },
            vec![Action::Deliver(request)],
        ))
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn key(&self) -> &ServerKey {
        &self.key
    }

    /// No timer runs on a reliable transport.
    pub fn next_deadline(&self) -> Option<std::time::Instant> {
        None
    }

    /// The TU answers.
    pub fn respond(&mut self, response: SipMessage) -> Result<Vec<Action>, TransactionError> {
        let code = response
            .status()
            .ok_or_else(|| TransactionError::NotAResponse(response.summary()))?;
        if !matches!(self.state, State::Trying | State::Proceeding) {
            return Err(TransactionError::WrongState(self.state));
        }
        self.state = if code < 200 {
            State::Proceeding
        } else {
            // Timer J is zero on reliable transports (§17.2.2).
            State::Terminated
        };
        self.last_response = Some(response.clone());
        Ok(vec![Action::Send(response)])
    }

    /// A retransmission of the request: absorbed in Trying, answered with
    /// the last provisional response in Proceeding (§17.2.2).
    pub fn on_request(&mut self, _request: SipMessage) -> Vec<Action> {
        match self.state {
            State::Proceeding => self
                .last_response
                .clone()
                .map(Action::Send)
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::transaction::tests_support::{message_request, response_to};

    #[test]
    fn provisional_then_final() {
        let (mut tx, actions) = ServerNonInvite::start(message_request()).expect("starts");
        assert_eq!(actions, vec![Action::Deliver(message_request())]);
        assert!(
            tx.on_request(message_request()).is_empty(),
            "absorbed in Trying"
        );
        let trying = response_to(&message_request(), 100);
        tx.respond(trying.clone()).expect("responds");
        assert_eq!(tx.state(), State::Proceeding);
        assert_eq!(tx.on_request(message_request()), vec![Action::Send(trying)]);
        tx.respond(response_to(&message_request(), 200))
            .expect("responds");
        assert_eq!(tx.state(), State::Terminated);
        assert_eq!(
            tx.respond(response_to(&message_request(), 500)),
            Err(TransactionError::WrongState(State::Terminated))
        );
        assert_eq!(tx.next_deadline(), None);
    }

    #[test]
    fn refuses_responses_and_ack() {
        let ok = response_to(&message_request(), 200);
        assert!(matches!(
            ServerNonInvite::start(ok),
            Err(TransactionError::NotARequest(_))
        ));
    }
}
