//! The proxy core driven by hand with a simulated clock: a peer on one
//! connection, the pool on another, the transaction user's part played by
//! the test (it forwards with a Via of its own on top).

use std::time::{Duration, Instant};

use picharness_wire::sip::SipMessage;

use super::*;

#[derive(Debug, Clone, PartialEq)]
struct Conn(u64);

impl Link for Conn {
    fn link_id(&self) -> u64 {
        self.0
    }
}

const PEER: Conn = Conn(1);
const POOL: Conn = Conn(2);

fn parse(text: &str) -> SipMessage {
    SipMessage::parse(text.replace('\n', "\r\n").as_bytes()).expect("test message parses")
}

fn request(method: &str, cseq: &str, branch: &str) -> SipMessage {
    parse(&format!(
        "{method} sip:bob@contoso.test SIP/2.0
Via: SIP/2.0/TLS peer.example:5061;branch={branch}
Max-Forwards: 70
From: <sip:al@hotmail.com>;tag=a1
To: <sip:bob@contoso.test>
Call-ID: call-1
CSeq: {cseq}
Content-Length: 0

"
    ))
}

fn invite() -> SipMessage {
    request("INVITE", "1 INVITE", "z9hG4bK-peer-1")
}

fn message() -> SipMessage {
    request("MESSAGE", "1 MESSAGE", "z9hG4bK-peer-2")
}

/// What the transaction user would forward: the Edge's Via on top.
fn forwarded(request: &SipMessage) -> SipMessage {
    let mut out = request.clone();
    out.headers.prepend(
        "Via",
        "SIP/2.0/TLS edge-int.contoso.test:5061;branch=z9hG4bK-edge-1",
    );
    out
}

fn core(timers: EdgeTimers, faults: FaultSet) -> ProxyCore<Conn> {
    ProxyCore::new(timers, faults)
}

/// Timer C well below Timer B, so each can be seen alone.
fn short_timer_c() -> EdgeTimers {
    EdgeTimers {
        t1: Duration::from_millis(500),
        timer_c: Duration::from_secs(2),
    }
}

/// Receives `request` from the peer and forwards it to the pool; returns
/// its id and what was sent to the pool.
fn receive_and_forward(
    proxy: &mut ProxyCore<Conn>,
    request: SipMessage,
    now: Instant,
) -> (RequestId, SipMessage) {
    let received = proxy.on_request(&PEER, request, now);
    let (id, request) = received
        .new
        .expect("a new request for the transaction user");
    let out = forwarded(&request);
    let sent = proxy.forward(&id, &POOL, out.clone(), now);
    assert_eq!(
        sent,
        vec![Transmit {
            to: POOL,
            message: out.clone()
        }]
    );
    (id, out)
}

/// The (status or method, connection) of each message sent.
fn summary(sends: &[Transmit<Conn>]) -> Vec<(String, u64)> {
    sends
        .iter()
        .map(|t| {
            let what = t.message.status().map_or_else(
                || t.message.method().unwrap_or_default().to_owned(),
                |s| {
                    let method = t.message.cseq().map(|(_, m)| m).unwrap_or_default();
                    format!("{s} {method}")
                },
            );
            (what, t.to.0)
        })
        .collect()
}

fn owned(list: &[(&str, u64)]) -> Vec<(String, u64)> {
    list.iter().map(|(w, c)| ((*w).to_owned(), *c)).collect()
}

#[test]
fn an_invite_gets_100_trying_and_its_retransmission_is_absorbed() {
    let t0 = Instant::now();
    let mut proxy = core(EdgeTimers::default(), FaultSet::default());
    let first = proxy.on_request(&PEER, invite(), t0);
    assert_eq!(summary(&first.sends), owned(&[("100 INVITE", 1)]));
    let (id, sent) = first.new.expect("new");
    proxy.forward(&id, &POOL, forwarded(&sent), t0);
    let again = proxy.on_request(&PEER, invite(), t0);
    assert!(again.new.is_none(), "forwarded once only");
    assert_eq!(
        summary(&again.sends),
        owned(&[("100 INVITE", 1)]),
        "the stored response is sent again"
    );
}

