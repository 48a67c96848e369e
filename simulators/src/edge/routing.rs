//! The reference Edge's proxy decisions, sans-IO: given a request, the side
//! it arrived on and the provider the peer certificate identified, decide
//! whether to answer it or where to forward it and with which changes
//! (RFC 3261 §16.3 to §16.6).

use std::net::IpAddr;

use picharness_wire::sip::{NameAddr, SipMessage, SipUri};

use super::fault::{Fault, FaultSet};
use super::variant::{Variant, VariantSet};

/// Which listener a request arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The Internet side: federation peers.
    External,
    /// The enterprise side: the internal pool.
    Internal,
}

/// A provider the Edge federates with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRoute {
    pub name: String,
    /// The provider's federation FQDN (its ProxyFqdn), found through DNS.
    pub fqdn: String,
    /// The SIP domains this provider owns.
    pub domains: Vec<String>,
}

/// Where a forwarded request goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Pool,
    Provider(String),
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Answer it with this status; `warning` explains a refusal.
    Respond {
        status: u16,
        reason: &'static str,
        warning: Option<String>,
    },
    /// Answer an OPTIONS addressed to the Edge itself with 200 and its capabilities.
    AnswerOptions,
    /// Say nothing (a fault, or an ACK that ends here).
    Ignore,
    /// Send this (already rewritten) request to the target. `stateless`
    /// requests (ACK) expect no response.
    Forward {
        target: Target,
        request: SipMessage,
        stateless: bool,
    },
}

/// What the Edge knows to make routing decisions.
#[derive(Debug, Clone)]
pub struct RoutingPolicy {
    pub sip_domain: String,
    /// Further SIP domains of the enterprise, routed to the pool like `sip_domain`.
    pub additional_domains: Vec<String>,
    pub external_fqdn: String,
    pub internal_fqdn: String,
    /// The internal pool's FQDN (the host of Lync users' contacts).
    pub pool_fqdn: String,
    pub providers: Vec<ProviderRoute>,
    pub faults: FaultSet,
    /// Who has sent the Edge an OPTIONS (fault `ignore-first-options`).
    pub options_seen: OptionsSeen,
    /// Conformant differences switched on for this run.
    pub variants: VariantSet,
    /// The external and internal listeners' addresses: Via and Record-Route
    /// carry them under the `addresses` variant, and Route entries naming
    /// them are the Edge's own.
    pub external_ip: IpAddr,
    pub internal_ip: IpAddr,
}

/// The providers (by name; the internal side as `""`) that have sent the
/// Edge an OPTIONS, shared by every clone of the policy.
#[derive(Debug, Clone, Default)]
pub struct OptionsSeen(std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>);

impl OptionsSeen {
    /// Records an OPTIONS from `sender`; true when it is its first.
    fn first_from(&self, sender: Option<&str>) -> bool {
        self.0
            .lock()
            .map(|mut seen| seen.insert(sender.unwrap_or_default().to_owned()))
            .unwrap_or(false)
    }
}

/// Methods the reference Edge advertises in Allow.
pub(crate) const ALLOWED_METHODS: &str =
    "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, SUBSCRIBE, NOTIFY, INFO";

const DEFAULT_MAX_FORWARDS: u32 = 70;

/// The header with which a Lync Edge tells the pool where a request came from.
pub(crate) const TRUST_HEADER: &str = "ms-edge-proxy-message-trust";

fn uri_host(uri: &str) -> Option<String> {
    SipUri::parse(uri).ok().map(|u| u.host)
}

fn from_domain(request: &SipMessage) -> Option<String> {
    let from = request.headers.first("from")?;
    uri_host(&NameAddr::parse(from)?.uri)
}

fn has_to_tag(request: &SipMessage) -> bool {
    request
        .headers
        .first("to")
        .and_then(NameAddr::parse)
        .is_some_and(|to| to.tag().is_some())
}

