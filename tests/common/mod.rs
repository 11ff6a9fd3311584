//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use scry::ClipModel;
use serde_json::Value;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The committed fixtures (`tests/fixtures`), or `SCRY_PARITY_FIXTURE` if set.
pub fn fixture_dir() -> PathBuf {
    match std::env::var_os("SCRY_PARITY_FIXTURE") {
        Some(dir) => PathBuf::from(dir),
        None => repo_root().join("tests/fixtures"),
    }
}

/// The committed tiny model, always (not affected by `SCRY_PARITY_FIXTURE`).
pub fn tiny_model_dir() -> PathBuf {
    repo_root().join("tests/fixtures/tiny-clip")
}

/// `golden.json` of the fixture folder.
pub fn golden() -> &'static Value {
    static GOLDEN: OnceLock<Value> = OnceLock::new();
    GOLDEN.get_or_init(|| read_json(&fixture_dir().join("golden.json")))
}

/// The model the golden outputs were computed with, loaded once per test binary.
pub fn golden_model() -> &'static ClipModel {
    static MODEL: OnceLock<ClipModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        let name = golden()["model"]
            .as_str()
            .expect("golden.json names its model");
        ClipModel::load_dir(&fixture_dir().join(name)).expect("fixture model loads")
    })
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/make_fixtures.py)", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Token ids as the golden files store them (an array of integers).
pub fn token_ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .expect("array of token ids")
        .iter()
        .map(|x| u32::try_from(x.as_u64().expect("integer")).expect("a u32 token id"))
        .collect()
}

pub fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("array of numbers")
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Copies a model folder (with its module folders) so a test can damage its copy.
pub fn copy_model(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_model(&entry.path(), &dst.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), dst.join(entry.file_name())).unwrap();
        }
    }
}

/// A SigLIP 1 model folder at `dst`: the tiny SigLIP's weights (the same
/// architecture) with SigLIP 1's tokenizer files (`tests/fixtures/tiny-siglip1`:
/// spiece.model, tokenizer_config.json) in place of tokenizer.json.
pub fn siglip1_model(dst: &Path) {
    let fixtures = repo_root().join("tests/fixtures");
    copy_model(&fixtures.join("tiny-siglip"), dst);
    for f in [
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
    ] {
        let _ = std::fs::remove_file(dst.join(f));
    }
    copy_model(&fixtures.join("tiny-siglip1"), dst);
}
