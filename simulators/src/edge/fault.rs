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
    /// Final error responses from the next hop are dropped instead of relayed.
    DropErrorResponses,
    /// Inbound requests for domains the enterprise does not serve are relayed (open relay).
    OpenRelay,
    /// OPTIONS addressed to the Edge itself get no answer.
    IgnoreOptions,
    /// The first OPTIONS each provider sends the Edge gets no answer; later
    /// ones do (a fault a retry hides, for `run --retries`).
    IgnoreFirstOptions,
    /// Double-CRLF keep-alive pings get no CRLF pong.
    NoKeepalivePong,
    /// The Edge refuses messages over 16 KiB, far below the 64 KiB it should take.
    SmallMessageLimit,
    /// The Edge takes messages of any size (up to 4 MiB) instead of refusing those over 64 KiB.
    NoMessageSizeLimit,
    /// The Edge forwards requests without removing its own Route entries (RFC 3261 §16.4).
    KeepOwnRoute,
    /// Responses are relayed with the Edge's own Via still on top.
    KeepViaOnResponse,
    /// Every request to a provider or the pool opens a new connection.
    NoConnectionReuse,
    /// A CANCEL is answered 200 but never passed on to the next hop.
    CancelNotForwarded,
    /// A non-2xx final response to an INVITE is relayed without the Edge
    /// sending the hop-by-hop ACK downstream.
    NoHopAck,
    /// The Edge's ACK for a non-2xx final response carries a new branch.
    HopAckNewBranch,
    /// The Edge's ACK for a non-2xx final response carries every Via of the INVITE.
    HopAckCopiesVias,
    /// Merged requests (the Call-ID, From tag and CSeq of a pending request,
    /// another branch, SIP-20) and requests whose Via already names the Edge
    /// are forwarded instead of refused with 482.
    NoLoopDetection,
    /// The Lync-only headers are missing: no ms-edge-proxy-message-trust inward, no ms-diagnostics on refusals.
    NoLyncHeaders,
    /// An ms-edge-proxy-message-trust header sent by a federation peer is passed inward untouched.
    PassThroughTrustHeader,
    /// A request whose next hop cannot be reached is never answered.
    SilentWhenNextHopDown,
    /// There is no `_sipfederationtls._tcp` SRV record.
    DnsSrvMissing,
    /// The SRV target is a name with no A or AAAA record.
    DnsTargetUnresolvable,
    /// The SRV target resolves to an address where the Edge does not answer.
    DnsTargetWrongAddress,
    /// The SUT's DNS answers over UDP only; TCP queries get no answer.
    DnsNoTcp,
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
    /// The Edge certificate has an RSA 1024 key (CERT-07: acceptable, with a warning).
    Rsa1024Cert,
    /// The Edge certificate is signed ecdsa-with-SHA1 (CERT-08: accepted, with a warning).
    Sha1SignedCert,
    /// The Edge certificate's SAN lacks the access-edge FQDN (the subject CN still holds it).
    SanMismatch,
    /// The Edge trusts a root it should not, the one the untrusted-issuer peer comes from.
    AcceptUntrustedPeer,
    /// The external listener refuses peers with RSA 1024 keys or SHA-1 signed certificates.
    RejectLegacyPeerCert,
    /// The Edge certificate's SAN lacks the name of one of the Edge's SIP domains.
    SanMissingSipDomain,
    /// The second Access Edge pool member's certificate lacks the clientAuth EKU.
    PoolMemberDifferentCert,
    /// Record-Route is inserted as a bare addr-spec, without angle brackets.
    RecordRouteAddrSpec,
    /// Record-Route URIs carry neither `transport=tls` nor the `sips` scheme.
    RecordRouteNoTransport,
    /// A 2xx to SUBSCRIBE is relayed with its Expires doubled.
    LengthenSubscription,
    /// A SUBSCRIBE with Expires: 0 is relayed with Expires: 3600.
    UnsubscribeAsRefresh,
    /// SUBSCRIBEs are relayed without their Event header.
    StripEvent,
    /// An in-dialog MESSAGE is relayed with CSeq 1.
    RenumberInDialog,
    /// An in-dialog MESSAGE is relayed with a Call-ID of its own.
    NewCallIdInDialog,
    /// An in-dialog MESSAGE is relayed with another To tag.
    RetagInDialog,
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
    /// The A/V Edge closes a TCP 443 connection that opens with the pseudo-TLS ClientHello.
    AvNoPseudoTls,
    /// On TCP 443 the A/V Edge keeps a connection open after an improperly formed MS-TURN message.
    AvMsTurnTcpKeepsMalformed,
    /// MS-TURN clients get no relaying (Send ignored, no Data Indications).
    AvMsTurnNoRelay,
    /// On TCP 443, MS-TURN Send requests and end-to-end data frames are ignored.
    AvMsTurnTcpNoRelay,
    /// Allocations never expire.
    AvNoExpiry,
    /// Allocate succeeds, but nothing the client sends is relayed (standard TURN).
    AvNoRelay,
    /// Relayed SDP bodies have the port of their first relayed candidate changed.
    SdpRewritten,
    /// Relayed PIDF NOTIFY bodies name another presentity in `entity`.
    PidfEntityRewritten,
    /// Connecting out, the provider's certificate need not name the FQDN connected to.
    NoOutboundNameCheck,
    /// Connecting out, the provider's chain may end in any root.
    AnyOutboundRoot,
    /// Connecting out, the provider's certificate may be expired or not yet valid.
    NoOutboundValidityCheck,
    /// Connecting out, the provider's certificate need not carry serverAuth.
    NoOutboundEkuCheck,
    /// A provider's certificate is never checked for revocation: no CRL is
    /// fetched and a revoked certificate is accepted, in both directions.
    NoRevocationCheck,
    /// A malformed request from outside is forwarded to the pool instead of answered 400.
    RelayMalformed,
    /// The Edge crashes (stops listening, drops every connection) on malformed input from outside.
    CrashOnMalformed,
    /// After malformed input from outside the Edge still accepts connections but serves no request.
    HangOnMalformed,
    /// At most 8 external connections may wait for their first complete
    /// message, with no handshake timeout: slow clients take every slot.
    ConnectionSlots,
    /// One external TLS handshake at a time, with no timeout.
    SerialisedHandshakes,
    /// Requests from outside wait while any external connection holds an
    /// incomplete message, with no timeout.
    BlockingReads,
    /// The Edge crashes when a connection from outside breaks on malformed
    /// TLS (an old ClientHello, a record that does not decrypt, an
    /// overlong record, a client chain of more than 10 certificates).
    CrashOnBadTls,
    /// The A/V Edge stops serving (UDP 3478 and TCP 443 close) on a STUN
    /// message that does not parse or ChannelData for an unbound channel.
    AvCrashOnBadInput,
    /// A request from outside that arrives while an earlier one from the same connection is
    /// still pending is dropped (CANCEL and ACK excepted): pipelined requests go unanswered.
    PipeliningDrops,
    /// An out-of-dialog request from outside is forwarded to the pool when its Route or
    /// Request-URI names the pool or the Edge's internal side, although its Request-URI is
    /// not for one of the enterprise's SIP domains.
    RouteInward,
}

