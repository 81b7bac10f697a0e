//! The assessment and certificate state machines: which transitions exist and what the public sees.
//! Pure: statuses in, statuses (or a refusal) out; the time is always passed in.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssessmentStatus {
    Draft,
    Submitted,
    Approved,
    Rejected,
    Returned,
}

impl AssessmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Returned => "returned",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "draft" => Self::Draft,
            "submitted" => Self::Submitted,
            "approved" => Self::Approved,
            "rejected" => Self::Rejected,
            "returned" => Self::Returned,
            _ => return None,
        })
    }
    /// The assessor may change measurements and evidence, and submit.
    pub fn is_editable(self) -> bool {
        matches!(self, Self::Draft | Self::Returned)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
    Return,
}

impl Decision {
    pub fn target(self) -> AssessmentStatus {
        match self {
            Self::Approve => AssessmentStatus::Approved,
            Self::Reject => AssessmentStatus::Rejected,
            Self::Return => AssessmentStatus::Returned,
        }
    }
}

/// The kind of an audit: the initial one that can earn a certificate, or a surveillance audit of a
/// certified venue (ISO/IEC 17065 7.9) that keeps or suspends its certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum AssessmentKind {
    #[default]
    Initial,
    Surveillance,
}

impl AssessmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initial => "initial",
            Self::Surveillance => "surveillance",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "initial" => Self::Initial,
            "surveillance" => Self::Surveillance,
            _ => return None,
        })
    }
}

/// The status a certificate holds in the registry (what officers and the scheduler set; `expired` once
/// the scheduler has recorded the expiry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StoredStatus {
    Valid,
    Suspended,
    Withdrawn,
    Superseded,
    Expired,
}

impl StoredStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Suspended => "suspended",
            Self::Withdrawn => "withdrawn",
            Self::Superseded => "superseded",
            Self::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "valid" => Self::Valid,
            "suspended" => Self::Suspended,
            "withdrawn" => Self::Withdrawn,
            "superseded" => Self::Superseded,
            "expired" => Self::Expired,
            _ => return None,
        })
    }
}

/// What the public is told: the stored status, with `expired` derived from valid-until and the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PublicStatus {
    Valid,
    Suspended,
    Withdrawn,
    Expired,
    Superseded,
}

impl PublicStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Suspended => "suspended",
            Self::Withdrawn => "withdrawn",
            Self::Expired => "expired",
            Self::Superseded => "superseded",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "valid" => Self::Valid,
            "suspended" => Self::Suspended,
            "withdrawn" => Self::Withdrawn,
            "expired" => Self::Expired,
            "superseded" => Self::Superseded,
            _ => return None,
        })
    }
}

/// A certificate is valid through the whole of its valid-until day (server time, UTC).
pub fn public_status(stored: StoredStatus, valid_until: NaiveDate, now: NaiveDateTime) -> PublicStatus {
    match stored {
        StoredStatus::Withdrawn => PublicStatus::Withdrawn,
        StoredStatus::Superseded => PublicStatus::Superseded,
        StoredStatus::Expired => PublicStatus::Expired,
        _ if now.date() > valid_until => PublicStatus::Expired,
        StoredStatus::Suspended => PublicStatus::Suspended,
        StoredStatus::Valid => PublicStatus::Valid,
    }
}

/// The longest public reason of a suspension or withdrawal, in characters.
pub const MAX_REASON: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertificateAction {
    Suspend,
    Reinstate,
    Withdraw,
}

impl CertificateAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Suspend => "suspended",
            Self::Reinstate => "reinstated",
            Self::Withdraw => "withdrawn",
        }
    }
}

/// The stored status after `action`, or why it is not allowed (a 409 for the caller).
pub fn transition(current: PublicStatus, action: CertificateAction) -> Result<StoredStatus, String> {
    use CertificateAction::*;
    use PublicStatus as P;
    match (current, action) {
        (P::Valid, Suspend) => Ok(StoredStatus::Suspended),
        (P::Suspended, Reinstate) => Ok(StoredStatus::Valid),
        (P::Valid | P::Suspended | P::Expired, Withdraw) => Ok(StoredStatus::Withdrawn),
        (s, a) => Err(format!("a {} certificate cannot be {}", s.as_str(), a.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(12, 0, 0).unwrap()
    }

    #[test]
    fn expiry_is_derived_from_the_clock() {
        let until = NaiveDate::from_ymd_opt(2027, 12, 18).unwrap();
        assert_eq!(public_status(StoredStatus::Valid, until, at(2027, 12, 18)), PublicStatus::Valid);
        assert_eq!(public_status(StoredStatus::Valid, until, at(2027, 12, 19)), PublicStatus::Expired);
        assert_eq!(public_status(StoredStatus::Suspended, until, at(2027, 12, 19)), PublicStatus::Expired);
        assert_eq!(public_status(StoredStatus::Withdrawn, until, at(2030, 1, 1)), PublicStatus::Withdrawn);
        assert_eq!(public_status(StoredStatus::Expired, until, at(2027, 12, 19)), PublicStatus::Expired);
    }

    #[test]
    fn illegal_transitions_are_refused() {
        assert!(transition(PublicStatus::Withdrawn, CertificateAction::Reinstate).is_err());
        assert!(transition(PublicStatus::Expired, CertificateAction::Suspend).is_err());
        assert!(transition(PublicStatus::Valid, CertificateAction::Reinstate).is_err());
        assert!(transition(PublicStatus::Superseded, CertificateAction::Withdraw).is_err());
        assert_eq!(transition(PublicStatus::Suspended, CertificateAction::Reinstate), Ok(StoredStatus::Valid));
    }
}
