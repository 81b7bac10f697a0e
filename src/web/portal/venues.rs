// The portal's venue pages (/app/venues…): the list, a new venue and editing one (every field, names in
// kk/ru/en, errors next to their fields), and starting an audit of a venue (/app/assessments/new).

use crate::app::rows::VenueQuery;
use crate::app::rows::VenueRow;
use crate::domain::auth::Role;
use crate::domain::lifecycle::AssessmentKind;
use crate::domain::scoring::FieldError;
use crate::domain::venue::{VenueFields, CATEGORIES};
use crate::web::error::error_page;
use crate::web::i18n::{negotiate, Messages};
use crate::web::portal::frame::{page, see_other, signed_in};
use crate::web::session::{MaybeSession, Session};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use maud::{html, Markup};

const PAGE: i64 = 50;

fn editor(s: &Session) -> bool {
    s.caller.has_any(&[Role::Assessor, Role::Admin])
}

/// The fields of the venue form, in order: (name, label key, required, kind).
const FIELDS: [(&str, &str, bool, &str); 13] = [
    ("name", "venue_name", true, "text"),
    ("name_kk", "venue_name_kk", false, "text"),
    ("name_ru", "venue_name_ru", false, "text"),
    ("name_en", "venue_name_en", false, "text"),
    ("address", "venue_address", true, "text"),
    ("city", "field_city", true, "text"),
    ("city_kk", "venue_city_kk", false, "text"),
    ("city_ru", "venue_city_ru", false, "text"),
    ("country", "venue_country", false, "text"),
    ("category", "venue_category", true, "select"),
    ("contact_name", "venue_contact_name", false, "text"),
    ("contact_email", "venue_contact_email", false, "email"),
    ("contact_phone", "venue_contact_phone", false, "tel"),
];

fn value_of<'a>(f: &'a VenueFields, name: &str) -> Option<&'a str> {
    match name {
        "name" => f.name.as_deref(),
        "name_kk" => f.name_kk.as_deref(),
        "name_ru" => f.name_ru.as_deref(),
        "name_en" => f.name_en.as_deref(),
        "address" => f.address.as_deref(),
        "city" => f.city.as_deref(),
        "city_kk" => f.city_kk.as_deref(),
        "city_ru" => f.city_ru.as_deref(),
        "country" => f.country.as_deref(),
        "category" => f.category.as_deref(),
        "contact_name" => f.contact_name.as_deref(),
        "contact_email" => f.contact_email.as_deref(),
        "contact_phone" => f.contact_phone.as_deref(),
        _ => None,
    }
}

fn fields_of(r: &VenueRow) -> VenueFields {
    VenueFields {
        name: Some(r.name.clone()),
        name_kk: r.name_kk.clone(),
        name_ru: r.name_ru.clone(),
        name_en: r.name_en.clone(),
        address: Some(r.address.clone()),
        city: Some(r.city.clone()),
        city_kk: r.city_kk.clone(),
        city_ru: r.city_ru.clone(),
        country: Some(r.country.clone()),
        category: Some(r.category.clone()),
        contact_name: r.contact_name.clone(),
        contact_email: r.contact_email.clone(),
        contact_phone: r.contact_phone.clone(),
    }
}

/// The posted form as venue fields (every field sent; `csrf` and `action` are not venue fields).
fn parse(body: &[u8]) -> VenueFields {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    VenueFields {
        name: get("name"),
        name_kk: get("name_kk"),
        name_ru: get("name_ru"),
        name_en: get("name_en"),
        address: get("address"),
        city: get("city"),
        city_kk: get("city_kk"),
        city_ru: get("city_ru"),
        country: get("country").filter(|c| !c.trim().is_empty()),
        category: get("category"),
        contact_name: get("contact_name"),
        contact_email: get("contact_email"),
        contact_phone: get("contact_phone"),
    }
}

fn category_key(c: &str) -> &'static str {
    match c {
        "hotel" => "category_hotel",
        "event_hall" => "category_event_hall",
        "expo_pavilion" => "category_expo_pavilion",
        "cafe" => "category_cafe",
        "office" => "category_office",
        "public_space" => "category_public_space",
        _ => "category_other",
    }
}

