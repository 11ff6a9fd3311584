//! Text in images: which images are likely to hold text ([`gate`], cheap, on
//! every image) and what the text says ([`read_text`], Tesseract 5 loaded at
//! run time, on the few the gate lets through).
//!
//! Building scry never needs Tesseract: it is found at run time like libheif
//! (`libtesseract.so.5`, Debian's `libtesseract5` with `tesseract-ocr-eng`), and
//! `scry index --ocr` without it says what to install.
//!
//! Before Tesseract sees an image it is made grey, brought to at most
//! [`MAX_SIDE`] pixels on its long side, straightened (the skew a quick phone
//! photo of a page has, which Tesseract's own layout analysis does not undo past
//! a few degrees) and, when the gate saw light strokes on dark ground (signs,
//! title bars), read a second time inverted. Only words Tesseract is fairly sure
//! of are kept.

mod tesseract;

pub use tesseract::{available, check, version, TESSERACT_INSTALL};

use image::{GrayImage, RgbImage};

/// The long side Tesseract reads at most: a downscaled copy of larger images.
pub const MAX_SIDE: u32 = 2400;
/// Words Tesseract gives less confidence than this (0–100) are dropped: on
/// textures it reports strings of letters it is unsure of.
pub const MIN_WORD_CONFIDENCE: f32 = 40.0;

/// The most text kept of one picture, in bytes.
pub const MAX_TEXT_BYTES: usize = 8 * 1024;

/// The OCR languages, Tesseract's names joined by `+` ("eng", "eng+deu").
pub const DEFAULT_LANGUAGES: &str = "eng";

/// What the gate measured on an image (the default: no text).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gate {
    /// Where the text-like blocks lie: boxes `[x0, y0, x1, y1]` as fractions
    /// of the image's width and height, padded.
    pub regions: Vec<[f32; 4]>,
    /// Share of the image's blocks that look like lines of text (many thin,
    /// high-contrast strokes side by side).
    pub text_blocks: f32,
    /// Of the strokes in those blocks, the share that are light on dark ground.
    pub light_share: f32,
    /// Text blocks whose strokes are mostly light on dark (a sign, a title bar).
    pub light_blocks: u32,
}

impl Gate {
    /// Whether the image is worth reading.
    pub fn passes(&self) -> bool {
        self.text_blocks >= GATE_MIN_TEXT_BLOCKS
    }
    /// Whether the text is (partly) light on dark, so an inverted reading helps.
    pub fn light_text(&self) -> bool {
        self.light_share >= 0.25 || self.light_blocks >= 3
    }
}

/// The side the gate looks at (the long side of its copy).
const GATE_SIDE: u32 = 640;
/// Block size of the gate, in pixels of its copy.
const BLOCK: u32 = 24;
/// A step in brightness this large starts or ends a stroke.
const EDGE: i16 = 56;
/// A stroke is at most this wide (in pixels of the gate's copy).
const MAX_STROKE: usize = 7;
/// Strokes a block needs to look like text.
const STROKES_PER_BLOCK: u32 = 10;
/// Text regions covering less than this share of an image are read as crops.
const CROP_BELOW: f32 = 0.35;
/// Images (or crops) with a long side below this are read at 1.5 times the size.
const UPSCALE_BELOW: u32 = 1400;
/// The margin added around what Tesseract reads.
const PAD: u32 = 16;
/// How much sharper than level a turned row profile must be to be believed.
const SKEW_GAIN: f64 = 2.0;
/// A step this small between neighbours is even ground.
const FLAT: i16 = 6;
/// Share of even ground a text block has at least.
const MIN_FLAT: f32 = 0.45;
/// Share of text-like blocks an image needs to pass.
pub const GATE_MIN_TEXT_BLOCKS: f32 = 0.02;

/// `(w, h)` brought to `side` on the long side (never up).
fn fit(w: u32, h: u32, side: u32) -> (u32, u32) {
    let long = w.max(h);
    if long <= side {
        return (w, h);
    }
    let s = side as f32 / long as f32;
    (
        ((w as f32 * s).round() as u32).max(1),
        ((h as f32 * s).round() as u32).max(1),
    )
}

