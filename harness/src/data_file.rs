//! Reading the user's data files (configuration, scenarios, profiles):
//! regular files of a sane size only, so a directory named `x.toml` is an
//! error and a FIFO or device given as a file cannot block the run.

use std::path::Path;

/// The largest data file read (a scenario or configuration is a few KiB).
pub const MAX_DATA_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Why a data file could not be read, in words for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DataFileError(String);

/// Reads `path` as UTF-8 text after checking it is a regular file (a
/// symbolic link to one is fine) of at most [`MAX_DATA_FILE_BYTES`].
pub fn read_data_file(path: &Path) -> Result<String, DataFileError> {
    let metadata =
        std::fs::metadata(path).map_err(|e| DataFileError(format!("cannot read the file: {e}")))?;
    let kind = metadata.file_type();
    if kind.is_dir() {
        return Err(DataFileError(
            "is a directory, not a file (only regular files are read)".to_owned(),
        ));
    }
    if !kind.is_file() {
        return Err(DataFileError(
            "is not a regular file (a FIFO, socket or device is never read: it could block forever)"
                .to_owned(),
        ));
    }
    if metadata.len() > MAX_DATA_FILE_BYTES {
        return Err(DataFileError(format!(
            "is {} bytes; a data file may hold at most {MAX_DATA_FILE_BYTES}",
            metadata.len()
        )));
    }
    std::fs::read_to_string(path).map_err(|e| DataFileError(format!("cannot read the file: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_regular_file_and_refuses_a_directory() {
        let dir = std::env::temp_dir().join(format!("data-file-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("x.toml")).expect("mkdir");
        std::fs::write(dir.join("a.toml"), "a = 1\n").expect("write");
        assert_eq!(
            read_data_file(&dir.join("a.toml")).as_deref(),
            Ok("a = 1\n")
        );
        let error = read_data_file(&dir.join("x.toml")).expect_err("a directory");
        assert!(error.to_string().contains("is a directory"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
