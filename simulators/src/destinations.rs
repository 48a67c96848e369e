//! The process-wide list of places the harness may send packets to.
//!
//! Against a staging Edge the harness shares a real network with other
//! systems, so every socket that initiates traffic (TCP connect, UDP send)
//! asks [`check_destination`] first; an address the configuration does not
//! name is refused with an error before a single packet leaves. With no
//! list installed (the embedded topology, unit tests) everything is
//! allowed: the embedded roles live on one loopback /16 the harness owns.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::OnceLock;

/// Where traffic may go: exact socket addresses, and port ranges on hosts
/// (the A/V Edge's media relay ports).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedDestinations {
    exact: BTreeSet<SocketAddr>,
    ranges: Vec<(IpAddr, RangeInclusive<u16>, String)>,
    labels: Vec<(SocketAddr, String)>,
}

impl AllowedDestinations {
    /// Allows `address`; `why` says which configuration entry names it.
    pub fn allow(&mut self, address: SocketAddr, why: impl Into<String>) {
        if self.exact.insert(address) {
            self.labels.push((address, why.into()));
        }
    }

    /// Allows every port in `ports` on `ip`.
    pub fn allow_ports(&mut self, ip: IpAddr, ports: RangeInclusive<u16>, why: impl Into<String>) {
        self.ranges.push((ip, ports, why.into()));
    }

    pub fn permits(&self, address: SocketAddr) -> bool {
        self.exact.contains(&address)
            || self
                .ranges
                .iter()
                .any(|(ip, ports, _)| *ip == address.ip() && ports.contains(&address.port()))
    }

    /// One line per allowed destination, for `--dry-run` and `doctor`.
    pub fn describe(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .labels
            .iter()
            .map(|(address, why)| format!("{address:<24} {why}"))
            .collect();
        lines.extend(self.ranges.iter().map(|(ip, ports, why)| {
            format!(
                "{:<24} {why}",
                format!("{ip}:{}-{}", ports.start(), ports.end())
            )
        }));
        lines
    }
}

/// A destination the configuration does not name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedDestination(pub SocketAddr);

impl fmt::Display for RefusedDestination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refused to send to {}: the configuration does not name this address (nothing was sent)",
            self.0
        )
    }
}

impl std::error::Error for RefusedDestination {}

static ALLOWED: OnceLock<AllowedDestinations> = OnceLock::new();

/// Installs the list for the rest of the process. Returns `false` when a
/// list was already installed (it is never replaced or widened).
pub fn restrict_destinations(allowed: AllowedDestinations) -> bool {
    ALLOWED.set(allowed).is_ok()
}

/// Whether traffic to `address` is allowed.
pub fn check_destination(address: SocketAddr) -> Result<(), RefusedDestination> {
    match ALLOWED.get() {
        Some(allowed) if !allowed.permits(address) => Err(RefusedDestination(address)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("address")
    }

    #[test]
    fn exact_addresses_and_port_ranges_are_permitted_and_nothing_else() {
        let mut allowed = AllowedDestinations::default();
        allowed.allow(addr("192.0.2.10:5061"), "sut.external");
        allowed.allow_ports(
            "192.0.2.12".parse().expect("ip"),
            50_000..=59_999,
            "A/V relay ports",
        );
        assert!(allowed.permits(addr("192.0.2.10:5061")));
        assert!(!allowed.permits(addr("192.0.2.10:5062")));
        assert!(!allowed.permits(addr("192.0.2.11:5061")));
        assert!(allowed.permits(addr("192.0.2.12:50000")));
        assert!(allowed.permits(addr("192.0.2.12:59999")));
        assert!(!allowed.permits(addr("192.0.2.12:49999")));
        assert!(!allowed.permits(addr("192.0.2.12:60000")));
        assert_eq!(allowed.describe().len(), 2);
    }

    #[test]
    fn without_a_list_everything_is_allowed() {
        // The process-wide list is never installed in unit tests.
        assert!(check_destination(addr("198.51.100.1:1")).is_ok());
    }
}
