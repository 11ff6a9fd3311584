//! The two homes of a library side by side, in one run: indexing rate into the
//! local folder and into Qdrant on the same photos, query latency (p50/p99) on
//! both, and Qdrant's HNSW recall@10 against its own exact search.
//!
//!     cargo bench -p scry-indexer --bench homes [-- MODEL_DIR]
//!
//! Qdrant is `../shared/bin/qdrant` (or SCRY_QDRANT_BIN), started on loopback
//! ports. Defaults: 400 generated 320×240 photos and the tiny test model (the
//! model costs little, so the figures isolate the storage); 3 interleaved
//! rounds, medians. Recall and nearest-neighbour latency use 20,000 synthetic
//! 512-d vectors (clustered, unit length), enough for Qdrant to build its graph.

#[path = "../tests/common/qdrant.rs"]
#[allow(dead_code)]
mod qdrant;

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use scry::home::qdrant::QdrantUrl;
use scry::home::Scope;
use scry::query::{parse_query, search, Filters, SearchRequest, TextCache};
use scry::store::{ChangeSet, ImageRecord, NewImage};
use scry::Library;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn generate(dir: &Path, n: usize) {
    let mut s: u64 = 0x2545_F491_4F6C_DD1D;
    for i in 0..n {
        let img = image::RgbImage::from_fn(320, 240, |x, y| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            image::Rgb([
                (x + i as u32) as u8,
                (y * 2 + i as u32 * 7) as u8,
                (s & 0x3f) as u8 + (x / 8) as u8,
            ])
        });
        let sub = dir.join(format!("day{:02}", i % 12));
        std::fs::create_dir_all(&sub).unwrap();
        img.save(sub.join(format!("IMG_{i:04}.jpg"))).unwrap();
    }
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
    let model_dir = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("tests/fixtures/tiny-clip"));
    let model = scry::ClipModel::load_dir(&model_dir).expect("model");
    let Some(server) = qdrant::QdrantServer::shared() else {
        eprintln!("no Qdrant binary: nothing to compare");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    let n = 400;
    generate(&photos, n);
    println!(
        "Indexing {n} photos ({}), 3 interleaved rounds:",
        model_dir.display()
    );

    let mut rates = (Vec::new(), Vec::new());
    let mut libs = None;
    for round in 0..3 {
        let local_dir = tmp.path().join(format!("local{round}"));
        let local = RwLock::new(Library::open(&local_dir).unwrap());
        let t = Instant::now();
        scry_indexer::index(
            &local,
            &model,
            std::slice::from_ref(&photos),
            &Default::default(),
            &scry_indexer::Silent,
        )
        .unwrap();
        rates.0.push(n as f64 / t.elapsed().as_secs_f64());
        let url = QdrantUrl::parse(&server.url(&format!("bench{round}"), false)).unwrap();
        let remote = RwLock::new(Library::connect(&url).unwrap());
        let t = Instant::now();
        scry_indexer::index(
            &remote,
            &model,
            std::slice::from_ref(&photos),
            &Default::default(),
            &scry_indexer::Silent,
        )
        .unwrap();
        rates.1.push(n as f64 / t.elapsed().as_secs_f64());
        libs = Some((local.into_inner().unwrap(), remote.into_inner().unwrap()));
    }
    let (l, q) = (median(rates.0), median(rates.1));
    println!(
        "  local folder: {l:.1} images/s; Qdrant: {q:.1} images/s; Qdrant/local {:.2}x",
        q / l
    );

    let (local, remote) = libs.unwrap();
    let texts = [
        "a photo",
        "a red square",
        "IMG_0042",
        "day03",
        "blue and green",
        "noise",
        "a cat",
        "jpeg",
    ];
    let folder = std::fs::canonicalize(photos.join("day05")).unwrap();
    let mut lat = (Vec::new(), Vec::new());
    let cache = TextCache::default();
    for round in 0..25 {
        for (i, t) in texts.iter().enumerate() {
            let filters = if (round + i) % 3 == 0 {
                Filters {
                    folder: Some(folder.clone()),
                    ..Default::default()
                }
            } else {
                Filters::default()
            };
            let req = SearchRequest {
                terms: parse_query(t).unwrap(),
                filters,
                k: 20,
                offset: 0,
                cutoff: false,
            };
            for (lib, out) in [(&local, &mut lat.0), (&remote, &mut lat.1)] {
                let t = Instant::now();
                std::hint::black_box(search(lib, &model, &cache, &req).unwrap());
                out.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    println!(
        "Search (text + keyword fusion, a third filtered, k 20; {} queries each): local p50 {:.2} ms p99 {:.2} ms; Qdrant p50 {:.2} ms p99 {:.2} ms",
        lat.0.len(),
        percentile(lat.0.clone(), 0.5),
        percentile(lat.0, 0.99),
        percentile(lat.1.clone(), 0.5),
        percentile(lat.1, 0.99)
    );

    // Recall of Qdrant's HNSW against its exact search, on a collection large
    // enough to be indexed.
    let (count, dim) = (20_000usize, 512usize);
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % 2000) as f32 / 1000.0 - 1.0
    };
    let centres: Vec<Vec<f32>> = (0..50)
        .map(|_| (0..dim).map(|_| next()).collect())
        .collect();
    let vectors: Vec<Vec<f32>> = (0..count)
        .map(|i| scry::model::normalize(centres[i % 50].iter().map(|c| c + 0.6 * next()).collect()))
        .collect();
    let url = QdrantUrl::parse(&server.url("recall", false)).unwrap();
    let mut hnsw = Library::connect(&url).unwrap();
    hnsw.bind_model("synthetic", dim).unwrap();
    let mut local = Library::open(&tmp.path().join("synthetic")).unwrap();
    local.bind_model("synthetic", dim).unwrap();
    for (c, chunk) in vectors.chunks(1000).enumerate() {
        let changes = ChangeSet {
            added: chunk
                .iter()
                .enumerate()
                .map(|(j, v)| NewImage {
                    record: ImageRecord {
                        path: format!("/synthetic/{}.jpg", c * 1000 + j).into_bytes(),
                        size: 1,
                        mtime_ns: 0,
                        hash: *blake3::hash(&((c * 1000 + j) as u64).to_le_bytes()).as_bytes(),
                        width: 1,
                        height: 1,
                        format: "jpeg".into(),
                        taken: None,
                        camera: None,
                        indexed_at: 0,
                        gps: None,
                        place: None,
                        text: None,
                        video: None,
                    },
                    vector: v.clone(),
                    thumbnail: Vec::new(),
                    phash: 0,
                    frames: Vec::new(),
                })
                .collect(),
            ..Default::default()
        };
        hnsw.commit(&changes).unwrap();
        local.commit(&changes).unwrap();
    }
    local.checkpoint().unwrap();
    // Wait for Qdrant's optimiser to index the collection.
    let t = Instant::now();
    while !collection_green(server.http, "recall") && t.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(500));
    }
    let exact = Library::connect(&QdrantUrl::parse(&server.url("recall", true)).unwrap()).unwrap();
    // Queries drawn like the data (a photo's vector is near others of its kind),
    // none of them stored.
    let queries: Vec<Vec<f32>> = (0..200)
        .map(|i| scry::model::normalize(centres[i % 50].iter().map(|c| c + 0.6 * next()).collect()))
        .collect();
    let (mut found, mut total) = (0usize, 0usize);
    let mut nn = (Vec::new(), Vec::new());
    for q in &queries {
        let truth: Vec<u64> = exact
            .nearest(q, 10, &Scope::all())
            .unwrap()
            .iter()
            .map(|h| h.0)
            .collect();
        let t = Instant::now();
        let approx = hnsw.nearest(q, 10, &Scope::all()).unwrap();
        nn.1.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        std::hint::black_box(local.nearest(q, 10, &Scope::all()).unwrap());
        nn.0.push(t.elapsed().as_secs_f64() * 1e3);
        found += approx.iter().filter(|h| truth.contains(&h.0)).count();
        total += truth.len();
    }
    println!(
        "{count} synthetic {dim}-d vectors: Qdrant HNSW recall@10 {:.3} against its exact search; nearest-10 latency local p50 {:.2} ms p99 {:.2} ms, Qdrant p50 {:.2} ms p99 {:.2} ms",
        found as f64 / total as f64,
        percentile(nn.0.clone(), 0.5),
        percentile(nn.0, 0.99),
        percentile(nn.1.clone(), 0.5),
        percentile(nn.1, 0.99)
    );
}

/// Whether the collection behind `alias` is optimised (status green).
fn collection_green(http: u16, alias: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", http)) else {
        return false;
    };
    let _ = write!(s, "GET /collections/{alias} HTTP/1.0\r\n\r\n");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.contains("\"status\":\"green\"") && !out.contains("\"indexed_vectors_count\":0,")
}
