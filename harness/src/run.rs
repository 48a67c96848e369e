//! A whole run: load the catalogue, start the topology, execute the cases as
//! libtest-mimic trials (filters, `--exact`, `--skip`, `--list`,
//! `--test-threads` as libtest has them), and write `summary.json`,
//! `junit.xml`, `index.html` and each case's evidence.

use std::io::Write as _;
use std::net::Ipv4Addr;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use picharness_reports::budget::{CaseBudget, RunBudget};
use picharness_reports::html::write_html_within;
use picharness_reports::junit::write_junit_within;
use picharness_reports::summary::write_summary;
use picharness_reports::{
    Attempt, CaseRecord, EvidenceFiles, Invocation, RunRecord, SCHEMA_VERSION, ToolInfo, Totals,
    Verdict, redact_argv,
};
use picharness_simulators::edge::{
    ChaosMode, DEFAULT_TIMER_C, EdgeTimers, Fault, FaultSet, Variant, VariantSet,
};
use picharness_simulators::tls::install_crypto_provider;

use crate::case::{CaseArtifacts, Outcome, run_case, write_case_evidence};
use crate::catalogue::{default_scenarios_dir, load_catalogue};
use crate::config::load_config;
use crate::dns_trace::write_dns_trace;
use crate::expected::ExpectedVerdicts;
use crate::plan::{CasePlan, Selection, describe_addresses, describe_plan, run_setting};
use crate::scenario::Case;
use crate::shard::Shard;
use crate::stdout_relay::StdoutRelay;
use crate::terminal::{LiveProgress, Terminal};
use crate::topology::{EmbeddedAddresses, Topology, allowed_destinations};
use picharness_simulators::destinations::restrict_destinations;

/// The finding kinds `--fail-on` selects.
pub use picharness_reports::FindingKind;

/// Exit code: every case passed, was skipped or was inconclusive.
pub const EXIT_OK: u8 = 0;
/// Exit code: at least one case failed or errored (or carried a finding
/// of a kind given to `--fail-on`).
pub const EXIT_FAILURES: u8 = 1;
/// Exit code: the run could not start.
pub const EXIT_CANNOT_START: u8 = 2;

/// How many cases run at once when `--test-threads` is not given. Cases
/// mostly wait, so this is not the CPU count; it is bounded because their
/// TLS handshakes and media streams do need the CPU, and a starved stream
/// would be judged lossy.
pub const MAX_DEFAULT_CONCURRENCY: usize = 16;

/// What `picharness run` was asked to do.
pub struct RunOptions {
    pub scenarios_dir: PathBuf,
    pub report_dir: PathBuf,
    pub faults: Vec<Fault>,
    /// Conformant variants of the reference Edge (`--sut-variant`).
    pub variants: Vec<Variant>,
    /// A misbehaving Edge in the reference Edge's place (the harness's own tests).
    pub chaos: Option<ChaosMode>,
    /// The reference Edge's SIP timers.
    pub edge_timers: EdgeTimers,
    /// The /16 the embedded topology's loopback addresses come from.
    pub embedded_base: Ipv4Addr,
    /// Run only this slice of the cases (`--shard K/N`).
    pub shard: Option<Shard>,
    /// A/V off, an external A/V Edge, the RTP stream length.
    pub av: crate::topology::AvOptions,
    /// A staging configuration: run against the Edge it names instead of
    /// the embedded reference Edge.
    pub config: Option<PathBuf>,
    /// Print the plan and every address that would be used; send nothing.
    pub dry_run: bool,
    /// An expected-verdicts file: only deviations from it fail the run.
    pub expect: Option<PathBuf>,
    /// Re-run a case that fails or errors up to this many times; one that
    /// then passes is marked flaky.
    pub retries: usize,
    /// Finding kinds that make the run exit 1 like a fail (`--fail-on`).
    pub fail_on: Vec<FindingKind>,
    /// The most bytes the report directory may take (`--report-limit`;
    /// default [`RunBudget::LIMIT`]).
    pub report_limit: Option<u64>,
    /// Run the robustness family too (hostile input; left out by default).
    pub include_robustness: bool,
    pub test_args: Arguments,
}

