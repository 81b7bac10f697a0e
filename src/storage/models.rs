// Database rows, exactly as stored; the web layer converts them into its own response types.
// Nothing outside src/storage and its callers' conversion code should depend on these shapes.

use super::schema::*;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub roles: String,
    pub created_at: NaiveDateTime,
    pub venue_id: Option<i64>,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub totp_secret: Option<String>,
    pub totp_pending: Option<String>,
    pub totp_last_step: Option<i64>,
    /// The language the person last used the portal in (kk, ru or en): their e-mails are in it.
    pub language: Option<String>,
    /// The newest notification they have seen in the portal (0: none).
    pub notifications_seen_id: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct TokenRow {
    pub id: i64,
    pub user_id: i64,
    pub token_hash: String,
    pub label: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub entity: String,
    pub entity_id: String,
    pub action: String,
    pub detail: String,
}

/// Insertable too: the seed writes whole rows in bulk (src/storage/bulk.rs).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = venues, treat_none_as_default_value = false)]
pub struct VenueRow {
    pub id: i64,
    pub name: String,
    pub name_kk: Option<String>,
    pub name_ru: Option<String>,
    pub name_en: Option<String>,
    pub address: String,
    pub city: String,
    pub country: String,
    pub category: String,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub search_text: String,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The words of `search_text` for the word index (NULL: not yet filled in, see `venues::backfill_words`).
    pub search_words: Option<String>,
    /// The city in Kazakh and Russian, where given.
    pub city_kk: Option<String>,
    pub city_ru: Option<String>,
}

/// Insertable too: the seed writes whole rows in bulk (src/storage/bulk.rs).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = assessments, treat_none_as_default_value = false)]
pub struct AssessmentRow {
    pub id: i64,
    pub venue_id: i64,
    pub assessor_id: i64,
    pub status: String,
    pub scheme: String,
    pub scheme_version: i32,
    pub criteria_sha256: String,
    pub measurements: String,
    pub outcome: Option<String>,
    pub overall: Option<String>,
    pub submitted_at: Option<NaiveDateTime>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<NaiveDateTime>,
    pub decision_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// `initial` or `surveillance` (ISO/IEC 17065 7.9).
    pub kind: String,
    /// For a surveillance audit: the certificate it checks.
    pub certificate_number: Option<String>,
}

/// An assessment as lists show it: no measurements or results (lists never load them).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = assessments)]
pub struct AssessmentSummary {
    pub id: i64,
    pub venue_id: i64,
    pub assessor_id: i64,
    pub status: String,
    pub submitted_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

/// Evidence without its bytes (lists never load file contents).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = evidence)]
pub struct EvidenceMeta {
    pub id: i64,
    pub assessment_id: i64,
    pub criterion: String,
    pub filename: String,
    pub description: Option<String>,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    pub kid: String,
    pub public_key: Vec<u8>,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub retired_at: Option<NaiveDateTime>,
}

/// Insertable too: the seed writes whole rows in bulk (src/storage/bulk.rs).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = certificates, treat_none_as_default_value = false)]
pub struct CertificateRow {
    pub id: i64,
    pub number: String,
    pub assessment_id: i64,
    pub venue_id: i64,
    pub venue_name: String,
    pub venue_address: String,
    pub venue_city: String,
    pub scheme: String,
    pub scheme_version: i32,
    pub criteria_sha256: String,
    pub level: String,
    pub outcome: String,
    pub issued_at: NaiveDateTime,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub issuer: String,
    pub issuer_address: String,
    pub signatory: String,
    pub signatory_title: String,
    pub kid: String,
    pub token: Vec<u8>,
    pub status: String,
    pub status_reason: Option<String>,
    pub status_changed_at: Option<NaiveDateTime>,
    pub supersedes: Option<String>,
    pub superseded_by: Option<String>,
    /// Months between surveillance audits, recorded at issuance.
    pub surveillance_months: i32,
    /// When the next surveillance audit is due.
    pub surveillance_due: Option<NaiveDate>,
    /// The venue's names in Kazakh, Russian and English at issuance (`venue_name` is the one it was
    /// registered under; see `CertificateRow::venue_name_in`).
    pub venue_name_kk: Option<String>,
    pub venue_name_ru: Option<String>,
    pub venue_name_en: Option<String>,
    /// The venue's city in Kazakh and Russian at issuance, as `{"kk": …, "ru": …}` (`venue_city` is the
    /// one it was registered under; see `venue_cities_of`).
    pub venue_cities: Option<String>,
}

/// A certificate's `venue_cities` for a venue's city names (None when it has neither).
pub fn venue_cities_of(kk: Option<&str>, ru: Option<&str>) -> Option<String> {
    (kk.is_some() || ru.is_some()).then(|| serde_json::json!({"kk": kk, "ru": ru}).to_string())
}

impl CertificateRow {
    /// The venue's name for a page, PDF or e-mail in `lang` (kk, ru, en): its name in that language where it
    /// has one, else the name it was registered under.
    pub fn venue_name_in(&self, lang: &str) -> &str {
        crate::domain::venue::translated(
            lang,
            &self.venue_name,
            self.venue_name_kk.as_deref(),
            self.venue_name_ru.as_deref(),
            self.venue_name_en.as_deref(),
        )
    }

