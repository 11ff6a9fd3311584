//! The query engine on constructed vectors: algebra, filters, fusion, pagination.

use scry::query::{search, Filters, SearchRequest, Term, TextCache, Weighted};
use scry::store::{ChangeSet, ImageRecord, NewImage};
use scry::Library;

use crate::common::golden_model;

fn rec(path: &str, taken: Option<i64>, w: u32) -> ImageRecord {
    ImageRecord {
        path: path.as_bytes().to_vec(),
        size: 1,
        mtime_ns: 0,
        hash: *blake3_of(path),
        width: w,
        height: w,
        format: "jpeg".into(),
        taken,
        camera: None,
        indexed_at: 0,
        gps: None,
        place: None,
        text: None,
        video: None,
    }
}

fn blake3_of(s: &str) -> &'static [u8; 32] {
    let mut h = [0u8; 32];
    for (i, b) in s.bytes().enumerate() {
        h[i % 32] ^= b.wrapping_mul(31).wrapping_add(i as u8);
    }
    Box::leak(Box::new(h))
}

/// A library in the tiny model's space whose vectors are the model's own
/// embeddings of a few texts: a "cat" image, a "dog" image, "water" …
fn library(dir: &std::path::Path) -> Library {
    let model = golden_model();
    let mut lib = Library::open(dir).unwrap();
    lib.bind_model(model.id(), model.dim()).unwrap();
    let concepts = [
        "a cat",
        "a dog",
        "water",
        "a golden retriever in water",
        "a red car",
    ];
    let vecs = model.embed_texts(&concepts).unwrap();
    let mut added = Vec::new();
    for (i, v) in vecs.iter().enumerate() {
        for copy in 0..4 {
            let year = 2015 + copy as i64;
            added.push(NewImage {
                record: rec(
                    &format!(
                        "/photos/{}/shot_{i}_{copy}.jpg",
                        if copy < 2 { "holiday" } else { "home" }
                    ),
                    Some(scry::dates::days_from_civil(year, 6, 1) * 86_400),
                    100 * (copy as u32 + 1),
                ),
                vector: v.clone(),
                thumbnail: vec![],
                phash: 0,
                frames: Vec::new(),
            });
        }
    }
    added.push(NewImage {
        record: rec("/photos/misc/IMG_2041.jpg", None, 50),
        vector: vecs[4].clone(),
        thumbnail: vec![],
        phash: 0,
        frames: Vec::new(),
    });
    lib.commit(&ChangeSet {
        added,
        ..Default::default()
    })
    .unwrap();
    lib.checkpoint().unwrap();
    lib
}

fn req(terms: Vec<Weighted>, k: usize) -> SearchRequest {
    SearchRequest {
        terms,
        filters: Filters::default(),
        k,
        offset: 0,
        cutoff: false,
    }
}

fn text(t: &str, w: f32) -> Weighted {
    Weighted {
        term: Term::Text(t.into()),
        weight: w,
    }
}

fn names(r: &scry::query::SearchResult) -> Vec<String> {
    r.hits
        .iter()
        .map(|h| String::from_utf8_lossy(&h.record.path).into_owned())
        .collect()
}

#[test]
fn text_like_and_algebra_order_as_constructed() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = library(tmp.path());
    let model = golden_model();
    let cache = TextCache::default();
    // Text: the "a cat" images come first, each with cosine 1.
    let r = search(&lib, model, &cache, &req(vec![text("a cat", 1.0)], 4)).unwrap();
    assert!(
        names(&r).iter().all(|n| n.contains("shot_0_")),
        "{:?}",
        names(&r)
    );
    assert!(r.hits.iter().all(|h| h.score > 0.9999));
    // More like this: the other copies of the same concept, never the image itself.
    let id = r.hits[0].id;
    let r = search(
        &lib,
        model,
        &cache,
        &req(
            vec![Weighted {
                term: Term::Like(id),
                weight: 1.0,
            }],
            3,
        ),
    )
    .unwrap();
    assert!(r.hits.iter().all(|h| h.id != id && h.score > 0.9999));
    // Algebra: "golden retriever in water" - water ranks the dog-like images above
    // the water images; adding water pushes water up.
    let minus = search(
        &lib,
        model,
        &cache,
        &req(
            vec![
                text("a golden retriever in water", 1.0),
                text("water", -1.0),
            ],
            24,
        ),
    )
    .unwrap();
    let plus = search(
        &lib,
        model,
        &cache,
        &req(
            vec![text("a golden retriever in water", 1.0), text("water", 1.0)],
            24,
        ),
    )
    .unwrap();
    let rank = |r: &scry::query::SearchResult, pat: &str| {
        names(r).iter().position(|n| n.contains(pat)).unwrap()
    };
    assert!(
        rank(&plus, "shot_2_") < rank(&minus, "shot_2_"),
        "adding water moves the water images up"
    );
    // Weights: the combined vector is the normalised weighted sum.
    let w = search(
        &lib,
        model,
        &cache,
        &req(vec![text("a cat", 3.0), text("a dog", 1.0)], 1),
    )
    .unwrap();
    assert!(names(&w)[0].contains("shot_0_"));
}

#[test]
fn filters_apply_inside_the_search_and_still_fill_k() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = library(tmp.path());
    let model = golden_model();
    let cache = TextCache::default();
    let mut r = req(vec![text("a cat", 1.0)], 5);
    r.filters.folder = Some("/photos/home".into());
    let out = search(&lib, model, &cache, &r).unwrap();
    assert_eq!(
        out.hits.len(),
        5,
        "5 of the 10 home photos, although cats rank first overall"
    );
    assert!(names(&out).iter().all(|n| n.starts_with("/photos/home/")));
    r.filters = Filters {
        after: scry::dates::parse_date("2017-01-01"),
        before: scry::dates::parse_date("2018-01-01"),
        ..Default::default()
    };
    let out = search(&lib, model, &cache, &r).unwrap();
    assert_eq!(out.hits.len(), 5);
    assert!(names(&out).iter().all(|n| n.ends_with("_2.jpg")));
    r.filters = Filters {
        min_size: Some(350),
        ..Default::default()
    };
    let out = search(&lib, model, &cache, &r).unwrap();
    assert!(out.hits.iter().all(|h| h.record.width >= 350));
}

#[test]
fn an_exact_file_name_ranks_first_and_pages_are_stable() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = library(tmp.path());
    let model = golden_model();
    let cache = TextCache::default();
    let out = search(&lib, model, &cache, &req(vec![text("IMG_2041", 1.0)], 3)).unwrap();
    assert_eq!(names(&out)[0], "/photos/misc/IMG_2041.jpg");
    let all = search(&lib, model, &cache, &req(vec![text("a dog", 1.0)], 12)).unwrap();
    let mut paged = Vec::new();
    for offset in [0, 4, 8] {
        let mut r = req(vec![text("a dog", 1.0)], 4);
        r.offset = offset;
        paged.extend(
            search(&lib, model, &cache, &r)
                .unwrap()
                .hits
                .into_iter()
                .map(|h| h.id),
        );
    }
    assert_eq!(paged, all.hits.iter().map(|h| h.id).collect::<Vec<_>>());
}
