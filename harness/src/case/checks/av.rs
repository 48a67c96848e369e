//! A/V Edge checks: STUN Binding over UDP 3478 and TCP 443, the TURN
//! credential challenge, the relay port range, relayed round trips, and an
//! RTP stream through the relay with loss, jitter and latency measured.
//! Every socket is the harness's own and records what it sends and gets.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

use picharness_reports::Verdict;
use picharness_simulators::av::{
    AvClientError, RecordingUdp, StunTcpClient, TurnClient, TurnTransport, bind_recording_udp,
    stream_through_relay,
};
use picharness_wire::stun::{Class, MessageBuilder, attr, method};
use tokio::time::Instant;

use super::super::execute::CaseRun;
use super::super::outcome::Outcome;
use super::av_stream::{stream_failure, stream_observations};
use crate::topology::AvView;

/// The media relay range of a Lync 2013 A/V Edge (PORT-06, AV-04).
const RELAY_RANGE: RangeInclusive<u16> = 50_000..=59_999;
/// The channel number the harness binds.
pub(super) const CHANNEL: u16 = 0x4000;
/// Longest wait for one relayed packet.
pub(super) const RELAY_WAIT: Duration = Duration::from_secs(2);

/// Which transport a STUN check uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StunTransport {
    Udp,
    Tcp,
}

pub(super) fn av_view(run: &CaseRun<'_>) -> Result<AvView, Outcome> {
    let view = run.topology.av.clone().ok_or_else(|| {
        Outcome::new(
            Verdict::Skipped,
            "A/V is off for this topology (the SUT federates IM only)",
        )
    })?;
    if !view.dialects.standard {
        return Err(Outcome::new(
            Verdict::Skipped,
            "the A/V Edge is judged in MS-TURN only in this run, not standard TURN",
        ));
    }
    Ok(view)
}

pub(super) fn harness_error(what: &str, e: &AvClientError) -> Outcome {
    Outcome::error(format!("the harness could not {what}: {e}"))
}

/// A client error while talking to the SUT: silence past the deadline, an
/// error response, bad bytes or a closed connection are all the SUT's doing.
pub(super) fn judged(what: &str, e: AvClientError) -> Outcome {
    Outcome::fail(format!("{what}: {e}"))
}

pub(super) async fn connect(
    run: &mut CaseRun<'_>,
    view: &AvView,
    transport: StunTransport,
) -> Result<TurnClient, Outcome> {
    let deadline = run.deadline;
    let transport = match transport {
        StunTransport::Udp => {
            let socket = bind_recording_udp(view.client_ip, run.av_datagrams.clone())
                .await
                .map_err(|e| harness_error("bind its A/V client socket", &e))?;
            TurnTransport::Udp {
                socket,
                server: view.udp,
            }
        }
        StunTransport::Tcp => {
            let tcp = StunTcpClient::connect(view.client_ip, view.tcp, deadline)
                .await
                .map_err(|e| {
                    Outcome::fail(format!(
                        "the A/V Edge accepts no TCP connection on {} (PORT-05): {e}",
                        view.tcp
                    ))
                })?;
            let id = u64::MAX / 2 + u64::from(tcp.local.port());
            run.remember_connection(tcp.record(), id);
            TurnTransport::Tcp(tcp)
        }
    };
    let client = TurnClient::new(transport, view.credentials.clone());
    run.note(format!(
        "A/V client {} -> {} ({})",
        client.transport.local(),
        client.transport.server(),
        if client.transport.is_tcp() {
            "TCP"
        } else {
            "UDP"
        }
    ));
    Ok(client)
}

