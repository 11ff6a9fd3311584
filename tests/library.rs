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
            gps: None,
            place: None,
            text: None,
            video: None,
        },
        vector: v,
        thumbnail: vec![0xFF, 0xD8],
        phash: i as u64,
        frames: Vec::new(),
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
    assert_eq!(lib.local().unwrap().keyword().len(), 0, "not committed yet");
    drop(lib); // "crash": catalog committed, keyword index not
    let lib = Library::open(tmp.path()).unwrap();
    assert_eq!(lib.len().unwrap(), 50);
    assert_eq!(
        lib.local().unwrap().keyword().len(),
        50,
        "re-created from the catalog"
    );
    assert!(!lib
        .local()
        .unwrap()
        .keyword()
        .search("img_000007", 5)
        .unwrap()
        .is_empty());
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
    let points = lib
        .local()
        .unwrap()
        .graph()
        .expect("a graph above the threshold")
        .points();
    assert_eq!(points, n);
    let dumps = |dir: &std::path::Path| {
        ann_files(dir)
            .iter()
            .filter(|n| n.contains(".hnsw."))
            .count()
    };
    assert_eq!(dumps(tmp.path()), 2, "one dump: graph + data");
    assert_eq!(
        vector_files(tmp.path()).len(),
        1,
        "{:?}",
        ann_files(tmp.path())
    );
    drop(lib);

    // Reopen: the dump is loaded; 300 vectors committed after it are inserted.
    let mut lib = Library::open(tmp.path()).unwrap();
    assert_eq!(lib.local().unwrap().graph().unwrap().points(), n);
    add(&mut lib, n, &vs[n..]);
    drop(lib); // no checkpoint: the graph file lags the catalog
    let lib = Library::open(tmp.path()).unwrap();
    assert_eq!(
        lib.local().unwrap().graph().unwrap().points(),
        n + 300,
        "extended from the catalog, not rebuilt"
    );

    drop(lib);

    // Opened for a few searches: no graph read; searches are the exact scan's;
    // the first change reads the graph (extended, not rebuilt) before applying.
    let mut lib = Library::open_without_graph(tmp.path()).unwrap();
    assert!(lib.local().unwrap().graph().is_none(), "graph read");
    for q in vs.iter().step_by(997) {
        let exact = lib.local().unwrap().vectors().search(q, 10, &|_| true);
        assert_eq!(
            lib.nearest(q, 10, &scry::home::Scope::all()).unwrap(),
            exact
        );
    }
    add(&mut lib, n + 300, &unit_vectors(1, dim, seed + 1));
    assert_eq!(
        lib.local().unwrap().graph().map(|g| g.points()),
        Some(n + 301),
        "the graph read, then extended by the change"
    );
    drop(lib);
    let mut lib = Library::open(tmp.path()).unwrap();
    assert_eq!(lib.local().unwrap().graph().unwrap().points(), n + 301);

    // Removed images are tombstones, never returned.
    let removed: Vec<u64> = (1..=100).collect();
    lib.commit(&ChangeSet {
        removed: removed.clone(),
        ..Default::default()
    })
    .unwrap();
    let q = &vs[0];
    let hits = lib.local().unwrap().nearest_where(q, 10, &|_| true);
    assert_eq!(hits.len(), 10);
    assert!(hits.iter().all(|(id, _)| !removed.contains(id)));

    // Recall of the graph against the exact index.
    let mut found = 0;
    let queries = 50;
    for q in vs.iter().step_by(97).take(queries) {
        let exact: Vec<u64> = lib
            .local()
            .unwrap()
            .vectors()
            .search(q, 10, &|_| true)
            .iter()
            .map(|h| h.0)
            .collect();
        let approx: Vec<u64> = lib
            .local()
            .unwrap()
            .nearest_where(q, 10, &|_| true)
            .iter()
            .map(|h| h.0)
            .collect();
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
        lib.local().unwrap().graph().is_none(),
        "compacted: below the threshold an exact scan serves"
    );
    assert_eq!(dumps(tmp.path()), 0, "old dump files deleted");
    assert_eq!(
        vector_files(tmp.path()).len(),
        1,
        "the old vector file deleted"
    );
}

