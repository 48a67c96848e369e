//! The INVITE client transaction (RFC 3261 §17.1.1, Figure 5) over a
//! reliable transport: Timer A is off, Timer B is 64*T1 and runs only in
//! Calling, and Timer D is zero, so Completed is left as soon as the ACK
//! for a 3xx-6xx is sent.

use std::time::Instant;

use super::{Action, ClientKey, State, Timer, TimerConfig, TransactionError};
use crate::sip::headers::Headers;
use crate::sip::message::{SipMessage, StartLine};

#[derive(Debug, Clone)]
pub struct ClientInvite {
    request: SipMessage,
    key: ClientKey,
    state: State,
    timer_b: Option<Instant>,
}

impl ClientInvite {
    /// Starts the transaction: the INVITE is to be sent now and Timer B
    /// armed.
    pub fn start(
        request: SipMessage,
        now: Instant,
        config: &TimerConfig,
    ) -> Result<(Self, Vec<Action>), TransactionError> {
        if request.method() != Some("INVITE") {
            return Err(TransactionError::WrongMethod);
        }
        let key = ClientKey::of(&request).ok_or(TransactionError::NoBranch)?;
        let send = Action::Send(request.clone());
        Ok((
            Self {
                request,
                key,
                state: State::Calling,
                timer_b: Some(now + config.transaction_timeout()),
            },
            vec![send],
        ))
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn key(&self) -> &ClientKey {
        &self.key
    }

    /// The INVITE as sent.
    pub fn request(&self) -> &SipMessage {
        &self.request
    }

    /// When `on_timer` must next be called, if ever.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timer_b
    }

    /// Feeds a response that matched this transaction's key.
    pub fn on_response(&mut self, response: SipMessage) -> Vec<Action> {
        let Some(code) = response.status() else {
            return Vec::new();
        };
        match self.state {
            State::Calling | State::Proceeding => match code {
                100..=199 => {
                    self.state = State::Proceeding;
                    self.timer_b = None;
                    vec![Action::Deliver(response)]
                }
                200..=299 => {
                    self.terminate();
                    vec![Action::Deliver(response)]
                }
                _ => {
                    let ack = self.ack_for(&response);
                    // Timer D is zero on reliable transports: Completed is
                    // left at once (§17.1.1.2).
                    self.terminate();
                    vec![Action::Send(ack), Action::Deliver(response)]
                }
            },
            // Retransmissions after the end are absorbed; 2xx
            // retransmissions go to the TU core, not here (§17.1.1.2).
            _ => Vec::new(),
        }
    }

