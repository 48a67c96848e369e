//! A validated interop case: what the runner executes.

use std::path::PathBuf;
use std::time::Duration;

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
}

/// Built-in checks that are more than one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// `_sipfederationtls._tcp.<sut domain>` SRV exists, points at 5061, and its target resolves.
    SrvFederation,
    /// The certificate the Edge serves on 5061 has serverAuth and its SAN holds the SRV target.
    ServerCertificate,
    /// The certificate the Edge presented when connecting out to this peer has clientAuth.
    ClientCertificateEku,
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
}

impl CheckKind {
    pub const ALL: [(&'static str, Self); 14] = [
        ("srv-federation", Self::SrvFederation),
        ("server-certificate", Self::ServerCertificate),
        ("client-certificate-eku", Self::ClientCertificateEku),
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
    Send { template: String },
    Expect(MessageExpectation),
    Reply { status: u16 },
    Check(CheckKind),
}

/// One step of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub actor: Actor,
    pub action: Action,
    /// Line of the step in its file.
    pub line: usize,
    pub note: Option<String>,
}

impl Step {
    /// A short description for reports: "pool expects request MESSAGE".
    pub fn describe(&self) -> String {
        let actor = self.actor.name();
        let what = match &self.action {
            Action::Send { template } => {
                let first = template.lines().next().unwrap_or_default();
                format!("sends {first}")
            }
            Action::Expect(MessageExpectation::Request { method, .. }) => {
                format!("expects request {method}")
            }
            Action::Expect(MessageExpectation::Response { status, .. }) => {
                format!("expects response {status}")
            }
            Action::Reply { status } => format!("replies {status}"),
            Action::Check(kind) => format!("checks {}", kind.name()),
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
    pub steps: Vec<Step>,
    pub source: PathBuf,
}
