//! The harness's flood limit for one SIP connection: how many frames
//! (messages and keep-alives) a peer may deliver within one second before
//! the harness stops reading. Every frame becomes an event queued for a
//! case, and a case reads its queue only while it waits for something, so
//! without a limit a peer that streams small valid frames grows the queue
//! (and the harness's memory) as fast as it can send.
//!
//! The limit is the harness's safety net, not an Edge requirement: the
//! reason it gives says so. It sits far above what a conforming Edge sends:
//! a whole catalogue run puts a few thousand messages on the busiest
//! connection over several seconds.

use std::time::{Duration, Instant};

/// How the close reason of a connection the harness ended for flooding
/// starts, so the runner never takes that close for the Edge's.
pub const FLOOD_CLOSE_PREFIX: &str = "the harness stopped reading this connection";

/// Frames one connection may deliver within [`FLOOD_WINDOW`].
pub const FLOOD_FRAMES_PER_WINDOW: u32 = 5_000;

/// The window the frames are counted in.
pub const FLOOD_WINDOW: Duration = Duration::from_secs(1);

/// Counts the frames of one connection in fixed windows.
#[derive(Debug)]
pub(super) struct FloodGate {
    window_start: Instant,
    in_window: u32,
}

impl FloodGate {
    pub(super) fn new(now: Instant) -> Self {
        Self {
            window_start: now,
            in_window: 0,
        }
    }

    /// Counts one frame that arrived at `now`; `Err` with the reason to
    /// close the connection once the window holds more than the limit.
    pub(super) fn admit(&mut self, now: Instant) -> Result<(), String> {
        if now.saturating_duration_since(self.window_start) >= FLOOD_WINDOW {
            self.window_start = now;
            self.in_window = 0;
        }
        self.in_window += 1;
        if self.in_window > FLOOD_FRAMES_PER_WINDOW {
            return Err(format!(
                "{FLOOD_CLOSE_PREFIX}: more than {FLOOD_FRAMES_PER_WINDOW} \
                 SIP messages or keep-alives arrived within {} s (the harness's flood limit, \
                 not a requirement on the Edge)",
                FLOOD_WINDOW.as_secs()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_up_to_the_limit_within_a_window_pass() {
        let start = Instant::now();
        let mut gate = FloodGate::new(start);
        for _ in 0..FLOOD_FRAMES_PER_WINDOW {
            assert!(gate.admit(start).is_ok());
        }
        let refused = gate.admit(start + Duration::from_millis(999));
        assert!(refused.is_err_and(|reason| reason.contains("flood limit")));
    }

    #[test]
    fn a_new_window_starts_counting_again() {
        let start = Instant::now();
        let mut gate = FloodGate::new(start);
        for _ in 0..FLOOD_FRAMES_PER_WINDOW {
            assert!(gate.admit(start).is_ok());
        }
        let later = start + FLOOD_WINDOW;
        for _ in 0..FLOOD_FRAMES_PER_WINDOW {
            assert!(gate.admit(later).is_ok());
        }
        assert!(gate.admit(later).is_err());
    }
}
