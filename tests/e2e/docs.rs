//! The documentation stays in step with the binary: every `picharness ...`
//! command in the code of README.md and docs/*.md names subcommands that
//! exist and flags their `--help` lists, every fault switch it names exists,
//! the README opens with exactly the two set-up commands (the second being
//! what `.ci/run` runs), every relative link and anchor resolves, and every
//! docs page can be reached from the README by following links.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::binary;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every docs/*.md, sorted.
fn doc_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The code of a Markdown text: fenced blocks (continuation lines joined)
/// and inline code spans.
fn code_of(markdown: &str) -> Vec<String> {
    let mut code = Vec::new();
    let mut fence: Option<String> = None;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            match fence.take() {
                Some(block) => code.extend(block.split('\n').map(str::to_owned)),
                None => fence = Some(String::new()),
            }
            continue;
        }
        match fence.as_mut() {
            Some(block) => match line.trim_end().strip_suffix('\\') {
                Some(start) => block.push_str(start),
                None => {
                    block.push_str(line);
                    block.push('\n');
                }
            },
            None => code.extend(
                line.replace("\\|", "/")
                    .split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_owned),
            ),
        }
    }
    code
}

/// The arguments of every picharness command in a piece of code:
/// `picharness ARGS` and `cargo run [...] -- ARGS`, up to a pipe, a
/// redirection, a command separator or a comment.
fn commands_in(code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut starts = Vec::new();
    for (at, _) in code.match_indices("picharness ") {
        let before = code[..at].chars().next_back();
        if before.is_none_or(|c| c.is_whitespace() || c == '$' || c == '(') {
            starts.push(at + "picharness ".len());
        }
    }
    for (at, _) in code.match_indices("cargo run") {
        let rest = &code[at..];
        if let Some(dash) = rest.find(" -- ")
            && !rest[..dash].contains(" -p ")
        {
            starts.push(at + dash + " -- ".len());
        }
    }
    for start in starts {
        let rest = &code[start..];
        let end = ["|", ">", "&&", ";", " &", " #", "\n"]
            .iter()
            .filter_map(|t| rest.find(t))
            .min()
            .unwrap_or(rest.len());
        let args: Vec<String> = rest[..end].split_whitespace().map(str::to_owned).collect();
        if !args.is_empty() {
            found.push(args);
        }
    }
    found
}

/// `picharness <path> --help`, cached.
fn help(cache: &mut BTreeMap<Vec<String>, String>, path: &[String]) -> String {
    cache
        .entry(path.to_vec())
        .or_insert_with(|| {
            let output = binary()
                .args(path)
                .arg("--help")
                .output()
                .expect("help runs");
            String::from_utf8_lossy(&output.stdout).into_owned()
        })
        .clone()
}

/// The subcommand names a help text lists under "Commands:".
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// Whether a help text lists `flag` as a whole option name.
fn lists_flag(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(at, _)| {
        help[at + flag.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-'))
    })
}

/// Options hidden from `--help` on purpose, with a harmless invocation
/// that proves the binary still takes them.
const HIDDEN: &[(&str, &str, &[&str])] = &[(
    "run",
    "--sut-chaos",
    &["run", "--sut-chaos", "garbage", "--list"],
)];

