//! Recall@10 and latency of a synthetic library's graph at several `ef`, against
//! the exact scan, on the library as `scry serve` opens it (its graph's view
//! file where it has a current one).
//!
//!     cargo run --release --example synthetic_library -- DIR N MODEL
//!     cargo run --release --example library_recall -- DIR [QUERIES]
//!
//! Queries are drawn like the synthetic photos (near one of their 1,000
//! clusters). Prints one row per `ef`: recall@10, p50 and p99 in ms (one query
//! at a time), and the `ef` the library's own search uses at this size.

use std::time::Instant;

use scry::home::Scope;
use scry::Library;

#[path = "../benches/common/synthetic.rs"]
mod synthetic;

const DIM: usize = 512;

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = args.get(1) else {
        eprintln!("usage: library_recall DIR [QUERIES]");
        std::process::exit(2);
    };
    let queries: usize = args.get(2).and_then(|q| q.parse().ok()).unwrap_or(200);
    let t = Instant::now();
    let lib = Library::open(std::path::Path::new(dir)).expect("library");
    let local = lib.local().expect("a local library");
    eprintln!(
        "opened {} images in {:.2} s (graph {})",
        lib.len().unwrap(),
        t.elapsed().as_secs_f64(),
        match local.graph() {
            Some(g) if g.is_read_only() => "from its view file",
            Some(_) => "from hnsw_rs's dump",
            None => "none",
        }
    );
    let graph = local.graph().expect("a library large enough for a graph");
    let centres: Vec<Vec<f32>> = (0..1000).map(|c| synthetic::centre(c, DIM)).collect();
    let qs: Vec<Vec<f32>> = (0..queries)
        .map(|q| synthetic::query(q, &centres))
        .collect();
    let t = Instant::now();
    let truth: Vec<Vec<u64>> = qs
        .iter()
        .map(|q| {
            use scry::ann::NearestNeighbours;
            local
                .vectors()
                .search(q, 10, &|_| true)
                .into_iter()
                .map(|h| h.0)
                .collect()
        })
        .collect();
    eprintln!("exact answers in {:.1} s", t.elapsed().as_secs_f64());
    println!("| ef | recall@10 | p50 (ms) | p99 (ms) |");
    println!("|---|---|---|---|");
    for ef in [64, 128, 192, 256, 384, 512] {
        let mut found = 0;
        let mut ms = Vec::new();
        for (q, want) in qs.iter().zip(&truth) {
            let t = Instant::now();
            let got = graph.search_ef(q, 10, ef, &|_| true);
            ms.push(t.elapsed().as_secs_f64() * 1e3);
            found += want
                .iter()
                .filter(|w| got.iter().any(|g| g.0 == **w))
                .count();
        }
        let recall = found as f64 / (10 * qs.len()) as f64;
        let (p50, p99) = (percentile(&mut ms, 0.5), percentile(&mut ms, 0.99));
        println!("| {ef} | {recall:.3} | {p50:.2} | {p99:.2} |");
    }
    // The library's own search (what the HTTP API runs), nearest 10.
    let mut found = 0;
    let mut ms = Vec::new();
    for (q, want) in qs.iter().zip(&truth) {
        let t = Instant::now();
        let got = lib.nearest(q, 10, &Scope::all()).unwrap();
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        found += want
            .iter()
            .filter(|w| got.iter().any(|g| g.0 == **w))
            .count();
    }
    println!(
        "library search: recall@10 {:.3}, p50 {:.2} ms, p99 {:.2} ms",
        found as f64 / (10 * qs.len()) as f64,
        percentile(&mut ms, 0.5),
        percentile(&mut ms, 0.99)
    );
}
