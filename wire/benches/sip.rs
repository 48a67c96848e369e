//! Parse, emit and validate throughput on a typical federated MESSAGE and
//! on a 4 KB presence NOTIFY. Run with
//! `cargo bench -p picharness-wire --bench sip`; criterion prints time per
//! message (messages/s is its inverse) and MB/s from the byte throughput.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use picharness_wire::sip::{SipMessage, validate};

fn message() -> Vec<u8> {
    let body = "Hello from Windows Live Messenger, how is the federation going today?";
    format!(
        "MESSAGE sip:bob@contoso.test SIP/2.0\r\n\
Via: SIP/2.0/TLS 127.80.0.10:5061;branch=z9hG4bK-edge-4f2a9c1e;ms-internal-info=\"dkx0xJ\"\r\n\
Via: SIP/2.0/TLS federation.messenger.msn.com:5061;branch=z9hG4bK-msn-99ab12;received=127.80.1.2\r\n\
Record-Route: <sip:sip.contoso.test:5061;transport=tls;lr>\r\n\
Max-Forwards: 69\r\n\
From: \"Alice\" <sip:alice@hotmail.com>;tag=8f1c2d3e;epid=01010101\r\n\
To: <sip:bob@contoso.test>\r\n\
Call-ID: 6a1f0c9e2b7d4e51a3c8f0d2e4b6a8c0@hotmail.com\r\n\
CSeq: 1 MESSAGE\r\n\
Contact: <sip:alice@federation.messenger.msn.com:5061;transport=tls>\r\n\
User-Agent: Messenger/15.4\r\n\
Supported: ms-dialog-route-set-update, ms-sender\r\n\
Content-Type: text/plain; charset=UTF-8\r\n\
Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn notify_4k() -> Vec<u8> {
    let mut tuples = String::new();
    let mut i = 0;
    while tuples.len() < 3500 {
        tuples.push_str(&format!(
            "<tuple id=\"t{i}\"><status><basic>open</basic></status>\
<contact priority=\"0.8\">sip:bob@contoso.test;gruu;opaque=srvr:{i}</contact>\
<note>In a meeting until 15:00</note></tuple>\r\n"
        ));
        i += 1;
    }
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\
<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:bob@contoso.test\">\r\n{tuples}</presence>\r\n"
    );
    format!(
        "NOTIFY sip:alice@federation.messenger.msn.com:5061;transport=tls SIP/2.0\r\n\
Via: SIP/2.0/TLS sip.contoso.test:5061;branch=z9hG4bK-edge-77c1\r\n\
Via: SIP/2.0/TLS pool.contoso.test:5061;branch=z9hG4bK-pool-12ab;received=127.80.0.20\r\n\
Max-Forwards: 69\r\n\
From: <sip:bob@contoso.test>;tag=ab12cd34\r\n\
To: <sip:alice@hotmail.com>;tag=8f1c2d3e\r\n\
Call-ID: presence-9c8b7a6f5e4d3c2b1a@contoso.test\r\n\
CSeq: 42 NOTIFY\r\n\
Event: presence\r\n\
Subscription-State: active;expires=3600\r\n\
Contact: <sip:pool.contoso.test:5061;transport=tls>\r\n\
Content-Type: application/pidf+xml\r\n\
Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn bench(c: &mut Criterion) {
    for (name, bytes) in [("message", message()), ("notify-4k", notify_4k())] {
        let parsed = SipMessage::parse(&bytes).expect("bench message parses");
        assert!(validate(&parsed).is_empty(), "bench message is valid");
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("parse", |b| b.iter(|| SipMessage::parse(black_box(&bytes))));
        group.bench_function("emit", |b| b.iter(|| black_box(&parsed).to_bytes()));
        group.bench_function("validate", |b| b.iter(|| validate(black_box(&parsed))));
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
