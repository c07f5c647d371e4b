//! The set of eligible backends, with O(1) insert, remove and uniform
//! sampling, kept current through [`Balancer::refresh`](super::Balancer::refresh).

use rand::{Rng, RngCore};

const ABSENT: u32 = u32::MAX;

/// Dense array of members plus each backend's position in it.
#[derive(Debug, Clone, Default)]
pub(crate) struct EligibleSet {
    members: Vec<u32>,
    pos: Vec<u32>,
}

impl EligibleSet {
    pub(crate) fn set(&mut self, i: usize, eligible: bool) {
        if self.pos.len() <= i {
            self.pos.resize(i + 1, ABSENT);
        }
        let present = self.pos[i] != ABSENT;
        if eligible && !present {
            self.pos[i] = self.members.len() as u32;
            self.members.push(i as u32);
        } else if !eligible && present {
            let at = self.pos[i] as usize;
            let last = *self.members.last().expect("present implies non-empty");
            self.members.swap_remove(at);
            if last as usize != i {
                self.pos[last as usize] = at as u32;
            }
            self.pos[i] = ABSENT;
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.members.len()
    }

    /// Forgets everything and reads every backend's eligibility afresh, in
    /// index order: the set a new balancer would build. For views that do
    /// not promise [`Backends::refreshed`](super::Backends::refreshed).
    pub(crate) fn rebuild<B: super::Backends + ?Sized>(&mut self, backends: &B) {
        let n = backends.len();
        self.members.clear();
        self.pos.clear();
        self.pos.resize(n, ABSENT);
        for i in 0..n {
            if backends.is_eligible(i) {
                self.pos[i] = self.members.len() as u32;
                self.members.push(i as u32);
            }
        }
    }

    /// The `k`-th member (`k < len()`), in the set's internal order.
    pub(crate) fn nth(&self, k: usize) -> usize {
        self.members[k] as usize
    }

    pub(crate) fn sample<R: RngCore + ?Sized>(&self, rng: &mut R) -> Option<usize> {
        if self.members.is_empty() {
            return None;
        }
        Some(self.members[rng.random_range(0..self.members.len())] as usize)
    }

    /// Two distinct members (tower's p2c), or the one member there is.
    pub(crate) fn sample_distinct_pair<R: RngCore + ?Sized>(
        &self,
        rng: &mut R,
    ) -> Option<(usize, usize)> {
        let n = self.members.len();
        match n {
            0 => None,
            1 => Some((self.members[0] as usize, self.members[0] as usize)),
            _ => {
                let a = rng.random_range(0..n);
                let mut b = rng.random_range(0..n - 1);
                if b >= a {
                    b += 1;
                }
                Some((self.members[a] as usize, self.members[b] as usize))
            }
        }
    }
}

/// Eligibility as a two-level bitset: "the next eligible backend at or
/// after `i`" in O(n / 4096) word reads, a handful for 10,000 backends, so
/// round robin and `first` stay cheap when most backends are absent (an
/// autoscaled fleet far below its maximum).
#[derive(Debug, Clone, Default)]
pub(crate) struct EligibleBits {
    words: Vec<u64>,
    /// Bit `w` set when `words[w]` is not zero.
    summary: Vec<u64>,
}

impl EligibleBits {
    /// `n` backends, none eligible.
    pub(crate) fn with_len(n: usize) -> EligibleBits {
        let words = n.div_ceil(64);
        EligibleBits {
            words: vec![0; words],
            summary: vec![0; words.div_ceil(64)],
        }
    }

    pub(crate) fn set(&mut self, i: usize, on: bool) {
        let (w, b) = (i / 64, i % 64);
        let Some(word) = self.words.get_mut(w) else {
            return;
        };
        if on {
            *word |= 1 << b;
        } else {
            *word &= !(1 << b);
        }
        let (sw, sb) = (w / 64, w % 64);
        if *word != 0 {
            self.summary[sw] |= 1 << sb;
        } else {
            self.summary[sw] &= !(1 << sb);
        }
    }

    /// The first set bit at or after `i`, if any.
    pub(crate) fn next_from(&self, i: usize) -> Option<usize> {
        let w = i / 64;
        let word = *self.words.get(w)?;
        let masked = word & (!0u64 << (i % 64));
        if masked != 0 {
            return Some(w * 64 + masked.trailing_zeros() as usize);
        }
        // The next non-empty word, through the summary.
        let next = w + 1;
        // `mask`: the summary bits below `next` in its summary word.
        let (mut sw, mut mask) = (next / 64, (1u64 << (next % 64)) - 1);
        while let Some(&s) = self.summary.get(sw) {
            let hit = s & !mask;
            if hit != 0 {
                let word = sw * 64 + hit.trailing_zeros() as usize;
                return Some(word * 64 + self.words[word].trailing_zeros() as usize);
            }
            sw += 1;
            mask = 0;
        }
        None
    }

    /// The first set bit at or after `i`, wrapping around to the start.
    pub(crate) fn next_wrapping(&self, i: usize) -> Option<usize> {
        self.next_from(i).or_else(|| self.next_from(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn bits_find_the_next_set_bit_across_words() {
        let mut b = EligibleBits::with_len(10_000);
        assert_eq!(b.next_wrapping(0), None);
        for i in [3, 64, 4_095, 4_096, 9_999] {
            b.set(i, true);
        }
        assert_eq!(b.next_from(0), Some(3));
        assert_eq!(b.next_from(4), Some(64));
        assert_eq!(b.next_from(65), Some(4_095));
        assert_eq!(b.next_from(4_096), Some(4_096));
        assert_eq!(b.next_from(4_097), Some(9_999));
        assert_eq!(b.next_from(10_000), None);
        assert_eq!(b.next_wrapping(9_999), Some(9_999));
        b.set(9_999, false);
        assert_eq!(b.next_wrapping(4_097), Some(3));
        b.set(64, false);
        assert_eq!(b.next_from(4), Some(4_095));
    }

    #[test]
    fn tracks_membership_through_inserts_and_removes() {
        let mut s = EligibleSet::default();
        for i in 0..5 {
            s.set(i, true);
        }
        s.set(1, false);
        s.set(4, false);
        s.set(1, false);
        s.set(2, true);
        assert_eq!(s.len(), 3);
        let mut r = rand_pcg::Pcg64Mcg::seed_from_u64(1);
        for _ in 0..200 {
            let x = s.sample(&mut r).unwrap();
            assert!([0, 2, 3].contains(&x));
            let (a, b) = s.sample_distinct_pair(&mut r).unwrap();
            assert_ne!(a, b);
        }
    }
}
