//! Image preprocessing, pinned to the reference: transformers' `CLIPImageProcessor`
//! (the PIL path, which is what CLIP's published numbers and every 4.x user ran).
//!
//! The recipe, in order:
//! 1. Decode (format from the bytes, not the extension; first frame of animations),
//!    with limits against decompression bombs.
//! 2. Apply the EXIF orientation. **Deliberate difference from the reference**, which
//!    ignores it: a person searching their phone photos saw them upright, and CLIP
//!    embeds a sideways photo differently. On files without an orientation tag this
//!    step does nothing, and parity is tested on such files.
//! 3. Convert to RGB; an image with alpha is composited over **white** (as the
//!    reference's `convert_rgb` does), so a transparent PNG does not turn black.
//! 4. Resize so the short side is `size`, the long side `int(size * long / short)`
//!    (truncated), with bicubic filtering computed as Pillow does (Catmull-Rom,
//!    a = -0.5, support widened when shrinking, i.e. antialiased).
//! 5. Centre-crop `crop × crop` at `top = (H - crop) / 2`, `left = (W - crop) / 2`
//!    (floor division, unlike torchvision's round-half-even).
//! 6. Scale to [0, 1] and normalise per channel with the model's mean and std; CHW.

use std::io::Cursor;
use std::path::Path;

use fast_image_resize as fr;
use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage};
use serde::Deserialize;

use crate::error::{Error, Result};

/// CLIP's normalisation constants (OpenAI's training statistics).
pub const CLIP_MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
/// CLIP's normalisation constants (OpenAI's training statistics).
// Written with the reference's digits, so they can be compared by eye.
#[allow(clippy::excessive_precision)]
pub const CLIP_STD: [f32; 3] = [0.268_629_54, 0.261_302_58, 0.275_777_1];

/// Largest width or height a file may declare before it is refused.
pub const MAX_DIMENSION: u32 = 40_000;
/// Largest allocation one decode may make (a 50,000 × 50,000 PNG would need 7.5 GB).
pub const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;

/// The preprocessing parameters of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocessor {
    /// Target of the short side before cropping.
    pub resize_to: u32,
    /// Side of the square centre crop (the model's input size).
    pub crop: u32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SizeSpec {
    Int(u32),
    Map {
        shortest_edge: Option<u32>,
        height: Option<u32>,
        width: Option<u32>,
    },
}

#[derive(Deserialize)]
struct RawPreprocessorConfig {
    size: Option<SizeSpec>,
    crop_size: Option<SizeSpec>,
    image_mean: Option<[f32; 3]>,
    image_std: Option<[f32; 3]>,
    resample: Option<u32>,
}

impl Preprocessor {
    /// CLIP's standard recipe for a model whose input is `image_size` pixels.
    pub fn clip(image_size: u32) -> Self {
        Self {
            resize_to: image_size,
            crop: image_size,
            mean: CLIP_MEAN,
            std: CLIP_STD,
        }
    }