    /// Fires due timers.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        match self.timer_b {
            Some(deadline) if now >= deadline && self.state == State::Calling => {
                self.terminate();
                vec![Action::TimedOut(Timer::B)]
            }
            _ => Vec::new(),
        }
    }

    fn terminate(&mut self) {
        self.state = State::Terminated;
        self.timer_b = None;
    }

    /// The ACK for a 3xx-6xx (§17.1.1.3): the To of the response, with its
    /// tag.
    fn ack_for(&self, response: &SipMessage) -> SipMessage {
        self.hop_request("ACK", response.headers.first("to"))
    }

    /// The CANCEL for this INVITE (§9.1): the same Request-URI, Call-ID,
    /// To, From, top Via (so the same branch) and Route, the INVITE's CSeq
    /// number with method CANCEL. RFC 3261 lets it be sent only once a
    /// provisional response came back (the state is Proceeding); when to
    /// send it is the transaction user's call.
    pub fn cancel_request(&self) -> SipMessage {
        self.hop_request("CANCEL", None)
    }

    /// A request of this hop that shares the INVITE's transaction
    /// (§17.1.1.3, §9.1): Request-URI, top Via and Route of the INVITE,
    /// Call-ID and From, To from `to` or else the INVITE, the INVITE's CSeq
    /// number with `method`.
    fn hop_request(&self, method: &str, to: Option<&str>) -> SipMessage {
        let mut headers = Headers::new();
        if let Some(via) = self.request.headers.values("via").first() {
            headers.push("Via", *via);
        }
        for route in self
            .request
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("route"))
        {
            headers.push("Route", route.value.clone());
        }
        headers.push("Max-Forwards", "70");
        for name in ["From", "Call-ID"] {
            if let Some(v) = self.request.headers.first(name) {
                headers.push(name, v);
            }
        }
        if let Some(to) = to.or_else(|| self.request.headers.first("to")) {
            headers.push("To", to);
        }
        let number = self.request.cseq().map_or(1, |(n, _)| n);
        headers.push("CSeq", format!("{number} {method}"));
        headers.push("Content-Length", "0");
        SipMessage {
            start: StartLine::Request {
                method: method.to_owned(),
                uri: self.request.request_uri().unwrap_or_default().to_owned(),
                version: "SIP/2.0".to_owned(),
            },
            headers,
            body: Vec::new(),
            raw: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::sip::transaction::ServerKey;
    use crate::sip::transaction::tests_support::{invite, response_to};

    #[test]
    fn timer_b_fires_after_64_t1_in_calling() {
        let t0 = Instant::now();
        let config = TimerConfig::default();
        let (mut tx, actions) = ClientInvite::start(invite(), t0, &config).expect("starts");
        assert!(matches!(actions.as_slice(), [Action::Send(_)]));
        assert_eq!(tx.next_deadline(), Some(t0 + Duration::from_secs(32)));
        assert!(tx.on_timer(t0 + Duration::from_millis(31_999)).is_empty());
        assert_eq!(tx.state(), State::Calling);
        assert_eq!(
            tx.on_timer(t0 + Duration::from_secs(32)),
            vec![Action::TimedOut(Timer::B)]
        );
        assert_eq!(tx.state(), State::Terminated);
        assert_eq!(tx.next_deadline(), None);
    }

    #[test]
    fn provisional_stops_timer_b_and_2xx_terminates() {
        let t0 = Instant::now();
        let (mut tx, _) =
            ClientInvite::start(invite(), t0, &TimerConfig::default()).expect("starts");
        let ringing = response_to(&invite(), 180);
        assert_eq!(
            tx.on_response(ringing.clone()),
            vec![Action::Deliver(ringing)]
        );
        assert_eq!(tx.state(), State::Proceeding);
        assert!(
            tx.on_timer(t0 + Duration::from_secs(3600)).is_empty(),
            "no timer in Proceeding"
        );
        let ok = response_to(&invite(), 200);
        assert_eq!(
            tx.on_response(ok.clone()),
            vec![Action::Deliver(ok.clone())]
        );
        assert_eq!(tx.state(), State::Terminated);
        assert!(
            tx.on_response(ok).is_empty(),
            "retransmitted 2xx is not the transaction's"
        );
    }

    #[test]
    fn failure_is_acked_with_the_response_to_tag() {
        let t0 = Instant::now();
        let (mut tx, _) =
            ClientInvite::start(invite(), t0, &TimerConfig::default()).expect("starts");
        let busy = response_to(&invite(), 486);
        let actions = tx.on_response(busy.clone());
        let [Action::Send(ack), Action::Deliver(delivered)] = actions.as_slice() else {
            panic!("expected ACK then delivery, got {actions:?}");
        };
        assert_eq!(delivered, &busy);
        assert_eq!(ack.method(), Some("ACK"));
        assert_eq!(ack.request_uri(), invite().request_uri());
        assert_eq!(ack.cseq(), Some((7, "ACK")));
        assert_eq!(ack.headers.first("to"), busy.headers.first("to"));
        assert_eq!(ack.top_via_branch(), invite().top_via_branch());
        assert_eq!(ack.headers.values("route"), vec!["<sip:p1.example.com;lr>"]);
        assert_eq!(tx.state(), State::Terminated);
    }

    #[test]
    fn cancel_shares_the_invite_s_branch_route_and_cseq_number() {
        let (tx, _) =
            ClientInvite::start(invite(), Instant::now(), &TimerConfig::default()).expect("starts");
        let cancel = tx.cancel_request();
        assert_eq!(cancel.method(), Some("CANCEL"));
        assert_eq!(cancel.request_uri(), invite().request_uri());
        assert_eq!(cancel.cseq(), Some((7, "CANCEL")));
        assert_eq!(cancel.headers.values("via"), invite().headers.values("via"));
        assert_eq!(
            cancel.headers.values("route"),
            vec!["<sip:p1.example.com;lr>"]
        );
        assert_eq!(cancel.headers.first("to"), invite().headers.first("to"));
        assert_eq!(cancel.headers.first("from"), invite().headers.first("from"));
        assert_eq!(cancel.headers.first("contact"), None);
        let key = ServerKey::of(&cancel).expect("keyed");
        assert_eq!(key.cancelled_invite(), ServerKey::of(&invite()));
    }

    #[test]
    fn refuses_non_invite_and_branchless_requests() {
        let t0 = Instant::now();
        let mut m = invite();
        m.start = StartLine::Request {
            method: "MESSAGE".to_owned(),
            uri: "sip:b@x".to_owned(),
            version: "SIP/2.0".to_owned(),
        };
        assert!(matches!(
            ClientInvite::start(m, t0, &TimerConfig::default()),
            Err(TransactionError::WrongMethod)
        ));
        let mut n = invite();
        n.headers.remove_all("via");
        assert!(matches!(
            ClientInvite::start(n, t0, &TimerConfig::default()),
            Err(TransactionError::NoBranch)
        ));
    }
}