pub(crate) async fn stun_binding(
    run: &mut CaseRun<'_>,
    transport: StunTransport,
) -> Result<(), Outcome> {
    let view = av_view(run)?;
    let mut client = connect(run, &view, transport).await?;
    let server = client.transport.server();
    let name = if transport == StunTransport::Tcp {
        "TCP"
    } else {
        "UDP"
    };
    let response = client
        .binding(run.deadline)
        .await
        .map_err(|e| judged(&format!("Binding over {name} to {server}"), e))?;
    run.note(format!("Binding over {name}: {}", response.summary()));
    if response.class != Class::SuccessResponse {
        return Err(Outcome::fail(format!(
            "the A/V Edge answered the Binding request over {name} with {}",
            response.summary()
        )));
    }
    let local = client.transport.local();
    let Some(mapped) = response.xor_address(attr::XOR_MAPPED_ADDRESS) else {
        return Err(Outcome::fail(format!(
            "the Binding response over {name} has no XOR-MAPPED-ADDRESS"
        )));
    };
    if mapped != local {
        return Err(Outcome::fail(format!(
            "XOR-MAPPED-ADDRESS over {name} is {mapped}, but the harness sent from {local}"
        )));
    }
    run.details
        .push(format!("XOR-MAPPED-ADDRESS {mapped} over {name}"));
    Ok(())
}

/// Deletes an allocation at the end of a check; a failure is only noted.
pub(super) async fn release(run: &mut CaseRun<'_>, client: &mut TurnClient) {
    let deadline = (Instant::now() + RELAY_WAIT).min(run.deadline);
    match client.refresh(0, deadline).await {
        Ok(_) => run.note("allocation deleted (Refresh LIFETIME 0)"),
        Err(e) => run.note(format!("deleting the allocation failed: {e}")),
    }
}

pub(crate) async fn turn_auth_challenge(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let view = av_view(run)?;
    let mut client = connect(run, &view, StunTransport::Udp).await?;
    let first = client
        .unauthenticated_allocate(run.deadline)
        .await
        .map_err(|e| judged("Allocate without credentials", e))?;
    run.note(format!("Allocate without credentials: {}", first.summary()));
    if first.class == Class::SuccessResponse {
        release(run, &mut client).await;
        return Err(Outcome::fail(
            "Allocate without credentials was granted instead of challenged with 401 (AV-03)",
        ));
    }
    let code = first.error_code().map(|e| e.code);
    if code != Some(401) {
        return Err(Outcome::fail(format!(
            "Allocate without credentials got {} instead of 401 Unauthorized",
            first.summary()
        )));
    }
    for (kind, name) in [(attr::REALM, "REALM"), (attr::NONCE, "NONCE")] {
        if first.attribute(kind).is_none() {
            return Err(Outcome::fail(format!(
                "the 401 challenge carries no {name}"
            )));
        }
    }
    let allocated = client
        .allocate(run.deadline)
        .await
        .map_err(|e| judged("Allocate with the configured credentials", e))?;
    run.details.push(format!(
        "401 then Allocate success, relay {}",
        allocated.relayed
    ));
    release(run, &mut client).await;
    Ok(())
}

pub(crate) async fn turn_relay_range(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let view = av_view(run)?;
    let mut client = connect(run, &view, StunTransport::Udp).await?;
    let allocated = client
        .allocate(run.deadline)
        .await
        .map_err(|e| judged("Allocate", e))?;
    let relayed = allocated.relayed;
    // PORT-06's and AV-04's method: inspect the attribute.
    let misplaced = if !RELAY_RANGE.contains(&relayed.port()) {
        Some(format!(
            "XOR-RELAYED-ADDRESS {relayed} is outside the relay range 50,000-59,999"
        ))
    } else if relayed.ip() != view.udp.ip() {
        Some(format!(
            "XOR-RELAYED-ADDRESS {relayed} is not on the A/V Edge's address {}",
            view.udp.ip()
        ))
    } else {
        None
    };
    if let Some(reason) = misplaced {
        release(run, &mut client).await;
        return Err(Outcome::fail(reason));
    }
    // An address in range shows the media relay's range only if a relay is
    // behind it: one Send indication must reach the media peer from exactly
    // that address.
    let proven = prove_relay(run, &view, &mut client, relayed).await;
    release(run, &mut client).await;
    proven?;
    run.details.push(format!(
        "XOR-RELAYED-ADDRESS {relayed}, proven by a Send indication relayed to the peer"
    ));
    Ok(())
}

