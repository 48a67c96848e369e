//! TLS for the simulated peers and the reference Edge, with capture.
//!
//! rustls (aws-lc-rs provider only) builds the client and server configs. The
//! certificate verifiers wrap the standard webpki ones so that every chain a
//! peer presents is recorded ([`ChainRecorder`]), accepted or not, and so the
//! server side can apply the harness's own clientAuth EKU policy (webpki
//! treats "no EKU extension" as any purpose). [`RecordingStream`] sits under
//! tokio-rustls and records the ciphertext with timestamps into a
//! [`ConnectionRecord`]; [`KeyLogCollector`] keeps the NSS key log lines that
//! let Wireshark decrypt it. [`connect_tls`] and [`accept_tls`] put these
//! together (TCP_NODELAY on, handshake under a timeout).
//!
//! Every connection does a full handshake: the client does not resume and the
//! server neither stores sessions nor issues tickets, so every peer chain is
//! verified and recorded on every connection.
//!
//! Gotcha: in TLS 1.3 the client finishes its handshake before the server has
//! checked the client certificate. A server that rejects the client's
//! certificate makes [`connect_tls`] succeed; the alert arrives on the first
//! read. Use [`tls_error_of`] / [`alert_of`] on that read error.

mod accept_any;
mod capture;
pub mod capture_cap;
mod describe;
mod legacy_verify;
mod overlook;
#[cfg(test)]
mod tests;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{NoServerSessionStorage, ParsedCertificate, WebPkiClientVerifier};
use rustls::sign::SingleCertAndKey;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, ExtendedKeyPurpose,
    RootCertStore, ServerConfig, SignatureScheme,
};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;
use tokio_rustls::{TlsAcceptor, TlsConnector};

pub use capture::{
    ChainRecorder, ConnectionRecord, KeyLogCollector, RecordedChain, RecordingStream, TcpRole,
};
pub use describe::{CertificateSummary, chain_to_pem, der_to_pem, describe_certificate};
pub use legacy_verify::lync2013_verification_provider;
pub use overlook::{OverlookedChecks, ServerCheck};

use crate::pki::CertifiedKey;

/// Errors from setting up TLS or connecting.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The local address could not be bound.
    #[error("cannot bind local address {local}: {source}")]
    Bind {
        local: SocketAddr,
        #[source]
        source: io::Error,
    },
    /// The remote refused the TCP connection (RST).
    #[error("TCP connection to {remote} refused")]
    ConnectRefused { remote: SocketAddr },
    /// The TCP connection failed for another reason.
    #[error("TCP connection to {remote} failed: {source}")]
    Connect {
        remote: SocketAddr,
        #[source]
        source: io::Error,
    },
    /// A stage did not finish in time.
    #[error("timed out after {after:?} during {stage}")]
    Timeout {
        stage: &'static str,
        after: Duration,
    },
    /// The TLS handshake failed. `tls_error` is the rustls error when there
    /// is one (for example an alert we received, or why our verifier
    /// rejected the peer's certificate).
    #[error("TLS handshake with {peer} failed: {message}")]
    Handshake {
        peer: SocketAddr,
        message: String,
        tls_error: Option<rustls::Error>,
    },
    /// The configuration does not name the destination; nothing was sent.
    #[error("{0}")]
    Refused(#[from] crate::destinations::RefusedDestination),
    /// The server name is neither a DNS name nor an IP address.
    #[error("invalid TLS server name {0:?}")]
    InvalidServerName(String),
    /// The configuration could not be built (no trust anchors, bad key, ...).
    #[error("TLS configuration error: {0}")]
    Config(String),
    /// A certificate could not be parsed.
    #[error("certificate error: {0}")]
    Certificate(String),
    /// A socket operation failed.
    #[error("socket error: {0}")]
    Io(#[from] io::Error),
}

/// The certificate chain the other side of a finished handshake presented,
/// leaf first (empty when it presented none).
pub fn presented_chain(connection: &rustls::CommonState) -> Vec<CertificateDer<'static>> {
    connection
        .peer_certificates()
        .map(|chain| chain.iter().map(|der| der.clone().into_owned()).collect())
        .unwrap_or_default()
}

