//! Many requests pipelined on one connection (SIP-04: over a stream the
//! receiver delimits messages by their Content-Length, so requests sent
//! back to back in one write are each a request). A fresh good peer writes
//! [`PIPELINED`] MESSAGEs for the case's Lync user in one write; the pool
//! answers each 200 as it arrives; every one must get a final answer on
//! the connection within [`PIPELINE_BOUND`]. Fewer answers fail the case
//! naming how many; answers in another order than the requests were sent,
//! or other than the pool's 200, are recorded as observations (RFC 3261
//! orders nothing across transactions).
//!
//! The MESSAGEs' Call-IDs start with the probe prefix: they are good
//! traffic, which the no-malformed-inward check passes over.

use std::collections::BTreeSet;
use std::time::Duration;

use picharness_reports::FindingKind;
use picharness_wire::sip::{DEFAULT_MAX_MESSAGE_SIZE, StreamDecoder};
use tokio::io::AsyncWriteExt;

use super::liveness_probe::{PROBE_CALL_ID_PREFIX, fresh_connection};
use super::mtls_legacy::{Read, read_response};
use super::mtls_refusal::io_refusal;
use crate::case::execute::CaseRun;
use crate::case::outcome::Outcome;
use crate::scenario::{Actor, render_message};

/// How many MESSAGEs go in the one write.
pub(crate) const PIPELINED: usize = 200;

/// How long all of them may take to be answered (a good Edge needs well
/// under a second on loopback).
pub(crate) const PIPELINE_BOUND: Duration = Duration::from_secs(20);

/// The first words of the verdict reason when answers are missing.
pub(crate) const PIPELINE_FAIL: &str = "did not answer every pipelined request";

const TEMPLATE: &str = "MESSAGE sip:{user.lync}@{sut.domain} SIP/2.0
Via: SIP/2.0/TLS {local.fqdn}:5061;branch={branch}
Max-Forwards: 70
From: <sip:{user.peer}@{peer.domain}>;tag={tag}
To: <sip:{user.lync}@{sut.domain}>
Call-ID: {probe.call_id}
CSeq: 1 MESSAGE
Content-Type: text/plain; charset=UTF-8
Content-Length: {content_length}

{pipelined.text}
";

