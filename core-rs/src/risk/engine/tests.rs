use super::*;
use crate::risk::{BotLimits, DrawdownMode, InstrumentSpec, RiskLimits, TradingWindow};
use crate::sessions::UtcOffsets;
use crate::ticks::TickSize;

fn spec(symbol: &str, tick: f64, point_value: f64, mini_milli: i64, margin: f64) -> InstrumentSpec {
    InstrumentSpec {
        symbol: symbol.into(),
        tick: TickSize::new(tick).unwrap(),
        point_value,
        mini_milli,
        margin,
        enabled: true,
    }
}

fn limits() -> RiskLimits {
    let mut l = RiskLimits::permissive(vec![
        spec("ES", 0.25, 50.0, 1000, 500.0),
        spec("MES", 0.25, 5.0, 100, 50.0),
        spec("MGC", 0.1, 10.0, 100, 100.0),
        InstrumentSpec {
            enabled: false,
            ..spec("NQ", 0.25, 20.0, 1000, 500.0)
        },
    ]);
    l.max_order_size = 20;
    l.max_contracts_per_symbol = 20;
    l.max_orders_per_minute = 1000;
    l
}

fn order(symbol: &str, side: Side, quantity: i64, price: f64, sl: f64, tp: f64) -> OrderRequest {
    OrderRequest {
        bot_id: "bot_1".into(),
        symbol: symbol.into(),
        side,
        quantity,
        price: Some(price),
        stop_loss: Some(sl),
        take_profit: Some(tp),
        reduce_only: false,
        order_id: None,
    }
}

fn reason(v: RiskVerdict) -> Option<RiskReason> {
    v.err().map(|d| d.reason)
}

#[test]
fn accepts_a_sane_bracketed_order() {
    let mut e = RiskEngine::new(limits()).unwrap();
    assert_eq!(
        e.check(&order("ES", Side::Buy, 1, 5000.0, 4990.0, 5020.0), 0),
        Ok(())
    );
    assert_eq!(
        e.check(&order("ES", Side::Sell, 1, 5000.0, 5010.0, 4980.0), 0),
        Ok(())
    );
}

#[test]
fn sanity_checks() {
    let mut e = RiskEngine::new(limits()).unwrap();
    let good = order("ES", Side::Buy, 1, 5000.0, 4990.0, 5020.0);
    let cases = [
        (
            OrderRequest {
                quantity: 0,
                ..good.clone()
            },
            RiskReason::InvalidQuantity,
        ),
        (
            OrderRequest {
                quantity: 21,
                ..good.clone()
            },
            RiskReason::MaxOrderSize,
        ),
        (
            OrderRequest {
                symbol: "ZZ".into(),
                ..good.clone()
            },
            RiskReason::UnknownSymbol,
        ),
        (
            OrderRequest {
                symbol: "NQ".into(),
                ..good.clone()
            },
            RiskReason::SymbolDisabled,
        ),
        (
            OrderRequest {
                price: Some(f64::NAN),
                ..good.clone()
            },
            RiskReason::InvalidPrice,
        ),
        (
            OrderRequest {
                price: Some(-1.0),
                ..good.clone()
            },
            RiskReason::InvalidPrice,
        ),
        (
            OrderRequest {
                price: Some(5000.1),
                ..good.clone()
            },
            RiskReason::PriceOffTick,
        ),
        (
            OrderRequest {
                stop_loss: Some(4990.3),
                ..good.clone()
            },
            RiskReason::PriceOffTick,
        ),
        (
            OrderRequest {
                stop_loss: None,
                ..good.clone()
            },
            RiskReason::MissingStopLoss,
        ),
        (
            OrderRequest {
                stop_loss: Some(5001.0),
                ..good.clone()
            },
            RiskReason::StopLossWrongSide,
        ),
        (
            OrderRequest {
                take_profit: Some(4999.0),
                ..good.clone()
            },
            RiskReason::TakeProfitWrongSide,
        ),
        (
            OrderRequest {
                price: None,
                ..good.clone()
            },
            RiskReason::NoReferencePrice,
        ),
        (
            OrderRequest {
                reduce_only: true,
                ..good.clone()
            },
            RiskReason::ReduceOnlyViolation,
        ),
    ];
    for (o, want) in cases {
        assert_eq!(reason(e.check(&o, 0)), Some(want), "{o:?}");
    }
}

