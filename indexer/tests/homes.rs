//! The two homes of a library, the local folder and Qdrant, held to the same
//! behaviour: one test body runs on each (incremental runs, moves, copies), and
//! the same photos indexed into both give the same search results.
//!
//! Qdrant is the real server (`../shared/bin/qdrant`), started once for this
//! binary on free loopback ports; each test uses its own collection.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::RwLock;
use std::time::{Duration, SystemTime};

use common::qdrant::QdrantServer;
use common::{copy_dir, copy_photos, ffmpeg_here, model, root, tesseract_here};
use scry::home::qdrant::QdrantUrl;
use scry::query::{parse_query, search, Filters, SearchRequest, Term, TextCache, Weighted};
use scry::Library;
use scry_indexer::{index, IndexOptions, Silent, Summary};

/// Where a test's library lives.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Home {
    Local,
    Qdrant,
}

/// A new, empty library in `home`; `None` when Qdrant is not available here.
fn new_library(home: Home, tmp: &Path, exact: bool) -> Option<Library> {
    match home {
        Home::Local => Some(Library::open(&tmp.join("lib")).unwrap()),
        Home::Qdrant => {
            static N: AtomicUsize = AtomicUsize::new(0);
            let server = QdrantServer::shared()?;
            let name = format!(
                "t{}_{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            );
            let url = QdrantUrl::parse(&server.url(&name, exact)).unwrap();
            Some(Library::connect(&url).unwrap())
        }
    }
}

fn run(lib: &RwLock<Library>, root: &Path) -> Summary {
    let s = index(
        lib,
        model(),
        &[root.to_path_buf()],
        &IndexOptions::default(),
        &Silent,
    )
    .unwrap();
    assert_eq!(s.failed, 0, "{:?}", s.failures);
    s
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap()
}

fn vector_at(lib: &RwLock<Library>, path: &Path) -> Vec<f32> {
    let l = lib.read().unwrap();
    let id = l
        .id_for_path(&canonical(path))
        .unwrap()
        .unwrap_or_else(|| panic!("{} not in the library", path.display()));
    l.vector(id).unwrap().unwrap()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Every record's path exists on disk, once.
fn assert_catalog_matches_disk(lib: &RwLock<Library>, expected: usize) {
    let records = lib.read().unwrap().all_records().unwrap();
    assert_eq!(records.len(), expected, "images in the library");
    assert_eq!(lib.read().unwrap().len().unwrap(), expected);
    let mut paths: Vec<PathBuf> = records.iter().map(|(_, r)| r.path_buf()).collect();
    for p in &paths {
        assert!(p.is_file(), "{} is gone from disk", p.display());
    }
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), expected, "a path recorded twice");
}

