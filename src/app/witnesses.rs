// Witnessing the public log: the checkpoint /log/checkpoint serves (the newest a quorum cosigned), each
// witness's state, tlog-proof bundles, and the sender's steps (claim a send, prove, keep what came back).

use super::{Context, Error, Result};
use crate::domain::log::Hash;
use crate::domain::witness::TlogProof;
pub use crate::storage::witnessing::WitnessState;
use crate::storage::{self, log, witnessing};
use std::collections::HashMap;

fn names(ctx: &Context) -> Vec<String> {
    ctx.config.witnesses.iter().map(|w| w.name.clone()).collect()
}

/// The newest checkpoint signed by the log (there is always one: the empty tree's is published at start).
fn newest(c: &mut storage::DbConn) -> Result<(u64, String)> {
    log::latest_checkpoint(c)?.ok_or_else(|| Error::Storage(storage::Error::Internal("the log has no checkpoint".into())))
}

/// The checkpoint `GET /log/checkpoint` serves: with witnesses, the newest that a quorum cosigned (its
/// cosignatures appended); without (or before the first quorum), the newest signed by the log.
pub async fn served_checkpoint(ctx: &Context) -> Result<(u64, String)> {
    let (witnesses, quorum) = (names(ctx), ctx.config.witness_quorum);
    ctx.db
        .read(move |c| {
            if let Some(cosigned) = witnessing::cosigned(c, &witnesses, quorum)? {
                return Ok(cosigned);
            }
            newest(c)
        })
        .await
}

/// The newest checkpoint, signed by the log alone (`GET /log/checkpoint.latest`).
pub async fn latest_checkpoint(ctx: &Context) -> Result<(u64, String)> {
    ctx.db.read(newest).await
}

/// Each configured witness: the newest checkpoint it cosigned and what it refused last.
pub async fn status(ctx: &Context) -> Result<Vec<WitnessState>> {
    let witnesses = names(ctx);
    Ok(ctx
        .db
        .read(move |c| witnesses.iter().map(|w| witnessing::state_of(c, w)).collect::<storage::Result<Vec<_>>>())
        .await?)
}

/// A C2SP tlog-proof bundle for a certificate's latest entry (the entry as its extra data), against the
/// checkpoint of `size` if given, else the newest one a quorum cosigned that holds the entry, else the
/// newest; the checkpoint carries the cosignatures kept for it. None: no such certificate.
pub async fn proof_bundle(ctx: &Context, number: String, size: Option<u64>) -> Result<Option<TlogProof>> {
    let (witnesses, quorum) = (names(ctx), ctx.config.witness_quorum);
    ctx.db
        .read(move |c| {
            let Some((index, entry)) = log::latest_entry(c, &number)? else {
                return Ok(None);
            };
            let (size, note) = match size {
                Some(size) => {
                    let note = witnessing::checkpoint_at(c, size)?
                        .ok_or_else(|| Error::invalid("unknown_size", format!("the log published no checkpoint of size {size}")))?;
                    (size, note)
                }
                None => match witnessing::cosigned(c, &witnesses, quorum)? {
                    Some((size, note)) if size > index => (size, note),
                    _ => newest(c)?,
                },
            };
            if index >= size {
                return Err(Error::invalid(
                    "invalid_range",
                    format!("the certificate's latest entry ({index}) is not in the tree of size {size}"),
                ));
            }
            let note = witnessing::with_cosignatures(c, size, note, &witnesses)?;
            Ok(Some(TlogProof {
                extra: Some(entry),
                index,
                proof: log::inclusion_proof(c, size, index)?,
                checkpoint: note,
            }))
        })
        .await
}

/// What the sender has to do: the newest checkpoint (size, note) and the size each witness cosigned last.
pub async fn due(ctx: &Context) -> Result<(Option<(u64, String)>, HashMap<String, u64>)> {
    Ok(ctx
        .db
        .read(|c| Ok::<_, storage::Error>((log::latest_checkpoint(c)?, witnessing::cosigned_sizes(c)?)))
        .await?)
}

/// Claim a send to `witness` now, if none was made in the last `every` seconds (by any replica).
pub async fn claim(ctx: &Context, witness: String, every: u32) -> Result<bool> {
    let now = ctx.clock.now();
    let not_since = now - chrono::Duration::seconds(i64::from(every));
    Ok(ctx.db.write(move |c| witnessing::claim_send(c, &witness, now, not_since)).await?)
}

/// The consistency proof from the tree of `old` entries to that of `size` (empty from 0).
pub async fn consistency_from(ctx: &Context, old: u64, size: u64) -> Result<Vec<Hash>> {
    if old == 0 || old == size {
        return Ok(vec![]);
    }
    Ok(ctx.db.read(move |c| log::consistency_proof(c, old, size)).await?)
}

/// Keep a witness's (verified) cosignature line for the checkpoint of `size`.
pub async fn keep_cosignature(ctx: &Context, witness: String, size: u64, line: String) -> Result<()> {
    let at = ctx.clock.now();
    Ok(ctx.db.write(move |c| witnessing::record_cosignature(c, &witness, size, &line, at)).await?)
}

/// Keep what a witness answered instead of a cosignature (evidence; the monitor shows it).
pub async fn keep_refusal(ctx: &Context, witness: String, size: u64, status: u16, detail: String) -> Result<()> {
    let at = ctx.clock.now();
    Ok(ctx
        .db
        .write(move |c| witnessing::record_refusal(c, &witness, size, status, &detail, at))
        .await?)
}