fn form(m: &Messages, s: &Session, action: &str, f: &VenueFields, errors: &[FieldError], button: &str) -> Markup {
    let first_error = errors.first().map(|e| e.field.clone());
    html! {
        @if !errors.is_empty() { p.alert role="alert" { (m.t("form_invalid")) } }
        form.stack method="post" action=(action) novalidate {
            input type="hidden" name="csrf" value=(s.csrf);
            @for (name, label, required, kind) in FIELDS {
                @let err = errors.iter().find(|e| e.field == name);
                @let described = format!("{name}-error");
                label for=(name) { (m.t(label)) @if required { " *" } }
                @if kind == "select" {
                    select id=(name) name=(name) required[required] aria-invalid=[err.map(|_| "true")] aria-describedby=[err.map(|_| described.as_str())] autofocus[first_error.as_deref() == Some(name)] {
                        // No kind is assumed: the person chooses one.
                        option value="" selected[value_of(f, name).is_none_or(str::is_empty)] { (m.t("choose_one")) }
                        @for c in CATEGORIES {
                            option value=(c) selected[value_of(f, name) == Some(c)] { (m.t(category_key(c))) }
                        }
                    }
                } @else {
                    input id=(name) type=(kind) name=(name) value=[value_of(f, name)] required[required] maxlength="300"
                        aria-invalid=[err.map(|_| "true")] aria-describedby=[err.map(|_| described.as_str())] autofocus[first_error.as_deref() == Some(name)];
                }
                @if let Some(e) = err { p.field-error id=(described) { (m.t(label)) ": " (crate::web::portal::assessments::field_message(m, e)) } }
            }
            button type="submit" name="action" value="save" { (button) }
        }
    }
}

#[derive(serde::Deserialize)]
pub struct VenueListParams {
    pub q: Option<String>,
    pub after: Option<i64>,
}

/// `/app/venues`: the venues the person may see, searchable by name in any language, 50 at a time; staff
/// may add one.
pub async fn list(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, params: web::Query<VenueListParams>) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let p = params.into_inner();
    let rows = match s.caller.venue_scope(None) {
        None => vec![],
        Some(only_id) => {
            let q = VenueQuery {
                q: p.q.clone(),
                city: None,
                only_id,
                after_id: p.after,
                limit: PAGE + 1,
            };
            match state.db.read(move |c| crate::app::venues::list(c, &q)).await {
                Ok(r) => r,
                Err(e) => return error_page(e),
            }
        }
    };
    let (rows, next) = crate::web::keyset_page(rows, PAGE, |v| v.id);
    let body = html! {
        @if editor(&s) { p { a href="/app/venues/new" { (m.t("venue_new")) } } }
        form.search method="get" action="/app/venues" role="search" {
            label { (m.t("search_name")) input type="search" name="q" value=[p.q.as_deref()]; }
            button type="submit" { (m.t("search_button")) }
        }
        @if rows.is_empty() { p { (m.t("no_results")) } }
        ul { @for v in &rows { li { a href={ "/app/venues/" (v.id) } { (crate::web::layout::venue_name(m.lang, v)) } " · " (crate::web::layout::venue_city(m.lang, v)) } } }
        @if let Some(n) = next {
            nav.pager { a href={ "/app/venues?after=" (n) @if let Some(q) = &p.q { "&q=" (crate::web::layout::url_escape(q)) } } { (m.t("next_page")) } }
        }
    };
    page(&req, &m, StatusCode::OK, Some(&s), m.t("nav_venues"), body)
}

/// `/app/venues/new`: the form.
pub async fn new(req: HttpRequest, s: MaybeSession) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    if !editor(&s) {
        return page(
            &req,
            &m,
            StatusCode::FORBIDDEN,
            Some(&s),
            m.t("venue_new"),
            html! { p.alert role="alert" { (m.t("not_allowed")) } },
        );
    }
    let f = VenueFields {
        country: Some("KZ".into()),
        ..Default::default()
    };
    page(
        &req,
        &m,
        StatusCode::OK,
        Some(&s),
        m.t("venue_new"),
        form(&m, &s, "/app/venues", &f, &[], m.t("venue_create")),
    )
}

