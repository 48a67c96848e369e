//! Joining the reports of a suite run in shards (`picharness run --shard K/N`)
//! into one: `picharness report merge DIR... --out DIR`.
//!
//! The inputs must be runs of the same tool version against the same SUT
//! (kind, address and fault switches) and must not share a case id. The
//! merged record has every case sorted by id, totals recounted, the earliest
//! `started_at`, the longest shard's `duration_ms` (shards run side by side)
//! and the first input's `invocation`. Each case's `cases/<id>/` folder is
//! copied, so evidence paths stay valid; then `summary.json`, `junit.xml` and
//! `index.html` are written to the output directory.
//!
//! The merged report keeps to a report limit as a run does (see
//! [`crate::budget`]): `junit.xml` and `index.html` get a run's allowances
//! for that many cases, cut further to what the copied case folders and
//! `summary.json` leave of the limit (shared in the allowances' proportion),
//! and fall back as in a run (no transcripts, then short reasons; a page
//! without ladders, then a short page). The case folders are copied whole:
//! each shard already kept to its own limit, so shards meant to be merged
//! run with their share of the limit.
//!
//! Shards of the embedded reference Edge run side by side on one machine
//! need different `--embedded-net` values, so their Access Edge addresses
//! differ (`127.91.0.10:5061`, `127.92.0.10:5061`); with the same fault
//! switches they are still one SUT, and the merged record's `merged.note`
//! says so. Any other difference is a different SUT and is refused.

use std::path::{Path, PathBuf};

use crate::budget::RunBudget;
use crate::html::{HtmlError, write_html_within};
use crate::junit::{JunitError, write_junit_within};
use crate::model::{MergeInfo, RunRecord, SutInfo, Totals};
use crate::summary::{SummaryError, read_summary, write_summary};

