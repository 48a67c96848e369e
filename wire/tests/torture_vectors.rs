//! RFC 4475 and RFC 5118 torture messages, each classified as its RFC says,
//! run through `lint` (parse + validate), the stream decoder, and a
//! parse -> emit -> parse round trip.
//!
//! The vectors are copied byte-exact into `tests/vectors/` so the crate
//! tests itself; `PICHARNESS_SIP_VECTORS` points the test at another copy
//! (for example `../shared/vectors`). A missing folder fails the run.

use std::path::PathBuf;

use picharness_wire::sip::{Frame, Rule, Severity, SipMessage, StreamDecoder, lint};

/// What the RFC says a receiver must make of a message.
#[derive(Debug, Clone, Copy)]
enum Verdict {
    /// Well formed: parses with no error finding; the warnings listed are
    /// the only ones (RFC 2543 leftovers the RFC still calls valid).
    Valid { warnings: &'static [Rule] },
    /// Malformed beyond reading: parse must fail.
    Rejected,
    /// Parses, but breaks these rules (each must be reported as an error).
    Flagged(&'static [Rule]),
}

use Verdict::{Flagged, Rejected, Valid};

const CLEAN: Verdict = Valid { warnings: &[] };

/// (folder, file, RFC section, verdict).
const TABLE: &[(&str, &str, &str, Verdict)] = &[
    // RFC 4475 §3.1.1: valid messages.
    (
        "rfc4475",
        "wsinv.dat",
        "RFC 4475 §3.1.1.1",
        Valid {
            warnings: &[Rule::ViaBranchCookie],
        },
    ),
    ("rfc4475", "intmeth.dat", "RFC 4475 §3.1.1.2", CLEAN),
    ("rfc4475", "esc01.dat", "RFC 4475 §3.1.1.3", CLEAN),
    ("rfc4475", "escnull.dat", "RFC 4475 §3.1.1.4", CLEAN),
    ("rfc4475", "esc02.dat", "RFC 4475 §3.1.1.5", CLEAN),
    ("rfc4475", "lwsdisp.dat", "RFC 4475 §3.1.1.6", CLEAN),
    (
        "rfc4475",
        "longreq.dat",
        "RFC 4475 §3.1.1.7",
        Valid {
            warnings: &[Rule::ViaBranchMissing],
        },
    ),
    ("rfc4475", "dblreq.dat", "RFC 4475 §3.1.1.8", CLEAN),
    ("rfc4475", "semiuri.dat", "RFC 4475 §3.1.1.9", CLEAN),
    ("rfc4475", "transports.dat", "RFC 4475 §3.1.1.10", CLEAN),
    ("rfc4475", "mpart01.dat", "RFC 4475 §3.1.1.11", CLEAN),
    ("rfc4475", "unreason.dat", "RFC 4475 §3.1.1.12", CLEAN),
    ("rfc4475", "noreason.dat", "RFC 4475 §3.1.1.13", CLEAN),
    // RFC 4475 §3.1.2: invalid messages.
    (
        "rfc4475",
        "badinv01.dat",
        "RFC 4475 §3.1.2.1",
        Flagged(&[Rule::HeaderSyntax]),
    ),
    ("rfc4475", "clerr.dat", "RFC 4475 §3.1.2.2", Rejected),
    ("rfc4475", "ncl.dat", "RFC 4475 §3.1.2.3", Rejected),
    (
        "rfc4475",
        "scalar02.dat",
        "RFC 4475 §3.1.2.4",
        Flagged(&[Rule::CseqNumber, Rule::MaxForwards, Rule::DeltaSeconds]),
    ),
    (
        "rfc4475",
        "scalarlg.dat",
        "RFC 4475 §3.1.2.5",
        Flagged(&[Rule::CseqNumber, Rule::DeltaSeconds, Rule::HeaderSyntax]),
    ),
    (
        "rfc4475",
        "quotbal.dat",
        "RFC 4475 §3.1.2.6",
        Flagged(&[Rule::AddressQuotes]),
    ),
    (
        "rfc4475",
        "ltgtruri.dat",
        "RFC 4475 §3.1.2.7",
        Flagged(&[Rule::RequestUri]),
    ),
    ("rfc4475", "lwsruri.dat", "RFC 4475 §3.1.2.8", Rejected),
    ("rfc4475", "lwsstart.dat", "RFC 4475 §3.1.2.9", Rejected),
    ("rfc4475", "trws.dat", "RFC 4475 §3.1.2.10", Rejected),
    (
        "rfc4475",
        "escruri.dat",
        "RFC 4475 §3.1.2.11",
        Flagged(&[Rule::RequestUriHeaders]),
    ),
    (
        "rfc4475",
        "baddate.dat",
        "RFC 4475 §3.1.2.12",
        Flagged(&[Rule::DateGmt]),
    ),
    (
        "rfc4475",
        "regbadct.dat",
        "RFC 4475 §3.1.2.13",
        Flagged(&[Rule::AddrSpecReserved]),
    ),
    (
        "rfc4475",
        "badaspec.dat",
        "RFC 4475 §3.1.2.14",
        Flagged(&[Rule::AddressSpaceInAngles]),
    ),
    (
        "rfc4475",
        "baddn.dat",
        "RFC 4475 §3.1.2.15",
        Flagged(&[Rule::DisplayName]),
    ),
    (
        "rfc4475",
        "badvers.dat",
        "RFC 4475 §3.1.2.16",
        Flagged(&[Rule::SipVersion, Rule::ViaVersion]),
    ),
    (
        "rfc4475",
        "mismatch01.dat",
        "RFC 4475 §3.1.2.17",
        Flagged(&[Rule::CseqMethod]),
    ),
    (
        "rfc4475",
        "mismatch02.dat",
        "RFC 4475 §3.1.2.18",
        Flagged(&[Rule::CseqMethod]),
    ),
    ("rfc4475", "bigcode.dat", "RFC 4475 §3.1.2.19", Rejected),
    // RFC 4475 §3.2: transaction-layer semantics.
    (
        "rfc4475",
        "badbranch.dat",
        "RFC 4475 §3.2.1",
        Flagged(&[Rule::ViaBranchEmpty]),
    ),
    // RFC 4475 §3.3: application-layer semantics. Syntactically valid
    // except where a required or single-valued header is broken.
    (
        "rfc4475",
        "insuf.dat",
        "RFC 4475 §3.3.1",
        Flagged(&[Rule::MissingHeader]),
    ),
    ("rfc4475", "unkscm.dat", "RFC 4475 §3.3.2", CLEAN),
    ("rfc4475", "novelsc.dat", "RFC 4475 §3.3.3", CLEAN),
    ("rfc4475", "unksm2.dat", "RFC 4475 §3.3.4", CLEAN),
    ("rfc4475", "bext01.dat", "RFC 4475 §3.3.5", CLEAN),
    ("rfc4475", "invut.dat", "RFC 4475 §3.3.6", CLEAN),
    ("rfc4475", "regaut01.dat", "RFC 4475 §3.3.7", CLEAN),
    (
        "rfc4475",
        "multi01.dat",
        "RFC 4475 §3.3.8",
        Flagged(&[Rule::RepeatedHeader]),
    ),
    (
        "rfc4475",
        "mcl01.dat",
        "RFC 4475 §3.3.9",
        Flagged(&[Rule::RepeatedHeader]),
    ),
    ("rfc4475", "bcast.dat", "RFC 4475 §3.3.10", CLEAN),
    ("rfc4475", "zeromf.dat", "RFC 4475 §3.3.11", CLEAN),
    ("rfc4475", "cparam01.dat", "RFC 4475 §3.3.12", CLEAN),
    ("rfc4475", "cparam02.dat", "RFC 4475 §3.3.13", CLEAN),
    ("rfc4475", "regescrt.dat", "RFC 4475 §3.3.14", CLEAN),
    ("rfc4475", "sdp01.dat", "RFC 4475 §3.3.15", CLEAN),
    // RFC 4475 §3.4: backward compatibility; must be accepted.
    (
        "rfc4475",
        "inv2543.dat",
        "RFC 4475 §3.4.1",
        Valid {
            warnings: &[Rule::ViaBranchMissing, Rule::MissingHeader, Rule::FromTag],
        },
    ),
    // RFC 5118 §4.
    ("rfc5118", "ipv6-good", "RFC 5118 §4.1", CLEAN),
    ("rfc5118", "port-ambiguous", "RFC 5118 §4.3", CLEAN),
    ("rfc5118", "port-unambiguous", "RFC 5118 §4.4", CLEAN),
    (
        "rfc5118",
        "ipv6-bad",
        "RFC 5118 §4.2",
        Flagged(&[Rule::RequestUri]),
    ),
    (
        "rfc5118",
        "via-received-param-with-delim",
        "RFC 5118 §4.5",
        CLEAN,
    ),
    (
        "rfc5118",
        "via-received-param-no-delim",
        "RFC 5118 §4.5",
        CLEAN,
    ),
    ("rfc5118", "ipv6-in-sdp", "RFC 5118 §4.6", CLEAN),
    ("rfc5118", "mult-ip-in-header", "RFC 5118 §4.7", CLEAN),
    ("rfc5118", "mult-ip-in-sdp", "RFC 5118 §4.8", CLEAN),
    ("rfc5118", "ipv4-mapped-ipv6", "RFC 5118 §4.9", CLEAN),
    (
        "rfc5118",
        "ipv6-bug-abnf-3-colons",
        "RFC 5118 §4.10",
        Valid {
            warnings: &[Rule::Ipv6Reference],
        },
    ),
    (
        "rfc5118",
        "ipv6-correct-abnf-2-colons",
        "RFC 5118 §4.10",
        CLEAN,
    ),
];

fn vectors_dir() -> PathBuf {
    std::env::var_os("PICHARNESS_SIP_VECTORS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors"),
        PathBuf::from,
    )
}

fn read(folder: &str, file: &str) -> Vec<u8> {
    let path = vectors_dir().join(folder).join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("vector {} unreadable: {e}", path.display()))
}

