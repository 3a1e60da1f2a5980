//! Volume by price level (one level per tick) for a session or a rolling time window.
//!
//! Documented rules:
//! - a print's price is put on the nearest tick;
//! - **point of control (POC)**: the level with the most volume; ties go to the lower price;
//! - **value area**: start at the POC and add one level at a time, the neighbour (just above or
//!   just below the area) with more volume; when both have the same volume add both; stop once
//!   the area holds `value_area_fraction` (default 0.7) of the total volume;
//! - **high-volume nodes (HVN)**: levels with volume >= `hvn_ratio` (default 1.5) x the mean
//!   volume per level over the profile's range (lowest to highest traded level, empty levels
//!   included); **low-volume nodes (LVN)**: levels strictly inside the range with volume <=
//!   `lvn_ratio` (default 0.5) x that mean (the two edge levels are always thin and are left out).
//!
//! Levels are held densely (a vector indexed by tick), so an update is O(1); the queries above
//! are O(levels).
//!
//! **Rolling window** (`window_ns`): the profile holds the prints whose timestamp is within
//! `window_ns` of the newest timestamp seen so far in the session (`ts > newest - window_ns`),
//! each counted by its own timestamp. A late print (older than the newest) is kept in
//! timestamp order and leaves when its own time leaves the window; one already out of the
//! window when it arrives is ignored. A print never moves the window back: the newest
//! timestamp only grows (zero-size prints move it too). `reset()` and a new session forget it.

use std::collections::VecDeque;

use super::print::Print;
use super::session_anchor::{Anchored, SessionAnchor};
use super::{Indicator, IndicatorError};
use crate::ticks::{Rounding, TickSize};

/// The most price levels one profile spans.
pub const MAX_LEVELS: usize = 4_000_000;
/// Volume left on a level after a windowed removal that counts as none (float residue).
const EMPTY: f64 = 1e-9;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProfileParams {
    pub value_area_fraction: f64,
    pub hvn_ratio: f64,
    pub lvn_ratio: f64,
    /// Rolling window in ns; `None` keeps everything since the session began.
    pub window_ns: Option<i64>,
}

impl Default for ProfileParams {
    fn default() -> Self {
        Self {
            value_area_fraction: 0.7,
            hvn_ratio: 1.5,
            lvn_ratio: 0.5,
            window_ns: None,
        }
    }
}

/// Prices of the levels a rule selects, lowest first.
pub type ProfileLevels = Vec<f64>;

#[derive(Debug, Clone)]
pub struct VolumeProfile {
    tick: TickSize,
    params: ProfileParams,
    anchor: SessionAnchor,
    /// Tick of `levels[0]`.
    base: i64,
    levels: Vec<f64>,
    total: f64,
    poc: Option<usize>,
    /// Windowed prints `(ts, tick, size)` in timestamp order (equal timestamps: arrival order).
    history: VecDeque<(i64, i64, f64)>,
    /// The newest print timestamp seen in the session (`i64::MIN`: none).
    newest: i64,
}

impl VolumeProfile {
    pub fn new(
        tick: TickSize,
        params: ProfileParams,
        anchor: SessionAnchor,
    ) -> Result<Self, IndicatorError> {
        if !(params.value_area_fraction > 0.0 && params.value_area_fraction <= 1.0) {
            return Err(IndicatorError::InvalidParameter(
                "value_area_fraction must be in (0, 1]",
            ));
        }
        if !(params.hvn_ratio.is_finite() && params.hvn_ratio > 0.0) {
            return Err(IndicatorError::InvalidParameter("hvn_ratio must be > 0"));
        }
        if !(params.lvn_ratio.is_finite() && params.lvn_ratio >= 0.0) {
            return Err(IndicatorError::InvalidParameter("lvn_ratio must be >= 0"));
        }
        if params.window_ns.is_some_and(|w| w <= 0) {
            return Err(IndicatorError::InvalidParameter("window must be > 0"));
        }
        Ok(Self {
            tick,
            params,
            anchor,
            base: 0,
            levels: Vec::new(),
            total: 0.0,
            poc: None,
            history: VecDeque::new(),
            newest: i64::MIN,
        })
    }

