//! `picharness evidence`: one case's evidence from a report directory as a
//! `.tar.gz` for a bug report (the format is in `picharness_reports::bundle`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use picharness_reports::bundle::write_bundle;

use crate::cases_doc::REQUIREMENTS_FILE;
use crate::catalogue::default_scenarios_dir;
use crate::run::{EXIT_CANNOT_START, EXIT_OK};

/// Writes the bundle of `case_id` from `report_dir` to `out` (default
/// `<case id>.evidence.tar.gz`), prints what went in, and returns the exit
/// code: 0 when written, 2 when not (no such report or case, unwritable).
pub fn evidence_command(
    report_dir: &Path,
    case_id: &str,
    out: Option<PathBuf>,
    requirements: Option<PathBuf>,
) -> u8 {
    let out = out.unwrap_or_else(|| PathBuf::from(format!("{case_id}.evidence.tar.gz")));
    let texts = match requirements.or_else(default_requirements_file) {
        Some(path) => match std::fs::read_to_string(&path) {
            Ok(text) => requirement_texts(&text),
            Err(e) => {
                eprintln!(
                    "picharness: cannot read requirements {}: {e}",
                    path.display()
                );
                return EXIT_CANNOT_START;
            }
        },
        None => BTreeMap::new(),
    };
    match write_bundle(report_dir, case_id, &out, &texts) {
        Ok(contents) => {
            println!("{}", out.display());
            for file in &contents.files {
                println!("  {file}");
            }
            for file in &contents.missing {
                eprintln!("picharness: not in the report directory: {file}");
            }
            EXIT_OK
        }
        Err(e) => {
            eprintln!("picharness: {e}");
            EXIT_CANNOT_START
        }
    }
}

/// The project's requirements catalogue beside the repository
/// (`../shared/requirements.md`) when it is there, else the texts the
/// repository keeps (`scenarios/requirements.md`).
fn default_requirements_file() -> Option<PathBuf> {
    let beside = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/requirements.md");
    let inside = default_scenarios_dir().join(REQUIREMENTS_FILE);
    [beside, inside].into_iter().find(|path| path.is_file())
}

/// Reads `| ID | requirement | ... |` rows of a Markdown requirements table
/// into id -> requirement text.
pub fn requirement_texts(markdown: &str) -> BTreeMap<String, String> {
    markdown
        .lines()
        .filter_map(|line| {
            let mut cells = line.trim().strip_prefix('|')?.split('|').map(str::trim);
            let id = cells.next()?;
            let text = cells.next()?;
            let looks_like_id = id.split_once('-').is_some_and(|(area, number)| {
                !area.is_empty()
                    && area.bytes().all(|b| b.is_ascii_uppercase())
                    && !number.is_empty()
                    && number.bytes().all(|b| b.is_ascii_digit())
            });
            (looks_like_id && !text.is_empty()).then(|| (id.to_owned(), text.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_requirements_have_the_texts_the_cases_cite() {
        let path =
            default_requirements_file().expect("scenarios/requirements.md is in the repository");
        let texts = requirement_texts(&std::fs::read_to_string(path).expect("readable"));
        assert!(texts.contains_key("FED-09"), "{texts:?}");
    }

    /// id -> (requirement, test method) of every requirement row.
    fn rows_with_methods(markdown: &str) -> BTreeMap<String, (String, String)> {
        let texts = requirement_texts(markdown);
        markdown
            .lines()
            .filter_map(|line| {
                let mut cells = line.trim().strip_prefix('|')?.split('|').map(str::trim);
                let id = cells.next()?;
                let text = texts.get(id)?;
                let method = cells.nth(1)?;
                Some((id.to_owned(), (text.clone(), method.to_owned())))
            })
            .collect()
    }

    /// The repository's copy (what cases cite and `docs/cases.md` quotes)
    /// keeps every row of the project's catalogue word for word, requirement
    /// and test method, so a row changed upstream cannot silently drift. CI
    /// checks the repository out beside `shared/`; without it there is
    /// nothing to compare and the test says so.
    #[test]
    fn the_repository_copy_keeps_every_catalogue_row_word_for_word() {
        let upstream =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/requirements.md");
        let Ok(upstream) = std::fs::read_to_string(&upstream) else {
            eprintln!("{} absent: nothing to compare", upstream.display());
            return;
        };
        let copy = std::fs::read_to_string(default_scenarios_dir().join(REQUIREMENTS_FILE))
            .expect("scenarios/requirements.md is in the repository");
        let copy = rows_with_methods(&copy);
        let upstream = rows_with_methods(&upstream);
        assert!(
            upstream.len() > 50,
            "catalogue rows read: {}",
            upstream.len()
        );
        let drifted: Vec<String> = upstream
            .iter()
            .filter(|(id, row)| copy.get(*id) != Some(row))
            .map(|(id, row)| format!("{id}: catalogue {row:?}, copy {:?}", copy.get(id)))
            .collect();
        assert!(drifted.is_empty(), "rows differ:\n{}", drifted.join("\n"));
    }

    #[test]
    fn reads_requirement_rows_and_skips_everything_else() {
        let text = "# Title\n| id | requirement |\n|---|---|\n| FED-09 | Max-Forwards 0 gets 483. | x |\n| not-an-id | y |\nplain line\n";
        let texts = requirement_texts(text);
        assert_eq!(texts.len(), 1);
        assert_eq!(texts["FED-09"], "Max-Forwards 0 gets 483.");
    }
}
