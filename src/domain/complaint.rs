//! Complaints about a label (ISO/IEC 17065 7.13), as rules: what a report must hold, its reference, and
//! how officers move it from received to closed. Pure: the random bytes and the time come in as arguments.

use super::account::Email;
use super::scoring::FieldError;
use super::text::{self, TextKind};
use serde::{Deserialize, Serialize};

/// The largest photo a report may carry.
pub const MAX_PHOTO: usize = 5 * 1024 * 1024;
pub const MIN_DESCRIPTION: usize = 10;
pub const MAX_DESCRIPTION: usize = 4000;
pub const MAX_OUTCOME: usize = 4000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The label is shown where no valid certificate allows it.
    LabelMisuse,
    /// The venue no longer meets the criteria (plastic, materials, collection, recycling).
    CriteriaNotMet,
    Other,
}

impl Category {
    pub const ALL: [Category; 3] = [Category::LabelMisuse, Category::CriteriaNotMet, Category::Other];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LabelMisuse => "label_misuse",
            Self::CriteriaNotMet => "criteria_not_met",
            Self::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
    /// The key of its name in the message catalogues (`assets/i18n`).
    pub fn message_key(self) -> &'static str {
        match self {
            Self::LabelMisuse => "complaint_label_misuse",
            Self::CriteriaNotMet => "complaint_criteria_not_met",
            Self::Other => "complaint_other",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComplaintStatus {
    Received,
    Acknowledged,
    Investigating,
    Closed,
}

impl ComplaintStatus {
    pub const ALL: [ComplaintStatus; 4] = [Self::Received, Self::Acknowledged, Self::Investigating, Self::Closed];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Acknowledged => "acknowledged",
            Self::Investigating => "investigating",
            Self::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// What an officer does with a complaint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Triage {
    Acknowledge,
    Investigate,
    Close,
}

impl Triage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledged",
            Self::Investigate => "investigating",
            Self::Close => "closed",
        }
    }
}

/// The status after `action`, or why not: forward only, and a closed complaint stays closed.
pub fn triage(from: ComplaintStatus, action: Triage) -> Result<ComplaintStatus, String> {
    use ComplaintStatus as S;
    match (from, action) {
        (S::Received, Triage::Acknowledge) => Ok(S::Acknowledged),
        (S::Received | S::Acknowledged, Triage::Investigate) => Ok(S::Investigating),
        (S::Received | S::Acknowledged | S::Investigating, Triage::Close) => Ok(S::Closed),
        (s, a) => Err(format!("a complaint that is {} cannot be {}", s.as_str(), a.as_str())),
    }
}

/// A report as checked: every problem is named at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub category: Category,
    pub description: String,
    pub email: Option<Email>,
}

impl Report {
    pub fn parse(category: Option<&str>, description: Option<&str>, email: Option<&str>) -> Result<Report, Vec<FieldError>> {
        let mut errors = vec![];
        let category = match category.map(str::trim).filter(|c| !c.is_empty()) {
            None => {
                errors.push(FieldError::new("category", "required", "choose what the problem is"));
                None
            }
            Some(c) => Category::parse(c).or_else(|| {
                errors.push(FieldError::new("category", "unknown_category", "label_misuse, criteria_not_met or other"));
                None
            }),
        };
        let description = description.map(str::trim).unwrap_or("");
        if let Err(e) = text::check("description", description, TextKind::Free) {
            errors.push(e);
        } else {
            let n = description.chars().count();
            if n < MIN_DESCRIPTION {
                errors.push(FieldError::new("description", "too_short", format!("at least {MIN_DESCRIPTION} characters")));
            } else if n > MAX_DESCRIPTION {
                errors.push(FieldError::new("description", "too_long", format!("at most {MAX_DESCRIPTION} characters")));
            }
        }
        let email = match email.map(str::trim).filter(|e| !e.is_empty()) {
            None => None,
            Some(e) => Email::parse(e).map_err(|m| errors.push(FieldError::new("email", "invalid_email", m))).ok(),
        };
        match (category, errors.is_empty()) {
            (Some(category), true) => Ok(Report {
                category,
                description: description.to_string(),
                email,
            }),
            _ => Err(errors),
        }
    }
}

/// Crockford's base32 alphabet: no I, L, O or U, so a reference read aloud or typed is not misread.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A complaint's reference from 40 random bits: `CMP-XXXX-XXXX`.
pub fn reference(random: [u8; 5]) -> String {
    let mut bits = random.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let mut chars = [0u8; 8];
    for c in chars.iter_mut().rev() {
        *c = ALPHABET[(bits & 31) as usize];
        bits >>= 5;
    }
    let s: String = chars.iter().map(|&b| char::from(b)).collect();
    format!("CMP-{}-{}", &s[..4], &s[4..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_report_names_every_problem() {
        let errs = Report::parse(Some("spam"), Some("short"), Some("not-an-address")).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        assert_eq!(
            fields,
            [("category", "unknown_category"), ("description", "too_short"), ("email", "invalid_email")]
        );
        let ok = Report::parse(Some("label_misuse"), Some("  The label is on the door but the cafe closed.  "), Some("")).unwrap();
        assert_eq!(ok.category, Category::LabelMisuse);
        assert_eq!(ok.description, "The label is on the door but the cafe closed.");
        assert_eq!(ok.email, None);
        assert!(Report::parse(None, Some("0123456789"), None).is_err());
    }

    #[test]
    fn complaints_move_forward_only() {
        use ComplaintStatus as S;
        assert_eq!(triage(S::Received, Triage::Acknowledge), Ok(S::Acknowledged));
        assert_eq!(triage(S::Acknowledged, Triage::Investigate), Ok(S::Investigating));
        assert_eq!(triage(S::Received, Triage::Close), Ok(S::Closed));
        assert!(triage(S::Investigating, Triage::Acknowledge).is_err());
        assert!(triage(S::Closed, Triage::Close).is_err());
    }

    proptest! {
        #[test]
        fn references_are_distinct_and_readable(a in any::<[u8; 5]>(), b in any::<[u8; 5]>()) {
            let (ra, rb) = (reference(a), reference(b));
            prop_assert_eq!(ra.len(), 13);
            prop_assert!(ra.starts_with("CMP-") && ra.as_bytes()[8] == b'-');
            prop_assert!(ra[4..].chars().all(|c| c == '-' || ALPHABET.contains(&(c as u8))));
            prop_assert_eq!(a == b, ra == rb);
        }
    }
}
