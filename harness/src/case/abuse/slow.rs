//! The slow abuses: connections that hold the Edge's resources without
//! finishing anything. Slowloris sends a request one byte every
//! [`SLOW_BYTE_INTERVAL`]; idle connections complete mutual TLS and say
//! nothing; silent connections never send a ClientHello; partial ones send
//! half of one. Each connection is watched while the abuse holds: when the
//! Edge closes it, and after how long, becomes a finding (no requirement
//! sets an idle bound, so none is judged).

use std::sync::Arc;
use std::time::{Duration, Instant};

use picharness_simulators::tls::{
    ChainRecorder, RecordingStream, TcpRole, TlsVersions, probe_client_config, tcp_connect,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use super::{AbuseContext, CONNECT_BOUND, harness_side};
use crate::scenario::{
    IDLE_CONNECTIONS, SILENT_CONNECTIONS, SLOW_BYTE_INTERVAL, SLOWLORIS_CONNECTIONS,
};

/// How long an abuse opens connections before it counts as in place with
/// what is open by then.
const READY_AFTER: Duration = Duration::from_secs(8);
/// Connection attempts in flight at once while an abuse sets up.
const OPENING_AT_ONCE: usize = 16;
/// After this many attempts failed at the Edge's side, an abuse stops
/// opening more: the Edge is refusing, and the probe will tell whether it
/// still serves others.
const FAILURES_BEFORE_GIVING_UP: usize = 16;

type Ready = oneshot::Sender<Result<String, String>>;

/// A held connection, TLS or plain TCP.
trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<S: AsyncRead + AsyncWrite + Send + Unpin> Stream for S {}

/// How one held connection ended.
struct Held {
    /// When the Edge closed it, measured from when the abuse had it open.
    closed_after: Option<Duration>,
    /// The first line of anything the Edge sent on it.
    answer: Option<String>,
    /// Bytes of the request sent on it.
    sent: usize,
}

/// Opens up to `count` connections with `open`, [`OPENING_AT_ONCE`] at a
/// time, keeping each for the trace and holding each (trickling
/// `trickle`) from the moment it opens until the abuse stops. The abuse is
/// in place (`ready`) when every attempt is done, or after [`READY_AFTER`]
/// with what is open by then while the rest keep opening: an Edge slow to
/// accept is then probed while it is still being loaded. A failure on the
/// harness's side is logged as its limit.
async fn open_and_hold<F, Fut>(
    ctx: Arc<AbuseContext>,
    count: usize,
    open: F,
    trickle: Vec<u8>,
    what: &str,
    ready: Ready,
) where
    F: Fn(Arc<AbuseContext>) -> Fut,
    Fut: std::future::Future<Output = Result<Box<dyn Stream>, String>> + Send + 'static,
{
    let mut ready = Some(ready);
    let ready_at = tokio::time::Instant::now() + READY_AFTER;
    let mut opened = 0usize;
    let mut failed = 0usize;
    let mut first_failure = None;
    let mut started = 0usize;
    let mut abandoned = 0usize;
    let mut attempts = JoinSet::new();
    let mut holders = JoinSet::new();
    let summary =
        |opened: usize, started: usize, failed: usize, abandoned: usize, first: &Option<String>| {
            let mut summary = format!("{opened} of {count} connections open");
            if started < count {
                summary.push_str(&format!(" ({} not attempted)", count - started));
            }
            if let Some(first) = first {
                summary.push_str(&format!("; {failed} failed, the first: {first}"));
            }
            if abandoned > 0 {
                summary.push_str(&format!(
                    "; {abandoned} attempts still under way were given up after {failed} failures"
                ));
            }
            summary
        };
    loop {
        while started < count
            && attempts.len() < OPENING_AT_ONCE
            && failed < FAILURES_BEFORE_GIVING_UP
            && !ctx.is_stopped()
        {
            attempts.spawn(open(ctx.clone()));
            started += 1;
        }
        if failed >= FAILURES_BEFORE_GIVING_UP && !attempts.is_empty() {
            // The Edge is refusing: what is still trying is given up on.
            abandoned += attempts.len();
            attempts.abort_all();
            while attempts.join_next().await.is_some() {}
        }
        if attempts.is_empty() {
            break;
        }
        let done = tokio::select! {
            done = attempts.join_next() => done,
            () = tokio::time::sleep_until(ready_at), if ready.is_some() && opened > 0 => {
                if let Some(ready) = ready.take() {
                    let so_far = summary(opened, started, failed, abandoned, &first_failure);
                    let _ = ready.send(Ok(format!("{so_far} after {} ms; more still opening", READY_AFTER.as_millis())));
                }
                continue;
            }
        };
        match done {
            Some(Ok(Ok(stream))) => {
                opened += 1;
                holders.spawn(hold(ctx.clone(), stream, trickle.clone()));
            }
            Some(Ok(Err(why))) => {
                failed += 1;
                first_failure.get_or_insert(why);
            }
            Some(Err(e)) => {
                failed += 1;
                first_failure.get_or_insert(format!("the attempt's task failed: {e}"));
            }
            None => break,
        }
    }
    let summary = summary(opened, started, failed, abandoned, &first_failure);
    ctx.log.note(format!("set up: {summary}"));
    if let Some(ready) = ready.take() {
        let _ = ready.send(if opened == 0 {
            Err(summary)
        } else {
            Ok(summary)
        });
    }
    let held_from = Instant::now();
    let mut held = Vec::new();
    while let Some(done) = holders.join_next().await {
        if let Ok(h) = done {
            held.push(h);
        }
    }
    if !held.is_empty() {
        judge_held(&ctx, what, &held, held_from.elapsed());
    }
}

/// How long a held connection waits for the Edge's own close once the
/// abuse stops.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// A mutual TLS connection with the abusing peer's own certificate.
async fn open_tls(
    ctx: Arc<AbuseContext>,
    config: Arc<rustls::ClientConfig>,
) -> Result<Box<dyn Stream>, String> {
    let tls = super::tls_abuse::connect_mutual(&ctx, config).await?;
    Ok(Box::new(tls))
}

fn mutual_tls_config(ctx: &AbuseContext) -> Result<Arc<rustls::ClientConfig>, String> {
    probe_client_config(
        Some(ctx.identity.clone()),
        TlsVersions::Tls12And13,
        ctx.key_log.clone(),
        ChainRecorder::default(),
    )
    .map_err(|e| format!("cannot build the abuse's TLS configuration: {e}"))
}

/// Holds `stream` until the abuse stops or the Edge closes it, sending
/// `trickle` one byte every [`SLOW_BYTE_INTERVAL`] (the first at once).
async fn hold<S>(ctx: Arc<AbuseContext>, stream: S, trickle: Vec<u8>) -> Held
where
    S: AsyncRead + AsyncWrite + Send + Unpin,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let held_from = Instant::now();
    let mut held = Held {
        closed_after: None,
        answer: None,
        sent: 0,
    };
    let mut buffer = vec![0u8; 4096];
    let mut next_byte = tokio::time::Instant::now();
    loop {
        let trickling = held.sent < trickle.len();
        tokio::select! {
            () = ctx.stopped() => {
                // Close our side and wait, bounded, for the Edge to close
                // its own: then it has handled the close (and the half-sent
                // request) before the probe after the abuse runs.
                let _ = writer.shutdown().await;
                let _ = tokio::time::timeout(CLOSE_WAIT, async {
                    while matches!(reader.read(&mut buffer).await, Ok(n) if n > 0) {}
                })
                .await;
                break;
            }
            () = tokio::time::sleep_until(next_byte), if trickling => {
                if writer.write_all(&trickle[held.sent..=held.sent]).await.is_err() {
                    held.closed_after = Some(held_from.elapsed());
                    break;
                }
                held.sent += 1;
                next_byte += SLOW_BYTE_INTERVAL;
            }
            read = reader.read(&mut buffer) => match read {
                Ok(0) | Err(_) => {
                    held.closed_after = Some(held_from.elapsed());
                    break;
                }
                Ok(n) => {
                    let text = String::from_utf8_lossy(&buffer[..n]);
                    held.answer.get_or_insert_with(|| {
                        text.lines().next().unwrap_or_default().chars().take(120).collect()
                    });
                }
            },
        }
    }
    held
}

