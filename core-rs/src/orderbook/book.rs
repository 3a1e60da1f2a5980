//! The book: price levels in integer ticks per side, with the time of their last update.
//!
//! Documented behaviour for imperfect feeds (never a panic, every row gets an outcome):
//! - **Reset** (6) clears both sides; rows stamped before the last reset are `Stale`.
//! - **Ask / Bid** (1 / 2) set a level's volume; volume 0 removes it.
//! - **BestAsk / NewBestAsk** (3 / 10) and **BestBid / NewBestBid** (4 / 9) do the same and also
//!   remove levels on that side better than the new best (they are stale by definition).
//! - **Out of order**: a row older than the last update (or removal) of its level is `Stale` and
//!   changes nothing.
//! - **Crossed**: a bid at or above the best ask (or an ask at or below the best bid) means one
//!   side is stale. The newer information wins: opposite levels at or through the new price that
//!   are no newer than the row are removed (`Applied`, counted in `uncrossed_levels`); if any of
//!   them is newer than the row, the row is the stale one (`Stale`). So bids stay strictly below
//!   asks after every row.
//! - **Trade / Fill** (5 / 11) record the last print; **Low / High** (7 / 8) the session
//!   extremes; neither changes the book. **Unknown** (0) rows are `Ignored`.
//! - A non-finite, non-positive or off-tick price, or a negative volume, is `Invalid`.

use std::collections::{BTreeMap, HashMap};

