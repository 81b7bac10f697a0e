//! Measurements, their validation against a scheme, and the server-side scoring of each criterion.
//! Pure: results are computed only here, from measurements and the scheme; clients never send results.

use super::criteria::{CheckDef, CriterionDef, Formula, MeasurementKind, Op, Scheme};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One transfer note: plastic handed to a licensed recycler.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferNote {
    pub recycler: String,
    pub licence_no: String,
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    pub kg: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Value {
    Number(f64),
    Notes(Vec<TransferNote>),
}

impl Value {
    pub fn number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            Value::Notes(_) => None,
        }
    }
}

/// criterion id -> measurement id -> value
pub type Measurements = BTreeMap<String, BTreeMap<String, Value>>;

/// A problem with one field, named by its path (`measurements.plastic_reduction.baseline_kg`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.to_string(),
            message: message.into(),
        }
    }
}

const MAX_NOTES: usize = 500;
const MAX_TEXT: usize = 200;

/// Parse a client's measurement patch (`{criterion: {measurement: value}}`) against the scheme.
/// Every problem is reported; nothing is accepted unless all of it is valid.
pub fn parse_patch(scheme: &Scheme, patch: &serde_json::Value, today: NaiveDate) -> Result<Measurements, Vec<FieldError>> {
    let mut out = Measurements::new();
    let mut errors = Vec::new();
    let Some(obj) = patch.as_object() else {
        return Err(vec![FieldError::new(
            "measurements",
            "invalid_type",
            "measurements must be an object keyed by criterion id",
        )]);
    };
    for (cid, values) in obj {
        let Some(c) = scheme.criterion(cid) else {
            errors.push(FieldError::new(
                format!("measurements.{cid}"),
                "unknown_criterion",
                format!("`{cid}` is not a criterion of {} v{}", scheme.scheme, scheme.version),
            ));
            continue;
        };
        let Some(values) = values.as_object() else {
            errors.push(FieldError::new(
                format!("measurements.{cid}"),
                "invalid_type",
                "must be an object keyed by measurement id",
            ));
            continue;
        };
        let entry = out.entry(cid.clone()).or_default();
        for (mid, v) in values {
            let field = format!("measurements.{cid}.{mid}");
            let Some(def) = c.measurement(mid) else {
                errors.push(FieldError::new(
                    field,
                    "unknown_measurement",
                    format!("`{mid}` is not a measurement of `{cid}`"),
                ));
                continue;
            };
            match parse_value(def.kind, def.positive, v, &field, today) {
                Ok(val) => {
                    entry.insert(mid.clone(), val);
                }
                Err(e) => errors.extend(e),
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn parse_value(kind: MeasurementKind, positive: bool, v: &serde_json::Value, field: &str, today: NaiveDate) -> Result<Value, Vec<FieldError>> {
    let number = |v: &serde_json::Value, field: &str| -> Result<f64, FieldError> {
        let n = v
            .as_f64()
            .filter(|n| n.is_finite())
            .ok_or_else(|| FieldError::new(field, "not_a_number", "must be a number"))?;
        if n < 0.0 {
            return Err(FieldError::new(field, "negative", "must not be negative"));
        }
        if n > 1e12 {
            return Err(FieldError::new(field, "too_large", "is implausibly large"));
        }
        Ok(n)
    };
    match kind {
        MeasurementKind::Number | MeasurementKind::Integer | MeasurementKind::Percent => {
            let n = number(v, field).map_err(|e| vec![e])?;
            if kind == MeasurementKind::Integer && n.fract() != 0.0 {
                return Err(vec![FieldError::new(field, "not_an_integer", "must be a whole number")]);
            }
            if kind == MeasurementKind::Percent && n > 100.0 {
                return Err(vec![FieldError::new(field, "percent_out_of_range", "a percentage must be between 0 and 100")]);
            }
            if positive && n <= 0.0 {
                return Err(vec![FieldError::new(field, "not_positive", "must be greater than zero")]);
            }
            Ok(Value::Number(n))
        }
        MeasurementKind::TransferNotes => {
            let Some(items) = v.as_array() else {
                return Err(vec![FieldError::new(field, "invalid_type", "must be a list of transfer notes")]);
            };
            if items.len() > MAX_NOTES {
                return Err(vec![FieldError::new(field, "too_many", format!("at most {MAX_NOTES} transfer notes"))]);
            }
            let mut notes = Vec::new();
            let mut errors = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let f = format!("{field}[{i}]");
                let text = |key: &str| -> Result<String, FieldError> {
                    let s = item.get(key).and_then(|s| s.as_str()).map(str::trim).unwrap_or("");
                    if s.is_empty() {
                        Err(FieldError::new(format!("{f}.{key}"), "required", format!("{key} is required")))
                    } else if s.chars().count() > MAX_TEXT {
                        Err(FieldError::new(format!("{f}.{key}"), "too_long", format!("at most {MAX_TEXT} characters")))
                    } else {
                        Ok(s.to_string())
                    }
                };
                let known = ["recycler", "licence_no", "date", "kg"];
                if let Some(o) = item.as_object() {
                    for k in o.keys().filter(|k| !known.contains(&k.as_str())) {
                        errors.push(FieldError::new(format!("{f}.{k}"), "unknown_field", "unknown field"));
                    }
                } else {
                    errors.push(FieldError::new(f.clone(), "invalid_type", "must be an object"));
                    continue;
                }
                let recycler = text("recycler");
                let licence = text("licence_no");
                let date = match item.get("date").and_then(|d| d.as_str()).map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d")) {
                    Some(Ok(d)) if d <= today => Ok(d),
                    Some(Ok(_)) => Err(FieldError::new(format!("{f}.date"), "date_in_future", "the date is in the future")),
                    _ => Err(FieldError::new(format!("{f}.date"), "invalid_date", "must be a date, YYYY-MM-DD")),
                };
                let kg = match item.get("kg") {
                    Some(k) => number(k, &format!("{f}.kg")).and_then(|k| {
                        if k > 0.0 {
                            Ok(k)
                        } else {
                            Err(FieldError::new(format!("{f}.kg"), "not_positive", "must be greater than zero"))
                        }
                    }),
                    None => Err(FieldError::new(format!("{f}.kg"), "required", "kg is required")),
                };
                match (recycler, licence, date, kg) {
                    (Ok(recycler), Ok(licence_no), Ok(date), Ok(kg)) => notes.push(TransferNote {
                        recycler,
                        licence_no,
                        date,
                        kg,
                    }),
                    (a, b, c, d) => errors.extend([a.err(), b.err(), c.err(), d.err()].into_iter().flatten()),
                }
            }
            if errors.is_empty() {
                Ok(Value::Notes(notes))
            } else {
                Err(errors)
            }
        }
    }
}

/// Merge a validated patch into stored measurements and check the cross-field rules (`max_of`).
pub fn merge(scheme: &Scheme, current: &Measurements, patch: Measurements) -> Result<Measurements, Vec<FieldError>> {
    let mut merged = current.clone();
    for (cid, values) in patch {
        merged.entry(cid).or_default().extend(values);
    }
    let errors = cross_checks(scheme, &merged);
    if errors.is_empty() {
        Ok(merged)
    } else {
        Err(errors)
    }
}

fn cross_checks(scheme: &Scheme, m: &Measurements) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for c in &scheme.criteria {
        let Some(values) = m.get(&c.id) else { continue };
        for def in &c.measurements {
            let (Some(max_id), Some(v)) = (&def.max_of, values.get(&def.id).and_then(Value::number)) else {
                continue;
            };
            if let Some(max) = values.get(max_id).and_then(Value::number) {
                if v > max + 1e-9 {
                    errors.push(FieldError::new(
                        format!("measurements.{}.{}", c.id, def.id),
                        "exceeds_related_measurement",
                        format!("{} ({v}) cannot exceed {} ({max})", def.id, max_id),
                    ));
                }
            }
        }
    }
    errors
}

/// The measurement a criterion's transfer notes add up to: their kg total should not be above it.
const NOTES_TOTAL_OF: &str = "handed_over_kg";

/// Transfer notes whose kg total is above the kg handed over: figures that do not add up but do not stop a
/// submission (the officer weighs them). Checked on drafts and submitted audits alike, so the assessor sees
/// it while typing and the officer when deciding.
#[derive(Debug, Clone, PartialEq)]
pub struct NotesFlag {
    pub criterion: String,
    /// The notes' field (`measurements.recycling_handover.transfer_notes`).
    pub field: String,
    pub total_kg: f64,
    pub handed_over_kg: f64,
}

impl NotesFlag {
    /// The flag as the API lists it (code `notes_exceed_handed_over`).
    pub fn error(&self) -> FieldError {
        FieldError::new(
            self.field.clone(),
            "notes_exceed_handed_over",
            format!(
                "the transfer notes add up to {} kg, more than the {} kg handed over",
                notes_total(self.total_kg),
                notes_total(self.handed_over_kg)
            ),
        )
    }
}

pub fn flags(scheme: &Scheme, m: &Measurements) -> Vec<NotesFlag> {
    let mut out = Vec::new();
    for c in &scheme.criteria {
        let Some(values) = m.get(&c.id) else { continue };
        let Some(handed) = values.get(NOTES_TOTAL_OF).and_then(Value::number) else {
            continue;
        };
        for def in c.measurements.iter().filter(|d| d.kind == MeasurementKind::TransferNotes) {
            let Some(Value::Notes(notes)) = values.get(&def.id) else { continue };
            let total: f64 = notes.iter().map(|n| n.kg).sum();
            if total > handed + EPSILON {
                out.push(NotesFlag {
                    criterion: c.id.clone(),
                    field: format!("measurements.{}.{}", c.id, def.id),
                    total_kg: total,
                    handed_over_kg: handed,
                });
            }
        }
    }
    out
}

/// A kg total as people write it (no binary rounding tail: 0.1 + 0.2 is 0.3).
pub fn notes_total(total: f64) -> String {
    let rounded = (total * 1000.0).round() / 1000.0;
    format!("{rounded}")
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct CheckResult {
    pub id: String,
    /// The measured value, in `unit`, as computed by the server.
    pub measured: f64,
    pub op: String,
    pub threshold: f64,
    pub unit: String,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct CriterionResult {
    pub criterion: String,
    /// The first check's measured value (the headline figure).
    pub measured: f64,
    pub threshold: f64,
    pub op: String,
    pub unit: String,
    pub checks: Vec<CheckResult>,
    pub evidence_files: usize,
    pub evidence_required: usize,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Outcome {
    pub criteria: Vec<CriterionResult>,
    /// `gold` when every criterion passes with its evidence, else `not_met`.
    pub overall: String,
}

impl Outcome {
    pub fn is_gold(&self) -> bool {
        self.overall == "gold"
    }
}

/// Values within this of the threshold count as on it (guards against binary rounding of e.g. 70 %).
const EPSILON: f64 = 1e-9;

fn compute(check: &CheckDef, values: &BTreeMap<String, Value>) -> Option<f64> {
    let arg = |i: usize| values.get(&check.args[i]).and_then(Value::number);
    match check.formula {
        Formula::Reduction => {
            let (base, now) = (arg(0)?, arg(1)?);
            (base > 0.0).then(|| (base - now) / base * 100.0)
        }
        Formula::Ratio => {
            let (part, whole) = (arg(0)?, arg(1)?);
            (whole > 0.0).then(|| part / whole * 100.0)
        }
        Formula::Value => arg(0),
    }
}

fn passes(op: Op, measured: f64, threshold: f64) -> bool {
    match op {
        Op::AtLeast => measured >= threshold - EPSILON,
        Op::AtMost => measured <= threshold + EPSILON,
    }
}

/// Everything missing before an assessment can be submitted, per criterion.
pub fn missing(scheme: &Scheme, m: &Measurements, evidence_per_criterion: &BTreeMap<String, usize>) -> Vec<FieldError> {
    let mut out = Vec::new();
    for c in &scheme.criteria {
        let values = m.get(&c.id);
        for def in &c.measurements {
            let field = format!("measurements.{}.{}", c.id, def.id);
            match values.and_then(|v| v.get(&def.id)) {
                None => out.push(FieldError::new(field, "missing_measurement", format!("{} is required", def.name.en))),
                Some(Value::Notes(n)) if n.len() < def.min_items => out.push(FieldError::new(
                    field,
                    "missing_measurement",
                    format!("at least {} {} required", def.min_items, def.name.en.to_lowercase()),
                )),
                Some(_) => {}
            }
        }
        let files = evidence_per_criterion.get(&c.id).copied().unwrap_or(0);
        if files < c.evidence.min_files {
            out.push(FieldError::new(
                format!("evidence.{}", c.id),
                "missing_evidence",
                format!(
                    "at least {} evidence file(s) required ({}), {} uploaded",
                    c.evidence.min_files, c.evidence.description.en, files
                ),
            ));
        }
    }
    out
}

fn score_criterion(c: &CriterionDef, values: &BTreeMap<String, Value>, files: usize) -> Option<CriterionResult> {
    let mut checks = Vec::new();
    for k in &c.checks {
        let measured = compute(k, values)?;
        checks.push(CheckResult {
            id: k.id.clone(),
            measured,
            op: k.op.symbol().to_string(),
            threshold: k.threshold,
            unit: k.unit.clone(),
            passed: passes(k.op, measured, k.threshold),
        });
    }
    let head = checks.first()?.clone();
    let passed = checks.iter().all(|k| k.passed) && files >= c.evidence.min_files;
    Some(CriterionResult {
        criterion: c.id.clone(),
        measured: head.measured,
        threshold: head.threshold,
        op: head.op,
        unit: head.unit,
        checks,
        evidence_files: files,
        evidence_required: c.evidence.min_files,
        passed,
    })
}

/// Each criterion's figures so far (a draft): the result where its measurements allow computing it,
/// `None` where some are missing. The same computation as `score`, so the form and the decision agree.
pub fn figures(scheme: &Scheme, m: &Measurements, evidence_per_criterion: &BTreeMap<String, usize>) -> Vec<(String, Option<CriterionResult>)> {
    let empty = BTreeMap::new();
    scheme
        .criteria
        .iter()
        .map(|c| {
            let values = m.get(&c.id).unwrap_or(&empty);
            let files = evidence_per_criterion.get(&c.id).copied().unwrap_or(0);
            (c.id.clone(), score_criterion(c, values, files))
        })
        .collect()
}

/// Score a complete assessment. Fails with the list of what is missing when it is not complete.
pub fn score(scheme: &Scheme, m: &Measurements, evidence_per_criterion: &BTreeMap<String, usize>) -> Result<Outcome, Vec<FieldError>> {
    let missing = missing(scheme, m, evidence_per_criterion);
    if !missing.is_empty() {
        return Err(missing);
    }
    let empty = BTreeMap::new();
    let mut criteria = Vec::new();
    for c in &scheme.criteria {
        let values = m.get(&c.id).unwrap_or(&empty);
        let files = evidence_per_criterion.get(&c.id).copied().unwrap_or(0);
        match score_criterion(c, values, files) {
            Some(r) => criteria.push(r),
            None => return Err(vec![FieldError::new(format!("measurements.{}", c.id), "not_computable", "a divisor is zero")]),
        }
    }
    let overall = if criteria.iter().all(|c| c.passed) { "gold" } else { "not_met" };
    Ok(Outcome {
        criteria,
        overall: overall.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::criteria::{parse_scheme, BUILTIN_V1};
    use proptest::prelude::*;
    use serde_json::json;

    fn scheme() -> Scheme {
        parse_scheme("v1", BUILTIN_V1).unwrap()
    }
    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
    }
    fn all_evidence() -> BTreeMap<String, usize> {
        scheme().criteria.iter().map(|c| (c.id.clone(), 1)).collect()
    }
    fn gold_json() -> serde_json::Value {
        json!({
            "plastic_reduction": {"baseline_kg": 1000, "last_12_months_kg": 500},
            "alternative_materials": {"items_total": 100, "alternatives_count": 70},
            "separate_collection": {"waste_points_total": 10, "points_with_plastic_stream": 9, "contamination_pct": 10},
            "recycling_handover": {"collected_kg": 100, "handed_over_kg": 80,
                "transfer_notes": [{"recycler": "Kazakhstan Waste Recycling", "licence_no": "KZ-01", "date": "2025-11-30", "kg": 80}]}
        })
    }
    fn measurements(v: serde_json::Value) -> Measurements {
        let s = scheme();
        let p = parse_patch(&s, &v, today()).unwrap();
        merge(&s, &Measurements::new(), p).unwrap()
    }

    #[test]
    fn transfer_notes_above_the_kg_handed_over_are_flagged_not_refused() {
        let s = scheme();
        assert!(flags(&s, &measurements(gold_json())).is_empty(), "80 kg of notes for 80 kg handed over");
        let note = |kg: f64| json!({"recycler": "R", "licence_no": "L", "date": "2025-11-30", "kg": kg});
        let m = measurements(json!({"recycling_handover": {"collected_kg": 100, "handed_over_kg": 80, "transfer_notes": [note(50.0), note(30.5)]}}));
        let f: Vec<FieldError> = flags(&s, &m).iter().map(NotesFlag::error).collect();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].field, "measurements.recycling_handover.transfer_notes");
        assert_eq!(f[0].code, "notes_exceed_handed_over");
        assert!(f[0].message.contains("80.5 kg") && f[0].message.contains("80 kg"), "{}", f[0].message);
        // Tenths that add up exactly are not flagged by a binary rounding tail.
        let m = measurements(json!({"recycling_handover": {"collected_kg": 1, "handed_over_kg": 0.3, "transfer_notes": [note(0.1), note(0.2)]}}));
        assert!(flags(&s, &m).is_empty());
        // Without the kg handed over there is nothing to compare with yet.
        let m = measurements(json!({"recycling_handover": {"transfer_notes": [note(500.0)]}}));
        assert!(flags(&s, &m).is_empty());
        assert_eq!(notes_total(0.1 + 0.2), "0.3");
    }

    #[test]
    fn figures_of_a_draft_show_what_can_be_computed() {
        let s = scheme();
        let m = measurements(json!({"plastic_reduction": {"baseline_kg": 1000, "last_12_months_kg": 600}, "alternative_materials": {"items_total": 10}}));
        let f = figures(&s, &m, &BTreeMap::new());
        assert_eq!(f.len(), 4);
        let r = f[0].1.as_ref().unwrap();
        assert_eq!(r.criterion, "plastic_reduction");
        assert!((r.measured - 40.0).abs() < 1e-9);
        assert!(!r.checks[0].passed);
        assert!(f[1].1.is_none(), "alternatives_count is missing");
        let full = measurements(gold_json());
        let all = figures(&s, &full, &all_evidence());
        let scored = score(&s, &full, &all_evidence()).unwrap();
        assert_eq!(all.into_iter().map(|(_, r)| r.unwrap()).collect::<Vec<_>>(), scored.criteria);
    }

    fn result_of(m: &Measurements, id: &str) -> CriterionResult {
        score(&scheme(), m, &all_evidence())
            .unwrap()
            .criteria
            .into_iter()
            .find(|c| c.criterion == id)
            .unwrap()
    }

    #[test]
    fn exact_thresholds_pass() {
        let m = measurements(gold_json());
        let o = score(&scheme(), &m, &all_evidence()).unwrap();
        assert!(o.is_gold(), "{o:?}");
        assert_eq!(o.criteria[0].measured, 50.0);
    }

    #[test]
    fn reduction_49_9_fails_50_passes() {
        let mut v = gold_json();
        v["plastic_reduction"]["last_12_months_kg"] = json!(501);
        let r = result_of(&measurements(v), "plastic_reduction");
        assert!((r.measured - 49.9).abs() < 1e-9);
        assert!(!r.passed);
    }

    #[test]
    fn alternatives_69_9_fails() {
        let mut v = gold_json();
        v["alternative_materials"] = json!({"items_total": 1000, "alternatives_count": 699});
        assert!(!result_of(&measurements(v), "alternative_materials").passed);
    }

    #[test]
    fn coverage_boundary_and_contamination_boundary() {
        let mut v = gold_json();
        v["separate_collection"] = json!({"waste_points_total": 1000, "points_with_plastic_stream": 899, "contamination_pct": 5});
        assert!(!result_of(&measurements(v.clone()), "separate_collection").passed);
        v["separate_collection"] = json!({"waste_points_total": 10, "points_with_plastic_stream": 10, "contamination_pct": 10.1});
        let r = result_of(&measurements(v), "separate_collection");
        assert!(!r.passed);
        assert!(r.checks[0].passed && !r.checks[1].passed);
    }

    #[test]
    fn handover_79_9_fails() {
        let mut v = gold_json();
        v["recycling_handover"]["collected_kg"] = json!(1000);
        v["recycling_handover"]["handed_over_kg"] = json!(799);
        assert!(!result_of(&measurements(v), "recycling_handover").passed);
    }

    #[test]
    fn missing_evidence_is_listed_per_criterion() {
        let m = measurements(gold_json());
        let errs = score(&scheme(), &m, &BTreeMap::new()).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "evidence.plastic_reduction",
                "evidence.alternative_materials",
                "evidence.separate_collection",
                "evidence.recycling_handover"
            ]
        );
    }

    #[test]
    fn missing_measurements_are_listed() {
        let errs = score(&scheme(), &Measurements::new(), &all_evidence()).unwrap_err();
        assert_eq!(errs.len(), 10);
        assert!(errs.iter().all(|e| e.code == "missing_measurement"));
    }

    #[test]
    fn bad_inputs_name_the_field() {
        let s = scheme();
        let cases = [
            (
                json!({"plastic_reduction": {"baseline_kg": -1}}),
                "measurements.plastic_reduction.baseline_kg",
                "negative",
            ),
            (
                json!({"plastic_reduction": {"baseline_kg": "lots"}}),
                "measurements.plastic_reduction.baseline_kg",
                "not_a_number",
            ),
            (
                json!({"separate_collection": {"contamination_pct": 100.5}}),
                "measurements.separate_collection.contamination_pct",
                "percent_out_of_range",
            ),
            (json!({"nope": {}}), "measurements.nope", "unknown_criterion"),
            (
                json!({"alternative_materials": {"items_total": 1.5}}),
                "measurements.alternative_materials.items_total",
                "not_an_integer",
            ),
            (
                json!({"recycling_handover": {"transfer_notes": [{"recycler": "", "licence_no": "x", "date": "2025-01-01", "kg": 1}]}}),
                "measurements.recycling_handover.transfer_notes[0].recycler",
                "required",
            ),
        ];
        for (v, field, code) in cases {
            let e = parse_patch(&s, &v, today()).unwrap_err();
            assert_eq!((e[0].field.as_str(), e[0].code.as_str()), (field, code), "{v}");
        }
    }

    #[test]
    fn handed_over_above_collected_is_rejected() {
        let s = scheme();
        let p = parse_patch(&s, &json!({"recycling_handover": {"collected_kg": 10, "handed_over_kg": 11}}), today()).unwrap();
        let e = merge(&s, &Measurements::new(), p).unwrap_err();
        assert_eq!(e[0].field, "measurements.recycling_handover.handed_over_kg");
        assert_eq!(e[0].code, "exceeds_related_measurement");
    }

    proptest! {
        #[test]
        fn gold_exactly_when_every_criterion_passes(
            base in 1u32..100_000, now_frac in 0.0f64..=1.0,
            total in 1u32..10_000, alt_frac in 0.0f64..=1.0,
            points in 1u32..500, pts_frac in 0.0f64..=1.0, contamination in 0.0f64..=100.0,
            collected in 1u32..100_000, handed_frac in 0.0f64..=1.0,
            files in proptest::collection::vec(0usize..3, 4),
        ) {
            let s = scheme();
            let v = json!({
                "plastic_reduction": {"baseline_kg": base, "last_12_months_kg": (base as f64 * now_frac).floor()},
                "alternative_materials": {"items_total": total, "alternatives_count": (total as f64 * alt_frac).floor()},
                "separate_collection": {"waste_points_total": points, "points_with_plastic_stream": (points as f64 * pts_frac).floor(), "contamination_pct": contamination},
                "recycling_handover": {"collected_kg": collected, "handed_over_kg": (collected as f64 * handed_frac).floor(),
                    "transfer_notes": [{"recycler": "R", "licence_no": "L", "date": "2025-01-01", "kg": 1}]}
            });
            let m = merge(&s, &Measurements::new(), parse_patch(&s, &v, today()).unwrap()).unwrap();
            let ev: BTreeMap<String, usize> = s.criteria.iter().zip(&files).map(|(c, f)| (c.id.clone(), *f)).collect();
            match score(&s, &m, &ev) {
                Ok(o) => {
                    let all = o.criteria.iter().all(|c| c.passed && c.checks.iter().all(|k| k.passed) && c.evidence_files >= 1);
                    prop_assert_eq!(o.is_gold(), all);
                    prop_assert!(files.iter().all(|f| *f >= 1));
                }
                Err(e) => {
                    prop_assert!(files.contains(&0));
                    prop_assert!(e.iter().all(|e| e.code == "missing_evidence"));
                }
            }
        }
    }
}