/// What makes two requests "the same request" for merge detection (RFC
/// 3261 §8.2.2.2): Call-ID, From tag and CSeq, for a request with no To tag
/// that is neither ACK nor CANCEL (those share the CSeq of their INVITE).
pub(crate) fn merge_key(request: &SipMessage) -> Option<(String, String, String)> {
    if has_to_tag(request) || matches!(request.method(), Some("ACK" | "CANCEL") | None) {
        return None;
    }
    let call_id = request.headers.first("call-id")?.trim().to_owned();
    let from_tag = request
        .headers
        .first("from")
        .and_then(NameAddr::parse)
        .and_then(|from| from.tag().map(str::to_owned))?;
    let cseq = request
        .headers
        .first("cseq")?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    Some((call_id, from_tag, cseq))
}

impl RoutingPolicy {
    /// The provider whose federation FQDN a peer certificate names.
    pub fn provider_by_fqdn(&self, names: &[String]) -> Option<&ProviderRoute> {
        self.providers
            .iter()
            .find(|p| names.iter().any(|n| n.eq_ignore_ascii_case(&p.fqdn)))
    }

    fn provider_owning(&self, domain: &str) -> Option<&ProviderRoute> {
        self.providers
            .iter()
            .find(|p| p.domains.iter().any(|d| d.eq_ignore_ascii_case(domain)))
    }

    /// How the Edge names itself on `side` in Via and Record-Route: its
    /// FQDN, or its address under the `addresses` variant.
    fn host_of(&self, side: Side) -> String {
        match (side, self.variants.has(Variant::Addresses)) {
            (Side::External, false) => self.external_fqdn.clone(),
            (Side::Internal, false) => self.internal_fqdn.clone(),
            (Side::External, true) => self.external_ip.to_string(),
            (Side::Internal, true) => self.internal_ip.to_string(),
        }
    }

    fn is_edge_host(&self, host: &str) -> bool {
        host.eq_ignore_ascii_case(&self.external_fqdn)
            || host.eq_ignore_ascii_case(&self.internal_fqdn)
            || host == self.external_ip.to_string()
            || host == self.internal_ip.to_string()
    }

