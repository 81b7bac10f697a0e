// The QR code of a certificate: the symbol at ECC level M (the mask chosen here, fast), its dark runs,
// blocks, 1-bit rows, SVG and PNG, with a 4-module quiet zone around it.

use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::{Color, EcLevel};

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

/// The eight masks of a (non-micro) QR code, in the order the `qrcode` crate tries them.
const MASKS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

/// The penalty of a masked symbol (ISO/IEC 18004 7.8.3, as the `qrcode` crate scores it: N1 runs of five
/// or more, N2 2×2 blocks, N3 finder-like 1:1:3:1:1 runs without four light modules on a side, N4 the
/// dark share), over a flat `w`×`w` grid (`dark[y * w + x]`). The crate scores the same rules through
/// boxed closures and iterators for each of the eight masks, which was half of a certificate's render time.
fn penalty(dark: &[bool], w: usize) -> u32 {
    // N4: how far the dark share is from half.
    let ratio = (dark.iter().filter(|d| **d).count() * 200 / dark.len()) as u32;
    if w <= 128 {
        return packed_penalty(dark, w) + ratio.abs_diff(100);
    }
    let mut columns = vec![false; w * w];
    for (y, row) in dark.chunks_exact(w).enumerate() {
        for (x, d) in row.iter().enumerate() {
            columns[x * w + y] = *d;
        }
    }
    let mut score = 0u32;
    for line in dark.chunks_exact(w).chain(columns.chunks_exact(w)) {
        score += line_penalty(line);
    }
    // N2: each 2×2 block of one colour costs 3.
    for (top, bottom) in dark.chunks_exact(w).zip(dark.chunks_exact(w).skip(1)) {
        for x in 0..w - 1 {
            let c = top[x];
            if top[x + 1] == c && bottom[x] == c && bottom[x + 1] == c {
                score += 3;
            }
        }
    }
    score + ratio.abs_diff(100)
}

/// N1, N2 and N3 for symbols up to 128 modules wide (version 27; a certificate's is about 60), each row
/// and column a bit set (bit `x` = module `x`), so that a line is scored a word at a time.
fn packed_penalty(dark: &[bool], w: usize) -> u32 {
    let pack = |bits: &mut dyn Iterator<Item = bool>| bits.enumerate().fold(0u128, |acc, (i, d)| acc | (u128::from(d) << i));
    let rows: Vec<u128> = dark.chunks_exact(w).map(|r| pack(&mut r.iter().copied())).collect();
    let columns: Vec<u128> = (0..w).map(|x| pack(&mut rows.iter().map(|r| r >> x & 1 == 1))).collect();
    let all = if w == 128 { u128::MAX } else { (1u128 << w) - 1 };
    let mut score = 0u32;
    for &line in rows.iter().chain(&columns) {
        // N1: a colour change after module i is bit i of `changes` (the line's end is one too).
        let changes = ((line ^ (line >> 1)) & (all >> 1)) | (1u128 << (w - 1));
        let (mut rest, mut start) = (changes, 0u32);
        while rest != 0 {
            let end = rest.trailing_zeros() + 1;
            if end - start >= 5 {
                score += end - start - 2;
            }
            start = end;
            rest &= rest - 1;
        }
        // N3: windows j..j+7 reading dark-light-dark-dark-dark-light-dark.
        let mut found = all >> 6;
        for (k, d) in [true, false, true, true, true, false, true].into_iter().enumerate() {
            found &= if d { line >> k } else { !line >> k };
        }
        while found != 0 {
            let j = found.trailing_zeros() as usize;
            let side = |from: usize, to: usize| (from..to.min(w)).any(|k| line >> k & 1 == 1);
            if !side(j.saturating_sub(4), j) || !side(j + 7, j + 11) {
                score += 40;
            }
            found &= found - 1;
        }
    }
    // N2: each 2×2 block of one colour costs 3.
    for pair in rows.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let same = !(a ^ (a >> 1)) & !(a ^ b) & !(b ^ (b >> 1)) & (all >> 1);
        score += 3 * same.count_ones();
    }
    score
}

