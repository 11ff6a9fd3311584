//! JPEG through libjpeg-turbo (the mozjpeg crate), scaled in the DCT domain.

use image::{DynamicImage, RgbImage};

use super::{scale_eighths, MAX_DECODE_BYTES, MAX_DIMENSION};

pub(super) enum JpegError {
    Cmyk,
    Message(String),
}

/// JPEG through libjpeg-turbo (the mozjpeg crate): the decoder Pillow uses, so the
/// reference's pixels are reproduced exactly, and it scales in the DCT domain.
/// The last value says whether the file's own EXIF orientation turned the image.
pub(super) fn decode_jpeg(
    bytes: &[u8],
    min_short_side: Option<u32>,
) -> std::result::Result<(DynamicImage, u32, u32, bool), JpegError> {
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
) -> std::result::Result<(DynamicImage, u32, u32, bool), JpegError> {
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
    let turned = orientation != image::metadata::Orientation::NoTransforms;
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
    Ok((img, fw, fh, turned))
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
