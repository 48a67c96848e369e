//! The media side of an A/V call through the Edge (`messenger.av.call`).
//!
//! `av-call-allocate` runs before the INVITE: the Messenger client
//! allocates the relay its offer advertises, the Lync side's media endpoint
//! binds the socket its answer advertises (and allocates a relay of its
//! own, so the answer carries a candidate on the A/V Edge too), and the
//! addresses become `{av.*}` template variables.
//!
//! `av-call-media` runs after the ACK. It reads the SDP offer as it reached
//! the pool and the answer as it reached the peer, judges them (audio over
//! RTP/AVP, AV-06; candidates on the A/V Edge, AV-07), then streams RTP both
//! ways between the addresses *those* descriptions name: the Lync endpoint
//! sends to the relayed candidate of the offer it received, the Messenger
//! client binds its channel to the host candidate of the answer it received.
//! Media therefore only flows if the signalling arrived usable.

use std::net::SocketAddr;

use picharness_simulators::av::{
    RecordingUdp, TurnClient, TurnTransport, bind_recording_udp, stream_through_relay,
};
use picharness_wire::sdp::{CandidateType, MediaSection, Sdp};
use picharness_wire::sip::SipMessage;

use super::super::execute::CaseRun;
use super::super::outcome::Outcome;
use super::av::{
    CHANNEL, StunTransport, av_view, connect, harness_error, judged, peer_socket, release,
};
use super::av_stream::{stream_failure, stream_observations};

/// RTP packets each way in the call (one second of 20 ms packets).
const CALL_PACKETS: u32 = 50;

/// What `av-call-allocate` set up for `av-call-media`.
pub(crate) struct CallMedia {
    /// The Messenger client, with its allocation.
    client: TurnClient,
    /// The Lync side's media endpoint (its host candidate), until the stream takes it.
    media: Option<RecordingUdp>,
    /// The Lync side's own allocation (its relayed candidate).
    lync: TurnClient,
}

pub(crate) async fn call_allocate(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let view = av_view(run)?;
    let mut client = connect(run, &view, StunTransport::Udp).await?;
    let allocated = client
        .allocate(run.deadline)
        .await
        .map_err(|e| judged("Allocate for the Messenger side's relayed candidate", e))?;
    let media = peer_socket(run, &view).await?;
    let lync_socket = bind_recording_udp(view.peer_ip, run.av_datagrams.clone())
        .await
        .map_err(|e| harness_error("bind the Lync side's TURN socket", &e))?;
    let mut lync = TurnClient::new(
        TurnTransport::Udp {
            socket: lync_socket,
            server: view.udp,
        },
        view.credentials.clone(),
    );
    let lync_allocated = match lync.allocate(run.deadline).await {
        Ok(allocated) => allocated,
        Err(e) => {
            release(run, &mut client).await;
            return Err(judged("Allocate for the Lync side's relayed candidate", e));
        }
    };
    let set = |run: &mut CaseRun<'_>, name: &str, address: SocketAddr| {
        run.vars
            .set(&format!("av.{name}_ip"), address.ip().to_string());
        run.vars
            .set(&format!("av.{name}_port"), address.port().to_string());
    };
    set(run, "client", client.transport.local());
    set(run, "relay", allocated.relayed);
    set(run, "media", media.local());
    set(run, "lync_relay", lync_allocated.relayed);
    run.note(format!(
        "call media: Messenger client {} relayed at {}; Lync endpoint {} with its own relay {}",
        client.transport.local(),
        allocated.relayed,
        media.local(),
        lync_allocated.relayed
    ));
    run.call = Some(CallMedia {
        client,
        media: Some(media),
        lync,
    });
    Ok(())
}

/// The audio section of an SDP body (`what` names it in reasons).
fn audio_section(message: &SipMessage, what: &str) -> Result<MediaSection, Outcome> {
    let text = std::str::from_utf8(&message.body)
        .map_err(|_| Outcome::fail(format!("the SDP {what} is not UTF-8 text")))?;
    let sdp = Sdp::parse(text)
        .map_err(|e| Outcome::fail(format!("the SDP {what} is not valid SDP: {e}")))?;
    sdp.section("audio")
        .cloned()
        .ok_or_else(|| Outcome::fail(format!("the SDP {what} has no m=audio line")))
}

