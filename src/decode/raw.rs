//! Camera RAW by its embedded preview, as photo managers do: the camera already
//! rendered the scene as a JPEG and stored it beside the sensor data. scry takes
//! the largest such JPEG (LibRaw's `extract_thumb`, which rawpy exposes, does the
//! same), decodes it like any JPEG (DCT-scaled), and applies the orientation the
//! RAW records: previews carry none of their own.
//!
//! Where the previews live:
//! - TIFF-based (DNG, CR2, NEF, ARW, PEF, ORF, RW2): `JPEGInterchangeFormat` and
//!   JPEG-compressed strips in IFD0, the IFD chain and every SubIFD; Panasonic's
//!   `JpgFromRaw` tag (0x2E); Olympus's maker note (`CameraSettings` 0x2020,
//!   `PreviewImageStart`/`Length`).
//! - CR3 (ISO media): the `PRVW` box in the preview `uuid` box, and the full-size
//!   JPEG of the first track.
//! - RAF: the JPEG offset and length in the header (bytes 84..92).

use image::metadata::Orientation;
use image::DynamicImage;

use super::bmff;

/// A RAW format, told apart by its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawKind {
    Dng,
    Cr2,
    Cr3,
    Nef,
    Arw,
    Raf,
    Orf,
    Rw2,
    Pef,
    /// A TIFF with sensor data from another maker.
    Other,
}

impl RawKind {
    /// Lower-case name, as the catalog's `format` field keeps it.
    pub fn name(self) -> &'static str {
        match self {
            RawKind::Dng => "dng",
            RawKind::Cr2 => "cr2",
            RawKind::Cr3 => "cr3",
            RawKind::Nef => "nef",
            RawKind::Arw => "arw",
            RawKind::Raf => "raf",
            RawKind::Orf => "orf",
            RawKind::Rw2 => "rw2",
            RawKind::Pef => "pef",
            RawKind::Other => "raw",
        }
    }
}

/// The RAW kind of these bytes, or `None` (a plain TIFF is not a RAW).
pub(super) fn detect(bytes: &[u8]) -> Option<RawKind> {
    if bytes.starts_with(b"FUJIFILMCCD-RAW ") {
        return Some(RawKind::Raf);
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" && &bytes[8..12] == b"crx " {
        return Some(RawKind::Cr3);
    }
    match bytes.get(0..4)? {
        b"IIRO" | b"IIRS" | b"MMOR" => return Some(RawKind::Orf),
        [b'I', b'I', 0x55, 0] => return Some(RawKind::Rw2),
        b"II*\0" | b"MM\0*" => {}
        _ => return None,
    }
    if bytes.get(8..10) == Some(b"CR") {
        return Some(RawKind::Cr2);
    }
    let tiff = Tiff::new(bytes, 0)?;
    let mut sensor = false;
    let mut dng = false;
    let mut make = String::new();
    tiff.walk(|ifd, _| {
        dng |= ifd.get(0xC612).is_some();
        // CFA or LinearRaw pixels, or a maker's RAW compression.
        sensor |= matches!(ifd.uint(0x106), Some(32803 | 34892))
            || matches!(
                ifd.uint(0x103),
                Some(34713 | 32767 | 65535 | 32769 | 32770 | 65000)
            );
        if make.is_empty() {
            if let Some(m) = ifd.ascii(0x10F) {
                make = m.to_ascii_uppercase();
            }
        }
    });
    if dng {
        return Some(RawKind::Dng);
    }
    if !sensor {
        return None;
    }
    Some(if make.starts_with("NIKON") {
        RawKind::Nef
    } else if make.starts_with("SONY") {
        RawKind::Arw
    } else if make.starts_with("PENTAX") || make.starts_with("RICOH") {
        RawKind::Pef
    } else if make.starts_with("CANON") {
        RawKind::Cr2
    } else {
        RawKind::Other
    })
}

/// The largest embedded JPEG preview and the RAW's own orientation.
pub(super) struct Preview<'a> {
    pub jpeg: &'a [u8],
    pub orientation: Option<Orientation>,
}

