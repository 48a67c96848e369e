//! `picharness`: the command-line front end. It parses arguments and hands
//! over to the harness; no logic lives here.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use picharness_harness::catalogue::{default_scenarios_dir, list_json, list_text, load_catalogue};
use picharness_harness::run::{EXIT_CANNOT_START, EXIT_OK, RunOptions, run};
use picharness_harness::sip_lint::lint_inputs;
use picharness_simulators::edge::Fault;

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
        /// Where summary.json, junit.xml and cases/<id>/ go.
        #[arg(long, value_name = "DIR", default_value = "picharness-report")]
        report_dir: PathBuf,
        /// Directory holding profiles/ and cases/.
        #[arg(long, value_name = "DIR")]
        scenarios: Option<PathBuf>,
        /// First two octets of the loopback /16 the embedded topology uses.
        #[arg(long, value_name = "ADDR", default_value = "127.80.0.0")]
        embedded_net: Ipv4Addr,
        #[command(flatten)]
        test_args: libtest_mimic::Arguments,
    },
    /// List every case with its title, providers and requirement ids.
    List {
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
        /// Directory holding profiles/ and cases/.
        #[arg(long, value_name = "DIR")]
        scenarios: Option<PathBuf>,
    },
    /// List the reference Edge's fault switches.
    Faults,
    /// SIP tools.
    #[command(subcommand)]
    Sip(SipCommand),
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

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run {
            sut_faults,
            report_dir,
            scenarios,
            embedded_net,
            test_args,
        } => run(RunOptions {
            scenarios_dir: scenarios.unwrap_or_else(default_scenarios_dir),
            report_dir,
            faults: sut_faults,
            embedded_base: embedded_net,
            test_args,
        }),
        Command::List { format, scenarios } => {
            let dir = scenarios.unwrap_or_else(default_scenarios_dir);
            match load_catalogue(&dir) {
                Ok(catalogue) => {
                    match format {
                        ListFormat::Text => print!("{}", list_text(&catalogue.cases)),
                        ListFormat::Json => println!("{}", list_json(&catalogue.cases)),
                    }
                    EXIT_OK
                }
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
        Command::Faults => {
            for fault in Fault::ALL {
                println!("{:<24} {}", fault.name(), fault.description());
            }
            EXIT_OK
        }
    };
    ExitCode::from(code)
}
