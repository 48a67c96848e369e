//! The ready-made pipelines under `examples/ci/` work: each file is valid
//! YAML of the expected shape, and its own picharness scripts, run as they
//! are written (three shards side by side, then merge and diff), produce
//! one merged report of the embedded Edge.
//!
//! Only the environment differs from CI: `PICHARNESS_SUT` names an
//! embedded net (one per shard, and a case filter to keep this test quick)
//! instead of a staging configuration, and paths point into a temporary
//! directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use yaml_rust2::{Yaml, YamlLoader};

use crate::support::{copy_dir, test_net};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/ci")
}

fn load(name: &str) -> Vec<Yaml> {
    let text = std::fs::read_to_string(examples().join(name)).expect("pipeline file");
    YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{name} is not YAML: {e}"))
}

/// Every string in `yaml` that is a script calling picharness (a line
/// starting with `picharness `), in document order.
fn scripts(yaml: &Yaml, out: &mut Vec<String>) {
    match yaml {
        Yaml::String(s) if s.lines().any(|l| l.trim_start().starts_with("picharness ")) => {
            out.push(s.clone());
        }
        Yaml::Array(items) => items.iter().for_each(|i| scripts(i, out)),
        Yaml::Hash(map) => map.values().for_each(|v| scripts(v, out)),
        _ => {}
    }
}

