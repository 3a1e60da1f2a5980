//! FIFO round-trip matching of one bot's fills in one symbol.
//!
//! The definitions (lot, round trip, gross / net P&L, fees split by quantity, MFE / MAE, initial
//! risk) are those of `tsxbot.pnl.matching`'s docstring; this is their one implementation, used
//! by the live P&L ledger and by the backtester alike. Every figure is computed with the same
//! floating-point operations in the same order as the Python reference it replaced
//! (`tests/pnl/test_matching_rust.py` compares them bit for bit), so a report does not change by
//! a cent's last digit.

use std::collections::{HashSet, VecDeque};

use super::MatchError;
use crate::side::Side;

/// One fill as the matcher needs it.
#[derive(Debug, Clone, Copy)]
pub struct Fill<'a> {
    pub fill_id: &'a str,
    pub bot_id: &'a str,
    pub symbol: &'a str,
    pub side: Side,
    pub quantity: i64,
    pub price: f64,
    pub ts_ns: i64,
    /// What the fill was charged in USD (None: the fee per side x quantity).
    pub fees: Option<f64>,
    /// The protective stop the position was opened with, when known (the trade's initial risk).
    pub stop_loss: Option<f64>,
}

/// The unclosed part of an opening fill.
#[derive(Debug, Clone, PartialEq)]
pub struct Lot {
    pub fill_id: String,
    /// +1 long, -1 short.
    pub direction: i64,
    pub quantity: i64,
    pub price: f64,
    pub ts_ns: i64,
}

/// One closed trade, from flat to flat.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundTrip {
    /// +1 long, -1 short.
    pub direction: i64,
    /// Every contract that entered the trade.
    pub quantity: i64,
    pub max_position: i64,
    pub entry_price: f64,
    pub exit_price: f64,
    pub entry_ns: i64,
    pub exit_ns: i64,
    pub gross_pnl: f64,
    pub fees: f64,
    pub mae: f64,
    pub mfe: f64,
    pub initial_risk: Option<f64>,
    /// The trade's fills, first to last (a reversing fill ends one trade and opens the next).
    pub fill_ids: Vec<String>,
}

impl RoundTrip {
    #[inline]
    pub fn net_pnl(&self) -> f64 {
        self.gross_pnl - self.fees
    }
}

/// The trade in progress.
#[derive(Debug)]
struct OpenTrade {
    entry_ns: i64,
    first_price: f64,
    stop_loss: Option<f64>,
    entry_qty: i64,
    entry_notional: f64,
    exit_qty: i64,
    exit_notional: f64,
    fees: f64,
    realized: f64,
    max_position: i64,
    mae: f64,
    mfe: f64,
    fill_ids: Vec<String>,
}

impl OpenTrade {
    fn new(fill: &Fill<'_>) -> Self {
        Self {
            entry_ns: fill.ts_ns,
            first_price: fill.price,
            stop_loss: fill.stop_loss,
            entry_qty: 0,
            entry_notional: 0.0,
            exit_qty: 0,
            exit_notional: 0.0,
            fees: 0.0,
            realized: 0.0,
            max_position: 0,
            mae: 0.0,
            mfe: 0.0,
            fill_ids: Vec::new(),
        }
    }

    /// A fill's id, once however many lots it touches.
    fn touched_by(&mut self, fill_id: &str) {
        if self.fill_ids.last().map(String::as_str) != Some(fill_id) {
            self.fill_ids.push(fill_id.to_owned());
        }
    }

    /// A new running gross P&L: the running extremes (Python's `max` / `min`: the new value
    /// replaces the old only when strictly beyond it, so a signed zero stays as it was).
    #[inline]
    fn excursion(&mut self, running: f64) {
        if running > self.mfe {
            self.mfe = running;
        }
        if running < self.mae {
            self.mae = running;
        }
    }
}

/// Matches one (bot, symbol)'s fills FIFO into lots and round trips.
#[derive(Debug)]
pub struct FifoMatcher {
    bot_id: String,
    symbol: String,
    point_value: f64,
    fee_per_side: f64,
    lots: VecDeque<Lot>,
    position: i64,
    realized: f64,
    fees: f64,
    open: Option<OpenTrade>,
    seen: HashSet<String>,
}

