//! The reference A/V Edge's MS-TURN relaying over TCP: the digest Allocate
//! and Send in control frames, Set Active Destination, then end-to-end data
//! frames both ways; and the fault that turns the TCP path's relaying off.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use picharness_wire::ms_turn::{
    MsTcpFrame, MsTcpFrameKind, MsTurnMessage, ms_attr, ms_send_request, ms_turn_key, ms_type,
};
use tokio::time::Instant;

use super::*;

fn ip(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 203, 61, host))
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(3)
}

fn frame(kind: MsTcpFrameKind, payload: Vec<u8>) -> Vec<u8> {
    MsTcpFrame { kind, payload }.encode()
}

async fn next(client: &mut MsTurnTcpClient) -> MsTcpFrame {
    match client.next_frame(soon()).await.unwrap() {
        MsTcpRead::Got(frame) => frame,
        other => panic!("no frame: {other:?}"),
    }
}

/// Connects, allocates with the digest exchange; returns the client, a
/// signer and the relay.
async fn allocated(
    host: u8,
) -> (
    MsTurnTcpClient,
    impl Fn(MsTurnMessage) -> Vec<u8>,
    SocketAddr,
) {
    let mut client = MsTurnTcpClient::connect(ip(200), SocketAddr::new(ip(host), 443), soon())
        .await
        .unwrap();
    let allocate = || {
        MsTurnMessage::new(ms_type::ALLOCATE_REQUEST, rand::random())
            .with(ms_attr::MS_VERSION, &3u32.to_be_bytes())
    };
    let request = frame(MsTcpFrameKind::Control, allocate().encode());
    client.send(&request).await.unwrap();
    let challenge = MsTurnMessage::parse(&next(&mut client).await.payload).unwrap();
    let nonce = challenge.attribute(ms_attr::NONCE).unwrap().value.clone();
    let key = ms_turn_key("messenger", "contoso.test", "s3cret");
    let sign = move |message: MsTurnMessage| {
        message
            .with(ms_attr::USERNAME, b"messenger")
            .with(ms_attr::REALM, b"contoso.test")
            .with(ms_attr::NONCE, &nonce)
            .encode_with_integrity(&key)
    };
    let request = frame(MsTcpFrameKind::Control, sign(allocate()));
    client.send(&request).await.unwrap();
    let granted = MsTurnMessage::parse(&next(&mut client).await.payload).unwrap();
    assert_eq!(granted.message_type, ms_type::ALLOCATE_RESPONSE);
    let relay = granted.address(ms_attr::MAPPED_ADDRESS).unwrap();
    (client, sign, relay)
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

#[tokio::test]
async fn send_indication_active_destination_and_data_frames_over_tcp() {
    let _edge = edge(1, AvBehaviour::default()).await;
    let (mut client, sign, relay) = allocated(1).await;
    let peer = bind_recording_udp(ip(201), DatagramLog::default())
        .await
        .unwrap();
    let send = sign(ms_send_request(rand::random(), peer.local(), b"hello"));
    client
        .send(&frame(MsTcpFrameKind::Control, send))
        .await
        .unwrap();
    let (data, from, _) = peer.recv_until(soon()).await.unwrap();
    assert_eq!((data.as_slice(), from), (&b"hello"[..], relay));
    peer.send_to(b"back", relay).await.unwrap();
    let indication = next(&mut client).await;
    assert_eq!(indication.kind, MsTcpFrameKind::Control);
    let parts = MsTurnMessage::parse(&indication.payload)
        .unwrap()
        .data_indication_parts()
        .unwrap();
    assert_eq!(
        (parts.peer, parts.data.as_slice()),
        (peer.local(), &b"back"[..])
    );

    let sad = MsTurnMessage::new(ms_type::SET_ACTIVE_DESTINATION_REQUEST, rand::random())
        .with_address(ms_attr::DESTINATION_ADDRESS, peer.local());
    client
        .send(&frame(MsTcpFrameKind::Control, sign(sad)))
        .await
        .unwrap();
    let answer = next(&mut client).await;
    let answer = MsTurnMessage::parse(&answer.payload).unwrap();
    assert_eq!(
        answer.message_type,
        ms_type::SET_ACTIVE_DESTINATION_RESPONSE
    );
    client
        .send(&frame(MsTcpFrameKind::Data, b"media-out".to_vec()))
        .await
        .unwrap();
    let (data, from, _) = peer.recv_until(soon()).await.unwrap();
    assert_eq!((data.as_slice(), from), (&b"media-out"[..], relay));
    peer.send_to(b"media-back", relay).await.unwrap();
    let back = next(&mut client).await;
    assert_eq!(back.kind, MsTcpFrameKind::Data);
    assert_eq!(back.payload, b"media-back");
}

#[tokio::test]
async fn the_tcp_no_relay_fault_drops_send_and_data_frames() {
    let _edge = edge(
        2,
        AvBehaviour {
            ms_turn_tcp_no_relay: true,
            ..AvBehaviour::default()
        },
    )
    .await;
    let (mut client, sign, _relay) = allocated(2).await;
    let peer = bind_recording_udp(ip(202), DatagramLog::default())
        .await
        .unwrap();
    let send = sign(ms_send_request(rand::random(), peer.local(), b"hello"));
    client
        .send(&frame(MsTcpFrameKind::Control, send))
        .await
        .unwrap();
    let sad = MsTurnMessage::new(ms_type::SET_ACTIVE_DESTINATION_REQUEST, rand::random())
        .with_address(ms_attr::DESTINATION_ADDRESS, peer.local());
    client
        .send(&frame(MsTcpFrameKind::Control, sign(sad)))
        .await
        .unwrap();
    let answer = MsTurnMessage::parse(&next(&mut client).await.payload).unwrap();
    assert_eq!(
        answer.message_type,
        ms_type::SET_ACTIVE_DESTINATION_RESPONSE
    );
    client
        .send(&frame(MsTcpFrameKind::Data, b"media-out".to_vec()))
        .await
        .unwrap();
    let until = Instant::now() + Duration::from_millis(500);
    assert!(peer.recv_until(until).await.is_none());
}
