//! How much DCT-domain scaling of large JPEGs moves their embeddings: for each
//! JPEG in a folder, the cosine between the embedding from a full-size decode
//! (what Pillow + CLIPImageProcessor see: libjpeg-turbo, then the same
//! Pillow-exact resize) and from decodes scaled so the short side stays at
//! least 256 (the thumbnail's side), 448 (2× the model input), 512 (what the
//! indexer keeps) and 672; and the decode time of each.
//!
//!     cargo run --release --example dct_fidelity -- MODEL_DIR PHOTO_DIR

use std::path::Path;
use std::time::Instant;

use scry::decode::decode_full;
use scry::preprocess::to_rgb;
use scry::ClipModel;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let model = ClipModel::load_dir(Path::new(&args[1])).expect("model");
    let pre = model.preprocessor();
    let input = pre.decode_min_side().min(224);
    let mut paths: Vec<_> = std::fs::read_dir(&args[2])
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg"))
        })
        .collect();
    paths.sort();
    let factors = [256.0 / 224.0, 2.0, 512.0 / 224.0, 3.0];
    let mut worst = vec![1.0f32; factors.len()];
    let mut times = vec![0f64; factors.len() + 1];
    println!(
        "| photo | size | {} |",
        factors
            .iter()
            .map(|f| format!("short ≥ {:.0}", f * input as f64))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let mut previous: Option<Vec<f32>> = None;
    let mut apart = 1.0f32;
    for p in &paths {
        let bytes = std::fs::read(p).unwrap();
        let t = Instant::now();
        let full = decode_full(&bytes, None).unwrap();
        times[0] += t.elapsed().as_secs_f64();
        let (w, h) = (full.width, full.height);
        let reference = model
            .image_features(&[pre.pixels(&to_rgb(full.image))])
            .unwrap();
        if let Some(prev) = previous.replace(reference[0].clone()) {
            apart = apart.min(scry::model::cosine(&prev, &reference[0]));
        }
        let mut row = Vec::new();
        for (i, f) in factors.iter().enumerate() {
            let min = (f * input as f64).round() as u32;
            let t = Instant::now();
            // JPEGs are decoded at twice the short side asked for.
            let scaled = decode_full(&bytes, Some(min.div_ceil(2))).unwrap();
            times[i + 1] += t.elapsed().as_secs_f64();
            let e = model
                .image_features(&[pre.pixels(&to_rgb(scaled.image))])
                .unwrap();
            let c = scry::model::cosine(&e[0], &reference[0]);
            worst[i] = worst[i].min(c);
            row.push(format!("{c:.5}"));
        }
        println!(
            "| {} | {w}×{h} | {} |",
            p.file_name().unwrap().to_string_lossy(),
            row.join(" | ")
        );
    }
    println!(
        "| **lowest** | | {} |",
        worst
            .iter()
            .map(|c| format!("**{c:.5}**"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("(two different photos: cosine down to {apart:.5}, for scale)");
    println!(
        "| decode time, all {} (full: {:.2} s) | | {} |",
        paths.len(),
        times[0],
        times[1..]
            .iter()
            .map(|t| format!("{t:.2} s"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
}