    /// Reads `preprocessor_config.json`; keys it lacks keep CLIP's defaults for
    /// `image_size`. The crop must equal the model's input size.
    pub fn from_config_file(path: &Path, image_size: u32) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let raw: RawPreprocessorConfig = serde_json::from_str(&text).map_err(|e| {
            Error::invalid_model(path, format!("not a valid preprocessor config: {e}"))
        })?;
        let mut p = Self::clip(image_size);
        let side = |s: &SizeSpec| match s {
            SizeSpec::Int(v) => Some(*v),
            SizeSpec::Map {
                shortest_edge,
                height,
                width,
            } => shortest_edge.or(match (height, width) {
                (Some(h), Some(w)) if h == w => Some(*h),
                _ => None,
            }),
        };
        if let Some(s) = &raw.size {
            p.resize_to = side(s).ok_or_else(|| {
                Error::invalid_model(path, "size must be a number or {\"shortest_edge\": N}")
            })?;
        }
        if let Some(s) = &raw.crop_size {
            p.crop =
                side(s).ok_or_else(|| Error::invalid_model(path, "crop_size must be square"))?;
        }
        if let Some(m) = raw.image_mean {
            p.mean = m;
        }
        if let Some(s) = raw.image_std {
            if s.iter().any(|v| *v <= 0.0) {
                return Err(Error::invalid_model(path, "image_std must be positive"));
            }
            p.std = s;
        }
        if let Some(r) = raw.resample {
            if r != 3 {
                tracing::warn!(
                    "{}: resample {r} requested; scry always resizes bicubic (3) as CLIP was trained",
                    path.display()
                );
            }
        }
        if p.crop != image_size {
            return Err(Error::invalid_model(
                path,
                format!(
                    "crop_size {} does not match the model's image_size {image_size}",
                    p.crop
                ),
            ));
        }
        if p.resize_to < p.crop {
            return Err(Error::invalid_model(
                path,
                format!("size {} is smaller than crop_size {}", p.resize_to, p.crop),
            ));
        }
        Ok(p)
    }

    /// Steps 4–5: resize the short side and centre-crop, in 8-bit as the reference.
    pub fn resize_and_crop(&self, rgb: &RgbImage) -> RgbImage {
        let (w, h) = rgb.dimensions();
        let (nw, nh) = resized_dims(w, h, self.resize_to);
        let resized = resize_rgb(rgb, nw, nh);
        let c = self.crop.min(nw).min(nh);
        let left = (nw - c) / 2;
        let top = (nh - c) / 2;
        let mut out = image::imageops::crop_imm(&resized, left, top, c, c).to_image();
        if c < self.crop {
            // Only reachable with resize_to < crop, which from_config_file refuses;
            // pad as the reference does (zeros, centred) rather than panic.
            let mut padded = RgbImage::new(self.crop, self.crop);
            image::imageops::overlay(
                &mut padded,
                &out,
                ((self.crop - c) / 2) as i64,
                ((self.crop - c) / 2) as i64,
            );
            out = padded;
        }
        out
    }

    /// Step 6: CHW floats, `(x / 255 - mean) / std`.
    pub fn normalize(&self, crop: &RgbImage) -> Vec<f32> {
        let (w, h) = crop.dimensions();
        let plane = (w * h) as usize;
        let mut out = vec![0f32; 3 * plane];
        // Precompute the 256 values per channel: exact same arithmetic, less work.
        let mut lut = [[0f32; 256]; 3];
        for (c, table) in lut.iter_mut().enumerate() {
            for (v, slot) in table.iter_mut().enumerate() {
                *slot = (v as f32 / 255.0 - self.mean[c]) / self.std[c];
            }
        }
        for (i, px) in crop.pixels().enumerate() {
            for c in 0..3 {
                out[c * plane + i] = lut[c][px.0[c] as usize];
            }
        }
        out
    }

    /// The whole recipe on an already-decoded RGB image.
    pub fn pixels(&self, rgb: &RgbImage) -> Vec<f32> {
        self.normalize(&self.resize_and_crop(rgb))
    }

    /// The smallest short side a large JPEG is decoded at: enough for the model
    /// input and for the thumbnail made from the same decode. One value for every
    /// caller, so that `scry embed`, queries and the index embed a file alike.
    pub fn decode_min_side(&self) -> u32 {
        self.resize_to.max(THUMBNAIL_SHORT_SIDE)
    }

    /// Decode a file and preprocess it. Large JPEGs are decoded at a reduced
    /// scale (see [`decode_file_scaled`] and [`Preprocessor::decode_min_side`]).
    pub fn pixels_from_file(&self, path: &Path) -> Result<Vec<f32>> {
        Ok(self.pixels(&to_rgb(decode_file_scaled(
            path,
            Some(self.decode_min_side()),
        )?)))
    }

    /// Decode bytes (an upload) and preprocess them.
    pub fn pixels_from_bytes(&self, bytes: &[u8]) -> Result<Vec<f32>> {
        let img =
            decode_bytes_scaled(bytes, Some(self.decode_min_side())).map_err(Error::ImageData)?;
        Ok(self.pixels(&to_rgb(img)))
    }
}