/// The names in a library's `ann` folder, sorted.
fn ann_files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("ann"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The flat vector files among them.
fn vector_files(dir: &std::path::Path) -> Vec<String> {
    ann_files(dir)
        .into_iter()
        .filter(|n| n.starts_with("vectors-"))
        .collect()
}

/// Every vector of an open library, by id.
fn stored(lib: &Library) -> std::collections::BTreeMap<u64, Vec<f32>> {
    let local = lib.local().unwrap();
    local
        .vectors()
        .iter()
        .map(|(id, v)| (id, v.to_vec()))
        .collect()
}

#[test]
fn the_vector_file_is_read_only_while_the_catalog_records_it_at_its_generation() {
    let dim = 8;
    let vs = unit_vectors(120, dim, 3);
    let tmp = tempfile::tempdir().unwrap();
    let mut lib = Library::open(tmp.path()).unwrap();
    lib.bind_model("test-model", dim).unwrap();
    add(&mut lib, 0, &vs[..100]);
    lib.checkpoint().unwrap();
    let before = stored(&lib);
    drop(lib);
    let files = vector_files(tmp.path());
    assert_eq!(files.len(), 1, "{:?}", ann_files(tmp.path()));
    let file = tmp.path().join("ann").join(&files[0]);

    // Current: opening reads the file. A mark put in its last value, which the
    // catalog does not have, shows it.
    let mut bytes = std::fs::read(&file).unwrap();
    let end = bytes.len();
    bytes[end - 4..].copy_from_slice(&7.5f32.to_le_bytes());
    std::fs::write(&file, &bytes).unwrap();
    let read = stored(&Library::open(tmp.path()).unwrap());
    assert_eq!(read.len(), 100);
    let marked: Vec<_> = read.iter().filter(|(_, v)| v.contains(&7.5)).collect();
    assert_eq!(marked.len(), 1, "the file was read");
    for (id, v) in read.iter().filter(|(_, v)| !v.contains(&7.5)) {
        assert_eq!(v, &before[id]);
    }

    // A new catalog beside the file (what a rebuild that left it would be), at
    // the same generation: it records no file, so the file is not read.
    let other = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(other.path().join("ann")).unwrap();
    std::fs::copy(&file, other.path().join("ann").join(&files[0])).unwrap();
    let mut fresh = Library::open(other.path()).unwrap();
    fresh.bind_model("test-model", dim).unwrap();
    add(&mut fresh, 0, &vs[..100]);
    drop(fresh);
    let read = stored(&Library::open(other.path()).unwrap());
    assert_eq!(read, before, "a file the catalog does not record");

    // A commit after the file makes it stale: the catalog's vectors, all 120.
    let mut lib = Library::open(tmp.path()).unwrap();
    add(&mut lib, 100, &vs[100..]);
    drop(lib);
    let mut lib = Library::open(tmp.path()).unwrap();
    let read = stored(&lib);
    assert_eq!(read.len(), 120);
    assert!(
        read.values().all(|v| !v.contains(&7.5)),
        "the stale file read"
    );
    for (id, v) in &before {
        assert_eq!(&read[id], v);
    }
    // The next checkpoint writes the file anew and removes the stale one.
    lib.checkpoint().unwrap();
    let all = stored(&lib);
    drop(lib);
    let now = vector_files(tmp.path());
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now, files);
    assert_eq!(stored(&Library::open(tmp.path()).unwrap()), all);

    // A file cut short (a disk that lost its tail) is not read either.
    let file = tmp.path().join("ann").join(&now[0]);
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 4]).unwrap();
    assert_eq!(stored(&Library::open(tmp.path()).unwrap()), all);
}

/// The graph's view files among a library's `ann` files.
fn view_files(dir: &std::path::Path) -> Vec<String> {
    ann_files(dir)
        .into_iter()
        .filter(|n| scry::ann::is_view_file(n))
        .collect()
}

