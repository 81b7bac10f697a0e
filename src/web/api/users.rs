// Users, tokens and sign-in administration over HTTP: who am I; admins create users (an invitation link,
// or a token, shown once), set e-mails, unlock, reset second factors, end sessions, read auth events.

use crate::app::accounts::{self as ops, Client, NewPerson};
use crate::app::rows::{AuthEventRow, SessionRow};
use crate::app::{rows::UserRow, DbConn};
use crate::domain::auth::{format_roles, parse_roles, Caller, Role};
use crate::web::auth::Auth;
use crate::web::error::{ApiError, ApiResult};
use crate::web::middleware::secret_reply;
use crate::web::session::client_of;
use crate::web::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserResponse {
    pub id: i64,
    pub name: String,
    pub roles: Vec<Role>,
    pub venue_id: Option<i64>,
    /// The sign-in name (lower case); none for users made before sign-in existed (`users set-email`).
    pub email: Option<String>,
    /// Whether a TOTP second factor is set up.
    pub second_factor: bool,
}

impl UserResponse {
    fn from_row(u: &UserRow) -> Self {
        UserResponse {
            id: u.id,
            name: u.name.clone(),
            roles: parse_roles(&u.roles).unwrap_or_default(),
            venue_id: u.venue_id,
            email: u.email.clone(),
            second_factor: u.totp_secret.is_some(),
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

/// A new user: with `email`, an invitation link to set a password; without, a bearer token (scripts).
#[derive(Serialize, utoipa::ToSchema)]
pub struct UserCreated {
    pub user: UserResponse,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<i64>,
    /// The bearer token (users without e-mail). Shown this once; only its hash is stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// `<public URL>/invite/<token>`, single use, 72 hours. Shown this once; only its hash is stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation_expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub name: String,
    pub roles: Vec<Role>,
    pub venue_id: Option<i64>,
    /// The person's e-mail address: they get an invitation link instead of a token.
    pub email: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "users", security(("bearer" = [])), responses((status = 200, body = UserResponse), (status = 401, body = crate::web::error::ErrorBody)))]
pub async fn me(state: web::Data<AppState>, auth: Auth) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let row = state.db.read(move |c| crate::app::users::me(c, &caller)).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from_row(&row)))
}

fn utc(t: chrono::NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    t.and_utc()
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("bearer" = [])), request_body = CreateUser,
    responses((status = 201, body = UserCreated), (status = 403, body = crate::web::error::ErrorBody), (status = 422, body = crate::web::error::ErrorBody)))]
pub async fn create(req: HttpRequest, state: web::Data<AppState>, auth: Auth, body: web::Json<CreateUser>) -> ApiResult<HttpResponse> {
    let caller = auth.require(&[Role::Admin])?.clone();
    let body = body.into_inner();
    let roles = parse_roles(&format_roles(&body.roles)).map_err(|e| ApiError::invalid("invalid_role", e, vec![]))?;
    if let Some(email) = body.email {
        let client = client_of(&req, &state);
        let (url, now) = (state.config.public_url.clone(), state.clock.now());
        let link = state
            .db
            .write(move |c| {
                let p = NewPerson {
                    email: &email,
                    name: &body.name,
                    roles: &roles,
                    venue_id: body.venue_id,
                };
                ops::invite(c, &caller, &client, p, &url, now)
            })
            .await?;
        let shown = format!("user {} with an invitation link", link.user.id);
        let res = HttpResponse::Created().json(UserCreated {
            user: UserResponse::from_row(&link.user),
            token_id: None,
            token: None,
            invitation_url: Some(link.url),
            invitation_expires_at: Some(utc(link.expires_at)),
        });
        return Ok(secret_reply(res, shown));
    }
    let created = state
        .db
        .write(move |c| crate::app::users::create_with_token(c, &caller, &body.name, &roles, body.venue_id))
        .await?;
    let shown = format!("user {} with token {}", created.user.id, created.token_id);
    let res = HttpResponse::Created().json(UserCreated {
        user: UserResponse::from_row(&created.user),
        token_id: Some(created.token_id),
        token: Some(created.token),
        invitation_url: None,
        invitation_expires_at: None,
    });
    Ok(secret_reply(res, shown))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])), responses((status = 200, body = [UserResponse])))]