/// Says how the Edge treated the held connections, as findings.
fn judge_held(ctx: &AbuseContext, what: &str, held: &[Held], held_for: Duration) {
    let closed: Vec<u128> = held
        .iter()
        .filter_map(|h| h.closed_after.map(|d| d.as_millis()))
        .collect();
    let open = held.len() - closed.len();
    let sent: usize = held.iter().map(|h| h.sent).sum();
    if sent > 0 {
        ctx.log
            .note(format!("{sent} bytes of the request sent in all"));
    }
    let finding = match (closed.iter().min(), closed.iter().max()) {
        (Some(first), Some(last)) => format!(
            "the Edge closed {} of {} {what} after {first} to {last} ms and kept {open} open for the {} ms the abuse held (no requirement sets a bound)",
            closed.len(),
            held.len(),
            held_for.as_millis()
        ),
        _ => format!(
            "the Edge kept all {} {what} open for the {} ms the abuse held (no requirement sets a bound)",
            held.len(),
            held_for.as_millis()
        ),
    };
    ctx.log.finding(finding);
    for answer in held.iter().filter_map(|h| h.answer.as_deref()) {
        ctx.log
            .note(format!("the Edge sent on a {what}: {answer:?}"));
        if answer.starts_with("SIP/2.0 2") {
            ctx.log.wrong(format!(
                "the Edge accepted an incomplete request on a {what}: {answer:?}"
            ));
        }
    }
}

