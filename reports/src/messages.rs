//! `messages.json`: a case's transcript as data, next to `transcript.txt`.
//!
//! The text transcript is for people; this file keeps every entry's fields
//! apart (time, actor, kind, local and remote address, full text) so that
//! the HTML report, and any other tool, can draw and filter them. Layout:
//!
//! ```json
//! { "entries": [ { "at_unix_ns": 1795606661053259073, "actor": "pool", "kind": "received",
//!                  "local": "127.80.0.20:5061", "remote": "127.80.0.11:45559",
//!                  "text": "MESSAGE sip:... SIP/2.0\r\n..." } ] }
//! ```
//!
//! `kind` is `sent`, `received` or `note`; `local`/`remote` are null for notes.
//! The entries are bounded as [`crate::bounds`] says (JSON escapes control
//! characters itself).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::bounds::bounded_entries;
use crate::evidence::TranscriptEntry;

/// Why `messages.json` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MessagesError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a valid messages file: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// The file's top level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessagesFile {
    entries: Vec<MessageEntry>,
}

/// One transcript entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageEntry {
    /// Nanoseconds since the UNIX epoch.
    at_unix_ns: u64,
    actor: String,
    kind: String,
    local: Option<SocketAddr>,
    remote: Option<SocketAddr>,
    text: String,
}

impl From<&TranscriptEntry> for MessageEntry {
    fn from(entry: &TranscriptEntry) -> Self {
        let since = entry
            .at
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Self {
            at_unix_ns: u64::try_from(since.as_nanos()).unwrap_or(u64::MAX),
            actor: entry.actor.clone(),
            kind: entry.kind.clone(),
            local: entry.local,
            remote: entry.remote,
            text: entry.text.clone(),
        }
    }
}

impl From<MessageEntry> for TranscriptEntry {
    fn from(entry: MessageEntry) -> Self {
        Self {
            at: SystemTime::UNIX_EPOCH + Duration::from_nanos(entry.at_unix_ns),
            actor: entry.actor,
            kind: entry.kind,
            local: entry.local,
            remote: entry.remote,
            text: entry.text,
        }
    }
}

/// Renders `entries` as the JSON of `messages.json`.
pub fn render_messages(entries: &[TranscriptEntry]) -> serde_json::Result<String> {
    let file = MessagesFile {
        entries: bounded_entries(entries)
            .iter()
            .map(MessageEntry::from)
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&file)?;
    text.push('\n');
    Ok(text)
}

/// Writes `entries` to `path` as `messages.json`.
pub fn write_messages(path: &Path, entries: &[TranscriptEntry]) -> std::io::Result<()> {
    let text = render_messages(entries)?;
    std::fs::write(path, text)
}

/// Reads a `messages.json` back into transcript entries.
pub fn read_messages(path: &Path) -> Result<Vec<TranscriptEntry>, MessagesError> {
    let text = std::fs::read_to_string(path).map_err(|source| MessagesError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file: MessagesFile = serde_json::from_str(&text).map_err(|source| MessagesError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(file
        .entries
        .into_iter()
        .map(TranscriptEntry::from)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<TranscriptEntry> {
        let at = SystemTime::UNIX_EPOCH + Duration::from_nanos(1_795_606_661_053_259_073);
        vec![
            TranscriptEntry {
                at,
                actor: "pool".to_owned(),
                kind: "received".to_owned(),
                local: Some("127.80.0.20:5061".parse().unwrap()),
                remote: Some("127.80.0.11:45559".parse().unwrap()),
                text: "MESSAGE sip:a@contoso.test SIP/2.0\r\nContent-Length: 0\r\n\r\n".to_owned(),
            },
            TranscriptEntry {
                at: at + Duration::from_nanos(1),
                actor: "runner".to_owned(),
                kind: "note".to_owned(),
                local: None,
                remote: None,
                text: "step 2: pool replies 200".to_owned(),
            },
        ]
    }

    #[test]
    fn entries_round_trip_to_the_nanosecond() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("messages.json");
        write_messages(&path, &entries()).unwrap();
        assert_eq!(read_messages(&path).unwrap(), entries());
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            json["entries"][0]["at_unix_ns"],
            1_795_606_661_053_259_073_u64
        );
        assert_eq!(json["entries"][0]["local"], "127.80.0.20:5061");
        assert!(json["entries"][1]["remote"].is_null());
    }

    #[test]
    fn a_bad_file_names_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("messages.json");
        std::fs::write(&path, "{\"entries\": [{\"at\": 1}]}").unwrap();
        let err = read_messages(&path).unwrap_err().to_string();
        assert!(
            err.contains("messages.json is not a valid messages file"),
            "{err}"
        );
        let missing = read_messages(&dir.path().join("none.json")).unwrap_err();
        assert!(matches!(missing, MessagesError::Io { .. }));
    }
}
