// Certificates' persistence: numbers without gaps, storing an issued certificate (token verbatim) and
// superseding, guarded status changes, each with its event and log entry; the public register query.

use super::models::{AssessmentRow, CertificateRow, VenueRow};
use super::schema::{certificate_counters as cc, certificates as c, venues as v};
use super::venues::{NameLookup, COMMON_WINDOW};
use super::{events, log, DbConn, Error, Result};
use crate::domain::auth::Caller;
use crate::domain::certificate::CertificateNumber;
use crate::domain::lifecycle::{public_status, PublicStatus, StoredStatus};
use crate::domain::log::LogKey;
use crate::domain::surveillance::{next_due, Cutoffs, Due};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

/// The per-criterion results frozen into the certificate at issuance.
pub fn outcome_of(row: &CertificateRow) -> Result<crate::domain::scoring::Outcome> {
    serde_json::from_str(&row.outcome).map_err(|e| Error::Internal(format!("certificate {} outcome: {e}", row.number)))
}

pub fn stored_status(row: &CertificateRow) -> Result<StoredStatus> {
    StoredStatus::parse(&row.status).ok_or_else(|| Error::Internal(format!("certificate {} has unknown status {}", row.number, row.status)))
}

pub fn status_now(row: &CertificateRow, at: NaiveDateTime) -> Result<PublicStatus> {
    Ok(public_status(stored_status(row)?, row.valid_until, at))
}