/// `raw` (`from` pixels of `pixel`) resized to `to`, bilinear: the gate and
/// the reading need speed here, not Pillow's exact pixels.
fn bilinear(
    raw: &[u8],
    from: (u32, u32),
    to: (u32, u32),
    pixel: fast_image_resize::PixelType,
) -> Vec<u8> {
    use fast_image_resize as fr;
    let src = fr::images::ImageRef::new(from.0, from.1, raw, pixel)
        .expect("an image's buffer always matches its dimensions");
    let mut dst = fr::images::Image::new(to.0, to.1, pixel);
    let options =
        fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Bilinear));
    fr::Resizer::new()
        .resize(&src, &mut dst, &options)
        .expect("same pixel type, non-empty images");
    dst.into_vec()
}

/// Downscales to `side` on the long side (never up), grey (Rec. 601 luma, as
/// Pillow's `convert("L")`). The downscale comes first, so a large image is
/// never copied whole.
fn grey(rgb: &RgbImage, side: u32) -> GrayImage {
    let (w, h) = fit(rgb.width(), rgb.height(), side);
    let small;
    let src = if (w, h) == rgb.dimensions() {
        rgb
    } else {
        let raw = bilinear(
            rgb.as_raw(),
            rgb.dimensions(),
            (w, h),
            fast_image_resize::PixelType::U8x3,
        );
        small = RgbImage::from_raw(w, h, raw).expect("buffer sized for w × h");
        &small
    };
    let luma = src
        .as_raw()
        .chunks_exact(3)
        .map(|p| {
            ((p[0] as u32 * 19595 + p[1] as u32 * 38470 + p[2] as u32 * 7471 + 32768) >> 16) as u8
        })
        .collect();
    GrayImage::from_raw(w, h, luma).expect("one byte a pixel")
}

/// A grey image brought to `side` on its long side (never up).
fn shrink_grey(g: &GrayImage, side: u32) -> GrayImage {
    let (w, h) = fit(g.width(), g.height(), side);
    if (w, h) == g.dimensions() {
        return g.clone();
    }
    let raw = bilinear(
        g.as_raw(),
        g.dimensions(),
        (w, h),
        fast_image_resize::PixelType::U8,
    );
    GrayImage::from_raw(w, h, raw).expect("buffer sized for w × h")
}

/// Calls `found(x, y, dark)` for every thin stroke across a row of `g`: a step
/// of at least [`EDGE`] in brightness and the step back within
/// [`MAX_STROKE`] pixels, with the ground on both sides alike (a glyph's stem
/// on paper or on a sign; not the edge between two regions, nor a blade of
/// grass against other blades). `dark`: darker than its ground.
fn strokes(g: &GrayImage, mut found: impl FnMut(u32, u32, bool)) {
    let w = g.width() as usize;
    for (y, row) in g.as_raw().chunks_exact(w).enumerate() {
        let mut x = 1;
        while x < row.len() {
            let step = row[x] as i16 - row[x - 1] as i16;
            if step.abs() < EDGE {
                x += 1;
                continue;
            }
            let down = step < 0;
            let end = (x + MAX_STROKE).min(row.len());
            let mut back = None;
            for e in x + 1..end {
                let s = row[e] as i16 - row[e - 1] as i16;
                if (down && s >= EDGE) || (!down && s <= -EDGE) {
                    back = Some(e);
                    break;
                }
            }
            match back {
                Some(e) if (row[x - 1] as i16 - row[e] as i16).abs() <= EDGE / 2 => {
                    found(((x + e) / 2) as u32, y as u32, down);
                    x = e + 1;
                }
                _ => x += 1,
            }
        }
    }
}

