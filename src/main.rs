//! `picharness`: the command-line front end. It parses arguments and hands
//! over to the harness; no logic lives here.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use picharness_harness::catalogue::{default_scenarios_dir, list_json, list_text, load_catalogue};
use picharness_harness::run::{EXIT_CANNOT_START, EXIT_OK, RunOptions, run};
use picharness_harness::topology::{AvDialects, AvOptions, ExternalAv, MAX_RTP_SECONDS};
use picharness_simulators::av::TurnCredentials;
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
        av: Box<AvArgs>,
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
            dialects: self.av_dialect.map(|d| AvDialects {
                standard: !matches!(d, AvDialectArg::MsTurn),
                ms_turn: !matches!(d, AvDialectArg::Standard),
            }),
        }
    }
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
            av,
            test_args,
        } => run(RunOptions {
            scenarios_dir: scenarios.unwrap_or_else(default_scenarios_dir),
            report_dir,
            faults: sut_faults,
            embedded_base: embedded_net,
            av: (*av).options(),
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
        Command::Faults => {
            for fault in Fault::ALL {
                println!("{:<24} {}", fault.name(), fault.description());
            }
            EXIT_OK
        }
    };
    ExitCode::from(code)
}
