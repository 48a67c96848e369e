//! The collector: turns the connections' event batches into one row per
//! second, the run's totals and the find-max steps' figures. Pure
//! bookkeeping, no I/O and no clock: the engine hands it the batches, the
//! second to close, the offered rate, the open connections and the CPU
//! sample.

use std::collections::{BTreeMap, HashMap};

use hdrhistogram::Histogram;
use picharness_reports::load::{FailureCounts, LatencySummary, SecondRow};

use super::event::{Event, Outcome, What};

/// Latencies are kept from 1 µs to an hour; per-second histograms with 2
/// significant digits, the run's with 3.
const MAX_LATENCY_US: u64 = 3_600_000_000;

fn histogram(digits: u8) -> Option<Histogram<u64>> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, digits).ok()
}

fn summary(h: &Histogram<u64>) -> LatencySummary {
    LatencySummary {
        count: h.len(),
        p50_us: h.value_at_quantile(0.50),
        p90_us: h.value_at_quantile(0.90),
        p99_us: h.value_at_quantile(0.99),
        max_us: h.max(),
    }
}

/// Counts of one second, one step or the whole run.
#[derive(Debug, Default)]
struct Counts {
    attempts: u64,
    successes: u64,
    failures: FailureCounts,
    latency: Vec<Option<Histogram<u64>>>,
}

impl Counts {
    fn record(&mut self, kind: usize, outcome: Outcome, latency_us: u32, digits: u8) {
        match outcome {
            Outcome::Success => self.successes += 1,
            Outcome::Status(code) => {
                self.failures.total += 1;
                *self.failures.status.entry(code).or_default() += 1;
            }
            Outcome::Timeout => {
                self.failures.total += 1;
                self.failures.timeout += 1;
            }
            Outcome::Connection => {
                self.failures.total += 1;
                self.failures.connection += 1;
            }
            Outcome::Abandoned => {
                self.failures.total += 1;
                self.failures.abandoned += 1;
            }
        }
        if matches!(outcome, Outcome::Success | Outcome::Status(_)) {
            if self.latency.len() <= kind {
                self.latency.resize_with(kind + 1, || None);
            }
            let slot = &mut self.latency[kind];
            if slot.is_none() {
                *slot = histogram(digits);
            }
            if let Some(h) = slot {
                h.saturating_record(u64::from(latency_us).max(1));
            }
        }
    }

    fn latency_by_name(&self, kinds: &[&'static str]) -> BTreeMap<String, LatencySummary> {
        self.latency
            .iter()
            .enumerate()
            .filter_map(|(i, h)| {
                let h = h.as_ref()?;
                Some((kinds.get(i)?.to_string(), summary(h)))
            })
            .collect()
    }
}

/// A find-max step's figures.
#[derive(Debug, Default, Clone, Copy)]
pub struct StepFigures {
    pub attempts: u64,
    pub successes: u64,
    pub failures: u64,
    /// When its last outcome arrived (ms since the traffic started).
    pub last_outcome_ms: u32,
}

impl StepFigures {
    /// Whether every attempt of the step has its outcome.
    pub fn settled(&self) -> bool {
        self.successes + self.failures >= self.attempts
    }
}

/// What the run's totals are made of.
#[derive(Debug)]
pub struct RunFigures {
    pub attempts: u64,
    pub successes: u64,
    pub failures: FailureCounts,
    pub latency: BTreeMap<String, LatencySummary>,
    /// The first attempt and the last outcome (ms since the start).
    pub first_ms: Option<u32>,
    pub last_ms: u32,
}

/// The collector's state.
#[derive(Debug)]
pub struct Collector {
    kinds: Vec<&'static str>,
    seconds: BTreeMap<u32, Counts>,
    total: Counts,
    steps: HashMap<u16, StepFigures>,
    first_ms: Option<u32>,
    last_ms: u32,
}

impl Collector {
    /// A collector for the scenarios named `kinds` (in mix order).
    pub fn new(kinds: Vec<&'static str>) -> Self {
        Self {
            kinds,
            seconds: BTreeMap::new(),
            total: Counts::default(),
            steps: HashMap::new(),
            first_ms: None,
            last_ms: 0,
        }
    }

