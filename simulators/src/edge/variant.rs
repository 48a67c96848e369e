//! Conformant variants of the reference Edge: ways in which real Edges
//! differ from one another that no requirement forbids (an address instead
//! of a name in Via and Record-Route, no RFC 5923 connection aliasing).
//! A run with a variant must give the verdicts of a good run, plus the
//! observations the variant causes; the tests use them to prove the cases
//! are no stricter than their requirements.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// One conformant way of doing things differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variant {
    /// Via sent-by and Record-Route URIs carry the Edge's IP addresses
    /// instead of its FQDNs (FED-06 allows "FQDN/IP").
    Addresses,
    /// The Edge ignores a peer's Via `alias` and opens its own connection
    /// for requests back to that peer (SIP-14: "record either").
    NoAlias,
}

impl Variant {
    pub const ALL: [Self; 2] = [Self::Addresses, Self::NoAlias];

    pub fn name(self) -> &'static str {
        match self {
            Self::Addresses => "addresses",
            Self::NoAlias => "no-alias",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Addresses => {
                "Via and Record-Route name the Edge by IP address instead of FQDN (FED-06 allows either)"
            }
            Self::NoAlias => {
                "a peer's Via alias is ignored: requests back to it go on a connection the Edge opens (SIP-14 records either)"
            }
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown reference Edge variant {name:?}; known: {}", Variant::ALL.map(Variant::name).join(", "))]
pub struct UnknownVariant {
    pub name: String,
}

impl FromStr for Variant {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| UnknownVariant { name: s.to_owned() })
    }
}

/// The variants switched on for one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VariantSet(BTreeSet<Variant>);

impl VariantSet {
    pub fn new(variants: impl IntoIterator<Item = Variant>) -> Self {
        Self(variants.into_iter().collect())
    }

    pub fn has(&self, variant: Variant) -> bool {
        self.0.contains(&variant)
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|v| v.name().to_owned()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known_ones() {
        for variant in Variant::ALL {
            assert_eq!(variant.name().parse::<Variant>(), Ok(variant));
        }
        let err = "no-such".parse::<Variant>().expect_err("unknown");
        assert!(err.to_string().contains("addresses"), "{err}");
    }
}
