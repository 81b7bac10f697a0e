// Uploaded files and multipart bodies, for every audience: reading a part within a size limit, judging a
// file by its content (PDF, JPEG, PNG), a clean file name, its SHA-256; refusals as API errors.

use crate::domain::scoring::FieldError;
use crate::domain::text::{self, TextKind};
use crate::web::error::{ApiError, ApiResult};
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};

/// Files per evidence upload (the portal's phone form may send several).
pub const MAX_FILES_PER_UPLOAD: usize = 10;
/// Bytes per evidence or appeal file.
pub const MAX_EVIDENCE_BYTES: usize = 10 * 1024 * 1024;

/// The evidence type, judged by parsing the content (names and declared types are not trusted): a PDF
/// must open with at least one page, an image must have a readable header with non-zero dimensions.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        let doc = lopdf::Document::load_mem(bytes).ok()?;
        (!doc.get_pages().is_empty()).then_some("application/pdf")
    } else {
        let kind = match imagesize::image_type(bytes).ok()? {
            imagesize::ImageType::Jpeg => "image/jpeg",
            imagesize::ImageType::Png if png_header_ok(bytes) => "image/png",
            _ => return None,
        };
        let size = imagesize::blob_size(bytes).ok()?;
        (size.width > 0 && size.height > 0).then_some(kind)
    }
}

/// A PNG opens with an IHDR chunk of 13 bytes whose CRC holds and whose depth and colour type exist.
pub(crate) fn png_header_ok(bytes: &[u8]) -> bool {
    let Some(chunk) = bytes.get(8..33) else { return false };
    let (len, kind, data, crc) = (&chunk[0..4], &chunk[4..8], &chunk[8..21], &chunk[21..25]);
    let (depth, colour) = (data[8], data[9]);
    len == [0, 0, 0, 13]
        && kind == b"IHDR"
        && crc32fast::hash(&chunk[4..21]).to_be_bytes() == crc
        && matches!(depth, 1 | 2 | 4 | 8 | 16)
        && matches!(colour, 0 | 2 | 3 | 4 | 6)
}

pub(crate) fn clean_filename(name: &str, fallback: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control() && *c != '"').take(200).collect();
    if cleaned.trim().is_empty() {
        fallback.into()
    } else {
        cleaned
    }
}

/// An uploaded file as stored: a clean name, its type judged by content (`what` names it in the 415), its
/// SHA-256. Empty files are refused.
pub(crate) struct Judged {
    pub filename: String,
    pub media_type: &'static str,
    pub sha256: String,
    pub content: Vec<u8>,
}

pub(crate) fn judge(name: &str, content: Vec<u8>, what: &str, fallback: &str) -> ApiResult<Judged> {
    if content.is_empty() {
        return Err(ApiError::invalid(
            "empty_file",
            format!("{name} is empty"),
            vec![FieldError::new("file", "empty_file", "the file is empty")],
        ));
    }
    let media_type = sniff(&content).ok_or_else(|| {
        ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("{what} must be a PDF, JPEG or PNG file (judged by its content)"),
        )
    })?;
    Ok(Judged {
        filename: clean_filename(name, fallback),
        media_type,
        sha256: hex::encode(Sha256::digest(&content)),
        content,
    })
}

/// A multipart text field: UTF-8, trimmed, and free of the characters `kind` forbids.
pub(crate) fn text_field(bytes: &[u8], name: &str, kind: TextKind) -> ApiResult<String> {
    let s = std::str::from_utf8(bytes).map_err(|_| {
        ApiError::invalid(
            "invalid_characters",
            format!("{name} is not UTF-8 text"),
            vec![FieldError::new(name, "invalid_characters", "not UTF-8 text")],
        )
    })?;
    text::check(name, s, kind).map_err(|e| ApiError::invalid("invalid_characters", e.message.clone(), vec![e]))?;
    Ok(s.trim().to_string())
}

pub(crate) async fn read_field(field: &mut actix_multipart::Field, limit: usize, name: &str) -> ApiResult<Vec<u8>> {
    read_part(field, limit).await?.ok_or_else(|| {
        if name == "file" {
            ApiError::too_large(format!("evidence files are limited to {} MiB", MAX_EVIDENCE_BYTES / 1024 / 1024))
        } else {
            ApiError::invalid(
                "field_too_long",
                format!("{name} is too long"),
                vec![FieldError::new(name, "too_long", "too long")],
            )
        }
    })
}

/// A multipart part's bytes, or `None` as soon as they pass `limit` (the rest is not read).
pub(crate) async fn read_part(field: &mut actix_multipart::Field, limit: usize) -> ApiResult<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    while let Some(chunk) = field
        .try_next()
        .await
        .map_err(|e| ApiError::bad_request("invalid_multipart", format!("the upload could not be read: {e}")))?
    {
        if buf.len() + chunk.len() > limit {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Some(buf))
}
