//! A validated interop case: what the runner executes.

use std::path::PathBuf;
use std::time::Duration;

use picharness_simulators::pki::{BadPeerCertificate, ImpostorCertificate};

/// Who performs a step.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A provider peer, by profile name (`messenger`, `yahoo`, `aol`).
    Peer(String),
    /// The internal pool (the Lync side).
    Pool,
    /// The harness's DNS client.
    Dns,
    /// The harness's A/V client (STUN/TURN/RTP, the Messenger side) and its media peer.
    Av,
}

impl Actor {
    pub fn name(&self) -> &str {
        match self {
            Self::Peer(name) => name,
            Self::Pool => "pool",
            Self::Dns => "dns",
            Self::Av => "av",
        }
    }
}

/// A status code or a class such as `4xx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusPattern {
    Exact(u16),
    Class(u8),
}

impl StatusPattern {
    pub fn matches(self, status: u16) -> bool {
        match self {
            Self::Exact(code) => code == status,
            Self::Class(class) => status / 100 == u16::from(class),
        }
    }
}

impl std::fmt::Display for StatusPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exact(code) => write!(f, "{code}"),
            Self::Class(class) => write!(f, "{class}xx"),
        }
    }
}

/// A condition on one header of an expected message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderExpectation {
    Present(String),
    Absent(String),
    /// Some value of the header contains this (templated) text.
    Contains {
        name: String,
        needle: String,
    },
    /// The topmost value of the header contains this (templated) text.
    FirstContains {
        name: String,
        needle: String,
    },
    /// The header has exactly this many values (comma-separated values count).
    Count {
        name: String,
        count: usize,
    },
    /// The body contains this (templated) text.
    BodyContains(String),
    /// The body is byte for byte the body of the latest message this actor
    /// sent (what the SUT relays must arrive intact).
    BodyAsSentBy(String),
    /// The message arrived on the same connection as the previous message
    /// this actor received (connection reuse, RFC 5923).
    SameConnection,
    /// The host of the header's topmost value (a Via sent-by, or the URI of
    /// a Record-Route, Route or Contact) is the Edge: one of its FQDNs or
    /// one of its listener addresses. A requirement that says "FQDN/IP"
    /// (FED-06) or only "the Edge's own Via" (FED-07, SIP-18) is judged
    /// with this rule.
    NamesEdge(String),
    /// The URI of the header's topmost value is secure: the `sips` scheme
    /// or a `transport=tls` URI parameter (FED-06 "with transport=tls (or
    /// sips)").
    SecureUri(String),
    /// The host of the header's topmost value is exactly this (templated)
    /// name, case-insensitively.
    FirstHost {
        name: String,
        host: String,
    },
    /// The message has the Via branch of the topmost Via of the latest
    /// request of this method the actor received: it belongs to the same
    /// hop-by-hop transaction (the ACK for a non-2xx final response,
    /// RFC 3261 §17.1.1.3).
    SameBranchAs(String),
    /// The message belongs to the dialog the actor formed answering a
    /// request of this method: the same Call-ID and From tag, the tag the
    /// actor gave the dialog as To tag, and a CSeq number above the
    /// dialog's latest, that request's until another raised it (IM-05).
    SameDialogAs(String),
    /// The header's first value is a number no greater than this.
    AtMost {
        name: String,
        max: u64,
    },
    /// A rule the requirement does not make but the harness reports: when
    /// it does not hold, the case records a named observation instead of
    /// failing.
    Observe(Box<Self>),
}

/// What kind of message a step waits for, and what it must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageExpectation {
    Request {
        method: String,
        headers: Vec<HeaderExpectation>,
    },
    Response {
        status: StatusPattern,
        headers: Vec<HeaderExpectation>,
    },
    /// The Edge refuses what the actor sent: a final response of 300 or
    /// more, or the Edge closes the actor's connection.
    Refusal { headers: Vec<HeaderExpectation> },
    /// A CRLF keep-alive pong (RFC 5626 §3.5.1) on the actor's connection.
    Pong,
    /// A pong the requirement only asks to record (SIP-13): when none comes
    /// within this time the case records an observation and goes on.
    PongWithin(std::time::Duration),
    /// A refusal, or nothing within this time (the Edge discarded the
    /// input, which SIP-10 allows); an accepting answer fails.
    RefusalOrSilence(std::time::Duration),
}

