// Venues: create, read, update and search (name in any language, city), with the event history.
// Search runs on a folded `search_text` column (lower case, no accents: `text::fold`), the same on both backends.

use super::models::VenueRow;
use super::schema::venues;
use super::{events, now, DbConn, Error, Result};
use crate::domain::auth::Caller;
use crate::domain::text::fold;
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
        city_kk: r.city_kk.clone(),
        city_ru: r.city_ru.clone(),
        country: r.country.clone(),
        category: r.category.clone(),
        contact_name: r.contact_name.clone(),
        contact_email: r.contact_email.clone(),
        contact_phone: r.contact_phone.clone(),
    }
}

/// The folded names and city (in every language given) that name search runs on (lower case, accents dropped: `text::fold`).
pub fn search_text(v: &Venue) -> String {
    [
        Some(&v.name),
        v.name_kk.as_ref(),
        v.name_ru.as_ref(),
        v.name_en.as_ref(),
        Some(&v.city),
        v.city_kk.as_ref(),
        v.city_ru.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|s| fold(s))
    .collect::<Vec<_>>()
    .join(" | ")
}

/// Escape `%`, `_` and `\` for a LIKE pattern (used with ESCAPE '\').
pub fn like_pattern(q: &str) -> String {
    let mut out = String::from("%");
    for c in fold(q).chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The words of a lower-cased search text as the word index holds them: the runs of letters and digits,
/// each once, joined by spaces.
pub fn search_words(search_text: &str) -> String {
    let mut seen = std::collections::HashSet::new();
    words(search_text).filter(|w| seen.insert(*w)).collect::<Vec<_>>().join(" ")
}

/// Runs of letters and digits (what a word is, for the stored words and for a search text alike).
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty())
}

/// A prefix shorter than this would match too many words to narrow anything down.
const MIN_PREFIX: usize = 3;
/// The longest prefix SQLite's word index keeps a prefix index for (`prefix='3 4 5 6'`): a longer one is
/// asked by its start (more candidates for the LIKE, but one list read instead of a merge of many).
const INDEXED_PREFIX: usize = 6;

/// What the word index can say about the names holding a (lower-cased) search text as a substring: a word
/// of the text with a separator on both sides must be a whole word of the name; the last one, with a
/// separator before it only, the start of a word; the first one, with a separator after it only, may be the
/// end of a longer word, and a text that is one word may be inside one, so those say nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordQuery {
    pub whole: Vec<String>,
    pub prefix: Option<String>,
}

impl WordQuery {
    /// None when no word of the text is bounded (the trigram index is the way then).
    pub fn parse(lower: &str) -> Option<WordQuery> {
        let mut whole: Vec<String> = Vec::new();
        let mut prefix = None;
        let base = lower.as_ptr() as usize;
        for w in words(lower) {
            let start = w.as_ptr() as usize - base;
            let end = start + w.len();
            match (start > 0, end < lower.len()) {
                (true, true) if !whole.iter().any(|x| x == w) => whole.push(w.to_string()),
                (true, false) if w.chars().count() >= MIN_PREFIX => prefix = Some(w.to_string()),
                _ => {}
            }
        }
        (!whole.is_empty() || prefix.is_some()).then_some(WordQuery { whole, prefix })
    }

    /// The FTS5 query (`venues_words`, the `ascii` tokenizer: every non-ASCII character and every ASCII
    /// letter and digit is part of a word, so our words come back whole).
    pub fn fts5(&self) -> String {
        let quote = |w: &str| format!("\"{}\"", w.replace('"', "\"\""));
        let mut terms: Vec<String> = self.whole.iter().map(|w| quote(w)).collect();
        // Asked by its first characters at most, which the index keeps a prefix index for.
        let indexed = |w: &str| w.chars().take(INDEXED_PREFIX).collect::<String>();
        terms.extend(self.prefix.iter().map(|w| format!("{}*", quote(&indexed(w)))));
        terms.join(" AND ")
    }

    /// The PostgreSQL `tsquery` (lexemes as they are: no parser, no dictionary).
    pub fn tsquery(&self) -> String {
        let quote = |w: &str| format!("'{}'", w.replace('\\', "\\\\").replace('\'', "''"));
        let mut terms: Vec<String> = self.whole.iter().map(|w| quote(w)).collect();
        terms.extend(self.prefix.iter().map(|w| format!("{}:*", quote(w))));
        terms.join(" & ")
    }
}

