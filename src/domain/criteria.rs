//! The certification scheme as data: parsing and validating a criteria file (`assets/criteria/*.toml`).
//! Pure: takes the file text, returns a checked `Scheme` with its SHA-256, or an error with file, line and reason.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use toml::Spanned;

/// A text in the three registry languages.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
pub struct I18n {
    pub kk: String,
    pub ru: String,
    pub en: String,
}

impl I18n {
    pub fn get(&self, lang: &str) -> &str {
        match lang {
            "ru" => &self.ru,
            "en" => &self.en,
            _ => &self.kk,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MeasurementKind {
    /// A non-negative decimal number (kg, …).
    Number,
    /// A non-negative whole number (counts).
    Integer,
    /// A percentage from 0 to 100.
    Percent,
    /// A list of transfer notes (recycler, licence number, date, kg).
    TransferNotes,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Formula {
    /// `(args[0] - args[1]) / args[0] * 100`
    Reduction,
    /// `args[0] / args[1] * 100`
    Ratio,
    /// `args[0]` as it is
    Value,
}

impl Formula {
    fn arity(self) -> usize {
        match self {
            Formula::Reduction | Formula::Ratio => 2,
            Formula::Value => 1,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub enum Op {
    #[serde(rename = ">=")]
    AtLeast,
    #[serde(rename = "<=")]
    AtMost,
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Op::AtLeast => "≥",
            Op::AtMost => "≤",
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct MeasurementDef {
    pub id: String,
    pub kind: MeasurementKind,
    pub unit: Option<String>,
    pub name: I18n,
    /// The value must be greater than zero (it divides).
    pub positive: bool,
    /// The value may not exceed this other measurement of the same criterion.
    pub max_of: Option<String>,
    /// For lists: how many entries are needed at submission.
    pub min_items: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct CheckDef {
    pub id: String,
    pub formula: Formula,
    pub args: Vec<String>,
    pub op: Op,
    pub threshold: f64,
    pub unit: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct EvidenceDef {
    pub min_files: usize,
    pub description: I18n,
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct CriterionDef {
    pub id: String,
    pub name: I18n,
    pub description: I18n,
    pub evidence: EvidenceDef,
    pub measurements: Vec<MeasurementDef>,
    pub checks: Vec<CheckDef>,
}

impl CriterionDef {
    pub fn measurement(&self, id: &str) -> Option<&MeasurementDef> {
        self.measurements.iter().find(|m| m.id == id)
    }
}

/// A validated scheme version, with the SHA-256 of the exact file bytes it came from.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Scheme {
    pub scheme: String,
    pub version: i32,
    pub published: String,
    pub level: String,
    pub title: I18n,
    pub criteria: Vec<CriterionDef>,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
    #[serde(skip)]
    pub source: String,
}

impl Scheme {
    pub fn criterion(&self, id: &str) -> Option<&CriterionDef> {
        self.criteria.iter().find(|c| c.id == id)
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{file}:{line}: {reason}")]
pub struct CriteriaError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

// ---- raw file shape --------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScheme {
    scheme: Spanned<String>,
    version: Spanned<i64>,
    published: String,
    level: String,
    title: I18n,
    criteria: Vec<RawCriterion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCriterion {
    id: Spanned<String>,
    name: I18n,
    description: I18n,
    evidence: RawEvidence,
    #[serde(default)]
    measurements: Vec<RawMeasurement>,
    #[serde(default)]
    checks: Vec<RawCheck>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvidence {
    min_files: usize,
    description: I18n,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeasurement {
    id: Spanned<String>,
    kind: MeasurementKind,
    unit: Option<String>,
    name: I18n,
    #[serde(default)]
    positive: bool,
    max_of: Option<String>,
    #[serde(default)]
    min_items: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    id: Spanned<String>,
    formula: Formula,
    args: Vec<String>,
    op: Op,
    threshold: Spanned<f64>,
    unit: String,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Parse and validate one criteria file. `file` is only used in error messages.
pub fn parse_scheme(file: &str, text: &str) -> Result<Scheme, CriteriaError> {
    let err = |offset: usize, reason: String| CriteriaError {
        file: file.to_string(),
        line: line_of(text, offset),
        reason,
    };
    let raw: RawScheme = toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        err(offset, e.message().to_string())
    })?;
    if !is_identifier(raw.scheme.get_ref()) {
        return Err(err(raw.scheme.span().start, "scheme must be a lower-case identifier".into()));
    }
    let version = i32::try_from(*raw.version.get_ref())
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| err(raw.version.span().start, "version must be a positive integer".into()))?;
    if raw.criteria.is_empty() {
        return Err(err(0, "a scheme needs at least one criterion".into()));
    }
    let mut criteria = Vec::new();
    let mut seen = HashSet::new();
    for c in raw.criteria {
        let at = c.id.span().start;
        let id = c.id.into_inner();
        if !is_identifier(&id) {
            return Err(err(at, format!("criterion id `{id}` must be a lower-case identifier")));
        }
        if !seen.insert(id.clone()) {
            return Err(err(at, format!("criterion `{id}` is defined twice")));
        }
        if c.checks.is_empty() {
            return Err(err(at, format!("criterion `{id}` has no checks")));
        }
        let mut measurements: Vec<MeasurementDef> = Vec::new();
        for m in c.measurements {
            let m_at = m.id.span().start;
            let m_id = m.id.into_inner();
            if !is_identifier(&m_id) {
                return Err(err(m_at, format!("measurement id `{m_id}` must be a lower-case identifier")));
            }
            if measurements.iter().any(|x| x.id == m_id) {
                return Err(err(m_at, format!("measurement `{m_id}` is defined twice in `{id}`")));
            }
            measurements.push(MeasurementDef {
                id: m_id,
                kind: m.kind,
                unit: m.unit,
                name: m.name,
                positive: m.positive,
                max_of: m.max_of,
                min_items: m.min_items,
            });
        }
        for m in &measurements {
            if let Some(other) = &m.max_of {
                let ok = measurements.iter().any(|x| &x.id == other && x.kind != MeasurementKind::TransferNotes);
                if !ok || m.kind == MeasurementKind::TransferNotes {
                    return Err(err(
                        at,
                        format!("measurement `{}` has max_of `{other}`, which is not a numeric measurement of `{id}`", m.id),
                    ));
                }
            }
        }
        let mut checks = Vec::new();
        for k in c.checks {
            let k_at = k.id.span().start;
            let k_id = k.id.into_inner();
            if k.args.len() != k.formula.arity() {
                return Err(err(
                    k_at,
                    format!("check `{k_id}`: formula needs {} argument(s), got {}", k.formula.arity(), k.args.len()),
                ));
            }
            for a in &k.args {
                match measurements.iter().find(|m| &m.id == a) {
                    Some(m) if m.kind != MeasurementKind::TransferNotes => {}
                    _ => {
                        return Err(err(
                            k_at,
                            format!("check `{k_id}` refers to `{a}`, which is not a numeric measurement of `{id}`"),
                        ))
                    }
                }
            }
            let t = *k.threshold.get_ref();
            if !t.is_finite() || !(0.0..=100.0).contains(&t) && k.unit == "%" {
                return Err(err(k.threshold.span().start, format!("check `{k_id}`: threshold {t} is out of range")));
            }
            checks.push(CheckDef {
                id: k_id,
                formula: k.formula,
                args: k.args,
                op: k.op,
                threshold: t,
                unit: k.unit,
            });
        }
        criteria.push(CriterionDef {
            id,
            name: c.name,
            description: c.description,
            evidence: EvidenceDef {
                min_files: c.evidence.min_files,
                description: c.evidence.description,
            },
            measurements,
            checks,
        });
    }
    Ok(Scheme {
        scheme: raw.scheme.into_inner(),
        version,
        published: raw.published,
        level: raw.level,
        title: raw.title,
        criteria,
        sha256: hex::encode(Sha256::digest(text.as_bytes())),
        source: text.to_string(),
    })
}

/// Every published scheme version the registry knows, by (scheme, version).
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    schemes: BTreeMap<(String, i32), Scheme>,
}

impl Catalogue {
    pub fn insert(&mut self, s: Scheme) -> Result<(), String> {
        let key = (s.scheme.clone(), s.version);
        if self.schemes.contains_key(&key) {
            return Err(format!("{} version {} is defined by two files", s.scheme, s.version));
        }
        self.schemes.insert(key, s);
        Ok(())
    }
    pub fn get(&self, scheme: &str, version: i32) -> Option<&Scheme> {
        self.schemes.get(&(scheme.to_string(), version))
    }
    /// The version in force for new assessments: the highest one.
    pub fn current(&self, scheme: &str) -> Option<&Scheme> {
        self.schemes.iter().rev().find(|((s, _), _)| s == scheme).map(|(_, v)| v)
    }
    pub fn all(&self) -> impl Iterator<Item = &Scheme> {
        self.schemes.values()
    }
}

pub const DEFAULT_SCHEME: &str = "gold-eco-label";
/// The v1 file, compiled in so that a binary without the assets folder still knows the scheme.
pub const BUILTIN_V1: &str = include_str!("../../assets/criteria/gold-eco-label-v1.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_v1_parses_with_four_criteria() {
        let s = parse_scheme("v1", BUILTIN_V1).unwrap();
        assert_eq!(s.scheme, "gold-eco-label");
        assert_eq!(s.version, 1);
        let ids: Vec<_> = s.criteria.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["plastic_reduction", "alternative_materials", "separate_collection", "recycling_handover"]);
        assert_eq!(s.sha256.len(), 64);
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let text = "scheme = \"x\"\nversion = 1\npublished = \"2025\"\nlevel = \"gold\"\ntitle = oops\n";
        let e = parse_scheme("bad.toml", text).unwrap_err();
        assert_eq!(e.file, "bad.toml");
        assert_eq!(e.line, 5);
    }

    #[test]
    fn unknown_measurement_in_check_is_rejected_with_its_line() {
        let text = BUILTIN_V1.replace("args = [\"baseline_kg\", \"last_12_months_kg\"]", "args = [\"baseline_kg\", \"nope\"]");
        let e = parse_scheme("f.toml", &text).unwrap_err();
        assert!(e.reason.contains("nope"), "{e}");
        let line = text.lines().position(|l| l.contains("id = \"reduction\"")).unwrap() + 1;
        assert_eq!(e.line, line);
    }

    #[test]
    fn duplicate_criterion_is_rejected() {
        let extra = "\n[[criteria]]\nid = \"plastic_reduction\"\nname = { kk = \"a\", ru = \"b\", en = \"c\" }\ndescription = { kk = \"a\", ru = \"b\", en = \"c\" }\nevidence = { min_files = 1, description = { kk = \"a\", ru = \"b\", en = \"c\" } }\n";
        let e = parse_scheme("f.toml", &format!("{BUILTIN_V1}{extra}")).unwrap_err();
        assert!(e.reason.contains("twice"), "{e}");
    }
}
