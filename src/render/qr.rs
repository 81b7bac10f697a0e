// The QR code of a certificate as vector squares: the modules of the QR text at ECC level M, with the
// dark runs of each row merged into rectangles, and a 4-module quiet zone around it.

use qrcode::{Color, EcLevel, QrCode};

/// A dark rectangle in module units, origin top-left, including the quiet zone offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Run {
    pub x: u32,
    pub y: u32,
    pub len: u32,
}

pub struct QrModules {
    /// Modules per side including the quiet zone.
    pub size: u32,
    pub version: i16,
    pub runs: Vec<Run>,
}

pub const QUIET_ZONE: u32 = 4;

/// Encode the QR text (all QR-alphanumeric, so the encoder picks the compact alphanumeric mode).
pub fn encode(text: &str) -> Result<QrModules, String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|e| format!("cannot encode the QR code: {e}"))?;
    let width = code.width() as u32;
    let colors = code.to_colors();
    let mut runs = Vec::new();
    for y in 0..width {
        let mut x = 0;
        while x < width {
            if colors[(y * width + x) as usize] == Color::Dark {
                let start = x;
                while x < width && colors[(y * width + x) as usize] == Color::Dark {
                    x += 1;
                }
                runs.push(Run {
                    x: start + QUIET_ZONE,
                    y: y + QUIET_ZONE,
                    len: x - start,
                });
            } else {
                x += 1;
            }
        }
    }
    let version = match code.version() {
        qrcode::Version::Normal(v) | qrcode::Version::Micro(v) => v,
    };
    Ok(QrModules {
        size: width + 2 * QUIET_ZONE,
        version,
        runs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_sized_text_is_version_10_to_12() {
        let text = format!("HTTP://127.0.0.1:8080/V/{}", "A".repeat(365));
        let q = encode(&text).unwrap();
        assert!((10..=12).contains(&q.version), "version {}", q.version);
        assert_eq!(q.size, (q.version as u32) * 4 + 17 + 8);
        assert!(q.runs.iter().all(|r| r.x + r.len <= q.size - QUIET_ZONE && r.y < q.size - QUIET_ZONE));
    }
}
