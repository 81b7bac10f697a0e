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

/// A dark rectangle in module units (x, y from the top-left, width, height).
pub type Block = (u32, u32, u32, u32);

impl QrModules {
    /// The dark runs merged down the rows: a run repeated at the same place in the next row grows taller.
    pub fn blocks(&self) -> Vec<Block> {
        let mut open: std::collections::BTreeMap<(u32, u32), (u32, u32)> = Default::default();
        let mut done = Vec::new();
        let mut row = u32::MAX;
        let mut seen: Vec<(u32, u32)> = Vec::new();
        let close_missing = |open: &mut std::collections::BTreeMap<(u32, u32), (u32, u32)>, seen: &[(u32, u32)], done: &mut Vec<Block>| {
            let gone: Vec<_> = open.keys().filter(|k| !seen.contains(k)).copied().collect();
            for k in gone {
                if let Some((y, h)) = open.remove(&k) {
                    done.push((k.0, y, k.1, h));
                }
            }
        };
        for r in &self.runs {
            if r.y != row {
                if row != u32::MAX {
                    close_missing(&mut open, &seen, &mut done);
                    if r.y != row + 1 {
                        close_missing(&mut open, &[], &mut done);
                    }
                }
                seen.clear();
                row = r.y;
            }
            seen.push((r.x, r.len));
            open.entry((r.x, r.len)).and_modify(|(_, h)| *h += 1).or_insert((r.y, 1));
        }
        close_missing(&mut open, &[], &mut done);
        done.sort_by_key(|b| (b.1, b.0));
        done
    }
}

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

/// The QR code as an SVG image (one path of the merged dark blocks, quiet zone included), for pages.
pub fn svg(text: &str, title: &str) -> Result<String, String> {
    let q = encode(text)?;
    let mut d = String::new();
    for (x, y, w, h) in q.blocks() {
        d.push_str(&format!("M{x} {y}h{w}v{h}h-{w}z"));
    }
    let title = title.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {s} {s}\" shape-rendering=\"crispEdges\" role=\"img\"><title>{title}</title><rect width=\"{s}\" height=\"{s}\" fill=\"#fff\"/><path d=\"{d}\" fill=\"#000\"/></svg>",
        s = q.size
    ))
}

impl QrModules {
    /// The code as 1-bit rows, `scale` pixels per module, quiet zone included: each row packed most
    /// significant bit first and padded to a byte, 1 = white (PNG greyscale and PDF DeviceGray alike).
    /// Returns the side in pixels and the rows.
    pub fn bitmap(&self, scale: u32) -> (u32, Vec<Vec<u8>>) {
        let scale = scale.max(1);
        let side = self.size * scale;
        let mut dark = vec![false; (self.size * self.size) as usize];
        for r in &self.runs {
            for x in r.x..r.x + r.len {
                dark[(r.y * self.size + x) as usize] = true;
            }
        }
        let row_bytes = side.div_ceil(8) as usize;
        let rows = (0..side)
            .map(|py| {
                let mut row = vec![0u8; row_bytes];
                for px in 0..side {
                    if !dark[((py / scale) * self.size + px / scale) as usize] {
                        row[(px / 8) as usize] |= 0x80 >> (px % 8);
                    }
                }
                row
            })
            .collect();
        (side, rows)
    }
}

/// The QR code as a PNG: 1-bit greyscale, `scale` pixels per module, quiet zone included. Encoded here with
/// flate2 and crc32fast (already used for the PDF and evidence checks): PNG is three chunks.
pub fn png(text: &str, scale: u32) -> Result<Vec<u8>, String> {
    use std::io::Write;
    let (side, rows) = encode(text)?.bitmap(scale);
    let mut raw = Vec::with_capacity(rows.iter().map(|r| r.len() + 1).sum());
    for row in &rows {
        raw.push(0u8); // filter: none
        raw.extend_from_slice(row);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&raw).map_err(|e| e.to_string())?;
    let idat = z.finish().map_err(|e| e.to_string())?;
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[1, 0, 0, 0, 0]); // bit depth 1, greyscale, deflate, no filter, no interlace
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(&b"IHDR"[..], &ihdr[..]), (b"IDAT", &idat[..]), (b"IEND", &[][..])] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_is_well_formed_and_scaled() {
        let p = png("HTTP://REGISTRY.TEST/V/ABC", 4).unwrap();
        assert!(p.starts_with(b"\x89PNG\r\n\x1a\n"));
        let (w, h) = imagesize::blob_size(&p).map(|s| (s.width, s.height)).unwrap();
        let q = encode("HTTP://REGISTRY.TEST/V/ABC").unwrap();
        assert_eq!((w, h), ((q.size * 4) as usize, (q.size * 4) as usize));
        assert!(p.ends_with(&[0xAE, 0x42, 0x60, 0x82]), "IEND with its CRC");
    }

    #[test]
    fn demo_sized_text_is_version_10_to_12() {
        let text = format!("HTTP://127.0.0.1:8080/V/{}", "A".repeat(365));
        let q = encode(&text).unwrap();
        assert!((10..=12).contains(&q.version), "version {}", q.version);
        assert_eq!(q.size, (q.version as u32) * 4 + 17 + 8);
        assert!(q.runs.iter().all(|r| r.x + r.len <= q.size - QUIET_ZONE && r.y < q.size - QUIET_ZONE));
        // The merged blocks cover exactly the dark modules.
        let mut from_runs = std::collections::BTreeSet::new();
        for r in &q.runs {
            for x in r.x..r.x + r.len {
                from_runs.insert((x, r.y));
            }
        }
        let mut from_blocks = std::collections::BTreeSet::new();
        for (x, y, w, h) in q.blocks() {
            for dx in 0..w {
                for dy in 0..h {
                    assert!(from_blocks.insert((x + dx, y + dy)), "blocks overlap");
                }
            }
        }
        assert_eq!(from_runs, from_blocks);
        assert!(q.blocks().len() < q.runs.len());
    }
}
