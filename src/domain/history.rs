// A certificate's history as its public log entries tell it: the timeline, and the status it had at a given
// moment (the entry that decided it, with `expired` derived from valid-until as on the live pages).

use super::lifecycle::{public_status, PublicStatus, StoredStatus};
use super::log::Entry;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// One change of a certificate, as its log entry records it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Change {
    /// The entry's index in the public log.
    pub index: u64,
    /// issued, suspended, reinstated, withdrawn, superseded or expired.
    pub kind: String,
    /// The status after the change.
    pub status: String,
    pub at: DateTime<Utc>,
    /// The public reason, where the change has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Change {
    /// Read a log entry (RFC 8785 JSON); an entry that does not read is an error of the log, named.
    pub fn from_entry(bytes: &[u8]) -> Result<Change, String> {
        let e: Entry = serde_json::from_slice(bytes).map_err(|e| format!("log entry does not read: {e}"))?;
        let at = DateTime::parse_from_rfc3339(&e.at)
            .map_err(|err| format!("log entry {}: time {:?}: {err}", e.seq, e.at))?
            .with_timezone(&Utc);
        Ok(Change {
            index: e.seq,
            kind: e.kind,
            status: e.status,
            at,
            reason: e.reason,
        })
    }
}

/// What a certificate was at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then<'a> {
    /// The moment is before its issuance.
    NotYetIssued,
    /// Its status then, and the change that decided it.
    Was { status: PublicStatus, decided_by: &'a Change },
}

/// The status at `at` from the changes in log order: the last change at or before it decides, and a valid
/// or suspended certificate past its valid-until is expired (as the live pages say).
pub fn status_at(changes: &[Change], valid_until: NaiveDate, at: NaiveDateTime) -> Then<'_> {
    let Some(deciding) = changes.iter().rev().find(|c| c.at.naive_utc() <= at) else {
        return Then::NotYetIssued;
    };
    let stored = StoredStatus::parse(&deciding.status).unwrap_or(StoredStatus::Valid);
    Then::Was {
        status: public_status(stored, valid_until, at),
        decided_by: deciding,
    }
}

/// The moment a `?at=` names: an RFC 3339 time, or a date (its first instant, UTC).
pub fn parse_moment(s: &str) -> Option<NaiveDateTime> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.naive_utc());
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(index: u64, kind: &str, status: &str, at: &str) -> Change {
        Change {
            index,
            kind: kind.into(),
            status: status.into(),
            at: DateTime::parse_from_rfc3339(at).unwrap().with_timezone(&Utc),
            reason: None,
        }
    }

    fn t(s: &str) -> NaiveDateTime {
        parse_moment(s).unwrap()
    }

    #[test]
    fn the_last_change_before_the_moment_decides() {
        let changes = [
            change(3, "issued", "valid", "2026-01-10T12:00:00Z"),
            change(7, "suspended", "suspended", "2026-03-01T09:00:00Z"),
            change(9, "reinstated", "valid", "2026-04-01T09:00:00Z"),
        ];
        let until = NaiveDate::from_ymd_opt(2028, 1, 10).unwrap();
        assert_eq!(status_at(&changes, until, t("2026-01-10")), Then::NotYetIssued);
        let was = |s: &str| match status_at(&changes, until, t(s)) {
            Then::Was { status, decided_by } => (status, decided_by.index),
            Then::NotYetIssued => panic!("issued by {s}"),
        };
        assert_eq!(was("2026-01-10T12:00:00Z"), (PublicStatus::Valid, 3));
        assert_eq!(was("2026-03-15"), (PublicStatus::Suspended, 7));
        assert_eq!(was("2026-03-01T08:59:59Z"), (PublicStatus::Valid, 3));
        assert_eq!(was("2026-04-02"), (PublicStatus::Valid, 9));
        // Past valid-until, valid reads expired (no expiry entry needed).
        assert_eq!(was("2028-01-11"), (PublicStatus::Expired, 9));
    }

    #[test]
    fn moments_are_times_or_dates() {
        assert_eq!(t("2026-03-15"), NaiveDate::from_ymd_opt(2026, 3, 15).unwrap().and_hms_opt(0, 0, 0).unwrap());
        assert_eq!(t("2026-03-15T06:00:00+06:00"), t("2026-03-15T00:00:00Z"));
        assert!(parse_moment("15.03.2026").is_none() && parse_moment("").is_none());
    }

    #[test]
    fn entries_read_back() {
        let e = br#"{"at":"2026-03-01T09:00:00Z","number":"GEL-2026-000001","reason":"Bins missing","seq":7,"status":"suspended","token_sha256":"00","type":"suspended","venue":"X"}"#;
        let c = Change::from_entry(e).unwrap();
        assert_eq!((c.index, c.kind.as_str(), c.reason.as_deref()), (7, "suspended", Some("Bins missing")));
        assert!(Change::from_entry(b"{}").is_err());
    }
}
