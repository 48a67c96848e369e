//! `picharness sip lint` end to end: exit codes 0/1/2, stdin, several
//! files, and findings that name the RFC section.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Output, Stdio};

use crate::support::binary;

fn vector(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("wire/tests/vectors")
        .join(path)
}

fn lint(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = binary()
        .args(["sip", "lint"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("picharness starts");
    child
        .stdin
        .take()
        .expect("stdin piped")
        .write_all(stdin)
        .expect("stdin written");
    child.wait_with_output().expect("picharness finishes")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_valid_message_prints_ok_and_exits_0() {
    let path = vector("rfc4475/esc01.dat");
    let out = lint(&[path.to_str().expect("utf-8 path")], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "OK\n");
}

#[test]
fn an_invalid_message_prints_each_finding_with_its_section_and_exits_1() {
    let path = vector("rfc4475/multi01.dat");
    let out = lint(&[path.to_str().expect("utf-8 path")], b"");
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    assert!(
        lines.iter().all(|l| l.ends_with("(RFC 3261 §7.3.1, §20)")),
        "{stdout}"
    );
    assert!(lines[0].starts_with("To appears 2 times"), "{stdout}");
}

#[test]
fn stdin_and_several_files_are_named_and_the_worst_wins() {
    let good = vector("rfc5118/ipv6-good");
    let bad = vector("rfc4475/badbranch.dat");
    let pasted = b"MESSAGE sip:bob@contoso.test SIP/2.0\nVia: SIP/2.0/TLS a.example.com;branch=z9hG4bK1\nMax-Forwards: 70\nTo: <sip:bob@contoso.test>\nFrom: <sip:alice@example.com>;tag=1\nCall-ID: c1\nCSeq: 1 MESSAGE\nContent-Length: 150\n\nhello";
    let out = lint(
        &[
            good.to_str().expect("utf-8"),
            "-",
            bad.to_str().expect("utf-8"),
        ],
        pasted,
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("ipv6-good: OK\n"), "{stdout}");
    assert!(
        stdout.contains("-: header lines end in a bare LF, not CRLF (RFC 3261 §7)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("-: not a SIP message: Content-Length 150 but body has 5 bytes (RFC 3261 §18.3, §20.14)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("badbranch.dat: Via branch is only the z9hG4bK magic cookie"),
        "{stdout}"
    );
}

#[test]
fn warnings_pass_unless_strict() {
    let path = vector("rfc4475/inv2543.dat");
    let path = path.to_str().expect("utf-8 path");
    let relaxed = lint(&[path], b"");
    assert_eq!(relaxed.status.code(), Some(0));
    assert!(
        text(&relaxed.stdout)
            .lines()
            .all(|l| l.starts_with("warning: "))
    );
    assert_eq!(lint(&["--strict", path], b"").status.code(), Some(1));
}

#[test]
fn unreadable_input_exits_2_naming_the_file() {
    let good = vector("rfc4475/esc01.dat");
    let out = lint(
        &[good.to_str().expect("utf-8"), "/nonexistent/edge-log.sip"],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("/nonexistent/edge-log.sip: cannot read"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("esc01.dat: OK"));
}

/// A response an Edge might send: a non-numeric Expires and Retry-After
/// with a multi-byte character straddling the point where a long value is
/// cut for the finding. Once panicked the validator.
const MULTI_BYTE_EXPIRES: &str = "SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS a.example.com;branch=z9hG4bK1\r\nTo: <sip:b@example.com>;tag=2\r\nFrom: <sip:a@example.com>;tag=1\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nExpires: 1234567890123456789\u{20ac}abcdefgh\r\nRetry-After: 1234567890123456789\u{e9}0000000\r\nContent-Length: 0\r\n\r\n";

#[test]
fn a_multi_byte_character_in_a_long_expires_is_a_finding_not_a_panic() {
    let out = lint(&["-"], MULTI_BYTE_EXPIRES.as_bytes());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Expires \"1234567890123456789\u{20ac}abcdefgh\" is not a number of seconds from 0 to 2**32-1 (RFC 3261 §20.19)"),
        "{stdout}"
    );
    assert!(stdout.contains("Retry-After \""), "{stdout}");
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_control_character_in_a_header_fails_without_strict_and_is_printed_escaped() {
    let message = MULTI_BYTE_EXPIRES
        .replace(
            "Expires: 1234567890123456789\u{20ac}abcdefgh",
            "Subject: \u{1b}[2J\u{0}",
        )
        .replace("Retry-After: 1234567890123456789\u{e9}0000000\r\n", "");
    let out = lint(&["-"], message.as_bytes());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout,
        "Subject value \"\\u{1b}[2J\\0\" holds the control character U+001B; header values allow none but horizontal tab (RFC 3261 §25.1)\n"
    );
}
