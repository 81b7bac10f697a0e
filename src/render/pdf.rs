// The certificate PDF: one A4 page with the QR code as vector graphics; the QR text is also kept in
// the document metadata, so that `ecolabel verify file.pdf` can read it without decoding an image.

/// Where the QR text sits in the PDF's metadata: the value of this key, as a literal string.
pub const QR_METADATA_KEY: &str = "/GelVerification";

/// The QR text stored in a certificate PDF, if any.
pub fn find_qr_text(pdf: &[u8]) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_qr_text_in_metadata() {
        let pdf = b"%PDF-1.7\n1 0 obj << /Title (x) /GelVerification (HTTP://X/V/ABC) >> endobj";
        assert_eq!(find_qr_text(pdf).as_deref(), Some("HTTP://X/V/ABC"));
        assert_eq!(find_qr_text(b"%PDF-1.7 nothing"), None);
    }
}
