// The OpenAPI document, generated from the handlers' annotations, served at /openapi.json
// and browsable offline at /docs (Swagger UI, vendored into the binary).

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Gold eco-label registry", description = "Audits, independent decisions, Ed25519-signed certificates and public verification for the Gold eco-label."),
    modifiers(&BearerAuth),
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
