//! HEIC/HEIF and AVIF through libheif, loaded at run time (`libloading` on its C
//! API, which has been stable since 1.x): building scry never needs it, and
//! Debian's libheif1 brings the HEVC (libde265) and AV1 (dav1d, aom) decoders.
//!
//! What the reference (Pillow + pillow-heif) gives, we give: the primary image,
//! with the file's `irot`/`imir` transforms applied by libheif, high bit depths
//! brought to 8 bits by libheif, alpha composited over white later (as for PNG).
//! A file with no transform property but an EXIF orientation is turned by the
//! EXIF tag, as a JPEG would be.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::OnceLock;

use image::{DynamicImage, RgbImage, RgbaImage};

use super::{MAX_DECODE_BYTES, MAX_DIMENSION};

#[repr(C)]
#[derive(Clone, Copy)]
struct HeifError {
    code: c_int,
    subcode: c_int,
    message: *const c_char,
}

/// `struct heif_decoding_options` up to version 4 (libheif 1.13+). It is always
/// allocated by libheif, which fills the version it knows; we write only fields
/// that version has.
#[repr(C)]
struct DecodingOptions {
    version: u8,
    ignore_transformations: u8,
    start_progress: *const c_void,
    on_progress: *const c_void,
    end_progress: *const c_void,
    progress_user_data: *mut c_void,
    convert_hdr_to_8bit: u8,
    strict_decoding: u8,
    decoder_id: *const c_char,
}

type Ctx = c_void;
type Handle = c_void;
type Img = c_void;

const COLORSPACE_RGB: c_int = 1;
const CHROMA_INTERLEAVED_RGB: c_int = 10;
const CHROMA_INTERLEAVED_RGBA: c_int = 11;
const CHANNEL_INTERLEAVED: c_int = 10;
// enum heif_error_code
const ERR_INVALID_INPUT: c_int = 2;
const ERR_UNSUPPORTED_FILETYPE: c_int = 3;
const ERR_UNSUPPORTED_FEATURE: c_int = 4;
const ERR_MEMORY: c_int = 6;

/// The functions of libheif that scry calls, resolved once.
pub(crate) struct Libheif {
    _lib: libloading::Library,
    get_version: unsafe extern "C" fn() -> *const c_char,
    context_alloc: unsafe extern "C" fn() -> *mut Ctx,
    context_free: unsafe extern "C" fn(*mut Ctx),
    read_from_memory:
        unsafe extern "C" fn(*mut Ctx, *const c_void, usize, *const c_void) -> HeifError,
    set_max_size: unsafe extern "C" fn(*mut Ctx, c_int),
    primary_handle: unsafe extern "C" fn(*mut Ctx, *mut *mut Handle) -> HeifError,
    handle_release: unsafe extern "C" fn(*const Handle),
    handle_width: unsafe extern "C" fn(*const Handle) -> c_int,
    handle_height: unsafe extern "C" fn(*const Handle) -> c_int,
    handle_has_alpha: unsafe extern "C" fn(*const Handle) -> c_int,
    options_alloc: unsafe extern "C" fn() -> *mut DecodingOptions,
    options_free: unsafe extern "C" fn(*mut DecodingOptions),
    decode_image: unsafe extern "C" fn(
        *const Handle,
        *mut *mut Img,
        c_int,
        c_int,
        *const DecodingOptions,
    ) -> HeifError,
    image_width: unsafe extern "C" fn(*const Img, c_int) -> c_int,
    image_height: unsafe extern "C" fn(*const Img, c_int) -> c_int,
    plane_readonly: unsafe extern "C" fn(*const Img, c_int, *mut c_int) -> *const u8,
    image_release: unsafe extern "C" fn(*const Img),
}

// SAFETY: the function pointers are plain C functions; libheif is thread-safe for
// separate contexts, and each decode makes its own.
unsafe impl Send for Libheif {}
unsafe impl Sync for Libheif {}

impl Libheif {
    fn load() -> Result<Self, String> {
        let names: Vec<String> = match std::env::var("SCRY_LIBHEIF") {
            Ok(p) if !p.is_empty() => vec![p],
            _ => [
                "libheif.so.1",
                "libheif.so",
                "libheif.1.dylib",
                "libheif.dylib",
            ]
            .map(String::from)
            .to_vec(),
        };
        let mut last = String::new();
        for name in &names {
            // SAFETY: loading libheif runs its initialisers, which only set up
            // its plugin registry.
            match unsafe { libloading::Library::new(name) } {
                Ok(lib) => return Self::resolve(lib),
                Err(e) => last = e.to_string(),
            }
        }
        Err(format!("libheif not found ({last})"))
    }

