//! Scenario files: one interop case per TOML file, loaded and validated up
//! front into [`Case`] values. Every error names the file, line and field.

mod abuse_kind;
#[cfg(test)]
mod abuse_tests;
#[cfg(test)]
mod controls_tests;
mod error;
mod file_format;
mod key_path;
mod load;
mod model;
mod template;

pub use abuse_kind::{
    ABUSE_MAX_HOLD, AbuseKind, AbuseStep, BURST_TOTAL, BURST_WAVE, IDLE_CONNECTIONS,
    LONG_CHAIN_INTERMEDIATES, SILENT_CONNECTIONS, SLOW_BYTE_INTERVAL, SLOWLORIS_CONNECTIONS,
};
pub use error::ScenarioError;
pub(crate) use error::line_of;
pub(crate) use key_path::line_of_key;
pub(crate) use load::REFUSAL_SILENCE_WAIT;
pub use load::{load_case_file, load_cases, parse_case};
pub use model::{
    Action, Actor, Case, CheckKind, HeaderExpectation, IfUnmet, MessageExpectation, StatusPattern,
    Step,
};
pub use template::{TemplateVars, render_message, substitute as template_substitute};