/// The incremental behaviour, the same on every home: new, unchanged, re-timed,
/// edited, deleted, a moved folder and a copy.
fn incremental(home: Home) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(lib) = new_library(home, tmp.path(), true) else {
        return;
    };
    let lib = RwLock::new(lib);
    let photos = tmp.path().join("photos");
    copy_photos(&photos);

    let first = run(&lib, &photos);
    assert_eq!((first.new, first.embedded), (19, 19), "{home:?}: {first:?}");
    assert_catalog_matches_disk(&lib, 19);

    let again = run(&lib, &photos);
    assert_eq!(
        (again.unchanged, again.new, again.embedded),
        (19, 0, 0),
        "{home:?}: {again:?}"
    );

    // Re-timed, same bytes: not embedded again, same vector.
    let coffee = photos.join("food/coffee.png");
    let before = vector_at(&lib, &coffee);
    std::fs::File::options()
        .write(true)
        .open(&coffee)
        .unwrap()
        .set_modified(SystemTime::now() + Duration::from_secs(60))
        .unwrap();
    let touched = run(&lib, &photos);
    assert_eq!(
        (touched.touched, touched.embedded),
        (1, 0),
        "{home:?}: {touched:?}"
    );
    assert_eq!(vector_at(&lib, &coffee), before);

    // Edited: other bytes at the same path (another picture, with a byte
    // appended so that it is no copy), embedded again.
    let edited = photos.join("textures/grass.jpg");
    let old = vector_at(&lib, &edited);
    let mut bytes = std::fs::read(photos.join("space/rocket.jpg")).unwrap();
    bytes.push(0);
    std::fs::write(&edited, bytes).unwrap();
    let changed = run(&lib, &photos);
    assert_eq!(
        (changed.changed, changed.embedded),
        (1, 1),
        "{home:?}: {changed:?}"
    );
    let now = vector_at(&lib, &edited);
    assert!(
        cosine(&now, &old) < 0.999,
        "{home:?}: the edit was embedded"
    );
    // The same picture as the rocket (in another batch: equal to rounding).
    let rocket = vector_at(&lib, &photos.join("space/rocket.jpg"));
    assert!(cosine(&now, &rocket) > 0.99999, "{home:?}");
    assert_catalog_matches_disk(&lib, 19);

    // Deleted.
    let gone = canonical(&photos.join("misc/clock_motion.png"));
    std::fs::remove_file(&gone).unwrap();
    let removed = run(&lib, &photos);
    assert_eq!(removed.removed, 1, "{home:?}: {removed:?}");
    assert_eq!(lib.read().unwrap().id_for_path(&gone).unwrap(), None);
    assert_catalog_matches_disk(&lib, 18);

    // A folder moved: recognised by content, vectors kept, nothing embedded.
    let horse = vector_at(&lib, &photos.join("animals/horse.png"));
    std::fs::rename(photos.join("animals"), photos.join("pets")).unwrap();
    let moved = run(&lib, &photos);
    assert_eq!(
        (moved.moved, moved.new, moved.embedded),
        (3, 0, 0),
        "{home:?}: {moved:?}"
    );
    assert_eq!(vector_at(&lib, &photos.join("pets/horse.png")), horse);
    assert_catalog_matches_disk(&lib, 18);

    // A byte-identical copy reuses the vector.
    std::fs::copy(
        photos.join("pets/horse.png"),
        photos.join("misc/horse-copy.png"),
    )
    .unwrap();
    let copied = run(&lib, &photos);
    assert_eq!(
        (copied.new, copied.copies, copied.embedded),
        (1, 1, 0),
        "{home:?}: {copied:?}"
    );
    assert_eq!(vector_at(&lib, &photos.join("misc/horse-copy.png")), horse);
    assert_catalog_matches_disk(&lib, 19);
}

#[test]
fn incremental_runs_on_the_local_library() {
    incremental(Home::Local);
}

#[test]
fn incremental_runs_on_qdrant() {
    incremental(Home::Qdrant);
}

/// Results as (path, score), for comparing homes (ids differ between them).
fn results(lib: &Library, req: &SearchRequest) -> Vec<(String, f32)> {
    search(lib, model(), &TextCache::new(64), req)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| (h.record.path_buf().display().to_string(), h.score))
        .collect()
}

/// The same ranking: equal lists, where images of equal score (copies) may come
/// in either order.
fn same_ranking(a: &[(String, f32)], b: &[(String, f32)]) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("{} hits vs {}", a.len(), b.len()));
    }
    let mut i = 0;
    while i < a.len() {
        let mut j = i + 1;
        while j < a.len() && (a[j].1 - a[i].1).abs() < 1e-6 {
            j += 1;
        }
        let mut x: Vec<&String> = a[i..j].iter().map(|h| &h.0).collect();
        let mut y: Vec<&String> = b[i..j].iter().map(|h| &h.0).collect();
        x.sort();
        y.sort();
        if x != y {
            return Err(format!("rank {i}: {x:?} vs {y:?}"));
        }
        for k in i..j {
            if (a[k].1 - b[k].1).abs() > 1e-5 {
                return Err(format!("rank {k}: score {} vs {}", a[k].1, b[k].1));
            }
        }
        i = j;
    }
    Ok(())
}

