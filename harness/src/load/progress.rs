//! The live progress line, one per second on stderr.

use picharness_reports::load::SecondRow;

/// `t=12s offered 2000/s ok 1998 fail 0 (status 0, timeout 0, conn 0) p50 1.2ms p99 4.5ms max 9.1ms conns 12 cpu 41µs/tx outstanding 3`.
pub fn progress_line(row: &SecondRow, outstanding: u64) -> String {
    let (p50, p99, max) = row.latency.values().fold((0, 0, 0), |(a, b, c), l| {
        (a.max(l.p50_us), b.max(l.p99_us), c.max(l.max_us))
    });
    let per_tx = if row.attempts > 0 {
        format!(
            "{:.0}µs/tx",
            row.harness_cpu_us as f64 / row.attempts as f64
        )
    } else {
        "-".to_owned()
    };
    let status: u64 = row.failures.status.values().sum();
    format!(
        "t={}s offered {:.0}/s sent {} ok {} fail {} (status {status}, timeout {}, conn {}) \
         p50 {} p99 {} max {} conns {} cpu {per_tx} outstanding {outstanding}",
        row.t,
        row.offered,
        row.attempts,
        row.successes,
        row.failures.total,
        row.failures.timeout,
        row.failures.connection + row.failures.abandoned,
        ms(p50),
        ms(p99),
        ms(max),
        row.open_connections,
    )
}

fn ms(us: u64) -> String {
    format!("{:.1}ms", us as f64 / 1000.0)
}