#[test]
fn bot_limits_on_risk_points_and_reward_risk() {
    let mut l = limits();
    l.bots.push((
        "bot_1".into(),
        BotLimits {
            max_contracts: Some(2),
            max_orders_per_minute: Some(2),
            max_risk_points: Some(10.0),
            min_reward_risk: Some(2.0),
        },
    ));
    let mut e = RiskEngine::new(l).unwrap();
    assert_eq!(
        reason(e.check(&order("ES", Side::Buy, 1, 5000.0, 4989.75, 5030.0), 0)),
        Some(RiskReason::StopLossTooFar)
    );
    assert_eq!(
        reason(e.check(&order("ES", Side::Buy, 1, 5000.0, 4990.0, 5019.75), 0)),
        Some(RiskReason::RewardRiskTooLow)
    );
    assert_eq!(
        reason(e.check(&order("ES", Side::Buy, 3, 5000.0, 4990.0, 5020.0), 0)),
        Some(RiskReason::MaxContractsBot)
    );
    assert_eq!(
        e.check(&order("ES", Side::Buy, 1, 5000.0, 4990.0, 5020.0), 0),
        Ok(())
    );
    assert_eq!(
        e.check(&order("ES", Side::Buy, 1, 5000.0, 4990.0, 5020.0), 0),
        Ok(())
    );
    assert_eq!(
        reason(e.check(&order("ES", Side::Buy, 1, 5000.0, 4990.0, 5020.0), 0)),
        Some(RiskReason::RateLimited)
    );
}

#[test]
fn micros_count_ten_to_one() {
    let mut e = RiskEngine::new(limits()).unwrap(); // 5 minis
    e.on_fill("bot_1", "ES", Side::Buy, 4, 5000.0, 0.0, None)
        .unwrap();
    // 4 minis + 10 micros = 5 minis: allowed; one more micro is over.
    assert_eq!(
        e.check(&order("MES", Side::Buy, 10, 5000.0, 4999.0, 5002.0), 0),
        Ok(())
    );
    e.on_fill("bot_1", "MES", Side::Buy, 10, 5000.0, 0.0, None)
        .unwrap();
    assert_eq!(e.exposure(), 5.0);
    assert_eq!(
        reason(e.check(&order("MGC", Side::Buy, 1, 2000.0, 1999.0, 2002.0), 0)),
        Some(RiskReason::MaxContractsAccount)
    );
    // Reducing is always possible, even with no stop-loss.
    let exit = OrderRequest {
        stop_loss: None,
        take_profit: None,
        ..order("ES", Side::Sell, 2, 5000.0, 0.0, 0.0)
    };
    assert_eq!(e.check(&exit, 0), Ok(()));
}

#[test]
fn concentration_and_margin() {
    let mut l = limits();
    l.max_concentration = 0.4; // 2 minis of 5
    l.available_margin = Some(1200.0);
    let mut e = RiskEngine::new(l).unwrap();
    assert_eq!(
        reason(e.check(&order("ES", Side::Buy, 3, 5000.0, 4999.0, 5002.0), 0)),
        Some(RiskReason::Concentration)
    );
    assert_eq!(
        e.check(&order("ES", Side::Buy, 2, 5000.0, 4999.0, 5002.0), 0),
        Ok(())
    );
    e.on_fill("b", "ES", Side::Buy, 2, 5000.0, 0.0, None)
        .unwrap();
    assert_eq!(e.margin_used(), 1000.0);
    assert_eq!(
        reason(e.check(&order("MGC", Side::Buy, 3, 2000.0, 1999.0, 2002.0), 0)),
        Some(RiskReason::InsufficientMargin)
    );
    assert_eq!(
        e.check(&order("MGC", Side::Buy, 2, 2000.0, 1999.0, 2002.0), 0),
        Ok(())
    );
}