/// The part of a SQLite query that finds venues by name through the FTS5 trigram index (`venues_search`):
/// the id is among the index's rows whose text holds the phrase.
pub const SQLITE_NAME_MATCH: &str = "venues.id IN (SELECT rowid FROM venues_search WHERE venues_search MATCH ";
/// The same through the word index (`venues_words`).
pub const SQLITE_WORD_MATCH: &str = "venues.id IN (SELECT rowid FROM venues_words WHERE venues_words MATCH ";
/// A SQLite name search without an index: the `LIKE` alone, which the planner is told is `likely` (it is
/// only asked for a text the index found common, or too short to narrow anything), so that it walks the
/// rows in the query's order until the page is full rather than reading every venue and sorting the matches
/// (which it chose at 5,200 venues without the hint).
pub const SQLITE_SCAN: &str = "likely(venues.search_text LIKE ";
/// The same on PostgreSQL, where a `CASE` is what `likely` is to SQLite: the planner takes half the rows to
/// match an expression it cannot estimate (a `LIKE '%…%'` it takes to match almost none, and then read every
/// venue and sorted the matches at 10,000 certificates), and pg_trgm's index cannot serve it.
pub const PG_SCAN: &str = "CASE WHEN venues.search_text LIKE ";
/// What closes `PG_SCAN` after its pattern.
pub const PG_SCAN_END: &str = " THEN true ELSE false END";
/// PostgreSQL's word index is a GIN index on this expression (`venues_search_words`).
pub const PG_WORD_MATCH: &str = "array_to_tsvector(string_to_array(venues.search_words, ' ')) @@ CAST(";

/// Past this many matching venues a search text is common (a city, a chain's name, a word like "café"):
/// reading every match through the index and sorting them would cost more than walking the register
/// newest first until a page is full, which for a text one venue in `n` holds takes about `n` rows a result.
pub const COMMON_MATCHES: i64 = 5_000;

/// The venue-name filter for a text found the way `name_lookup` chose: a case-insensitive substring of
/// `search_text` (the `LIKE` decides), whose candidates come from the word index when the text has a
/// bounded word (words are few and most are rare), else from the trigram index (FTS5 `trigram` on SQLite
/// for 3 characters or more, `pg_trgm` GIN on PostgreSQL, which serves the `LIKE` itself), or from the rows
/// in the caller's order (`Scan`, `Common`). The `LIKE` decides on every path, so the way changes the time
/// a search takes, never its result.
pub fn name_filter<QS: 'static>(
    lookup: NameLookup,
    text: &str,
) -> Box<dyn BoxableExpression<QS, <DbConn as Connection>::Backend, SqlType = diesel::sql_types::Bool>> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Text};
    let pattern = like_pattern(text);
    // (index part, its query, the LIKE that decides, its end): the index finds the candidates, the LIKE decides.
    let sqlite_like = (") AND venues.search_text LIKE ", " ESCAPE '\\')");
    let (index, query, (like, end)) = match lookup {
        // `search_text || ''`: as a plain LIKE the planner also read the trigram index for it and ANDed the
        // two (14 ms instead of 0.25 at 1M).
        NameLookup::PgWords(words) => (PG_WORD_MATCH, words, (" AS tsquery) AND (venues.search_text || '') LIKE ", ")")),
        NameLookup::Words(words) => (SQLITE_WORD_MATCH, words, sqlite_like),
        NameLookup::Trigrams(phrase) => (SQLITE_NAME_MATCH, phrase, sqlite_like),
        // A plain LIKE (escaping with `\` by default) is what pg_trgm's index serves.
        NameLookup::PgTrigrams => return Box::new(sql::<Bool>("venues.search_text LIKE ").bind::<Text, _>(pattern)),
        NameLookup::Scan => return Box::new(sql::<Bool>(SQLITE_SCAN).bind::<Text, _>(pattern).sql(" ESCAPE '\\')")),
        NameLookup::PgScan => return Box::new(sql::<Bool>(PG_SCAN).bind::<Text, _>(pattern).sql(PG_SCAN_END)),
        NameLookup::Common(index) => return name_filter(index.scan(), text),
    };
    Box::new(sql::<Bool>("(").sql(index).bind::<Text, _>(query).sql(like).bind::<Text, _>(pattern).sql(end))
}

