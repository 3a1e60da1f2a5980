//! The FIFO round-trip matcher, Rust-side ns a fill (the backtest benchmark's pattern: one
//! contract reversing, each cross an exit and an entry; and scaling in and out).
//! Run: `cargo bench -p tsxbot-core --bench pnl`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tsxbot_core::pnl::{FifoMatcher, Fill};
use tsxbot_core::side::Side;

fn fill(id: &str, side: Side, quantity: i64, price: f64, ts_ns: i64) -> Fill<'_> {
    Fill {
        fill_id: id,
        bot_id: "bench",
        symbol: "MES",
        side,
        quantity,
        price,
        ts_ns,
        fees: Some(1.24 * quantity as f64),
        stop_loss: Some(price - 100.0),
    }
}

/// `add` a fill at a time over `ids`, the side of the n-th fill by `side` (a fresh matcher once
/// the ids run out).
fn bench_pattern(c: &mut Criterion, name: &str, ids: &[String], side: fn(usize) -> Side) {
    c.bench_function(name, |b| {
        let mut m = FifoMatcher::new("bench", "MES", 5.0, 1.24).unwrap();
        let mut n = 0usize;
        b.iter(|| {
            if n == ids.len() {
                m = FifoMatcher::new("bench", "MES", 5.0, 1.24).unwrap();
                n = 0;
            }
            let price = 5000.0 + (n % 7) as f64 * 0.25;
            let closed = m.add(&fill(&ids[n], side(n), 1, price, n as i64)).unwrap();
            n += 1;
            black_box(closed)
        })
    });
}

fn bench_matcher(c: &mut Criterion) {
    let ids: Vec<String> = (0..1_000_000).map(|i| format!("bench-{i}")).collect();
    let alternate = |n: usize| if n % 2 == 0 { Side::Buy } else { Side::Sell };
    let scale = |n: usize| if n % 6 < 3 { Side::Buy } else { Side::Sell };
    bench_pattern(
        c,
        "FifoMatcher::add, one contract in and out (a fill)",
        &ids,
        alternate,
    );
    bench_pattern(
        c,
        "FifoMatcher::add, scaling 3 in and 3 out (a fill)",
        &ids,
        scale,
    );
    let mut m = FifoMatcher::new("bench", "MES", 5.0, 1.24).unwrap();
    for (n, id) in ids.iter().take(3).enumerate() {
        m.add(&fill(id, Side::Buy, 1, 5000.0 + n as f64, n as i64))
            .unwrap();
    }
    c.bench_function("FifoMatcher::equity, 3 lots", |b| {
        b.iter(|| black_box(m.equity(black_box(5001.0))))
    });
}

criterion_group!(benches, bench_matcher);
criterion_main!(benches);