/// The reference's output size: short side `size`, long side truncated.
pub fn resized_dims(w: u32, h: u32, size: u32) -> (u32, u32) {
    let (short, long) = if w <= h { (w, h) } else { (h, w) };
    // As Python computes int(size * long / short): a float division, truncated.
    let new_long = ((size as f64 * long as f64) / short as f64) as u32;
    let new_long = new_long.max(1);
    if w <= h {
        (size, new_long)
    } else {
        (new_long, size)
    }
}

/// Bicubic resize computed as Pillow does (fast_image_resize's convolution is a SIMD
/// port of Pillow's, with Catmull-Rom = Pillow's BICUBIC).
///
/// Pillow resamples horizontally first, rounds to 8 bits, then vertically;
/// fast_image_resize does the two passes the other way round, which moves pixels
/// by up to 6 levels. Running the passes separately, in Pillow's order, gives
/// Pillow's result to within a level.
pub fn resize_rgb(rgb: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (w, h) = rgb.dimensions();
    if (w, h) == (width, height) {
        return rgb.clone();
    }
    if w != width && h != height {
        let horizontal = resize_pass(rgb, width, h);
        return resize_pass(&horizontal, width, height);
    }
    resize_pass(rgb, width, height)
}

fn resize_pass(rgb: &RgbImage, width: u32, height: u32) -> RgbImage {
    let src =
        fr::images::ImageRef::new(rgb.width(), rgb.height(), rgb.as_raw(), fr::PixelType::U8x3)
            .expect("an RgbImage's buffer always matches its dimensions");
    let mut dst = fr::images::Image::new(width, height, fr::PixelType::U8x3);
    let options =
        fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::CatmullRom));
    fr::Resizer::new()
        .resize(&src, &mut dst, &options)
        .expect("same pixel type, non-empty images");
    RgbImage::from_raw(width, height, dst.into_vec()).expect("buffer sized for width × height")
}

/// Decode a file: format from its bytes, limits against bombs, first frame, EXIF
/// orientation applied. The error names the file and says why it failed.
pub fn decode_file(path: &Path) -> Result<DynamicImage> {
    decode_file_scaled(path, None)
}

/// As [`decode_file`]; a JPEG whose short side is at least twice `min_short_side`
/// is decoded at 1/2, 1/4 or 1/8 scale in the DCT domain, never below
/// `min_short_side` — a 12-megapixel photo is never fully decoded to make a
/// 224-pixel input.
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
    /// Format from the bytes: "jpeg", "png", "webp", "gif", "bmp", "tiff".
    pub format: &'static str,
}

/// Decodes bytes (see [`decode_file_scaled`]) and reports the file's format and
/// full dimensions.
pub fn decode_full(
    bytes: &[u8],
    min_short_side: Option<u32>,
) -> std::result::Result<Decoded, String> {
    if bytes.is_empty() {
        return Err("empty file".into());
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("cannot read: {e}"))?;
    let Some(format) = reader.format() else {
        return Err(unknown_format_message(bytes));
    };
    let name = format_name(format);
    let (image, width, height) = match format {
        image::ImageFormat::Jpeg => match decode_jpeg(bytes, min_short_side) {
            Ok(d) => d,
            // libjpeg cannot convert CMYK/YCCK to RGB; the image crate can.
            Err(JpegError::Cmyk) => full_dims(decode_with_image_crate(reader)?),
            Err(JpegError::Message(m)) => return Err(m),
        },
        image::ImageFormat::WebP => match decode_webp(bytes, min_short_side) {
            Some(d) => d?,
            None => full_dims(decode_with_image_crate(reader)?),
        },
        _ => full_dims(decode_with_image_crate(reader)?),
    };
    Ok(Decoded {
        image,
        width,
        height,
        format: name,
    })
}