/// Installs aws-lc-rs as the process-wide rustls provider. Harmless if a
/// provider is already installed. (The configs built here name their provider
/// explicitly, so they work without this; other code may not.)
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The rustls error inside an I/O error from a tokio-rustls stream, if any.
pub fn tls_error_of(err: &io::Error) -> Option<&rustls::Error> {
    err.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

/// The TLS alert the peer sent, if that is what this I/O error is.
pub fn alert_of(err: &io::Error) -> Option<rustls::AlertDescription> {
    match tls_error_of(err) {
        Some(rustls::Error::AlertReceived(alert)) => Some(*alert),
        _ => None,
    }
}

/// How the server side asks for client certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMode {
    /// A client certificate is required and must chain to `client_roots`.
    /// With `require_client_auth_eku`, the leaf must also carry an EKU
    /// extension that lists clientAuth (a leaf without EKU is rejected).
    /// Without it, a leaf whose EKU lacks clientAuth is accepted as long as
    /// the chain is otherwise valid.
    Required { require_client_auth_eku: bool },
    /// A certificate is requested; a client without one is let in, a client
    /// with one must present a valid chain (EKU not enforced).
    Optional,
    /// Like `Optional`, but a client that presents a certificate must also
    /// have clientAuth in its EKU (the reference Edge's
    /// `accept-no-client-cert` fault: only the "no certificate" rule breaks).
    OptionalRequiringClientAuthEku,
    /// No certificate is requested.
    None,
    /// A certificate is required but never judged: any issuer, validity
    /// window or EKU is let in (only the handshake signature is checked).
    /// The reference Edge's `accept-any-client-cert` fault.
    AnyCertificate,
}

/// Which TLS versions a server config speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersions {
    /// TLS 1.2 and 1.3 (rustls's safe defaults).
    Tls12And13,
    /// TLS 1.2 only.
    Tls12Only,
    /// TLS 1.3 only.
    Tls13Only,
}

impl TlsVersions {
    fn list(self) -> &'static [&'static rustls::SupportedProtocolVersion] {
        static TLS12: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS12];
        static TLS13: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
        match self {
            Self::Tls12And13 => rustls::DEFAULT_VERSIONS,
            Self::Tls12Only => &TLS12,
            Self::Tls13Only => &TLS13,
        }
    }
}

/// What [`server_config`] needs.
#[derive(Debug, Clone)]
pub struct ServerTlsOptions {
    /// Our certificate chain and key.
    pub identity: Arc<CertifiedKey>,
    /// Trust anchors for client certificates.
    pub client_roots: RootCertStore,
    /// Client certificate policy.
    pub client_auth: ClientAuthMode,
    /// Where TLS secrets go.
    pub key_log: Arc<KeyLogCollector>,
    /// Where presented client chains go.
    pub chains: ChainRecorder,
    /// Which signatures client certificates and handshakes may use.
    pub peer_signatures: PeerSignatures,
}

/// The signature algorithms a server accepts from its TLS clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeerSignatures {
    /// webpki's defaults with aws-lc-rs: RSA keys of 2048 bits and more, no
    /// SHA-1.
    #[default]
    Modern,
    /// Those plus what Lync 2013 takes: handshake signatures from RSA keys
    /// of 1024 bits and more (CERT-07) and ecdsa-with-SHA1 certificates
    /// (CERT-08); see `legacy_verify`.
    Lync2013,
}

/// What [`client_config`] needs.
#[derive(Debug, Clone)]
pub struct ClientTlsOptions {
    /// Our client certificate, if we present one.
    pub identity: Option<Arc<CertifiedKey>>,
    /// Trust anchors for the server certificate.
    pub server_roots: RootCertStore,
    /// Where TLS secrets go.
    pub key_log: Arc<KeyLogCollector>,
    /// Where presented server chains go.
    pub chains: ChainRecorder,
}

/// Builds a server config (TLS 1.2 and 1.3, aws-lc-rs defaults).
pub fn server_config(opts: ServerTlsOptions) -> Result<Arc<ServerConfig>, TlsError> {
    server_config_with_versions(opts, TlsVersions::Tls12And13)
}

