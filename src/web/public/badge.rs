// The live badge for venues' web sites (`/badge/{number}.svg`, `?lang=`, `?style=compact`): the certificate's
// public status right now, drawn as a small accessible SVG, cached 60 s with an ETag that follows the status.

use crate::domain::certificate::CertificateNumber;
use crate::domain::signing::Verdict;
use crate::web::i18n::{negotiate, Messages};
use crate::web::layout::status_word;
use crate::web::public::certificates::{snapshot, PublicCertificate};
use crate::web::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Browsers and proxies may keep a badge for a minute: the same freshness as the QR page's snapshot.
const CACHE: &str = "public, max-age=60";

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BadgeParams {
    /// `kk`, `ru` or `en` (else `Accept-Language`, else Kazakh).
    pub lang: Option<String>,
    /// `compact`: one line, 20 px high.
    pub style: Option<String>,
}

/// How a badge looks: one line, or two with the number and validity.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Style {
    Full,
    Compact,
}

/// What a badge says: the verdict (None: no such certificate), and the certificate's facts.
pub struct Face<'a> {
    pub verdict: Option<Verdict>,
    pub cert: Option<&'a PublicCertificate>,
}

impl<'a> Face<'a> {
    /// The face of a certificate as the public sees it: its status, unless its stored signature does not
    /// verify (then it is not genuine, whatever the database says).
    pub fn of(cert: &'a PublicCertificate, signature_ok: bool) -> Self {
        let verdict = if signature_ok {
            Verdict::from(cert.status)
        } else {
            Verdict::InvalidSignature
        };
        Face {
            verdict: Some(verdict),
            cert: Some(cert),
        }
    }
}

/// The colour of each verdict (white text on it keeps a contrast of at least 4.5:1).
pub fn colour(verdict: Option<Verdict>) -> &'static str {
    match verdict {
        Some(Verdict::Valid) => "#1a7f37",
        Some(Verdict::Suspended) => "#9a6700",
        Some(Verdict::Withdrawn) => "#cf222e",
        Some(Verdict::Expired) => "#57606a",
        Some(Verdict::Superseded) => "#0969da",
        Some(Verdict::InvalidSignature | Verdict::UnknownKey | Verdict::Malformed) => "#82071e",
        None => "#6e7781",
    }
}

/// The verdict in the badge's language ("not found" for no certificate).
fn status_text(m: &Messages, verdict: Option<Verdict>) -> String {
    match verdict {
        Some(v) => status_word(m, v),
        None => m.t("status_not_found").to_string(),
    }
}

/// The second line: the number and what the status says of time (until, since).
fn detail(m: &Messages, face: &Face<'_>) -> Option<String> {
    let c = face.cert?;
    let when = match face.verdict {
        Some(Verdict::Valid) | Some(Verdict::Expired) => m.f("badge_until", &[("date", &c.valid_until.to_string())]),
        _ => match c.status_since {
            Some(t) => m.f("badge_since", &[("date", &t.date_naive().to_string())]),
            None => m.f("badge_until", &[("date", &c.valid_until.to_string())]),
        },
    };
    Some(format!("{} · {when}", c.number))
}

/// Text width at the badge's font size, from the character count (a badge is drawn, not laid out: the
/// text is also given `textLength`, so a wider font is squeezed into the same box).
fn width_of(text: &str, px_per_char: f32) -> u32 {
    (text.chars().count() as f32 * px_per_char).ceil() as u32
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The SVG of a badge.
pub fn svg(m: &Messages, face: &Face<'_>, style: Style) -> String {
    let label = m.t("label_name");
    let status = status_text(m, face.verdict);
    let second = detail(m, face);
    let title = match &second {
        Some(d) => format!("{label}: {status} ({d})"),
        None => format!("{label}: {status}"),
    };
    let fill = colour(face.verdict);
    let (h, size, per_char) = match style {
        Style::Compact => (20, 11, 6.6),
        Style::Full => (40, 12, 7.2),
    };
    let pad = 8;
    let lw = width_of(label, per_char) + 2 * pad;
    let first_w = width_of(&status, per_char);
    let second_w = second.as_deref().map_or(0, |d| width_of(d, per_char * 0.85));
    let rw = match style {
        Style::Compact => first_w,
        Style::Full => first_w.max(second_w),
    } + 2 * pad;
    let w = lw + rw;
    let text = |x: u32, y: u32, px: u32, len: u32, weight: &str, s: &str| {
        format!(
            r#"<text x="{x}" y="{y}" font-size="{px}" font-weight="{weight}" textLength="{len}" lengthAdjust="spacingAndGlyphs">{}</text>"#,
            escape(s)
        )
    };
    let right = match (style, &second) {
        (Style::Full, Some(d)) => format!(
            "{}{}",
            text(lw + pad, 17, size, first_w, "bold", &status),
            text(lw + pad, 32, size - 2, second_w, "normal", d)
        ),
        (Style::Full, None) => text(lw + pad, 25, size, first_w, "bold", &status),
        (Style::Compact, _) => text(lw + pad, 14, size, first_w, "bold", &status),
    };
    let label_y = if style == Style::Compact { 14 } else { 25 };
    format!(
        concat!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{title}" lang="{lang}">"##,
            r##"<title>{title}</title>"##,
            r##"<rect width="{lw}" height="{h}" rx="3" fill="#24292f"/>"##,
            r##"<rect x="{lw}" width="{rw}" height="{h}" rx="3" fill="{fill}"/>"##,
            r##"<rect x="{lw}" width="4" height="{h}" fill="{fill}"/>"##,
            r##"<g fill="#ffffff" font-family="DejaVu Sans,Verdana,Geneva,sans-serif">"##,
            r##"{label_text}{right}</g></svg>"##
        ),
        w = w,
        h = h,
        title = escape(&title),
        lang = m.lang,
        lw = lw,
        rw = rw,
        fill = fill,
        label_text = text(pad, label_y, size, lw - 2 * pad, "normal", label),
        right = right,
    )
}

