//! `picharness`: the command-line front end. It parses arguments and hands
//! over to the harness; no logic lives here.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use picharness_harness::bundle::evidence_command;
use picharness_harness::bundle::requirement_texts;
use picharness_harness::cases_doc::{REQUIREMENTS_FILE, cases_markdown};
use picharness_harness::catalogue::{default_scenarios_dir, list_json, list_text, load_catalogue};
use picharness_harness::dns_serve::{DnsServeOptions, dns_serve};
use picharness_harness::doctor::doctor;
use picharness_harness::expected::expect_init;
use picharness_harness::load::{LoadOptions, load};
use picharness_harness::merge::merge_command;
use picharness_harness::report_diff::{DiffFormat, DurationThreshold, diff_command};

use picharness_harness::pki_init::{PkiInitOptions, write_test_pki};
use picharness_harness::run::{EXIT_CANNOT_START, EXIT_OK, FindingKind, RunOptions, run};
use picharness_harness::shard::Shard;
use picharness_harness::sip_lint::lint_inputs;
use picharness_harness::topology::EmbeddedAddresses;
use picharness_harness::topology::{ACCESS_EDGE_FQDN, SUT_DOMAIN};
use picharness_harness::topology::{
    AvDialects, AvOptions, ExternalAv, MAX_EXPIRY_WAIT_SECS, MAX_RTP_SECONDS,
};
use picharness_simulators::av::TurnCredentials;
use picharness_simulators::edge::{ChaosMode, DEFAULT_TIMER_C, EdgeTimers, Fault, Variant};

/// Conformance test harness for Lync Server 2013 Edge public IM connectivity.
#[derive(Parser)]
#[command(name = "picharness", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the interop cases (against the embedded reference Edge when no configuration is given).
    #[command(help_template = "{about}\n\n{usage-heading} {usage}\n\n{all-args}")]
    Run {
        /// Turn on a fault switch of the reference Edge (repeatable); see `picharness faults`.
        #[arg(long = "sut-fault", value_name = "NAME")]
        sut_faults: Vec<Fault>,
        /// Run the reference Edge in a conformant variant (repeatable): `addresses`
        /// (Via and Record-Route carry IP addresses, not FQDNs), `no-alias` (a
        /// peer's Via alias is ignored). Verdicts must be those of a good run.
        #[arg(long = "sut-variant", value_name = "NAME")]
        sut_variants: Vec<Variant>,
        /// Where summary.json, junit.xml and cases/<id>/ go.
        #[arg(long, value_name = "DIR", default_value = "picharness-report")]
        report_dir: PathBuf,
        /// Directory holding profiles/ and cases/.
        #[arg(long, value_name = "DIR")]
        scenarios: Option<PathBuf>,
        /// First two octets of the loopback /16 the embedded topology uses.
        #[arg(long, value_name = "ADDR", default_value = "127.80.0.0")]
        embedded_net: Ipv4Addr,
        /// Run only shard K of N (cases sorted by id, dealt round-robin); merge with `report merge`.
        #[arg(long, value_name = "K/N")]
        shard: Option<Shard>,
        /// Run against the Edge this staging configuration names (see docs/staging.md).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// With --config: print the mode, which cases apply and every address and port that would be
        /// bound or contacted, then exit without sending anything.
        #[arg(long, requires = "config")]
        dry_run: bool,
        /// Expected verdicts (TOML, see docs/ci.md): only deviations from them fail the run.
        #[arg(long, value_name = "FILE")]
        expect: Option<PathBuf>,
        /// Also exit 1 when a case carries a finding of these kinds (comma-separated: warning,observation).
        #[arg(long, value_enum, value_name = "KINDS", value_delimiter = ',')]
        fail_on: Vec<FailOnArg>,
        /// Also run the robustness cases (tag `robustness`): hostile input (malformed, oversized,
        /// abusive) with a liveness probe after each; left out unless asked, as they may disturb
        /// the Edge (see docs/robustness.md).
        #[arg(long)]
        include_robustness: bool,
        #[command(flatten)]
        report: Box<ReportArgs>,
        #[command(flatten)]
        av: Box<AvArgs>,
        #[command(flatten)]
        sut_test: Box<SutTestArgs>,
        #[command(flatten)]
        test_args: Box<libtest_mimic::Arguments>,
    },
    /// Federation traffic at scale through the Edge: a rate or a number of users, a ramp and a
    /// duration, or --find-max; writes load.json (see docs/load.md).
    Load(Box<LoadArgs>),
    /// List every case with its title, providers and requirement ids.
    List {
        /// `markdown` is the full catalogue (requirement texts, steps, fault switches): docs/cases.md.
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
        /// Directory holding profiles/ and cases/.
        #[arg(long, value_name = "DIR")]
        scenarios: Option<PathBuf>,
    },
    /// List the reference Edge's fault switches.
    Faults,
    /// Check a staging configuration and this machine before a run, and say what to fix.
    Doctor {
        /// The staging configuration to check.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Directory holding profiles/.
        #[arg(long, value_name = "DIR")]
        scenarios: Option<PathBuf>,
    },
    /// The in-process DNS server on its own.
    Dns {
        #[command(subcommand)]
        command: DnsCommand,
    },
    /// Expected-verdicts files for `run --expect`.
    Expect {
        #[command(subcommand)]
        command: ExpectCommand,
    },
    /// Work with report directories.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Pack one case's evidence (trace with keys, transcript, certificates, verdict, how to reproduce) as a .tar.gz.
    Evidence {
        /// The case id, as in summary.json.
        case_id: String,
        /// The report directory of the run.
        #[arg(long, value_name = "DIR", default_value = "picharness-report")]
        report_dir: PathBuf,
        /// Where to write the bundle [default: <case id>.evidence.tar.gz].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Requirements catalogue (Markdown table rows `| ID | text |`) whose texts go into the bundle
        /// [default: ../shared/requirements.md beside the repository when present, else scenarios/requirements.md].
        #[arg(long, value_name = "FILE")]
        requirements: Option<PathBuf>,
    },
    /// Test PKI for a staging Edge.
    Pki {
        #[command(subcommand)]
        action: PkiAction,
    },
    /// SIP tools.
    #[command(subcommand)]
    Sip(SipCommand),
}

