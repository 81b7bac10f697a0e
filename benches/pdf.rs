// Criterion benchmark of rendering one certificate PDF (fonts parsed once before, as at server start).

use criterion::{criterion_group, criterion_main, Criterion};
use ecolabel::render::pdf::{render, warm_up, CertificateView, CriterionLine};
use std::hint::black_box;

fn view() -> CertificateView {
    let line = |kk: &str, ru: &str, en: &str, m: &str, t: &str| CriterionLine {
        name_kk: kk.into(),
        name_ru: ru.into(),
        name_en: en.into(),
        measured: m.into(),
        threshold: t.into(),
        passed: true,
    };
    CertificateView {
        number: "GEL-2025-000001".into(),
        status_stamp: None,
        status_note: None,
        venue_name: "Smart Plastic Zone".into(),
        venue_address: "RES 2026 EXPO exhibition grounds, Astana".into(),
        scheme: "gold-eco-label".into(),
        scheme_version: 1,
        criteria_sha256: "d807193e5199930d175b9345a5f78adec91bd4c753ea197efb25942b3d2e5980".into(),
        criteria: vec![
            line(
                "Пластикті пайдалануды азайту",
                "Сокращение использования пластика",
                "Minimise plastic use",
                "66.9 %",
                "≥ 50 %",
            ),
            line("Балама материалдар", "Альтернативные материалы", "Alternative materials", "85.0 %", "≥ 70 %"),
            line(
                "Пластик қалдықтарын бөлек жинау",
                "Раздельный сбор пластиковых отходов",
                "Separate collection of plastic waste",
                "95.8 % · 6.5 %",
                "≥ 90 % · ≤ 10 %",
            ),
            line("Қайта өңдеуге тапсыру", "Передача на переработку", "Handover for recycling", "87.7 %", "≥ 80 %"),
        ],
        grant_date: "2025-12-19".into(),
        valid_from: "2025-12-19".into(),
        valid_until: "2027-12-18".into(),
        issuer: "Gold eco-label certification body".into(),
        issuer_address: "Astana, Republic of Kazakhstan".into(),
        signatory: "Head of Certification".into(),
        signatory_title: "Head of the certification body".into(),
        kid: "rxUAqd0wm-A".into(),
        qr_text: format!("HTTP://127.0.0.1:8080/V/{}", "2KCE3IQBE4CEQEUEUKEHOGHS36QFQ6NE".repeat(11)),
        issued_at: 1_766_145_600,
    }
}

fn bench(c: &mut Criterion) {
    warm_up().unwrap();
    let v = view();
    let size = render(&v).unwrap().len();
    eprintln!("certificate PDF size: {size} bytes");
    c.bench_function("render certificate PDF", |b| b.iter(|| render(black_box(&v)).unwrap()));
}

criterion_group!(benches, bench);
criterion_main!(benches);
