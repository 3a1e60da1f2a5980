//! A token bucket in exact integer arithmetic: `capacity` orders per minute, refilled
//! continuously, starting full. One token is `NANOS_PER_MINUTE` units and each nanosecond adds
//! `capacity` units, so there is no float rounding. Time going backwards refills nothing.
//! Rates above `MAX_PER_MINUTE` are held at it (the level must fit an `i64`).

use crate::sessions::NANOS_PER_MINUTE;

/// The highest rate a bucket holds: 100 million orders a minute is "unlimited" in practice.
pub const MAX_PER_MINUTE: u32 = 100_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBucket {
    capacity: i64,
    level: i64,
    last: Option<i64>,
}

impl TokenBucket {
    /// `per_minute` >= 1.
    pub fn per_minute(per_minute: u32) -> Self {
        let capacity = i64::from(per_minute.clamp(1, MAX_PER_MINUTE));
        Self {
            capacity,
            level: capacity * NANOS_PER_MINUTE,
            last: None,
        }
    }

    pub fn capacity(&self) -> i64 {
        self.capacity
    }

    fn refilled(&self, now: i64) -> i64 {
        let full = self.capacity * NANOS_PER_MINUTE;
        match self.last {
            Some(last) if now > last => {
                let add = (now - last).saturating_mul(self.capacity);
                self.level.saturating_add(add).min(full)
            }
            _ => self.level,
        }
    }

    /// Whether a token is available at `now` (changes nothing).
    #[inline]
    pub fn available(&self, now: i64) -> bool {
        self.refilled(now) >= NANOS_PER_MINUTE
    }

    /// Whole tokens available at `now`.
    pub fn tokens(&self, now: i64) -> i64 {
        self.refilled(now) / NANOS_PER_MINUTE
    }

    /// Takes one token; returns false (and takes nothing) if none is available.
    #[inline]
    pub fn take(&mut self, now: i64) -> bool {
        let level = self.refilled(now);
        if self.last.is_none_or(|last| now > last) {
            self.last = Some(now);
        }
        self.level = level;
        if level >= NANOS_PER_MINUTE {
            self.level -= NANOS_PER_MINUTE;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_refills_at_the_rate() {
        let mut b = TokenBucket::per_minute(3);
        assert!(b.take(0) && b.take(0) && b.take(0));
        assert!(!b.available(0) && !b.take(0));
        // One token every 20 s.
        assert!(!b.available(20 * 1_000_000_000 - 1));
        assert!(b.take(20 * 1_000_000_000));
        assert_eq!(b.tokens(10 * NANOS_PER_MINUTE), 3);
        // Time going backwards refills nothing.
        assert_eq!(b.tokens(0), 0);
    }

    #[test]
    fn huge_rates_are_held_at_the_maximum() {
        let mut b = TokenBucket::per_minute(u32::MAX);
        assert_eq!(b.capacity(), i64::from(MAX_PER_MINUTE));
        assert!(b.take(0) && b.take(i64::MAX));
        assert_eq!(b.tokens(i64::MAX), i64::from(MAX_PER_MINUTE) - 1);
    }
}
