//! The reference Edge's revocation check of a provider's certificate, in
//! both directions: after the TLS handshake with a provider (connecting
//! in or out), the Edge reads the leaf's CRL distribution point, fetches
//! the CRL over HTTP from its external address (PORT-09), keeps it for a
//! short while, and drops the connection before any SIP when the CRL,
//! verified against the Edge's trusted roots, lists the leaf.
//!
//! Soft fail: a certificate without an http:// distribution point, a CRL
//! that cannot be fetched (no answer, an error status, a timeout) or read,
//! or a chain the check cannot verify leaves the certificate accepted, as
//! the handshake already judged it. That is what Windows calls "revocation
//! offline": CryptoAPI reports it apart from "revoked", and whether it is
//! fatal is the application's choice; how Lync 2013 chooses is not
//! documented in what this project cites, so the reference Edge takes the
//! side that keeps a down CRL server from failing every other case.
//!
//! The `no-revocation-check` fault switch turns all of this off.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, ServerName, UnixTime};

use crate::dns::DnsResolver;
use crate::http::{HttpUrl, fetch};
use crate::tls::{describe_certificate, lync2013_verification_provider};

/// How long a fetched CRL (or a failed fetch) is used before fetching again.
const CACHE_FOR: Duration = Duration::from_secs(10);
/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest CRL the Edge reads.
const MAX_CRL_BYTES: usize = 1024 * 1024;
/// The User-Agent of the Edge's CRL fetches.
const USER_AGENT: &str = "picharness-reference-edge";

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Revocation {
    /// Checking is off (`no-revocation-check`).
    NotChecked,
    /// The leaf names no http:// CRL distribution point.
    NoDistributionPoint,
    /// The CRL at `url` does not list the leaf.
    Good { url: String },
    /// The CRL at `url` lists the leaf.
    Revoked { url: String },
    /// The status could not be learnt (soft fail: accepted).
    Unknown { url: String, why: String },
}

/// Which side of the handshake the provider was on.
#[derive(Debug, Clone, Copy)]
pub(super) enum PeerRole<'a> {
    /// A provider that connected in (its certificate is a client certificate).
    Client,
    /// The provider the Edge connected out to, by this name.
    Server(&'a str),
}

type Fetched = Result<CertificateRevocationListDer<'static>, String>;

/// The Edge's CRL cache and how it fetches.
pub(super) struct RevocationChecker {
    enabled: bool,
    roots: Arc<RootCertStore>,
    local_ip: IpAddr,
    cache: tokio::sync::Mutex<HashMap<String, (Instant, Fetched)>>,
}

