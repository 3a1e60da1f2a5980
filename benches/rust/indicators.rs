//! Indicators and bars, Rust-side ns/op. Run: `cargo bench -p tsxbot-core --bench indicators`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use tsxbot_core::bars::BarAggregator;
use tsxbot_core::indicators::{
    batch, Adx, Aggressor, Atr, CumulativeDelta, Ema, Hlc, Indicator, Print, ProfileParams,
    SessionAnchor, VolumeProfile, Vwap,
};
use tsxbot_core::sessions::{SessionCalendar, SessionKind, NANOS_PER_DAY};
use tsxbot_core::ticks::TickSize;

/// A deterministic random walk (no rand crate).
fn walk(n: usize) -> Vec<f64> {
    let mut x = 5000.0;
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            x += (seed % 9) as f64 * 0.25 - 1.0;
            x
        })
        .collect()
}

fn bench_indicators(c: &mut Criterion) {
    let closes = walk(1024);
    let bars: Vec<Hlc> = closes
        .iter()
        .map(|&c| Hlc {
            high: c + 1.0,
            low: c - 0.75,
            close: c,
        })
        .collect();
    let mut i = 0usize;
    let mut ema = Ema::new(14).unwrap();
    c.bench_function("indicators/ema_update", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            ema.update(black_box(closes[i]))
        })
    });
    let mut atr = Atr::new(14).unwrap();
    c.bench_function("indicators/atr_update", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            atr.update(black_box(bars[i]))
        })
    });
    let mut adx = Adx::new(14).unwrap();
    c.bench_function("indicators/adx_update", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            adx.update(black_box(bars[i]))
        })
    });
    let prints: Vec<Print> = closes
        .iter()
        .enumerate()
        .map(|(k, &p)| Print {
            ts: k as i64,
            price: p,
            size: (k % 7 + 1) as f64,
            aggressor: if k % 2 == 0 {
                Aggressor::Buy
            } else {
                Aggressor::Sell
            },
        })
        .collect();
    let mut vwap = Vwap::new(SessionAnchor::new(None));
    c.bench_function("indicators/vwap_update", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            vwap.update(black_box(prints[i]))
        })
    });
    let mut profile = VolumeProfile::new(
        TickSize::new(0.25).unwrap(),
        ProfileParams::default(),
        SessionAnchor::new(None),
    )
    .unwrap();
    c.bench_function("indicators/volume_profile_update", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            profile.update(black_box(prints[i]))
        })
    });
    c.bench_function("indicators/volume_profile_value_area", |b| {
        b.iter(|| black_box(&profile).value_area())
    });
    let mut delta = CumulativeDelta::new(5, SessionAnchor::new(None)).unwrap();
    c.bench_function("indicators/cumulative_delta_update", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            delta.update(black_box(prints[i]))
        })
    });
    let long = walk(100_000);
    c.bench_function("indicators/ema_batch_100k", |b| {
        b.iter(|| batch::ema(black_box(&long), 20))
    });
}

fn bench_bars(c: &mut Criterion) {
    let calendar = Arc::new(SessionCalendar::cme_fixed(-6 * 3600));
    let monday_10 = 19_723 * NANOS_PER_DAY + 16 * 3_600_000_000_000;
    let prices = walk(1024);
    let mut agg = BarAggregator::new(calendar, SessionKind::Eth, 60).unwrap();
    let mut ts = monday_10;
    let mut i = 0usize;
    c.bench_function("bars/update_1m_bars", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            ts += 10_000_000; // 100 trades a second
            if ts > monday_10 + 5 * 3_600_000_000_000 {
                ts = monday_10;
                agg.reset();
            }
            agg.update(black_box(Print {
                ts,
                price: prices[i],
                size: 1.0,
                aggressor: Aggressor::Buy,
            }))
        })
    });
}

criterion_group!(benches, bench_indicators, bench_bars);
criterion_main!(benches);
