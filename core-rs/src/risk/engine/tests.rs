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
    e.on_fill("b", "ES", Side::Buy, 1, 5000.0, 2.0, None)
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
    // Closing out is still allowed.
    let exit = OrderRequest {
        stop_loss: None,
        take_profit: None,
        price: None,
        ..order("ES", Side::Sell, 1, 1.0, 0.0, 0.0)
    };
    assert_eq!(e.check(&exit, 0), Ok(()));
    assert_eq!(
        e.on_fill("b", "ES", Side::Sell, 1, 4979.75, 2.0, None)
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
    e.on_fill("b", "ES", Side::Buy, 2, 5000.0, 0.0, None)
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
