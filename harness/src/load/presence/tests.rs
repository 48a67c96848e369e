//! The presence machine driven through an in-memory Edge: a relay that
//! routes requests by Request-URI (after its own Route entry), adds its
//! Record-Route to the initial SUBSCRIBE, and can drop, refuse, delay or
//! alter messages. Every drive loop is bounded; time is simulated.

use std::time::{Duration, Instant};

use picharness_wire::sip::SipMessage;

use super::*;

const EDGE_ROUTE: &str = "<sip:edge.contoso.test;lr>";

fn config(subscriptions: u32) -> PresenceConfig {
    PresenceConfig {
        subscriptions,
        refresh: Duration::from_secs(30),
        expires: PresenceConfig::default_expires(Duration::from_secs(30)),
        timeout: Duration::from_secs(8),
        sut_domain: "contoso.test".to_owned(),
        pool_fqdn: "pool.contoso.test".to_owned(),
        providers: ["messenger", "yahoo", "aol"]
            .iter()
            .map(|name| ProviderSide {
                name: (*name).to_owned(),
                domains: vec![format!("{name}.test")],
                fqdn: format!("sip.{name}.test"),
            })
            .collect(),
        run_id: "t1".to_owned(),
    }
}

/// What the in-memory Edge does to a request on its way.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Edge {
    Relay,
    /// Drops every SUBSCRIBE.
    DropSubscribe,
    /// Answers every initial SUBSCRIBE itself with this status.
    Refuse(u16),
    /// Removes the Event header from NOTIFYs.
    StripNotifyEvent,
    /// Holds responses to SUBSCRIBE back until the NOTIFY went through.
    NotifyFirst,
}

struct Net {
    presence: Presence,
    edge: Edge,
    now: Instant,
    held_back: Vec<(Endpoint, SipMessage)>,
    sent: usize,
    /// Method, CSeq and first Route of every request as the Edge got it.
    log: Vec<(String, u32, Option<String>)>,
}

fn reparse(message: &SipMessage) -> SipMessage {
    SipMessage::parse(&message.to_bytes()).expect("emitted message parses")
}

impl Net {
    fn new(subscriptions: u32, edge: Edge) -> Self {
        let now = Instant::now();
        Self {
            presence: Presence::new(config(subscriptions), now).expect("valid config"),
            edge,
            now,
            held_back: Vec::new(),
            sent: 0,
            log: Vec::new(),
        }
    }

    fn target(&self, uri: &str) -> Endpoint {
        let cfg = &self.presence.config;
        let host = picharness_wire::sip::SipUri::parse(uri)
            .expect("request uri")
            .host;
        if host == cfg.sut_domain || host == cfg.pool_fqdn {
            return Endpoint::Pool;
        }
        let p = cfg
            .providers
            .iter()
            .position(|p| p.domains.contains(&host) || p.fqdn == host)
            .expect("a provider host");
        Endpoint::Provider(u8::try_from(p).expect("few providers"))
    }

    /// Relays one request from `from` through the Edge and its answer back.
    fn relay(&mut self, from: Endpoint, request: SipMessage) {
        self.sent += 1;
        let mut request = reparse(&request);
        let method = request.method().unwrap_or_default().to_owned();
        self.log.push((
            method.clone(),
            request.cseq().map_or(0, |c| c.0),
            request.headers.first("route").map(str::to_owned),
        ));
        let initial = request.to_addr().is_some_and(|a| a.tag().is_none());
        match self.edge {
            Edge::DropSubscribe if method == "SUBSCRIBE" => return,
            Edge::Refuse(code) if initial => {
                let refusal = request.response(code, "Refused", Some("edge"));
                self.deliver_response(from, refusal);
                return;
            }
            Edge::StripNotifyEvent if method == "NOTIFY" => request.headers.remove_all("Event"),
            _ => {}
        }
        if request.headers.first("route") == Some(EDGE_ROUTE) {
            request.headers.pop_first_value("Route");
        }
        if initial {
            request.headers.prepend("Record-Route", EDGE_ROUTE);
        }
        let to = self.target(request.request_uri().unwrap_or_default());
        let request = reparse(&request);
        match self.presence.on_message(to, &request, self.now) {
            Handling::Reply(response) => {
                let response = reparse(&response);
                if self.edge == Edge::NotifyFirst && method == "SUBSCRIBE" {
                    self.held_back.push((from, response));
                } else {
                    self.deliver_response(from, response);
                }
            }
            other => panic!("a request got {other:?}"),
        }
    }

