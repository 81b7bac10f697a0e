// The certificate PDF: one A4 page (trilingual headings, ISO/IEC 17065 7.7 contents, the QR code as
// one 1-bit image with its link under it), fonts subset, tagged and embedded, the same bytes for the same certificate.

use super::qr;
use crate::i18n::trilingual;
use printpdf::{
    Color, FontId, Line, LinePoint, Mm, Op, PaintMode, ParsedFont, PdfDocument, PdfFont, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Polygon, PolygonRing,
    Pt, Rgb, TextItem, WindingOrder,
};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Where the QR text sits in the PDF's document information: the value of this key, a literal string.
pub const QR_METADATA_KEY: &str = "/GelVerification";
/// The side of a QR module: 4 pixels at 150 dpi (0.677 mm).
const QR_MODULE_MM: f32 = 4.0 / 150.0 * 25.4;

const REGULAR_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const BOLD_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

struct Face {
    parsed: ParsedFont,
    metrics: ttf_parser::Face<'static>,
    id: &'static str,
}

struct Fonts {
    regular: Face,
    bold: Face,
}

static FONTS: OnceLock<Result<Fonts, String>> = OnceLock::new();

fn load_face(bytes: &'static [u8], id: &'static str) -> Result<Face, String> {
    let parsed = ParsedFont::from_bytes(bytes, 0, &mut Vec::new()).ok_or_else(|| format!("cannot parse font {id}"))?;
    let metrics = ttf_parser::Face::parse(bytes, 0).map_err(|e| format!("cannot read font {id}: {e}"))?;
    Ok(Face { parsed, metrics, id })
}

