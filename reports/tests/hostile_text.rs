//! Whatever the SUT sends, the report files stay valid and bounded:
//! `junit.xml` parses as XML 1.0 with a checking parser, `index.html` holds
//! no character XML forbids, `transcript.txt` carries no raw control
//! character (so `cat` cannot run an Edge's terminal escapes), and every
//! file stays far below the size of what arrived.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime};

use picharness_reports::html::render_html;
use picharness_reports::junit::render_junit;
use picharness_reports::messages::write_messages;
use picharness_reports::transcript::write_transcript;
use picharness_reports::{RunRecord, SCHEMA_VERSION, TranscriptEntry};

/// What a hostile Edge might get into the text: characters XML 1.0 forbids
/// (NUL, other C0 controls, U+FFFE, U+FFFF), discouraged ones (DEL, C1,
/// noncharacters), terminal escapes, and bytes that are not UTF-8 (which
/// lossy decoding, the only way they reach a string, turns into U+FFFD).
fn hostile_text() -> String {
    let mut bytes = "SIP/2.0 200 O\u{1b}]0;owned\u{7}K\u{fffe}\r\nSubject: \u{1b}[2J\u{0}\u{b}\u{ffff}\u{7f}\u{85}\u{fdd0}<&\"'>\r\n"
        .as_bytes()
        .to_vec();
    bytes.extend_from_slice(&[0xed, 0xa0, 0x80, 0xff, 0xc0, b'\r', b'x']);
    String::from_utf8_lossy(&bytes).into_owned()
}

fn entry(at: SystemTime, kind: &str, text: String) -> TranscriptEntry {
    let address: SocketAddr = "127.80.1.1:5061".parse().expect("address");
    TranscriptEntry {
        at,
        actor: "messenger".to_owned(),
        kind: kind.to_owned(),
        local: Some(address),
        remote: Some(address),
        text,
    }
}

/// A run with one failed case whose reason is `reason`. Built from JSON so
/// that fields added later (all defaulted within the schema version) need
/// no change here.
fn run_with(reason: String) -> RunRecord {
    let run = serde_json::json!({
        "schema_version": SCHEMA_VERSION,
        "tool": { "name": "picharness", "version": "0" },
        "sut": {
            "kind": "staging-sandwich",
            "access_edge_fqdn": "sip.contoso.test",
            "sip_domain": "contoso.test",
            "access_edge_address": "127.80.0.10:5061",
            "faults": []
        },
        "started_at": "2026-12-03T08:00:00Z",
        "duration_ms": 10,
        "totals": { "pass": 0, "fail": 1, "inconclusive": 0, "error": 0, "skipped": 0 },
        "cases": [{
            "id": "messenger.im.inbound",
            "title": "inbound IM",
            "providers": ["messenger"],
            "requirements": ["REQ-1"],
            "tags": ["im"],
            "verdict": "fail",
            "reason": reason,
            "failed_step": "2: messenger expects response 200",
            "duration_ms": 10,
            "evidence": {
                "trace": null,
                "transcript": "cases/messenger.im.inbound/transcript.txt",
                "certificates": [],
                "messages": "cases/messenger.im.inbound/messages.json"
            }
        }]
    });
    serde_json::from_value(run).expect("a valid run record")
}

/// Writes a case whose Edge sent `junk` (plus a hostile short message and
/// many small notes) and returns the run.
fn write_case(report: &Path, junk: &str) -> RunRecord {
    let case_dir = report.join("cases/messenger.im.inbound");
    std::fs::create_dir_all(&case_dir).expect("case dir");
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut entries = vec![
        entry(t0, "received", hostile_text()),
        entry(t0, "received", junk.to_owned()),
    ];
    for n in 0..5_000 {
        entries.push(entry(
            t0 + Duration::from_millis(n),
            "note",
            format!("keep-alive {n}"),
        ));
    }
    write_transcript(&case_dir.join("transcript.txt"), &entries).expect("transcript");
    write_messages(&case_dir.join("messages.json"), &entries).expect("messages");
    run_with(format!("{} arrived: {junk}", hostile_text()))
}