/// Finds the largest JPEG preview of a RAW file.
pub(super) fn preview(bytes: &[u8], kind: RawKind) -> Result<Preview<'_>, String> {
    let mut found = Found {
        file: bytes,
        jpegs: Vec::new(),
        truncated: false,
    };
    let mut orientation = None;
    match kind {
        RawKind::Raf => {
            let at = |i: usize| {
                bytes
                    .get(i..i + 4)
                    .map(|b| u32::from_be_bytes(b.try_into().unwrap()) as usize)
            };
            if let (Some(off), Some(len)) = (at(84), at(88)) {
                found.add(off, len);
            }
            // The sensor data follows; a file cut short loses it first.
            if let (Some(off), Some(len)) = (at(100), at(104)) {
                found.truncated |= off as u64 + len as u64 > bytes.len() as u64;
            }
        }
        RawKind::Cr3 => cr3_previews(bytes, &mut found, &mut orientation),
        _ => {
            let Some(tiff) = Tiff::new(bytes, 0) else {
                return Err(format!(
                    "corrupt {} file: no TIFF header",
                    kind.name().to_uppercase()
                ));
            };
            tiff_previews(&tiff, &mut found, &mut orientation);
        }
    }
    if found.truncated {
        return Err(format!(
            "truncated {} file (it ends before the data it points to)",
            kind.name().to_uppercase()
        ));
    }
    // Largest by pixels, as LibRaw picks; a JPEG whose header cannot be read is
    // not a preview.
    let best = found
        .jpegs
        .into_iter()
        .filter_map(|j| jpeg_dimensions(j).map(|(w, h)| (w as u64 * h as u64, j.len(), j)))
        .max_by_key(|&(area, len, _)| (area, len))
        .map(|(_, _, j)| j);
    match best {
        Some(jpeg) => Ok(Preview { jpeg, orientation }),
        None => Err(format!(
            "unsupported {} file: no embedded preview (scry reads RAW files by the JPEG preview the camera stores in them; this one has none)",
            kind.name().to_uppercase()
        )),
    }
}

/// Decodes the preview of a RAW file; see the module docs.
pub(super) fn decode(
    bytes: &[u8],
    kind: RawKind,
    min_short_side: Option<u32>,
) -> Result<(DynamicImage, u32, u32), String> {
    let p = preview(bytes, kind)?;
    let name = kind.name().to_uppercase();
    let (mut img, w, h, own) = match super::jpeg::decode_jpeg(p.jpeg, min_short_side) {
        Ok(d) => d,
        Err(super::jpeg::JpegError::Cmyk) => {
            return Err(format!("unsupported {name} preview (a CMYK JPEG)"))
        }
        Err(super::jpeg::JpegError::Message(m)) => {
            return Err(format!("corrupt {name} preview: {m}"))
        }
    };
    // A preview with an orientation of its own (Fuji's full EXIF JPEG) was turned
    // by it; the others take the RAW's.
    let (mut w, mut h) = (w, h);
    if !own {
        if let Some(o) = p.orientation {
            img.apply_orientation(o);
            if matches!(
                o,
                Orientation::Rotate90
                    | Orientation::Rotate270
                    | Orientation::Rotate90FlipH
                    | Orientation::Rotate270FlipH
            ) {
                std::mem::swap(&mut w, &mut h);
            }
        }
    }
    Ok((img, w, h))
}

/// The JPEGs a RAW file points to, and whether any pointer runs past its end.
struct Found<'a> {
    file: &'a [u8],
    jpegs: Vec<&'a [u8]>,
    truncated: bool,
}

impl Found<'_> {
    /// Records the region `off..off + len` if it holds a JPEG.
    fn add(&mut self, off: usize, len: usize) {
        match off.checked_add(len).and_then(|end| self.file.get(off..end)) {
            Some(s) if s.starts_with(&[0xFF, 0xD8]) => self.jpegs.push(s),
            Some(_) => {}
            None => self.truncated = true,
        }
    }
}

/// Width and height from a JPEG's frame header, without decoding it.
pub(crate) fn jpeg_dimensions(b: &[u8]) -> Option<(u32, u32)> {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut i = 2;
    while i + 4 <= b.len() {
        if b[i] != 0xFF {
            return None;
        }
        let m = b[i + 1];
        if m == 0xFF {
            i += 1;
            continue;
        }
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&m) && !matches!(m, 0xC4 | 0xC8 | 0xCC) {
            let h = u16::from_be_bytes([*b.get(i + 5)?, *b.get(i + 6)?]) as u32;
            let w = u16::from_be_bytes([*b.get(i + 7)?, *b.get(i + 8)?]) as u32;
            return (w > 0 && h > 0).then_some((w, h));
        }
        if m == 0xDA || len < 2 {
            return None;
        }
        i += 2 + len;
    }
    None
}

