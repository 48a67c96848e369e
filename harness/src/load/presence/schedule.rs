//! The refresh and timeout schedule: deadlines in a binary heap, soonest
//! first. Entries are never removed early: when one comes due the state
//! machine checks it still matches the subscription (a refresh still
//! wanted at that time, a request still in flight since then) and drops it
//! otherwise, so rescheduling costs one push and the heap holds at most a
//! few entries per subscription.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// What comes due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Timer {
    /// The watcher refreshes.
    Refresh,
    /// The watcher's SUBSCRIBE, or the NOTIFY it awaits, is overdue.
    Watcher,
    /// The notifier's NOTIFY is overdue.
    Notify,
}

/// One deadline: when, which subscription, what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Deadline {
    pub at_ms: u32,
    pub index: u32,
    pub timer: Timer,
}

/// Deadlines, soonest first.
#[derive(Debug, Default)]
pub(super) struct Schedule {
    heap: BinaryHeap<Reverse<Deadline>>,
}

impl Schedule {
    pub(super) fn push(&mut self, at_ms: u32, index: u32, timer: Timer) {
        self.heap.push(Reverse(Deadline {
            at_ms,
            index,
            timer,
        }));
    }

    /// The soonest deadline, if any.
    pub(super) fn next_ms(&self) -> Option<u32> {
        self.heap.peek().map(|Reverse(d)| d.at_ms)
    }

    /// Takes the soonest deadline if it is due at `now_ms`.
    pub(super) fn pop_due(&mut self, now_ms: u32) -> Option<Deadline> {
        if self.next_ms()? > now_ms {
            return None;
        }
        self.heap.pop().map(|Reverse(d)| d)
    }

    /// Bytes the heap owns.
    pub(super) fn heap_bytes(&self) -> usize {
        self.heap.capacity() * std::mem::size_of::<Reverse<Deadline>>()
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_come_due_in_order_and_not_before_their_time() {
        let mut s = Schedule::default();
        s.push(300, 1, Timer::Refresh);
        s.push(100, 2, Timer::Watcher);
        s.push(200, 3, Timer::Notify);
        assert_eq!(s.next_ms(), Some(100));
        assert_eq!(s.pop_due(99), None);
        assert_eq!(s.pop_due(250).map(|d| d.index), Some(2));
        assert_eq!(s.pop_due(250).map(|d| d.index), Some(3));
        assert_eq!(s.pop_due(250), None);
        assert_eq!(s.len(), 1);
    }
}