/// The form to show again with its field errors: (action, what was sent, button).
type Resend<'a> = Option<(&'a str, &'a VenueFields, &'a str)>;

fn refused(req: &HttpRequest, m: &Messages, s: &Session, e: impl Into<crate::app::Error>, title: &str, resend: Resend<'_>) -> HttpResponse {
    match (e.into(), resend) {
        (crate::app::Error::Storage(crate::app::StorageError::Invalid { fields, .. }), Some((action, f, button))) => {
            page(req, m, StatusCode::UNPROCESSABLE_ENTITY, Some(s), title, form(m, s, action, f, &fields, button))
        }
        (e, _) => refused_plain(req, m, s, e, title),
    }
}

fn refused_plain(req: &HttpRequest, m: &Messages, s: &Session, e: impl Into<crate::app::Error>, title: &str) -> HttpResponse {
    let e = e.into();
    match e {
        crate::app::Error::Storage(crate::app::StorageError::Invalid { .. }) => page(
            req,
            m,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(s),
            title,
            html! { p.alert role="alert" { (m.t("form_invalid")) } },
        ),
        crate::app::Error::Storage(crate::app::StorageError::Forbidden { .. }) => page(
            req,
            m,
            StatusCode::FORBIDDEN,
            Some(s),
            title,
            html! { p.alert role="alert" { (m.t("not_allowed")) } },
        ),
        crate::app::Error::Storage(crate::app::StorageError::NotFound) => page(
            req,
            m,
            StatusCode::NOT_FOUND,
            Some(s),
            title,
            html! { p role="alert" { (m.t("venue_not_found")) } },
        ),
        e => error_page(e),
    }
}

/// Create a venue from the form (POST /app/venues).
pub async fn create(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, body: web::Bytes) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let f = parse(&body);
    // The form assumes no kind of venue: the person chooses one (the API's default `other` is not offered).
    if f.category.as_deref().is_none_or(|c| c.trim().is_empty()) {
        let e = crate::app::Error::Storage(crate::app::StorageError::Invalid {
            code: "invalid_venue",
            message: "choose the kind of venue".into(),
            fields: vec![FieldError::new("category", "required", "choose the kind of venue")],
        });
        return refused(&req, &m, &s, e, m.t("venue_new"), Some(("/app/venues", &f, m.t("venue_create"))));
    }
    let (caller, fields) = (s.caller.clone(), f.clone());
    match state.db.write(move |c| crate::app::venues::create(c, &caller, &fields)).await {
        Ok(v) => see_other(&format!("/app/venues/{}?done=venue_created", v.id)),
        Err(e) => refused(&req, &m, &s, e, m.t("venue_new"), Some(("/app/venues", &f, m.t("venue_create")))),
    }
}

/// `/app/venues/{id}`: the venue (editable by staff), and "start an audit" for assessors.
pub async fn show(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, path: web::Path<i64>) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let (id, caller) = (path.into_inner(), s.caller.clone());
    let (row, certified) = match load(&state, caller, id).await {
        Ok(r) => r,
        Err(e) => return refused_plain(&req, &m, &s, e, m.t("nav_venues")),
    };
    page(
        &req,
        &m,
        StatusCode::OK,
        Some(&s),
        crate::web::layout::venue_name(m.lang, &row),
        venue_body(&m, &s, &row, &fields_of(&row), &[], certified),
    )
}

/// The venue as the caller may see it, and whether it has a certificate a surveillance audit could keep.
async fn load(state: &AppState, caller: crate::domain::auth::Caller, id: i64) -> crate::app::Result<(VenueRow, bool)> {
    state.db.read(move |c| crate::app::venues::page(c, &caller, id)).await
}