/// The queries of the parity test: text, "more like this", the algebra, each
/// filter and combinations. `like` maps a path to this library's id.
fn queries(photos: &Path, like: &dyn Fn(&Path) -> u64) -> Vec<(String, SearchRequest)> {
    let req = |terms: Vec<Weighted>, filters: Filters| SearchRequest {
        terms,
        filters,
        k: 20,
        offset: 0,
        cutoff: false,
    };
    let text = |q: &str| parse_query(q).unwrap();
    let mut out = Vec::new();
    let texts = [
        "a cat",
        "a horse in a field",
        "space rocket launch",
        "a cup of coffee",
        "green grass",
        "red brick wall",
        "cells under a microscope",
        "a man holding a camera",
        "old coins",
        "a clock",
        "an astronaut",
        "IMG_2041",
        "animals",
        "science",
        "Lisbon",
        "Buenos Aires",
        "Japan",
    ];
    for t in texts {
        out.push((t.to_string(), req(text(t), Filters::default())));
    }
    let examples = [
        "animals/chelsea.jpg",
        "animals/horse.png",
        "space/rocket.jpg",
        "food/coffee.png",
        "textures/brick.png",
        "science/cell.png",
        "misc/COINS.PNG",
        "people/camera.png",
    ];
    for e in examples {
        let id = like(&photos.join(e));
        let terms = vec![Weighted {
            term: Term::Like(id),
            weight: 1.0,
        }];
        out.push((format!("like {e}"), req(terms, Filters::default())));
    }
    for q in [
        "a cat + a rocket",
        "2:a horse - grass",
        "coffee - 0.5:a cup",
        "a brick wall + like:{}",
        "like:{} - a cat",
    ] {
        let id = like(&photos.join("animals/chelsea.jpg"));
        out.push((
            q.to_string(),
            req(text(&q.replace("{}", &id.to_string())), Filters::default()),
        ));
    }
    let day = 86_400;
    let base = 1_546_300_800; // 2019-01-01
    let folder = |f: &str| Some(canonical(&photos.join(f)));
    let filters: Vec<(&str, Filters)> = vec![
        (
            "in animals",
            Filters {
                folder: folder("animals"),
                ..Default::default()
            },
        ),
        (
            "in space",
            Filters {
                folder: folder("space"),
                ..Default::default()
            },
        ),
        (
            "png",
            Filters {
                format: Some("png".into()),
                ..Default::default()
            },
        ),
        (
            "JPEG",
            Filters {
                format: Some("JPEG".into()),
                ..Default::default()
            },
        ),
        (
            "webp",
            Filters {
                format: Some("webp".into()),
                ..Default::default()
            },
        ),
        (
            "after day 5",
            Filters {
                after: Some(base + 5 * day),
                ..Default::default()
            },
        ),
        (
            "before day 8",
            Filters {
                before: Some(base + 8 * day),
                ..Default::default()
            },
        ),
        (
            "days 3 to 12",
            Filters {
                after: Some(base + 3 * day),
                before: Some(base + 12 * day),
                ..Default::default()
            },
        ),
        (
            "min 300 px",
            Filters {
                min_size: Some(300),
                ..Default::default()
            },
        ),
        (
            "min 1000 px",
            Filters {
                min_size: Some(1000),
                ..Default::default()
            },
        ),
        (
            "camera canon",
            Filters {
                camera: Some("canon".into()),
                ..Default::default()
            },
        ),
        (
            "in science, png",
            Filters {
                folder: folder("science"),
                format: Some("png".into()),
                ..Default::default()
            },
        ),
        (
            "png, min 300",
            Filters {
                format: Some("png".into()),
                min_size: Some(300),
                ..Default::default()
            },
        ),
        (
            "in animals, after day 2",
            Filters {
                folder: folder("animals"),
                after: Some(base + 2 * day),
                ..Default::default()
            },
        ),
        (
            "jpeg before day 15",
            Filters {
                format: Some("jpeg".into()),
                before: Some(base + 15 * day),
                ..Default::default()
            },
        ),
        // Places (tests/fixtures/places: twenty cities, two near Lisbon).
        (
            "near Lisbon",
            Filters {
                place: Some(scry::places::near("Lisbon", None).unwrap().place),
                ..Default::default()
            },
        ),
        (
            "within 5 km of Tokyo",
            Filters {
                place: Some(scry::places::near("Tokyo", Some(5.0)).unwrap().place),
                ..Default::default()
            },
        ),
        (
            "in Portugal",
            Filters {
                place: Some(scry::places::Where::Country("PT".into())),
                ..Default::default()
            },
        ),
        (
            "near Lisbon, jpeg",
            Filters {
                place: Some(scry::places::near("Lisbon", None).unwrap().place),
                format: Some("jpeg".into()),
                ..Default::default()
            },
        ),
        (
            "in England",
            Filters {
                place: Some(scry::places::near("England", None).unwrap().place),
                ..Default::default()
            },
        ),
    ];
    for (name, f) in filters {
        for t in ["a photo", "a cat", "texture"] {
            out.push((format!("{t} [{name}]"), req(text(t), f.clone())));
        }
    }
    let id = like(&photos.join("space/rocket.jpg"));
    out.push((
        "like rocket [png]".into(),
        req(
            vec![Weighted {
                term: Term::Like(id),
                weight: 1.0,
            }],
            Filters {
                format: Some("png".into()),
                ..Default::default()
            },
        ),
    ));
    out
}