/// Whether an image likely holds text, from thin high-contrast strokes on an
/// even ground, in rows: text is dense with them where photos have few (their
/// edges are long, their textures have no even ground). Costs a small
/// downscale and one pass over it.
pub fn gate(rgb: &RgbImage) -> Gate {
    if rgb.width() == 0 || rgb.height() == 0 {
        return Gate::default();
    }
    let g = grey(rgb, GATE_SIDE);
    let (w, h) = (g.width(), g.height());
    let (bw, bh) = (w.div_ceil(BLOCK), h.div_ceil(BLOCK));
    let mut dark = vec![0u32; (bw * bh) as usize];
    let mut light = vec![0u32; (bw * bh) as usize];
    strokes(&g, |x, y, is_dark| {
        let b = ((y / BLOCK) * bw + x / BLOCK) as usize;
        if is_dark {
            dark[b] += 1;
        } else {
            light[b] += 1;
        }
    });
    // An even ground: the share of a block's pixels with no step to their
    // right neighbour.
    let mut flat = vec![0u32; (bw * bh) as usize];
    for (y, row) in g.as_raw().chunks_exact(w as usize).enumerate() {
        for (x, p) in row.windows(2).enumerate() {
            if (p[0] as i16 - p[1] as i16).abs() <= FLAT {
                flat[((y as u32 / BLOCK) * bw + x as u32 / BLOCK) as usize] += 1;
            }
        }
    }
    let (mut text, mut d, mut l) = (0u32, 0u32, 0u32);
    let mut mask = vec![false; (bw * bh) as usize];
    let mut light_blocks = 0;
    for (b, (a, c)) in dark.iter().zip(&light).enumerate() {
        let (bx, by) = (b as u32 % bw, b as u32 / bw);
        let area = (BLOCK.min(w - bx * BLOCK) * BLOCK.min(h - by * BLOCK)).max(1);
        if a + c >= STROKES_PER_BLOCK && flat[b] as f32 >= MIN_FLAT * area as f32 {
            text += 1;
            d += a;
            l += c;
            mask[b] = true;
            if c > a {
                light_blocks += 1;
            }
        }
    }
    Gate {
        regions: regions(&mask, w, h),
        light_blocks,
        text_blocks: text as f32 / (bw * bh).max(1) as f32,
        light_share: if d + l == 0 {
            0.0
        } else {
            l as f32 / (d + l) as f32
        },
    }
}

/// Boxes around groups of text blocks (blocks within two of each other join a
/// group; a lone block is left out), padded by a block, as fractions.
fn regions(mask: &[bool], w: u32, h: u32) -> Vec<[f32; 4]> {
    let (bw, bh) = (w.div_ceil(BLOCK) as i64, h.div_ceil(BLOCK) as i64);
    let mut seen = vec![false; mask.len()];
    let mut out = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        let mut stack = vec![start];
        let (mut x0, mut y0, mut x1, mut y1, mut n) = (bw, bh, 0, 0, 0);
        while let Some(b) = stack.pop() {
            let (x, y) = (b as i64 % bw, b as i64 / bw);
            (x0, y0, x1, y1, n) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y), n + 1);
            for dy in -2..=2 {
                for dx in -2..=2 {
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < 0 || ny < 0 || nx >= bw || ny >= bh {
                        continue;
                    }
                    let nb = (ny * bw + nx) as usize;
                    if mask[nb] && !seen[nb] {
                        seen[nb] = true;
                        stack.push(nb);
                    }
                }
            }
        }
        if n >= 2 {
            // In pixels of the gate's copy (the last block may be partial),
            // then as fractions of it.
            let at = |b: i64, len: u32| ((b.max(0) as u32 * BLOCK).min(len)) as f32 / len as f32;
            out.push([
                at(x0 - 2, w),
                at(y0 - 2, h),
                at((x1 + 3).min(bw), w),
                at((y1 + 3).min(bh), h),
            ]);
        }
    }
    // Padded boxes that overlap become one, so no crop cuts a line in two.
    let overlap =
        |a: &[f32; 4], b: &[f32; 4]| a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
    let mut merged = true;
    while merged {
        merged = false;
        'outer: for i in 0..out.len() {
            for j in i + 1..out.len() {
                if overlap(&out[i], &out[j]) {
                    let b = out.swap_remove(j);
                    let a = &mut out[i];
                    *a = [
                        a[0].min(b[0]),
                        a[1].min(b[1]),
                        a[2].max(b[2]),
                        a[3].max(b[3]),
                    ];
                    merged = true;
                    break 'outer;
                }
            }
        }
    }
    out
}

