//! What changed between two runs (`picharness report diff OLD NEW`): cases
//! newly failing or newly passing, other verdict changes, reason changes,
//! new and removed cases, and durations that moved beyond a threshold;
//! rendered as text for a terminal, Markdown for a chat message or merge
//! request, or JSON for tools.
//!
//! A run got **worse** when a case's verdict got worse (pass, then skipped
//! or inconclusive, then fail or error) or a new case fails or errors.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{CaseRecord, RunRecord, Verdict};

/// When a duration change is reported: it must exceed both bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationThreshold {
    /// Relative change in percent of the old duration.
    pub percent: u64,
    /// Absolute change in milliseconds.
    pub millis: u64,
}

impl Default for DurationThreshold {
    fn default() -> Self {
        Self {
            percent: 50,
            millis: 200,
        }
    }
}

/// One case that differs between the runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseChange {
    pub id: String,
    pub kind: ChangeKind,
    /// The old verdict (absent for a new case).
    pub old_verdict: Option<Verdict>,
    /// The new verdict (absent for a removed case).
    pub new_verdict: Option<Verdict>,
    pub old_reason: Option<String>,
    pub new_reason: Option<String>,
    pub old_duration_ms: Option<u64>,
    pub new_duration_ms: Option<u64>,
    /// Whether this change makes the new run worse (see the module docs).
    pub worse: bool,
}

/// The kinds of change, in the order they are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Not failing before (pass, skipped, inconclusive), fail or error now.
    NewlyFailing,
    /// Not passing before, pass now.
    NewlyPassing,
    /// Any other verdict change (pass to inconclusive, fail to error, ...).
    VerdictChanged,
    /// Same non-pass verdict, another reason.
    ReasonChanged,
    /// In the new run only.
    New,
    /// In the old run only.
    Removed,
    /// Same verdict, duration beyond the threshold.
    Duration,
}

impl ChangeKind {
    fn heading(self) -> &'static str {
        match self {
            Self::NewlyFailing => "newly failing",
            Self::NewlyPassing => "newly passing",
            Self::VerdictChanged => "verdict changed",
            Self::ReasonChanged => "reason changed",
            Self::New => "new cases",
            Self::Removed => "removed cases",
            Self::Duration => "duration changed",
        }
    }
}

/// The difference between two runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunDiff {
    pub old_started_at: String,
    pub new_started_at: String,
    pub changes: Vec<CaseChange>,
    /// Whether any change makes the new run worse.
    pub worse: bool,
}

/// How bad a verdict is: pass, then not judged, then failed.
fn badness(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Pass => 0,
        Verdict::Skipped | Verdict::Inconclusive => 1,
        Verdict::Fail | Verdict::Error => 2,
    }
}

/// Compares `old` with `new`.
pub fn diff_runs(old: &RunRecord, new: &RunRecord, threshold: DurationThreshold) -> RunDiff {
    let old_cases: BTreeMap<&str, &CaseRecord> =
        old.cases.iter().map(|c| (c.id.as_str(), c)).collect();
    let new_cases: BTreeMap<&str, &CaseRecord> =
        new.cases.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut changes = Vec::new();
    for (id, now) in &new_cases {
        let Some(before) = old_cases.get(id) else {
            changes.push(change(
                id,
                ChangeKind::New,
                None,
                Some(now),
                now.verdict.is_failure(),
            ));
            continue;
        };
        let kind = if before.verdict != now.verdict {
            if now.verdict.is_failure() && !before.verdict.is_failure() {
                ChangeKind::NewlyFailing
            } else if now.verdict == Verdict::Pass {
                ChangeKind::NewlyPassing
            } else {
                ChangeKind::VerdictChanged
            }
        } else if now.verdict != Verdict::Pass && before.reason != now.reason {
            ChangeKind::ReasonChanged
        } else if duration_moved(before.duration_ms, now.duration_ms, threshold) {
            ChangeKind::Duration
        } else {
            continue;
        };
        let worse = badness(now.verdict) > badness(before.verdict);
        changes.push(change(id, kind, Some(before), Some(now), worse));
    }
    for (id, before) in &old_cases {
        if !new_cases.contains_key(id) {
            changes.push(change(id, ChangeKind::Removed, Some(before), None, false));
        }
    }
    changes.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    RunDiff {
        old_started_at: old.started_at.clone(),
        new_started_at: new.started_at.clone(),
        worse: changes.iter().any(|c| c.worse),
        changes,
    }
}

