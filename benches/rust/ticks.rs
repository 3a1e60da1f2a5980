//! Tick arithmetic, Rust-side ns/op. Run: `cargo bench -p tsxbot-core --bench ticks`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use tsxbot_core::ticks::{Rounding, TickSize};

fn bench_ticks(c: &mut Criterion) {
    let es = TickSize::new(0.25).unwrap();
    c.bench_function("ticks/to_ticks_nearest", |b| {
        b.iter(|| es.to_ticks(black_box(5012.37), Rounding::Nearest))
    });
    c.bench_function("ticks/to_price", |b| {
        b.iter(|| es.to_price(black_box(20_049)))
    });
    c.bench_function("ticks/round_down", |b| {
        b.iter(|| es.round(black_box(5012.37), Rounding::Down))
    });
    c.bench_function("ticks/new", |b| b.iter(|| TickSize::new(black_box(0.1))));
}

criterion_group!(benches, bench_ticks);
criterion_main!(benches);