impl FifoMatcher {
    /// `point_value` USD a point a contract (> 0), `fee_per_side` USD a contract a side (>= 0),
    /// charged to fills that do not report their fees.
    pub fn new(
        bot_id: impl Into<String>,
        symbol: impl Into<String>,
        point_value: f64,
        fee_per_side: f64,
    ) -> Result<Self, MatchError> {
        if !(point_value.is_finite() && point_value > 0.0) {
            return Err(MatchError::InvalidSpec("point value must be > 0"));
        }
        if !(fee_per_side.is_finite() && fee_per_side >= 0.0) {
            return Err(MatchError::InvalidSpec("fee per side must be >= 0"));
        }
        Ok(Self {
            bot_id: bot_id.into(),
            symbol: symbol.into(),
            point_value,
            fee_per_side,
            lots: VecDeque::new(),
            position: 0,
            realized: 0.0,
            fees: 0.0,
            open: None,
            seen: HashSet::new(),
        })
    }

    pub fn bot_id(&self) -> &str {
        &self.bot_id
    }

    pub fn symbol(&self) -> &str {
        &self.symbol
    }

    /// Realized gross P&L of every closed quantity so far (USD).
    #[inline]
    pub fn realized(&self) -> f64 {
        self.realized
    }

    /// Every fee charged so far (USD).
    #[inline]
    pub fn fees(&self) -> f64 {
        self.fees
    }

    /// The net position: > 0 long, < 0 short.
    #[inline]
    pub fn position(&self) -> i64 {
        self.position
    }

    /// The open lots, oldest first.
    pub fn lots(&self) -> impl ExactSizeIterator<Item = &Lot> {
        self.lots.iter()
    }

    /// Whether a trade is open (the position is not flat).
    #[inline]
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// The open lots marked to `price` (0 when flat).
    pub fn open_pnl(&self, price: f64) -> f64 {
        let pv = self.point_value;
        let mut total = 0.0;
        for lot in &self.lots {
            total += (price - lot.price) * lot.direction as f64 * lot.quantity as f64 * pv;
        }
        total
    }

    /// Realized - fees + the open lots marked to `price`: the net P&L marked at `price`.
    #[inline]
    pub fn equity(&self, price: f64) -> f64 {
        self.realized - self.fees + self.open_pnl(price)
    }

    /// A new price while a trade is open: updates its MAE and MFE.
    pub fn mark(&mut self, price: f64) {
        let open = self.open_pnl(price);
        if let Some(trade) = self.open.as_mut() {
            trade.excursion(trade.realized + open);
        }
    }

    /// Applies one fill; returns the trade it closed, if any (a fill closes at most one: a
    /// reversal closes one and opens the next). A refused fill leaves the matcher unchanged.
    pub fn add(&mut self, fill: &Fill<'_>) -> Result<Option<RoundTrip>, MatchError> {
        self.check(fill)?;
        self.seen.insert(fill.fill_id.to_owned());
        let fees = fill
            .fees
            .unwrap_or(self.fee_per_side * fill.quantity as f64);
        let fee_each = fees / fill.quantity as f64;
        let direction = fill.side.sign();
        let pv = self.point_value;
        let mut remaining = fill.quantity;
        let mut closed = None;
        // Close against the oldest opposite lots.
        while remaining > 0 {
            let Some(lot) = self.lots.front_mut() else {
                break;
            };
            if lot.direction == direction {
                break;
            }
            let trade = self
                .open
                .as_mut()
                .expect("a lot is held only while its trade is open");
            let qty = remaining.min(lot.quantity);
            let pnl = (fill.price - lot.price) * lot.direction as f64 * qty as f64 * pv;
            self.realized += pnl;
            trade.realized += pnl;
            trade.exit_qty += qty;
            trade.exit_notional += qty as f64 * fill.price;
            trade.fees += fee_each * qty as f64;
            self.fees += fee_each * qty as f64;
            trade.touched_by(fill.fill_id);
            lot.quantity -= qty;
            remaining -= qty;
            let lot_direction = lot.direction;
            self.position -= lot_direction * qty;
            if lot.quantity == 0 {
                self.lots.pop_front();
            }
            if self.lots.is_empty() {
                // Flat: the trade's last excursion (its realized P&L) and its close.
                trade.excursion(trade.realized + 0.0);
                closed = Some(self.close(lot_direction, fill.ts_ns));
            }
        }
        if remaining > 0 {
            let trade = self.open.get_or_insert_with(|| OpenTrade::new(fill));
            trade.entry_qty += remaining;
            trade.entry_notional += remaining as f64 * fill.price;
            trade.fees += fee_each * remaining as f64;
            self.fees += fee_each * remaining as f64;
            trade.touched_by(fill.fill_id);
            self.lots.push_back(Lot {
                fill_id: fill.fill_id.to_owned(),
                direction,
                quantity: remaining,
                price: fill.price,
                ts_ns: fill.ts_ns,
            });
            self.position += direction * remaining;
            trade.max_position = trade.max_position.max(self.position.abs());
        }
        self.mark(fill.price);
        Ok(closed)
    }

