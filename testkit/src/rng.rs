//! [`SimRng`]: the simulation's only source of randomness, reproducible from
//! one `u64` seed.
//!
//! It is xoshiro256** seeded through splitmix64, written out here (a dozen
//! lines) so that a seed keeps meaning the same run whatever version of a
//! random-number crate the workspace resolves.

use std::time::Duration;

/// A small, fast, deterministic pseudo-random generator (xoshiro256**).
///
/// Not for cryptography: it only has to make simulated faults reproducible.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimRng {
    s: [u64; 4],
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl SimRng {
    /// The generator for `seed`; equal seeds give equal sequences.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        let mut state = seed;
        let s = [
            splitmix64(&mut state),
            splitmix64(&mut state),
            splitmix64(&mut state),
            splitmix64(&mut state),
        ];
        SimRng { s }
    }

    /// An independent generator for one part of the simulation, derived
    /// from `seed` and a `stream` number, so that drawing more numbers in one
    /// part does not shift the numbers of another.
    #[must_use]
    pub fn stream(seed: u64, stream: u64) -> Self {
        SimRng::new(seed ^ stream.wrapping_mul(0xd1b5_4a32_d192_ed03))
    }

    /// A generator keyed by `seed` and `keys` (a stream, an instant, a
    /// counter): the simulation draws each decision from the key of the
    /// event it concerns, so that removing an unrelated event (as proptest
    /// does when it shrinks a scenario) does not change the others.
    #[must_use]
    pub fn keyed(seed: u64, keys: &[u64]) -> Self {
        let mut h = seed;
        for k in keys {
            let mut state = h ^ k.wrapping_mul(0xd1b5_4a32_d192_ed03);
            h = splitmix64(&mut state);
        }
        SimRng::new(h)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A number in `0..n`, uniformly (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Lemire's multiply-shift with rejection: exactly uniform.
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// A number in `lo..=hi`, uniformly (`lo` when `hi <= lo`).
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.below(span),
            None => self.next_u64(),
        }
    }

    /// True with probability `per_mille / 1000` (always for 1000 and above).
    pub fn chance(&mut self, per_mille: u16) -> bool {
        per_mille > 0 && self.below(1000) < u64::from(per_mille)
    }

    /// A duration of whole milliseconds in `range_ms[0]..=range_ms[1]`.
    pub fn millis(&mut self, range_ms: [u64; 2]) -> Duration {
        Duration::from_millis(self.between(range_ms[0], range_ms[1]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers_and_streams_differ() {
        let a: Vec<u64> = (0..8)
            .map({
                let mut r = SimRng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..8)
            .map({
                let mut r = SimRng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(SimRng::stream(7, 1), SimRng::stream(7, 2));
    }

    #[test]
    fn ranges_are_respected_and_covered() {
        let mut r = SimRng::new(1);
        let mut seen = [false; 5];
        for _ in 0..1000 {
            let v = r.between(3, 7);
            assert!((3..=7).contains(&v));
            seen[(v - 3) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(r.between(5, 5), 5);
        assert_eq!(r.below(0), 0);
        assert!(!r.chance(0));
        assert!(r.chance(1000));
        let hits = (0..10_000).filter(|_| r.chance(250)).count();
        assert!((2_200..2_800).contains(&hits), "{hits}");
    }
}