    /// Counts a batch of events.
    pub fn absorb(&mut self, batch: &[Event]) {
        for event in batch {
            let second = self.seconds.entry(event.at_ms / 1000).or_default();
            let step = self.steps.entry(event.step).or_default();
            match event.what {
                What::Attempt => {
                    second.attempts += 1;
                    self.total.attempts += 1;
                    step.attempts += 1;
                    self.first_ms = Some(self.first_ms.map_or(event.at_ms, |f| f.min(event.at_ms)));
                }
                What::Done {
                    outcome,
                    latency_us,
                } => {
                    let kind = usize::from(event.kind);
                    second.record(kind, outcome, latency_us, 2);
                    self.total.record(kind, outcome, latency_us, 3);
                    if outcome == Outcome::Success {
                        step.successes += 1;
                    } else {
                        step.failures += 1;
                    }
                    step.last_outcome_ms = step.last_outcome_ms.max(event.at_ms);
                }
            }
            self.last_ms = self.last_ms.max(event.at_ms);
        }
    }

    /// Transactions attempted and not yet settled.
    pub fn outstanding(&self) -> u64 {
        self.total
            .attempts
            .saturating_sub(self.total.successes + self.total.failures.total)
    }

    /// The figures of find-max step `step` so far.
    pub fn step(&self, step: u16) -> StepFigures {
        self.steps.get(&step).copied().unwrap_or_default()
    }

    /// Closes second `t` (later events for it are counted in the totals
    /// and the next row) and returns its row.
    pub fn close_second(
        &mut self,
        t: u32,
        offered: f64,
        open_connections: u64,
        harness_cpu_us: u64,
        edge_cpu_us: Option<u64>,
    ) -> SecondRow {
        let mut counts = self.seconds.remove(&t).unwrap_or_default();
        // Anything that arrived late for an earlier second joins this one.
        let late: Vec<u32> = self.seconds.range(..t).map(|(k, _)| *k).collect();
        for k in late {
            if let Some(old) = self.seconds.remove(&k) {
                counts.attempts += old.attempts;
                counts.successes += old.successes;
                counts.failures.add(&old.failures);
            }
        }
        SecondRow {
            t,
            offered,
            attempts: counts.attempts,
            successes: counts.successes,
            latency: counts.latency_by_name(&self.kinds),
            failures: counts.failures,
            open_connections,
            harness_cpu_us,
            edge_cpu_us,
        }
    }

    /// The run's figures.
    pub fn run_figures(&self) -> RunFigures {
        RunFigures {
            attempts: self.total.attempts,
            successes: self.total.successes,
            failures: self.total.failures.clone(),
            latency: self.total.latency_by_name(&self.kinds),
            first_ms: self.first_ms,
            last_ms: self.last_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(at_ms: u32, step: u16) -> Event {
        Event {
            at_ms,
            kind: 0,
            step,
            what: What::Attempt,
        }
    }

    fn done(at_ms: u32, step: u16, outcome: Outcome, latency_us: u32) -> Event {
        Event {
            at_ms,
            kind: 0,
            step,
            what: What::Done {
                outcome,
                latency_us,
            },
        }
    }

    #[test]
    fn seconds_and_totals_add_up() {
        let mut c = Collector::new(vec!["message-in"]);
        c.absorb(&[
            attempt(10, 1),
            attempt(20, 1),
            attempt(30, 1),
            done(15, 1, Outcome::Success, 1000),
            done(1010, 1, Outcome::Status(503), 3000),
        ]);
        assert_eq!(c.outstanding(), 1);
        c.absorb(&[done(1500, 1, Outcome::Timeout, 0)]);
        assert_eq!(c.outstanding(), 0);
        let first = c.close_second(0, 3.0, 4, 100, None);
        assert_eq!(
            (first.attempts, first.successes, first.failures.total),
            (3, 1, 0)
        );
        let second = c.close_second(1, 3.0, 4, 100, None);
        assert_eq!(second.failures.total, 2);
        assert_eq!(second.failures.status.get(&503), Some(&1));
        assert_eq!(second.failures.timeout, 1);
        let run = c.run_figures();
        assert_eq!(run.attempts, run.successes + run.failures.total);
        let latency = &run.latency["message-in"];
        assert_eq!(latency.count, 2);
        assert!(latency.p50_us <= latency.p90_us && latency.p99_us <= latency.max_us);
        let step = c.step(1);
        assert!(step.settled());
        assert_eq!((step.successes, step.failures), (1, 2));
    }
}