pub(super) async fn slowloris(ctx: AbuseContext, ready: Ready) {
    let ctx = Arc::new(ctx);
    let config = match mutual_tls_config(&ctx) {
        Ok(config) => config,
        Err(why) => {
            let _ = ready.send(Err(why));
            return;
        }
    };
    let message = ctx.message.clone();
    let open = |ctx| open_tls(ctx, config.clone());
    open_and_hold(
        ctx,
        SLOWLORIS_CONNECTIONS,
        open,
        message,
        "slow connections",
        ready,
    )
    .await;
}

pub(super) async fn idle_connections(ctx: AbuseContext, ready: Ready) {
    let ctx = Arc::new(ctx);
    let config = match mutual_tls_config(&ctx) {
        Ok(config) => config,
        Err(why) => {
            let _ = ready.send(Err(why));
            return;
        }
    };
    let open = |ctx| open_tls(ctx, config.clone());
    open_and_hold(
        ctx,
        IDLE_CONNECTIONS,
        open,
        Vec::new(),
        "idle connections",
        ready,
    )
    .await;
}

/// TCP connections that never send a ClientHello, or (`partial`) send the
/// first half of one and stop.
pub(super) async fn silent_connections(ctx: AbuseContext, ready: Ready, partial: bool) {
    let ctx = Arc::new(ctx);
    let hello = if partial {
        match client_hello_half(&ctx) {
            Ok(half) => half,
            Err(why) => {
                let _ = ready.send(Err(why));
                return;
            }
        }
    } else {
        Vec::new()
    };
    let what = if partial {
        ctx.log.note(format!(
            "each sends the first {} bytes of a ClientHello",
            hello.len()
        ));
        "connections with half a ClientHello"
    } else {
        "connections without a ClientHello"
    };
    let open = |ctx| open_tcp(ctx, hello.clone());
    open_and_hold(ctx, SILENT_CONNECTIONS, open, Vec::new(), what, ready).await;
}

/// A TCP connection that sends `first` (maybe nothing) and then waits.
async fn open_tcp(ctx: Arc<AbuseContext>, first: Vec<u8>) -> Result<Box<dyn Stream>, String> {
    let tcp = match tcp_connect(Some(ctx.local_ip), ctx.remote, CONNECT_BOUND).await {
        Ok(tcp) => tcp,
        Err(error) => {
            if harness_side(&error) {
                ctx.log
                    .harness_limit(format!("opening a connection: {error}"));
            }
            return Err(error.to_string());
        }
    };
    let (mut stream, record) = RecordingStream::from_tcp(tcp, TcpRole::Client)
        .map_err(|e| format!("socket error: {e}"))?;
    ctx.log.keep(&record);
    if !first.is_empty() && stream.write_all(&first).await.is_err() {
        return Err(
            "the Edge closed the connection before the partial ClientHello was sent".into(),
        );
    }
    Ok(Box::new(stream))
}

/// The first half of the ClientHello a mutual TLS peer would send,
/// produced by rustls without a socket.
fn client_hello_half(ctx: &AbuseContext) -> Result<Vec<u8>, String> {
    let config = mutual_tls_config(ctx)?;
    let name = rustls_pki_types::ServerName::try_from(ctx.server_name.clone())
        .map_err(|e| format!("invalid server name {:?}: {e}", ctx.server_name))?;
    let mut client = rustls::ClientConnection::new(config, name)
        .map_err(|e| format!("cannot start a ClientHello: {e}"))?;
    let mut hello = Vec::new();
    client
        .write_tls(&mut hello)
        .map_err(|e| format!("cannot write a ClientHello: {e}"))?;
    hello.truncate(hello.len() / 2);
    Ok(hello)
}