#[test]
fn every_vector_file_is_in_the_table_and_every_row_has_a_file() {
    for folder in ["rfc4475", "rfc5118"] {
        let dir = vectors_dir().join(folder);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("vector folder {} missing: {e}", dir.display()));
        let mut files: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut rows: Vec<String> = TABLE
            .iter()
            .filter(|(f, ..)| *f == folder)
            .map(|(_, name, ..)| (*name).to_owned())
            .collect();
        rows.sort();
        assert_eq!(files, rows, "{folder}: files and table rows differ");
    }
    assert_eq!(TABLE.iter().filter(|(f, ..)| *f == "rfc4475").count(), 49);
}

#[test]
fn every_vector_is_classified_as_its_rfc_says() {
    let mut failures = Vec::new();
    for (folder, file, section, verdict) in TABLE {
        let bytes = read(folder, file);
        let report = lint(&bytes);
        let errors: Vec<Rule> = report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.rule)
            .collect();
        let warnings: Vec<Rule> = report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .map(|f| f.rule)
            .collect();
        let shown: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
        let ok = match verdict {
            Valid { warnings: expected } => {
                let mut got = warnings.clone();
                got.sort_by_key(|r| r.id());
                got.dedup();
                let mut want = expected.to_vec();
                want.sort_by_key(|r| r.id());
                report.message.is_some() && errors.is_empty() && got == want
            }
            Rejected => report.message.is_none() && errors == [Rule::Unparseable],
            Flagged(rules) => report.message.is_some() && rules.iter().all(|r| errors.contains(r)),
        };
        if !ok {
            failures.push(format!(
                "{folder}/{file} ({section}) expected {verdict:?}, got {shown:#?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn findings_name_an_rfc_section() {
    for (folder, file, ..) in TABLE {
        for finding in lint(&read(folder, file)).findings {
            let text = finding.to_string();
            assert!(text.contains("RFC "), "{folder}/{file}: {text}");
        }
    }
}

#[test]
fn parsed_vectors_round_trip_through_emission() {
    for (folder, file, ..) in TABLE {
        let Ok(first) = SipMessage::parse(&read(folder, file)) else {
            continue;
        };
        let again = SipMessage::parse(&first.to_bytes())
            .unwrap_or_else(|e| panic!("{folder}/{file}: emitted form does not parse: {e}"));
        assert_eq!(again.start, first.start, "{folder}/{file}");
        assert_eq!(again.headers, first.headers, "{folder}/{file}");
        assert_eq!(again.body, first.body, "{folder}/{file}");
    }
}

#[test]
fn stream_decoder_frames_each_vector_fed_a_byte_at_a_time() {
    for (folder, file, _, verdict) in TABLE {
        let bytes = read(folder, file);
        let parsed = SipMessage::parse(&bytes);
        let mut decoder = StreamDecoder::default();
        let mut outcome = None;
        for b in &bytes {
            decoder.push(std::slice::from_ref(b));
            match decoder.next_frame() {
                Ok(Some(frame)) => {
                    outcome = Some(Ok(frame));
                    break;
                }
                Ok(None) => {}
                Err(e) => {
                    outcome = Some(Err(e));
                    break;
                }
            }
        }
        match (&parsed, outcome) {
            // A message with Content-Length is cut exactly where parse cut it.
            (Ok(m), Some(Ok(Frame::Message(framed)))) => {
                assert_eq!(framed, m.raw, "{folder}/{file}");
            }
            // Without Content-Length a stream cannot frame it (RFC 3261 §18.3).
            (Ok(m), Some(Err(_))) => assert!(
                m.headers.first("content-length").is_none(),
                "{folder}/{file}: framing failed although Content-Length is present"
            ),
            // Framing only cuts; judging the cut bytes is parse's job. clerr:
            // the body never completes on a stream; ncl: no usable
            // Content-Length.
            (Err(_), _) => assert!(matches!(verdict, Rejected), "{folder}/{file}"),
            (parsed, other) => panic!("{folder}/{file}: parse {parsed:?} but framing {other:?}"),
        }
    }
}

#[test]
fn the_copy_matches_the_shared_vectors_when_present() {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors");
    if !shared.is_dir() {
        return;
    }
    for (folder, file, ..) in TABLE {
        let theirs = std::fs::read(shared.join(folder).join(file)).expect("shared vector readable");
        assert_eq!(
            read(folder, file),
            theirs,
            "{folder}/{file} differs from ../shared/vectors"
        );
    }
}
