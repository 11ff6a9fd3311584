//! criterion benches for the pieces of indexing and search.
//!
//!     cargo bench --bench pieces                       # all groups
//!     cargo bench --bench pieces -- encoder            # one group
//!     cargo bench --bench pieces -- places             # the gazetteer and place queries
//!     SCRY_BENCH_MODEL=target/compare/model/vit-b-32 cargo bench --bench pieces -- encoder
//!
//! `SCRY_BENCH_MODEL` names a model folder; scripts/compare.sh makes a full-size
//! random-weight ViT-B/32 there (speed does not depend on the weights' values).
//! Without it the encoder groups use the tiny test model and say so in their names.
//! On a CPU with AVX-512 BF16 the opt-in bf16 image encoder is measured as well
//! (`image-encoder-bf16/…`).
//! Inputs (a 12-megapixel JPEG, large PNG and WebP, clustered vectors, a graph
//! dump) are generated once under target/bench-inputs.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use scry::ann::{Graph, NearestNeighbours, Vectors};
use scry::ClipModel;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn inputs() -> PathBuf {
    let dir = root().join("target/bench-inputs");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn model_dir() -> (PathBuf, String) {
    match std::env::var_os("SCRY_BENCH_MODEL") {
        Some(d) => (PathBuf::from(d), "model".to_string()),
        None => (
            root().join("tests/fixtures/tiny-clip"),
            "tiny-model".to_string(),
        ),
    }
}

fn model() -> &'static (ClipModel, String) {
    static MODEL: OnceLock<(ClipModel, String)> = OnceLock::new();
    MODEL.get_or_init(|| {
        let (dir, name) = model_dir();
        (
            ClipModel::load_dir(&dir).expect("SCRY_BENCH_MODEL loads"),
            name,
        )
    })
}

/// The same model with the opt-in bf16 image encoder, where the CPU has it.
fn model_bf16() -> Option<&'static ClipModel> {
    static MODEL: OnceLock<Option<ClipModel>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            ClipModel::bf16_supported().then(|| {
                let mut m = ClipModel::load_dir(&model_dir().0).expect("SCRY_BENCH_MODEL loads");
                m.set_precision(scry::Precision::Bf16).unwrap();
                m
            })
        })
        .as_ref()
}

/// A large photo made from a real one (sample_data) upscaled to `w × h`, so the
/// codecs see photographic content.
fn big_photo(w: u32, h: u32) -> image::RgbImage {
    let src = image::open(root().join("sample_data/animals/chelsea.png"))
        .or_else(|_| image::open(first_sample()))
        .expect("a sample photo")
        .to_rgb8();
    image::imageops::resize(&src, w, h, image::imageops::FilterType::Triangle)
}

fn first_sample() -> PathBuf {
    walk(&root().join("sample_data"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "png" || e == "jpg"))
        .expect("sample_data has photos")
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn input_file(name: &str, make: impl FnOnce(&Path)) -> PathBuf {
    let path = inputs().join(name);
    if !path.exists() {
        make(&path);
    }
    path
}

fn decode(c: &mut Criterion) {
    let jpeg = input_file("photo-12mp.jpg", |p| {
        let img = big_photo(4000, 3000);
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&img)
            .unwrap();
        std::fs::write(p, out).unwrap();
    });
    let png = input_file("photo-6mp.png", |p| big_photo(3000, 2000).save(p).unwrap());
    let webp = input_file("photo-6mp.webp", |p| big_photo(3000, 2000).save(p).unwrap());
    let pre = scry::Preprocessor::clip(224);
    let mut g = c.benchmark_group("decode+preprocess");
    g.sample_size(20);
    for (name, path) in [("jpeg-12mp", &jpeg), ("png-6mp", &png), ("webp-6mp", &webp)] {
        g.bench_function(name, |b| b.iter(|| pre.pixels_from_file(path).unwrap()));
    }
    g.finish();
}

