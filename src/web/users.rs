// Users and tokens over HTTP: who am I, and for admins: create users (token shown once), list them,
// issue another token, revoke a token.

use super::auth::Auth;
use super::error::{ApiError, ApiResult};
use super::middleware::secret_reply;
use super::AppState;
use crate::domain::auth::{format_roles, parse_roles, Role};
use crate::storage::{models::UserRow, users};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserResponse {
    pub id: i64,
    pub name: String,
    pub roles: Vec<Role>,
    pub venue_id: Option<i64>,
}

impl UserResponse {
    fn from_row(u: &UserRow) -> Self {
        UserResponse {
            id: u.id,
            name: u.name.clone(),
            roles: parse_roles(&u.roles).unwrap_or_default(),
            venue_id: u.venue_id,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenCreated {
    pub user: UserResponse,
    pub token_id: i64,
    /// The bearer token. Shown this once; only its hash is stored.
    pub token: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub name: String,
    pub roles: Vec<Role>,
    pub venue_id: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "users", security(("bearer" = [])), responses((status = 200, body = UserResponse), (status = 401, body = super::error::ErrorBody)))]
pub async fn me(auth: Auth) -> HttpResponse {
    let c = auth.0;
    HttpResponse::Ok().json(UserResponse {
        id: c.user_id.unwrap_or(0),
        name: c.name,
        roles: c.roles,
        venue_id: c.venue_id,
    })
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("bearer" = [])), request_body = CreateUser,
    responses((status = 201, body = TokenCreated), (status = 403, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
pub async fn create(state: web::Data<AppState>, auth: Auth, body: web::Json<CreateUser>) -> ApiResult<HttpResponse> {
    let caller = auth.require(&[Role::Admin])?.clone();
    let body = body.into_inner();
    let roles = parse_roles(&format_roles(&body.roles)).map_err(|e| ApiError::invalid("invalid_role", e, vec![]))?;
    let created = state.db.write(move |c| users::create(c, &caller, &body.name, &roles, body.venue_id)).await?;
    let shown = format!("user {} with token {}", created.user.id, created.token_id);
    let res = HttpResponse::Created().json(TokenCreated {
        user: UserResponse::from_row(&created.user),
        token_id: created.token_id,
        token: created.token,
    });
    Ok(secret_reply(res, shown))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])), responses((status = 200, body = [UserResponse])))]
pub async fn list(state: web::Data<AppState>, auth: Auth) -> ApiResult<HttpResponse> {
    auth.require(&[Role::Admin])?;
    let rows = state.db.read(users::list).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(UserResponse::from_row).collect::<Vec<_>>()))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/tokens", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 201, body = TokenCreated), (status = 404, body = super::error::ErrorBody)))]
pub async fn new_token(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let caller = auth.require(&[Role::Admin])?.clone();
    let id = path.into_inner();
    let (user, token_id, token) = state
        .db
        .write(move |c| {
            let user = users::get(c, id)?;
            let (token_id, token) = users::create_token(c, &caller, id, "admin-issued")?;
            Ok((user, token_id, token))
        })
        .await?;
    let res = HttpResponse::Created().json(TokenCreated {
        user: UserResponse::from_row(&user),
        token_id,
        token,
    });
    Ok(secret_reply(res, format!("token {token_id}")))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Revoked {
    pub token_id: i64,
    pub revoked: bool,
}

/// Admins revoke any token; anyone may revoke a token of their own.
#[utoipa::path(post, path = "/api/v1/tokens/{id}/revoke", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Revoked), (status = 404, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody)))]
pub async fn revoke(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let id = path.into_inner();
    state
        .db
        .write(move |c| {
            let own = caller
                .user_id
                .map(|u| users::tokens_of(c, u))
                .transpose()?
                .unwrap_or_default()
                .iter()
                .any(|t| t.id == id);
            if !own && !caller.has(Role::Admin) {
                return Err(crate::storage::Error::NotFound);
            }
            users::revoke_token(c, &caller, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Revoked { token_id: id, revoked: true }))
}
