//! The future-event list.
//!
//! # Ordering guarantee
//!
//! Events pop in order of `(time, seq)`: earliest time first, and among
//! events at the same nanosecond, the one scheduled first pops first. `seq`
//! is a counter bumped on every push, so the order is a pure function of
//! the sequence of pushes, never of memory layout or hashing.
//!
//! One event may be kept beside the heap ([`EventQueue::push_side`]): the
//! next open arrival, which is always pending and replaced as soon as it
//! pops, so passing it through the heap would cost a push and a pop per
//! request. It takes its key from the same counter and pops in the same
//! `(time, seq)` order as if it were in the heap.

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
    /// The event kept beside the heap, if any.
    side: Option<Entry<E>>,
    seq: u64,
    high_water: usize,
}

impl<E> EventQueue<E> {
    pub(crate) fn with_capacity(n: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(n),
            side: None,
            seq: 0,
            high_water: 0,
        }
    }

    /// The key of an event pushed now at `time`.
    #[inline]
    fn key(&mut self, time: Nanos) -> u128 {
        let seq = self.seq;
        self.seq += 1;
        (u128::from(time.0) << 64) | u128::from(seq)
    }

    /// Schedules `event` at `time`.
    #[inline]
    pub(crate) fn push(&mut self, time: Nanos, event: E) {
        let key = self.key(time);
        self.heap.push(Entry { key, event });
        self.high_water = self.high_water.max(self.len());
    }

    /// Schedules `event` at `time` in the place beside the heap, which
    /// must be empty: for an event of which at most one is ever pending.
    #[inline]
    pub(crate) fn push_side(&mut self, time: Nanos, event: E) {
        debug_assert!(self.side.is_none(), "the side place is taken");
        let key = self.key(time);
        self.side = Some(Entry { key, event });
        self.high_water = self.high_water.max(self.len());
    }

    /// The earliest event, if any.
    #[cfg(test)]
    pub(crate) fn pop(&mut self) -> Option<(Nanos, E)> {
        self.pop_keyed().map(|(k, e)| (Self::time_of(k), e))
    }

    /// The earliest event with its key, so it can be put back as it was
    /// ([`EventQueue::restore`]).
    #[inline(always)]
    pub(crate) fn pop_keyed(&mut self) -> Option<(u128, E)> {
        let side_first = match (&self.side, self.heap.peek()) {
            (Some(s), Some(h)) => s.key < h.key,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let e = if side_first {
            self.side.take()
        } else {
            self.heap.pop()
        };
        e.map(|e| (e.key, e.event))
    }

    /// Puts back an event just taken by [`EventQueue::pop_keyed`], under
    /// its own key: it pops again in the same `(time, seq)` place.
    pub(crate) fn restore(&mut self, key: u128, event: E) {
        self.heap.push(Entry { key, event });
    }

    /// The time of a key.
    #[inline(always)]
    pub(crate) fn time_of(key: u128) -> Nanos {
        Nanos((key >> 64) as u64)
    }

    /// The earliest event, left in place.
    #[cfg(test)]
    pub(crate) fn peek(&self) -> Option<(Nanos, &E)> {
        let e = match (&self.side, self.heap.peek()) {
            (Some(s), Some(h)) if h.key < s.key => h,
            (Some(s), _) => s,
            (None, h) => h?,
        };
        Some((Nanos((e.key >> 64) as u64), &e.event))
    }

    /// Events queued now, live or stale.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.heap.len() + usize::from(self.side.is_some())
    }

    /// The most events ever queued at once.
    pub(crate) fn high_water(&self) -> usize {
        self.high_water
    }

    /// Keeps only the events for which `keep` is true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&E) -> bool) {
        self.heap.retain(|e| keep(&e.event));
        if self.side.as_ref().is_some_and(|e| !keep(&e.event)) {
            self.side = None;
        }
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
        let order: Vec<char> = std::iter::from_fn(|| {
            let peeked = q.peek().map(|(t, &e)| (t, e));
            let popped = q.pop();
            assert_eq!(peeked, popped, "peek shows what pop takes");
            popped.map(|(_, e)| e)
        })
        .collect();
        assert_eq!(order, vec!['b', 'd', 'a', 'c']);
        assert_eq!(q.len(), 0);
        assert_eq!(q.high_water(), 4);
    }

    #[test]
    fn the_side_event_pops_in_key_order_with_the_heap() {
        // The same pushes, one through the side place each time it is
        // free, pop in the same order as through the heap alone.
        let pushes = [
            (5, 'a'),
            (3, 'b'),
            (5, 'c'),
            (1, 'd'),
            (3, 'e'),
            (9, 'f'),
            (3, 'g'),
        ];
        let mut heap_only = EventQueue::with_capacity(8);
        let mut with_side = EventQueue::with_capacity(8);
        for (k, &(t, e)) in pushes.iter().enumerate() {
            heap_only.push(Nanos(t), e);
            if k % 3 == 1 && with_side.side.is_none() {
                with_side.push_side(Nanos(t), e);
            } else {
                with_side.push(Nanos(t), e);
            }
        }
        assert_eq!(with_side.len(), pushes.len());
        let a: Vec<(Nanos, char)> = std::iter::from_fn(|| heap_only.pop()).collect();
        let b: Vec<(Nanos, char)> = std::iter::from_fn(|| {
            let peeked = with_side.peek().map(|(t, &e)| (t, e));
            let popped = with_side.pop();
            assert_eq!(peeked, popped, "peek shows what pop takes");
            popped
        })
        .collect();
        assert_eq!(a, b);
        assert_eq!(with_side.len(), 0);
    }

    #[test]
    fn a_restored_event_pops_again_in_its_place() {
        let mut q = EventQueue::with_capacity(4);
        q.push(Nanos(10), 'a');
        q.push_side(Nanos(10), 'b');
        q.push(Nanos(10), 'c');
        let (key, e) = q.pop_keyed().unwrap();
        assert_eq!(e, 'a');
        q.restore(key, e);
        let (key, e) = q.pop_keyed().unwrap();
        assert_eq!(e, 'a');
        let (key2, e2) = q.pop_keyed().unwrap();
        assert_eq!(e2, 'b', "the side event keeps its place");
        q.restore(key2, e2);
        q.restore(key, e);
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['a', 'b', 'c']);
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
