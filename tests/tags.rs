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
