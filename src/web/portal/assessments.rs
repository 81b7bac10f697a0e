// The assessor's side of an audit page (/app/assessments/{id}): the measurement form generated from the
// pinned criteria file, figures against thresholds on save, evidence upload from a phone, and submission.

use crate::app::assessments as ops;
use crate::domain::criteria::{CriterionDef, MeasurementDef, MeasurementKind, Scheme};
use crate::domain::scoring::{self, FieldError, Value};
use crate::web::api::assessments::{attach, with_pinned_scheme, Upload, MAX_FILES_PER_UPLOAD};
use crate::web::error::{error_page, ApiError};
use crate::web::i18n::{negotiate, Messages};
use crate::web::portal::frame::{page, see_other, signed_in};
use crate::web::portal::reviews::Audit;
use crate::web::session::{MaybeSession, Session};
use crate::web::AppState;
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// Form fields that are not measurements.
const CONTROL_FIELDS: [&str; 3] = ["csrf", "action", "rows"];
/// At most this many empty transfer-note rows are offered at once.
const MAX_EXTRA_ROWS: usize = 20;

/// What the form shows: the values by input name (a JSON path), and how many empty note rows to add.
struct FormState {
    values: HashMap<String, String>,
    extra_rows: usize,
}

/// The input's `id`: its name with the path punctuation replaced (`f-recycling_handover-transfer_notes-0--kg`).
fn input_id(name: &str) -> String {
    format!("f-{}", name.replace(['.', '[', ']'], "-"))
}

fn note_field(c: &str, m: &str, i: usize, key: &str) -> String {
    format!("{c}.{m}[{i}].{key}")
}

fn number_text(n: f64) -> String {
    n.to_string()
}

/// The stored measurements as form values.
fn stored_values(scheme: &Scheme, m: &scoring::Measurements) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for c in &scheme.criteria {
        let Some(values) = m.get(&c.id) else { continue };
        for (mid, v) in values {
            match v {
                Value::Number(n) => {
                    out.insert(format!("{}.{mid}", c.id), number_text(*n));
                }
                Value::Notes(notes) => {
                    for (i, n) in notes.iter().enumerate() {
                        out.insert(note_field(&c.id, mid, i, "recycler"), n.recycler.clone());
                        out.insert(note_field(&c.id, mid, i, "licence_no"), n.licence_no.clone());
                        out.insert(note_field(&c.id, mid, i, "date"), n.date.to_string());
                        out.insert(note_field(&c.id, mid, i, "kg"), number_text(n.kg));
                    }
                }
            }
        }
    }
    out
}

/// How many note rows the values hold (the highest index + 1).
fn note_rows(values: &HashMap<String, String>, c: &str, m: &str) -> usize {
    let prefix = format!("{c}.{m}[");
    values
        .keys()
        .filter_map(|k| k.strip_prefix(&prefix)?.split(']').next()?.parse::<usize>().ok())
        .map(|i| i + 1)
        .max()
        .unwrap_or(0)
}

/// A number as typed on a phone: spaces dropped, a decimal comma accepted. Anything else stays text, so
/// the scoring code reports it as `not_a_number` next to its field.
fn typed_number(text: &str) -> serde_json::Value {
    let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect::<String>().replace(',', ".");
    match cleaned.parse::<f64>() {
        Ok(n) if n.is_finite() => serde_json::Number::from_f64(n).map(serde_json::Value::Number).unwrap_or_else(|| text.into()),
        _ => serde_json::Value::String(text.to_string()),
    }
}

/// The posted form as a measurement patch for the API's operation. Empty inputs are left out (the stored
/// value stays); blank or ticked-for-removal note rows are dropped. Also returns, per note list, which
/// form row each patch entry came from, so errors land next to the right inputs.
fn patch_from_form(scheme: &Scheme, values: &HashMap<String, String>) -> (serde_json::Value, HashMap<String, Vec<usize>>) {
    let mut patch = serde_json::Map::new();
    let mut rows_of = HashMap::new();
    for c in &scheme.criteria {
        let mut obj = serde_json::Map::new();
        for def in &c.measurements {
            let name = format!("{}.{}", c.id, def.id);
            if def.kind == MeasurementKind::TransferNotes {
                if !values.contains_key(&format!("{name}.present")) {
                    continue;
                }
                let mut notes = Vec::new();
                let mut rows = Vec::new();
                for i in 0..note_rows(values, &c.id, &def.id) {
                    let get = |k: &str| values.get(&note_field(&c.id, &def.id, i, k)).map(|v| v.trim().to_string()).unwrap_or_default();
                    let fields = ["recycler", "licence_no", "date", "kg"].map(get);
                    if get("remove") == "yes" || fields.iter().all(String::is_empty) {
                        continue;
                    }
                    let mut note = serde_json::Map::new();
                    for (k, v) in ["recycler", "licence_no", "date"].iter().zip(&fields) {
                        note.insert(k.to_string(), serde_json::Value::String(v.clone()));
                    }
                    if !fields[3].is_empty() {
                        note.insert("kg".into(), typed_number(&fields[3]));
                    }
                    notes.push(serde_json::Value::Object(note));
                    rows.push(i);
                }
                obj.insert(def.id.clone(), serde_json::Value::Array(notes));
                rows_of.insert(name, rows);
            } else if let Some(v) = values.get(&name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
                obj.insert(def.id.clone(), typed_number(v));
            }
        }
        if !obj.is_empty() {
            patch.insert(c.id.clone(), serde_json::Value::Object(obj));
        }
    }
    (serde_json::Value::Object(patch), rows_of)
}