/// Builds a server config that speaks only `versions`.
pub fn server_config_with_versions(
    opts: ServerTlsOptions,
    versions: TlsVersions,
) -> Result<Arc<ServerConfig>, TlsError> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions.list())
        .map_err(|e| TlsError::Config(e.to_string()))?;
    // The provider whose algorithms judge client certificates.
    let provider = match opts.peer_signatures {
        PeerSignatures::Modern => provider(),
        PeerSignatures::Lync2013 => lync2013_verification_provider(),
    };
    let builder = match opts.client_auth {
        ClientAuthMode::None => builder.with_no_client_auth(),
        ClientAuthMode::AnyCertificate => {
            builder.with_client_cert_verifier(Arc::new(accept_any::AcceptAnyClientVerifier {
                provider,
                chains: opts.chains,
            }))
        }
        ClientAuthMode::Required { .. }
        | ClientAuthMode::Optional
        | ClientAuthMode::OptionalRequiringClientAuthEku => {
            let roots = Arc::new(opts.client_roots);
            let mut vb =
                WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone());
            if matches!(
                opts.client_auth,
                ClientAuthMode::Optional | ClientAuthMode::OptionalRequiringClientAuthEku
            ) {
                vb = vb.allow_unauthenticated();
            }
            let delegate = vb
                .build()
                .map_err(|e| TlsError::Config(format!("client certificate verifier: {e}")))?;
            let (mandatory, require_client_auth_eku) = match opts.client_auth {
                ClientAuthMode::Required {
                    require_client_auth_eku,
                } => (true, require_client_auth_eku),
                ClientAuthMode::OptionalRequiringClientAuthEku => (false, true),
                _ => (false, false),
            };
            builder.with_client_cert_verifier(Arc::new(RecordingClientVerifier {
                delegate,
                roots,
                provider,
                mandatory,
                require_client_auth_eku,
                chains: opts.chains,
            }))
        }
    };
    let mut config = match &opts.identity.signer {
        Some(signer) => builder.with_cert_resolver(Arc::new(SingleCertAndKey::from(
            rustls::sign::CertifiedKey::new(opts.identity.chain.clone(), signer.clone()),
        ))),
        None => builder
            .with_single_cert(opts.identity.chain.clone(), opts.identity.clone_key())
            .map_err(|e| TlsError::Config(format!("server certificate/key: {e}")))?,
    };
    config.key_log = opts.key_log;
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// Builds a client config (TLS 1.2 and 1.3, aws-lc-rs defaults, no resumption).
pub fn client_config(opts: ClientTlsOptions) -> Result<Arc<ClientConfig>, TlsError> {
    client_config_with_versions(opts, TlsVersions::Tls12And13)
}

/// Builds a client config that offers only `versions`.
pub fn client_config_with_versions(
    opts: ClientTlsOptions,
    versions: TlsVersions,
) -> Result<Arc<ClientConfig>, TlsError> {
    client_config_overlooking(opts, versions, OverlookedChecks::new())
}

/// Builds a client config that offers only `versions` and skips the
/// server-certificate checks in `overlook` (the reference Edge's outbound
/// fault switches; see `overlook`).
pub fn client_config_overlooking(
    opts: ClientTlsOptions,
    versions: TlsVersions,
    overlook: OverlookedChecks,
) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = provider();
    // The server certificate is judged as the 2013 providers judged it:
    // chain, validity and name are checked by webpki, with the signature
    // algorithms Lync 2013's peers accepted (RSA keys of 1024 bits, SHA-1
    // signatures: CERT-07, CERT-08). Only the certificate cases judge key
    // size and signature algorithm.
    let delegate = WebPkiServerVerifier::builder_with_provider(
        Arc::new(opts.server_roots),
        lync2013_verification_provider(),
    )
    .build()
    .map_err(|e| TlsError::Config(format!("server certificate verifier: {e}")))?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions.list())
        .map_err(|e| TlsError::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(RecordingServerVerifier {
            delegate,
            chains: opts.chains,
            overlook,
        }));
    let mut config = match opts.identity {
        Some(id) => with_client_identity(builder, &id)?,
        None => builder.with_no_client_auth(),
    };
    config.key_log = opts.key_log;
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(config))
}

/// A client config for probes: presents `identity` (if any), offers only
/// `versions`, and accepts whatever certificate the server presents after
/// recording it in `chains` (see `accept_any`), so the handshake tells how
/// the server judges us, never how we judge it.
pub fn probe_client_config(
    identity: Option<Arc<CertifiedKey>>,
    versions: TlsVersions,
    key_log: Arc<KeyLogCollector>,
    chains: ChainRecorder,
) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions.list())
        .map_err(|e| TlsError::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(accept_any::AcceptAnyServerVerifier {
            provider,
            chains,
        }));
    let mut config = match identity {
        Some(id) => with_client_identity(builder, &id)?,
        None => builder.with_no_client_auth(),
    };
    config.key_log = key_log;
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(config))
}

