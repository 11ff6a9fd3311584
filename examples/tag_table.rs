//! What the zero-shot tags cost on a large library: building the tag table
//! (every stored vector against the 312 built-in categories), finding the
//! images with one tag, and counting facets, on a library written by
//! `examples/synthetic_library.rs`. The categories are vectors near some of
//! the synthetic photos' cluster centres (no model is run), so about a third
//! of the photos carry a tag; the costs do not depend on which.
//!
//!     cargo run --release --example synthetic_library -- DIR N MODEL
//!     cargo run --release --example tag_table -- DIR [ROUNDS]
//!
//! Prints the median of ROUNDS (3) for each step.

use std::time::Instant;

use scry::tags::{vocabulary, TagTable, Tagger};
use scry::Library;

#[path = "../benches/common/synthetic.rs"]
mod synthetic;

const DIM: usize = 512;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = args.get(1) else {
        eprintln!("usage: tag_table DIR [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(3);
    let t = Instant::now();
    let lib = Library::open(std::path::Path::new(dir)).expect("library");
    eprintln!(
        "opened {} images in {:.2} s",
        lib.len().unwrap(),
        t.elapsed().as_secs_f64()
    );
    let names = vocabulary(&[]);
    let vectors: Vec<Vec<f32>> = (0..names.len())
        .map(|i| synthetic::centre(i * 3, DIM))
        .collect();
    let tagger = Tagger::from_vectors(names.clone(), vectors).expect("tagger");
    let mut table = None;
    let build: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            table = Some(TagTable::build(&lib, &tagger).expect("tag table"));
            t.elapsed().as_secs_f64()
        })
        .collect();
    let table = table.expect("built");
    let build = median(build);
    println!(
        "tag table of {} images, {} categories: {:.2} s ({:.0} images/s)",
        table.images(),
        names.len(),
        build,
        table.images() as f64 / build
    );
    let mut carrying = 0;
    let with: Vec<f64> = (0..rounds)
        .map(|r| {
            let t = Instant::now();
            carrying = table.with(r * 7 % names.len()).len();
            t.elapsed().as_secs_f64()
        })
        .collect();
    println!(
        "images with one tag ({carrying}): {:.1} ms",
        median(with) * 1e3
    );
    let mut facets = 0;
    let all: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            facets = table.facets(|_| true).len();
            t.elapsed().as_secs_f64()
        })
        .collect();
    println!(
        "facets over every image ({facets} tags): {:.1} ms",
        median(all) * 1e3
    );
}
