//! Hashing balancers: nginx `ip_hash`, a ketama-style consistent hash ring,
//! Maglev, and bounded loads.

use super::eligible::EligibleSet;
use super::{Backends, Balancer, RequestInfo, RoundRobin};
use crate::Nanos;
use rand::RngCore;

/// nginx `ip_hash` (`ngx_http_upstream_ip_hash_module.c`).
///
/// The hash starts at 89 and folds in the first three octets of the
/// client's IPv4 address as `h = (h * 113 + octet) % 6271`; the backend is
/// found by walking the weights with `h % total_weight` (over every
/// backend, eligible or not, as nginx does). An ineligible pick re-hashes,
/// continuing from the current hash, up to 20 times; then round robin.
/// Clients of one /24 network always share a backend.
///
/// With no client address the pick is round robin. Cost: O(log n) (binary
/// search over cumulative weights), times the re-hashes.
#[derive(Debug, Clone, Default)]
pub struct IpHash {
    cumulative: Vec<u64>,
    fallback: RoundRobin,
}

impl IpHash {
    /// The `ip-hash` balancer.
    pub fn new() -> IpHash {
        IpHash::default()
    }

    fn build<B: Backends + ?Sized>(&mut self, backends: &B) {
        let mut sum = 0;
        self.cumulative = (0..backends.len())
            .map(|i| {
                sum += u64::from(backends.weight(i));
                sum
            })
            .collect();
    }
}

/// nginx's `ip_hash` fold of three octets into `hash`.
pub fn ip_hash_step(mut hash: u64, ip: [u8; 4]) -> u64 {
    for b in &ip[..3] {
        hash = (hash * 113 + u64::from(*b)) % 6271;
    }
    hash
}

impl Balancer for IpHash {
    fn pick<B, R>(
        &mut self,
        now: Nanos,
        req: &RequestInfo,
        backends: &B,
        rng: &mut R,
    ) -> Option<usize>
    where
        B: Backends + ?Sized,
        R: RngCore + ?Sized,
    {
        if self.cumulative.len() != backends.len() {
            self.build(backends);
        }
        let total = *self.cumulative.last()?;
        let Some(ip) = req.client_ip else {
            return self.fallback.pick(now, req, backends, rng);
        };
        let mut hash = 89;
        for _ in 0..=20 {
            hash = ip_hash_step(hash, ip);
            let w = hash % total;
            let p = self.cumulative.partition_point(|&c| c <= w);
            if backends.is_eligible(p) {
                return Some(p);
            }
        }
        self.fallback.pick(now, req, backends, rng)
    }

    fn refresh<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        self.fallback.refresh(i, backends);
    }
}

/// A 64-bit mixer (SplitMix64's finalizer): spreads keys and ring points.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn point(backend: usize, k: u64) -> u64 {
    mix(mix(backend as u64 ^ 0x6A09_E667_F3BC_C909).wrapping_add(k))
}

/// Bounded loads (Mirrokni, Thorup, Zadimoghaddam 2016; Envoy
/// `hash_balance_factor`): a backend may hold at most
/// `ceil(factor * (active_total + 1) / eligible)` requests; a fuller one
/// passes the request on along the ring.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundedLoad {
    /// `1 + epsilon`: Envoy's `hash_balance_factor` / 100 (e.g. 1.25;
    /// bounded loads are off unless configured).
    pub factor: f64,
}

/// Which consistent hashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// A ring with 160 points per unit of weight, as ketama; lookups walk
    /// clockwise from the key's hash to the first eligible backend.
    Ring,
    /// Maglev (Eisenbud et al. 2016) with a 65,537-entry table; an
    /// ineligible entry falls through to the next entries of the table.
    Maglev,
}

/// Consistent hashing on the request's key (user, session or tenant).
///
/// Removing or losing a backend moves only the keys it held (the ring
/// exactly; Maglev nearly). With no key the pick is round robin.
///
/// A lookup probes at most [`MAX_PROBES`] ring points or table entries
/// past ineligible or full backends; when all of those are unusable (most
/// of the fleet is down or full), the key is hashed onto the backends that
/// are eligible, and when none is, the pick fails at once. So a pick costs
/// O(log n) on the ring and O(1) with Maglev, whatever the fleet's state;
/// eligibility and the load totals bounded loads need are kept by
/// [`Balancer::refresh`] in O(1). Building is O(n log n) (ring) or O(M)
/// (Maglev) and happens when the number of backends changes. The ring holds
/// 160 points per unit of weight, scaled down to at most
/// [`MAX_RING_POINTS`] in all (Envoy's `maximum_ring_size`).
#[derive(Debug, Clone)]
pub struct ConsistentHash {
    algorithm: HashAlgorithm,
    bounded: Option<BoundedLoad>,
    n: usize,
    ring: Vec<(u64, u32)>,
    table: Vec<u32>,
    eligible: EligibleSet,
    seen_active: Vec<u32>,
    active_total: u64,
    fallback: RoundRobin,
}

