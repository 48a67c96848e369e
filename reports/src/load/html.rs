//! `load.html`: a load run as one self-contained page for people, next to
//! `load.json`. Inline CSS and inline SVG charts (see `html_plot`); no
//! script, nothing fetched from a network.
//!
//! The page has the totals (attempts, successes, offered and achieved
//! rate), the settings, latency percentiles per transaction type, failures
//! by kind, the CPU time per transaction, the find-max search and its steps
//! when there was one, the presence figures when the mix had presence, the
//! notes, and three charts over time: offered, sent and achieved rate
//! (with failures), latency p50 and p99 per transaction type, open connections.
//!
//! Long runs stay small: beyond [`MAX_SECONDS_PLOTTED`] rows the charts
//! draw one point per bucket of seconds (rates and p50 averaged, p99 and
//! connections the highest of the bucket), at most [`MAX_POINTS`] points,
//! and the page says so. Hooks for tools: the charts are `svg#plot-rate`,
//! `svg#plot-latency` and `svg#plot-connections`; `body` carries
//! `data-seconds` (rows in the record) and `data-points` (points per line).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minijinja::Environment;
use serde::Serialize;

use super::html_plot::{Chart, PALETTE, Series, svg};
use super::presence::PresenceSummary;
use super::results::{FailureCounts, LatencySummary, LoadRecord, SecondRow};
use crate::text::xml_safe;

/// The page template (Jinja syntax, autoescaped as HTML).
const TEMPLATE: &str = include_str!("../../templates/load.html");

/// Rows up to this many are drawn one point per second.
pub const MAX_SECONDS_PLOTTED: usize = 3600;
/// Beyond [`MAX_SECONDS_PLOTTED`], the most points a line has.
pub const MAX_POINTS: usize = 1800;

/// Why `load.html` could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum LoadHtmlError {
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot render load.html: {0}")]
    Template(#[from] minijinja::Error),
}

#[derive(Serialize)]
struct Item {
    label: &'static str,
    value: String,
}

fn item(label: &'static str, value: impl Into<String>) -> Item {
    Item {
        label,
        value: value.into(),
    }
}

#[derive(Serialize)]
struct LatencyRow {
    kind: String,
    count: u64,
    p50: String,
    p90: String,
    p99: String,
    max: String,
}

#[derive(Serialize)]
struct StepRow {
    offered: String,
    achieved: String,
    attempts: u64,
    successes: u64,
    failures: u64,
    passed: bool,
}

#[derive(Serialize)]
struct FindMaxView {
    criterion: String,
    max_rate: String,
    steps: Vec<StepRow>,
}

#[derive(Serialize)]
struct ChartView {
    id: &'static str,
    title: &'static str,
    svg: String,
}

#[derive(Serialize)]
struct PresenceView {
    items: Vec<Item>,
    latency: Vec<LatencyRow>,
}

#[derive(Serialize)]
struct Page {
    title: String,
    tool: String,
    started_at: String,
    sut: String,
    stopped: String,
    totals: Vec<Item>,
    settings: Vec<Item>,
    latency: Vec<LatencyRow>,
    failures: Vec<Item>,
    cpu: Vec<Item>,
    find_max: Option<FindMaxView>,
    presence: Option<PresenceView>,
    charts: Vec<ChartView>,
    /// How the charts were thinned, when they were.
    downsampled: Option<String>,
    notes: Vec<String>,
    seconds: usize,
    points: usize,
}

/// A rate, or `-` when there is none.
fn rate(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.1}/s")
    } else {
        "-".to_owned()
    }
}

/// A duration in microseconds, in the unit that reads best.
fn micros(us: u64) -> String {
    if us < 1_000 {
        format!("{us} µs")
    } else if us < 1_000_000 {
        format!("{:.2} ms", us as f64 / 1_000.0)
    } else {
        format!("{:.2} s", us as f64 / 1_000_000.0)
    }
}