/// Sends one Send indication through the allocation at `relayed` and
/// requires it to reach the media peer from that address. Nothing arriving
/// leaves the range unshown (inconclusive: relaying at all is AV-05, judged
/// by the round trips); data from another address is the SUT's fail.
async fn prove_relay(
    run: &mut CaseRun<'_>,
    view: &AvView,
    client: &mut TurnClient,
    relayed: SocketAddr,
) -> Result<(), Outcome> {
    let peer = peer_socket(run, view).await?;
    let peer_address = peer.local();
    client
        .create_permission(peer_address, run.deadline)
        .await
        .map_err(|e| judged("CreatePermission", e))?;
    client
        .send_indication(peer_address, PROBE)
        .await
        .map_err(|e| harness_error("send through the relay", &e))?;
    let deadline = (Instant::now() + RELAY_WAIT).min(run.deadline);
    let Some((data, from, _)) = peer.recv_until(deadline).await else {
        return Err(Outcome::inconclusive(format!(
            "XOR-RELAYED-ADDRESS {relayed} is in the range, but a Send indication through it never reached the media peer within {} ms: with no relay behind the address, the range media would use is not shown (relaying itself is AV-05, judged by av.turn.relay-roundtrip)",
            RELAY_WAIT.as_millis()
        )));
    };
    if from != relayed {
        return Err(Outcome::fail(format!(
            "a Send indication reached the peer from {from}, not from XOR-RELAYED-ADDRESS {relayed}: the relay is not where the allocation says (AV-04)"
        )));
    }
    if data != PROBE {
        return Err(Outcome::fail(
            "a Send indication to prove a relay is behind XOR-RELAYED-ADDRESS arrived altered",
        ));
    }
    run.note(format!(
        "a Send indication reached the peer {peer_address} from {relayed}"
    ));
    Ok(())
}

/// What the relay-range probe sends.
const PROBE: &[u8] = b"relay-range-probe";

pub(super) async fn peer_socket(run: &CaseRun<'_>, view: &AvView) -> Result<RecordingUdp, Outcome> {
    bind_recording_udp(view.peer_ip, run.av_datagrams.clone())
        .await
        .map_err(|e| harness_error("bind the media peer's socket", &e))
}

/// One client-to-peer trip: the peer must get `payload` from the relayed address.
pub(super) async fn expect_at_peer(
    run: &CaseRun<'_>,
    peer: &RecordingUdp,
    relayed: SocketAddr,
    payload: &[u8],
    how: &str,
) -> Result<(), Outcome> {
    let deadline = (Instant::now() + RELAY_WAIT).min(run.deadline);
    let Some((data, from, _)) = peer.recv_until(deadline).await else {
        return Err(Outcome::fail(format!(
            "data sent by {how} never reached the peer through the relay"
        )));
    };
    if from != relayed {
        return Err(Outcome::fail(format!(
            "data sent by {how} reached the peer from {from}, not from the relayed address {relayed}"
        )));
    }
    if data != payload {
        return Err(Outcome::fail(format!("data sent by {how} arrived altered")));
    }
    Ok(())
}

/// One peer-to-client trip, arriving as `how`.
async fn expect_at_client(
    run: &CaseRun<'_>,
    client: &mut TurnClient,
    peer: SocketAddr,
    payload: &[u8],
    channel: Option<u16>,
) -> Result<(), Outcome> {
    let deadline = (Instant::now() + RELAY_WAIT).min(run.deadline);
    let how = match channel {
        Some(c) => format!("ChannelData on channel 0x{c:04x}"),
        None => "a Data indication".to_owned(),
    };
    let relayed = client
        .recv_relayed(deadline)
        .await
        .map_err(|e| judged(&format!("waiting for {how}"), e))?;
    let Some(relayed) = relayed else {
        return Err(Outcome::fail(format!(
            "what the peer sent to the relayed address never came back to the client as {how}"
        )));
    };
    let matches = match channel {
        Some(c) => relayed.channel == Some(c),
        None => relayed.peer == Some(peer),
    };
    if !matches || relayed.data != payload {
        return Err(Outcome::fail(format!(
            "the client expected {how} from {peer} but got {:?} (peer {:?}, channel {:?})",
            String::from_utf8_lossy(&relayed.data),
            relayed.peer,
            relayed.channel
        )));
    }
    Ok(())
}

