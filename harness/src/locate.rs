//! How a peer finds the Access Edge before it connects, as its profile says
//! (`locate_edge`): a PIC provider resolves the access-edge FQDN it was
//! provisioned with (A/AAAA) and connects on 5061; an open federation
//! partner asks for `_sipfederationtls._tcp.<sip domain>` SRV, orders the
//! records by RFC 2782 priority and weight, and resolves each target (RFC
//! 3263 §4.2). Both ask only the topology's DNS server, through
//! hickory-resolver. The result is the ordered list of places to try, with
//! notes saying what DNS returned.

mod srv_order;

use std::net::{IpAddr, SocketAddr};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RData;
use hickory_resolver::net::NetError;
use picharness_simulators::dns::DnsResolver as TokioResolver;
use picharness_simulators::dns::{DnsError, DnsQueryLog, resolver_recorded};
use serde::Deserialize;

pub use srv_order::{SrvCandidate, order_srv};

use crate::topology::{SIP_TLS_PORT, SutView};

/// How a provider's peer locates the Edge (`locate_edge` in a profile).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LocateEdge {
    /// The provisioned access-edge FQDN, A/AAAA, port 5061 (PIC providers).
    #[default]
    Fqdn,
    /// `_sipfederationtls._tcp.<sip domain>` SRV, then A/AAAA of each target
    /// (open federation partners).
    Srv,
}

/// One place to try: an address and the name to expect in its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeCandidate {
    pub address: SocketAddr,
    pub server_name: String,
}

/// Where the Edge may be, in the order to try, and what DNS said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub candidates: Vec<EdgeCandidate>,
    pub notes: Vec<String>,
}

/// Why the Edge could not be located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocateError {
    /// DNS answered, but with nothing usable: the SUT's DNS is wrong.
    NotFound { reason: String, notes: Vec<String> },
    /// DNS did not answer at all: nothing can be said about the SUT.
    NoAnswer { reason: String, notes: Vec<String> },
}

/// What one lookup got: records, no records (with the DNS answer), or no
/// answer at all.
enum Lookup<T> {
    Records(Vec<T>),
    NoRecords(String),
    NoAnswer(String),
}

fn classify<T>(result: Result<Vec<T>, NetError>) -> Lookup<T> {
    match result {
        Ok(records) if records.is_empty() => Lookup::NoRecords("NOERROR with no answer".into()),
        Ok(records) => Lookup::Records(records),
        Err(e) if e.is_nx_domain() => Lookup::NoRecords("NXDOMAIN".into()),
        Err(e) if e.is_no_records_found() => {
            Lookup::NoRecords(match picharness_simulators::dns::response_code_of(&e) {
                Some(ResponseCode::NoError) => "NOERROR with no answer".to_owned(),
                Some(code) => format!("{code:?}").to_uppercase(),
                None => e.to_string(),
            })
        }
        Err(e) => Lookup::NoAnswer(e.to_string()),
    }
}

async fn addresses(resolver: &TokioResolver, host: &str) -> Lookup<IpAddr> {
    let name = format!("{}.", host.trim_end_matches('.'));
    classify(
        resolver
            .lookup_ip(name.as_str())
            .await
            .map(|ips| ips.iter().collect()),
    )
}

async fn srv_records(resolver: &TokioResolver, name: &str) -> Lookup<SrvCandidate> {
    classify(resolver.srv_lookup(name).await.map(|lookup| {
        lookup
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::SRV(srv) => Some(SrvCandidate {
                    priority: srv.priority,
                    weight: srv.weight,
                    port: srv.port,
                    target: srv.target.to_string().trim_end_matches('.').to_owned(),
                }),
                _ => None,
            })
            .collect()
    }))
}

fn srv_listing(records: &[SrvCandidate]) -> String {
    let shown: Vec<String> = records
        .iter()
        .map(|r| format!("{} {} {} {}.", r.priority, r.weight, r.port, r.target))
        .collect();
    format!("[{}]", shown.join(", "))
}