struct Shared {
    topology: Topology,
    runtime: tokio::runtime::Handle,
    report_dir: PathBuf,
    nonce: String,
    records: Mutex<Vec<CaseRecord>>,
    /// How often a failing case is re-run (`--retries`).
    retries: usize,
    expected: Option<ExpectedVerdicts>,
    terminal: Terminal,
    progress: LiveProgress,
    /// Each attempt's share of the report budget.
    budget: RunBudget,
    /// What is left of the budget's pool.
    pool: AtomicU64,
}

/// Runs the suite; returns the process exit code.
pub fn run(mut options: RunOptions) -> u8 {
    install_crypto_provider();
    if options.test_args.test_threads == Some(0) {
        // libtest-mimic would wait forever for a pool with no thread.
        eprintln!("picharness: --test-threads must be at least 1; nothing was run");
        return EXIT_CANNOT_START;
    }
    let terminal = Terminal::from_args(&mut options.test_args);
    let mut catalogue = match load_catalogue(&options.scenarios_dir) {
        Ok(c) => c,
        Err(errors) => {
            report_problems(&errors, "scenario files", "run");
            return EXIT_CANNOT_START;
        }
    };
    let expected = match &options.expect {
        Some(path) => match ExpectedVerdicts::load(path, &catalogue.cases) {
            Ok(expected) => Some(expected),
            Err(errors) => {
                report_problems(&errors, "expected-verdicts file", "run");
                return EXIT_CANNOT_START;
            }
        },
        None => None,
    };
    let config = match &options.config {
        Some(path) => match load_config(path, &catalogue.profiles) {
            Ok(config) => Some(config),
            Err(errors) => {
                report_problems(&errors, "configuration", "run");
                return EXIT_CANNOT_START;
            }
        },
        None => None,
    };
    if config.is_some()
        && (!options.faults.is_empty() || !options.variants.is_empty() || options.chaos.is_some())
    {
        eprintln!(
            "picharness: --sut-fault and --sut-variant switch the embedded reference Edge; they have no meaning with --config"
        );
        return EXIT_CANNOT_START;
    }
    if config.is_none() && options.dry_run {
        eprintln!(
            "picharness: --dry-run shows what a run against a configured SUT would contact; give --config FILE"
        );
        return EXIT_CANNOT_START;
    }
    if let Some(floor) = config.as_ref().and_then(|c| c.case_timeout) {
        for case in &mut catalogue.cases {
            case.timeout = case.timeout.max(floor);
        }
    }
    // One plan for the dry run, `--list` and the run: which cases the
    // command line selects, and which of those the setting skips.
    let setting = run_setting(config.as_ref(), &options.av);
    let selection = Selection {
        shard: options.shard,
        args: &options.test_args,
        include_robustness: options.include_robustness,
    };
    let plan = CasePlan::new(&catalogue.cases, &selection, &setting, &catalogue.profiles);
    if plan.is_empty() {
        eprintln!(
            "picharness: no case is selected ({}); nothing was run",
            selection.describe()
        );
        return EXIT_CANNOT_START;
    }
    if let Some(config) = &config {
        // Written, not printed: a closed pipe (`| head`) must not panic.
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(describe_plan(config, &plan, options.dry_run).as_bytes());
        if options.dry_run {
            let _ = out.write_all(describe_addresses(config).as_bytes());
            let _ = writeln!(out, "picharness: dry run; nothing was sent");
            return EXIT_OK;
        }
        let _ = out.flush();
        drop(out);
        restrict_destinations(allowed_destinations(config));
    }
    let selected = plan.selected(&catalogue.cases);
    // The plan applied the filters; libtest must not apply them a second time.
    let mut libtest_args = options.test_args.clone();
    libtest_args.filter = None;
    libtest_args.skip.clear();
    libtest_args.ignored = false;
    if libtest_args.list {
        let trials = selected
            .iter()
            .map(|c| Trial::test(c.id.clone(), || Ok(())))
            .collect();
        let relay = StdoutRelay::route(&mut libtest_args);
        let _listed = libtest_mimic::run(&libtest_args, trials);
        if let Some(relay) = relay {
            relay.finish();
        }
        return EXIT_OK;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("picharness: cannot start the async runtime: {e}");
            return EXIT_CANNOT_START;
        }
    };
    let faults = FaultSet::new(options.faults.iter().copied());
    let addresses = EmbeddedAddresses {
        base: options.embedded_base,
    };
    let started = match &config {
        Some(config) => runtime.block_on(Topology::from_config(config, catalogue.profiles.clone())),
        None => runtime.block_on(Topology::embedded(
            catalogue.profiles.clone(),
            faults,
            VariantSet::new(options.variants.iter().copied()),
            addresses,
            options.chaos,
            options.edge_timers,
        )),
    };
    let mut topology = match started {
        Ok(t) => t,
        Err(e) => {
            let what = if config.is_some() {
                "the simulated roles of the configuration"
            } else {
                "the embedded topology"
            };
            eprintln!("picharness: cannot start {what}: {e}");
            return EXIT_CANNOT_START;
        }
    };
    topology.apply_av_options(&options.av);
    topology.setting = setting.clone();
    if let Err(e) = prepare_report_dir(&options.report_dir) {
        eprintln!(
            "picharness: report directory {}: {e}",
            options.report_dir.display()
        );
        return EXIT_CANNOT_START;
    }
    let budget = RunBudget::within(
        options.report_limit.unwrap_or(RunBudget::LIMIT),
        selected.len(),
        options.retries,
    );
    if !budget.fits() {
        eprintln!(
            "picharness: warning: {} cases with --retries {} are more than the report budget of {} bytes can hold \
             at its minimum per case; the report may be larger",
            selected.len(),
            options.retries,
            budget.limit
        );
    }
    let started_at = SystemTime::now();
    let started = Instant::now();
    let shared = Arc::new(Shared {
        pool: AtomicU64::new(budget.pool),
        budget,
        topology,
        runtime: runtime.handle().clone(),
        report_dir: options.report_dir.clone(),
        nonce: format!("{:06x}", rand::random::<u32>() & 0x00ff_ffff),
        records: Mutex::new(Vec::new()),
        retries: options.retries,
        expected,
        terminal,
        progress: LiveProgress::start(),
    });
    let mut by_wait = selected.clone();
    // Exclusive cases first too: against the embedded Edge each starts a
    // private copy of the topology before it can begin.
    by_wait.sort_by_key(|case| {
        (
            std::cmp::Reverse(case.exclusive),
            std::cmp::Reverse(case.timeout),
        )
    });
    let trials = by_wait
        .iter()
        .map(|case| {
            let shared = shared.clone();
            let case = (*case).clone();
            let skip = plan.skip_reason(&case.id).map(str::to_owned);
            Trial::ignorable_test(case.id.clone(), move || {
                run_trial(&shared, &case, skip.as_deref())
            })
        })
        .collect();
    // Our own records decide the exit code (fail/error only; libtest would
    // also count nothing for inconclusive), so the conclusion is not used.
    // Cases wait on the network, not on the CPU: unless --test-threads says
    // otherwise, up to MAX_DEFAULT_CONCURRENCY run at once, the ones that
    // may wait longest (largest timeout) first, so the quick ones finish
    // while those wait and the run takes about as long as its longest case.
    if libtest_args.test_threads.is_none() {
        libtest_args.test_threads = Some(selected.len().clamp(1, MAX_DEFAULT_CONCURRENCY));
    }
    let relay = StdoutRelay::route(&mut libtest_args);
    let _conclusion = libtest_mimic::run(&libtest_args, trials);
    if let Some(relay) = relay {
        relay.finish();
    }
    shared.progress.finish();

    let mut cases = shared.records.lock().map(|r| r.clone()).unwrap_or_default();
    let order: Vec<&str> = catalogue.cases.iter().map(|c| c.id.as_str()).collect();
    cases.sort_by_key(|c| order.iter().position(|id| *id == c.id));
    let totals = Totals::of(&cases);
    let record = RunRecord {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "picharness".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        sut: shared.topology.sut_info(),
        started_at: rfc3339(started_at),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        totals,
        cases,
        invocation: Some(invocation(&options)),
        expect_file: shared
            .expected
            .as_ref()
            .map(|e| e.source.display().to_string()),
        merged: None,
        edge_liveness: shared.topology.liveness.record(),
    };
    let mut exit = if record.has_failures(&options.fail_on) {
        EXIT_FAILURES
    } else {
        EXIT_OK
    };
    if let Err(e) = write_summary(&options.report_dir.join("summary.json"), &record) {
        eprintln!("picharness: cannot write summary.json: {e}");
        exit = EXIT_FAILURES;
    }
    let junit = options.report_dir.join("junit.xml");
    if let Err(e) = write_junit_within(&junit, &record, budget.junit()) {
        eprintln!("picharness: cannot write junit.xml: {e}");
        exit = EXIT_FAILURES;
    }
    let dns_trace = options.report_dir.join("dns.pcapng");
    if let Err(e) = write_dns_trace(&dns_trace, &shared.topology.dns_log, budget.dns_trace()) {
        eprintln!("picharness: cannot write {}: {e}", dns_trace.display());
        exit = EXIT_FAILURES;
    }
    if let Err(e) = write_html_within(&options.report_dir, &record, budget.html()) {
        eprintln!("picharness: cannot write index.html: {e}");
        exit = EXIT_FAILURES;
    }
    terminal.run_finished(&record, &options.report_dir, exit);
    drop(shared);
    runtime.shutdown_background();
    exit
}