/// Sample photos with distinct dates (mtimes one day apart), a file named
/// like a camera's, and photos with GPS positions (tests/fixtures/places).
fn parity_photos(at: &Path) -> PathBuf {
    let photos = at.join("photos");
    copy_photos(&photos);
    copy_dir(
        &root().join("tests/fixtures/places"),
        &photos.join("places"),
    );
    std::fs::remove_file(photos.join("places/manifest.json")).unwrap();
    std::fs::copy(
        photos.join("textures/gravel.png"),
        photos.join("misc/IMG_2041.png"),
    )
    .unwrap();
    let mut files: Vec<PathBuf> = walk(&photos);
    files.sort();
    for (i, f) in files.iter().enumerate() {
        let t =
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_546_300_800 + i as u64 * 86_400 + 3600);
        std::fs::File::options()
            .write(true)
            .open(f)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
    photos
}

fn walk(dir: &Path) -> Vec<PathBuf> {
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

#[test]
fn the_same_photos_give_the_same_results_on_both_homes() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = parity_photos(tmp.path());
    let Some(remote) = new_library(Home::Qdrant, tmp.path(), true) else {
        return;
    };
    let local = RwLock::new(new_library(Home::Local, tmp.path(), true).unwrap());
    let remote = RwLock::new(remote);
    let hnsw = RwLock::new(new_library(Home::Qdrant, tmp.path(), false).unwrap());
    run(&local, &photos);
    run(&remote, &photos);
    run(&hnsw, &photos);
    let (local, remote) = (local.into_inner().unwrap(), remote.into_inner().unwrap());
    let hnsw = hnsw.into_inner().unwrap();
    assert_eq!(local.len().unwrap(), remote.len().unwrap());

    let local_queries = queries(&photos, &|p| {
        local.id_for_path(&canonical(p)).unwrap().unwrap()
    });
    let remote_queries = queries(&photos, &|p| {
        remote.id_for_path(&canonical(p)).unwrap().unwrap()
    });
    assert!(local_queries.len() >= 50, "{} queries", local_queries.len());
    let mut agree = 0;
    let mut failures = Vec::new();
    for ((name, l), (_, r)) in local_queries.iter().zip(&remote_queries) {
        let (a, b) = (results(&local, l), results(&remote, r));
        match same_ranking(&a, &b) {
            Ok(()) => agree += 1,
            Err(e) => failures.push(format!("{name}: {e}\n  local:  {a:?}\n  qdrant: {b:?}")),
        }
    }
    println!(
        "parity: {agree} of {} queries give the same top 20",
        local_queries.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Qdrant's HNSW (with its quantised copy and rescoring) against its exact
    // search, over the same queries: recall@10.
    let hnsw_queries = queries(&photos, &|p| {
        hnsw.id_for_path(&canonical(p)).unwrap().unwrap()
    });
    let (mut found, mut total) = (0usize, 0usize);
    for ((_, exact), (_, approx)) in remote_queries.iter().zip(&hnsw_queries) {
        let truth: Vec<String> = results(&remote, exact)
            .into_iter()
            .take(10)
            .map(|h| h.0)
            .collect();
        let got: Vec<String> = results(&hnsw, approx)
            .into_iter()
            .take(10)
            .map(|h| h.0)
            .collect();
        found += got.iter().filter(|p| truth.contains(p)).count();
        total += truth.len();
    }
    let recall = found as f64 / total.max(1) as f64;
    println!("Qdrant HNSW recall@10 against exact: {recall:.3} ({found} of {total})");
    assert!(recall >= 0.98, "recall@10 {recall}");

    // A file name typed as it is found that file first, on both.
    for lib in [&local, &remote] {
        let hits = results(
            lib,
            &SearchRequest {
                terms: parse_query("IMG_2041").unwrap(),
                filters: Filters::default(),
                k: 5,
                offset: 0,
                cutoff: false,
            },
        );
        assert!(hits[0].0.ends_with("misc/IMG_2041.png"), "{hits:?}");
    }
}

/// Whether Tesseract is here; without it the OCR test is skipped, unless CI
/// requires the optional codecs.
/// Text in images (tests/fixtures/ocr: screenshots, receipts, signs in
/// photos, turned pages, small print) is read and found by its words, on both
/// homes: on the local library by the back-fill of a library indexed without
/// OCR, on Qdrant while indexing. `text:"…"` matches the text only, alike on
/// both.
#[test]
fn text_in_images_is_read_and_found_on_both_homes() {
    if !tesseract_here() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    copy_dir(&root().join("tests/fixtures/ocr"), &photos.join("text"));
    std::fs::remove_file(photos.join("text/manifest.json")).unwrap();
    copy_dir(&root().join("sample_data/animals"), &photos.join("animals"));
    copy_dir(&root().join("sample_data/space"), &photos.join("space"));
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/ocr/manifest.json")).unwrap(),
    )
    .unwrap();
    let manifest = manifest.as_array().unwrap();
    let images = walk(&photos).len();

    let local = RwLock::new(new_library(Home::Local, tmp.path(), true).unwrap());
    // Indexed without OCR: nothing read.
    let first = run(&local, &photos);
    assert_eq!(first.ocr_checked, 0);
    assert!(local
        .read()
        .unwrap()
        .all_records()
        .unwrap()
        .iter()
        .all(|(_, r)| r.text.is_none()));
    // OCR turned on: the unchanged images are read once, none re-embedded.
    local.write().unwrap().set_ocr(Some("eng")).unwrap();
    let second = run(&local, &photos);
    assert_eq!((second.ocr_checked, second.embedded), (images, 0));
    let third = run(&local, &photos);
    assert_eq!(third.ocr_checked, 0, "read once");

    let mut homes = vec![("local", local.into_inner().unwrap())];
    if let Some(remote) = new_library(Home::Qdrant, tmp.path(), true) {
        let remote = RwLock::new(remote);
        {
            let mut r = remote.write().unwrap();
            // A new collection is made when the model is bound.
            r.bind_model(model().id(), model().dim()).unwrap();
            r.set_ocr(Some("eng")).unwrap();
        }
        let s = run(&remote, &photos);
        assert_eq!((s.ocr_checked, s.embedded), (images, images));
        homes.push(("qdrant", remote.into_inner().unwrap()));
    }
    let search_for = |lib: &Library, q: &str, filters: Filters| {
        results(
            lib,
            &SearchRequest {
                terms: parse_query(q).unwrap(),
                filters,
                k: 100,
                offset: 0,
                cutoff: false,
            },
        )
    };
    for (home, lib) in &homes {
        // The photos without text have none.
        for (_, r) in lib.all_records().unwrap() {
            let p = r.path_buf();
            if !p.starts_with(canonical(&photos.join("text"))) {
                assert_eq!(r.text.as_deref(), Some(""), "{home}: {}", p.display());
            }
        }
        // Each word of the manifest ranks its image first.
        let (mut first, mut tried, mut missed) = (0, 0, Vec::new());
        for m in manifest {
            let file = m["file"].as_str().unwrap();
            for w in m["words"].as_array().unwrap() {
                let w = w.as_str().unwrap();
                tried += 1;
                let hits = search_for(lib, w, Filters::default());
                if hits
                    .first()
                    .is_some_and(|h| h.0.ends_with(&format!("text/{file}")))
                {
                    first += 1;
                } else {
                    missed.push(format!("{w} ({file})"));
                }
            }
        }
        let rate = first as f64 / tried as f64;
        println!("{home}: {first} of {tried} words rank their image first ({rate:.3}); missed: {missed:?}");
        assert!(
            rate >= 0.9,
            "{home}: word hit rate {rate}: missed {missed:?}"
        );
    }
    // A phrase: the images whose text holds those words in a row, and only
    // those, alike on both homes.
    let with_phrase = |lib: &Library, phrase: &str| -> Vec<String> {
        let words = scry::keyword::tokens(phrase);
        let mut hits: Vec<String> = search_for(
            lib,
            "a photo",
            Filters {
                text: Some(words.clone()),
                ..Default::default()
            },
        )
        .into_iter()
        .map(|h| h.0)
        .collect();
        hits.sort();
        for (_, r) in lib.all_records().unwrap() {
            let holds = r
                .text
                .as_deref()
                .is_some_and(|t| scry::ocr::contains_phrase(t, &words));
            let p = r.path_buf().display().to_string();
            assert_eq!(holds, hits.contains(&p), "{phrase}: {p}");
        }
        hits
    };
    let (_, local) = &homes[0];
    for phrase in ["market", "due on Monday", "invoice", "Monday due"] {
        let l = with_phrase(local, phrase);
        match phrase {
            "market" => assert!(l.len() >= 6, "{phrase}: {l:?}"),
            "due on Monday" => assert!(l.len() >= 4, "{phrase}: {l:?}"),
            "Monday due" => assert!(l.is_empty(), "{phrase}: {l:?}"),
            _ => {}
        }
        for (home, lib) in &homes[1..] {
            assert_eq!(with_phrase(lib, phrase), l, "{home}: {phrase}");
        }
    }
}

