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
