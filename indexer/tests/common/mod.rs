//! Helpers shared by the indexer's test binaries.
#![allow(dead_code)]

pub mod qdrant;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use scry::ClipModel;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn model() -> &'static ClipModel {
    static M: OnceLock<ClipModel> = OnceLock::new();
    M.get_or_init(|| ClipModel::load_dir(&root().join("tests/fixtures/tiny-clip")).unwrap())
}

pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

/// Copies sample_data into `dst` without `phone/`: the 19 photos that the
/// tests counting and ranking sample_data were written for. The phone's files
/// (HEIC, RAW, video, a Live Photo) index only where libheif and ffmpeg are
/// installed; the web crate's CLI tests cover them.
pub fn copy_photos(dst: &Path) {
    let src = root().join("sample_data");
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            if e.file_name() != "phone" {
                copy_dir(&e.path(), &to);
            }
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

/// Whether an optional codec or program is on this machine. Without it the
/// test that needs it is skipped (said on stderr), unless `SCRY_REQUIRE_CODECS`
/// is set (CI), where its absence fails.
pub fn codec_here(what: &str, here: bool) -> bool {
    if !here {
        assert!(
            std::env::var_os("SCRY_REQUIRE_CODECS").is_none(),
            "SCRY_REQUIRE_CODECS is set but {what} is missing"
        );
        eprintln!("{what} not found: skipped");
    }
    here
}

pub fn ffmpeg_here() -> bool {
    codec_here("ffmpeg", scry::video::tools().is_ok())
}

pub fn tesseract_here() -> bool {
    codec_here("Tesseract (with English)", scry::ocr::check("eng").is_ok())
}