impl RevocationChecker {
    pub(super) fn new(enabled: bool, roots: RootCertStore, local_ip: IpAddr) -> Self {
        Self {
            enabled,
            roots: Arc::new(roots),
            local_ip,
            cache: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Checks the leaf of `chain` (leaf first) against its CRL.
    pub(super) async fn check(
        &self,
        chain: &[CertificateDer<'static>],
        role: PeerRole<'_>,
        resolver: &DnsResolver,
    ) -> Revocation {
        if !self.enabled {
            return Revocation::NotChecked;
        }
        let Some(leaf) = chain.first() else {
            return Revocation::NoDistributionPoint;
        };
        let Some(url) = describe_certificate(leaf).ok().and_then(|s| {
            s.crl_distribution_points
                .into_iter()
                .find(|u| u.len() > 7 && u[..7].eq_ignore_ascii_case("http://"))
        }) else {
            return Revocation::NoDistributionPoint;
        };
        let crl = match self.crl(&url, resolver).await {
            Ok(crl) => crl,
            Err(why) => return Revocation::Unknown { url, why },
        };
        match self.verify(chain, role, crl) {
            Ok(()) => Revocation::Good { url },
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Revoked)) => {
                Revocation::Revoked { url }
            }
            Err(e) => Revocation::Unknown {
                url,
                why: format!("the chain could not be checked against the CRL: {e}"),
            },
        }
    }

    /// The CRL at `url`, from the cache while it is fresh.
    async fn crl(&self, url: &str, resolver: &DnsResolver) -> Fetched {
        let mut cache = self.cache.lock().await;
        if let Some((at, fetched)) = cache.get(url)
            && at.elapsed() < CACHE_FOR
        {
            return fetched.clone();
        }
        let fetched = self.fetch(url, resolver).await;
        cache.insert(url.to_owned(), (Instant::now(), fetched.clone()));
        fetched
    }

    async fn fetch(&self, url: &str, resolver: &DnsResolver) -> Fetched {
        let parsed = HttpUrl::parse(url).map_err(|e| e.to_string())?;
        let ip = match parsed.host.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => resolver
                .lookup_ip(parsed.host.as_str())
                .await
                .map_err(|e| format!("DNS lookup of {} failed: {e}", parsed.host))?
                .iter()
                .next()
                .ok_or_else(|| format!("DNS lookup of {} returned no address", parsed.host))?,
        };
        let local = (ip.is_ipv4() == self.local_ip.is_ipv4()).then_some(self.local_ip);
        let response = fetch(
            &parsed,
            SocketAddr::new(ip, parsed.port),
            local,
            FETCH_TIMEOUT,
            MAX_CRL_BYTES,
            USER_AGENT,
        )
        .await
        .map_err(|e| e.to_string())?;
        if response.status != 200 {
            return Err(format!("{url} answered HTTP {}", response.status));
        }
        Ok(CertificateRevocationListDer::from(response.body))
    }

