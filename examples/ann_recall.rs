//! Recall of the HNSW graph against the exact scan on the scale bench's
//! synthetic photos (clustered 512-d unit vectors), at several `ef`, through
//! scry's search view and through hnsw_rs's own search; how many queries found
//! none of their neighbours (the walk stayed in another cluster). The graph is
//! kept in /tmp/ann-N-CENTRES[-incremental] for the next run (a million takes ~20 minutes on
//! 2 cores); INCREMENTAL=1 grows it as the local library does (10k, then one
//! insert at a time). REPAIR=0,8 sets the repair thresholds compared (0: the
//! view as hnsw_rs built it). DUMP=DIR writes the vectors and queries there
//! (`vectors.f32`, `queries.f32`, little-endian) for `scripts/hnswlib_build.py`,
//! and exits.
//!
//!     cargo run --release --example ann_recall -- N [CENTRES]

use std::time::Instant;

use scry::ann::{Graph, NearestNeighbours, Vectors};

#[path = "../benches/common/synthetic.rs"]
mod synthetic;

const DIM: usize = 512;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map_or(200_000, |a| a.parse().unwrap());
    let centres_n: usize = args.get(2).map_or(1000, |a| a.parse().unwrap());
    let centres: Vec<Vec<f32>> = (0..centres_n).map(|c| synthetic::centre(c, DIM)).collect();
    let mut vs = Vectors::new(DIM);
    for i in 0..n {
        vs.insert(i as u64 + 1, &synthetic::vector(i, &centres));
    }
    let queries: Vec<Vec<f32>> = (0..200).map(|q| synthetic::query(q, &centres)).collect();
    if let Some(dir) = std::env::var_os("DUMP") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let bytes = |vs: &mut dyn Iterator<Item = &[f32]>| -> Vec<u8> {
            vs.flat_map(|v| v.iter().flat_map(|x| x.to_le_bytes()))
                .collect()
        };
        std::fs::write(
            dir.join("vectors.f32"),
            bytes(&mut vs.iter().map(|(_, v)| v)),
        )
        .unwrap();
        std::fs::write(
            dir.join("queries.f32"),
            bytes(&mut queries.iter().map(|q| &q[..])),
        )
        .unwrap();
        return;
    }
    let t = Instant::now();
    let truth: Vec<Vec<u64>> = queries
        .iter()
        .map(|q| vs.search(q, 10, &|_| true).iter().map(|h| h.0).collect())
        .collect();
    eprintln!("truth in {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let incremental = std::env::var_os("INCREMENTAL").is_some();
    let cache = std::path::PathBuf::from(format!(
        "/tmp/ann-{n}-{centres_n}{}",
        if incremental { "-incremental" } else { "" }
    ));
    let mut g = if cache.join("graph.hnsw.graph").exists() {
        Graph::load(&cache, "graph", n, n as u64).unwrap()
    } else if incremental {
        // As the local home grows a library: a graph at 10k, then one insert
        // at a time.
        let mut first = Vectors::new(DIM);
        for (id, v) in vs.iter().take(10_000) {
            first.insert(id, v);
        }
        let mut g = Graph::build(&first);
        for (id, v) in vs.iter().skip(10_000) {
            g.insert(id, v);
        }
        g
    } else {
        Graph::build(&vs)
    };
    eprintln!("graph of {n} in {:.1} s", t.elapsed().as_secs_f64());
    if !cache.exists() {
        let name = g.dump(&cache, "graph").unwrap();
        assert_eq!(name, "graph");
    }
    let all = |_| true;
    let report = |name: &str, f: &dyn Fn(&[f32]) -> Vec<u64>| {
        let t = Instant::now();
        let mut per = Vec::new();
        for (q, want) in queries.iter().zip(&truth) {
            let got = f(q);
            per.push(want.iter().filter(|w| got.contains(w)).count());
        }
        let ms = t.elapsed().as_secs_f64() * 1e3 / queries.len() as f64;
        let total: usize = per.iter().sum();
        let zero = per.iter().filter(|&&c| c == 0).count();
        let full = per.iter().filter(|&&c| c == 10).count();
        println!(
            "{name:<24} recall@10 {:.3}  ({zero} queries at 0, {full} at 10)  {ms:.2} ms/query",
            total as f64 / (10 * queries.len()) as f64
        );
    };
    let levels: Vec<u32> = std::env::var("REPAIR")
        .map(|v| v.split(',').map(|x| x.parse().unwrap()).collect())
        .unwrap_or(vec![0, scry::ann::REPAIR_MIN_IN_LINKS]);
    for repair in levels {
        g.set_repair(repair);
        let t = Instant::now();
        let stats = g.repair_stats();
        eprintln!(
            "view repaired below {repair} links in {:.1} s: {stats:?}",
            t.elapsed().as_secs_f64()
        );
        report("default", &|q| {
            g.search(q, 10, &all).iter().map(|h| h.0).collect()
        });
        for ef in [64, 128, 256, 512] {
            report(&format!("view ef {ef}"), &|q| {
                g.search_ef(q, 10, ef, &all).iter().map(|h| h.0).collect()
            });
        }
        // The true neighbours the default search missed: how many nodes link
        // to each, and how far its nearest link is.
        let mut missed = Vec::new();
        for (q, want) in queries.iter().zip(&truth) {
            let got: Vec<u64> = g.search(q, 10, &all).iter().map(|h| h.0).collect();
            missed.extend(want.iter().filter(|w| !got.contains(w)));
        }
        let report_of = g.link_report(&missed);
        let sample: Vec<u64> = (0..2000u64).map(|i| 1 + i * (n as u64 / 2000)).collect();
        let all_of = g.link_report(&sample);
        let median = |r: &[Option<(u32, f32, f32)>], f: &dyn Fn(&(u32, f32, f32)) -> f32| {
            let mut v: Vec<f32> = r.iter().flatten().map(f).collect();
            v.sort_by(f32::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(f32::NAN)
        };
        let orphans = report_of.iter().flatten().filter(|r| r.0 == 0).count();
        println!(
            "  missed {}: {orphans} with no link to them; median links to them {} (all {}), \
             nearest link {:.3} (all {:.3}), nearest linking {:.3} (all {:.3})",
            missed.len(),
            median(&report_of, &|r| r.0 as f32),
            median(&all_of, &|r| r.0 as f32),
            median(&report_of, &|r| r.1),
            median(&all_of, &|r| r.1),
            median(&report_of, &|r| r.2),
            median(&all_of, &|r| r.2),
        );
    }
    for ef in [128, 512] {
        report(&format!("hnsw_rs ef {ef}"), &|q| {
            g.search_ef_hnsw_rs(q, 10, ef, &all)
                .iter()
                .map(|h| h.0)
                .collect()
        });
    }
}