/// How a name search finds its candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameLookup {
    /// SQLite's word index (`venues_words`), with this FTS5 query.
    Words(String),
    /// SQLite's trigram index (`venues_search`), with this FTS5 phrase.
    Trigrams(String),
    /// No index: the `LIKE` alone, on the rows in the query's order (a text under 3 characters on SQLite).
    Scan,
    /// A text more than `COMMON_MATCHES` venues hold: the `LIKE` alone (`scan()`) within `COMMON_WINDOW`
    /// rows of the cursor, past them this way through the index (the trigram index where the text has
    /// words: see `name_lookup`).
    Common(Box<NameLookup>),
    /// PostgreSQL's word index, with this `tsquery`.
    PgWords(String),
    /// PostgreSQL's trigram index (which serves the `LIKE` itself).
    PgTrigrams,
    /// PostgreSQL without an index: the `LIKE` alone, on the rows in the query's order.
    PgScan,
}

impl NameLookup {
    /// The way without an index on the same backend.
    pub fn scan(&self) -> NameLookup {
        match self {
            NameLookup::PgWords(_) | NameLookup::PgTrigrams | NameLookup::PgScan => NameLookup::PgScan,
            NameLookup::Common(index) => index.scan(),
            NameLookup::Words(_) | NameLookup::Trigrams(_) | NameLookup::Scan => NameLookup::Scan,
        }
    }
}

/// The way to find the venues whose names hold `text`: on SQLite the index is asked first how many rows
/// match, up to `COMMON_MATCHES` + 1; on PostgreSQL the words' shares in the word index's statistics say
/// how many (its planner guesses a prefix's share, 2 % for "hotel:*" where it is 17 %, and then reads every
/// match and sorts them); a common text is `Common`. A text whose words are common is looked for below the
/// window through the trigram index, which holds every part of it: the word index has neither its first word
/// (perhaps the end of a longer one) nor a last word under `MIN_PREFIX`, so for "Koktem Hotel 5" it lists
/// every "hotel" venue, a sixth of the register, where the trigrams of the whole text narrow it to a few.
pub fn name_lookup(conn: &mut DbConn, text: &str) -> Result<NameLookup> {
    let lower = fold(text);
    let words = WordQuery::parse(&lower);
    // The lookup through the index, and whether the text is common.
    let (lookup, common) = match (conn, words) {
        (DbConn::Pg(_), None) => return Ok(NameLookup::PgTrigrams),
        (DbConn::Pg(pg), Some(w)) => {
            let common = pg_common_words(pg)?;
            if estimated_matches(&w, &common.shares, common.total) > COMMON_MATCHES as f64 {
                (NameLookup::PgTrigrams, true)
            } else {
                (NameLookup::PgWords(w.tsquery()), false)
            }
        }
        (DbConn::Sqlite(sqlite), words) => {
            // FTS5's trigram tokenizer needs 3 characters; a word query has at least that many.
            let phrase = (lower.chars().count() >= 3).then(|| format!("\"{}\"", lower.replace('"', "\"\"")));
            match (words, phrase) {
                (Some(w), phrase) => {
                    let query = w.fts5();
                    let many = index_matches(sqlite, "venues_words", &query)? > COMMON_MATCHES;
                    (phrase.filter(|_| many).map_or(NameLookup::Words(query), NameLookup::Trigrams), many)
                }
                (None, Some(phrase)) => {
                    let many = index_matches(sqlite, "venues_search", &phrase)? > COMMON_MATCHES;
                    (NameLookup::Trigrams(phrase), many)
                }
                (None, None) => return Ok(NameLookup::Scan),
            }
        }
    };
    Ok(if common { NameLookup::Common(Box::new(lookup)) } else { lookup })
}

