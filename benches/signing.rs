// Criterion benchmarks of the certificate token: signing one (COSE_Sign1 over CWT claims, Ed25519)
// and verifying one (decode the QR text, find the key, verify_strict, read the claims).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or bench that fails panics: that is its report

use criterion::{criterion_group, criterion_main, Criterion};
use ecolabel::domain::certificate::CertificateClaims;
use ecolabel::domain::signing::{decode_qr_text, kid_of, qr_text, sign_certificate, verify_token};
use ed25519_dalek::SigningKey;
use std::hint::black_box;

fn claims() -> CertificateClaims {
    CertificateClaims {
        iss: "https://registry.example.kz".into(),
        iat: 1_766_145_600,
        exp: 1_829_174_399,
        number: "GEL-2025-000001".into(),
        venue: "Smart Plastic Zone".into(),
        level: "gold".into(),
        scheme: "gold-eco-label/1".into(),
    }
}

fn bench(c: &mut Criterion) {
    let key = SigningKey::from_bytes(&[42u8; 32]);
    let public = key.verifying_key();
    let kid = kid_of(&public);
    let claims = claims();
    c.bench_function("sign certificate token", |b| {
        b.iter(|| sign_certificate(black_box(&key), black_box(&claims)).unwrap())
    });
    let qr = qr_text("https://registry.example.kz", &sign_certificate(&key, &claims).unwrap());
    c.bench_function("verify certificate QR text", |b| {
        b.iter(|| {
            let token = decode_qr_text(black_box(&qr)).unwrap();
            verify_token(&token, |k| (*k == kid).then_some(public)).unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