fn change(
    id: &str,
    kind: ChangeKind,
    before: Option<&CaseRecord>,
    now: Option<&CaseRecord>,
    worse: bool,
) -> CaseChange {
    CaseChange {
        id: id.to_owned(),
        kind,
        old_verdict: before.map(|c| c.verdict),
        new_verdict: now.map(|c| c.verdict),
        old_reason: before.map(|c| c.reason.clone()),
        new_reason: now.map(|c| c.reason.clone()),
        old_duration_ms: before.map(|c| c.duration_ms),
        new_duration_ms: now.map(|c| c.duration_ms),
        worse,
    }
}

fn duration_moved(old: u64, new: u64, threshold: DurationThreshold) -> bool {
    let delta = old.abs_diff(new);
    delta > threshold.millis && delta.saturating_mul(100) > old.saturating_mul(threshold.percent)
}

/// One line describing `c` (without its id).
fn describe(c: &CaseChange) -> String {
    let verdict = |v: Option<Verdict>| v.map_or("-", Verdict::as_str);
    let reason = |r: &Option<String>| r.clone().unwrap_or_default();
    match c.kind {
        ChangeKind::NewlyFailing
        | ChangeKind::NewlyPassing
        | ChangeKind::VerdictChanged
        | ChangeKind::New => format!(
            "{} -> {}: {}",
            verdict(c.old_verdict),
            verdict(c.new_verdict),
            reason(&c.new_reason)
        ),
        ChangeKind::ReasonChanged => format!(
            "{}: \"{}\" -> \"{}\"",
            verdict(c.new_verdict),
            reason(&c.old_reason),
            reason(&c.new_reason)
        ),
        ChangeKind::Removed => format!("was {}", verdict(c.old_verdict)),
        ChangeKind::Duration => format!(
            "{} ms -> {} ms",
            c.old_duration_ms.unwrap_or_default(),
            c.new_duration_ms.unwrap_or_default()
        ),
    }
}

fn grouped(diff: &RunDiff) -> Vec<(ChangeKind, Vec<&CaseChange>)> {
    let mut groups: Vec<(ChangeKind, Vec<&CaseChange>)> = Vec::new();
    for c in &diff.changes {
        match groups.last_mut() {
            Some((kind, list)) if *kind == c.kind => list.push(c),
            _ => groups.push((c.kind, vec![c])),
        }
    }
    groups
}

fn headline(diff: &RunDiff) -> String {
    let verdict = if diff.worse {
        "worse"
    } else if diff.changes.is_empty() {
        "no change"
    } else {
        "not worse"
    };
    format!(
        "picharness report diff: {} -> {}: {verdict} ({} change(s))",
        diff.old_started_at,
        diff.new_started_at,
        diff.changes.len()
    )
}

