//! Files the user names or the scenario directory holds are read only when
//! they are regular files: a directory named like a case file is an error,
//! and a FIFO given as `--config` is refused at once instead of blocking.

use crate::support::{binary, copy_dir, scenarios_dir};

#[test]
fn a_directory_named_like_a_case_file_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenarios = dir.path().join("scenarios");
    copy_dir(&scenarios_dir(), &scenarios);
    let odd = scenarios.join("cases").join("edge").join("x.toml");
    std::fs::create_dir(&odd).expect("mkdir");
    let output = binary()
        .args(["list", "--scenarios"])
        .arg(&scenarios)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}: the scenario file is a directory, not a file",
            odd.display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_fifo_as_config_is_refused_without_blocking() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("staging.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    for command in [&["run", "--dry-run"][..], &["doctor"][..]] {
        // Nobody writes to the FIFO: reading it would block forever, and
        // `output()` would never return.
        let output = binary()
            .args(command)
            .arg("--config")
            .arg(&fifo)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(
            stderr.contains("the configuration file is not a regular file"),
            "{stderr}"
        );
    }
}
