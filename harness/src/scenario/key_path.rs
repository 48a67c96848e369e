//! The dotted path of the TOML key at a byte offset (`pki.ca_key`,
//! `steps[2].actor`, `sut.external`), so an error serde or the TOML parser
//! reports by position names the field in full. It reads the text line by
//! line (table headers, `key =` lines, multi-line strings), so it works for
//! syntax errors too, where no parsed document exists.

use std::collections::HashMap;

/// The path of the key whose line holds `offset` (or, inside a multi-line
/// value, of the key that value belongs to). On a table header line it is
/// the table's path; before any key it is empty.
pub(crate) fn key_path_at(text: &str, offset: usize) -> String {
    let mut table = String::new();
    let mut key: Option<String> = None;
    let mut arrays: HashMap<String, usize> = HashMap::new();
    let mut open_string: Option<&'static str> = None;
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        if line_start > offset {
            break;
        }
        line_start += line.len();
        if let Some(delimiter) = open_string {
            if line.contains(delimiter) {
                open_string = None;
            }
            continue;
        }
        let trimmed = line.trim();
        if let Some(header) = trimmed.strip_prefix("[[") {
            let name = clean_key(header.split("]]").next().unwrap_or_default());
            let count = arrays.entry(name.clone()).or_insert(0);
            table = format!("{name}[{count}]");
            *count += 1;
            key = None;
        } else if let Some(header) = trimmed.strip_prefix('[') {
            table = clean_key(header.split(']').next().unwrap_or_default());
            key = None;
        } else if let Some((name, value)) = key_line(trimmed) {
            key = Some(name);
            open_string = opens_multiline_string(value);
        }
    }
    match key {
        Some(key) if table.is_empty() => key,
        Some(key) => format!("{table}.{key}"),
        None => table,
    }
}

/// The 1-based line where the key at `path` is written, 0 when it is not.
pub(crate) fn line_of_key(text: &str, path: &str) -> usize {
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        if key_line(line.trim()).is_some() && key_path_at(text, offset) == path {
            return index + 1;
        }
        offset += line.len();
    }
    0
}

/// `key = value` (a bare, quoted or dotted key): the key and the value text.
fn key_line(line: &str) -> Option<(String, &str)> {
    if line.starts_with('#') {
        return None;
    }
    let (name, value) = line.split_once('=')?;
    let name = name.trim();
    let plausible = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '"' | '\'' | ' '));
    plausible.then(|| (clean_key(name), value))
}

/// A key as written, without quotes or spaces around its dotted parts.
fn clean_key(raw: &str) -> String {
    raw.split('.')
        .map(|part| part.trim().trim_matches('"').trim_matches('\''))
        .collect::<Vec<_>>()
        .join(".")
}

/// The delimiter of a multi-line string the value opens and does not close.
fn opens_multiline_string(value: &str) -> Option<&'static str> {
    ["\"\"\"", "'''"]
        .into_iter()
        .find(|delimiter| value.matches(delimiter).count() % 2 == 1)
}

#[cfg(test)]
mod tests {
    use super::key_path_at;

    const TEXT: &str = "mode = \"sandwich\"\n\n[pki]\nca_key = 5\n\n[[steps]]\nactor = \"a\"\n\n[[steps]]\nsend = \"\"\"\nINVITE x = y\n\"\"\"\nactor = 7\n";

    fn at(needle: &str) -> String {
        key_path_at(TEXT, TEXT.find(needle).expect("needle"))
    }

    #[test]
    fn names_tables_keys_and_array_elements() {
        assert_eq!(at("\"sandwich\""), "mode");
        assert_eq!(at("[pki]"), "pki");
        assert_eq!(at("5\n"), "pki.ca_key");
        assert_eq!(at("\"a\""), "steps[0].actor");
        assert_eq!(at("INVITE"), "steps[1].send", "inside a multi-line string");
        assert_eq!(at("7"), "steps[1].actor");
    }

    #[test]
    fn finds_the_line_of_a_key() {
        assert_eq!(super::line_of_key(TEXT, "pki.ca_key"), 4);
        assert_eq!(super::line_of_key(TEXT, "steps[1].actor"), 13);
        assert_eq!(super::line_of_key(TEXT, "pki.nothing"), 0);
    }
}