/// The ids and scores of the nearest 10 to a spread of queries.
fn answers(lib: &Library, queries: &[Vec<f32>]) -> Vec<Vec<(u64, f32)>> {
    queries
        .iter()
        .map(|q| lib.local().unwrap().nearest_where(q, 10, &|_| true))
        .collect()
}

#[test]
fn an_unchanged_library_searches_its_graph_view_file_and_a_change_reads_the_dump() {
    let dim = 16;
    let n = GRAPH_MIN_POINTS + 200;
    let vs = unit_vectors(n + 50, dim, 11);
    let queries: Vec<Vec<f32>> = vs.iter().step_by(211).cloned().collect();
    let tmp = tempfile::tempdir().unwrap();
    let mut lib = Library::open(tmp.path()).unwrap();
    lib.bind_model("test-model", dim).unwrap();
    add(&mut lib, 0, &vs[..n]);
    lib.checkpoint().unwrap();
    let graph = lib.local().unwrap().graph().unwrap();
    assert!(!graph.is_read_only(), "built from the vectors");
    let built = answers(&lib, &queries);
    drop(lib);
    let views = view_files(tmp.path());
    assert_eq!(views.len(), 1, "{:?}", ann_files(tmp.path()));

    // Reopened unchanged, for serving and for a few searches: the view file is
    // opened, read in place. Serving walks it and answers exactly as the graph
    // it was made from; a few searches scan its codes and answer as the exact
    // scan does.
    for serving in [true, false] {
        let lib = if serving {
            Library::open(tmp.path()).unwrap()
        } else {
            Library::open_without_graph(tmp.path()).unwrap()
        };
        let local = lib.local().unwrap();
        let graph = local.graph().expect("the view file opened");
        assert!(graph.is_read_only(), "hnsw_rs's dump not read");
        assert_eq!(graph.points(), n);
        assert!(local.vectors().is_mapped(), "the vector file read in place");
        if serving {
            assert_eq!(answers(&lib, &queries), built);
        } else {
            let exact: Vec<_> = queries
                .iter()
                .map(|q| local.vectors().search(q, 10, &|_| true))
                .collect();
            assert_eq!(answers(&lib, &queries), exact);
        }
    }

    // A checkpoint with nothing changed keeps it so; a change reads the dump
    // first (the view cannot change), and the next checkpoint writes a view
    // with the removed images as tombstones, never returned.
    let mut lib = Library::open(tmp.path()).unwrap();
    lib.checkpoint().unwrap();
    assert!(lib.local().unwrap().graph().unwrap().is_read_only());
    assert_eq!(view_files(tmp.path()), views, "not rewritten");
    let removed: Vec<u64> = (1..=300).collect();
    lib.commit(&ChangeSet {
        removed: removed.clone(),
        ..Default::default()
    })
    .unwrap();
    add(&mut lib, n, &vs[n..]);
    let graph = lib.local().unwrap().graph().unwrap();
    assert!(!graph.is_read_only());
    assert_eq!(graph.points(), n + 50, "the dump read and extended");
    lib.checkpoint().unwrap();
    let changed = answers(&lib, &queries);
    drop(lib);
    let now = view_files(tmp.path());
    assert_eq!(
        now.len(),
        1,
        "the old view removed: {:?}",
        ann_files(tmp.path())
    );
    assert_ne!(now, views);
    let lib = Library::open(tmp.path()).unwrap();
    assert!(lib.local().unwrap().graph().unwrap().is_read_only());
    let read = answers(&lib, &queries);
    assert_eq!(read, changed);
    assert!(read.iter().flatten().all(|(id, _)| !removed.contains(id)));
    // Its answers are the exact scan's wherever the graph finds them all.
    let mut same = 0;
    for (q, got) in queries.iter().zip(&read) {
        let exact = lib.local().unwrap().vectors().search(q, 10, &|_| true);
        same += usize::from(&exact == got);
    }
    assert!(
        same * 10 >= queries.len() * 9,
        "{same} of {}",
        queries.len()
    );
    drop(lib);

    // Stale (a commit after it, no checkpoint) or damaged: the dump is read.
    let file = tmp.path().join("ann").join(&now[0]);
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 1]).unwrap();
    let lib = Library::open(tmp.path()).unwrap();
    assert!(
        !lib.local().unwrap().graph().unwrap().is_read_only(),
        "cut short"
    );
    assert_eq!(answers(&lib, &queries), changed);
    drop(lib);
    // A link of the first node pointing past the last node.
    let mut damaged = bytes.clone();
    let slot_start = view_section(&bytes, 3);
    damaged[slot_start + 4..slot_start + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&file, &damaged).unwrap();
    let lib = Library::open(tmp.path()).unwrap();
    assert!(
        !lib.local().unwrap().graph().unwrap().is_read_only(),
        "bad link"
    );
    drop(lib);
    std::fs::write(&file, &bytes).unwrap();
    let mut lib = Library::open(tmp.path()).unwrap();
    assert!(
        lib.local().unwrap().graph().unwrap().is_read_only(),
        "whole again"
    );
    add(&mut lib, n + 50, &unit_vectors(1, dim, 12));
    drop(lib);
    let lib = Library::open_without_graph(tmp.path()).unwrap();
    assert!(
        lib.local().unwrap().graph().is_none(),
        "stale: not searched"
    );
}