/// The skew of lines of text, in degrees, from the angle whose row profile of
/// stroke centres is sharpest (only strokes: a dark region or the edge of a
/// page would outweigh the text); 0 when nothing is clearly better than level.
/// Turning the image by the result ([`rotate`]) levels its lines.
pub fn skew(g: &GrayImage) -> f32 {
    let small = shrink_grey(g, 800);
    // Stroke centres, kept only in blocks dense with them (lines of text, not
    // the odd stroke of a photo's texture).
    let mut all: Vec<(u32, u32)> = Vec::new();
    strokes(&small, |x, y, _| all.push((x, y)));
    let bw = small.width().div_ceil(BLOCK);
    let mut per_block = vec![0u32; (bw * small.height().div_ceil(BLOCK)) as usize];
    let block = |x: u32, y: u32| ((y / BLOCK) * bw + x / BLOCK) as usize;
    for &(x, y) in &all {
        per_block[block(x, y)] += 1;
    }
    let points: Vec<(f32, f32)> = all
        .iter()
        .filter(|&&(x, y)| per_block[block(x, y)] >= STROKES_PER_BLOCK)
        .map(|&(x, y)| (x as f32, y as f32))
        .collect();
    if points.len() < 50 {
        return 0.0;
    }
    let h = small.height() as f32;
    let w = small.width() as f32;
    let sharpness = |deg: f32| -> f64 {
        let (s, c) = deg.to_radians().sin_cos();
        let rows = (h + w) as usize + 2;
        let mut bins = vec![0u32; rows];
        for &(x, y) in &points {
            // The row of the point once the image is turned by -deg.
            let r = y * c + x * s + w;
            bins[(r.max(0.0) as usize).min(rows - 1)] += 1;
        }
        bins.iter().map(|&b| (b as f64) * (b as f64)).sum()
    };
    let flat = sharpness(0.0);
    let mut best = (0.0f32, flat);
    let mut deg = -15.0f32;
    while deg <= 15.0 {
        let v = sharpness(deg);
        if v > best.1 {
            best = (deg, v);
        }
        deg += 0.5;
    }
    // Refine around the best.
    let (mut fine, mut fine_v) = best;
    let mut d = best.0 - 0.4;
    while d <= best.0 + 0.4 {
        let v = sharpness(d);
        if v > fine_v {
            (fine, fine_v) = (d, v);
        }
        d += 0.1;
    }
    // Only a clear gain over reading it as it is.
    if fine_v < flat * SKEW_GAIN {
        return 0.0;
    }
    // The profile is sharpest when the image is turned by -fine (text rising to
    // the right is counter-clockwise, a negative `fine` here).
    -fine
}

/// `g` with `by` pixels added on every side, copies of the nearest edge pixel.
fn pad(g: &GrayImage, by: u32) -> GrayImage {
    let (w, h) = (g.width() as i64, g.height() as i64);
    GrayImage::from_fn(g.width() + 2 * by, g.height() + 2 * by, |x, y| {
        let sx = (x as i64 - by as i64).clamp(0, w - 1) as u32;
        let sy = (y as i64 - by as i64).clamp(0, h - 1) as u32;
        *g.get_pixel(sx, sy)
    })
}

