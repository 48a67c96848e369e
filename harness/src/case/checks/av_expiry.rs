//! Allocation lifetime (AV-10, RFC 5766 §7): an Allocate asking for a short
//! LIFETIME, a packet through the relay, a Refresh before expiry that keeps
//! the relay alive past the first lifetime, then no refresh: after the
//! granted lifetime the relay must stop forwarding and a Refresh must get
//! 437 Allocation Mismatch. RFC 5766 §6.2 lets the server choose the
//! lifetime; against an Edge that grants more than the run waits out
//! (coturn grants 600 s whatever is asked) the property still applies but
//! cannot be judged in time, so the case is inconclusive naming the granted
//! lifetime and `--av-expiry-wait`, which makes it wait that long.

use std::time::Duration;

use picharness_reports::Verdict;
use picharness_simulators::av::{RecordingUdp, TurnClient};
use picharness_wire::stun::{Class, attr, method};
use tokio::time::{Instant, sleep};

use super::super::execute::CaseRun;
use super::super::outcome::Outcome;
use super::av::{
    RELAY_WAIT, StunTransport, av_view, connect, expect_at_peer, harness_error, judged,
    peer_socket, release,
};
use crate::topology::DEFAULT_EXPIRY_WAIT_SECS;

/// The lifetime asked for, in seconds.
const ASKED: u32 = 2;
/// How far past the lifetime the case judges, for timer slack.
const SLACK: Duration = Duration::from_millis(600);
/// How long a packet through a relay that should be gone is waited for.
const SILENCE: Duration = Duration::from_millis(800);

/// Refresh with `lifetime`; the raw answer.
async fn refresh(
    client: &mut TurnClient,
    lifetime: u32,
    deadline: Instant,
) -> Result<picharness_wire::stun::StunMessage, Outcome> {
    client
        .authenticated(
            method::REFRESH,
            |b| b.u32_value(attr::LIFETIME, lifetime),
            deadline,
        )
        .await
        .map_err(|e| judged("Refresh", e))
}

/// Whether anything arrives at `peer` before `SILENCE` passes.
async fn peer_hears(peer: &RecordingUdp) -> bool {
    peer.recv_until(Instant::now() + SILENCE).await.is_some()
}

/// The verdict when the granted lifetime is longer than the run waits out:
/// AV-10 applies, but the harness cannot judge it in time.
fn too_long(granted: u32, max_wait: u32, what: &str) -> Outcome {
    Outcome::new(
        Verdict::Inconclusive,
        format!(
            "{what} {granted} s for a requested {ASKED} s (RFC 5766 §6.2 lets the server choose); judging expiry would take about {} s, more than this run waits ({max_wait} s): run with --av-expiry-wait {granted} to wait it out",
            u64::from(granted) * 8 / 5 + 1
        ),
    )
}

/// How much longer than its own timeout a case running the expiry check
/// may take when the run waits out lifetimes up to `max_wait` seconds.
pub(crate) fn extra_time(max_wait: u32) -> Duration {
    if max_wait <= DEFAULT_EXPIRY_WAIT_SECS {
        return Duration::ZERO;
    }
    Duration::from_secs(u64::from(max_wait) * 2)
}

pub(crate) async fn turn_allocation_expiry(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let view = av_view(run)?;
    let mut client = connect(run, &view, StunTransport::Udp).await?;
    let response = client
        .authenticated(
            method::ALLOCATE,
            |b| {
                b.attribute(attr::REQUESTED_TRANSPORT, &[17, 0, 0, 0])
                    .u32_value(attr::LIFETIME, ASKED)
            },
            run.deadline,
        )
        .await
        .map_err(|e| judged("Allocate", e))?;
    if response.class != Class::SuccessResponse {
        return Err(Outcome::fail(format!(
            "Allocate asking for LIFETIME {ASKED} got {}",
            response.summary()
        )));
    }
    let (Some(relayed), Some(granted)) = (
        response.xor_address(attr::XOR_RELAYED_ADDRESS),
        response.u32_value(attr::LIFETIME),
    ) else {
        return Err(Outcome::fail(
            "the Allocate success response lacks XOR-RELAYED-ADDRESS or LIFETIME",
        ));
    };
    run.note(format!(
        "asked LIFETIME {ASKED} s, granted {granted} s, relay {relayed}"
    ));
    let max_wait = view.expiry_wait_secs;
    if granted > max_wait {
        release(run, &mut client).await;
        return Err(too_long(granted, max_wait, "the A/V Edge granted"));
    }
    if granted == 0 {
        return Err(Outcome::fail(
            "the Allocate success response grants LIFETIME 0",
        ));
    }
    let lifetime = Duration::from_secs(u64::from(granted));
    let peer = peer_socket(run, &view).await?;
    let peer_address = peer.local();
    client
        .create_permission(peer_address, run.deadline)
        .await
        .map_err(|e| judged("CreatePermission", e))?;
    let io = |e| harness_error("send through the relay", &e);

    // Refresh at 60% of the lifetime, then relay past the original expiry.
    sleep(lifetime.mul_f32(0.6)).await;
    let refreshed = refresh(&mut client, granted, run.deadline).await?;
    let refreshed_at = Instant::now();
    if refreshed.class != Class::SuccessResponse {
        return Err(Outcome::fail(format!(
            "a Refresh before the lifetime ran out got {} (AV-10)",
            refreshed.summary()
        )));
    }
    let renewed = refreshed.u32_value(attr::LIFETIME).unwrap_or(granted);
    if renewed > max_wait {
        release(run, &mut client).await;
        return Err(too_long(renewed, max_wait, "the Refresh granted"));
    }
    sleep(lifetime.mul_f32(0.6)).await;
    client
        .send_indication(peer_address, b"kept-alive")
        .await
        .map_err(io)?;
    if let Err(outcome) = expect_at_peer(
        run,
        &peer,
        relayed,
        b"kept-alive",
        "a Send indication after the Refresh",
    )
    .await
    {
        release(run, &mut client).await;
        return Err(Outcome::fail(format!(
            "{} past the first lifetime, though a Refresh renewed it (AV-10)",
            outcome.reason
        )));
    }

    // No more refreshes: past the renewed lifetime the relay must be gone.
    let expiry = refreshed_at + Duration::from_secs(u64::from(renewed)) + SLACK;
    tokio::time::sleep_until(expiry.min(run.deadline)).await;
    client
        .send_indication(peer_address, b"after-expiry")
        .await
        .map_err(io)?;
    if peer_hears(&peer).await {
        release(run, &mut client).await;
        return Err(Outcome::fail(format!(
            "the relay {relayed} still forwards to the peer {} ms after its {renewed} s lifetime ran out unrefreshed (AV-10)",
            SLACK.as_millis()
        )));
    }
    let late = refresh(
        &mut client,
        granted,
        (Instant::now() + RELAY_WAIT).min(run.deadline),
    )
    .await?;
    if late.class == Class::SuccessResponse {
        release(run, &mut client).await;
        return Err(Outcome::fail(format!(
            "a Refresh after its {renewed} s lifetime ran out succeeded, so the allocation outlived its lifetime (AV-10)"
        )));
    }
    if late.error_code().map(|e| e.code) != Some(437) {
        return Err(Outcome::fail(format!(
            "a Refresh of the expired allocation got {} instead of 437 Allocation Mismatch",
            late.summary()
        )));
    }
    run.details.push(format!(
        "granted {granted} s; relayed after a Refresh past the first lifetime; silent and 437 on Refresh once {renewed} s passed unrefreshed"
    ));
    Ok(())
}