fn encoder(c: &mut Criterion) {
    let (model, name) = model();
    let n = model.pixels_len();
    let pixels = |batch: usize| -> Vec<Vec<f32>> {
        (0..batch)
            .map(|i| {
                (0..n)
                    .map(|j| ((i * 7 + j) % 255) as f32 / 64.0 - 2.0)
                    .collect()
            })
            .collect()
    };
    let variants = std::iter::once(("image-encoder", model))
        .chain(model_bf16().into_iter().map(|m| ("image-encoder-bf16", m)));
    for (group, m) in variants {
        let mut g = c.benchmark_group(format!("{group}/{name}"));
        g.sample_size(10);
        for batch in [1usize, 8, 32] {
            let px = pixels(batch);
            g.throughput(Throughput::Elements(batch as u64));
            g.bench_with_input(BenchmarkId::from_parameter(batch), &px, |b, px| {
                b.iter(|| m.image_features(px).unwrap())
            });
        }
        g.finish();
    }
    let mut g = c.benchmark_group(format!("text-encoder/{name}"));
    g.bench_function("short-query", |b| {
        b.iter(|| model.embed_texts(&["a dog on the beach"]).unwrap())
    });
    g.finish();
}

/// Places: reading the gazetteer (once a process), a photo's nearest place
/// (once an indexed photo with GPS), a typed name and a typed query; beside
/// them, reading a JPEG's EXIF, which indexing does for every photo anyway.
fn places(c: &mut Criterion) {
    use scry::places::{gazetteer, Gazetteer, Gps};
    let mut g = c.benchmark_group("places");
    g.sample_size(10);
    g.bench_function("load-gazetteer", |b| b.iter(Gazetteer::load));
    let gz = gazetteer();
    // Positions where people live (places of the gazetteer, moved ~1 km).
    let spots: Vec<Gps> = [
        "Lisbon",
        "Tokyo",
        "Paris, Texas",
        "Nairobi",
        "Cascais",
        "Reykjavik",
    ]
    .iter()
    .map(|n| match gz.resolve(n, 0).unwrap().place {
        scry::places::Where::Near { lat, lon, .. } => Gps::new(lat + 0.01, lon).unwrap(),
        other => panic!("{other:?}"),
    })
    .collect();
    g.sample_size(50);
    g.bench_function("nearest-place", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            gz.nearest(&spots[i % spots.len()])
        })
    });
    g.bench_function("resolve-name", |b| b.iter(|| gz.resolve("Lisboa", 0)));
    g.bench_function("read-query", |b| {
        b.iter(|| {
            scry::query::read(
                "beach in Lisbon last summer",
                20_000,
                &[],
                false,
                false,
                Default::default(),
            )
            .unwrap()
        })
    });
    let jpeg = std::fs::read(root().join("tests/fixtures/places/IMG_0001.jpg")).unwrap();
    g.bench_function("read-exif", |b| b.iter(|| scry::metadata::read(&jpeg)));
    g.finish();
}

/// Clustered unit vectors (deterministic).
fn clustered(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % 20_000) as f32 / 10_000.0 - 1.0
    };
    let centres: Vec<Vec<f32>> = (0..(n / 100).max(10))
        .map(|_| scry::model::normalize((0..dim).map(|_| next()).collect()))
        .collect();
    (0..n)
        .map(|i| {
            let c = &centres[(i * 7919) % centres.len()];
            scry::model::normalize(c.iter().map(|x| x + 0.08 * next()).collect())
        })
        .collect()
}

fn ann(c: &mut Criterion) {
    let dim = 512;
    let queries = clustered(64, dim, 99);
    let mut g = c.benchmark_group("ann");
    g.sample_size(20);
    for n in [100_000usize, 1_000_000] {
        let mut vectors = Vectors::new(dim);
        for (i, v) in clustered(n, dim, 7).iter().enumerate() {
            vectors.insert(i as u64, v);
        }
        let all = |_| true;
        let mut qi = 0;
        g.bench_function(format!("exact-scan/{n}"), |b| {
            b.iter(|| {
                qi = (qi + 1) % queries.len();
                vectors.search(&queries[qi], 10, &all)
            })
        });
        if n == 100_000 {
            // The graph is built once (minutes) and reloaded from its dump.
            let dir = inputs().join(format!("graph-{n}"));
            let graph = match std::fs::read_to_string(dir.join("name")) {
                Ok(name) => Graph::load(&dir, &name, n, n as u64 - 1).unwrap(),
                Err(_) => {
                    let graph = Graph::build(&vectors);
                    std::fs::create_dir_all(&dir).unwrap();
                    let name = graph.dump(&dir, "graph").unwrap();
                    std::fs::write(dir.join("name"), name).unwrap();
                    graph
                }
            };
            g.bench_function(format!("graph/{n}"), |b| {
                b.iter(|| {
                    qi = (qi + 1) % queries.len();
                    graph.search(&queries[qi], 10, &all)
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, decode, encoder, ann, places);
criterion_main!(benches);
