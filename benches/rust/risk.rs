//! Pre-trade risk check, sizing and brackets, Rust-side ns/op.
//! Run: `cargo bench -p tsxbot-core --bench risk`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tsxbot_core::risk::{
    BotLimits, InstrumentSpec, OrderRequest, RiskEngine, RiskLimits, TradingWindow,
};
use tsxbot_core::sessions::UtcOffsets;
use tsxbot_core::side::Side;
use tsxbot_core::sizing::{bracket, contracts_for_risk, StopDistance, TargetDistance};
use tsxbot_core::ticks::TickSize;

fn spec(symbol: &str, tick: f64, point_value: f64, mini_milli: i64) -> InstrumentSpec {
    InstrumentSpec {
        symbol: symbol.into(),
        tick: TickSize::new(tick).unwrap(),
        point_value,
        mini_milli,
        margin: 500.0,
        enabled: true,
    }
}

fn bench_risk(c: &mut Criterion) {
    let mut limits = RiskLimits::permissive(vec![
        spec("ES", 0.25, 50.0, 1000),
        spec("MES", 0.25, 5.0, 100),
        spec("NQ", 0.25, 20.0, 1000),
        spec("MGC", 0.1, 10.0, 100),
    ]);
    limits.max_orders_per_minute = u32::MAX;
    limits.available_margin = Some(10_000.0);
    // Chicago in winter, the 17:00 -> 15:10 window, Monday to Friday: the real config's shape.
    limits.window = TradingWindow::new(
        UtcOffsets::fixed(-6 * 3600),
        17 * 60,
        15 * 60 + 10,
        &[1, 2, 3, 4, 5],
        &[],
    )
    .unwrap();
    limits.bots.push((
        "bot_1".into(),
        BotLimits {
            max_contracts: Some(3),
            max_orders_per_minute: Some(u32::MAX),
            max_risk_points: Some(20.0),
            min_reward_risk: Some(1.5),
        },
    ));
    let mut engine = RiskEngine::new(limits).unwrap();
    engine
        .on_fill("bot_2", "MGC", Side::Buy, 2, 2000.0, 1.0, None)
        .unwrap();
    engine.on_mark("MGC", 2001.0).unwrap();
    let order = OrderRequest {
        bot_id: "bot_1".into(),
        symbol: "ES".into(),
        side: Side::Buy,
        quantity: 1,
        price: Some(5000.0),
        stop_loss: Some(4990.0),
        take_profit: Some(5020.0),
        reduce_only: false,
        order_id: None,
    };
    let monday_10 = 19_723 * 86_400_000_000_000 + 16 * 3_600_000_000_000;
    assert_eq!(engine.check(&order, monday_10), Ok(()));
    c.bench_function("risk/check_accepted", |b| {
        b.iter(|| engine.check(black_box(&order), monday_10))
    });
    let wrong = OrderRequest {
        stop_loss: Some(5010.0),
        ..order.clone()
    };
    c.bench_function("risk/check_denied", |b| {
        b.iter(|| engine.check(black_box(&wrong), monday_10))
    });
    c.bench_function("risk/on_mark", |b| {
        b.iter(|| engine.on_mark(black_box("MGC"), black_box(2001.5)))
    });
}

fn bench_sizing(c: &mut Criterion) {
    let es = TickSize::new(0.25).unwrap();
    c.bench_function("sizing/contracts_for_risk", |b| {
        b.iter(|| contracts_for_risk(black_box(100.0), black_box(3.0), es, 50.0, 10))
    });
    c.bench_function("sizing/bracket_points_r", |b| {
        b.iter(|| {
            bracket(
                Side::Buy,
                black_box(5000.0),
                es,
                StopDistance::Points(2.1),
                Some(TargetDistance::R(2.0)),
            )
        })
    });
}

criterion_group!(benches, bench_risk, bench_sizing);
criterion_main!(benches);