/// `GET /badge/{number}.svg`: the live badge; an unknown or malformed number gets the grey "not found"
/// badge with status 404. The ETag changes with what the badge says (status, dates, language, style).
#[utoipa::path(get, path = "/badge/{file}", tag = "public",
    params(("file" = String, Path, description = "the certificate number with `.svg`, e.g. `GEL-2025-000001.svg`"), BadgeParams),
    responses((status = 200, description = "the badge", content_type = "image/svg+xml"), (status = 304, description = "not modified (If-None-Match)"),
        (status = 404, description = "the grey \"not found\" badge", content_type = "image/svg+xml"), (status = 503, description = "the registry cannot answer right now")))]
pub async fn badge(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>, q: web::Query<BadgeParams>) -> HttpResponse {
    let m = negotiate(&req);
    let style = if q.style.as_deref() == Some("compact") { Style::Compact } else { Style::Full };
    let number = path.into_inner().strip_suffix(".svg").and_then(|n| CertificateNumber::parse(n).ok());
    let snap = match number {
        Some(n) => match snapshot(&state, n.to_string()).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "badge: the certificate could not be read");
                return HttpResponse::ServiceUnavailable()
                    .insert_header((header::RETRY_AFTER, "5"))
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .finish();
            }
        },
        None => None,
    };
    // Drawn once per snapshot, language and style (the snapshot goes when the certificate changes).
    let key = format!("badge|{}|{style:?}", m.lang);
    let (body, etag) = match &snap {
        Some(s) => {
            let body = s.render(key.clone(), |c| web::Bytes::from(svg(&m, &Face::of(c, s.signature_ok), style)));
            let etag = s.render(format!("{key}|etag"), |_| etag_of(&body));
            (body, etag)
        }
        None => {
            let body = web::Bytes::from(svg(&m, &Face { verdict: None, cert: None }, style));
            let etag = etag_of(&body);
            (body, etag)
        }
    };
    let etag = String::from_utf8_lossy(&etag).into_owned();
    let status = if snap.is_some() { StatusCode::OK } else { StatusCode::NOT_FOUND };
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut res = if fresh && status == StatusCode::OK {
        HttpResponse::NotModified()
    } else {
        HttpResponse::build(status)
    };
    res.insert_header((header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, CACHE))
        .insert_header((header::ETAG, etag))
        .insert_header((header::VARY, "Accept-Language"))
        // The badge is an image embedded on other sites: it may be shown anywhere.
        .insert_header(("cross-origin-resource-policy", "cross-origin"));
    if fresh && status == StatusCode::OK {
        res.finish()
    } else {
        res.body(body)
    }
}

/// A badge's ETag: the first 12 bytes of its SHA-256, quoted (kept beside the drawn badge in the snapshot).
fn etag_of(body: &[u8]) -> web::Bytes {
    web::Bytes::from(format!("\"{}\"", hex::encode(&Sha256::digest(body)[..12])))
}

/// The HTML a venue puts on its web site: the badge linking to the certificate's public page.
pub fn snippet(public_url: &str, number: &str, lang: &str) -> String {
    let base = public_url.trim_end_matches('/');
    format!(
        r#"<a href="{base}/certificates/{number}?lang={lang}"><img src="{base}/badge/{number}.svg?lang={lang}" alt="Gold eco-label {number}" height="40"></a>"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_number_is_grey_and_says_not_found() {
        let m = Messages::for_lang("en");
        let s = svg(&m, &Face { verdict: None, cert: None }, Style::Full);
        assert!(s.contains("#6e7781") && s.contains("Certificate not found"), "{s}");
        assert!(s.contains(r#"role="img""#) && s.contains("<title>Gold eco-label: Certificate not found</title>"));
    }

    #[test]
    fn every_status_has_its_own_colour() {
        let all = [
            Some(Verdict::Valid),
            Some(Verdict::Suspended),
            Some(Verdict::Withdrawn),
            Some(Verdict::Expired),
            Some(Verdict::Superseded),
            Some(Verdict::InvalidSignature),
            None,
        ];
        let mut colours: Vec<&str> = all.iter().map(|s| colour(*s)).collect();
        colours.sort_unstable();
        colours.dedup();
        assert_eq!(colours.len(), all.len());
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape(r#"A & B <"c">"#), "A &amp; B &lt;&quot;c&quot;&gt;");
    }
}
