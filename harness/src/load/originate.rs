//! An originating connection: a provider peer's (or the pool's) MTLS
//! connection to the Edge, on one task, that sends its share of the
//! offered rate and matches the final responses to its requests by
//! Call-ID. When the connection cannot be opened or breaks, it tries again
//! every second; meanwhile the transactions due are counted as attempts
//! that failed with a connection error, so the offered rate stays honest.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use picharness_wire::sip::{Frame, SipMessage, StreamDecoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc::UnboundedSender;

use super::capture::Capture;
use super::control::{Control, Pacer};
use super::dial::{Dial, Stream, dial};
use super::event::{Event, Outcome, What};
use super::mix::WeightedTurns;
use super::scenario::{ProviderUsers, RequestContext, Scenario};

/// How long opening a connection (TCP and TLS) may take.
/// How long to wait before opening a failed connection again.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);
/// How often outstanding transactions are checked for the timeout and
/// events handed to the collector.
const HOUSEKEEPING: Duration = Duration::from_millis(100);
/// The largest message the load roles accept.
const MAX_MESSAGE: usize = 64 * 1024;

/// What every connection shares.
pub struct Shared {
    pub control: Arc<Control>,
    pub providers: Vec<ProviderUsers>,
    pub sut_domain: String,
    pub users: u32,
    pub timeout: Duration,
    /// A random tag of the run, in every Call-ID and branch.
    pub nonce: String,
    pub events: UnboundedSender<Vec<Event>>,
    /// `--pcap-seconds`.
    pub capture: Arc<Capture>,
}

/// One originating connection.
pub struct Originator {
    pub id: u32,
    /// The sending role's FQDN (Via) and, for a peer, its provider.
    pub local_fqdn: String,
    pub provider: Option<ProviderUsers>,
    pub local_ip: IpAddr,
    pub remote: SocketAddr,
    pub server_name: String,
    pub tls: Arc<rustls::ClientConfig>,
    /// The scenarios it sends: (index in the mix, scenario, weight).
    pub scenarios: Vec<(u8, Arc<dyn Scenario>, u32)>,
    /// Its side's fraction of the offered rate, its index among the
    /// side's connections and their count.
    pub fraction: f64,
    pub index: u32,
    pub count: u32,
    /// With `--users`: how many transactions it keeps outstanding.
    pub window: Option<u32>,
}

struct Pending {
    sent: Instant,
    kind: u8,
    step: u16,
    /// Index in `Originator::scenarios`.
    scenario: usize,
}

/// What the reader and the writer of a connection share.
#[derive(Default)]
struct State {
    pending: HashMap<u64, Pending>,
    events: Vec<Event>,
    /// Responses arrived since the writer last looked (for `--users`).
    answered: u64,
}

/// Runs the connection until the run stops.
pub async fn run_originator(shared: Arc<Shared>, me: Originator) {
    let control = shared.control.clone();
    let mut pacer = Pacer::new(me.fraction, me.index, me.count);
    let mut turns = WeightedTurns::new(&me.scenarios.iter().map(|s| s.2).collect::<Vec<_>>());
    let mut seq: u64 = 0;
    loop {
        if control.is_stopping() {
            return;
        }
        match connect(&shared, &me).await {
            Ok(stream) => {
                let _open = control.opened();
                session(&shared, &me, stream, &mut pacer, &mut turns, &mut seq).await;
                if control.is_stopping() {
                    return;
                }
            }
            Err(e) => control.note(format!(
                "{} connection {} to {} ({}): {e}",
                me.local_fqdn, me.id, me.server_name, me.remote
            )),
        }
        // Down: what falls due until the next try fails at once.
        let retry_at = Instant::now() + RECONNECT_AFTER;
        let mut events = Vec::new();
        while Instant::now() < retry_at && !control.is_stopping() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let now = Instant::now();
            let due = match me.window {
                Some(w) => u64::from(w),
                None => pacer.due(control.due_by(now)),
            };
            let at_ms = control.ms(now);
            for _ in 0..due {
                let (_, kind) = pick(&me, &mut turns);
                let step = control.step();
                events.push(Event {
                    at_ms,
                    kind,
                    step,
                    what: What::Attempt,
                });
                events.push(Event {
                    at_ms,
                    kind,
                    step,
                    what: What::Done {
                        outcome: Outcome::Connection,
                        latency_us: 0,
                    },
                });
            }
            if me.window.is_some() {
                // A closed loop waits for the connection, it does not spin.
                tokio::time::sleep(RECONNECT_AFTER).await;
            }
        }
        if !events.is_empty() {
            let _ = shared.events.send(events);
        }
    }
}

fn pick(me: &Originator, turns: &mut WeightedTurns) -> (usize, u8) {
    let index = turns.next_index();
    (index, me.scenarios.get(index).map_or(0, |s| s.0))
}

