//! scry's side of `scripts/compare.sh`: each mode measures one figure and prints it
//! as one JSON line, so the driver can interleave scry with the Python baselines.
//!
//!     compare encoder MODEL BATCH ITERS
//!     compare index MODEL PHOTOS
//!     compare ann VECTORS QUERIES DIM OUT_DIR
//!     compare ann-query VECTORS QUERIES DIM OUT_DIR   # on the graph `ann` dumped
//!                                                     # (WITH_HNSW_RS=1: hnsw_rs's own search too)
//!     compare text MODEL GRAPH_DIR VECTORS DIM ITERS
//!     compare bf16-cosine MODEL PHOTOS   # cosine of bf16 to f32 embeddings per photo
//!     compare int8-cosine MODEL PHOTOS   # the same for int8
//!     compare text-query MODEL ITERS     # CLIP's text tower: ms per short query (median)
//!     compare text-model DIR ITERS       # a sentence-transformers text tower: load
//!                                        # time and ms per query (median)
//!
//! `SCRY_PRECISION=bf16` (or `int8`) runs the image encoder in bf16 (int8);
//! `SCRY_BF16_KERNEL` / `SCRY_INT8_KERNEL` pick a kernel.
//!
//! Vectors and queries are raw little-endian f32 files (row after row).

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::Instant;

use scry::ann::{Graph, NearestNeighbours, Vectors};
use scry::ClipModel;
use serde_json::json;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A memory figure of this process from /proc/self/status, in MiB (Linux; 0
/// elsewhere): `VmHWM` is the peak resident set, `VmRSS` the current one.
fn status_mib(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn peak_rss_mib() -> f64 {
    status_mib("VmHWM:")
}

fn rss_mib() -> f64 {
    status_mib("VmRSS:")
}

fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn load_vectors(path: &Path, dim: usize) -> Vectors {
    let flat = read_f32(path);
    let mut vectors = Vectors::new(dim);
    for (i, v) in flat.chunks_exact(dim).enumerate() {
        vectors.insert(i as u64, v);
    }
    vectors
}

/// Loads the model in the precision `SCRY_PRECISION` names (f32 by default).
fn load_model(dir: &str) -> ClipModel {
    let mut model = ClipModel::load_dir(Path::new(dir)).expect("model");
    if let Ok(p) = std::env::var("SCRY_PRECISION") {
        model.set_precision(p.parse().unwrap()).unwrap();
    }
    model
}

/// Deterministic pseudo-random pixels in the normalised range.
fn pixels(model: &ClipModel, batch: usize) -> Vec<Vec<f32>> {
    let mut s: u64 = 0x2545_F491_4F6C_DD1D;
    (0..batch)
        .map(|_| {
            (0..model.pixels_len())
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    (s % 4000) as f32 / 1000.0 - 2.0
                })
                .collect()
        })
        .collect()
}

const QUERIES: [&str; 12] = [
    "a dog on the beach",
    "kids building a sandcastle at dusk",
    "snow covered mountains",
    "a red car",
    "birthday cake with candles",
    "city skyline at night",
    "a cat sleeping on a sofa",
    "receipt",
    "sunflowers in a field",
    "a bride and groom",
    "an old stone bridge",
    "screenshot of a chat",
];

