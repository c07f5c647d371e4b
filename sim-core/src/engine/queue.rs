//! The future-event list.
//!
//! # Ordering guarantee
//!
//! Events pop in order of `(time, seq)`: earliest time first, and among
//! events at the same nanosecond, the one scheduled first pops first. `seq`
//! is a counter bumped on every push, so the order is a pure function of
//! the sequence of pushes, never of memory layout or hashing.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use strategies::Nanos;

/// An event and its key: the time in the high 64 bits, the sequence number
/// in the low 64, so one integer comparison orders by `(time, seq)`.
#[derive(Debug, Clone, Copy)]
struct Entry<E> {
    key: u128,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap, we want the earliest first.
        other.key.cmp(&self.key)
    }
}

/// A min-queue of events keyed by `(time, seq)`.
///
/// Events that lost their purpose are left in place and skipped when they
/// pop; [`EventQueue::retain`] drops them in one pass when they pile up,
/// so the queue holds O(events that still matter). Dropping an entry never
/// changes the order of the others: it is fixed by `(time, seq)` alone.
#[derive(Debug)]
pub(crate) struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    seq: u64,
    high_water: usize,
}

impl<E> EventQueue<E> {
    pub(crate) fn with_capacity(n: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(n),
            seq: 0,
            high_water: 0,
        }
    }

    /// Schedules `event` at `time`.
    #[inline]
    pub(crate) fn push(&mut self, time: Nanos, event: E) {
        let seq = self.seq;
        self.seq += 1;
        self.heap.push(Entry {
            key: (u128::from(time.0) << 64) | u128::from(seq),
            event,
        });
        self.high_water = self.high_water.max(self.heap.len());
    }

    /// The earliest event, if any.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(Nanos, E)> {
        self.heap
            .pop()
            .map(|e| (Nanos((e.key >> 64) as u64), e.event))
    }

    /// Events queued now, live or stale.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// The most events ever queued at once.
    pub(crate) fn high_water(&self) -> usize {
        self.high_water
    }

    /// Keeps only the events for which `keep` is true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&E) -> bool) {
        self.heap.retain(|e| keep(&e.event));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_by_time_then_by_push_order() {
        let mut q = EventQueue::with_capacity(4);
        q.push(Nanos(20), 'a');
        q.push(Nanos(10), 'b');
        q.push(Nanos(20), 'c');
        q.push(Nanos(10), 'd');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['b', 'd', 'a', 'c']);
        assert_eq!(q.len(), 0);
        assert_eq!(q.high_water(), 4);
    }

    #[test]
    fn retain_keeps_the_order_of_what_remains() {
        let mut q = EventQueue::with_capacity(8);
        for (t, e) in [(5, 1), (3, 2), (5, 3), (1, 4), (3, 5), (9, 6)] {
            q.push(Nanos(t), e);
        }
        q.retain(|e| e % 2 == 1);
        let order: Vec<i32> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec![5, 1, 3]);
    }
}
