//! The verdict of one case, with its one-sentence reason.

use picharness_reports::Verdict;

/// How a case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub verdict: Verdict,
    pub reason: String,
    /// "N: description" of the step that decided a non-pass verdict.
    pub failed_step: Option<String>,
    /// What the case saw that its requirement does not judge (a rule under
    /// `observe`, "record either" behaviour): reported, never a fail.
    pub observations: Vec<String>,
}

impl Outcome {
    pub fn pass(reason: impl Into<String>) -> Self {
        Self {
            verdict: Verdict::Pass,
            reason: reason.into(),
            failed_step: None,
            observations: Vec::new(),
        }
    }

    pub fn new(verdict: Verdict, reason: impl Into<String>) -> Self {
        Self {
            verdict,
            reason: reason.into(),
            failed_step: None,
            observations: Vec::new(),
        }
    }

    pub fn fail(reason: impl Into<String>) -> Self {
        Self::new(Verdict::Fail, reason)
    }

    pub fn error(reason: impl Into<String>) -> Self {
        Self::new(Verdict::Error, reason)
    }

    pub fn inconclusive(reason: impl Into<String>) -> Self {
        Self::new(Verdict::Inconclusive, reason)
    }
}