/// Points per unit of weight on the ring (ketama's 40 hashes x 4 points).
pub const RING_POINTS_PER_WEIGHT: u64 = 160;
/// Most points on the ring (Envoy's default `maximum_ring_size`, 8M):
/// larger weights are scaled down in proportion.
pub const MAX_RING_POINTS: u64 = 8 << 20;
/// Ring points or Maglev entries probed before a lookup falls back to
/// hashing onto the eligible backends.
pub const MAX_PROBES: usize = 64;
/// Maglev's table size (a prime, as Envoy's default).
pub const MAGLEV_TABLE_SIZE: usize = 65_537;

impl ConsistentHash {
    /// A consistent hash balancer.
    pub fn new(algorithm: HashAlgorithm, bounded: Option<BoundedLoad>) -> ConsistentHash {
        ConsistentHash {
            algorithm,
            bounded,
            n: 0,
            ring: Vec::new(),
            table: Vec::new(),
            eligible: EligibleSet::default(),
            seen_active: Vec::new(),
            active_total: 0,
            fallback: RoundRobin::new(),
        }
    }

    fn build<B: Backends + ?Sized>(&mut self, backends: &B) {
        let n = backends.len();
        self.n = n;
        self.eligible = EligibleSet::default();
        self.seen_active = vec![0; n];
        self.active_total = 0;
        for i in 0..n {
            self.track(i, backends);
        }
        match self.algorithm {
            HashAlgorithm::Ring => {
                let total: u64 = (0..n)
                    .map(|i| RING_POINTS_PER_WEIGHT * u64::from(backends.weight(i)))
                    .sum();
                let scale = if total > MAX_RING_POINTS {
                    MAX_RING_POINTS as f64 / total as f64
                } else {
                    1.0
                };
                self.ring.clear();
                for i in 0..n {
                    let want = RING_POINTS_PER_WEIGHT * u64::from(backends.weight(i));
                    let points = ((want as f64 * scale) as u64).max(1);
                    for k in 0..points {
                        self.ring.push((point(i, k), i as u32));
                    }
                }
                self.ring.sort_unstable();
            }
            HashAlgorithm::Maglev => self.table = maglev_table(n, MAGLEV_TABLE_SIZE),
        }
    }

    /// Eligibility and loads read afresh, as `build` reads them (for views that do not promise refreshes).
    fn reread<B: Backends + ?Sized>(&mut self, backends: &B) {
        self.eligible.rebuild(backends);
        self.active_total = 0;
        for i in 0..self.n {
            let a = backends.active(i);
            self.seen_active[i] = a;
            self.active_total += u64::from(a);
        }
    }

    /// Re-reads backend `i`'s eligibility and load into the kept totals.
    fn track<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        self.eligible.set(i, backends.is_eligible(i));
        let a = backends.active(i);
        self.active_total = self.active_total + u64::from(a) - u64::from(self.seen_active[i]);
        self.seen_active[i] = a;
    }

    fn acceptable<B: Backends + ?Sized>(&self, i: usize, backends: &B) -> bool {
        if !backends.is_eligible(i) {
            return false;
        }
        match self.bounded {
            None => true,
            Some(b) => f64::from(backends.active(i)) < self.cap(b),
        }
    }

    /// Bounded loads' cap on one backend's requests.
    fn cap(&self, b: BoundedLoad) -> f64 {
        (b.factor * (self.active_total + 1) as f64 / self.eligible.len().max(1) as f64).ceil()
    }

    /// The key's backend among the eligible ones when probing found none:
    /// the key's hash picks a start in the eligible set, and the first
    /// acceptable member from there is taken (the first one, without
    /// bounded loads; under bounded loads the least-loaded eligible backend
    /// is always under the cap, so one exists).
    fn fall_back<B: Backends + ?Sized>(&self, h: u64, backends: &B) -> Option<usize> {
        let len = self.eligible.len();
        if len == 0 {
            return None;
        }
        let start = (h % len as u64) as usize;
        (0..len)
            .map(|k| self.eligible.nth((start + k) % len))
            .find(|&i| self.acceptable(i, backends))
    }
}