#[test]
fn provisional_and_final_responses_go_upstream_without_the_edge_via() {
    let t0 = Instant::now();
    let mut proxy = core(EdgeTimers::default(), FaultSet::default());
    let (_, out) = receive_and_forward(&mut proxy, invite(), t0);
    assert!(
        proxy
            .on_response(out.response(100, "Trying", None), t0)
            .is_empty(),
        "a 100 is hop by hop"
    );
    let ringing = proxy.on_response(out.response(180, "Ringing", Some("p1")), t0);
    assert_eq!(summary(&ringing), owned(&[("180 INVITE", 1)]));
    assert_eq!(
        ringing[0].message.headers.values("via"),
        vec!["SIP/2.0/TLS peer.example:5061;branch=z9hG4bK-peer-1"]
    );
    let ok = proxy.on_response(out.response(200, "OK", Some("p1")), t0);
    assert_eq!(summary(&ok), owned(&[("200 INVITE", 1)]));
    assert!(proxy.servers.is_empty() && proxy.clients.is_empty());
    assert_eq!(proxy.next_deadline(), None);
    assert!(
        proxy
            .on_response(out.response(200, "OK", Some("p1")), t0)
            .is_empty(),
        "a 2xx matching no transaction is dropped"
    );
}

#[test]
fn a_retransmitted_message_is_absorbed_while_it_waits() {
    let t0 = Instant::now();
    let mut proxy = core(EdgeTimers::default(), FaultSet::default());
    let (_, out) = receive_and_forward(&mut proxy, message(), t0);
    let again = proxy.on_request(&PEER, message(), t0);
    assert!(again.new.is_none() && again.sends.is_empty());
    let ok = proxy.on_response(out.response(200, "OK", Some("p1")), t0);
    assert_eq!(summary(&ok), owned(&[("200 MESSAGE", 1)]));
}

#[test]
fn a_non_2xx_final_is_acked_downstream_and_the_upstream_ack_ends_here() {
    let t0 = Instant::now();
    let mut proxy = core(EdgeTimers::default(), FaultSet::default());
    let (_, out) = receive_and_forward(&mut proxy, invite(), t0);
    let busy = proxy.on_response(out.response(486, "Busy Here", Some("p1")), t0);
    assert_eq!(summary(&busy), owned(&[("ACK", 2), ("486 INVITE", 1)]));
    assert_eq!(busy[0].message.top_via_branch(), Some("z9hG4bK-edge-1"));
    assert_eq!(busy[0].message.headers.count("via"), 1);
    // A retransmitted INVITE gets the 486 again; its ACK is absorbed.
    let again = proxy.on_request(&PEER, invite(), t0);
    assert_eq!(summary(&again.sends), owned(&[("486 INVITE", 1)]));
    assert!(again.new.is_none());
    let mut ack = request("ACK", "1 ACK", "z9hG4bK-peer-1");
    ack.headers.set("To", "<sip:bob@contoso.test>;tag=p1");
    let absorbed = proxy.on_request(&PEER, ack, t0);
    assert!(absorbed.new.is_none() && absorbed.sends.is_empty());
    assert!(proxy.servers.is_empty());
}

#[test]
fn timer_h_ends_an_invite_whose_ack_never_comes() {
    let t0 = Instant::now();
    let mut proxy = core(EdgeTimers::default(), FaultSet::default());
    let (id, _) = receive_and_forward(&mut proxy, invite(), t0);
    proxy.respond(&id, invite().response(404, "Not Found", Some("e")), t0);
    proxy.clients.clear();
    assert_eq!(proxy.next_deadline(), Some(t0 + Duration::from_secs(32)));
    assert!(proxy.on_timer(t0 + Duration::from_secs(32)).is_empty());
    assert!(proxy.servers.is_empty());
    assert_eq!(proxy.next_deadline(), None);
}

