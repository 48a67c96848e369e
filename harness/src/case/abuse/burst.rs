//! A burst of TLS handshakes from clients without a certificate: waves of
//! [`BURST_WAVE`] at once until the abuse ends or [`BURST_TOTAL`] were
//! made. Each must be refused (FED-02: a handshake alert, or the
//! connection closed before any SIP). After its handshake each client
//! sends an OPTIONS: a SIP answer to it proves the Edge let the client in,
//! a wrong immediate answer; silence proves nothing either way and is only
//! counted (a loaded Edge may be slow to refuse). A wave in flight always
//! finishes, so what the Edge did with it is judged, never cut off.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use picharness_simulators::tls::{
    ChainRecorder, TlsError, TlsVersions, connect_tls_recorded, probe_client_config,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use super::{AbuseContext, CONNECT_BOUND, harness_side};
use crate::scenario::{BURST_TOTAL, BURST_WAVE};

/// How long a client waits for the Edge to answer its OPTIONS or close.
const ANSWER_WAIT: Duration = Duration::from_secs(3);

#[derive(Default)]
struct Tally {
    refused_in_handshake: AtomicUsize,
    refused_after: AtomicUsize,
    let_in: AtomicUsize,
    no_answer: AtomicUsize,
    not_connected: AtomicUsize,
}

pub(super) async fn unauthenticated_burst(
    ctx: AbuseContext,
    ready: oneshot::Sender<Result<String, String>>,
) {
    let ctx = Arc::new(ctx);
    let config = match probe_client_config(
        None,
        TlsVersions::Tls12And13,
        ctx.key_log.clone(),
        ChainRecorder::default(),
    ) {
        Ok(config) => config,
        Err(e) => {
            let _ = ready.send(Err(format!(
                "cannot build the abuse's TLS configuration: {e}"
            )));
            return;
        }
    };
    let tally = Arc::new(Tally::default());
    let mut ready = Some(ready);
    let mut made = 0;
    while made < BURST_TOTAL && (made == 0 || !ctx.is_stopped()) {
        let mut wave = JoinSet::new();
        for _ in 0..BURST_WAVE.min(BURST_TOTAL - made) {
            wave.spawn(one_handshake(ctx.clone(), config.clone(), tally.clone()));
            made += 1;
        }
        if let Some(ready) = ready.take() {
            let _ = ready.send(Ok(format!(
                "a first wave of {} handshakes without a client certificate under way",
                wave.len()
            )));
        }
        while wave.join_next().await.is_some() {}
    }
    let count = |a: &AtomicUsize| a.load(Ordering::Relaxed);
    let let_in = count(&tally.let_in);
    ctx.log.finding(format!(
        "{made} handshakes without a client certificate: {} refused in the handshake, {} closed right after it, {let_in} let in (their OPTIONS answered), {} neither refused nor answered within {} ms, {} not connected",
        count(&tally.refused_in_handshake),
        count(&tally.refused_after),
        count(&tally.no_answer),
        ANSWER_WAIT.as_millis(),
        count(&tally.not_connected)
    ));
    if let_in > 0 {
        ctx.log.wrong(format!(
            "the Edge let {let_in} of {made} clients with no client certificate in: it completed the TLS handshake and answered their OPTIONS (FED-02: refused in the handshake or closed before any SIP)"
        ));
    }
}

async fn one_handshake(
    ctx: Arc<AbuseContext>,
    config: Arc<rustls::ClientConfig>,
    tally: Arc<Tally>,
) {
    let connected = connect_tls_recorded(
        Some(ctx.local_ip),
        ctx.remote,
        &ctx.server_name,
        config,
        CONNECT_BOUND,
    )
    .await;
    let mut tls = match connected {
        Ok((tls, record)) => {
            ctx.log.keep(&record);
            tls
        }
        Err((error, record)) => {
            if let Some(record) = &record {
                ctx.log.keep(record);
            }
            let counter = match &error {
                TlsError::Handshake { .. } => &tally.refused_in_handshake,
                TlsError::Timeout { .. } => &tally.no_answer,
                e if harness_side(e) => {
                    ctx.log
                        .harness_limit(format!("opening a connection: {error}"));
                    &tally.not_connected
                }
                _ => &tally.not_connected,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    let options = format!(
        "OPTIONS sip:{server} SIP/2.0\r\nVia: SIP/2.0/TLS {local}:5061;branch=z9hG4bK-abuse-{n:08x}\r\nMax-Forwards: 70\r\nFrom: <sip:anonymous@{local}>;tag=abuse-{n:08x}\r\nTo: <sip:{server}>\r\nCall-ID: abuse-{n:08x}@picharness\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        server = ctx.server_name,
        local = ctx.local_ip,
        n = rand::random::<u32>()
    );
    let counter = if tls.write_all(options.as_bytes()).await.is_err() {
        &tally.refused_after
    } else {
        match tokio::time::timeout(ANSWER_WAIT, first_line(&mut tls)).await {
            Ok(Some(line)) if line.starts_with("SIP/2.0 ") => &tally.let_in,
            Ok(_) => &tally.refused_after,
            Err(_) => &tally.no_answer,
        }
    };
    counter.fetch_add(1, Ordering::Relaxed);
}

/// The first line the Edge sends, or `None` when it closes (or fails the
/// connection) first.
async fn first_line<S: AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
    let mut seen = Vec::new();
    let mut buffer = [0u8; 512];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => seen.extend_from_slice(&buffer[..n]),
        }
        if let Some(end) = seen.windows(2).position(|w| w == b"\r\n") {
            return Some(String::from_utf8_lossy(&seen[..end]).into_owned());
        }
        if seen.len() > 4096 {
            return Some(String::from_utf8_lossy(&seen).into_owned());
        }
    }
}
