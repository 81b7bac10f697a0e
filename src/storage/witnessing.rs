// The witnessed log's tables: the log's fixed origin, witnesses' cosignatures and refusals (append-only),
// and when each witness was last sent a checkpoint (claimed by a guarded update).

use super::schema::{log_checkpoints as lc, log_cosignatures as cs, log_head, log_witness_refusals as wr, log_witnesses as lw};
use super::{DbConn, Result};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// The log's origin line: the stored one; else, for a log that exists already, its first checkpoint's;
/// else `proposed` (a new log). Stored on first call, never changed afterwards.
pub fn fix_origin(conn: &mut DbConn, proposed: &str) -> Result<String> {
    // Taking the head row first serialises replicas starting together.
    let stored: Option<String> = diesel::update(log_head::table.filter(log_head::id.eq(1)))
        .set(log_head::size.eq(log_head::size))
        .returning(log_head::origin)
        .get_result(conn)?;
    if let Some(origin) = stored {
        return Ok(origin);
    }
    let first: Option<String> = lc::table.order(lc::size.asc()).select(lc::note).first(conn).optional()?;
    let origin = first
        .as_deref()
        .and_then(|n| n.split('\n').next())
        .filter(|o| !o.is_empty())
        .unwrap_or(proposed)
        .to_string();
    diesel::update(log_head::table.filter(log_head::id.eq(1)))
        .set(log_head::origin.eq(&origin))
        .execute(conn)?;
    Ok(origin)
}

/// The signed checkpoint of the tree of `size` entries, if one was published.
pub fn checkpoint_at(conn: &mut DbConn, size: u64) -> Result<Option<String>> {
    Ok(lc::table.filter(lc::size.eq(size as i64)).select(lc::note).first(conn).optional()?)
}

/// The largest size each witness cosigned.
pub fn cosigned_sizes(conn: &mut DbConn) -> Result<std::collections::HashMap<String, u64>> {
    let rows: Vec<(String, Option<i64>)> = cs::table.group_by(cs::witness).select((cs::witness, diesel::dsl::max(cs::size))).load(conn)?;
    Ok(rows.into_iter().filter_map(|(w, s)| s.map(|s| (w, s as u64))).collect())
}

/// Keep a witness's cosignature line for the checkpoint of `size` (once: a repeat is ignored).
pub fn record_cosignature(conn: &mut DbConn, witness: &str, size: u64, line: &str, at: NaiveDateTime) -> Result<()> {
    let have: i64 = cs::table
        .filter(cs::witness.eq(witness))
        .filter(cs::size.eq(size as i64))
        .count()
        .get_result(conn)?;
    if have == 0 {
        diesel::insert_into(cs::table)
            .values((cs::witness.eq(witness), cs::size.eq(size as i64), cs::line.eq(line), cs::created_at.eq(at)))
            .execute(conn)?;
    }
    Ok(())
}