fn tiff_previews<'a>(
    tiff: &Tiff<'a>,
    found: &mut Found<'a>,
    orientation: &mut Option<Orientation>,
) {
    let b = tiff.data;
    let truncated = tiff.walk(|ifd, depth| {
        if depth == 0 && orientation.is_none() {
            *orientation = ifd
                .uint(0x112)
                .and_then(|v| Orientation::from_exif(u8::try_from(v).ok()?));
        }
        // JPEGInterchangeFormat / Length.
        if let (Some(off), Some(len)) = (ifd.uint(0x201), ifd.uint(0x202)) {
            found.add(tiff.base + off as usize, len as usize);
        }
        // One JPEG strip (old-style 6, or 7).
        if matches!(ifd.uint(0x103), Some(6 | 7)) {
            if let (Some(off), Some(len)) = (ifd.uint(0x111), ifd.uint(0x117)) {
                found.add(tiff.base + off as usize, len as usize);
            }
        }
        // The sensor data: a strip past the end means a partly copied file.
        if let (Some(offs), Some(lens)) = (ifd.get(0x111), ifd.get(0x117)) {
            for i in 0..(offs.count.min(lens.count) as usize).min(10_000) {
                if let (Some(o), Some(l)) = (ifd.uint_at(offs, i), ifd.uint_at(lens, i)) {
                    let end = (tiff.base as u64) + o as u64 + l as u64;
                    if end > b.len() as u64 {
                        found.truncated = true;
                    }
                }
            }
        }
        // Panasonic RW2: JpgFromRaw holds the JPEG itself.
        if let Some(e) = ifd.get(0x2E) {
            found.add(e.at, e.count as usize);
        }
        // Olympus ORF: the preview is in the maker note's CameraSettings.
        if let Some(note) = ifd.get(0x927C) {
            olympus_preview(b, note.at, note.count as usize, found);
        }
    });
    found.truncated |= truncated;
}

/// An Olympus maker note ("OLYMPUS\0II\3\0" + IFD, offsets from the note's start).
fn olympus_preview<'a>(file: &'a [u8], note_at: usize, len: usize, found: &mut Found<'a>) {
    let Some(note) = file.get(note_at..note_at.saturating_add(len)) else {
        return;
    };
    if !note.starts_with(b"OLYMPUS\0") || note.len() < 16 {
        return;
    }
    let mn = Tiff {
        data: file,
        base: note_at,
        le: &note[8..10] == b"II",
    };
    let Some(root) = mn.ifd(note_at + 12) else {
        return;
    };
    let Some(cs) = root.get(0x2020) else {
        return;
    };
    // CameraSettings is a sub-IFD: stored inline as bytes (UNDEFINED), or pointed to.
    let at = if cs.kind == 7 {
        cs.at
    } else {
        match root.uint_at(cs, 0) {
            Some(o) => note_at + o as usize,
            None => return,
        }
    };
    if let Some(settings) = mn.ifd(at) {
        if let (Some(off), Some(len)) = (settings.uint(0x101), settings.uint(0x102)) {
            found.add(note_at + off as usize, len as usize);
        }
    }
}

const CR3_PREVIEW_UUID: [u8; 16] = [
    0xea, 0xf4, 0x2b, 0x5e, 0x1c, 0x98, 0x4b, 0x88, 0xb9, 0xfb, 0xb7, 0xdc, 0x40, 0x6e, 0x4d, 0x16,
];
const CR3_META_UUID: [u8; 16] = [
    0x85, 0xc0, 0xb6, 0x87, 0x82, 0x0f, 0x11, 0xe0, 0x81, 0x11, 0xf4, 0xce, 0x46, 0x2b, 0x6a, 0x48,
];

