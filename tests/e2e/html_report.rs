//! `index.html` in a real browser: headless Chromium (Debian's `chromium`,
//! which scripts/test-all.sh installs) loads the page from the file, runs its
//! script, and the test reads the resulting DOM and takes a screenshot.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::run_suite;

/// Longest a Chromium invocation may take before the test gives up on it.
const BROWSER_DEADLINE: Duration = Duration::from_secs(90);

fn chromium_path() -> PathBuf {
    for candidate in ["chromium", "chromium-browser"] {
        let found = Command::new(candidate)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if found {
            return PathBuf::from(candidate);
        }
    }
    panic!("chromium is required for this test (scripts/test-all.sh installs the Debian package)");
}

/// Runs headless Chromium on `url` with `extra` arguments, a fresh profile
/// and everything that would reach out to a network turned off; kills it
/// if it outlives [`BROWSER_DEADLINE`].
fn chromium(url: &str, extra: &[String]) -> Output {
    let profile = tempfile::tempdir().expect("profile dir");
    let mut child = Command::new(chromium_path())
        .args([
            "--no-sandbox",
            "--headless",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    // Drain stdout on a thread so a large DOM cannot block the browser.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut out).map(|_| out)
    });
    let started = Instant::now();
    loop {
        match child.try_wait().expect("wait on chromium") {
            Some(_) => break,
            None if started.elapsed() > BROWSER_DEADLINE => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish within {BROWSER_DEADLINE:?} on {url}");
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let mut output = child.wait_with_output().expect("chromium output");
    output.stdout = reader.join().expect("reader thread").expect("read stdout");
    output
}

fn file_url(path: &Path, query: &str) -> String {
    format!(
        "file://{}{query}",
        path.canonicalize().expect("absolute path").display()
    )
}

/// The DOM after the page's script ran.
fn dom_after_script(page: &Path, query: &str) -> String {
    let output = chromium(&file_url(page, query), &["--dump-dom".to_owned()]);
    let dom = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && dom.contains("</html>"),
        "chromium --dump-dom failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    dom
}

/// The value of `name="..."` on the `<body>` tag of `dom`.
fn body_attribute<'a>(dom: &'a str, name: &str) -> Option<&'a str> {
    let start = dom.find("<body")?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let key = format!("{name}=\"");
    let value = &tag[tag.find(&key)? + key.len()..];
    Some(&value[..value.find('"')?])
}

/// The text inside the element with `id`, up to its closing tag.
fn text_of<'a>(dom: &'a str, id: &str) -> Option<&'a str> {
    let key = format!("id=\"{id}\">");
    let start = dom.find(&key)? + key.len();
    Some(&dom[start..start + dom[start..].find('<')?])
}

#[test]
fn the_html_report_renders_counts_filters_and_ladders_in_chromium() {
    let run = run_suite(150, &["--sut-fault", "no-record-route"]);
    let page = run.report_path().join("index.html");
    assert!(
        page.is_file(),
        "index.html missing; stdout:\n{}",
        run.stdout()
    );
    let html = std::fs::read_to_string(&page).expect("index.html");
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "the page must not load anything from a network"
    );

    let dom = dom_after_script(&page, "");
    let totals = &run.summary["totals"];
    let cases = run.summary["cases"].as_array().expect("cases").len();
    assert_eq!(
        body_attribute(&dom, "data-ready"),
        Some("1"),
        "the script did not run"
    );
    assert_eq!(
        body_attribute(&dom, "data-cases"),
        Some(cases.to_string().as_str())
    );
    for verdict in ["pass", "fail", "inconclusive", "error", "skipped"] {
        assert_eq!(
            text_of(&dom, &format!("count-{verdict}")),
            Some(totals[verdict].to_string().as_str()),
            "count of {verdict}"
        );
    }
    let must_fail = crate::faults::must_fail("no-record-route");
    assert_eq!(
        totals["fail"],
        must_fail.len(),
        "no-record-route fails the cases its fault-table row names"
    );
    // Every case has a ladder, and the browser laid out every arrow.
    let arrows_in_page = html.matches("<a class=\"arrow").count();
    assert!(
        arrows_in_page >= 2 * cases,
        "{arrows_in_page} arrows for {cases} cases"
    );
    assert_eq!(
        body_attribute(&dom, "data-ladders-drawn"),
        Some(cases.to_string().as_str())
    );
    assert_eq!(
        body_attribute(&dom, "data-arrows-drawn"),
        Some(arrows_in_page.to_string().as_str())
    );
    assert_eq!(
        text_of(&dom, "shown"),
        Some(format!("{cases} of {cases} cases shown").as_str())
    );
    // The failed step is highlighted in each failing case's ladder.
    assert_eq!(
        dom.matches("class=\"step failed\"").count(),
        must_fail.len()
    );

    // Filters, preset from the URL, run in the browser.
    let aol_failing = must_fail.iter().filter(|id| id.starts_with("aol.")).count();
    let filtered = dom_after_script(&page, "?verdict=fail&provider=aol");
    assert_eq!(
        text_of(&filtered, "shown"),
        Some(format!("{aol_failing} of {cases} cases shown").as_str())
    );

    // A screenshot people can look at, kept under the target directory.
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html-report");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let shot = shots.join("index-no-record-route.png");
    let _ = std::fs::remove_file(&shot);
    let output = chromium(
        &file_url(&page, ""),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1400,1800".to_owned(),
        ],
    );
    let png = std::fs::read(&shot).unwrap_or_else(|e| {
        panic!(
            "no screenshot at {} ({e}): {}",
            shot.display(),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // A blank 1400x1800 page compresses to a few KB; a drawn report does not.
    assert!(
        png.len() > 50_000,
        "screenshot looks empty ({} bytes)",
        png.len()
    );
    eprintln!("screenshot: {}", shot.display());
}
