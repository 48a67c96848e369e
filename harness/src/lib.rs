//! The picharness harness: everything between the command line and the
//! simulators.
//!
//! `profile` and `scenario` load the data files (provider profiles, one case
//! per file) and validate them up front. `topology` starts the world a run
//! plays in (the embedded reference Edge on loopback by default). `case`
//! executes one case's steps and judges the SUT, gathering evidence. `run`
//! drives all cases as libtest-mimic trials and writes the reports.
//! `sip_lint` reads SIP messages from files for `picharness sip lint`.

pub mod case;
pub mod catalogue;
pub mod profile;
pub mod run;
pub mod scenario;
pub mod sip_lint;
pub mod topology;

pub use run::{RunOptions, run};
