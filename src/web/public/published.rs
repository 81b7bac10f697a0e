// Public, no-login endpoints: the published signing keys (JWKS) and the published criteria versions.
// (The QR landing page, certificate pages and register live beside these as they are built.)

use crate::domain::signing::{parse_public_key, Jwk, Jwks};
use crate::web::error::{ApiError, ApiResult};
use crate::web::AppState;
use actix_web::{web, HttpResponse};

#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "public", responses((status = 200, body = Jwks)))]
pub async fn jwks(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let rows = crate::app::public::signing_keys(&state.db).await?;
    let mut keys = Vec::new();
    for r in rows {
        let key = parse_public_key(&r.public_key).map_err(ApiError::internal)?;
        let mut jwk = Jwk::public(&key);
        jwk.status = Some(r.status.clone());
        jwk.valid_from = Some(r.created_at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        jwk.valid_until = r.retired_at.map(|t| t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        keys.push(jwk);
    }
    Ok(HttpResponse::Ok().insert_header(("cache-control", "public, max-age=300")).json(Jwks { keys }))
}

#[utoipa::path(get, path = "/api/v1/criteria/{scheme}/{version}", tag = "public", params(("scheme" = String, Path, example = "gold-eco-label"), ("version" = i32, Path, example = 1)),
    responses((status = 200, body = crate::domain::criteria::Scheme), (status = 404, body = crate::web::error::ErrorBody)))]
pub async fn criteria(state: web::Data<AppState>, path: web::Path<(String, i32)>) -> ApiResult<HttpResponse> {
    let (scheme, version) = path.into_inner();
    let s = state.catalogue.get(&scheme, version).ok_or_else(|| ApiError::not_found("criteria version"))?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "public, max-age=3600"))
        .insert_header(("etag", format!("\"{}\"", s.sha256)))
        .json(s))
}
