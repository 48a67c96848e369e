//! `picharness sip lint`: reads each file (or stdin for `-`) as one SIP
//! message and prints `OK` or one finding per line with its RFC section.
//! The judging is `picharness_wire::sip::lint`; this module only does the
//! reading and the printing.

use std::io::{Read, Write};
use std::path::Path;

use picharness_wire::sip::lint;

/// Every input passed.
pub const LINT_OK: u8 = 0;
/// At least one input has a finding that fails it.
pub const LINT_FINDINGS: u8 = 1;
/// At least one input could not be read (this wins over findings).
pub const LINT_UNREADABLE: u8 = 2;

/// The cap on one input: far above any SIP message, low enough that a
/// wrong path (a disk image, /dev/zero) cannot exhaust memory.
const MAX_INPUT: u64 = 16 * 1024 * 1024;

/// Lints `inputs` (paths; `-` is stdin) and returns the exit code. With
/// one input the lines are bare; with several each starts with the input's
/// name. `strict` makes warnings (RFC 2543 leftovers) fail too.
pub fn lint_inputs(
    inputs: &[String],
    strict: bool,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let mut code = LINT_OK;
    let prefix_names = inputs.len() > 1;
    for input in inputs {
        let prefix = if prefix_names {
            format!("{input}: ")
        } else {
            String::new()
        };
        let bytes = match read_input(input, stdin) {
            Ok(b) => b,
            Err(e) => {
                let _ = writeln!(err, "error: {input}: cannot read: {e}");
                code = LINT_UNREADABLE;
                continue;
            }
        };
        let report = lint(&bytes);
        if report.findings.is_empty() {
            let _ = writeln!(out, "{prefix}OK");
        } else {
            for finding in &report.findings {
                let _ = writeln!(out, "{prefix}{finding}");
            }
        }
        if !report.passes(strict) && code == LINT_OK {
            code = LINT_FINDINGS;
        }
    }
    code
}

fn read_input(input: &str, stdin: &mut dyn Read) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if input == "-" {
        stdin.take(MAX_INPUT + 1).read_to_end(&mut bytes)?;
    } else {
        std::fs::File::open(Path::new(input))?
            .take(MAX_INPUT + 1)
            .read_to_end(&mut bytes)?;
    }
    if bytes.len() as u64 > MAX_INPUT {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_INPUT} bytes, not one SIP message"
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &[u8] = b"OPTIONS sip:bob@contoso.test SIP/2.0\r\nVia: SIP/2.0/TLS a.example.com;branch=z9hG4bK1\r\nMax-Forwards: 70\r\nTo: <sip:bob@contoso.test>\r\nFrom: <sip:alice@example.com>;tag=1\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

    fn run(inputs: &[&str], strict: bool, stdin: &[u8]) -> (u8, String, String) {
        let inputs: Vec<String> = inputs.iter().map(|s| (*s).to_owned()).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = lint_inputs(&inputs, strict, &mut &stdin[..], &mut out, &mut err);
        (
            code,
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
        )
    }

    #[test]
    fn stdin_good_message_prints_ok() {
        assert_eq!(
            run(&["-"], false, GOOD),
            (LINT_OK, "OK\n".to_owned(), String::new())
        );
    }

    #[test]
    fn warnings_fail_only_when_strict() {
        let text = String::from_utf8_lossy(GOOD).replace("z9hG4bK1", "x1");
        let (code, out, _) = run(&["-"], false, text.as_bytes());
        assert_eq!(code, LINT_OK);
        assert!(out.starts_with("warning: Via branch"), "{out}");
        assert_eq!(run(&["-"], true, text.as_bytes()).0, LINT_FINDINGS);
    }

    #[test]
    fn unreadable_wins_and_names_the_file() {
        let (code, out, err) = run(&["/nonexistent/msg.sip", "-"], false, b"junk");
        assert_eq!(code, LINT_UNREADABLE);
        assert!(err.contains("/nonexistent/msg.sip: cannot read"), "{err}");
        assert!(out.starts_with("-: not a SIP message"), "{out}");
    }
}