async fn connect(shared: &Shared, me: &Originator) -> Result<Stream, String> {
    dial(Dial {
        local_ip: me.local_ip,
        remote: me.remote,
        server_name: &me.server_name,
        tls: &me.tls,
        capture: &shared.capture,
        no_delay: false,
    })
    .await
}

/// Serves one open connection until it breaks or the run is over.
async fn session(
    shared: &Shared,
    me: &Originator,
    stream: Stream,
    pacer: &mut Pacer,
    turns: &mut WeightedTurns,
    seq: &mut u64,
) {
    let (reader, writer) = tokio::io::split(stream);
    let state = Mutex::new(State::default());
    let notify = tokio::sync::Notify::new();
    let ended = tokio::select! {
        why = read_responses(shared, me, reader, &state, &notify) => why,
        why = send_requests(shared, me, writer, &state, &notify, pacer, turns, seq) => why,
    };
    // Whatever is still outstanding failed with the connection.
    let now = Instant::now();
    let at_ms = shared.control.ms(now);
    if let Ok(mut state) = state.lock() {
        let outcome = if shared.control.is_abandoned() {
            Outcome::Abandoned
        } else {
            Outcome::Connection
        };
        let pending: Vec<Pending> = state.pending.drain().map(|(_, p)| p).collect();
        for p in pending {
            state.events.push(Event {
                at_ms,
                kind: p.kind,
                step: p.step,
                what: What::Done {
                    outcome,
                    latency_us: 0,
                },
            });
        }
        let events = std::mem::take(&mut state.events);
        let _ = shared.events.send(events);
    }
    if let Some(why) = ended {
        shared.control.note(format!(
            "{} connection {} to {}: {why}",
            me.local_fqdn, me.id, me.server_name
        ));
    }
}

/// Reads final responses and settles their transactions; returns why
/// the connection ended.
async fn read_responses(
    shared: &Shared,
    me: &Originator,
    mut reader: tokio::io::ReadHalf<Stream>,
    state: &Mutex<State>,
    notify: &tokio::sync::Notify,
) -> Option<String> {
    let mut decoder = StreamDecoder::new(MAX_MESSAGE);
    let mut buffer = vec![0u8; 32 * 1024];
    loop {
        let n = match reader.read(&mut buffer).await {
            Ok(0) => return Some("the Edge closed the connection".to_owned()),
            Ok(n) => n,
            Err(e) => return Some(format!("read failed: {e}")),
        };
        decoder.push(&buffer[..n]);
        let now = Instant::now();
        loop {
            match decoder.next_frame() {
                Ok(None) => break,
                Ok(Some(Frame::Message(bytes))) => {
                    let Ok(message) = SipMessage::parse(&bytes) else {
                        return Some("the Edge sent an unparseable message".to_owned());
                    };
                    settle(shared, me, state, &message, now);
                }
                Ok(Some(Frame::Ping | Frame::Pong)) => {}
                Err(e) => return Some(format!("the Edge's stream cannot be framed: {e}")),
            }
        }
        if me.window.is_some() {
            notify.notify_one();
        }
    }
}

/// Matches a final response to its transaction.
fn settle(
    shared: &Shared,
    me: &Originator,
    state: &Mutex<State>,
    response: &SipMessage,
    now: Instant,
) {
    let Some(code) = response.status() else {
        // A request on our client connection: not ours to answer here.
        return;
    };
    if code < 200 {
        return;
    }
    let Some(seq) = response.call_id().and_then(|id| our_seq(id, me.id)) else {
        return;
    };
    let Ok(mut state) = state.lock() else {
        return;
    };
    let Some(pending) = state.pending.remove(&seq) else {
        // A late answer to a transaction already counted as timed out.
        return;
    };
    state.answered += 1;
    let outcome = if (200..300).contains(&code) {
        Outcome::Success
    } else {
        Outcome::Status(code)
    };
    let latency = now.saturating_duration_since(pending.sent);
    state.events.push(Event {
        at_ms: shared.control.ms(now),
        kind: pending.kind,
        step: pending.step,
        what: What::Done {
            outcome,
            latency_us: u32::try_from(latency.as_micros()).unwrap_or(u32::MAX),
        },
    });
    drop(state);
    if let Some((_, scenario, _)) = me.scenarios.get(pending.scenario) {
        scenario.on_final_response(response);
    }
}

/// The transaction number of a Call-ID `<seq>.<connection>.<nonce>` of
/// connection `connection`.
fn our_seq(call_id: &str, connection: u32) -> Option<u64> {
    let mut parts = call_id.splitn(3, '.');
    let seq = parts.next()?.parse().ok()?;
    let conn: u32 = parts.next()?.parse().ok()?;
    (conn == connection).then_some(seq)
}

