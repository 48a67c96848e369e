//! Loading the whole catalogue (profiles and cases) from a scenarios
//! directory, with the mutation cases generated from it, and listing it
//! for people and tools.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::profile::{ProviderProfile, load_profiles};
use crate::scenario::{Case, ScenarioError, load_cases};

/// The scenarios directory this binary was built from; the default for
/// `--scenarios`.
pub fn default_scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("scenarios")
}

/// Provider profiles and cases, validated.
pub struct Catalogue {
    pub profiles: Vec<ProviderProfile>,
    pub cases: Vec<Case>,
}

/// Loads `<dir>/profiles/*.toml` and `<dir>/cases/**/*.toml`.
pub fn load_catalogue(dir: &Path) -> Result<Catalogue, Vec<ScenarioError>> {
    let profiles = load_profiles(&dir.join("profiles")).map_err(|e| vec![e])?;
    let names: Vec<String> = profiles.iter().map(|p| p.name.clone()).collect();
    let mut cases = load_cases(&dir.join("cases"), &names)?;
    // The mutation cases are made from the loaded cases' own requests.
    let (generated, problems) = crate::mutation::cases::generate(&cases);
    if !problems.is_empty() {
        let source = dir.join("cases");
        return Err(problems
            .into_iter()
            .map(|message| ScenarioError {
                file: source.clone(),
                line: 0,
                field: "mutation".into(),
                message,
            })
            .collect());
    }
    for case in generated {
        if cases.iter().any(|c| c.id == case.id) {
            return Err(vec![ScenarioError {
                file: case.source.clone(),
                line: 0,
                field: "id".into(),
                message: format!("case id {:?} is that of a generated mutation case", case.id),
            }]);
        }
        cases.push(case);
    }
    Ok(Catalogue { profiles, cases })
}

#[derive(Serialize)]
struct ListedCase<'a> {
    id: &'a str,
    title: &'a str,
    providers: &'a [String],
    requirements: &'a [String],
    tags: &'a [String],
    timeout_ms: u128,
    file: String,
}

/// The case list as JSON (an array of objects), for tools.
pub fn list_json(cases: &[Case]) -> String {
    let listed: Vec<ListedCase<'_>> = cases
        .iter()
        .map(|c| ListedCase {
            id: &c.id,
            title: &c.title,
            providers: &c.providers,
            requirements: &c.requirements,
            tags: &c.tags,
            timeout_ms: c.timeout.as_millis(),
            file: c.source.display().to_string(),
        })
        .collect();
    serde_json::to_string_pretty(&listed).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// The case list as text, one case a line.
pub fn list_text(cases: &[Case]) -> String {
    let width = cases.iter().map(|c| c.id.len()).max().unwrap_or(0);
    let mut out = String::new();
    for case in cases {
        out.push_str(&format!(
            "{:width$}  [{}] {}  ({})\n",
            case.id,
            case.providers.join(","),
            case.title,
            case.requirements.join(", ")
        ));
    }
    out
}