#[test]
fn daily_loss_counts_open_pnl_and_the_orders_own_risk() {
    let mut e = RiskEngine::new(limits()).unwrap(); // daily loss 1000
    e.on_fill("bot_1", "ES", Side::Buy, 1, 5000.0, 2.0, None)
        .unwrap();
    e.on_mark("ES", 4985.0).unwrap(); // -750 open, -2 fees
    assert_eq!(e.daily_pnl(), -752.0);
    // A 1-contract ES order risking 5 points (250) would reach -1002.
    assert_eq!(
        reason(e.check(&order("ES", Side::Buy, 1, 4985.0, 4980.0, 5000.0), 0)),
        Some(RiskReason::DailyLossLimit)
    );
    assert_eq!(
        e.check(&order("ES", Side::Buy, 1, 4985.0, 4980.25, 5000.0), 0),
        Ok(())
    );
    e.on_mark("ES", 4979.75).unwrap();
    assert_eq!(
        reason(e.check(&order("MES", Side::Buy, 1, 4980.0, 4979.75, 4981.0), 0)),
        Some(RiskReason::DailyLossLimit)
    );
    // Closing out is still allowed (by the bot that holds the position).
    let exit = OrderRequest {
        stop_loss: None,
        take_profit: None,
        price: None,
        ..order("ES", Side::Sell, 1, 1.0, 0.0, 0.0)
    };
    assert_eq!(e.check(&exit, 0), Ok(()));
    assert_eq!(
        e.on_fill("bot_1", "ES", Side::Sell, 1, 4979.75, 2.0, None)
            .unwrap(),
        -1012.5
    );
    e.new_trading_day();
    assert_eq!(e.daily_pnl(), 0.0);
    assert_eq!(e.balance(), 50_000.0 - 1016.5);
}

#[test]
fn profit_stop_and_trailing_drawdown() {
    let mut l = limits();
    l.max_daily_profit = Some(500.0);
    l.drawdown_mode = DrawdownMode::Intraday;
    l.max_daily_loss = 1900.0;
    let mut e = RiskEngine::new(l).unwrap();
    e.on_fill("b", "ES", Side::Buy, 1, 5000.0, 0.0, None)
        .unwrap();
    e.on_mark("ES", 5010.0).unwrap(); // +500 open
    assert_eq!(
        reason(e.check(&order("MES", Side::Buy, 1, 5010.0, 5009.0, 5012.0), 0)),
        Some(RiskReason::DailyProfitStop)
    );
    assert_eq!(e.drawdown_floor(), 48_500.0);
    e.on_mark("ES", 4980.0).unwrap(); // equity 49,000: 500 above the intraday floor
    assert_eq!(
        reason(e.check(&order("ES", Side::Buy, 1, 4980.0, 4969.75, 5000.0), 0)),
        Some(RiskReason::MaxDrawdown)
    );
    assert_eq!(
        e.check(&order("MES", Side::Buy, 1, 4980.0, 4979.0, 4982.0), 0),
        Ok(())
    );
}

#[test]
fn trading_states_and_hours() {
    let mut l = limits();
    l.window = TradingWindow::new(
        UtcOffsets::fixed(0),
        8 * 60,
        15 * 60,
        &[1, 2, 3, 4, 5],
        &[19_724],
    )
    .unwrap();
    let mut e = RiskEngine::new(l).unwrap();
    let monday_9 = 19_723 * 86_400_000_000_000 + 9 * 3_600_000_000_000;
    let o = order("ES", Side::Buy, 1, 5000.0, 4990.0, 5020.0);
    assert_eq!(e.check(&o, monday_9), Ok(()));
    assert_eq!(
        reason(e.check(&o, monday_9 - 2 * 3_600_000_000_000)),
        Some(RiskReason::OutsideTradingHours)
    );
    assert_eq!(
        reason(e.check(&o, monday_9 + 86_400_000_000_000)),
        Some(RiskReason::BlockedDate)
    );
    e.on_fill("bot_1", "ES", Side::Buy, 2, 5000.0, 0.0, None)
        .unwrap();
    e.set_trading_state(TradingState::Reducing);
    assert_eq!(
        reason(e.check(&o, monday_9)),
        Some(RiskReason::TradingReducing)
    );
    let exit = OrderRequest {
        stop_loss: None,
        take_profit: None,
        ..order("ES", Side::Sell, 1, 5000.0, 0.0, 0.0)
    };
    assert_eq!(e.check(&exit, monday_9 - 2 * 3_600_000_000_000), Ok(()));
    // Flipping through zero opens a new position: not a reduction.
    let flip = OrderRequest {
        quantity: 3,
        ..exit.clone()
    };
    assert_eq!(
        reason(e.check(&flip, monday_9)),
        Some(RiskReason::TradingReducing)
    );
    e.set_trading_state(TradingState::Halted);
    assert_eq!(
        reason(e.check(&exit, monday_9)),
        Some(RiskReason::TradingHalted)
    );
}