/// Turns `g` by `deg` degrees clockwise about its centre (bilinear), keeping
/// its size, the corners filled with the image's brightest level (paper).
fn rotate(g: &GrayImage, deg: f32) -> GrayImage {
    let (w, h) = (g.width() as f32, g.height() as f32);
    let (s, c) = deg.to_radians().sin_cos();
    let (cx, cy) = (w / 2.0, h / 2.0);
    let fill = g.as_raw().iter().copied().max().unwrap_or(255);
    GrayImage::from_fn(g.width(), g.height(), |x, y| {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        // Source of this pixel: turn back by -deg.
        let sx = c * dx - s * dy + cx;
        let sy = s * dx + c * dy + cy;
        if sx < 0.0 || sy < 0.0 || sx > w - 1.0 || sy > h - 1.0 {
            return image::Luma([fill]);
        }
        let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
        let (x1, y1) = ((x0 + 1).min(g.width() - 1), (y0 + 1).min(g.height() - 1));
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let p = |x, y| g.get_pixel(x, y).0[0] as f32;
        let v = p(x0, y0) * (1.0 - fx) * (1.0 - fy)
            + p(x1, y0) * fx * (1.0 - fy)
            + p(x0, y1) * (1.0 - fx) * fy
            + p(x1, y1) * fx * fy;
        image::Luma([v.round() as u8])
    })
}

