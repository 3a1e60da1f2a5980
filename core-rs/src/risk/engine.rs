//! The pre-trade risk engine: `check(order, now)` answers accepted or refused with a typed
//! reason; `on_fill`, `on_mark`, `on_balance` and `new_trading_day` keep its state current.
//!
//! Deterministic: time is an argument, never read from a clock. `check` changes one thing when
//! it accepts: it takes a token from the order-rate buckets (an accepted order is a sent order).
//!
//! Checks, in order (the first that fails decides):
//! 1. trading state HALTED (kill switch): everything refused;
//! 2. sanity: quantity > 0 and <= max order size; known and enabled symbol; prices finite,
//!    > 0 and on the contract's tick;
//! 3. an `order_id` already working is refused (DUPLICATE_ORDER);
//! 4. `reduce_only` orders must be exits (below);
//! 5. bot contract limit, whenever the order grows the bot's own position;
//! 6. for orders that are not exits: REDUCING state; blocked date and trading hours; stop-loss
//!    present (if required), on the losing side of entry, no farther than the bot's max risk
//!    points; take-profit present when the bot has a minimum reward:risk, on the winning side;
//!    reward:risk; contracts per symbol, per account in mini-equivalents (micros count by their
//!    `mini_milli` weight, 10:1), concentration; margin; daily loss (realized + open P&L, and
//!    that P&L less this order's stop-loss risk); daily profit stop; trailing drawdown (equity,
//!    and equity less this order's risk, above the floor). An exit skips all of these, except
//!    that an exit which grows the account's worst-case position in the symbol (another bot
//!    holds the other side) must still fit the contract, concentration and margin limits;
//! 7. order rate: the bot's bucket, then the global one.
//!
//! Exits. Positions are kept per bot as well as per account (the account's is the bots' sum).
//! An order is an exit when it reduces the submitting bot's own position in the symbol and
//! never flips it: with the bot's working orders on the same side counted as filled, the bot's
//! position moves toward zero and stops at or before zero. Whether the account's net position
//! shrinks decides nothing: with bot A long 3, bot B's sell of 2 opens a short for B and is
//! checked in full, though it nets the account down to 1; and A's sell of 3 is A's exit even
//! though the account, B being short 2, goes from +1 to -2. That exposure is B's position,
//! which passed the opening checks (its stop-loss, the daily loss and drawdown against its
//! risk) when B opened it. So an exit stays possible in REDUCING, outside the hours and past the
//! loss limits, and needs no stop-loss or take-profit: it takes no new risk for its bot, whose
//! exposure only shrinks. The account's contract,
//! concentration and margin limits are absolute, so they are checked for an exit too whenever
//! it grows the account's worst-case position (a bot cannot exit into an account over them).
//! A fill that belongs to no known bot is given with `bot_id` "" ([`UNATTRIBUTED`]); while such
//! fills leave a position open in a symbol, a bot's book there may be stale (its stop may have
//! filled unattributed), so exits in that symbol are decided by the account's own position
//! instead: only an order that brings the account toward zero is an exit.
//!
//! Working orders: an accepted order that carries an `order_id` is held as working until fills
//! (`on_fill` with that id) or `on_order_closed` (cancelled, rejected, expired) use it up. Every
//! contract, concentration and margin check counts the worst case, as if every working order
//! filled, so quick orders cannot race past a limit before their fills arrive; an id already
//! working is refused (DUPLICATE_ORDER). Orders without an id are not held.
//!
//! A market order's entry is the symbol's last mark (fill or `on_mark`); without one, an order
//! that needs an entry price (stop-loss or take-profit given) is refused (NO_REFERENCE_PRICE).

use super::error::RiskInputError;
use super::limits::{BotLimits, InstrumentSpec, RiskLimits, MILLI};
use super::order::OrderRequest;
use super::position::Position;
use super::rate_limit::TokenBucket;
use super::trading_window::WindowCheck;
use super::trailing_drawdown::TrailingDrawdown;
use super::verdict::{Denial, RiskVerdict};
use super::RiskReason;
use crate::fast_map::FastMap;
use crate::side::Side;
use crate::ticks::Rounding;

/// Float slack for money and ratio comparisons.
const EPS: f64 = 1e-9;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TradingState {
    Active,
    /// Only orders that reduce exposure.
    Reducing,
    /// Kill switch: nothing.
    Halted,
}

