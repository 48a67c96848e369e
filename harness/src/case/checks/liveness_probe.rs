//! The liveness probe of the robustness cases: after (or during) a hostile
//! input, a fresh, good peer opens a new connection, completes mutual TLS
//! with its own certificate, sends a MESSAGE for the case's Lync user, the
//! MESSAGE must reach the pool, the pool answers 200 and the 200 must come
//! back, each within [`PROBE_BOUND`].
//!
//! A failed probe names what broke: the Edge no longer accepts connections
//! (`crashed`), or it accepts them but no longer completes the handshake,
//! forwards the MESSAGE or relays the answer (`stopped serving others`).
//! Arrivals that are not the probe's (a late answer to the hostile input, a
//! hostile message reaching the pool) are left for the other steps: the
//! no-malformed-inward check judges what reached the pool.

use std::time::{Duration, Instant};

use picharness_simulators::tls::{
    ChainRecorder, TlsError, TlsVersions, connect_tls_recorded, probe_client_config,
};
use picharness_wire::sip::{DEFAULT_MAX_MESSAGE_SIZE, StreamDecoder};
use tokio::io::AsyncWriteExt;

use super::mtls_legacy::{Read, read_response};
use super::mtls_refusal::{handshake_refusal, io_refusal};
use crate::case::execute::CaseRun;
use crate::case::outcome::Outcome;
use crate::scenario::{Actor, render_message};

/// How long each stage of the probe may take: the connection with its
/// handshake, the MESSAGE reaching the pool, the 200 coming back.
pub(crate) const PROBE_BOUND: Duration = Duration::from_secs(5);

/// The Call-ID prefix of probe MESSAGEs, so other checks can tell them from
/// the hostile input.
pub(crate) const PROBE_CALL_ID_PREFIX: &str = "probe-";

const PROBE_MESSAGE: &str = "MESSAGE sip:{user.lync}@{sut.domain} SIP/2.0
Via: SIP/2.0/TLS {local.fqdn}:5061;branch={branch}
Max-Forwards: 70
From: <sip:{user.peer}@{peer.domain}>;tag={tag}
To: <sip:{user.lync}@{sut.domain}>
Call-ID: {probe.call_id}
CSeq: 1 MESSAGE
Content-Type: text/plain; charset=UTF-8
Content-Length: {content_length}

Liveness probe: is the Edge still serving good peers?
";

/// Why a probe failed, as the verdict reason's first words.
pub(crate) const CRASHED: &str = "crashed";
pub(crate) const STOPPED_SERVING: &str = "stopped serving others";

/// Opens a fresh connection for `actor` with its own certificate and
/// completes mutual TLS, as a new good peer would; a failure names what
/// broke (`crashed`, `stopped serving others`). `what` names the purpose
/// in the transcript.
pub(super) async fn fresh_connection(
    run: &mut CaseRun<'_>,
    actor: &Actor,
    what: &str,
) -> Result<impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + use<>, Outcome> {
    let sip_actor = run.actor(actor)?;
    let peer = actor.name().to_owned();
    let chains = ChainRecorder::default();
    let config = probe_client_config(
        Some(sip_actor.identity().clone()),
        TlsVersions::Tls12And13,
        run.topology.key_log.clone(),
        chains,
    )
    .map_err(|e| Outcome::error(format!("cannot build the {what}'s TLS configuration: {e}")))?;
    let remote = run.topology.sut.external;
    let server_name = run.topology.sut.access_edge_fqdn.clone();
    run.note(format!(
        "{what}: a fresh {peer} connection to {remote} with mutual TLS"
    ));
    let sip_actor_ip = sip_actor.ip();
    let connected = connect_tls_recorded(
        Some(sip_actor_ip),
        remote,
        &server_name,
        config,
        PROBE_BOUND.min(run.time_left()),
    )
    .await;
    match connected {
        Ok((tls, record)) => {
            run.remember_probe_connection(&record);
            Ok(tls)
        }
        Err((error, record)) => {
            if let Some(record) = &record {
                run.remember_probe_connection(record);
            }
            let refused_now = still_refuses(sip_actor_ip, remote).await;
            Err(connect_failure(&error, remote, refused_now))
        }
    }
}