pub(super) async fn check_pipelined(run: &mut CaseRun<'_>, actor: &Actor) -> Result<(), Outcome> {
    let started = std::time::Instant::now();
    let mut tls = fresh_connection(run, actor, "pipelining").await?;
    let sip_actor = run.actor(actor)?;
    run.vars.set("local.fqdn", sip_actor.fqdn().to_owned());
    let peer = actor.name().to_owned();
    run.vars
        .set("tag", format!("{peer}-{:08x}", rand::random::<u32>()));
    let run_id = rand::random::<u32>();
    let mut call_ids = Vec::with_capacity(PIPELINED);
    let mut batch = Vec::new();
    for n in 1..=PIPELINED {
        let call_id = format!("{PROBE_CALL_ID_PREFIX}pipelined-{run_id:08x}-{n}@picharness");
        run.vars.set("probe.call_id", call_id.clone());
        run.vars.set(
            "branch",
            format!("z9hG4bK-ph-{:016x}", rand::random::<u64>()),
        );
        run.vars.set(
            "pipelined.text",
            format!("Pipelined MESSAGE {n} of {PIPELINED}."),
        );
        let message = render_message(TEMPLATE, &run.vars);
        if n == 1 {
            run.note(format!(
                "pipelining: {PIPELINED} MESSAGEs like this one, each with its own Call-ID and branch, in one write:\n{}",
                String::from_utf8_lossy(&message)
            ));
        }
        batch.extend_from_slice(&message);
        call_ids.push(call_id);
    }
    if let Err(e) = tls.write_all(&batch).await {
        return Err(Outcome::fail(format!(
            "{PIPELINE_FAIL}: the Edge ended the connection with {} while {PIPELINED} pipelined MESSAGEs ({} bytes) were being written",
            io_refusal(&e),
            batch.len()
        )));
    }
    run.note(format!(
        "pipelining: {} bytes written in one write",
        batch.len()
    ));
    let index_of =
        |call_id: Option<&str>| call_ids.iter().position(|c| Some(c.as_str()) == call_id);
    let mut decoder = StreamDecoder::new(DEFAULT_MAX_MESSAGE_SIZE);
    let mut buffer = vec![0u8; 16 * 1024];
    let deadline = tokio::time::Instant::now() + PIPELINE_BOUND.min(run.time_left());
    let mut answered: Vec<(usize, u16)> = Vec::new();
    let mut answered_set = BTreeSet::new();
    let mut relayed: Vec<usize> = Vec::new();
    let mut ended: Option<String> = None;
    while answered.len() < PIPELINED {
        let wait = deadline.saturating_duration_since(tokio::time::Instant::now());
        if wait.is_zero() {
            break;
        }
        tokio::select! {
            read = read_response(&mut tls, &mut decoder, &mut buffer, deadline) => {
                match read? {
                    Read::Response(response) => {
                        let status = response.status().unwrap_or(0);
                        match index_of(response.call_id()) {
                            Some(index) if status >= 200 && answered_set.insert(index) => {
                                answered.push((index, status));
                            }
                            Some(_) => {}
                            None => run.note(format!(
                                "pipelining: {} answers none of the pipelined MESSAGEs",
                                response.summary()
                            )),
                        }
                    }
                    Read::Closed(how) => {
                        ended = Some(format!("the Edge ended the connection with {how}"));
                        break;
                    }
                    Read::Silence => break,
                }
            }
            arrival = run.next_arrival_to_answer(wait) => match arrival {
                Some((at, message)) if at == "pool" && index_of(message.call_id()).is_some() => {
                    if let Some(index) = index_of(message.call_id()) {
                        relayed.push(index);
                    }
                    run.reply(&Actor::Pool, 200, Some("MESSAGE"), None)?;
                }
                Some((at, message)) => run.note(format!(
                    "pipelining: {} at {at} is not one of the pipelined MESSAGEs; left to the other checks",
                    message.summary()
                )),
                None => {}
            },
        }
    }
    let missing = PIPELINED - answered.len();
    if missing > 0 {
        let first_missing = (0..PIPELINED)
            .find(|i| !answered_set.contains(i))
            .map_or(0, |i| i + 1);
        let why = ended.unwrap_or_else(|| {
            format!("nothing more came within {} ms", PIPELINE_BOUND.as_millis())
        });
        return Err(Outcome::fail(format!(
            "{PIPELINE_FAIL}: of {PIPELINED} MESSAGEs pipelined in one write on one connection (SIP-04: each delimited by its Content-Length), {} were answered and {} reached the pool; the first unanswered is number {first_missing}; {why}",
            answered.len(),
            relayed.len()
        )));
    }
    let in_order = |order: &[usize]| order.windows(2).all(|w| w[0] < w[1]);
    if !in_order(&relayed) {
        run.record_finding(
            FindingKind::Observation,
            "SIP-04",
            format!(
                "the Edge relayed the {PIPELINED} pipelined MESSAGEs to the pool in another order than they were sent"
            ),
        );
    }
    let answer_order: Vec<usize> = answered.iter().map(|(i, _)| *i).collect();
    if !in_order(&answer_order) {
        run.record_finding(
            FindingKind::Observation,
            "SIP-04",
            format!(
                "the answers to the {PIPELINED} pipelined MESSAGEs came back in another order than the requests were sent"
            ),
        );
    }
    let not_ok: Vec<&(usize, u16)> = answered.iter().filter(|(_, s)| *s != 200).collect();
    if let Some((index, status)) = not_ok.first() {
        run.record_finding(
            FindingKind::Observation,
            "SIP-04",
            format!(
                "{} of the {PIPELINED} pipelined MESSAGEs were answered with other than the pool's 200 (number {} with {status})",
                not_ok.len(),
                index + 1
            ),
        );
    }
    run.note(format!(
        "pipelining: all {PIPELINED} pipelined MESSAGEs answered ({} relayed to the pool) in {} ms",
        relayed.len(),
        started.elapsed().as_millis()
    ));
    Ok(())
}