/// An error's field as the form's input name: `measurements.` dropped, note indices mapped back to rows.
fn form_field(field: &str, rows_of: &HashMap<String, Vec<usize>>) -> String {
    let name = field.strip_prefix("measurements.").unwrap_or(field).to_string();
    for (list, rows) in rows_of {
        if let Some(rest) = name.strip_prefix(&format!("{list}[")) {
            if let Some((k, tail)) = rest.split_once(']') {
                if let Some(row) = k.parse::<usize>().ok().and_then(|k| rows.get(k)) {
                    return format!("{list}[{row}]{tail}");
                }
            }
        }
    }
    name
}

/// A field error in the page's language (the code decides; the English message is the fallback).
pub fn field_message(m: &Messages, e: &FieldError) -> String {
    let key = match e.code.as_str() {
        "required" => "fe_required",
        "not_a_number" => "fe_not_a_number",
        "negative" => "fe_negative",
        "too_large" => "fe_too_large",
        "not_an_integer" => "fe_not_an_integer",
        "percent_out_of_range" => "fe_percent_out_of_range",
        "not_positive" => "fe_not_positive",
        "invalid_date" => "fe_invalid_date",
        "date_in_future" => "fe_date_in_future",
        "too_long" => "fe_too_long",
        "exceeds_related_measurement" => "fe_exceeds_related",
        "missing_measurement" => "fe_missing_measurement",
        "missing_evidence" => "fe_missing_evidence",
        "invalid_email" => "fe_invalid_email",
        "invalid_country" => "fe_invalid_country",
        "invalid_category" => "fe_invalid_category",
        _ => return e.message.clone(),
    };
    m.t(key).to_string()
}

pub(crate) fn unit_text(m: &Messages, unit: &str) -> String {
    match unit {
        "kg" => m.t("unit_kg").to_string(),
        "items" => m.t("unit_items").to_string(),
        "points" => m.t("unit_points").to_string(),
        other => other.to_string(),
    }
}

/// One input with its label, unit and error.
fn number_input(m: &Messages, c: &CriterionDef, def: &MeasurementDef, st: &FormState, errors: &[FieldError], first: Option<&str>) -> Markup {
    let name = format!("{}.{}", c.id, def.id);
    let id = input_id(&name);
    let err = errors.iter().find(|e| e.field == name);
    let described = format!("{id}-error");
    let mode = if def.kind == MeasurementKind::Integer { "numeric" } else { "decimal" };
    html! {
        label for=(id) { (def.name.get(m.lang)) @if let Some(u) = &def.unit { " (" (unit_text(m, u)) ")" } }
        input id=(id) type="text" inputmode=(mode) name=(name) value=[st.values.get(&name)] autocomplete="off"
            aria-invalid=[err.map(|_| "true")] aria-describedby=[err.map(|_| described.as_str())] autofocus[first == Some(name.as_str())];
        @if let Some(e) = err { p.field-error id=(described) { (field_message(m, e)) } }
    }
}

/// The transfer-note rows: recycler, licence number, date and kg per row; tick a row to remove it.
fn notes_input(m: &Messages, c: &CriterionDef, def: &MeasurementDef, st: &FormState, errors: &[FieldError], first: Option<&str>) -> Markup {
    let name = format!("{}.{}", c.id, def.id);
    let rows = note_rows(&st.values, &c.id, &def.id) + st.extra_rows;
    let list_err = errors.iter().find(|e| e.field == name);
    html! {
        fieldset id=(input_id(&name)) {
            legend { (def.name.get(m.lang)) }
            input type="hidden" name={ (name) ".present" } value="1";
            @if let Some(e) = list_err { p.field-error { (field_message(m, e)) } }
            @for i in 0..rows {
                div.note-row role="group" aria-label=(m.f("note_row", &[("n", &(i + 1).to_string())])) {
                    @for (key, label, kind, mode) in [("recycler", "note_recycler", "text", "text"), ("licence_no", "note_licence", "text", "text"), ("date", "note_date", "date", "text"), ("kg", "note_kg", "text", "decimal")] {
                        @let field = note_field(&c.id, &def.id, i, key);
                        @let id = input_id(&field);
                        @let err = errors.iter().find(|e| e.field == field);
                        @let described = format!("{id}-error");
                        label for=(id) { (m.t(label)) }
                        input id=(id) type=(kind) inputmode=(mode) name=(field) value=[st.values.get(&field)] autocomplete="off"
                            aria-invalid=[err.map(|_| "true")] aria-describedby=[err.map(|_| described.as_str())] autofocus[first == Some(field.as_str())];
                        @if let Some(e) = err { p.field-error id=(described) { (field_message(m, e)) } }
                    }
                    label.check { input type="checkbox" name=(note_field(&c.id, &def.id, i, "remove")) value="yes"; " " (m.t("remove_row")) }
                }
            }
            button.secondary type="submit" name="action" value="add_row" { (m.t("add_row")) }
        }
    }
}

