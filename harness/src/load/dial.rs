//! Opening one of the load generator's own mutual-TLS connections to the
//! Edge: TCP from the role's address, recorded while `--pcap-seconds`
//! lasts, then the TLS handshake, each within [`CONNECT_TIMEOUT`].

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use picharness_simulators::tls::{TcpRole, tcp_connect};
use rustls_pki_types::ServerName;
use tokio_rustls::TlsConnector;

use super::capture::{Capture, MaybeRecorded};

/// The bound on the TCP connect and, again, on the TLS handshake.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A load connection once open.
pub(crate) type Stream = tokio_rustls::client::TlsStream<MaybeRecorded>;

/// Where and how to connect.
pub(crate) struct Dial<'a> {
    pub local_ip: IpAddr,
    pub remote: SocketAddr,
    /// The name the Edge's certificate must hold.
    pub server_name: &'a str,
    pub tls: &'a Arc<rustls::ClientConfig>,
    pub capture: &'a Capture,
    /// Whether small writes go out at once (TCP_NODELAY) rather than being
    /// coalesced.
    pub no_delay: bool,
}

/// Opens the connection; `Err` says what failed, for the run's notes.
pub(crate) async fn dial(to: Dial<'_>) -> Result<Stream, String> {
    let name = ServerName::try_from(to.server_name.to_owned())
        .map_err(|_| format!("{} is not a valid server name", to.server_name))?;
    let tcp = tcp_connect(Some(to.local_ip), to.remote, CONNECT_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    if to.no_delay {
        let _ = tcp.set_nodelay(true);
    }
    let tcp = to.capture.wrap(tcp, TcpRole::Client);
    let connector = TlsConnector::from(to.tls.clone());
    match tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, tcp)).await {
        Ok(Ok(tls)) => Ok(tls),
        Ok(Err(e)) => Err(format!("TLS handshake failed: {e}")),
        Err(_) => Err(format!("TLS handshake took more than {CONNECT_TIMEOUT:?}")),
    }
}