    fn resolve(lib: libloading::Library) -> Result<Self, String> {
        macro_rules! sym {
            ($name:literal) => {
                // SAFETY: the type is the one of libheif's heif.h for this name.
                *unsafe { lib.get($name) }.map_err(|e| format!("libheif is too old: {e}"))?
            };
        }
        let this = Libheif {
            get_version: sym!(b"heif_get_version\0"),
            context_alloc: sym!(b"heif_context_alloc\0"),
            context_free: sym!(b"heif_context_free\0"),
            read_from_memory: sym!(b"heif_context_read_from_memory_without_copy\0"),
            set_max_size: sym!(b"heif_context_set_maximum_image_size_limit\0"),
            primary_handle: sym!(b"heif_context_get_primary_image_handle\0"),
            handle_release: sym!(b"heif_image_handle_release\0"),
            handle_width: sym!(b"heif_image_handle_get_width\0"),
            handle_height: sym!(b"heif_image_handle_get_height\0"),
            handle_has_alpha: sym!(b"heif_image_handle_has_alpha_channel\0"),
            options_alloc: sym!(b"heif_decoding_options_alloc\0"),
            options_free: sym!(b"heif_decoding_options_free\0"),
            decode_image: sym!(b"heif_decode_image\0"),
            image_width: sym!(b"heif_image_get_width\0"),
            image_height: sym!(b"heif_image_get_height\0"),
            plane_readonly: sym!(b"heif_image_get_plane_readonly\0"),
            image_release: sym!(b"heif_image_release\0"),
            _lib: lib,
        };
        // heif_init (1.13+) registers the built-in decoders; older versions do it
        // on first use.
        // SAFETY: heif_init takes an optional parameter block; NULL means defaults.
        unsafe {
            if let Ok(init) = this
                ._lib
                .get::<unsafe extern "C" fn(*const c_void) -> HeifError>(b"heif_init\0")
            {
                init(std::ptr::null());
            }
        }
        Ok(this)
    }

    /// "1.15.1".
    pub(crate) fn version(&self) -> String {
        // SAFETY: heif_get_version returns a static NUL-terminated string.
        unsafe { CStr::from_ptr((self.get_version)()) }
            .to_string_lossy()
            .into_owned()
    }
}

/// libheif, loaded on first use; the error says why it is not there.
pub(crate) fn library() -> Result<&'static Libheif, String> {
    static LIB: OnceLock<Result<Libheif, String>> = OnceLock::new();
    if super::system::hidden("libheif") {
        return Err("libheif hidden by SCRY_HIDE_CODECS".into());
    }
    LIB.get_or_init(Libheif::load)
        .as_ref()
        .map_err(Clone::clone)
}

fn message(e: HeifError) -> String {
    if e.message.is_null() {
        return format!("error {}.{}", e.code, e.subcode);
    }
    // SAFETY: libheif's messages are static NUL-terminated strings.
    unsafe { CStr::from_ptr(e.message) }
        .to_string_lossy()
        .into_owned()
}

/// Frees what libheif allocated, whichever way the decode ends.
struct Guard<'l> {
    lib: &'l Libheif,
    ctx: *mut Ctx,
    handle: *mut Handle,
    image: *mut Img,
    options: *mut DecodingOptions,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        // SAFETY: each pointer is null or was returned by libheif and is freed once.
        unsafe {
            if !self.image.is_null() {
                (self.lib.image_release)(self.image);
            }
            if !self.handle.is_null() {
                (self.lib.handle_release)(self.handle);
            }
            if !self.options.is_null() {
                (self.lib.options_free)(self.options);
            }
            if !self.ctx.is_null() {
                (self.lib.context_free)(self.ctx);
            }
        }
    }
}