fn figure_line(m: &Messages, r: Option<&scoring::CriterionResult>) -> Markup {
    html! {
        @match r {
            Some(r) => {
                @for k in &r.checks {
                    p.figure {
                        (format!("{:.1}", k.measured)) " " (k.unit) " · " (m.t("figure_threshold")) " " (k.op) " " (format!("{:.1}", k.threshold)) " " (k.unit) " · "
                        @if k.passed { span.badge.status-valid { "✓ " (m.t("passed")) } } @else { span.badge.status-bad { "✗ " (m.t("not_passed")) } }
                    }
                }
            }
            None => { p.figure.muted { (m.t("figure_pending")) } }
        }
    }
}

/// The flags of one criterion (transfer notes adding up to more than the kg handed over), as a warning
/// beside its figures: on the assessor's form and on the officer's review page alike.
pub(crate) fn flag_lines(m: &Messages, flags: &[scoring::NotesFlag], criterion: &str) -> Markup {
    html! {
        @for f in flags.iter().filter(|f| f.criterion == criterion) {
            p.warning role="note" data-flag="notes_exceed_handed_over" {
                "⚠ " (m.f("flag_notes_exceed", &[("total", &scoring::notes_total(f.total_kg)), ("handed", &scoring::notes_total(f.handed_over_kg))]))
            }
        }
    }
}

fn evidence_block(m: &Messages, s: &Session, a: &Audit, c: &CriterionDef, error: Option<&str>) -> Markup {
    let id = a.row.id;
    let files: Vec<_> = a.evidence.iter().filter(|e| e.criterion == c.id).collect();
    let block = format!("evidence-{}", c.id);
    let file_id = format!("file-{}", c.id);
    // Part of the audit's one form: uploading (or removing a file) also saves every figure typed above.
    html! {
        section.evidence-block id=(block) aria-labelledby={ (block) "-h" } {
            h3 id={ (block) "-h" } { (m.t("evidence")) ": " (c.name.get(m.lang)) }
            p.muted { (m.f("evidence_required", &[("n", &c.evidence.min_files.to_string()), ("what", c.evidence.description.get(m.lang))])) }
            @if !files.is_empty() {
                ul.evidence {
                    @for e in &files {
                        @let href = format!("/app/assessments/{id}/evidence/{}", e.id);
                        li {
                            @if e.media_type.starts_with("image/") { img.thumb src=(href) alt="" width="64" height="64" loading="lazy"; }
                            a href=(href) { (e.filename) } " · " (size_text(e.size)) " · SHA-256 " code { (&e.sha256[..12]) }
                            @if let Some(d) = &e.description { br; span.muted { (d) } }
                            button.secondary type="submit" name="action" value="remove" formaction=(href) formnovalidate
                                aria-label={ (m.t("action_remove")) " " (e.filename) } { (m.t("action_remove")) }
                        }
                    }
                }
            }
            label for=(file_id) { (m.f("upload_files", &[("max", &MAX_FILES_PER_UPLOAD.to_string())])) }
            input id=(file_id) type="file" name={ "file." (c.id) } multiple accept="image/*,application/pdf"
                aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| format!("{file_id}-error"))] autofocus[error.is_some()];
            @if let Some(e) = error { p.field-error id={ (file_id) "-error" } { (e) } }
            label for={ "desc-" (c.id) } { (m.t("upload_description")) }
            input id={ "desc-" (c.id) } type="text" name={ "description." (c.id) } maxlength="1000";
            button type="submit" name="action" value="upload" formaction={ "/app/assessments/" (id) "/evidence?csrf=" (s.csrf) }
                formenctype="multipart/form-data" formnovalidate { (m.t("action_upload")) }
        }
    }
}

fn size_text(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / 1048576.0)
    } else {
        format!("{} KiB", (bytes + 1023) / 1024)
    }
}

/// Problems to show: field errors (next to inputs), the missing items after a refused submission (a list
/// of links), an upload error (next to that criterion's file input), or a notice.
#[derive(Default)]
struct Problems {
    fields: Vec<FieldError>,
    missing: Vec<FieldError>,
    upload: Option<(String, String)>,
    alert: Option<String>,
    /// The form was just saved (a notice, not a problem).
    saved: bool,
    /// What the last action did (a flash message after the redirect).
    notice: Option<String>,
}

