//! Auto-tags through the fixture's text tower: a category's vector is the
//! normalised mean of its normalised template embeddings (the CLIP paper's
//! ensemble), and an image's tags follow from its shares of the vocabulary.

use scry::tags::{self, Tagger, TEMPLATES};

use crate::common::{golden_model, max_abs_diff};

#[test]
fn categories_are_ensembles_of_their_template_prompts() {
    let model = golden_model();
    // More than one batch of categories (eight a batch).
    let names: Vec<String> = tags::VOCABULARY[..11]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut reported = Vec::new();
    let tagger = Tagger::encode(model, &names, |n| reported.push(n)).unwrap();
    assert_eq!(reported, [8, 11]);
    assert_eq!(tagger.names(), &names[..]);
    assert_eq!(tagger.dim(), model.embed_texts(&["x"]).unwrap()[0].len());
    for (i, name) in names.iter().enumerate() {
        // Each prompt alone (batching must not change a prompt's embedding).
        let each: Vec<Vec<f32>> = TEMPLATES
            .iter()
            .map(|t| {
                let p = t.replace("{}", name);
                assert!(p.contains(name.as_str()) && !p.contains("{}"));
                model.embed_texts(&[p]).unwrap().remove(0)
            })
            .collect();
        let want = tags::ensemble(&each);
        let d = max_abs_diff(tagger.vector(i), &want);
        assert!(d < 1e-5, "{name}: {d}");
        // The ensemble is not any single template's embedding.
        assert!(each.iter().all(|e| max_abs_diff(e, &want) > 1e-4));
        // A photo made of this category's vector gives it the largest share.
        let shares = tagger.shares(&want);
        let best = (0..names.len())
            .max_by(|&a, &b| shares[a].total_cmp(&shares[b]))
            .unwrap();
        assert_eq!(best, i, "{name}: {shares:?}");
    }
}

/// The encoded vocabulary is kept: the second run reads the same vectors back
/// without encoding; another vocabulary, or a damaged file, is encoded again.
#[test]
fn the_encoded_vocabulary_is_cached_by_model_and_categories() {
    let model = golden_model();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("tags");
    let names: Vec<String> = ["dog", "beach", "receipt"].map(String::from).to_vec();
    let files = || -> Vec<std::path::PathBuf> {
        let mut f: Vec<_> = std::fs::read_dir(&cache)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        f.sort();
        f
    };
    let mut encoded = 0;
    let first = Tagger::encode_cached(model, &names, &cache, |_| encoded += 1).unwrap();
    assert_eq!(encoded, 1);
    assert_eq!(files().len(), 1);
    let mut again = 0;
    let second = Tagger::encode_cached(model, &names, &cache, |_| again += 1).unwrap();
    assert_eq!(again, 0, "read from the cache");
    for i in 0..names.len() {
        assert_eq!(first.vector(i), second.vector(i));
    }
    assert_eq!(second.names(), &names[..]);
    // Another vocabulary: its own file.
    let more: Vec<String> = ["dog", "beach", "receipt", "kayak"]
        .map(String::from)
        .to_vec();
    let mut n = 0;
    let wider = Tagger::encode_cached(model, &more, &cache, |_| n += 1).unwrap();
    assert_eq!(n, 1);
    assert_eq!(files().len(), 2);
    assert_eq!(wider.vector(0), first.vector(0));
    // A damaged file is encoded again and mended.
    for f in files() {
        std::fs::write(&f, b"not floats").unwrap();
    }
    let mut n = 0;
    let mended = Tagger::encode_cached(model, &names, &cache, |_| n += 1).unwrap();
    assert_eq!(n, 1);
    assert_eq!(mended.vector(2), first.vector(2));
    let mut n = 0;
    Tagger::encode_cached(model, &names, &cache, |_| n += 1).unwrap();
    assert_eq!(n, 0);
}

/// A library of constructed vectors: image `i` shows category `shows[i]`
/// (its axis, with a little of the last axis so no two are identical).
fn constructed_library(
    dir: &std::path::Path,
    dim: usize,
    shows: &[usize],
) -> (scry::Library, Vec<u64>) {
    let added = shows
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let mut v = vec![0.0; dim];
            v[c] = 1.0;
            v[dim - 1] = 0.01 * i as f32;
            crate::albums::image(i as u64, scry::model::normalize(v))
        })
        .collect();
    crate::albums::library_with(dir, dim, added)
}