/// The diff as plain text for a terminal.
pub fn render_text(diff: &RunDiff) -> String {
    let mut out = headline(diff);
    out.push('\n');
    for (kind, list) in grouped(diff) {
        let _ = writeln!(out, "{} ({}):", kind.heading(), list.len());
        for c in list {
            let _ = writeln!(out, "  {}  {}", c.id, describe(c));
        }
    }
    out
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The diff as Markdown (a chat message or a merge-request comment).
pub fn render_markdown(diff: &RunDiff) -> String {
    let mut out = format!("**{}**\n", cell(&headline(diff)));
    for (kind, list) in grouped(diff) {
        let _ = writeln!(out, "\n#### {} ({})\n", kind.heading(), list.len());
        let _ = writeln!(out, "| case | change |\n| --- | --- |");
        for c in list {
            let _ = writeln!(out, "| `{}` | {} |", cell(&c.id), cell(&describe(c)));
        }
    }
    out
}

/// The diff as pretty JSON for tools.
pub fn render_json(diff: &RunDiff) -> String {
    // invariant: the diff holds strings, numbers and enums only.
    let mut text = serde_json::to_string_pretty(diff).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::tests::sample_run;

    #[test]
    fn each_kind_of_change_is_found_and_worse_is_told_apart() {
        let old = sample_run();
        let mut new = sample_run();
        new.started_at = "2026-11-25T10:00:00Z".to_owned();
        // aol.tls.client-eku: pass -> fail; edge.dns.srv-federation: fail -> pass;
        // messenger.im.inbound: inconclusive with another reason; av.turn.relay-range
        // removed; a new failing case; aol.presence.pidf twice as slow.
        new.cases[0].verdict = Verdict::Fail;
        new.cases[0].reason = "the Edge refused".to_owned();
        new.cases[1].verdict = Verdict::Pass;
        new.cases[2].reason = "DNS timed out".to_owned();
        new.cases[4].duration_ms = 4000;
        let mut added = new.cases[3].clone();
        added.id = "yahoo.im.new".to_owned();
        added.verdict = Verdict::Fail;
        new.cases.remove(3);
        new.cases.push(added);

        let diff = diff_runs(&old, &new, DurationThreshold::default());
        let kinds: Vec<(ChangeKind, &str)> = diff
            .changes
            .iter()
            .map(|c| (c.kind, c.id.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                (ChangeKind::NewlyFailing, "aol.tls.client-eku"),
                (ChangeKind::NewlyPassing, "edge.dns.srv-federation"),
                (ChangeKind::ReasonChanged, "messenger.im.inbound"),
                (ChangeKind::New, "yahoo.im.new"),
                (ChangeKind::Removed, "av.turn.relay-range"),
                (ChangeKind::Duration, "aol.presence.pidf"),
            ]
        );
        assert!(diff.worse);
        let worse: Vec<&str> = diff
            .changes
            .iter()
            .filter(|c| c.worse)
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(worse, ["aol.tls.client-eku", "yahoo.im.new"]);

        let text = render_text(&diff);
        assert!(text.contains("worse (6 change(s))"), "{text}");
        assert!(
            text.contains(
                "newly failing (1):\n  aol.tls.client-eku  pass -> fail: the Edge refused\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("aol.presence.pidf  1234 ms -> 4000 ms"),
            "{text}"
        );
        let markdown = render_markdown(&diff);
        assert!(markdown.contains("#### reason changed (1)"), "{markdown}");
        assert!(
            markdown.contains("| `messenger.im.inbound` | inconclusive: \"registration failed\" -> \"DNS timed out\" |"),
            "{markdown}"
        );
        let json: serde_json::Value = serde_json::from_str(&render_json(&diff)).unwrap();
        assert_eq!(json["worse"], true);
        assert_eq!(json["changes"][0]["kind"], "newly_failing");
    }

    #[test]
    fn a_run_against_itself_has_no_change_and_small_durations_are_noise() {
        let old = sample_run();
        let mut new = sample_run();
        new.cases[0].duration_ms += 150;
        let diff = diff_runs(&old, &new, DurationThreshold::default());
        assert!(diff.changes.is_empty() && !diff.worse);
        assert!(render_text(&diff).contains("no change"));
        // Better only: not worse.
        new.cases[1].verdict = Verdict::Pass;
        let diff = diff_runs(&old, &new, DurationThreshold::default());
        assert_eq!(diff.changes.len(), 1);
        assert!(!diff.worse);
    }
}