/// Prints every problem found in an input file the command cannot use, then
/// one line counting them: "N problem(s) in the WHAT; nothing was OUTCOME".
pub(crate) fn report_problems<E: std::fmt::Display>(errors: &[E], what: &str, outcome: &str) {
    for e in errors {
        eprintln!("error: {e}");
    }
    eprintln!(
        "picharness: {} problem(s) in the {what}; nothing was {outcome}",
        errors.len()
    );
}

/// The command line of this process (redacted) and the command that runs
/// the same suite the same way.
fn invocation(options: &RunOptions) -> Invocation {
    let argv: Vec<String> = std::env::args().collect();
    let mut rerun = vec!["picharness".to_owned(), "run".to_owned()];
    match &options.config {
        Some(path) => {
            rerun.push("--config".to_owned());
            rerun.push(path.display().to_string());
        }
        None => {
            rerun.push("--embedded-net".to_owned());
            rerun.push(options.embedded_base.to_string());
        }
    }
    for fault in &options.faults {
        rerun.push("--sut-fault".to_owned());
        rerun.push(fault.name().to_owned());
    }
    for variant in &options.variants {
        rerun.push("--sut-variant".to_owned());
        rerun.push(variant.name().to_owned());
    }
    if let Some(mode) = options.chaos {
        rerun.push("--sut-chaos".to_owned());
        rerun.push(mode.name().to_owned());
    }
    if options.edge_timers.timer_c != DEFAULT_TIMER_C {
        rerun.push("--sut-timer-c-ms".to_owned());
        rerun.push(options.edge_timers.timer_c.as_millis().to_string());
    }
    if !options.fail_on.is_empty() {
        let kinds: Vec<&str> = options.fail_on.iter().map(|k| k.as_str()).collect();
        rerun.push("--fail-on".to_owned());
        rerun.push(kinds.join(","));
    }
    if options.scenarios_dir != default_scenarios_dir() {
        rerun.push("--scenarios".to_owned());
        rerun.push(options.scenarios_dir.display().to_string());
    }
    Invocation {
        argv: redact_argv(&argv),
        rerun,
    }
}