/// Sends requests as they fall due; returns why it stopped (`None` when
/// the run is over and nothing is outstanding).
#[expect(
    clippy::too_many_arguments,
    reason = "one call site, the session's parts"
)]
async fn send_requests(
    shared: &Shared,
    me: &Originator,
    mut writer: tokio::io::WriteHalf<Stream>,
    state: &Mutex<State>,
    notify: &tokio::sync::Notify,
    pacer: &mut Pacer,
    turns: &mut WeightedTurns,
    seq: &mut u64,
) -> Option<String> {
    let control = &shared.control;
    let mut out: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut call_id = String::with_capacity(64);
    let mut last_housekeeping = Instant::now();
    loop {
        let rate = control.rate();
        if me.window.is_some() {
            tokio::select! {
                () = notify.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        } else {
            tokio::time::sleep(pacer.wake_after(rate)).await;
        }
        let now = Instant::now();
        let stopping = control.is_stopping();
        if !stopping {
            let due = {
                let Ok(state) = state.lock() else {
                    return Some("internal state lock poisoned".to_owned());
                };
                match me.window {
                    Some(w) => u64::from(w).saturating_sub(state.pending.len() as u64),
                    None => pacer.due(control.due_by(now)),
                }
            };
            if due > 0 {
                write_due(
                    shared,
                    me,
                    state,
                    &mut out,
                    &mut call_id,
                    turns,
                    seq,
                    due,
                    now,
                );
                if let Err(e) = writer.write_all(&out).await {
                    return Some(format!("write failed: {e}"));
                }
                out.clear();
            }
        }
        if stopping || now.saturating_duration_since(last_housekeeping) >= HOUSEKEEPING {
            last_housekeeping = now;
            let outstanding = housekeeping(shared, state, now);
            if stopping && (outstanding == 0 || control.is_abandoned()) {
                let _ = writer.shutdown().await;
                return None;
            }
        }
    }
}

/// Writes `due` requests into `out` and registers them.
#[expect(clippy::too_many_arguments, reason = "the writer's working set")]
fn write_due(
    shared: &Shared,
    me: &Originator,
    state: &Mutex<State>,
    out: &mut Vec<u8>,
    call_id: &mut String,
    turns: &mut WeightedTurns,
    seq: &mut u64,
    due: u64,
    now: Instant,
) {
    let Ok(mut state) = state.lock() else {
        return;
    };
    let step = shared.control.step();
    let at_ms = shared.control.ms(now);
    for _ in 0..due {
        *seq += 1;
        let (index, kind) = pick(me, turns);
        let Some((_, scenario, _)) = me.scenarios.get(index) else {
            continue;
        };
        call_id.clear();
        let _ = write!(call_id, "{}.{}.{}", seq, me.id, shared.nonce);
        let ctx = RequestContext {
            local_fqdn: &me.local_fqdn,
            provider: me.provider.as_ref(),
            providers: &shared.providers,
            sut_domain: &shared.sut_domain,
            seq: *seq,
            connection: me.id,
            users: shared.users,
            call_id,
            branch: call_id,
        };
        scenario.write_request(&ctx, out);
        state.pending.insert(
            *seq,
            Pending {
                sent: now,
                kind,
                step,
                scenario: index,
            },
        );
        state.events.push(Event {
            at_ms,
            kind,
            step,
            what: What::Attempt,
        });
    }
}

/// Fails the transactions past the timeout and hands the events to the
/// collector; returns how many are still outstanding.
fn housekeeping(shared: &Shared, state: &Mutex<State>, now: Instant) -> usize {
    let Ok(mut state) = state.lock() else {
        return 0;
    };
    let timeout = shared.timeout;
    let at_ms = shared.control.ms(now);
    let expired: Vec<u64> = state
        .pending
        .iter()
        .filter(|(_, p)| now.saturating_duration_since(p.sent) >= timeout)
        .map(|(seq, _)| *seq)
        .collect();
    for seq in expired {
        if let Some(p) = state.pending.remove(&seq) {
            state.events.push(Event {
                at_ms,
                kind: p.kind,
                step: p.step,
                what: What::Done {
                    outcome: Outcome::Timeout,
                    latency_us: 0,
                },
            });
        }
    }
    if !state.events.is_empty() {
        let events = std::mem::take(&mut state.events);
        let _ = shared.events.send(events);
    }
    state.pending.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_ids_of_other_connections_are_not_ours() {
        assert_eq!(our_seq("17.3.ab12cd", 3), Some(17));
        assert_eq!(our_seq("17.4.ab12cd", 3), None);
        assert_eq!(our_seq("garbage", 3), None);
        assert_eq!(our_seq("", 3), None);
    }
}
