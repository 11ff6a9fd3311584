//! Indexing throughput against decode-only throughput on the same files, in one
//! run: how much the pipeline (hashing, EXIF, thumbnails, model, storage) costs on
//! top of decoding and preprocessing.
//!
//!     cargo bench -p scry-indexer --bench index_throughput [-- FOLDER] [MODEL_DIR]
//!
//! Defaults: sample_data with the tiny test model (so the model costs ~nothing and
//! the figure isolates the pipeline). Medians of 5 runs.

use std::path::PathBuf;
use std::sync::RwLock;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let folder = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("sample_data"));
    let model_dir = args
        .get(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("tests/fixtures/tiny-clip"));
    let model = scry::ClipModel::load_dir(&model_dir).expect("model");
    let files: Vec<PathBuf> = walk(&folder);
    let pre = model.preprocessor().clone();

    let mut decode = Vec::new();
    let mut index = Vec::new();
    let mut n_images = 0;
    for _ in 0..5 {
        let t = Instant::now();
        use rayon::prelude::*;
        n_images = files
            .par_iter()
            .filter_map(|p| {
                let bytes = std::fs::read(p).ok()?;
                let d = scry::decode::decode_full(&bytes, Some(pre.decode_min_side())).ok()?;
                let rgb = scry::preprocess::to_rgb(d.image);
                std::hint::black_box(pre.pixels(&rgb));
                Some(())
            })
            .count();
        decode.push(t.elapsed().as_secs_f64());

        let tmp = tempfile::tempdir().unwrap();
        let lib = RwLock::new(scry::Library::open(tmp.path()).unwrap());
        let t = Instant::now();
        let s = scry_indexer::index(
            &lib,
            &model,
            std::slice::from_ref(&folder),
            &Default::default(),
            &scry_indexer::Silent,
        )
        .expect("indexing");
        index.push(t.elapsed().as_secs_f64());
        assert_eq!(s.embedded + s.copies, n_images);
    }
    let (d, i) = (median(decode), median(index));
    println!(
        "{n_images} images: decode+preprocess {:.1} images/s, full indexing {:.1} images/s; indexing/decode throughput ratio {:.2}",
        n_images as f64 / d,
        n_images as f64 / i,
        d / i
    );
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let hidden = p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if p.is_dir() && !hidden {
            out.extend(walk(&p));
        } else if p.is_file() && !hidden {
            out.push(p);
        }
    }
    out
}