fn rfc3339(at: SystemTime) -> String {
    let odt = time::OffsetDateTime::from(at);
    odt.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| odt.to_string())
}

/// Creates the report directory; stale case folders from an earlier run
/// into the same directory are removed so evidence never mixes runs.
fn prepare_report_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let cases = dir.join("cases");
    if cases.exists() && dir.join("summary.json").exists() {
        std::fs::remove_dir_all(&cases)?;
    }
    std::fs::create_dir_all(cases)
}

/// Moves the evidence of an attempt (every file in `case_dir`) into its
/// subfolder `attempt` and returns the paths of `evidence` moved with it.
fn move_evidence(
    case_dir: &Path,
    attempt: &str,
    evidence: &EvidenceFiles,
) -> std::io::Result<EvidenceFiles> {
    let kept = case_dir.join(attempt);
    std::fs::create_dir_all(&kept)?;
    for entry in std::fs::read_dir(case_dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::rename(entry.path(), kept.join(entry.file_name()))?;
        }
    }
    let moved = |path: &String| match path.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/{attempt}/{name}"),
        None => format!("{attempt}/{path}"),
    };
    Ok(EvidenceFiles {
        trace: evidence.trace.as_ref().map(moved),
        transcript: evidence.transcript.as_ref().map(moved),
        certificates: evidence.certificates.iter().map(moved).collect(),
        messages: evidence.messages.as_ref().map(moved),
    })
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// One execution of `case`: its outcome, with its evidence written to
/// `case_dir`, and its duration.
fn run_attempt(
    shared: &Shared,
    case: &Case,
    skip: Option<&str>,
    nonce: &str,
    case_dir: &Path,
) -> (Outcome, EvidenceFiles, u64) {
    let started = Instant::now();
    let executed = match skip {
        Some(reason) => Ok((
            Outcome::new(Verdict::Skipped, reason),
            CaseArtifacts::default(),
        )),
        None => std::panic::catch_unwind(AssertUnwindSafe(|| {
            shared
                .runtime
                .block_on(run_case(&shared.topology, case, nonce))
        })),
    };
    let (mut outcome, artifacts) = match executed {
        Ok(result) => result,
        Err(payload) => (
            Outcome::error(format!(
                "the harness panicked: {}",
                panic_message(payload.as_ref())
            )),
            CaseArtifacts::default(),
        ),
    };
    let share = draw(
        &shared.pool,
        &shared.budget.case(nonce != shared.nonce),
        &artifacts.need(),
    );
    let mut artifacts = artifacts;
    artifacts.fit(&share);
    let (evidence, write_error): (EvidenceFiles, Option<String>) =
        write_case_evidence(&shared.report_dir, case_dir, &artifacts, share.certificates);
    if let Some(e) = write_error {
        if outcome.verdict == Verdict::Pass {
            outcome = Outcome::error(format!(
                "the case passed but its evidence could not be written: {e}"
            ));
        } else {
            outcome
                .reason
                .push_str(&format!(" (evidence incomplete: {e})"));
        }
    }
    // The reason quotes what the SUT sent: bounded, control characters
    // escaped, before it reaches the terminal or any report.
    outcome.reason = picharness_reports::text::reason_text(&outcome.reason);
    // The case's own time: not its wait for exclusive cases.
    let own = started.elapsed().saturating_sub(artifacts.waited);
    let duration_ms = u64::try_from(own.as_millis()).unwrap_or(u64::MAX);
    (outcome, evidence, duration_ms)
}

