//! Formats beyond JPEG/PNG/WebP against their reference decoders: HEIC and AVIF
//! (pillow-heif, Pillow's libavif), JPEG XL (libjxl's djxl), camera RAW previews
//! (rawpy's extract_thumb where LibRaw opens the container). The fixtures and
//! their reference pixels and embeddings come from
//! `scripts/make_format_fixtures.py`.
//!
//! HEIC and AVIF need libheif at run time. Without it these tests say so and skip
//! those files, unless `SCRY_REQUIRE_CODECS=1` (CI), where its absence fails.

use std::path::PathBuf;

use serde_json::Value;

use scry::decode::{decode_file, decode_full, detect};
use scry::model::cosine;
use scry::preprocess::to_rgb;

use crate::common::{floats, golden_model, read_json, repo_root};

fn dir() -> PathBuf {
    repo_root().join("tests/fixtures/formats")
}

fn entries() -> Vec<Value> {
    read_json(&dir().join("formats.json"))["entries"]
        .as_array()
        .unwrap()
        .clone()
}

fn needs_libheif(file: &str) -> bool {
    file.ends_with(".heic") || file.ends_with(".avif")
}

fn libheif_available() -> bool {
    let found = scry::decode::system::optional_codecs()
        .iter()
        .any(|c| c.provider == "libheif" && c.available);
    if !found && std::env::var_os("SCRY_REQUIRE_CODECS").is_some() {
        panic!("SCRY_REQUIRE_CODECS is set but libheif is missing");
    }
    found
}

/// The fixtures this machine can decode (all of them when libheif is present).
fn readable() -> Vec<Value> {
    let heif = libheif_available();
    let all = entries();
    if !heif {
        eprintln!("libheif not found: HEIC and AVIF fixtures skipped");
    }
    all.into_iter()
        .filter(|e| heif || !needs_libheif(e["file"].as_str().unwrap()))
        .collect()
}

/// Per family, the largest difference in 8-bit levels allowed against the
/// reference decoder, and the largest mean difference. RAW previews go through
/// the same libjpeg-turbo as Pillow: exact. HEIC and AVIF go through another build
/// of the same codecs (Debian's libheif 1.15 against the libheif and libavif in
/// the Python wheels), whose chroma upsampling differs at colour edges, most on a
/// rotated image with odd sides (up to 12 levels there, 0.3 on average). AVIF
/// differs most: libheif 1.15 upsamples chroma by nearest neighbour where libavif
/// interpolates, so strong colour edges differ by up to 30 levels (1.1 on
/// average, no bias); the embedding still lands within cosine 0.999. jxl-oxide
/// against libjxl likewise. A wrong orientation, bit depth or colour matrix is
/// off by tens of levels on average.
fn tolerance(file: &str) -> (f32, f64) {
    match file.rsplit('.').next().unwrap() {
        "heic" => (16.0, 1.0),
        "avif" => (32.0, 1.5),
        "jxl" => (4.0, 0.5),
        _ => (0.0, 0.0),
    }
}

#[test]
fn pixels_match_the_reference_decoders() {
    for e in readable() {
        let file = e["file"].as_str().unwrap();
        let bytes = std::fs::read(dir().join(file)).unwrap();
        let ours = to_rgb(
            decode_full(&bytes, None)
                .unwrap_or_else(|m| panic!("{file}: {m}"))
                .image,
        );
        let reference =
            to_rgb(decode_file(&dir().join(e["reference_png"].as_str().unwrap())).unwrap());
        assert_eq!(
            ours.dimensions(),
            reference.dimensions(),
            "{file}: size (orientation applied?)"
        );
        let diffs: Vec<f32> = ours
            .as_raw()
            .iter()
            .zip(reference.as_raw())
            .map(|(a, b)| (*a as f32 - *b as f32).abs())
            .collect();
        let max = diffs.iter().copied().fold(0.0, f32::max);
        let mean = diffs.iter().map(|&d| d as f64).sum::<f64>() / diffs.len() as f64;
        println!(
            "{file}: max {max} levels, mean {mean:.3} (reference: {})",
            e["reference"]
        );
        let (max_ok, mean_ok) = tolerance(file);
        assert!(max <= max_ok, "{file}: {max} levels");
        assert!(mean <= mean_ok, "{file}: mean {mean} levels");
    }
}

