// Criterion benchmark of rendering one certificate PDF (fonts parsed once before, as at server start).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or bench that fails panics: that is its report

use criterion::{criterion_group, criterion_main, Criterion};
use ecolabel::render::pdf::{render, sample_view, warm_up};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    warm_up().unwrap();
    let v = sample_view("Smart Plastic Zone");
    let size = render(&v).unwrap().len();
    eprintln!("certificate PDF size: {size} bytes");
    c.bench_function("render certificate PDF", |b| b.iter(|| render(black_box(&v)).unwrap()));
}

criterion_group!(benches, bench);
criterion_main!(benches);
