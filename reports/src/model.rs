//! The run record: the serde model that is `summary.json` (schema version
//! [`SCHEMA_VERSION`]). Field names here are a contract; change them only
//! with a new schema version.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Version of the `summary.json` layout. Bump on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The outcome of one case (TTCN-3 style).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every expectation held.
    Pass,
    /// The SUT did something observable that a requirement forbids.
    Fail,
    /// A precondition could not be met, so the SUT could not be judged.
    Inconclusive,
    /// The harness itself broke (bug, bad scenario, local resource).
    Error,
    /// Not applicable to this topology or configuration.
    Skipped,
}

impl Verdict {
    pub const ALL: [Self; 5] = [
        Self::Pass,
        Self::Fail,
        Self::Inconclusive,
        Self::Error,
        Self::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Inconclusive => "inconclusive",
            Self::Error => "error",
            Self::Skipped => "skipped",
        }
    }

    /// Whether this verdict makes the run exit 1.
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Fail | Self::Error)
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

/// What was tested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SutInfo {
    /// `embedded-reference` for the built-in reference Edge; `staging-sandwich` or
    /// `staging-external-only` for an Edge named by a staging configuration (`run --config`).
    pub kind: String,
    pub access_edge_fqdn: String,
    pub sip_domain: String,
    /// The address the Access Edge answers on, `ip:port`.
    pub access_edge_address: String,
    /// Fault switches turned on in the reference Edge (empty for a real SUT).
    pub faults: Vec<String>,
}

/// What kind of finding a case carries beside its verdict.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum FindingKind {
    /// The requirement holds, but in a way it flags (CERT-07: an RSA 1024
    /// key is acceptable, with a warning).
    Warning,
    /// The requirement asks only that the behaviour be recorded ("record
    /// either", SIP-13, SIP-14, FED-10), or the harness says more than the
    /// requirement asks; this is what was seen.
    Observation,
}

impl FindingKind {
    pub const ALL: [Self; 2] = [Self::Warning, Self::Observation];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Observation => "observation",
        }
    }
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A warning or an observation a case reports beside its verdict: never a
/// fail by itself, but counted and selectable (`run --fail-on warning`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub kind: FindingKind,
    /// The requirement id the finding cites, e.g. `CERT-07`.
    pub requirement: String,
    /// One sentence saying what was seen.
    pub text: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Totals {
    pub pass: usize,
    pub fail: usize,
    pub inconclusive: usize,
    pub error: usize,
    pub skipped: usize,
    /// Cases carrying at least one warning (whatever their verdict). Added
    /// within schema version 1; absent (0) in older files.
    #[serde(default)]
    pub warning: usize,
    /// Cases carrying at least one observation (whatever their verdict).
    /// Added within schema version 1; absent (0) in older files.
    #[serde(default)]
    pub observation: usize,
}

impl Totals {
    pub fn add(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::Pass => self.pass += 1,
            Verdict::Fail => self.fail += 1,
            Verdict::Inconclusive => self.inconclusive += 1,
            Verdict::Error => self.error += 1,
            Verdict::Skipped => self.skipped += 1,
        }
    }

    /// Counts a case: its verdict, and whether it carries a warning or an
    /// observation.
    pub fn add_case(&mut self, case: &CaseRecord) {
        self.add(case.verdict);
        if case.carries(FindingKind::Warning) {
            self.warning += 1;
        }
        if case.carries(FindingKind::Observation) {
            self.observation += 1;
        }
    }

    /// The totals of `cases`.
    pub fn of<'a>(cases: impl IntoIterator<Item = &'a CaseRecord>) -> Self {
        let mut totals = Self::default();
        for case in cases {
            totals.add_case(case);
        }
        totals
    }

    /// How many cases carry a finding of `kind`.
    pub fn findings(&self, kind: FindingKind) -> usize {
        match kind {
            FindingKind::Warning => self.warning,
            FindingKind::Observation => self.observation,
        }
    }

    pub fn total(&self) -> usize {
        self.pass + self.fail + self.inconclusive + self.error + self.skipped
    }
}