/// A search by the picture of the video's frame at `seconds`: the hits'
/// file names, scores and times.
fn frame_search(
    lib: &RwLock<Library>,
    frame: &Path,
    filters: Filters,
) -> Vec<(String, f32, Option<f64>)> {
    let req = SearchRequest {
        terms: vec![Weighted {
            term: Term::ImageFile(frame.to_path_buf()),
            weight: 1.0,
        }],
        filters,
        k: 10,
        offset: 0,
        cutoff: false,
    };
    let cache = TextCache::new(4);
    search(&lib.read().unwrap(), model(), &cache, &req)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| {
            (
                h.record
                    .path_buf()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                h.score,
                h.time,
            )
        })
        .collect()
}

/// Videos, the same on every home: each found once at the frame that matches
/// (filters and examples apply to its frames too), its frames moving with it
/// and going with it, duplicates and counts seeing it once.
fn videos(home: Home) {
    if !ffmpeg_here() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let Some(lib) = new_library(home, tmp.path(), true) else {
        return;
    };
    let lib = RwLock::new(lib);
    let photos = tmp.path().join("photos");
    std::fs::create_dir_all(photos.join("trip")).unwrap();
    let fixtures = root().join("tests/fixtures/video");
    std::fs::copy(fixtures.join("scenes.mp4"), photos.join("trip/beach.mp4")).unwrap();
    for name in ["chelsea.jpg", "horse.png"] {
        std::fs::copy(
            root().join("sample_data/animals").join(name),
            photos.join(name),
        )
        .unwrap();
    }
    let first = run(&lib, &photos);
    assert_eq!(
        (first.new, first.embedded, first.frames),
        (3, 3, 3),
        "{home:?}: {first:?}"
    );
    assert_catalog_matches_disk(&lib, 3);
    let frame = fixtures.join("frame-24.png");

    let hits = frame_search(&lib, &frame, Filters::default());
    assert_eq!(hits.len(), 3, "{home:?}: each item once: {hits:?}");
    assert_eq!(hits[0].0, "beach.mp4", "{home:?}: {hits:?}");
    assert_eq!(hits[0].2, Some(24.0), "{home:?}: {hits:?}");
    assert!(hits[0].1 > 0.999, "{home:?}: {hits:?}");
    assert!(
        hits[1..].iter().all(|h| h.2.is_none()),
        "{home:?}: {hits:?}"
    );
    // Filters reach the frames: the video's folder finds it at 24 s, another
    // folder never does.
    let folder = |f: &Path| Filters {
        folder: Some(canonical(f)),
        ..Default::default()
    };
    let hits = frame_search(&lib, &frame, folder(&photos.join("trip")));
    assert_eq!(
        hits,
        vec![("beach.mp4".to_string(), hits[0].1, Some(24.0))],
        "{home:?}"
    );
    std::fs::create_dir_all(photos.join("empty")).unwrap();
    assert!(
        frame_search(&lib, &frame, folder(&photos.join("empty"))).is_empty(),
        "{home:?}"
    );
    // More like the video's moment at 24 s: never the video itself.
    let video = {
        let l = lib.read().unwrap();
        l.id_for_path(&canonical(&photos.join("trip/beach.mp4")))
            .unwrap()
            .unwrap()
    };
    let like = SearchRequest {
        terms: parse_query(&format!("like:{video}@24")).unwrap(),
        filters: Filters::default(),
        k: 10,
        offset: 0,
        cutoff: false,
    };
    let cache = TextCache::new(4);
    let liked = search(&lib.read().unwrap(), model(), &cache, &like)
        .unwrap()
        .hits;
    assert_eq!(liked.len(), 2, "{home:?}");
    assert!(liked.iter().all(|h| h.id != video), "{home:?}");

    // Moved: the frames go along (still found at 24 s, under its new name).
    std::fs::rename(photos.join("trip/beach.mp4"), photos.join("trip/sea.mp4")).unwrap();
    let moved = run(&lib, &photos);
    assert_eq!((moved.moved, moved.embedded), (1, 0), "{home:?}: {moved:?}");
    let hits = frame_search(&lib, &frame, Filters::default());
    assert_eq!(hits.len(), 3, "{home:?}: {hits:?}");
    assert_eq!(
        (hits[0].0.as_str(), hits[0].2),
        ("sea.mp4", Some(24.0)),
        "{home:?}: {hits:?}"
    );
    // Duplicates compare the video by its poster, once.
    let groups = scry::dupes::find(&lib.read().unwrap(), None, &Default::default()).unwrap();
    for g in &groups {
        let mut ids: Vec<u64> = g.members.iter().map(|m| m.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), g.members.len(), "{home:?}: {g:?}");
        assert!(
            lib.read().unwrap().records(&ids).unwrap().len() == ids.len(),
            "{home:?}: {g:?}"
        );
    }

    // Removed: its frames go with it.
    std::fs::remove_file(photos.join("trip/sea.mp4")).unwrap();
    let gone = run(&lib, &photos);
    assert_eq!(gone.removed, 1, "{home:?}: {gone:?}");
    let hits = frame_search(&lib, &frame, Filters::default());
    assert_eq!(hits.len(), 2, "{home:?}: {hits:?}");
    assert!(hits.iter().all(|h| h.2.is_none()), "{home:?}: {hits:?}");
}

