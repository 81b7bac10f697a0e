//! The witness sender (C2SP tlog-witness, the log's side): sends the newest checkpoint with a consistency
//! proof to each witness, at most once per `--witness-interval`, and keeps the cosignatures it gets back.

use crate::app::{witnesses as app, Context};
use crate::config::WitnessTarget;
use crate::domain::witness::{check_cosigned, AddCheckpoint};
use std::time::Duration;

/// How long one witness may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// A witness's answer is a few signature lines; more than this is not read.
const MAX_ANSWER: usize = 64 * 1024;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Checkpoints sent (a 409 retried counts twice).
    pub sent: usize,
    pub cosigned: usize,
    /// What each refusing witness said: `<witness>: <status> <detail>`.
    pub refused: Vec<String>,
    /// Witnesses that could not be reached or answered nonsense.
    pub failed: usize,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("ecolabel-log/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// What one POST came back with.
enum Answer {
    Cosigned(String),
    /// 409 with the witness's size.
    Size(u64),
    Refused(u16, String),
}

async fn post(client: &reqwest::Client, w: &WitnessTarget, body: Vec<u8>) -> Result<Answer, String> {
    let url = format!("{}/add-checkpoint", w.url);
    let mut r = client.post(&url).body(body).send().await.map_err(|e| format!("POST {url}: {e}"))?;
    let status = r.status().as_u16();
    let is_size = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/x.tlog.size"));
    let mut body = Vec::new();
    while let Some(chunk) = r.chunk().await.map_err(|e| format!("POST {url}: {e}"))? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ANSWER {
            return Err(format!("POST {url}: the answer is longer than {MAX_ANSWER} bytes"));
        }
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    Ok(match status {
        200 => Answer::Cosigned(text),
        409 if is_size => match text.trim_end_matches('\n').parse() {
            Ok(size) => Answer::Size(size),
            Err(_) => Answer::Refused(409, format!("a size that does not read: {}", text.trim())),
        },
        s => Answer::Refused(s, text.trim().chars().take(300).collect()),
    })
}

/// One pass: each witness behind the newest checkpoint, whose send is not held back by `every` seconds,
/// is sent it (with a consistency proof from the size it cosigned last; after a 409, from the size it
/// names). Cosignatures that verify are kept; refusals are kept as evidence.
pub async fn pass(ctx: &Context, client: &reqwest::Client, every: u32) -> Result<Report, crate::app::Error> {
    let mut report = Report::default();
    let (latest, known) = app::due(ctx).await?;
    let Some((size, note)) = latest else { return Ok(report) };
    let log_vkey = ctx.log_key.vkey();
    let mut proofs: std::collections::HashMap<u64, Vec<crate::domain::log::Hash>> = std::collections::HashMap::new();
    for w in &ctx.config.witnesses {
        let mut old = known.get(&w.name).copied().unwrap_or(0);
        if old >= size || !app::claim(ctx, w.name.clone(), every).await? {
            continue;
        }
        // One retry after a 409 that names another size.
        for attempt in 0..2 {
            // Witnesses that cosigned the same size get the same proof: read it once a pass.
            let proof = match proofs.get(&old) {
                Some(p) => p.clone(),
                None => {
                    let p = app::consistency_from(ctx, old, size).await?;
                    proofs.insert(old, p.clone());
                    p
                }
            };
            let body = AddCheckpoint {
                old,
                proof,
                checkpoint: note.clone().into_bytes(),
            }
            .to_bytes();
            report.sent += 1;
            let started = std::time::Instant::now();
            let answer = match post(client, w, body).await {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(witness = %w.name, error = %e, "a witness could not be reached");
                    report.failed += 1;
                    break;
                }
            };
            tracing::debug!(witness = %w.name, size, ms = started.elapsed().as_millis() as u64, "witness answered");
            match answer {
                Answer::Cosigned(lines) => {
                    // Keep only this witness's line, and only if it verifies on this checkpoint.
                    let line = lines
                        .split_inclusive('\n')
                        .find(|l| l.starts_with(&format!("— {} ", w.name)))
                        .map(str::to_string)
                        .filter(|l| check_cosigned(format!("{note}{l}").as_bytes(), &log_vkey, std::slice::from_ref(&w.vkey)).is_ok_and(|c| c.by.len() == 1));
                    match line {
                        Some(line) => {
                            app::keep_cosignature(ctx, w.name.clone(), size, line).await?;
                            report.cosigned += 1;
                        }
                        None => {
                            let detail = "answered 200 without a cosignature that verifies with its key".to_string();
                            tracing::warn!(witness = %w.name, size, "{detail}");
                            app::keep_refusal(ctx, w.name.clone(), size, 200, detail.clone()).await?;
                            report.refused.push(format!("{}: {detail}", w.name));
                        }
                    }
                    break;
                }
                Answer::Size(theirs) if attempt == 0 && theirs < size && theirs != old => old = theirs,
                Answer::Size(theirs) => {
                    let detail = if theirs > size {
                        format!("the witness has cosigned {theirs} entries, more than this log's {size}: the log was rolled back or forked")
                    } else {
                        format!("the witness holds another tree of {theirs} entries: the log forked")
                    };
                    tracing::error!(witness = %w.name, size, theirs, "{detail}");
                    app::keep_refusal(ctx, w.name.clone(), size, 409, detail.clone()).await?;
                    report.refused.push(format!("{}: 409 {detail}", w.name));
                    break;
                }
                Answer::Refused(status, detail) => {
                    tracing::error!(witness = %w.name, size, status, detail = %detail, "a witness refused the checkpoint");
                    app::keep_refusal(ctx, w.name.clone(), size, status, detail.clone()).await?;
                    report.refused.push(format!("{}: {status} {detail}", w.name));
                    break;
                }
            }
        }
    }
    Ok(report)
}
