//! Decode time per format family, for files made by `scripts/bench_formats.py`
//! (which times the Python reference on the same files in the same run and prints
//! the ratios). Run that script; by itself this prints medians for the files in
//! `SCRY_FORMAT_BENCH_DIR`, one JSON line per file.
//!
//! Each file is decoded as the indexer does: full decode for HEIC/AVIF/JPEG XL,
//! DCT-scaled to the model's input for JPEG and RAW previews (`min_short_side`
//! 224), and once at full size for comparison with the reference's full decode.
//! A video is probed and its frames picked and decoded as the indexer does
//! (`scry::video`): the time, and how many frames it gave.

use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let Some(dir) = std::env::var_os("SCRY_FORMAT_BENCH_DIR") else {
        eprintln!("set SCRY_FORMAT_BENCH_DIR (scripts/bench_formats.py does)");
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e != "json"))
        .collect();
    files.sort();
    for path in files {
        if scry::video::has_extension(&path) {
            video(&path);
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let time = |min: Option<u32>| {
            median(
                (0..5)
                    .map(|_| {
                        let t = Instant::now();
                        let d = scry::decode::decode_full(&bytes, min).expect("decodes");
                        std::hint::black_box(scry::preprocess::to_rgb(d.image));
                        t.elapsed().as_secs_f64() * 1e3
                    })
                    .collect(),
            )
        };
        let full = time(None);
        let scaled = time(Some(224));
        println!(
            "{}",
            serde_json::json!({
                "file": path.file_name().unwrap().to_string_lossy(),
                "full_ms": full,
                "indexer_ms": scaled,
            })
        );
    }
}

/// A video as the indexer reads it: probe, then the chosen frames as RGB.
fn video(path: &std::path::Path) {
    let mut frames = 0;
    let ms = median(
        (0..5)
            .map(|_| {
                let t = Instant::now();
                let probe = scry::video::probe(path).expect("probes");
                frames = scry::video::frames(path, &probe, &mut |_, rgb| {
                    std::hint::black_box(rgb);
                })
                .expect("decodes");
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    );
    println!(
        "{}",
        serde_json::json!({
            "file": path.file_name().unwrap().to_string_lossy(),
            "full_ms": ms,
            "indexer_ms": ms,
            "frames": frames,
        })
    );
}