/// Cosines between the f32 embeddings of every photo in `photos` and the ones
/// in `precision`: how many, the least and the median.
fn cosine_to_f32(precision: scry::Precision, model: &str, photos: &str) -> serde_json::Value {
    let f32_model = ClipModel::load_dir(Path::new(model)).expect("model");
    let mut reduced = ClipModel::load_dir(Path::new(model)).expect("model");
    reduced.set_precision(precision).unwrap();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(photos)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n != ".done"))
        .collect();
    paths.sort();
    let a = f32_model.embed_image_files(&paths, 8).unwrap();
    let b = reduced.embed_image_files(&paths, 8).unwrap();
    let mut cos: Vec<(f64, &PathBuf)> = a
        .iter()
        .zip(&b)
        .zip(&paths)
        .map(|((x, y), p)| {
            let (x, y) = (x.as_ref().unwrap(), y.as_ref().unwrap());
            (f64::from(scry::model::cosine(x, y)), p)
        })
        .collect();
    cos.sort_by(|a, b| a.0.total_cmp(&b.0));
    json!({"supported": true, "photos": cos.len(), "min": cos[0].0,
           "least": cos[0].1.file_name().map(|n| n.to_string_lossy().into_owned()),
           "median": cos[cos.len() / 2].0})
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| -> &str {
        args.get(i)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("missing argument {i}; see the header of compare.rs"))
    };
    let out = match arg(0) {
        "encoder" => {
            let model = load_model(arg(1));
            let batch: usize = arg(2).parse().unwrap();
            let iters: usize = arg(3).parse().unwrap();
            let px = pixels(&model, batch);
            model.image_features(&px).unwrap();
            let times: Vec<f64> = (0..iters)
                .map(|_| {
                    let t = Instant::now();
                    model.image_features(&px).unwrap();
                    t.elapsed().as_secs_f64()
                })
                .collect();
            let t = median(times);
            let kernel = match model.precision() {
                scry::Precision::F32 => "f32 (gemm)",
                scry::Precision::Bf16 => ClipModel::bf16_kernel().unwrap_or("none"),
                scry::Precision::Int8 => ClipModel::int8_kernel().unwrap_or("none"),
            };
            json!({"images_per_s": batch as f64 / t, "batch": batch, "median_s": t,
                   "kernel": kernel})
        }
        "bf16-cosine" if !ClipModel::bf16_supported() => json!({"supported": false}),
        "bf16-cosine" => cosine_to_f32(scry::Precision::Bf16, arg(1), arg(2)),
        "int8-cosine" if !ClipModel::int8_supported() => json!({"supported": false}),
        "int8-cosine" => cosine_to_f32(scry::Precision::Int8, arg(1), arg(2)),
        "index" => {
            let model = load_model(arg(1));
            let photos = PathBuf::from(arg(2));
            let db = tempfile::tempdir().unwrap();
            let lib = RwLock::new(scry::Library::open(db.path()).unwrap());
            let t = Instant::now();
            let summary = scry_indexer::index(
                &lib,
                &model,
                &[photos],
                &scry_indexer::IndexOptions::default(),
                &scry_indexer::Silent,
            )
            .unwrap();
            let secs = t.elapsed().as_secs_f64();
            let n = summary.new;
            assert_eq!(summary.failed, 0, "every photo indexes");
            json!({"images": n, "seconds": secs, "images_per_s": n as f64 / secs,
                   "peak_rss_mib": peak_rss_mib()})
        }
        "ann" => {
            let dim: usize = arg(3).parse().unwrap();
            let base = rss_mib();
            let vectors = load_vectors(Path::new(arg(1)), dim);
            let vec_rss = rss_mib() - base;
            let queries = read_f32(Path::new(arg(2)));
            let queries: Vec<&[f32]> = queries.chunks_exact(dim).collect();
            let out_dir = PathBuf::from(arg(4));
            let all = |_| true;
            // Exact scan: ground truth and its own speed.
            let t = Instant::now();
            let truth: Vec<Vec<u64>> = queries
                .iter()
                .map(|q| vectors.search(q, 10, &all).iter().map(|h| h.0).collect())
                .collect();
            let exact_qps = queries.len() as f64 / t.elapsed().as_secs_f64();
            let before_graph = rss_mib();
            let t = Instant::now();
            let graph = Graph::build(&vectors);
            let build_s = t.elapsed().as_secs_f64();
            let graph_rss = rss_mib() - before_graph;
            let mut curve = Vec::new();
            for ef in [16, 24, 32, 48, 64, 96, 128, 256] {
                let t = Instant::now();
                let found: Vec<Vec<u64>> = queries
                    .iter()
                    .map(|q| {
                        graph
                            .search_ef(q, 10, ef, &all)
                            .iter()
                            .map(|h| h.0)
                            .collect()
                    })
                    .collect();
                let qps = queries.len() as f64 / t.elapsed().as_secs_f64();
                let hits: usize = found
                    .iter()
                    .zip(&truth)
                    .map(|(f, t)| f.iter().filter(|id| t.contains(id)).count())
                    .sum();
                let recall = hits as f64 / (10 * queries.len()) as f64;
                curve.push(json!({"ef": ef, "recall": recall, "qps": qps}));
            }
            std::fs::create_dir_all(&out_dir).unwrap();
            for e in std::fs::read_dir(&out_dir).unwrap().flatten() {
                std::fs::remove_file(e.path()).ok();
            }
            let name = graph.dump(&out_dir, "graph").unwrap();
            let (points, max_id) = (graph.points(), graph.max_id());
            drop(graph);
            let t = Instant::now();
            let loaded = Graph::load(&out_dir, &name, points, max_id).unwrap();
            let load_s = t.elapsed().as_secs_f64();
            std::fs::write(
                out_dir.join("graph.json"),
                json!({"name": name, "points": points, "max_id": max_id}).to_string(),
            )
            .unwrap();
            drop(loaded);
            json!({"n": vectors.len(), "exact_qps": exact_qps, "build_s": build_s,
                   "load_s": load_s, "curve": curve,
                   "rss_vectors_mib": vec_rss, "rss_graph_mib": graph_rss})
        }
        "ann-query" => {
            // The ef curve on a graph dumped by `ann` (profiling without the build).
            let dim: usize = arg(3).parse().unwrap();
            let dir = PathBuf::from(arg(4));
            let meta: serde_json::Value =
                serde_json::from_slice(&std::fs::read(dir.join("graph.json")).unwrap()).unwrap();
            let graph = Graph::load(
                &dir,
                meta["name"].as_str().unwrap(),
                meta["points"].as_u64().unwrap() as usize,
                meta["max_id"].as_u64().unwrap(),
            )
            .unwrap();
            let queries = read_f32(Path::new(arg(2)));
            let vectors = load_vectors(Path::new(arg(1)), dim);
            let all = |_| true;
            let truth: Vec<Vec<u64>> = queries
                .chunks_exact(dim)
                .map(|q| vectors.search(q, 10, &all).iter().map(|h| h.0).collect())
                .collect();
            let mut curve = Vec::new();
            for ef in [32, 48, 64, 96, 128] {
                let t = Instant::now();
                let mut hits = 0;
                for (q, want) in queries.chunks_exact(dim).zip(&truth) {
                    let got = graph.search_ef(q, 10, ef, &all);
                    hits += got.iter().filter(|h| want.contains(&h.0)).count();
                }
                let qps = truth.len() as f64 / t.elapsed().as_secs_f64();
                let recall = hits as f64 / (10 * truth.len()) as f64;
                let mut hits_rs = 0;
                if std::env::var_os("WITH_HNSW_RS").is_some() {
                    for (q, want) in queries.chunks_exact(dim).zip(&truth) {
                        let got = graph.search_ef_hnsw_rs(q, 10, ef, &all);
                        hits_rs += got.iter().filter(|h| want.contains(&h.0)).count();
                    }
                }
                let mut point = json!({"ef": ef, "recall": recall, "qps": qps});
                if hits_rs > 0 {
                    point["hnsw_rs_recall"] = json!(hits_rs as f64 / (10 * truth.len()) as f64);
                }
                curve.push(point);
            }
            let huge = std::fs::read_to_string("/proc/self/smaps_rollup")
                .unwrap_or_default()
                .lines()
                .find(|l| l.starts_with("AnonHugePages"))
                .map(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .unwrap_or("0")
                        .parse::<f64>()
                        .unwrap_or(0.0)
                        / 1024.0
                })
                .unwrap_or(0.0);
            json!({"curve": curve, "huge_pages_mib": huge})
        }
        "text-query" => {
            let model = load_model(arg(1));
            let iters: usize = arg(2).parse().unwrap();
            model.embed_texts(&["warm up"]).unwrap();
            let ms: Vec<f64> = (0..iters)
                .map(|_| {
                    let t = Instant::now();
                    model.embed_texts(&["a dog on the beach"]).unwrap();
                    t.elapsed().as_secs_f64() * 1000.0
                })
                .collect();
            json!({"mode": "text-query", "query_ms_median": median(ms)})
        }
        "text-model" => {
            let t = Instant::now();
            let tower =
                scry::model::SentenceTower::load_dir(Path::new(arg(1))).expect("text model");
            let load_s = t.elapsed().as_secs_f64();
            let iters: usize = arg(2).parse().unwrap();
            tower.embed_texts(&["warm up"]).unwrap();
            let mut ms = Vec::new();
            for _ in 0..iters {
                let t = Instant::now();
                tower.embed_texts(&["собака на пляже"]).unwrap();
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            json!({"mode": "text-model", "load_s": load_s, "query_ms_median": median(ms), "peak_rss_mib": peak_rss_mib()})
        }
        "text" => {
            let model = load_model(arg(1));
            let graph_dir = PathBuf::from(arg(2));
            let dim: usize = arg(4).parse().unwrap();
            let iters: usize = arg(5).parse().unwrap();
            let meta: serde_json::Value =
                serde_json::from_slice(&std::fs::read(graph_dir.join("graph.json")).unwrap())
                    .unwrap();
            let graph = Graph::load(
                &graph_dir,
                meta["name"].as_str().unwrap(),
                meta["points"].as_u64().unwrap() as usize,
                meta["max_id"].as_u64().unwrap(),
            )
            .unwrap();
            let _vectors = load_vectors(Path::new(arg(3)), dim);
            let all = |_| true;
            let query = |text: &str, cache: &scry::query::TextCache| {
                let v = cache.embed(&model, text).unwrap();
                graph.search(&v, 10, &all)
            };
            let cold_cache = scry::query::TextCache::new(0);
            query("warm up", &cold_cache);
            let mut cold = Vec::new();
            let mut encode_only = Vec::new();
            for i in 0..iters {
                let text = QUERIES[i % QUERIES.len()];
                let t = Instant::now();
                query(text, &cold_cache);
                cold.push(t.elapsed().as_secs_f64());
                let t = Instant::now();
                model.embed_texts(&[text]).unwrap();
                encode_only.push(t.elapsed().as_secs_f64());
            }
            let cache = scry::query::TextCache::new(64);
            query(QUERIES[0], &cache);
            let cached: Vec<f64> = (0..iters)
                .map(|_| {
                    let t = Instant::now();
                    query(QUERIES[0], &cache);
                    t.elapsed().as_secs_f64()
                })
                .collect();
            json!({"query_ms": median(cold) * 1e3, "encode_ms": median(encode_only) * 1e3,
                   "cached_query_ms": median(cached) * 1e3, "server_rss_mib": rss_mib()})
        }
        other => panic!("unknown mode {other}"),
    };
    println!("{out}");
}
