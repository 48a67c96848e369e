//! The topology of a run against a real Edge, built from a staging
//! configuration: the simulated peers (and, in sandwich mode, the pool) on
//! the addresses the file names, certificates issued by the CA the Edge
//! trusts, and the in-process DNS serving the zones the file implies (or
//! the real DNS server it names).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use picharness_simulators::actor::{ActorSpec, SipActor};
use picharness_simulators::destinations::AllowedDestinations;
use picharness_simulators::dns::{DnsQueryLog, SrvRecord, ZoneData, start_dns_server};
use picharness_simulators::edge::FaultSet;
use picharness_simulators::pki::{KeyKind, TestPki};
use picharness_simulators::tls::{ClientAuthMode, KeyLogCollector};
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::av::{AvView, DEFAULT_RTP_PACKETS};
use super::{
    PeerPki, SIP_TLS_PORT, SutView, Topology, TopologyError, leaf, pki_error, publish_provider_crl,
};
use crate::applicability::Setting;
use crate::config::{DnsConfig, StagingConfig, TopologyMode};
use crate::profile::ProviderProfile;
use picharness_simulators::av::TurnCredentials;
use picharness_simulators::http::{CrlResponder, HttpLog};

/// The first port and the last of the A/V Edge's media relay range.
pub const RELAY_PORTS: std::ops::RangeInclusive<u16> = 50_000..=59_999;

/// Reads every certificate in the PEM files `paths` into one root store.
pub fn read_trust_anchors(paths: &[std::path::PathBuf]) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    for path in paths {
        let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if certificates.is_empty() {
            return Err(format!("{}: no certificate in the file", path.display()));
        }
        for certificate in certificates {
            store
                .add(certificate)
                .map_err(|e| format!("{}: not usable as a trust anchor: {e}", path.display()))?;
        }
    }
    Ok(store)
}

/// Reads the CA the SUT trusts for peers.
pub fn read_peer_ca(config: &StagingConfig) -> Result<TestPki, String> {
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let ca = read(&config.ca_certificate)?;
    let key = read(&config.ca_key)?;
    TestPki::from_pem("staging", &ca, &key).map_err(|e| {
        format!(
            "{} with {}: {e}",
            config.ca_certificate.display(),
            config.ca_key.display()
        )
    })
}

/// Adds an address record for `name` to the zone it falls in, or to a new
/// zone of its own.
fn add_address(zones: &mut Vec<ZoneData>, name: &str, ip: IpAddr) {
    let fqdn = format!("{}.", name.trim_end_matches('.'));
    let index = match zones
        .iter()
        .position(|z| fqdn == z.origin || fqdn.ends_with(&format!(".{}", z.origin)))
    {
        Some(index) => index,
        None => {
            zones.push(ZoneData::new(&fqdn));
            zones.len() - 1
        }
    };
    let zone = &mut zones[index];
    match ip {
        IpAddr::V4(v4) => zone.a.push((fqdn, v4)),
        IpAddr::V6(v6) => zone.aaaa.push((fqdn, v6)),
    }
}

/// The zones the in-process DNS serves for a staging configuration: per
/// SIP domain the federation SRV record to the access-edge FQDN; A/AAAA
/// records of the access-edge FQDN (every external listener), of the
/// internal names in sandwich mode, and of each enabled provider's
/// federation FQDN (its advertised address).
pub fn staging_zones(config: &StagingConfig) -> Vec<ZoneData> {
    let mut zones: Vec<ZoneData> = config
        .sut
        .sip_domains
        .iter()
        .map(|domain| {
            let mut zone = ZoneData::new(&format!("{domain}."));
            zone.srv.push(SrvRecord {
                name: format!("_sipfederationtls._tcp.{domain}."),
                priority: 0,
                weight: 0,
                port: config
                    .sut
                    .external
                    .first()
                    .map_or(SIP_TLS_PORT, SocketAddr::port),
                target: format!("{}.", config.sut.access_edge_fqdn),
            });
            zone
        })
        .collect();
    let edge_ips: BTreeSet<IpAddr> = config.sut.external.iter().map(SocketAddr::ip).collect();
    for ip in edge_ips {
        add_address(&mut zones, &config.sut.access_edge_fqdn, ip);
    }
    if let (Some(fqdn), Some(internal)) = (&config.sut.internal_fqdn, config.sut.internal) {
        add_address(&mut zones, fqdn, internal.ip());
    }
    if let Some(pool) = &config.pool {
        add_address(&mut zones, &pool.fqdn, pool.listen.ip());
    }
    for provider in config.providers.values() {
        add_address(
            &mut zones,
            &provider.profile.federation_fqdn,
            provider.advertise,
        );
    }
    zones
}

