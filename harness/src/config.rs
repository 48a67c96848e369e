//! The staging configuration: how `picharness run --config FILE` is told
//! where a real Edge is, which addresses the simulated roles bind and
//! advertise, which CA the Edge trusts for peers and which DNS to judge it
//! by. `load_config` reads and validates the whole file up front; every
//! problem names the file, line and field.
//!
//! Two topology modes: **sandwich**, where the harness also plays the
//! internal pool the Edge's internal side forwards to, and
//! **external-only**, where the real pool stays and cases that need the
//! inside are skipped.

mod file_format;
mod validate;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::profile::ProviderProfile;
pub use crate::scenario::ScenarioError as ConfigError;
use crate::topology::AvDialects;

/// Whether the harness plays the internal pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopologyMode {
    /// The harness is the pool: the Edge's internal next hop points at it.
    Sandwich,
    /// The real pool stays; cases that need the inside are skipped.
    ExternalOnly,
}

impl TopologyMode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sandwich => "sandwich",
            Self::ExternalOnly => "external-only",
        }
    }
}

/// The SUT's Access Edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SutConfig {
    pub access_edge_fqdn: String,
    /// The first is the domain test users live in.
    pub sip_domains: Vec<String>,
    /// External listeners; the first is where peers are sent by default.
    pub external: Vec<SocketAddr>,
    /// The internal listener the pool connects to (sandwich mode).
    pub internal: Option<SocketAddr>,
    pub internal_fqdn: Option<String>,
    pub trust_anchors: Vec<PathBuf>,
}

/// Which DNS the peers use and the DNS cases judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsConfig {
    /// The harness serves the zones itself (from this file) on `listen`.
    InProcess { listen: SocketAddr },
    /// A real DNS server, judged by the `edge.dns.*` cases.
    External { server: SocketAddr },
}

/// The simulated internal pool (sandwich mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    pub fqdn: String,
    pub listen: SocketAddr,
}

/// The SUT's A/V Edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvConfig {
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    pub username: String,
    pub password: String,
    pub dialects: AvDialects,
    /// Where the harness's A/V client (the Messenger side) binds.
    pub client_ip: IpAddr,
    /// Where the media peer (the Lync side of the stream) binds.
    pub media_peer_ip: IpAddr,
}

/// One simulated provider peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    pub profile: ProviderProfile,
    /// Where the peer listens for the Edge's connections (and connects from).
    pub listen: SocketAddr,
    /// The address the peer's federation FQDN resolves to.
    pub advertise: IpAddr,
}

/// A validated staging configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagingConfig {
    pub source: PathBuf,
    pub mode: TopologyMode,
    pub sut: SutConfig,
    pub ca_certificate: PathBuf,
    pub ca_key: PathBuf,
    pub dns: DnsConfig,
    pub pool: Option<PoolConfig>,
    /// `None`: A/V is off (the Edge federates IM only; A/V cases are skipped).
    pub av: Option<AvConfig>,
    /// Enabled providers by profile name; profiles not here are disabled.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Every case waits at least this long (slow networks).
    pub case_timeout: Option<Duration>,
    /// Where the harness serves CRLs (`[crl] listen`); `None`: no
    /// responder, and the revocation cases are skipped.
    pub crl_listen: Option<SocketAddr>,
}

/// Reads and validates `path`; `profiles` are the known provider profiles.
pub fn load_config(
    path: &Path,
    profiles: &[ProviderProfile],
) -> Result<StagingConfig, Vec<ConfigError>> {
    let text = crate::data_file::read_data_file(path).map_err(|e| {
        vec![ConfigError {
            file: path.to_path_buf(),
            line: 0,
            field: String::new(),
            message: format!("the configuration file {e}"),
        }]
    })?;
    let config = validate::parse_config(path, &text, profiles)?;
    check_pki_files(&config, &text)?;
    Ok(config)
}

/// The CA and trust anchor files hold what their fields promise (PEM that
/// parses, a CA key that belongs to the CA certificate), found now rather
/// than when the run starts its roles, and named by field.
fn check_pki_files(config: &StagingConfig, text: &str) -> Result<(), Vec<ConfigError>> {
    let error = |field: &str, message: String| ConfigError {
        file: config.source.clone(),
        line: crate::scenario::line_of_key(text, field),
        field: field.to_owned(),
        message,
    };
    let mut errors = Vec::new();
    if let Err(e) = crate::topology::read_peer_ca(config) {
        let field = if e.contains("private key") {
            "pki.ca_key"
        } else {
            "pki.ca_certificate"
        };
        errors.push(error(field, e));
    }
    if let Err(e) = crate::topology::read_trust_anchors(&config.sut.trust_anchors) {
        errors.push(error("sut.trust_anchors", e));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
