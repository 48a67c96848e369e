//! Fault switches of the reference Edge: each names one thing a real Edge
//! gets wrong, so tests can prove that the check for it fails.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// One deliberate defect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// The Edge certificate carries serverAuth only, no clientAuth EKU.
    NoClientEku,
    /// The Edge forwards requests without adding Record-Route.
    NoRecordRoute,
    /// The `_sipfederationtls._tcp` SRV record points at port 5062.
    DnsSrvWrongPort,
    /// The SRV target is a name the Edge certificate does not hold.
    DnsTargetNotInSan,
    /// Inbound requests are relayed whatever domain they claim to come from.
    AcceptAnyDomain,
    /// Max-Forwards is neither checked nor decremented.
    IgnoreMaxForwards,
    /// The Edge certificate carries clientAuth but not serverAuth.
    NoServerEku,
    /// The Edge certificate's subject CN is not the access-edge FQDN (its SAN still holds it).
    SubjectCnMismatch,
    /// The Edge certificate expired yesterday.
    ExpiredCert,
    /// The Edge certificate comes from a private CA the peers trust but the configured anchors do not hold.
    PrivateCaCert,
    /// The Edge certificate is signed with RSASSA-PSS.
    PssSignature,
    /// The Edge certificate has no CRL distribution point.
    NoCdp,
    /// The external listener speaks TLS 1.3 only.
    Tls13Only,
    /// The external listener lets peers in without a client certificate.
    AcceptNoClientCert,
    /// The external listener accepts any client certificate without judging it.
    AcceptAnyClientCert,
    /// A peer whose certificate names no provider is attributed by its From domain.
    AcceptAnyPeerName,
    /// The Edge presents a second certificate (same names) when it connects out.
    DifferentOutboundCert,
    /// The Edge certificate has a 512-bit RSA key.
    WeakKey,
    /// The Edge certificate's SAN lacks the access-edge FQDN (the subject CN still holds it).
    SanMismatch,
    /// The Edge trusts a root it should not, the one the untrusted-issuer peer comes from.
    AcceptUntrustedPeer,
}

impl Fault {
    pub const ALL: [Self; 20] = [
        Self::NoClientEku,
        Self::NoRecordRoute,
        Self::DnsSrvWrongPort,
        Self::DnsTargetNotInSan,
        Self::AcceptAnyDomain,
        Self::IgnoreMaxForwards,
        Self::NoServerEku,
        Self::SubjectCnMismatch,
        Self::ExpiredCert,
        Self::PrivateCaCert,
        Self::PssSignature,
        Self::NoCdp,
        Self::Tls13Only,
        Self::AcceptNoClientCert,
        Self::AcceptAnyClientCert,
        Self::AcceptAnyPeerName,
        Self::DifferentOutboundCert,
        Self::WeakKey,
        Self::SanMismatch,
        Self::AcceptUntrustedPeer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::NoClientEku => "no-client-eku",
            Self::NoRecordRoute => "no-record-route",
            Self::DnsSrvWrongPort => "dns-srv-wrong-port",
            Self::DnsTargetNotInSan => "dns-target-not-in-san",
            Self::AcceptAnyDomain => "accept-any-domain",
            Self::IgnoreMaxForwards => "ignore-max-forwards",
            Self::NoServerEku => "no-server-eku",
            Self::SubjectCnMismatch => "subject-cn-mismatch",
            Self::ExpiredCert => "expired-cert",
            Self::PrivateCaCert => "private-ca-cert",
            Self::PssSignature => "pss-signature",
            Self::NoCdp => "no-cdp",
            Self::Tls13Only => "tls13-only",
            Self::AcceptNoClientCert => "accept-no-client-cert",
            Self::AcceptAnyClientCert => "accept-any-client-cert",
            Self::AcceptAnyPeerName => "accept-any-peer-name",
            Self::DifferentOutboundCert => "different-outbound-cert",
            Self::WeakKey => "weak-key",
            Self::SanMismatch => "san-mismatch",
            Self::AcceptUntrustedPeer => "accept-untrusted-peer",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::NoClientEku => {
                "Edge certificate has the serverAuth EKU but not clientAuth, so AOL refuses its outbound connections"
            }
            Self::NoRecordRoute => "Edge forwards requests without inserting Record-Route",
            Self::DnsSrvWrongPort => {
                "_sipfederationtls._tcp SRV record advertises port 5062 instead of 5061"
            }
            Self::DnsTargetNotInSan => {
                "_sipfederationtls._tcp SRV target is a name missing from the Edge certificate"
            }
            Self::AcceptAnyDomain => {
                "Edge relays inbound requests from domains the sending provider does not own"
            }
            Self::IgnoreMaxForwards => {
                "Edge neither checks nor decrements Max-Forwards (no 483 at 0)"
            }
            Self::NoServerEku => {
                "Edge certificate has the clientAuth EKU but not serverAuth, so peers refuse it as a server"
            }
            Self::SubjectCnMismatch => {
                "Edge certificate's subject CN is not the access-edge FQDN (the SAN still holds it)"
            }
            Self::ExpiredCert => "Edge certificate expired yesterday",
            Self::PrivateCaCert => {
                "Edge certificate is issued by a private CA the peers trust but the configured trust anchors do not hold"
            }
            Self::PssSignature => {
                "Edge certificate is signed with RSASSA-PSS (by an RSA intermediate), which Lync does not support"
            }
            Self::NoCdp => "Edge certificate has no CRL distribution point extension",
            Self::Tls13Only => "external listener refuses TLS 1.2 and speaks TLS 1.3 only",
            Self::AcceptNoClientCert => {
                "external listener completes the handshake with peers that present no client certificate"
            }
            Self::AcceptAnyClientCert => {
                "external listener accepts any client certificate: untrusted issuer, expired, or without clientAuth"
            }
            Self::AcceptAnyPeerName => {
                "a peer whose certificate names no provider is attributed to the provider owning its From domain"
            }
            Self::DifferentOutboundCert => {
                "Edge presents a different certificate (same names) when it connects out than on its 5061 listener"
            }
            Self::WeakKey => {
                "Edge certificate has a 512-bit RSA key (it cannot sign, so every peer refuses the handshake)"
            }
            Self::SanMismatch => {
                "Edge certificate's SAN lacks the access-edge FQDN (the subject CN still holds it)"
            }
            Self::AcceptUntrustedPeer => {
                "Edge trusts a root it should not, so a peer certificate from that issuer is let in"
            }
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fault name nobody knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault {name:?}; known faults: {}", Fault::ALL.iter().map(|f| f.name()).collect::<Vec<_>>().join(", "))]
pub struct UnknownFault {
    pub name: String,
}

impl FromStr for Fault {
    type Err = UnknownFault;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFault { name: s.to_owned() })
    }
}

/// The faults switched on for one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultSet(BTreeSet<Fault>);

impl FaultSet {
    pub fn new(faults: impl IntoIterator<Item = Fault>) -> Self {
        Self(faults.into_iter().collect())
    }

    pub fn has(&self, fault: Fault) -> bool {
        self.0.contains(&fault)
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|f| f.name().to_owned()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for fault in Fault::ALL {
            assert_eq!(fault.name().parse::<Fault>(), Ok(fault));
        }
    }

    #[test]
    fn unknown_name_lists_the_known_ones() {
        let err = "no-such".parse::<Fault>().unwrap_err();
        assert!(err.to_string().contains("no-record-route"));
    }
}