/// The text of an image, lines joined by newlines; empty when Tesseract found
/// no word it is sure of. `gate` is what [`gate`] said of it (decides the
/// inverted reading). The error says what is missing (Tesseract, a language).
pub fn read_text(rgb: &RgbImage, gate: &Gate, languages: &str) -> Result<String, String> {
    let g = grey(rgb, MAX_SIDE);
    // Text in a small part of a photo (a sign, a label) is read from crops
    // around it: Tesseract's layout analysis takes a busy photo around it for a
    // picture and skips the lot. A page or a screen is read whole.
    let covered: f32 = gate
        .regions
        .iter()
        .map(|r| (r[2] - r[0]) * (r[3] - r[1]))
        .sum();
    let mut lines: Vec<String> = Vec::new();
    let mut add = |more: Vec<String>| {
        // Lines read twice (both ways, two crops) are kept once.
        for line in more {
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
    };
    let (w, h) = (g.width() as f32, g.height() as f32);
    if covered < CROP_BELOW && !gate.regions.is_empty() && gate.regions.len() <= 8 {
        for r in &gate.regions {
            let (x0, y0) = ((r[0] * w) as u32, (r[1] * h) as u32);
            let (x1, y1) = (
                ((r[2] * w) as u32).min(g.width()),
                ((r[3] * h) as u32).min(g.height()),
            );
            if x1 <= x0 + 8 || y1 <= y0 + 8 {
                continue;
            }
            let crop = image::imageops::crop_imm(&g, x0, y0, x1 - x0, y1 - y0).to_image();
            add(read_one(crop, gate, languages)?);
        }
    } else {
        add(read_one(g, gate, languages)?);
    }
    let mut text = lines.join("\n");
    // A page of small print holds a few thousand characters; more is not a
    // picture's text but a scan of a book, kept to its beginning.
    if text.len() > MAX_TEXT_BYTES {
        let mut end = MAX_TEXT_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    Ok(text)
}

/// Straightens `g` and reads it (inverted too when the gate saw light text:
/// both readings' lines, repeats left to the caller).
fn read_one(mut g: GrayImage, gate: &Gate, languages: &str) -> Result<Vec<String>, String> {
    let angle = skew(&g);
    if angle.abs() >= 1.0 {
        g = rotate(&g, angle);
    }
    // Screens and small crops hold small text: Tesseract reads letters of
    // 20-30 pixels best, so those are read at 1.5 times the size.
    if g.width().max(g.height()) < UPSCALE_BELOW {
        g = image::imageops::resize(
            &g,
            g.width() * 3 / 2,
            g.height() * 3 / 2,
            image::imageops::FilterType::CatmullRom,
        );
    }
    // A margin of the edge's own pixels: Tesseract loses letters that touch
    // the border (a title at the edge of its bar).
    g = pad(&g, PAD);
    let mut lines = tesseract::recognise(&g, languages, MIN_WORD_CONFIDENCE)?;
    if gate.light_text() {
        image::imageops::invert(&mut g);
        lines.extend(tesseract::recognise(&g, languages, MIN_WORD_CONFIDENCE)?);
    }
    Ok(lines)
}

/// The image type OCR reads (8-bit RGB).
pub type Rgb = RgbImage;

/// The short side an image the gate took for text is decoded at for OCR when
/// it was decoded smaller for the model (a phone photo of a receipt).
pub const DECODE_SHORT_SIDE: u32 = 1500;

/// Reads an image if the gate lets it through: `None` when it did not, the
/// text (maybe empty) when it did. `rgb` is the image the indexer decoded for
/// the model from the file's `bytes`, maybe scaled down from its `full` size. The gate
/// looks at `rgb`; an image it takes for text is decoded again larger when
/// `rgb` is small, so small print survives.
pub fn read_decoded(
    bytes: &[u8],
    rgb: &RgbImage,
    full: (u32, u32),
    languages: &str,
) -> Result<Option<String>, String> {
    let g = gate(rgb);
    if !g.passes() {
        return Ok(None);
    }
    if rgb.width() < full.0 && rgb.width().min(rgb.height()) < DECODE_SHORT_SIDE {
        if let Ok(d) = crate::decode::decode_full(bytes, Some(DECODE_SHORT_SIDE)) {
            return read_text(&crate::preprocess::to_rgb(d.image), &g, languages).map(Some);
        }
    }
    read_text(rgb, &g, languages).map(Some)
}

/// Whether `text`'s words (as the keyword index splits them) hold `phrase`'s
/// words in a row, case-insensitively: what `text:"…"` asks.
pub fn contains_phrase(text: &str, phrase: &[String]) -> bool {
    if phrase.is_empty() {
        return true;
    }
    let words = crate::keyword::tokens(text);
    words.windows(phrase.len()).any(|w| w == phrase)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_with_lines(angle: f32) -> GrayImage {
        // Lines of "text" on white: thin dark stems at irregular places in
        // rows (a regular lattice would have sharp projections of its own),
        // then turned.
        let mut g = GrayImage::from_pixel(600, 400, image::Luma([255]));
        let mut seed = 12345u32;
        let mut stems = vec![false; 600];
        for s in stems.iter_mut() {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            *s = (seed >> 16).is_multiple_of(3);
        }
        for line in 0..6 {
            let y0 = 60 + line * 50;
            for y in y0..y0 + 14 {
                for x in 60..540 {
                    if stems[(x as usize + line as usize * 37) % 600] {
                        g.put_pixel(x, y, image::Luma([20]));
                    }
                }
            }
        }
        rotate(&g, angle)
    }

    #[test]
    fn skew_is_found_and_undone() {
        for angle in [-9.0f32, -4.0, 5.0, 11.0] {
            let g = page_with_lines(angle);
            let found = skew(&g);
            assert!(
                (found + angle).abs() < 0.6,
                "turned by {angle}, measured {found}"
            );
        }
        assert_eq!(skew(&page_with_lines(0.0)), 0.0);
    }

    #[test]
    fn plain_images_do_not_pass_the_gate() {
        let flat = RgbImage::from_pixel(500, 400, image::Rgb([120, 140, 160]));
        assert!(!gate(&flat).passes());
        // Long edges (a photo's outlines) are not strokes.
        let halves = RgbImage::from_fn(500, 400, |x, _| {
            if x < 250 {
                image::Rgb([10, 10, 10])
            } else {
                image::Rgb([240, 240, 240])
            }
        });
        assert!(!gate(&halves).passes());
    }

    #[test]
    fn phrases_match_words_in_a_row() {
        let text = "Boarding pass\nGATE B12 — seat 14C";
        let p = |s: &str| crate::keyword::tokens(s);
        assert!(contains_phrase(text, &p("gate b12")));
        assert!(contains_phrase(text, &p("B12 seat")));
        assert!(!contains_phrase(text, &p("gate seat")));
        assert!(!contains_phrase(text, &p("b1")));
    }
}
