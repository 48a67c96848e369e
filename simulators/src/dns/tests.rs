//! DNS server tests: hickory resolvers (UDP and TCP), the real `dig`, zone
//! swaps, the query log, and malformed input.

use super::*;
use hickory_server::proto::rr::RecordType;
use picharness_reports::Direction;
use std::net::IpAddr;

const EDGE_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const EDGE_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);
const SRV_NAME: &str = "_sipfederationtls._tcp.contoso.test.";

fn contoso(a: Ipv4Addr) -> ZoneData {
    ZoneData {
        // No trailing dot on purpose: names are normalised.
        origin: "contoso.test".into(),
        a: vec![("accessedge.contoso.test.".into(), a)],
        aaaa: vec![("accessedge.contoso.test".into(), EDGE_V6)],
        srv: vec![SrvRecord {
            name: SRV_NAME.into(),
            priority: 0,
            weight: 0,
            port: 5061,
            target: "accessedge.contoso.test.".into(),
        }],
    }
}

async fn start(zones: Vec<ZoneData>) -> DnsServer {
    start_dns_server(
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        zones,
        DnsQueryLog::new(),
    )
    .await
    .expect("start dns server")
}

fn srv_answers(lookup: &hickory_resolver::lookup::Lookup) -> Vec<(u16, u16, u16, String)> {
    lookup
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::SRV(s) => Some((s.priority, s.weight, s.port, s.target.to_string())),
            _ => None,
        })
        .collect()
}

fn a_answers(lookup: &hickory_resolver::lookup::Lookup) -> Vec<IpAddr> {
    lookup
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .collect()
}

async fn check_lookups(r: &DnsResolver) {
    let srv = r.lookup(SRV_NAME, RecordType::SRV).await.expect("SRV");
    assert_eq!(
        srv_answers(&srv),
        vec![(0, 0, 5061, "accessedge.contoso.test.".to_string())]
    );
    let a = r
        .lookup("accessedge.contoso.test.", RecordType::A)
        .await
        .expect("A");
    assert_eq!(a_answers(&a), vec![IpAddr::V4(EDGE_V4)]);
    let aaaa = r
        .lookup("accessedge.contoso.test.", RecordType::AAAA)
        .await
        .expect("AAAA");
    assert_eq!(a_answers(&aaaa), vec![IpAddr::V6(EDGE_V6)]);

    let err = r
        .lookup("www.outside.org.", RecordType::A)
        .await
        .expect_err("outside our zones");
    assert_eq!(response_code_of(&err), Some(ResponseCode::Refused), "{err}");

    let err = r
        .lookup("nothere.contoso.test.", RecordType::A)
        .await
        .expect_err("no such name");
    assert_eq!(
        response_code_of(&err),
        Some(ResponseCode::NXDomain),
        "{err}"
    );
}