/// The record table files in a library's `ann` folder.
fn record_files(dir: &std::path::Path) -> Vec<String> {
    ann_files(dir)
        .into_iter()
        .filter(|n| n.starts_with("records-"))
        .collect()
}

/// Every record and what a few filtered searches answer.
fn records_and_filtered(lib: &Library, queries: &[Vec<f32>]) -> (Vec<(u64, ImageRecord)>, String) {
    let mut records = lib.all_records().unwrap();
    records.sort_by_key(|r| r.0);
    let folder = scry::query::Filters {
        folder: Some("/photos/3".into()),
        ..Default::default()
    };
    let wide = scry::query::Filters {
        min_size: Some(100),
        format: Some("JPEG".into()),
        ..Default::default()
    };
    let mut answers = String::new();
    for filters in [&folder, &wide] {
        let scope = scry::home::Scope {
            filters,
            members: None,
            exclude: &[],
        };
        for q in queries {
            let hits = lib.nearest(q, 10, &scope).unwrap();
            assert_eq!(hits.len(), 10);
            answers += &format!("{hits:?}\n");
        }
        answers += &format!("{}\n", lib.count(&scope).unwrap());
    }
    (records, answers)
}

#[test]
fn an_unchanged_library_maps_its_record_table_and_a_change_writes_a_new_one() {
    let dim = 16;
    let n = GRAPH_MIN_POINTS + 100;
    let vs = unit_vectors(n + 20, dim, 5);
    let queries: Vec<Vec<f32>> = vs.iter().step_by(301).cloned().collect();
    let tmp = tempfile::tempdir().unwrap();
    let mut lib = Library::open(tmp.path()).unwrap();
    lib.bind_model("test-model", dim).unwrap();
    add(&mut lib, 0, &vs[..n]);
    assert!(!lib.local().unwrap().records_are_mapped());
    let before = records_and_filtered(&lib, &queries);
    assert_eq!(before.0.len(), n);
    lib.checkpoint().unwrap();
    assert_eq!(record_files(tmp.path()).len(), 1);
    drop(lib);

    // Reopened unchanged: the table is mapped and reads back the same, and a
    // scope that passes few images (scored one by one, not walked) answers
    // as the exact scan of those images.
    let lib = Library::open(tmp.path()).unwrap();
    assert!(lib.local().unwrap().records_are_mapped());
    assert_eq!(records_and_filtered(&lib, &queries), before);
    let few: std::collections::HashSet<u64> = (1..=n as u64).step_by(50).collect();
    let none = scry::query::Filters::default();
    let scope = scry::home::Scope {
        filters: &none,
        members: Some(&few),
        exclude: &[],
    };
    for q in &queries {
        let want = lib
            .local()
            .unwrap()
            .vectors()
            .search(q, 10, &|id| few.contains(&id));
        assert_eq!(lib.nearest(q, 10, &scope).unwrap(), want);
        assert!(want.iter().all(|(id, _)| few.contains(id)));
    }
    drop(lib);
    let lib = Library::open_without_graph(tmp.path()).unwrap();
    assert!(lib.local().unwrap().records_are_mapped());
    assert_eq!(records_and_filtered(&lib, &queries).0, before.0);
    drop(lib);

    // A change copies it; the next checkpoint writes a new one and removes
    // the old; without a checkpoint the stale one is not read.
    let mut lib = Library::open(tmp.path()).unwrap();
    let old = record_files(tmp.path());
    lib.commit(&ChangeSet {
        removed: vec![1, 2, 3],
        ..Default::default()
    })
    .unwrap();
    add(&mut lib, n, &vs[n..]);
    assert!(!lib.local().unwrap().records_are_mapped());
    let changed = records_and_filtered(&lib, &queries);
    assert_eq!(changed.0.len(), n - 3 + 20);
    assert!(changed.0.iter().all(|(id, _)| *id > 3));
    drop(lib);
    let lib = Library::open(tmp.path()).unwrap();
    assert!(!lib.local().unwrap().records_are_mapped(), "stale");
    assert_eq!(records_and_filtered(&lib, &queries), changed);
    drop(lib);
    let mut lib = Library::open(tmp.path()).unwrap();
    lib.checkpoint().unwrap();
    drop(lib);
    let now = record_files(tmp.path());
    assert_eq!(now.len(), 1);
    assert_ne!(now, old);
    let lib = Library::open(tmp.path()).unwrap();
    assert!(lib.local().unwrap().records_are_mapped());
    assert_eq!(records_and_filtered(&lib, &queries), changed);
    drop(lib);

    // Cut short: the catalog is read instead, with the same answers.
    let file = tmp.path().join("ann").join(&now[0]);
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 1]).unwrap();
    let lib = Library::open(tmp.path()).unwrap();
    assert!(!lib.local().unwrap().records_are_mapped());
    assert_eq!(records_and_filtered(&lib, &queries), changed);
}