/// Every address a run with `config` may send to, each with the entry that
/// names it.
pub fn allowed_destinations(config: &StagingConfig) -> AllowedDestinations {
    let mut allowed = AllowedDestinations::default();
    for (index, external) in config.sut.external.iter().enumerate() {
        allowed.allow(*external, format!("sut.external[{index}] (Access Edge)"));
    }
    if config.mode == TopologyMode::Sandwich
        && let Some(internal) = config.sut.internal
    {
        allowed.allow(internal, "sut.internal (the Edge's internal listener)");
    }
    match &config.dns {
        DnsConfig::External { server } => allowed.allow(*server, "dns.server"),
        DnsConfig::InProcess { listen } => {
            allowed.allow(*listen, "dns.listen (the harness's own DNS server)");
        }
    }
    for (name, provider) in &config.providers {
        allowed.allow(
            provider.listen,
            format!("providers.{name}.listen (the harness's own peer)"),
        );
    }
    if let Some(pool) = &config.pool {
        allowed.allow(pool.listen, "pool.listen (the harness's own pool)");
    }
    if let Some(av) = &config.av {
        allowed.allow(av.udp, "av.udp (A/V Edge STUN/TURN)");
        allowed.allow(av.tcp, "av.tcp (A/V Edge STUN/TURN)");
        allowed.allow_ports(av.udp.ip(), RELAY_PORTS, "A/V Edge media relays");
        if av.tcp.ip() != av.udp.ip() {
            allowed.allow_ports(av.tcp.ip(), RELAY_PORTS, "A/V Edge media relays");
        }
    }
    allowed
}

/// What the setting of a staging run lets cases judge (before any A/V flag).
pub fn staging_setting(config: &StagingConfig) -> Setting {
    crate::plan::run_setting(Some(config), &super::AvOptions::default())
}