#[test]
fn every_reason_has_a_distinct_wire_name() {
    let mut names: Vec<&str> = RiskReason::ALL.iter().map(|r| r.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), RiskReason::ALL.len());
}

fn with_id(o: OrderRequest, id: &str) -> OrderRequest {
    OrderRequest {
        order_id: Some(id.into()),
        ..o
    }
}

#[test]
fn working_orders_count_against_the_limits_until_filled_or_closed() {
    let mut l = limits();
    l.max_contracts_per_symbol = 3;
    let mut e = RiskEngine::new(l).unwrap();
    let buy2 = order("ES", Side::Buy, 2, 5000.0, 4995.0, 5020.0);
    assert_eq!(e.check(&with_id(buy2.clone(), "a"), 0), Ok(()));
    assert_eq!(e.working_orders(), 1);
    assert_eq!(e.pending("ES").unwrap(), [2, 0]);
    assert_eq!(e.exposure(), 2.0);
    // 2 working + 2 more would be 4 > 3, though nothing has filled yet.
    assert_eq!(
        reason(e.check(&with_id(buy2.clone(), "b"), 0)),
        Some(RiskReason::MaxContractsSymbol)
    );
    assert_eq!(
        reason(e.check(&with_id(buy2.clone(), "a"), 0)),
        Some(RiskReason::DuplicateOrder)
    );
    // A partial fill moves one contract from working to the position.
    e.on_fill("bot_1", "ES", Side::Buy, 1, 5000.0, 0.0, Some("a"))
        .unwrap();
    assert_eq!(e.pending("ES").unwrap(), [1, 0]);
    assert_eq!(e.exposure(), 2.0);
    // Cancelling the rest frees it.
    assert_eq!(e.on_order_closed("a"), 1);
    assert_eq!(e.on_order_closed("a"), 0);
    assert_eq!((e.working_orders(), e.exposure()), (0, 1.0));
    assert_eq!(e.check(&with_id(buy2, "b"), 0), Ok(()));
}

#[test]
fn working_exits_cannot_flip_the_position() {
    let mut e = RiskEngine::new(limits()).unwrap();
    e.on_fill("bot_1", "ES", Side::Buy, 2, 5000.0, 0.0, None)
        .unwrap();
    e.set_trading_state(TradingState::Reducing);
    let exit = OrderRequest {
        stop_loss: None,
        take_profit: None,
        ..order("ES", Side::Sell, 2, 5000.0, 0.0, 0.0)
    };
    assert_eq!(e.check(&with_id(exit.clone(), "x1"), 0), Ok(()));
    // A second exit of 2 while the first is working would go short 2: not a reduction.
    assert_eq!(
        reason(e.check(&with_id(exit.clone(), "x2"), 0)),
        Some(RiskReason::TradingReducing)
    );
    e.on_fill("bot_1", "ES", Side::Sell, 2, 5001.0, 0.0, Some("x1"))
        .unwrap();
    assert_eq!((e.working_orders(), e.exposure()), (0, 0.0));
}

fn by(bot_id: &str, o: OrderRequest) -> OrderRequest {
    OrderRequest {
        bot_id: bot_id.into(),
        ..o
    }
}

/// A market order with neither stop-loss nor take-profit: what an exit looks like.
fn bare(bot_id: &str, symbol: &str, side: Side, quantity: i64) -> OrderRequest {
    OrderRequest {
        price: None,
        stop_loss: None,
        take_profit: None,
        ..by(bot_id, order(symbol, side, quantity, 1.0, 0.0, 0.0))
    }
}