fn missing_link(m: &Messages, scheme: &Scheme, e: &FieldError) -> Markup {
    let name = e.field.strip_prefix("measurements.").unwrap_or(&e.field);
    let (href, text) = if let Some(cid) = e.field.strip_prefix("evidence.") {
        let c = scheme.criterion(cid);
        let what = c.map(|c| c.evidence.description.get(m.lang).to_string()).unwrap_or_default();
        let cname = c.map(|c| c.name.get(m.lang).to_string()).unwrap_or_else(|| cid.to_string());
        (format!("#evidence-{cid}"), format!("{cname}: {} ({what})", m.t("evidence")))
    } else {
        let (cid, mid) = name.split_once('.').unwrap_or((name, ""));
        let c = scheme.criterion(cid);
        let label = c
            .and_then(|c| c.measurement(mid))
            .map(|d| d.name.get(m.lang).to_string())
            .unwrap_or_else(|| name.to_string());
        let cname = c.map(|c| c.name.get(m.lang).to_string()).unwrap_or_default();
        (format!("#{}", input_id(name)), format!("{cname}: {label}"))
    };
    html! { li { a href=(href) { (text) } } }
}

fn form_body(m: &Messages, s: &Session, scheme: &Scheme, a: &Audit, st: &FormState, p: &Problems) -> Markup {
    let id = a.row.id;
    let stored = crate::app::rows::assessment::measurements_of(&a.row).unwrap_or_default();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for e in &a.evidence {
        *counts.entry(e.criterion.clone()).or_default() += 1;
    }
    let figures: HashMap<String, Option<scoring::CriterionResult>> = scoring::figures(scheme, &stored, &counts).into_iter().collect();
    let flags = scoring::flags(scheme, &stored);
    let first = p.fields.first().map(|e| e.field.as_str());
    html! {
        dl.facts {
            dt { (m.t("field_venue")) } dd { (a.venue) }
            dt { (m.t("col_status")) } dd { (crate::web::portal::reviews::status_text(m, &a.row.status)) }
            dt { (m.t("field_scheme")) } dd { (a.row.scheme) " v" (a.row.scheme_version) }
        }
        @if a.row.status == "returned" {
            @if let Some(r) = &a.row.decision_reason {
                div.callout role="note" aria-labelledby="returned-h" {
                    h2 #returned-h { (m.t("returned_comments")) }
                    p { (r) }
                }
            }
        }
        @if p.saved { p.notice role="status" { (m.t("saved")) } }
        @if let Some(n) = &p.notice { p.notice role="status" { (n) } }
        @if let Some(t) = &p.alert { p.alert role="alert" id="form-error" { (t) } }
        @if !p.fields.is_empty() { p.alert role="alert" { (m.t("form_invalid")) } }
        @if !p.missing.is_empty() {
            div.alert role="alert" aria-labelledby="missing-h" {
                h2 #missing-h { (m.t("missing_title")) }
                ul { @for e in &p.missing { (missing_link(m, scheme, e)) } }
            }
        }
        form.stack.audit-form #measurements method="post" action={ "/app/assessments/" (id) } novalidate {
            input type="hidden" name="csrf" value=(s.csrf);
            input type="hidden" name="rows" value=(st.extra_rows);
            // The first submit button is the one Enter presses: saving, not adding a row.
            button.sr-only type="submit" name="action" value="save" tabindex="-1" { (m.t("form_save")) }
            @for c in &scheme.criteria {
                fieldset.criterion id={ "c-" (c.id) } {
                    legend { (c.name.get(m.lang)) }
                    p.muted { (c.description.get(m.lang)) }
                    (figure_line(m, figures.get(&c.id).and_then(Option::as_ref)))
                    (flag_lines(m, &flags, &c.id))
                    @for def in &c.measurements {
                        @if def.kind == MeasurementKind::TransferNotes { (notes_input(m, c, def, st, &p.fields, first)) }
                        @else { (number_input(m, c, def, st, &p.fields, first)) }
                    }
                }
            }
            button type="submit" name="action" value="save" { (m.t("form_save")) }
            h2 { (m.t("evidence")) }
            p.muted { (m.t("upload_saves_too")) }
            @for c in &scheme.criteria {
                (evidence_block(m, s, a, c, p.upload.as_ref().filter(|(cid, _)| *cid == c.id).map(|(_, t)| t.as_str())))
            }
            div.form-end {
                button.secondary type="submit" name="action" value="save" { (m.t("form_save")) }
                button type="submit" name="action" value="submit" { (m.t("action_submit")) }
            }
        }
        h2 { (m.t("history")) }
        ol.history {
            @for ev in &a.history { li { (ev.at.format("%Y-%m-%d %H:%M")) " · " (ev.actor_name) " · " (crate::web::portal::reviews::history_word(m, &ev.action)) } }
        }
    }
}

/// Whether this person fills in this audit (its own assessor, while a draft or returned).
fn fills_in(s: &Session, a: &Audit) -> bool {
    s.caller.can_edit_assessment(a.row.assessor_id) && crate::app::rows::assessment::status_of(&a.row).is_ok_and(|st| st.is_editable())
}

fn scheme_of<'a>(state: &'a AppState, a: &Audit) -> Option<&'a Scheme> {
    state.catalogue.get(&a.row.scheme, a.row.scheme_version)
}