fn ten_megabytes_of_junk() -> String {
    hostile_text().repeat(10 * 1024 * 1024 / hostile_text().len())
}

#[test]
fn junit_parses_as_xml_whatever_the_edge_sent() {
    let report = tempfile::tempdir().expect("temp dir");
    let run = write_case(report.path(), &hostile_text());
    let xml = render_junit(&run, report.path()).expect("junit renders");
    let document = roxmltree::Document::parse(&xml)
        .unwrap_or_else(|e| panic!("junit.xml is not XML 1.0: {e}"));
    let failure = document
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .expect("a failure element");
    let message = failure.attribute("message").expect("a message");
    assert!(
        message.contains("\\u{1b}]0;owned\\u{7}K\\u{fffe}"),
        "{message}"
    );
    assert!(
        message.contains("\\u{0}\\u{b}\\u{ffff}\\u{7f}\\u{85}\\u{fdd0}<&\"'>"),
        "{message}"
    );
    let system_out = document
        .descendants()
        .find(|n| n.has_tag_name("system-out"))
        .and_then(|n| n.text())
        .expect("system-out");
    assert!(system_out.contains("Subject: \\u{1b}[2J"), "{system_out}");
}

#[test]
fn the_html_page_holds_no_character_xml_forbids() {
    let report = tempfile::tempdir().expect("temp dir");
    let run = write_case(report.path(), &hostile_text());
    let html = render_html(&run, report.path()).expect("html renders");
    let bad: Vec<char> = html
        .chars()
        .filter(|c| {
            (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
                || matches!(u32::from(*c), 0xFDD0..=0xFDEF)
                || (u32::from(*c) & 0xFFFE) == 0xFFFE
        })
        .collect();
    assert!(bad.is_empty(), "index.html holds {bad:?}");
    assert!(html.contains("\\u{1b}"), "the escapes are shown");
}

#[test]
fn the_transcript_shows_control_characters_as_escapes() {
    let report = tempfile::tempdir().expect("temp dir");
    write_case(report.path(), &hostile_text());
    let text = std::fs::read_to_string(
        report
            .path()
            .join("cases/messenger.im.inbound/transcript.txt"),
    )
    .expect("transcript");
    let raw: Vec<char> = text
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\t' | '\n'))
        .collect();
    assert!(raw.is_empty(), "transcript.txt holds raw {raw:?}");
    assert!(
        text.contains("    SIP/2.0 200 O\\u{1b}]0;owned\\u{7}K\u{fffe}\n"),
        "{text}"
    );
    assert!(
        text.contains("\u{fffd}\\u{d}x"),
        "a lone CR is escaped: {text}"
    );
}

#[test]
fn ten_megabytes_from_the_edge_make_small_report_files() {
    let report = tempfile::tempdir().expect("temp dir");
    let junk = ten_megabytes_of_junk();
    let run = write_case(report.path(), &junk);
    let case_dir = report.path().join("cases/messenger.im.inbound");
    let size = |name: &str| std::fs::metadata(case_dir.join(name)).map_or(0, |m| m.len());
    // 128 KiB of text per case, 256 bytes for each further entry, at most
    // 200 entries, plus each entry's header line or JSON fields.
    assert!(
        size("transcript.txt") < 256 * 1024,
        "{}",
        size("transcript.txt")
    );
    assert!(
        size("messages.json") < 320 * 1024,
        "{}",
        size("messages.json")
    );
    let xml = render_junit(&run, report.path()).expect("junit renders");
    roxmltree::Document::parse(&xml).expect("junit.xml is XML");
    assert!(xml.len() < 64 * 1024, "junit.xml is {} bytes", xml.len());
    let html = render_html(&run, report.path()).expect("html renders");
    assert!(
        html.len() < 2 * 1024 * 1024,
        "index.html is {} bytes",
        html.len()
    );
    let transcript = std::fs::read_to_string(case_dir.join("transcript.txt")).expect("transcript");
    assert!(
        transcript.contains("more bytes not kept in this report]"),
        "the cut is marked"
    );
    assert!(transcript.contains("transcript entries left out here"));
}