/// Built-in checks that are more than one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// `_sipfederationtls._tcp.<sut domain>` has an SRV record.
    DnsSrvExists,
    /// Every federation SRV record points at port 5061.
    DnsSrvPort,
    /// Every federation SRV target has an A or AAAA record.
    DnsSrvTargetResolves,
    /// Every federation SRV target is named in the Edge certificate's SAN (run by a peer).
    DnsSrvTargetInSan,
    /// Every address of every SRV target is where the Edge answers.
    DnsSrvTargetAddress,
    /// Over TCP the DNS server gives the same SRV and address answers as over UDP.
    DnsOverTcp,
    /// The certificate the Edge serves on 5061 has serverAuth and its SAN holds the SRV target.
    ServerCertificate,
    /// The certificate the Edge presented when connecting out to this peer has clientAuth.
    ClientCertificateEku,
    /// The Edge's 5061 certificate names the access-edge FQDN as subject CN and in its SAN.
    CertificateSubject,
    /// The Edge's 5061 chain leads to one of the configured trust anchors.
    CertificateTrust,
    /// The Edge's 5061 certificate is inside its validity window.
    CertificateValidity,
    /// Every certificate the Edge presents is signed with SHA-1/SHA-2 RSA PKCS#1 or ECDSA, never RSASSA-PSS.
    CertificateSignature,
    /// The Edge's 5061 certificate has a CRL distribution point URI.
    CertificateCrlDistributionPoint,
    /// The Edge's 5061 key is RSA 2048+ (1024 warns) or ECDSA on a NIST curve.
    CertificateKey,
    /// Every SIP domain the Edge serves is in the SAN, as itself or as `sip.<domain>` (CERT-02).
    CertificateSipDomains,
    /// Every Access Edge pool member presents the same subject, SAN set and EKUs (CERT-12).
    CertificatePoolMembers,
    /// The certificate the Edge presented when connecting out to this peer is the
    /// one it serves on 5061 and passes the subject, trust, validity, key,
    /// signature and CRL distribution point rules.
    ClientCertificateProperties,
    /// Which TLS versions the Edge's 5061 listener accepts; TLS 1.2 is required.
    TlsVersions,
    /// The Edge refuses a peer presenting this kind of bad client certificate.
    RefusesPeer(BadPeerCertificate),
    /// A peer with a legacy certificate Lync 2013 accepts (RSA 1024, SHA-1)
    /// completes MTLS and its MESSAGE is delivered.
    AcceptsLegacyPeer(BadPeerCertificate),
    /// Connecting out to this provider, the Edge meets an impostor at the
    /// provider's address presenting this kind of bad server certificate:
    /// it must not deliver the pool's MESSAGE there, and must answer it.
    RefusesImpostor(ImpostorCertificate),
    /// A peer presenting its provider's certificate, revoked by the CA (the
    /// harness serves the CRL at its distribution point), connects in: the
    /// Edge fetches the CRL (PORT-09); refusing is recorded.
    RefusesRevokedPeer,
    /// Connecting out to this provider, the Edge meets an impostor
    /// presenting the provider's revoked certificate: the Edge fetches the
    /// CRL (PORT-09); not delivering is recorded.
    RefusesRevokedImpostor,
    /// STUN Binding on UDP 3478: success to our transaction, XOR-MAPPED-ADDRESS = our source.
    StunBindingUdp,
    /// The same over TCP 443 with stream framing, answered on the same connection.
    StunBindingTcp,
    /// Allocate without credentials gets 401 with REALM and NONCE; with them it succeeds.
    TurnAuthChallenge,
    /// The relayed address is on the A/V Edge's address, port within 50,000-59,999.
    TurnRelayRange,
    /// Send/Data indications and ChannelData through the relay both ways, then deletion.
    TurnRelayRoundtrip,
    /// An RTP stream both ways through the relay: loss, jitter and latency measured.
    RtpStream,
    /// A Binding with an unknown comprehension-required attribute gets 420 with UNKNOWN-ATTRIBUTES.
    StunUnknownAttribute,
    /// The relayed round trip with TURN over TCP 443 (padded ChannelData).
    TurnRelayRoundtripTcp,
    /// MS-TURN Allocate without credentials: 0x0113 with 401, Realm and Nonce.
    MsTurnAuthChallenge,
    /// An MS-TURN message without the leading Magic Cookie attribute is ignored.
    MsTurnNoCookieIgnored,
    /// MS-TURN Allocate with an unknown mandatory attribute: 0x0113 with 420.
    MsTurnUnknownAttribute,
    /// MS-TURN Allocate: the challenge, then with Username/Realm/Nonce/Message Integrity: 0x0103, relay in range.
    MsTurnAllocate,
    /// The pseudo-TLS opening on TCP 443, then a framed Allocate challenged 401 (AV-08, AV-11).
    MsTurnTcpPseudoTls,
    /// An MS-TURN message without the leading Magic Cookie drops the TCP connection (AV-12).
    MsTurnTcpNoCookieCloses,
    /// MS-TURN Send request relayed to the media peer (no response), its reply as a Data Indication.
    MsTurnSendAndData,
    /// MS-TURN Set Active Destination: 0x0106, then unencapsulated data both ways.
    MsTurnActiveDestination,
    /// MS-TURN relaying over TCP 443: Send and Data Indication in control frames, then
    /// Set Active Destination and end-to-end data frames both ways (AV-14, AV-08).
    MsTurnTcpRelay,
    /// A short LIFETIME: Refresh keeps the relay alive; unrefreshed it stops forwarding, Refresh gets 437.
    TurnAllocationExpiry,
    /// Allocates the call's relay and binds the media peer; sets the `av.*` template variables.
    AvCallAllocate,
    /// Judges the SDP offer and answer as they arrived and streams RTP between the
    /// candidates they name, through the relay.
    AvCallMedia,
    /// Robustness: a fresh good peer completes mutual TLS, its MESSAGE
    /// reaches the pool and the pool's 200 comes back, within a bound.
    LivenessProbe,
    /// Robustness: nothing that fails the SIP validator, and nothing of the
    /// case's hostile message, reached the pool during the case.
    NothingMalformedInward,
    /// Robustness: malformed STUN to UDP 3478; 420 for an unknown
    /// comprehension-required attribute.
    AvMalformedStun,
    /// Robustness: a flood of Allocates without credentials; none granted.
    AvAllocateFlood,
    /// Robustness: ChannelData for an unbound channel and datagrams to
    /// relay ports no allocation holds.
    AvStrayTraffic,
    /// Robustness: a good Binding and an authenticated Allocate succeed.
    AvLivenessProbe,
    /// Robustness: 200 MESSAGEs pipelined in one write on a fresh
    /// connection are each answered (SIP-04).
    PipelinedMessages,
    /// Robustness: no request reached any provider peer during the case
    /// (the hostile input was not relayed back out).
    NothingRelayedOutward,
}

