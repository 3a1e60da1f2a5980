//! Order book and envelope codec, Rust-side ns/op.
//! Run: `cargo bench -p tsxbot-core --bench market_data`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tsxbot_core::codec;
use tsxbot_core::orderbook::{DepthRow, DomType, OrderBook};
use tsxbot_core::ticks::TickSize;

const ENVELOPE: &[u8] = br#"{"type":"ORDER_SUBMISSION","timestamp":"2026-11-25T00:18:22.734850Z","source":"bot_1","payload":{"orderId":"uuid-1","symbol":"MGC","side":"BUY","quantity":1,"orderType":"MARKET","limitPrice":null,"stopPrice":null,"trailTicks":null,"stopLoss":1850.0,"takeProfit":1870.0,"accountId":null,"reduceOnly":false,"priority":0},"metadata":{"strategy":"PDH_PDL","signal":"BREAKOUT","messageId":"af091e79210c-1"}}"#;

fn bench_book(c: &mut Criterion) {
    let mut book = OrderBook::new(TickSize::new(0.25).unwrap());
    let rows: Vec<DepthRow> = (0..1024i64)
        .map(|i| {
            let bid = i % 2 == 0;
            let offset = 0.25 * (1 + i % 8) as f64;
            DepthRow {
                ts: i,
                dom_type: if bid { DomType::Bid } else { DomType::Ask },
                price: if bid {
                    5000.0 - offset
                } else {
                    5000.0 + offset
                },
                volume: i % 20,
            }
        })
        .collect();
    let mut i = 0usize;
    let mut ts = 0i64;
    c.bench_function("orderbook/apply_level", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            ts += 1;
            book.apply(black_box(DepthRow { ts, ..rows[i] }))
        })
    });
    c.bench_function("orderbook/imbalance_5", |b| {
        b.iter(|| black_box(&book).imbalance(5))
    });
}

fn bench_codec(c: &mut Criterion) {
    let envelope = codec::decode(ENVELOPE).unwrap();
    c.bench_function("codec/decode_order_submission", |b| {
        b.iter(|| codec::decode(black_box(ENVELOPE)))
    });
    c.bench_function("codec/encode_order_submission", |b| {
        b.iter(|| codec::encode(black_box(&envelope)))
    });
}

criterion_group!(benches, bench_book, bench_codec);
criterion_main!(benches);