use super::DomType;
use crate::ticks::{Rounding, TickSize};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DepthRow {
    /// UTC ns.
    pub ts: i64,
    pub dom_type: DomType,
    pub price: f64,
    pub volume: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepthOutcome {
    Applied,
    Stale,
    Ignored,
    Invalid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    pub volume: i64,
    pub ts: i64,
}

#[derive(Debug, Clone, Default)]
struct Side {
    levels: BTreeMap<i64, Level>,
    /// Price -> time of the level's last removal.
    removed: HashMap<i64, i64>,
}

impl Side {
    fn last_change(&self, tick: i64) -> Option<i64> {
        let live = self.levels.get(&tick).map(|l| l.ts);
        let gone = self.removed.get(&tick).copied();
        live.max(gone)
    }

    fn remove(&mut self, tick: i64, ts: i64) {
        self.levels.remove(&tick);
        let t = self.removed.entry(tick).or_insert(ts);
        *t = (*t).max(ts);
    }

    fn clear(&mut self) {
        self.levels.clear();
        self.removed.clear();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BookSide {
    Bid,
    Ask,
}

#[derive(Debug, Clone)]
pub struct OrderBook {
    tick: TickSize,
    bids: Side,
    asks: Side,
    reset_ts: i64,
    last_trade: Option<(f64, i64, i64)>,
    session_low: Option<f64>,
    session_high: Option<f64>,
    pub applied: u64,
    pub stale: u64,
    pub ignored: u64,
    pub invalid: u64,
    pub uncrossed_levels: u64,
}

impl OrderBook {
    pub fn new(tick: TickSize) -> Self {
        Self {
            tick,
            bids: Side::default(),
            asks: Side::default(),
            reset_ts: i64::MIN,
            last_trade: None,
            session_low: None,
            session_high: None,
            applied: 0,
            stale: 0,
            ignored: 0,
            invalid: 0,
            uncrossed_levels: 0,
        }
    }

    pub fn tick(&self) -> TickSize {
        self.tick
    }

    fn price(&self, tick: i64) -> f64 {
        self.tick.to_price(tick).unwrap_or(f64::NAN)
    }

    /// Applies one depth row (see the module's rules).
    pub fn apply(&mut self, row: DepthRow) -> DepthOutcome {
        let outcome = self.apply_inner(row);
        match outcome {
            DepthOutcome::Applied => self.applied += 1,
            DepthOutcome::Stale => self.stale += 1,
            DepthOutcome::Ignored => self.ignored += 1,
            DepthOutcome::Invalid => self.invalid += 1,
        }
        outcome
    }

    fn apply_inner(&mut self, row: DepthRow) -> DepthOutcome {
        if row.dom_type == DomType::Unknown {
            return DepthOutcome::Ignored;
        }
        if row.ts < self.reset_ts {
            return DepthOutcome::Stale;
        }
        if row.dom_type == DomType::Reset {
            self.clear();
            self.reset_ts = row.ts;
            return DepthOutcome::Applied;
        }
        if !(row.price.is_finite() && row.price > 0.0) || row.volume < 0 {
            return DepthOutcome::Invalid;
        }
        let tick = match self.tick.is_on_tick(row.price) {
            Ok(true) => self
                .tick
                .to_ticks(row.price, Rounding::Nearest)
                .expect("checked"),
            _ => return DepthOutcome::Invalid,
        };
        match row.dom_type {
            DomType::Trade | DomType::Fill => {
                self.last_trade = Some((row.price, row.volume, row.ts));
                DepthOutcome::Applied
            }
            DomType::Low => {
                self.session_low = Some(row.price);
                DepthOutcome::Applied
            }
            DomType::High => {
                self.session_high = Some(row.price);
                DepthOutcome::Applied
            }
            DomType::Bid => self.set_level(BookSide::Bid, tick, row, false),
            DomType::Ask => self.set_level(BookSide::Ask, tick, row, false),
            DomType::BestBid | DomType::NewBestBid => {
                self.set_level(BookSide::Bid, tick, row, true)
            }
            DomType::BestAsk | DomType::NewBestAsk => {
                self.set_level(BookSide::Ask, tick, row, true)
            }
            DomType::Unknown | DomType::Reset => unreachable!("handled above"),
        }
    }

    fn set_level(
        &mut self,
        side: BookSide,
        tick: i64,
        row: DepthRow,
        is_best: bool,
    ) -> DepthOutcome {
        let (own, other) = match side {
            BookSide::Bid => (&mut self.bids, &mut self.asks),
            BookSide::Ask => (&mut self.asks, &mut self.bids),
        };
        if own.last_change(tick).is_some_and(|t| t > row.ts) {
            return DepthOutcome::Stale;
        }
        // Opposite levels at or through this price (for a level with volume) or, for a best
        // row, own levels better than it.
        let crossing: Vec<(i64, Level)> = if row.volume > 0 {
            match side {
                BookSide::Bid => other.levels.range(..=tick).map(|(k, v)| (*k, *v)).collect(),
                BookSide::Ask => other.levels.range(tick..).map(|(k, v)| (*k, *v)).collect(),
            }
        } else {
            Vec::new()
        };
        let better: Vec<(i64, Level)> = if is_best {
            match side {
                BookSide::Bid => own
                    .levels
                    .range(tick + 1..)
                    .map(|(k, v)| (*k, *v))
                    .collect(),
                BookSide::Ask => own.levels.range(..tick).map(|(k, v)| (*k, *v)).collect(),
            }
        } else {
            Vec::new()
        };
        if crossing.iter().chain(&better).any(|(_, l)| l.ts > row.ts) {
            return DepthOutcome::Stale;
        }
        for (k, _) in &crossing {
            other.remove(*k, row.ts);
        }
        for (k, _) in &better {
            own.remove(*k, row.ts);
        }
        self.uncrossed_levels += crossing.len() as u64;
        if row.volume == 0 {
            own.remove(tick, row.ts);
        } else {
            own.levels.insert(
                tick,
                Level {
                    volume: row.volume,
                    ts: row.ts,
                },
            );
        }
        DepthOutcome::Applied
    }

    fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    /// Empties the book and forgets its history (a new subscription).
    pub fn reset(&mut self) {
        *self = Self::new(self.tick);
    }

    /// `(price, volume)` of the best bid.
    pub fn best_bid(&self) -> Option<(f64, i64)> {
        self.bids
            .levels
            .last_key_value()
            .map(|(k, l)| (self.price(*k), l.volume))
    }

    /// `(price, volume)` of the best ask.
    pub fn best_ask(&self) -> Option<(f64, i64)> {
        self.asks
            .levels
            .first_key_value()
            .map(|(k, l)| (self.price(*k), l.volume))
    }

    /// Best ask minus best bid in ticks (always >= 1 when both sides exist).
    pub fn spread_ticks(&self) -> Option<i64> {
        let bid = self.bids.levels.last_key_value()?.0;
        let ask = self.asks.levels.first_key_value()?.0;
        Some(ask - bid)
    }

    pub fn spread(&self) -> Option<f64> {
        self.spread_ticks().map(|t| t as f64 * self.tick.value())
    }

    pub fn mid(&self) -> Option<f64> {
        let bid = self.bids.levels.last_key_value()?.0;
        let ask = self.asks.levels.first_key_value()?.0;
        Some((bid + ask) as f64 / 2.0 * self.tick.value())
    }

    /// Up to `n` bid levels, best first.
    pub fn bids(&self, n: usize) -> Vec<(f64, i64)> {
        self.bids
            .levels
            .iter()
            .rev()
            .take(n)
            .map(|(k, l)| (self.price(*k), l.volume))
            .collect()
    }

    /// Up to `n` ask levels, best first.
    pub fn asks(&self, n: usize) -> Vec<(f64, i64)> {
        self.asks
            .levels
            .iter()
            .take(n)
            .map(|(k, l)| (self.price(*k), l.volume))
            .collect()
    }

    /// `(bid volume - ask volume) / (bid volume + ask volume)` over the best `n` levels of each
    /// side, in [-1, 1]; `None` when both are empty.
    pub fn imbalance(&self, n: usize) -> Option<f64> {
        let bid: i64 = self
            .bids
            .levels
            .values()
            .rev()
            .take(n)
            .map(|l| l.volume)
            .sum();
        let ask: i64 = self.asks.levels.values().take(n).map(|l| l.volume).sum();
        let total = bid + ask;
        (total > 0).then(|| (bid - ask) as f64 / total as f64)
    }

    pub fn depth(&self) -> (usize, usize) {
        (self.bids.levels.len(), self.asks.levels.len())
    }

    /// `(price, volume, ts)` of the last Trade/Fill row.
    pub fn last_trade(&self) -> Option<(f64, i64, i64)> {
        self.last_trade
    }

    pub fn session_low(&self) -> Option<f64> {
        self.session_low
    }

    pub fn session_high(&self) -> Option<f64> {
        self.session_high
    }

    /// Whether the book's invariants hold: positive volumes, bids strictly below asks.
    pub fn is_consistent(&self) -> bool {
        let positive = self
            .bids
            .levels
            .values()
            .chain(self.asks.levels.values())
            .all(|l| l.volume > 0);
        let uncrossed = match (
            self.bids.levels.last_key_value(),
            self.asks.levels.first_key_value(),
        ) {
            (Some((b, _)), Some((a, _))) => b < a,
            _ => true,
        };
        positive && uncrossed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn book() -> OrderBook {
        OrderBook::new(TickSize::new(0.25).unwrap())
    }

    fn row(ts: i64, dom: DomType, price: f64, volume: i64) -> DepthRow {
        DepthRow {
            ts,
            dom_type: dom,
            price,
            volume,
        }
    }

    #[test]
    fn builds_levels_and_answers_queries() {
        let mut b = book();
        assert_eq!(
            b.apply(row(1, DomType::Bid, 100.0, 5)),
            DepthOutcome::Applied
        );
        b.apply(row(1, DomType::Bid, 99.75, 7));
        b.apply(row(1, DomType::Ask, 100.5, 3));
        b.apply(row(1, DomType::Ask, 100.75, 1));
        assert_eq!(b.best_bid(), Some((100.0, 5)));
        assert_eq!(b.best_ask(), Some((100.5, 3)));
        assert_eq!(b.spread_ticks(), Some(2));
        assert_eq!(b.mid(), Some(100.25));
        assert_eq!(b.bids(5), vec![(100.0, 5), (99.75, 7)]);
        assert_eq!(b.imbalance(1), Some(0.25)); // (5 - 3) / 8
        b.apply(row(2, DomType::Bid, 100.0, 0));
        assert_eq!(b.best_bid(), Some((99.75, 7)));
        assert_eq!(
            b.apply(row(3, DomType::Reset, 0.0, 0)),
            DepthOutcome::Applied
        );
        assert_eq!(b.depth(), (0, 0));
        assert_eq!(b.apply(row(2, DomType::Bid, 100.0, 1)), DepthOutcome::Stale);
    }

    #[test]
    fn resolves_crossed_and_out_of_order_rows() {
        let mut b = book();
        b.apply(row(1, DomType::Ask, 100.5, 3));
        b.apply(row(1, DomType::Ask, 101.0, 3));
        // A newer bid through the ask: the ask at 100.5 is stale and goes.
        assert_eq!(
            b.apply(row(2, DomType::Bid, 100.5, 4)),
            DepthOutcome::Applied
        );
        assert_eq!(
            (b.best_bid(), b.best_ask()),
            (Some((100.5, 4)), Some((101.0, 3)))
        );
        // An older ask at or below the bid is the stale one.
        assert_eq!(
            b.apply(row(1, DomType::Ask, 100.25, 9)),
            DepthOutcome::Stale
        );
        // Out of order on one level: the older row is dropped, also after a removal.
        b.apply(row(5, DomType::Bid, 100.5, 0));
        assert_eq!(b.apply(row(4, DomType::Bid, 100.5, 8)), DepthOutcome::Stale);
        // A best bid clears better bids.
        b.apply(row(6, DomType::Bid, 100.0, 2));
        b.apply(row(6, DomType::Bid, 100.25, 2));
        assert_eq!(
            b.apply(row(7, DomType::BestBid, 99.75, 1)),
            DepthOutcome::Applied
        );
        assert_eq!(b.best_bid(), Some((99.75, 1)));
        assert!(b.is_consistent());
        assert_eq!(
            b.apply(row(8, DomType::Bid, 100.1, 1)),
            DepthOutcome::Invalid
        );
        assert_eq!(
            b.apply(row(8, DomType::Bid, f64::NAN, 1)),
            DepthOutcome::Invalid
        );
        assert_eq!(
            b.apply(row(8, DomType::Unknown, 100.0, 1)),
            DepthOutcome::Ignored
        );
        assert_eq!(
            b.apply(row(8, DomType::Trade, 100.0, 3)),
            DepthOutcome::Applied
        );
        assert_eq!(b.last_trade(), Some((100.0, 3, 8)));
    }

    fn any_row() -> impl Strategy<Value = DepthRow> {
        (
            0i64..50,
            0i64..13,
            prop_oneof![(380u32..420).prop_map(|t| t as f64 * 0.25), any::<f64>()],
            -2i64..20,
        )
            .prop_map(|(ts, code, price, volume)| DepthRow {
                ts,
                dom_type: DomType::from_code(code),
                price,
                volume,
            })
    }

    proptest! {
        #[test]
        fn any_sequence_keeps_the_invariants(rows in proptest::collection::vec(any_row(), 0..300)) {
            let mut b = book();
            for r in rows {
                b.apply(r);
                prop_assert!(b.is_consistent());
                if let (Some(bid), Some(ask)) = (b.best_bid(), b.best_ask()) {
                    prop_assert!(bid.0 < ask.0);
                    prop_assert!(b.spread_ticks().unwrap() >= 1);
                }
                if let Some(x) = b.imbalance(3) {
                    prop_assert!((-1.0..=1.0).contains(&x));
                }
            }
            let total = b.applied + b.stale + b.ignored + b.invalid;
            prop_assert!(total <= 300);
        }
    }
}
