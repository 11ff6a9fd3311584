//! Writes a local library of N synthetic photos (the scale bench's clustered
//! 512-d vectors and photo-like records, no thumbnails) bound to a model, for
//! measuring what `scry search` and `scry serve` cost on a large library without
//! indexing that many real photos.
//!
//!     cargo run --release --example synthetic_library -- DIR N MODEL
//!
//! MODEL is what `--model` will be given (a folder or a hub id): the library
//! records it, and `scry search --db DIR --model MODEL` then opens it. The
//! vectors are not that model's: results are meaningless, costs are real.

use std::time::Instant;

use scry::store::ChangeSet;
use scry::Library;

#[path = "../benches/common/synthetic.rs"]
mod synthetic;

const DIM: usize = 512;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: synthetic_library DIR N MODEL");
        std::process::exit(2);
    }
    let dir = std::path::Path::new(&args[1]);
    let n: usize = args[2]
        .replace(['_', ','], "")
        .parse()
        .expect("N: a number");
    let model = scry::model::hub::ModelSpec::parse(&args[3]).id();
    let centres: Vec<Vec<f32>> = (0..1000).map(|c| synthetic::centre(c, DIM)).collect();
    let t = Instant::now();
    let mut lib = Library::open(dir).expect("library");
    lib.bind_model(&model, DIM).expect("bind the model");
    let from = lib.len().unwrap();
    for start in (from..n).step_by(2000) {
        let end = (start + 2000).min(n);
        lib.commit(&ChangeSet {
            added: synthetic::images(start..end, &centres),
            ..Default::default()
        })
        .unwrap();
    }
    lib.checkpoint().unwrap();
    eprintln!(
        "{} images in {} for model {model} ({:.1} s)",
        lib.len().unwrap(),
        dir.display(),
        t.elapsed().as_secs_f64()
    );
}