/// The `env`-style variables of a mapping (`KEY: value`).
fn variables(yaml: &Yaml) -> Vec<(String, String)> {
    yaml.as_hash()
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| {
                    let value = match v {
                        Yaml::String(s) => s.clone(),
                        Yaml::Integer(n) => n.to_string(),
                        _ => return None,
                    };
                    Some((k.as_str()?.to_owned(), value))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Where the picharness binary under test is, for PATH.
fn binary_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_picharness"))
        .parent()
        .expect("binary dir")
        .to_path_buf()
}

/// Runs `script` in `dir` with `shell -c`, the binary on PATH and `env`.
fn shell(shell: &str, script: &str, dir: &Path, env: &[(String, String)]) -> Command {
    let mut command = Command::new(shell);
    command
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env(
            "PATH",
            format!(
                "{}:{}",
                binary_dir().display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs the shard scripts three times side by side (`shard_env(k)` gives
/// shard k's variables, and it runs on the loopback net `first_net + k`),
/// then the other scripts in order; returns their outputs.
fn run_pipeline(
    scripts: &[String],
    sh: &str,
    dir: &Path,
    env: &[(String, String)],
    first_net: u8,
    shard_env: impl Fn(usize) -> Vec<(String, String)>,
    before: impl Fn(&str),
) -> String {
    let (shards, rest): (Vec<&String>, Vec<&String>) =
        scripts.iter().partition(|s| s.contains("picharness run "));
    assert_eq!(shards.len(), 1, "one shard script: {scripts:?}");
    let children: Vec<_> = (1..=3)
        .map(|k| {
            let mut vars = env.to_vec();
            let net = test_net(first_net + u8::try_from(k).expect("small"));
            vars.push((
                "PICHARNESS_SUT".to_owned(),
                format!("--embedded-net 127.{net}.0.0 aol.im."),
            ));
            vars.extend(shard_env(k));
            shell(sh, shards[0], dir, &vars)
                .spawn()
                .expect("shard starts")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("shard ends");
        assert!(
            output.status.success(),
            "shard: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut log = String::new();
    for script in rest {
        before(script);
        let output = shell(sh, script, dir, env).output().expect("script runs");
        log.push_str(&String::from_utf8_lossy(&output.stdout));
        assert!(
            output.status.success(),
            "{script}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    log
}

/// The merged report in `dir` holds all three shards.
fn assert_merged(dir: &Path) {
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("summary.json")).expect("merged summary.json"),
    )
    .expect("JSON");
    assert_eq!(summary["merged"]["reports"], 3, "{}", summary["merged"]);
    let note = summary["merged"]["note"].as_str().unwrap_or_default();
    assert!(note.contains("one SUT"), "{note}");
    let ids: Vec<&str> = summary["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(
        ids.len() >= 3 && ids.iter().all(|id| id.starts_with("aol.im.")),
        "{ids:?}"
    );
    assert_eq!(summary["totals"]["pass"], ids.len());
    assert!(dir.join("junit.xml").is_file());
}

/// A work directory holding the team's files the pipelines expect.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("ci")).expect("ci dir");
    std::fs::copy(
        examples().join("expected.toml"),
        dir.path().join("ci/expected.toml"),
    )
    .expect("expected.toml");
    dir
}

#[test]
fn github_actions_workflow_runs_shards_merge_and_diff() {
    let docs = load("github-actions.yml");
    let workflow = &docs[0];
    assert!(
        workflow["on"]["schedule"].as_vec().is_some(),
        "nightly schedule"
    );
    let shards = workflow["jobs"]["shard"]["strategy"]["matrix"]["shard"]
        .as_vec()
        .expect("matrix");
    assert_eq!(shards.len(), 3);
    assert_eq!(workflow["jobs"]["report"]["needs"].as_str(), Some("shard"));
    let mut found = Vec::new();
    scripts(workflow, &mut found);
    let dir = workdir();
    let summary = dir.path().join("step-summary.md");
    let mut env = variables(&workflow["env"]);
    env.push((
        "GITHUB_STEP_SUMMARY".to_owned(),
        summary.display().to_string(),
    ));
    let work = dir.path().to_path_buf();
    run_pipeline(
        &found,
        "bash",
        dir.path(),
        &env,
        84,
        |k| vec![("SHARD".to_owned(), k.to_string())],
        |script| {
            if script.contains("report diff") {
                copy_dir(&work.join("report"), &work.join("last-night"));
            }
        },
    );
    assert_merged(&dir.path().join("report"));
    let markdown = std::fs::read_to_string(&summary).expect("job summary written");
    assert!(markdown.contains("no change"), "{markdown}");
}

#[test]
fn gitlab_pipeline_runs_shards_merge_and_diff() {
    let docs = load("gitlab-ci.yml");
    let pipeline = &docs[0];
    assert_eq!(pipeline["picharness-shard"]["parallel"].as_i64(), Some(3));
    assert_eq!(
        pipeline["picharness-report"]["artifacts"]["reports"]["junit"].as_str(),
        Some("report/junit.xml")
    );
    let mut found = Vec::new();
    scripts(pipeline, &mut found);
    let dir = workdir();
    let env = variables(&pipeline["variables"]);
    let work = dir.path().to_path_buf();
    run_pipeline(
        &found,
        "bash",
        dir.path(),
        &env,
        92,
        |k| {
            vec![
                ("CI_NODE_INDEX".to_owned(), k.to_string()),
                ("CI_NODE_TOTAL".to_owned(), "3".to_owned()),
            ]
        },
        |script| {
            if script.contains("report diff") {
                copy_dir(&work.join("report"), &work.join("last-night/report"));
            }
        },
    );
    assert_merged(&dir.path().join("report"));
    assert!(!dir.path().join("merge-exit-code").exists());
    let diff = std::fs::read_to_string(dir.path().join("report/diff.md")).expect("diff.md");
    assert!(diff.contains("no change"), "{diff}");
}

#[test]
fn kubernetes_indexed_job_maps_the_completion_index_to_the_shard() {
    let docs = load("kubernetes-indexed-job.yml");
    assert_eq!(docs.len(), 2, "the shards Job and the merge Job");
    let spec = &docs[0]["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    assert_eq!(spec["completions"].as_i64(), Some(3));
    let mut found = Vec::new();
    for doc in &docs {
        scripts(doc, &mut found);
    }
    let dir = workdir();
    let reports = dir.path().join("reports");
    std::fs::create_dir_all(&reports).expect("reports dir");
    let mut env: Vec<(String, String)> = spec["template"]["spec"]["containers"][0]["env"]
        .as_vec()
        .expect("env")
        .iter()
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_owned(),
                e["value"].as_str()?.to_owned(),
            ))
        })
        .filter(|(k, _)| k != "REPORTS" && k != "PICHARNESS_EXPECT")
        .collect();
    env.push(("REPORTS".to_owned(), reports.display().to_string()));
    env.push((
        "PICHARNESS_EXPECT".to_owned(),
        dir.path().join("ci/expected.toml").display().to_string(),
    ));
    run_pipeline(
        &found,
        "sh",
        dir.path(),
        &env,
        165,
        |k| vec![("JOB_COMPLETION_INDEX".to_owned(), (k - 1).to_string())],
        |_| {},
    );
    for k in 1..=3 {
        let code = std::fs::read_to_string(reports.join(format!("report-{k}.exit-code")))
            .expect("exit code written");
        assert_eq!(code.trim(), "0");
    }
    assert_merged(&reports.join("merged"));
}
