// What a signed-in page shows, read as one operation in one trip to the database: the home's to-do list,
// the account page, the people pages, the review queue and audit list with venue names, an appeal.

use super::{accounts, appeals, assessments, certificates, users, Result};
use crate::domain::appeal::AppealStatus;
use crate::domain::auth::{Caller, Role};
use crate::domain::complaint::ComplaintStatus;
use crate::storage::accounts::{AuthEventRow, SessionRow};
use crate::storage::assessments::ListQuery;
use crate::storage::certificates::PublicQuery;
use crate::storage::models::{AppealFileMeta, AppealRow, AssessmentSummary, CertificateRow, ComplaintRow, TokenRow, UserRow};
use crate::storage::DbConn;
use chrono::{NaiveDate, NaiveDateTime};
use std::collections::HashMap;

/// What `/app` shows a person to do next, by role.
pub struct Todo {
    /// The assessor's drafts and returned audits.
    pub mine: Vec<AssessmentSummary>,
    /// Submitted audits waiting for an officer, and the oldest submission.
    pub waiting: i64,
    pub oldest: Option<NaiveDateTime>,
    /// The venue manager's certificates.
    pub certificates: Vec<CertificateRow>,
    /// Officers and admins: complaints not triaged yet (newest first, a few), appeals they may decide,
    /// and certificates whose surveillance is due within 30 days or that expire within 90 (the venue
    /// manager: their own).
    pub complaints: Vec<ComplaintRow>,
    pub appeals: Vec<AppealRow>,
    pub due_soon: Vec<CertificateRow>,
}

/// How many of each queue `/app` shows.
const QUEUE_SHOWN: i64 = 5;

pub fn todo(c: &mut DbConn, caller: &Caller, today: NaiveDate) -> Result<Todo> {
    let mut mine = vec![];
    if caller.has(Role::Assessor) {
        for status in ["returned", "draft"] {
            let q = ListQuery {
                venue_id: None,
                status: Some(status.to_string()),
                after_id: None,
                limit: 200,
            };
            mine.extend(
                assessments::list_summaries(c, caller, &q)?
                    .into_iter()
                    .filter(|a| Some(a.assessor_id) == caller.user_id),
            );
        }
    }
    let (waiting, oldest) = if caller.has_any(&[Role::Officer, Role::Admin]) {
        assessments::waiting(c, caller)?
    } else {
        (0, None)
    };
    let mut certs = vec![];
    if let (true, Some(v)) = (caller.has(Role::Venue), caller.venue_id) {
        let q = PublicQuery {
            q: None,
            city: None,
            status: None,
            venue_id: Some(v),
            before_id: None,
            limit: 20,
            today,
        };
        certs = certificates::list(c, &q)?;
    }
    let staff = caller.has_any(&[Role::Officer, Role::Admin]);
    let (complaints, appeals) = if staff {
        let complaints = super::complaints::list(c, caller, Some(ComplaintStatus::Received), None, QUEUE_SHOWN)?;
        let appeals = super::appeals::list(c, caller, Some(AppealStatus::Open), None, 50)?
            .into_iter()
            .filter(|a| crate::domain::appeal::independent(caller.user_id, &[a.decider_id, a.assessor_id]))
            .take(QUEUE_SHOWN as usize)
            .collect();
        (complaints, appeals)
    } else {
        (vec![], vec![])
    };
    let venue = if staff { None } else { caller.venue_id.filter(|_| caller.has(Role::Venue)) };
    let due_soon = if staff || venue.is_some() {
        crate::storage::certificates::due_soon(c, today + chrono::Days::new(30), today + chrono::Days::new(90), venue, QUEUE_SHOWN)?
    } else {
        vec![]
    };
    Ok(Todo {
        mine,
        waiting,
        oldest,
        certificates: certs,
        complaints,
        appeals,
        due_soon,
    })
}

/// The account page: one's open sessions, API tokens and recovery codes left.
pub struct Account {
    pub sessions: Vec<SessionRow>,
    pub tokens: Vec<TokenRow>,
    pub codes_left: i64,
}

pub fn account(c: &mut DbConn, caller: &Caller, user_id: i64) -> Result<Account> {
    Ok(Account {
        sessions: accounts::sessions(c, caller, user_id)?,
        tokens: accounts::tokens(c, caller, user_id)?,
        codes_left: accounts::recovery_codes_left(c, caller)?,
    })
}

/// The people page (admins).
pub fn people(c: &mut DbConn, caller: &Caller, after: Option<i64>, limit: i64, lang: &str) -> Result<People> {
    let rows = users::page(c, caller, after, limit)?;
    let events = accounts::auth_events(c, caller, None, None, 20)?;
    let ids: Vec<i64> = rows.iter().filter_map(|u| u.venue_id).collect();
    let venues = assessments::venue_names(c, &ids, lang)?;
    Ok(People { rows, events, venues })
}

/// The people page's content: a page of people, the latest sign-in events, and the names of the venues
/// its venue managers look after.
pub struct People {
    pub rows: Vec<UserRow>,
    pub events: Vec<AuthEventRow>,
    pub venues: HashMap<i64, String>,
}

/// One person's page (admins): the person, their sessions, tokens and sign-in events.
pub struct Person {
    pub user: UserRow,
    /// The name of the venue a venue manager looks after.
    pub venue: Option<String>,
    pub sessions: Vec<SessionRow>,
    pub tokens: Vec<TokenRow>,
    pub events: Vec<AuthEventRow>,
}

pub fn person(c: &mut DbConn, caller: &Caller, id: i64, lang: &str) -> Result<Person> {
    let user = users::get(c, caller, id)?;
    let ids: Vec<i64> = user.venue_id.into_iter().collect();
    let venue = assessments::venue_names(c, &ids, lang)?.into_values().next();
    Ok(Person {
        venue,
        sessions: accounts::sessions(c, caller, id)?,
        tokens: accounts::tokens(c, caller, id)?,
        events: accounts::auth_events(c, caller, Some(id), None, 20)?,
        user,
    })
}

/// The officers' queue, oldest submission first, each audit with its venue's name in `lang`.
pub fn queue(c: &mut DbConn, caller: &Caller, after: Option<(NaiveDateTime, i64)>, limit: i64, lang: &str) -> Result<Vec<(String, AssessmentSummary)>> {
    let rows = assessments::queue(c, caller, after, limit)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.venue_id).collect();
    let mut names = assessments::venue_names(c, &ids, lang)?;
    Ok(rows.into_iter().map(|r| (names.remove(&r.venue_id).unwrap_or_default(), r)).collect())
}

/// The audits the caller may see by the query, with the names of their venues in `lang`.
pub fn audits(c: &mut DbConn, caller: &Caller, q: &ListQuery, lang: &str) -> Result<(Vec<AssessmentSummary>, HashMap<i64, String>)> {
    let rows = assessments::list_summaries(c, caller, q)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.venue_id).collect();
    let names = assessments::venue_names(c, &ids, lang)?;
    Ok((rows, names))
}

/// An appeal the caller may see, with its files.
pub fn appeal(c: &mut DbConn, caller: &Caller, id: i64) -> Result<(AppealRow, Vec<AppealFileMeta>)> {
    let row = appeals::get_visible(c, caller, id)?;
    let files = appeals::files(c, caller, id)?;
    Ok((row, files))
}