fn fonts() -> Result<&'static Fonts, String> {
    FONTS
        .get_or_init(|| {
            Ok(Fonts {
                regular: load_face(REGULAR_TTF, "F1")?,
                bold: load_face(BOLD_TTF, "F2")?,
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Parse the fonts now (at start), so that the first certificate does not pay for it.
pub fn warm_up() -> Result<(), String> {
    fonts().map(|_| ())
}

/// One criterion row as printed.
#[derive(Debug, Clone)]
pub struct CriterionLine {
    pub name_kk: String,
    pub name_ru: String,
    pub name_en: String,
    /// e.g. "60.0 %" or "95.0 % · 5.0 %"
    pub measured: String,
    /// e.g. "≥ 50 %" or "≥ 90 % · ≤ 10 %"
    pub threshold: String,
    pub passed: bool,
}

/// Everything printed on a certificate, already formatted by the caller.
#[derive(Debug, Clone)]
pub struct CertificateView {
    /// The label's name from the criteria file: kk, ru, en.
    pub title: [String; 3],
    pub number: String,
    /// `None` for a valid certificate; else the stamp, e.g. "ТОҚТАТЫЛДЫ · ПРИОСТАНОВЛЕН · SUSPENDED" (from the catalogues).
    pub status_stamp: Option<String>,
    pub status_note: Option<String>,
    pub venue_name: String,
    /// The venue's names in the other languages (kk, ru, en) where they differ from `venue_name`.
    pub venue_other_names: Vec<String>,
    pub venue_address: String,
    pub scheme: String,
    pub scheme_version: i32,
    pub criteria_sha256: String,
    pub criteria: Vec<CriterionLine>,
    pub grant_date: String,
    pub valid_from: String,
    pub valid_until: String,
    pub issuer: String,
    /// The issuer's names in the other languages where they differ from `issuer`.
    pub issuer_other_names: Vec<String>,
    pub issuer_address: String,
    pub signatory: String,
    pub signatory_title: String,
    pub kid: String,
    pub qr_text: String,
    /// Issue time, seconds since the epoch: the document's dates (never the clock).
    pub issued_at: i64,
}

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const PT_TO_MM: f32 = 0.352_778;

fn rgb(r: f32, g: f32, b: f32) -> Color {
    Color::Rgb(Rgb::new(r, g, b, None))
}
fn gold() -> Color {
    rgb(0.62, 0.45, 0.05)
}
fn green() -> Color {
    rgb(0.09, 0.38, 0.22)
}
fn ink() -> Color {
    rgb(0.10, 0.10, 0.10)
}
fn grey() -> Color {
    rgb(0.38, 0.38, 0.38)
}
fn red() -> Color {
    rgb(0.75, 0.08, 0.08)
}

/// Advance of one character in font units.
fn advance(face: &Face, c: char) -> f32 {
    let upem = face.metrics.units_per_em();
    face.metrics
        .glyph_index(c)
        .and_then(|g| face.metrics.glyph_hor_advance(g))
        .unwrap_or(upem * 3 / 5) as f32
}

/// Width of `text` in mm at `size` pt.
fn width(face: &Face, text: &str, size: f32) -> f32 {
    let units: f32 = text.chars().map(|c| advance(face, c)).sum();
    units / face.metrics.units_per_em() as f32 * size * PT_TO_MM
}

/// Break `text` into lines no wider than `max` mm (words first, then characters for long tokens).
fn wrap(face: &Face, text: &str, size: f32, max: f32) -> Vec<String> {
    let scale = size * PT_TO_MM / face.metrics.units_per_em() as f32;
    let space = advance(face, ' ') * scale;
    let mut lines = Vec::new();
    let (mut line, mut line_w) = (String::new(), 0.0_f32);
    for word in text.split_whitespace() {
        let word_w: f32 = word.chars().map(|c| advance(face, c) * scale).sum();
        let gap = if line.is_empty() { 0.0 } else { space };
        if line_w + gap + word_w <= max {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
            line_w += gap + word_w;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            line_w = 0.0;
        }
        if word_w <= max {
            line.push_str(word);
            line_w = word_w;
            continue;
        }
        for ch in word.chars() {
            let w = advance(face, ch) * scale;
            if line_w + w > max && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                line_w = 0.0;
            }
            line.push(ch);
            line_w += w;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A point given in millimetres, in points rounded to 1/100 (3.5 µm): printpdf would write every coordinate
/// with all of an f32's digits, which the deflated page content carries as noise.
fn at(x: f32, y: f32) -> Point {
    let pt = |mm: f32| Pt((mm / PT_TO_MM * 100.0).round() / 100.0);
    Point { x: pt(x), y: pt(y) }
}

struct Page<'a> {
    ops: Vec<Op>,
    fonts: &'a Fonts,
}

#[derive(Clone, Copy)]
enum Align {
    Left,
    Center,
    Right,
}

impl<'a> Page<'a> {
    #[allow(clippy::too_many_arguments)]
    fn text(&mut self, face: &Face, size: f32, color: Color, x: f32, y: f32, align: Align, text: &str) {
        let w = width(face, text, size);
        let x = match align {
            Align::Left => x,
            Align::Center => x - w / 2.0,
            Align::Right => x - w,
        };
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFont {
                font: PdfFontHandle::External(FontId(face.id.to_string())),
                size: Pt(size),
            },
            Op::SetFillColor { col: color },
            Op::SetTextCursor { pos: at(x, y) },
            Op::ShowText {
                items: vec![TextItem::Text(text.to_string())],
            },
            Op::EndTextSection,
        ]);
    }

    fn centered(&mut self, bold: bool, size: f32, color: Color, y: f32, text: &str) {
        let face = if bold { &self.fonts.bold } else { &self.fonts.regular };
        self.text(face, size, color, PAGE_W / 2.0, y, Align::Center, text);
    }

    fn line(&mut self, color: Color, thickness: f32, points: &[(f32, f32)], closed: bool) {
        self.ops.extend([
            Op::SetOutlineColor { col: color },
            Op::SetOutlineThickness { pt: Pt(thickness) },
            Op::DrawLine {
                line: Line {
                    points: points.iter().map(|(x, y)| LinePoint { p: at(*x, *y), bezier: false }).collect(),
                    is_closed: closed,
                },
            },
        ]);
    }

    fn rect(&mut self, color: Color, thickness: f32, x0: f32, y0: f32, x1: f32, y1: f32) {
        self.line(color, thickness, &[(x0, y0), (x1, y0), (x1, y1), (x0, y1)], true);
    }

    fn fill_rects(&mut self, color: Color, rects: &[(f32, f32, f32, f32)]) {
        let rings = rects
            .iter()
            .map(|(x, y, w, h)| PolygonRing {
                points: [(*x, *y), (x + w, *y), (x + w, y + h), (*x, y + h)]
                    .iter()
                    .map(|(px, py)| LinePoint {
                        p: at(*px, *py),
                        bezier: false,
                    })
                    .collect(),
            })
            .collect();
        self.ops.extend([
            Op::SetFillColor { col: color },
            Op::DrawPolygon {
                polygon: Polygon {
                    rings,
                    mode: PaintMode::Fill,
                    winding_order: WindingOrder::NonZero,
                },
            },
        ]);
    }
}

/// Render the certificate. Deterministic: dates and document id come from the certificate.
pub fn render(v: &CertificateView) -> Result<Vec<u8>, String> {
    let fonts = fonts()?;
    let mut p = Page { ops: Vec::new(), fonts };
    let (regular, bold) = (&fonts.regular, &fonts.bold);

    // Frame.
    p.rect(gold(), 2.0, 8.0, 8.0, PAGE_W - 8.0, PAGE_H - 8.0);
    p.rect(green(), 0.6, 11.0, 11.0, PAGE_W - 11.0, PAGE_H - 11.0);

    // Headings, kk / ru / en.
    p.centered(true, 24.0, gold(), 270.0, &v.title[0]);
    p.centered(false, 15.0, green(), 261.0, &v.title[1]);
    p.centered(false, 15.0, green(), 254.0, &v.title[2]);
    p.line(gold(), 0.8, &[(45.0, 249.0), (165.0, 249.0)], false);
    p.centered(false, 9.5, grey(), 243.0, &trilingual("pdf_certificate"));
    p.centered(true, 18.0, ink(), 235.0, &v.number);

    let mut y = 226.0;
    if let Some(stamp) = &v.status_stamp {
        let w = width(bold, stamp, 13.0) + 10.0;
        p.rect(red(), 1.5, PAGE_W / 2.0 - w / 2.0, y - 3.5, PAGE_W / 2.0 + w / 2.0, y + 6.0);
        p.centered(true, 13.0, red(), y - 0.5, stamp);
        y -= 8.0;
        if let Some(note) = &v.status_note {
            for l in wrap(regular, note, 8.0, 170.0).iter().take(2) {
                p.centered(false, 8.0, red(), y, l);
                y -= 3.8;
            }
        }
        y -= 2.0;
    }

    // Venue: shrink to fit two lines, then wrap to at most three.
    p.centered(false, 8.5, grey(), y, &trilingual("pdf_awarded_to"));
    y -= 9.0;
    let max_w = 172.0;
    let mut size = 20.0;
    let mut lines = wrap(bold, &v.venue_name, size, max_w);
    while lines.len() > 2 && size > 11.0 {
        size -= 1.0;
        lines = wrap(bold, &v.venue_name, size, max_w);
    }
    lines.truncate(3);
    for l in &lines {
        p.centered(true, size, ink(), y, l);
        y -= size * PT_TO_MM * 1.25;
    }
    // Its names in the other languages, on the lines below (at most two).
    if !v.venue_other_names.is_empty() {
        for l in wrap(regular, &v.venue_other_names.join(" · "), 11.0, max_w).iter().take(2) {
            p.centered(false, 11.0, ink(), y, l);
            y -= 5.0;
        }
    }
    for l in wrap(regular, &v.venue_address, 9.5, max_w).iter().take(2) {
        p.centered(false, 9.5, ink(), y, l);
        y -= 4.2;
    }

    // Criteria.
    let mut top = 181.0_f32.min(y - 2.0);
    p.text(bold, 9.0, green(), 20.0, top, Align::Left, &trilingual("pdf_criteria"));
    p.text(bold, 9.0, green(), 190.0, top, Align::Right, &trilingual("pdf_result"));
    top -= 2.5;
    p.line(green(), 0.6, &[(19.0, top), (191.0, top)], false);
    let row_h = 13.5;
    let threshold = trilingual("pdf_threshold");
    for c in &v.criteria {
        p.text(bold, 8.5, ink(), 21.0, top - 4.2, Align::Left, &c.name_kk);
        p.text(regular, 7.5, ink(), 21.0, top - 7.9, Align::Left, &c.name_ru);
        p.text(regular, 7.5, grey(), 21.0, top - 11.3, Align::Left, &c.name_en);
        p.text(bold, 10.5, ink(), 176.0, top - 5.2, Align::Right, &c.measured);
        p.text(regular, 7.0, grey(), 176.0, top - 9.8, Align::Right, &format!("{threshold} {}", c.threshold));
        let (mark, color) = if c.passed { ("✓", green()) } else { ("✗", red()) };
        p.text(bold, 14.0, color, 184.5, top - 8.2, Align::Center, mark);
        top -= row_h;
        p.line(rgb(0.8, 0.8, 0.8), 0.4, &[(19.0, top), (191.0, top)], false);
    }
    let short_hash: String = v.criteria_sha256.chars().take(16).collect();
    top -= 5.0;
    p.text(
        regular,
        7.5,
        grey(),
        20.0,
        top,
        Align::Left,
        &format!("{}: {} v{} · SHA-256 {short_hash}…", trilingual("pdf_scheme"), v.scheme, v.scheme_version),
    );

    // Dates, issuer, signatory (left); QR (right).
    let mut ly = top - 9.0;
    let label = |p: &mut Page, y: f32, t: &str| p.text(&p.fonts.regular, 7.5, grey(), 20.0, y, Align::Left, t);
    label(&mut p, ly, &trilingual("pdf_grant_date"));
    p.text(bold, 10.0, ink(), 20.0, ly - 4.5, Align::Left, &v.grant_date);
    ly -= 11.0;
    label(&mut p, ly, &trilingual("pdf_validity"));
    p.text(bold, 10.0, ink(), 20.0, ly - 4.5, Align::Left, &format!("{} — {}", v.valid_from, v.valid_until));
    ly -= 11.0;
    label(&mut p, ly, &trilingual("pdf_issued_by"));
    let mut iy = ly - 4.5;
    for l in wrap(bold, &v.issuer, 10.0, 118.0).iter().take(2) {
        p.text(bold, 10.0, ink(), 20.0, iy, Align::Left, l);
        iy -= 4.4;
    }
    for l in v.issuer_other_names.iter().flat_map(|n| wrap(regular, n, 8.5, 118.0).into_iter().take(1)) {
        p.text(regular, 8.5, ink(), 20.0, iy, Align::Left, &l);
        iy -= 3.9;
    }
    for l in wrap(regular, &v.issuer_address, 8.5, 118.0).iter().take(2) {
        p.text(regular, 8.5, ink(), 20.0, iy, Align::Left, l);
        iy -= 3.9;
    }
    ly = iy - 4.0;
    label(&mut p, ly, &trilingual("pdf_signatory"));
    p.line(ink(), 0.5, &[(20.0, ly - 9.0), (95.0, ly - 9.0)], false);
    p.text(bold, 10.0, ink(), 20.0, ly - 13.0, Align::Left, &v.signatory);
    p.text(regular, 8.5, ink(), 20.0, ly - 17.0, Align::Left, &v.signatory_title);
    p.text(regular, 7.0, grey(), 20.0, ly - 21.5, Align::Left, &format!("Ed25519 · kid {}", v.kid));

    let modules = qr::encode(&v.qr_text)?;
    // Whole pixels per module at 150 and 300 dpi (4 and 8): a 1-bit image scaled by a fraction gets modules
    // of uneven width, which a 150 dpi scan does not always decode.
    let qr_mm = modules.size as f32 * QR_MODULE_MM;
    let (qx, qtop) = (PAGE_W - 20.0 - qr_mm, top - 7.0);
    p.fill_rects(rgb(1.0, 1.0, 1.0), &[(qx, qtop - qr_mm, qr_mm, qr_mm)]);
    p.text(regular, 7.0, grey(), qx + qr_mm / 2.0, qtop + 1.5, Align::Center, &trilingual("pdf_verify"));

    // The link, under everything, across the page.
    let mut ty = (qtop - qr_mm - 6.0).min(ly - 28.0);
    for l in wrap(regular, &v.qr_text, 6.0, 172.0) {
        p.text(regular, 6.0, ink(), 19.0, ty, Align::Left, &l);
        ty -= 2.7;
    }
    p.centered(false, 7.0, grey(), 15.0, &trilingual("pdf_scan"));

    let mut doc = PdfDocument::new(&format!("Gold eco-label certificate {}", v.number));
    for face in [regular, bold] {
        doc.resources.fonts.map.insert(FontId(face.id.to_string()), PdfFont::new(face.parsed.clone()));
    }
    let date = printpdf::OffsetDateTime::from_unix_timestamp(v.issued_at).map_err(|e| e.to_string())?;
    let info = &mut doc.metadata.info;
    info.author = v.issuer.clone();
    info.subject = format!("{} / {}: {}", v.title[0], v.title[2], v.venue_name);
    info.creator = "ecolabel".into();
    info.producer = "ecolabel (printpdf)".into();
    info.identifier = v.number.clone();
    info.creation_date = date;
    info.modification_date = date;
    info.metadata_date = date;
    doc.pages.push(PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), p.ops));
    let opts = PdfSaveOptions {
        optimize: true,
        subset_fonts: true,
        ..Default::default()
    };
    let mut warnings = Vec::new();
    let mut lo = doc.to_lopdf_document(&opts, &mut warnings);
    // printpdf draws a random document id; ours comes from the certificate.
    let id = Sha256::digest(format!("{}\n{}", v.number, v.qr_text).as_bytes());
    let id_str = lopdf::Object::String(id[..16].to_vec(), lopdf::StringFormat::Hexadecimal);
    lo.trailer.set("ID", lopdf::Object::Array(vec![id_str.clone(), id_str]));
    let info_ref = lo
        .trailer
        .get(b"Info")
        .and_then(|o| o.as_reference())
        .map_err(|e| format!("no document info: {e}"))?;
    if let Ok(lopdf::Object::Dictionary(d)) = lo.get_object_mut(info_ref) {
        d.set(
            &QR_METADATA_KEY[1..],
            lopdf::Object::String(v.qr_text.clone().into_bytes(), lopdf::StringFormat::Literal),
        );
    }
    let mm_to_pt = 1.0 / PT_TO_MM;
    add_qr_image(&mut lo, &modules, qx * mm_to_pt, (qtop - qr_mm) * mm_to_pt, qr_mm * mm_to_pt)?;
    tag_font_subsets(&mut lo);
    compact_to_unicode(&mut lo);
    trim(&mut lo, info_ref);
    compress_streams(&mut lo)?;
    let mut out = Vec::new();
    // PDF 1.5 object and cross-reference streams: the dictionaries (font widths, descriptors) are
    // compressed too.
    let save = lopdf::SaveOptions::builder()
        .use_object_streams(true)
        .use_xref_streams(true)
        .compression_level(9)
        .build();
    lo.save_with_options(&mut out, save).map_err(|e| format!("cannot write the PDF: {e}"))?;
    Ok(out)
}

/// Draw the QR code as one 1-bit image, a module per pixel, with `/Interpolate false` so that viewers and
/// printers keep the modules sharp: about 600 bytes, against thousands of path operators. Placed with its
/// bottom-left corner at (`x`, `y`) points, `side` points wide.
fn add_qr_image(doc: &mut lopdf::Document, q: &qr::QrModules, x: f32, y: f32, side: f32) -> Result<(), String> {
    use lopdf::{Dictionary, Object, Stream};
    let (px, rows) = q.bitmap(1);
    let mut dict = Dictionary::new();
    dict.set("Type", Object::Name(b"XObject".to_vec()));
    dict.set("Subtype", Object::Name(b"Image".to_vec()));
    dict.set("Width", i64::from(px));
    dict.set("Height", i64::from(px));
    dict.set("ColorSpace", Object::Name(b"DeviceGray".to_vec()));
    dict.set("BitsPerComponent", 1);
    dict.set("Interpolate", false);
    let image = doc.add_object(Stream::new(dict, rows.concat()));
    let draw = format!("q {side:.2} 0 0 {side:.2} {x:.2} {y:.2} cm /QR Do Q\n");
    let page = *doc.get_pages().values().next().ok_or("the PDF has no page")?;
    // Drawn at the end of the page's own content stream (one object less than a stream of its own).
    let content = match doc.get_dictionary(page).and_then(|d| d.get(b"Contents")) {
        Ok(Object::Reference(r)) => *r,
        Ok(Object::Array(a)) => a.last().and_then(|o| o.as_reference().ok()).ok_or("the page has no content stream")?,
        _ => return Err("the page has no content stream".into()),
    };
    let stream = doc
        .get_object_mut(content)
        .and_then(Object::as_stream_mut)
        .map_err(|e| format!("the page content: {e}"))?;
    if stream.dict.has(b"Filter") {
        stream.decompress().map_err(|e| format!("the page content: {e}"))?;
    }
    let mut bytes = std::mem::take(&mut stream.content);
    if !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    bytes.extend_from_slice(draw.as_bytes());
    stream.set_content(bytes);
    let page_dict = doc.get_dictionary_mut(page).map_err(|e| e.to_string())?;
    let resources = match page_dict.get(b"Resources") {
        Ok(Object::Reference(r)) => Some(*r),
        Ok(Object::Dictionary(_)) => None,
        _ => {
            page_dict.set("Resources", Dictionary::new());
            None
        }
    };
    let resources = match resources {
        Some(r) => doc.get_dictionary_mut(r).map_err(|e| e.to_string())?,
        None => doc
            .get_dictionary_mut(page)
            .and_then(|d| d.get_mut(b"Resources"))
            .and_then(Object::as_dict_mut)
            .map_err(|e| e.to_string())?,
    };
    match resources.get_mut(b"XObject") {
        Ok(Object::Dictionary(x)) => x.set("QR", Object::Reference(image)),
        _ => {
            let mut x = Dictionary::new();
            x.set("QR", Object::Reference(image));
            resources.set("XObject", x);
        }
    }
    Ok(())
}

/// Name each embedded font subset as PDF 32000-1 §9.6.4 asks: six upper-case letters and `+` before the
/// font's name (`ABCDEF+DejaVuSans`), the letters taken from the SHA-256 of the subset itself, so the same
/// certificate gives the same bytes and another subset another tag.
fn tag_font_subsets(doc: &mut lopdf::Document) {
    use lopdf::Object;
    let mut renamed: std::collections::HashMap<Vec<u8>, Vec<u8>> = Default::default();
    for object in doc.objects.values() {
        let Object::Dictionary(d) = object else { continue };
        let Ok(name) = d.get(b"FontName").and_then(Object::as_name) else { continue };
        let file = [&b"FontFile2"[..], b"FontFile3", b"FontFile"]
            .iter()
            .find_map(|k| d.get(k).and_then(Object::as_reference).ok())
            .and_then(|r| doc.get_object(r).ok())
            .and_then(|o| o.as_stream().ok());
        let already = name.len() > 7 && name[6] == b'+' && name[..6].iter().all(u8::is_ascii_uppercase);
        let (Some(file), false) = (file, already) else { continue };
        let hash = Sha256::digest(&file.content);
        let mut tagged: Vec<u8> = hash.iter().take(6).map(|b| b'A' + b % 26).collect();
        tagged.push(b'+');
        // printpdf names them `F1+DejaVuSans`: keep only the font's own name after our tag.
        let base = name.rsplit(|b| *b == b'+').next().unwrap_or(name);
        tagged.extend_from_slice(base);
        renamed.insert(name.to_vec(), tagged);
    }
    let rename = |d: &mut lopdf::Dictionary| {
        for key in [&b"FontName"[..], b"BaseFont"] {
            let new = d.get(key).and_then(Object::as_name).ok().and_then(|n| renamed.get(n)).cloned();
            if let Some(new) = new {
                d.set(key, Object::Name(new));
            }
        }
    };
    for object in doc.objects.values_mut() {
        let Object::Dictionary(d) = object else { continue };
        rename(d);
        // The CIDFont inside a Type 0 font carries the same name as its descriptor.
        if let Ok(Object::Array(descendants)) = d.get_mut(b"DescendantFonts") {
            for x in descendants.iter_mut() {
                if let Object::Dictionary(inner) = x {
                    rename(inner);
                }
            }
        }
    }
}

/// Leave out what says nothing: boxes equal to the media box, empty annotation lists and resource
/// dictionaries, the default page mode, empty metadata strings and printpdf's identifier and trapping keys;
/// metadata that is ASCII as a literal string rather than UTF-16 hex (four characters per letter). Viewers
/// see the same document.
fn trim(doc: &mut lopdf::Document, info: lopdf::ObjectId) {
    use lopdf::{Object, StringFormat};
    for object in doc.objects.values_mut() {
        let Object::Dictionary(d) = object else { continue };
        // The default page mode, said again.
        if d.get(b"PageMode").and_then(Object::as_name).ok() == Some(&b"UseNone"[..]) {
            d.remove(b"PageMode");
        }
        let media = d.get(b"MediaBox").ok().cloned();
        for key in [&b"CropBox"[..], b"TrimBox"] {
            if media.is_some() && d.get(key).ok() == media.as_ref() {
                d.remove(key);
            }
        }
        let empty: Vec<Vec<u8>> = d
            .iter()
            .filter(|(k, v)| match v {
                Object::Array(a) => a.is_empty() && k.as_slice() == b"Annots",
                Object::Dictionary(x) => x.is_empty() && matches!(k.as_slice(), b"ExtGState" | b"Shading" | b"Pattern" | b"Properties"),
                _ => false,
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in empty {
            d.remove(&k);
        }
    }
    // Resource dictionaries printpdf writes as objects of their own, now empty, are dropped with their references.
    let empty_refs: Vec<(Vec<u8>, lopdf::ObjectId)> = doc
        .objects
        .values()
        .filter_map(|o| o.as_dict().ok())
        .flat_map(|d| d.iter())
        .filter(|(k, _)| matches!(k.as_slice(), b"ExtGState" | b"Shading" | b"Pattern" | b"Properties"))
        .filter_map(|(k, v)| v.as_reference().ok().map(|r| (k.clone(), r)))
        .filter(|(_, r)| doc.get_dictionary(*r).map(|x| x.is_empty()).unwrap_or(false))
        .collect();
    for (key, id) in empty_refs {
        for object in doc.objects.values_mut() {
            if let Object::Dictionary(d) = object {
                if d.get(&key).and_then(Object::as_reference).ok() == Some(id) {
                    d.remove(&key);
                }
            }
        }
        doc.objects.remove(&id);
    }
    if let Ok(Object::Dictionary(d)) = doc.get_object_mut(info) {
        // printpdf's own keys: the number again (it is in the title) and a trapping claim nobody checks.
        d.remove(b"Identifier");
        d.remove(b"Trapped");
        let keys: Vec<Vec<u8>> = d.iter().map(|(k, _)| k.clone()).collect();
        for k in keys {
            let Ok(Object::String(bytes, _)) = d.get(&k) else { continue };
            if bytes.is_empty() {
                d.remove(&k);
                continue;
            }
            // UTF-16BE with its byte order mark, every character ASCII: the same text in PDFDocEncoding.
            if bytes.len() % 2 == 0 && bytes.starts_with(&[0xfe, 0xff]) {
                let units: Vec<u16> = bytes[2..].chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
                if units.iter().all(|u| (0x20..0x7f).contains(u)) {
                    let ascii: Vec<u8> = units.iter().map(|u| *u as u8).collect();
                    d.set(k, Object::String(ascii, StringFormat::Literal));
                }
            }
        }
    }
}

/// Rewrite printpdf's ToUnicode CMaps (one `bfchar` line per glyph, with PostScript comments) in the
/// compact form PDF 32000-1 §9.10.3 allows: runs of glyphs whose characters follow one another as one
/// `bfrange` line each, the rest as `bfchar`. Text extracts the same.
fn compact_to_unicode(doc: &mut lopdf::Document) {
    for object in doc.objects.values_mut() {
        let lopdf::Object::Stream(stream) = object else { continue };
        if stream.dict.has(b"Filter") || !stream.content.starts_with(b"/CIDInit") {
            continue;
        }
        if let Some(compact) = to_unicode_cmap(&stream.content) {
            stream.set_content(compact);
        }
    }
}

/// The compact CMap for the `bfchar` pairs of `cmap` (None if it holds anything else, which is then kept).
fn to_unicode_cmap(cmap: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(cmap).ok()?;
    if text.contains("bfrange") {
        return None;
    }
    let mut pairs: Vec<(u16, String)> = Vec::new();
    let mut in_chars = false;
    for line in text.lines().map(str::trim) {
        if line.ends_with("beginbfchar") {
            in_chars = true;
        } else if line == "endbfchar" {
            in_chars = false;
        } else if in_chars {
            let (cid, uni) = line.split_once(' ')?;
            let cid = u16::from_str_radix(cid.strip_prefix('<')?.strip_suffix('>')?, 16).ok()?;
            let uni = uni.trim().strip_prefix('<')?.strip_suffix('>')?;
            if uni.is_empty() || uni.len() % 4 != 0 || !uni.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            pairs.push((cid, uni.to_ascii_uppercase()));
        }
    }
    pairs.sort_by_key(|p| p.0);
    // A range: consecutive glyphs, consecutive single UTF-16 units, within one 256-block on both sides.
    let mut ranges: Vec<(u16, u16, u16)> = Vec::new();
    let mut singles: Vec<(u16, &str)> = Vec::new();
    let mut i = 0;
    while i < pairs.len() {
        let (cid, uni) = (pairs[i].0, &pairs[i].1);
        let first = if uni.len() == 4 { u16::from_str_radix(uni, 16).ok() } else { None };
        let mut j = i + 1;
        if let Some(u) = first {
            while j < pairs.len() {
                let step = u16::try_from(j - i).ok()?;
                let next = (pairs[j].1.len() == 4).then(|| u16::from_str_radix(&pairs[j].1, 16).ok()).flatten();
                let same_block = (cid >> 8) == (pairs[j].0 >> 8) && (u >> 8) == (u.wrapping_add(step) >> 8);
                if pairs[j].0 != cid.wrapping_add(step) || next != Some(u.wrapping_add(step)) || !same_block {
                    break;
                }
                j += 1;
            }
        }
        match first {
            Some(u) if j - i >= 2 => ranges.push((cid, pairs[j - 1].0, u)),
            // Not a run: `j` is `i + 1` already.
            _ => singles.push((cid, uni)),
        }
        i = j;
    }
    let mut out = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    use std::fmt::Write as _;
    for block in ranges.chunks(100) {
        let _ = writeln!(out, "{} beginbfrange", block.len());
        for (a, b, u) in block {
            let _ = writeln!(out, "<{a:04X}> <{b:04X}> <{u:04X}>");
        }
        out.push_str("endbfrange\n");
    }
    for block in singles.chunks(100) {
        let _ = writeln!(out, "{} beginbfchar", block.len());
        for (a, u) in block {
            let _ = writeln!(out, "<{a:04X}> <{u}>");
        }
        out.push_str("endbfchar\n");
    }
    out.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    Some(out.into_bytes())
}

/// Deflate every stream not yet deflated: the font programs at a fast level (the best level, which lopdf's
/// own `compress` uses, tripled the rendering time for fonts a few per cent smaller), the rest at the best.
fn compress_streams(doc: &mut lopdf::Document) -> Result<(), String> {
    use std::io::Write;
    for object in doc.objects.values_mut() {
        if let lopdf::Object::Stream(stream) = object {
            if !stream.allows_compression || stream.dict.get(b"Filter").is_ok() {
                continue;
            }
            // Font programs (they carry their uncompressed length) at the fast level, the rest at the best.
            let level = if stream.dict.has(b"Length1") { 3 } else { 9 };
            let mut enc = flate2::write::ZlibEncoder::new(Vec::with_capacity(stream.content.len() / 2), flate2::Compression::new(level));
            enc.write_all(&stream.content).map_err(|e| e.to_string())?;
            let compressed = enc.finish().map_err(|e| e.to_string())?;
            if compressed.len() + 19 < stream.content.len() {
                stream.dict.set("Filter", "FlateDecode");
                stream.set_content(compressed);
            }
        }
    }
    Ok(())
}

/// The QR text stored in a certificate PDF, if any: from the document information dictionary (which may
/// sit in a compressed object stream), or in the bytes of an older, uncompressed file.
pub fn find_qr_text(pdf: &[u8]) -> Option<String> {
    let from_info = lopdf::Document::load_mem(pdf).ok().and_then(|doc| {
        let info = doc.trailer.get(b"Info").ok()?;
        let info = match info {
            lopdf::Object::Reference(r) => doc.get_dictionary(*r).ok()?,
            lopdf::Object::Dictionary(d) => d,
            _ => return None,
        };
        let text = info.get(&QR_METADATA_KEY.as_bytes()[1..]).ok()?.as_str().ok()?;
        let text = std::str::from_utf8(text).ok()?;
        text.contains("/V/").then(|| text.to_string())
    });
    from_info.or_else(|| find_qr_text_in_bytes(pdf))
}

fn find_qr_text_in_bytes(pdf: &[u8]) -> Option<String> {
    let key = QR_METADATA_KEY.as_bytes();
    let at = pdf.windows(key.len()).position(|w| w == key)? + key.len();
    let rest = &pdf[at..];
    let open = rest.iter().position(|b| *b == b'(')?;
    if rest[..open].iter().any(|b| !b.is_ascii_whitespace()) {
        return None;
    }
    let close = rest[open + 1..].iter().position(|b| *b == b')')?;
    let text = std::str::from_utf8(&rest[open + 1..open + 1 + close]).ok()?;
    text.contains("/V/").then(|| text.to_string())
}

/// A realistic certificate (the demo's figures), for tests and benchmarks.
#[doc(hidden)]
pub fn sample_view(name: &str) -> CertificateView {
    let line = |kk: &str, ru: &str, en: &str| CriterionLine {
        name_kk: kk.into(),
        name_ru: ru.into(),
        name_en: en.into(),
        measured: "66.9 %".into(),
        threshold: "≥ 50 %".into(),
        passed: true,
    };
    CertificateView {
        title: ["Алтын экологиялық белгі".into(), "Золотой экологический знак".into(), "Gold eco-label".into()],
        number: "GEL-2025-000001".into(),
        status_stamp: None,
        status_note: None,
        venue_name: name.into(),
        venue_other_names: vec![],
        venue_address: "RES 2026 EXPO exhibition, Astana".into(),
        scheme: "gold-eco-label".into(),
        scheme_version: 1,
        criteria_sha256: "d807193e5199930d175b9345a5f78adec91bd4c753ea197efb25942b3d2e5980".into(),
        criteria: vec![
            line("Пластикті пайдалануды азайту", "Сокращение использования пластика", "Minimise plastic use"),
            line("Балама материалдар", "Альтернативные материалы", "Alternative materials"),
            line(
                "Пластик қалдықтарын бөлек жинау",
                "Раздельный сбор пластиковых отходов",
                "Separate collection of plastic waste",
            ),
            line("Қайта өңдеуге тапсыру", "Передача на переработку", "Handover for recycling"),
        ],
        grant_date: "2025-12-19".into(),
        valid_from: "2025-12-19".into(),
        valid_until: "2027-12-18".into(),
        issuer: "Gold eco-label certification body".into(),
        issuer_other_names: vec![],
        issuer_address: "Astana, Republic of Kazakhstan".into(),
        signatory: "Head of Certification".into(),
        signatory_title: "Head of the certification body".into(),
        kid: "rxUAqd0wm-A".into(),
        qr_text: format!("HTTP://127.0.0.1:8080/V/{}", "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".repeat(11)),
        issued_at: 1_766_145_600,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::Strategy as _;

    #[test]
    fn renders_deterministically_with_the_qr_text_in_metadata() {
        let v = sample_view("Smart Plastic Zone");
        let a = render(&v).unwrap();
        let b = render(&v).unwrap();
        assert!(a.starts_with(b"%PDF-"));
        assert_eq!(a, b, "same certificate, same bytes");
        assert_eq!(find_qr_text(&a).as_deref(), Some(v.qr_text.as_str()));
        assert!(a.len() <= 18_000, "{} bytes", a.len());
        // The QR code is one 1-bit image drawn sharp; the font subsets carry their tags.
        let doc = lopdf::Document::load_mem(&a).unwrap();
        let images: Vec<_> = doc
            .objects
            .values()
            .filter_map(|o| o.as_stream().ok())
            .filter(|st| st.dict.get(b"Subtype").and_then(lopdf::Object::as_name).ok() == Some(&b"Image"[..]))
            .collect();
        assert_eq!(images.len(), 1);
        let d = &images[0].dict;
        assert_eq!(d.get(b"BitsPerComponent").unwrap().as_i64().unwrap(), 1);
        assert!(!d.get(b"Interpolate").unwrap().as_bool().unwrap(), "Interpolate false");
        let names: Vec<Vec<u8>> = doc
            .objects
            .values()
            .filter_map(|o| o.as_dict().ok())
            .filter_map(|d| d.get(b"BaseFont").and_then(lopdf::Object::as_name).ok().map(<[u8]>::to_vec))
            .collect();
        let descendants: Vec<Vec<u8>> = doc
            .objects
            .values()
            .filter_map(|o| o.as_dict().ok())
            .filter_map(|d| d.get(b"DescendantFonts").and_then(lopdf::Object::as_array).ok())
            .flatten()
            .filter_map(|o| o.as_dict().ok())
            .filter_map(|d| d.get(b"BaseFont").and_then(lopdf::Object::as_name).ok().map(<[u8]>::to_vec))
            .collect();
        assert_eq!(descendants.len(), 2, "both fonts' CIDFonts");
        assert!(!names.is_empty());
        for n in names.into_iter().chain(descendants) {
            assert!(
                n.len() > 7 && n[6] == b'+' && n[..6].iter().all(u8::is_ascii_uppercase),
                "{}",
                String::from_utf8_lossy(&n)
            );
        }
    }

    /// Every glyph's characters, read back from a CMap (`bfchar` and `bfrange` with a start code).
    fn expand(cmap: &str) -> std::collections::BTreeMap<u16, String> {
        let mut out = std::collections::BTreeMap::new();
        let (mut chars, mut ranges) = (false, false);
        let hex = |t: &str| t.trim_matches(|c| c == '<' || c == '>').to_string();
        for line in cmap.lines() {
            match line {
                l if l.ends_with("beginbfchar") => chars = true,
                l if l.ends_with("beginbfrange") => ranges = true,
                "endbfchar" => chars = false,
                "endbfrange" => ranges = false,
                l if chars => {
                    let (a, u) = l.split_once(' ').unwrap();
                    out.insert(u16::from_str_radix(&hex(a), 16).unwrap(), hex(u));
                }
                l if ranges => {
                    let parts: Vec<String> = l.split(' ').map(hex).collect();
                    let (a, b) = (u16::from_str_radix(&parts[0], 16).unwrap(), u16::from_str_radix(&parts[1], 16).unwrap());
                    let u = u16::from_str_radix(&parts[2], 16).unwrap();
                    assert_eq!(a >> 8, b >> 8, "a range stays in one 256-block: {l}");
                    assert_eq!(u >> 8, (u + (b - a)) >> 8, "and so does its destination: {l}");
                    for k in 0..=(b - a) {
                        out.insert(a + k, format!("{:04X}", u + k));
                    }
                }
                _ => {}
            }
        }
        out
    }

    proptest::proptest! {
        /// The compact ToUnicode CMap maps every glyph to the characters printpdf's long form gave it.
        #[test]
        fn compact_cmaps_map_every_glyph_the_same(map in proptest::collection::btree_map(0u16..600, proptest::prop_oneof![0x20u16..0x600, 0xe000u16..0xffff].prop_map(|u| format!("{u:04X}")), 0..300)) {
            let mut long = String::from("/CIDInit /ProcSet findresource begin\n%%comment\n");
            for block in map.iter().collect::<Vec<_>>().chunks(100) {
                long.push_str(&format!("{} beginbfchar\n", block.len()));
                for (c, u) in block {
                    long.push_str(&format!("<{c:04X}> <{u}>\n"));
                }
                long.push_str("endbfchar\n");
            }
            let compact = String::from_utf8(to_unicode_cmap(long.as_bytes()).unwrap()).unwrap();
            proptest::prop_assert_eq!(expand(&compact), map);
        }
    }

    #[test]
    fn printpdfs_cmap_shrinks_and_extracts_the_same() {
        let v = sample_view("Smart Plastic Zone");
        let pdf = render(&v).unwrap();
        let doc = lopdf::Document::load_mem(&pdf).unwrap();
        let cmaps: Vec<String> = doc
            .objects
            .values()
            .filter_map(|o| o.as_stream().ok())
            .filter_map(|st| st.decompressed_content().ok())
            .filter(|c| c.starts_with(b"/CIDInit"))
            .map(|c| String::from_utf8(c).unwrap())
            .collect();
        assert_eq!(cmaps.len(), 2, "one per font");
        for c in &cmaps {
            assert!(c.contains("beginbfrange"), "runs become ranges: {c}");
            assert!(!c.contains('%'), "no comments");
        }
    }

    #[test]
    fn wrap_respects_the_width() {
        let f = fonts().unwrap();
        let long = "Қазақстан Республикасының Экология және табиғи ресурстар министрлігінің ".repeat(3);
        for l in wrap(&f.bold, &long, 14.0, 100.0) {
            assert!(width(&f.bold, &l, 14.0) <= 100.0 + 0.01, "{l}");
        }
        let no_spaces = "A".repeat(400);
        assert!(wrap(&f.regular, &no_spaces, 6.0, 172.0).len() >= 2);
    }
}