fn micros_f(us: f64) -> String {
    if us.is_finite() {
        format!("{us:.1} µs")
    } else {
        "-".to_owned()
    }
}

/// Bytes, with the exact count beside a rounded size from 10 KiB on.
fn bytes(n: u64) -> String {
    if n < 10 * 1024 {
        format!("{n} B")
    } else if n < 10 * 1024 * 1024 {
        format!("{:.1} KiB ({n} B)", n as f64 / 1024.0)
    } else {
        format!("{:.1} MiB ({n} B)", n as f64 / (1024.0 * 1024.0))
    }
}

fn latency_rows(latency: &BTreeMap<String, LatencySummary>) -> Vec<LatencyRow> {
    latency
        .iter()
        .map(|(kind, l)| LatencyRow {
            kind: kind.clone(),
            count: l.count,
            p50: micros(l.p50_us),
            p90: micros(l.p90_us),
            p99: micros(l.p99_us),
            max: micros(l.max_us),
        })
        .collect()
}

fn failure_items(f: &FailureCounts) -> Vec<Item> {
    let mut items = vec![
        item("total", f.total.to_string()),
        item("timeout", f.timeout.to_string()),
        item("connection", f.connection.to_string()),
        item("abandoned", f.abandoned.to_string()),
    ];
    items.extend(f.status.iter().map(|(code, n)| Item {
        label: "status",
        value: format!("{code}: {n}"),
    }));
    items
}

fn presence_view(p: &PresenceSummary) -> PresenceView {
    let m = &p.memory;
    let optional = |v: Option<u64>| v.map_or_else(|| "not measured".to_owned(), bytes);
    PresenceView {
        items: vec![
            item("subscriptions asked for", p.requested.to_string()),
            item(
                "refresh every",
                format!("{} s (Expires {} s)", p.refresh_s, p.expires_s),
            ),
            item("started", p.started.to_string()),
            item("established", p.established.to_string()),
            item("held at most", p.held_peak.to_string()),
            item("held when teardown began", p.held_at_teardown.to_string()),
            item("refreshed", p.refreshed.to_string()),
            item("torn down", p.torn_down.to_string()),
            item("failed", p.failed.to_string()),
            item("ended early by the notifier", p.ended_early.to_string()),
            item("NOTIFYs sent", p.notifies_sent.to_string()),
            item("NOTIFYs received", p.notifies_received.to_string()),
            item("NOTIFY rate", rate(p.notify_rate)),
            item("unexpected messages", p.unexpected.to_string()),
            item("idle subscriptions measured", m.measured_with.to_string()),
            item("table entry", bytes(m.entry_bytes)),
            item(
                "table per subscription",
                bytes(m.table_bytes_per_subscription),
            ),
            item("resident before", optional(m.resident_before_bytes)),
            item("resident while held", optional(m.resident_held_bytes)),
            item(
                "resident per idle subscription",
                optional(m.resident_bytes_per_subscription),
            ),
        ],
        latency: latency_rows(&p.latency),
    }
}

/// One point of the charts: a second, or a bucket of seconds.
#[derive(Debug, Clone, Default)]
struct Point {
    t: f64,
    offered: f64,
    /// Attempts per second.
    sent: f64,
    achieved: f64,
    failed: f64,
    connections: f64,
    /// Per transaction type: p50 and p99 in milliseconds.
    latency: BTreeMap<String, (f64, f64)>,
}

/// How many rows one point covers.
fn bucket_size(rows: usize) -> usize {
    if rows <= MAX_SECONDS_PLOTTED {
        1
    } else {
        rows.div_ceil(MAX_POINTS)
    }
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values
        .filter(|v| v.is_finite())
        .fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { sum / f64::from(n) }
}

