//! Quest salts: unique and strictly increasing per listener, even many in one millisecond.
//!
//! Layout: `unix_ms << 20 | random14 << 6 | counter6`. Shifting by 20 (not the Go SDK's 22)
//! keeps the value positive until the year 2248 instead of overflowing in 2039 (bug 10.2-9).
//! Whatever the clock does (repeats, steps back), each salt is `max(candidate, last + 1)`, so
//! salts never repeat within a listener; that prevents the server's 200006 SAME_SIGN.

/// Generates salts.
#[derive(Debug, Clone)]
pub struct SaltGen {
    last: i64,
    rng: u64,
}

/// Largest Unix time (ms) that fits the layout.
const MAX_UNIX_MS: i64 = (1 << 43) - 1;

impl SaltGen {
    /// Not seeded yet: zero bytes, for a listener built in place (`new` seeds it before use).
    pub(crate) const UNSEEDED: Self = Self { last: 0, rng: 0 };

    /// Seeds the random bits with host entropy.
    pub const fn new(entropy: u64) -> Self {
        // xorshift must not start at zero.
        let rng = if entropy == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            entropy
        };
        Self { last: 0, rng }
    }

    fn random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    /// The next salt for a quest signed at `unix_ms`.
    pub fn next(&mut self, unix_ms: i64) -> i64 {
        let ms = unix_ms.clamp(0, MAX_UNIX_MS);
        let candidate = (ms << 20) | (((self.random() & 0x3fff) as i64) << 6);
        let salt = if candidate > self.last {
            candidate
        } else {
            self.last.saturating_add(1)
        };
        self.last = salt;
        salt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictly_increasing_within_one_millisecond_and_backwards_clock() {
        let mut g = SaltGen::new(42);
        let mut last = 0;
        for i in 0..10_000 {
            // Same millisecond, then a clock that steps back.
            let ms = if i < 5_000 {
                1_700_000_000_000
            } else {
                1_600_000_000_000
            };
            let s = g.next(ms);
            assert!(s > last, "salt {s} after {last}");
            last = s;
        }
    }

    #[test]
    fn entropy_changes_the_random_bits() {
        let a = SaltGen::new(1).next(1_700_000_000_000);
        let b = SaltGen::new(2).next(1_700_000_000_000);
        assert_ne!(a, b);
        assert_eq!(a >> 20, 1_700_000_000_000);
    }
}
