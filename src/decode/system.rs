//! Optional codecs that live outside scry: system libraries loaded at run time and
//! programs found on PATH. Building scry never needs them; a file that needs a
//! missing one is reported as unsupported with what to install, and `scry status`
//! lists what this machine can read.
//!
//! `SCRY_HIDE_CODECS=libheif` hides some of them (as if not installed), for
//! tests and for people who want to skip a family.

/// One optional codec and whether this machine has it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OptionalCodec {
    /// What it reads, for people: "HEIC/HEIF, AVIF".
    pub formats: &'static str,
    /// The library or program: "libheif", "ffmpeg".
    pub provider: &'static str,
    /// Whether it was found (and not hidden).
    pub available: bool,
    /// Its version, when found.
    pub version: Option<String>,
    /// What to install when it is missing.
    pub install: &'static str,
}

/// What to install for libheif.
pub const LIBHEIF_INSTALL: &str =
    "install libheif (Debian/Ubuntu: apt install libheif1; Fedora: dnf install libheif; macOS: brew install libheif)";

/// Whether `SCRY_HIDE_CODECS` hides `provider`.
pub fn hidden(provider: &str) -> bool {
    std::env::var("SCRY_HIDE_CODECS").is_ok_and(|v| {
        v.split(',')
            .any(|p| p.trim().eq_ignore_ascii_case(provider))
    })
}

/// Every optional codec, found or not, with the built-in formats left out.
pub fn optional_codecs() -> Vec<OptionalCodec> {
    let heif = super::heif::library();
    vec![
        OptionalCodec {
            formats: "HEIC/HEIF, AVIF",
            provider: "libheif",
            available: heif.is_ok(),
            version: heif.as_ref().ok().map(|l| l.version()),
            install: LIBHEIF_INSTALL,
        },
        {
            let ffmpeg = crate::video::tools();
            OptionalCodec {
                formats: "video (MP4, MOV, M4V, MKV, WebM, AVI)",
                provider: "ffmpeg",
                available: ffmpeg.is_ok(),
                version: ffmpeg.as_ref().ok().map(|t| t.version.clone()),
                install: crate::video::FFMPEG_INSTALL,
            }
        },
        OptionalCodec {
            formats: "text in images (scry index --ocr)",
            provider: "tesseract",
            available: crate::ocr::available().is_ok(),
            version: crate::ocr::version(),
            install: crate::ocr::TESSERACT_INSTALL,
        },
    ]
}

/// Formats scry reads with nothing installed.
pub const BUILT_IN: &str =
    "JPEG, PNG, WebP, GIF, BMP, TIFF, JPEG XL, camera RAW previews (DNG, CR2, CR3, NEF, ARW, RAF, ORF, RW2, PEF)";

/// What this machine reads, for `scry status` and `/api/status`.
pub fn report() -> serde_json::Value {
    serde_json::json!({
        "built_in": BUILT_IN,
        "optional": optional_codecs(),
    })
}