    /// Verifies `chain` with `crl` as the only revocation information.
    fn verify(
        &self,
        chain: &[CertificateDer<'static>],
        role: PeerRole<'_>,
        crl: CertificateRevocationListDer<'static>,
    ) -> Result<(), rustls::Error> {
        let provider = lync2013_verification_provider();
        let (leaf, intermediates) = chain
            .split_first()
            .ok_or(rustls::Error::NoCertificatesPresented)?;
        let now = UnixTime::now();
        let builder_error = |e: rustls::client::VerifierBuilderError| {
            rustls::Error::General(format!("revocation verifier: {e}"))
        };
        match role {
            PeerRole::Client => {
                WebPkiClientVerifier::builder_with_provider(self.roots.clone(), provider)
                    .with_crls([crl])
                    .only_check_end_entity_revocation()
                    .allow_unknown_revocation_status()
                    .build()
                    .map_err(builder_error)?
                    .verify_client_cert(leaf, intermediates, now)
                    .map(|_| ())
            }
            PeerRole::Server(name) => {
                let name = ServerName::try_from(name.to_owned())
                    .map_err(|e| rustls::Error::General(format!("server name {name:?}: {e}")))?;
                WebPkiServerVerifier::builder_with_provider(self.roots.clone(), provider)
                    .with_crls([crl])
                    .only_check_end_entity_revocation()
                    .allow_unknown_revocation_status()
                    .build()
                    .map_err(builder_error)?
                    .verify_server_cert(leaf, intermediates, &name, &[], now)
                    .map(|_| ())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{CrlResponder, HttpLog};
    use crate::pki::{LeafSpec, TestPki};
    use std::net::Ipv4Addr;

    const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    async fn responder() -> CrlResponder {
        CrlResponder::start(SocketAddr::new(LOCAL, 0), HttpLog::default())
            .await
            .expect("responder")
    }

    fn resolver() -> DnsResolver {
        crate::dns::resolver(SocketAddr::new(LOCAL, 9)).expect("resolver")
    }

    fn gets(responder: &CrlResponder) -> usize {
        responder
            .log()
            .requests()
            .iter()
            .filter(|r| r.method == "GET")
            .count()
    }

    #[tokio::test]
    async fn a_revoked_certificate_is_found_both_ways_and_the_crl_kept_briefly() {
        let pki = TestPki::generate("edge-revocation").expect("pki");
        let server = responder().await;
        let revoked = pki
            .issue_revoked("sip.yahoo.com", &server.url("/crl/r.crl"))
            .expect("issue");
        server.publish("/crl/r.crl", &revoked.crl);
        let checker = RevocationChecker::new(true, pki.root_store(), LOCAL);
        let chain = &revoked.identity.chain;
        let expected = Revocation::Revoked {
            url: server.url("/crl/r.crl"),
        };
        assert_eq!(
            checker.check(chain, PeerRole::Client, &resolver()).await,
            expected
        );
        assert_eq!(
            checker
                .check(chain, PeerRole::Server("sip.yahoo.com"), &resolver())
                .await,
            expected
        );
        assert_eq!(gets(&server), 1, "the second check used the cached CRL");
        let request = &server.log().requests()[0];
        assert_eq!(
            request.client.ip(),
            LOCAL,
            "fetched from the Edge's address"
        );
        assert_eq!(request.user_agent.as_deref(), Some(USER_AGENT));

        // Another certificate with the same distribution point is good.
        let mut spec = LeafSpec::federation("sip.oscar.aol.com", &["sip.oscar.aol.com"]);
        spec.crl_distribution_point = Some(server.url("/crl/r.crl"));
        let good = pki.issue(&spec).expect("issue");
        assert_eq!(
            checker
                .check(&good.chain, PeerRole::Client, &resolver())
                .await,
            Revocation::Good {
                url: server.url("/crl/r.crl")
            }
        );
    }

    #[tokio::test]
    async fn without_a_crl_the_certificate_is_accepted_as_unknown() {
        let pki = TestPki::generate("edge-soft-fail").expect("pki");
        let server = responder().await;
        let checker = RevocationChecker::new(true, pki.root_store(), LOCAL);
        // Not published: 404.
        let missing = pki
            .issue_revoked("sip.yahoo.com", &server.url("/crl/none.crl"))
            .expect("issue");
        let status = checker
            .check(&missing.identity.chain, PeerRole::Client, &resolver())
            .await;
        assert!(
            matches!(&status, Revocation::Unknown { why, .. } if why.contains("HTTP 404")),
            "{status:?}"
        );
        // Nobody listening: refused at once.
        let address = server.address();
        drop(server);
        tokio::task::yield_now().await;
        let down = pki
            .issue_revoked("sip.yahoo.com", &format!("http://{address}/crl/down.crl"))
            .expect("issue");
        let status = checker
            .check(&down.identity.chain, PeerRole::Client, &resolver())
            .await;
        assert!(matches!(status, Revocation::Unknown { .. }), "{status:?}");
        // A CRL that is not a CRL.
        let junk_server = responder().await;
        junk_server.publish(
            "/crl/junk.crl",
            &CertificateRevocationListDer::from(b"not a CRL".to_vec()),
        );
        let junk = pki
            .issue_revoked("sip.yahoo.com", &junk_server.url("/crl/junk.crl"))
            .expect("issue");
        let status = checker
            .check(&junk.identity.chain, PeerRole::Client, &resolver())
            .await;
        assert!(matches!(status, Revocation::Unknown { .. }), "{status:?}");
    }

    #[tokio::test]
    async fn no_distribution_point_and_the_fault_fetch_nothing() {
        let pki = TestPki::generate("edge-no-cdp").expect("pki");
        let server = responder().await;
        let checker = RevocationChecker::new(true, pki.root_store(), LOCAL);
        let plain = pki
            .issue(&LeafSpec::federation("sip.yahoo.com", &["sip.yahoo.com"]))
            .expect("issue");
        assert_eq!(
            checker
                .check(&plain.chain, PeerRole::Client, &resolver())
                .await,
            Revocation::NoDistributionPoint
        );
        let revoked = pki
            .issue_revoked("sip.yahoo.com", &server.url("/crl/r.crl"))
            .expect("issue");
        server.publish("/crl/r.crl", &revoked.crl);
        let off = RevocationChecker::new(false, pki.root_store(), LOCAL);
        assert_eq!(
            off.check(&revoked.identity.chain, PeerRole::Client, &resolver())
                .await,
            Revocation::NotChecked
        );
        assert_eq!(gets(&server), 0);
    }
}