#[test]
fn videos_on_the_local_library() {
    videos(Home::Local);
}

#[test]
fn videos_on_qdrant() {
    videos(Home::Qdrant);
}

/// SigLIP on Qdrant: a library indexed with the SigLIP fixture model (its own
/// dimension, preprocessing and text tower) stores that model and ranks text,
/// "more like this" and filtered queries as the local library does.
#[test]
fn siglip_libraries_rank_alike_on_both_homes() {
    let siglip = scry::ClipModel::load_dir(&root().join("tests/fixtures/tiny-siglip")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    copy_photos(&photos);
    let Some(remote) = new_library(Home::Qdrant, tmp.path(), true) else {
        return;
    };
    let local = new_library(Home::Local, tmp.path(), true).unwrap();
    let libs = [RwLock::new(local), RwLock::new(remote)];
    for lib in &libs {
        let s = index(
            lib,
            &siglip,
            std::slice::from_ref(&photos),
            &IndexOptions::default(),
            &Silent,
        )
        .unwrap();
        assert_eq!((s.failed, s.new), (0, 19), "{s:?}");
        let l = lib.read().unwrap();
        assert_eq!(l.model().unwrap().as_deref(), Some(siglip.id()));
        assert_eq!(l.dim(), siglip.dim());
    }
    let cache = TextCache::new(16);
    let ranked = |lib: &RwLock<Library>, q: &str, filters: Filters| -> Vec<(String, f32)> {
        let l = lib.read().unwrap();
        let mut terms = parse_query(q).unwrap();
        if q.is_empty() {
            let id = l
                .id_for_path(&canonical(&photos.join("animals/chelsea.jpg")))
                .unwrap()
                .unwrap();
            terms.push(Weighted {
                term: Term::Like(id),
                weight: 1.0,
            });
        }
        let req = SearchRequest {
            terms,
            filters,
            k: 10,
            offset: 0,
            cutoff: false,
        };
        search(&l, &siglip, &cache, &req)
            .unwrap()
            .hits
            .into_iter()
            .map(|h| (h.record.path_buf().display().to_string(), h.score))
            .collect()
    };
    let space = Filters {
        folder: Some(canonical(&photos.join("space"))),
        ..Default::default()
    };
    for (q, filters) in [
        ("a cat", Filters::default()),
        ("an astronaut in space", Filters::default()),
        ("a cup of coffee", Filters::default()),
        ("a red brick wall - grass", Filters::default()),
        ("a rocket", space),
        ("", Filters::default()),
    ] {
        let (a, b) = (
            ranked(&libs[0], q, filters.clone()),
            ranked(&libs[1], q, filters),
        );
        assert!(!a.is_empty(), "{q:?}");
        same_ranking(&a, &b)
            .unwrap_or_else(|e| panic!("{q:?}: {e}\n  local:  {a:?}\n  qdrant: {b:?}"));
    }
}
