//! Decoders by family behind one door. [`decode_full`] tells the format by its
//! bytes (never the file name), applies the limits against decompression bombs
//! and the orientation, and returns display-ready pixels; one module per family:
//!
//! | family | module | needs |
//! |---|---|---|
//! | JPEG | `jpeg` (libjpeg-turbo, DCT-scaled) | built in |
//! | WebP | `webp` (libwebp, scaled) | built in |
//! | PNG, GIF, BMP, TIFF | the image crate | built in |
//! | JPEG XL | `jxl` (jxl-oxide) | built in |
//! | camera RAW | `raw` (the embedded JPEG preview) | built in |
//! | HEIC/HEIF, AVIF | `heif` | libheif, loaded at run time |
//! | video (MP4, MOV, MKV, WebM, AVI) | [`crate::video`], frames by scene | the ffmpeg program |
//!
//! Optional system libraries and programs are found in one place, [`system`],
//! which also reports what this machine can read.

mod bmff;
mod heif;
mod jpeg;
mod jxl;
pub mod raw;
pub mod system;
mod webp;

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageReader};

use crate::error::{Error, Result};

pub use raw::RawKind;

/// Largest width or height a file may declare before it is refused.
pub const MAX_DIMENSION: u32 = 40_000;
/// Largest allocation one decode may make (a 50,000 × 50,000 PNG would need 7.5 GB).
pub const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;

/// A format family, told apart by a file's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Jpeg,
    Png,
    Gif,
    Bmp,
    Tiff,
    WebP,
    /// HEIC and other HEIF files (HEVC-coded, or any coding libheif reads).
    Heic,
    Avif,
    Jxl,
    Raw(RawKind),
    /// MP4, MOV, M4V, MKV, WebM, AVI.
    Video,
}

impl Family {
    /// Lower-case name, as the catalog's `format` field keeps it.
    pub fn name(self) -> &'static str {
        match self {
            Family::Jpeg => "jpeg",
            Family::Png => "png",
            Family::Gif => "gif",
            Family::Bmp => "bmp",
            Family::Tiff => "tiff",
            Family::WebP => "webp",
            Family::Heic => "heic",
            Family::Avif => "avif",
            Family::Jxl => "jxl",
            Family::Raw(k) => k.name(),
            Family::Video => "video",
        }
    }

    /// Whether files of this family are photos (not videos).
    pub fn is_image(self) -> bool {
        !matches!(self, Family::Video)
    }
}

/// The family of a file from its bytes: the whole file, or at least its first
/// 64 KiB (a TIFF-based RAW is told from a plain TIFF by its IFDs).
pub fn detect(bytes: &[u8]) -> Option<Family> {
    if let Some(kind) = raw::detect(bytes) {
        return Some(Family::Raw(kind));
    }
    if jxl::is_jxl(bytes) {
        return Some(Family::Jxl);
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        return iso_family(&bmff::brands(bytes));
    }
    if bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3])
        || (bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"AVI "))
        || matches!(
            bytes.get(4..8),
            Some(b"moov" | b"mdat" | b"wide" | b"free" | b"pnot")
        )
    {
        return Some(Family::Video);
    }
    use image::ImageFormat as F;
    match image::guess_format(bytes).ok()? {
        F::Jpeg => Some(Family::Jpeg),
        F::Png => Some(Family::Png),
        F::Gif => Some(Family::Gif),
        F::Bmp => Some(Family::Bmp),
        F::Tiff => Some(Family::Tiff),
        F::WebP => Some(Family::WebP),
        _ => None,
    }
}

/// The family of an ISO media file from its brands (major brand first).
fn iso_family(brands: &[[u8; 4]]) -> Option<Family> {
    const HEIC: [&[u8; 4]; 8] = [
        b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs",
    ];
    const VIDEO: [&[u8; 4]; 14] = [
        b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"M4V ", b"M4VH", b"M4VP",
        b"qt  ", b"avc1", b"3gp4", b"3gp5",
    ];
    let major = brands.first()?;
    let has = |set: &[&[u8; 4]]| brands.iter().any(|b| set.contains(&b));
    if major == b"avif" || major == b"avis" {
        return Some(Family::Avif);
    }
    if HEIC.contains(&major) {
        return Some(Family::Heic);
    }
    if major == b"mif1" || major == b"msf1" {
        // A generic HEIF: its compatible brands say which coding.
        return Some(if has(&[b"avif", b"avis"]) {
            Family::Avif
        } else {
            Family::Heic
        });
    }
    if VIDEO.contains(&major) || has(&VIDEO) {
        return Some(Family::Video);
    }
    None
}

/// Whether the first bytes of a file are those of a photo scry reads (or would
/// read with an optional codec installed).
pub fn is_image_signature(head: &[u8]) -> bool {
    head.len() >= 4 && detect(head).is_some_and(Family::is_image)
}

/// Decode a file: format from its bytes, limits against bombs, first frame, EXIF
/// orientation applied. The error names the file and says why it failed.
pub fn decode_file(path: &Path) -> Result<DynamicImage> {
    decode_file_scaled(path, None)
}

/// As [`decode_file`]; a JPEG whose short side is at least four times
/// `min_short_side` is decoded at 1/2, 1/4 or 1/8 scale in the DCT domain, never
/// below twice `min_short_side` (so the resize after it keeps the embedding) — a
/// 12-megapixel photo is never fully decoded to make a 224-pixel input.
pub fn decode_file_scaled(path: &Path, min_short_side: Option<u32>) -> Result<DynamicImage> {
    let bytes = std::fs::read(path).map_err(|e| Error::Image {
        path: path.to_path_buf(),
        message: format!("cannot read: {e}"),
    })?;
    decode_bytes_scaled(&bytes, min_short_side).map_err(|message| Error::Image {
        path: path.to_path_buf(),
        message,
    })
}

