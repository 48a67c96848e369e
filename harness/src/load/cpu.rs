//! The process's CPU time, and the share of the embedded reference
//! Edge's threads. Read from `/proc/self/stat` (utime + stime, what
//! `getrusage(RUSAGE_SELF)` reports, without `unsafe` or a new
//! dependency) and `/proc/self/task/*/stat` for the threads whose name
//! starts with [`WORLD_THREAD_PREFIX`]. Linux reports them in clock
//! ticks of 10 ms (USER_HZ = 100 on every Linux architecture we run on),
//! so a second's figure is coarse and the run's total is the number to
//! read.

use std::path::Path;

/// The name prefix of the threads running the embedded topology (the
/// reference Edge, its DNS server, the actors' remains).
pub const WORLD_THREAD_PREFIX: &str = "pich-world";

/// Microseconds per clock tick.
const TICK_US: u64 = 10_000;

/// CPU time so far, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuSample {
    pub process_us: u64,
    pub world_us: u64,
}

/// Reads the process's and the world threads' CPU time; zeros when
/// `/proc` cannot be read.
pub fn sample() -> CpuSample {
    let process_us = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| ticks(&s))
        .map_or(0, |t| t * TICK_US);
    let mut world_us = 0;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            world_us += world_thread_us(&task.path()).unwrap_or(0);
        }
    }
    CpuSample {
        process_us,
        world_us,
    }
}

fn world_thread_us(task: &Path) -> Option<u64> {
    let comm = std::fs::read_to_string(task.join("comm")).ok()?;
    if !comm.starts_with(WORLD_THREAD_PREFIX) {
        return None;
    }
    let stat = std::fs::read_to_string(task.join("stat")).ok()?;
    Some(ticks(&stat)? * TICK_US)
}

/// utime + stime of a `stat` line: fields 14 and 15, counted after the
/// command name, which is in parentheses and may hold spaces.
fn ticks(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_whitespace();
    // After ")" come field 3 (state) onwards: utime is field 14.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_utime_and_stime_past_a_name_with_spaces() {
        let line = "1234 (pich world 1) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 17 0 0 20 0 3 0";
        assert_eq!(ticks(line), Some(267));
    }

    #[test]
    fn this_process_has_a_cpu_time() {
        // Burn a little CPU so the sample is not zero ticks.
        let mut x = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(30) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        std::hint::black_box(x);
        assert!(sample().process_us > 0);
    }
}