/// Finishes a client config presenting `id` (through its own signer when
/// it has one).
fn with_client_identity(
    builder: rustls::ConfigBuilder<ClientConfig, rustls::client::WantsClientCert>,
    id: &CertifiedKey,
) -> Result<ClientConfig, TlsError> {
    match &id.signer {
        Some(signer) => Ok(
            builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(
                rustls::sign::CertifiedKey::new(id.chain.clone(), signer.clone()),
            ))),
        ),
        None => builder
            .with_client_auth_cert(id.chain.clone(), id.clone_key())
            .map_err(|e| TlsError::Config(format!("client certificate/key: {e}"))),
    }
}

fn result_text<T>(r: &Result<T, rustls::Error>) -> Result<(), String> {
    match r {
        Ok(_) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

/// Records the server's chain, then verifies it with webpki (name
/// included), skipping only the checks in `overlook`.
#[derive(Debug)]
struct RecordingServerVerifier {
    delegate: Arc<WebPkiServerVerifier>,
    chains: ChainRecorder,
    overlook: OverlookedChecks,
}

impl ServerCertVerifier for RecordingServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result = overlook::verify(
            &self.delegate,
            &self.overlook,
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        self.chains
            .record(end_entity, intermediates, result_text(&result));
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.delegate.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.delegate.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.delegate.supported_verify_schemes()
    }
}

/// Records the client's chain, verifies it with webpki, and applies the
/// harness's clientAuth EKU policy.
#[derive(Debug)]
struct RecordingClientVerifier {
    delegate: Arc<dyn ClientCertVerifier>,
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
    mandatory: bool,
    require_client_auth_eku: bool,
    chains: ChainRecorder,
}

fn is_purpose_error(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. }
        )
    )
}

impl RecordingClientVerifier {
    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match self
            .delegate
            .verify_client_cert(end_entity, intermediates, now)
        {
            Ok(verified) => {
                if !self.require_client_auth_eku {
                    return Ok(verified);
                }
                // webpki accepts a leaf without any EKU extension for any
                // purpose; the policy here wants clientAuth listed.
                match describe::client_auth_eku(end_entity.as_ref()) {
                    Ok(Some(true)) => Ok(verified),
                    Ok(Some(false)) | Ok(None) => Err(rustls::Error::InvalidCertificate(
                        CertificateError::InvalidPurposeContext {
                            required: ExtendedKeyPurpose::ClientAuth,
                            presented: Vec::new(),
                        },
                    )),
                    Err(_) => Err(rustls::Error::InvalidCertificate(
                        CertificateError::BadEncoding,
                    )),
                }
            }
            Err(original) if is_purpose_error(&original) && !self.require_client_auth_eku => {
                // webpki checks the EKU before it looks for an issuer, so this
                // error says nothing about the chain. Verify the chain again
                // for serverAuth (the usual EKU of a federation certificate
                // that lacks clientAuth).
                let parsed = ParsedCertificate::try_from(end_entity)?;
                match rustls::client::verify_server_cert_signed_by_trust_anchor(
                    &parsed,
                    &self.roots,
                    intermediates,
                    now,
                    self.provider.signature_verification_algorithms.all,
                ) {
                    Ok(()) => Ok(ClientCertVerified::assertion()),
                    // Neither clientAuth nor serverAuth: we cannot vouch
                    // for the chain, so keep the original refusal.
                    Err(e) if is_purpose_error(&e) => Err(original),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }
}

impl ClientCertVerifier for RecordingClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.delegate.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let result = self.check(end_entity, intermediates, now);
        self.chains
            .record(end_entity, intermediates, result_text(&result));
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.delegate.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.delegate.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.delegate.supported_verify_schemes()
    }
}

fn handshake_error(peer: SocketAddr, err: io::Error) -> TlsError {
    let tls_error = tls_error_of(&err).cloned();
    let message = match &tls_error {
        Some(e) => e.to_string(),
        None => err.to_string(),
    };
    TlsError::Handshake {
        peer,
        message,
        tls_error,
    }
}

/// Connects over TCP (from `local_ip`, any port, if given), sets
/// TCP_NODELAY, and runs the TLS handshake, all within `timeout`.
///
/// See the module docs: in TLS 1.3 a rejection of our client certificate
/// shows up on the first read, not here.
pub async fn connect_tls(
    local_ip: Option<IpAddr>,
    remote: SocketAddr,
    server_name: &str,
    config: Arc<ClientConfig>,
    timeout: Duration,
) -> Result<
    (
        tokio_rustls::client::TlsStream<RecordingStream<TcpStream>>,
        ConnectionRecord,
    ),
    TlsError,
