// The OpenAPI document, generated from the handlers' annotations, served at /openapi.json
// and browsable offline at /docs (Swagger UI, vendored into the binary).

use super::AppState;
use crate::domain::criteria::Catalogue;
use crate::domain::text::{self, TextKind};
use crate::domain::venue;
use actix_web::{web, HttpResponse};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::ObjectBuilder;
use utoipa::openapi::schema::{Schema, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::Required;
use utoipa::openapi::{Content, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// The statuses the shared machinery can return, added to each operation that can meet them (an
/// operation's own description of a status is kept): input checks, authentication, body limits,
/// idempotency, the public rate limit, and the database being unreachable.
struct CommonResponses;

fn error_response(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content("application/json", Content::new(Some(Ref::from_schema_name("ErrorBody"))))
            .build(),
    )
}

/// `Idempotency-Key`, which every POST under /api/v1 honours (see `middleware::idempotency`).
fn idempotency_key() -> Parameter {
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Replay-safe retries: the first successful reply is stored for 24 h and replayed for the same key and body (an empty key is no key).",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(255))
                .pattern(Some(r"^[\t\x20-\x7E]*$")),
        ))
        .build()
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [
                (&mut item.get, false, false),
                (&mut item.post, true, true),
                (&mut item.patch, true, false),
                (&mut item.put, true, false),
                (&mut item.delete, false, false),
            ];
            for (op, writes, post) in ops {
                let Some(op) = op.as_mut() else { continue };
                let mut add: Vec<(&str, &str)> = vec![
                    (
                        "400",
                        "malformed request: a query parameter or header that does not parse, or a control character in text (`invalid_characters`)",
                    ),
                    ("500", "internal error (logged; no details are sent)"),
                    ("503", "the database cannot be reached; retry later"),
                ];
                if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    add.push(("401", "no bearer token, or an unknown or revoked one"));
                    add.push(("403", "the caller's role may not do this"));
                }
                if path.contains('{') {
                    add.push(("404", "not found, or not visible to the caller"));
                }
                if op.parameters.iter().flatten().any(|p| matches!(p.parameter_in, ParameterIn::Query)) {
                    add.push(("422", "a query parameter is out of range; `fields` names it"));
                }
                if op.request_body.is_some() || writes {
                    add.push(("413", "the request body is too large"));
                    add.push(("415", "the request body is not of the documented media type"));
                    add.push(("422", "the input does not validate; `fields` names each field at fault"));
                }
                if writes && path.starts_with("/api/v1/") {
                    add.push((
                        "409",
                        "the state does not allow this, or a request with this Idempotency-Key is in progress, or its secret was already shown",
                    ));
                }
                if op.tags.as_ref().is_some_and(|t| t.iter().any(|t| t == "public")) {
                    add.push(("429", "too many requests from this client; see Retry-After"));
                }
                if post && path.starts_with("/api/v1/") && op.parameters.iter().flatten().all(|p| p.name != "Idempotency-Key") {
                    op.parameters.get_or_insert_with(Vec::new).push(idempotency_key());
                }
                for (status, description) in add {
                    op.responses.responses.entry(status.to_string()).or_insert_with(|| error_response(description));
                }
            }
        }
    }
}

/// The text rules the handlers enforce (`domain::text`, `domain::venue`), stated in the document so that
/// a client (or schemathesis) knows which strings are accepted: named properties get their own pattern
/// and length, every other string property the free-text pattern, every string query parameter the
/// one-line pattern.
struct TextRules;

fn set_string(schema: &mut RefOr<Schema>, pattern: &str, max: Option<usize>, overwrite: bool) {
    if let RefOr::T(Schema::Object(o)) = schema {
        let is_string = match &o.schema_type {
            SchemaType::Type(Type::String) => true,
            SchemaType::Array(types) => types.contains(&Type::String),
            SchemaType::AnyValue => false,
            _ => false,
        };
        if !is_string || o.enum_values.is_some() || o.format.is_some() || (o.pattern.is_some() && !overwrite) {
            return;
        }
        o.pattern = Some(pattern.to_string());
        if max.is_some() {
            o.max_length = max;
        }
    }
}

