//! The reference A/V Edge against the harness's TURN client on loopback:
//! Binding over UDP and TCP, the credential challenge, a relay in range,
//! Send/Data and ChannelData round trips, deletion, and each fault.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use picharness_wire::stun::{Class, attr};
use tokio::time::Instant;

use super::*;

fn ip(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 203, 60, host))
}

fn credentials() -> TurnCredentials {
    TurnCredentials {
        username: "messenger".into(),
        password: "s3cret".into(),
    }
}

async fn edge(host: u8, behaviour: AvBehaviour) -> AvEdge {
    AvEdge::start(AvEdgeConfig {
        udp: SocketAddr::new(ip(host), 3478),
        tcp: SocketAddr::new(ip(host), 443),
        relay_ip: ip(host),
        realm: "contoso.test".into(),
        username: "messenger".into(),
        password: "s3cret".into(),
        behaviour,
    })
    .await
    .expect("A/V Edge starts")
}

async fn udp_client(host: u8, log: &DatagramLog) -> TurnClient {
    let socket = bind_recording_udp(ip(200), log.clone()).await.unwrap();
    TurnClient::new(
        TurnTransport::Udp {
            socket,
            server: SocketAddr::new(ip(host), 3478),
        },
        credentials(),
    )
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(3)
}

#[tokio::test]
async fn binding_over_udp_and_tcp_maps_the_source() {
    let _edge = edge(1, AvBehaviour::default()).await;
    let log = DatagramLog::default();
    let mut client = udp_client(1, &log).await;
    let response = client.binding(soon()).await.unwrap();
    assert_eq!(response.class, Class::SuccessResponse);
    assert_eq!(
        response.xor_address(attr::XOR_MAPPED_ADDRESS),
        Some(client.transport.local())
    );
    assert_eq!(log.snapshot().len(), 2, "request and response recorded");

    let tcp = StunTcpClient::connect(ip(200), SocketAddr::new(ip(1), 443), soon())
        .await
        .unwrap();
    let mut client = TurnClient::new(TurnTransport::Tcp(tcp), credentials());
    let response = client.binding(soon()).await.unwrap();
    assert_eq!(
        response.xor_address(attr::XOR_MAPPED_ADDRESS),
        Some(client.transport.local())
    );
    assert!(client.transport.capture().unwrap().segments.len() >= 2);
}

#[tokio::test]
async fn allocate_is_challenged_then_relays_both_ways_and_is_deleted() {
    let edge = edge(2, AvBehaviour::default()).await;
    let log = DatagramLog::default();
    let mut client = udp_client(2, &log).await;
    let challenge = client.unauthenticated_allocate(soon()).await.unwrap();
    assert_eq!(challenge.error_code().map(|e| e.code), Some(401));
    assert!(challenge.text(attr::REALM).is_some() && challenge.text(attr::NONCE).is_some());

    let allocated = client.allocate(soon()).await.unwrap();
    assert!(
        RELAY_PORTS.contains(&allocated.relayed.port()),
        "{allocated:?}"
    );
    assert_eq!(allocated.relayed.ip(), ip(2));

    let peer = bind_recording_udp(ip(201), log.clone()).await.unwrap();
    client
        .create_permission(peer.local(), soon())
        .await
        .unwrap();
    client
        .send_indication(peer.local(), b"hello")
        .await
        .unwrap();
    let (data, from, _) = peer.recv_until(soon()).await.unwrap();
    assert_eq!((data.as_slice(), from), (&b"hello"[..], allocated.relayed));
    peer.send_to(b"back", allocated.relayed).await.unwrap();
    let back = client.recv_relayed(soon()).await.unwrap().unwrap();
    assert_eq!(
        (back.peer, back.data.as_slice()),
        (Some(peer.local()), &b"back"[..])
    );

    client
        .channel_bind(0x4000, peer.local(), soon())
        .await
        .unwrap();
    client.send_channel_data(0x4000, b"chan").await.unwrap();
    let (data, _, _) = peer.recv_until(soon()).await.unwrap();
    assert_eq!(data, b"chan");
    peer.send_to(b"chan-back", allocated.relayed).await.unwrap();
    let back = client.recv_relayed(soon()).await.unwrap().unwrap();
    assert_eq!(
        (back.channel, back.data.as_slice()),
        (Some(0x4000), &b"chan-back"[..])
    );

    assert_eq!(edge.allocation_count(), 1);
    assert_eq!(client.refresh(0, soon()).await.unwrap(), Some(0));
    assert_eq!(edge.allocation_count(), 0);
}

#[tokio::test]
async fn faults_show_on_the_wire() {
    let _edge = edge(
        3,
        AvBehaviour {
            wrong_mapped_address: true,
            no_auth: true,
            no_tcp_443: true,
            relay_out_of_range: true,
            ..AvBehaviour::default()
        },
    )
    .await;
    let log = DatagramLog::default();
    let mut client = udp_client(3, &log).await;
    let mapped = client
        .binding(soon())
        .await
        .unwrap()
        .xor_address(attr::XOR_MAPPED_ADDRESS)
        .unwrap();
    assert_ne!(mapped, client.transport.local());
    let first = client.unauthenticated_allocate(soon()).await.unwrap();
    assert_eq!(first.class, Class::SuccessResponse, "no challenge");
    let relayed = first.xor_address(attr::XOR_RELAYED_ADDRESS).unwrap();
    assert!((40_000..50_000).contains(&relayed.port()));
    let tcp = StunTcpClient::connect(ip(200), SocketAddr::new(ip(3), 443), soon()).await;
    assert!(tcp.is_err());
}

#[tokio::test]
async fn relay_faults_drop_inbound_or_every_tenth_packet() {
    for (host, behaviour, expected) in [
        (
            4,
            AvBehaviour {
                drop_inbound_relay: true,
                ..AvBehaviour::default()
            },
            0,
        ),
        (
            5,
            AvBehaviour {
                lossy_relay: true,
                ..AvBehaviour::default()
            },
            18,
        ),
    ] {
        let _edge = edge(host, behaviour).await;
        let log = DatagramLog::default();
        let mut client = udp_client(host, &log).await;
        let allocated = client.allocate(soon()).await.unwrap();
        let peer = bind_recording_udp(ip(202), log.clone()).await.unwrap();
        client
            .create_permission(peer.local(), soon())
            .await
            .unwrap();
        for n in 0..20u8 {
            peer.send_to(&[n], allocated.relayed).await.unwrap();
        }
        let mut received = 0;
        let until = Instant::now() + Duration::from_millis(500);
        while client.recv_relayed(until).await.unwrap().is_some() {
            received += 1;
        }
        assert_eq!(received, expected, "{behaviour:?}");
    }
}