/// Make sure the year's counter row exists, outside the issuing transaction (a failed insert here
/// never aborts an approval).
pub fn ensure_counter(conn: &mut DbConn, year: i32) -> Result<()> {
    let exists: i64 = cc::table.filter(cc::year.eq(year)).count().get_result(conn)?;
    if exists == 0 {
        match diesel::insert_into(cc::table).values((cc::year.eq(year), cc::last_seq.eq(0i64))).execute(conn) {
            Ok(_) | Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The next number of `year`, inside the caller's transaction: the row lock serialises issuers, and a
/// rollback gives the number back, so the public never sees a gap.
pub fn next_number(conn: &mut DbConn, year: i32) -> Result<CertificateNumber> {
    let seq: Option<i64> = diesel::update(cc::table.filter(cc::year.eq(year)))
        .set(cc::last_seq.eq(cc::last_seq + 1))
        .returning(cc::last_seq)
        .get_result(conn)
        .optional()?;
    let seq = match seq {
        Some(s) => s,
        None => {
            diesel::insert_into(cc::table)
                .values((cc::year.eq(year), cc::last_seq.eq(1i64)))
                .execute(conn)?;
            1
        }
    };
    CertificateNumber::new(year, seq).map_err(Error::Internal)
}

/// The numbers of a venue's current certificates (valid or suspended), newest first: a new one supersedes them.
pub fn current_of_venue(conn: &mut DbConn, venue_id: i64) -> Result<Vec<String>> {
    Ok(c::table
        .filter(c::venue_id.eq(venue_id))
        .filter(c::status.eq_any(["valid", "suspended"]))
        .select(c::number)
        .order(c::id.desc())
        .load(conn)?)
}

/// A certificate decided and signed by the application layer, to be stored.
pub struct NewCertificate<'a> {
    pub number: &'a CertificateNumber,
    pub assessment: &'a AssessmentRow,
    pub venue: &'a VenueRow,
    pub level: &'a str,
    pub issued_at: NaiveDateTime,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub surveillance_months: u32,
    pub issuer: &'a str,
    pub issuer_address: &'a str,
    pub signatory: &'a str,
    pub signatory_title: &'a str,
    pub kid: &'a str,
    /// The signed token, stored verbatim.
    pub token: &'a [u8],
}

/// Store a new certificate with its event and log entry, and mark `supersedes` superseded by it (each
/// with its event and log entry), in the caller's transaction.
/// Returns the row and the log entries appended (its issuance, then each certificate it supersedes).
pub fn insert(
    conn: &mut DbConn,
    actor: &Caller,
    n: &NewCertificate<'_>,
    supersedes: &[String],
    log_key: &LogKey,
    at: NaiveDateTime,
) -> Result<(CertificateRow, Vec<log::Appended>)> {
    let outcome = n
        .assessment
        .outcome
        .clone()
        .ok_or_else(|| Error::Internal("approved assessment without an outcome".into()))?;
    let number = n.number.as_str();
    let row: CertificateRow = diesel::insert_into(c::table)
        .values((
            c::number.eq(number),
            c::assessment_id.eq(n.assessment.id),
            c::venue_id.eq(n.venue.id),
            c::venue_name.eq(&n.venue.name),
            c::venue_name_kk.eq(&n.venue.name_kk),
            c::venue_name_ru.eq(&n.venue.name_ru),
            c::venue_name_en.eq(&n.venue.name_en),
            c::venue_address.eq(&n.venue.address),
            c::venue_city.eq(&n.venue.city),
            c::venue_cities.eq(super::models::venue_cities_of(n.venue.city_kk.as_deref(), n.venue.city_ru.as_deref())),
            c::scheme.eq(&n.assessment.scheme),
            c::scheme_version.eq(n.assessment.scheme_version),
            c::criteria_sha256.eq(&n.assessment.criteria_sha256),
            c::level.eq(n.level),
            c::outcome.eq(outcome),
            c::issued_at.eq(n.issued_at),
            c::valid_from.eq(n.valid_from),
            c::valid_until.eq(n.valid_until),
            c::issuer.eq(n.issuer),
            c::issuer_address.eq(n.issuer_address),
            c::signatory.eq(n.signatory),
            c::signatory_title.eq(n.signatory_title),
            c::kid.eq(n.kid),
            c::token.eq(n.token),
            c::status.eq(StoredStatus::Valid.as_str()),
            c::supersedes.eq(supersedes.first()),
            c::surveillance_months.eq(i32::try_from(n.surveillance_months).unwrap_or(i32::MAX)),
            c::surveillance_due.eq(Some(next_due(n.valid_from, n.surveillance_months))),
        ))
        .returning(c::all_columns)
        .get_result(conn)
        .map_err(|e| match Error::from(e) {
            Error::Conflict { .. } => Error::conflict("already_issued", "this assessment already has its certificate"),
            other => other,
        })?;
    events::append(
        conn,
        actor,
        "certificate",
        number,
        "issued",
        json!({"assessment_id": n.assessment.id, "kid": n.kid, "valid_until": n.valid_until, "surveillance_due": next_due(n.valid_from, n.surveillance_months)}),
    )?;
    let issued = log::Change {
        kind: "issued",
        status: StoredStatus::Valid.as_str(),
        at: n.issued_at,
        reason: None,
    };
    let mut appended = vec![log::append(conn, log_key, &row, issued)?];
    for old in supersedes {
        let old_row: CertificateRow = diesel::update(c::table.filter(c::number.eq(old)))
            .set((
                c::status.eq(StoredStatus::Superseded.as_str()),
                c::superseded_by.eq(Some(number)),
                c::status_changed_at.eq(Some(at)),
            ))
            .returning(c::all_columns)
            .get_result(conn)?;
        events::append(conn, actor, "certificate", old, "superseded", json!({"by": number}))?;
        let superseded = log::Change {
            kind: "superseded",
            status: StoredStatus::Superseded.as_str(),
            at,
            reason: None,
        };
        appended.push(log::append(conn, log_key, &old_row, superseded)?);
    }
    Ok((row, appended))
}

pub fn get(conn: &mut DbConn, number: &str) -> Result<CertificateRow> {
    Ok(c::table.filter(c::number.eq(number)).select(CertificateRow::as_select()).first(conn)?)
}

pub fn for_assessment(conn: &mut DbConn, assessment_id: i64) -> Result<Option<CertificateRow>> {
    Ok(c::table
        .filter(c::assessment_id.eq(assessment_id))
        .select(CertificateRow::as_select())
        .first(conn)
        .optional()?)
}

/// A status change decided by the application layer.
pub struct StatusChange<'a> {
    /// `suspend`, `reinstate` or `withdraw` (the event and log entry type).
    pub action: &'a str,
    pub from: &'a str,
    pub to: StoredStatus,
    pub reason: Option<&'a str>,
    pub at: NaiveDateTime,
}

/// Store a status change, guarded on the status it was decided from (a concurrent change makes this a
/// conflict), with its event and log entry.
pub fn set_status(conn: &mut DbConn, actor: &Caller, row: &CertificateRow, s: &StatusChange<'_>, log_key: &LogKey) -> Result<log::Appended> {
    let number = row.number.as_str();
    let updated: CertificateRow = diesel::update(c::table.filter(c::number.eq(number)).filter(c::status.eq(&row.status)))
        .set((c::status.eq(s.to.as_str()), c::status_reason.eq(s.reason), c::status_changed_at.eq(Some(s.at))))
        .returning(c::all_columns)
        .get_result(conn)
        .optional()?
        .ok_or_else(|| Error::conflict("illegal_transition", "the certificate changed state meanwhile"))?;
    events::append(
        conn,
        actor,
        "certificate",
        number,
        s.action,
        json!({"reason": s.reason, "from": s.from, "to": s.to.as_str()}),
    )?;
    let change = log::Change {
        kind: s.action,
        status: s.to.as_str(),
        at: s.at,
        reason: s.reason,
    };
    log::append(conn, log_key, &updated, change)
}

pub struct PublicQuery {
    pub q: Option<String>,
    pub city: Option<String>,
    pub status: Option<PublicStatus>,
    pub venue_id: Option<i64>,
    /// Keyset cursor: only certificates with a smaller id (newest first).
    pub before_id: Option<i64>,
    pub limit: i64,
    pub today: NaiveDate,
}

/// The register: newest first, searchable by venue name (any language) and city, by derived status.
/// A common name (`NameLookup::Common`) is looked for without its index among the `COMMON_WINDOW` newest
/// certificates below the cursor, where a text that many venues hold fills a page quickly; what the window
/// leaves of the page comes from below it through the index `name_lookup` chose for that (for "Koktem Hotel
/// 5", the trigrams of the whole text: 25–43 ms at a million, where the word index's "hotel" took 0.28 s).
/// Valid certificates whose surveillance is due by `surveillance_by` or that expire by `expiry_by`, soonest
/// first, at most `limit` (one venue's, or all): each through its index on (status, date).
pub fn due_soon(conn: &mut DbConn, surveillance_by: NaiveDate, expiry_by: NaiveDate, venue: Option<i64>, limit: i64) -> Result<Vec<CertificateRow>> {
    let mut by_surveillance = c::table
        .filter(c::status.eq("valid"))
        .filter(c::surveillance_due.le(surveillance_by))
        .order(c::surveillance_due.asc())
        .limit(limit)
        .select(CertificateRow::as_select())
        .into_boxed();
    let mut by_expiry = c::table
        .filter(c::status.eq("valid"))
        .filter(c::valid_until.le(expiry_by))
        .order(c::valid_until.asc())
        .limit(limit)
        .select(CertificateRow::as_select())
        .into_boxed();
    if let Some(v) = venue {
        by_surveillance = by_surveillance.filter(c::venue_id.eq(v));
        by_expiry = by_expiry.filter(c::venue_id.eq(v));
    }
    let mut rows: Vec<CertificateRow> = by_surveillance.load(conn)?;
    for r in by_expiry.load::<CertificateRow>(conn)? {
        if !rows.iter().any(|x| x.id == r.id) {
            rows.push(r);
        }
    }
    rows.sort_by_key(|r| r.surveillance_due.unwrap_or(r.valid_until).min(r.valid_until));
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(rows)
}

pub fn list(conn: &mut DbConn, q: &PublicQuery) -> Result<Vec<CertificateRow>> {
    let text = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let lookup = text.map(|t| super::venues::name_lookup(conn, t)).transpose()?;
    let (Some(text), Some(NameLookup::Common(index))) = (text, &lookup) else {
        return page(conn, q, lookup.zip(text), None, q.before_id, q.limit);
    };
    let top = match q.before_id {
        Some(before) => before,
        None => c::table.select(diesel::dsl::max(c::id)).first::<Option<i64>>(conn)?.unwrap_or(0) + 1,
    };
    let floor = top.saturating_sub(COMMON_WINDOW).max(1);
    let mut rows = page(conn, q, Some((index.scan(), text)), Some(floor), q.before_id, q.limit)?;
    let missing = q.limit - i64::try_from(rows.len()).unwrap_or(q.limit);
    if missing > 0 && floor > 1 {
        rows.extend(page(conn, q, Some(((**index).clone(), text)), None, Some(floor), missing)?);
    }
    Ok(rows)
}

/// One keyset page of the register: `name` filters by venue name (found this way), ids from `from_id` (inclusive) up to
/// `before_id` (exclusive), the other filters from `q`.
fn page(
    conn: &mut DbConn,
    q: &PublicQuery,
    name: Option<(NameLookup, &str)>,
    from_id: Option<i64>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<CertificateRow>> {
    let mut query = c::table
        .inner_join(v::table)
        .select(CertificateRow::as_select())
        .order(c::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some((lookup, text)) = name {
        query = query.filter(super::venues::name_filter(lookup, text));
    }
    if let Some(from) = from_id {
        query = query.filter(c::id.ge(from));
    }
    if let Some(city) = q.city.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        query = query.filter(c::venue_city.eq(city.to_string()));
    }
    if let Some(id) = q.venue_id {
        query = query.filter(c::venue_id.eq(id));
    }
    if let Some(before) = before_id {
        query = query.filter(c::id.lt(before));
    }
    query = match q.status {
        None => query,
        Some(PublicStatus::Valid) => query.filter(c::status.eq("valid")).filter(c::valid_until.ge(q.today)),
        Some(PublicStatus::Suspended) => query.filter(c::status.eq("suspended")).filter(c::valid_until.ge(q.today)),
        Some(PublicStatus::Expired) => query.filter(
            c::status
                .eq("expired")
                .or(c::status.eq_any(["valid", "suspended"]).and(c::valid_until.lt(q.today))),
        ),
        Some(PublicStatus::Withdrawn) => query.filter(c::status.eq("withdrawn")),
        Some(PublicStatus::Superseded) => query.filter(c::status.eq("superseded")),
    };
    Ok(query.load(conn)?)
}

/// A surveillance audit passed: the next one falls due at `due`, with its event.
pub fn set_surveillance_due(conn: &mut DbConn, actor: &Caller, number: &str, due: NaiveDate, assessment_id: i64) -> Result<CertificateRow> {
    let row: CertificateRow = diesel::update(c::table.filter(c::number.eq(number)))
        .set(c::surveillance_due.eq(Some(due)))
        .returning(c::all_columns)
        .get_result(conn)?;
    events::append(
        conn,
        actor,
        "certificate",
        number,
        "surveillance_passed",
        json!({"assessment_id": assessment_id, "next_due": due}),
    )?;
    Ok(row)
}

/// The numbers of the certificates the scheduler must act on for `due` at the cutoffs. Each query reads one
/// index (status, then the date that makes it due), so only due certificates are read; no order is asked,
/// so nothing tempts the planner into the primary key's order.
pub fn scheduled(conn: &mut DbConn, due: Due, cut: &Cutoffs) -> Result<Vec<String>> {
    Ok(scheduled_query(due, cut).load(conn)?)
}

/// The planner's plan for the very query `scheduled` runs (tests assert which index it reads).
pub fn scheduled_plan(conn: &mut DbConn, due: Due, cut: &Cutoffs) -> Result<String> {
    super::explain(conn, scheduled_query(due, cut))
}

fn scheduled_query(due: Due, cut: &Cutoffs) -> c::BoxedQuery<'static, super::MultiBackend, diesel::sql_types::Text> {
    let query = c::table.select(c::number).into_boxed();
    match due {
        Due::Expire => query
            .filter(c::status.eq_any([StoredStatus::Valid.as_str(), StoredStatus::Suspended.as_str()]))
            .filter(c::valid_until.lt(cut.expired_before)),
        Due::SuspendOverdue => query
            .filter(c::status.eq(StoredStatus::Valid.as_str()))
            .filter(c::surveillance_due.lt(cut.overdue_before)),
        Due::WithdrawSuspended => query
            .filter(c::status.eq(StoredStatus::Suspended.as_str()))
            .filter(c::status_changed_at.le(cut.suspended_since)),
    }
}

/// Valid certificates whose `kind` date (`expiring`: valid-until; `surveillance_due`: the next surveillance
/// audit) falls between `from` and `to`, through the same indexes as the scheduler's rules.
/// What a reminder needs of a certificate.
#[derive(Debug, Clone, Queryable)]
pub struct ReminderRow {
    pub number: String,
    pub venue_id: i64,
    pub venue_name: String,
    pub date: NaiveDate,
    pub venue_name_kk: Option<String>,
    pub venue_name_ru: Option<String>,
    pub venue_name_en: Option<String>,
}

/// Valid certificates whose `kind` date (`expiring`: valid-until, else the surveillance due date) is `day`:
/// one equality on the scheduler's index, the columns a reminder needs only.
pub fn reminder_candidates(conn: &mut DbConn, kind: &str, day: NaiveDate) -> Result<Vec<ReminderRow>> {
    let valid = c::status.eq(StoredStatus::Valid.as_str());
    // What a reminder needs of a certificate, in `ReminderRow`'s order.
    let columns = (
        c::number,
        c::venue_id,
        c::venue_name,
        c::valid_until,
        c::venue_name_kk,
        c::venue_name_ru,
        c::venue_name_en,
    );
    Ok(match kind {
        "expiring" => c::table.filter(valid.and(c::valid_until.eq(day))).select(columns).load(conn)?,
        _ => c::table
            .filter(valid.and(c::surveillance_due.eq(day)))
            .select(columns)
            .load::<ReminderRow>(conn)?
            .into_iter()
            .map(|r| ReminderRow { date: day, ..r })
            .collect(),
    })
}

/// How many certificates there are, and how many entries the public log holds.
pub fn totals(conn: &mut DbConn) -> Result<(i64, u64)> {
    let n: i64 = c::table.count().get_result(conn)?;
    Ok((n, super::log::size(conn)?))
}