/// Decodes the primary image of a HEIF or AVIF file. `kind` names the format in
/// messages ("HEIC", "AVIF"). Returns the image as displayed and its size.
pub(super) fn decode(bytes: &[u8], kind: &str) -> Result<(DynamicImage, u32, u32), String> {
    let lib = library().map_err(|why| {
        format!(
            "unsupported format: {kind} needs libheif, which this machine lacks ({why}); {}",
            super::system::LIBHEIF_INSTALL
        )
    })?;
    let fail = |e: HeifError| -> String {
        let m = message(e);
        match e.code {
            ERR_UNSUPPORTED_FILETYPE | ERR_UNSUPPORTED_FEATURE => {
                format!("unsupported {kind} feature: {m}")
            }
            ERR_MEMORY => format!("too large to decode safely ({kind}: {m})"),
            ERR_INVALID_INPUT => format!("corrupt or truncated {kind}: {m}"),
            _ => format!("corrupt {kind}: {m}"),
        }
    };
    // SAFETY: every pointer passed to libheif is either one it returned (kept in
    // the guard and freed once) or points into `bytes`, which outlives the context
    // (`read_from_memory_without_copy` keeps a reference, not a copy). The plane is
    // read within `stride × height` bytes, as libheif documents.
    unsafe {
        let mut g = Guard {
            lib,
            ctx: (lib.context_alloc)(),
            handle: std::ptr::null_mut(),
            image: std::ptr::null_mut(),
            options: std::ptr::null_mut(),
        };
        if g.ctx.is_null() {
            return Err(format!("not enough memory to decode this {kind}"));
        }
        (lib.set_max_size)(g.ctx, MAX_DIMENSION as c_int);
        let e = (lib.read_from_memory)(g.ctx, bytes.as_ptr().cast(), bytes.len(), std::ptr::null());
        if e.code != 0 {
            return Err(fail(e));
        }
        let e = (lib.primary_handle)(g.ctx, &mut g.handle);
        if e.code != 0 {
            return Err(fail(e));
        }
        let (w, h) = ((lib.handle_width)(g.handle), (lib.handle_height)(g.handle));
        if w <= 0 || h <= 0 {
            return Err(format!("corrupt {kind}: it says it is {w}×{h} pixels"));
        }
        let (w, h) = (w as u32, h as u32);
        let alpha = (lib.handle_has_alpha)(g.handle) != 0;
        let channels: u64 = if alpha { 4 } else { 3 };
        if w > MAX_DIMENSION
            || h > MAX_DIMENSION
            || w as u64 * h as u64 * channels > MAX_DECODE_BYTES
        {
            return Err(format!(
                "too large to decode safely ({w}×{h}; the limit is {MAX_DIMENSION} per side)"
            ));
        }
        g.options = (lib.options_alloc)();
        if !g.options.is_null() && (*g.options).version >= 2 {
            (*g.options).convert_hdr_to_8bit = 1;
        }
        let chroma = if alpha {
            CHROMA_INTERLEAVED_RGBA
        } else {
            CHROMA_INTERLEAVED_RGB
        };
        let e = (lib.decode_image)(g.handle, &mut g.image, COLORSPACE_RGB, chroma, g.options);
        if e.code != 0 {
            return Err(fail(e));
        }
        let iw = (lib.image_width)(g.image, CHANNEL_INTERLEAVED);
        let ih = (lib.image_height)(g.image, CHANNEL_INTERLEAVED);
        let mut stride: c_int = 0;
        let plane = (lib.plane_readonly)(g.image, CHANNEL_INTERLEAVED, &mut stride);
        if plane.is_null() || iw <= 0 || ih <= 0 || (stride as i64) < iw as i64 * channels as i64 {
            return Err(format!("corrupt {kind}: the decoder returned no pixels"));
        }
        let (iw, ih, stride) = (iw as usize, ih as usize, stride as usize);
        let row = iw * channels as usize;
        let mut out = Vec::with_capacity(row * ih);
        for y in 0..ih {
            out.extend_from_slice(std::slice::from_raw_parts(plane.add(y * stride), row));
        }
        let img = if alpha {
            RgbaImage::from_raw(iw as u32, ih as u32, out).map(DynamicImage::ImageRgba8)
        } else {
            RgbImage::from_raw(iw as u32, ih as u32, out).map(DynamicImage::ImageRgb8)
        }
        .ok_or_else(|| format!("corrupt {kind}: the decoder returned a short image"))?;
        let mut img = img;
        // libheif applied irot/imir. Without them, the EXIF orientation (written by
        // some converters) turns the image, as for a JPEG.
        let props = super::bmff::heif_properties(bytes);
        if !props.iter().any(|p| p == b"irot" || p == b"imir") {
            if let Some(o) = crate::metadata::orientation(bytes) {
                img.apply_orientation(o);
            }
        }
        let (dw, dh) = (img.width(), img.height());
        Ok((img, dw, dh))
    }
}