/// The rows as chart points, `size` rows per point.
fn points(rows: &[SecondRow], size: usize) -> Vec<Point> {
    rows.chunks(size.max(1))
        .map(|chunk| {
            let n = chunk.len() as f64;
            let mut latency: BTreeMap<String, (f64, f64, u64)> = BTreeMap::new();
            for row in chunk {
                for (kind, l) in &row.latency {
                    let e = latency.entry(kind.clone()).or_insert((0.0, 0.0, 0));
                    e.0 += l.p50_us as f64 / 1000.0 * l.count as f64;
                    e.1 = e.1.max(l.p99_us as f64 / 1000.0);
                    e.2 += l.count;
                }
            }
            Point {
                t: chunk.first().map_or(0.0, |r| f64::from(r.t)),
                offered: mean(chunk.iter().map(|r| r.offered)),
                sent: chunk.iter().map(|r| r.attempts as f64).sum::<f64>() / n,
                achieved: chunk.iter().map(|r| r.successes as f64).sum::<f64>() / n,
                failed: chunk.iter().map(|r| r.failures.total as f64).sum::<f64>() / n,
                connections: chunk
                    .iter()
                    .map(|r| r.open_connections as f64)
                    .fold(0.0, f64::max),
                latency: latency
                    .into_iter()
                    .filter(|(_, (_, _, count))| *count > 0)
                    .map(|(k, (p50, p99, count))| (k, (p50 / count as f64, p99)))
                    .collect(),
            }
        })
        .collect()
}

fn line(name: &str, color: &'static str, dashed: bool, points: Vec<(f64, f64)>) -> Series {
    Series {
        name: name.to_owned(),
        color,
        dashed,
        points,
    }
}

fn charts(points: &[Point]) -> Vec<ChartView> {
    let of = |f: fn(&Point) -> f64| points.iter().map(|p| (p.t, f(p))).collect::<Vec<_>>();
    let rate_chart = Chart {
        id: "plot-rate",
        y_unit: "transactions per second".to_owned(),
        series: vec![
            line("offered", "#57606a", true, of(|p| p.offered)),
            line("sent", "#0969da", false, of(|p| p.sent)),
            line("achieved", "#1a7f37", false, of(|p| p.achieved)),
            line("failed", "#cf222e", false, of(|p| p.failed)),
        ],
    };
    let kinds: Vec<&String> = points
        .iter()
        .flat_map(|p| p.latency.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut latency_series = Vec::new();
    for (i, kind) in kinds.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let pick = |which: fn(&(f64, f64)) -> f64| {
            points
                .iter()
                .filter_map(|p| p.latency.get(*kind).map(|l| (p.t, which(l))))
                .collect::<Vec<_>>()
        };
        latency_series.push(line(&format!("{kind} p50"), color, false, pick(|l| l.0)));
        latency_series.push(line(&format!("{kind} p99"), color, true, pick(|l| l.1)));
    }
    let latency_chart = Chart {
        id: "plot-latency",
        y_unit: "milliseconds".to_owned(),
        series: latency_series,
    };
    let connections_chart = Chart {
        id: "plot-connections",
        y_unit: "open connections".to_owned(),
        series: vec![line("open", "#0969da", false, of(|p| p.connections))],
    };
    vec![
        ChartView {
            id: "plot-rate",
            title: "Offered and achieved rate",
            svg: svg(&rate_chart),
        },
        ChartView {
            id: "plot-latency",
            title: "Latency (p50 solid, p99 dashed)",
            svg: svg(&latency_chart),
        },
        ChartView {
            id: "plot-connections",
            title: "Open connections",
            svg: svg(&connections_chart),
        },
    ]
}

