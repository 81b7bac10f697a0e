// Venues: create, read, update and search (name in any language, city), with the event history.
// Search runs on a lower-cased `search_text` column so that it works the same on both backends.

use super::models::VenueRow;
use super::schema::venues;
use super::{events, now, DbConn, Error, Result};
use crate::domain::auth::Caller;
use crate::domain::venue::Venue;
use diesel::prelude::*;
use serde_json::json;

pub fn to_domain(r: &VenueRow) -> Venue {
    Venue {
        name: r.name.clone(),
        name_kk: r.name_kk.clone(),
        name_ru: r.name_ru.clone(),
        name_en: r.name_en.clone(),
        address: r.address.clone(),
        city: r.city.clone(),
        country: r.country.clone(),
        category: r.category.clone(),
        contact_name: r.contact_name.clone(),
        contact_email: r.contact_email.clone(),
        contact_phone: r.contact_phone.clone(),
    }
}

/// The lower-cased names and city that name search runs on.
pub fn search_text(v: &Venue) -> String {
    [Some(&v.name), v.name_kk.as_ref(), v.name_ru.as_ref(), v.name_en.as_ref(), Some(&v.city)]
        .into_iter()
        .flatten()
        .map(|s| s.to_lowercase())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Escape `%`, `_` and `\` for a LIKE pattern (used with ESCAPE '\').
pub fn like_pattern(q: &str) -> String {
    let mut out = String::from("%");
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The part of a SQLite query that finds venues by name through the FTS5 trigram index (`venues_search`):
/// the id is among the index's rows whose text holds the phrase. PostgreSQL needs no such part: its pg_trgm
/// GIN index serves the `LIKE` on `search_text` as it is.
pub const SQLITE_NAME_MATCH: &str = "venues.id IN (SELECT rowid FROM venues_search WHERE venues_search MATCH ";

/// The venue-name filter for this backend: on SQLite, texts of 3 characters or more go through the trigram
/// index (a phrase, so the trigrams must be consecutive: a substring match); everything else is the
/// portable `LIKE` on `search_text`.
pub fn name_filter<QS: 'static>(
    conn: &DbConn,
    text: &str,
) -> Box<dyn BoxableExpression<QS, <DbConn as Connection>::Backend, SqlType = diesel::sql_types::Bool>> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Text};
    let lower = text.to_lowercase();
    match conn {
        DbConn::Sqlite(_) if lower.chars().count() >= 3 => {
            let phrase = format!("\"{}\"", lower.replace('"', "\"\""));
            Box::new(sql::<Bool>(SQLITE_NAME_MATCH).bind::<Text, _>(phrase).sql(")"))
        }
        // PostgreSQL's LIKE escapes with `\` by default (and a plain LIKE is what pg_trgm's index serves).
        DbConn::Pg(_) => Box::new(sql::<Bool>("venues.search_text LIKE ").bind::<Text, _>(like_pattern(text))),
        _ => Box::new(sql::<Bool>("venues.search_text LIKE ").bind::<Text, _>(like_pattern(text)).sql(" ESCAPE '\\'")),
    }
}

/// The columns a venue's owner controls, written the same way on create and update.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = venues, treat_none_as_null = true)]
struct VenueWrite<'a> {
    name: &'a str,
    name_kk: Option<&'a str>,
    name_ru: Option<&'a str>,
    name_en: Option<&'a str>,
    address: &'a str,
    city: &'a str,
    country: &'a str,
    category: &'a str,
    contact_name: Option<&'a str>,
    contact_email: Option<&'a str>,
    contact_phone: Option<&'a str>,
    search_text: String,
    updated_at: chrono::NaiveDateTime,
}

impl<'a> VenueWrite<'a> {
    fn new(v: &'a Venue, at: chrono::NaiveDateTime) -> Self {
        VenueWrite {
            name: &v.name,
            name_kk: v.name_kk.as_deref(),
            name_ru: v.name_ru.as_deref(),
            name_en: v.name_en.as_deref(),
            address: &v.address,
            city: &v.city,
            country: &v.country,
            category: &v.category,
            contact_name: v.contact_name.as_deref(),
            contact_email: v.contact_email.as_deref(),
            contact_phone: v.contact_phone.as_deref(),
            search_text: search_text(v),
            updated_at: at,
        }
    }
}

pub fn create(conn: &mut DbConn, actor: &Caller, v: &Venue) -> Result<VenueRow> {
    let at = now();
    let row: VenueRow = diesel::insert_into(venues::table)
        .values((
            VenueWrite::new(v, at),
            venues::created_by.eq(actor.user_id.unwrap_or(0)),
            venues::created_at.eq(at),
        ))
        .returning(venues::all_columns)
        .get_result(conn)?;
    events::append(conn, actor, "venue", &row.id.to_string(), "created", json!({"name": v.name, "city": v.city}))?;
    Ok(row)
}

pub fn get(conn: &mut DbConn, id: i64) -> Result<VenueRow> {
    Ok(venues::table.find(id).select(VenueRow::as_select()).first(conn)?)
}

pub fn update(conn: &mut DbConn, actor: &Caller, id: i64, v: &Venue) -> Result<VenueRow> {
    let row: VenueRow = diesel::update(venues::table.find(id))
        .set(VenueWrite::new(v, now()))
        .returning(venues::all_columns)
        .get_result(conn)?;
    events::append(conn, actor, "venue", &id.to_string(), "updated", json!({"name": v.name, "city": v.city}))?;
    Ok(row)
}

pub struct VenueQuery {
    pub q: Option<String>,
    pub city: Option<String>,
    pub only_id: Option<i64>,
    pub after_id: Option<i64>,
    pub limit: i64,
}

/// Keyset-paginated list by id.
pub fn list(conn: &mut DbConn, query: &VenueQuery) -> Result<Vec<VenueRow>> {
    let mut q = venues::table
        .select(VenueRow::as_select())
        .order(venues::id.asc())
        .limit(query.limit)
        .into_boxed();
    if let Some(text) = query.q.as_deref().filter(|s| !s.trim().is_empty()) {
        q = q.filter(name_filter(conn, text.trim()));
    }
    if let Some(city) = query.city.as_deref().filter(|s| !s.trim().is_empty()) {
        q = q.filter(venues::city.eq(city.trim().to_string()));
    }
    if let Some(id) = query.only_id {
        q = q.filter(venues::id.eq(id));
    }
    if let Some(after) = query.after_id {
        q = q.filter(venues::id.gt(after));
    }
    Ok(q.load(conn)?)
}

pub fn exists(conn: &mut DbConn, id: i64) -> Result<bool> {
    let n: i64 = venues::table.filter(venues::id.eq(id)).count().get_result(conn)?;
    if n > 1 {
        return Err(Error::Internal("duplicate venue id".into()));
    }
    Ok(n == 1)
}

/// The names of these venues, in one query.
pub fn names(conn: &mut DbConn, ids: &[i64]) -> Result<std::collections::HashMap<i64, String>> {
    let rows: Vec<(i64, String)> = venues::table.filter(venues::id.eq_any(ids)).select((venues::id, venues::name)).load(conn)?;
    Ok(rows.into_iter().collect())
}