    fn deliver_response(&mut self, to: Endpoint, response: SipMessage) {
        let handled = self.presence.on_message(to, &reparse(&response), self.now);
        assert!(matches!(handled, Handling::Consumed), "{handled:?}");
    }

    /// Sends everything the machine has to send, and released held-back
    /// responses, until it is quiet (bounded).
    fn settle(&mut self) {
        for _ in 0..1_000_000 {
            if let Some(out) = self.presence.poll_transmit(self.now) {
                self.relay(out.from, out.message);
                continue;
            }
            if let Some((to, response)) = self.held_back.pop() {
                self.deliver_response(to, response);
                continue;
            }
            return;
        }
        panic!("the exchange did not settle");
    }

    fn start_all(&mut self) {
        while let Some(out) = self.presence.start_next(self.now) {
            self.relay(out.from, out.message);
            self.settle();
        }
    }

    /// Tears everything down, one unsubscribe at a time.
    fn teardown(&mut self) {
        self.presence.begin_teardown();
        self.settle();
        while let Some(out) = self.presence.unsubscribe_next(self.now) {
            self.relay(out.from, out.message);
            self.settle();
        }
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.settle();
    }

    fn outcomes(&mut self) -> Vec<Outcome> {
        std::iter::from_fn(|| self.presence.pop_outcome()).collect()
    }
}

fn count(outcomes: &[Outcome], tx: PresenceTx, ok: bool) -> usize {
    outcomes
        .iter()
        .filter(|o| o.tx == tx && o.result.is_ok() == ok)
        .count()
}

#[test]
fn subscriptions_go_both_ways_over_every_provider_refresh_and_tear_down() {
    let mut net = Net::new(6, Edge::Relay);
    net.start_all();
    let c = net.presence.counts().clone();
    assert_eq!(
        (c.started, c.established, c.held, c.held_peak),
        (6, 6, 6, 6)
    );
    assert_eq!((c.notifies_sent, c.notifies_received), (6, 6));
    // Two refresh rounds, each answered by a NOTIFY.
    net.advance(Duration::from_secs(30));
    net.advance(Duration::from_secs(30));
    let c = net.presence.counts().clone();
    assert_eq!(c.refreshed, 12);
    assert_eq!(c.notifies_received, 18);
    net.teardown();
    assert!(net.presence.is_done());
    let c = net.presence.counts().clone();
    assert_eq!((c.torn_down, c.held, c.failed, c.unexpected), (6, 0, 0, 0));
    assert_eq!((c.notifies_sent, c.notifies_received), (24, 24));
    let outcomes = net.outcomes();
    assert_eq!(outcomes.len(), net.sent);
    assert_eq!(count(&outcomes, PresenceTx::Subscribe, true), 6);
    assert_eq!(count(&outcomes, PresenceTx::Refresh, true), 12);
    assert_eq!(count(&outcomes, PresenceTx::Unsubscribe, true), 6);
    assert_eq!(count(&outcomes, PresenceTx::Notify, true), 24);
    // In-dialog requests count their CSeq up on each side and visit the
    // Edge through the route set.
    let in_dialog = |method: &str, cseq: u32| {
        net.log
            .iter()
            .filter(|(m, c, r)| m == method && *c == cseq && r.as_deref() == Some(EDGE_ROUTE))
            .count()
    };
    assert_eq!(in_dialog("SUBSCRIBE", 2), 6);
    assert_eq!(in_dialog("SUBSCRIBE", 4), 6);
    assert_eq!(in_dialog("NOTIFY", 1), 6);
    assert_eq!(in_dialog("NOTIFY", 4), 6);
    // Teardown frees both dialogs.
    assert!(
        net.presence
            .table
            .iter()
            .all(|s| s.watcher.is_none() && s.notifier.is_none())
    );
}

#[test]
fn the_parties_spread_over_directions_and_providers() {
    let cfg = config(6);
    let seen: Vec<(Endpoint, Endpoint)> = (0..6)
        .map(|i| {
            let (w, n) = naming::parties(&cfg, i).expect("parties");
            (w.endpoint, n.endpoint)
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (Endpoint::Provider(0), Endpoint::Pool),
            (Endpoint::Pool, Endpoint::Provider(0)),
            (Endpoint::Provider(1), Endpoint::Pool),
            (Endpoint::Pool, Endpoint::Provider(1)),
            (Endpoint::Provider(2), Endpoint::Pool),
            (Endpoint::Pool, Endpoint::Provider(2)),
        ]
    );
}