/// How long the word index's statistics are kept before they are read again (they change with `ANALYZE`,
/// which autovacuum runs as the register grows).
const WORD_STATS_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// The most common words of PostgreSQL's word index with their shares of the venues, and how many venues
/// there are: what `pg_stats` says (from `ANALYZE`; nothing before it). The view costs 1–4 ms to read, too
/// much for every search, so each database's are kept here for `WORD_STATS_TTL` (a process serves one
/// database, the tests many).
#[derive(Debug, Default)]
pub struct CommonWords {
    pub shares: Vec<(String, f64)>,
    pub total: f64,
}

fn pg_common_words(conn: &mut diesel::PgConnection) -> Result<std::sync::Arc<CommonWords>> {
    use diesel::sql_types::{Double, Text};
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    static KEPT: Mutex<BTreeMap<String, (std::time::Instant, Arc<CommonWords>)>> = Mutex::new(BTreeMap::new());
    #[derive(QueryableByName)]
    struct Database {
        #[diesel(sql_type = Text)]
        name: String,
    }
    let db = diesel::sql_query("SELECT current_database() || ':' || coalesce(inet_server_port(), 0) AS name")
        .get_result::<Database>(conn)?
        .name;
    if let Some((at, words)) = KEPT.lock().unwrap_or_else(|p| p.into_inner()).get(&db) {
        if at.elapsed() < WORD_STATS_TTL {
            return Ok(words.clone());
        }
    }
    #[derive(QueryableByName)]
    struct Share {
        #[diesel(sql_type = Text)]
        word: String,
        #[diesel(sql_type = Double)]
        share: f64,
        #[diesel(sql_type = Double)]
        total: f64,
    }
    let rows: Vec<Share> = diesel::sql_query(
        "SELECT u.word, u.share::float8 AS share, (SELECT reltuples::float8 FROM pg_class WHERE oid = 'venues'::regclass) AS total \
         FROM pg_stats s, unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS u(word, share) \
         WHERE s.schemaname = current_schema() AND s.tablename = 'venues_search_words' AND u.word IS NOT NULL",
    )
    .load(conn)?;
    let words = Arc::new(CommonWords {
        total: rows.first().map_or(0.0, |r| r.total),
        shares: rows.into_iter().map(|r| (r.word, r.share)).collect(),
    });
    KEPT.lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(db, (std::time::Instant::now(), words.clone()));
    Ok(words)
}

/// How many of `total` venues hold every word of `words`, from the shares of the most common words: a
/// whole word's share, a prefix's the sum of the shares of the words it begins (at most all), taken as
/// independent; a word not among the most common makes the text rare (0).
pub fn estimated_matches(words: &WordQuery, common: &[(String, f64)], total: f64) -> f64 {
    let share = |hit: &dyn Fn(&str) -> bool| common.iter().filter(|(w, _)| hit(w)).map(|(_, s)| s).sum::<f64>().min(1.0);
    let whole = words.whole.iter().map(|word| share(&|w| w == word));
    let prefix = words.prefix.iter().map(|p| share(&|w| w.starts_with(p.as_str())));
    whole.chain(prefix).fold(total, |n, s| n * s)
}

/// How many rows of the FTS5 index `table` match `query`, counted up to `COMMON_MATCHES` + 1.
fn index_matches(conn: &mut diesel::SqliteConnection, table: &str, query: &str) -> Result<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count: Count = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM (SELECT 1 FROM {table} WHERE {table} MATCH ? LIMIT {})",
        COMMON_MATCHES + 1
    ))
    .bind::<diesel::sql_types::Text, _>(query)
    .get_result(conn)?;
    Ok(count.n)
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
    city_kk: Option<&'a str>,
    city_ru: Option<&'a str>,
    country: &'a str,
    category: &'a str,
    contact_name: Option<&'a str>,
    contact_email: Option<&'a str>,
    contact_phone: Option<&'a str>,
    search_text: String,
    search_words: String,
    updated_at: chrono::NaiveDateTime,
}

impl<'a> VenueWrite<'a> {
    fn new(v: &'a Venue, at: chrono::NaiveDateTime) -> Self {
        let text = search_text(v);
        VenueWrite {
            name: &v.name,
            name_kk: v.name_kk.as_deref(),
            name_ru: v.name_ru.as_deref(),
            name_en: v.name_en.as_deref(),
            address: &v.address,
            city: &v.city,
            city_kk: v.city_kk.as_deref(),
            city_ru: v.city_ru.as_deref(),
            country: &v.country,
            category: &v.category,
            contact_name: v.contact_name.as_deref(),
            contact_email: v.contact_email.as_deref(),
            contact_phone: v.contact_phone.as_deref(),
            search_words: search_words(&text),
            search_text: text,
            updated_at: at,
        }
    }
}

