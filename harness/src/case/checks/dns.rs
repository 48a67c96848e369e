//! The DNS-summary checks (`edge.dns.*`): one property of the SUT's
//! federation DNS each — the `_sipfederationtls._tcp` SRV record exists,
//! points at 5061, its target resolves, the target is named in the Edge's
//! certificate, the target's address is where the Edge answers, and the
//! same answers come back over TCP. Every failing reason lists the records
//! the DNS server returned. A check whose precondition (an earlier property)
//! does not hold is inconclusive and names the case that judges it.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::rr::RData;
use hickory_resolver::net::NetError;
use picharness_simulators::dns::DnsResolver;
use picharness_simulators::dns::{resolver_recorded, response_code_of};

use super::{ServerProbe, federation_srv_name, probe_server_certificate};
use crate::case::execute::CaseRun;
use crate::case::outcome::Outcome;
use crate::scenario::Actor;
use crate::topology::SIP_TLS_PORT;

/// How long the address check waits for a TCP connection to be accepted.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// One SRV record as the DNS server returned it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SrvSeen {
    pub(crate) priority: u16,
    pub(crate) weight: u16,
    pub(crate) port: u16,
    /// Without the trailing dot.
    pub(crate) target: String,
}

impl fmt::Display for SrvSeen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}.",
            self.priority, self.weight, self.port, self.target
        )
    }
}

/// What the DNS server said about one name and type.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer<T> {
    Records(Vec<T>),
    /// An answer without records (NXDOMAIN, or NOERROR with none); the text
    /// says which.
    NoRecords(String),
}

impl<T: fmt::Display> Answer<T> {
    fn listing(&self) -> String {
        match self {
            Self::Records(records) => format!(
                "[{}]",
                records
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::NoRecords(why) => format!("no records ({why})"),
        }
    }
}

/// Which transport a lookup used, for notes and reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
        })
    }
}

/// A failed lookup that got no DNS answer at all (timeout, connection
/// closed): the text of the error.
struct NoAnswer(String);

fn no_records_text(e: &NetError) -> String {
    match response_code_of(e) {
        Some(hickory_proto::op::ResponseCode::NoError) => "NOERROR with no answer".to_owned(),
        Some(code) => format!("{code:?}").to_uppercase(),
        None => e.to_string(),
    }
}

/// Lookups over one transport; their notes go to the case transcript when
/// [`Lookups::flush`] is called.
struct Lookups {
    resolver: DnsResolver,
    transport: Transport,
    dns: SocketAddr,
    notes: Vec<String>,
}

impl Lookups {
    fn new(run: &CaseRun<'_>, transport: Transport) -> Result<Self, Outcome> {
        let dns = run.topology.dns_server;
        let log = run.topology.dns_client_log.clone();
        let built = resolver_recorded(dns, transport == Transport::Tcp, log);
        let resolver = built
            .map_err(|e| Outcome::error(format!("cannot build a DNS resolver for {dns}: {e}")))?;
        Ok(Self {
            resolver,
            transport,
            dns,
            notes: Vec::new(),
        })
    }

    fn flush(&mut self, run: &mut CaseRun<'_>) {
        for note in self.notes.drain(..) {
            run.note(note);
        }
    }

    async fn srv(&mut self, name: &str) -> Result<Answer<SrvSeen>, NoAnswer> {
        let (dns, transport) = (self.dns, self.transport);
        let answer = match self.resolver.srv_lookup(name).await {
            Ok(lookup) => {
                let mut records: Vec<SrvSeen> = lookup
                    .answers()
                    .iter()
                    .filter_map(|record| match &record.data {
                        RData::SRV(srv) => Some(SrvSeen {
                            priority: srv.priority,
                            weight: srv.weight,
                            port: srv.port,
                            target: srv.target.to_string().trim_end_matches('.').to_owned(),
                        }),
                        _ => None,
                    })
                    .collect();
                records.sort();
                if records.is_empty() {
                    Answer::NoRecords("NOERROR with no SRV answer".to_owned())
                } else {
                    Answer::Records(records)
                }
            }
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => {
                Answer::NoRecords(no_records_text(&e))
            }
            Err(e) => {
                self.notes.push(format!(
                    "DNS {dns} over {transport}: SRV {name} -> no answer: {e}"
                ));
                return Err(NoAnswer(e.to_string()));
            }
        };
        self.notes.push(format!(
            "DNS {dns} over {transport}: SRV {name} -> {}",
            answer.listing()
        ));
        Ok(answer)
    }