pub(super) async fn check_liveness(run: &mut CaseRun<'_>, actor: &Actor) -> Result<(), Outcome> {
    let started = Instant::now();
    let peer = actor.name().to_owned();
    let mut tls = fresh_connection(run, actor, "liveness probe").await?;
    let remote = run.topology.sut.external;

    let sip_actor = run.actor(actor)?;
    let sip_actor_ip = sip_actor.ip();
    run.vars.set("local.fqdn", sip_actor.fqdn().to_owned());
    run.vars
        .set("tag", format!("{peer}-{:08x}", rand::random::<u32>()));
    run.vars.set(
        "branch",
        format!("z9hG4bK-ph-{:016x}", rand::random::<u64>()),
    );
    let call_id = format!(
        "{PROBE_CALL_ID_PREFIX}{:08x}@picharness",
        rand::random::<u32>()
    );
    run.vars.set("probe.call_id", call_id.clone());
    let message = render_message(PROBE_MESSAGE, &run.vars);
    run.note(format!(
        "liveness probe ({peer}) sends:\n{}",
        String::from_utf8_lossy(&message)
    ));
    if let Err(e) = tls.write_all(&message).await {
        return Err(Outcome::fail(format!(
            "{STOPPED_SERVING}: the Edge completed the handshake with a fresh good peer but then ended the connection with {} before its MESSAGE could be sent",
            io_refusal(&e)
        )));
    }
    let mut decoder = StreamDecoder::new(DEFAULT_MAX_MESSAGE_SIZE);
    let mut buffer = vec![0u8; 16 * 1024];

    // 1. The probe's MESSAGE must reach the pool.
    let wait = PROBE_BOUND.min(run.time_left());
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        tokio::select! {
            read = read_response(&mut tls, &mut decoder, &mut buffer, deadline) => {
                let read = read.map_err(|o| stopped(o.reason))?;
                if let Read::Closed(how) = &read
                    && still_refuses(sip_actor_ip, remote).await
                {
                    return Err(crashed_mid_probe(how, remote));
                }
                return Err(match read {
                    Read::Closed(how) => stopped(format!(
                        "the Edge ended the fresh good peer's connection with {how} instead of forwarding its MESSAGE"
                    )),
                    Read::Response(response) => {
                        run.note(format!("liveness probe received:\n{}", String::from_utf8_lossy(&response.raw)));
                        stopped(format!(
                            "the Edge answered a good peer's MESSAGE with {} instead of forwarding it to the pool",
                            response.summary()
                        ))
                    }
                    Read::Silence => stopped(format!(
                        "the Edge neither forwarded nor answered a good peer's MESSAGE within {} ms",
                        wait.as_millis()
                    )),
                });
            }
            arrival = run.next_arrival_to_answer(wait) => match arrival {
                Some((at, m)) if at == "pool" && m.call_id() == Some(call_id.as_str()) => break,
                Some((at, m)) => {
                    run.note(format!(
                        "liveness probe: {} at {at} is not the probe's; left to the other checks",
                        m.summary()
                    ));
                }
                None => return Err(stopped(format!(
                    "the Edge did not forward a good peer's MESSAGE to the pool within {} ms",
                    wait.as_millis()
                ))),
            },
        }
    }

    // 2. The pool's 200 must come back on the probe's connection.
    run.reply(&Actor::Pool, 200, Some("MESSAGE"), None)?;
    let wait = PROBE_BOUND.min(run.time_left());
    let deadline = tokio::time::Instant::now() + wait;
    match read_response(&mut tls, &mut decoder, &mut buffer, deadline)
        .await
        .map_err(|o| stopped(o.reason))?
    {
        Read::Response(response) if response.status() == Some(200) => {
            run.note(format!(
                "liveness probe: the Edge served a fresh good peer (mutual TLS, MESSAGE to the pool, 200 back) in {} ms",
                started.elapsed().as_millis()
            ));
            Ok(())
        }
        Read::Response(response) => Err(stopped(format!(
            "the pool answered a good peer's MESSAGE 200 but the peer received {}",
            response.summary()
        ))),
        Read::Closed(how) if still_refuses(sip_actor_ip, remote).await => {
            Err(crashed_mid_probe(&how, remote))
        }
        Read::Closed(how) => Err(stopped(format!(
            "the Edge forwarded a good peer's MESSAGE but then ended its connection with {how}"
        ))),
        Read::Silence => Err(stopped(format!(
            "the pool answered a good peer's MESSAGE 200 but the Edge did not relay it within {} ms",
            wait.as_millis()
        ))),
    }
}

/// The Edge ended the probe's connection and now refuses new ones: it
/// went down while the probe ran (a crash can race the probe's connect).
fn crashed_mid_probe(how: &str, remote: std::net::SocketAddr) -> Outcome {
    Outcome::fail(format!(
        "{CRASHED}: the Edge ended a fresh good peer's connection with {how} and now refuses connections at {remote}"
    ))
}

fn stopped(why: String) -> Outcome {
    Outcome::fail(format!("{STOPPED_SERVING}: {why}"))
}

/// What a probe that could not complete mutual TLS says about the Edge.
/// After a handshake that broke off, whether a new TCP connection to the
/// Edge is refused: an Edge that crashes can still accept one last
/// connection and then reset it as it goes down, and that is a crash, not
/// an Edge that serves TCP but not TLS.
async fn still_refuses(local: std::net::IpAddr, remote: std::net::SocketAddr) -> bool {
    let socket = match remote {
        std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    };
    let Ok(socket) = socket else {
        return false;
    };
    if socket.bind(std::net::SocketAddr::new(local, 0)).is_err() {
        return false;
    }
    matches!(
        tokio::time::timeout(Duration::from_secs(1), socket.connect(remote)).await,
        Ok(Err(ref e)) if e.kind() == std::io::ErrorKind::ConnectionRefused
    )
}

fn connect_failure(error: &TlsError, remote: std::net::SocketAddr, refused_now: bool) -> Outcome {
    match error {
        TlsError::ConnectRefused { .. }
        | TlsError::Connect { .. }
        | TlsError::Timeout {
            stage: "TCP connect",
            ..
        } => Outcome::fail(format!(
            "{CRASHED}: the Edge no longer accepts connections at {remote}: {error}"
        )),
        TlsError::Handshake {
            tls_error: Some(own),
            ..
        } if !matches!(own, rustls::Error::AlertReceived(_)) => Outcome::inconclusive(format!(
            "the liveness probe's own side of the handshake failed ({own}), so whether the Edge still serves good peers cannot be seen"
        )),
        TlsError::Handshake { .. } | TlsError::Timeout { .. } | TlsError::Io(_) if refused_now => {
            Outcome::fail(format!(
                "{CRASHED}: the Edge accepted a fresh good peer's TCP connection, broke off the handshake ({}) and now refuses connections at {remote}",
                handshake_refusal(error)
            ))
        }
        TlsError::Handshake { .. } | TlsError::Timeout { .. } | TlsError::Io(_) => {
            stopped(format!(
                "the Edge accepted a fresh good peer's TCP connection but did not complete mutual TLS ({})",
                handshake_refusal(error)
            ))
        }
        other => Outcome::error(format!("the liveness probe could not start: {other}")),
    }
}
