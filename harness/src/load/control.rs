//! What the engine's controller tells every connection, through atomics:
//! the offered rate (or the users' window), the find-max step, and
//! whether to stop. Also the run's clock origin and the count of open
//! connections.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};

use std::time::{Duration, Instant};

/// Shared by the controller and every connection.
#[derive(Debug)]
pub struct Control {
    /// The offered rate and how many transactions it has made due so far.
    schedule: Mutex<Schedule>,
    step: AtomicU16,
    /// No new transactions: finish the outstanding ones.
    stopping: AtomicBool,
    /// Stop now: outstanding transactions are abandoned.
    abandon: AtomicBool,
    /// Where the milliseconds of the events count from.
    pub start: Instant,
    open: AtomicU64,
    max_open: AtomicU64,
    /// Problems worth a note in the results (deduplicated, at most 20).
    notes: Mutex<Vec<String>>,
}

impl Control {
    pub fn new(start: Instant) -> Self {
        Self {
            schedule: Mutex::new(Schedule {
                since: start,
                due_before: 0.0,
                rate: 0.0,
            }),
            step: AtomicU16::new(0),
            stopping: AtomicBool::new(false),
            abandon: AtomicBool::new(false),
            start,
            open: AtomicU64::new(0),
            max_open: AtomicU64::new(0),
            notes: Mutex::new(Vec::new()),
        }
    }

    /// Offers `rate` per second from now on.
    pub fn set_rate(&self, rate: f64) {
        let now = Instant::now();
        if let Ok(mut s) = self.schedule.lock() {
            s.due_before = s.due_at(now);
            s.since = now;
            s.rate = rate.max(0.0);
        }
    }

    pub fn rate(&self) -> f64 {
        self.schedule.lock().map_or(0.0, |s| s.rate)
    }

    /// How many transactions the offered rate has made due by `now`
    /// since the start (the integral of the rate).
    pub fn due_by(&self, now: Instant) -> f64 {
        self.schedule.lock().map_or(0.0, |s| s.due_at(now))
    }

    pub fn set_step(&self, step: u16) {
        self.step.store(step, Ordering::Relaxed);
    }

    pub fn step(&self) -> u16 {
        self.step.load(Ordering::Relaxed)
    }

    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    pub fn abandon(&self) {
        self.stop();
        self.abandon.store(true, Ordering::Relaxed);
    }

    pub fn is_abandoned(&self) -> bool {
        self.abandon.load(Ordering::Relaxed)
    }

    /// Milliseconds since the start.
    pub fn ms(&self, at: Instant) -> u32 {
        u32::try_from(at.saturating_duration_since(self.start).as_millis()).unwrap_or(u32::MAX)
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// A connection opened; returns a guard that counts it closed when dropped.
    pub fn opened(&self) -> OpenGuard<'_> {
        let now = self.open.fetch_add(1, Ordering::Relaxed) + 1;
        self.max_open.fetch_max(now, Ordering::Relaxed);
        OpenGuard(self)
    }

    pub fn open_connections(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    pub fn max_open_connections(&self) -> u64 {
        self.max_open.load(Ordering::Relaxed)
    }

    /// Keeps `note` for the results, once.
    pub fn note(&self, note: String) {
        if let Ok(mut notes) = self.notes.lock()
            && notes.len() < 20
            && !notes.contains(&note)
        {
            notes.push(note);
        }
    }

    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().map(|n| n.clone()).unwrap_or_default()
    }
}

/// Counts an open connection until dropped.
#[derive(Debug)]
pub struct OpenGuard<'a>(&'a Control);

impl Drop for OpenGuard<'_> {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The offered rate since its last change.
#[derive(Debug)]
struct Schedule {
    since: Instant,
    /// Transactions due before `since`.
    due_before: f64,
    rate: f64,
}

impl Schedule {
    fn due_at(&self, now: Instant) -> f64 {
        self.due_before + self.rate * now.saturating_duration_since(self.since).as_secs_f64()
    }
}

/// Turns the schedule into whole transactions due on one connection: of
/// the transactions its side owes (a `fraction` of the schedule), the
/// connection `index` of `count` takes every `count`-th, so the side's
/// connections together send exactly what the schedule asks, whatever
/// their wake-ups, and a generator that fell behind catches up.
#[derive(Debug)]
pub struct Pacer {
    fraction: f64,
    index: u64,
    count: u64,
    sent: u64,
}

impl Pacer {
    pub fn new(fraction: f64, index: u32, count: u32) -> Self {
        Self {
            fraction,
            index: u64::from(index),
            count: u64::from(count.max(1)),
            sent: 0,
        }
    }

    /// Transactions due now, given the schedule's total so far.
    pub fn due(&mut self, scheduled: f64) -> u64 {
        let side = (scheduled * self.fraction).floor().max(0.0) as u64;
        let mine = (side + self.count - 1).saturating_sub(self.index) / self.count;
        let due = mine.saturating_sub(self.sent);
        self.sent = self.sent.max(mine);
        due
    }

    /// How long to sleep before the next wake-up: about two transactions'
    /// worth at `rate`, between 1 and 50 ms.
    pub fn wake_after(&self, rate: f64) -> Duration {
        let per_second = rate * self.fraction / self.count as f64;
        if per_second <= 0.0 {
            return Duration::from_millis(50);
        }
        Duration::from_secs_f64((2.0 / per_second).clamp(0.001, 0.05))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_together_send_exactly_the_schedule() {
        let mut pacers: Vec<Pacer> = (0..12).map(|i| Pacer::new(0.75, i, 12)).collect();
        let mut sent = 0;
        for step in 1..=1000u32 {
            let scheduled = f64::from(step) * 1.3;
            sent += pacers.iter_mut().map(|p| p.due(scheduled)).sum::<u64>();
        }
        // 1300 scheduled, three quarters for this side.
        assert_eq!(sent, 975);
    }

    #[test]
    fn the_schedule_integrates_rate_changes() {
        let control = Control::new(Instant::now());
        control.set_rate(100.0);
        let due = control.due_by(Instant::now() + Duration::from_secs(2));
        assert!((199.0..=201.0).contains(&due), "{due}");
    }
}