#[test]
fn a_cancel_before_any_provisional_is_held_until_one_comes() {
    let t0 = Instant::now();
    let mut proxy = core(EdgeTimers::default(), FaultSet::default());
    let (_, out) = receive_and_forward(&mut proxy, invite(), t0);
    let cancel = proxy.on_request(&PEER, request("CANCEL", "1 CANCEL", "z9hG4bK-peer-1"), t0);
    assert!(
        cancel.new.is_none(),
        "the CANCEL ends at the transaction layer"
    );
    assert_eq!(summary(&cancel.sends), owned(&[("200 CANCEL", 1)]));
    let ringing = proxy.on_response(out.response(180, "Ringing", Some("p1")), t0);
    assert_eq!(
        summary(&ringing),
        owned(&[("CANCEL", 2), ("180 INVITE", 1)])
    );
    let sent = &ringing[0].message;
    assert_eq!(sent.top_via_branch(), Some("z9hG4bK-edge-1"));
    assert_eq!(sent.cseq(), Some((1, "CANCEL")));
    let cancel_ok = proxy.on_response(sent.response(200, "OK", None), t0);
    assert!(
        cancel_ok.is_empty(),
        "the answer to the Edge's CANCEL ends here"
    );
    let terminated = proxy.on_response(out.response(487, "Request Terminated", Some("p1")), t0);
    assert_eq!(
        summary(&terminated),
        owned(&[("ACK", 2), ("487 INVITE", 1)])
    );
}

#[test]
fn a_retransmitted_cancel_is_answered_again_and_cancels_once() {
    let t0 = Instant::now();
    let mut proxy = core(EdgeTimers::default(), FaultSet::default());
    let (_, out) = receive_and_forward(&mut proxy, invite(), t0);
    proxy.on_response(out.response(180, "Ringing", Some("p1")), t0);
    let cancel = request("CANCEL", "1 CANCEL", "z9hG4bK-peer-1");
    let first = proxy.on_request(&PEER, cancel.clone(), t0);
    assert_eq!(
        summary(&first.sends),
        owned(&[("200 CANCEL", 1), ("CANCEL", 2)])
    );
    let second = proxy.on_request(&PEER, cancel, t0);
    assert_eq!(summary(&second.sends), owned(&[("200 CANCEL", 1)]));
}

#[test]
fn a_cancel_matching_no_invite_is_481() {
    let t0 = Instant::now();
    let mut proxy = core(EdgeTimers::default(), FaultSet::default());
    let answer = proxy.on_request(&PEER, request("CANCEL", "1 CANCEL", "z9hG4bK-none"), t0);
    assert_eq!(summary(&answer.sends), owned(&[("481 CANCEL", 1)]));
    assert!(answer.new.is_none());
    assert!(proxy.servers.is_empty());
}

#[test]
fn a_2xx_racing_the_cancel_is_still_forwarded_and_its_ack_passes() {
    let t0 = Instant::now();
    let mut proxy = core(EdgeTimers::default(), FaultSet::default());
    let (_, out) = receive_and_forward(&mut proxy, invite(), t0);
    proxy.on_response(out.response(180, "Ringing", Some("p1")), t0);
    let cancel = proxy.on_request(&PEER, request("CANCEL", "1 CANCEL", "z9hG4bK-peer-1"), t0);
    let sent_cancel = cancel.sends[1].message.clone();
    let ok = proxy.on_response(out.response(200, "OK", Some("p1")), t0);
    assert_eq!(summary(&ok), owned(&[("200 INVITE", 1)]));
    assert!(
        proxy
            .on_response(sent_cancel.response(200, "OK", None), t0)
            .is_empty()
    );
    assert!(proxy.servers.is_empty() && proxy.clients.is_empty());
    assert_eq!(proxy.next_deadline(), None, "nothing left to time out");
    // The ACK for the 2xx has a branch of its own: forwarded end to end.
    let ack = request("ACK", "1 ACK", "z9hG4bK-peer-ack");
    let (id, ack) = proxy.on_request(&PEER, ack, t0).new.expect("passed on");
    let out = proxy.forward(&id, &POOL, forwarded(&ack), t0);
    assert_eq!(summary(&out), owned(&[("ACK", 2)]));
}