/// Decode in-memory bytes at full size. The error is a sentence for a person.
pub fn decode_bytes(bytes: &[u8]) -> std::result::Result<DynamicImage, String> {
    decode_bytes_scaled(bytes, None)
}

/// Decode in-memory bytes; see [`decode_file_scaled`] for `min_short_side`.
pub fn decode_bytes_scaled(
    bytes: &[u8],
    min_short_side: Option<u32>,
) -> std::result::Result<DynamicImage, String> {
    decode_full(bytes, min_short_side).map(|d| d.image)
}

/// A decoded image with what the catalog records about the file.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// Pixels as displayed (EXIF orientation applied), possibly DCT-scaled.
    pub image: DynamicImage,
    /// The file's own dimensions as displayed (before any scaling).
    pub width: u32,
    pub height: u32,
    /// Format from the bytes ([`Family::name`]): "jpeg", "png", "heic", "jxl", "nef"…
    pub format: &'static str,
}

/// Decodes bytes (see [`decode_file_scaled`]) and reports the file's format and
/// full dimensions. The family comes from the bytes, never the file name.
pub fn decode_full(
    bytes: &[u8],
    min_short_side: Option<u32>,
) -> std::result::Result<Decoded, String> {
    if bytes.is_empty() {
        return Err("empty file".into());
    }
    let Some(family) = detect(bytes) else {
        return Err(unknown_format_message(bytes));
    };
    let (image, width, height) = match family {
        Family::Jpeg => match jpeg::decode_jpeg(bytes, min_short_side) {
            Ok((img, w, h, _)) => (img, w, h),
            // libjpeg cannot convert CMYK/YCCK to RGB; the image crate can.
            Err(jpeg::JpegError::Cmyk) => {
                full_dims(decode_with_image_crate(bytes, image::ImageFormat::Jpeg)?)
            }
            Err(jpeg::JpegError::Message(m)) => return Err(m),
        },
        Family::WebP => match webp::decode_webp(bytes, min_short_side) {
            Some(d) => d?,
            None => full_dims(decode_with_image_crate(bytes, image::ImageFormat::WebP)?),
        },
        Family::Png => full_dims(decode_with_image_crate(bytes, image::ImageFormat::Png)?),
        Family::Gif => full_dims(decode_with_image_crate(bytes, image::ImageFormat::Gif)?),
        Family::Bmp => full_dims(decode_with_image_crate(bytes, image::ImageFormat::Bmp)?),
        Family::Tiff => full_dims(decode_with_image_crate(bytes, image::ImageFormat::Tiff)?),
        Family::Heic => heif::decode(bytes, "HEIC")?,
        Family::Avif => heif::decode(bytes, "AVIF")?,
        Family::Jxl => jxl::decode(bytes)?,
        Family::Raw(kind) => raw::decode(bytes, kind, min_short_side)?,
        Family::Video => {
            return Err(match crate::video::tools() {
                Err(why) => crate::video::missing_message(&why),
                Ok(_) => "unsupported here: a video, not a picture (index its folder to search \
                          inside it, or give a picture of one of its frames)"
                    .into(),
            })
        }
    };
    Ok(Decoded {
        image,
        width,
        height,
        format: family.name(),
    })
}

fn full_dims(img: DynamicImage) -> (DynamicImage, u32, u32) {
    let (w, h) = (img.width(), img.height());
    (img, w, h)
}

fn decode_with_image_crate(
    bytes: &[u8],
    format: image::ImageFormat,
) -> std::result::Result<DynamicImage, String> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(describe)?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(describe)?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// The decode scale, in eighths (1, 2, 4 or 8), of the largest reduction whose
/// result keeps the short side at least twice `min` (scaled sizes round up, as
/// libjpeg and our WebP sizes do, so `ceil(short * n / 8) >= 2 * min` suffices).
///
/// Twice, for JPEG (DCT domain) and WebP (libwebp's area-averaging rescaler)
/// alike: the bicubic resize after the reduction needs pixels to work with.
/// Measured on Debian's desktop-background JPEGs (up to 5640×3172) with a
/// random-weight ViT-B/32, cosine to the full decode's embedding: 0.99962 at
/// the least with the short side kept ≥ 256, ≥ 0.99999 with ≥ 512, for ~5 %
/// more decoding time (`examples/dct_fidelity.rs`); a 512-pixel WebP keeps its
/// reference pixels within two levels.
pub(crate) fn scale_eighths(short: u64, min: u64) -> u8 {
    [1u8, 2, 4]
        .into_iter()
        .find(|&n| (short * n as u64).div_ceil(8) >= 2 * min)
        .unwrap_or(8)
}

fn describe(e: image::ImageError) -> String {
    use image::ImageError as E;
    match e {
        E::Limits(l) => format!("too large to decode safely ({l})"),
        E::Unsupported(u) => format!("unsupported image: {u}"),
        E::Decoding(d) => format!("corrupt or truncated image: {d}"),
        E::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "truncated image (file ends early)".into()
        }
        other => format!("cannot decode: {other}"),
    }
}

fn unknown_format_message(bytes: &[u8]) -> String {
    // Name the formats people do have but that we cannot read, instead of a bare
    // "unknown format": it tells them nothing is broken.
    if bmff::brands(bytes)
        .iter()
        .any(|b| b == b"mif1" || b == b"msf1")
    {
        return "unsupported format: an HEIF file whose coding scry does not read".into();
    }
    "not an image (unrecognised file format)".into()
}
