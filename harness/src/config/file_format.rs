//! The TOML layout of a staging configuration file, as serde reads it.
//! Every table rejects unknown keys, and spans are kept so that later
//! validation can name the line of a bad value.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    /// `"sandwich"` or `"external-only"`.
    pub(crate) mode: Spanned<String>,
    pub(crate) sut: Spanned<SutFile>,
    pub(crate) pki: Spanned<PkiFile>,
    pub(crate) dns: Spanned<DnsFile>,
    pub(crate) pool: Option<Spanned<PoolFile>>,
    pub(crate) av: Option<Spanned<AvFile>>,
    #[serde(default)]
    pub(crate) providers: BTreeMap<String, Spanned<ProviderFile>>,
    pub(crate) timeouts: Option<Spanned<TimeoutsFile>>,
    pub(crate) crl: Option<Spanned<CrlFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CrlFile {
    /// `ADDR:PORT` where the harness serves the CRLs of the provider
    /// certificates it issues (their CRL distribution point).
    pub(crate) listen: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SutFile {
    pub(crate) access_edge_fqdn: Spanned<String>,
    pub(crate) sip_domains: Spanned<Vec<Spanned<String>>>,
    /// The Access Edge's external listeners (`ADDR:PORT`), one per pool member.
    pub(crate) external: Spanned<Vec<Spanned<String>>>,
    /// The Access Edge's internal listener (sandwich mode).
    pub(crate) internal: Option<Spanned<String>>,
    pub(crate) internal_fqdn: Option<Spanned<String>>,
    /// PEM files holding the roots the Edge's certificate must chain to.
    pub(crate) trust_anchors: Spanned<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PkiFile {
    /// The root the SUT trusts for peers (written by `picharness pki init`).
    pub(crate) ca_certificate: Spanned<String>,
    pub(crate) ca_key: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DnsFile {
    /// `"in-process"` or the `ADDR:PORT` of the DNS server to judge the SUT by.
    pub(crate) server: Spanned<String>,
    /// Where the in-process server listens.
    pub(crate) listen: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PoolFile {
    pub(crate) fqdn: Spanned<String>,
    pub(crate) listen: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AvFile {
    #[serde(default = "enabled")]
    pub(crate) enabled: bool,
    pub(crate) udp: Option<Spanned<String>>,
    pub(crate) tcp: Option<Spanned<String>>,
    pub(crate) username: Option<Spanned<String>>,
    pub(crate) password: Option<Spanned<String>>,
    pub(crate) dialects: Option<Spanned<Vec<Spanned<String>>>>,
    pub(crate) client_ip: Option<Spanned<String>>,
    pub(crate) media_peer_ip: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProviderFile {
    #[serde(default = "enabled")]
    pub(crate) enabled: bool,
    pub(crate) listen: Option<Spanned<String>>,
    pub(crate) advertise: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TimeoutsFile {
    pub(crate) case_ms: Option<Spanned<u64>>,
}

fn enabled() -> bool {
    true
}