async fn render(req: &HttpRequest, state: &AppState, s: &Session, id: i64, status: StatusCode, st: Option<FormState>, p: Problems) -> HttpResponse {
    let m = negotiate(req);
    let a = match crate::web::portal::reviews::load(state, s, id).await {
        Ok(a) => a,
        Err(crate::app::Error::Storage(crate::app::StorageError::NotFound)) => return crate::web::portal::reviews::not_found(req, &m, s),
        Err(e) => return error_page(e),
    };
    let title = m.f("audit_title", &[("id", &id.to_string())]);
    match scheme_of(state, &a) {
        Some(scheme) if fills_in(s, &a) => {
            let st = st.unwrap_or_else(|| FormState {
                values: stored_values(scheme, &crate::app::rows::assessment::measurements_of(&a.row).unwrap_or_default()),
                extra_rows: extra_rows(req),
            });
            page(req, &m, status, Some(s), &title, form_body(&m, s, scheme, &a, &st, &p))
        }
        _ => {
            let body = html! {
                @if let Some(n) = &p.notice { p.notice role="status" { (n) } }
                @if let Some(t) = &p.alert { p.alert role="alert" { (t) } }
                (crate::web::portal::reviews::audit_body(&m, s, state, &a, None))
            };
            page(req, &m, status, Some(s), &title, body)
        }
    }
}

fn extra_rows(req: &HttpRequest) -> usize {
    web::Query::<ShowParams>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.rows)
        .unwrap_or(1)
        .min(MAX_EXTRA_ROWS)
}

#[derive(Deserialize)]
pub struct ShowParams {
    pub rows: Option<usize>,
    pub saved: Option<u8>,
    /// Files just uploaded (the flash message after an upload).
    pub uploaded: Option<usize>,
    pub removed: Option<u8>,
    pub submitted: Option<u8>,
}

/// `/app/assessments/{id}`: the assessor's form while the audit is theirs to fill in; otherwise the audit as
/// its officers and its venue's manager see it (with the decision form for officers).
pub async fn show(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, path: web::Path<i64>) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let q = web::Query::<ShowParams>::from_query(req.query_string()).ok().map(web::Query::into_inner);
    let saved = q.as_ref().and_then(|q| q.saved).is_some();
    let id = path.into_inner();
    let notice = q.and_then(|q| {
        q.uploaded
            .map(|n| m.f("flash_uploaded", &[("n", &n.to_string())]))
            .or_else(|| q.removed.map(|_| m.t("flash_evidence_removed").to_string()))
            .or_else(|| q.submitted.map(|_| m.f("flash_submitted", &[("id", &id.to_string())])))
    });
    render(
        &req,
        &state,
        &s,
        id,
        StatusCode::OK,
        None,
        Problems {
            saved,
            notice,
            ..Problems::default()
        },
    )
    .await
}

/// The audit page's form: save, add a note row, submit (the assessor) or decide (officers).
pub async fn post(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, path: web::Path<i64>, body: web::Bytes) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let id = path.into_inner();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let action = get("action");
    match action.as_str() {
        "approve" | "reject" | "return" => crate::web::portal::reviews::decide(&req, &state, &s, id, &action, get("reason"), get("confirm") == "yes").await,
        "save" | "add_row" | "submit" => {
            let extra_rows = get("rows").parse::<usize>().unwrap_or(1).min(MAX_EXTRA_ROWS);
            let values: HashMap<String, String> = pairs.into_iter().filter(|(k, _)| !CONTROL_FIELDS.contains(&k.as_str())).collect();
            save(&req, &state, &s, id, &action, FormState { values, extra_rows }).await
        }
        _ => see_other(&format!("/app/assessments/{id}")),
    }
}

/// Save the typed measurements (the API's patch operation); the transfer-note list's input id on success,
/// for the anchor after adding a row. Errors name the form's own inputs.
async fn apply(state: &web::Data<AppState>, s: &Session, id: i64, values: &HashMap<String, String>) -> Result<String, ApiError> {
    let values = values.clone();
    with_pinned_scheme(state, s.caller.clone(), id, move |c, caller, scheme| {
        let (patch, rows_of) = patch_from_form(scheme, &values);
        let notes = rows_of.keys().next().map(|k| input_id(k)).unwrap_or_default();
        ops::patch_measurements(c, caller, id, scheme, &patch).map(|_| notes).map_err(|e| match e {
            crate::app::Error::Storage(crate::app::StorageError::Invalid { code, message, fields }) => {
                let fields = fields
                    .into_iter()
                    .map(|f| FieldError::new(form_field(&f.field, &rows_of), &f.code, f.message))
                    .collect();
                crate::app::Error::Storage(crate::app::StorageError::Invalid { code, message, fields })
            }
            other => other,
        })
    })
    .await
}

/// Whether a posted form carries measurements (any field besides the form's own controls).
fn has_measurements(values: &HashMap<String, String>) -> bool {
    values.keys().any(|k| !CONTROL_FIELDS.contains(&k.as_str()))
}