/// The byte offset of section `k` of a view file (0 ids, 1 rows, 2 scales,
/// 3 layer-0 slots, 4 upper links, 5 codes): each starts at a multiple of 64.
fn view_section(bytes: &[u8], k: usize) -> usize {
    let word =
        |i: usize| u64::from_le_bytes(bytes[8 + 8 * i..16 + 8 * i].try_into().unwrap()) as usize;
    let (nodes, upper, slot0) = (word(1), word(5), word(6));
    let sizes = [
        nodes * 8,
        nodes * 4,
        nodes * 4,
        nodes * slot0 * 4,
        upper * 4,
    ];
    let mut at = 64;
    for size in &sizes[..k] {
        at = (at + size).next_multiple_of(64);
    }
    at
}

#[test]
fn another_schema_version_is_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let lib = Library::open(tmp.path()).unwrap();
        lib.local()
            .unwrap()
            .store()
            .meta_set(b"schema_version", &99u32)
            .unwrap();
        lib.local().unwrap().store().flush().unwrap();
    }
    let err = Library::open(tmp.path()).unwrap_err();
    assert!(matches!(err, Error::IncompatibleLibrary { .. }), "{err}");
    assert!(err.to_string().contains("version 99"), "{err}");
}

#[test]
fn a_library_open_elsewhere_is_named_and_a_closed_one_reopens_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lib = Library::open(tmp.path()).unwrap();
    lib.bind_model("m", 8).unwrap();
    add(&mut lib, 0, &unit_vectors(30, 8, 11));
    // Held by a live handle: a clear error naming the cause, after a short wait.
    let err = Library::open(tmp.path()).expect_err("a held library opened twice");
    let msg = err.to_string();
    assert!(msg.contains("another scry process"), "{msg}");
    // Closed and opened again at once, many times: never the lock of the closed one.
    drop(lib);
    for round in 0..20 {
        let mut lib = Library::open(tmp.path())
            .unwrap_or_else(|e| panic!("reopen {round} after a drop: {e}"));
        add(
            &mut lib,
            30 + round,
            &unit_vectors(1, 8, 100 + round as u64),
        );
    }
    assert_eq!(Library::open(tmp.path()).unwrap().len().unwrap(), 50);
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
        Ok(Ok(lib)) => panic!("a garbage catalog opened: {} images", lib.len().unwrap()),
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

