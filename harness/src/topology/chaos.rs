//! Starting a chaos Edge in the reference Edge's place: it listens on the
//! SUT's external, internal and pool member addresses and presents the
//! Edge certificate, taking any client certificate, so each chaos mode gets
//! as far into a connection as it wants to.

use std::sync::Arc;

use picharness_simulators::edge::{ChaosEdge, ChaosMode};
use picharness_simulators::pki::CertifiedKey;
use picharness_simulators::tls::{
    ChainRecorder, ClientAuthMode, KeyLogCollector, PeerSignatures, ServerTlsOptions, server_config,
};
use rustls::RootCertStore;

use super::{SutView, TopologyError};

pub(super) async fn start_chaos_edge(
    mode: ChaosMode,
    sut: &SutView,
    identity: &Arc<CertifiedKey>,
    roots: &RootCertStore,
    key_log: &Arc<KeyLogCollector>,
) -> Result<ChaosEdge, TopologyError> {
    let config = server_config(ServerTlsOptions {
        identity: identity.clone(),
        client_roots: roots.clone(),
        client_auth: ClientAuthMode::AnyCertificate,
        key_log: key_log.clone(),
        chains: ChainRecorder::default(),
        peer_signatures: PeerSignatures::Lync2013,
    })
    .map_err(|e| TopologyError::Edge(format!("chaos Edge TLS: {e}")))?;
    let mut listen = vec![sut.external, sut.internal];
    listen.extend(sut.pool_members.iter().filter(|m| **m != sut.external));
    ChaosEdge::start(mode, &listen, config)
        .await
        .map_err(|e| TopologyError::Edge(format!("chaos Edge ({mode}): {e}")))
}
