//! JPEG XL through jxl-oxide (pure Rust): orientation from the codestream applied,
//! the same size limits as every other family, and a file that ends early is an
//! error (jxl-oxide would render what it has, progressively).

use std::io::Cursor;

use image::{DynamicImage, GrayAlphaImage, GrayImage, RgbImage, RgbaImage};
use jxl_oxide::JxlImage;

use super::{MAX_DECODE_BYTES, MAX_DIMENSION};

/// Whether the bytes start a JPEG XL codestream or container.
pub(super) fn is_jxl(head: &[u8]) -> bool {
    head.starts_with(&[0xFF, 0x0A])
        || head.starts_with(&[
            0, 0, 0, 0x0C, b'J', b'X', b'L', b' ', 0x0D, 0x0A, 0x87, 0x0A,
        ])
}

pub(super) fn decode(bytes: &[u8]) -> Result<(DynamicImage, u32, u32), String> {
    // jxl-oxide reports a malformed stream as an error, but it is young: a panic
    // in it must not take the indexer down.
    match std::panic::catch_unwind(|| decode_inner(bytes)) {
        Ok(r) => r,
        Err(_) => Err("corrupt JPEG XL (the decoder gave up)".into()),
    }
}

fn decode_inner(bytes: &[u8]) -> Result<(DynamicImage, u32, u32), String> {
    let mut image = JxlImage::builder()
        .read(Cursor::new(bytes))
        .map_err(|e| format!("corrupt or truncated JPEG XL: {e}"))?;
    let (w, h) = (image.width(), image.height());
    if w == 0 || h == 0 {
        return Err(format!("corrupt JPEG XL: it says it is {w}×{h} pixels"));
    }
    let channels = image.pixel_format().channels() as u64;
    if w > MAX_DIMENSION
        || h > MAX_DIMENSION
        || w as u64 * h as u64 * channels.max(3) > MAX_DECODE_BYTES
    {
        return Err(format!(
            "too large to decode safely ({w}×{h}; the limit is {MAX_DIMENSION} per side)"
        ));
    }
    if !image.is_loading_done() || image.num_loaded_keyframes() == 0 {
        return Err("truncated JPEG XL (the file ends early)".into());
    }
    if image.pixel_format().has_black() {
        image.request_color_encoding(jxl_oxide::EnumColourEncoding::srgb(
            jxl_oxide::RenderingIntent::Relative,
        ));
    }
    let render = image
        .render_frame(0)
        .map_err(|e| format!("corrupt JPEG XL: {e}"))?;
    let mut stream = render.stream();
    let (sw, sh, sc) = (stream.width(), stream.height(), stream.channels());
    let mut buf = vec![0u8; sw as usize * sh as usize * sc as usize];
    stream.write_to_buffer(&mut buf);
    let img = match sc {
        1 => GrayImage::from_raw(sw, sh, buf).map(DynamicImage::ImageLuma8),
        2 => GrayAlphaImage::from_raw(sw, sh, buf).map(DynamicImage::ImageLumaA8),
        3 => RgbImage::from_raw(sw, sh, buf).map(DynamicImage::ImageRgb8),
        4 => RgbaImage::from_raw(sw, sh, buf).map(DynamicImage::ImageRgba8),
        n => return Err(format!("unsupported JPEG XL: {n} colour channels")),
    }
    .ok_or("corrupt JPEG XL: the decoder returned a short image")?;
    Ok((img, sw, sh))
}
