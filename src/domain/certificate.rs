//! The certificate: its number format, validity arithmetic, and the claims signed into its token.
//! Pure: the registry decides the values; this module only formats and checks them.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// `GEL-<year>-<6 digits>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CertificateNumber(String);

impl CertificateNumber {
    pub fn new(year: i32, seq: i64) -> Result<Self, String> {
        if !(2000..=9999).contains(&year) || !(1..=999_999).contains(&seq) {
            return Err(format!("certificate number out of range: year {year}, sequence {seq}"));
        }
        Ok(Self(format!("GEL-{year}-{seq:06}")))
    }
    /// The shape alone: `GEL-`, four digits, `-`, six digits.
    pub fn well_formed(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() == 15 && s.starts_with("GEL-") && b[4..8].iter().all(u8::is_ascii_digit) && b[8] == b'-' && b[9..].iter().all(u8::is_ascii_digit)
    }
    pub fn parse(s: &str) -> Result<Self, String> {
        if Self::well_formed(s) && &s[9..] != "000000" {
            Ok(Self(s.to_string()))
        } else {
            Err(format!(
                "`{}` is not a certificate number (GEL-<year>-<6 digits>)",
                s.chars().take(40).collect::<String>()
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CertificateNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The last day of validity: the day before the same date `months` later (2 years from 2025-12-19
/// is through 2027-12-18).
pub fn valid_until(valid_from: NaiveDate, months: u32) -> NaiveDate {
    valid_from
        .checked_add_months(Months::new(months))
        .and_then(|d| d.pred_opt())
        .unwrap_or(NaiveDate::MAX)
}

/// What the token signs, besides the standard CWT claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CertificateClaims {
    /// `iss`: the registry's public URL.
    pub iss: String,
    /// `iat`: issue time, seconds since the epoch.
    pub iat: i64,
    /// `exp`: the end of the valid-until day, seconds since the epoch.
    pub exp: i64,
    /// Private claim `gel`: certificate number.
    pub number: String,
    pub venue: String,
    pub level: String,
    /// `<scheme>/<version>`, e.g. `gold-eco-label/1`.
    pub scheme: String,
}

/// End of the valid-until day (23:59:59 UTC) as the `exp` claim.
pub fn exp_for(valid_until: NaiveDate) -> i64 {
    valid_until.and_hms_opt(23, 59, 59).map(|t| t.and_utc().timestamp()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn number_format() {
        assert_eq!(CertificateNumber::new(2025, 1).unwrap().as_str(), "GEL-2025-000001");
        assert!(CertificateNumber::new(2025, 0).is_err());
        assert!(CertificateNumber::new(2025, 1_000_000).is_err());
        assert!(CertificateNumber::parse("GEL-2025-000001").is_ok());
        assert!(CertificateNumber::parse("GEL-2025-000000").is_err());
        assert!(CertificateNumber::parse("gel-2025-000001").is_err());
        assert!(CertificateNumber::parse("GEL-2025-0000011").is_err());
    }

    #[test]
    fn two_years_of_validity() {
        let from = NaiveDate::from_ymd_opt(2025, 12, 19).unwrap();
        assert_eq!(valid_until(from, 24), NaiveDate::from_ymd_opt(2027, 12, 18).unwrap());
        let leap = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(valid_until(leap, 12), NaiveDate::from_ymd_opt(2025, 2, 27).unwrap());
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_roundtrips(s in ".{0,30}", year in 2000i32..9999, seq in 1i64..999_999) {
            let _ = CertificateNumber::parse(&s);
            let n = CertificateNumber::new(year, seq).unwrap();
            prop_assert_eq!(CertificateNumber::parse(n.as_str()).unwrap(), n);
        }
    }
}