    /// The venue's city in Kazakh and in Russian at issuance, where given.
    pub fn venue_city_names(&self) -> (Option<String>, Option<String>) {
        let names: std::collections::BTreeMap<String, Option<String>> =
            self.venue_cities.as_deref().and_then(|j| serde_json::from_str(j).ok()).unwrap_or_default();
        let get = |k: &str| names.get(k).cloned().flatten().filter(|n| !n.trim().is_empty());
        (get("kk"), get("ru"))
    }

    /// The venue's city in `lang`, else the one it was registered under.
    pub fn venue_city_in(&self, lang: &str) -> String {
        let (kk, ru) = self.venue_city_names();
        crate::domain::venue::translated(lang, &self.venue_city, kk.as_deref(), ru.as_deref(), None).to_string()
    }
}

/// A complaint without its photo bytes (lists and pages; the photo is read on its own).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = complaints)]
pub struct ComplaintRow {
    pub id: i64,
    pub reference: String,
    pub certificate_number: String,
    pub venue_id: i64,
    pub category: String,
    pub description: String,
    /// The reporter's address: for officers only, never public.
    pub email: Option<String>,
    pub language: String,
    pub photo_type: Option<String>,
    pub status: String,
    pub outcome: Option<String>,
    pub assessment_id: Option<i64>,
    pub suspended: bool,
    pub handled_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = appeals)]
pub struct AppealRow {
    pub id: i64,
    pub venue_id: i64,
    pub subject: String,
    pub assessment_id: Option<i64>,
    pub certificate_number: Option<String>,
    /// When the decision appealed was made.
    pub appealed_at: NaiveDateTime,
    /// Who made the decision appealed (None: the scheduler).
    pub decider_id: Option<i64>,
    /// For a rejection: the audit's assessor, who took part too.
    pub assessor_id: Option<i64>,
    pub statement: String,
    pub filed_by: i64,
    pub status: String,
    pub decided_by: Option<i64>,
    pub decision_reason: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// An appeal's file without its bytes.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = appeal_files)]
pub struct AppealFileMeta {
    pub id: i64,
    pub appeal_id: i64,
    pub filename: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_subscriptions)]
pub struct WebhookRow {
    pub id: i64,
    pub url: String,
    /// Comma-separated log entry types.
    pub events: String,
    /// `whsec_…`: signs every delivery; shown once, at registration.
    pub secret: String,
    pub active: bool,
    /// Failed attempts in a row (reset by a success).
    pub failures: i32,
    pub disabled_at: Option<NaiveDateTime>,
    pub deleted_at: Option<NaiveDateTime>,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: i64,
    pub subscription_id: i64,
    /// The `webhook-id`: the same on every attempt, so receivers can drop repeats.
    pub msg_id: String,
    pub event_type: String,
    pub payload: String,
    pub attempts: i32,
    /// When to try next; None once delivered or given up.
    pub next_attempt_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notifications)]
pub struct NotificationRow {
    pub id: i64,
    pub kind: String,
    pub recipient_user_id: Option<i64>,
    pub recipient_email: Option<String>,
    pub language: String,
    /// JSON: what the message says (number, venue, reason, date, reference…).
    pub params: String,
    pub dedup_key: Option<String>,
    pub attempts: i32,
    /// When to send (next); None once sent, given up, or when there is no address.
    pub next_attempt_at: Option<NaiveDateTime>,
    pub sent_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
}