#[test]
fn every_documented_command_and_flag_is_in_the_binary() {
    let mut cache = BTreeMap::new();
    let faults_out = binary().arg("faults").output().expect("faults runs");
    let faults = String::from_utf8_lossy(&faults_out.stdout).into_owned();
    let fault_names: Vec<&str> = faults
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in doc_files() {
        let text = std::fs::read_to_string(&file).expect("doc readable");
        let name = file
            .strip_prefix(root())
            .unwrap_or(&file)
            .display()
            .to_string();
        for code in code_of(&text) {
            for args in commands_in(&code) {
                checked += 1;
                let mut path: Vec<String> = Vec::new();
                for arg in &args {
                    if subcommands(&help(&mut cache, &path)).contains(arg) {
                        path.push(arg.clone());
                    } else {
                        break;
                    }
                }
                let first = &args[0];
                if path.is_empty() && !first.starts_with('-') {
                    problems.push(format!(
                        "{name}: `picharness {}`: no subcommand {first:?}",
                        args.join(" ")
                    ));
                    continue;
                }
                let help_text = help(&mut cache, &path);
                for (i, arg) in args.iter().enumerate() {
                    let Some(start) = arg.trim_start_matches('[').find("--") else {
                        continue;
                    };
                    let arg = &arg.trim_start_matches('[')[start..];
                    let flag: String = arg
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                        .collect();
                    if flag.len() <= 2 || start != 0 {
                        continue;
                    }
                    let hidden = HIDDEN.iter().any(|(sub, hidden, _)| {
                        path.first().is_some_and(|p| p == sub) && *hidden == flag
                    });
                    if !hidden && !lists_flag(&help_text, &flag) {
                        problems.push(format!(
                            "{name}: `picharness {}`: `picharness {} --help` has no {flag}",
                            args.join(" "),
                            path.join(" ")
                        ));
                    }
                    if flag == "--sut-fault"
                        && let Some(value) = args.get(i + 1)
                        && value
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                        && !fault_names.contains(&value.as_str())
                    {
                        problems.push(format!(
                            "{name}: no fault switch {value:?} (`picharness faults`)"
                        ));
                    }
                }
            }
        }
    }
    // Options named on their own in the command reference (`--retries N`)
    // belong to some subcommand.
    let all_help: String = cache.values().cloned().collect();
    let reference = std::fs::read_to_string(root().join("docs/commands.md")).expect("commands.md");
    for code in code_of(&reference) {
        if !code.starts_with("--") {
            continue;
        }
        let flag: String = code
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let hidden = HIDDEN.iter().any(|(_, hidden, _)| *hidden == flag);
        if !hidden && !lists_flag(&all_help, &flag) {
            problems.push(format!("docs/commands.md: `{code}`: no command has {flag}"));
        }
    }
    for (_, _, invocation) in HIDDEN {
        let output = binary().args(*invocation).output().expect("runs");
        assert!(
            output.status.success(),
            "picharness {invocation:?}: {output:?}"
        );
    }
    assert!(checked > 40, "only {checked} documented commands found");
    assert!(
        problems.is_empty(),
        "the docs and the binary differ:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_readme_opens_with_the_two_set_up_commands_ci_runs() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let block: Vec<&str> = readme
        .split("```")
        .nth(1)
        .expect("a code block")
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(
        block.len(),
        2,
        "the README opens with exactly two set-up commands: {block:?}"
    );
    let command = |line: &str| {
        line.split(" #")
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    assert_eq!(command(block[0]), "cargo run --release -- run", "{block:?}");
    let ci = std::fs::read_to_string(root().join(".ci/run")).expect(".ci/run");
    let ci_command = ci
        .lines()
        .find_map(|l| l.trim().strip_prefix("exec "))
        .expect(".ci/run execs the test command");
    assert_eq!(
        command(block[1]),
        ci_command.trim(),
        ".ci/run must run the README's test command"
    );
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors_of(markdown: &str) -> Vec<String> {
    let mut in_fence = false;
    markdown
        .lines()
        .filter(|l| {
            if l.trim_start().starts_with("```") {
                in_fence = !in_fence;
            }
            !in_fence && l.starts_with('#')
        })
        .map(|l| anchor(l.trim_start_matches('#')))
        .collect()
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let mut files = doc_files();
    files.push(root().join("ARCHITECTURE.md"));
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("doc readable");
        let dir = file.parent().unwrap_or(Path::new("."));
        for (at, _) in text.match_indices("](") {
            let rest = &text[at + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = &rest[..end];
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, fragment) = target.split_once('#').unwrap_or((target, ""));
            let linked = if path.is_empty() {
                file.clone()
            } else {
                dir.join(path)
            };
            if !linked.exists() {
                problems.push(format!("{}: {target}: no such file", file.display()));
                continue;
            }
            if !fragment.is_empty() {
                let linked_text = std::fs::read_to_string(&linked).unwrap_or_default();
                if !anchors_of(&linked_text).iter().any(|a| a == fragment) {
                    problems.push(format!("{}: {target}: no such heading", file.display()));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

/// The relative Markdown files `file` links to (fragments dropped).
fn markdown_links_of(file: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(file).expect("doc readable");
    let dir = file.parent().unwrap_or(Path::new("."));
    text.match_indices("](")
        .filter_map(|(at, _)| {
            let rest = &text[at + 2..];
            let target = &rest[..rest.find(')')?];
            let path = target.split('#').next().unwrap_or_default();
            (!target.contains("://") && path.ends_with(".md")).then(|| dir.join(path))
        })
        .filter_map(|p| p.canonicalize().ok())
        .collect()
}

#[test]
fn every_docs_page_is_reachable_from_the_readme() {
    let mut reached = vec![root().join("README.md").canonicalize().expect("README")];
    let mut next = 0;
    while next < reached.len() {
        for linked in markdown_links_of(&reached[next].clone()) {
            if !reached.contains(&linked) {
                reached.push(linked);
            }
        }
        next += 1;
    }
    let orphans: Vec<String> = doc_files()
        .iter()
        .filter_map(|f| f.canonicalize().ok())
        .filter(|f| !reached.contains(f))
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        orphans.is_empty(),
        "docs no link path from README.md reaches:\n{}",
        orphans.join("\n")
    );
}

#[test]
fn the_command_finder_reads_blocks_spans_and_cargo_run() {
    let md = "text `picharness list [--format text\\|json]` more\n```sh\n$ picharness pki init --out pki \\\n    --sip-domain d\ncargo run -q -- list --format markdown > docs/cases.md\n```\n";
    let commands: Vec<Vec<String>> = code_of(md).iter().flat_map(|c| commands_in(c)).collect();
    assert_eq!(
        commands,
        vec![
            vec!["list", "[--format", "text/json]"],
            vec!["pki", "init", "--out", "pki", "--sip-domain", "d"],
            vec!["list", "--format", "markdown"],
        ]
    );
    assert_eq!(
        anchor("Fault switches and the fault table"),
        "fault-switches-and-the-fault-table"
    );
    assert_eq!(
        anchor("An audio call through both Edges: `messenger.av.call`"),
        "an-audio-call-through-both-edges-messengeravcall"
    );
}