pub async fn list(state: web::Data<AppState>, auth: Auth) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let rows = state.db.read(move |c| crate::app::users::list(c, &caller)).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(UserResponse::from_row).collect::<Vec<_>>()))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/tokens", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 201, body = TokenCreated), (status = 404, body = crate::web::error::ErrorBody)))]
pub async fn new_token(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let id = path.into_inner();
    let crate::app::users::NewUser { user, token_id, token } = state.db.write(move |c| crate::app::users::issue_token(c, &caller, id, "admin-issued")).await?;
    let res = HttpResponse::Created().json(TokenCreated {
        user: UserResponse::from_row(&user),
        token_id,
        token,
    });
    Ok(secret_reply(res, format!("token {token_id}")))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What the token is for ("nightly export"), 1 to 100 characters.
    pub label: String,
}

/// A person makes an API token for their own scripts (shown once).
#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "users", security(("bearer" = [])), request_body = NewToken,
    responses((status = 201, body = TokenCreated)))]
pub async fn own_token(state: web::Data<AppState>, auth: Auth, body: web::Json<NewToken>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let label = body.into_inner().label;
    let crate::app::users::NewUser { user, token_id, token } = state.db.write(move |c| crate::app::users::own_token(c, &caller, &label)).await?;
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
    responses((status = 200, body = Revoked), (status = 404, body = crate::web::error::ErrorBody), (status = 409, body = crate::web::error::ErrorBody)))]
pub async fn revoke(state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let id = path.into_inner();
    state.db.write(move |c| ops::revoke_token(c, &caller, id)).await?;
    Ok(HttpResponse::Ok().json(Revoked { token_id: id, revoked: true }))
}

/// A signed-in session, as its owner and admins see it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionResponse {
    pub id: i64,
    pub user_id: i64,
    /// Browser and system, from the User-Agent ("Chrome on Android").
    pub device: String,
    pub ip: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// `totp` while the second factor is awaited, else `full`.
    pub stage: String,
    /// Whether this request was made with this session.
    pub current: bool,
}

fn session_response(s: &SessionRow, current: Option<i64>) -> SessionResponse {
    SessionResponse {
        id: s.id,
        user_id: s.user_id,
        device: crate::domain::account::device_of(&s.user_agent),
        ip: s.ip.clone(),
        created_at: utc(s.created_at),
        last_used_at: utc(s.last_seen_at),
        expires_at: utc(s.expires_at),
        stage: s.stage.clone(),
        current: current == Some(s.id),
    }
}

fn current_session(req: &HttpRequest) -> Option<i64> {
    use actix_web::HttpMessage;
    req.extensions().get::<crate::web::session::Session>().map(|s| s.id)
}

#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "users", security(("bearer" = [])), responses((status = 200, body = [SessionResponse])))]
pub async fn my_sessions(req: HttpRequest, state: web::Data<AppState>, auth: Auth) -> ApiResult<HttpResponse> {
    let uid = auth.0.user_id.unwrap_or(0);
    sessions_of(&req, &state, auth, uid).await
}

#[utoipa::path(get, path = "/api/v1/users/{id}/sessions", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = [SessionResponse])))]
pub async fn user_sessions(req: HttpRequest, state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    sessions_of(&req, &state, auth, path.into_inner()).await
}