fn full_dims(img: DynamicImage) -> (DynamicImage, u32, u32) {
    let (w, h) = (img.width(), img.height());
    (img, w, h)
}

/// Lower-case name of a format.
pub fn format_name(f: image::ImageFormat) -> &'static str {
    use image::ImageFormat as F;
    match f {
        F::Jpeg => "jpeg",
        F::Png => "png",
        F::WebP => "webp",
        F::Gif => "gif",
        F::Bmp => "bmp",
        F::Tiff => "tiff",
        F::Avif => "avif",
        _ => "other",
    }
}

fn decode_with_image_crate(
    mut reader: ImageReader<Cursor<&[u8]>>,
) -> std::result::Result<DynamicImage, String> {
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

/// A still WebP through libwebp, scaled while decoding when the image is at least
/// four times `min_short_side` (in 1/2, 1/4, 1/8 steps, as JPEG): libwebp's SIMD decoder is
/// several times faster than the pure-Rust one, and the full-size RGB image of a
/// 17-megapixel wallpaper is never made. `None` for what it does not take
/// (animations, files with EXIF, which may rotate the image): the image crate
/// decodes those.
fn decode_webp(
    bytes: &[u8],
    min_short_side: Option<u32>,
) -> Option<std::result::Result<(DynamicImage, u32, u32), String>> {
    use libwebp_sys as w;
    // RIFF....WEBPVP8X: flags byte 20; EXIF 0x08, animation 0x02.
    if bytes.get(12..16) == Some(b"VP8X") && bytes.get(20).is_some_and(|f| f & 0x0A != 0) {
        return None;
    }
    // SAFETY: the config is initialised by libwebp; every pointer handed over
    // points into `bytes` or into `out`, which is as large as the stride and
    // height we declare; libwebp frees nothing it did not allocate
    // (`is_external_memory`).
    unsafe {
        let mut config = std::mem::MaybeUninit::<w::WebPDecoderConfig>::uninit();
        if !w::WebPInitDecoderConfig(config.as_mut_ptr()) {
            return None;
        }
        let mut config = config.assume_init();
        if w::WebPGetFeatures(bytes.as_ptr(), bytes.len(), &mut config.input)
            != w::VP8StatusCode::VP8_STATUS_OK
            || config.input.has_animation != 0
        {
            return None;
        }
        let (fw, fh) = (config.input.width as u32, config.input.height as u32);
        if fw == 0 || fh == 0 {
            return Some(Err(format!("corrupt WebP: it says it is {fw}×{fh} pixels")));
        }
        if fw > MAX_DIMENSION || fh > MAX_DIMENSION {
            return Some(Err(format!(
                "too large to decode safely ({fw}×{fh}; the limit is {MAX_DIMENSION} per side)"
            )));
        }
        // Twice the short side asked for: libwebp's rescaler averages areas, so
        // the bicubic resize after it must still have pixels to work with (a
        // 512-pixel WebP then keeps its reference pixels within two levels).
        let n = min_short_side.map_or(8, |min| scale_eighths(fw.min(fh) as u64, 2 * min as u64));
        let ow = (fw as u64 * n as u64).div_ceil(8) as u32;
        let oh = (fh as u64 * n as u64).div_ceil(8) as u32;
        let alpha = config.input.has_alpha != 0;
        let channels = if alpha { 4 } else { 3 };
        let size = ow as u64 * oh as u64 * channels;
        if size > MAX_DECODE_BYTES {
            return Some(Err(format!("too large to decode safely ({ow}×{oh})")));
        }
        let mut out = vec![0u8; size as usize];
        if (ow, oh) != (fw, fh) {
            config.options.use_scaling = 1;
            config.options.scaled_width = ow as i32;
            config.options.scaled_height = oh as i32;
        }
        config.output.colorspace = if alpha {
            w::WEBP_CSP_MODE::MODE_RGBA
        } else {
            w::WEBP_CSP_MODE::MODE_RGB
        };
        config.output.is_external_memory = 1;
        config.output.u.RGBA = w::WebPRGBABuffer {
            rgba: out.as_mut_ptr(),
            stride: (ow * channels as u32) as i32,
            size: out.len(),
        };
        let status = w::WebPDecode(bytes.as_ptr(), bytes.len(), &mut config);
        w::WebPFreeDecBuffer(&mut config.output);
        use w::VP8StatusCode as S;
        match status {
            S::VP8_STATUS_OK => {}
            S::VP8_STATUS_NOT_ENOUGH_DATA => {
                return Some(Err("truncated WebP (the file ends early)".into()))
            }
            S::VP8_STATUS_OUT_OF_MEMORY => {
                return Some(Err("not enough memory to decode this WebP".into()))
            }
            S::VP8_STATUS_UNSUPPORTED_FEATURE => {
                return Some(Err(
                    "WebP uses a feature the decoder does not support".into()
                ))
            }
            _ => return Some(Err("corrupt WebP (the image data is invalid)".into())),
        }
        let image = if alpha {
            image::RgbaImage::from_raw(ow, oh, out).map(DynamicImage::ImageRgba8)
        } else {
            image::RgbImage::from_raw(ow, oh, out).map(DynamicImage::ImageRgb8)
        };
        Some(Ok((image?, fw, fh)))
    }
}

/// The decode scale, in eighths (1, 2, 4 or 8), of the largest reduction whose
/// result keeps the short side at least `min` (scaled sizes round up, as
/// libjpeg and our WebP sizes do, so `ceil(short * n / 8) >= min` suffices).
fn scale_eighths(short: u64, min: u64) -> u8 {
    [1u8, 2, 4]
        .into_iter()
        .find(|&n| (short * n as u64).div_ceil(8) >= min)
        .unwrap_or(8)
}

enum JpegError {
    Cmyk,
    Message(String),
}

/// JPEG through libjpeg-turbo (the mozjpeg crate): the decoder Pillow uses, so the
/// reference's pixels are reproduced exactly, and it scales in the DCT domain.
fn decode_jpeg(
    bytes: &[u8],
    min_short_side: Option<u32>,
) -> std::result::Result<(DynamicImage, u32, u32), JpegError> {
    // libjpeg reports errors by unwinding (mozjpeg's error manager resumes an unwind
    // without running the panic hook); catch it here so a corrupt file is an error,
    // not a crash.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decode_jpeg_inner(bytes, min_short_side)
    }));
    match result {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown error".into());
            Err(JpegError::Message(format!(
                "corrupt or truncated JPEG: {msg}"
            )))
        }
    }
}