/// AV-06: Messenger does not do SRTP, so audio must be offered and
/// answered over plain RTP/AVP.
fn plain_rtp(audio: &MediaSection, what: &str) -> Result<(), Outcome> {
    match audio.proto.as_str() {
        "RTP/AVP" => Ok(()),
        "RTP/SAVP" => Err(Outcome::fail(format!(
            "the SDP {what} carries audio as RTP/SAVP only; Messenger does not do SRTP, so the call cannot set up (AV-06)"
        ))),
        other => Err(Outcome::fail(format!(
            "the SDP {what} carries audio as {other}, not RTP/AVP (AV-06)"
        ))),
    }
}

/// The first candidate of `kind` whose address is an IP literal.
fn candidate(
    audio: &MediaSection,
    kind: &CandidateType,
    what: &str,
) -> Result<SocketAddr, Outcome> {
    audio
        .candidates
        .iter()
        .filter(|c| &c.kind == kind && c.component == 1)
        .find_map(picharness_wire::sdp::Candidate::socket_addr)
        .ok_or_else(|| {
            Outcome::fail(format!(
                "the SDP {what} has no {kind:?} ICE candidate for RTP (component 1) with an IP address"
            ))
        })
}

pub(crate) async fn call_media(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let view = av_view(run)?;
    let Some(mut call) = run.call.take() else {
        return Err(Outcome::error(
            "scenario runs av-call-media without av-call-allocate before it",
        ));
    };
    let result = judge_and_stream(run, &view.udp.ip(), &mut call).await;
    release(run, &mut call.client).await;
    release(run, &mut call.lync).await;
    result
}

async fn judge_and_stream(
    run: &mut CaseRun<'_>,
    edge_ip: &std::net::IpAddr,
    call: &mut CallMedia,
) -> Result<(), Outcome> {
    let offer_message = run
        .received_request("pool", "INVITE")
        .cloned()
        .ok_or_else(|| Outcome::error("no INVITE reached the pool before av-call-media"))?;
    let answer_message = run.invite_answer().cloned().ok_or_else(|| {
        Outcome::error("no 2xx answer to the INVITE arrived before av-call-media")
    })?;
    let offer = audio_section(&offer_message, "offer as it reached the pool")?;
    let answer = audio_section(&answer_message, "answer as it reached the peer")?;
    plain_rtp(&offer, "offer as it reached the pool")?;
    plain_rtp(&answer, "answer as it reached the peer")?;

    // AV-07: the relayed candidates point at the A/V Edge.
    let offered_relay = candidate(
        &offer,
        &CandidateType::Relayed,
        "offer as it reached the pool",
    )?;
    let answered_relay = candidate(
        &answer,
        &CandidateType::Relayed,
        "answer as it reached the peer",
    )?;
    for (address, what) in [(offered_relay, "offer's"), (answered_relay, "answer's")] {
        if address.ip() != *edge_ip {
            return Err(Outcome::fail(format!(
                "the {what} relayed candidate {address} is not on the A/V Edge's address {edge_ip} (AV-07)"
            )));
        }
    }
    let answered_host = candidate(
        &answer,
        &CandidateType::Host,
        "answer as it reached the peer",
    )?;
    run.note(format!(
        "offer at the pool: audio {} with relayed candidate {offered_relay}; answer at the peer: audio {} with host candidate {answered_host} and relayed candidate {answered_relay}",
        offer.proto, answer.proto
    ));

    // Media between what the descriptions say, through the Messenger relay.
    call.client
        .channel_bind(CHANNEL, answered_host, run.deadline)
        .await
        .map_err(|e| judged("ChannelBind to the answer's host candidate", e))?;
    let media = call
        .media
        .take()
        .ok_or_else(|| Outcome::error("the call's media socket was already used"))?;
    if let Some(refused) = super::av::relay_refusal(offered_relay) {
        run.note(refused.reason.clone());
        return Err(refused);
    }
    let report = stream_through_relay(
        &mut call.client,
        CHANNEL,
        media,
        offered_relay,
        CALL_PACKETS,
        run.deadline,
    )
    .await
    .map_err(|e| harness_error("run the call's RTP stream", &e))?;
    run.note(report.to_string());
    if let Some(problem) = stream_failure(&report) {
        return Err(Outcome::fail(format!(
            "media between the SDP's candidates: {problem}"
        )));
    }
    for found in stream_observations(&report) {
        run.observe(format!("media between the SDP's candidates: {found}"));
    }
    run.details.push(format!(
        "offer and answer arrived intact, audio RTP/AVP, relayed candidates on {edge_ip}; {report}"
    ));
    Ok(())
}