/// A person's open sessions as the caller may see them, the request's own marked `current`.
async fn sessions_of(req: &HttpRequest, state: &AppState, auth: Auth, uid: i64) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let rows = state.db.read(move |c| ops::sessions(c, &caller, uid)).await?;
    let current = current_session(req);
    Ok(HttpResponse::Ok().json(rows.iter().map(|s| session_response(s, current)).collect::<Vec<_>>()))
}

/// Run one operation on the user or session named in the path, as the caller, from this client.
async fn on_path<T, F>(req: &HttpRequest, state: &AppState, auth: Auth, path: web::Path<i64>, op: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, &Caller, &Client, i64) -> crate::app::Result<T> + Send + 'static,
{
    let (caller, id, client) = (auth.0, path.into_inner(), client_of(req, state));
    Ok(state.db.write(move |c| op(c, &caller, &client, id)).await?)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Ended {
    /// How many sessions ended.
    pub ended: usize,
}

/// End one session: one's own, or anyone's for an admin. It is refused on every replica at once.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/end", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Ended)))]
pub async fn end_session(req: HttpRequest, state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    on_path(&req, &state, auth, path, ops::end_session).await?;
    Ok(HttpResponse::Ok().json(Ended { ended: 1 }))
}

/// End every session of a user (admins; a person ending their own keeps the one making the request).
#[utoipa::path(post, path = "/api/v1/users/{id}/sessions/end", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Ended)))]
pub async fn end_user_sessions(req: HttpRequest, state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let keep = current_session(&req);
    let ended = on_path(&req, &state, auth, path, move |c, caller, client, id| {
        ops::end_all_sessions(c, caller, client, id, keep)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Ended { ended }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Unlocked {
    pub user_id: i64,
    /// Whether a sign-in wait was running.
    pub was_locked: bool,
}

/// Lift a person's sign-in wait after failed attempts (admins).
#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Unlocked)))]
pub async fn unlock(req: HttpRequest, state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let id = *path;
    let was_locked = on_path(&req, &state, auth, path, ops::unlock).await?;
    Ok(HttpResponse::Ok().json(Unlocked { user_id: id, was_locked }))
}

/// Remove a person's second factor (a lost phone): they set one up again at their next sign-in, and
/// their sessions end (admins).
#[utoipa::path(post, path = "/api/v1/users/{id}/second-factor/reset", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = UserResponse)))]
pub async fn reset_second_factor(req: HttpRequest, state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let user = on_path(&req, &state, auth, path, |c, caller, client, id| {
        ops::reset_second_factor(c, caller, client, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(UserResponse::from_row(&user)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LinkCreated {
    pub user: UserResponse,
    /// `<public URL>/invite/<token>`, single use, 72 hours; older links of the user stop working.
    pub url: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// A new link for a person to set their password (shown once; admins).
#[utoipa::path(post, path = "/api/v1/users/{id}/password-link", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 201, body = LinkCreated)))]
pub async fn password_link(req: HttpRequest, state: web::Data<AppState>, auth: Auth, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let caller = auth.require(&[Role::Admin])?.clone();
    let id = path.into_inner();
    let client = client_of(&req, &state);
    let (url, now) = (state.config.public_url.clone(), state.clock.now());
    let link = state.db.write(move |c| ops::password_link(c, &caller, &client, id, &url, now)).await?;
    let shown = format!("a password link for user {}", link.user.id);
    let res = HttpResponse::Created().json(LinkCreated {
        user: UserResponse::from_row(&link.user),
        url: link.url,
        expires_at: utc(link.expires_at),
    });
    Ok(secret_reply(res, shown))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetEmail {
    pub email: String,
}

/// Give a user their sign-in e-mail address (admins; users made before sign-in existed).
#[utoipa::path(post, path = "/api/v1/users/{id}/email", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)), request_body = SetEmail,
    responses((status = 200, body = UserResponse)))]
pub async fn set_email(req: HttpRequest, state: web::Data<AppState>, auth: Auth, path: web::Path<i64>, body: web::Json<SetEmail>) -> ApiResult<HttpResponse> {
    let email = body.into_inner().email;
    let user = on_path(&req, &state, auth, path, move |c, caller, client, id| {
        ops::set_email(c, caller, client, id, &email)
    })
    .await?;
    Ok(HttpResponse::Ok().json(UserResponse::from_row(&user)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRoles {
    /// At least one role.
    pub roles: Vec<Role>,
    /// The venue a venue manager manages (required with the role `venue`, refused without it).
    pub venue_id: Option<i64>,
}

/// Change a user's roles and venue binding (admins; effective on the user's next request; an admin cannot
/// remove their own admin role).
#[utoipa::path(post, path = "/api/v1/users/{id}/roles", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)), request_body = SetRoles,
    responses((status = 200, body = UserResponse), (status = 403, body = crate::web::error::ErrorBody), (status = 404, body = crate::web::error::ErrorBody), (status = 409, body = crate::web::error::ErrorBody), (status = 422, body = crate::web::error::ErrorBody)))]
pub async fn set_roles(req: HttpRequest, state: web::Data<AppState>, auth: Auth, path: web::Path<i64>, body: web::Json<SetRoles>) -> ApiResult<HttpResponse> {
    let SetRoles { roles, venue_id } = body.into_inner();
    let user = on_path(&req, &state, auth, path, move |c, caller, _, id| {
        crate::app::users::set_roles(c, caller, id, &roles, venue_id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(UserResponse::from_row(&user)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Only this user's events.
    pub user_id: Option<i64>,
    /// Events older than this id (the previous page's `next_before`).
    pub before: Option<i64>,
    /// 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// A sign-in event: who, when, from where, what happened (never a password, code or token).
#[derive(Serialize, utoipa::ToSchema)]
pub struct AuthEvent {
    pub id: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    /// The person the event is about (none for an unknown e-mail address).
    pub user_id: Option<i64>,
    /// Who did it, when not the person themselves (an admin).
    pub actor_id: Option<i64>,
    /// `sign_in`, `second_factor`, `locked`, `unlocked`, `password_set`, `password_changed`,
    /// `second_factor_enrolled`, `second_factor_reset`, `invitation_created`, `password_link_created`,
    /// `email_set`, `session_ended`.
    pub kind: String,
    /// `ok`, `failed`, `refused_locked`, `second_factor_needed`.
    pub outcome: String,
    pub ip: String,
    pub user_agent: String,
    pub detail: serde_json::Value,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuthEventPage {
    pub events: Vec<AuthEvent>,
    /// Pass as `before` for the next (older) page.
    pub next_before: Option<i64>,
}

fn event_response(e: AuthEventRow) -> AuthEvent {
    AuthEvent {
        id: e.id,
        at: utc(e.at),
        user_id: e.user_id,
        actor_id: e.actor_id,
        kind: e.kind,
        outcome: e.outcome,
        ip: e.ip,
        user_agent: e.user_agent,
        detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
    }
}

#[utoipa::path(get, path = "/api/v1/auth-events", tag = "users", security(("bearer" = [])), params(EventQuery),
    responses((status = 200, body = AuthEventPage)))]
pub async fn auth_events(state: web::Data<AppState>, auth: Auth, q: web::Query<EventQuery>) -> ApiResult<HttpResponse> {
    let caller = auth.0;
    let q = q.into_inner();
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid(
            "invalid_limit",
            "limit must be between 1 and 200",
            vec![crate::domain::scoring::FieldError::new("limit", "invalid_limit", "1 to 200")],
        ));
    }
    let rows = state.db.read(move |c| ops::auth_events(c, &caller, q.user_id, q.before, limit + 1)).await?;
    let (rows, next_before) = crate::web::keyset_page(rows, limit, |e| e.id);
    Ok(HttpResponse::Ok().json(AuthEventPage {
        events: rows.into_iter().map(event_response).collect(),
        next_before,
    }))
}