    async fn addresses(&mut self, host: &str) -> Result<Answer<IpAddr>, NoAnswer> {
        let (dns, transport) = (self.dns, self.transport);
        let name = format!("{host}.");
        let answer = match self.resolver.lookup_ip(name.as_str()).await {
            Ok(ips) => {
                let mut list: Vec<IpAddr> = ips.iter().collect();
                list.sort();
                if list.is_empty() {
                    Answer::NoRecords("NOERROR with no A or AAAA answer".to_owned())
                } else {
                    Answer::Records(list)
                }
            }
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => {
                Answer::NoRecords(no_records_text(&e))
            }
            Err(e) => {
                self.notes.push(format!(
                    "DNS {dns} over {transport}: A/AAAA {name} -> no answer: {e}"
                ));
                return Err(NoAnswer(e.to_string()));
            }
        };
        self.notes.push(format!(
            "DNS {dns} over {transport}: A/AAAA {name} -> {}",
            answer.listing()
        ));
        Ok(answer)
    }
}

/// One SRV lookup over `transport`, noted in the transcript.
async fn srv_over(
    run: &mut CaseRun<'_>,
    transport: Transport,
    name: &str,
) -> Result<Result<Answer<SrvSeen>, NoAnswer>, Outcome> {
    let mut lookups = Lookups::new(run, transport)?;
    let answer = lookups.srv(name).await;
    lookups.flush(run);
    Ok(answer)
}

/// One address lookup over `transport`, noted in the transcript.
async fn addresses_over(
    run: &mut CaseRun<'_>,
    transport: Transport,
    host: &str,
) -> Result<Result<Answer<IpAddr>, NoAnswer>, Outcome> {
    let mut lookups = Lookups::new(run, transport)?;
    let answer = lookups.addresses(host).await;
    lookups.flush(run);
    Ok(answer)
}

fn srv_no_answer(run: &CaseRun<'_>, name: &str, e: &NoAnswer) -> Outcome {
    Outcome::inconclusive(format!(
        "the DNS server at {} did not answer the SRV query for {name}: {}",
        run.topology.dns_server, e.0
    ))
}

/// The federation SRV records over UDP; no records is inconclusive for
/// every check but `dns-srv-exists` (which judges that).
async fn required_srv(run: &mut CaseRun<'_>) -> Result<Vec<SrvSeen>, Outcome> {
    let name = federation_srv_name(run);
    let answer = srv_over(run, Transport::Udp, &name).await?;
    match answer {
        Ok(Answer::Records(records)) => Ok(records),
        Ok(Answer::NoRecords(why)) => Err(Outcome::inconclusive(format!(
            "there is no SRV record for {name} ({why}), so this property cannot be judged; edge.dns.srv-exists judges that"
        ))),
        Err(e) => Err(srv_no_answer(run, &name, &e)),
    }
}

fn listing(records: &[SrvSeen]) -> String {
    Answer::Records(records.to_vec()).listing()
}

/// The distinct targets, in record order.
fn targets(records: &[SrvSeen]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in records {
        if !out.iter().any(|t| t.eq_ignore_ascii_case(&r.target)) {
            out.push(r.target.clone());
        }
    }
    out
}

/// `dns-srv-exists`: `_sipfederationtls._tcp.<sip domain>` has an SRV record.
pub(crate) async fn srv_exists(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let name = federation_srv_name(run);
    let answer = srv_over(run, Transport::Udp, &name).await?;
    match answer {
        Ok(Answer::Records(_)) => Ok(()),
        Ok(Answer::NoRecords(why)) => Err(Outcome::fail(format!(
            "there is no SRV record for {name}: the DNS server at {} answered {why}",
            run.topology.dns_server
        ))),
        Err(e) => Err(srv_no_answer(run, &name, &e)),
    }
}

