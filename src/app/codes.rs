// The registry's error codes: every stable code an answer can carry, with its HTTP status(es) and what it
// means; declared once here, published in /openapi.json, and checked against the source by a test.

/// One stable error code.
pub struct Code {
    pub code: &'static str,
    /// The statuses it comes with (a few codes mean the same thing at two layers, e.g. 400 for a query
    /// that does not parse and 422 for a body that does not fit).
    pub statuses: &'static [u16],
    pub meaning: &'static str,
}

/// Every code, alphabetical.
pub const CODES: &[Code] = &[
    Code {
        code: "already_issued",
        statuses: &[409],
        meaning: "the assessment already has its certificate",
    },
    Code {
        code: "already_retired",
        statuses: &[409],
        meaning: "the signing key is retired already",
    },
    Code {
        code: "already_revoked",
        statuses: &[409],
        meaning: "the token is revoked already",
    },
    Code {
        code: "appeal_decided",
        statuses: &[409],
        meaning: "the appeal was decided meanwhile",
    },
    Code {
        code: "appeal_pending",
        statuses: &[409],
        meaning: "an appeal against this decision is open already",
    },
    Code {
        code: "appeal_window_closed",
        statuses: &[409],
        meaning: "the 30 days to appeal have passed",
    },
    Code {
        code: "assessment_required",
        statuses: &[422],
        meaning: "an appeal against a rejection names the audit",
    },
    Code {
        code: "at_in_future",
        statuses: &[400],
        meaning: "`?at=` names a moment in the future",
    },
    Code {
        code: "cannot_demote_self",
        statuses: &[409],
        meaning: "an admin cannot take away their own admin role",
    },
    Code {
        code: "cannot_reverse",
        statuses: &[409],
        meaning: "the decision appealed can no longer be reversed",
    },
    Code {
        code: "certificate_not_current",
        statuses: &[409],
        meaning: "a surveillance audit needs the venue's current certificate",
    },
    Code {
        code: "certificate_required",
        statuses: &[422],
        meaning: "an appeal against a suspension or withdrawal names the certificate",
    },
    Code {
        code: "comments_required",
        statuses: &[422],
        meaning: "returning an audit needs comments for the assessor",
    },
    Code {
        code: "complaint_changed",
        statuses: &[409],
        meaning: "the complaint changed meanwhile",
    },
    Code {
        code: "criteria_changed",
        statuses: &[409],
        meaning: "the audit was judged by criteria that are no longer loaded",
    },
    Code {
        code: "csrf_failed",
        statuses: &[403],
        meaning: "a form or cookie call without the session's CSRF token, or a cross-site request",
    },
    Code {
        code: "database_unavailable",
        statuses: &[503],
        meaning: "the database cannot be reached",
    },
    Code {
        code: "duplicate",
        statuses: &[409],
        meaning: "a row with the same unique key exists",
    },
    Code {
        code: "duplicate_evidence",
        statuses: &[409],
        meaning: "the same file is attached to the audit already",
    },
    Code {
        code: "email_taken",
        statuses: &[409],
        meaning: "another user has this e-mail address",
    },
    Code {
        code: "empty_file",
        statuses: &[422],
        meaning: "an uploaded file is empty",
    },
    Code {
        code: "enrolment_changed",
        statuses: &[409],
        meaning: "the second-factor set-up changed meanwhile",
    },
    Code {
        code: "export_pending",
        statuses: &[503],
        meaning: "the first open data snapshot is being written (see Retry-After)",
    },
    Code {
        code: "field_too_long",
        statuses: &[422],
        meaning: "a text field is longer than allowed",
    },
    Code {
        code: "forbidden_role",
        statuses: &[403],
        meaning: "the caller's roles do not allow this",
    },
    Code {
        code: "idempotency_in_progress",
        statuses: &[409],
        meaning: "a request with this Idempotency-Key is still running",
    },
    Code {
        code: "idempotency_key_reused",
        statuses: &[422],
        meaning: "this Idempotency-Key was used with a different request",
    },
    Code {
        code: "illegal_transition",
        statuses: &[409],
        meaning: "the status does not allow this change",
    },
    Code {
        code: "incomplete_assessment",
        statuses: &[422],
        meaning: "measurements or evidence are missing (`fields` lists them)",
    },
    Code {
        code: "internal_error",
        statuses: &[500],
        meaning: "something went wrong on the registry's side (logged)",
    },
    Code {
        code: "invalid_action",
        statuses: &[400],
        meaning: "the form's action is not one this page takes",
    },
    Code {
        code: "invalid_assessment_id",
        statuses: &[400],
        meaning: "the audit id is not a number",
    },
    Code {
        code: "invalid_at",
        statuses: &[400],
        meaning: "`?at=` is neither a date (2026-03-15) nor an RFC 3339 time",
    },
    Code {
        code: "invalid_body",
        statuses: &[400, 422],
        meaning: "the request body could not be read, or does not fit the schema",
    },
    Code {
        code: "invalid_certificate_number",
        statuses: &[400],
        meaning: "not a certificate number (GEL-<year>-<6 digits>)",
    },
    Code {
        code: "invalid_characters",
        statuses: &[400, 422],
        meaning: "text holds a control character",
    },
    Code {
        code: "invalid_code",
        statuses: &[401, 422],
        meaning: "the second-factor code is wrong, used already, or malformed",
    },
    Code {
        code: "invalid_complaint",
        statuses: &[422],
        meaning: "the complaint's fields do not fit",
    },
    Code {
        code: "invalid_credentials",
        statuses: &[401],
        meaning: "the e-mail address or the password is wrong",
    },
    Code {
        code: "invalid_email",
        statuses: &[422],
        meaning: "not an e-mail address",
    },
    Code {
        code: "invalid_events",
        statuses: &[422],
        meaning: "a webhook subscription names an unknown event type",
    },
    Code {
        code: "invalid_form",
        statuses: &[400],
        meaning: "the form could not be read",
    },
    Code {
        code: "invalid_idempotency_key",
        statuses: &[400],
        meaning: "Idempotency-Key must be 1 to 255 visible ASCII characters",
    },
    Code {
        code: "invalid_label",
        statuses: &[422],
        meaning: "a token label is empty or too long",
    },
    Code {
        code: "invalid_limit",
        statuses: &[400, 422],
        meaning: "limit must be between 1 and 200",
    },
    Code {
        code: "invalid_measurements",
        statuses: &[422],
        meaning: "measurements do not fit the criteria (`fields` names each)",
    },
    Code {
        code: "invalid_multipart",
        statuses: &[400],
        meaning: "the multipart body could not be read",
    },
    Code {
        code: "invalid_name",
        statuses: &[422],
        meaning: "a name is empty or too long",
    },
    Code {
        code: "invalid_outcome",
        statuses: &[400],
        meaning: "not an appeal outcome (upheld, dismissed)",
    },
    Code {
        code: "invalid_query",
        statuses: &[400],
        meaning: "query parameters that do not parse",
    },
    Code {
        code: "invalid_range",
        statuses: &[422],
        meaning: "a range that ends before it starts, or a log position outside the tree asked about",
    },
    Code {
        code: "invalid_role",
        statuses: &[422],
        meaning: "not a role (admin, officer, assessor, venue)",
    },
    Code {
        code: "invalid_statement",
        statuses: &[422],
        meaning: "an appeal's statement is empty or too long",
    },
    Code {
        code: "invalid_status",
        statuses: &[400],
        meaning: "not a status this list filters by",
    },
    Code {
        code: "invalid_subject",
        statuses: &[400],
        meaning: "not a subject of appeal",
    },
    Code {
        code: "invalid_token",
        statuses: &[401],
        meaning: "the bearer token is malformed, unknown or revoked",
    },
    Code {
        code: "invalid_url",
        statuses: &[422],
        meaning: "a webhook URL that is not http(s)",
    },
    Code {
        code: "invitation_invalid",
        statuses: &[410],
        meaning: "the link has expired, has been used, or was replaced by a newer one",
    },
    Code {
        code: "key_exists",
        statuses: &[409],
        meaning: "a key with this id exists already",
    },
    Code {
        code: "log_moved",
        statuses: &[409],
        meaning: "another writer appended to the public log meanwhile",
    },
    Code {
        code: "malformed_json",
        statuses: &[400],
        meaning: "the body is not valid JSON",
    },
    Code {
        code: "method_not_allowed",
        statuses: &[405],
        meaning: "the URL answers other methods (see Allow)",
    },
    Code {
        code: "missing_criterion",
        statuses: &[422],
        meaning: "an evidence upload names no criterion",
    },
    Code {
        code: "missing_file",
        statuses: &[422],
        meaning: "an upload carries no file",
    },
    Code {
        code: "no_current_certificate",
        statuses: &[422],
        meaning: "the venue has no current certificate",
    },
    Code {
        code: "no_email",
        statuses: &[422],
        meaning: "the user has no e-mail address",
    },
    Code {
        code: "no_enrolment",
        statuses: &[422],
        meaning: "no second-factor set-up is under way",
    },
    Code {
        code: "no_second_factor",
        statuses: &[422],
        meaning: "the account has no second factor",
    },
    Code {
        code: "not_appealable",
        statuses: &[409],
        meaning: "the decision cannot be appealed",
    },
    Code {
        code: "not_editable",
        statuses: &[409],
        meaning: "the audit is not a draft or returned",
    },
    Code {
        code: "not_found",
        statuses: &[404],
        meaning: "no such resource, or not one the caller may see",
    },
    Code {
        code: "not_gold",
        statuses: &[409],
        meaning: "the audit does not meet every Gold criterion",
    },
    Code {
        code: "not_rejected",
        statuses: &[409],
        meaning: "the audit is not rejected",
    },
    Code {
        code: "not_submitted",
        statuses: &[409],
        meaning: "the audit is not submitted (or was decided meanwhile)",
    },
    Code {
        code: "not_your_assessment",
        statuses: &[403],
        meaning: "only the audit's assessor changes it",
    },
    Code {
        code: "one_file_per_upload",
        statuses: &[422],
        meaning: "this upload takes one file",
    },
    Code {
        code: "other_venue",
        statuses: &[422],
        meaning: "the audit or certificate is another venue's",
    },
    Code {
        code: "outcome_required",
        statuses: &[422],
        meaning: "closing a complaint needs an outcome",
    },
    Code {
        code: "outcome_too_long",
        statuses: &[422],
        meaning: "the outcome is longer than allowed",
    },
    Code {
        code: "password",
        statuses: &[422],
        meaning: "the new password is too short or too weak (the field says why)",
    },
    Code {
        code: "password_confirm",
        statuses: &[422],
        meaning: "the two passwords differ",
    },
    Code {
        code: "payload_too_large",
        statuses: &[413],
        meaning: "the body is larger than allowed",
    },
    Code {
        code: "photo_storage_full",
        statuses: &[422],
        meaning: "the storage for complaint photos is full: send the report without a photo",
    },
    Code {
        code: "private_address",
        statuses: &[422],
        meaning: "a webhook URL whose host is, or resolves to, a loopback, private or metadata address (or does not resolve)",
    },
    Code {
        code: "rate_limited",
        statuses: &[429],
        meaning: "too many requests from this client address (see Retry-After)",
    },
    Code {
        code: "reason_required",
        statuses: &[422],
        meaning: "a public reason is required",
    },
    Code {
        code: "reason_too_long",
        statuses: &[422],
        meaning: "the reason is longer than allowed",
    },
    Code {
        code: "second_factor_enrolled",
        statuses: &[409],
        meaning: "the account has a second factor already",
    },
    Code {
        code: "second_factor_pending",
        statuses: &[401],
        meaning: "the sign-in waits for the second factor",
    },
    Code {
        code: "second_factor_required",
        statuses: &[403],
        meaning: "officers and admins set up a second factor first",
    },
    Code {
        code: "secret_shown_once",
        statuses: &[409],
        meaning: "a reply that held a secret is not replayed for its Idempotency-Key",
    },
    Code {
        code: "self_decision",
        statuses: &[403],
        meaning: "nobody decides their own audit (ISO/IEC 17065 7.6)",
    },
    Code {
        code: "serialization_failure",
        statuses: &[409],
        meaning: "a concurrent change won; try again",
    },
    Code {
        code: "session_ended",
        statuses: &[401, 409],
        meaning: "the session has ended; sign in again",
    },
    Code {
        code: "stopping",
        statuses: &[503],
        meaning: "this replica is stopping (readiness, after SIGTERM); see Retry-After",
    },
    Code {
        code: "suspend_on_close",
        statuses: &[422],
        meaning: "only a complaint closed as upheld may suspend",
    },
    Code {
        code: "too_many_attempts",
        statuses: &[429],
        meaning: "too many failed sign-in attempts, or too many complaints in the last hour (see Retry-After)",
    },
    Code {
        code: "too_many_files",
        statuses: &[422],
        meaning: "more files than one upload takes",
    },
    Code {
        code: "took_part",
        statuses: &[403],
        meaning: "whoever took part in a decision does not decide its appeal",
    },
    Code {
        code: "unauthorized",
        statuses: &[401],
        meaning: "no bearer token or session",
    },
    Code {
        code: "unavailable",
        statuses: &[503],
        meaning: "the registry cannot answer right now (see Retry-After where sent)",
    },
    Code {
        code: "unknown_assessment",
        statuses: &[422],
        meaning: "no such audit",
    },
    Code {
        code: "unknown_certificate",
        statuses: &[422],
        meaning: "no such certificate",
    },
    Code {
        code: "unknown_criterion",
        statuses: &[422],
        meaning: "not a criterion of the audit's scheme",
    },
    Code {
        code: "unknown_email",
        statuses: &[422],
        meaning: "no user with this e-mail address",
    },
    Code {
        code: "unknown_field",
        statuses: &[422],
        meaning: "a form field this endpoint does not take",
    },
    Code {
        code: "unknown_scheme",
        statuses: &[422],
        meaning: "no such criteria scheme or version",
    },
    Code {
        code: "unknown_size",
        statuses: &[422],
        meaning: "the public log published no checkpoint of the tree size asked for",
    },
    Code {
        code: "unknown_venue",
        statuses: &[422],
        meaning: "no such venue",
    },
    Code {
        code: "unsupported_media_type",
        statuses: &[415],
        meaning: "a body type this endpoint does not take",
    },
    Code {
        code: "venue_not_allowed",
        statuses: &[422],
        meaning: "only the venue role is bound to a venue",
    },
    Code {
        code: "venue_required",
        statuses: &[422],
        meaning: "the venue role needs a venue",
    },
    Code {
        code: "verification_unavailable",
        statuses: &[503],
        meaning: "the public keys cannot be read right now",
    },
    Code {
        code: "wrong_password",
        statuses: &[422],
        meaning: "the current password is wrong",
    },
];

