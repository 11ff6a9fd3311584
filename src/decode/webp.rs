//! WebP through libwebp: SIMD decoding, scaled while decoding.

use image::DynamicImage;

use super::{scale_eighths, MAX_DECODE_BYTES, MAX_DIMENSION};

/// A still WebP through libwebp, scaled while decoding when the image is at least
/// four times `min_short_side` (in 1/2, 1/4, 1/8 steps, as JPEG): libwebp's SIMD decoder is
/// several times faster than the pure-Rust one, and the full-size RGB image of a
/// 17-megapixel wallpaper is never made. `None` for what it does not take
/// (animations, files with EXIF, which may rotate the image): the image crate
/// decodes those.
pub(super) fn decode_webp(
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
        let n = min_short_side.map_or(8, |min| scale_eighths(fw.min(fh) as u64, min as u64));
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