/// Keep what a witness answered instead of a cosignature.
pub fn record_refusal(conn: &mut DbConn, witness: &str, size: u64, status: u16, detail: &str, at: NaiveDateTime) -> Result<()> {
    diesel::insert_into(wr::table)
        .values((
            wr::witness.eq(witness),
            wr::size.eq(size as i64),
            wr::status.eq(i32::from(status)),
            wr::detail.eq(detail),
            wr::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Claim the next send to `witness` at `now` if none was made since `not_since`: true if this caller may
/// send (one guarded update, so replicas together keep to the witness's rate).
pub fn claim_send(conn: &mut DbConn, witness: &str, now: NaiveDateTime, not_since: NaiveDateTime) -> Result<bool> {
    let claimed = diesel::update(lw::table.filter(lw::witness.eq(witness)).filter(lw::sent_at.le(not_since)))
        .set(lw::sent_at.eq(now))
        .execute(conn)?;
    if claimed == 1 {
        return Ok(true);
    }
    let exists: i64 = lw::table.filter(lw::witness.eq(witness)).count().get_result(conn)?;
    if exists > 0 {
        return Ok(false);
    }
    diesel::insert_into(lw::table)
        .values((lw::witness.eq(witness), lw::sent_at.eq(now)))
        .execute(conn)?;
    Ok(true)
}

/// The newest tree size that at least `quorum` of `witnesses` cosigned, and when its last cosignature
/// arrived (one query for what is served and for its freshness).
fn quorum_head(conn: &mut DbConn, witnesses: &[String], quorum: usize) -> Result<Option<(u64, NaiveDateTime)>> {
    if witnesses.is_empty() || quorum == 0 {
        return Ok(None);
    }
    let head: Option<(i64, Option<NaiveDateTime>)> = cs::table
        .filter(cs::witness.eq_any(witnesses))
        .group_by(cs::size)
        .having(diesel::dsl::count_star().ge(quorum as i64))
        .select((cs::size, diesel::dsl::max(cs::created_at)))
        .order(cs::size.desc())
        .first(conn)
        .optional()?;
    Ok(head.and_then(|(s, t)| t.map(|t| (s as u64, t))))
}

/// The newest checkpoint that at least `quorum` of `witnesses` cosigned: its size and the note with their
/// cosignature lines appended (the log's own signature line first).
pub fn cosigned(conn: &mut DbConn, witnesses: &[String], quorum: usize) -> Result<Option<(u64, String)>> {
    let Some((size, _)) = quorum_head(conn, witnesses, quorum)? else {
        return Ok(None);
    };
    let Some(note) = checkpoint_at(conn, size)? else { return Ok(None) };
    Ok(Some((size, with_cosignatures(conn, size, note, witnesses)?)))
}

/// A checkpoint note of `size` with the cosignature lines kept for it from `witnesses` appended (by name).
pub fn with_cosignatures(conn: &mut DbConn, size: u64, note: String, witnesses: &[String]) -> Result<String> {
    if witnesses.is_empty() {
        return Ok(note);
    }
    let lines: Vec<String> = cs::table
        .filter(cs::size.eq(size as i64))
        .filter(cs::witness.eq_any(witnesses))
        .order(cs::witness.asc())
        .select(cs::line)
        .load(conn)?;
    Ok(format!("{note}{}", lines.concat()))
}

/// What the registry knows of a witness: the newest checkpoint it cosigned and its latest refusal.
pub struct WitnessState {
    pub witness: String,
    pub cosigned: Option<(u64, NaiveDateTime)>,
    /// Size, status, detail, time.
    pub refused: Option<(u64, u16, String, NaiveDateTime)>,
}

pub fn state_of(conn: &mut DbConn, witness: &str) -> Result<WitnessState> {
    let cosigned: Option<(i64, NaiveDateTime)> = cs::table
        .filter(cs::witness.eq(witness))
        .order(cs::size.desc())
        .select((cs::size, cs::created_at))
        .first(conn)
        .optional()?;
    let refused: Option<(i64, i32, String, NaiveDateTime)> = wr::table
        .filter(wr::witness.eq(witness))
        .order(wr::id.desc())
        .select((wr::size, wr::status, wr::detail, wr::created_at))
        .first(conn)
        .optional()?;
    Ok(WitnessState {
        witness: witness.to_string(),
        cosigned: cosigned.map(|(s, t)| (s as u64, t)),
        refused: refused.map(|(s, st, d, t)| (s as u64, u16::try_from(st).unwrap_or(0), d, t)),
    })
}

/// When the newest checkpoint was signed, and the newest one a quorum cosigned (its size, and when its
/// last cosignature arrived).
pub struct Freshness {
    pub newest: Option<NaiveDateTime>,
    pub cosigned: Option<(u64, NaiveDateTime)>,
}

pub fn freshness(conn: &mut DbConn, witnesses: &[String], quorum: usize) -> Result<Freshness> {
    let newest: Option<NaiveDateTime> = lc::table.order(lc::size.desc()).select(lc::created_at).first(conn).optional()?;
    Ok(Freshness {
        newest,
        cosigned: quorum_head(conn, witnesses, quorum)?,
    })
}
