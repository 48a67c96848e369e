//! A real third-party A/V Edge: coturn (Debian package `coturn`, installed
//! by the test command) on loopback with a static user and the relay range
//! 50,000-59,999. Every A/V case must pass against it, the audio call
//! through the embedded Access Edge included. Also: `--no-av`
//! skips the A/V cases instead of failing them.

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{all_case_ids, run_suite, test_net};

/// The cases the `av.` filter selects: the `av.*` cases and the call
/// through both Edges (`messenger.av.call`, whose Access Edge stays embedded).
fn av_case_count() -> usize {
    all_case_ids()
        .iter()
        .filter(|id| id.contains("av."))
        .count()
}

/// Stops coturn when the test ends, however it ends.
pub(crate) struct Coturn {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start_coturn(ip: &str, user: &str, password: &str, ports: (u16, u16)) -> Coturn {
    let dir = tempfile::tempdir().expect("temp dir");
    let child = Command::new("turnserver")
        .args([
            "-n",
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            "--fingerprint",
            "--lt-cred-mech",
            "--realm=contoso.test",
            "--listening-port=3478",
            "--allow-loopback-peers",
            "--simple-log",
            "--log-file=stdout",
        ])
        .arg(format!("--min-port={}", ports.0))
        .arg(format!("--max-port={}", ports.1))
        .arg(format!("--listening-ip={ip}"))
        .arg(format!("--relay-ip={ip}"))
        .arg(format!("--user={user}:{password}"))
        .arg(format!("--userdb={}", dir.path().join("turndb").display()))
        .arg(format!(
            "--pidfile={}",
            dir.path().join("turnserver.pid").display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("turnserver (Debian package coturn) is required; scripts/test-all.sh installs it");
    let coturn = Coturn { child, _dir: dir };
    let address: SocketAddr = format!("{ip}:3478").parse().expect("address");
    let until = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < until,
            "coturn did not start listening on {address}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    coturn
}

#[test]
fn every_av_case_passes_against_coturn() {
    let ip = format!("127.{}.0.50", test_net(147));
    let _coturn = start_coturn(&ip, "messenger-av", "coturn-test-pw", (50_000, 59_999));
    let udp = format!("{ip}:3478");
    let run = run_suite(
        147,
        &[
            "--av-udp",
            &udp,
            "--av-tcp",
            &udp,
            "--av-username",
            "messenger-av",
            "--av-password",
            "coturn-test-pw",
            "--av-dialect",
            "standard",
            "av.",
        ],
    );
    let verdicts = run.verdicts();
    assert_eq!(verdicts.len(), av_case_count(), "{verdicts:?}");
    for (id, (verdict, reason)) in &verdicts {
        // coturn speaks standard TURN only: the MS-TURN cases do not apply;
        // it grants 600 s for a requested 2 s LIFETIME, too long for the
        // expiry case to wait out, so that case cannot judge it.
        let expected = if id.starts_with("av.msturn.") {
            "skipped"
        } else if id == "av.turn.allocation-expiry" {
            "inconclusive"
        } else {
            "pass"
        };
        assert_eq!(verdict, expected, "{id} against coturn: {reason}");
        if id == "av.turn.allocation-expiry" {
            assert!(reason.contains("granted 600 s"), "{reason}");
        }
    }
    let (_, relay) = &verdicts["av.turn.relay-range"];
    assert!(
        relay.contains(&format!("{ip}:5")),
        "relayed on coturn's address: {relay}"
    );
    assert_eq!(run.code(), Some(0));
}

#[test]
fn coturn_with_the_wrong_relay_range_fails_the_range_case() {
    let ip = format!("127.{}.0.50", test_net(149));
    let _coturn = start_coturn(&ip, "messenger-av", "coturn-test-pw", (40_000, 40_999));
    let udp = format!("{ip}:3478");
    let run = run_suite(
        149,
        &[
            "--av-udp",
            &udp,
            "--av-tcp",
            &udp,
            "--av-username",
            "messenger-av",
            "--av-password",
            "coturn-test-pw",
            "--exact",
            "av.turn.relay-range",
        ],
    );
    let (verdict, reason) = &run.verdicts()["av.turn.relay-range"];
    assert_eq!(verdict, "fail", "{reason}");
    assert!(
        reason.contains("outside the relay range 50,000-59,999"),
        "{reason}"
    );
}

#[test]
fn no_av_skips_the_av_cases() {
    let run = run_suite(148, &["--no-av", "av."]);
    let verdicts = run.verdicts();
    assert_eq!(verdicts.len(), av_case_count());
    for (id, (verdict, reason)) in &verdicts {
        assert_eq!(verdict, "skipped", "{id}: {reason}");
        assert!(reason.contains("A/V is off"), "{reason}");
    }
    assert_eq!(run.code(), Some(0));
}