impl CheckKind {
    pub const ALL: [(&'static str, Self); 61] = [
        ("dns-srv-exists", Self::DnsSrvExists),
        ("dns-srv-port", Self::DnsSrvPort),
        ("dns-srv-target-resolves", Self::DnsSrvTargetResolves),
        ("dns-srv-target-in-san", Self::DnsSrvTargetInSan),
        ("dns-srv-target-address", Self::DnsSrvTargetAddress),
        ("dns-over-tcp", Self::DnsOverTcp),
        ("server-certificate", Self::ServerCertificate),
        ("client-certificate-eku", Self::ClientCertificateEku),
        ("certificate-subject", Self::CertificateSubject),
        ("certificate-trust", Self::CertificateTrust),
        ("certificate-validity", Self::CertificateValidity),
        ("certificate-signature", Self::CertificateSignature),
        (
            "certificate-crl-distribution-point",
            Self::CertificateCrlDistributionPoint,
        ),
        ("certificate-key", Self::CertificateKey),
        ("certificate-sip-domains", Self::CertificateSipDomains),
        ("certificate-pool-members", Self::CertificatePoolMembers),
        (
            "client-certificate-properties",
            Self::ClientCertificateProperties,
        ),
        ("tls-versions", Self::TlsVersions),
        (
            "refuses-peer-without-certificate",
            Self::RefusesPeer(BadPeerCertificate::NoCertificate),
        ),
        (
            "refuses-untrusted-peer",
            Self::RefusesPeer(BadPeerCertificate::UntrustedIssuer),
        ),
        (
            "refuses-expired-peer",
            Self::RefusesPeer(BadPeerCertificate::Expired),
        ),
        (
            "refuses-not-yet-valid-peer",
            Self::RefusesPeer(BadPeerCertificate::NotYetValid),
        ),
        (
            "refuses-peer-with-wrong-name",
            Self::RefusesPeer(BadPeerCertificate::WrongName),
        ),
        (
            "refuses-peer-without-client-eku",
            Self::RefusesPeer(BadPeerCertificate::NoClientAuthEku),
        ),
        (
            "accepts-peer-with-rsa-1024-key",
            Self::AcceptsLegacyPeer(BadPeerCertificate::Rsa1024Key),
        ),
        (
            "accepts-peer-with-sha1-signature",
            Self::AcceptsLegacyPeer(BadPeerCertificate::Sha1Signature),
        ),
        (
            "refuses-impostor-with-wrong-name",
            Self::RefusesImpostor(ImpostorCertificate::WrongName),
        ),
        (
            "refuses-untrusted-impostor",
            Self::RefusesImpostor(ImpostorCertificate::UntrustedIssuer),
        ),
        (
            "refuses-expired-impostor",
            Self::RefusesImpostor(ImpostorCertificate::Expired),
        ),
        (
            "refuses-not-yet-valid-impostor",
            Self::RefusesImpostor(ImpostorCertificate::NotYetValid),
        ),
        (
            "refuses-impostor-without-server-eku",
            Self::RefusesImpostor(ImpostorCertificate::NoServerAuthEku),
        ),
        ("refuses-revoked-peer", Self::RefusesRevokedPeer),
        ("refuses-revoked-impostor", Self::RefusesRevokedImpostor),
        ("stun-binding-udp", Self::StunBindingUdp),
        ("stun-binding-tcp", Self::StunBindingTcp),
        ("turn-auth-challenge", Self::TurnAuthChallenge),
        ("turn-relay-range", Self::TurnRelayRange),
        ("turn-relay-roundtrip", Self::TurnRelayRoundtrip),
        ("rtp-stream", Self::RtpStream),
        ("stun-unknown-attribute", Self::StunUnknownAttribute),
        ("turn-relay-roundtrip-tcp", Self::TurnRelayRoundtripTcp),
        ("msturn-auth-challenge", Self::MsTurnAuthChallenge),
        ("msturn-no-cookie-ignored", Self::MsTurnNoCookieIgnored),
        ("msturn-unknown-attribute", Self::MsTurnUnknownAttribute),
        ("msturn-allocate", Self::MsTurnAllocate),
        ("msturn-tcp-pseudo-tls", Self::MsTurnTcpPseudoTls),
        ("msturn-tcp-no-cookie-closes", Self::MsTurnTcpNoCookieCloses),
        ("msturn-send-and-data", Self::MsTurnSendAndData),
        ("msturn-active-destination", Self::MsTurnActiveDestination),
        ("msturn-tcp-relay", Self::MsTurnTcpRelay),
        ("turn-allocation-expiry", Self::TurnAllocationExpiry),
        ("av-call-allocate", Self::AvCallAllocate),
        ("av-call-media", Self::AvCallMedia),
        ("liveness-probe", Self::LivenessProbe),
        ("nothing-malformed-inward", Self::NothingMalformedInward),
        ("av-malformed-stun", Self::AvMalformedStun),
        ("av-allocate-flood", Self::AvAllocateFlood),
        ("av-stray-traffic", Self::AvStrayTraffic),
        ("av-liveness-probe", Self::AvLivenessProbe),
        ("pipelined-messages", Self::PipelinedMessages),
        ("nothing-relayed-outward", Self::NothingRelayedOutward),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("unknown", |(name, _)| name)
    }
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Send {
        template: String,
        /// Send on the connection the actor's latest message arrived on.
        reuse_connection: bool,
    },
    /// Bytes sent exactly as written (keep-alives, deliberately broken messages).
    SendRaw {
        bytes: Vec<u8>,
        reuse_connection: bool,
    },
    /// The actor stops serving (`up: false`) or resumes (`up: true`).
    SetState {
        up: bool,
    },
    Expect(MessageExpectation),
    /// Answer the latest request the actor received (of `to_method`, when given).
    Reply {
        status: u16,
        to_method: Option<String>,
        /// A body (content type, template) the reply carries.
        body: Option<(String, String)>,
    },
    Check(CheckKind),
    /// Starts or ends a background abuse (robustness cases).
    Abuse(super::AbuseStep),
}

/// One step of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub actor: Actor,
    pub action: Action,
    /// Line of the step in its file.
    pub line: usize,
    pub note: Option<String>,
    /// A control step: it proves this Edge works at all (a good request on
    /// the same path delivered), so that a refusal elsewhere in the case
    /// means something. When a control step fails the case is
    /// inconclusive, never pass.
    pub control: bool,
    /// When set, a fail of this step is reported as this finding instead
    /// (`if_unmet` and `cites` in the file).
    pub if_unmet: Option<IfUnmet>,
}