/// N1 and N3 of one row or column.
fn line_penalty(line: &[bool]) -> u32 {
    const FINDER: [bool; 7] = [true, false, true, true, true, false, true];
    let mut score = 0;
    // N1: each run of the same colour of length n >= 5 costs n - 2.
    let mut run = 1u32;
    for k in 1..=line.len() {
        if k < line.len() && line[k] == line[k - 1] {
            run += 1;
        } else {
            if run >= 5 {
                score += run - 2;
            }
            run = 1;
        }
    }
    // N3: dark-light-dark-dark-dark-light-dark, unless each side has a dark module within four.
    for (j, window) in line.windows(7).enumerate() {
        if window != FINDER {
            continue;
        }
        let before = line[j.saturating_sub(4)..j].contains(&true);
        let after = line[(j + 7).min(line.len())..(j + 11).min(line.len())].contains(&true);
        if !before || !after {
            score += 40;
        }
    }
    score
}

/// The symbol of `text` at ECC level M: its version, width and modules (`true` = dark), with the mask of
/// the lowest penalty (the first such, as the `qrcode` crate picks it; a test checks they agree).
fn symbol(text: &str) -> Result<(i16, usize, Vec<bool>), String> {
    let fail = |e: qrcode::types::QrError| format!("cannot encode the QR code: {e}");
    let bits = qrcode::bits::encode_auto(text.as_bytes(), EcLevel::M).map_err(fail)?;
    let version = bits.version();
    let (data, ec) = qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M).map_err(fail)?;
    let mut canvas = Canvas::new(version, EcLevel::M);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data, &ec);
    let width = version.width() as usize;
    let mut best: Option<(u32, Vec<bool>)> = None;
    for mask in MASKS {
        let mut c = canvas.clone();
        c.apply_mask(mask);
        let dark: Vec<bool> = c.into_colors().into_iter().map(|m| m == Color::Dark).collect();
        let score = penalty(&dark, width);
        if best.as_ref().is_none_or(|(s, _)| score < *s) {
            best = Some((score, dark));
        }
    }
    let (_, dark) = best.ok_or("no mask")?;
    let v = match version {
        qrcode::Version::Normal(v) | qrcode::Version::Micro(v) => v,
    };
    Ok((v, width, dark))
}

/// Encode the QR text (all QR-alphanumeric, so the encoder picks the compact alphanumeric mode).
pub fn encode(text: &str) -> Result<QrModules, String> {
    let (version, width, dark) = symbol(text)?;
    let width = width as u32;
    let mut runs = Vec::new();
    for (y, row) in dark.chunks_exact(width as usize).enumerate() {
        let mut x = 0;
        while x < row.len() {
            if row[x] {
                let start = x;
                while x < row.len() && row[x] {
                    x += 1;
                }
                runs.push(Run {
                    x: start as u32 + QUIET_ZONE,
                    y: y as u32 + QUIET_ZONE,
                    len: (x - start) as u32,
                });
            } else {
                x += 1;
            }
        }
    }
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
    use proptest::prelude::*;

    proptest! {
        /// Our mask choice is the `qrcode` crate's: the same modules for any text, QR-alphanumeric (what
        /// certificates carry) or not.
        #[test]
        fn the_symbol_is_the_one_qrcode_makes(text in "[A-Z0-9 $%*+./:-]{1,400}|\\PC{1,120}|[A-Z0-9]{2000,2300}") {
            // (The last texts need more than 128 modules: the line-by-line path.)
            let ours = symbol(&text).unwrap();
            let theirs = qrcode::QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).unwrap();
            prop_assert_eq!(ours.1, theirs.width());
            let dark: Vec<bool> = theirs.to_colors().into_iter().map(|c| c == Color::Dark).collect();
            prop_assert_eq!(ours.2, dark);
        }
    }

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