pub(crate) async fn turn_relay_roundtrip(
    run: &mut CaseRun<'_>,
    transport: StunTransport,
) -> Result<(), Outcome> {
    let view = av_view(run)?;
    let mut client = connect(run, &view, transport).await?;
    let allocated = client
        .allocate(run.deadline)
        .await
        .map_err(|e| judged("Allocate", e))?;
    let relayed = allocated.relayed;
    let peer = peer_socket(run, &view).await?;
    let peer_address = peer.local();
    run.note(format!("relay {relayed}, peer {peer_address}"));
    let io = |e: AvClientError| harness_error("send through the relay", &e);

    client
        .create_permission(peer_address, run.deadline)
        .await
        .map_err(|e| judged("CreatePermission", e))?;
    client
        .send_indication(peer_address, b"send-indication")
        .await
        .map_err(io)?;
    expect_at_peer(run, &peer, relayed, b"send-indication", "a Send indication").await?;
    // The way back starts at the peer, which sends to the relayed address:
    // an address the allow-list refuses is judged, never an unexplained error.
    if let Some(refused) = relay_refusal(relayed) {
        run.note(refused.reason.clone());
        release(run, &mut client).await;
        return Err(refused);
    }
    peer.send_to(b"data-indication", relayed)
        .await
        .map_err(io)?;
    expect_at_client(run, &mut client, peer_address, b"data-indication", None).await?;

    client
        .channel_bind(CHANNEL, peer_address, run.deadline)
        .await
        .map_err(|e| judged("ChannelBind", e))?;
    client
        .send_channel_data(CHANNEL, b"channel-out")
        .await
        .map_err(io)?;
    expect_at_peer(run, &peer, relayed, b"channel-out", "ChannelData").await?;
    peer.send_to(b"channel-back", relayed).await.map_err(io)?;
    expect_at_client(
        run,
        &mut client,
        peer_address,
        b"channel-back",
        Some(CHANNEL),
    )
    .await?;

    let lifetime = client
        .refresh(0, run.deadline)
        .await
        .map_err(|e| judged("Refresh with LIFETIME 0 (deletion)", e))?;
    if lifetime.is_some_and(|l| l != 0) {
        return Err(Outcome::fail(format!(
            "Refresh with LIFETIME 0 was answered with LIFETIME {}, so the allocation lives on",
            lifetime.unwrap_or_default()
        )));
    }
    let over = if transport == StunTransport::Tcp {
        "TCP"
    } else {
        "UDP"
    };
    run.details.push(format!(
        "Send/Data indications and ChannelData relayed both ways over {over}; allocation deleted"
    ));
    Ok(())
}

/// Media to a relay the address allow-list refuses is never dropped
/// silently: a relay port outside 50,000-59,999 is the SUT's fail (PORT-06,
/// AV-04), any other refused relay an error that says why; `None` when the
/// relay may be sent to. Every case that sends to a relayed address asks
/// here first (the round trips, the RTP stream, the call's media), so they
/// judge a refused relay alike; with no allow-list (the embedded topology)
/// nothing is refused and they judge delivery, leaving the range to
/// `av.turn.relay-range`.
pub(crate) fn relay_refusal(relayed: std::net::SocketAddr) -> Option<Outcome> {
    let refused = picharness_simulators::destinations::check_destination(relayed).err()?;
    Some(judge_refused_relay(relayed, &refused.to_string()))
}

fn judge_refused_relay(relayed: std::net::SocketAddr, refusal: &str) -> Outcome {
    if !(50_000..=59_999).contains(&relayed.port()) {
        Outcome::fail(format!(
            "the A/V Edge relays media on {relayed}, outside 50,000-59,999 (PORT-06, AV-04); the harness's address allow-list refused to send media there because the SUT pointed there ({refusal})"
        ))
    } else {
        Outcome::error(format!(
            "the harness's address allow-list refused to send media to the relay {relayed} the SUT allocated, so the media could not be judged: {refusal}"
        ))
    }
}