/// Why reports could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge: give at least one report directory")]
    NoInputs,
    #[error(transparent)]
    Summary(#[from] SummaryError),
    #[error("{} and {} are runs of different {what} ({first} versus {other})", first_dir.display(), other_dir.display())]
    Mismatch {
        first_dir: PathBuf,
        other_dir: PathBuf,
        what: &'static str,
        first: String,
        other: String,
    },
    #[error("case {id} is in both {} and {}", first.display(), second.display())]
    DuplicateCase {
        id: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("the output directory {} is also an input", out.display())]
    OutputIsInput { out: PathBuf },
    #[error("cannot copy {} to {}: {source}", from.display(), to.display())]
    Copy {
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Junit(#[from] JunitError),
    #[error(transparent)]
    Html(#[from] HtmlError),
}

/// Merges the reports in `inputs` into `out` within the default report
/// limit ([`RunBudget::LIMIT`]) and returns the merged record.
pub fn merge_reports(inputs: &[PathBuf], out: &Path) -> Result<RunRecord, MergeError> {
    merge_reports_within(inputs, out, RunBudget::LIMIT)
}

/// Merges the reports in `inputs` into `out` (see the module docs), writing
/// `junit.xml` and `index.html` to fit in `limit` bytes of the whole output
/// directory, and returns the merged record.
pub fn merge_reports_within(
    inputs: &[PathBuf],
    out: &Path,
    limit: u64,
) -> Result<RunRecord, MergeError> {
    let (first_dir, rest) = inputs.split_first().ok_or(MergeError::NoInputs)?;
    let same_dir = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if inputs.iter().any(|input| same_dir(input, out)) {
        return Err(MergeError::OutputIsInput {
            out: out.to_path_buf(),
        });
    }
    let first = read_summary(&first_dir.join("summary.json"))?;
    let mut merged = first.clone();
    let mut origin: Vec<(String, PathBuf)> = first
        .cases
        .iter()
        .map(|c| (c.id.clone(), first_dir.clone()))
        .collect();
    let mut addresses = vec![first.sut.access_edge_address.clone()];
    for dir in rest {
        let run = read_summary(&dir.join("summary.json"))?;
        let mismatch = |what, a: String, b: String| MergeError::Mismatch {
            first_dir: first_dir.clone(),
            other_dir: dir.clone(),
            what,
            first: a,
            other: b,
        };
        if run.tool != first.tool {
            return Err(mismatch(
                "tool versions",
                first.tool.version.clone(),
                run.tool.version.clone(),
            ));
        }
        if run.sut != first.sut && !same_embedded_edge(&first.sut, &run.sut) {
            let describe = |r: &RunRecord| {
                format!(
                    "{} {} faults [{}]",
                    r.sut.kind,
                    r.sut.access_edge_address,
                    r.sut.faults.join(", ")
                )
            };
            return Err(mismatch("SUTs", describe(&first), describe(&run)));
        }
        for case in &run.cases {
            if let Some((_, earlier)) = origin.iter().find(|(id, _)| *id == case.id) {
                return Err(MergeError::DuplicateCase {
                    id: case.id.clone(),
                    first: earlier.clone(),
                    second: dir.clone(),
                });
            }
            origin.push((case.id.clone(), dir.clone()));
        }
        addresses.push(run.sut.access_edge_address.clone());
        merged.started_at = merged.started_at.min(run.started_at.clone());
        merged.duration_ms = merged.duration_ms.max(run.duration_ms);
        // A shard that saw the Edge stop answering says so for the whole run.
        match (&mut merged.edge_liveness, run.edge_liveness) {
            (Some(kept), Some(other)) if other.stopped_answering => {
                kept.stopped_answering = true;
                kept.cases_not_judged.extend(other.cases_not_judged);
                kept.died_during = kept.died_during.take().or(other.died_during);
            }
            (kept @ None, other) => *kept = other,
            _ => {}
        }
        merged.cases.extend(run.cases);
    }
    let nets_differ = addresses.iter().any(|a| *a != addresses[0]);
    merged.merged = Some(MergeInfo {
        reports: inputs.len(),
        note: nets_differ.then(|| {
            format!(
                "one SUT: the embedded reference Edge with the same fault switches, run side by side on {} loopback nets ({})",
                addresses.iter().collect::<std::collections::BTreeSet<_>>().len(),
                addresses.join(", ")
            )
        }),
        access_edge_addresses: addresses,
    });
    merged.cases.sort_by(|a, b| a.id.cmp(&b.id));
    merged.totals = Totals::of(&merged.cases);

    let write_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| MergeError::Write { path, source }
    };
    std::fs::create_dir_all(out.join("cases")).map_err(write_error(out))?;
    for (id, dir) in &origin {
        copy_dir(&dir.join("cases").join(id), &out.join("cases").join(id))?;
    }
    let summary = out.join("summary.json");
    write_summary(&summary, &merged).map_err(write_error(&summary))?;
    let budget = RunBudget::within(limit, merged.cases.len(), 0);
    let room = limit.saturating_sub(dir_bytes(out));
    let (junit_share, html_share) = (budget.junit(), budget.html());
    let junit_max = u64::try_from(
        u128::from(room) * u128::from(junit_share)
            / u128::from(junit_share.saturating_add(html_share).max(1)),
    )
    .unwrap_or(u64::MAX)
    .min(junit_share);
    let junit = out.join("junit.xml");
    write_junit_within(&junit, &merged, junit_max)?;
    let junit_bytes = std::fs::metadata(&junit).map_or(0, |m| m.len());
    write_html_within(
        out,
        &merged,
        html_share.min(room.saturating_sub(junit_bytes)),
    )?;
    Ok(merged)
}

/// The bytes of the files under `dir` (what cannot be read counts 0).
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => dir_bytes(&entry.path()),
            Ok(kind) if kind.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .fold(0, u64::saturating_add)
}

/// Whether `a` and `b` are the embedded reference Edge with the same fault
/// switches, differing only in the loopback net it ran on (the second and
/// third octets of a 127.x.y.z address; the last octet and port equal).
fn same_embedded_edge(a: &SutInfo, b: &SutInfo) -> bool {
    const EMBEDDED: &str = "embedded-reference";
    let host_and_port = |address: &str| -> Option<(u8, u16)> {
        let address: std::net::SocketAddr = address.parse().ok()?;
        match address.ip() {
            std::net::IpAddr::V4(ip) if ip.octets()[0] == 127 => {
                Some((ip.octets()[3], address.port()))
            }
            _ => None,
        }
    };
    a.kind == EMBEDDED
        && b.kind == EMBEDDED
        && a.access_edge_fqdn == b.access_edge_fqdn
        && a.sip_domain == b.sip_domain
        && a.faults == b.faults
        && host_and_port(&a.access_edge_address).is_some()
        && host_and_port(&a.access_edge_address) == host_and_port(&b.access_edge_address)
}

/// Copies the files of `from`, and its folders' (the attempts of a re-run
/// case), into `to`. A case with no folder (nothing was written) is not an error.
fn copy_dir(from: &Path, to: &Path) -> Result<(), MergeError> {
    let copy_error = |source| MergeError::Copy {
        from: from.to_path_buf(),
        to: to.to_path_buf(),
        source,
    };
    let entries = match std::fs::read_dir(from) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(copy_error(e)),
    };
    std::fs::create_dir_all(to).map_err(copy_error)?;
    for entry in entries {
        let entry = entry.map_err(copy_error)?;
        let kind = entry.file_type().map_err(copy_error)?;
        if kind.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).map_err(copy_error)?;
        } else if kind.is_dir() {
            // attempt-<n>/ of a re-run case (no deeper folders are written).
            copy_dir(&entry.path(), &to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::tests::sample_run;

    /// Writes a report holding the sample run's cases at `keep` positions.
    fn shard_report(dir: &Path, keep: &[usize]) -> RunRecord {
        let mut run = sample_run();
        run.cases = keep.iter().map(|&i| run.cases[i].clone()).collect();
        run.totals = Totals::of(&run.cases);
        for case in &run.cases {
            let case_dir = dir.join("cases").join(&case.id);
            std::fs::create_dir_all(&case_dir).unwrap();
            std::fs::write(case_dir.join("transcript.txt"), case.id.as_bytes()).unwrap();
        }
        write_summary(&dir.join("summary.json"), &run).unwrap();
        run
    }

    #[test]
    fn a_merged_report_keeps_to_its_limit() {
        let root = tempfile::tempdir().unwrap();
        let dirs: Vec<PathBuf> = (0..2).map(|i| root.path().join(format!("s{i}"))).collect();
        for (dir, keep) in dirs.iter().zip([&[0usize, 2, 4][..], &[1, 3][..]]) {
            let mut run = shard_report(dir, keep);
            // Long reasons make junit.xml and index.html large.
            for case in &mut run.cases {
                case.reason = "r".repeat(20_000);
            }
            write_summary(&dir.join("summary.json"), &run).unwrap();
        }
        let whole = root.path().join("whole");
        merge_reports(&dirs, &whole).unwrap();
        // Room for half of what the unlimited junit.xml and index.html take.
        let size = |name: &str| std::fs::metadata(whole.join(name)).unwrap().len();
        let run_files = size("junit.xml") + size("index.html");
        let limit = dir_bytes(&whole) - run_files / 2;
        let out = root.path().join("out");
        let merged = merge_reports_within(&dirs, &out, limit).unwrap();
        assert!(dir_bytes(&out) <= limit, "{} > {limit}", dir_bytes(&out));
        assert_eq!(read_summary(&out.join("summary.json")).unwrap(), merged);
        let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
        assert!(
            junit.contains("the full reason is in summary.json"),
            "{junit}"
        );
        let html = std::fs::read_to_string(out.join("index.html")).unwrap();
        assert!(html.contains("summary.json"));
        for case in &merged.cases {
            assert!(
                out.join("cases")
                    .join(&case.id)
                    .join("transcript.txt")
                    .is_file()
            );
        }
    }

    #[test]
    fn two_shards_merge_into_one_report() {
        let root = tempfile::tempdir().unwrap();
        let (a, b, out) = (
            root.path().join("a"),
            root.path().join("b"),
            root.path().join("out"),
        );
        shard_report(&a, &[0, 2, 4]);
        let mut second = shard_report(&b, &[1, 3]);
        second.duration_ms = 9000;
        write_summary(&b.join("summary.json"), &second).unwrap();

        let merged = merge_reports(&[a.clone(), b.clone()], &out).unwrap();
        let ids: Vec<&str> = merged.cases.iter().map(|c| c.id.as_str()).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted);
        assert_eq!(merged.cases.len(), 5);
        assert_eq!(merged.totals.warning, 1);
        assert_eq!(merged.totals, sample_run().totals);
        assert_eq!(merged.duration_ms, 9000);
        let back = read_summary(&out.join("summary.json")).unwrap();
        assert_eq!(back, merged);
        assert!(out.join("junit.xml").is_file() && out.join("index.html").is_file());
        for case in &merged.cases {
            let copied = out.join("cases").join(&case.id).join("transcript.txt");
            assert_eq!(std::fs::read_to_string(copied).unwrap(), case.id);
        }
    }

    #[test]
    fn embedded_shards_on_other_nets_are_one_sut_and_say_so() {
        let root = tempfile::tempdir().unwrap();
        let dirs: Vec<PathBuf> = (0..3).map(|i| root.path().join(format!("s{i}"))).collect();
        for (i, dir) in dirs.iter().enumerate() {
            let mut run = shard_report(dir, &[i]);
            run.sut.access_edge_address = format!("127.{}.0.10:5061", 91 + i);
            write_summary(&dir.join("summary.json"), &run).unwrap();
        }
        let merged = merge_reports(&dirs, &root.path().join("out")).unwrap();
        let info = merged.merged.unwrap();
        assert_eq!(info.reports, 3);
        let note = info.note.unwrap();
        assert!(
            note.starts_with("one SUT: the embedded reference Edge"),
            "{note}"
        );
        assert!(
            note.contains("127.91.0.10:5061, 127.92.0.10:5061, 127.93.0.10:5061"),
            "{note}"
        );

        // Another port, or other faults, is another SUT.
        let mut other = read_summary(&dirs[2].join("summary.json")).unwrap();
        other.sut.access_edge_address = "127.93.0.10:5062".to_owned();
        write_summary(&dirs[2].join("summary.json"), &other).unwrap();
        let err = merge_reports(&dirs, &root.path().join("o2")).unwrap_err();
        assert!(err.to_string().contains("different SUTs"), "{err}");
    }

    #[test]
    fn overlapping_or_mismatched_shards_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            root.path().join("a"),
            root.path().join("b"),
            root.path().join("c"),
        );
        shard_report(&a, &[0, 1]);
        shard_report(&b, &[1, 2]);
        let err = merge_reports(&[a.clone(), b.clone()], &root.path().join("o1")).unwrap_err();
        assert!(matches!(err, MergeError::DuplicateCase { .. }), "{err}");
        assert!(err.to_string().contains("edge.dns.srv-federation"), "{err}");

        let mut other = shard_report(&c, &[3]);
        other.sut.faults = vec!["no-record-route".to_owned()];
        write_summary(&c.join("summary.json"), &other).unwrap();
        let err = merge_reports(&[a.clone(), c], &root.path().join("o2")).unwrap_err();
        assert!(err.to_string().contains("different SUTs"), "{err}");

        // A staging Edge at another address is another SUT.
        let d = root.path().join("d");
        let mut staging = shard_report(&d, &[4]);
        staging.sut.kind = "staging-sandwich".to_owned();
        let mut first_staging = read_summary(&a.join("summary.json")).unwrap();
        first_staging.sut.kind = "staging-sandwich".to_owned();
        first_staging.sut.access_edge_address = "192.0.2.10:5061".to_owned();
        write_summary(&a.join("summary.json"), &first_staging).unwrap();
        staging.sut.access_edge_address = "192.0.2.11:5061".to_owned();
        write_summary(&d.join("summary.json"), &staging).unwrap();
        let err = merge_reports(&[a.clone(), d], &root.path().join("o3")).unwrap_err();
        assert!(err.to_string().contains("different SUTs"), "{err}");

        let err = merge_reports(std::slice::from_ref(&a), &a).unwrap_err();
        assert!(matches!(err, MergeError::OutputIsInput { .. }), "{err}");
        assert!(matches!(merge_reports(&[], &a), Err(MergeError::NoInputs)));
    }
}