fn decode_jpeg_inner(
    bytes: &[u8],
    min_short_side: Option<u32>,
) -> std::result::Result<(DynamicImage, u32, u32), JpegError> {
    let io = |e: std::io::Error| JpegError::Message(format!("corrupt or truncated JPEG: {e}"));
    let mut d = mozjpeg::Decompress::with_markers(&[mozjpeg::Marker::APP(1)])
        .from_mem(bytes)
        .map_err(io)?;
    let (w, h) = (d.width() as u64, d.height() as u64);
    if w == 0 || h == 0 || w > MAX_DIMENSION as u64 || h > MAX_DIMENSION as u64 {
        return Err(JpegError::Message(format!(
            "too large to decode safely ({w}×{h}; the limit is {MAX_DIMENSION} per side)"
        )));
    }
    if matches!(
        d.color_space(),
        mozjpeg::ColorSpace::JCS_CMYK | mozjpeg::ColorSpace::JCS_YCCK
    ) {
        return Err(JpegError::Cmyk);
    }
    let orientation = d
        .markers()
        .filter(|m| m.marker == mozjpeg::Marker::APP(1))
        .find_map(|m| {
            m.data
                .strip_prefix(b"Exif\0\0")
                .and_then(image::metadata::Orientation::from_exif_chunk)
        })
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    if let Some(min) = min_short_side {
        d.scale(scale_eighths(w.min(h), min as u64));
    }
    let mut started = d.rgb().map_err(io)?;
    let (ow, oh) = (started.width() as u32, started.height() as u32);
    if (ow as u64) * (oh as u64) * 3 > MAX_DECODE_BYTES {
        return Err(JpegError::Message(format!(
            "too large to decode safely ({ow}×{oh})"
        )));
    }
    // libjpeg pads a truncated file with grey and only warns; Pillow refuses it
    // ("image file is truncated"). Refuse it too rather than index half a photo.
    if !jpeg_is_complete(bytes) {
        return Err(JpegError::Message(
            "corrupt or truncated JPEG: the file ends before its end-of-image marker".into(),
        ));
    }
    let pixels: Vec<[u8; 3]> = started.read_scanlines().map_err(io)?;
    // A truncated file yields grey rows and a warning, as in Pillow (which loads
    // truncated JPEGs only with LOAD_TRUNCATED_IMAGES); finish() reports it.
    started.finish().map_err(io)?;
    let flat: Vec<u8> = pixels.into_iter().flatten().collect();
    let rgb = RgbImage::from_raw(ow, oh, flat)
        .ok_or_else(|| JpegError::Message("decoder returned a short image".into()))?;
    let mut img = DynamicImage::ImageRgb8(rgb);
    img.apply_orientation(orientation);
    // Full-size dimensions as displayed: a quarter turn swaps them.
    let (fw, fh) = if img.width() == ow {
        (w as u32, h as u32)
    } else {
        (h as u32, w as u32)
    };
    Ok((img, fw, fh))
}