pub(crate) async fn rtp_stream(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let view = av_view(run)?;
    let mut client = connect(run, &view, StunTransport::Udp).await?;
    let allocated = client
        .allocate(run.deadline)
        .await
        .map_err(|e| judged("Allocate", e))?;
    let peer = peer_socket(run, &view).await?;
    let peer_address = peer.local();
    client
        .channel_bind(CHANNEL, peer_address, run.deadline)
        .await
        .map_err(|e| judged("ChannelBind", e))?;
    if let Some(refused) = relay_refusal(allocated.relayed) {
        run.note(refused.reason.clone());
        return Err(refused);
    }
    let report = stream_through_relay(
        &mut client,
        CHANNEL,
        peer,
        allocated.relayed,
        view.rtp_packets,
        run.deadline,
    )
    .await
    .map_err(|e| harness_error("run the RTP stream", &e))?;
    release(run, &mut client).await;
    run.note(report.to_string());
    if let Some(problem) = stream_failure(&report) {
        return Err(Outcome::fail(problem));
    }
    for found in stream_observations(&report) {
        run.observe(found);
    }
    run.details.push(report.to_string());
    Ok(())
}

/// An attribute type in the comprehension-required range that no
/// specification assigns.
const UNASSIGNED_REQUIRED_ATTRIBUTE: u16 = 0x7ffe;

pub(crate) async fn stun_unknown_attribute(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let view = av_view(run)?;
    let mut client = connect(run, &view, StunTransport::Udp).await?;
    let request = MessageBuilder::new(Class::Request, method::BINDING, rand::random())
        .attribute(UNASSIGNED_REQUIRED_ATTRIBUTE, &[0, 0, 0, 0])
        .build(None, true);
    let response = client.transact(&request, run.deadline).await.map_err(|e| {
        judged(
            "Binding with an unknown comprehension-required attribute",
            e,
        )
    })?;
    run.note(format!(
        "Binding with attribute 0x{UNASSIGNED_REQUIRED_ATTRIBUTE:04x}: {}",
        response.summary()
    ));
    if response.error_code().map(|e| e.code) != Some(420) {
        return Err(Outcome::fail(format!(
            "a Binding with the unknown comprehension-required attribute 0x{UNASSIGNED_REQUIRED_ATTRIBUTE:04x} got {} instead of 420 Unknown Attribute",
            response.summary()
        )));
    }
    let listed = response
        .attribute(attr::UNKNOWN_ATTRIBUTES)
        .is_some_and(|a| {
            a.value
                .chunks(2)
                .any(|c| c == UNASSIGNED_REQUIRED_ATTRIBUTE.to_be_bytes())
        });
    if !listed {
        return Err(Outcome::fail(format!(
            "the 420 response does not list 0x{UNASSIGNED_REQUIRED_ATTRIBUTE:04x} in UNKNOWN-ATTRIBUTES"
        )));
    }
    run.details.push(format!(
        "420 with UNKNOWN-ATTRIBUTES 0x{UNASSIGNED_REQUIRED_ATTRIBUTE:04x}"
    ));
    Ok(())
}

#[cfg(test)]
mod relay_refusal_tests {
    use super::*;

    #[test]
    fn a_refused_relay_outside_the_range_is_the_sut_s_fail_and_inside_it_an_error() {
        let out = judge_refused_relay("203.0.113.12:40000".parse().unwrap(), "refused");
        assert_eq!(out.verdict, Verdict::Fail);
        assert!(out.reason.contains("PORT-06"), "{}", out.reason);
        assert!(
            out.reason.contains("because the SUT pointed there"),
            "{}",
            out.reason
        );
        let inside = judge_refused_relay("203.0.113.99:50001".parse().unwrap(), "refused");
        assert_eq!(inside.verdict, Verdict::Error);
        assert!(
            inside.reason.contains("allow-list refused"),
            "{}",
            inside.reason
        );
    }
}
