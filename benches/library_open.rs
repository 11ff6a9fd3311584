//! How long opening a large library takes (graph loaded from its dump, never
//! rebuilt), against rebuilding the graph from the same vectors, in one run.
//!
//!     cargo bench --bench library_open            # 100,000 synthetic 512-d vectors
//!     SCRY_BENCH_N=20000 cargo bench --bench library_open
//!
//! The library is made once under target/bench-library-N and reused.

use std::time::Instant;

use scry::home::local::LocalLibrary;
use scry::store::{ChangeSet, ImageRecord, NewImage};
use scry::Library;

fn main() {
    let n: usize = std::env::var("SCRY_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dim = 512;
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("target/bench-library-{n}"));
    if !dir.join("catalog").exists() {
        let t = Instant::now();
        let mut lib = Library::open(&dir).unwrap();
        lib.bind_model("synthetic", dim).unwrap();
        let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 2000) as f32 / 1000.0 - 1.0
        };
        for start in (0..n).step_by(5000) {
            let added = (start..(start + 5000).min(n))
                .map(|i| NewImage {
                    record: ImageRecord {
                        path: format!("/photos/{}/IMG_{i:07}.jpg", i % 100).into_bytes(),
                        size: i as u64,
                        mtime_ns: 0,
                        hash: {
                            let mut h = [0u8; 32];
                            h[..8].copy_from_slice(&(i as u64).to_le_bytes());
                            h
                        },
                        width: 4000,
                        height: 3000,
                        format: "jpeg".into(),
                        taken: None,
                        camera: None,
                        indexed_at: 0,
                        gps: None,
                        place: None,
                        text: None,
                        video: None,
                    },
                    vector: scry::model::normalize((0..dim).map(|_| next()).collect()),
                    thumbnail: Vec::new(),
                    phash: 0,
                    frames: Vec::new(),
                })
                .collect();
            lib.commit(&ChangeSet {
                added,
                ..Default::default()
            })
            .unwrap();
        }
        lib.checkpoint().unwrap();
        println!(
            "built a {n}-image library in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let mut opens = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let lib = LocalLibrary::open(&dir).unwrap();
        assert_eq!(lib.len(), n);
        opens.push(t.elapsed().as_secs_f64());
    }
    opens.sort_by(f64::total_cmp);
    let lib = LocalLibrary::open(&dir).unwrap();
    let t = Instant::now();
    let g = scry::ann::Graph::build(lib.vectors());
    let rebuild = t.elapsed().as_secs_f64();
    assert_eq!(g.points(), n);
    println!(
        "open (median of 5): {:.2} s; rebuilding the graph instead: {rebuild:.1} s; ratio {:.1}x",
        opens[2],
        rebuild / opens[2]
    );
}