impl Modify for TextRules {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let name = text::pattern(TextKind::Name, true);
        let optional_name = text::pattern(TextKind::Name, false);
        let bad = text::forbidden_class(TextKind::Name);
        // Blank means none; surrounding white space is trimmed.
        let email = format!(r"^\s*([^\s@{bad}]+@[^\s.{bad}][^\s{bad}]*\.[^\s{bad}]*[^\s.{bad}]\s*)?$");
        let reason = text::pattern(TextKind::Free, true);
        let free = text::pattern(TextKind::Free, false);
        let line = text::pattern(TextKind::Line, false);
        let user_email = crate::domain::account::email_pattern();
        let label = text::pattern(TextKind::Line, true);
        let named: Vec<(&str, &str, &str, usize)> = vec![
            ("NewVenue", "name", &name, venue::MAX_NAME),
            ("NewVenue", "address", &name, venue::MAX_TEXT),
            ("NewVenue", "city", &name, venue::MAX_CITY),
            ("VenueFields", "name", &name, venue::MAX_NAME),
            ("VenueFields", "address", &name, venue::MAX_TEXT),
            ("VenueFields", "city", &name, venue::MAX_CITY),
            ("CreateUser", "name", &name, crate::domain::auth::MAX_USER_NAME),
            ("CreateUser", "email", &user_email, crate::domain::account::MAX_EMAIL),
            ("SetEmail", "email", &user_email, crate::domain::account::MAX_EMAIL),
            ("NewToken", "label", &label, 100),
            ("RequiredReason", "reason", &reason, crate::domain::lifecycle::MAX_REASON),
            ("StatusChange", "reason", &free, crate::domain::lifecycle::MAX_REASON),
        ];
        let optional: Vec<(&str, usize)> = vec![
            ("name_kk", venue::MAX_NAME),
            ("name_ru", venue::MAX_NAME),
            ("name_en", venue::MAX_NAME),
            ("city_kk", venue::MAX_CITY),
            ("city_ru", venue::MAX_CITY),
            ("contact_name", venue::MAX_NAME),
            ("contact_phone", venue::MAX_PHONE),
        ];
        let Some(components) = openapi.components.as_mut() else { return };
        for (schema_name, schema) in components.schemas.iter_mut() {
            let RefOr::T(Schema::Object(obj)) = schema else { continue };
            for (prop, s) in obj.properties.iter_mut() {
                if let Some((_, _, pattern, max)) = named.iter().find(|(n, p, _, _)| n == schema_name && p == prop) {
                    set_string(s, pattern, Some(*max), true);
                } else if schema_name == "NewVenue" || schema_name == "VenueFields" {
                    match prop.as_str() {
                        "contact_email" => set_string(s, &email, Some(254), true),
                        "country" => set_string(s, r"^\s*([A-Za-z]{2}\s*)?$", None, true),
                        "category" => {
                            if let RefOr::T(Schema::Object(o)) = s {
                                // null (not sent) means "other" on create and "unchanged" on update.
                                let values = venue::CATEGORIES.iter().map(|c| serde_json::json!(c));
                                o.enum_values = Some(values.chain([serde_json::Value::Null]).collect());
                            }
                        }
                        p => match optional.iter().find(|(n, _)| *n == p) {
                            Some((_, max)) => set_string(s, &optional_name, Some(*max), true),
                            None => set_string(s, &free, None, false),
                        },
                    }
                } else {
                    set_string(s, &free, None, false);
                }
            }
        }
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post, &mut item.patch, &mut item.put, &mut item.delete]
                .into_iter()
                .flatten()
            {
                for p in op.parameters.iter_mut().flatten() {
                    if matches!(p.parameter_in, ParameterIn::Query) {
                        if let Some(s) = p.schema.as_mut() {
                            // A query parameter is absent or has a value; it cannot be null.
                            if let RefOr::T(Schema::Object(o)) = s {
                                if let SchemaType::Array(types) = &o.schema_type {
                                    if let [t] = types.iter().filter(|t| **t != Type::Null).collect::<Vec<_>>()[..] {
                                        o.schema_type = SchemaType::Type(t.clone());
                                    }
                                }
                            }
                            set_string(s, &line, None, false);
                        }
                    }
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Gold eco-label registry", description = "Audits, independent decisions, Ed25519-signed certificates and public verification for the Gold eco-label."),
    modifiers(&BearerAuth, &CommonResponses, &TextRules),
    paths(
        super::health::healthz, super::health::readyz, super::health::metrics, super::public::feed::feed,
        super::api::users::me, super::api::users::create, super::api::users::list, super::api::users::new_token, super::api::users::revoke,
        super::api::users::own_token, super::api::users::my_sessions, super::api::users::user_sessions, super::api::users::end_session, super::api::users::end_user_sessions,
        super::api::users::unlock, super::api::users::reset_second_factor, super::api::users::password_link, super::api::users::set_roles, super::api::users::set_email, super::api::users::auth_events,
        super::api::venues::create, super::api::venues::get, super::api::venues::update, super::api::venues::list,
        super::api::assessments::create, super::api::assessments::list, super::api::assessments::get, super::api::assessments::patch,
        super::api::assessments::upload_evidence, super::api::assessments::list_evidence, super::api::assessments::download_evidence, super::api::assessments::delete_evidence,
        super::api::assessments::submit, super::api::assessments::decide, super::api::assessments::events,
        super::api::certificates::list, super::api::certificates::get, super::api::certificates::pdf, super::api::certificates::suspend, super::api::certificates::reinstate, super::api::certificates::withdraw,
        super::public::published::jwks, super::public::published::criteria,
        super::public::certificates::verify, super::public::badge::badge, super::public::data::file, super::public::data::catalog_jsonld, super::public::certificates::by_number, super::public::certificates::list_json, super::public::certificates::list_csv,
        super::public::log::checkpoint, super::public::log::checkpoint_latest, super::public::log::witnesses, super::public::log::proof, super::public::log::vkey, super::public::log::tile, super::public::log::entries, super::public::log::consistency,
        super::api::appeals::create, super::api::appeals::list, super::api::appeals::get, super::api::appeals::upload, super::api::appeals::download, super::api::appeals::decide,
        super::api::webhooks::create, super::api::webhooks::list, super::api::webhooks::delete, super::api::webhooks::deliveries,
        super::public::complaints::report, super::api::complaints::list, super::api::complaints::get, super::api::complaints::photo, super::api::complaints::triage,
    ),
    tags(
        (name = "health"), (name = "users", description = "users, sign-in administration, sessions and bearer tokens"),
        (name = "venues"), (name = "assessments", description = "audits, evidence, submission and decision"),
        (name = "certificates"), (name = "public", description = "no login needed"),
        (name = "log", description = "the public transparency log (C2SP tlog-tiles, checkpoints, proofs); no login needed"),
        (name = "appeals", description = "a venue's appeals of a rejection, suspension or withdrawal, decided by someone who took no part"),
        (name = "webhooks", description = "subscribers that receive every public status change, signed per Standard Webhooks (admins)"),
        (name = "complaints", description = "complaints about a label, for officers and admins (the public reports them at /certificates/{number}/complaints)"),
    )
)]
pub struct ApiDoc;