/// Paths of a case's evidence files, relative to the report directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EvidenceFiles {
    pub trace: Option<String>,
    pub transcript: Option<String>,
    /// PEM files of certificate chains the SUT presented.
    pub certificates: Vec<String>,
    /// `messages.json`: the transcript as data (actor, kind, addresses, time,
    /// full text per entry), which the HTML report draws its ladder from.
    /// Added within schema version 1; absent in older files.
    #[serde(default)]
    pub messages: Option<String>,
}

/// One case's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CaseRecord {
    pub id: String,
    pub title: String,
    pub providers: Vec<String>,
    pub requirements: Vec<String>,
    pub tags: Vec<String>,
    pub verdict: Verdict,
    /// One sentence saying why.
    pub reason: String,
    /// The step that decided a non-pass verdict, as "N: description" (1-based).
    pub failed_step: Option<String>,
    pub duration_ms: u64,
    pub evidence: EvidenceFiles,
    /// What the expected-verdicts file (`run --expect`) says of this case
    /// and whether the run held to it; absent when the file does not list
    /// it. Added within schema version 1.
    #[serde(default)]
    pub expected: Option<Expected>,
    /// The attempts before the last one, oldest first, when the case was
    /// re-run after a fail or error (`run --retries N`); the case's own
    /// verdict, reason and evidence are the last attempt's. Added within
    /// schema version 1.
    #[serde(default)]
    pub retries: Vec<Attempt>,
    /// The case passed only on a retry: it is flaky, not simply green.
    /// Added within schema version 1.
    #[serde(default)]
    pub flaky: bool,
    /// Warnings and observations, in the order the case found them. Added
    /// within schema version 1; absent (empty) in older files.
    #[serde(default)]
    pub findings: Vec<Finding>,
}

/// An earlier attempt of a case that was re-run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Attempt {
    pub verdict: Verdict,
    pub reason: String,
    pub failed_step: Option<String>,
    pub duration_ms: u64,
    /// Its evidence, under `cases/<id>/attempt-<n>/`.
    pub evidence: EvidenceFiles,
}

/// A case's entry in the expected-verdicts file, and whether this run met it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Expected {
    /// The verdict the team accepts for this SUT.
    pub verdict: Verdict,
    /// Why it is accepted (a ticket, a sentence).
    pub why: String,
    /// The reason the verdict must come with (`*` matches any text); absent
    /// when any reason will do.
    pub reason: Option<String>,
    /// Whether this run's verdict (and reason, when one is given) is the expected one.
    pub held: bool,
}

impl CaseRecord {
    /// Whether the case carries a finding of `kind`.
    pub fn carries(&self, kind: FindingKind) -> bool {
        self.findings.iter().any(|f| f.kind == kind)
    }

    /// Whether this case makes the run exit 1: a fail or an error, or a
    /// finding of a kind the run was asked to fail on (`--fail-on`).
    pub fn fails_run(&self, fail_on: &[FindingKind]) -> bool {
        self.verdict.is_failure() || fail_on.iter().any(|kind| self.carries(*kind))
    }

    /// Why this result is a deviation from the expected verdicts, or `None`
    /// when it is not one: a listed case whose verdict or reason is not the
    /// expected one, or an unlisted case that failed or errored.
    pub fn deviation(&self) -> Option<String> {
        match &self.expected {
            Some(expected) if expected.held => None,
            Some(expected) if expected.verdict == self.verdict => Some(format!(
                "{} as expected, but the reason changed: expected \"{}\", now \"{}\"",
                self.verdict,
                expected.reason.as_deref().unwrap_or_default(),
                self.reason
            )),
            Some(expected) => Some(format!(
                "expected {} ({}), now {}: {}",
                expected.verdict, expected.why, self.verdict, self.reason
            )),
            None if self.verdict.is_failure() => Some(format!(
                "{} (not an expected result): {}",
                self.verdict, self.reason
            )),
            None => None,
        }
    }
}

/// The whole run: `summary.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RunRecord {
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub sut: SutInfo,
    /// RFC 3339 UTC time the run started.
    pub started_at: String,
    pub duration_ms: u64,
    pub totals: Totals,
    pub cases: Vec<CaseRecord>,
    /// How the run was started. Added within schema version 1; absent in
    /// older files.
    #[serde(default)]
    pub invocation: Option<Invocation>,
    /// The expected-verdicts file the run was judged against (`run
    /// --expect`); with one, only deviations from it make the run fail.
    /// Added within schema version 1.
    #[serde(default)]
    pub expect_file: Option<String>,
    /// For a report made by `report merge`: what was merged. Added within
    /// schema version 1.
    #[serde(default)]
    pub merged: Option<MergeInfo>,
    /// Whether the Edge stopped answering during the run, and when it was
    /// last seen alive. Added within schema version 1; absent in older files.
    #[serde(default)]
    pub edge_liveness: Option<EdgeLiveness>,
}