    pub fn params(&self) -> ProfileParams {
        self.params
    }

    pub fn total_volume(&self) -> f64 {
        self.total
    }

    pub fn trading_date(&self) -> Option<i64> {
        self.anchor.trading_date()
    }

    fn price(&self, index: usize) -> f64 {
        // In range by construction: |base + index| <= 1e12 ticks.
        self.tick
            .to_price(self.base + index as i64)
            .unwrap_or(f64::NAN)
    }

    /// Index of `tick` in `levels`, growing the vector as needed.
    fn slot(&mut self, tick: i64) -> Result<usize, IndicatorError> {
        if self.levels.is_empty() {
            self.base = tick;
            self.levels.push(0.0);
            return Ok(0);
        }
        let top = self.base + self.levels.len() as i64 - 1;
        if tick < self.base {
            let grow = (self.base - tick) as usize;
            if self.levels.len() + grow > MAX_LEVELS {
                return Err(IndicatorError::ProfileTooWide);
            }
            self.levels.splice(0..0, std::iter::repeat_n(0.0, grow));
            self.base = tick;
            self.poc = self.poc.map(|p| p + grow);
            Ok(0)
        } else if tick > top {
            let grow = (tick - top) as usize;
            if self.levels.len() + grow > MAX_LEVELS {
                return Err(IndicatorError::ProfileTooWide);
            }
            self.levels.resize(self.levels.len() + grow, 0.0);
            Ok(self.levels.len() - 1)
        } else {
            Ok((tick - self.base) as usize)
        }
    }

    #[inline]
    fn better_poc(&self, candidate: usize, than: usize) -> bool {
        let (a, b) = (self.levels[candidate], self.levels[than]);
        a > b || (a == b && candidate < than)
    }

    fn rescan_poc(&mut self) {
        self.poc = None;
        for i in 0..self.levels.len() {
            if self.levels[i] > 0.0 && self.poc.is_none_or(|p| self.better_poc(i, p)) {
                self.poc = Some(i);
            }
        }
    }

    /// Takes out the prints at or before `cutoff` (the oldest first: `history` is in timestamp
    /// order).
    fn expire(&mut self, cutoff: i64) {
        let mut poc_hit = false;
        while let Some(&(ts, tick, size)) = self.history.front() {
            if ts > cutoff {
                break;
            }
            self.history.pop_front();
            let i = (tick - self.base) as usize;
            let left = self.levels[i] - size;
            self.levels[i] = if left < EMPTY { 0.0 } else { left };
            self.total -= size;
            poc_hit |= self.poc == Some(i);
        }
        if self.history.is_empty() {
            self.clear();
        } else if poc_hit {
            self.rescan_poc();
        }
    }

    /// Empties the profile (the newest timestamp stays: see `update`).
    fn clear(&mut self) {
        self.levels.clear();
        self.total = 0.0;
        self.poc = None;
        self.history.clear();
    }

    /// First and last level with volume.
    fn range(&self) -> Option<(usize, usize)> {
        let first = self.levels.iter().position(|&v| v > 0.0)?;
        let last = self.levels.iter().rposition(|&v| v > 0.0)?;
        Some((first, last))
    }

    /// Point of control price (NaN when empty).
    pub fn poc(&self) -> f64 {
        self.poc.map_or(f64::NAN, |i| self.price(i))
    }

    /// `(low, high)` prices of the value area (NaN when empty).
    pub fn value_area(&self) -> (f64, f64) {
        let (Some(poc), Some((first, last))) = (self.poc, self.range()) else {
            return (f64::NAN, f64::NAN);
        };
        let target = self.params.value_area_fraction * self.total;
        let (mut lo, mut hi) = (poc, poc);
        let mut area = self.levels[poc];
        while area < target && (lo > first || hi < last) {
            let up = (hi < last).then(|| self.levels[hi + 1]);
            let down = (lo > first).then(|| self.levels[lo - 1]);
            match (up, down) {
                (Some(u), Some(d)) if u == d => {
                    hi += 1;
                    lo -= 1;
                    area += u + d;
                }
                (Some(u), Some(d)) if u > d => {
                    hi += 1;
                    area += u;
                }
                (Some(u), None) => {
                    hi += 1;
                    area += u;
                }
                (_, Some(d)) => {
                    lo -= 1;
                    area += d;
                }
                (None, None) => break,
            }
        }
        (self.price(lo), self.price(hi))
    }