/// Maglev's lookup table for `n` backends: each backend walks its own
/// permutation `(offset + j * skip) % m` and claims its next free entry, in
/// turn, until the table is full.
pub fn maglev_table(n: usize, m: usize) -> Vec<u32> {
    if n == 0 {
        return Vec::new();
    }
    let m64 = m as u64;
    let perm: Vec<(u64, u64)> = (0..n)
        .map(|i| {
            (
                mix(i as u64 ^ 0x243F_6A88) % m64,
                mix(i as u64 ^ 0x85A3_08D3) % (m64 - 1) + 1,
            )
        })
        .collect();
    let mut next = vec![0u64; n];
    let mut table = vec![u32::MAX; m];
    let mut filled = 0;
    'fill: loop {
        for i in 0..n {
            let (offset, skip) = perm[i];
            loop {
                let c = ((offset + next[i] * skip) % m64) as usize;
                next[i] += 1;
                if table[c] == u32::MAX {
                    table[c] = i as u32;
                    filled += 1;
                    break;
                }
            }
            if filled == m {
                break 'fill;
            }
        }
    }
    table
}

impl Balancer for ConsistentHash {
    fn pick<B, R>(
        &mut self,
        now: Nanos,
        req: &RequestInfo,
        backends: &B,
        rng: &mut R,
    ) -> Option<usize>
    where
        B: Backends + ?Sized,
        R: RngCore + ?Sized,
    {
        if self.n != backends.len() {
            self.build(backends);
        } else if !backends.refreshed() {
            self.reread(backends);
        }
        let Some(key) = req.key else {
            return self.fallback.pick(now, req, backends, rng);
        };
        if self.eligible.len() == 0 {
            return None;
        }
        let h = mix(key);
        let probed = match self.algorithm {
            HashAlgorithm::Ring => {
                let len = self.ring.len();
                let start = self.ring.partition_point(|&(p, _)| p < h);
                (0..len.min(MAX_PROBES))
                    .map(|k| self.ring[(start + k) % len].1 as usize)
                    .find(|&i| self.acceptable(i, backends))
            }
            HashAlgorithm::Maglev => {
                let m = self.table.len();
                let start = (h % m as u64) as usize;
                (0..m.min(MAX_PROBES))
                    .map(|k| self.table[(start + k) % m] as usize)
                    .find(|&i| self.acceptable(i, backends))
            }
        };
        probed.or_else(|| self.fall_back(h, backends))
    }