async fn save(req: &HttpRequest, state: &web::Data<AppState>, s: &Session, id: i64, action: &str, st: FormState) -> HttpResponse {
    let notes = match apply(state, s, id, &st.values).await {
        Ok(n) => n,
        Err(e) => return refused(req, state, s, id, e, Some(st)).await,
    };
    match action {
        "add_row" => see_other(&format!("/app/assessments/{id}?rows={}#{notes}", (st.extra_rows + 1).min(MAX_EXTRA_ROWS))),
        "submit" => {
            let submitted = with_pinned_scheme(state, s.caller.clone(), id, move |c, caller, scheme| ops::submit(c, caller, id, scheme)).await;
            match submitted {
                Ok(_) => {
                    tracing::info!(assessment = id, "assessment submitted (portal)");
                    see_other(&format!("/app/assessments/{id}?submitted=1"))
                }
                Err(e) if e.code == "incomplete_assessment" => {
                    let p = Problems {
                        missing: e.fields,
                        ..Problems::default()
                    };
                    render(req, state, s, id, StatusCode::UNPROCESSABLE_ENTITY, None, p).await
                }
                Err(e) => refused(req, state, s, id, e, None).await,
            }
        }
        _ => see_other(&format!("/app/assessments/{id}?saved=1")),
    }
}

/// A refused save, submission or upload, shown on the page with the person's input kept.
async fn refused(req: &HttpRequest, state: &AppState, s: &Session, id: i64, e: ApiError, st: Option<FormState>) -> HttpResponse {
    let m = negotiate(req);
    let text = |key: &'static str| Some(m.t(key).to_string());
    let p = match (e.status.as_u16(), e.code) {
        (404, _) => return crate::web::portal::reviews::not_found(req, &m, s),
        (422, _) if !e.fields.is_empty() => Problems {
            fields: e.fields,
            ..Problems::default()
        },
        (403, _) => Problems {
            alert: text("not_allowed"),
            ..Problems::default()
        },
        (409, "not_editable") => Problems {
            alert: text("audit_not_editable"),
            ..Problems::default()
        },
        (400..=499, _) => Problems {
            alert: text("form_invalid"),
            ..Problems::default()
        },
        _ => return e.error_response(),
    };
    render(req, state, s, id, e.status, st, p).await
}

/// The audit's one form as posted for an upload (multipart): the typed measurements, and each criterion's
/// chosen files and description (`file.<criterion>`, `description.<criterion>`; the plain `criterion`,
/// `file` and `description` of the evidence form are taken too).
struct PortalUpload {
    values: HashMap<String, String>,
    extra_rows: usize,
    uploads: Vec<Upload>,
}

/// Most text fields a posted audit form may have, and the longest one.
const MAX_FORM_FIELDS: usize = 1000;
const MAX_FORM_TEXT: usize = 1000;

async fn read_portal_upload(mut form: Multipart) -> Result<PortalUpload, ApiError> {
    use crate::domain::text::TextKind;
    use crate::web::uploads::{clean_filename, read_field, text_field, MAX_EVIDENCE_BYTES};
    use futures_util::TryStreamExt;
    let mut values = HashMap::new();
    let mut extra_rows = 1;
    // Per criterion (the plain fields under ""), in the order the form names them.
    let mut by_criterion: Vec<Upload> = vec![];
    let mut plain_criterion = None;
    let mut fields = 0;
    while let Some(mut field) = form
        .try_next()
        .await
        .map_err(|e| ApiError::bad_request("invalid_multipart", format!("the upload could not be read: {e}")))?
    {
        let name = field.name().unwrap_or("").to_string();
        let criterion_of = |n: &str| -> Option<String> {
            n.strip_prefix("file.")
                .or_else(|| n.strip_prefix("description."))
                .map(str::to_string)
                .or_else(|| matches!(n, "file" | "description").then(String::new))
        };
        if let Some(cid) = criterion_of(&name) {
            let at = match by_criterion.iter().position(|u| u.criterion == cid) {
                Some(i) => i,
                None => {
                    by_criterion.push(Upload {
                        criterion: cid.clone(),
                        description: None,
                        files: vec![],
                    });
                    by_criterion.len() - 1
                }
            };
            if name.starts_with("description") {
                let d = text_field(&read_field(&mut field, MAX_FORM_TEXT, &name).await?, &name, TextKind::Free)?;
                by_criterion[at].description = Some(d).filter(|d| !d.trim().is_empty());
                continue;
            }
            let raw_name = field.content_disposition().and_then(|d| d.get_filename()).unwrap_or("evidence").to_string();
            // A browser sends an empty, nameless part for a file input where nothing was chosen.
            if raw_name.is_empty() {
                read_field(&mut field, MAX_EVIDENCE_BYTES, &name).await?;
                continue;
            }
            if by_criterion[at].files.len() >= MAX_FILES_PER_UPLOAD {
                return Err(ApiError::invalid(
                    "too_many_files",
                    format!("at most {MAX_FILES_PER_UPLOAD} files per upload"),
                    vec![FieldError::new(&name, "too_many", "too many files")],
                ));
            }
            crate::domain::text::check(&name, &raw_name, TextKind::Name).map_err(|e| ApiError::invalid("invalid_characters", e.message.clone(), vec![e]))?;
            let bytes = read_field(&mut field, MAX_EVIDENCE_BYTES, &name).await?;
            by_criterion[at].files.push((clean_filename(&raw_name, "evidence"), bytes));
            continue;
        }
        fields += 1;
        if fields > MAX_FORM_FIELDS {
            return Err(ApiError::bad_request("invalid_multipart", "the form has too many fields"));
        }
        let text = text_field(&read_field(&mut field, MAX_FORM_TEXT, &name).await?, &name, TextKind::Free)?;
        match name.as_str() {
            "criterion" => plain_criterion = Some(text),
            "rows" => extra_rows = text.parse::<usize>().unwrap_or(1).min(MAX_EXTRA_ROWS),
            "csrf" | "action" => {}
            _ => {
                values.insert(name, text);
            }
        }
    }
    let uploads = by_criterion
        .into_iter()
        .filter(|u| !u.files.is_empty())
        .map(|u| Upload {
            criterion: if u.criterion.is_empty() {
                plain_criterion.clone().unwrap_or_default()
            } else {
                u.criterion
            },
            ..u
        })
        .collect();
    Ok(PortalUpload { values, extra_rows, uploads })
}