    fn mean_level_volume(&self) -> Option<(usize, usize, f64)> {
        let (first, last) = self.range()?;
        Some((first, last, self.total / (last - first + 1) as f64))
    }

    /// High-volume node prices (see the module's rule).
    pub fn hvn(&self) -> ProfileLevels {
        let Some((first, last, mean)) = self.mean_level_volume() else {
            return Vec::new();
        };
        (first..=last)
            .filter(|&i| self.levels[i] >= self.params.hvn_ratio * mean)
            .map(|i| self.price(i))
            .collect()
    }

    /// Low-volume node prices (see the module's rule).
    pub fn lvn(&self) -> ProfileLevels {
        let Some((first, last, mean)) = self.mean_level_volume() else {
            return Vec::new();
        };
        (first + 1..last)
            .filter(|&i| self.levels[i] <= self.params.lvn_ratio * mean)
            .map(|i| self.price(i))
            .collect()
    }

    /// Every level from the lowest to the highest traded one: `(prices, volumes)`.
    pub fn levels(&self) -> (Vec<f64>, Vec<f64>) {
        let Some((first, last)) = self.range() else {
            return (Vec::new(), Vec::new());
        };
        (
            (first..=last).map(|i| self.price(i)).collect(),
            self.levels[first..=last].to_vec(),
        )
    }

    /// Volume at the level of `price` (rounded to the nearest tick).
    pub fn volume_at(&self, price: f64) -> Result<f64, IndicatorError> {
        let tick = self
            .tick
            .to_ticks(super::finite(price, "price")?, Rounding::Nearest)
            .map_err(|_| IndicatorError::NonFinite("price"))?;
        let i = tick - self.base;
        Ok(if i >= 0 && (i as usize) < self.levels.len() {
            self.levels[i as usize]
        } else {
            0.0
        })
    }
}

impl Indicator for VolumeProfile {
    type Input = Print;

    #[inline]
    fn update(&mut self, print: Print) -> Result<f64, IndicatorError> {
        let print = print.checked()?;
        match self.anchor.place(print.ts) {
            Anchored::Outside => return Ok(self.poc()),
            Anchored::NewSession => {
                self.clear();
                self.newest = i64::MIN;
            }
            Anchored::Same => {}
        }
        if let Some(window) = self.params.window_ns {
            self.newest = self.newest.max(print.ts);
            let cutoff = self.newest.saturating_sub(window);
            self.expire(cutoff);
            if print.ts <= cutoff {
                return Ok(self.poc()); // already out of the window
            }
        }
        if print.size == 0.0 {
            return Ok(self.poc());
        }
        let tick = self
            .tick
            .to_ticks(print.price, Rounding::Nearest)
            .map_err(|_| IndicatorError::ProfileTooWide)?;
        let i = self.slot(tick)?;
        self.levels[i] += print.size;
        self.total += print.size;
        if self.params.window_ns.is_some() {
            let entry = (print.ts, tick, print.size);
            if self.history.back().is_none_or(|&(ts, _, _)| ts <= print.ts) {
                self.history.push_back(entry);
            } else {
                // A late print: after every print with the same or an earlier timestamp.
                let at = self.history.partition_point(|&(ts, _, _)| ts <= print.ts);
                self.history.insert(at, entry);
            }
        }
        if self.poc.is_none_or(|p| self.better_poc(i, p)) {
            self.poc = Some(i);
        }
        Ok(self.price(self.poc.expect("just set")))
    }

    fn value(&self) -> f64 {
        self.poc()
    }

    fn initialized(&self) -> bool {
        self.total > 0.0
    }

