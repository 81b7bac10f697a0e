// Criterion benchmarks of sign-in's costly steps: argon2id hashing (OWASP parameters, 19 MiB, t=2, p=1)
// and verification, the password policy (zxcvbn), and a TOTP check.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or bench that fails panics: that is its report

use criterion::{criterion_group, criterion_main, Criterion};
use ecolabel::domain::account::{check_password, hash_password, new_totp_secret, totp_accept, totp_code, verify_password};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("sign-in");
    g.sample_size(20);
    let pw = "steppe wind over the ishim river";
    g.bench_function("argon2id hash (m=19 MiB, t=2, p=1)", |b| b.iter(|| hash_password(black_box(pw)).unwrap()));
    let stored = hash_password(pw).unwrap();
    g.bench_function("argon2id verify", |b| b.iter(|| assert!(verify_password(black_box(pw), &stored))));
    g.bench_function("password policy (zxcvbn)", |b| {
        b.iter(|| check_password(black_box(pw), pw, &["daniyar.omarov@example.kz", "Daniyar Omarov"]).unwrap())
    });
    let secret = new_totp_secret();
    let code = totp_code(&secret, 1_800_000_000).unwrap();
    g.bench_function("TOTP check", |b| {
        b.iter(|| totp_accept(&secret, black_box(&code), 1_800_000_000, None).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
