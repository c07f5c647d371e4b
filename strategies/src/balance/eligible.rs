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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

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
