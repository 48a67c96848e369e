//! What each built-in check asserts, in one sentence, for the catalogue.
//! The match is exhaustive: a new [`CheckKind`] does not compile until it
//! says here what it asserts.

use picharness_simulators::pki::{BadPeerCertificate, ImpostorCertificate};

use crate::scenario::CheckKind;

/// The assertion behind `check = "<name>"`.
pub(super) fn check_assertion(kind: CheckKind) -> String {
    let text = match kind {
        CheckKind::DnsSrvExists => "`_sipfederationtls._tcp.<sip domain>` has an SRV record",
        CheckKind::DnsSrvPort => "every federation SRV record points at port 5061",
        CheckKind::DnsSrvTargetResolves => "every federation SRV target has an A or AAAA record",
        CheckKind::DnsSrvTargetInSan => {
            "every federation SRV target is a dNSName in the certificate the Edge presents"
        }
        CheckKind::DnsSrvTargetAddress => {
            "every address of every SRV target is the Edge's, and it accepts TCP on 5061"
        }
        CheckKind::DnsOverTcp => {
            "over TCP the DNS server gives the same SRV and address answers as over UDP"
        }
        CheckKind::ServerCertificate => {
            "the certificate the Edge serves on 5061 has serverAuth and its SAN holds the SRV target"
        }
        CheckKind::ClientCertificateEku => {
            "the certificate the Edge presented when connecting out to this peer has clientAuth"
        }
        CheckKind::CertificateSubject => {
            "the Edge's 5061 certificate names the access-edge FQDN as subject CN and in its SAN"
        }
        CheckKind::CertificateTrust => {
            "the Edge's 5061 chain leads to one of the configured trust anchors"
        }
        CheckKind::CertificateValidity => {
            "the Edge's 5061 certificate is inside its validity window"
        }
        CheckKind::CertificateSignature => {
            "every certificate the Edge presents is signed with SHA-1/SHA-2 RSA PKCS#1 or ECDSA, never RSASSA-PSS (SHA-1 passes with a warning)"
        }
        CheckKind::CertificateCrlDistributionPoint => {
            "the Edge's 5061 certificate has a CRL distribution point URI"
        }
        CheckKind::CertificateKey => {
            "the Edge's 5061 key is RSA 2048 or more (RSA 1024 passes with a warning) or ECDSA on a NIST curve"
        }
        CheckKind::CertificateSipDomains => {
            "every SIP domain the Edge serves is in the SAN, as itself or as `sip.<domain>`"
        }
        CheckKind::CertificatePoolMembers => {
            "every Access Edge pool member presents the same subject, SAN set and EKUs (skipped with one member)"
        }
        CheckKind::ClientCertificateProperties => {
            "the certificate the Edge presented when connecting out to this peer is the one it serves on 5061 and passes the subject, trust, validity, key, signature and CRL distribution point rules"
        }
        CheckKind::TlsVersions => {
            "the Edge's 5061 listener accepts TLS 1.2 (TLS 1.3 is reported; 1.0 and 1.1 are not probed)"
        }
        CheckKind::RefusesPeer(bad) => {
            let refused = if bad == BadPeerCertificate::WrongName {
                "the TLS connection is refused (alert, reset or close) or its MESSAGE gets a 4xx-6xx and is not forwarded; any other answer, or the MESSAGE reaching the pool, fails"
            } else {
                "the TLS connection is refused (alert, reset or close); a SIP answer after accepting it, or the MESSAGE reaching the pool, fails"
            };
            return format!(
                "the Edge refuses a peer presenting {}: {refused}",
                bad_certificate(bad)
            );
        }
        CheckKind::RefusesImpostor(bad) => {
            let judged = if bad == ImpostorCertificate::NoServerAuthEku {
                "delivering to it is an observation (Lync's check of a provider's EKU is undocumented)"
            } else {
                "the MESSAGE reaching the impostor fails, with the certificate the Edge accepted"
            };
            return format!(
                "connecting out to the provider, the Edge meets an impostor presenting {bad}: it ends the handshake, nothing reaches the impostor, and the pool gets 408, 480, 503 or 504 (another 3xx-6xx with an observation); {judged}"
            );
        }
        CheckKind::RefusesRevokedPeer => {
            "a peer presenting its provider's certificate, revoked by the CA (the harness serves the CRL at the certificate's distribution point), connects in and sends a MESSAGE: the Edge must fetch that CRL over HTTP (PORT-09; no GET fails); refusing the peer is reported, accepting it is an observation (no requirement asks for the refusal)"
        }
        CheckKind::RefusesRevokedImpostor => {
            "connecting out to the provider, the Edge meets an impostor presenting the provider's certificate revoked by the CA: the Edge must fetch the CRL at its distribution point over HTTP (PORT-09; no GET fails); not delivering (408, 480, 503 or 504 to the pool) is reported, delivering is an observation (no requirement asks for the refusal)"
        }
        CheckKind::AcceptsLegacyPeer(legacy) => {
            return format!(
                "a peer presenting {}, which Lync 2013 accepts, completes mutual TLS and its MESSAGE reaches the pool and is answered",
                bad_certificate(legacy)
            );
        }
        CheckKind::StunBindingUdp => {
            "a STUN Binding on UDP 3478 succeeds, XOR-MAPPED-ADDRESS is the harness's source, FINGERPRINT verified"
        }
        CheckKind::StunBindingTcp => {
            "the same STUN Binding over TCP 443 with stream framing, answered on the same connection"
        }
        CheckKind::TurnAuthChallenge => {
            "an Allocate without credentials gets 401 with REALM and NONCE; with them it succeeds"
        }
        CheckKind::TurnRelayRange => {
            "the relayed address is on the A/V Edge's address, port 50,000-59,999, and a Send indication reaches the media peer from it (nothing arriving is inconclusive: relaying is AV-05)"
        }
        CheckKind::TurnRelayRoundtrip => {
            "CreatePermission, Send/Data indications, ChannelBind and ChannelData both ways through the relay, packets from the relayed address, then deletion (LIFETIME 0); a relay port outside 50,000-59,999 that the address allow-list refuses is a fail (PORT-06, AV-04)"
        }
        CheckKind::RtpStream => {
            "an RTP stream both ways through the relay, then an RTCP receiver report each way: RTP comes through each way and nothing from elsewhere than the relay (loss above 1%, a missing receiver report or mean one-way latency above 400 ms is an observation); a relay port outside 50,000-59,999 that the address allow-list refuses is a fail (PORT-06, AV-04)"
        }
        CheckKind::StunUnknownAttribute => {
            "a Binding with an unknown comprehension-required attribute gets 420 with UNKNOWN-ATTRIBUTES"
        }
        CheckKind::TurnRelayRoundtripTcp => {
            "the relayed round trip with TURN over TCP 443 (padded ChannelData); a relay port outside 50,000-59,999 that the address allow-list refuses is a fail (PORT-06, AV-04)"
        }
        CheckKind::MsTurnAuthChallenge => {
            "an MS-TURN Allocate without credentials gets 0x0113 with 401, Realm and Nonce"
        }
        CheckKind::MsTurnNoCookieIgnored => {
            "an MS-TURN message without the leading Magic Cookie attribute is ignored"
        }
        CheckKind::MsTurnUnknownAttribute => {
            "an MS-TURN Allocate with an unknown mandatory attribute gets 0x0113 with 420"
        }
        CheckKind::MsTurnAllocate => {
            "after the challenge, an MS-TURN Allocate with Username, Realm, Nonce and Message Integrity gets 0x0103 with the relay on the A/V Edge in 50,000-59,999"
        }
        CheckKind::MsTurnTcpPseudoTls => {
            "the pseudo-TLS opening on TCP 443 is answered with every fixed field right, then a framed Allocate gets 0x0113/401 with Realm and Nonce on the same connection"
        }
        CheckKind::MsTurnTcpNoCookieCloses => {
            "after a well-formed answer, an MS-TURN message without the leading Magic Cookie makes the A/V Edge close the TCP connection within 3 s"
        }
        CheckKind::MsTurnSendAndData => {
            "an MS-TURN Send request reaches the media peer from the relay with no response to it, and the peer's reply comes back as a Data Indication naming the peer; a relay port outside 50,000-59,999 that the address allow-list refuses is a fail (PORT-06, AV-04)"
        }
        CheckKind::MsTurnActiveDestination => {
            "Set Active Destination gets 0x0106, then unencapsulated data flows both ways through the relay; a relay port outside 50,000-59,999 that the address allow-list refuses is a fail (PORT-06, AV-04)"
        }
        CheckKind::MsTurnTcpRelay => {
            "over TCP 443: Send and Data Indication in control frames, Set Active Destination 0x0106, then end-to-end data frames both ways; a relay port outside 50,000-59,999 that the address allow-list refuses is a fail (PORT-06, AV-04)"
        }
        CheckKind::TurnAllocationExpiry => {
            "with a short LIFETIME, Refresh keeps the relay alive; unrefreshed it stops forwarding and a Refresh gets 437"
        }
        CheckKind::AvCallAllocate => {
            "the Messenger client and the Lync side's media endpoint each allocate a relay (sets the `av.*` template variables)"
        }
        CheckKind::AvCallMedia => {
            "the SDP offer and answer as they arrived are RTP/AVP with relayed candidates on the A/V Edge's address, and RTP flows both ways between the candidates they name (loss, RTCP and latency beyond the limits are observations); a relay port outside 50,000-59,999 that the address allow-list refuses is a fail (PORT-06, AV-04)"
        }
        CheckKind::LivenessProbe => {
            "a fresh connection with this peer's certificate completes mutual TLS, its MESSAGE reaches the pool and the pool's 200 comes back, each within 5 s; failing names the Edge crashed (no connection) or stopped serving others"
        }
        CheckKind::AvMalformedStun => {
            "Bindings with a header length past the datagram, an attribute length past the message and a 10-byte MESSAGE-INTEGRITY are discarded or refused (a success answer is an observation); a Binding with an unknown comprehension-required attribute gets 420 with UNKNOWN-ATTRIBUTES listing it"
        }
        CheckKind::AvAllocateFlood => {
            "50 Allocates without credentials sent at once from 10 sockets: none is granted a relay (each answered 401, or not at all)"
        }
        CheckKind::AvStrayTraffic => {
            "ChannelData for a channel never bound and datagrams to 10 relay ports no allocation holds; every answer is recorded"
        }
        CheckKind::AvLivenessProbe => {
            "a fresh socket's Binding succeeds and an Allocate with the configured credentials is granted after its 401, each within 3 s; failing names the A/V Edge crashed (its TCP listener refuses too) or stopped serving others"
        }
        CheckKind::NothingMalformedInward => {
            "nothing that reached the pool during the case (routed or not, SIP or not) fails the SIP validator, and the case's hostile request did not reach it"
        }
        CheckKind::PipelinedMessages => {
            "a fresh connection with this peer's certificate writes 200 MESSAGEs for the case's Lync user in one write; the pool answers each 200; every one must get a final answer within 20 s (SIP-04); another order or answers other than the pool's 200 are observations"
        }
        CheckKind::NothingRelayedOutward => {
            "no request reached any provider peer during the case: the hostile input was not relayed back out (FED-14)"
        }
    };
    text.to_owned()
}

fn bad_certificate(bad: BadPeerCertificate) -> &'static str {
    match bad {
        BadPeerCertificate::NoCertificate => "no certificate",
        BadPeerCertificate::UntrustedIssuer => "a certificate from a root the Edge does not trust",
        BadPeerCertificate::Expired => "an expired certificate",
        BadPeerCertificate::NotYetValid => "a certificate not yet valid",
        BadPeerCertificate::WrongName => "a certificate that names no provider",
        BadPeerCertificate::NoClientAuthEku => "a certificate without clientAuth",
        BadPeerCertificate::Rsa1024Key => "an RSA 1024-bit key",
        BadPeerCertificate::Sha1Signature => "a certificate signed with SHA-1",
    }
}