#[test]
fn an_unattributed_fill_makes_the_account_decide_what_an_exit_is() {
    let mut e = RiskEngine::new(limits()).unwrap();
    e.on_fill("a", "ES", Side::Buy, 3, 5000.0, 0.0, None)
        .unwrap();
    // A's stop fills, but the fill reaches the engine without its bot: the account is flat,
    // A's own book still says long 3.
    e.on_fill(UNATTRIBUTED, "ES", Side::Sell, 3, 4990.0, 0.0, None)
        .unwrap();
    e.set_trading_state(TradingState::Reducing);
    let a_sells = bare("a", "ES", Side::Sell, 3);
    // Not an exit: it would open a short, unchecked.
    assert_eq!(
        reason(e.check(&a_sells, 0)),
        Some(RiskReason::TradingReducing)
    );
    e.set_trading_state(TradingState::Active);
    assert_eq!(
        reason(e.check(&a_sells, 0)),
        Some(RiskReason::MissingStopLoss)
    );
    // Once the account holds a position again, an order bringing it toward zero is an exit.
    e.on_fill("b", "ES", Side::Buy, 2, 4990.0, 0.0, None)
        .unwrap();
    e.set_trading_state(TradingState::Reducing);
    assert_eq!(e.check(&bare("b", "ES", Side::Sell, 2), 0), Ok(()));
    assert_eq!(
        reason(e.check(&bare("b", "ES", Side::Sell, 3), 0)),
        Some(RiskReason::TradingReducing)
    );
}

#[test]
fn another_bots_position_does_not_make_an_order_an_exit() {
    let mut e = RiskEngine::new(limits()).unwrap();
    e.on_fill("a", "ES", Side::Buy, 3, 5000.0, 0.0, None)
        .unwrap();
    // B is flat: its sell opens a short, though it would net the account down from 3 to 1.
    let b_sells = bare("b", "ES", Side::Sell, 2);
    assert_eq!(
        reason(e.check(&b_sells, 0)),
        Some(RiskReason::MissingStopLoss)
    );
    assert_eq!(
        reason(e.check(
            &OrderRequest {
                reduce_only: true,
                ..b_sells.clone()
            },
            0
        )),
        Some(RiskReason::ReduceOnlyViolation)
    );
    e.set_trading_state(TradingState::Reducing);
    assert_eq!(
        reason(e.check(&b_sells, 0)),
        Some(RiskReason::TradingReducing)
    );
    // A's own exit needs no stop-loss, in any state but HALTED.
    let a_exits = bare("a", "ES", Side::Sell, 3);
    assert_eq!(e.check(&a_exits, 0), Ok(()));
    e.set_trading_state(TradingState::Active);
    assert_eq!(e.check(&a_exits, 0), Ok(()));
    // Past the daily loss limit B still cannot open, even with a stop-loss; A can still exit.
    e.on_mark("ES", 4990.0).unwrap(); // -1500 open
    let b_bracketed = by("b", order("ES", Side::Sell, 1, 4990.0, 4995.0, 4980.0));
    assert_eq!(
        reason(e.check(&b_bracketed, 0)),
        Some(RiskReason::DailyLossLimit)
    );
    assert_eq!(e.check(&a_exits, 0), Ok(()));
}

#[test]
fn a_bot_exits_its_own_position_whatever_the_account_holds() {
    let mut e = RiskEngine::new(limits()).unwrap();
    e.on_fill("a", "ES", Side::Buy, 3, 5000.0, 0.0, None)
        .unwrap();
    e.on_fill("b", "ES", Side::Sell, 2, 5000.0, 0.0, None)
        .unwrap();
    assert_eq!(e.position("ES").unwrap().quantity, 1);
    e.set_trading_state(TradingState::Reducing);
    // A's sell of 3 takes the account from +1 to -2 (B's short): still A's exit.
    assert_eq!(e.check(&bare("a", "ES", Side::Sell, 3), 0), Ok(()));
    assert_eq!(
        e.check(
            &OrderRequest {
                reduce_only: true,
                ..bare("a", "ES", Side::Sell, 1)
            },
            0
        ),
        Ok(())
    );
    // B's buy of 2 takes the account from +1 to +3 (A's long): B's exit.
    assert_eq!(e.check(&bare("b", "ES", Side::Buy, 2), 0), Ok(()));
    // Through zero is not an exit, for either bot.
    assert_eq!(
        reason(e.check(&bare("a", "ES", Side::Sell, 4), 0)),
        Some(RiskReason::TradingReducing)
    );
    assert_eq!(
        reason(e.check(&bare("b", "ES", Side::Buy, 3), 0)),
        Some(RiskReason::TradingReducing)
    );
    // The wrong direction is not an exit either.
    assert_eq!(
        reason(e.check(&bare("a", "ES", Side::Buy, 1), 0)),
        Some(RiskReason::TradingReducing)
    );
    // A bot's working exits count: a second exit of 2 after a working one of 2 flips B.
    e.set_trading_state(TradingState::Active);
    assert_eq!(
        e.check(&with_id(bare("b", "ES", Side::Buy, 2), "x1"), 0),
        Ok(())
    );
    assert_eq!(
        reason(e.check(&with_id(bare("b", "ES", Side::Buy, 2), "x2"), 0)),
        Some(RiskReason::MissingStopLoss)
    );
    // ... but another bot's working orders do not.
    assert_eq!(e.check(&bare("a", "ES", Side::Sell, 3), 0), Ok(()));
}