/// Venues written before the word index (or before search folded accents: migration 000021 cleared their
/// words) get their search text and words written again, a batch per transaction (run at start, after the
/// migrations; a partial index finds the rows still without, so a registry that has them all pays nothing).
pub fn backfill_words(conn: &mut DbConn) -> Result<usize> {
    let mut done = 0;
    loop {
        let n = conn.transaction(|c| {
            let rows: Vec<VenueRow> = venues::table
                .filter(venues::search_words.is_null())
                .select(VenueRow::as_select())
                .order(venues::id.asc())
                .limit(1000)
                .load(c)?;
            for row in &rows {
                let text = search_text(&to_domain(row));
                diesel::update(venues::table.find(row.id))
                    .set((venues::search_words.eq(search_words(&text)), venues::search_text.eq(&text)))
                    .execute(c)?;
            }
            Ok::<_, Error>(rows.len())
        })?;
        done += n;
        if n < 1000 {
            return Ok(done);
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

/// How many rows after a cursor a common name is looked for in without its index (the register's
/// certificates and the venue list; about 10 to 20 ms of reading on SQLite at a million; a text 5,000 of a
/// million venues hold has some 50 matches there).
pub const COMMON_WINDOW: i64 = 10_000;

/// Keyset-paginated list by id. A common name (`NameLookup::Common`) is looked for without its index among
/// the `COMMON_WINDOW` venues after the cursor, and what that leaves of the page through the index past them
/// (as the register does newest first), so a rare text with common words does not read the whole list.
pub fn list(conn: &mut DbConn, query: &VenueQuery) -> Result<Vec<VenueRow>> {
    let text = query.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let lookup = text.map(|t| name_lookup(conn, t)).transpose()?;
    let (Some(text), Some(NameLookup::Common(index))) = (text, &lookup) else {
        return list_page(conn, query, lookup.zip(text), query.after_id, None, query.limit);
    };
    let ceiling = query.after_id.unwrap_or(0).saturating_add(COMMON_WINDOW);
    let mut rows = list_page(conn, query, Some((index.scan(), text)), query.after_id, Some(ceiling), query.limit)?;
    let missing = query.limit - i64::try_from(rows.len()).unwrap_or(query.limit);
    if missing > 0 {
        let last: Option<i64> = venues::table.select(diesel::dsl::max(venues::id)).first(conn)?;
        if last.is_some_and(|last| last > ceiling) {
            rows.extend(list_page(conn, query, Some(((**index).clone(), text)), Some(ceiling), None, missing)?);
        }
    }
    Ok(rows)
}

/// One page of the list: `name` filters by venue name (found this way), ids after `after_id` up to `upto`
/// (inclusive), the other filters from `query`.
fn list_page(
    conn: &mut DbConn,
    query: &VenueQuery,
    name: Option<(NameLookup, &str)>,
    after_id: Option<i64>,
    upto: Option<i64>,
    limit: i64,
) -> Result<Vec<VenueRow>> {
    let mut q = venues::table.select(VenueRow::as_select()).order(venues::id.asc()).limit(limit).into_boxed();
    if let Some((lookup, text)) = name {
        q = q.filter(name_filter(lookup, text));
    }
    if let Some(city) = query.city.as_deref().filter(|s| !s.trim().is_empty()) {
        q = q.filter(venues::city.eq(city.trim().to_string()));
    }
    if let Some(id) = query.only_id {
        q = q.filter(venues::id.eq(id));
    }
    if let Some(after) = after_id {
        q = q.filter(venues::id.gt(after));
    }
    if let Some(upto) = upto {
        q = q.filter(venues::id.le(upto));
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
/// The venues' names in `lang` (kk, ru, en) where they have one, else the names they were registered under.
pub fn names(conn: &mut DbConn, ids: &[i64], lang: &str) -> Result<std::collections::HashMap<i64, String>> {
    type Names = (i64, String, Option<String>, Option<String>, Option<String>);
    let rows: Vec<Names> = venues::table
        .filter(venues::id.eq_any(ids))
        .select((venues::id, venues::name, venues::name_kk, venues::name_ru, venues::name_en))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, kk, ru, en)| {
            let shown = crate::domain::venue::translated(lang, &name, kk.as_deref(), ru.as_deref(), en.as_deref()).to_string();
            (id, shown)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn matches_are_estimated_from_the_common_words_shares() {
        let common = [("hotel".to_string(), 0.17), ("hotels".to_string(), 0.01), ("koktem".to_string(), 0.06)];
        let est = |text: &str| estimated_matches(&WordQuery::parse(text).unwrap(), &common, 1_000_000.0).round();
        assert_eq!(est("koktem hotel"), 180_000.0, "a prefix counts every common word it begins");
        assert_eq!(est("koktem hotel "), 170_000.0, "a whole word counts itself");
        assert_eq!(est("a koktem hotel"), 10_800.0, "words taken as independent");
        assert_eq!(est("a rare hotel"), 0.0, "a word not among the common ones makes the text rare");
        assert_eq!(est("x zzz"), 0.0);
        let all = [("hot".to_string(), 0.9), ("hotel".to_string(), 0.9)];
        assert_eq!(estimated_matches(&WordQuery::parse("x hot").unwrap(), &all, 10.0), 10.0, "at most every venue");
    }

    #[test]
    fn bounded_words_are_whole_the_last_a_prefix_the_first_nothing() {
        let q = WordQuery::parse("арай қонақүйі 499999").unwrap();
        assert_eq!(q.whole, ["қонақүйі"]);
        assert_eq!(q.prefix.as_deref(), Some("499999"));
        assert_eq!(q.fts5(), "\"қонақүйі\" AND \"499999\"*");
        assert_eq!(q.tsquery(), "'қонақүйі' & '499999':*");
        assert_eq!(WordQuery::parse("гостиница «байтерек»").unwrap().whole, ["байтерек"]);
        assert_eq!(WordQuery::parse("smart plastic zone").unwrap().whole, ["plastic"]);
        assert_eq!(WordQuery::parse("terek hot").unwrap().prefix.as_deref(), Some("hot"));
        assert_eq!(WordQuery::parse("terek ho"), None, "a prefix of three letters at least");
        assert_eq!(WordQuery::parse("baiterek"), None, "one word may be inside a longer one: trigrams");
        assert_eq!(WordQuery::parse("smart "), None, "the first word may be the end of a longer one");
        let long = WordQuery::parse("«байтерек» қонақүйі").unwrap();
        assert_eq!(long.fts5(), "\"байтерек\" AND \"қонақү\"*", "a long prefix asked by the 6 characters indexed");
        assert_eq!(long.tsquery(), "'байтерек' & 'қонақүйі':*");
        assert_eq!(search_words("smart plastic zone | smart plastic zone | астана"), "smart plastic zone астана");
    }

    fn name() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                "[a-z0-9]{1,6}",
                "[әғқңөұүһіа-я]{1,6}",
                Just(" ".to_string()),
                Just(" | ".to_string()),
                Just("-".to_string()),
                Just("«".to_string()),
                Just("'".to_string()),
            ],
            1..12,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        /// The word index never loses a match: for any piece of a name, what the query asks of the words
        /// holds for the name's own words.
        #[test]
        fn every_substring_passes_its_own_word_query(text in name(), a in 0usize..80, len in 1usize..40) {
            let chars: Vec<char> = text.chars().collect();
            let start = a % chars.len();
            let end = (start + len).min(chars.len());
            let q: String = chars[start..end].iter().collect();
            let stored = search_words(&text);
            let stored: Vec<&str> = stored.split(' ').collect();
            if let Some(w) = WordQuery::parse(&q) {
                for whole in &w.whole {
                    prop_assert!(stored.contains(&whole.as_str()), "{whole:?} of {q:?} not a word of {text:?}");
                }
                if let Some(p) = &w.prefix {
                    prop_assert!(stored.iter().any(|s| s.starts_with(p.as_str())), "{p:?} of {q:?} starts no word of {text:?}");
                }
            }
        }
    }
}
