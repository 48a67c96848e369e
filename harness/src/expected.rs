//! Expected verdicts (`picharness run --expect FILE`): the results a team
//! accepts for its Edge, so a nightly run fails only on what changed.
//!
//! The file is TOML, one table per case id:
//!
//! ```toml
//! [cases."messenger.sip.options"]
//! verdict = "fail"
//! why = "the Edge sends no Allow header; accepted, TICKET-123"
//! reason = "the 200 OK has no Allow header*"
//! ```
//!
//! `verdict` and `why` are required. `reason` is optional: when given, the
//! verdict must come with that reason (`*` matches any text), so a known
//! fail that now fails for another reason is reported. Reasons are compared
//! with addresses (`127.80.0.10:5061`) and generated names (hex tokens with
//! digits, like the run's user-name suffix) masked, so the same result on
//! another net or another night still matches. A case the file does not list
//! is expected to pass (or to be inconclusive or skipped, as without a file).
//! `picharness expect init --from REPORT` writes such a file from a report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use picharness_reports::summary::read_report;
use picharness_reports::{CaseRecord, Expected, RunRecord, Verdict};
use serde::Deserialize;
use toml::Spanned;

use crate::data_file::read_data_file;
use crate::run::{EXIT_CANNOT_START, EXIT_OK};
use crate::scenario::{Case, ScenarioError, line_of};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    #[serde(default)]
    cases: BTreeMap<Spanned<String>, EntryFormat>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFormat {
    verdict: Verdict,
    why: String,
    reason: Option<String>,
}

/// One case's accepted result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    pub verdict: Verdict,
    pub why: String,
    pub reason: Option<String>,
}

/// A loaded expected-verdicts file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedVerdicts {
    pub source: PathBuf,
    cases: BTreeMap<String, Expectation>,
}

impl ExpectedVerdicts {
    /// Reads `path`; every case id must be in `catalogue`. Errors name the
    /// file, the line and the field.
    pub fn load(path: &Path, catalogue: &[Case]) -> Result<Self, Vec<ScenarioError>> {
        let text = read_data_file(path).map_err(|e| {
            vec![ScenarioError {
                file: path.to_path_buf(),
                line: 0,
                field: "-".to_owned(),
                message: format!("the expected-verdicts file {e}"),
            }]
        })?;
        Self::parse(path, &text, catalogue)
    }

    fn parse(path: &Path, text: &str, catalogue: &[Case]) -> Result<Self, Vec<ScenarioError>> {
        let file: FileFormat =
            toml::from_str(text).map_err(|e| vec![ScenarioError::from_toml(path, text, &e)])?;
        let mut errors = Vec::new();
        let mut cases = BTreeMap::new();
        for (id, entry) in file.cases {
            let line = line_of(text, id.span().start);
            let id = id.into_inner();
            if !catalogue.iter().any(|c| c.id == id) {
                errors.push(ScenarioError {
                    file: path.to_path_buf(),
                    line,
                    field: format!("cases.\"{id}\""),
                    message: format!(
                        "unknown case id {id:?} (`picharness list` shows every case id)"
                    ),
                });
                continue;
            }
            if entry.why.trim().is_empty() {
                errors.push(ScenarioError {
                    file: path.to_path_buf(),
                    line,
                    field: format!("cases.\"{id}\".why"),
                    message: "say why this result is accepted (a ticket, a sentence)".to_owned(),
                });
            }
            cases.insert(
                id,
                Expectation {
                    verdict: entry.verdict,
                    why: entry.why,
                    reason: entry.reason,
                },
            );
        }
        if errors.is_empty() {
            Ok(Self {
                source: path.to_path_buf(),
                cases,
            })
        } else {
            Err(errors)
        }
    }

    /// Records on `case` what the file expects of it and whether it held.
    pub fn judge(&self, case: &mut CaseRecord) {
        case.expected = self.cases.get(&case.id).map(|e| Expected {
            verdict: e.verdict,
            why: e.why.clone(),
            reason: e.reason.clone(),
            held: e.verdict == case.verdict
                && e.reason
                    .as_deref()
                    .is_none_or(|pattern| reason_matches(pattern, &case.reason)),
        });
    }
}