#[test]
fn messages_carry_what_presence_needs() {
    let cfg = config(2);
    let (watcher, presentity) = naming::parties(&cfg, 0).expect("parties");
    let sub = reparse(&messages::initial_subscribe(
        "t1",
        0,
        "t1-pres-0",
        &watcher,
        &presentity,
        "w0",
        60,
    ));
    assert_eq!(sub.method(), Some("SUBSCRIBE"));
    assert_eq!(sub.request_uri(), Some("sip:t1-lync0@contoso.test"));
    assert_eq!(sub.headers.first("event"), Some("presence"));
    assert_eq!(sub.headers.first("accept"), Some("application/pidf+xml"));
    assert_eq!(messages::expires(&sub), Some(60));
    assert_eq!(sub.cseq(), Some((1, "SUBSCRIBE")));
    assert!(
        sub.top_via_branch()
            .is_some_and(|b| b.starts_with("z9hG4bK"))
    );
    let dialog = picharness_wire::sip::dialog::Dialog::as_uas(&sub, "n0").expect("notifier dialog");
    let notify = reparse(&messages::notify(
        "t1",
        0,
        &dialog,
        &presentity,
        1,
        messages::NotifyState::Active {
            expires: 60,
            open: true,
        },
    ));
    assert_eq!(
        notify.headers.first("subscription-state"),
        Some("active;expires=60")
    );
    assert!(messages::carries_pidf_of(&notify, &presentity.aor()));
    assert!(!messages::carries_pidf_of(
        &notify,
        "sip:other@contoso.test"
    ));
    assert_eq!(notify.cseq(), Some((1, "NOTIFY")));
    assert_eq!(
        notify.request_uri(),
        Some("sip:t1-messenger0@sip.messenger.test:5061;transport=tls")
    );
}

#[test]
fn a_notify_that_overtakes_the_2xx_sets_the_dialog_up() {
    let mut net = Net::new(4, Edge::NotifyFirst);
    net.start_all();
    let c = net.presence.counts().clone();
    assert_eq!(
        (c.established, c.held, c.failed, c.unexpected),
        (4, 4, 0, 0)
    );
    // The dialog made from the NOTIFY refreshes with CSeq 2.
    net.edge = Edge::Relay;
    net.advance(Duration::from_secs(30));
    assert_eq!(net.presence.counts().refreshed, 4);
    let outcomes = net.outcomes();
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
}

#[test]
fn a_lost_subscribe_times_out_once() {
    let mut net = Net::new(2, Edge::DropSubscribe);
    net.start_all();
    assert_eq!(net.presence.counts().held, 0);
    net.advance(Duration::from_secs(7));
    assert!(net.outcomes().is_empty());
    net.advance(Duration::from_secs(1));
    let outcomes = net.outcomes();
    assert_eq!(
        outcomes,
        vec![
            Outcome {
                tx: PresenceTx::Subscribe,
                result: Err(Failure::Timeout),
                latency: None,
            };
            2
        ]
    );
    assert_eq!(net.presence.counts().failed, 2);
    net.teardown();
    assert!(net.presence.is_done());
}

#[test]
fn a_refusal_is_counted_by_its_status() {
    let mut net = Net::new(3, Edge::Refuse(403));
    net.start_all();
    let outcomes = net.outcomes();
    assert_eq!(outcomes.len(), 3);
    assert!(
        outcomes
            .iter()
            .all(|o| o.result == Err(Failure::Status(403)))
    );
    let c = net.presence.counts();
    assert_eq!((c.failed, c.held, c.notifies_sent), (3, 0, 0));
}

#[test]
fn a_notify_without_its_event_is_refused_and_fails_the_notify() {
    let mut net = Net::new(2, Edge::StripNotifyEvent);
    net.start_all();
    let outcomes = net.outcomes();
    assert_eq!(count(&outcomes, PresenceTx::Subscribe, true), 2);
    assert!(
        outcomes
            .iter()
            .filter(|o| o.tx == PresenceTx::Notify)
            .all(|o| o.result == Err(Failure::Status(489)))
    );
    let c = net.presence.counts();
    assert_eq!((c.held, c.failed), (0, 2));
}

