//! Deterministic pseudo-random numbers for the tests, so a failure
//! reproduces from its seed. Knows nothing of tensors, records or files.

use std::ops::Range;

/// A xorshift64 generator (shifts 13, 7, 17).
///
/// The state never leaves zero once there, so [`Rng::new`] refuses a zero
/// seed; callers with arbitrary seeds pass `seed | 1`.
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`, which must not be zero.
    pub fn new(seed: u64) -> Rng {
        assert_ne!(seed, 0, "a xorshift generator stays at zero");
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in `0..n`; 0 when `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// True once in `n` times on average.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.next() % n == 0
    }

    /// Uniform in `0.0..1.0`.
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `n` random bytes, one draw each.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// One of `items`, which must not be empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Splits `len` items into one to three consecutive ranges, some
    /// possibly empty.
    pub fn split(&mut self, len: usize) -> Vec<Range<usize>> {
        let pieces = 1 + self.below(3);
        let mut cuts: Vec<usize> = (1..pieces).map(|_| self.below(len + 1)).collect();
        cuts.sort_unstable();
        let mut ranges = Vec::new();
        let mut start = 0;
        for cut in cuts.into_iter().chain([len]) {
            ranges.push(start..cut);
            start = cut;
        }
        ranges
    }
}

/// Deterministic pseudo-random bytes from xorshift64*, a generator of its
/// own that the tests using it were written against.
pub fn pseudo_random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}
