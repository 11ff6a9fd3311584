//! Measures OCR on the generated text images (tests/fixtures/ocr) and the gate
//! on them and on photos without text: the word hit rate of the text read, the
//! gate's recall and false positives, and the time of each step.
//!
//!     cargo run --release --example ocr_eval -- [PHOTOS WITHOUT TEXT…]
//!
//! Without arguments, the photos without text are sample_data's. Needs
//! Tesseract with English (Debian: libtesseract5 tesseract-ocr-eng).

use std::path::{Path, PathBuf};
use std::time::Instant;

fn decode(path: &Path, min_side: Option<u32>) -> Option<image::RgbImage> {
    let bytes = std::fs::read(path).ok()?;
    let d = scry::decode::decode_full(&bytes, min_side).ok()?;
    Some(scry::preprocess::to_rgb(d.image))
}

fn photos(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            photos(&p, out);
        } else if scry::decode::decode_full(&std::fs::read(&p).unwrap_or_default(), Some(64))
            .is_ok()
        {
            out.push(p);
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("tests/fixtures/ocr");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let (mut hit, mut tried, mut passed, mut n) = (0, 0, 0, 0);
    let (mut gate_ms, mut read_ms) = (Vec::new(), Vec::new());
    for e in manifest.as_array().unwrap() {
        let file = e["file"].as_str().unwrap();
        let rgb = decode(&dir.join(file), None).unwrap();
        n += 1;
        let t = Instant::now();
        let gate = scry::ocr::gate(&rgb);
        gate_ms.push(t.elapsed().as_secs_f64() * 1e3);
        passed += gate.passes() as usize;
        let t = Instant::now();
        let text = scry::ocr::read_text(&rgb, &gate, "eng").unwrap();
        read_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let words = scry::keyword::tokens(&text);
        for w in e["words"].as_array().unwrap() {
            tried += 1;
            let w = w.as_str().unwrap();
            if words.iter().any(|t| t == w) {
                hit += 1;
            } else {
                println!("missed {w:?} in {file} ({})", e["kind"].as_str().unwrap());
            }
        }
    }
    println!(
        "text images: {n}; words read {hit} of {tried} ({:.1} %); gate passed {passed} of {n} (recall {:.1} %)",
        100.0 * hit as f64 / tried as f64,
        100.0 * passed as f64 / n as f64
    );
    println!(
        "per text image: gate {:.2} ms, reading {:.0} ms (medians)",
        median(gate_ms),
        median(read_ms)
    );

    let mut negatives = Vec::new();
    let args: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    if args.is_empty() {
        photos(&root.join("sample_data"), &mut negatives);
    } else {
        for a in args {
            if a.is_dir() {
                photos(&a, &mut negatives);
            } else {
                negatives.push(a);
            }
        }
    }
    let (mut false_pos, mut times) = (Vec::new(), Vec::new());
    for p in &negatives {
        // As the indexer decodes for the model (short side ≥ 448).
        let Some(rgb) = decode(p, Some(448)) else {
            continue;
        };
        let t = Instant::now();
        let gate = scry::ocr::gate(&rgb);
        times.push(t.elapsed().as_secs_f64() * 1e3);
        if gate.passes() {
            false_pos.push(format!("{} ({:.3})", p.display(), gate.text_blocks));
        }
    }
    println!(
        "photos without text: {}; the gate passed {} ({:.1} %), {:.2} ms each (median): {false_pos:?}",
        times.len(),
        false_pos.len(),
        100.0 * false_pos.len() as f64 / times.len().max(1) as f64,
        median(times)
    );
}
