//! Whether the harness itself can hold an abuse's connections: each one is
//! a file descriptor here, and a second one in the embedded reference Edge
//! (same process). Running out would make the harness's own limit look
//! like an Edge refusing connections, so an abuse that does not fit does
//! not start. Read from `/proc/self` (Linux); elsewhere the check is
//! skipped and a descriptor error during the abuse is caught instead.

use crate::scenario::{
    AbuseKind, BURST_WAVE, IDLE_CONNECTIONS, SILENT_CONNECTIONS, SLOWLORIS_CONNECTIONS,
};

/// Descriptors kept free for everything else the run does meanwhile
/// (other cases, the probe, capture files).
const HEADROOM: usize = 256;

/// How many connections `kind` holds at once.
fn connections(kind: AbuseKind) -> usize {
    match kind {
        AbuseKind::Slowloris => SLOWLORIS_CONNECTIONS,
        AbuseKind::IdleConnections => IDLE_CONNECTIONS,
        AbuseKind::SilentConnections | AbuseKind::PartialClientHello => SILENT_CONNECTIONS,
        AbuseKind::UnauthenticatedBurst => BURST_WAVE,
        AbuseKind::GarbageRecord
        | AbuseKind::OverlongRecord
        | AbuseKind::LongChain
        | AbuseKind::Renegotiation => 1,
        AbuseKind::OldClientHello => 3,
    }
}

/// Why the harness cannot hold `kind`'s connections, or `None` when it can
/// (or cannot tell). `edge_in_process`: the Edge's side of each connection
/// is in this process too.
pub(super) fn shortfall(kind: AbuseKind, edge_in_process: bool) -> Option<String> {
    let limit = soft_open_files_limit()?;
    let open = std::fs::read_dir("/proc/self/fd").ok()?.count();
    let per_connection = if edge_in_process { 2 } else { 1 };
    let needed = connections(kind) * per_connection + HEADROOM;
    let free = limit.saturating_sub(open);
    (free < needed).then(|| {
        format!(
            "it may open {limit} files and has {open} open; {} connections need {needed} free (with {HEADROOM} to spare): raise `ulimit -n`",
            connections(kind)
        )
    })
}

/// The soft limit on open files, from `/proc/self/limits`.
fn soft_open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_files(&limits)
}

fn parse_open_files(limits: &str) -> Option<usize> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    if soft == "unlimited" {
        return Some(usize::MAX);
    }
    soft.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_read_from_proc_limits() {
        let text = "Limit                     Soft Limit           Hard Limit           Units\nMax cpu time              unlimited            unlimited            seconds\nMax open files            1024                 524288               files\n";
        assert_eq!(parse_open_files(text), Some(1024));
        assert_eq!(
            parse_open_files("Max open files  unlimited  unlimited  files"),
            Some(usize::MAX)
        );
        assert_eq!(parse_open_files("nothing here"), None);
    }
}
