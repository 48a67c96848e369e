//! The verdict of one case, with its one-sentence reason and the warnings
//! and observations it found on the way.

use picharness_reports::{Finding, Verdict};

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
    /// Warnings and observations, whatever the verdict.
    pub findings: Vec<Finding>,
}

impl Outcome {
    pub fn pass(reason: impl Into<String>) -> Self {
        Self {
            verdict: Verdict::Pass,
            reason: reason.into(),
            failed_step: None,
            observations: Vec::new(),
            findings: Vec::new(),
        }
    }

    pub fn new(verdict: Verdict, reason: impl Into<String>) -> Self {
        Self {
            verdict,
            reason: reason.into(),
            failed_step: None,
            observations: Vec::new(),
            findings: Vec::new(),
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