/// The venue's page; `certified`: it has a certificate a surveillance audit could keep (only then is one offered).
fn venue_body(m: &Messages, s: &Session, row: &VenueRow, f: &VenueFields, errors: &[FieldError], certified: bool) -> Markup {
    html! {
        @if s.caller.has(Role::Assessor) {
            form.stack method="post" action="/app/assessments/new" {
                input type="hidden" name="csrf" value=(s.csrf);
                input type="hidden" name="venue_id" value=(row.id);
                button type="submit" name="action" value="start" { (m.t("audit_start")) }
                @if certified {
                    button.secondary type="submit" name="kind" value="surveillance" { (m.t("audit_start_surveillance")) }
                }
            }
        }
        // Its manager is invited here, by the venue's page: no number to type or copy.
        @if s.caller.has(Role::Admin) {
            h2 #h-invite-manager { (m.t("invite_venue_manager")) }
            form.stack method="post" action="/app/users" aria-labelledby="h-invite-manager" {
                input type="hidden" name="csrf" value=(s.csrf);
                input type="hidden" name="venue_id" value=(row.id);
                input type="hidden" name="role" value="venue";
                label for="manager-email" { (m.t("field_email")) }
                input #manager-email type="email" name="email" required autocomplete="off";
                label for="manager-name" { (m.t("field_name")) }
                input #manager-name type="text" name="name" required maxlength="200";
                button type="submit" name="action" value="invite" { (m.t("invite_venue_manager_button")) }
            }
        }
        @if editor(s) {
            h2 { (m.t("venue_edit")) }
            (form(m, s, &format!("/app/venues/{}", row.id), f, errors, m.t("venue_save")))
        } @else {
            dl.facts {
                @for (name, label, _, _) in FIELDS { @if let Some(v) = value_of(f, name) { dt { (m.t(label)) } dd { (v) } } }
            }
        }
    }
}

/// Save the venue's form (POST /app/venues/{id}).
pub async fn update(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, path: web::Path<i64>, body: web::Bytes) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let id = path.into_inner();
    let f = parse(&body);
    let (caller, fields) = (s.caller.clone(), f.clone());
    let saved = state.db.write(move |c| crate::app::venues::update(c, &caller, id, &fields)).await;
    match saved {
        Ok(v) => see_other(&format!("/app/venues/{}?done=saved", v.id)),
        Err(crate::app::Error::Storage(crate::app::StorageError::Invalid { fields, .. })) => match load(&state, s.caller.clone(), id).await {
            Ok((row, certified)) => page(
                &req,
                &m,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&s),
                crate::web::layout::venue_name(m.lang, &row),
                venue_body(&m, &s, &row, &f, &fields, certified),
            ),
            Err(e) => error_page(e),
        },
        Err(e) => refused_plain(&req, &m, &s, e, m.t("nav_venues")),
    }
}

#[derive(serde::Deserialize)]
pub struct StartForm {
    pub venue_id: i64,
    /// `surveillance` for a surveillance audit of the venue's certificate; otherwise an initial audit.
    pub kind: Option<String>,
}

/// Start an audit of a venue (POST /app/assessments/new), pinned to the criteria version in force.
pub async fn start_audit(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, form: web::Form<StartForm>) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let Some(scheme) = state.catalogue.current(crate::domain::criteria::DEFAULT_SCHEME).cloned() else {
        return crate::web::error::ApiError::unavailable().error_response();
    };
    let (caller, venue_id) = (s.caller.clone(), form.venue_id);
    let kind = match form.kind.as_deref() {
        Some("surveillance") => AssessmentKind::Surveillance,
        _ => AssessmentKind::Initial,
    };
    match state
        .db
        .write(move |c| crate::app::assessments::create(c, &caller, venue_id, &scheme, kind))
        .await
    {
        Ok(a) => see_other(&format!("/app/assessments/{}?done=audit_started", a.id)),
        Err(crate::app::Error::Storage(crate::app::StorageError::Invalid { .. })) => {
            refused_plain(&req, &m, &s, crate::app::StorageError::NotFound, m.t("audit_start"))
        }
        Err(e) => refused_plain(&req, &m, &s, e, m.t("audit_start")),
    }
}
