//! A million photos' worth of vectors in each home, in one run: synthetic
//! 512-d unit vectors (clustered like photos: near others of their kind) with
//! the payload a real photo carries (path in dated folders, capture date,
//! camera, format, size), loaded into the local library and into one Qdrant
//! node. For both: load time (until searches run at full speed: Qdrant's
//! optimiser has built its graph), size on disk, resident memory, nearest-10
//! latency p50/p99 (plain, and inside a folder filter) and recall@10 against
//! the exact answer, at the default search settings.
//!
//!     cargo bench -p scry-indexer --bench scale [-- N] [--local]
//!
//! N defaults to 1,000,000. `--local` loads the local library only (the Qdrant
//! half takes ~40 minutes at a million on 2 cores); the ratios then need both. Thumbnails are left out (no pixels here); what
//! they add per image is measured on real photos and said in docs/SCALE.md.
//! Qdrant is `../shared/bin/qdrant` (or SCRY_QDRANT_BIN) on loopback ports.

#[path = "../tests/common/qdrant.rs"]
#[allow(dead_code)]
mod qdrant;
#[path = "../../benches/common/synthetic.rs"]
mod synthetic;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use scry::home::qdrant::QdrantUrl;
use scry::home::Scope;
use scry::query::Filters;
use scry::store::ChangeSet;
use scry::Library;
use synthetic::{query, vector};

const DIM: usize = 512;
const CENTRES: usize = 1000;
const QUERIES: usize = 200;
const CHUNK: usize = 2000;

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn load(lib: &mut Library, n: usize, centres: &[Vec<f32>], label: &str) {
    let t = Instant::now();
    for start in (0..n).step_by(CHUNK) {
        let end = (start + CHUNK).min(n);
        lib.commit(&ChangeSet {
            added: synthetic::images(start..end, centres),
            ..Default::default()
        })
        .unwrap();
        if (end / CHUNK).is_multiple_of(50) {
            eprintln!(
                "  {label}: {end} of {n} in {:.0} s",
                t.elapsed().as_secs_f64()
            );
        }
    }
    lib.checkpoint().unwrap();
}

/// Bytes under a folder.
fn disk(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.blocks() * 512
        })
        .sum()
}