/// `dns-srv-port`: every federation SRV record points at port 5061.
pub(crate) async fn srv_port(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let name = federation_srv_name(run);
    let records = required_srv(run).await?;
    if let Some(wrong) = records.iter().find(|r| r.port != SIP_TLS_PORT) {
        return Err(Outcome::fail(format!(
            "SRV {name} points at {}:{}, not port {SIP_TLS_PORT}; SRV records: {}",
            wrong.target,
            wrong.port,
            listing(&records)
        )));
    }
    Ok(())
}

/// `dns-srv-target-resolves`: every SRV target has an A or AAAA record.
pub(crate) async fn srv_target_resolves(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let records = required_srv(run).await?;
    let dns = run.topology.dns_server;
    for target in targets(&records) {
        let answer = addresses_over(run, Transport::Udp, &target).await?;
        match answer {
            Ok(Answer::Records(_)) => {}
            Ok(Answer::NoRecords(why)) => {
                return Err(Outcome::fail(format!(
                    "SRV target {target} does not resolve: the DNS server at {dns} answered {why} for its A/AAAA records; SRV records: {}",
                    listing(&records)
                )));
            }
            Err(e) => {
                return Err(Outcome::inconclusive(format!(
                    "the DNS server at {dns} did not answer the address lookup of {target}: {}",
                    e.0
                )));
            }
        }
    }
    Ok(())
}

/// `dns-srv-target-address`: every address of every SRV target is the one
/// the Edge answers on, and a TCP connection to it on 5061 is accepted.
pub(crate) async fn srv_target_address(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let records = required_srv(run).await?;
    let dns = run.topology.dns_server;
    let edge = run.topology.sut.external;
    for target in targets(&records) {
        let answer = addresses_over(run, Transport::Udp, &target).await?;
        let addresses = match answer {
            Ok(Answer::Records(addresses)) => addresses,
            Ok(Answer::NoRecords(why)) => {
                return Err(Outcome::inconclusive(format!(
                    "SRV target {target} has no address ({why}), so there is no address to compare; edge.dns.srv-target-resolves judges that"
                )));
            }
            Err(e) => {
                return Err(Outcome::inconclusive(format!(
                    "the DNS server at {dns} did not answer the address lookup of {target}: {}",
                    e.0
                )));
            }
        };
        let shown = Answer::Records(addresses.clone()).listing();
        for address in addresses {
            let probe = SocketAddr::new(address, SIP_TLS_PORT);
            let wait = CONNECT_TIMEOUT.min(run.time_left());
            let connected = match picharness_simulators::destinations::check_destination(probe) {
                Err(refused) => Err(refused.to_string()),
                Ok(()) => {
                    match tokio::time::timeout(wait, tokio::net::TcpStream::connect(probe)).await {
                        Ok(Ok(_)) => Ok(()),
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(_) => Err(format!("no answer within {} ms", wait.as_millis())),
                    }
                }
            };
            run.note(format!(
                "TCP connect to {probe}: {}",
                connected
                    .as_ref()
                    .map_or_else(Clone::clone, |()| "accepted".to_owned())
            ));
            if address != edge.ip() {
                let what = match &connected {
                    Ok(()) => "something else accepted the connection there".to_owned(),
                    Err(e) => format!("nothing accepted a connection on {probe}: {e}"),
                };
                return Err(Outcome::fail(format!(
                    "SRV target {target} resolves to {shown}, but the Edge answers on {edge} ({what}); SRV records: {}",
                    listing(&records)
                )));
            }
            if let Err(e) = connected {
                return Err(Outcome::fail(format!(
                    "SRV target {target} resolves to the Edge's address {address}, but the Edge did not accept a connection on {probe}: {e}"
                )));
            }
        }
    }
    Ok(())
}

