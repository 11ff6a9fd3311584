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
//!
//!    SigLIP instead squashes: steps 4–5 become one bicubic resize of the whole
//!    image to `crop × crop` (`SiglipImageProcessor`, PIL path), aspect ratio not
//!    kept, nothing cut off.
//! 6. Scale to [0, 1] and normalise per channel with the model's mean and std; CHW
//!    (SigLIP: mean = std = 0.5).

use std::path::Path;

use fast_image_resize as fr;
use image::{DynamicImage, RgbImage};
use serde::Deserialize;

use crate::decode::{decode_bytes_scaled, decode_file_scaled};
use crate::error::{Error, Result};

/// CLIP's normalisation constants (OpenAI's training statistics).
pub const CLIP_MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
/// CLIP's normalisation constants (OpenAI's training statistics).
// Written with the reference's digits, so they can be compared by eye.
#[allow(clippy::excessive_precision)]
pub const CLIP_STD: [f32; 3] = [0.268_629_54, 0.261_302_58, 0.275_777_1];

/// The preprocessing parameters of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocessor {
    /// Target of the short side before cropping.
    pub resize_to: u32,
    /// Side of the square centre crop (the model's input size).
    pub crop: u32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    /// Resize the whole image to `crop × crop` instead of resizing the short
    /// side and cropping (SigLIP).
    pub squash: bool,
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
    do_center_crop: Option<bool>,
}

impl Preprocessor {
    /// CLIP's standard recipe for a model whose input is `image_size` pixels.
    pub fn clip(image_size: u32) -> Self {
        Self {
            resize_to: image_size,
            crop: image_size,
            mean: CLIP_MEAN,
            std: CLIP_STD,
            squash: false,
        }
    }

    /// SigLIP's recipe (`SiglipImageProcessor`): the whole image resized to
    /// `image_size` square, normalised with mean = std = 0.5.
    pub fn siglip(image_size: u32) -> Self {
        Self {
            resize_to: image_size,
            crop: image_size,
            mean: [0.5; 3],
            std: [0.5; 3],
            squash: true,
        }
    }

    /// Reads `preprocessor_config.json`; keys it lacks keep `base` (the family's
    /// recipe for the model's input size). The crop must equal that size.
    pub fn from_config_file(path: &Path, base: Preprocessor) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let raw: RawPreprocessorConfig = serde_json::from_str(&text).map_err(|e| {
            Error::invalid_model(path, format!("not a valid preprocessor config: {e}"))
        })?;
        let image_size = base.crop;
        let mut p = base;
        if let Some(crop) = raw.do_center_crop {
            p.squash = !crop;
        }
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
                Error::invalid_model(
                    path,
                    "size must be a number, {\"shortest_edge\": N} or a square {\"height\", \"width\"}",
                )
            })?;
        }
        if p.squash {
            // Squashed straight to the input size: `size` is that size.
            if p.resize_to != image_size {
                return Err(Error::invalid_model(
                    path,
                    format!(
                        "size {} does not match the model's image_size {image_size}",
                        p.resize_to
                    ),
                ));
            }
            p.crop = image_size;
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
        if self.squash {
            return resize_rgb(rgb, self.crop, self.crop);
        }
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
    /// scale (see [`crate::decode::decode_file_scaled`] and [`Preprocessor::decode_min_side`]).
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
    encode_jpeg(small, 82)
}

/// An RGB image as a baseline JPEG of the given quality (1–100).
pub fn encode_jpeg(rgb: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(rgb)
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
        let e = crate::decode::decode_bytes(b"hello, this is a text file").unwrap_err();
        assert!(e.contains("not an image"), "{e}");
        assert_eq!(crate::decode::decode_bytes(b"").unwrap_err(), "empty file");
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
