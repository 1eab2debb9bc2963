//! Reconnect advice: a regressive back-off with a cap (reference §9.2).
//!
//! Defaults are those of every official SDK: a connection that lived longer than the 1500 ms
//! failure window resets the count; the first 5 failures reconnect at once; then the delay
//! starts at 2 s and grows linearly in 5 steps to 120 s, where it stays. The official C++ and
//! Python SDKs never apply that cap (bug 10.1-6).

/// Back-off parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Backoff {
    /// A connection that lived at least this long resets the failure count.
    pub failed_window_ms: u64,
    /// Failures that reconnect immediately.
    pub immediate: u32,
    /// Delay after the first failure beyond the immediate ones.
    pub first_ms: u64,
    /// The cap.
    pub max_ms: u64,
    /// Steps from `first_ms` to `max_ms` (0 counts as 1; more than 65,535 as 65,535).
    pub linear_steps: u32,
}

impl Backoff {
    /// The official SDKs' defaults.
    pub const DEFAULT: Self = Self {
        failed_window_ms: 1500,
        immediate: 5,
        first_ms: 2000,
        max_ms: 120_000,
        linear_steps: 5,
    };

    /// The delay before the next attempt after `failures` consecutive failures (1-based).
    pub fn delay_ms(&self, failures: u32) -> u64 {
        if failures <= self.immediate {
            return 0;
        }
        let beyond = u64::from(failures - self.immediate - 1);
        // At most 65,535 steps (a longer ramp is not a useful setting): a 16-bit divisor keeps
        // this free of 64-bit division on 32-bit targets.
        let steps = u16::try_from(self.linear_steps).unwrap_or(u16::MAX);
        let step = crate::arith::div_rem_small(self.max_ms.saturating_sub(self.first_ms), steps).0;
        self.first_ms
            .saturating_add(beyond.saturating_mul(step))
            .min(self.max_ms)
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_sequence_is_capped() {
        let b = Backoff::DEFAULT;
        let seq: [u64; 13] = core::array::from_fn(|i| b.delay_ms(i as u32 + 1));
        assert_eq!(
            seq,
            [
                0, 0, 0, 0, 0, 2000, 25_600, 49_200, 72_800, 96_400, 120_000, 120_000, 120_000
            ]
        );
        assert_eq!(b.delay_ms(u32::MAX), 120_000);
    }
}