/// The text with addresses and generated names masked (see the module docs).
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        let hex = token.len() >= 6
            && token.chars().all(|c| c.is_ascii_hexdigit())
            && token.chars().any(|c| c.is_ascii_digit());
        out.push_str(if hex { "#" } else { token.as_str() });
        token.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            token.push(c);
        } else {
            flush(&mut token, &mut out);
            out.push(c);
        }
    }
    flush(&mut token, &mut out);
    mask_addresses(&out)
}

/// Replaces every dotted IPv4 address, with its `:port` if any, by `<address>`.
fn mask_addresses(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let starts_token = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if starts_token && let Some(len) = address_len(&bytes[i..]) {
            out.push_str("<address>");
            i += len;
            continue;
        }
        let ch = text[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// The length of the `a.b.c.d[:port]` at the start of `bytes`, if one is.
fn address_len(bytes: &[u8]) -> Option<usize> {
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut at = 0;
    for part in 0..4 {
        let n = digits(at);
        if n == 0 || n > 3 {
            return None;
        }
        at += n;
        if part < 3 {
            if bytes.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
    }
    if bytes.get(at) == Some(&b':') && digits(at + 1) > 0 {
        at += 1 + digits(at + 1);
    }
    Some(at)
}

/// Whether `reason` matches `pattern` (`*` matches any text), both normalized.
fn reason_matches(pattern: &str, reason: &str) -> bool {
    let pattern = normalize(pattern);
    let reason = normalize(reason);
    let parts: Vec<&str> = pattern.split('*').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    if parts.len() == 1 {
        return pattern == reason;
    }
    if !reason.starts_with(first)
        || !reason.ends_with(last)
        || reason.len() < first.len() + last.len()
    {
        return false;
    }
    let mut rest = &reason[first.len()..reason.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

/// An expected-verdicts file that accepts every result of `run` that is not
/// a pass, with its reason (for `picharness expect init`).
pub fn expectations_from_report(run: &RunRecord) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Expected verdicts for `picharness run --expect` (written from the run of {}\n\
         # against {} {}). Each entry accepts a result that is not a pass; say why in\n\
         # `why` (a ticket, a sentence). `reason` pins the reason (`*` matches any text);\n\
         # delete it to accept any reason. Cases not listed are expected to pass.",
        run.started_at, run.sut.kind, run.sut.access_edge_address
    );
    for case in run.cases.iter().filter(|c| c.verdict != Verdict::Pass) {
        let _ = writeln!(out);
        let _ = writeln!(out, "[cases.{}]", toml_string(&case.id));
        let _ = writeln!(out, "verdict = {}", toml_string(case.verdict.as_str()));
        let why = case
            .expected
            .as_ref()
            .map_or("accepted as of the first run; say why", |e| e.why.as_str());
        let _ = writeln!(out, "why = {}", toml_string(why));
        let _ = writeln!(out, "reason = {}", toml_string(&case.reason));
    }
    out
}

/// `picharness expect init --from REPORT [--out FILE]`: writes the file
/// [`expectations_from_report`] makes to `out` (never over an existing
/// file) or to standard output. Exit 0, or 2 when the report cannot be read
/// or the file cannot be written.
pub fn expect_init(report: &Path, out: Option<&Path>) -> u8 {
    let run = match read_report(report) {
        Ok(run) => run,
        Err(e) => {
            eprintln!("picharness: {e}");
            return EXIT_CANNOT_START;
        }
    };
    let text = expectations_from_report(&run);
    let entries = run
        .cases
        .iter()
        .filter(|c| c.verdict != Verdict::Pass)
        .count();
    let written = match out {
        Some(path) => std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|mut file| std::io::Write::write_all(&mut file, text.as_bytes()))
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes())
            .map_err(|e| format!("cannot write to standard output: {e}")),
    };
    match written {
        Ok(()) => {
            eprintln!(
                "picharness: {entries} expected result(s) other than pass, from {}",
                report.display()
            );
            EXIT_OK
        }
        Err(e) => {
            eprintln!("picharness: {e}");
            EXIT_CANNOT_START
        }
    }
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests;