#[tokio::test]
async fn resolver_over_udp_gets_srv_a_aaaa_and_refused_and_is_logged() {
    let server = start(vec![contoso(EDGE_V4)]).await;
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);
    let before = SystemTime::now();
    let r = resolver(addr).expect("resolver");
    check_lookups(&r).await;
    let after = SystemTime::now();

    let log = server.log().snapshot();
    assert!(
        log.len() >= 10,
        "5 queries and 5 responses, got {}",
        log.len()
    );
    assert!(server.log().tcp_streams().is_empty());
    for pair in log.chunks(2) {
        let (q, resp) = (&pair[0], &pair[1]);
        assert_eq!(q.destination, addr);
        assert_eq!(q.source.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_ne!(q.source.port(), 0);
        assert_eq!((resp.source, resp.destination), (addr, q.source));
        assert!(q.at <= resp.at);
        let qm = Message::from_vec(&q.bytes).expect("query parses");
        let rm = Message::from_vec(&resp.bytes).expect("response parses");
        assert_eq!(qm.metadata.id, rm.metadata.id);
        assert_eq!(rm.metadata.message_type, MessageType::Response);
        assert!(!rm.metadata.recursion_available, "we never recurse");
    }
    let described: Vec<String> = log
        .iter()
        .filter_map(|d| describe_message(&d.bytes))
        .collect();
    assert!(
        described
            .iter()
            .any(|d| d.contains("_sipfederationtls._tcp.contoso.test. SRV")),
        "{described:?}"
    );
    assert!(
        described
            .iter()
            .any(|d| d.starts_with("response") && d.contains("REFUSED")),
        "{described:?}"
    );
    // Authoritative answer with the real TTL on the wire.
    let srv_resp = log
        .iter()
        .filter_map(|d| Message::from_vec(&d.bytes).ok())
        .find(|m| {
            m.metadata.message_type == MessageType::Response
                && m.answers.iter().any(|r| r.record_type() == RecordType::SRV)
        })
        .expect("SRV response");
    assert!(srv_resp.metadata.authoritative);
    assert_eq!(srv_resp.answers[0].ttl, TTL);

    assert_eq!(server.log().between(before, after).len(), log.len());
    assert!(server.log().between(after, SystemTime::now()).is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn resolver_over_tcp_only_gets_srv_a_aaaa_and_refused() {
    let server = start(vec![contoso(EDGE_V4)]).await;
    let r = resolver_tcp_only(server.local_addr()).expect("resolver");
    check_lookups(&r).await;
    assert!(server.log().snapshot().is_empty(), "no UDP was used");
    let streams = server.log().tcp_streams();
    assert!(!streams.is_empty());
    let s = &streams[0];
    assert_eq!(s.server, server.local_addr());
    for d in [Direction::ClientToServer, Direction::ServerToClient] {
        assert!(s.segments.iter().any(|seg| seg.direction == d), "{d:?}");
    }
    // The first bytes are a length-prefixed DNS query.
    let first: Vec<u8> = s
        .segments
        .iter()
        .filter(|seg| seg.direction == Direction::ClientToServer)
        .flat_map(|seg| seg.bytes.clone())
        .collect();
    let len = usize::from(u16::from_be_bytes([first[0], first[1]]));
    assert!(describe_message(&first[2..2 + len]).is_some_and(|d| d.starts_with("query")));
    assert_eq!(
        server
            .log()
            .tcp_streams_between(SystemTime::UNIX_EPOCH, SystemTime::now())
            .len(),
        streams.len()
    );
}

#[tokio::test]
async fn tcp_answers_can_be_switched_off_while_udp_still_answers() {
    let server = start(vec![contoso(EDGE_V4)]).await;
    server.set_answer_over_tcp(false);
    let tcp = resolver_tcp_only(server.local_addr()).expect("resolver");
    let err = tcp
        .lookup(SRV_NAME, RecordType::SRV)
        .await
        .expect_err("no answer over TCP");
    assert!(
        response_code_of(&err).is_none(),
        "a transport error, not a DNS answer: {err}"
    );
    let streams = server.log().tcp_streams();
    assert!(
        !streams.is_empty(),
        "the unanswered TCP query is still logged"
    );
    assert!(
        streams.iter().all(|s| s
            .segments
            .iter()
            .all(|seg| seg.direction == Direction::ClientToServer)),
        "nothing was sent back over TCP"
    );
    let udp = resolver(server.local_addr()).expect("resolver");
    let srv = udp
        .lookup(SRV_NAME, RecordType::SRV)
        .await
        .expect("UDP answers");
    assert_eq!(srv_answers(&srv).len(), 1);
    server.set_answer_over_tcp(true);
    let srv = tcp
        .lookup(SRV_NAME, RecordType::SRV)
        .await
        .expect("TCP answers again");
    assert_eq!(srv_answers(&srv).len(), 1);
}

#[tokio::test]
async fn a_watcher_sees_each_query_with_its_answer_on_one_line() {
    let server = start(vec![contoso(EDGE_V4)]).await;
    let mut watched = server.log().watch();
    let r = resolver(server.local_addr()).expect("resolver");
    r.lookup(SRV_NAME, RecordType::SRV).await.expect("SRV");
    let _ = r.lookup("www.outside.org.", RecordType::A).await;
    let tcp = resolver_tcp_only(server.local_addr()).expect("resolver");
    tcp.lookup("accessedge.contoso.test.", RecordType::A)
        .await
        .expect("A");
    let mut lines = Vec::new();
    while let Ok(exchange) = watched.try_recv() {
        lines.push(exchange.one_line());
    }
    // The resolver may ask twice about the refused name.
    assert!((3..=4).contains(&lines.len()), "{lines:?}");
    assert!(
        lines[0].starts_with("UDP 127.0.0.1:")
            && lines[0].ends_with(&format!(
                "SRV {SRV_NAME} -> NOERROR [SRV 0 0 5061 accessedge.contoso.test.]"
            )),
        "{lines:?}"
    );
    assert!(
        lines[1..lines.len() - 1]
            .iter()
            .all(|l| l.ends_with("A www.outside.org. -> REFUSED []")),
        "{lines:?}"
    );
    assert!(
        lines[lines.len() - 1].starts_with("TCP ")
            && lines[lines.len() - 1]
                .ends_with("A accessedge.contoso.test. -> NOERROR [A 192.0.2.10]"),
        "{lines:?}"
    );
}

#[tokio::test]
async fn a_reporting_only_log_reports_every_exchange_and_keeps_none() {
    let server = start_dns_server(
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        vec![contoso(EDGE_V4)],
        DnsQueryLog::reporting_only(),
    )
    .await
    .expect("start dns server");
    let mut watched = server.log().watch();
    let udp = resolver(server.local_addr()).expect("resolver");
    let tcp = resolver_tcp_only(server.local_addr()).expect("resolver");
    for _ in 0..20 {
        udp.clear_cache();
        udp.lookup(SRV_NAME, RecordType::SRV).await.expect("SRV");
        tcp.clear_cache();
        tcp.lookup("accessedge.contoso.test.", RecordType::A)
            .await
            .expect("A");
    }
    let mut reported = 0;
    while watched.try_recv().is_ok() {
        reported += 1;
    }
    assert_eq!(reported, 40, "every exchange is reported");
    assert!(server.log().snapshot().is_empty(), "no datagram is kept");
    assert!(server.log().tcp_streams().is_empty(), "no stream is kept");
    server.shutdown().await;
}

#[tokio::test]
async fn zone_swaps_take_effect_immediately() {
    let server = start(vec![contoso(EDGE_V4)]).await;
    let r = resolver(server.local_addr()).expect("resolver");
    let a = r
        .lookup("accessedge.contoso.test.", RecordType::A)
        .await
        .expect("A");
    assert_eq!(a_answers(&a), vec![IpAddr::V4(EDGE_V4)]);

    let moved = Ipv4Addr::new(198, 51, 100, 7);
    server.set_zones(vec![contoso(moved)]).expect("swap");
    let a = r
        .lookup("accessedge.contoso.test.", RecordType::A)
        .await
        .expect("A");
    assert_eq!(a_answers(&a), vec![IpAddr::V4(moved)]);

    // Fault: the SRV record disappears.
    let mut no_srv = contoso(moved);
    no_srv.srv.clear();
    server.set_zones(vec![no_srv]).expect("swap");
    let err = r
        .lookup(SRV_NAME, RecordType::SRV)
        .await
        .expect_err("SRV removed");
    assert_eq!(
        response_code_of(&err),
        Some(ResponseCode::NXDomain),
        "{err}"
    );

    // Fault: the whole zone disappears.
    server.set_zones(vec![]).expect("swap");
    let err = r
        .lookup("accessedge.contoso.test.", RecordType::A)
        .await
        .expect_err("zone removed");
    assert_eq!(response_code_of(&err), Some(ResponseCode::Refused), "{err}");
}

#[test]
fn bad_zone_data_is_rejected() {
    let mut z = contoso(EDGE_V4);
    z.a.push(("www.outside.org.".into(), EDGE_V4));
    assert!(matches!(
        build_catalog(&[z]),
        Err(DnsError::OutOfZone { .. })
    ));
    let mut z = contoso(EDGE_V4);
    z.srv[0].target = "bad..name".into();
    assert!(matches!(
        build_catalog(&[z]),
        Err(DnsError::InvalidName { .. })
    ));
    assert!(matches!(
        build_catalog(&[contoso(EDGE_V4), contoso(EDGE_V4)]),
        Err(DnsError::Zone { .. })
    ));
    assert!(build_catalog(&[contoso(EDGE_V4), ZoneData::new("fabrikam.test.")]).is_ok());
}

#[tokio::test]
async fn malformed_udp_input_is_survived() {
    let server = start(vec![contoso(EDGE_V4)]).await;
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind");
    // Too short for a header: silently dropped.
    sock.send_to(&[1, 2, 3], server.local_addr())
        .await
        .expect("send");
    // A header promising one question that is not there: FORMERR.
    let header = [0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0];
    sock.send_to(&header, server.local_addr())
        .await
        .expect("send");
    let mut buf = [0u8; 512];
    let (n, _) = tokio::time::timeout(Duration::from_secs(2), sock.recv_from(&mut buf))
        .await
        .expect("answer in time")
        .expect("recv");
    let m = Message::from_vec(&buf[..n]).expect("parse");
    assert_eq!(m.metadata.id, 0x1234);
    assert_eq!(m.metadata.response_code, ResponseCode::FormErr);
    // Still serving.
    let r = resolver(server.local_addr()).expect("resolver");
    r.lookup(SRV_NAME, RecordType::SRV).await.expect("SRV");
    // All three inbound datagrams are in the log.
    let log = server.log().snapshot();
    assert_eq!(log[0].bytes, vec![1, 2, 3]);
    assert_eq!(log[1].bytes, header.to_vec());
}

#[tokio::test]
async fn shutdown_frees_the_port() {
    let server = start(vec![contoso(EDGE_V4)]).await;
    let addr = server.local_addr();
    server.shutdown().await;
    let again = start_dns_server(addr, vec![contoso(EDGE_V4)], DnsQueryLog::new())
        .await
        .expect("same address again after shutdown");
    assert_eq!(again.local_addr(), addr);
    drop(again);
}

#[test]
fn server_and_log_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<DnsQueryLog>();
    check::<DnsServer>();
}

fn dig(args: Vec<String>) -> String {
    let out = match std::process::Command::new("dig").args(&args).output() {
        Ok(o) => o,
        Err(e) => panic!(
            "the real `dig` client is needed for this test and could not be run ({e}); \
             install it with: apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y bind9-dnsutils"
        ),
    };
    assert!(out.status.success(), "dig {args:?} failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_dig_gets_authoritative_answers_over_udp_and_tcp() {
    let server = start(vec![contoso(EDGE_V4)]).await;
    let addr = server.local_addr();
    let base = move |name: &str, ty: &str, tcp: bool| {
        let mut v = vec![
            format!("@{}", addr.ip()),
            "-p".to_string(),
            addr.port().to_string(),
            name.to_string(),
            ty.to_string(),
            "+norecurse".to_string(),
            "+time=2".to_string(),
            "+tries=1".to_string(),
        ];
        if tcp {
            v.push("+tcp".to_string());
        }
        v
    };
    for tcp in [false, true] {
        let srv = base(SRV_NAME, "SRV", tcp);
        let a = base("accessedge.contoso.test.", "A", tcp);
        let out_ = base("www.outside.org.", "A", tcp);
        let (srv, a, out_) = tokio::task::spawn_blocking(move || (dig(srv), dig(a), dig(out_)))
            .await
            .expect("join");
        assert!(srv.contains("status: NOERROR"), "{srv}");
        assert!(srv.contains("flags: qr aa"), "authoritative: {srv}");
        assert!(
            srv.lines().any(|l| l.starts_with(SRV_NAME)
                && l.contains("60")
                && l.contains("SRV")
                && l.ends_with("0 0 5061 accessedge.contoso.test.")),
            "{srv}"
        );
        assert!(
            a.lines()
                .any(|l| l.starts_with("accessedge.contoso.test.") && l.ends_with("192.0.2.10")),
            "{a}"
        );
        assert!(out_.contains("status: REFUSED"), "{out_}");
    }
    let log = server.log();
    assert_eq!(log.snapshot().len(), 6, "3 UDP queries and 3 responses");
    assert_eq!(
        log.tcp_streams().len(),
        3,
        "one TCP connection per dig +tcp"
    );
}

#[test]
fn a_flood_of_queries_is_counted_past_the_log_cap() {
    let log = DnsQueryLog::new();
    let datagram = Datagram {
        at: std::time::SystemTime::UNIX_EPOCH,
        source: "127.0.0.1:1".parse().expect("address"),
        destination: "127.0.0.1:53".parse().expect("address"),
        bytes: vec![0; 512],
    };
    let sent = 2 * MAX_LOG_BYTES / 512;
    for _ in 0..sent {
        log.push(datagram.clone());
    }
    let kept: usize = log.snapshot().iter().map(|d| d.bytes.len()).sum();
    assert!(kept <= MAX_LOG_BYTES);
    assert_eq!(log.snapshot().len() as u64 + log.not_kept(), sent as u64);
}
