//! The library on disk: crash repair, graph persistence, schema versions, damage.

use scry::ann::{NearestNeighbours, GRAPH_MIN_POINTS};
use scry::store::{ChangeSet, ImageRecord, NewImage};
use scry::{Error, Library};

/// Deterministic pseudo-random unit vectors (xorshift; seed printed by callers).
fn unit_vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            let v: Vec<f32> = (0..dim)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    (s % 2000) as f32 / 1000.0 - 1.0
                })
                .collect();
            scry::model::normalize(v)
        })
        .collect()
}

fn image(i: usize, v: Vec<f32>) -> NewImage {
    NewImage {
        record: ImageRecord {
            path: format!("/photos/{}/img_{i:06}.jpg", i % 10).into_bytes(),
            size: 1000 + i as u64,
            mtime_ns: 0,
            hash: *blake3_like(i),
            width: 640,
            height: 480,
            format: "jpeg".into(),
            taken: None,
            camera: None,
            indexed_at: 0,
        },
        vector: v,
        thumbnail: vec![0xFF, 0xD8],
    }
}

fn blake3_like(i: usize) -> &'static [u8; 32] {
    let mut h = [0u8; 32];
    h[..8].copy_from_slice(&(i as u64).to_le_bytes());
    Box::leak(Box::new(h))
}

fn add(lib: &mut Library, from: usize, vs: &[Vec<f32>]) {
    for (chunk_start, chunk) in vs.chunks(2000).enumerate() {
        let changes = ChangeSet {
            added: chunk
                .iter()
                .enumerate()
                .map(|(j, v)| image(from + chunk_start * 2000 + j, v.clone()))
                .collect(),
            ..Default::default()
        };
        lib.commit(&changes).unwrap();
    }
}

#[test]
fn a_crash_before_the_keyword_commit_is_repaired_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lib = Library::open(tmp.path()).unwrap();
    lib.bind_model("test-model", 8).unwrap();
    add(&mut lib, 0, &unit_vectors(50, 8, 1));
    assert_eq!(lib.keyword().len(), 0, "not committed yet");
    drop(lib); // "crash": catalog committed, keyword index not
    let lib = Library::open(tmp.path()).unwrap();
    assert_eq!(lib.len(), 50);
    assert_eq!(lib.keyword().len(), 50, "re-created from the catalog");
    assert!(!lib.keyword().search("img_000007", 5).unwrap().is_empty());
}

#[test]
fn the_graph_is_persisted_extended_and_filtered_not_rebuilt() {
    let seed = 7;
    println!("seed {seed}");
    let dim = 16;
    let n = GRAPH_MIN_POINTS + 500;
    let vs = unit_vectors(n + 300, dim, seed);
    let tmp = tempfile::tempdir().unwrap();
    let mut lib = Library::open(tmp.path()).unwrap();
    lib.bind_model("test-model", dim).unwrap();
    add(&mut lib, 0, &vs[..n]);
    lib.checkpoint().unwrap();
    let points = lib.graph().expect("a graph above the threshold").points();
    assert_eq!(points, n);
    let dumps = |dir: &std::path::Path| std::fs::read_dir(dir.join("ann")).unwrap().count();
    assert_eq!(dumps(tmp.path()), 2, "one dump: graph + data");
    drop(lib);

    // Reopen: the dump is loaded; 300 vectors committed after it are inserted.
    let mut lib = Library::open(tmp.path()).unwrap();
    assert_eq!(lib.graph().unwrap().points(), n);
    add(&mut lib, n, &vs[n..]);
    drop(lib); // no checkpoint: the graph file lags the catalog
    let mut lib = Library::open(tmp.path()).unwrap();
    assert_eq!(
        lib.graph().unwrap().points(),
        n + 300,
        "extended from the catalog, not rebuilt"
    );

    // Removed images are tombstones, never returned.
    let removed: Vec<u64> = (1..=100).collect();
    lib.commit(&ChangeSet {
        removed: removed.clone(),
        ..Default::default()
    })
    .unwrap();
    let q = &vs[0];
    let hits = lib.nearest(q, 10, &|_| true);
    assert_eq!(hits.len(), 10);
    assert!(hits.iter().all(|(id, _)| !removed.contains(id)));

    // Recall of the graph against the exact index.
    let mut found = 0;
    let queries = 50;
    for q in vs.iter().step_by(97).take(queries) {
        let exact: Vec<u64> = lib
            .vectors()
            .search(q, 10, &|_| true)
            .iter()
            .map(|h| h.0)
            .collect();
        let approx: Vec<u64> = lib.nearest(q, 10, &|_| true).iter().map(|h| h.0).collect();
        found += exact.iter().filter(|id| approx.contains(id)).count();
    }
    let recall = found as f64 / (queries * 10) as f64;
    println!("recall@10 = {recall:.3}");
    assert!(recall >= 0.9, "recall {recall}");

    // Deleting most images compacts the graph away below the threshold.
    let many: Vec<u64> = (101..=5000).collect();
    lib.commit(&ChangeSet {
        removed: many,
        ..Default::default()
    })
    .unwrap();
    lib.checkpoint().unwrap();
    assert!(
        lib.graph().is_none(),
        "compacted: below the threshold an exact scan serves"
    );
    assert_eq!(dumps(tmp.path()), 0, "old dump files deleted");
}

#[test]
fn another_schema_version_is_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let lib = Library::open(tmp.path()).unwrap();
        lib.store().meta_set(b"schema_version", &99u32).unwrap();
        lib.store().flush().unwrap();
    }
    let err = Library::open(tmp.path()).unwrap_err();
    assert!(matches!(err, Error::IncompatibleLibrary { .. }), "{err}");
    assert!(err.to_string().contains("version 99"), "{err}");
}

#[test]
fn another_model_is_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lib = Library::open(tmp.path()).unwrap();
    lib.bind_model("model-a", 8).unwrap();
    add(&mut lib, 0, &unit_vectors(3, 8, 3));
    let err = lib.bind_model("model-b", 8).unwrap_err().to_string();
    assert!(
        err.contains("model-a") && err.contains("--rebuild"),
        "{err}"
    );
}

#[test]
fn a_damaged_catalog_is_an_error_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let mut lib = Library::open(tmp.path()).unwrap();
        lib.bind_model("m", 8).unwrap();
        add(&mut lib, 0, &unit_vectors(20, 8, 5));
        lib.checkpoint().unwrap();
    }
    // Overwrite every file of the catalog with garbage.
    let catalog = tmp.path().join("catalog");
    for e in walk(&catalog) {
        let len = std::fs::metadata(&e).unwrap().len() as usize;
        std::fs::write(&e, vec![0xA5; len.max(64)]).unwrap();
    }
    let result = std::panic::catch_unwind(|| Library::open(tmp.path()));
    match result {
        Ok(Ok(lib)) => panic!("a garbage catalog opened: {} images", lib.len()),
        Ok(Err(e)) => {
            let msg = e.to_string();
            println!("{msg}");
            assert!(msg.contains("catalog") || msg.contains("damaged"), "{msg}");
        }
        Err(_) => panic!("opening a damaged catalog panicked"),
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