    /// Whether `host` is one of the enterprise's SIP domains.
    fn is_enterprise_domain(&self, host: &str) -> bool {
        host.eq_ignore_ascii_case(&self.sip_domain)
            || self
                .additional_domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(host))
    }

    /// Where a host (a Request-URI or Route host) leads: the pool for the
    /// enterprise's own domain or pool FQDN, a provider for its federation
    /// FQDN or one of its domains.
    fn target_for_host(&self, host: &str) -> Option<Target> {
        // The route-inward fault takes the Edge's internal name for the
        // pool's.
        let internal_name =
            self.faults.has(Fault::RouteInward) && host.eq_ignore_ascii_case(&self.internal_fqdn);
        if self.is_enterprise_domain(host)
            || host.eq_ignore_ascii_case(&self.pool_fqdn)
            || internal_name
        {
            return Some(Target::Pool);
        }
        self.providers
            .iter()
            .find(|p| {
                p.fqdn.eq_ignore_ascii_case(host)
                    || p.domains.iter().any(|d| d.eq_ignore_ascii_case(host))
            })
            .map(|p| Target::Provider(p.name.clone()))
    }

    /// Whether a Via of the request was put there by this Edge (a loop,
    /// RFC 3261 §16.3 item 4).
    fn names_edge_in_via(&self, request: &SipMessage) -> bool {
        request.headers.values("via").iter().any(|via| {
            via.split_whitespace()
                .nth(1)
                .and_then(|sent_by| sent_by.split([';', ':']).next())
                .is_some_and(|host| self.is_edge_host(host))
        })
    }

    /// Lync's inward trust marking: the Edge removes whatever a peer claims
    /// and states the source itself (PublicCloud for a PIC provider).
    fn mark_trust(&self, request: &mut SipMessage, peer_provider: Option<&str>) {
        if !self.faults.has(Fault::PassThroughTrustHeader) {
            request.headers.remove_all(TRUST_HEADER);
        }
        if !self.faults.has(Fault::NoLyncHeaders) {
            let provider = peer_provider.unwrap_or("unknown");
            request.headers.prepend(
                TRUST_HEADER,
                format!(
                    "ms-source-type=AuthorizedServer;ms-ep-fqdn={};ms-source-network=PublicCloud;ms-source-provider={provider}",
                    self.external_fqdn
                ),
            );
        }
    }

    /// Removes the Route values that name this Edge from the top of the
    /// Route set (RFC 3261 §16.4) and returns the host of the next Route
    /// value, if any remains.
    fn pop_own_routes(&self, request: &mut SipMessage) -> Option<String> {
        loop {
            let values = request.headers.values("route");
            let first = values.first()?;
            let host = NameAddr::parse(first).and_then(|n| uri_host(&n.uri))?;
            if !self.is_edge_host(&host) {
                return Some(host);
            }
            if self.faults.has(Fault::KeepOwnRoute) {
                // The faulty Edge routes past its own entries but leaves them in.
                return values
                    .iter()
                    .filter_map(|v| NameAddr::parse(v).and_then(|n| uri_host(&n.uri)))
                    .find(|h| !self.is_edge_host(h));
            }
            request.headers.pop_first_value("route");
        }
    }

    /// Decides what to do with `request`, which arrived on `side` from a
    /// peer whose certificate identified `peer_provider` (external side
    /// only). `branch` is the fresh Via branch to use when forwarding.
    pub fn route(
        &self,
        side: Side,
        peer_provider: Option<&str>,
        mut request: SipMessage,
        branch: &str,
    ) -> Decision {
        let refuse = |status, reason, warning: String| Decision::Respond {
            status,
            reason,
            warning: Some(warning),
        };
        let is_ack = request.method() == Some("ACK");
        let ignore_max_forwards = self.faults.has(Fault::IgnoreMaxForwards);
        let max_forwards = match request.headers.first("max-forwards") {
            None => DEFAULT_MAX_FORWARDS,
            Some(text) => match text.trim().parse::<u32>() {
                Ok(n) => n,
                Err(_) => {
                    return refuse(
                        400,
                        "Bad Request",
                        format!("Max-Forwards {text:?} is not a number"),
                    );
                }
            },
        };
        let Some(request_host) = request.request_uri().and_then(uri_host) else {
            return refuse(
                416,
                "Unsupported URI Scheme",
                "Request-URI is not a SIP URI".to_owned(),
            );
        };
        let addressed_to_edge = self.is_edge_host(&request_host)
            && request.headers.count("route") == 0
            && request
                .request_uri()
                .and_then(|u| SipUri::parse(u).ok())
                .is_some_and(|u| u.user.is_none());
        if addressed_to_edge {
            return match request.method() {
                Some("OPTIONS") if self.faults.has(Fault::IgnoreOptions) => Decision::Ignore,
                Some("OPTIONS")
                    if self.faults.has(Fault::IgnoreFirstOptions)
                        && self.options_seen.first_from(peer_provider) =>
                {
                    Decision::Ignore
                }
                Some("OPTIONS") => Decision::AnswerOptions,
                Some("ACK") => Decision::Ignore,
                _ => refuse(
                    405,
                    "Method Not Allowed",
                    "only OPTIONS is answered by the Edge itself".to_owned(),
                ),
            };
        }
        if self.names_edge_in_via(&request) && !self.faults.has(Fault::NoLoopDetection) {
            if is_ack {
                return Decision::Ignore;
            }
            return refuse(
                482,
                "Loop Detected",
                "the request already passed through this Edge".to_owned(),
            );
        }
        if max_forwards == 0 && !ignore_max_forwards {
            if is_ack {
                return Decision::Ignore;
            }
            return Decision::Respond {
                status: 483,
                reason: "Too Many Hops",
                warning: None,
            };
        }
        if side == Side::External {
            let by_certificate =
                peer_provider.and_then(|name| self.providers.iter().find(|p| p.name == name));
            // The accept-any-peer-name fault trusts the From domain when the
            // certificate names no provider.
            let by_from_domain = || {
                from_domain(&request)
                    .filter(|_| self.faults.has(Fault::AcceptAnyPeerName))
                    .and_then(|domain| self.provider_owning(&domain))
            };
            let Some(provider) = by_certificate.or_else(by_from_domain) else {
                return refuse(
                    403,
                    "Forbidden",
                    "peer certificate names no federated provider".to_owned(),
                );
            };
            let sender_domain = from_domain(&request).unwrap_or_default();
            let owns_sender = provider
                .domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&sender_domain));
            if !owns_sender && !self.faults.has(Fault::AcceptAnyDomain) {
                return refuse(
                    403,
                    "Forbidden",
                    format!(
                        "domain {sender_domain} is not federated through provider {}",
                        provider.name
                    ),
                );
            }
        }
        let in_dialog = has_to_tag(&request);
        let next_host = self
            .pop_own_routes(&mut request)
            .unwrap_or_else(|| request_host.clone());
        let Some(target) = self.target_for_host(&next_host) else {
            return refuse(
                403,
                "Forbidden",
                format!("domain {next_host} is not federated"),
            );
        };
        let allowed = match (side, &target) {
            (Side::External, Target::Pool) | (Side::Internal, Target::Provider(_)) => true,
            (Side::External, Target::Provider(_)) => self.faults.has(Fault::OpenRelay),
            (Side::Internal, Target::Pool) => false,
        };
        if !allowed {
            return refuse(
                403,
                "Forbidden",
                format!("domain {next_host} is not served here"),
            );
        }
        // FED-14: from outside, only a request for one of the enterprise's
        // own SIP domains goes inward. A Route, or a Request-URI, naming
        // the pool is no way in for anything else.
        if side == Side::External
            && !in_dialog
            && target == Target::Pool
            && !self.is_enterprise_domain(&request_host)
            && !self.faults.has(Fault::RouteInward)
        {
            return refuse(
                403,
                "Forbidden",
                format!("{request_host} is not one of this enterprise's SIP domains"),
            );
        }
        if !ignore_max_forwards {
            request
                .headers
                .set("Max-Forwards", (max_forwards.max(1) - 1).to_string());
        }
        let egress = match target {
            Target::Pool => Side::Internal,
            Target::Provider(_) => Side::External,
        };
        if !in_dialog && !is_ack && !self.faults.has(Fault::NoRecordRoute) {
            // RFC 5658 double record-routing: the value facing the next hop
            // ends up on top.
            // The fault writes the URI as a bare addr-spec, which RFC 3261
            // §20.30/§20.34 forbid: its ;lr and ;transport then belong to
            // the header, not the URI.
            let (open, close) = if self.faults.has(Fault::RecordRouteAddrSpec) {
                ("", "")
            } else {
                ("<", ">")
            };
            let transport = if self.faults.has(Fault::RecordRouteNoTransport) {
                ""
            } else {
                ";transport=tls"
            };
            request.headers.prepend(
                "Record-Route",
                format!("{open}sip:{}:5061{transport};lr{close}", self.host_of(side)),
            );
            request.headers.prepend(
                "Record-Route",
                format!(
                    "{open}sip:{}:5061{transport};lr{close}",
                    self.host_of(egress)
                ),
            );
        }
        if side == Side::External && target == Target::Pool {
            self.mark_trust(&mut request, peer_provider);
        }
        request.headers.prepend(
            "Via",
            format!("SIP/2.0/TLS {}:5061;branch={branch}", self.host_of(egress)),
        );
        Decision::Forward {
            target,
            request,
            stateless: is_ack,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(faults: FaultSet) -> RoutingPolicy {
        RoutingPolicy {
            sip_domain: "contoso.test".into(),
            additional_domains: vec!["northwind.test".into()],
            external_fqdn: "sip.contoso.test".into(),
            internal_fqdn: "edge-int.contoso.test".into(),
            pool_fqdn: "pool.contoso.test".into(),
            providers: vec![ProviderRoute {
                name: "messenger".into(),
                fqdn: "federation.messenger.msn.com".into(),
                domains: vec!["hotmail.com".into(), "msn.com".into()],
            }],
            faults,
            options_seen: OptionsSeen::default(),
            variants: VariantSet::default(),
            external_ip: IpAddr::from([127, 80, 0, 10]),
            internal_ip: IpAddr::from([127, 80, 0, 11]),
        }
    }

    fn inbound(from_domain: &str, max_forwards: u32) -> SipMessage {
        let text = format!(
            "MESSAGE sip:bob@contoso.test SIP/2.0\r\nVia: SIP/2.0/TLS peer;branch=z9hG4bKa\r\n\
             Max-Forwards: {max_forwards}\r\nFrom: <sip:al@{from_domain}>;tag=1\r\nTo: <sip:bob@contoso.test>\r\n\
             Call-ID: c\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n"
        );
        SipMessage::parse(text.as_bytes()).expect("test message parses")
    }

    #[test]
    fn merge_key_is_call_id_from_tag_and_cseq_of_requests_without_to_tag() {
        let a = inbound("hotmail.com", 70);
        let key = merge_key(&a).expect("a MESSAGE without To tag has a merge key");
        assert_eq!(
            key,
            ("c".to_owned(), "1".to_owned(), "1 MESSAGE".to_owned())
        );
        let mut other_branch = a.clone();
        other_branch
            .headers
            .set("Via", "SIP/2.0/TLS peer;branch=z9hG4bKb");
        assert_eq!(merge_key(&other_branch), Some(key));
        let mut in_dialog = a.clone();
        in_dialog.headers.set("To", "<sip:bob@contoso.test>;tag=9");
        assert_eq!(merge_key(&in_dialog), None);
        let cancel = SipMessage::parse(
            b"CANCEL sip:bob@contoso.test SIP/2.0\r\nVia: SIP/2.0/TLS p;branch=z9hG4bKa\r\nFrom: <sip:al@hotmail.com>;tag=1\r\nTo: <sip:bob@contoso.test>\r\nCall-ID: c\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n",
        )
        .expect("parses");
        assert_eq!(merge_key(&cancel), None);
    }

    #[test]
    fn inbound_from_owned_domain_goes_to_pool_with_record_route() {
        let d = policy(FaultSet::default()).route(
            Side::External,
            Some("messenger"),
            inbound("hotmail.com", 70),
            "z9hG4bKx",
        );
        let Decision::Forward {
            target, request, ..
        } = d
        else {
            panic!("expected forward, got {d:?}")
        };
        assert_eq!(target, Target::Pool);
        assert_eq!(request.headers.first("max-forwards"), Some("69"));
        assert_eq!(
            request.headers.values("record-route"),
            vec![
                "<sip:edge-int.contoso.test:5061;transport=tls;lr>",
                "<sip:sip.contoso.test:5061;transport=tls;lr>"
            ]
        );
        assert_eq!(request.top_via_branch(), Some("z9hG4bKx"));
    }

    #[test]
    fn addresses_variant_names_the_edge_by_address_and_knows_its_own_routes() {
        let mut policy = policy(FaultSet::default());
        policy.variants = VariantSet::new([Variant::Addresses]);
        let d = policy.route(
            Side::External,
            Some("messenger"),
            inbound("hotmail.com", 70),
            "z9hG4bKx",
        );
        let Decision::Forward { request, .. } = d else {
            panic!("expected forward, got {d:?}")
        };
        assert_eq!(
            request.headers.values("record-route"),
            vec![
                "<sip:127.80.0.11:5061;transport=tls;lr>",
                "<sip:127.80.0.10:5061;transport=tls;lr>"
            ]
        );
        assert_eq!(
            request.headers.first("via"),
            Some("SIP/2.0/TLS 127.80.0.11:5061;branch=z9hG4bKx")
        );
        assert!(policy.is_edge_host("127.80.0.10"));
    }

    #[test]
    fn unidentified_peer_is_refused_unless_faulty() {
        let d = policy(FaultSet::default()).route(
            Side::External,
            None,
            inbound("hotmail.com", 70),
            "b",
        );
        assert!(matches!(d, Decision::Respond { status: 403, .. }), "{d:?}");
        let d = policy(FaultSet::new([Fault::AcceptAnyPeerName])).route(
            Side::External,
            None,
            inbound("hotmail.com", 70),
            "b",
        );
        assert!(
            matches!(
                d,
                Decision::Forward {
                    target: Target::Pool,
                    ..
                }
            ),
            "{d:?}"
        );
    }

    #[test]
    fn unowned_domain_is_refused_unless_faulty() {
        let d = policy(FaultSet::default()).route(
            Side::External,
            Some("messenger"),
            inbound("evil.example", 70),
            "b",
        );
        assert!(matches!(d, Decision::Respond { status: 403, .. }));
        let d = policy(FaultSet::new([Fault::AcceptAnyDomain])).route(
            Side::External,
            Some("messenger"),
            inbound("evil.example", 70),
            "b",
        );
        assert!(matches!(d, Decision::Forward { .. }));
    }

    #[test]
    fn max_forwards_zero_is_483_unless_faulty() {
        let d = policy(FaultSet::default()).route(
            Side::External,
            Some("messenger"),
            inbound("hotmail.com", 0),
            "b",
        );
        assert!(matches!(d, Decision::Respond { status: 483, .. }));
        let d = policy(FaultSet::new([Fault::IgnoreMaxForwards])).route(
            Side::External,
            Some("messenger"),
            inbound("hotmail.com", 0),
            "b",
        );
        assert!(matches!(d, Decision::Forward { .. }));
    }

    #[test]
    fn no_record_route_fault_omits_it() {
        let d = policy(FaultSet::new([Fault::NoRecordRoute])).route(
            Side::External,
            Some("messenger"),
            inbound("hotmail.com", 70),
            "b",
        );
        let Decision::Forward { request, .. } = d else {
            panic!("expected forward")
        };
        assert_eq!(request.headers.count("record-route"), 0);
    }

    #[test]
    fn record_route_addr_spec_fault_drops_the_angle_brackets() {
        for (faults, bracketed) in [
            (FaultSet::default(), true),
            (FaultSet::new([Fault::RecordRouteAddrSpec]), false),
        ] {
            let d = policy(faults).route(
                Side::External,
                Some("messenger"),
                inbound("hotmail.com", 70),
                "b",
            );
            let Decision::Forward { request, .. } = d else {
                panic!("expected forward")
            };
            let values = request.headers.values("record-route");
            assert_eq!(values.len(), 2);
            assert!(
                values.iter().all(|v| v.starts_with('<') == bracketed),
                "{values:?}"
            );
        }
    }

    #[test]
    fn record_route_no_transport_fault_drops_transport_tls() {
        for (faults, secure) in [
            (FaultSet::default(), true),
            (FaultSet::new([Fault::RecordRouteNoTransport]), false),
        ] {
            let d = policy(faults).route(
                Side::External,
                Some("messenger"),
                inbound("hotmail.com", 70),
                "b",
            );
            let Decision::Forward { request, .. } = d else {
                panic!("expected forward")
            };
            let values = request.headers.values("record-route");
            assert_eq!(values.len(), 2);
            assert!(
                values
                    .iter()
                    .all(|v| v.contains(";transport=tls") == secure),
                "{values:?}"
            );
        }
    }

    #[test]
    fn internal_request_to_provider_domain_goes_to_provider() {
        let text = "MESSAGE sip:al@hotmail.com SIP/2.0\r\nFrom: <sip:bob@contoso.test>;tag=1\r\nTo: <sip:al@hotmail.com>\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n";
        let m = SipMessage::parse(text.as_bytes()).expect("parses");
        let d = policy(FaultSet::default()).route(Side::Internal, None, m, "b");
        assert!(
            matches!(d, Decision::Forward { target: Target::Provider(ref p), .. } if p == "messenger")
        );
    }
}