/// Renders the page for `record`.
pub fn render_load_html(record: &LoadRecord) -> Result<String, LoadHtmlError> {
    let t = &record.totals;
    let s = &record.settings;
    let size = bucket_size(record.seconds.len());
    let points = points(&record.seconds, size);
    let mix = s
        .mix
        .iter()
        .map(|m| format!("{}={}", m.scenario, m.weight))
        .collect::<Vec<_>>()
        .join(", ");
    let mut settings = vec![item("mix", mix)];
    if let Some(r) = s.rate {
        settings.push(item("target rate", rate(r)));
    }
    if let Some(u) = s.users {
        settings.push(item("concurrent users", u.to_string()));
    }
    settings.extend([
        item("ramp", format!("{} s", s.ramp_s)),
        item("duration", format!("{} s", s.duration_s)),
        item("connections per role", s.connections.to_string()),
        item("users per side", s.user_population.to_string()),
        item("timeout", format!("{} ms", s.timeout_ms)),
        item("pcap of the first", format!("{} s", s.pcap_seconds)),
    ]);
    let cpu = &t.cpu;
    let mut cpu_items = vec![
        item("process", micros(cpu.process_us)),
        item("harness", micros(cpu.harness_us)),
        item(
            "harness per transaction",
            micros_f(cpu.harness_us_per_transaction),
        ),
    ];
    if let Some(edge) = cpu.edge_us {
        cpu_items.push(item("reference Edge", micros(edge)));
    }
    if let Some(per) = cpu.edge_us_per_transaction {
        cpu_items.push(item("reference Edge per transaction", micros_f(per)));
    }
    let page = Page {
        title: format!(
            "picharness load: {} achieved of {} offered, {} failures, against {}",
            rate(t.achieved_rate),
            rate(t.offered_rate),
            t.failures.total,
            record.sut_address
        ),
        tool: format!("{} {}", record.tool.name, record.tool.version),
        started_at: record.started_at.clone(),
        sut: format!("{} at {}", record.sut_kind, record.sut_address),
        stopped: record.stopped.clone(),
        totals: vec![
            item("attempts", t.attempts.to_string()),
            item("successes", t.successes.to_string()),
            item("failures", t.failures.total.to_string()),
            item("offered rate", rate(t.offered_rate)),
            item("achieved rate", rate(t.achieved_rate)),
            item("duration", format!("{:.1} s", t.duration_s)),
            item("most open connections", t.max_open_connections.to_string()),
        ],
        settings,
        latency: latency_rows(&t.latency),
        failures: failure_items(&t.failures),
        cpu: cpu_items,
        find_max: record.find_max.as_ref().map(|f| FindMaxView {
            criterion: f.criterion.clone(),
            max_rate: rate(f.max_rate),
            steps: f
                .steps
                .iter()
                .map(|s| StepRow {
                    offered: rate(s.offered),
                    achieved: rate(s.achieved),
                    attempts: s.attempts,
                    successes: s.successes,
                    failures: s.failures,
                    passed: s.passed,
                })
                .collect(),
        }),
        presence: record.presence.as_ref().map(presence_view),
        charts: charts(&points),
        downsampled: (size > 1).then(|| {
            format!(
                "The run has {} seconds: each point covers {size} seconds \
                 (rates and p50 averaged, p99 and connections the highest of the {size}).",
                record.seconds.len()
            )
        }),
        notes: record.notes.clone(),
        seconds: record.seconds.len(),
        points: points.len(),
    };
    let mut env = Environment::new();
    env.add_template("load.html", TEMPLATE)?;
    let html = env
        .get_template("load.html")?
        .render(minijinja::value::Serde(&page))?;
    Ok(match xml_safe(&html) {
        std::borrow::Cow::Borrowed(_) => html,
        std::borrow::Cow::Owned(safe) => safe,
    })
}

/// Writes `load.html` into `dir`.
pub fn write_load_html(dir: &Path, record: &LoadRecord) -> Result<(), LoadHtmlError> {
    let html = render_load_html(record)?;
    let path = dir.join("load.html");
    std::fs::write(&path, html).map_err(|source| LoadHtmlError::Io { path, source })
}

#[cfg(test)]
#[path = "html_tests.rs"]
mod tests;
