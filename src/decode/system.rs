//! Optional codecs that live outside scry: system libraries loaded at run time and
//! programs found on PATH. Building scry never needs them; a file that needs a
//! missing one is reported as unsupported with what to install, and `scry status`
//! lists what this machine can read.
//!
//! `SCRY_HIDE_CODECS=libheif,ffmpeg` hides some of them (as if not installed), for
//! tests and for people who want to skip a family.

use std::path::PathBuf;

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
/// What to install for ffmpeg.
pub const FFMPEG_INSTALL: &str =
    "install ffmpeg (Debian/Ubuntu: apt install ffmpeg; Fedora: dnf install ffmpeg; macOS: brew install ffmpeg)";

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
    let ffmpeg = find_program("ffmpeg").filter(|_| find_program("ffprobe").is_some());
    vec![
        OptionalCodec {
            formats: "HEIC/HEIF, AVIF",
            provider: "libheif",
            available: heif.is_ok(),
            version: heif.as_ref().ok().map(|l| l.version()),
            install: LIBHEIF_INSTALL,
        },
        OptionalCodec {
            formats: "video (MP4, MOV, M4V, MKV, WebM, AVI)",
            provider: "ffmpeg",
            available: ffmpeg.is_some() && !hidden("ffmpeg"),
            version: ffmpeg.as_ref().and(program_version("ffmpeg")),
            install: FFMPEG_INSTALL,
        },
    ]
}

/// Formats scry reads with nothing installed.
pub const BUILT_IN: &str =
    "JPEG, PNG, WebP, GIF, BMP, TIFF, JPEG XL, camera RAW previews (DNG, CR2, CR3, NEF, ARW, RAF, ORF, RW2, PEF)";

/// The full path of `name` on PATH, unless hidden.
pub fn find_program(name: &str) -> Option<PathBuf> {
    if hidden(name) {
        return None;
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

fn program_version(name: &str) -> Option<String> {
    let out = std::process::Command::new(find_program(name)?)
        .arg("-version")
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    // "ffmpeg version 5.1.9-0+deb12u1 Copyright …"
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(2)
        .map(str::to_string)
}
