//! Running one case against a topology: executing its steps, judging what
//! the SUT did, and gathering the evidence.

mod abuse;
mod capture_gaps;
pub(crate) mod checks;
mod evidence;
mod execute;
mod matching;
mod outcome;
mod preview;
mod sip_validity;
mod trace_budget;
mod transcript_log;

pub use evidence::{CaseArtifacts, write_case_evidence};
pub use execute::run_case;
pub use outcome::Outcome;
pub use trace_budget::fit_trace;