/// Walks a JPEG's marker segments and entropy-coded scans to its end-of-image
/// marker; false if the data runs out first (a truncated file).
pub fn jpeg_is_complete(b: &[u8]) -> bool {
    if b.len() < 4 || b[0] != 0xFF || b[1] != 0xD8 {
        return false;
    }
    let mut i = 2;
    while i + 1 < b.len() {
        if b[i] != 0xFF {
            return false; // a segment must start with a marker
        }
        let m = b[i + 1];
        match m {
            0xFF => i += 1, // fill byte
            0xD9 => return true,
            0x01 | 0xD0..=0xD7 => i += 2, // markers without a length
            _ => {
                if i + 3 >= b.len() {
                    return false;
                }
                let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
                if len < 2 {
                    return false;
                }
                i += 2 + len;
                if m == 0xDA {
                    // Entropy-coded data: runs to the next marker that is not a
                    // stuffed zero or a restart marker.
                    while i + 1 < b.len() {
                        if b[i] == 0xFF
                            && b[i + 1] != 0x00
                            && !(0xD0..=0xD7).contains(&b[i + 1])
                            && b[i + 1] != 0xFF
                        {
                            break;
                        }
                        i += 1;
                    }
                }
            }
        }
    }
    false
}

/// Whether the first bytes of a file are a known image signature.
pub fn is_image_signature(head: &[u8]) -> bool {
    head.len() >= 4 && image::guess_format(head).is_ok()
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
    // Name the formats people do have but that we cannot decode, instead of a bare
    // "unknown format": it tells them nothing is broken.
    let head = &bytes[..bytes.len().min(32)];
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        let brand = &head[8..12];
        if [b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"heis"]
            .iter()
            .any(|b| brand == *b)
        {
            return "unsupported format: HEIC/HEIF (no decoder in scry yet)".into();
        }
        if brand == b"avif" || brand == b"avis" {
            return "unsupported format: AVIF (not compiled in)".into();
        }
    }
    "not an image (unrecognised file format)".into()
}

/// Short side of stored thumbnails (the UI shows them at up to ~200 CSS pixels on
/// high-density screens).
pub const THUMBNAIL_SHORT_SIDE: u32 = 256;