/// A refused upload in the page's language, for the criterion it was for.
fn upload_refusal(m: &Messages, e: &ApiError) -> String {
    let key = match e.code {
        "duplicate_evidence" => "upload_duplicate",
        "unsupported_media_type" => "upload_unsupported",
        "payload_too_large" | "too_large" => "upload_too_large",
        "empty_file" => "upload_empty",
        "missing_file" => "upload_no_file",
        "too_many_files" => "upload_too_many",
        "not_editable" => "audit_not_editable",
        "not_your_assessment" | "forbidden_role" => "not_allowed",
        "missing_criterion" | "unknown_criterion" => "form_invalid",
        _ => "form_invalid",
    };
    m.f(key, &[("max", &MAX_FILES_PER_UPLOAD.to_string())])
}

/// `POST /app/assessments/{id}/evidence`: the files chosen on the audit's form (from a phone's camera or
/// files), each criterion's attached together or not at all; the figures typed on the form are saved too,
/// so nothing typed is lost. A refused file is named next to its criterion, with the typed input kept.
pub async fn upload(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, path: web::Path<i64>, form: Multipart) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let id = path.into_inner();
    let posted = match read_portal_upload(form).await {
        Ok(p) => p,
        Err(e) => {
            let p = Problems {
                alert: Some(upload_refusal(&m, &e)),
                ..Problems::default()
            };
            return render(&req, &state, &s, id, e.status, None, p).await;
        }
    };
    let st = FormState {
        values: posted.values,
        extra_rows: posted.extra_rows,
    };
    let mut p = Problems::default();
    let mut status = StatusCode::OK;
    if has_measurements(&st.values) {
        if let Err(e) = apply(&state, &s, id, &st.values).await {
            if e.status == StatusCode::NOT_FOUND {
                return crate::web::portal::reviews::not_found(&req, &m, &s);
            }
            status = e.status;
            if e.fields.is_empty() {
                p.alert = Some(upload_refusal(&m, &e));
            } else {
                p.fields = e.fields;
            }
        }
    }
    let mut attached = 0;
    let mut last = None;
    if posted.uploads.is_empty() && p.alert.is_none() {
        p.alert = Some(m.t("upload_no_file").to_string());
        status = StatusCode::UNPROCESSABLE_ENTITY;
    }
    for u in posted.uploads {
        let criterion = u.criterion.clone();
        match attach(&state, s.caller.clone(), id, u).await {
            Ok(a) => {
                attached += a.len();
                last = Some(criterion);
            }
            Err(e) if e.status == StatusCode::NOT_FOUND => return crate::web::portal::reviews::not_found(&req, &m, &s),
            Err(e) => {
                let known = state.catalogue.all().any(|sc| sc.criterion(&criterion).is_some());
                let text = upload_refusal(&m, &e);
                if known && p.upload.is_none() {
                    p.upload = Some((criterion, text));
                } else if p.alert.is_none() {
                    p.alert = Some(text);
                }
                status = e.status;
            }
        }
    }
    if attached > 0 {
        tracing::info!(assessment = id, files = attached, "evidence uploaded (portal)");
    }
    if status == StatusCode::OK {
        let anchor = last.map(|c| format!("#evidence-{c}")).unwrap_or_default();
        return see_other(&format!("/app/assessments/{id}?uploaded={attached}{anchor}"));
    }
    if attached > 0 {
        p.notice = Some(m.f("flash_uploaded", &[("n", &attached.to_string())]));
    }
    render(&req, &state, &s, id, status, Some(st), p).await
}

/// `GET /app/assessments/{id}/evidence/{evidence_id}`: the file shown in the browser (images inline, PDFs
/// in the browser's viewer), for whoever may see the audit.
pub async fn evidence(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, path: web::Path<(i64, i64)>) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let m = negotiate(&req);
    let (id, eid) = path.into_inner();
    let caller = s.caller.clone();
    let found = state.db.read(move |c| ops::evidence_file(c, &caller, id, eid)).await;
    match found {
        Ok((meta, content)) => HttpResponse::Ok()
            .content_type(meta.media_type.as_str())
            .insert_header((
                "content-disposition",
                format!("inline; filename=\"{}\"", meta.filename.replace(|c: char| !c.is_ascii() || c == '"', "_")),
            ))
            .insert_header(("cache-control", "private, no-store"))
            .body(content),
        Err(crate::app::Error::Storage(crate::app::StorageError::NotFound)) => crate::web::portal::reviews::not_found(&req, &m, &s),
        Err(e) => error_page(e),
    }
}

