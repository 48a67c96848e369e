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
    /// The A/V Edge allocates relay ports in 40,000-49,999.
    AvRelayOutOfRange,
    /// The A/V Edge does not listen on TCP 443.
    AvNoTcp443,
    /// Binding responses carry a XOR-MAPPED-ADDRESS one port off.
    AvWrongMappedAddress,
    /// Allocate succeeds without credentials (no 401 challenge).
    AvNoAuth,
    /// Relays drop what the peer sends back.
    AvRelayDropsInbound,
    /// Relays drop every tenth packet.
    AvRelayLossy,
    /// Unknown comprehension-required STUN attributes are ignored (no 420).
    AvIgnoreUnknownAttributes,
    /// MS-TURN messages without the leading Magic Cookie attribute are answered.
    AvMsTurnAcceptsNoCookie,
}

impl Fault {
    pub const ALL: [Self; 14] = [
        Self::NoClientEku,
        Self::NoRecordRoute,
        Self::DnsSrvWrongPort,
        Self::DnsTargetNotInSan,
        Self::AcceptAnyDomain,
        Self::IgnoreMaxForwards,
        Self::AvRelayOutOfRange,
        Self::AvNoTcp443,
        Self::AvWrongMappedAddress,
        Self::AvNoAuth,
        Self::AvRelayDropsInbound,
        Self::AvRelayLossy,
        Self::AvIgnoreUnknownAttributes,
        Self::AvMsTurnAcceptsNoCookie,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::NoClientEku => "no-client-eku",
            Self::NoRecordRoute => "no-record-route",
            Self::DnsSrvWrongPort => "dns-srv-wrong-port",
            Self::DnsTargetNotInSan => "dns-target-not-in-san",
            Self::AcceptAnyDomain => "accept-any-domain",
            Self::IgnoreMaxForwards => "ignore-max-forwards",
            Self::AvRelayOutOfRange => "av-relay-out-of-range",
            Self::AvNoTcp443 => "av-no-tcp-443",
            Self::AvWrongMappedAddress => "av-wrong-mapped-address",
            Self::AvNoAuth => "av-no-auth",
            Self::AvRelayDropsInbound => "av-relay-drops-inbound",
            Self::AvRelayLossy => "av-relay-lossy",
            Self::AvIgnoreUnknownAttributes => "av-ignore-unknown-attributes",
            Self::AvMsTurnAcceptsNoCookie => "av-msturn-accepts-no-cookie",
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
            Self::AvRelayOutOfRange => "A/V Edge allocates relay ports in 40,000-49,999",
            Self::AvNoTcp443 => "A/V Edge does not listen for STUN/TURN on TCP 443",
            Self::AvWrongMappedAddress => {
                "A/V Edge answers Binding with a XOR-MAPPED-ADDRESS one port off"
            }
            Self::AvNoAuth => "A/V Edge grants Allocate without the 401 credential challenge",
            Self::AvRelayDropsInbound => "A/V Edge relays drop the data peers send back",
            Self::AvRelayLossy => "A/V Edge relays drop every tenth packet",
            Self::AvMsTurnAcceptsNoCookie => {
                "A/V Edge answers MS-TURN messages that lack the leading Magic Cookie attribute"
            }
            Self::AvIgnoreUnknownAttributes => {
                "A/V Edge ignores unknown comprehension-required STUN attributes instead of answering 420"
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