/// Options of `load`.
#[derive(clap::Args)]
struct LoadArgs {
    /// Scenarios and their weights: message-in (provider -> Edge -> pool), message-out
    /// (pool -> Edge -> provider), presence (subscriptions both ways, see --subscriptions),
    /// e.g. `message-in=3,message-out=1`.
    #[arg(long, value_name = "NAME=WEIGHT,...", default_value = "message-in")]
    mix: String,
    /// Offered rate in transactions per second (open loop); with --find-max, the first step's rate.
    #[arg(long, value_name = "PER_SECOND")]
    rate: Option<f64>,
    /// Concurrent users instead of a rate (closed loop: each keeps one transaction outstanding).
    #[arg(long, value_name = "N")]
    users: Option<u32>,
    /// Seconds over which the rate climbs linearly from 0 to --rate.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.0)]
    ramp: f64,
    /// Seconds of traffic (the ramp included); with --find-max, the longest the search may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    duration: f64,
    /// Search the highest offered rate with no failure (RFC 7501/7502 steps, binary search).
    #[arg(long)]
    find_max: bool,
    /// With --find-max: seconds each step offers its rate.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    step: u64,
    /// With --find-max: the search ends when the interval is narrower than this percentage of the rate.
    #[arg(long, value_name = "PERCENT", default_value_t = 2.0)]
    resolution: f64,
    /// MTLS connections each provider peer opens to the Edge (and the pool to its internal side).
    #[arg(long, value_name = "N", default_value_t = 4)]
    connections: u32,
    /// Distinct Lync users, and distinct users per provider, the traffic addresses.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    user_population: u32,
    /// Milliseconds a transaction may wait for its final response before it counts as a timeout.
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    timeout: u64,
    /// Raise the safety cap on the rate (default 20000 per second).
    #[arg(long, value_name = "PER_SECOND", default_value_t = picharness_harness::load::DEFAULT_MAX_RATE)]
    max_rate: f64,
    /// Raise the safety cap on the duration (default 600 seconds).
    #[arg(long, value_name = "SECONDS", default_value_t = picharness_harness::load::DEFAULT_MAX_DURATION_S)]
    max_duration: u64,
    /// With presence in the mix: subscriptions to set up (at presence's share of --rate), hold and tear down.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    subscriptions: u32,
    /// With presence in the mix: seconds between refreshes of each subscription.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    refresh: u64,
    /// Capture the first N seconds of traffic to load.pcapng (with the TLS keys).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pcap_seconds: u32,
    /// No progress line.
    #[arg(long)]
    quiet: bool,
    /// Where load.json goes.
    #[arg(long, value_name = "DIR", default_value = "picharness-report")]
    report_dir: PathBuf,
    /// Directory holding profiles/ and cases/.
    #[arg(long, value_name = "DIR")]
    scenarios: Option<PathBuf>,
    /// First two octets of the loopback /16 the embedded topology uses.
    #[arg(long, value_name = "ADDR", default_value = "127.80.0.0")]
    embedded_net: Ipv4Addr,
    /// Load the Edge this staging configuration names (a sandwich configuration; see docs/staging.md).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

impl LoadArgs {
    fn options(self) -> LoadOptions {
        LoadOptions {
            scenarios_dir: self.scenarios.unwrap_or_else(default_scenarios_dir),
            report_dir: self.report_dir,
            config: self.config,
            embedded_base: self.embedded_net,
            mix: self.mix,
            rate: self.rate,
            users: self.users,
            ramp_s: self.ramp,
            duration_s: self.duration,
            connections: self.connections,
            user_population: self.user_population,
            timeout_ms: self.timeout,
            find_max: self.find_max,
            step_s: self.step,
            resolution_percent: self.resolution,
            max_rate: self.max_rate,
            max_duration_s: self.max_duration,
            pcap_seconds: self.pcap_seconds,
            quiet: self.quiet,
            subscriptions: self.subscriptions,
            refresh_s: self.refresh,
        }
    }
}

#[derive(Subcommand)]
enum SipCommand {
    /// Parse and validate each FILE as one SIP message ("-" reads stdin); prints OK or one
    /// finding per line with its RFC section. Exit 0: all valid, 1: any invalid, 2: unreadable input.
    Lint {
        /// Count warnings (rules RFC 2543 senders may break) as failures too.
        #[arg(long)]
        strict: bool,
        #[arg(value_name = "FILE", required = true)]
        files: Vec<String>,
    },
}

#[derive(Subcommand)]
enum DnsCommand {
    /// Serve the embedded topology's zones (authoritative only), print them, and log each query on one line.
    Serve {
        /// Address and port to listen on, UDP and TCP [default: the embedded DNS address, port 53].
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<SocketAddr>,
        /// First two octets of the loopback /16 the zones' A records use.
        #[arg(long, value_name = "ADDR", default_value = "127.80.0.0")]
        embedded_net: Ipv4Addr,
        /// Directory holding profiles/ (one zone per provider federation FQDN).
        #[arg(long, value_name = "DIR")]
        scenarios: Option<PathBuf>,
        /// Turn on a fault switch (repeatable); the dns-* ones change what is served.
        #[arg(long = "sut-fault", value_name = "NAME")]
        sut_faults: Vec<Fault>,
        /// Serve the zones of this staging configuration (on its dns.listen unless --listen is given).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ExpectCommand {
    /// Write an expected-verdicts file accepting every result of a report that is not a pass.
    Init {
        /// The report directory (or its summary.json).
        #[arg(long, value_name = "REPORT")]
        from: PathBuf,
        /// Where to write the file [default: standard output]; an existing file is not overwritten.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Merge the reports of shard runs into one summary.json, junit.xml and index.html.
    Merge {
        /// The shard report directories.
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// Where the merged report goes.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Also exit 1 when a case carries a finding of these kinds (comma-separated: warning,observation).
        #[arg(long, value_enum, value_name = "KINDS", value_delimiter = ',')]
        fail_on: Vec<FailOnArg>,
        /// The most bytes the merged report may take (default 48000000): junit.xml and index.html
        /// fall back to shorter forms to fit (see docs/report-budget.md).
        #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1_000_000..))]
        report_limit: Option<u64>,
    },
    /// What changed between two runs: newly failing or passing cases, verdict and reason changes,
    /// new and removed cases, durations beyond the threshold. Exit 1 when something got worse.
    Diff {
        /// The earlier report (directory or summary.json).
        old: PathBuf,
        /// The later report (directory or summary.json).
        new: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        format: DiffFormatArg,
        /// A duration change is reported when it exceeds this many percent of the old duration...
        #[arg(long, value_name = "PERCENT", default_value_t = 50)]
        duration_percent: u64,
        /// ...and this many milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 200)]
        duration_ms: u64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum DiffFormatArg {
    /// Plain text for a terminal.
    Text,
    /// Markdown for a chat message or a merge request.
    Markdown,
    /// JSON for tools.
    Json,
}

#[derive(Subcommand)]
enum PkiAction {
    /// Write a root CA, an Access Edge certificate and every provider peer's good and bad certificates (keys mode 0600).
    Init {
        /// Directory to create; it must not exist or be empty.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Directory holding profiles/ (the provider peers to issue for).
        #[arg(long, value_name = "DIR")]
        scenarios: Option<PathBuf>,
        /// The staging Edge's access-edge FQDN.
        #[arg(long, value_name = "FQDN", default_value = ACCESS_EDGE_FQDN)]
        access_edge_fqdn: String,
        /// The staging Edge's SIP domain.
        #[arg(long, value_name = "DOMAIN", default_value = SUT_DOMAIN)]
        sip_domain: String,
        /// Also write a certificate for the Edge's internal interface under this name (sandwich mode).
        #[arg(long, value_name = "FQDN")]
        internal_edge_fqdn: Option<String>,
    },
}

/// A/V options of `run`.
#[derive(clap::Args)]
struct AvArgs {
    /// A/V is off (an Edge that federates IM only): the av.* cases are skipped.
    #[arg(long)]
    no_av: bool,
    /// Judge the A/V Edge at this UDP address (STUN/TURN, normally port 3478) instead of the embedded one.
    #[arg(long, value_name = "ADDR", requires_all = ["av_tcp", "av_username", "av_password"])]
    av_udp: Option<SocketAddr>,
    /// Its STUN/TURN TCP address (normally port 443).
    #[arg(long, value_name = "ADDR", requires = "av_udp")]
    av_tcp: Option<SocketAddr>,
    /// TURN long-term credential user name.
    #[arg(long, value_name = "NAME", requires = "av_udp")]
    av_username: Option<String>,
    /// TURN long-term credential password.
    #[arg(long, value_name = "PASSWORD", requires = "av_udp")]
    av_password: Option<String>,
    /// TURN dialect(s) the A/V Edge is judged in (default both; coturn speaks standard only).
    #[arg(long, value_enum, value_name = "DIALECT")]
    av_dialect: Option<AvDialectArg>,
    /// Length of the av.media.rtp-stream stream in seconds (default 2).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_RTP_SECONDS)))]
    rtp_seconds: Option<u32>,
    /// The longest allocation lifetime av.turn.allocation-expiry waits out, in
    /// seconds (default 3). An A/V Edge that grants more (coturn grants 600 s)
    /// leaves the case inconclusive unless this is raised; the case then
    /// takes about 1.6 times the granted lifetime.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(3..=i64::from(MAX_EXPIRY_WAIT_SECS)))]
    av_expiry_wait: Option<u32>,
}

#[derive(Clone, Copy, ValueEnum)]
enum AvDialectArg {
    /// RFC 5389 STUN / RFC 5766 TURN.
    Standard,
    /// [MS-TURN], the Lync 2013 A/V Edge's dialect.
    MsTurn,
    Both,
}

impl AvArgs {
    fn options(self) -> AvOptions {
        let external = match (self.av_udp, self.av_tcp, self.av_username, self.av_password) {
            (Some(udp), Some(tcp), Some(username), Some(password)) => Some(ExternalAv {
                udp,
                tcp,
                credentials: TurnCredentials { username, password },
            }),
            _ => None,
        };
        AvOptions {
            disabled: self.no_av,
            external,
            rtp_seconds: self.rtp_seconds,
            expiry_wait_secs: self.av_expiry_wait,
            dialects: self.av_dialect.map(|d| AvDialects {
                standard: !matches!(d, AvDialectArg::MsTurn),
                ms_turn: !matches!(d, AvDialectArg::Standard),
            }),
        }
    }
}

/// A finding kind `--fail-on` can select.
#[derive(Clone, Copy, ValueEnum)]
enum FailOnArg {
    /// A requirement held in a way it flags (e.g. CERT-07: RSA 1024).
    Warning,
    /// Behaviour a requirement only asks to record (e.g. SIP-14 connection reuse).
    Observation,
}

/// The reference Edge's test-only switches (hidden): the harness's own
/// tests use them.
#[derive(clap::Args)]
struct SutTestArgs {
    /// Put a misbehaving Edge in the reference Edge's place (tests of the harness itself:
    /// silent-after-accept, stall-after-tls, garbage, broken-sip, oversize, reset-after-handshake,
    /// reset-mid-message, tls-alert, plain-text, yes-man, crash-mid-run).
    #[arg(long = "sut-chaos", value_name = "MODE", hide = true)]
    sut_chaos: Option<ChaosMode>,
    /// The reference Edge's Timer C in milliseconds (tests scale it down
    /// from the RFC 3261 default of more than three minutes).
    #[arg(long = "sut-timer-c-ms", value_name = "MS", hide = true)]
    sut_timer_c_ms: Option<std::num::NonZeroU64>,
}

/// How often a case runs and how large the report may grow.
#[derive(clap::Args)]
struct ReportArgs {
    /// Re-run a case that fails or errors up to N times; one that then passes is marked flaky.
    #[arg(long, value_name = "N", default_value_t = 0)]
    retries: usize,
    /// The most bytes the report directory may take (default 48000000); each case's evidence gets a
    /// share of it and says what it left out (see docs/report-budget.md).
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1_000_000..))]
    report_limit: Option<u64>,
}

impl FailOnArg {
    fn kinds(args: &[Self]) -> Vec<FindingKind> {
        args.iter()
            .map(|arg| match arg {
                Self::Warning => FindingKind::Warning,
                Self::Observation => FindingKind::Observation,
            })
            .collect()
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Text,
    Json,
    /// The catalogue as docs/cases.md holds it.
    Markdown,
}

/// Writes a command's output; a reader that went away (`| head`) ends the
/// command quietly instead of panicking, as Unix tools do.
fn write_stdout(text: &str) -> u8 {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => EXIT_OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => {
            eprintln!("error: cannot write the output: {e}");
            EXIT_CANNOT_START
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run {
            sut_faults,
            sut_variants,
            report_dir,
            scenarios,
            embedded_net,
            shard,
            config,
            dry_run,
            expect,
            fail_on,
            report,
            include_robustness,
            av,
            sut_test,
            test_args,
        } => run(RunOptions {
            scenarios_dir: scenarios.unwrap_or_else(default_scenarios_dir),
            report_dir,
            faults: sut_faults,
            variants: sut_variants,
            chaos: sut_test.sut_chaos,
            edge_timers: EdgeTimers {
                timer_c: sut_test
                    .sut_timer_c_ms
                    .map_or(DEFAULT_TIMER_C, |ms| Duration::from_millis(ms.get())),
                ..EdgeTimers::default()
            },
            embedded_base: embedded_net,
            shard,
            av: (*av).options(),
            config,
            dry_run,
            expect,
            retries: report.retries,
            fail_on: FailOnArg::kinds(&fail_on),
            report_limit: report.report_limit,
            include_robustness,
            test_args: *test_args,
        }),
        Command::Load(args) => load((*args).options()),
        Command::List { format, scenarios } => {
            let dir = scenarios.unwrap_or_else(default_scenarios_dir);
            match load_catalogue(&dir) {
                Ok(catalogue) => {
                    let text = match format {
                        ListFormat::Text => list_text(&catalogue.cases),
                        ListFormat::Json => format!("{}\n", list_json(&catalogue.cases)),
                        ListFormat::Markdown => {
                            // A missing requirements file leaves every text marked as missing.
                            let texts = std::fs::read_to_string(dir.join(REQUIREMENTS_FILE))
                                .map(|text| requirement_texts(&text))
                                .unwrap_or_default();
                            cases_markdown(&catalogue.cases, &dir, &texts)
                        }
                    };
                    write_stdout(&text)
                }
                Err(errors) => {
                    for e in errors {
                        eprintln!("error: {e}");
                    }
                    EXIT_CANNOT_START
                }
            }
        }
        Command::Dns {
            command:
                DnsCommand::Serve {
                    listen,
                    embedded_net,
                    scenarios,
                    sut_faults,
                    config,
                },
        } => dns_serve(DnsServeOptions {
            scenarios_dir: scenarios.unwrap_or_else(default_scenarios_dir),
            addresses: EmbeddedAddresses { base: embedded_net },
            listen,
            faults: sut_faults,
            config,
        }),
        Command::Report {
            command:
                ReportCommand::Merge {
                    dirs,
                    out,
                    fail_on,
                    report_limit,
                },
        } => merge_command(&dirs, &out, &FailOnArg::kinds(&fail_on), report_limit),
        Command::Report {
            command:
                ReportCommand::Diff {
                    old,
                    new,
                    format,
                    duration_percent,
                    duration_ms,
                },
        } => diff_command(
            &old,
            &new,
            match format {
                DiffFormatArg::Text => DiffFormat::Text,
                DiffFormatArg::Markdown => DiffFormat::Markdown,
                DiffFormatArg::Json => DiffFormat::Json,
            },
            DurationThreshold {
                percent: duration_percent,
                millis: duration_ms,
            },
        ),
        Command::Expect {
            command: ExpectCommand::Init { from, out },
        } => expect_init(&from, out.as_deref()),
        Command::Evidence {
            case_id,
            report_dir,
            out,
            requirements,
        } => evidence_command(&report_dir, &case_id, out, requirements),
        Command::Pki {
            action:
                PkiAction::Init {
                    out,
                    scenarios,
                    access_edge_fqdn,
                    sip_domain,
                    internal_edge_fqdn,
                },
        } => {
            let dir = scenarios.unwrap_or_else(default_scenarios_dir);
            match load_catalogue(&dir) {
                Ok(catalogue) => match write_test_pki(&PkiInitOptions {
                    out,
                    profiles: catalogue.profiles,
                    access_edge_fqdn,
                    sip_domain,
                    internal_edge_fqdn,
                }) {
                    Ok(notes) => write_stdout(&notes),
                    Err(e) => {
                        eprintln!("error: {e}");
                        EXIT_CANNOT_START
                    }
                },
                Err(errors) => {
                    for e in errors {
                        eprintln!("error: {e}");
                    }
                    EXIT_CANNOT_START
                }
            }
        }
        Command::Sip(SipCommand::Lint { strict, files }) => lint_inputs(
            &files,
            strict,
            &mut std::io::stdin().lock(),
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
        ),
        Command::Doctor { config, scenarios } => {
            doctor(&config, &scenarios.unwrap_or_else(default_scenarios_dir))
        }
        Command::Faults => {
            let text: String = Fault::ALL
                .iter()
                .map(|fault| format!("{:<24} {}\n", fault.name(), fault.description()))
                .collect();
            write_stdout(&text)
        }
    };
    ExitCode::from(code)
}