impl Topology {
    /// Starts the simulated roles a staging configuration describes.
    pub async fn from_config(
        config: &StagingConfig,
        profiles: Vec<ProviderProfile>,
    ) -> Result<Self, TopologyError> {
        let pki = Arc::new(read_peer_ca(config).map_err(TopologyError::Pki)?);
        let trust_anchors =
            read_trust_anchors(&config.sut.trust_anchors).map_err(TopologyError::Pki)?;
        let key_log = Arc::new(KeyLogCollector::default());
        let peer_pki = PeerPki::new(pki.clone(), trust_anchors.clone()).map_err(pki_error)?;
        let primary = config
            .sut
            .external
            .first()
            .copied()
            .ok_or_else(|| TopologyError::Edge("sut.external is empty".to_owned()))?;
        let sut = SutView {
            sip_domain: config.sut.sip_domains.first().cloned().unwrap_or_default(),
            sip_domains: config.sut.sip_domains.clone(),
            pool_members: config.sut.external.clone(),
            access_edge_fqdn: config.sut.access_edge_fqdn.clone(),
            internal_fqdn: config
                .sut
                .internal_fqdn
                .clone()
                .unwrap_or_else(|| config.sut.access_edge_fqdn.clone()),
            external: primary,
            internal: config.sut.internal.unwrap_or(primary),
        };

        let dns_log = DnsQueryLog::default();
        // Our resolvers record what they exchange with a DNS server that is
        // not ours; ours logs both sides itself.
        let dns_client_log =
            matches!(config.dns, DnsConfig::External { .. }).then(|| dns_log.clone());
        let (dns, dns_server) = match &config.dns {
            DnsConfig::InProcess { listen } => {
                let server = start_dns_server(*listen, staging_zones(config), dns_log.clone())
                    .await
                    .map_err(|e| TopologyError::Dns {
                        address: *listen,
                        message: e.to_string(),
                    })?;
                (Some(server), *listen)
            }
            DnsConfig::External { server } => (None, *server),
        };

        let pool = match &config.pool {
            Some(pool) => {
                let identity = pki
                    .issue(&leaf(
                        &pool.fqdn,
                        &[pool.fqdn.as_str()],
                        true,
                        true,
                        KeyKind::EcdsaP256,
                    ))
                    .map_err(pki_error)?;
                Some(
                    SipActor::start(ActorSpec {
                        name: "pool".to_owned(),
                        fqdn: pool.fqdn.clone(),
                        listen: pool.listen,
                        identity: Arc::new(identity),
                        roots: trust_anchors.clone(),
                        client_auth: ClientAuthMode::Required {
                            require_client_auth_eku: false,
                        },
                        key_log: key_log.clone(),
                    })
                    .await
                    .map_err(|e| TopologyError::Actor(format!("pool on {}: {e}", pool.listen)))?,
                )
            }
            None => None,
        };

        let crl = match config.crl_listen {
            Some(listen) => Some(
                CrlResponder::start(listen, HttpLog::default())
                    .await
                    .map_err(|e| TopologyError::Crl {
                        address: listen,
                        message: format!("crl.listen: {e}"),
                    })?,
            ),
            None => None,
        };
        let provider_crl_url = match &crl {
            Some(responder) => Some(publish_provider_crl(responder, &pki)?),
            None => None,
        };
        let mut peers = BTreeMap::new();
        for (name, provider) in &config.providers {
            let fqdn = provider.profile.federation_fqdn.as_str();
            let mut spec = leaf(fqdn, &[fqdn], true, true, KeyKind::EcdsaP256);
            if let Some(url) = &provider_crl_url {
                spec.crl_distribution_point = Some(url.clone());
            }
            let identity = pki.issue(&spec).map_err(pki_error)?;
            let actor = SipActor::start(ActorSpec {
                name: name.clone(),
                fqdn: fqdn.to_owned(),
                listen: provider.listen,
                identity: Arc::new(identity),
                roots: trust_anchors.clone(),
                client_auth: ClientAuthMode::Required {
                    require_client_auth_eku: provider.profile.require_client_auth_eku,
                },
                key_log: key_log.clone(),
            })
            .await
            .map_err(|e| {
                TopologyError::Actor(format!("{name} peer on {}: {e}", provider.listen))
            })?;
            peers.insert(name.clone(), actor);
        }

        let av = config.av.as_ref().map(|av| AvView {
            udp: av.udp,
            tcp: av.tcp,
            credentials: TurnCredentials {
                username: av.username.clone(),
                password: av.password.clone(),
            },
            client_ip: av.client_ip,
            peer_ip: av.media_peer_ip,
            rtp_packets: DEFAULT_RTP_PACKETS,
            expiry_wait_secs: super::av::DEFAULT_EXPIRY_WAIT_SECS,
            dialects: av.dialects,
        });

        Ok(Self {
            sut,
            kind: match config.mode {
                TopologyMode::Sandwich => "staging-sandwich",
                TopologyMode::ExternalOnly => "staging-external-only",
            },
            faults: FaultSet::default(),
            dns_server,
            dns_log,
            peers,
            pool,
            profiles,
            key_log,
            exclusive: tokio::sync::RwLock::new(()),
            private_copies: None,
            trust_anchors,
            peer_pki: Some(peer_pki),
            av,
            crl,
            setting: staging_setting(config),
            _edge: None,
            _chaos_edge: None,
            liveness: crate::liveness::Liveness::default(),
            dns_client_log,
            _av_edge: None,
            _dns: dns,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AvConfig, PoolConfig, ProviderConfig, SutConfig};
    use crate::topology::AvDialects;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("address")
    }

    fn config() -> StagingConfig {
        let profile = ProviderProfile {
            name: "yahoo".into(),
            display_name: "Yahoo!".into(),
            federation_fqdn: "sip.yahoo.com".into(),
            domains: vec!["yahoo.com".into()],
            require_client_auth_eku: false,
            locate_edge: crate::locate::LocateEdge::Fqdn,
            features: vec![],
            quirks: vec![],
        };
        StagingConfig {
            source: "staging.toml".into(),
            mode: TopologyMode::Sandwich,
            sut: SutConfig {
                access_edge_fqdn: "sip.contoso.com".into(),
                sip_domains: vec!["contoso.com".into()],
                external: vec![addr("192.0.2.10:5061"), addr("[2001:db8::10]:5061")],
                internal: Some(addr("10.0.0.11:5061")),
                internal_fqdn: Some("edge-int.contoso.com".into()),
                trust_anchors: vec![],
            },
            ca_certificate: "ca.pem".into(),
            ca_key: "ca.key".into(),
            dns: DnsConfig::External {
                server: addr("10.0.0.53:53"),
            },
            pool: Some(PoolConfig {
                fqdn: "pool.corp.example".into(),
                listen: addr("10.0.0.20:5061"),
            }),
            av: Some(AvConfig {
                udp: addr("192.0.2.12:3478"),
                tcp: addr("192.0.2.12:443"),
                username: "u".into(),
                password: "p".into(),
                dialects: AvDialects::BOTH,
                client_ip: "198.51.100.100".parse().expect("ip"),
                media_peer_ip: "10.0.0.21".parse().expect("ip"),
            }),
            providers: BTreeMap::from([(
                "yahoo".to_owned(),
                ProviderConfig {
                    profile,
                    listen: addr("198.51.100.3:5061"),
                    advertise: "198.51.100.3".parse().expect("ip"),
                },
            )]),
            case_timeout: None,
            crl_listen: None,
        }
    }

    #[test]
    fn zones_hold_the_srv_and_every_address_each_in_the_zone_it_falls_in() {
        let zones = staging_zones(&config());
        let origins: Vec<&str> = zones.iter().map(|z| z.origin.as_str()).collect();
        assert_eq!(
            origins,
            ["contoso.com.", "pool.corp.example.", "sip.yahoo.com."]
        );
        let sut = &zones[0];
        assert_eq!(sut.srv.len(), 1);
        assert_eq!(sut.srv[0].target, "sip.contoso.com.");
        assert_eq!(sut.srv[0].port, 5061);
        assert_eq!(
            sut.a,
            vec![
                (
                    "sip.contoso.com.".to_owned(),
                    "192.0.2.10".parse().expect("v4")
                ),
                (
                    "edge-int.contoso.com.".to_owned(),
                    "10.0.0.11".parse().expect("v4")
                ),
            ]
        );
        assert_eq!(
            sut.aaaa,
            vec![(
                "sip.contoso.com.".to_owned(),
                "2001:db8::10".parse().expect("v6")
            )]
        );
    }

    #[test]
    fn destinations_are_exactly_what_the_configuration_names() {
        let allowed = allowed_destinations(&config());
        for permitted in [
            "192.0.2.10:5061",
            "[2001:db8::10]:5061",
            "10.0.0.11:5061",
            "10.0.0.53:53",
            "192.0.2.12:3478",
            "192.0.2.12:443",
            "192.0.2.12:50000",
            "192.0.2.12:59999",
        ] {
            assert!(allowed.permits(addr(permitted)), "{permitted}");
        }
        for refused in [
            "192.0.2.10:5062",
            "192.0.2.11:5061",
            "10.0.0.53:5353",
            "192.0.2.12:60000",
            "8.8.8.8:53",
        ] {
            assert!(!allowed.permits(addr(refused)), "{refused}");
        }
        let mut external_only = config();
        external_only.mode = TopologyMode::ExternalOnly;
        external_only.pool = None;
        assert!(!allowed_destinations(&external_only).permits(addr("10.0.0.11:5061")));
    }
}
