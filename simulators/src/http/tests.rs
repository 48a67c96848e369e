//! The responder and the client over loopback sockets.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, SystemTime};

use rustls_pki_types::CertificateRevocationListDer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

const WAIT: Duration = Duration::from_secs(5);

async fn responder() -> CrlResponder {
    CrlResponder::start(
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        HttpLog::default(),
    )
    .await
    .expect("start")
}

async fn raw_exchange(address: SocketAddr, request: &[u8]) -> String {
    let mut tcp = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    tcp.write_all(request).await.expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut answer))
        .await
        .expect("in time")
        .expect("read");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_published_crl_is_served_and_every_request_logged() {
    let server = responder().await;
    let crl = CertificateRevocationListDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x07]);
    server.publish("/crl/one.crl", &crl);
    let started = SystemTime::now();
    let url = HttpUrl::parse(&server.url("/crl/one.crl")).expect("url");
    let response = fetch(&url, server.address(), None, WAIT, 1024, "picharness-test")
        .await
        .expect("fetch");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some(CRL_CONTENT_TYPE));
    assert_eq!(response.body, crl.as_ref());

    let missing = HttpUrl::parse(&server.url("/crl/none.crl")).expect("url");
    let response = fetch(
        &missing,
        server.address(),
        None,
        WAIT,
        1024,
        "picharness-test",
    )
    .await
    .expect("fetch");
    assert_eq!(response.status, 404);

    let post = raw_exchange(server.address(), b"POST /crl/one.crl HTTP/1.1\r\n\r\n").await;
    assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
    assert!(post.contains("Allow: GET"), "{post}");
    let huge = format!("GET /{} HTTP/1.1\r\n\r\n", "x".repeat(MAX_REQUEST_HEAD));
    let refused = raw_exchange(server.address(), huge.as_bytes()).await;
    assert!(refused.starts_with("HTTP/1.1 431 "), "{refused}");
    let garbage = raw_exchange(server.address(), b"\x16\x03\x01 hello\r\n\r\n").await;
    assert!(garbage.starts_with("HTTP/1.1 400 "), "{garbage}");

    server.withdraw("/crl/one.crl");
    let response = fetch(&url, server.address(), None, WAIT, 1024, "picharness-test")
        .await
        .expect("fetch");
    assert_eq!(response.status, 404);

    let requests = server.log().requests_between(started, SystemTime::now());
    let lines: Vec<(String, String, u16)> = requests
        .iter()
        .map(|r| (r.method.clone(), r.target.clone(), r.status))
        .collect();
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert_eq!(
        lines[..2],
        [
            ("GET".to_owned(), "/crl/one.crl".to_owned(), 200),
            ("GET".to_owned(), "/crl/none.crl".to_owned(), 404)
        ]
    );
    assert_eq!(lines[2].2, 405);
    assert_eq!(lines[3].2, 431);
    assert_eq!(lines[4].2, 400);
    assert_eq!(lines[5].2, 404);
    assert_eq!(requests[0].user_agent.as_deref(), Some("picharness-test"));
    assert!(
        requests[0]
            .one_line()
            .contains("GET /crl/one.crl from 127.0.0.1:")
    );
    let streams = server.log().tcp_streams_between(started, SystemTime::now());
    assert_eq!(streams.len(), 6);
}

#[tokio::test]
async fn the_client_bounds_size_and_time() {
    let server = responder().await;
    let big = CertificateRevocationListDer::from(vec![0u8; 4096]);
    server.publish("/big.crl", &big);
    let url = HttpUrl::parse(&server.url("/big.crl")).expect("url");
    let err = fetch(&url, server.address(), None, WAIT, 100, "t")
        .await
        .expect_err("too big");
    assert!(
        matches!(err, HttpError::BodyTooLarge { limit: 100 }),
        "{err}"
    );

    // A server that accepts and never answers: the client gives up.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = silent.local_addr().expect("addr");
    let holder = tokio::spawn(async move {
        let kept = silent.accept().await;
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(kept);
    });
    let err = fetch(&url, address, None, Duration::from_millis(200), 100, "t")
        .await
        .expect_err("silent");
    assert!(matches!(err, HttpError::Timeout { .. }), "{err}");
    holder.abort();

    // Nobody listening: a transport error, at once.
    drop(server);
    tokio::task::yield_now().await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = closed.local_addr().expect("addr");
    drop(closed);
    let err = fetch(&url, address, None, WAIT, 100, "t")
        .await
        .expect_err("refused");
    assert!(matches!(err, HttpError::Transport(_)), "{err}");
}
