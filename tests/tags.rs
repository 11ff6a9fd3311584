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