/// What a step's fail becomes when the requirement does not ask for what
/// the step checks: a warning or an observation citing a requirement, and
/// the case goes on with its next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfUnmet {
    pub kind: picharness_reports::FindingKind,
    /// The requirement id the finding cites.
    pub cites: String,
}

impl Step {
    /// Whether the step counts the Edge saying no (a refusing response, a
    /// closed connection, a refused handshake) as the wanted outcome, which
    /// an Edge that does nothing also produces.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self.action,
            Action::Expect(
                MessageExpectation::Refusal { .. } | MessageExpectation::RefusalOrSilence(_)
            ) | Action::Check(
                CheckKind::RefusesPeer(_)
                    | CheckKind::RefusesImpostor(_)
                    | CheckKind::RefusesRevokedPeer
                    | CheckKind::RefusesRevokedImpostor
            )
        )
    }

    /// A short description for reports: "pool expects request MESSAGE".
    pub fn describe(&self) -> String {
        let actor = self.actor.name();
        let what = match &self.action {
            Action::Send { template, .. } => {
                let first = template.lines().next().unwrap_or_default();
                format!("sends {first}")
            }
            Action::Expect(MessageExpectation::Request { method, .. }) => {
                format!("expects request {method}")
            }
            Action::Expect(MessageExpectation::Response { status, .. }) => {
                format!("expects response {status}")
            }
            Action::Expect(MessageExpectation::Refusal { .. }) => "expects a refusal".to_owned(),
            Action::Expect(MessageExpectation::RefusalOrSilence(_)) => {
                "expects a refusal or silence".to_owned()
            }
            Action::Expect(MessageExpectation::Pong) => "expects a keep-alive pong".to_owned(),
            Action::Expect(MessageExpectation::PongWithin(_)) => {
                "observes whether a keep-alive pong comes".to_owned()
            }
            Action::SendRaw { bytes, .. } => format!("sends {} raw bytes", bytes.len()),
            Action::SetState { up: true } => "comes back up".to_owned(),
            Action::SetState { up: false } => "goes down".to_owned(),
            Action::Reply { status, .. } => format!("replies {status}"),
            Action::Check(kind) => format!("checks {}", kind.name()),
            Action::Abuse(super::AbuseStep::Start(kind)) => {
                format!("starts the {} abuse", kind.name())
            }
            Action::Abuse(super::AbuseStep::End) => "ends its abuse".to_owned(),
        };
        format!("{actor} {what}")
    }
}

/// A validated case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub id: String,
    pub title: String,
    pub requirements: Vec<String>,
    pub providers: Vec<String>,
    pub tags: Vec<String>,
    pub timeout: Duration,
    pub no_fault_reason: Option<String>,
    /// Runs alone: it disturbs actors other cases share.
    pub exclusive: bool,
    /// Profile features the case needs (`im-session`, `presence-pidf`, ...).
    pub needs: Vec<String>,
    pub steps: Vec<Step>,
    pub source: PathBuf,
}
