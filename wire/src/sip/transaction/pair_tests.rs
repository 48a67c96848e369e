//! Client and server transactions wired back to back in memory, with every
//! message passing through bytes (emit, then parse) as it would on a
//! connection, and the server matching requests by `ServerKey`.

use std::time::{Duration, Instant};

use super::tests_support::{invite, message_request};
use super::{
    Action, ClientInvite, ClientKey, ClientNonInvite, ServerInvite, ServerKey, ServerNonInvite,
    State, Timer, TimerConfig,
};
use crate::sip::message::SipMessage;

fn wire(message: &SipMessage) -> SipMessage {
    SipMessage::parse(&message.to_bytes()).expect("emitted message parses")
}

fn sent(actions: &[Action]) -> Vec<SipMessage> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(m) => Some(wire(m)),
            _ => None,
        })
        .collect()
}

#[test]
fn message_and_200_over_a_pair() {
    let t0 = Instant::now();
    let config = TimerConfig::default();
    let (mut client, out) = ClientNonInvite::start(message_request(), t0, &config).expect("client");
    let [request] = sent(&out).try_into().expect("one request");
    let (mut server, delivered) = ServerNonInvite::start(request.clone()).expect("server");
    assert_eq!(delivered, vec![Action::Deliver(request.clone())]);
    let ok = request.response(200, "OK", Some("s1"));
    let [response] = sent(&server.respond(ok).expect("respond"))
        .try_into()
        .expect("one response");
    assert_eq!(ClientKey::of(&response).as_ref(), Some(client.key()));
    let got = client.on_response(response);
    assert!(matches!(got.as_slice(), [Action::Deliver(r)] if r.status() == Some(200)));
    assert_eq!(
        (client.state(), server.state()),
        (State::Terminated, State::Terminated)
    );
}

#[test]
fn rejected_invite_is_acked_and_the_ack_reaches_the_same_server_transaction() {
    let t0 = Instant::now();
    let config = TimerConfig::default();
    let (mut client, out) = ClientInvite::start(invite(), t0, &config).expect("client");
    let [request] = sent(&out).try_into().expect("one INVITE");
    let (mut server, out) = ServerInvite::start(request.clone(), &config).expect("server");
    let [trying] = sent(&out).try_into().expect("100 Trying");
    assert!(client.on_response(trying).len() == 1);
    assert_eq!(client.state(), State::Proceeding);
    let busy = request.response(486, "Busy Here", Some("s1"));
    let [busy] = sent(&server.respond(busy, t0).expect("respond"))
        .try_into()
        .expect("486");
    let [ack] = sent(&client.on_response(busy)).try_into().expect("ACK");
    assert_eq!(ServerKey::of(&ack).as_ref(), Some(server.key()));
    assert!(server.on_request(ack).is_empty());
    assert_eq!(
        (client.state(), server.state()),
        (State::Terminated, State::Terminated)
    );
    assert_eq!(
        server.on_timer(t0 + Duration::from_secs(60)),
        Vec::new(),
        "Timer H cancelled"
    );
}

#[test]
fn lost_ack_times_out_with_timer_h() {
    let t0 = Instant::now();
    let config = TimerConfig::default();
    let (_client, out) = ClientInvite::start(invite(), t0, &config).expect("client");
    let [request] = sent(&out).try_into().expect("one INVITE");
    let (mut server, _) = ServerInvite::start(request.clone(), &config).expect("server");
    let t1 = t0 + Duration::from_secs(2);
    server
        .respond(request.response(603, "Decline", Some("s1")), t1)
        .expect("respond");
    let deadline = server.next_deadline().expect("Timer H armed");
    assert_eq!(deadline, t1 + Duration::from_secs(32));
    assert_eq!(server.on_timer(deadline), vec![Action::TimedOut(Timer::H)]);
}
