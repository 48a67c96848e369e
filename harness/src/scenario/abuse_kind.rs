//! The abuses a robustness case can start in the background with an
//! `abuse = "NAME"` step and end with `abuse = "end"`: the liveness probe
//! runs between the two, while the abuse holds. Each abuse is bounded (how
//! many connections, how long, how many bytes) and the bounds are part of
//! its description, so a reader of the case knows what was thrown at the
//! Edge.

/// One background abuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AbuseKind {
    /// Mutual TLS connections that send a SIP request one byte at a time.
    Slowloris,
    /// Many mutual TLS connections that complete the handshake and then
    /// send nothing.
    IdleConnections,
    /// TCP connections that never send a ClientHello.
    SilentConnections,
    /// TCP connections that send the first half of a ClientHello and stop.
    PartialClientHello,
    /// Waves of TLS handshakes without a client certificate.
    UnauthenticatedBurst,
    /// After a mutual TLS handshake, a record that decrypts under no key.
    GarbageRecord,
    /// After a mutual TLS handshake, a record header claiming 65,535 bytes.
    OverlongRecord,
    /// ClientHellos offering only SSL 3.0, TLS 1.0 and TLS 1.1.
    OldClientHello,
    /// A mutual TLS handshake presenting a chain of
    /// [`LONG_CHAIN_INTERMEDIATES`] intermediates.
    LongChain,
    /// After a mutual TLS 1.2 handshake, a renegotiation ClientHello.
    Renegotiation,
}

impl AbuseKind {
    pub const ALL: [(&'static str, Self); 10] = [
        ("slowloris", Self::Slowloris),
        ("idle-connections", Self::IdleConnections),
        ("silent-connections", Self::SilentConnections),
        ("partial-client-hello", Self::PartialClientHello),
        ("unauthenticated-burst", Self::UnauthenticatedBurst),
        ("garbage-record", Self::GarbageRecord),
        ("overlong-record", Self::OverlongRecord),
        ("old-client-hello", Self::OldClientHello),
        ("long-chain", Self::LongChain),
        ("renegotiation", Self::Renegotiation),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("unknown", |(name, _)| name)
    }

    /// What the abuse does, with its bounds, for reports and docs.
    pub fn describe(self) -> String {
        match self {
            Self::Slowloris => format!(
                "{SLOWLORIS_CONNECTIONS} mutual TLS connections, each sending a MESSAGE one byte every {} s, so the message never completes while the abuse holds (at most {} s)",
                SLOW_BYTE_INTERVAL.as_secs(),
                ABUSE_MAX_HOLD.as_secs()
            ),
            Self::IdleConnections => format!(
                "{IDLE_CONNECTIONS} mutual TLS connections that complete the handshake and then send nothing"
            ),
            Self::SilentConnections => {
                format!("{SILENT_CONNECTIONS} TCP connections that never send a ClientHello")
            }
            Self::PartialClientHello => format!(
                "{SILENT_CONNECTIONS} TCP connections that send the first half of a ClientHello and stop"
            ),
            Self::GarbageRecord => {
                "one mutual TLS connection that, after the handshake, sends a 64-byte application-data record no key decrypts".to_owned()
            }
            Self::OverlongRecord => {
                "one mutual TLS connection that, after the handshake, sends a record header claiming 65,535 bytes (TLS allows at most 18,432) and 64 bytes of it".to_owned()
            }
            Self::OldClientHello => {
                "three TCP connections, each sending a hand-made ClientHello offering only SSL 3.0, TLS 1.0 or TLS 1.1, and reading the first record of the answer".to_owned()
            }
            Self::Renegotiation => {
                "one mutual TLS 1.2 connection that, after the handshake, sends a ClientHello with an empty renegotiation_info, encrypted under the connection's keys, and reads the answer".to_owned()
            }
            Self::LongChain => format!(
                "one mutual TLS handshake presenting the peer's name on a certificate issued under {LONG_CHAIN_INTERMEDIATES} intermediate CAs below a root the Edge trusts, then an OPTIONS"
            ),
            Self::UnauthenticatedBurst => format!(
                "waves of {BURST_WAVE} concurrent TLS handshakes without a client certificate, at most {BURST_TOTAL} in all"
            ),
        }
    }
}

/// How long an abuse holds at most when no `abuse = "end"` step ends it
/// (the case's own deadline usually ends it first).
pub const ABUSE_MAX_HOLD: std::time::Duration = std::time::Duration::from_secs(20);
/// Slow connections of the slowloris abuse.
pub const SLOWLORIS_CONNECTIONS: usize = 10;
/// How often a slow connection sends its next byte.
pub const SLOW_BYTE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);
/// Connections of the idle-connections abuse.
pub const IDLE_CONNECTIONS: usize = 100;
/// Connections of the silent-connections and partial-client-hello abuses.
pub const SILENT_CONNECTIONS: usize = 20;
/// Handshakes per wave of the unauthenticated burst.
pub const BURST_WAVE: usize = 50;
/// Intermediate CAs in the long-chain abuse's certificate chain.
pub const LONG_CHAIN_INTERMEDIATES: usize = 30;
/// Handshakes of the unauthenticated burst in all.
pub const BURST_TOTAL: usize = 200;

/// What an `abuse` step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbuseStep {
    /// Starts the abuse in the background; the step ends once it holds.
    Start(AbuseKind),
    /// Ends the running abuse, records what it saw and judges the Edge's
    /// immediate answers to it.
    End,
}

impl AbuseStep {
    /// The step's word in a scenario file.
    pub fn word(self) -> &'static str {
        match self {
            Self::Start(kind) => kind.name(),
            Self::End => "end",
        }
    }
}