/// Working quantity per instrument: `[buys, sells]`.
type Pending = [i64; 2];

/// The `bot_id` of a fill that belongs to no known bot (e.g. a bracket leg whose parent could
/// not be looked up). While such fills leave a position open in a symbol, the bots' own books
/// do not add up to what each bot holds, so exits there are decided by the account's position.
pub const UNATTRIBUTED: &str = "";

/// `new` is `old` moved toward zero without crossing it (and not left where it was).
fn toward_zero(old: i64, new: i64) -> bool {
    old != 0 && new.signum() != -old.signum() && new.abs() < old.abs()
}

#[inline]
fn side_index(side: Side) -> usize {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

/// The largest absolute position `position` can reach if every working order fills.
#[inline]
fn worst_case(position: i64, pending: Pending) -> i64 {
    (position + pending[0])
        .abs()
        .max((position - pending[1]).abs())
}

#[derive(Debug, Clone)]
struct BotBook {
    limits: BotLimits,
    /// Net position per instrument (same index as `RiskLimits::instruments`).
    positions: Vec<i64>,
    pending: Vec<Pending>,
    rate: Option<TokenBucket>,
}

impl BotBook {
    fn new(limits: BotLimits, instruments: usize) -> Self {
        Self {
            limits,
            positions: vec![0; instruments],
            pending: vec![[0, 0]; instruments],
            rate: limits.max_orders_per_minute.map(TokenBucket::per_minute),
        }
    }
}

/// An accepted order not yet filled or closed.
#[derive(Debug, Clone)]
struct Working {
    bot_id: String,
    instrument: usize,
    side: usize,
    remaining: i64,
}

#[derive(Debug, Clone)]
pub struct RiskEngine {
    limits: RiskLimits,
    index: FastMap<String, usize>,
    positions: Vec<Position>,
    marks: Vec<f64>,
    open_pnl_by: Vec<f64>,
    open_pnl: f64,
    /// Working order quantity per instrument, and the worst-case absolute position it allows.
    pending: Vec<Pending>,
    worst: Vec<i64>,
    /// Sums over instruments of `worst` times the mini weight and the margin.
    exposure_milli: i64,
    margin_used: f64,
    working: FastMap<String, Working>,
    bots: FastMap<String, BotBook>,
    global_rate: TokenBucket,
    balance: f64,
    day_start_equity: f64,
    realized_today: f64,
    fees_today: f64,
    drawdown: TrailingDrawdown,
    state: TradingState,
}

fn deny(reason: RiskReason, message: impl Into<String>) -> RiskVerdict {
    Err(Denial::new(reason, message))
}

impl RiskEngine {
    pub fn new(limits: RiskLimits) -> Result<Self, RiskInputError> {
        let l = &limits;
        if l.max_order_size <= 0 || l.max_open_milli <= 0 || l.max_contracts_per_symbol <= 0 {
            return Err(RiskInputError::InvalidLimit("contract limits must be > 0"));
        }
        if !(l.max_concentration > 0.0 && l.max_concentration <= 1.0) {
            return Err(RiskInputError::InvalidLimit(
                "max concentration must be in (0, 1]",
            ));
        }
        let money = [l.max_daily_loss, l.max_drawdown, l.starting_balance];
        if money.iter().any(|m| !(m.is_finite() && *m > 0.0))
            || l.max_daily_profit
                .is_some_and(|p| !(p.is_finite() && p > 0.0))
            || l.available_margin
                .is_some_and(|m| !(m.is_finite() && m >= 0.0))
        {
            return Err(RiskInputError::InvalidLimit(
                "money limits must be finite and > 0",
            ));
        }
        let mut index = FastMap::default();
        for (i, spec) in l.instruments.iter().enumerate() {
            if !(spec.point_value.is_finite() && spec.point_value > 0.0)
                || spec.mini_milli <= 0
                || !(spec.margin.is_finite() && spec.margin >= 0.0)
            {
                return Err(RiskInputError::InvalidLimit(
                    "instrument point value, weight or margin",
                ));
            }
            index.insert(spec.symbol.clone(), i);
        }
        let n = l.instruments.len();
        let bots = l
            .bots
            .iter()
            .map(|(id, bl)| (id.clone(), BotBook::new(*bl, n)))
            .collect();
        Ok(Self {
            index,
            positions: vec![Position::default(); n],
            marks: vec![f64::NAN; n],
            open_pnl_by: vec![0.0; n],
            open_pnl: 0.0,
            pending: vec![[0, 0]; n],
            worst: vec![0; n],
            exposure_milli: 0,
            margin_used: 0.0,
            working: FastMap::default(),
            bots,
            global_rate: TokenBucket::per_minute(l.max_orders_per_minute),
            balance: l.starting_balance,
            day_start_equity: l.starting_balance,
            realized_today: 0.0,
            fees_today: 0.0,
            drawdown: TrailingDrawdown::new(l.drawdown_mode, l.max_drawdown, l.starting_balance),
            state: TradingState::Active,
            limits,
        })
    }

    pub fn limits(&self) -> &RiskLimits {
        &self.limits
    }

    fn instrument(&self, symbol: &str) -> Result<usize, RiskInputError> {
        self.index
            .get(symbol)
            .copied()
            .ok_or_else(|| RiskInputError::UnknownSymbol(symbol.to_owned()))
    }

    /// Whether fills that belong to no bot (``bot_id`` [`UNATTRIBUTED`]) leave a position open
    /// in instrument `i`.
    fn unattributed_open(&self, i: usize) -> bool {
        self.bots
            .get(UNATTRIBUTED)
            .is_some_and(|b| b.positions[i] != 0)
    }

    fn bot_book(&mut self, bot_id: &str) -> &mut BotBook {
        if !self.bots.contains_key(bot_id) {
            let book = BotBook::new(self.limits.default_bot, self.limits.instruments.len());
            self.bots.insert(bot_id.to_owned(), book);
        }
        self.bots.get_mut(bot_id).expect("just inserted")
    }

    /// A price of the order on the tick grid, or why not.
    #[inline]
    fn on_tick(
        spec: &InstrumentSpec,
        price: Option<f64>,
        what: &str,
    ) -> Result<Option<i64>, Denial> {
        let Some(p) = price else { return Ok(None) };
        if !(p.is_finite() && p > 0.0) {
            return Err(Denial::new(
                RiskReason::InvalidPrice,
                format!("{what} must be a finite price > 0, got {p}"),
            ));
        }
        let tick = spec.tick;
        match tick.is_on_tick(p) {
            Ok(true) => Ok(Some(
                tick.to_ticks(p, Rounding::Nearest).expect("checked above"),
            )),
            Ok(false) => Err(Denial::new(
                RiskReason::PriceOffTick,
                format!(
                    "{what} {p} is not on the {} tick of {}",
                    tick.value(),
                    spec.symbol
                ),
            )),
            Err(_) => Err(Denial::new(
                RiskReason::InvalidPrice,
                format!("{what} {p} is out of range"),
            )),
        }
    }

    /// The pre-trade check (see the module's list). `now` is UTC ns.
    pub fn check(&mut self, order: &OrderRequest, now: i64) -> RiskVerdict {
        if self.state == TradingState::Halted {
            return deny(RiskReason::TradingHalted, "trading is halted (kill switch)");
        }
        let q = order.quantity;
        if q <= 0 {
            return Err(Denial::new(
                RiskReason::InvalidQuantity,
                format!("quantity must be > 0, got {q}"),
            ));
        }
        if q > self.limits.max_order_size {
            return Err(Denial::new(
                RiskReason::MaxOrderSize,
                format!(
                    "quantity {q} exceeds the max order size {}",
                    self.limits.max_order_size
                ),
            )
            .with(self.limits.max_order_size as f64, q as f64));
        }
        let Some(&i) = self.index.get(order.symbol.as_str()) else {
            return deny(
                RiskReason::UnknownSymbol,
                format!("unknown symbol {:?}", order.symbol),
            );
        };
        let spec = &self.limits.instruments[i];
        if !spec.enabled {
            return deny(
                RiskReason::SymbolDisabled,
                format!("{} is disabled", spec.symbol),
            );
        }
        let price = Self::on_tick(spec, order.price, "price")?;
        let stop = Self::on_tick(spec, order.stop_loss, "stop-loss")?;
        let target = Self::on_tick(spec, order.take_profit, "take-profit")?;

        if let Some(id) = &order.order_id {
            if self.working.contains_key(id.as_str()) {
                return deny(
                    RiskReason::DuplicateOrder,
                    format!("order {id:?} is already working"),
                );
            }
        }

        let sign = order.side.sign();
        let side = side_index(order.side);

        // One lookup for everything about the bot (a bot seen for the first time has the
        // default limits, no position and a full bucket).
        let (bot, bot_old, bot_pending, bot_rate_ok) = match self.bots.get(order.bot_id.as_str()) {
            Some(b) => (
                b.limits,
                b.positions[i],
                b.pending[i],
                b.rate.as_ref().is_none_or(|r| r.available(now)),
            ),
            None => (self.limits.default_bot, 0, [0, 0], true),
        };
        // An exit brings the bot's own position toward zero without crossing it, counting every
        // working order of the bot on the same side as filled (see the module's rule). While
        // fills that belong to no bot are open in the symbol, the books cannot be trusted and
        // only the account's own position decides.
        let exits = if self.unattributed_open(i) {
            let old = self.positions[i].quantity;
            toward_zero(old, old + sign * (self.pending[i][side] + q))
        } else {
            toward_zero(bot_old, bot_old + sign * (bot_pending[side] + q))
        };
        if order.reduce_only && !exits {
            return deny(
                RiskReason::ReduceOnlyViolation,
                format!(
                    "reduce-only {} {q} would not reduce the {bot_old} position of bot {}",
                    order.side, order.bot_id
                ),
            );
        }
        if let Some(max) = bot.max_contracts {
            let mut after = bot_pending;
            after[side] += q;
            let (before, after) = (worst_case(bot_old, bot_pending), worst_case(bot_old, after));
            if after > before && after > max {
                return Err(Denial::new(
                    RiskReason::MaxContractsBot,
                    format!(
                        "bot {} could hold {after} contracts, limit {max}",
                        order.bot_id
                    ),
                )
                .with(max as f64, after as f64));
            }
        }

        // The account's worst case in the symbol with this order and every working order on its
        // side filled.
        let mut pending = self.pending[i];
        pending[side] += q;
        let worst_new = worst_case(self.positions[i].quantity, pending);
        if !exits {
            self.check_opening(order, now, i, price, stop, target, bot, worst_new)?;
        } else if worst_new > self.worst[i] {
            // An exit that grows the account's exposure (another bot holds the other side):
            // the account's contract, concentration and margin limits still hold.
            self.check_capacity(i, worst_new)?;
        }

        if !bot_rate_ok {
            return deny(
                RiskReason::RateLimited,
                format!("bot {} is over its order rate", order.bot_id),
            );
        }
        if !self.global_rate.available(now) {
            return Err(Denial::new(
                RiskReason::RateLimited,
                "the account is over its order rate",
            )
            .with(self.global_rate.capacity() as f64, 0.0));
        }
        self.global_rate.take(now);
        if let Some(book) = self.bots.get_mut(order.bot_id.as_str()) {
            if let Some(rate) = book.rate.as_mut() {
                rate.take(now);
            }
        } else if let Some(rate) = self.bot_book(&order.bot_id).rate.as_mut() {
            rate.take(now);
        }
        if let Some(id) = &order.order_id {
            self.hold(id, &order.bot_id, i, side, q);
        }
        Ok(())
    }

    /// Holds an accepted order as working.
    fn hold(&mut self, id: &str, bot_id: &str, i: usize, side: usize, quantity: i64) {
        self.working.insert(
            id.to_owned(),
            Working {
                bot_id: bot_id.to_owned(),
                instrument: i,
                side,
                remaining: quantity,
            },
        );
        self.bot_book(bot_id).pending[i][side] += quantity;
        self.pending[i][side] += quantity;
        self.refresh_worst(i);
    }

    /// Takes up to `quantity` from a working order; returns what it took.
    fn release(&mut self, id: &str, quantity: i64) -> i64 {
        let Some(w) = self.working.get_mut(id) else {
            return 0;
        };
        let taken = quantity.min(w.remaining);
        w.remaining -= taken;
        let (i, side) = (w.instrument, w.side);
        let bot_id = if w.remaining == 0 {
            self.working.remove(id).expect("present").bot_id
        } else {
            w.bot_id.clone()
        };
        self.bot_book(&bot_id).pending[i][side] -= taken;
        self.pending[i][side] -= taken;
        self.refresh_worst(i);
        taken
    }

    /// Recomputes instrument `i`'s worst case and the account sums built on it.
    fn refresh_worst(&mut self, i: usize) {
        let worst = worst_case(self.positions[i].quantity, self.pending[i]);
        let spec = &self.limits.instruments[i];
        let change = worst - self.worst[i];
        self.exposure_milli += change * spec.mini_milli;
        self.margin_used += change as f64 * spec.margin;
        self.worst[i] = worst;
    }

    /// A working order ended without (further) fills: cancelled, rejected or expired. Returns
    /// the quantity released (0 for an unknown id).
    pub fn on_order_closed(&mut self, order_id: &str) -> i64 {
        self.release(order_id, i64::MAX)
    }

    /// Working orders held.
    pub fn working_orders(&self) -> usize {
        self.working.len()
    }

    /// `[buys, sells]` working in a symbol.
    pub fn pending(&self, symbol: &str) -> Result<[i64; 2], RiskInputError> {
        Ok(self.pending[self.instrument(symbol)?])
    }

    #[allow(clippy::too_many_arguments)]
    fn check_opening(
        &self,
        order: &OrderRequest,
        now: i64,
        i: usize,
        price: Option<i64>,
        stop: Option<i64>,
        target: Option<i64>,
        bot: BotLimits,
        worst_new: i64,
    ) -> Result<(), Denial> {
        let l = &self.limits;
        let spec = &l.instruments[i];
        let sign = order.side.sign();
        if self.state == TradingState::Reducing {
            return deny(
                RiskReason::TradingReducing,
                "the account only accepts orders that reduce exposure",
            );
        }
        self.window_check(now)?;
        let entry = || -> Result<i64, Denial> {
            price
                .or_else(|| {
                    let mark = self.marks[i];
                    spec.tick.to_ticks(mark, Rounding::Nearest).ok()
                })
                .ok_or_else(|| {
                    Denial::new(
                        RiskReason::NoReferencePrice,
                        format!(
                            "no price for {} yet: send a limit price or wait for a mark",
                            spec.symbol
                        ),
                    )
                })
        };
        let mut risk_ticks = 0i64;
        match stop {
            None if l.require_stop_loss => {
                return deny(
                    RiskReason::MissingStopLoss,
                    "an opening order must carry a stop-loss",
                );
            }
            None => {}
            Some(sl) => {
                let distance = (entry()? - sl) * sign;
                if distance <= 0 {
                    return deny(
                        RiskReason::StopLossWrongSide,
                        format!(
                            "the stop-loss of a {} must be on the losing side of entry",
                            order.side
                        ),
                    );
                }
                if let Some(max_points) = bot.max_risk_points {
                    let points = distance as f64 * spec.tick.value();
                    if points > max_points + EPS {
                        return Err(Denial::new(
                            RiskReason::StopLossTooFar,
                            format!("stop-loss {points} points from entry, limit {max_points}"),
                        )
                        .with(max_points, points));
                    }
                }
                risk_ticks = distance;
            }
        }
        // A configured reward:risk minimum needs a target to measure (exits never get here).
        let min_rr = bot.min_reward_risk.filter(|r| *r > 0.0);
        if let (None, Some(min_rr)) = (target, min_rr) {
            return Err(Denial::new(
                RiskReason::MissingTakeProfit,
                format!(
                    "an opening order of bot {} must carry a take-profit (minimum reward:risk {min_rr})",
                    order.bot_id
                ),
            )
            .with(min_rr, 0.0));
        }
        if let Some(tp) = target {
            let reward = (tp - entry()?) * sign;
            if reward <= 0 {
                return deny(
                    RiskReason::TakeProfitWrongSide,
                    format!(
                        "the take-profit of a {} must be on the winning side of entry",
                        order.side
                    ),
                );
            }
            if let (Some(min_rr), true) = (min_rr, risk_ticks > 0) {
                let rr = reward as f64 / risk_ticks as f64;
                if rr < min_rr - EPS {
                    return Err(Denial::new(
                        RiskReason::RewardRiskTooLow,
                        format!("reward:risk {rr:.3} is below the minimum {min_rr}"),
                    )
                    .with(min_rr, rr));
                }
            }
        }
        self.check_capacity(i, worst_new)?;
        let order_risk = risk_ticks as f64 * spec.tick_value() * order.quantity as f64;
        let daily = self.daily_pnl();
        if daily <= -l.max_daily_loss + EPS {
            return Err(Denial::new(
                RiskReason::DailyLossLimit,
                format!(
                    "daily P&L {daily:.2} has reached the loss limit {}",
                    l.max_daily_loss
                ),
            )
            .with(l.max_daily_loss, -daily));
        }
        if daily - order_risk <= -l.max_daily_loss + EPS {
            return Err(Denial::new(
                RiskReason::DailyLossLimit,
                format!(
                    "daily P&L {daily:.2} less this order's stop-loss risk {order_risk:.2} would reach the loss limit {}",
                    l.max_daily_loss
                ),
            )
            .with(l.max_daily_loss, order_risk - daily));
        }
        if let Some(profit) = l.max_daily_profit {
            if daily >= profit - EPS {
                return Err(Denial::new(
                    RiskReason::DailyProfitStop,
                    format!("daily P&L {daily:.2} has reached the profit stop {profit}"),
                )
                .with(profit, daily));
            }
        }
        let equity = self.equity();
        let floor = self.drawdown.floor();
        if equity - order_risk <= floor + EPS {
            let message = if equity <= floor + EPS {
                format!("equity {equity:.2} is at the trailing drawdown floor {floor:.2}")
            } else {
                format!("equity {equity:.2} less this order's risk {order_risk:.2} would reach the floor {floor:.2}")
            };
            return Err(
                Denial::new(RiskReason::MaxDrawdown, message).with(floor, equity - order_risk)
            );
        }
        Ok(())
    }

    /// The account's capacity in instrument `i` if its worst case became `worst_new`: contracts
    /// per symbol, per account in mini-equivalents, concentration and margin.
    #[inline]
    fn check_capacity(&self, i: usize, worst_new: i64) -> Result<(), Denial> {
        let l = &self.limits;
        let spec = &l.instruments[i];
        if worst_new > l.max_contracts_per_symbol {
            return Err(Denial::new(
                RiskReason::MaxContractsSymbol,
                format!(
                    "{worst_new} contracts of {} (working orders included), limit {}",
                    spec.symbol, l.max_contracts_per_symbol
                ),
            )
            .with(l.max_contracts_per_symbol as f64, worst_new as f64));
        }
        let worst_old = self.worst[i];
        let symbol_milli = worst_new * spec.mini_milli;
        let exposure = self.exposure_milli - worst_old * spec.mini_milli + symbol_milli;
        if exposure > l.max_open_milli {
            let (limit, value) = (
                l.max_open_milli as f64 / MILLI as f64,
                exposure as f64 / MILLI as f64,
            );
            return Err(Denial::new(
                RiskReason::MaxContractsAccount,
                format!("{value} mini-equivalents open, account limit {limit}"),
            )
            .with(limit, value));
        }
        let cap = (l.max_concentration * l.max_open_milli as f64 + EPS).floor() as i64;
        if symbol_milli > cap {
            let (limit, value) = (
                cap as f64 / MILLI as f64,
                symbol_milli as f64 / MILLI as f64,
            );
            return Err(Denial::new(
                RiskReason::Concentration,
                format!(
                    "{} would take {value} mini-equivalents, concentration cap {limit}",
                    spec.symbol
                ),
            )
            .with(limit, value));
        }
        if let Some(available) = l.available_margin {
            let needed = self.margin_used + (worst_new - worst_old) as f64 * spec.margin;
            if needed > available + EPS {
                return Err(Denial::new(
                    RiskReason::InsufficientMargin,
                    format!("margin {needed:.2} needed, {available:.2} available"),
                )
                .with(available, needed));
            }
        }
        Ok(())
    }

    /// Trading hours and blocked dates.
    fn window_check(&self, now: i64) -> RiskVerdict {
        match self.limits.window.check(now) {
            WindowCheck::Open => Ok(()),
            WindowCheck::Blocked => {
                deny(RiskReason::BlockedDate, "trading is blocked on this date")
            }
            WindowCheck::OutsideHours => {
                deny(RiskReason::OutsideTradingHours, "outside the trading hours")
            }
        }
    }

    /// Applies a fill (of the working order `order_id`, when given); returns the realized P&L
    /// in USD (before fees).
    #[allow(clippy::too_many_arguments)]
    pub fn on_fill(
        &mut self,
        bot_id: &str,
        symbol: &str,
        side: Side,
        quantity: i64,
        price: f64,
        fees: f64,
        order_id: Option<&str>,
    ) -> Result<f64, RiskInputError> {
        let i = self.instrument(symbol)?;
        if quantity <= 0 {
            return Err(RiskInputError::InvalidQuantity(quantity));
        }
        if !(price.is_finite() && price > 0.0) {
            return Err(RiskInputError::NonFinite("price"));
        }
        if !fees.is_finite() {
            return Err(RiskInputError::NonFinite("fees"));
        }
        if let Some(id) = order_id {
            if self
                .working
                .get(id)
                .is_some_and(|w| w.instrument == i && w.side == side_index(side))
            {
                self.release(id, quantity);
            }
        }
        let point_value = self.limits.instruments[i].point_value;
        let signed = side.sign() * quantity;
        let realized = self.positions[i].apply(signed, price) * point_value;
        self.refresh_worst(i);
        self.bot_book(bot_id).positions[i] += signed;
        self.balance += realized - fees;
        self.realized_today += realized;
        self.fees_today += fees;
        self.mark(i, price);
        Ok(realized)
    }

    fn mark(&mut self, i: usize, price: f64) {
        self.marks[i] = price;
        let open = self.positions[i].open_points(price) * self.limits.instruments[i].point_value;
        self.open_pnl += open - self.open_pnl_by[i];
        self.open_pnl_by[i] = open;
        if self.open_pnl_by.iter().all(|&v| v == 0.0) {
            self.open_pnl = 0.0; // no drift once flat
        }
        let equity = self.equity();
        self.drawdown.on_equity(equity);
    }

    /// A new market price for a symbol (open P&L and, intraday, the drawdown peak follow).
    pub fn on_mark(&mut self, symbol: &str, price: f64) -> Result<(), RiskInputError> {
        let i = self.instrument(symbol)?;
        if !(price.is_finite() && price > 0.0) {
            return Err(RiskInputError::NonFinite("price"));
        }
        self.mark(i, price);
        Ok(())
    }

    /// The account balance as the exchange reports it (realized P&L after fees).
    pub fn on_balance(&mut self, balance: f64) -> Result<(), RiskInputError> {
        if !balance.is_finite() {
            return Err(RiskInputError::NonFinite("balance"));
        }
        self.balance = balance;
        let equity = self.equity();
        self.drawdown.on_equity(equity);
        Ok(())
    }

    /// Ends the trading day: the end-of-day balance feeds the trailing drawdown and the daily
    /// P&L starts again from the current equity.
    pub fn new_trading_day(&mut self) {
        self.drawdown.on_end_of_day(self.balance);
        self.day_start_equity = self.equity();
        self.realized_today = 0.0;
        self.fees_today = 0.0;
    }

    /// Restores the drawdown's peak balance (e.g. from the account's history).
    pub fn raise_drawdown_peak(&mut self, peak: f64) {
        self.drawdown.raise_peak(peak);
    }

    pub fn set_trading_state(&mut self, state: TradingState) {
        self.state = state;
    }

    pub fn trading_state(&self) -> TradingState {
        self.state
    }

    pub fn balance(&self) -> f64 {
        self.balance
    }

    pub fn open_pnl(&self) -> f64 {
        self.open_pnl
    }

    pub fn equity(&self) -> f64 {
        self.balance + self.open_pnl
    }

    /// Equity now less equity at the start of the day (realized + open P&L, after fees).
    pub fn daily_pnl(&self) -> f64 {
        self.equity() - self.day_start_equity
    }

    pub fn realized_today(&self) -> f64 {
        self.realized_today
    }

    pub fn fees_today(&self) -> f64 {
        self.fees_today
    }

    pub fn drawdown_floor(&self) -> f64 {
        self.drawdown.floor()
    }

    pub fn drawdown_peak(&self) -> f64 {
        self.drawdown.peak()
    }

    /// Open contracts across the account in mini-equivalents.
    pub fn exposure(&self) -> f64 {
        self.exposure_milli as f64 / MILLI as f64
    }

    pub fn margin_used(&self) -> f64 {
        self.margin_used
    }

    pub fn position(&self, symbol: &str) -> Result<Position, RiskInputError> {
        Ok(self.positions[self.instrument(symbol)?])
    }

    pub fn bot_position(&self, bot_id: &str, symbol: &str) -> Result<i64, RiskInputError> {
        let i = self.instrument(symbol)?;
        Ok(self.bots.get(bot_id).map_or(0, |b| b.positions[i]))
    }

    pub fn mark_price(&self, symbol: &str) -> Result<f64, RiskInputError> {
        Ok(self.marks[self.instrument(symbol)?])
    }
}

#[cfg(test)]
mod tests;
