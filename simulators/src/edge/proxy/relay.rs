//! What the proxy core changes in the messages it relays or makes on a
//! hop: the response going upstream loses the Edge's Via (RFC 3261 §16.7
//! step 3), and the fault switches that meddle here do their one wrong
//! thing each (`keep-via-on-response`, `lengthen-subscription`,
//! `sdp-rewritten`, `drop-error-responses`, and the hop-by-hop ACK's
//! `no-hop-ack`, `hop-ack-new-branch`, `hop-ack-copies-vias`).

use picharness_wire::sip::SipMessage;

use super::super::fault::{Fault, FaultSet};
use super::super::sdp_fault::rewrite_sdp;

/// The response as it goes upstream, or `None` when a fault drops it.
pub(super) fn upstream_form(faults: &FaultSet, mut response: SipMessage) -> Option<SipMessage> {
    if !faults.has(Fault::KeepViaOnResponse) {
        response.headers.pop_first_value("via");
    }
    let status = response.status().unwrap_or_default();
    let subscribe = response.cseq().is_some_and(|(_, m)| m == "SUBSCRIBE");
    if faults.has(Fault::LengthenSubscription)
        && subscribe
        && (200..300).contains(&status)
        && let Some(expires) = response
            .headers
            .first("expires")
            .and_then(|v| v.trim().parse::<u64>().ok())
    {
        response
            .headers
            .set("Expires", expires.saturating_mul(2).to_string());
    }
    if status >= 300 && faults.has(Fault::DropErrorResponses) {
        return None;
    }
    if faults.has(Fault::SdpRewritten) {
        rewrite_sdp(&mut response);
    }
    Some(response)
}

/// The hop-by-hop ACK for a non-2xx final response (RFC 3261 §17.1.1.3)
/// as the Edge sends it, or `None` under `no-hop-ack`.
pub(super) fn hop_ack(
    faults: &FaultSet,
    mut ack: SipMessage,
    forwarded_invite: &SipMessage,
) -> Option<SipMessage> {
    if faults.has(Fault::NoHopAck) {
        return None;
    }
    if faults.has(Fault::HopAckNewBranch) {
        give_new_branch(&mut ack);
    }
    if faults.has(Fault::HopAckCopiesVias) {
        copy_all_vias(&mut ack, forwarded_invite);
    }
    Some(ack)
}

/// The `hop-ack-new-branch` fault: the ACK's Via gets a branch of its own,
/// as if the ACK for a non-2xx final response were a new transaction
/// (RFC 3261 §17.1.1.3 asks for the INVITE's branch).
fn give_new_branch(ack: &mut SipMessage) {
    let Some(via) = ack.headers.first("via").map(str::to_owned) else {
        return;
    };
    let Some((sent_by, _)) = via.split_once(";branch=") else {
        return;
    };
    ack.headers.set(
        "Via",
        format!(
            "{sent_by};branch=z9hG4bK-ack-{:016x}",
            rand::random::<u64>()
        ),
    );
}

/// The `hop-ack-copies-vias` fault: the ACK carries every Via of the
/// INVITE, the previous hops' too, as if it were forwarded end to end
/// (RFC 3261 §17.1.1.3 asks for one Via, the INVITE's topmost).
fn copy_all_vias(ack: &mut SipMessage, forwarded_invite: &SipMessage) {
    for via in forwarded_invite.headers.values("via").into_iter().skip(1) {
        ack.headers.push("Via", via);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use picharness_wire::sip::transaction::{Action, ClientInvite, TimerConfig};

    use super::*;

    const INVITE: &[u8] = b"INVITE sip:bob@pool.contoso.test SIP/2.0\r\n\
Via: SIP/2.0/TLS edge-int.contoso.test:5061;branch=z9hG4bK-edge-1\r\n\
Via: SIP/2.0/TLS peer.example:5061;branch=z9hG4bK-peer\r\n\
Record-Route: <sip:edge-int.contoso.test;lr>\r\n\
Max-Forwards: 69\r\n\
From: <sip:al@hotmail.com>;tag=a1\r\n\
To: <sip:bob@contoso.test>\r\n\
Call-ID: c1\r\n\
CSeq: 7 INVITE\r\n\
Content-Length: 0\r\n\r\n";

    /// The invite and the ACK its client transaction makes for a 486.
    fn invite_and_ack() -> (SipMessage, SipMessage) {
        let invite = SipMessage::parse(INVITE).expect("parses");
        let (mut tx, _) =
            ClientInvite::start(invite.clone(), Instant::now(), &TimerConfig::default())
                .expect("starts");
        let busy = invite.response(486, "Busy Here", Some("pool-9"));
        let ack = tx
            .on_response(busy)
            .into_iter()
            .find_map(|a| match a {
                Action::Send(ack) => Some(ack),
                _ => None,
            })
            .expect("the transaction ACKs the 486");
        (invite, ack)
    }

    #[test]
    fn a_good_edge_sends_the_transaction_s_ack_unchanged() {
        let (invite, ack) = invite_and_ack();
        assert_eq!(
            hop_ack(&FaultSet::default(), ack.clone(), &invite),
            Some(ack)
        );
        assert_eq!(
            hop_ack(&FaultSet::new([Fault::NoHopAck]), invite.clone(), &invite),
            None
        );
    }

    #[test]
    fn the_fault_gives_the_ack_a_branch_of_its_own_and_keeps_one_via() {
        let (invite, ack) = invite_and_ack();
        let ack = hop_ack(&FaultSet::new([Fault::HopAckNewBranch]), ack, &invite).expect("sent");
        let vias = ack.headers.values("via");
        assert_eq!(vias.len(), 1, "{vias:?}");
        assert!(
            vias[0].starts_with("SIP/2.0/TLS edge-int.contoso.test:5061;branch=z9hG4bK-ack-"),
            "{vias:?}"
        );
        assert!(!vias[0].contains("z9hG4bK-edge-1"), "{vias:?}");
    }

    #[test]
    fn the_copying_fault_gives_the_ack_the_invite_s_vias_in_order() {
        let (invite, ack) = invite_and_ack();
        let ack = hop_ack(&FaultSet::new([Fault::HopAckCopiesVias]), ack, &invite).expect("sent");
        assert_eq!(ack.headers.values("via"), invite.headers.values("via"));
        assert!(SipMessage::parse(&ack.to_bytes()).is_ok());
    }

    #[test]
    fn upstream_form_pops_the_edge_s_via_unless_faulty() {
        let invite = SipMessage::parse(INVITE).expect("parses");
        let ok = invite.response(200, "OK", Some("p"));
        let good = upstream_form(&FaultSet::default(), ok.clone()).expect("relayed");
        assert_eq!(
            good.headers.values("via"),
            vec!["SIP/2.0/TLS peer.example:5061;branch=z9hG4bK-peer"]
        );
        let kept = upstream_form(&FaultSet::new([Fault::KeepViaOnResponse]), ok).expect("relayed");
        assert_eq!(kept.headers.count("via"), 2);
        let busy = invite.response(486, "Busy Here", Some("p"));
        assert!(upstream_form(&FaultSet::new([Fault::DropErrorResponses]), busy).is_none());
    }
}
