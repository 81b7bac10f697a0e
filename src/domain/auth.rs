//! Roles and bearer tokens: generation (256 random bits), the stored hash, and role parsing.
//! Pure apart from drawing random bytes from the operating system's generator.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Officer,
    Assessor,
    Venue,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Officer, Role::Assessor, Role::Venue];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Officer => "officer",
            Role::Assessor => "assessor",
            Role::Venue => "venue",
        }
    }
    pub fn parse(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| format!("unknown role `{}` (expected admin, officer, assessor or venue)", s.trim()))
    }
}

/// A comma-separated role list, as stored (`assessor,officer`).
pub fn parse_roles(s: &str) -> Result<Vec<Role>, String> {
    let mut roles: Vec<Role> = s.split(',').filter(|p| !p.trim().is_empty()).map(Role::parse).collect::<Result<_, _>>()?;
    roles.sort();
    roles.dedup();
    if roles.is_empty() {
        return Err("at least one role is required".into());
    }
    Ok(roles)
}

pub fn format_roles(roles: &[Role]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

/// Who is acting: an authenticated user, or the system itself (CLI, demo seeding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: Option<i64>,
    pub name: String,
    pub roles: Vec<Role>,
    /// For venue users: the one venue they belong to.
    pub venue_id: Option<i64>,
    pub token_id: Option<i64>,
}

impl Caller {
    /// The command line, acting with full rights (it runs where the database is).
    pub fn system(name: &str) -> Caller {
        Caller {
            user_id: None,
            name: name.to_string(),
            roles: vec![Role::Admin],
            venue_id: None,
            token_id: None,
        }
    }
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.has(*r))
    }
    /// Officers and admins see every assessment and certificate.
    pub fn sees_all(&self) -> bool {
        self.has_any(&[Role::Admin, Role::Officer])
    }
    /// May this caller read an assessment of `venue_id` done by `assessor_id`?
    pub fn can_view_assessment(&self, assessor_id: i64, venue_id: i64) -> bool {
        self.sees_all() || (self.has(Role::Assessor) && self.user_id == Some(assessor_id)) || (self.has(Role::Venue) && self.venue_id == Some(venue_id))
    }
    /// May this caller change an assessment (measurements, evidence, submit)? Only its own assessor.
    pub fn can_edit_assessment(&self, assessor_id: i64) -> bool {
        self.has(Role::Assessor) && self.user_id == Some(assessor_id)
    }
    /// Which venue a list may show this caller: `Some(None)` all (staff), `Some(Some(id))` one, `None`
    /// nothing (a venue user asking for another venue, or one bound to none). `requested` is the
    /// caller's own filter.
    pub fn venue_scope(&self, requested: Option<i64>) -> Option<Option<i64>> {
        if self.has_any(&[Role::Admin, Role::Officer, Role::Assessor]) {
            return Some(requested);
        }
        match (self.venue_id, requested) {
            (Some(own), None) => Some(Some(own)),
            (Some(own), Some(v)) if v == own => Some(Some(own)),
            _ => None,
        }
    }

    /// May this caller download the PDF of a certificate of `venue_id`? Officers and admins, and the
    /// venue's own managers (an assessor reads the certificate, not the printable copy).
    pub fn can_download_certificate(&self, venue_id: i64) -> bool {
        self.sees_all() || (self.has(Role::Venue) && self.venue_id == Some(venue_id))
    }

    /// May this caller read things of `venue_id` (venue record, certificates)?
    pub fn can_view_venue(&self, venue_id: i64) -> bool {
        self.has_any(&[Role::Admin, Role::Officer, Role::Assessor]) || (self.has(Role::Venue) && self.venue_id == Some(venue_id))
    }
}

/// The longest user name, in characters.
pub const MAX_USER_NAME: usize = 200;

pub const TOKEN_PREFIX: &str = "gel_";

/// A new bearer token: `gel_` + 32 random bytes, base64url. Shown once, never stored.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What the database keeps of a token. Tokens carry 256 bits of entropy, so a fast hash is enough.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Cheap shape check before any database look-up.
pub fn looks_like_token(token: &str) -> bool {
    token.len() == TOKEN_PREFIX.len() + 43
        && token.starts_with(TOKEN_PREFIX)
        && token[TOKEN_PREFIX.len()..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tokens_are_unique_and_well_formed() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert!(looks_like_token(&a), "{a}");
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn access_rules() {
        let assessor = Caller {
            user_id: Some(1),
            name: "a".into(),
            roles: vec![Role::Officer, Role::Assessor],
            venue_id: None,
            token_id: None,
        };
        let venue = Caller {
            user_id: Some(2),
            name: "v".into(),
            roles: vec![Role::Venue],
            venue_id: Some(10),
            token_id: None,
        };
        assert!(assessor.can_edit_assessment(1));
        assert!(!assessor.can_edit_assessment(3));
        assert!(venue.can_view_assessment(1, 10));
        assert!(!venue.can_view_assessment(1, 11));
        assert!(!venue.can_edit_assessment(2));
        assert!(!venue.can_view_venue(11));
        assert_eq!(venue.venue_scope(None), Some(Some(10)));
        assert_eq!(venue.venue_scope(Some(11)), None);
        assert_eq!(assessor.venue_scope(Some(11)), Some(Some(11)));
        // The printable certificate: staff and the venue's own managers, not an assessor alone.
        assert!(assessor.can_download_certificate(11), "an officer");
        assert!(venue.can_download_certificate(10));
        assert!(!venue.can_download_certificate(11));
        let only_assessor = Caller {
            roles: vec![Role::Assessor],
            ..assessor.clone()
        };
        assert!(only_assessor.can_view_venue(11) && !only_assessor.can_download_certificate(11));
    }

    #[test]
    fn roles_parse_and_dedupe() {
        assert_eq!(parse_roles("officer,assessor,officer").unwrap(), vec![Role::Officer, Role::Assessor]);
        assert!(parse_roles("boss").is_err());
        assert!(parse_roles("").is_err());
    }

    proptest! {
        #[test]
        fn random_strings_are_not_tokens(s in ".{0,80}") {
            prop_assume!(!s.starts_with(TOKEN_PREFIX));
            prop_assert!(!looks_like_token(&s));
        }
    }
}
