//! `--find-max`: the highest offered rate the Edge carries with no
//! failure, found as RFC 7501 §3 and RFC 7502 §4 describe (steps of a
//! fixed duration at a fixed offered rate, a binary search between the
//! highest rate that passed and the lowest that failed). Sans-IO: the
//! engine runs each step and reports whether it passed; this says which
//! rate to try next.
//!
//! The search doubles the rate from the starting rate until a step fails
//! (or the cap is reached), then halves the interval between the highest
//! pass and the lowest fail until it is narrower than the resolution (a
//! fraction of the highest pass, at least one transaction per second).

/// How long after a step's end its last answer may arrive: the Edge kept
/// up when it has no backlog left by then.
pub fn backlog_allowance(step: std::time::Duration) -> std::time::Duration {
    (step / 5).max(std::time::Duration::from_secs(1))
}

/// The criterion a step must meet, as `load.json` states it.
pub fn criterion_text(step: std::time::Duration, min_offered: f64) -> String {
    format!(
        "a step offers a fixed rate for {} s and passes when (1) every transaction it started got a 2xx \
         (0 failures of any kind: no error status, no timeout, no connection error), (2) the harness sent at \
         least {:.1}% of rate x step (the generator kept up) and (3) the last answer arrived within {} s of \
         the step's end (the Edge left no backlog); the result is the highest offered rate that passed. \
         Before the first step, 2 s at a tenth of the starting rate (at most 100/s) warm the Edge up \
         (its connections open); that traffic is counted in the totals but judges nothing",
        step.as_secs(),
        min_offered * 100.0,
        backlog_allowance(step).as_secs_f64()
    )
}

/// The state of a search.
#[derive(Debug, Clone)]
pub struct FindMax {
    /// The highest rate that passed so far (0: none yet).
    passed: f64,
    /// The lowest rate that failed so far.
    failed: Option<f64>,
    /// The rate to try next; `None` when the search is over.
    next: Option<f64>,
    cap: f64,
    /// The search ends when `failed - passed` is below this fraction of
    /// `passed`.
    resolution: f64,
}

impl FindMax {
    /// A search starting at `start`/s, never above `cap`/s, ending when the
    /// interval is narrower than `resolution` times the highest pass.
    pub fn new(start: f64, cap: f64, resolution: f64) -> Self {
        let start = start.clamp(1.0, cap.max(1.0));
        Self {
            passed: 0.0,
            failed: None,
            next: Some(start),
            cap: cap.max(1.0),
            resolution: resolution.clamp(0.001, 0.5),
        }
    }

    /// The rate to offer in the next step; `None` when the search is done.
    pub fn next_rate(&self) -> Option<f64> {
        self.next
    }

    /// The answer: the highest rate that passed (0 when none did).
    pub fn max_rate(&self) -> f64 {
        self.passed
    }

    /// Records the outcome of a step at `rate`.
    pub fn record(&mut self, rate: f64, passed: bool) {
        if passed {
            self.passed = self.passed.max(rate);
        } else {
            self.failed = Some(self.failed.map_or(rate, |f| f.min(rate)));
        }
        self.next = match self.failed {
            None if self.passed >= self.cap => None,
            None => Some((self.passed * 2.0).min(self.cap)),
            Some(failed) => {
                let width = failed - self.passed;
                if width <= (self.passed * self.resolution).max(1.0) {
                    None
                } else {
                    Some(((self.passed + failed) / 2.0).round())
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A simulated SUT that carries every rate up to `limit` and fails above.
    fn search(limit: f64, start: f64, cap: f64) -> (f64, usize) {
        let mut search = FindMax::new(start, cap, 0.01);
        let mut steps = 0;
        while let Some(rate) = search.next_rate() {
            steps += 1;
            assert!(steps < 100, "the search must end");
            search.record(rate, rate <= limit);
        }
        (search.max_rate(), steps)
    }

    #[test]
    fn finds_the_limit_within_the_resolution() {
        for limit in [1.0, 37.0, 999.0, 4321.0, 7777.0, 19_000.0] {
            let (found, steps) = search(limit, 500.0, 20_000.0);
            assert!(found <= limit, "{found} > {limit}");
            assert!(found >= limit * 0.99 - 1.0, "{found} far below {limit}");
            assert!(steps <= 25, "{steps} steps for {limit}");
        }
    }

    #[test]
    fn stops_at_the_cap_when_everything_passes() {
        let (found, _) = search(1e9, 1000.0, 20_000.0);
        assert_eq!(found, 20_000.0);
    }

    #[test]
    fn reports_zero_when_nothing_passes() {
        let (found, _) = search(0.5, 100.0, 20_000.0);
        assert_eq!(found, 0.0);
    }
}