/// `floor` grown towards `need` with what it takes from `pool`.
fn draw(pool: &AtomicU64, floor: &CaseBudget, need: &CaseBudget) -> CaseBudget {
    let mut available = pool.load(Ordering::Relaxed);
    loop {
        let (grown, taken) = floor.grown(need, available);
        if taken == 0 {
            return grown;
        }
        match pool.compare_exchange_weak(
            available,
            available - taken,
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            Ok(_) => return grown,
            Err(now) => available = now,
        }
    }
}

fn run_trial(shared: &Shared, case: &Case, skip: Option<&str>) -> Result<Completion, Failed> {
    let case_dir = shared.report_dir.join("cases").join(&case.id);
    let (mut outcome, mut evidence, mut duration_ms) =
        run_attempt(shared, case, skip, &shared.nonce, &case_dir);
    // A failing case is re-run up to `retries` times; the failed attempts
    // keep their evidence under attempt-<n>/ and stay in the record.
    let mut retries = Vec::new();
    while outcome.verdict.is_failure() && retries.len() < shared.retries {
        let n = retries.len() + 1;
        let kept = match move_evidence(&case_dir, &format!("attempt-{n}"), &evidence) {
            Ok(moved) => moved,
            Err(e) => {
                outcome
                    .reason
                    .push_str(&format!(" (evidence of attempt {n} not kept: {e})"));
                break;
            }
        };
        retries.push(Attempt {
            verdict: outcome.verdict,
            reason: outcome.reason.clone(),
            failed_step: outcome.failed_step.clone(),
            duration_ms,
            evidence: kept,
        });
        // A fresh nonce (still hex) so nothing left of the failed attempt
        // reaches the new one.
        let nonce = format!("{}{n:x}", shared.nonce);
        (outcome, evidence, duration_ms) = run_attempt(shared, case, skip, &nonce, &case_dir);
    }
    let flaky = outcome.verdict == Verdict::Pass && !retries.is_empty();
    let mut record = CaseRecord {
        findings: outcome.findings.clone(),
        id: case.id.clone(),
        title: case.title.clone(),
        providers: case.providers.clone(),
        requirements: case.requirements.clone(),
        tags: case.tags.clone(),
        verdict: outcome.verdict,
        reason: outcome.reason.clone(),
        failed_step: outcome.failed_step.clone(),
        duration_ms,
        evidence,
        expected: None,
        retries,
        flaky,
    };
    if let Some(expected) = &shared.expected {
        expected.judge(&mut record);
    }
    shared.terminal.case_finished(&record);
    shared.progress.case_finished(&record);
    let deviation = record.deviation();
    let expected = record.expected.clone();
    if let Ok(mut records) = shared.records.lock() {
        records.push(record);
    }
    let step = outcome
        .failed_step
        .as_ref()
        .map(|s| format!(" [step {s}]"))
        .unwrap_or_default();
    // With an expected-verdicts file, libtest's own lines count deviations:
    // an expected result is "ignored" with a note, a deviation "failed".
    if shared.expected.is_some() {
        return match (deviation, expected) {
            (Some(deviation), _) => Err(Failed::from(format!("{deviation}{step}"))),
            (None, Some(expected)) if expected.verdict != Verdict::Pass => {
                Ok(Completion::ignored_with(format!(
                    "{} as expected ({})",
                    expected.verdict, expected.why
                )))
            }
            (None, _) => trial_result(&outcome, &step),
        };
    }
    trial_result(&outcome, &step)
}

/// libtest's view of a verdict: pass is ok, fail and error fail, the rest
/// are ignored with their reason.
fn trial_result(outcome: &Outcome, step: &str) -> Result<Completion, Failed> {
    match outcome.verdict {
        Verdict::Pass => Ok(Completion::Completed),
        Verdict::Fail | Verdict::Error => Err(Failed::from(format!(
            "{}: {}{step}",
            outcome.verdict, outcome.reason
        ))),
        Verdict::Inconclusive | Verdict::Skipped => Ok(Completion::ignored_with(format!(
            "{}: {}",
            outcome.verdict, outcome.reason
        ))),
    }
}