/// The document as this server sees it: the schemes it knows are the values `scheme` accepts.
pub fn doc_for(catalogue: &Catalogue) -> utoipa::openapi::OpenApi {
    let mut d = ApiDoc::openapi();
    let mut schemes: Vec<String> = catalogue.all().map(|s| s.scheme.clone()).collect();
    schemes.sort();
    schemes.dedup();
    if let Some(RefOr::T(Schema::Object(o))) = d.components.as_mut().and_then(|c| c.schemas.get_mut("CreateAssessment")) {
        if let Some(RefOr::T(Schema::Object(p))) = o.properties.get_mut("scheme") {
            p.pattern = None;
            p.enum_values = Some(schemes.iter().map(|s| serde_json::json!(s)).chain([serde_json::Value::Null]).collect());
        }
    }
    d
}

/// `doc_for` as JSON, written once at start (the catalogue does not change while the server runs): building
/// the document for every request cost a few milliseconds and left megabytes in the allocator.
pub fn json_for(catalogue: &Catalogue) -> Result<web::Bytes, String> {
    let mut doc = serde_json::to_value(doc_for(catalogue)).map_err(|e| format!("cannot write the OpenAPI document: {e}"))?;
    document_codes(&mut doc);
    // The multipart forms take their named fields only (any other is refused with 422 unknown_field).
    for form in ["ComplaintForm", "EvidenceUpload", "AppealUpload"] {
        if let Some(schema) = doc.pointer_mut(&format!("/components/schemas/{form}")) {
            schema["additionalProperties"] = serde_json::Value::Bool(false);
        }
    }
    serde_json::to_vec(&doc)
        .map(web::Bytes::from)
        .map_err(|e| format!("cannot write the OpenAPI document: {e}"))
}

/// Every error code with its statuses and meaning (crate::app::codes), on the `error` field of `ErrorBody`:
/// as a list in its description, and as `x-error-codes` for tools.
fn document_codes(doc: &mut serde_json::Value) {
    let codes = crate::app::codes::CODES;
    let list: Vec<String> = codes
        .iter()
        .map(|c| {
            let statuses: Vec<String> = c.statuses.iter().map(u16::to_string).collect();
            format!("- `{}` ({}): {}", c.code, statuses.join(", "), c.meaning)
        })
        .collect();
    let table: Vec<serde_json::Value> = codes
        .iter()
        .map(|c| serde_json::json!({"code": c.code, "statuses": c.statuses, "meaning": c.meaning}))
        .collect();
    if let Some(error) = doc.pointer_mut("/components/schemas/ErrorBody/properties/error") {
        error["description"] = serde_json::Value::String(format!("Stable, machine-readable code. Every code:\n{}", list.join("\n")));
        error["x-error-codes"] = serde_json::Value::Array(table);
    }
}

pub async fn spec(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(state.openapi.clone())
}