/// What `report merge` joined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MergeInfo {
    /// How many reports were merged.
    pub reports: usize,
    /// The Access Edge address of each merged report, in input order.
    pub access_edge_addresses: Vec<String>,
    /// Why reports with different addresses count as one SUT, when they do
    /// (shards of the embedded reference Edge run side by side on other
    /// loopback nets).
    pub note: Option<String>,
}

/// The run's view of the Edge staying alive: set when it stopped accepting
/// connections during the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EdgeLiveness {
    /// `true` when the Edge stopped accepting connections at some point.
    pub stopped_answering: bool,
    /// RFC 3339 UTC time the Edge was last seen alive (a connection
    /// accepted or a message received), if ever.
    pub last_seen_alive_at: Option<String>,
    /// The case during which it was last seen alive.
    pub last_seen_during: Option<String>,
    /// The case during which it stopped answering (its verdict and evidence
    /// are its own), when one saw it alive and then dead.
    pub died_during: Option<String>,
    /// Cases that started after the Edge had stopped answering: each is
    /// inconclusive, naming when the Edge was last seen alive.
    pub cases_not_judged: Vec<String>,
    /// Whether it answered again later in the run.
    pub came_back: bool,
}

impl RunRecord {
    /// Whether the run's results call for exit code 1: with an
    /// expected-verdicts file, any deviation from it; without one, any case
    /// that failed or errored.
    ///
    /// A case carrying a finding of a kind in `fail_on` (`--fail-on`)
    /// calls for it too, with or without the file.
    pub fn has_failures(&self, fail_on: &[FindingKind]) -> bool {
        let selected = |c: &CaseRecord| fail_on.iter().any(|kind| c.carries(*kind));
        if self.expect_file.is_some() {
            self.cases
                .iter()
                .any(|c| c.deviation().is_some() || selected(c))
        } else {
            self.cases.iter().any(|c| c.fails_run(fail_on))
        }
    }
}

/// The command line of a run, for reproducing it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Invocation {
    /// The command line as given, with the value of any option whose name
    /// looks secret (password, secret, token, key) replaced by `<redacted>`.
    pub argv: Vec<String>,
    /// A command that runs the suite against the same SUT the same way, with
    /// no case filter and no report directory (`picharness evidence` adds
    /// `--exact <case>`).
    pub rerun: Vec<String>,
}

/// Option names whose values are never written to a report.
const SECRET_WORDS: [&str; 4] = ["password", "secret", "token", "key"];

/// `argv` with the values of secret-looking options (`--x-password V` or
/// `--x-password=V`) replaced by `<redacted>`.
pub fn redact_argv(argv: &[String]) -> Vec<String> {
    let secret = |name: &str| {
        let name = name.to_ascii_lowercase();
        name.starts_with("--") && SECRET_WORDS.iter().any(|w| name.contains(w))
    };
    let mut out = Vec::with_capacity(argv.len());
    let mut hide_next = false;
    for arg in argv {
        if hide_next {
            out.push("<redacted>".to_owned());
            hide_next = false;
        } else if let Some((name, _)) = arg.split_once('=').filter(|(name, _)| secret(name)) {
            out.push(format!("{name}=<redacted>"));
        } else {
            hide_next = secret(arg);
            out.push(arg.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_option_values_are_redacted() {
        let argv: Vec<String> = [
            "picharness",
            "run",
            "--sut-fault",
            "no-record-route",
            "--admin-password",
            "hunter2",
            "--api-token=abc",
            "--embedded-net",
            "127.80.0.0",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        assert_eq!(
            redact_argv(&argv),
            [
                "picharness",
                "run",
                "--sut-fault",
                "no-record-route",
                "--admin-password",
                "<redacted>",
                "--api-token=<redacted>",
                "--embedded-net",
                "127.80.0.0",
            ]
        );
    }
}
