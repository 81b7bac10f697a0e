// Criterion benchmarks of the public log at 1,000,000 entries: inclusion and consistency proofs from the
// stored hashes in memory and in an SQLite database (what `/certificates/{n}` and `/log/proof/…` do), and
// the tile a client reads. The tree is built once, outside the timed loops.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or bench that fails panics: that is its report

use criterion::{criterion_group, criterion_main, Criterion};
use diesel::connection::SimpleConnection;
use ecolabel::domain::log::{leaf_hash, tile_data, MemoryHashes};
use ecolabel::storage::{self, DbUrl};
use std::hint::black_box;
use std::time::Instant;

const SIZE: u64 = 1_000_000;

fn tree() -> MemoryHashes {
    let t = Instant::now();
    let mut m = MemoryHashes::default();
    for i in 0..SIZE {
        m.append(i, leaf_hash(format!("entry {i}").as_bytes())).unwrap();
    }
    eprintln!(
        "built a tree of {SIZE} entries ({} stored hashes) in {:.1} s",
        m.0.len(),
        t.elapsed().as_secs_f64()
    );
    m
}

/// An SQLite database whose log holds the same tree: each entry row with the hashes its append made.
fn database(m: &MemoryHashes, dir: &std::path::Path) -> storage::DbConn {
    let url = DbUrl::Sqlite(dir.join("log.db").display().to_string());
    let mut conn = storage::connect(&url).unwrap();
    storage::migrate(&mut conn).unwrap();
    let t = Instant::now();
    conn.batch_execute("BEGIN").unwrap();
    let mut values = Vec::new();
    for seq in 0..SIZE {
        let (a, b) = (
            tlog_tiles::stored_hash_index(0, seq) as usize,
            tlog_tiles::stored_hash_index(0, seq + 1) as usize,
        );
        let made: Vec<u8> = m.0[a..b].iter().flat_map(|h| h.0).collect();
        values.push(format!(
            "({seq}, 'GEL-2026-{:06}', x'00', x'{}', '2026-01-01 00:00:00')",
            seq % 1_000_000,
            hex::encode(made)
        ));
        if values.len() == 2000 || seq + 1 == SIZE {
            conn.batch_execute(&format!(
                "INSERT INTO log_entries (seq, number, entry, hashes, created_at) VALUES {}",
                values.join(",")
            ))
            .unwrap();
            values.clear();
        }
    }
    conn.batch_execute(&format!("UPDATE log_head SET size = {SIZE}; COMMIT")).unwrap();
    eprintln!("loaded {SIZE} entries with their hashes into SQLite in {:.1} s", t.elapsed().as_secs_f64());
    conn
}

fn bench(c: &mut Criterion) {
    let m = tree();
    let mut n = 0u64;
    let mut next = || {
        n = (n + 7_919) % SIZE;
        n
    };
    c.bench_function("inclusion proof at 1M entries (memory)", |b| {
        b.iter(|| tlog_tiles::prove_record(SIZE, black_box(next()), &m).unwrap())
    });
    c.bench_function("consistency proof at 1M entries (memory)", |b| {
        b.iter(|| tlog_tiles::prove_tree(SIZE, black_box(1 + next()), &m).unwrap())
    });
    c.bench_function("level-0 tile at 1M entries (memory)", |b| {
        b.iter(|| tile_data(0, black_box((next() / 256).min(SIZE / 256 - 1)), 256, &m).unwrap())
    });
    let dir = tempfile::tempdir().unwrap();
    let mut conn = database(&m, dir.path());
    c.bench_function("inclusion proof at 1M entries (SQLite)", |b| {
        b.iter(|| storage::log::inclusion_proof(&mut conn, SIZE, black_box(next())).unwrap())
    });
    c.bench_function("consistency proof at 1M entries (SQLite)", |b| {
        b.iter(|| storage::log::consistency_proof(&mut conn, black_box(1 + next()), SIZE).unwrap())
    });
    c.bench_function("level-0 tile at 1M entries (SQLite)", |b| {
        b.iter(|| storage::log::tile(&mut conn, SIZE, 0, black_box((next() / 256).min(SIZE / 256 - 1)), 256).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = bench
}
criterion_main!(benches);