/// Locates the Edge as `how` says, asking the DNS server at `dns`.
pub async fn locate_edge(
    how: LocateEdge,
    sut: &SutView,
    dns: SocketAddr,
    log: Option<DnsQueryLog>,
) -> Result<Located, LocateError> {
    let resolver =
        resolver_recorded(dns, false, log).map_err(|e: DnsError| LocateError::NoAnswer {
            reason: format!("cannot build a DNS resolver for {dns}: {e}"),
            notes: Vec::new(),
        })?;
    let mut notes = Vec::new();
    let hosts: Vec<(String, u16, String)> = match how {
        LocateEdge::Fqdn => vec![(
            sut.access_edge_fqdn.clone(),
            SIP_TLS_PORT,
            format!("the provisioned access-edge FQDN {}", sut.access_edge_fqdn),
        )],
        LocateEdge::Srv => {
            let name = format!("_sipfederationtls._tcp.{}.", sut.sip_domain);
            let records = match srv_records(&resolver, &name).await {
                Lookup::Records(records) => records,
                Lookup::NoRecords(why) => {
                    notes.push(format!("DNS {dns}: SRV {name} -> no records ({why})"));
                    return Err(LocateError::NotFound {
                        reason: format!("there is no SRV record for {name} ({why})"),
                        notes,
                    });
                }
                Lookup::NoAnswer(e) => {
                    notes.push(format!("DNS {dns}: SRV {name} -> no answer: {e}"));
                    return Err(LocateError::NoAnswer {
                        reason: format!(
                            "the DNS server at {dns} did not answer the SRV query for {name}: {e}"
                        ),
                        notes,
                    });
                }
            };
            notes.push(format!(
                "DNS {dns}: SRV {name} -> {}",
                srv_listing(&records)
            ));
            if SrvCandidate::says_unavailable(&records) {
                return Err(LocateError::NotFound {
                    reason: format!("SRV {name} says the service is not available (target \".\")"),
                    notes,
                });
            }
            let ordered = order_srv(&records, |total| rand::random_range(0..=total));
            notes.push(format!("RFC 2782 order: {}", srv_listing(&ordered)));
            ordered
                .into_iter()
                .map(|r| {
                    let why = format!("SRV {name} {}", srv_listing(std::slice::from_ref(&r)));
                    (r.target, r.port, why)
                })
                .collect()
        }
    };
    let mut candidates = Vec::new();
    let mut last_problem = None;
    for (host, port, why) in hosts {
        match addresses(&resolver, &host).await {
            Lookup::Records(ips) => {
                notes.push(format!(
                    "DNS {dns}: A/AAAA {host}. -> [{}] (from {why})",
                    ips.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                candidates.extend(ips.into_iter().map(|ip| EdgeCandidate {
                    address: SocketAddr::new(ip, port),
                    server_name: host.clone(),
                }));
            }
            Lookup::NoRecords(answer) => {
                notes.push(format!(
                    "DNS {dns}: A/AAAA {host}. -> no records ({answer})"
                ));
                last_problem = Some(LocateError::NotFound {
                    reason: format!("{host} does not resolve ({answer}); the name came from {why}"),
                    notes: Vec::new(),
                });
            }
            Lookup::NoAnswer(e) => {
                notes.push(format!("DNS {dns}: A/AAAA {host}. -> no answer: {e}"));
                last_problem = Some(LocateError::NoAnswer {
                    reason: format!(
                        "the DNS server at {dns} did not answer the address lookup of {host}: {e}"
                    ),
                    notes: Vec::new(),
                });
            }
        }
    }
    if candidates.is_empty() {
        return Err(match last_problem {
            Some(LocateError::NotFound { reason, .. }) => LocateError::NotFound { reason, notes },
            Some(LocateError::NoAnswer { reason, .. }) => LocateError::NoAnswer { reason, notes },
            None => LocateError::NotFound {
                reason: "DNS gave no target to try".into(),
                notes,
            },
        });
    }
    Ok(Located { candidates, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Profile {
        #[serde(default)]
        locate_edge: LocateEdge,
    }

    #[test]
    fn locate_edge_is_fqdn_unless_a_profile_says_srv() {
        let parse = |text: &str| toml::from_str::<Profile>(text).map(|p| p.locate_edge);
        assert_eq!(parse("").ok(), Some(LocateEdge::Fqdn));
        assert_eq!(parse("locate_edge = \"fqdn\"").ok(), Some(LocateEdge::Fqdn));
        assert_eq!(parse("locate_edge = \"srv\"").ok(), Some(LocateEdge::Srv));
        let err = parse("locate_edge = \"naptr\"").expect_err("unknown mode");
        assert!(err.to_string().contains("fqdn"), "{err}");
    }

    #[test]
    fn srv_records_are_listed_as_zone_file_rdata() {
        let records = [SrvCandidate {
            priority: 10,
            weight: 5,
            port: 5061,
            target: "sip.contoso.test".into(),
        }];
        assert_eq!(srv_listing(&records), "[10 5 5061 sip.contoso.test.]");
    }
}