#[test]
fn stopping_midway_leaves_every_request_with_one_outcome() {
    let mut net = Net::new(3, Edge::DropSubscribe);
    net.start_all();
    net.presence.abandon();
    let outcomes = net.outcomes();
    assert_eq!(outcomes.len(), net.sent);
    assert!(
        outcomes
            .iter()
            .all(|o| o.result == Err(Failure::Unanswered))
    );
    assert!(net.presence.is_done());
    // The stale deadlines that come later change nothing.
    net.advance(Duration::from_secs(60));
    assert!(net.outcomes().is_empty());
    assert_eq!(net.presence.counts().failed, 3);
}

#[test]
fn foreign_and_unknown_call_ids() {
    let mut net = Net::new(1, Edge::Relay);
    let mut other = SipMessage::request("NOTIFY", "sip:a@contoso.test");
    other.headers.push("Call-ID", "someone-else-1");
    other.headers.push("CSeq", "1 NOTIFY");
    assert!(matches!(
        net.presence.on_message(Endpoint::Pool, &other, net.now),
        Handling::NotMine
    ));
    other.headers.set("Call-ID", "t1-pres-99");
    match net.presence.on_message(Endpoint::Pool, &other, net.now) {
        Handling::Reply(r) => assert_eq!(r.status(), Some(481)),
        h => panic!("{h:?}"),
    }
    assert_eq!(net.presence.counts().unexpected, 1);
}

#[test]
fn bad_configurations_are_refused() {
    let mut c = config(1);
    c.providers.clear();
    assert_eq!(
        Presence::new(c, Instant::now()).err(),
        Some(PresenceError::NoProvider)
    );
    let mut c = config(1);
    c.refresh = Duration::from_millis(500);
    assert_eq!(
        Presence::new(c, Instant::now()).err(),
        Some(PresenceError::RefreshTooShort)
    );
    let mut c = config(1);
    c.run_id = "a b".to_owned();
    assert!(matches!(
        Presence::new(c, Instant::now()),
        Err(PresenceError::BadRunId(_))
    ));
    assert_eq!(PresenceConfig::default_expires(Duration::from_secs(10)), 60);
    assert_eq!(
        PresenceConfig::default_expires(Duration::from_secs(600)),
        1200
    );
}

/// 10,000 idle subscriptions cost a few hundred bytes each in the table
/// (printed with the process's resident growth; the test binary's threads
/// make the latter noisy, so only the table's own count is asserted).
#[test]
fn ten_thousand_idle_subscriptions_stay_small() {
    let before = memory::resident_bytes();
    let mut net = Net::new(10_000, Edge::Relay);
    net.start_all();
    assert_eq!(net.presence.counts().held, 10_000);
    let _ = net.outcomes();
    let after = memory::resident_bytes();
    let per = net.presence.table_bytes() / 10_000;
    eprintln!(
        "entry {} bytes, table {} bytes per idle subscription, resident growth {:?} bytes per subscription",
        Presence::entry_size(),
        per,
        before.zip(after).map(|(b, a)| a.saturating_sub(b) / 10_000)
    );
    assert!(per < 4096, "{per} bytes per idle subscription");
}

#[test]
fn a_subscription_being_set_up_at_teardown_is_torn_down_once_held() {
    let mut net = Net::new(3, Edge::NotifyFirst);
    while let Some(out) = net.presence.start_next(net.now) {
        net.relay(out.from, out.message);
    }
    // The 2xx are held back: every watcher still waits.
    assert_eq!(net.presence.counts().held, 0);
    net.teardown();
    assert!(net.presence.is_done());
    let c = net.presence.counts();
    assert_eq!((c.established, c.torn_down, c.held, c.failed), (3, 3, 0, 0));
    assert!(net.outcomes().iter().all(|o| o.result.is_ok()));
}

#[test]
fn a_request_no_connection_could_carry_fails_as_a_connection_failure() {
    let mut net = Net::new(2, Edge::Relay);
    let out = net.presence.start_next(net.now).expect("a SUBSCRIBE");
    net.presence.unsent(&out);
    assert_eq!(
        net.outcomes(),
        vec![Outcome {
            tx: PresenceTx::Subscribe,
            result: Err(Failure::Connection),
            latency: None,
        }]
    );
    assert_eq!(net.presence.counts().failed, 1);
    // Telling it twice changes nothing.
    net.presence.unsent(&out);
    assert!(net.outcomes().is_empty());
    net.start_all();
    assert_eq!(net.presence.counts().held, 1);
}