> {
    connect_tls_recorded(local_ip, remote, server_name, config, timeout)
        .await
        .map_err(|(e, _)| e)
}

/// Like [`connect_tls`], but a failed handshake still hands back what was
/// recorded (the record is `None` only when TCP never connected).
pub async fn connect_tls_recorded(
    local_ip: Option<IpAddr>,
    remote: SocketAddr,
    server_name: &str,
    config: Arc<ClientConfig>,
    timeout: Duration,
) -> Result<
    (
        tokio_rustls::client::TlsStream<RecordingStream<TcpStream>>,
        ConnectionRecord,
    ),
    (TlsError, Option<ConnectionRecord>),
> {
    let name = ServerName::try_from(server_name.to_owned())
        .map_err(|_| (TlsError::InvalidServerName(server_name.to_owned()), None))?;
    let now = Instant::now();
    // An absurdly large timeout must not overflow the clock; a year is forever here.
    let deadline = now
        .checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(365 * 86_400));
    let tcp = tcp_connect_until(local_ip, remote, deadline, timeout)
        .await
        .map_err(|e| (e, None))?;
    let (stream, record) =
        RecordingStream::from_tcp(tcp, TcpRole::Client).map_err(|e| (TlsError::Io(e), None))?;
    let connector = TlsConnector::from(config);
    match tokio::time::timeout_at(deadline, connector.connect(name, stream)).await {
        Ok(Ok(tls)) => Ok((tls, record)),
        Ok(Err(e)) => Err((handshake_error(remote, e), Some(record))),
        Err(_) => Err((
            TlsError::Timeout {
                stage: "TLS handshake",
                after: timeout,
            },
            Some(record),
        )),
    }
}

/// Opens a TCP connection (from `local_ip`, any port, if given) within
/// `timeout`, with TCP_NODELAY set.
pub async fn tcp_connect(
    local_ip: Option<IpAddr>,
    remote: SocketAddr,
    timeout: Duration,
) -> Result<TcpStream, TlsError> {
    let now = Instant::now();
    let deadline = now
        .checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(365 * 86_400));
    tcp_connect_until(local_ip, remote, deadline, timeout).await
}

async fn tcp_connect_until(
    local_ip: Option<IpAddr>,
    remote: SocketAddr,
    deadline: Instant,
    timeout: Duration,
) -> Result<TcpStream, TlsError> {
    crate::destinations::check_destination(remote)?;
    let socket = if remote.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(ip) = local_ip {
        let local = SocketAddr::new(ip, 0);
        socket
            .bind(local)
            .map_err(|source| TlsError::Bind { local, source })?;
    }
    let tcp = match tokio::time::timeout_at(deadline, socket.connect(remote)).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
            return Err(TlsError::ConnectRefused { remote });
        }
        Ok(Err(source)) => return Err(TlsError::Connect { remote, source }),
        Err(_) => {
            return Err(TlsError::Timeout {
                stage: "TCP connect",
                after: timeout,
            });
        }
    };
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

/// Runs the server side of the handshake on an accepted TCP connection
/// (TCP_NODELAY set) within `timeout`. The record comes back on failure too.
pub async fn accept_tls(
    tcp: TcpStream,
    acceptor: &TlsAcceptor,
    timeout: Duration,
) -> Result<
    (
        tokio_rustls::server::TlsStream<RecordingStream<TcpStream>>,
        ConnectionRecord,
    ),
    (TlsError, ConnectionRecord),
> {
    let unknown = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
    let peer = tcp.peer_addr().unwrap_or(unknown);
    let local = tcp.local_addr().unwrap_or(unknown);
    let record = ConnectionRecord::new(peer, local);
    if let Err(e) = tcp.set_nodelay(true) {
        record.mark_closed();
        return Err((TlsError::Io(e), record));
    }
    let stream = RecordingStream::new(tcp, record.clone(), TcpRole::Server);
    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Ok((tls, record)),
        Ok(Err(e)) => Err((handshake_error(peer, e), record)),
        Err(_) => Err((
            TlsError::Timeout {
                stage: "TLS handshake",
                after: timeout,
            },
            record,
        )),
    }
}
