//! A time zone as a sorted table of `(utc instant, offset)` transitions.

use super::NANOS_PER_SECOND;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UtcOffsets {
    /// UTC instants (ns) from which `offsets[i]` applies; `starts[0]` is `i64::MIN`.
    starts: Vec<i64>,
    /// Offsets from UTC in ns (local = utc + offset).
    offsets: Vec<i64>,
}

impl UtcOffsets {
    /// A fixed offset (UTC itself for 0).
    pub fn fixed(offset_seconds: i64) -> Self {
        Self {
            starts: vec![i64::MIN],
            offsets: vec![offset_seconds * NANOS_PER_SECOND],
        }
    }

    /// `initial_offset_seconds` before the first transition; `transitions` are
    /// `(utc instant in ns, offset in seconds from then on)`, sorted by instant.
    /// Returns `None` if the instants are not strictly increasing or an offset exceeds 1 day.
    pub fn new(initial_offset_seconds: i64, transitions: &[(i64, i64)]) -> Option<Self> {
        let ok_offset = |s: i64| s.abs() <= 86_400;
        if !ok_offset(initial_offset_seconds) {
            return None;
        }
        let mut table = Self::fixed(initial_offset_seconds);
        for &(at, offset) in transitions {
            if !ok_offset(offset) || at <= *table.starts.last().expect("never empty") {
                return None;
            }
            table.starts.push(at);
            table.offsets.push(offset * NANOS_PER_SECOND);
        }
        Some(table)
    }

    /// The offset in ns at a UTC instant.
    #[inline]
    pub fn offset_at(&self, utc_ns: i64) -> i64 {
        let i = self.starts.partition_point(|&s| s <= utc_ns);
        self.offsets[i - 1]
    }

    /// Local time in ns for a UTC instant.
    #[inline]
    pub fn to_local(&self, utc_ns: i64) -> i64 {
        utc_ns.saturating_add(self.offset_at(utc_ns))
    }

    pub fn transitions(&self) -> usize {
        self.starts.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_the_offset_in_force() {
        let h = 3600;
        let tz = UtcOffsets::new(-6 * h, &[(100, -5 * h), (200, -6 * h)]).unwrap();
        assert_eq!(tz.offset_at(99), -6 * h * NANOS_PER_SECOND);
        assert_eq!(tz.offset_at(100), -5 * h * NANOS_PER_SECOND);
        assert_eq!(tz.offset_at(199), -5 * h * NANOS_PER_SECOND);
        assert_eq!(tz.offset_at(i64::MAX), -6 * h * NANOS_PER_SECOND);
        assert_eq!(tz.transitions(), 2);
        assert!(UtcOffsets::new(0, &[(5, 0), (5, 0)]).is_none());
        assert!(UtcOffsets::new(90_000, &[]).is_none());
    }
}
