//! The JSON Schema of `summary.json`, generated from the model types. The
//! generated text is checked into the repository as
//! `schema/summary.schema.json`; a test fails when the two drift. After a
//! deliberate model change, regenerate it with
//! `PICHARNESS_UPDATE_SCHEMA=1 cargo test -p picharness-reports schema`.

use crate::model::RunRecord;

/// Where the checked-in schema lives, relative to the repository root.
pub const SCHEMA_PATH: &str = "schema/summary.schema.json";

/// The schema of [`RunRecord`] as pretty JSON with a trailing newline.
pub fn summary_schema() -> String {
    let schema = schemars::schema_for!(RunRecord);
    // invariant: a schemars schema is a JSON value, which always serializes.
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::render_summary;
    use crate::summary::tests::sample_run;
    use std::path::PathBuf;

    fn checked_in() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(SCHEMA_PATH)
    }

    #[test]
    fn the_checked_in_schema_matches_the_model() {
        let generated = summary_schema();
        let path = checked_in();
        if std::env::var_os("PICHARNESS_UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            stored == generated,
            "{SCHEMA_PATH} is out of date with reports/src/model.rs; regenerate it with \
             PICHARNESS_UPDATE_SCHEMA=1 cargo test -p picharness-reports schema, and bump \
             SCHEMA_VERSION if the change breaks readers"
        );
    }

    #[test]
    fn the_schema_names_the_contract_fields() {
        let schema: serde_json::Value = serde_json::from_str(&summary_schema()).unwrap();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for field in ["schema_version", "tool", "sut", "totals", "cases"] {
            assert!(
                required.contains(&field),
                "{field} not required: {required:?}"
            );
        }
        // The verdict enum lists exactly the five verdicts.
        let text = summary_schema();
        for verdict in ["pass", "fail", "inconclusive", "error", "skipped"] {
            assert!(text.contains(&format!("\"{verdict}\"")), "{verdict}");
        }
        // A written summary has every top-level property the schema lists.
        let summary: serde_json::Value =
            serde_json::from_str(&render_summary(&sample_run()).unwrap()).unwrap();
        for property in schema["properties"].as_object().unwrap().keys() {
            assert!(summary.get(property).is_some(), "summary lacks {property}");
        }
    }
}