impl Fault {
    pub const ALL: [Self; 86] = [
        Self::NoClientEku,
        Self::NoRecordRoute,
        Self::DnsSrvWrongPort,
        Self::DnsTargetNotInSan,
        Self::AcceptAnyDomain,
        Self::IgnoreMaxForwards,
        Self::DropErrorResponses,
        Self::OpenRelay,
        Self::IgnoreOptions,
        Self::IgnoreFirstOptions,
        Self::NoKeepalivePong,
        Self::SmallMessageLimit,
        Self::NoMessageSizeLimit,
        Self::KeepOwnRoute,
        Self::KeepViaOnResponse,
        Self::NoConnectionReuse,
        Self::CancelNotForwarded,
        Self::NoHopAck,
        Self::HopAckNewBranch,
        Self::HopAckCopiesVias,
        Self::NoLoopDetection,
        Self::NoLyncHeaders,
        Self::PassThroughTrustHeader,
        Self::SilentWhenNextHopDown,
        Self::DnsSrvMissing,
        Self::DnsTargetUnresolvable,
        Self::DnsTargetWrongAddress,
        Self::DnsNoTcp,
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
        Self::RejectLegacyPeerCert,
        Self::SanMissingSipDomain,
        Self::PoolMemberDifferentCert,
        Self::RecordRouteAddrSpec,
        Self::RecordRouteNoTransport,
        Self::LengthenSubscription,
        Self::UnsubscribeAsRefresh,
        Self::StripEvent,
        Self::RenumberInDialog,
        Self::NewCallIdInDialog,
        Self::RetagInDialog,
        Self::AvRelayOutOfRange,
        Self::AvNoTcp443,
        Self::AvWrongMappedAddress,
        Self::AvNoAuth,
        Self::AvRelayDropsInbound,
        Self::AvRelayLossy,
        Self::AvIgnoreUnknownAttributes,
        Self::AvMsTurnAcceptsNoCookie,
        Self::AvNoPseudoTls,
        Self::AvMsTurnTcpKeepsMalformed,
        Self::AvMsTurnNoRelay,
        Self::AvMsTurnTcpNoRelay,
        Self::AvNoExpiry,
        Self::AvNoRelay,
        Self::SdpRewritten,
        Self::PidfEntityRewritten,
        Self::Rsa1024Cert,
        Self::Sha1SignedCert,
        Self::NoOutboundNameCheck,
        Self::AnyOutboundRoot,
        Self::NoOutboundValidityCheck,
        Self::NoOutboundEkuCheck,
        Self::NoRevocationCheck,
        Self::RelayMalformed,
        Self::CrashOnMalformed,
        Self::HangOnMalformed,
        Self::ConnectionSlots,
        Self::SerialisedHandshakes,
        Self::BlockingReads,
        Self::CrashOnBadTls,
        Self::AvCrashOnBadInput,
        Self::PipeliningDrops,
        Self::RouteInward,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::NoClientEku => "no-client-eku",
            Self::NoRecordRoute => "no-record-route",
            Self::DnsSrvWrongPort => "dns-srv-wrong-port",
            Self::DnsTargetNotInSan => "dns-target-not-in-san",
            Self::AcceptAnyDomain => "accept-any-domain",
            Self::IgnoreMaxForwards => "ignore-max-forwards",
            Self::DropErrorResponses => "drop-error-responses",
            Self::OpenRelay => "open-relay",
            Self::IgnoreOptions => "ignore-options",
            Self::IgnoreFirstOptions => "ignore-first-options",
            Self::NoKeepalivePong => "no-keepalive-pong",
            Self::SmallMessageLimit => "small-message-limit",
            Self::NoMessageSizeLimit => "no-message-size-limit",
            Self::KeepOwnRoute => "keep-own-route",
            Self::KeepViaOnResponse => "keep-via-on-response",
            Self::NoConnectionReuse => "no-connection-reuse",
            Self::CancelNotForwarded => "cancel-not-forwarded",
            Self::NoHopAck => "no-hop-ack",
            Self::HopAckNewBranch => "hop-ack-new-branch",
            Self::HopAckCopiesVias => "hop-ack-copies-vias",
            Self::NoLoopDetection => "no-loop-detection",
            Self::NoLyncHeaders => "no-lync-headers",
            Self::PassThroughTrustHeader => "pass-through-trust-header",
            Self::SilentWhenNextHopDown => "silent-when-next-hop-down",
            Self::DnsSrvMissing => "dns-srv-missing",
            Self::DnsTargetUnresolvable => "dns-target-unresolvable",
            Self::DnsTargetWrongAddress => "dns-target-wrong-address",
            Self::DnsNoTcp => "dns-no-tcp",
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
            Self::RejectLegacyPeerCert => "reject-legacy-peer-cert",
            Self::SanMissingSipDomain => "san-missing-sip-domain",
            Self::PoolMemberDifferentCert => "pool-member-different-cert",
            Self::RecordRouteAddrSpec => "record-route-addr-spec",
            Self::RecordRouteNoTransport => "record-route-no-transport",
            Self::LengthenSubscription => "lengthen-subscription",
            Self::UnsubscribeAsRefresh => "unsubscribe-as-refresh",
            Self::StripEvent => "strip-event",
            Self::RenumberInDialog => "renumber-in-dialog",
            Self::NewCallIdInDialog => "new-call-id-in-dialog",
            Self::RetagInDialog => "retag-in-dialog",
            Self::AvRelayOutOfRange => "av-relay-out-of-range",
            Self::AvNoTcp443 => "av-no-tcp-443",
            Self::AvWrongMappedAddress => "av-wrong-mapped-address",
            Self::AvNoAuth => "av-no-auth",
            Self::AvRelayDropsInbound => "av-relay-drops-inbound",
            Self::AvRelayLossy => "av-relay-lossy",
            Self::AvIgnoreUnknownAttributes => "av-ignore-unknown-attributes",
            Self::AvMsTurnAcceptsNoCookie => "av-msturn-accepts-no-cookie",
            Self::AvNoPseudoTls => "av-no-pseudo-tls",
            Self::AvMsTurnTcpKeepsMalformed => "av-msturn-tcp-keeps-malformed",
            Self::AvMsTurnNoRelay => "av-msturn-no-relay",
            Self::AvMsTurnTcpNoRelay => "av-msturn-tcp-no-relay",
            Self::AvNoExpiry => "av-no-expiry",
            Self::AvNoRelay => "av-no-relay",
            Self::SdpRewritten => "sdp-rewritten",
            Self::PidfEntityRewritten => "pidf-entity-rewritten",
            Self::Rsa1024Cert => "rsa-1024-cert",
            Self::Sha1SignedCert => "sha1-signed-cert",
            Self::NoOutboundNameCheck => "no-outbound-name-check",
            Self::AnyOutboundRoot => "any-outbound-root",
            Self::NoOutboundValidityCheck => "no-outbound-validity-check",
            Self::NoOutboundEkuCheck => "no-outbound-eku-check",
            Self::NoRevocationCheck => "no-revocation-check",
            Self::RelayMalformed => "relay-malformed",
            Self::CrashOnMalformed => "crash-on-malformed",
            Self::HangOnMalformed => "hang-on-malformed",
            Self::ConnectionSlots => "connection-slots",
            Self::SerialisedHandshakes => "serialised-handshakes",
            Self::BlockingReads => "blocking-reads",
            Self::CrashOnBadTls => "crash-on-bad-tls",
            Self::AvCrashOnBadInput => "av-crash-on-bad-input",
            Self::PipeliningDrops => "pipelining-drops",
            Self::RouteInward => "route-inward",
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
            Self::DropErrorResponses => {
                "Edge drops 4xx-6xx final responses from the next hop instead of relaying them"
            }
            Self::OpenRelay => {
                "Edge relays inbound requests addressed to domains it does not serve"
            }
            Self::IgnoreOptions => "Edge never answers OPTIONS addressed to itself",
            Self::IgnoreFirstOptions => {
                "Edge ignores the first OPTIONS each provider sends it and answers later ones (a flaky fault: a retry passes)"
            }
            Self::NoKeepalivePong => {
                "Edge does not answer a double-CRLF keep-alive ping with a CRLF pong"
            }
            Self::SmallMessageLimit => "Edge refuses SIP messages over 16 KiB instead of 64 KiB",
            Self::NoMessageSizeLimit => "Edge accepts and forwards SIP messages of any size",
            Self::KeepOwnRoute => {
                "Edge forwards in-dialog requests without removing its own Route entries"
            }
            Self::KeepViaOnResponse => {
                "Edge relays responses without removing its own Via (RFC 3261 §16.7 step 3)"
            }
            Self::NoConnectionReuse => {
                "Edge opens a new TLS connection for every request instead of reusing the open one"
            }
            Self::CancelNotForwarded => {
                "Edge answers a CANCEL with 200 but never cancels the INVITE downstream"
            }
            Self::HopAckCopiesVias => {
                "Edge's own ACK for a non-2xx final response carries every Via of the INVITE, the previous hops' too (SIP-18, RFC 3261 §17.1.1.3)"
            }
            Self::HopAckNewBranch => {
                "Edge's own ACK for a non-2xx final response carries a new branch instead of the INVITE's (SIP-18, RFC 3261 §17.1.1.3)"
            }
            Self::NoHopAck => {
                "Edge relays a non-2xx final response to INVITE without ACKing it downstream"
            }
            Self::NoLoopDetection => {
                "Edge forwards a merged request (Call-ID, From tag and CSeq of a pending one, new branch) instead of answering 482"
            }
            Self::NoLyncHeaders => {
                "Edge adds no ms-edge-proxy-message-trust inward and no ms-diagnostics to refusals (lync)"
            }
            Self::PassThroughTrustHeader => {
                "Edge passes a peer's own ms-edge-proxy-message-trust header to the pool (lync)"
            }
            Self::SilentWhenNextHopDown => {
                "Edge never answers a request whose next hop (pool or provider) cannot be reached"
            }
            Self::DnsSrvMissing => "no _sipfederationtls._tcp SRV record is published",
            Self::DnsTargetUnresolvable => {
                "_sipfederationtls._tcp SRV target (the bare SIP domain, named in the certificate) has no A or AAAA record"
            }
            Self::DnsTargetWrongAddress => {
                "_sipfederationtls._tcp SRV target resolves to an address where the Edge does not answer"
            }
            Self::DnsNoTcp => "the SUT's DNS answers over UDP only; queries over TCP get no answer",
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
            Self::RejectLegacyPeerCert => {
                "external listener verifies peers with webpki's defaults, refusing RSA 1024 keys and SHA-1 signatures that Lync 2013 accepts"
            }
            Self::SanMissingSipDomain => {
                "Edge certificate's SAN lacks sip.<domain> for the Edge's additional SIP domain"
            }
            Self::PoolMemberDifferentCert => {
                "the second Access Edge pool member presents a certificate without the clientAuth EKU (same names)"
            }
            Self::RecordRouteAddrSpec => {
                "Edge inserts Record-Route without <>, so lr and transport become header parameters"
            }
            Self::StripEvent => {
                "Edge relays SUBSCRIBEs without their Event header, so Lync cannot tell the event package asked for (PRES-01)"
            }
            Self::RenumberInDialog => {
                "Edge relays a MESSAGE inside an IM session with CSeq 1, so the dialog's CSeq no longer increases (IM-05)"
            }
            Self::NewCallIdInDialog => {
                "Edge relays a MESSAGE inside an IM session with a Call-ID of its own, so it leaves the INVITE's dialog (IM-05)"
            }
            Self::RetagInDialog => {
                "Edge relays a MESSAGE inside an IM session with another To tag, so it no longer names the dialog's tag (IM-05)"
            }
            Self::UnsubscribeAsRefresh => {
                "Edge relays a SUBSCRIBE with Expires: 0 as Expires: 3600, so the unsubscribe reaches the notifier as a refresh (PRES-06)"
            }
            Self::LengthenSubscription => {
                "Edge relays a 2xx to SUBSCRIBE with its Expires doubled, longer than the subscriber asked (PRES-02)"
            }
            Self::RecordRouteNoTransport => {
                "Edge's Record-Route URIs carry neither transport=tls nor sips (FED-06 asks for one)"
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
            Self::AvNoPseudoTls => {
                "A/V Edge closes a TCP 443 connection that opens with the MS-TURN pseudo-TLS ClientHello"
            }
            Self::AvMsTurnTcpKeepsMalformed => {
                "A/V Edge keeps a TCP 443 connection open after an MS-TURN message without the leading Magic Cookie attribute"
            }
            Self::AvMsTurnNoRelay => {
                "A/V Edge ignores MS-TURN Send requests and never sends Data Indications (no relaying for MS-TURN clients)"
            }
            Self::AvMsTurnTcpNoRelay => {
                "A/V Edge ignores MS-TURN Send requests and end-to-end data frames on TCP 443 (no relaying over TCP)"
            }
            Self::AvNoExpiry => {
                "A/V Edge allocations never expire: a relay keeps forwarding past its granted lifetime"
            }
            Self::AvNoRelay => {
                "A/V Edge grants standard TURN allocations but relays nothing the client sends (Send indications and ChannelData are dropped)"
            }
            Self::PidfEntityRewritten => {
                "Edge rewrites the entity of PIDF bodies in the NOTIFYs it relays, so they name another presentity (PRES-05)"
            }
            Self::SdpRewritten => {
                "Edge rewrites the port of the first relayed ICE candidate in the SDP of INVITEs and 2xx answers it relays"
            }
            Self::AvIgnoreUnknownAttributes => {
                "A/V Edge ignores unknown comprehension-required STUN attributes instead of answering 420"
            }
            Self::Rsa1024Cert => {
                "Edge certificate has an RSA 1024 key (acceptable under CERT-07, flagged as a warning; the 2013 peers talk to it)"
            }
            Self::Sha1SignedCert => {
                "Edge certificate is signed ecdsa-with-SHA1 (accepted under CERT-08, flagged as a warning; the 2013 peers talk to it)"
            }
            Self::NoOutboundNameCheck => {
                "connecting out to a provider, the Edge does not check that the server's certificate names the provider's FQDN"
            }
            Self::AnyOutboundRoot => {
                "connecting out to a provider, the Edge accepts a server certificate chaining to any root"
            }
            Self::NoOutboundValidityCheck => {
                "connecting out to a provider, the Edge accepts an expired or not yet valid server certificate"
            }
            Self::NoOutboundEkuCheck => {
                "connecting out to a provider, the Edge accepts a server certificate without the serverAuth EKU"
            }
            Self::NoRevocationCheck => {
                "the Edge never fetches the CRL at a provider certificate's distribution point and accepts a revoked certificate, connecting in or out"
            }
            Self::RelayMalformed => {
                "Edge forwards a malformed request from outside to the pool instead of answering 400 (robustness)"
            }
            Self::CrashOnMalformed => {
                "Edge crashes on malformed input from outside: it stops listening and drops every connection (robustness)"
            }
            Self::HangOnMalformed => {
                "after malformed input from outside the Edge accepts connections but serves no request (robustness)"
            }
            Self::ConnectionSlots => {
                "the external listener lets at most 8 connections wait for their first complete message, with no handshake timeout, so idle, silent or slow clients take every slot (robustness)"
            }
            Self::SerialisedHandshakes => {
                "the external listener runs one TLS handshake at a time with no timeout, so a client that stalls its handshake blocks every other (robustness)"
            }
            Self::AvCrashOnBadInput => {
                "the A/V Edge stops serving (UDP 3478 and TCP 443 close) on a STUN message that does not parse or ChannelData for a channel nobody bound (robustness)"
            }
            Self::CrashOnBadTls => {
                "the Edge crashes when a connection from outside breaks on malformed TLS: an old-protocol ClientHello, a record that does not decrypt, an overlong record, a client chain of more than 10 certificates (robustness)"
            }
            Self::BlockingReads => {
                "requests from outside wait while any external connection holds an incomplete message, with no timeout, so one slow sender stalls every peer (robustness)"
            }
            Self::PipeliningDrops => {
                "a request from outside that arrives while an earlier one on its connection is pending is dropped (CANCEL, ACK excepted): pipelined requests go unanswered (robustness)"
            }
            Self::RouteInward => {
                "an out-of-dialog request from outside whose Route or Request-URI names the pool or the Edge's internal side is forwarded to the pool although it is not for an enterprise SIP domain (robustness)"
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