#[test]
fn timer_c_without_a_provisional_response_answers_408() {
    let t0 = Instant::now();
    let mut proxy = core(short_timer_c(), FaultSet::default());
    let (_, out) = receive_and_forward(&mut proxy, invite(), t0);
    assert_eq!(proxy.next_deadline(), Some(t0 + Duration::from_secs(2)));
    assert!(proxy.on_timer(t0 + Duration::from_millis(1999)).is_empty());
    let fired = proxy.on_timer(t0 + Duration::from_secs(2));
    assert_eq!(summary(&fired), owned(&[("408 INVITE", 1)]));
    let warning = fired[0]
        .message
        .headers
        .first("warning")
        .unwrap_or_default();
    assert!(warning.contains("Timer C"), "{warning}");
    assert!(
        proxy
            .on_response(out.response(180, "Ringing", Some("p1")), t0)
            .is_empty(),
        "the INVITE client transaction is gone"
    );
    let mut ack = request("ACK", "1 ACK", "z9hG4bK-peer-1");
    ack.headers.set("To", "<sip:bob@contoso.test>;tag=e");
    assert!(proxy.on_request(&PEER, ack, t0).new.is_none());
}

#[test]
fn timer_c_after_a_provisional_cancels_downstream_and_the_487_goes_up() {
    let t0 = Instant::now();
    let mut proxy = core(short_timer_c(), FaultSet::default());
    let (_, out) = receive_and_forward(&mut proxy, invite(), t0);
    let t1 = t0 + Duration::from_secs(1);
    proxy.on_response(out.response(180, "Ringing", Some("p1")), t1);
    assert_eq!(
        proxy.next_deadline(),
        Some(t1 + Duration::from_secs(2)),
        "a provisional response restarts Timer C"
    );
    let fired = proxy.on_timer(t1 + Duration::from_secs(2));
    assert_eq!(summary(&fired), owned(&[("CANCEL", 2)]));
    let terminated = proxy.on_response(out.response(487, "Request Terminated", Some("p1")), t1);
    assert_eq!(
        summary(&terminated),
        owned(&[("ACK", 2), ("487 INVITE", 1)])
    );
}

#[test]
fn an_unanswered_cancel_gives_the_invite_up_with_408() {
    let t0 = Instant::now();
    let mut proxy = core(short_timer_c(), FaultSet::default());
    let (_, out) = receive_and_forward(&mut proxy, invite(), t0);
    proxy.on_response(out.response(180, "Ringing", Some("p1")), t0);
    let t1 = t0 + Duration::from_secs(2);
    assert_eq!(summary(&proxy.on_timer(t1)), owned(&[("CANCEL", 2)]));
    assert_eq!(proxy.next_deadline(), Some(t1 + Duration::from_secs(32)));
    let fired = proxy.on_timer(t1 + Duration::from_secs(32));
    assert_eq!(summary(&fired), owned(&[("408 INVITE", 1)]));
    assert!(proxy.clients.is_empty());
}

#[test]
fn timer_b_and_timer_f_answer_408() {
    let t0 = Instant::now();
    let mut proxy = core(EdgeTimers::default(), FaultSet::default());
    receive_and_forward(&mut proxy, invite(), t0);
    receive_and_forward(&mut proxy, message(), t0);
    assert_eq!(proxy.next_deadline(), Some(t0 + Duration::from_secs(32)));
    assert!(
        proxy
            .on_timer(t0 + Duration::from_millis(31_999))
            .is_empty()
    );
    let mut fired = summary(&proxy.on_timer(t0 + Duration::from_secs(32)));
    fired.sort();
    assert_eq!(fired, owned(&[("408 INVITE", 1), ("408 MESSAGE", 1)]));
}

