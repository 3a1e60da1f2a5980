//! Exchange time and trading sessions.
//!
//! Timestamps are integer nanoseconds since the Unix epoch (UTC). Local (exchange) time comes
//! from a table of UTC-offset transitions handed in by the caller: Python builds it from
//! `zoneinfo` and the `tzdata` package (see `tsxbot.sessions`), so the Rust core carries no time
//! zone database and no tz crate, and the rules are exactly the ones the rest of tsxbot uses.

mod calendar;
mod utc_offsets;

pub use calendar::{SessionCalendar, SessionError, SessionKind, SessionSlot};
pub use utc_offsets::UtcOffsets;

pub const NANOS_PER_SECOND: i64 = 1_000_000_000;
pub const NANOS_PER_MINUTE: i64 = 60 * NANOS_PER_SECOND;
pub const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SECOND;

/// ISO weekday (1 = Monday .. 7 = Sunday) of a day counted from 1970-01-01 (a Thursday).
#[inline]
pub fn iso_weekday(day: i64) -> u32 {
    ((day + 3).rem_euclid(7) + 1) as u32
}
