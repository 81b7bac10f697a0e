//! `ecolabel pdf-batch`: the PDFs of many certificates in one zip file, for printing in batches, rendered
//! on every core; entries in register order (newest first), the same bytes for the same certificates.

use crate::app::Context;
use crate::domain::lifecycle::PublicStatus;
use crate::storage::{self, certificates::PublicQuery, models::CertificateRow};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Which certificates, where to, on how many threads.
pub struct Batch {
    pub out: PathBuf,
    pub status: Option<PublicStatus>,
    pub city: Option<String>,
    pub limit: Option<usize>,
    /// Render threads (default: every core).
    pub jobs: usize,
}

/// Certificates read and rendered per step (memory holds one step's PDFs, about 18 KB each).
const STEP: usize = 256;

/// The PDFs of `rows` in their order: the stored rendering where it shows the certificate's state now
/// (the bytes a download gives), the others rendered on `jobs` threads, each a contiguous share.
fn render_all(state: &Context, rows: &[CertificateRow], jobs: usize) -> Result<Vec<Vec<u8>>, String> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut stored: HashMap<i64, (String, Vec<u8>)> = state
        .db
        .read_blocking(|c| storage::documents::bodies(c, &ids))
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|(id, st, body)| (id, (st, body)))
        .collect();
    let mut out: Vec<Option<Vec<u8>>> = Vec::with_capacity(rows.len());
    let mut missing: Vec<(&CertificateRow, PublicStatus)> = Vec::new();
    for r in rows {
        let (status, want) = crate::app::documents::pdf_now(state, r).map_err(|e| e.to_string())?;
        let kept = stored.remove(&r.id).filter(|(st, _)| *st == want).map(|(_, body)| body);
        if kept.is_none() {
            missing.push((r, status));
        }
        out.push(kept);
    }
    let share = missing.len().div_ceil(jobs.max(1)).max(1);
    let rendered = std::thread::scope(|s| {
        let workers: Vec<_> = missing
            .chunks(share)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|(r, status)| crate::app::documents::render_pdf(state, r, *status).map_err(|e| e.to_string()))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut done = Vec::with_capacity(missing.len());
        for w in workers {
            done.extend(w.join().map_err(|_| "a render thread failed".to_string())??);
        }
        Ok::<_, String>(done)
    })?;
    let mut rendered = rendered.into_iter();
    out.into_iter()
        .map(|o| o.or_else(|| rendered.next()).ok_or_else(|| "a rendering is missing".to_string()))
        .collect()
}

/// Write the zip; returns how many certificates it holds and a line for the operator.
pub fn run(state: &Context, b: &Batch) -> Result<(usize, String), String> {
    let started = Instant::now();
    let file = std::fs::File::create(&b.out).map_err(|e| format!("cannot create {}: {e}", b.out.display()))?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    // Stored, not deflated: the PDFs are compressed already. A fixed date keeps the bytes reproducible.
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    let (mut before, mut total, mut bytes) = (None, 0usize, 0usize);
    loop {
        let want = b.limit.map_or(STEP, |l| STEP.min(l - total));
        if want == 0 {
            break;
        }
        let q = PublicQuery {
            q: None,
            city: b.city.clone(),
            status: b.status,
            venue_id: None,
            before_id: before,
            limit: want as i64,
            today: storage::now().date(),
        };
        let rows = state.db.read_blocking(|c| storage::certificates::list(c, &q)).map_err(|e| e.to_string())?;
        let Some(last) = rows.last() else { break };
        before = Some(last.id);
        let pdfs = render_all(state, &rows, b.jobs)?;
        for (row, pdf) in rows.iter().zip(pdfs) {
            zip.start_file(format!("{}.pdf", row.number), options).map_err(|e| e.to_string())?;
            zip.write_all(&pdf).map_err(|e| e.to_string())?;
            bytes += pdf.len();
        }
        total += rows.len();
        if rows.len() < want {
            break;
        }
    }
    zip.finish().map_err(|e| format!("cannot finish {}: {e}", b.out.display()))?;
    let secs = started.elapsed().as_secs_f64();
    let line = format!(
        "{total} certificate PDFs ({:.1} MB) in {} in {secs:.2} s on {} thread(s): {:.0} per second",
        bytes as f64 / 1e6,
        b.out.display(),
        b.jobs,
        total as f64 / secs.max(1e-9)
    );
    Ok((total, line))
}