/// `dns-over-tcp`: over TCP the DNS server gives the same SRV records, and
/// the same addresses for each target, as over UDP.
pub(crate) async fn over_tcp(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let name = federation_srv_name(run);
    let dns = run.topology.dns_server;
    let udp_srv = required_srv(run).await?;
    let tcp_srv = srv_over(run, Transport::Tcp, &name).await?;
    let tcp_srv = tcp_srv.map_err(|e| {
        Outcome::fail(format!(
            "over TCP the DNS server at {dns} did not answer the SRV query for {name} ({}); over UDP it answered {}",
            e.0,
            listing(&udp_srv)
        ))
    })?;
    let udp_answer = Answer::Records(udp_srv.clone());
    if tcp_srv != udp_answer {
        return Err(Outcome::fail(format!(
            "over TCP SRV {name} returned {} but over UDP {}",
            tcp_srv.listing(),
            udp_answer.listing()
        )));
    }
    for target in targets(&udp_srv) {
        let udp = addresses_over(run, Transport::Udp, &target).await?;
        let Ok(udp) = udp else {
            return Err(Outcome::inconclusive(format!(
                "the DNS server at {dns} did not answer the address lookup of {target} over UDP, so there is nothing to compare"
            )));
        };
        let tcp = addresses_over(run, Transport::Tcp, &target).await?;
        let tcp = tcp.map_err(|e| {
            Outcome::fail(format!(
                "over TCP the DNS server at {dns} did not answer the address lookup of {target} ({}); over UDP it answered {}",
                e.0,
                udp.listing()
            ))
        })?;
        if tcp != udp {
            return Err(Outcome::fail(format!(
                "over TCP {target} resolves to {} but over UDP to {}",
                tcp.listing(),
                udp.listing()
            )));
        }
    }
    Ok(())
}

/// `dns-srv-target-in-san` (run by a peer): every SRV target is a DNS name
/// in the certificate the Edge presents on its federation port.
pub(crate) async fn srv_target_in_san(run: &mut CaseRun<'_>, actor: &Actor) -> Result<(), Outcome> {
    let records = required_srv(run).await?;
    let wanted = targets(&records);
    let remote = run.topology.sut.external;
    // The peer names the first target, as a peer that found it by SRV would.
    let server_name = wanted
        .first()
        .cloned()
        .unwrap_or_else(|| run.topology.sut.access_edge_fqdn.clone());
    let ServerProbe { summary, .. } = probe_server_certificate(run, actor, &server_name, |e| {
        Outcome::inconclusive(format!(
            "the Edge at {remote} presented no certificate to compare the SRV target with: {e}"
        ))
    })
    .await?;
    run.note(format!(
        "Edge certificate SAN dNSNames: [{}]",
        summary.dns_names.join(", ")
    ));
    for target in &wanted {
        if !summary
            .dns_names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(target))
        {
            return Err(Outcome::fail(format!(
                "the SRV target {target} is not in the Edge certificate's SAN [{}]; SRV records: {}",
                summary.dns_names.join(", "),
                listing(&records)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn srv(priority: u16, port: u16, target: &str) -> SrvSeen {
        SrvSeen {
            priority,
            weight: 0,
            port,
            target: target.to_owned(),
        }
    }

    #[test]
    fn records_are_listed_as_zone_file_rdata() {
        let records = vec![srv(0, 5061, "sip.contoso.test"), srv(10, 5062, "b.test")];
        assert_eq!(
            listing(&records),
            "[0 0 5061 sip.contoso.test., 10 0 5062 b.test.]"
        );
        let none: Answer<SrvSeen> = Answer::NoRecords("NXDOMAIN".into());
        assert_eq!(none.listing(), "no records (NXDOMAIN)");
    }

    #[test]
    fn targets_are_distinct_in_record_order() {
        let records = vec![
            srv(0, 5061, "a.test"),
            srv(1, 5061, "B.test"),
            srv(2, 5061, "A.TEST"),
        ];
        assert_eq!(targets(&records), ["a.test", "B.test"]);
    }
}