    fn check(&self, fill: &Fill<'_>) -> Result<(), MatchError> {
        if fill.bot_id != self.bot_id || fill.symbol != self.symbol {
            return Err(MatchError::Foreign {
                fill_id: fill.fill_id.to_owned(),
                bot_id: fill.bot_id.to_owned(),
                symbol: fill.symbol.to_owned(),
                matcher_bot: self.bot_id.clone(),
                matcher_symbol: self.symbol.clone(),
            });
        }
        if self.seen.contains(fill.fill_id) {
            return Err(MatchError::Duplicate(fill.fill_id.to_owned()));
        }
        let invalid = |what, value| MatchError::InvalidNumber {
            fill_id: fill.fill_id.to_owned(),
            what,
            value,
        };
        if fill.quantity <= 0 {
            return Err(MatchError::InvalidQuantity {
                fill_id: fill.fill_id.to_owned(),
                quantity: fill.quantity,
            });
        }
        if !fill.price.is_finite() {
            return Err(invalid("price", fill.price));
        }
        if let Some(fees) = fill.fees {
            if !(fees.is_finite() && fees >= 0.0) {
                return Err(invalid("fees", fees));
            }
        }
        Ok(())
    }

    fn close(&mut self, direction: i64, exit_ns: i64) -> RoundTrip {
        let trade = self
            .open
            .take()
            .expect("a trade closes only while it is open");
        let initial_risk = trade.stop_loss.map(|stop| {
            (trade.first_price - stop).abs() * trade.max_position as f64 * self.point_value
        });
        RoundTrip {
            direction,
            quantity: trade.entry_qty,
            max_position: trade.max_position,
            entry_price: trade.entry_notional / trade.entry_qty as f64,
            exit_price: trade.exit_notional / trade.exit_qty as f64,
            entry_ns: trade.entry_ns,
            exit_ns,
            gross_pnl: trade.realized,
            fees: trade.fees,
            mae: trade.mae,
            mfe: trade.mfe,
            initial_risk,
            fill_ids: trade.fill_ids,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PV: f64 = 50.0;
    const FEE: f64 = 1.40;

    fn es() -> FifoMatcher {
        FifoMatcher::new("b1", "ES", PV, FEE).unwrap()
    }

    fn fill(id: &str, n: i64, side: Side, quantity: i64, price: f64) -> Fill<'_> {
        Fill {
            fill_id: id,
            bot_id: "b1",
            symbol: "ES",
            side,
            quantity,
            price,
            ts_ns: n * 1_000_000_000,
            fees: None,
            stop_loss: None,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn a_simple_long_round_trip() {
        let mut m = es();
        assert_eq!(m.add(&fill("f1", 1, Side::Buy, 2, 5000.0)).unwrap(), None);
        let t = m
            .add(&fill("f2", 2, Side::Sell, 2, 5002.5))
            .unwrap()
            .unwrap();
        assert_eq!((t.direction, t.quantity, t.max_position), (1, 2, 2));
        assert!(close(t.gross_pnl, 2.5 * 50.0 * 2.0));
        assert!(close(t.fees, 1.40 * 4.0));
        assert!(close(t.net_pnl(), 250.0 - 5.6));
        assert_eq!((t.entry_ns, t.exit_ns), (1_000_000_000, 2_000_000_000));
        assert_eq!(t.fill_ids, ["f1", "f2"]);
        assert_eq!(t.initial_risk, None);
        assert_eq!(m.position(), 0);
        assert!(!m.is_open());
        assert_eq!(m.lots().len(), 0);
    }

    #[test]
    fn scaling_in_and_out_is_one_trade_matched_fifo() {
        let mut m = es();
        m.add(&fill("f1", 1, Side::Buy, 1, 100.0)).unwrap();
        m.add(&fill("f2", 2, Side::Buy, 2, 110.0)).unwrap();
        assert_eq!(m.add(&fill("f3", 3, Side::Sell, 2, 120.0)).unwrap(), None);
        // FIFO: the 1 @ 100 and one of the 2 @ 110 closed: (20 + 10) points.
        assert!(close(m.realized(), 30.0 * PV));
        assert!(close(m.open_pnl(130.0), 20.0 * PV));
        let lots: Vec<_> = m.lots().map(|l| (l.fill_id.as_str(), l.quantity)).collect();
        assert_eq!(lots, [("f2", 1)]);
        let t = m
            .add(&fill("f4", 4, Side::Sell, 1, 105.0))
            .unwrap()
            .unwrap();
        assert_eq!((t.quantity, t.max_position), (3, 3));
        assert!(close(t.entry_price, (100.0 + 220.0) / 3.0));
        assert!(close(t.exit_price, (240.0 + 105.0) / 3.0));
        assert!(close(t.gross_pnl, (30.0 - 5.0) * PV));
        assert_eq!(t.fill_ids, ["f1", "f2", "f3", "f4"]);
    }

    #[test]
    fn a_reversal_through_zero_splits_the_fill_and_its_fees() {
        let mut m = es();
        m.add(&Fill {
            fees: Some(2.0),
            ..fill("f1", 1, Side::Buy, 1, 100.0)
        })
        .unwrap();
        let first = m
            .add(&Fill {
                fees: Some(6.0),
                ..fill("f2", 2, Side::Sell, 3, 98.0)
            })
            .unwrap()
            .unwrap();
        assert_eq!(first.direction, 1);
        assert!(close(first.gross_pnl, -2.0 * PV));
        assert!(close(first.fees, 4.0));
        assert_eq!(m.position(), -2);
        let second = m
            .add(&Fill {
                fees: Some(4.0),
                ..fill("f3", 3, Side::Buy, 2, 97.0)
            })
            .unwrap()
            .unwrap();
        assert_eq!((second.direction, second.quantity), (-1, 2));
        assert!(close(second.gross_pnl, 100.0));
        assert!(close(second.fees, 8.0));
        assert_eq!(second.entry_ns, 2_000_000_000);
        assert_eq!(second.fill_ids, ["f2", "f3"]);
        assert!(close(m.fees(), 12.0));
    }

    #[test]
    fn mae_mfe_and_initial_risk() {
        let mut m = es();
        m.add(&Fill {
            fees: Some(0.0),
            stop_loss: Some(98.0),
            ..fill("f1", 1, Side::Buy, 1, 100.0)
        })
        .unwrap();
        m.mark(97.0);
        m.mark(104.0);
        let t = m
            .add(&Fill {
                fees: Some(0.0),
                ..fill("f2", 2, Side::Sell, 1, 103.0)
            })
            .unwrap()
            .unwrap();
        assert!(close(t.mae, -3.0 * PV));
        assert!(close(t.mfe, 4.0 * PV));
        assert_eq!(t.initial_risk, Some(2.0 * PV));
        // Flat: a mark changes nothing.
        m.mark(50.0);
        assert!(close(m.equity(50.0), 3.0 * PV));
    }

    #[test]
    fn a_refused_fill_leaves_the_matcher_unchanged() {
        let mut m = es();
        m.add(&fill("f1", 1, Side::Buy, 1, 100.0)).unwrap();
        let err = m.add(&fill("f1", 2, Side::Sell, 1, 100.0)).unwrap_err();
        assert_eq!(err.to_string(), "fill f1 was already applied");
        let foreign = Fill {
            bot_id: "b2",
            ..fill("x", 3, Side::Buy, 1, 1.0)
        };
        assert_eq!(
            m.add(&foreign).unwrap_err().to_string(),
            "fill x is for b2/ES, this matcher is b1/ES"
        );
        let before = (m.position(), m.realized(), m.fees());
        for bad in [
            fill("q", 4, Side::Sell, 0, 100.0),
            fill("p", 4, Side::Sell, 1, f64::NAN),
            Fill {
                fees: Some(-1.0),
                ..fill("fee", 4, Side::Sell, 1, 100.0)
            },
        ] {
            assert!(m.add(&bad).is_err());
            assert_eq!((m.position(), m.realized(), m.fees()), before);
        }
        // A refused id is not marked as seen: the same id, corrected, is applied.
        let t = m.add(&fill("q", 4, Side::Sell, 1, 101.0)).unwrap().unwrap();
        assert_eq!(t.fill_ids, ["f1", "q"]);
        assert!(FifoMatcher::new("b", "ES", 0.0, 1.0).is_err());
        assert!(FifoMatcher::new("b", "ES", 50.0, -1.0).is_err());
    }

    /// The reference: every contract on its own (a unit lot each).
    #[derive(Default)]
    struct Reference {
        units: VecDeque<(i64, f64)>,
        realized: f64,
        /// (direction, contracts, gross, fees, low, high) of the closed trades.
        trades: Vec<(i64, i64, f64, f64, f64, f64)>,
        current: Option<(i64, i64, f64, f64, f64, f64)>,
    }

    impl Reference {
        fn excursion(&mut self, price: f64) {
            let opened: f64 = self
                .units
                .iter()
                .map(|(d, p)| (price - p) * *d as f64 * PV)
                .sum();
            if let Some(t) = self.current.as_mut() {
                let value = t.2 + opened;
                t.4 = t.4.min(value);
                t.5 = t.5.max(value);
            }
        }

        fn fill(&mut self, direction: i64, quantity: i64, price: f64) {
            for _ in 0..quantity {
                if self.units.front().is_some_and(|(d, _)| *d != direction) {
                    let (d, p) = self.units.pop_front().unwrap();
                    let pnl = (price - p) * d as f64 * PV;
                    self.realized += pnl;
                    let t = self.current.as_mut().unwrap();
                    t.2 += pnl;
                    t.3 += FEE;
                    if self.units.is_empty() {
                        self.excursion(price);
                        self.trades.push(self.current.take().unwrap());
                    }
                } else {
                    let t = self
                        .current
                        .get_or_insert((direction, 0, 0.0, 0.0, 0.0, 0.0));
                    t.1 += 1;
                    t.3 += FEE;
                    self.units.push_back((direction, price));
                }
            }
            self.excursion(price);
        }
    }

    proptest! {
        #[test]
        fn equals_the_unit_by_unit_reference(
            events in prop::collection::vec((any::<bool>(), -1i64..=1, 1i64..=6, -40i64..=40), 0..60)
        ) {
            let mut m = es();
            let mut reference = Reference::default();
            let mut closed = Vec::new();
            for (i, (is_mark, direction, quantity, ticks)) in events.into_iter().enumerate() {
                let price = 5000.0 + ticks as f64 * 0.25;
                if is_mark || direction == 0 {
                    m.mark(price);
                    reference.excursion(price);
                    continue;
                }
                let side = if direction > 0 { Side::Buy } else { Side::Sell };
                let id = format!("f{i}");
                closed.extend(m.add(&fill(&id, i as i64, side, quantity, price)).unwrap());
                reference.fill(direction, quantity, price);
            }
            prop_assert_eq!(closed.len(), reference.trades.len());
            for (got, want) in closed.iter().zip(&reference.trades) {
                prop_assert_eq!((got.direction, got.quantity), (want.0, want.1));
                prop_assert!((got.gross_pnl - want.2).abs() < 1e-6);
                prop_assert!((got.fees - want.3).abs() < 1e-9);
                prop_assert!((got.mae - want.4).abs() < 1e-6);
                prop_assert!((got.mfe - want.5).abs() < 1e-6);
            }
            prop_assert!((m.realized() - reference.realized).abs() < 1e-6);
            prop_assert_eq!(m.position(), reference.units.iter().map(|(d, _)| d).sum::<i64>());
            prop_assert_eq!(m.position(), m.lots().map(|l| l.direction * l.quantity).sum::<i64>());
            prop_assert_eq!(m.is_open(), m.position() != 0);
        }
    }
}
