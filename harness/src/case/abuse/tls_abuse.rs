//! TLS abuse from a provider peer: after a mutual TLS handshake, a record
//! no key decrypts or a record longer than TLS allows, written under the
//! TLS layer straight onto the connection; and ClientHellos offering only
//! SSL 3.0, TLS 1.0 or TLS 1.1, made by hand (no TLS library sends them
//! any more) with the first record of the answer read back.
//!
//! What the Edge answers is recorded: an alert or a close is the expected
//! end of such a connection (RFC 8446 §5.2, RFC 5246 §6.2), and no
//! requirement of the catalogue names the old versions, so an Edge that
//! keeps a broken connection open or accepts an old version gets an
//! observation, not a fail. What fails these cases is the Edge crashing or
//! no longer serving others, which the probe after them judges.

use std::sync::Arc;
use std::time::Duration;

use picharness_simulators::tls::{
    ChainRecorder, RecordingStream, TcpRole, TlsVersions, connect_tls_recorded,
    probe_client_config, tcp_connect, tls_error_of,
};
use picharness_wire::tls_legacy::{
    SSL_3_0, ServerFirst, TLS_1_0, TLS_1_1, alert_name, garbage_record, legacy_client_hello,
    overlong_record, parse_server_first, version_name,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio_rustls::client::TlsStream;

use super::{AbuseContext, CONNECT_BOUND, harness_side};

/// How long the Edge gets to answer a malformed record or an old hello.
const ANSWER_WAIT: Duration = Duration::from_secs(3);

type Ready = oneshot::Sender<Result<String, String>>;

/// A mutual TLS connection from the abusing peer with its own certificate,
/// offering `versions` (`extract_secrets`: the traffic keys can be taken
/// from it afterwards); see [`connect_mutual`].
pub(super) async fn open_mutual_tls(
    ctx: &AbuseContext,
    versions: TlsVersions,
    extract_secrets: bool,
) -> Result<TlsStream<RecordingStream<tokio::net::TcpStream>>, String> {
    let config = probe_client_config(
        Some(ctx.identity.clone()),
        versions,
        ctx.key_log.clone(),
        ChainRecorder::default(),
    )
    .map_err(|e| format!("cannot build the TLS configuration: {e}"))?;
    let mut config = (*config).clone();
    config.enable_secret_extraction = extract_secrets;
    connect_mutual(ctx, Arc::new(config)).await
}

/// A connection from the abusing peer with `config`, kept in the trace
/// whether or not it opens; a failure on the harness's side is noted as the
/// harness's limit. The error says why it did not open.
pub(super) async fn connect_mutual(
    ctx: &AbuseContext,
    config: Arc<rustls::ClientConfig>,
) -> Result<TlsStream<RecordingStream<tokio::net::TcpStream>>, String> {
    match connect_tls_recorded(
        Some(ctx.local_ip),
        ctx.remote,
        &ctx.server_name,
        config,
        CONNECT_BOUND,
    )
    .await
    {
        Ok((tls, record)) => {
            ctx.log.keep(&record);
            Ok(tls)
        }
        Err((error, record)) => {
            if let Some(record) = &record {
                ctx.log.keep(record);
            }
            if harness_side(&error) {
                ctx.log
                    .harness_limit(format!("opening a connection: {error}"));
            }
            Err(error.to_string())
        }
    }
}

/// After a mutual TLS handshake, a garbage record (`overlong`: a record
/// header claiming 65,535 bytes) under the TLS layer.
pub(super) async fn bad_record(ctx: AbuseContext, ready: Ready, overlong: bool) {
    let mut tls = match open_mutual_tls(&ctx, TlsVersions::Tls12And13, false).await {
        Ok(tls) => tls,
        Err(error) => {
            let _ = ready.send(Err(format!(
                "the mutual TLS connection the bad record goes on could not be opened: {error}"
            )));
            return;
        }
    };
    let (bytes, what) = if overlong {
        (
            overlong_record(64),
            "a record header claiming 65,535 bytes (more than TLS allows)",
        )
    } else {
        (garbage_record(64), "a 64-byte record no key decrypts")
    };
    ctx.log.note(format!(
        "after the handshake, {what}, under the TLS layer: {}",
        hex_preview(&bytes)
    ));
    if tls.get_mut().0.write_all(&bytes).await.is_err() {
        let _ = ready.send(Err(
            "the Edge closed the connection before the bad record could be sent".to_owned(),
        ));
        return;
    }
    let _ = ready.send(Ok(format!("{what} sent")));
    let mut buffer = [0u8; 512];
    let answer = match tokio::time::timeout(ANSWER_WAIT, tls.read(&mut buffer)).await {
        Ok(Ok(0)) => "closed the connection".to_owned(),
        Ok(Ok(n)) => {
            ctx.log.observation(format!(
                "after {what}, the Edge sent {n} bytes of application data on the connection instead of ending it"
            ));
            return;
        }
        Ok(Err(e)) => match tls_error_of(&e) {
            Some(rustls::Error::AlertReceived(alert)) => {
                format!("ended the connection with the alert {alert:?}")
            }
            Some(other) => format!("ended the connection ({other})"),
            None => format!("ended the connection ({e})"),
        },
        Err(_) => {
            ctx.log.observation(format!(
                "after {what}, the Edge kept the connection open for {} ms (RFC 8446 §5.2 ends it with an alert)",
                ANSWER_WAIT.as_millis()
            ));
            return;
        }
    };
    ctx.log.finding(format!("after {what}, the Edge {answer}"));
}

/// A mutual TLS handshake presenting the long chain, then an OPTIONS: the
/// Edge refusing the chain (an alert, a close) or answering the OPTIONS
/// (it took the chain) is recorded; neither is judged.
pub(super) async fn long_chain(ctx: AbuseContext, ready: Ready) {
    let Some(identity) = ctx.long_chain.clone() else {
        let _ = ready.send(Err("no long chain was issued".to_owned()));
        return;
    };
    let certificates = identity.chain.len();
    let bytes: usize = identity.chain.iter().map(|c| c.as_ref().len()).sum();
    let config = match probe_client_config(
        Some(identity),
        TlsVersions::Tls12And13,
        ctx.key_log.clone(),
        ChainRecorder::default(),
    ) {
        Ok(config) => config,
        Err(e) => {
            let _ = ready.send(Err(format!("cannot build the TLS configuration: {e}")));
            return;
        }
    };
    ctx.log.note(format!(
        "presenting a chain of {certificates} certificates ({bytes} bytes)"
    ));
    let _ = ready.send(Ok(format!(
        "a handshake with {certificates} certificates under way"
    )));
    let answer = match connect_tls_recorded(
        Some(ctx.local_ip),
        ctx.remote,
        &ctx.server_name,
        config,
        CONNECT_BOUND,
    )
    .await
    {
        Ok((mut tls, record)) => {
            ctx.log.keep(&record);
            let options = format!(
                "OPTIONS sip:{server} SIP/2.0\r\nVia: SIP/2.0/TLS {local}:5061;branch=z9hG4bK-abuse-chain\r\nMax-Forwards: 70\r\nFrom: <sip:chain@{local}>;tag=abuse-chain\r\nTo: <sip:{server}>\r\nCall-ID: abuse-chain-{n:08x}@picharness\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
                server = ctx.server_name,
                local = ctx.local_ip,
                n = rand::random::<u32>()
            );
            if tls.write_all(options.as_bytes()).await.is_err() {
                "ended the connection right after the handshake".to_owned()
            } else {
                let mut buffer = [0u8; 512];
                match tokio::time::timeout(ANSWER_WAIT, tls.read(&mut buffer)).await {
                    Ok(Ok(0)) => "closed the connection after the handshake".to_owned(),
                    Ok(Ok(n)) => format!(
                        "took the chain and answered the OPTIONS: {:?}",
                        String::from_utf8_lossy(&buffer[..n])
                            .lines()
                            .next()
                            .unwrap_or_default()
                    ),
                    Ok(Err(e)) => match tls_error_of(&e) {
                        Some(rustls::Error::AlertReceived(alert)) => {
                            format!("refused the chain with the alert {alert:?}")
                        }
                        _ => format!("ended the connection ({e})"),
                    },
                    Err(_) => format!(
                        "completed the handshake and said nothing for {} ms",
                        ANSWER_WAIT.as_millis()
                    ),
                }
            }
        }
        Err((error, record)) => {
            if let Some(record) = &record {
                ctx.log.keep(record);
            }
            if harness_side(&error) {
                ctx.log
                    .harness_limit(format!("opening a connection: {error}"));
            }
            format!("refused the handshake: {error}")
        }
    };
    ctx.log.finding(format!(
        "with a chain of {certificates} certificates, the Edge {answer}"
    ));
}

/// One connection per old version, each with a hand-made ClientHello.
pub(super) async fn old_client_hello(ctx: AbuseContext, ready: Ready) {
    let ctx = Arc::new(ctx);
    let mut ready = Some(ready);
    let mut tried = 0;
    let mut accepted = Vec::new();
    let mut answers = Vec::new();
    for version in [SSL_3_0, TLS_1_0, TLS_1_1] {
        let name = version_name(version);
        let tcp = match tcp_connect(Some(ctx.local_ip), ctx.remote, CONNECT_BOUND).await {
            Ok(tcp) => tcp,
            Err(error) => {
                if harness_side(&error) {
                    ctx.log
                        .harness_limit(format!("opening a connection: {error}"));
                }
                answers.push(format!("{name}: could not connect ({error})"));
                continue;
            }
        };
        let Ok((mut stream, record)) = RecordingStream::from_tcp(tcp, TcpRole::Client) else {
            continue;
        };
        ctx.log.keep(&record);
        let hello = legacy_client_hello(version, rand::random(), &ctx.server_name);
        ctx.log.note(format!(
            "a ClientHello offering only {name} ({} bytes): {}",
            hello.len(),
            hex_preview(&hello)
        ));
        if stream.write_all(&hello).await.is_err() {
            answers.push(format!("{name}: the Edge closed before the hello was sent"));
            continue;
        }
        tried += 1;
        if let Some(ready) = ready.take() {
            let _ = ready.send(Ok(format!("a ClientHello offering only {name} sent")));
        }
        let answer = read_first_record(&mut stream).await;
        let said = match answer {
            Some(ServerFirst::ServerHello {
                version: chosen,
                cipher_suite,
            }) => {
                if chosen <= version {
                    accepted.push(format!(
                        "{name} (ServerHello {}, cipher suite 0x{cipher_suite:04x})",
                        version_name(chosen)
                    ));
                }
                format!(
                    "a ServerHello choosing {} and cipher suite 0x{cipher_suite:04x}",
                    version_name(chosen)
                )
            }
            Some(ServerFirst::Alert { level, description }) => {
                format!("the alert {} (level {level})", alert_name(description))
            }
            Some(ServerFirst::Other { content_type }) => {
                format!("a record of content type {content_type}")
            }
            Some(ServerFirst::Incomplete) => "a truncated record, then a close".to_owned(),
            None => "a close without a record, or nothing".to_owned(),
        };
        answers.push(format!("{name}: {said}"));
    }
    if let Some(ready) = ready.take() {
        let _ = ready.send(Err(format!(
            "no ClientHello could be sent: {}",
            answers.join("; ")
        )));
        return;
    }
    ctx.log.finding(format!(
        "old-protocol ClientHellos ({tried} sent) answered with: {}",
        answers.join("; ")
    ));
    if !accepted.is_empty() {
        ctx.log.observation(format!(
            "the Edge accepts old protocol versions no requirement of the catalogue names: {}",
            accepted.join(", ")
        ));
    }
}

/// The first record the server sends (up to its first 64 bytes), within
/// [`ANSWER_WAIT`]; `None` when it closes or says nothing.
async fn read_first_record<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> Option<ServerFirst> {
    let mut seen = Vec::new();
    let mut buffer = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + ANSWER_WAIT;
    loop {
        let read = tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await;
        match read {
            Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&buffer[..n]),
            _ => {
                return (!seen.is_empty()).then(|| parse_server_first(&seen));
            }
        }
        let parsed = parse_server_first(&seen);
        if parsed != ServerFirst::Incomplete || seen.len() >= 64 {
            return Some(parsed);
        }
    }
}

/// The first bytes of `bytes` in hex, for the transcript.
fn hex_preview(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes.iter().take(48).map(|b| format!("{b:02x}")).collect();
    let more = if bytes.len() > 48 { " ..." } else { "" };
    format!("{}{more}", shown.join(" "))
}
