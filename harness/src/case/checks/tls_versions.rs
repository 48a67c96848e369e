//! Which TLS versions the Edge's external 5061 listener accepts. The peer
//! probes once with TLS 1.2 only and once with TLS 1.3 only, presenting its
//! normal certificate and accepting whatever certificate the Edge presents.
//! TLS 1.2 must be accepted: Lync Server 2013 and the PIC providers speak
//! TLS 1.2 at most. TLS 1.3 is reported, not judged. TLS 1.0 and 1.1 are not
//! probed (rustls does not speak them).

use std::sync::Arc;
use std::time::Duration;

use picharness_simulators::tls::{
    ChainRecorder, TlsError, TlsVersions, connect_tls_recorded, probe_client_config,
};

use super::certificate::keep_server_chain;
use super::mtls_refusal::alert_name;
use crate::case::execute::CaseRun;
use crate::case::outcome::Outcome;
use crate::scenario::Actor;

const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// What one single-version probe saw.
enum VersionProbe {
    Accepted,
    Refused(String),
}

async fn probe(
    run: &mut CaseRun<'_>,
    actor: &Actor,
    versions: TlsVersions,
) -> Result<VersionProbe, Outcome> {
    let sip_actor = run.actor(actor)?;
    let chains = ChainRecorder::default();
    let config = probe_client_config(
        Some(Arc::clone(sip_actor.identity())),
        versions,
        run.topology.key_log.clone(),
        chains.clone(),
    )
    .map_err(|e| Outcome::error(format!("cannot build the probe's TLS configuration: {e}")))?;
    let remote = run.topology.sut.external;
    let server_name = run.topology.sut.access_edge_fqdn.clone();
    match connect_tls_recorded(
        Some(sip_actor.ip()),
        remote,
        &server_name,
        config,
        PROBE_TIMEOUT.min(run.time_left()),
    )
    .await
    {
        Ok((_tls, record)) => {
            run.remember_probe_connection(&record);
            keep_server_chain(run, &chains);
            Ok(VersionProbe::Accepted)
        }
        Err((error, record)) => {
            let Some(record) = record else {
                return Err(Outcome::fail(format!(
                    "{} could not reach the Edge at {remote}: {error}",
                    actor.name()
                )));
            };
            run.remember_probe_connection(&record);
            Ok(VersionProbe::Refused(match &error {
                TlsError::Handshake {
                    tls_error: Some(rustls::Error::AlertReceived(alert)),
                    ..
                } => format!("TLS alert {}", alert_name(*alert)),
                other => other.to_string(),
            }))
        }
    }
}

pub(super) async fn check_tls_versions(
    run: &mut CaseRun<'_>,
    actor: &Actor,
) -> Result<(), Outcome> {
    let tls12 = probe(run, actor, TlsVersions::Tls12Only).await?;
    let tls13 = probe(run, actor, TlsVersions::Tls13Only).await?;
    let describe = |p: &VersionProbe| match p {
        VersionProbe::Accepted => "accepted".to_owned(),
        VersionProbe::Refused(how) => format!("refused ({how})"),
    };
    run.finding(format!(
        "TLS 1.2 {}, TLS 1.3 {}; TLS 1.0/1.1 not probed",
        describe(&tls12),
        describe(&tls13)
    ));
    match tls12 {
        VersionProbe::Accepted => Ok(()),
        VersionProbe::Refused(how) => Err(Outcome::fail(format!(
            "the Edge refused a TLS 1.2 handshake ({how}); TLS 1.3 {}; Lync 2013 peers speak TLS 1.2 at most",
            describe(&tls13)
        ))),
    }
}