fn cr3_previews<'a>(bytes: &'a [u8], found: &mut Found<'a>, orientation: &mut Option<Orientation>) {
    let mut end = 0;
    for top in bmff::boxes(bytes) {
        end = top.offset + top.body.len();
        match &top.kind {
            b"uuid" if top.body.starts_with(&CR3_PREVIEW_UUID) => {
                // 16-byte uuid, 8 bytes, then PRVW: 4 unknown, 2, width 2,
                // height 2, 2, JPEG length 4, JPEG.
                let inner = &top.body[16..];
                if let Some(prvw) = inner.get(8..).and_then(|rest| bmff::child(rest, b"PRVW")) {
                    let body = prvw.body;
                    if let Some(len) = body.get(12..16) {
                        let len = u32::from_be_bytes(len.try_into().unwrap()) as usize;
                        let at = top.offset + 16 + 8 + prvw.offset + 16;
                        found.add(at, len);
                    }
                }
            }
            b"moov" => {
                for b in bmff::boxes(top.body) {
                    if &b.kind == b"uuid" && b.body.starts_with(&CR3_META_UUID) {
                        if let Some(cmt1) = bmff::child(&b.body[16..], b"CMT1") {
                            *orientation = crate::metadata::orientation_of_tiff(cmt1.body);
                        }
                    }
                    if &b.kind == b"trak" {
                        if let Some((off, len)) = first_track_sample(b.body) {
                            found.add(off, len);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    // The walk stops at a box that runs past the end (the sensor data in `mdat`).
    found.truncated |= declared_end(bytes).is_some_and(|e| e > end as u64);
}

/// Where the last top-level box of an ISO media file says it ends.
fn declared_end(bytes: &[u8]) -> Option<u64> {
    let mut at = 0u64;
    loop {
        let head = bytes.get(at as usize..at as usize + 16.min(bytes.len() - at as usize))?;
        if head.len() < 8 {
            return Some(at + 8);
        }
        let size = match u32::from_be_bytes(head[0..4].try_into().unwrap()) as u64 {
            0 => return Some(bytes.len() as u64),
            1 if head.len() >= 16 => u64::from_be_bytes(head[8..16].try_into().unwrap()),
            n => n,
        };
        if size < 8 {
            return None;
        }
        at += size;
        if at >= bytes.len() as u64 {
            return Some(at);
        }
    }
}

/// Where the first sample of a track lies (CR3's first track is the full-size
/// JPEG): `mdia/minf/stbl`, offset from `co64`/`stco`, size from `stsz`.
fn first_track_sample(trak: &[u8]) -> Option<(usize, usize)> {
    let stbl = bmff::child(trak, b"mdia")
        .and_then(|m| bmff::child(m.body, b"minf"))
        .and_then(|m| bmff::child(m.body, b"stbl"))?;
    let be32 = |b: &[u8], i: usize| {
        b.get(i..i + 4)
            .map(|x| u32::from_be_bytes(x.try_into().unwrap()))
    };
    let stsz = bmff::child(stbl.body, b"stsz")?.body;
    // version/flags 4, sample_size 4, count 4, then per-sample sizes.
    let size = match be32(stsz, 4)? {
        0 => be32(stsz, 12)?,
        n => n,
    } as usize;
    let offset = if let Some(co64) = bmff::child(stbl.body, b"co64") {
        u64::from_be_bytes(co64.body.get(8..16)?.try_into().unwrap()) as usize
    } else {
        be32(bmff::child(stbl.body, b"stco")?.body, 8)? as usize
    };
    Some((offset, size))
}

/// A TIFF structure inside `data`: offsets count from `base`.
struct Tiff<'a> {
    data: &'a [u8],
    base: usize,
    le: bool,
}

#[derive(Clone, Copy)]
struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    /// Absolute offset of the value (inline or pointed to).
    at: usize,
}

struct Ifd<'t, 'a> {
    tiff: &'t Tiff<'a>,
    entries: Vec<Entry>,
}

impl Ifd<'_, '_> {
    fn get(&self, tag: u16) -> Option<Entry> {
        self.entries.iter().copied().find(|e| e.tag == tag)
    }

    fn uint(&self, tag: u16) -> Option<u32> {
        self.uint_at(self.get(tag)?, 0)
    }

    fn uint_at(&self, e: Entry, i: usize) -> Option<u32> {
        match e.kind {
            3 | 8 => self.tiff.u16(e.at + 2 * i).map(u32::from),
            4 | 9 | 13 => self.tiff.u32(e.at + 4 * i),
            1 | 6 | 7 => self.tiff.data.get(e.at + i).map(|&b| b as u32),
            _ => None,
        }
    }

    fn ascii(&self, tag: u16) -> Option<String> {
        let e = self.get(tag)?;
        let raw = self.tiff.data.get(e.at..e.at + e.count as usize)?;
        let s = String::from_utf8_lossy(raw);
        let s = s.trim_end_matches('\0').trim();
        (!s.is_empty()).then(|| s.to_string())
    }
}

impl<'a> Tiff<'a> {
    fn new(data: &'a [u8], base: usize) -> Option<Self> {
        let le = match data.get(base..base + 2)? {
            b"II" => true,
            b"MM" => false,
            _ => return None,
        };
        Some(Tiff { data, base, le })
    }

    fn u16(&self, at: usize) -> Option<u16> {
        let b: [u8; 2] = self.data.get(at..at + 2)?.try_into().ok()?;
        Some(if self.le {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let b: [u8; 4] = self.data.get(at..at + 4)?.try_into().ok()?;
        Some(if self.le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    /// The IFD at absolute offset `at`, and the absolute offset of the next one.
    fn ifd(&self, at: usize) -> Option<Ifd<'_, 'a>> {
        self.ifd_with_next(at).map(|(i, _)| i)
    }

    fn ifd_with_next(&self, at: usize) -> Option<(Ifd<'_, 'a>, Option<usize>)> {
        let n = self.u16(at)? as usize;
        if n == 0 || n > 1000 {
            return None;
        }
        let mut entries = Vec::with_capacity(n);
        for i in 0..n {
            let e = at + 2 + 12 * i;
            let (tag, kind, count) = (self.u16(e)?, self.u16(e + 2)?, self.u32(e + 4)?);
            let unit = match kind {
                1 | 2 | 6 | 7 => 1u64,
                3 | 8 => 2,
                4 | 9 | 11 | 13 => 4,
                5 | 10 | 12 => 8,
                _ => 0,
            };
            let len = unit * count as u64;
            let value = if len <= 4 {
                e + 8
            } else {
                self.base + self.u32(e + 8)? as usize
            };
            entries.push(Entry {
                tag,
                kind,
                count,
                at: value,
            });
        }
        let next = self
            .u32(at + 2 + 12 * n)
            .filter(|&o| o != 0)
            .map(|o| self.base + o as usize);
        Some((
            Ifd {
                tiff: self,
                entries,
            },
            next,
        ))
    }

    /// Calls `f` on every IFD: the IFD0 chain, SubIFDs and the EXIF IFD, each
    /// once, at most 64 in all (a loop of offsets ends the walk).
    /// Returns whether an IFD offset pointed past the end of the data.
    fn walk(&self, mut f: impl FnMut(&Ifd<'_, 'a>, usize)) -> bool {
        let Some(first) = self.u32(self.base + 4) else {
            return true;
        };
        let mut truncated = false;
        let mut queue = vec![(self.base + first as usize, 0usize)];
        let mut seen = std::collections::HashSet::new();
        while let Some((at, depth)) = queue.pop() {
            if seen.len() >= 64 || !seen.insert(at) {
                continue;
            }
            if at >= self.data.len() {
                truncated = true;
                continue;
            }
            let Some((ifd, next)) = self.ifd_with_next(at) else {
                continue;
            };
            f(&ifd, depth);
            for tag in [0x14A, 0x8769] {
                if let Some(e) = ifd.get(tag) {
                    for i in 0..(e.count as usize).min(16) {
                        if let Some(o) = ifd.uint_at(e, i) {
                            queue.push((self.base + o as usize, depth + 1));
                        }
                    }
                }
            }
            if let Some(n) = next {
                // IFD1 and later in the chain are siblings of IFD0.
                queue.push((n, depth.max(1)));
            }
        }
        truncated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_dimensions_come_from_the_frame_header() {
        let img = image::RgbImage::from_pixel(37, 21, image::Rgb([9, 99, 199]));
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut jpeg)
            .encode_image(&img)
            .unwrap();
        assert_eq!(jpeg_dimensions(&jpeg), Some((37, 21)));
        assert_eq!(jpeg_dimensions(&jpeg[..10]), None);
        assert_eq!(jpeg_dimensions(b"not a jpeg"), None);
    }

    #[test]
    fn a_plain_tiff_is_not_a_raw() {
        let img = image::RgbImage::from_pixel(8, 8, image::Rgb([1, 2, 3]));
        let mut tiff = std::io::Cursor::new(Vec::new());
        img.write_to(&mut tiff, image::ImageFormat::Tiff).unwrap();
        assert_eq!(detect(tiff.get_ref()), None);
        // A loop of IFD offsets ends the walk.
        let mut looped = b"II*\0\x08\0\0\0".to_vec();
        looped.extend_from_slice(&[1, 0, 0x0F, 1, 2, 0, 1, 0, 0, 0, b'X', 0, 0, 0]);
        looped.extend_from_slice(&8u32.to_le_bytes());
        assert_eq!(detect(&looped), None);
    }
}
