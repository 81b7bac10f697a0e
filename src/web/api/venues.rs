// Venues over HTTP: assessors and admins create and update; officers, admins and assessors read
// and search all; a venue user sees only its own venue.

use crate::app;
use crate::app::rows::VenueQuery;
use crate::app::rows::VenueRow;
use crate::domain::venue::VenueFields;
use crate::web::auth::Auth;
use crate::web::error::{missing, ApiResult};
use crate::web::AppState;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct VenueResponse {
    pub id: i64,
    pub name: String,
    pub name_kk: Option<String>,
    pub name_ru: Option<String>,
    pub name_en: Option<String>,
    pub address: String,
    pub city: String,
    /// The city in Kazakh and in Russian, where given.
    pub city_kk: Option<String>,
    pub city_ru: Option<String>,
    pub country: String,
    pub category: String,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<VenueRow> for VenueResponse {
    fn from(r: VenueRow) -> Self {
        VenueResponse {
            id: r.id,
            name: r.name,
            name_kk: r.name_kk,
            name_ru: r.name_ru,
            name_en: r.name_en,
            address: r.address,
            city: r.city,
            city_kk: r.city_kk,
            city_ru: r.city_ru,
            country: r.country,
            category: r.category,
            contact_name: r.contact_name,
            contact_email: r.contact_email,
            contact_phone: r.contact_phone,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        }
    }
}

/// The document's view of a new venue: `VenueFields` with name, address and city required (the
/// handler parses `VenueFields` so that every missing field is named in one answer).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct NewVenue {
    /// The display name (any language).
    name: String,
    name_kk: Option<String>,
    name_ru: Option<String>,
    name_en: Option<String>,
    address: String,
    city: String,
    /// The city in Kazakh and in Russian, where it is written otherwise.
    city_kk: Option<String>,
    city_ru: Option<String>,
    /// ISO 3166-1 alpha-2, e.g. `KZ` (the default).
    country: Option<String>,
    /// hotel, event_hall, expo_pavilion, cafe, office, public_space or other (the default).
    category: Option<String>,
    contact_name: Option<String>,
    contact_email: Option<String>,
    contact_phone: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct VenuePage {
    pub items: Vec<VenueResponse>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_after: Option<i64>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct VenueListParams {
    /// Part of the name, in any language (case-insensitive).
    pub q: Option<String>,
    pub city: Option<String>,
    /// Keyset cursor: the `next_after` of the previous page.
    pub after: Option<i64>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/venues", tag = "venues", security(("bearer" = [])), request_body = NewVenue,
    responses((status = 201, body = VenueResponse), (status = 403, body = crate::web::error::ErrorBody), (status = 422, body = crate::web::error::ErrorBody)))]
pub async fn create(state: web::Data<AppState>, auth: Auth, body: web::Json<VenueFields>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let fields = body.into_inner();
    let row = state.db.write(move |c| app::venues::create(c, &caller, &fields)).await?;
    Ok(HttpResponse::Created().json(VenueResponse::from(row)))
}

#[utoipa::path(get, path = "/api/v1/venues/{id}", tag = "venues", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = VenueResponse), (status = 404, body = crate::web::error::ErrorBody)))]
pub async fn get(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let (caller, id) = (auth.0, path.into_inner());
    let row = state
        .db
        .read(move |c| app::venues::get_visible(c, &caller, id))
        .await
        .map_err(missing("venue"))?;
    Ok(HttpResponse::Ok().json(VenueResponse::from(row)))
}

#[utoipa::path(patch, path = "/api/v1/venues/{id}", tag = "venues", security(("bearer" = [])), params(("id" = i64, Path)), request_body = VenueFields,
    responses((status = 200, body = VenueResponse), (status = 404, body = crate::web::error::ErrorBody), (status = 422, body = crate::web::error::ErrorBody)))]
pub async fn update(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>, body: web::Json<VenueFields>) -> ApiResult<HttpResponse> {
    let (caller, id, fields) = (auth.0, path.into_inner(), body.into_inner());
    let row = state
        .db
        .write(move |c| app::venues::update(c, &caller, id, &fields))
        .await
        .map_err(missing("venue"))?;
    Ok(HttpResponse::Ok().json(VenueResponse::from(row)))
}

#[utoipa::path(get, path = "/api/v1/venues", tag = "venues", security(("bearer" = [])), params(VenueListParams), responses((status = 200, body = VenuePage)))]
pub async fn list(state: web::Data<AppState>, auth: Auth, params: web::Query<VenueListParams>) -> ApiResult<HttpResponse> {
    let p = params.into_inner();
    let limit = crate::web::page_limit(p.limit)?;
    let Some(only_id) = auth.0.venue_scope(None) else {
        return Ok(HttpResponse::Ok().json(VenuePage {
            items: vec![],
            next_after: None,
        }));
    };
    let q = VenueQuery {
        q: p.q,
        city: p.city,
        only_id,
        after_id: p.after,
        limit: limit + 1,
    };
    let (rows, next_after) = crate::web::keyset_page(state.db.read(move |c| crate::app::venues::list(c, &q)).await?, limit, |r| r.id);
    Ok(HttpResponse::Ok().json(VenuePage {
        items: rows.into_iter().map(VenueResponse::from).collect(),
        next_after,
    }))
}