fn axis_tagger(names: &[&str], dim: usize) -> Tagger {
    let vectors = (0..names.len())
        .map(|i| {
            let mut v = vec![0.0; dim];
            v[i] = 1.0;
            v
        })
        .collect();
    Tagger::from_vectors(names.iter().map(|s| s.to_string()).collect(), vectors).unwrap()
}

/// The tag table holds each stored vector's tags, counts them as facets
/// (narrowed to what a viewer may see) and lists a tag's images; a wider
/// vocabulary re-tags the same stored vectors.
#[test]
fn the_tag_table_tags_stored_vectors_and_counts_facets() {
    let dim = 64;
    let tmp = tempfile::tempdir().unwrap();
    // 0: dog, 1: beach, 2: receipt; 5 is no category of the first vocabulary.
    let shows = [0, 0, 0, 1, 1, 2, 5, 5];
    let (lib, ids) = constructed_library(tmp.path(), dim, &shows);
    let lenient = axis_tagger(&["dog", "beach", "receipt"], dim);
    let table = tags::TagTable::build(&lib, &lenient).unwrap();
    assert_eq!(table.images(), 8);
    // With three categories, an image orthogonal to all spreads evenly (a
    // third each): at the default share of 0.1 it carries all three.
    assert_eq!(table.of(ids[6]).len(), 3);
    let tagger = axis_tagger(&["dog", "beach", "receipt"], dim)
        .with_min_share(0.5)
        .unwrap();
    let table_strict = tags::TagTable::build(&lib, &tagger).unwrap();
    let dogs: std::collections::HashSet<u64> = ids[..3].iter().copied().collect();
    assert_eq!(table_strict.with(0), dogs);
    assert_eq!(table_strict.with(2), [ids[5]].into_iter().collect());
    assert_eq!(table_strict.of(ids[3]), ["beach"]);
    assert!(table_strict.of(ids[6]).is_empty(), "nothing stands out");
    assert_eq!(
        table_strict.facets(|_| true),
        [
            ("dog".to_string(), 3),
            ("beach".to_string(), 2),
            ("receipt".to_string(), 1)
        ]
    );
    // Facets of what one viewer sees: the first four images.
    let seen: std::collections::HashSet<u64> = ids[..4].iter().copied().collect();
    assert_eq!(
        table_strict.facets(|id| seen.contains(&id)),
        [("dog".to_string(), 3), ("beach".to_string(), 1)]
    );
    // A category for axis 5: the same vectors, re-tagged, nothing embedded.
    let wider = axis_tagger(&["dog", "beach", "receipt", "x", "y", "kayak"], dim)
        .with_min_share(0.5)
        .unwrap();
    let table = tags::TagTable::build(&lib, &wider).unwrap();
    assert_eq!(table.find("Kayak"), Some(5));
    assert_eq!(table.with(5), [ids[6], ids[7]].into_iter().collect());
    // A vocabulary of another dimension is refused, naming both.
    let other = axis_tagger(&["dog"], 32);
    let e = tags::TagTable::build(&lib, &other).unwrap_err().to_string();
    assert!(e.contains("32") && e.contains("64"), "{e}");
}

/// A library's own categories persist, are checked, and built-in ones stay.
#[test]
fn library_categories_persist_and_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let (mut lib, _) = constructed_library(tmp.path(), 8, &[0]);
        assert!(lib.categories().unwrap().is_empty());
        assert!(lib.add_category("  sea   kayak ").unwrap());
        assert!(!lib.add_category("Sea Kayak").unwrap(), "the same tag");
        assert!(!lib.add_category("dog").unwrap(), "built in");
        assert!(lib.add_category("a/b").is_err());
        assert!(lib.add_category("paddle board").unwrap());
    }
    let mut lib = scry::Library::open(tmp.path()).unwrap();
    assert_eq!(lib.categories().unwrap(), ["sea kayak", "paddle board"]);
    assert_eq!(
        tags::vocabulary(&lib.categories().unwrap()).len(),
        tags::VOCABULARY.len() + 2
    );
    let e = lib.remove_category("dog").unwrap_err().to_string();
    assert!(e.contains("built-in"), "{e}");
    assert!(lib.remove_category("sea-kayak").unwrap());
    assert!(!lib.remove_category("sea-kayak").unwrap());
    assert_eq!(lib.categories().unwrap(), ["paddle board"]);
}