/// `POST /app/assessments/{id}/evidence/{evidence_id}` with `action=remove`: take a file off a draft. Sent
/// from the audit's one form, it saves the typed figures first (on an error, they are shown with it and
/// the file stays).
pub async fn remove_evidence(req: HttpRequest, state: web::Data<AppState>, s: MaybeSession, path: web::Path<(i64, i64)>, body: web::Bytes) -> HttpResponse {
    let s = match signed_in(&req, s, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let (id, eid) = path.into_inner();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let extra_rows = pairs
        .iter()
        .find(|(k, _)| k == "rows")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(1)
        .min(MAX_EXTRA_ROWS);
    let values: HashMap<String, String> = pairs.into_iter().filter(|(k, _)| !CONTROL_FIELDS.contains(&k.as_str())).collect();
    if has_measurements(&values) {
        if let Err(e) = apply(&state, &s, id, &values).await {
            return refused(&req, &state, &s, id, e, Some(FormState { values, extra_rows })).await;
        }
    }
    let removed = with_pinned_scheme(&state, s.caller.clone(), id, move |c, caller, _| ops::remove_evidence(c, caller, id, eid)).await;
    match removed {
        Ok(meta) => {
            tracing::info!(assessment = id, evidence = eid, "evidence removed (portal)");
            see_other(&format!("/app/assessments/{id}?removed=1#evidence-{}", meta.criterion))
        }
        Err(e) => refused(&req, &state, &s, id, e, None).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::criteria::{parse_scheme, BUILTIN_V1};
    use proptest::prelude::*;

    fn scheme() -> Scheme {
        parse_scheme("v1", BUILTIN_V1).unwrap()
    }

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_form_becomes_the_apis_patch() {
        let (patch, rows) = patch_from_form(
            &scheme(),
            &form(&[
                ("plastic_reduction.baseline_kg", "1 200,5"),
                ("plastic_reduction.last_12_months_kg", ""),
                ("alternative_materials.items_total", "ten"),
                ("recycling_handover.transfer_notes.present", "1"),
                ("recycling_handover.transfer_notes[0].recycler", ""),
                ("recycling_handover.transfer_notes[1].recycler", "KWR"),
                ("recycling_handover.transfer_notes[1].licence_no", "KZ-1"),
                ("recycling_handover.transfer_notes[1].date", "2026-01-02"),
                ("recycling_handover.transfer_notes[1].kg", "80"),
                ("recycling_handover.transfer_notes[2].recycler", "Gone"),
                ("recycling_handover.transfer_notes[2].remove", "yes"),
            ]),
        );
        assert_eq!(patch["plastic_reduction"], serde_json::json!({"baseline_kg": 1200.5}));
        assert_eq!(patch["alternative_materials"]["items_total"], "ten");
        assert_eq!(
            patch["recycling_handover"]["transfer_notes"],
            serde_json::json!([{"recycler": "KWR", "licence_no": "KZ-1", "date": "2026-01-02", "kg": 80.0}])
        );
        assert_eq!(rows["recycling_handover.transfer_notes"], vec![1]);
        assert_eq!(
            form_field("measurements.recycling_handover.transfer_notes[0].kg", &rows),
            "recycling_handover.transfer_notes[1].kg"
        );
        assert_eq!(form_field("measurements.plastic_reduction.baseline_kg", &rows), "plastic_reduction.baseline_kg");
    }

    #[test]
    fn notes_are_left_alone_when_the_form_has_none() {
        let (patch, _) = patch_from_form(&scheme(), &form(&[("plastic_reduction.baseline_kg", "5")]));
        assert!(patch.get("recycling_handover").is_none());
    }

    proptest! {
        /// Whatever a phone sends, the form never panics and only names measurements of the scheme.
        #[test]
        fn any_form_gives_a_patch_of_known_fields(keys in proptest::collection::vec("[a-z_.\\[\\]0-9]{0,40}", 0..12), vals in proptest::collection::vec(".{0,12}", 12)) {
            let s = scheme();
            let values: HashMap<String, String> = keys.into_iter().zip(vals).collect();
            let (patch, _) = patch_from_form(&s, &values);
            for (cid, obj) in patch.as_object().unwrap() {
                let c = s.criterion(cid).unwrap();
                for mid in obj.as_object().unwrap().keys() {
                    prop_assert!(c.measurement(mid).is_some());
                }
            }
        }

        /// A stored measurement shown in the form and saved again is the same value.
        #[test]
        fn stored_numbers_round_trip(n in 0.0f64..1e9) {
            let v = typed_number(&number_text(n));
            prop_assert_eq!(v.as_f64(), Some(n));
        }
    }
}