#[test]
fn embeddings_from_each_kind_of_file_match_the_reference() {
    let model = golden_model();
    let list = readable();
    let files: Vec<PathBuf> = list
        .iter()
        .map(|e| dir().join(e["file"].as_str().unwrap()))
        .collect();
    let ours = model.embed_image_files(&files, 4).unwrap();
    for (e, got) in list.iter().zip(ours) {
        let got = got.unwrap();
        let cos = cosine(&got, &floats(&e["features"]));
        println!("{}: cosine {cos:.6}", e["file"]);
        assert!(cos >= 0.999, "{}: cosine {cos}", e["file"]);
    }
}

#[test]
fn a_file_stored_sideways_embeds_like_its_upright_twin() {
    let model = golden_model();
    let list = readable();
    let mut checked = 0;
    for e in list.iter().filter(|e| e["upright_twin"].is_string()) {
        let twin = list
            .iter()
            .find(|t| t["file"] == e["upright_twin"])
            .expect("the twin is a fixture");
        let got = model
            .embed_image_files(&[dir().join(e["file"].as_str().unwrap())], 1)
            .unwrap()
            .remove(0)
            .unwrap();
        let cos = cosine(&got, &floats(&twin["features"]));
        println!("{} against {}: cosine {cos:.6}", e["file"], twin["file"]);
        assert!(cos >= 0.999, "{}: cosine {cos}", e["file"]);
        checked += 1;
    }
    assert!(checked >= 3, "sideways fixtures: {checked}");
}

#[test]
fn every_kind_is_told_by_its_bytes_not_its_name() {
    for e in readable() {
        let file = e["file"].as_str().unwrap();
        let ext = file.rsplit('.').next().unwrap();
        let bytes = std::fs::read(dir().join(file)).unwrap();
        let family = detect(&bytes).unwrap_or_else(|| panic!("{file}: not detected"));
        assert_eq!(family.name(), ext, "{file}");
        // Under a misleading name it is the same file.
        let tmp = tempfile::tempdir().unwrap();
        let renamed = tmp.path().join("photo.png");
        std::fs::copy(dir().join(file), &renamed).unwrap();
        let d = decode_full(&std::fs::read(&renamed).unwrap(), None).unwrap();
        assert_eq!(d.format, ext);
        assert_eq!(
            (d.width, d.height),
            (
                e["width"].as_u64().unwrap() as u32,
                e["height"].as_u64().unwrap() as u32
            ),
            "{file}: dimensions as displayed"
        );
    }
}

#[test]
fn truncated_and_corrupted_files_are_errors_naming_the_file() {
    for e in readable() {
        let file = e["file"].as_str().unwrap();
        let bytes = std::fs::read(dir().join(file)).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        for cut in [0.1, 0.5, 0.9] {
            let short = &bytes[..(bytes.len() as f64 * cut) as usize];
            let path = tmp.path().join(format!("cut-{cut}-{file}"));
            std::fs::write(&path, short).unwrap();
            let Err(err) = decode_file(&path) else {
                panic!("{file} cut at {cut} decoded");
            };
            let msg = err.to_string();
            assert!(msg.contains(&path.display().to_string()), "{msg}");
            assert!(!msg.contains("panicked"), "{msg}");
        }
        // Garbage in the middle: an error or (for formats without checksums) some
        // pixels, never a panic or a hang.
        let mut bad = bytes.clone();
        let mid = bad.len() / 2;
        for b in &mut bad[mid..(mid + 64).min(bytes.len())] {
            *b ^= 0x5A;
        }
        let _ = decode_full(&bad, Some(224));
    }
}

#[test]
fn a_raw_without_a_preview_says_so() {
    let mut bytes = std::fs::read(dir().join("chelsea.nef")).unwrap();
    // Break every JPEG start-of-image marker: no preview is left.
    for i in 0..bytes.len() - 1 {
        if bytes[i] == 0xFF && bytes[i + 1] == 0xD8 {
            bytes[i + 1] = 0x00;
        }
    }
    let err = decode_full(&bytes, None).unwrap_err();
    assert!(
        err.starts_with("unsupported NEF file: no embedded preview"),
        "{err}"
    );
}

#[test]
fn without_libheif_a_heic_is_unsupported_with_what_to_install() {
    // The message a machine without libheif gives (the hidden case runs in the
    // command tests, which can set SCRY_HIDE_CODECS for one process).
    let bytes = std::fs::read(dir().join("chelsea.heic")).unwrap();
    assert_eq!(detect(&bytes).map(|f| f.name()), Some("heic"));
    if !libheif_available() {
        let err = decode_full(&bytes, None).unwrap_err();
        assert!(
            err.starts_with("unsupported format: HEIC needs libheif"),
            "{err}"
        );
        assert!(err.contains("apt install libheif1"), "{err}");
    }
}