/// The entry of `code`, if declared.
pub fn find(code: &str) -> Option<&'static Code> {
    CODES.iter().find(|c| c.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_sorted_unique_and_snake_case() {
        for pair in CODES.windows(2) {
            assert!(pair[0].code < pair[1].code, "{} before {}", pair[0].code, pair[1].code);
        }
        for c in CODES {
            assert!(c.code.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'), "{}", c.code);
            assert!(!c.statuses.is_empty() && c.statuses.iter().all(|s| (400..600).contains(s)), "{}", c.code);
        }
    }

    /// Every code the source sends through an error constructor is declared here, with the status that
    /// constructor gives it: a new code cannot be added without its entry (and so its documentation).
    #[test]
    fn every_code_in_the_source_is_declared_with_its_status() {
        let constructors: [(&str, Option<u16>); 12] = [
            (r#"\binvalid\(\s*"([a-z_]+)""#, Some(422)),
            (r#"\bforbidden\(\s*"([a-z_]+)""#, Some(403)),
            (r#"\bconflict\(\s*"([a-z_]+)""#, Some(409)),
            (r#"\bunauthorized\(\s*"([a-z_]+)""#, Some(401)),
            (r#"\bbad_request\(\s*"([a-z_]+)""#, Some(400)),
            (r#"Gone\s*\{\s*code:\s*"([a-z_]+)""#, Some(410)),
            (r#"Unauthorized\s*\{\s*code:\s*"([a-z_]+)""#, Some(401)),
            (r#"Forbidden\s*\{\s*code:\s*"([a-z_]+)""#, Some(403)),
            (r#"Conflict\s*\{\s*code:\s*"([a-z_]+)""#, Some(409)),
            (r#"field_error\(\s*"([a-z_]+)""#, Some(422)),
            (r#"error: "([a-z_]+)"\.into\(\)"#, None),
            (r#"ApiError::new\(\s*(?:actix_web::http::)?StatusCode::[A-Z_]+,\s*"([a-z_]+)""#, None),
        ];
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut files = vec![std::path::PathBuf::from(root)];
        let mut seen = 0;
        while let Some(p) = files.pop() {
            if p.is_dir() {
                files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            if p.extension().is_none_or(|e| e != "rs") || p.ends_with("codes.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let code_part = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (pattern, status) in &constructors {
                for m in regex::Regex::new(pattern).unwrap().captures_iter(code_part) {
                    let code = &m[1];
                    let entry = find(code).unwrap_or_else(|| panic!("{}: code {code} is not declared in app::codes", p.display()));
                    if let Some(s) = status {
                        assert!(
                            entry.statuses.contains(s),
                            "{}: {code} is sent with {s}, declared {:?}",
                            p.display(),
                            entry.statuses
                        );
                    }
                    seen += 1;
                }
            }
        }
        assert!(seen > 150, "the scan found the codes ({seen})");
    }
}