#[test]
fn an_exit_that_grows_the_account_must_fit_the_account_limits() {
    let mut l = limits();
    l.max_contracts_per_symbol = 5;
    l.available_margin = Some(4_000.0); // 8 ES
    let mut e = RiskEngine::new(l).unwrap();
    // Filled as they came (fills are never refused): A +5, B -5, C -5; the account is -5.
    e.on_fill("a", "ES", Side::Buy, 5, 5000.0, 0.0, None)
        .unwrap();
    e.on_fill("b", "ES", Side::Sell, 5, 5000.0, 0.0, None)
        .unwrap();
    e.on_fill("c", "ES", Side::Sell, 5, 5000.0, 0.0, None)
        .unwrap();
    assert_eq!(e.exposure(), 5.0);
    // A's exit would leave the account short 10.
    let denied = e.check(&bare("a", "ES", Side::Sell, 5), 0).unwrap_err();
    assert_eq!(denied.reason, RiskReason::MaxContractsSymbol);
    assert_eq!((denied.limit, denied.value), (Some(5.0), Some(10.0)));
    // With looser contract limits, 1 more (short 6: 3000 of margin) is still over the margin.
    let mut l = limits();
    l.max_open_milli = 20 * MILLI;
    l.available_margin = Some(2_900.0);
    let mut e2 = RiskEngine::new(l).unwrap();
    for (bot, side) in [("a", Side::Buy), ("b", Side::Sell), ("c", Side::Sell)] {
        e2.on_fill(bot, "ES", side, 5, 5000.0, 0.0, None).unwrap();
    }
    assert_eq!(
        reason(e2.check(&bare("a", "ES", Side::Sell, 1), 0)),
        Some(RiskReason::InsufficientMargin)
    );
    // Exits that do not grow the account are not held to them: B and C buy back.
    assert_eq!(e.check(&bare("b", "ES", Side::Buy, 5), 0), Ok(()));
    assert_eq!(e2.check(&bare("c", "ES", Side::Buy, 5), 0), Ok(()));
    e.set_trading_state(TradingState::Reducing);
    assert_eq!(e.check(&bare("c", "ES", Side::Buy, 5), 0), Ok(()));
}

#[test]
fn a_minimum_reward_risk_needs_a_take_profit_on_openings_only() {
    let mut l = limits();
    l.default_bot.min_reward_risk = Some(2.0);
    let mut e = RiskEngine::new(l).unwrap();
    let no_tp = OrderRequest {
        take_profit: None,
        ..order("ES", Side::Buy, 1, 5000.0, 4990.0, 0.0)
    };
    let denied = e.check(&no_tp, 0).unwrap_err();
    assert_eq!(denied.reason, RiskReason::MissingTakeProfit);
    assert_eq!(denied.limit, Some(2.0));
    // The stop-loss is checked first.
    assert_eq!(
        reason(e.check(
            &OrderRequest {
                stop_loss: None,
                ..no_tp.clone()
            },
            0
        )),
        Some(RiskReason::MissingStopLoss)
    );
    assert_eq!(
        e.check(&order("ES", Side::Buy, 1, 5000.0, 4990.0, 5020.0), 0),
        Ok(())
    );
    // An exit needs no target.
    e.on_fill("bot_1", "ES", Side::Buy, 1, 5000.0, 0.0, None)
        .unwrap();
    assert_eq!(e.check(&bare("bot_1", "ES", Side::Sell, 1), 0), Ok(()));
    // Without a minimum (or a zero one) a target stays optional.
    for min_rr in [None, Some(0.0)] {
        let mut l = limits();
        l.default_bot.min_reward_risk = min_rr;
        let mut e = RiskEngine::new(l).unwrap();
        assert_eq!(e.check(&no_tp, 0), Ok(()));
    }
}