#[test]
fn a_closed_next_hop_fails_its_requests_with_503_unless_silent() {
    let t0 = Instant::now();
    for (faults, expected) in [
        (FaultSet::default(), owned(&[("503 MESSAGE", 1)])),
        (FaultSet::new([Fault::SilentWhenNextHopDown]), Vec::new()),
    ] {
        let mut proxy = core(EdgeTimers::default(), faults);
        receive_and_forward(&mut proxy, message(), t0);
        assert!(proxy.has_pending_from(PEER.0));
        let sends = proxy.on_closed(POOL.0, "the pool went away", t0);
        assert_eq!(summary(&sends), expected);
        assert!(!proxy.has_pending_from(PEER.0));
        assert!(proxy.servers.is_empty() && proxy.clients.is_empty());
    }
}

#[test]
fn a_request_merging_with_a_pending_one_is_told_apart_from_its_own() {
    let t0 = Instant::now();
    let mut proxy = core(EdgeTimers::default(), FaultSet::default());
    let (first, _) = receive_and_forward(&mut proxy, message(), t0);
    assert!(!proxy.merges_with_pending(&first, &message()));
    let other_branch = request("MESSAGE", "1 MESSAGE", "z9hG4bK-peer-9");
    let (second, _) = proxy
        .on_request(&PEER, other_branch.clone(), t0)
        .new
        .expect("a new transaction");
    assert!(proxy.merges_with_pending(&second, &other_branch));
}

#[test]
fn fault_switches_change_one_thing_each() {
    let t0 = Instant::now();
    // cancel-not-forwarded: the CANCEL is answered, never passed on.
    let mut proxy = core(
        EdgeTimers::default(),
        FaultSet::new([Fault::CancelNotForwarded]),
    );
    let (_, out) = receive_and_forward(&mut proxy, invite(), t0);
    proxy.on_response(out.response(180, "Ringing", Some("p1")), t0);
    let cancel = proxy.on_request(&PEER, request("CANCEL", "1 CANCEL", "z9hG4bK-peer-1"), t0);
    assert_eq!(summary(&cancel.sends), owned(&[("200 CANCEL", 1)]));
    // no-hop-ack: the 486 goes up, no ACK goes down.
    let mut proxy = core(EdgeTimers::default(), FaultSet::new([Fault::NoHopAck]));
    let (_, out) = receive_and_forward(&mut proxy, invite(), t0);
    let busy = proxy.on_response(out.response(486, "Busy Here", Some("p1")), t0);
    assert_eq!(summary(&busy), owned(&[("486 INVITE", 1)]));
    // drop-error-responses: the ACK goes down, the 486 not up.
    let mut proxy = core(
        EdgeTimers::default(),
        FaultSet::new([Fault::DropErrorResponses]),
    );
    let (_, out) = receive_and_forward(&mut proxy, invite(), t0);
    let busy = proxy.on_response(out.response(486, "Busy Here", Some("p1")), t0);
    assert_eq!(summary(&busy), owned(&[("ACK", 2)]));
}

#[test]
fn an_unmatchable_request_is_still_proxied_and_answered() {
    let t0 = Instant::now();
    let mut proxy = core(EdgeTimers::default(), FaultSet::default());
    let mut bare = message();
    bare.headers.remove_all("via");
    let (id, bare) = proxy.on_request(&PEER, bare, t0).new.expect("new");
    let out = forwarded(&bare);
    proxy.forward(&id, &POOL, out.clone(), t0);
    let ok = proxy.on_response(out.response(200, "OK", Some("p1")), t0);
    assert_eq!(summary(&ok), owned(&[("200 MESSAGE", 1)]));
    assert!(proxy.servers.is_empty());
}