    fn reset(&mut self) {
        self.clear();
        self.newest = i64::MIN;
        self.anchor.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::print::Aggressor;

    fn profile(window_ns: Option<i64>) -> VolumeProfile {
        let params = ProfileParams {
            window_ns,
            ..ProfileParams::default()
        };
        VolumeProfile::new(
            TickSize::new(0.25).unwrap(),
            params,
            SessionAnchor::new(None),
        )
        .unwrap()
    }

    fn add(p: &mut VolumeProfile, ts: i64, price: f64, size: f64) -> f64 {
        p.update(Print {
            ts,
            price,
            size,
            aggressor: Aggressor::Buy,
        })
        .unwrap()
    }

    #[test]
    fn poc_value_area_and_nodes() {
        let mut p = profile(None);
        for (price, size) in [
            (100.0, 10.0),
            (100.25, 30.0),
            (100.5, 20.0),
            (100.75, 2.0),
            (101.0, 8.0),
        ] {
            add(&mut p, 0, price, size);
        }
        assert_eq!(p.poc(), 100.25);
        // total 70, target 49: 30 (100.25) + 20 (100.5 > 10) = 50.
        assert_eq!(p.value_area(), (100.25, 100.5));
        // mean 14: HVN >= 21, LVN (inside) <= 7.
        assert_eq!(p.hvn(), vec![100.25]);
        assert_eq!(p.lvn(), vec![100.75]);
        assert_eq!(p.volume_at(100.26).unwrap(), 30.0);
        assert_eq!(p.levels().1, vec![10.0, 30.0, 20.0, 2.0, 8.0]);
    }

    #[test]
    fn ties_go_to_the_lower_price_and_growth_keeps_the_poc() {
        let mut p = profile(None);
        assert_eq!(add(&mut p, 0, 101.0, 5.0), 101.0);
        assert_eq!(add(&mut p, 0, 99.0, 5.0), 99.0);
        assert_eq!(add(&mut p, 0, 105.0, 4.0), 99.0);
        assert_eq!(p.levels().0.len(), 25);
    }

    #[test]
    fn a_window_forgets_old_prints() {
        let mut p = profile(Some(10));
        add(&mut p, 0, 100.0, 50.0);
        add(&mut p, 5, 101.0, 1.0);
        assert_eq!(p.poc(), 100.0);
        // At ts 10 the print at ts 0 is out of the window.
        assert_eq!(add(&mut p, 10, 102.0, 2.0), 102.0);
        assert_eq!(p.total_volume(), 3.0);
        assert_eq!(p.levels().1.first(), Some(&1.0));
    }

    #[test]
    fn a_late_print_leaves_the_window_by_its_own_time() {
        let mut p = profile(Some(100));
        add(&mut p, 100, 100.0, 1.0);
        add(&mut p, 50, 101.0, 5.0); // late, still inside (50 > 100 - 100)
        assert_eq!((p.poc(), p.total_volume()), (101.0, 6.0));
        // At 151 the late print (50) is out, the one at 100 is not.
        add(&mut p, 151, 102.0, 2.0);
        assert_eq!(p.volume_at(101.0).unwrap(), 0.0);
        assert_eq!((p.poc(), p.total_volume()), (102.0, 3.0));
        // A print already out of the window is ignored, and never moves the window back.
        add(&mut p, 40, 103.0, 9.0);
        assert_eq!((p.poc(), p.total_volume()), (102.0, 3.0));
        add(&mut p, 120, 100.0, 1.0); // late, inside: expires at 220, after the one at 151
        add(&mut p, 201, 104.0, 0.5); // takes out the print at 100 (not the one at 120)
        let at = |p: &VolumeProfile, price: f64| p.volume_at(price).unwrap();
        assert_eq!(
            (at(&p, 100.0), at(&p, 102.0), at(&p, 104.0)),
            (1.0, 2.0, 0.5)
        );
        add(&mut p, 220, 104.0, 0.5); // takes out 120
        assert_eq!(
            (at(&p, 100.0), at(&p, 102.0), at(&p, 104.0)),
            (0.0, 2.0, 1.0)
        );
        assert_eq!(p.total_volume(), 3.0);
        p.reset();
        add(&mut p, 0, 100.0, 1.0); // after a reset the clock starts again
        assert_eq!(p.total_volume(), 1.0);
    }
}
