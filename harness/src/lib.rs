//! The picharness harness: everything between the command line and the
//! simulators.
//!
//! `profile` and `scenario` load the data files (provider profiles, one case
//! per file) and validate them up front. `topology` starts the world a run
//! plays in (the embedded reference Edge on loopback by default). `case`
//! executes one case's steps and judges the SUT, gathering evidence. `run`
//! drives all cases as libtest-mimic trials and writes the reports. `bundle`
//! packs one case's evidence for a bug report; `shard` picks a stable slice of
//! the cases for `--shard K/N`; `merge` joins shard reports; `report_diff`
//! compares two; `terminal` prints
//! the closing summary or, with `--format json`, one event per line.
//! `locate` is how a peer finds the Edge through DNS; `dns_serve` runs the DNS
//! server alone (`picharness dns serve`); `dns_trace` writes the run's whole
//! DNS traffic as `dns.pcapng`.
//! `config` reads a staging configuration (`run --config`); `applicability`
//! decides which cases a setting can judge and `plan` says so before a run.
//! `dns_name` says whether a text is a DNS host name (RFC 1035).
//! `data_file` reads the user's files (regular files only, bounded).
//! `expected` reads the expected-verdicts file of `run --expect` and writes
//! one from a report (`picharness expect init`).
//! `mutation` generates the robustness family's PROTOS-style mutation
//! cases from the catalogue's own requests when the catalogue loads.
//! `sip_lint` reads SIP messages from files for `picharness sip lint`.
//! `fault_table` is the data that proves every check can fail (which fault
//! switch fails, flags or leaves inconclusive which case); `cases_doc`
//! renders the catalogue with it as `docs/cases.md`.

pub mod applicability;
pub mod bundle;
pub mod case;
pub mod cases_doc;
pub mod catalogue;
pub mod config;
pub mod data_file;
pub mod dns_name;
pub mod dns_serve;
pub mod dns_trace;
pub mod doctor;
pub mod expected;
pub mod fault_table;
pub mod liveness;
pub mod load;
pub mod locate;
pub mod merge;
pub mod mutation;
pub mod pki_init;
pub mod plan;
pub mod profile;
pub mod report_diff;
pub mod run;
pub mod scenario;
pub mod shard;
pub mod sip_lint;
mod stdout_relay;
mod terminal;
pub mod topology;

pub use run::{RunOptions, run};