    fn refresh<B: Backends + ?Sized>(&mut self, i: usize, backends: &B) {
        if self.n != backends.len() {
            self.build(backends);
        } else if i < self.n {
            self.track(i, backends);
        }
        self.fallback.refresh(i, backends);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::test_support::*;

    fn with_ip(ip: [u8; 4]) -> RequestInfo {
        RequestInfo {
            client_ip: Some(ip),
            ..Default::default()
        }
    }

    #[test]
    fn ip_hash_folds_three_octets_as_nginx() {
        // 127.0.0.1: 89 -> (89*113+127)%6271 = 3913 -> 3913*113%6271 = 3199
        // -> 3199*113%6271 = 4040.
        assert_eq!(ip_hash_step(89, [127, 0, 0, 1]), 4040);
        let f = fleet(&[0, 0]);
        let mut lb = IpHash::new();
        assert_eq!(
            lb.pick(Nanos::ZERO, &with_ip([127, 0, 0, 1]), &f[..], &mut rng()),
            Some(0)
        ); // 4040 % 2
        let f3 = fleet(&[0, 0, 0]);
        let mut lb = IpHash::new();
        assert_eq!(
            lb.pick(Nanos::ZERO, &with_ip([127, 0, 0, 1]), &f3[..], &mut rng()),
            Some(2)
        ); // 4040 % 3
    }

    #[test]
    fn ip_hash_keeps_a_slash_24_together_and_rehashes_past_ineligible() {
        let mut f = fleet(&[0; 5]);
        let mut lb = IpHash::new();
        let a = lb
            .pick(Nanos::ZERO, &with_ip([10, 1, 2, 3]), &f[..], &mut rng())
            .unwrap();
        for last in [0, 77, 255] {
            assert_eq!(
                lb.pick(Nanos::ZERO, &with_ip([10, 1, 2, last]), &f[..], &mut rng()),
                Some(a)
            );
        }
        f[a].eligible = false;
        let b = lb
            .pick(Nanos::ZERO, &with_ip([10, 1, 2, 3]), &f[..], &mut rng())
            .unwrap();
        assert_ne!(a, b);
        // The re-hash continues from the current hash, as nginx.
        let h2 = ip_hash_step(ip_hash_step(89, [10, 1, 2, 3]), [10, 1, 2, 3]);
        assert_eq!(b as u64, h2 % 5);
    }

    fn key(k: u64) -> RequestInfo {
        RequestInfo {
            key: Some(k),
            ..Default::default()
        }
    }

    fn owners(lb: &mut ConsistentHash, f: &[crate::BackendState], keys: u64) -> Vec<usize> {
        (0..keys)
            .map(|k| lb.pick(Nanos::ZERO, &key(k), f, &mut rng()).unwrap())
            .collect()
    }

    #[test]
    fn losing_a_backend_moves_only_its_keys() {
        for alg in [HashAlgorithm::Ring, HashAlgorithm::Maglev] {
            let mut f = fleet(&[0; 10]);
            let mut lb = ConsistentHash::new(alg, None);
            let before = owners(&mut lb, &f, 20_000);
            f[4].eligible = false;
            let after = owners(&mut lb, &f, 20_000);
            for (b, a) in before.iter().zip(&after) {
                if *b != 4 {
                    assert_eq!(b, a, "{alg:?}: a key not on the lost backend moved");
                } else {
                    assert_ne!(*a, 4);
                }
            }
        }
    }

    #[test]
    fn keys_spread_evenly() {
        // Ring with 160 points: shares within ~15% of even; Maglev's table
        // gives every backend M/n entries to within one.
        let t = maglev_table(7, MAGLEV_TABLE_SIZE);
        let mut counts = [0usize; 7];
        t.iter().for_each(|&i| counts[i as usize] += 1);
        let even = MAGLEV_TABLE_SIZE / 7;
        assert!(counts.iter().all(|&c| c.abs_diff(even) <= 1), "{counts:?}");
        let f = fleet(&[0; 8]);
        let mut lb = ConsistentHash::new(HashAlgorithm::Ring, None);
        let mut counts = [0usize; 8];
        owners(&mut lb, &f, 80_000)
            .into_iter()
            .for_each(|i| counts[i] += 1);
        assert!(
            counts
                .iter()
                .all(|&c| (c as f64 - 10_000.0).abs() < 1_500.0),
            "{counts:?}"
        );
    }

    #[test]
    fn a_huge_weight_is_scaled_onto_a_capped_ring() {
        let mut f = fleet(&[0, 0]);
        f[0].weight = u32::MAX;
        let mut lb = ConsistentHash::new(HashAlgorithm::Ring, None);
        let owners = owners(&mut lb, &f, 2_000);
        assert!(lb.ring.len() as u64 <= MAX_RING_POINTS + 2);
        // Weight 4e9 against 1: backend 1 keeps its one point.
        assert!(owners.iter().filter(|&&o| o == 0).count() > 1_990);
    }

    #[test]
    fn a_saturated_fleet_fails_a_pick_at_once_and_a_sparse_one_falls_back() {
        for alg in [HashAlgorithm::Ring, HashAlgorithm::Maglev] {
            let mut f = fleet(&[0; 1_000]);
            let mut lb = ConsistentHash::new(alg, None);
            owners(&mut lb, &f, 1);
            for i in 0..1_000 {
                f[i].eligible = false;
                lb.refresh(i, &f[..]);
            }
            assert_eq!(lb.pick(Nanos::ZERO, &key(1), &f[..], &mut rng()), None);
            // One eligible backend of a thousand: probes miss it, the
            // fallback finds it, and the same key keeps finding it.
            f[777].eligible = true;
            lb.refresh(777, &f[..]);
            for k in 0..100 {
                assert_eq!(lb.pick(Nanos::ZERO, &key(k), &f[..], &mut rng()), Some(777));
            }
        }
    }

    #[test]
    fn bounded_load_passes_a_full_backend_on() {
        // Three backends, 8 requests in flight, factor 1.25: cap is
        // ceil(1.25 * 9 / 3) = 4. The key's owner holds 4: skip it.
        let mut lb = ConsistentHash::new(HashAlgorithm::Ring, Some(BoundedLoad { factor: 1.25 }));
        let idle = fleet(&[0, 0, 0]);
        let owner = lb
            .pick(Nanos::ZERO, &key(42), &idle[..], &mut rng())
            .unwrap();
        let mut f = fleet(&[2, 2, 2]);
        f[owner].active = 4;
        let others: u32 = f.iter().map(|b| b.active).sum::<u32>() - 4;
        assert_eq!(others + 4, 8);
        for i in 0..3 {
            lb.refresh(i, &f[..]);
        }
        let got = lb.pick(Nanos::ZERO, &key(42), &f[..], &mut rng()).unwrap();
        assert_ne!(got, owner);
    }
}
