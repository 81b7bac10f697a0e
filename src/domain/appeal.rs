//! Appeals (ISO/IEC 17065 7.13), as rules: what a venue may appeal and until when, who may decide (no one
//! who took part in the decision appealed), and what an upheld appeal reverses. Pure: times come in.

/// The public reason recorded when an appeal reverses a suspension or withdrawal.
pub const UPHELD_REASON: &str = "appeal upheld";

use super::lifecycle::{PublicStatus, StoredStatus};
use chrono::{NaiveDateTime, TimeDelta};
use serde::{Deserialize, Serialize};

/// Days after a decision during which the venue may appeal it.
pub const APPEAL_DAYS: i64 = 30;
pub const MIN_STATEMENT: usize = 20;
pub const MAX_STATEMENT: usize = 8000;
pub const MAX_FILES: usize = 10;

/// The decision appealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// An audit's rejection (the assessment).
    Rejection,
    /// A certificate's suspension.
    Suspension,
    /// A certificate's withdrawal.
    Withdrawal,
}

impl Subject {
    pub const ALL: [Subject; 3] = [Subject::Rejection, Subject::Suspension, Subject::Withdrawal];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rejection => "rejection",
            Self::Suspension => "suspension",
            Self::Withdrawal => "withdrawal",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
    /// The certificate status a suspension or withdrawal appeal is about.
    pub fn certificate_status(self) -> Option<StoredStatus> {
        match self {
            Self::Rejection => None,
            Self::Suspension => Some(StoredStatus::Suspended),
            Self::Withdrawal => Some(StoredStatus::Withdrawn),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppealStatus {
    Open,
    Upheld,
    Dismissed,
}

impl AppealStatus {
    pub const ALL: [AppealStatus; 3] = [Self::Open, Self::Upheld, Self::Dismissed];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Upheld => "upheld",
            Self::Dismissed => "dismissed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// The appeal decision: `upheld` reverses the decision appealed, `dismissed` keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppealOutcome {
    Upheld,
    Dismissed,
}

impl AppealOutcome {
    pub fn status(self) -> AppealStatus {
        match self {
            Self::Upheld => AppealStatus::Upheld,
            Self::Dismissed => AppealStatus::Dismissed,
        }
    }
}

/// May a decision made at `decided_at` still be appealed at `now`? Through the 30th day after it.
pub fn within_window(decided_at: NaiveDateTime, now: NaiveDateTime) -> bool {
    now >= decided_at && now - decided_at <= TimeDelta::days(APPEAL_DAYS)
}

/// May `decider` decide an appeal against a decision in which `took_part` took part? Nobody who did;
/// a decision the scheduler made (no person) may be decided by any officer.
pub fn independent(decider: Option<i64>, took_part: &[Option<i64>]) -> bool {
    decider.is_some() && !took_part.iter().flatten().any(|p| Some(*p) == decider)
}

/// What an upheld suspension or withdrawal appeal makes of the certificate: valid again, if it still holds
/// the status appealed and has not expired meanwhile.
pub fn reversal(subject: Subject, now_status: PublicStatus) -> Result<StoredStatus, String> {
    match (subject, now_status) {
        (Subject::Suspension, PublicStatus::Suspended) | (Subject::Withdrawal, PublicStatus::Withdrawn) => Ok(StoredStatus::Valid),
        (Subject::Rejection, _) => Err("a rejection is reversed by reopening the audit".into()),
        (s, now) => Err(format!(
            "the certificate is {} now; the {} appealed cannot be reversed",
            now.as_str(),
            s.as_str()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn t(d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2027, 1, d).unwrap().and_hms_opt(h, 0, 0).unwrap()
    }

    #[test]
    fn thirty_days_to_appeal() {
        assert!(within_window(t(1, 12), t(31, 12)));
        assert!(!within_window(t(1, 12), t(31, 13)));
        assert!(!within_window(t(2, 12), t(1, 12)), "not before the decision");
    }

    #[test]
    fn whoever_took_part_may_not_decide() {
        assert!(!independent(Some(7), &[Some(7), Some(9)]));
        assert!(!independent(Some(9), &[Some(7), Some(9)]));
        assert!(independent(Some(8), &[Some(7), Some(9)]));
        assert!(independent(Some(8), &[None]), "the scheduler's decision");
        assert!(!independent(None, &[None]), "a person decides");
    }

    #[test]
    fn only_the_status_appealed_is_reversed() {
        assert_eq!(reversal(Subject::Suspension, PublicStatus::Suspended), Ok(StoredStatus::Valid));
        assert_eq!(reversal(Subject::Withdrawal, PublicStatus::Withdrawn), Ok(StoredStatus::Valid));
        assert!(reversal(Subject::Suspension, PublicStatus::Withdrawn).is_err());
        assert!(reversal(Subject::Withdrawal, PublicStatus::Expired).is_err());
    }
}