/// The child side of the compaction kill test: opens the library, removes the
/// images the parent named and checkpoints (which compacts the graph).
#[test]
#[ignore = "run by kill_9_during_compaction_leaves_the_library_whole"]
fn compaction_child() {
    let Ok(dir) = std::env::var("SCRY_COMPACT_CHILD") else {
        return;
    };
    let remove: Vec<u64> = std::env::var("SCRY_COMPACT_REMOVE")
        .unwrap()
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect();
    let mut lib = Library::open(std::path::Path::new(&dir)).unwrap();
    let still: Vec<u64> = remove
        .into_iter()
        .filter(|&id| lib.local().unwrap().vectors().contains(id))
        .collect();
    lib.commit(&ChangeSet {
        removed: still,
        ..Default::default()
    })
    .unwrap();
    lib.checkpoint().unwrap();
}

/// kill -9 at random moments while a removal compacts the graph (re-build,
/// dump, record, delete the old dump): the library always opens with every
/// removal either entirely applied or not at all, never returns a removed image,
/// and a run to the end leaves the same library as an uninterrupted one, with no
/// orphan dump files.
#[test]
fn kill_9_during_compaction_leaves_the_library_whole() {
    let rounds: usize = std::env::var("SCRY_KILL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("seed {seed}, {rounds} kills");
    let (dim, n) = (16, GRAPH_MIN_POINTS + 4000);
    let vs = unit_vectors(n, dim, 11);
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    let mut lib = Library::open(&base).unwrap();
    lib.bind_model("test-model", dim).unwrap();
    add(&mut lib, 0, &vs);
    lib.checkpoint().unwrap();
    assert_eq!(lib.local().unwrap().graph().unwrap().points(), n);
    drop(lib);
    // A quarter of the images go: above the share that triggers compaction, and
    // the rest still keeps a graph.
    let removed: Vec<u64> = (1..=n as u64).filter(|id| id % 4 == 0).collect();
    let list = removed
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let child = |dir: &std::path::Path| {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "library::compaction_child", "--ignored"])
            .args(["--nocapture", "--test-threads=1"])
            .env("SCRY_COMPACT_CHILD", dir)
            .env("SCRY_COMPACT_REMOVE", &list)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let copy = |to: &std::path::Path| {
        let status = std::process::Command::new("cp")
            .arg("-r")
            .arg(&base)
            .arg(to)
            .status()
            .unwrap();
        assert!(status.success());
    };
    // An uninterrupted compaction: the reference, and how long one takes.
    let clean = tmp.path().join("clean");
    copy(&clean);
    let started = std::time::Instant::now();
    assert!(child(&clean).wait().unwrap().success());
    let run_ms = started.elapsed().as_millis() as u64;
    let dump_files = |dir: &std::path::Path| {
        let mut names = ann_files(dir);
        names.retain(|n| n.contains(".hnsw."));
        names
    };
    let clean_lib = Library::open(&clean).unwrap();
    assert_eq!(clean_lib.len().unwrap(), n - removed.len());
    assert_eq!(
        clean_lib.local().unwrap().graph().unwrap().points(),
        n - removed.len()
    );

    let mut rng = seed | 1;
    let (mut kills, mut applied) = (0, 0);
    for round in 0..rounds {
        // Every round interrupts a whole compaction of its own copy.
        let lib_dir = tmp.path().join(format!("killed-{round}"));
        copy(&lib_dir);
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = (rng >> 33) % run_ms.max(20);
        let mut c = child(&lib_dir);
        let until = std::time::Instant::now() + std::time::Duration::from_millis(delay);
        while std::time::Instant::now() < until && c.try_wait().unwrap().is_none() {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        if c.try_wait().unwrap().is_none() {
            c.kill().unwrap();
            kills += 1;
        }
        c.wait().unwrap();
        let lib = Library::open(&lib_dir).expect("opens after every kill");
        let len = lib.len().unwrap();
        assert!(
            len == n || len == n - removed.len(),
            "a removal is all or nothing: {len}"
        );
        applied += usize::from(len < n);
        assert_eq!(
            lib.local().unwrap().keyword().len() as usize,
            len,
            "keyword index in step"
        );
        for q in vs.iter().step_by(501) {
            let hits = lib.local().unwrap().nearest_where(q, 10, &|_| true);
            assert_eq!(hits.len(), 10);
            if len < n {
                assert!(hits.iter().all(|(id, _)| id % 4 != 0), "a removed image");
            }
        }
        // One recorded dump, nothing else left behind.
        assert_eq!(dump_files(&lib_dir).len(), 2, "{:?}", dump_files(&lib_dir));
        assert!(
            vector_files(&lib_dir).len() <= 1,
            "{:?}",
            ann_files(&lib_dir)
        );
        drop(lib);

        // Run again to the end: the same library as an uninterrupted compaction.
        assert!(child(&lib_dir).wait().unwrap().success());
        let lib = Library::open(&lib_dir).unwrap();
        assert_eq!(lib.len().unwrap(), clean_lib.len().unwrap());
        assert_eq!(
            lib.local().unwrap().keyword().len(),
            clean_lib.local().unwrap().keyword().len()
        );
        assert_eq!(
            lib.local().unwrap().graph().unwrap().points(),
            lib.len().unwrap(),
            "compacted: no tombstones left"
        );
        assert_eq!(dump_files(&lib_dir).len(), 2);
        assert_eq!(vector_files(&lib_dir).len(), 1, "{:?}", ann_files(&lib_dir));
        for (id, v) in clean_lib.local().unwrap().vectors().iter() {
            let w = lib.local().unwrap().vectors().get(id).expect("same images");
            assert!(v.iter().zip(w).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
        drop(lib);
        std::fs::remove_dir_all(&lib_dir).unwrap();
    }
    println!(
        "killed {kills} of {rounds} compactions (removal committed before {applied} of the kills)"
    );
    assert!(kills > 0 || rounds == 0, "no run was interrupted");
}

/// A catalog whose vectors and records disagree (a vector gone, or of another
/// length) is refused at open with what to run, whichever tree is read first.
#[test]
fn a_catalog_whose_vectors_and_records_disagree_is_refused_at_open() {
    for damage in ["missing", "short"] {
        let tmp = tempfile::tempdir().unwrap();
        {
            let mut lib = Library::open(tmp.path()).unwrap();
            lib.bind_model("test-model", 8).unwrap();
            add(&mut lib, 0, &unit_vectors(20, 8, 3));
        }
        {
            let db = sled::open(tmp.path().join("catalog")).unwrap();
            let vectors = db.open_tree("vectors").unwrap();
            let (key, value) = vectors.iter().next().unwrap().unwrap();
            match damage {
                "missing" => drop(vectors.remove(key).unwrap()),
                _ => drop(vectors.insert(key, &value[..value.len() - 4]).unwrap()),
            }
            db.flush().unwrap();
        }
        let err = Library::open(tmp.path()).unwrap_err().to_string();
        let want = if damage == "missing" {
            "20 images but 19 vectors"
        } else {
            "has 7 values, the library's dimension is 8"
        };
        assert!(err.contains(want), "{damage}: {err}");
        assert!(err.contains("scry index --rebuild"), "{err}");
    }
}
