// The OpenAPI document, generated from the handlers' annotations, served at /openapi.json
// and browsable offline at /docs (Swagger UI, vendored into the binary).

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [
                (&mut item.get, false),
                (&mut item.post, true),
                (&mut item.patch, true),
                (&mut item.put, true),
                (&mut item.delete, false),
            ];
            for (op, writes) in ops {
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
                for (status, description) in add {
                    op.responses.responses.entry(status.to_string()).or_insert_with(|| error_response(description));
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Gold eco-label registry", description = "Audits, independent decisions, Ed25519-signed certificates and public verification for the Gold eco-label."),
    modifiers(&BearerAuth, &CommonResponses),
    paths(
        super::health::healthz, super::health::readyz,
        super::users::me, super::users::create, super::users::list, super::users::new_token, super::users::revoke,
        super::venues::create, super::venues::get, super::venues::update, super::venues::list,
        super::assessments::create, super::assessments::list, super::assessments::get, super::assessments::patch,
        super::assessments::upload_evidence, super::assessments::list_evidence, super::assessments::download_evidence,
        super::assessments::submit, super::assessments::decide, super::assessments::events,
        super::certificates::list, super::certificates::get, super::certificates::pdf, super::certificates::suspend, super::certificates::reinstate, super::certificates::withdraw,
        super::public::jwks, super::public::criteria,
        super::pages::verify, super::pages::by_number, super::pages::list_json, super::pages::list_csv,
    ),
    tags(
        (name = "health"), (name = "users", description = "users and bearer tokens (admins)"),
        (name = "venues"), (name = "assessments", description = "audits, evidence, submission and decision"),
        (name = "certificates"), (name = "public", description = "no login needed"),
    )
)]
pub struct ApiDoc;

pub fn doc() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub async fn spec() -> HttpResponse {
    HttpResponse::Ok().json(doc())
}