/// Resident memory of a process in bytes (`VmRSS`).
fn rss(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The exact nearest 10 of each query over all `n` vectors.
fn truth(n: usize, centres: &[Vec<f32>], queries: &[Vec<f32>]) -> Vec<Vec<usize>> {
    let per_chunk: Vec<Vec<Vec<(f32, usize)>>> = (0..n)
        .into_par_iter()
        .step_by(CHUNK)
        .map(|start| {
            let end = (start + CHUNK).min(n);
            let vs: Vec<Vec<f32>> = (start..end).map(|i| vector(i, centres)).collect();
            queries
                .iter()
                .map(|q| {
                    let mut best: Vec<(f32, usize)> = vs
                        .iter()
                        .enumerate()
                        .map(|(j, v)| (q.iter().zip(v).map(|(a, b)| a * b).sum::<f32>(), start + j))
                        .collect();
                    best.sort_by(|a, b| b.0.total_cmp(&a.0));
                    best.truncate(10);
                    best
                })
                .collect()
        })
        .collect();
    (0..queries.len())
        .map(|q| {
            let mut all: Vec<(f32, usize)> = per_chunk
                .iter()
                .flat_map(|c| c[q].iter().copied())
                .collect();
            all.sort_by(|a, b| b.0.total_cmp(&a.0));
            all.iter().take(10).map(|x| x.1).collect()
        })
        .collect()
}

struct Figures {
    load_s: f64,
    disk: u64,
    rss: u64,
    p50: f64,
    p99: f64,
    filtered_p50: f64,
    filtered_p99: f64,
    recall: f64,
}

fn measure(
    lib: &Library,
    queries: &[Vec<f32>],
    truth: &[Vec<usize>],
    path_of: impl Fn(u64) -> usize,
) -> (f64, f64, f64, f64, f64) {
    let (mut found, mut total) = (0usize, 0usize);
    let mut plain = Vec::new();
    // Warm: the first queries page the index in.
    for q in queries.iter().take(20) {
        lib.nearest(q, 10, &Scope::all()).unwrap();
    }
    for (q, want) in queries.iter().zip(truth) {
        let t = Instant::now();
        let got = lib.nearest(q, 10, &Scope::all()).unwrap();
        plain.push(t.elapsed().as_secs_f64() * 1e3);
        let got: Vec<usize> = got.iter().map(|h| path_of(h.0)).collect();
        found += want.iter().filter(|w| got.contains(w)).count();
        total += want.len();
    }
    // One person's photos (an eighth of the library).
    let filters = Filters {
        folder: Some(PathBuf::from("/srv/photos/user3")),
        ..Default::default()
    };
    let scope = Scope {
        filters: &filters,
        members: None,
        exclude: &[],
    };
    let mut filtered = Vec::new();
    for q in queries {
        let t = Instant::now();
        std::hint::black_box(lib.nearest(q, 10, &scope).unwrap());
        filtered.push(t.elapsed().as_secs_f64() * 1e3);
    }
    (
        percentile(plain.clone(), 0.5),
        percentile(plain, 0.99),
        percentile(filtered.clone(), 0.5),
        percentile(filtered, 0.99),
        found as f64 / total as f64,
    )
}

/// The index `i` of an image from its record's file name.
fn index_of(lib: &Library, id: u64) -> usize {
    let rec = lib.records(&[id]).unwrap().pop().unwrap().1;
    let p = rec.path_buf();
    let name = p.file_stem().unwrap().to_string_lossy().to_string();
    name.trim_start_matches("IMG_").parse().unwrap()
}

/// In a process of its own (so nothing the load left in the allocator counts):
/// opens the local library at `dir`, runs the queries, prints `VmRSS` in bytes.
fn resident_child(dir: &Path) {
    let centres: Vec<Vec<f32>> = (0..CENTRES).map(|c| synthetic::centre(c, DIM)).collect();
    let queries: Vec<Vec<f32>> = (0..QUERIES).map(|q| query(q, &centres)).collect();
    let lib = Library::open(dir).unwrap();
    for q in &queries {
        std::hint::black_box(lib.nearest(q, 10, &Scope::all()).unwrap());
    }
    println!("{}", rss(&std::process::id().to_string()));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--resident") {
        return resident_child(Path::new(&args[i + 1]));
    }
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.replace(['_', ','], "").parse().ok())
        .unwrap_or(1_000_000);
    let local_only = args.iter().any(|a| a == "--local");
    let server = if local_only {
        None
    } else {
        let Some(server) = qdrant::QdrantServer::shared() else {
            eprintln!("no Qdrant binary: set SCRY_QDRANT_BIN (or pass --local)");
            return;
        };
        Some(server)
    };
    // What a thumbnail adds per image, on the sample photos.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let mut thumbs: Vec<f64> = walkdir::WalkDir::new(root.join("sample_data"))
        .into_iter()
        .filter_map(|e| e.ok())
        .filter_map(|e| scry::decode::decode_file(e.path()).ok())
        .map(|img| {
            let rgb = img.to_rgb8();
            scry::preprocess::thumbnail_jpeg(&rgb, scry::preprocess::THUMBNAIL_SHORT_SIDE).len()
                as f64
        })
        .collect();
    thumbs.sort_by(f64::total_cmp);
    if !thumbs.is_empty() {
        println!(
            "thumbnails of the {} sample photos: median {:.0} bytes, mean {:.0} bytes",
            thumbs.len(),
            thumbs[thumbs.len() / 2],
            thumbs.iter().sum::<f64>() / thumbs.len() as f64
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let centres: Vec<Vec<f32>> = (0..CENTRES).map(|c| synthetic::centre(c, DIM)).collect();
    let queries: Vec<Vec<f32>> = (0..QUERIES).map(|q| query(q, &centres)).collect();
    let t = Instant::now();
    let truth = truth(n, &centres, &queries);
    eprintln!(
        "exact nearest 10 of {QUERIES} queries over {n} vectors: {:.1} s",
        t.elapsed().as_secs_f64()
    );

    println!("{n} synthetic {DIM}-d vectors with photo payloads, {QUERIES} queries, nearest 10 (each row printed as soon as measured):");
    println!(
        "| | load (s) | disk (MiB) | bytes/image on disk | resident (MiB) | bytes/image resident | p50 (ms) | p99 (ms) | folder-filtered p50 / p99 (ms) | recall@10 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let remote = server.map(|server| qdrant_half(server, n, &centres, &queries, &truth));

    // The local library.
    let dir = tmp.path().join("local");
    let t = Instant::now();
    {
        let mut lib = Library::open(&dir).unwrap();
        lib.bind_model("synthetic", DIM).unwrap();
        load(&mut lib, n, &centres, "local");
    }
    let local_load = t.elapsed().as_secs_f64();
    let local_disk = disk(&dir);
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .arg("--resident")
        .arg(&dir)
        .output()
        .unwrap();
    let resident: u64 = String::from_utf8_lossy(&child.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    let t = Instant::now();
    let lib = Library::open(&dir).unwrap();
    let open_s = t.elapsed().as_secs_f64();
    let (p50, p99, fp50, fp99, recall) = measure(&lib, &queries, &truth, |id| index_of(&lib, id));
    let local = Figures {
        load_s: local_load,
        disk: local_disk,
        rss: resident,
        p50,
        p99,
        filtered_p50: fp50,
        filtered_p99: fp99,
        recall,
    };
    drop(lib);
    eprintln!("local library: opened in {open_s:.1} s");

    print_row("local", &local, n);
    if let Some(remote) = remote {
        println!(
            "ratios Qdrant/local: load {:.2}×, disk {:.2}×, resident {:.2}×, p50 {:.2}×",
            remote.load_s / local.load_s,
            remote.disk as f64 / local.disk as f64,
            remote.rss as f64 / local.rss as f64,
            remote.p50 / local.p50
        );
    }
}

/// One Qdrant node, as scry makes its collections (int8 in RAM, originals on
/// disk), waiting until the optimiser has indexed everything; its row is
/// printed, and its memory and disk go before the local library is loaded.
fn qdrant_half(
    server: &qdrant::QdrantServer,
    n: usize,
    centres: &[Vec<f32>],
    queries: &[Vec<f32>],
    truth: &[Vec<usize>],
) -> Figures {
    let url = QdrantUrl::parse(&server.url("scale", false)).unwrap();
    let t = Instant::now();
    let mut q = Library::connect(&url).unwrap();
    q.bind_model("synthetic", DIM).unwrap();
    load(&mut q, n, centres, "qdrant");
    let upload_s = t.elapsed().as_secs_f64();
    while !indexed(server.http, "scale", n) {
        if t.elapsed() > Duration::from_secs(3600) {
            // Said in the results too: the figures below are then of a collection
            // that was still being optimised.
            println!("(Qdrant had not finished optimising after an hour: measured as it was)");
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let qdrant_load = t.elapsed().as_secs_f64();
    let pid = server.pid().unwrap().to_string();
    let (p50, p99, fp50, fp99, recall) = measure(&q, queries, truth, |id| index_of(&q, id));
    let remote = Figures {
        load_s: qdrant_load,
        disk: disk(&server.dir().join("storage")),
        rss: rss(&pid),
        p50,
        p99,
        filtered_p50: fp50,
        filtered_p99: fp99,
        recall,
    };
    eprintln!("Qdrant: upload {upload_s:.0} s, indexed at {qdrant_load:.0} s");

    print_row("Qdrant (1 node)", &remote, n);
    drop(q);
    remote
}

fn print_row(name: &str, f: &Figures, n: usize) {
    println!(
        "| {name} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} / {:.2} | {:.3} |",
        f.load_s,
        f.disk as f64 / 1048576.0,
        f.disk as f64 / n as f64,
        f.rss as f64 / 1048576.0,
        f.rss as f64 / n as f64,
        f.p50,
        f.p99,
        f.filtered_p50,
        f.filtered_p99,
        f.recall
    );
}

/// Whether the optimiser is done (status green) with at least 90 % of the
/// vectors in the HNSW graph (Qdrant leaves the newest small segment to a
/// plain scan, so `indexed_vectors_count` rarely reaches every vector).
fn indexed(http: u16, alias: &str, n: usize) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", http)) else {
        return false;
    };
    let _ = write!(s, "GET /collections/{alias} HTTP/1.0\r\n\r\n");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let Some(body) = out.split_once("\r\n\r\n").map(|b| b.1) else {
        return false;
    };
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    v["result"]["status"] == "green"
        && v["result"]["indexed_vectors_count"].as_u64().unwrap_or(0) as usize >= n * 9 / 10
}