/// A JPEG thumbnail whose short side is at most `short_side`, made from an
/// already-decoded image (the indexer's one decode pass).
pub fn thumbnail_jpeg(rgb: &RgbImage, short_side: u32) -> Vec<u8> {
    encode_thumbnail(&thumbnail_rgb(rgb, short_side))
}

/// The image scaled down to `short_side` on its shorter side (never up).
pub fn thumbnail_rgb(rgb: &RgbImage, short_side: u32) -> RgbImage {
    let (w, h) = rgb.dimensions();
    if w.min(h) > short_side {
        let (nw, nh) = resized_dims(w, h, short_side);
        resize_rgb(rgb, nw, nh)
    } else {
        rgb.clone()
    }
}

/// A thumbnail as the catalog keeps it: JPEG, quality 82.
pub fn encode_thumbnail(small: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82)
        .encode_image(small)
        .expect("encoding an RGB image into memory cannot fail");
    out
}

/// Step 3: RGB, with alpha composited over white as the reference does.
pub fn to_rgb(img: DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.into_rgb8();
    }
    let rgba = img.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = RgbImage::new(w, h);
    for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
        let a = src.0[3] as u32;
        for c in 0..3 {
            // Pillow's `alpha_composite` (AlphaComposite.c, 7-bit fixed point), with
            // an opaque white destination: coef1 = a·128, coef2 = (255 − a)·128.
            let tmp = src.0[c] as u32 * a * 128 + 255 * (255 - a) * 128 + (0x80 << 7);
            dst.0[c] = ((((tmp >> 8) + tmp) >> 8) >> 7) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resized_dims_truncate_like_python() {
        // int(224 * 517 / 301) = int(384.74...) = 384
        assert_eq!(resized_dims(517, 301, 224), (384, 224));
        assert_eq!(resized_dims(301, 517, 224), (224, 384));
        assert_eq!(resized_dims(224, 224, 224), (224, 224));
        // upscaling a tiny image
        assert_eq!(resized_dims(3, 2, 224), (336, 224));
    }

    #[test]
    fn crop_is_floor_centred() {
        let p = Preprocessor::clip(4);
        // 4 x 9 image -> already short side 4; long 9 -> crop top = (9-4)/2 = 2
        let img = RgbImage::from_fn(4, 9, |_x, y| image::Rgb([y as u8 * 10, 0, 0]));
        let c = p.resize_and_crop(&img);
        assert_eq!(c.dimensions(), (4, 4));
        assert_eq!(c.get_pixel(0, 0).0[0], 20);
    }

    #[test]
    fn transparent_pixels_become_white() {
        let mut img = image::RgbaImage::new(2, 1);
        img.put_pixel(0, 0, image::Rgba([0, 0, 0, 0]));
        img.put_pixel(1, 0, image::Rgba([10, 20, 30, 255]));
        let rgb = to_rgb(DynamicImage::ImageRgba8(img));
        assert_eq!(rgb.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(rgb.get_pixel(1, 0).0, [10, 20, 30]);
    }

    #[test]
    fn text_is_not_an_image() {
        let e = decode_bytes(b"hello, this is a text file").unwrap_err();
        assert!(e.contains("not an image"), "{e}");
        assert_eq!(decode_bytes(b"").unwrap_err(), "empty file");
    }

    #[test]
    fn normalize_matches_formula() {
        let p = Preprocessor::clip(1);
        let img = RgbImage::from_pixel(1, 1, image::Rgb([255, 0, 128]));
        let v = p.normalize(&img);
        assert!((v[0] - (1.0 - CLIP_MEAN[0]) / CLIP_STD[0]).abs() < 1e-6);
        assert!((v[1] - (0.0 - CLIP_MEAN[1]) / CLIP_STD[1]).abs() < 1e-6);
        assert!((v[2] - (128.0 / 255.0 - CLIP_MEAN[2]) / CLIP_STD[2]).abs() < 1e-6);
    }
}
