//! Model families beyond OpenAI's CLIP against their reference (transformers on
//! PyTorch, random weights; `scripts/make_family_fixtures.py`).
//!
//! LAION / open_clip CLIPs in Hugging Face layout differ from OpenAI's in one
//! place: exact GELU (`hidden_act: "gelu"`) instead of QuickGELU. The fixture
//! has the tiny model's weights with that activation, so a forward pass that
//! ignored `hidden_act` would reproduce tiny-clip's outputs instead.

use scry::model::cosine;
use scry::model::SentenceTower;
use scry::preprocess::to_rgb;
use scry::ClipModel;

use crate::common::{copy_model, floats, max_abs_diff, read_json, repo_root, token_ids};

fn gelu_dir() -> std::path::PathBuf {
    repo_root().join("tests/fixtures/tiny-clip-gelu")
}

#[test]
fn laion_style_gelu_clip_matches_its_reference() {
    let golden = read_json(&repo_root().join("tests/fixtures/golden-gelu.json"));
    let quick = read_json(&repo_root().join("tests/fixtures/golden.json"));
    let model = ClipModel::load_dir(&gelu_dir()).unwrap();
    let fixtures = repo_root().join("tests/fixtures");
    // How far QuickGELU's outputs (tiny-clip's golden) are from the reference:
    // the parity bounds below must be tighter, or a pass would prove nothing.
    let mut apart = 0.0f32;
    let mut apart_abs = 0.0f32;
    for (entry, openai) in golden["images"]
        .as_array()
        .unwrap()
        .iter()
        .zip(quick["images"].as_array().unwrap())
    {
        let crop = to_rgb(
            scry::decode::decode_file(&fixtures.join(entry["pixels_png"].as_str().unwrap()))
                .unwrap(),
        );
        let pixels = model.preprocessor().normalize(&crop);
        let got = model.image_features(&[pixels]).unwrap().remove(0);
        let cos = cosine(&got, &floats(&entry["features"]));
        println!("gelu image {}: cosine {cos:.8}", entry["file"]);
        assert!(cos >= 0.99999, "{}: cosine {cos}", entry["file"]);
        let other = floats(&openai["features"]);
        apart = apart.max(1.0 - cosine(&got, &other));
        let scale = other.iter().map(|x| x.abs()).fold(0.0, f32::max);
        apart_abs = apart_abs.max(max_abs_diff(&got, &other) / scale.max(1.0));
        let want = floats(&entry["features"]);
        assert!(
            max_abs_diff(&got, &want) <= 1e-4 * scale.max(1.0),
            "{}",
            entry["file"]
        );
    }
    println!(
        "quick_gelu instead of gelu: 1 - cosine {apart:.2e}, max |Δ| {apart_abs:.2e} of scale"
    );
    assert!(apart > 2e-5, "gelu and quick_gelu outputs agree to {apart}");
    assert!(
        apart_abs > 1e-3,
        "gelu and quick_gelu outputs agree to {apart_abs}"
    );
    for entry in golden["texts"].as_array().unwrap() {
        let text = entry["text"].as_str().unwrap();
        let ids = model.tokenizer().encode(text);
        let got = model.text_features(&[ids]).unwrap().remove(0);
        let want = floats(&entry["features"]);
        let cos = cosine(&got, &want);
        println!("gelu text {text:?}: cosine {cos:.8}");
        assert!(cos >= 0.99999, "{text:?}: cosine {cos}");
        let scale = want.iter().map(|x| x.abs()).fold(0.0, f32::max);
        assert!(
            max_abs_diff(&got, &want) <= 1e-4 * scale.max(1.0),
            "{text:?}"
        );
    }
}

#[test]
fn an_unsupported_activation_is_one_clear_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    for f in [
        "model.safetensors",
        "tokenizer.json",
        "preprocessor_config.json",
    ] {
        std::fs::copy(gelu_dir().join(f), tmp.path().join(f)).unwrap();
    }
    let config = std::fs::read_to_string(gelu_dir().join("config.json"))
        .unwrap()
        .replace("\"gelu\"", "\"silu\"");
    std::fs::write(tmp.path().join("config.json"), config).unwrap();
    let Err(err) = ClipModel::load_dir(tmp.path()) else {
        panic!("a model with silu loaded");
    };
    let err = err.to_string();
    assert!(err.contains("hidden_act is \"silu\""), "{err}");
    assert!(err.contains("\"gelu\""), "{err}");
}

fn multilingual_dir() -> std::path::PathBuf {
    repo_root().join("tests/fixtures/tiny-multilingual")
}

/// The tower and its golden file: the committed tiny one, or the full-size one
/// `scripts/parity_full.sh` makes (`SCRY_MULTILINGUAL_FIXTURE=DIR`).
fn multilingual_fixture() -> (std::path::PathBuf, serde_json::Value) {
    match std::env::var_os("SCRY_MULTILINGUAL_FIXTURE") {
        Some(dir) => {
            let dir = std::path::PathBuf::from(dir);
            let golden = read_json(&dir.join("golden-multilingual.json"));
            (dir, golden)
        }
        None => (
            multilingual_dir(),
            read_json(&repo_root().join("tests/fixtures/golden-multilingual.json")),
        ),
    }
}

/// sentence-transformers' multilingual text tower (DistilBERT, mean pooling, a
/// dense layer into the image model's space): token ids equal the reference
/// tokenizer's on the English corpus and a corpus of CJK, Arabic, Cyrillic,
/// Devanagari, Greek, Hebrew, Thai, emoji and mixed scripts (truncation
/// included); embeddings at cosine ≥ 0.99999 to the reference's from the text.
#[test]
fn multilingual_text_tower_matches_sentence_transformers() {
    let (dir, golden) = multilingual_fixture();
    let tower = SentenceTower::load_dir(&dir).unwrap();
    assert_eq!(
        tower.max_len() as u64,
        golden["max_seq_length"].as_u64().unwrap()
    );
    let corpus = read_json(&repo_root().join("tests/fixtures/tokenizer_corpus.json"));
    let corpus_ids = golden["corpus_ids"].as_array().unwrap();
    for (text, want) in corpus.as_array().unwrap().iter().zip(corpus_ids) {
        let text = text.as_str().unwrap();
        let want: Vec<u32> = serde_json::from_value(want.clone()).unwrap();
        assert_eq!(tower.token_ids(text).unwrap(), want, "{text:?}");
    }
    let mut truncated = 0;
    let mut worst = 1.0f32;
    for entry in golden["texts"].as_array().unwrap() {
        let text = entry["text"].as_str().unwrap();
        let want_ids: Vec<u32> = serde_json::from_value(entry["ids"].clone()).unwrap();
        let ids = tower.token_ids(text).unwrap();
        assert_eq!(ids, want_ids, "{text:?}");
        truncated += usize::from(ids.len() == tower.max_len());
        let want = floats(&entry["embedding"]);
        // From the reference's ids, and from the text: the same path here.
        let got = tower.features(&want_ids).unwrap();
        assert_eq!(got.len(), want.len());
        let cos = cosine(&got, &want);
        worst = worst.min(cos);
        assert!(cos >= 0.99999, "{text:?}: cosine {cos}");
        let embedded = tower.embed_texts(&[text]).unwrap().remove(0);
        assert!(cosine(&embedded, &want) >= 0.99999, "{text:?}");
    }
    println!(
        "multilingual tower: worst 1 - cosine {:.2e} over {} texts",
        1.0 - worst,
        golden["texts"].as_array().unwrap().len()
    );
    assert!(
        truncated >= 1,
        "the corpus holds a text past the sequence length"
    );
}

/// The same tower paired with tiny-clip's image space: texts go through it, not
/// through CLIP's own text tower; pairs of other dimensions are refused.
#[test]
fn a_text_model_answers_for_the_image_model_it_was_paired_with() {
    let mut model = ClipModel::load_dir(&repo_root().join("tests/fixtures/tiny-clip")).unwrap();
    let clip_own = model
        .embed_texts(&["un chien sur la plage"])
        .unwrap()
        .remove(0);
    let tower = std::sync::Arc::new(SentenceTower::load_dir(&multilingual_dir()).unwrap());
    let from_tower = tower
        .embed_texts(&["un chien sur la plage"])
        .unwrap()
        .remove(0);
    model.set_text_model(tower.clone()).unwrap();
    let paired = model
        .embed_texts(&["un chien sur la plage"])
        .unwrap()
        .remove(0);
    assert_eq!(paired, from_tower);
    assert!(
        cosine(&paired, &clip_own) < 0.99,
        "CLIP's own text tower answered"
    );
    assert!(model.text_model().is_some());

    // A dense layer into another dimension is another space.
    let tmp = tempfile::tempdir().unwrap();
    copy_model(&multilingual_dir(), tmp.path());
    let config = tmp.path().join("2_Dense/config.json");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("\"out_features\": 32", "\"out_features\": 16"),
    )
    .unwrap();
    let err = SentenceTower::load_dir(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("2_Dense"), "{err}");
}

/// Folders that are not text towers of a kind scry reads are one clear line
/// naming the file and what is unsupported.
#[test]
fn unsupported_text_models_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    copy_model(&multilingual_dir(), tmp.path());
    let config = tmp.path().join("config.json");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("\"distilbert\"", "\"xlm-roberta\"")).unwrap();
    let err = SentenceTower::load_dir(tmp.path()).unwrap_err().to_string();
    assert!(
        err.contains("xlm-roberta") && err.contains("config.json"),
        "{err}"
    );

    let pooling = tmp.path().join("1_Pooling/config.json");
    std::fs::write(&config, text).unwrap();
    std::fs::write(
        &pooling,
        r#"{"embedding_dimension": 48, "pooling_mode": "weightedmean"}"#,
    )
    .unwrap();
    let err = SentenceTower::load_dir(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("weightedmean"), "{err}");

    // A module outside the folder, a Normalize before a dense layer, no room
    // for the special tokens.
    std::fs::write(
        &pooling,
        r#"{"embedding_dimension": 48, "pooling_mode": "mean"}"#,
    )
    .unwrap();
    let modules_file = tmp.path().join("modules.json");
    let modules = std::fs::read_to_string(&modules_file).unwrap();
    std::fs::write(
        &modules_file,
        modules.replace("\"2_Dense\"", "\"../2_Dense\""),
    )
    .unwrap();
    let err = SentenceTower::load_dir(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("leaves the model folder"), "{err}");
    let normalize_first = modules.replacen(
        "{\n    \"idx\": 2",
        "{\"idx\": 9, \"name\": \"n\", \"path\": \"\", \"type\": \"sentence_transformers.models.Normalize\"},\n  {\n    \"idx\": 2",
        1,
    );
    assert_ne!(normalize_first, modules);
    std::fs::write(&modules_file, normalize_first).unwrap();
    let err = SentenceTower::load_dir(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("module Normalize"), "{err}");
    std::fs::write(&modules_file, &modules).unwrap();
    let tok_config = tmp.path().join("tokenizer_config.json");
    let text = std::fs::read_to_string(&tok_config).unwrap();
    std::fs::write(
        &tok_config,
        text.replace("\"model_max_length\": 40", "\"model_max_length\": 2"),
    )
    .unwrap();
    let err = SentenceTower::load_dir(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("special tokens"), "{err}");

    let clip = repo_root().join("tests/fixtures/tiny-clip");
    let err = SentenceTower::load_dir(&clip).unwrap_err().to_string();
    assert!(err.contains("modules.json"), "{err}");
}

/// The SigLIP fixture (`scripts/make_siglip_fixtures.py`), or the folder
/// `SCRY_SIGLIP_FIXTURE` names (the full-size one of `scripts/parity_full.sh`:
/// a `siglip2-base/` model beside its `golden-siglip.json`).
fn siglip_fixture() -> (
    std::path::PathBuf,
    serde_json::Value,
    Option<std::path::PathBuf>,
) {
    match std::env::var_os("SCRY_SIGLIP_FIXTURE") {
        Some(dir) => {
            let dir = std::path::PathBuf::from(dir);
            let golden = read_json(&dir.join("golden-siglip.json"));
            (dir.join("siglip2-base"), golden, None)
        }
        None => {
            let fixtures = repo_root().join("tests/fixtures");
            let golden = read_json(&fixtures.join("golden-siglip.json"));
            (fixtures.join("tiny-siglip"), golden, Some(fixtures))
        }
    }
}

#[test]
fn siglip_token_ids_equal_the_reference_tokenizer() {
    let (dir, golden, _) = siglip_fixture();
    let model = ClipModel::load_dir(&dir).unwrap();
    assert_eq!(model.family(), scry::model::Family::Siglip);
    let tok = model.tokenizer();
    let mut checked = 0;
    for entry in golden["tokens"].as_array().unwrap() {
        let text = entry["text"].as_str().unwrap();
        let want: Vec<u32> = token_ids(&entry["ids"]);
        assert_eq!(tok.encode(text), want, "{text:?}");
        checked += 1;
    }
    println!("{checked} texts: token ids equal");
    assert!(checked > 400);
    // Lowercased, padded on the right to the full length, <eos> kept when cut.
    assert_eq!(
        tok.encode("A Photo Of A CAT"),
        tok.encode("a photo of a cat")
    );
    let long = tok.encode(&"the quick brown fox ".repeat(40));
    assert_eq!(long.len(), 64);
    assert_eq!(long[63], 1, "<eos> survives truncation");
    let short = tok.encode("a cat");
    assert_eq!(short.len(), 64);
    assert_eq!(short[63], 0, "padded with <pad> (0)");
}

#[test]
fn siglip_images_match_the_reference() {
    let (dir, golden, fixtures) = siglip_fixture();
    let model = ClipModel::load_dir(&dir).unwrap();
    let pre = model.preprocessor();
    assert!(
        pre.squash && pre.mean == [0.5; 3] && pre.std == [0.5; 3],
        "{pre:?}"
    );
    let images = golden["images"].as_array().unwrap();
    let root = repo_root().join("tests/fixtures");
    // From the reference's own pixels (tiny fixture: its squashed PNGs).
    if let Some(fixtures) = &fixtures {
        for entry in images {
            let png = fixtures.join(entry["pixels_png"].as_str().unwrap());
            let reference = pre.normalize(&to_rgb(scry::decode::decode_file(&png).unwrap()));
            let file = root.join(entry["file"].as_str().unwrap());
            let ours = pre.pixels_from_file(&file).unwrap();
            // 8-bit levels (|Δ| · std · 255), the same bound as CLIP's.
            let levels = max_abs_diff(&ours, &reference) * 0.5 * 255.0;
            println!("siglip pixels {}: max {levels:.2} levels", entry["file"]);
            assert!(levels <= 2.01, "{}: {levels} levels", entry["file"]);
            let got = model.image_features(&[reference]).unwrap().remove(0);
            let want = floats(&entry["features"]);
            let cos = cosine(&got, &want);
            println!(
                "siglip image {} from reference pixels: cosine {cos:.8}",
                entry["file"]
            );
            assert!(cos >= 0.99999, "{}: cosine {cos}", entry["file"]);
        }
    }
    // End to end from the files.
    let files: Vec<_> = images
        .iter()
        .map(|e| root.join(e["file"].as_str().unwrap()))
        .collect();
    let got = model.embed_image_files(&files, 4).unwrap();
    for (entry, got) in images.iter().zip(got) {
        let cos = cosine(&got.unwrap(), &floats(&entry["features"]));
        println!(
            "siglip image {} from the file: cosine {cos:.8}",
            entry["file"]
        );
        assert!(cos >= 0.999, "{}: cosine {cos}", entry["file"]);
    }
    // bf16 and int8 (where the CPU has them) run the head's dense layers in
    // that precision too.
    for (precision, here) in [
        (scry::model::Precision::Bf16, ClipModel::bf16_supported()),
        (scry::model::Precision::Int8, ClipModel::int8_supported()),
    ] {
        if !here {
            continue;
        }
        let mut reduced = ClipModel::load_dir(&dir).unwrap();
        reduced.set_precision(precision).unwrap();
        for (entry, got) in images
            .iter()
            .zip(reduced.embed_image_files(&files, 4).unwrap())
        {
            let cos = cosine(&got.unwrap(), &floats(&entry["features"]));
            println!(
                "siglip image {} in {precision}: cosine {cos:.6}",
                entry["file"]
            );
            assert!(
                cos >= 0.999,
                "{} in {precision}: cosine {cos}",
                entry["file"]
            );
        }
    }
    // The weights are not degenerate: images are told apart.
    let feats: Vec<Vec<f32>> = images.iter().map(|e| floats(&e["features"])).collect();
    let closest = (0..feats.len())
        .flat_map(|i| (i + 1..feats.len()).map(move |j| (i, j)))
        .map(|(i, j)| cosine(&feats[i], &feats[j]))
        .fold(f32::MIN, f32::max);
    assert!(closest < 0.99, "reference images embed alike ({closest})");
}

#[test]
fn siglip_texts_match_the_reference_padded_and_pooled_at_the_last_position() {
    let (dir, golden, _) = siglip_fixture();
    let model = ClipModel::load_dir(&dir).unwrap();
    let texts = golden["texts"].as_array().unwrap();
    for entry in texts {
        let ids: Vec<u32> = token_ids(&entry["ids"]);
        let want = floats(&entry["features"]);
        let got = model
            .text_features(std::slice::from_ref(&ids))
            .unwrap()
            .remove(0);
        let cos = cosine(&got, &want);
        let scale = want.iter().map(|x| x.abs()).fold(0.0, f32::max);
        let shown: String = entry["text"].as_str().unwrap().chars().take(40).collect();
        println!("siglip text {shown:?}: cosine {cos:.8}");
        assert!(cos >= 0.99999, "{}: cosine {cos}", entry["text"]);
        assert!(
            max_abs_diff(&got, &want) <= 1e-4 * scale.max(1.0),
            "{}",
            entry["text"]
        );
        // From the text itself (tokenizer + tower), normalised.
        let text = entry["text"].as_str().unwrap();
        let e = model.embed_texts(&[text]).unwrap().remove(0);
        assert!(cosine(&e, &want) >= 0.99999, "{text:?}");
    }
    // A batch gives each text what it gives alone.
    let all: Vec<&str> = texts.iter().map(|e| e["text"].as_str().unwrap()).collect();
    let batch = model.embed_texts(&all).unwrap();
    for (entry, e) in texts.iter().zip(&batch) {
        assert!(cosine(e, &floats(&entry["features"])) >= 0.99999);
    }
    // The padding is part of the input: an unpadded sequence is refused, not
    // silently encoded as something else.
    let err = model
        .text_features(&[vec![5, 6, 1]])
        .unwrap_err()
        .to_string();
    assert!(err.contains("padded to 64"), "{err}");
    // The reference without the attention mask is what the model was trained
    // on; the fixture records how far the masked variant is, so this test
    // could tell the two apart.
    let masked = golden["masked_cosine"].as_f64().unwrap();
    assert!(
        masked < 0.9999,
        "masking does not change the output ({masked})"
    );
}

#[test]
fn siglip_folders_scry_cannot_read_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("siglip1");
    copy_model(&repo_root().join("tests/fixtures/tiny-siglip"), &dir);
    std::fs::remove_file(dir.join("tokenizer.json")).unwrap();
    // A spiece.model that is not one: named, with what it should be.
    std::fs::write(dir.join("spiece.model"), b"\xff\xff sentencepiece").unwrap();
    let err = ClipModel::load_dir(&dir).unwrap_err().to_string();
    assert!(
        err.contains("spiece.model") && err.contains("SentencePiece"),
        "{err}"
    );
    // Neither tokenizer: the missing file is named.
    std::fs::remove_file(dir.join("spiece.model")).unwrap();
    let err = ClipModel::load_dir(&dir).unwrap_err().to_string();
    assert!(err.contains("tokenizer.json"), "{err}");

    // NaFlex (variable resolution) is a different architecture: one line says so.
    let naflex = tmp.path().join("naflex");
    copy_model(&repo_root().join("tests/fixtures/tiny-siglip"), &naflex);
    let config = std::fs::read_to_string(naflex.join("config.json")).unwrap();
    let config = config.replacen("\"siglip\"", "\"siglip2\"", 1);
    std::fs::write(naflex.join("config.json"), config).unwrap();
    let err = ClipModel::load_dir(&naflex).unwrap_err().to_string();
    assert!(
        err.contains("NaFlex") && err.contains("config.json"),
        "{err}"
    );
}

/// A patch grid that does not divide the image (so400m-patch14-384: 27
/// patches of 14 cover 378 of 384 pixels) is read as the reference's valid
/// convolution reads it: the last pixels of each row and column are never
/// looked at. The tiny SigLIP at 239 pixels (7 patches of 32 and 15 left
/// over) embeds a picture exactly as the same weights at 224 embed its
/// top-left 224 × 224, whatever the 15 pixels hold.
#[test]
fn a_patch_grid_that_does_not_divide_the_image_ignores_the_remainder() {
    let tiny = repo_root().join("tests/fixtures/tiny-siglip");
    let tmp = tempfile::tempdir().unwrap();
    let wide = tmp.path().join("siglip-239");
    copy_model(&tiny, &wide);
    for file in ["config.json", "preprocessor_config.json"] {
        let path = wide.join(file);
        let mut v = read_json(&path);
        if file == "config.json" {
            v["vision_config"]["image_size"] = 239.into();
        } else {
            v["size"] = serde_json::json!({"height": 239, "width": 239});
        }
        std::fs::write(&path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    }
    let at_224 = scry::ClipModel::load_dir(&tiny).unwrap();
    let at_239 = scry::ClipModel::load_dir(&wide).unwrap();
    assert_eq!(at_239.preprocessor().crop, 239);
    // Deterministic pixels in the normalised range.
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    };
    let (big, small) = (239usize, 224usize);
    let picture: Vec<f32> = (0..3 * big * big).map(|_| next()).collect();
    let crop = |p: &[f32]| -> Vec<f32> {
        let mut out = Vec::with_capacity(3 * small * small);
        for c in 0..3 {
            for y in 0..small {
                let row = c * big * big + y * big;
                out.extend_from_slice(&p[row..row + small]);
            }
        }
        out
    };
    let want = at_224.embed_pixels(&[crop(&picture)], 1).unwrap().remove(0);
    let got = at_239
        .embed_pixels(std::slice::from_ref(&picture), 1)
        .unwrap()
        .remove(0);
    let d = max_abs_diff(&got, &want);
    assert!(d < 1e-5, "{d}");
    // Other pixels in the remainder: the same embedding.
    let mut other = picture.clone();
    for c in 0..3 {
        for y in 0..big {
            for x in 0..big {
                if x >= small || y >= small {
                    other[c * big * big + y * big + x] = -other[c * big * big + y * big + x];
                }
            }
        }
    }
    let same = at_239.embed_pixels(&[other], 1).unwrap().remove(0);
    assert!(max_abs_diff(&same, &got) < 1e-6);
    // While a change inside the grid changes it.
    let mut inside = picture;
    inside[5 * big + 5] += 1.0;
    let moved = at_239.embed_pixels(&[inside], 1).unwrap().remove(0);
    assert!(max_abs_diff(&moved, &got) > 1e-5);
}

/// SigLIP 1 ships its tokenizer as spiece.model (a SentencePiece unigram
/// model) and no tokenizer.json: scry reads it and runs transformers'
/// `SiglipTokenizer` recipe around it, with the same ids on the tokenizer
/// corpus, the multilingual one and SigLIP's edge cases (punctuation,
/// special tokens typed in the text, "▁", full-width and ligature letters,
/// truncation), from `scripts/make_siglip1_fixtures.py`.
#[test]
fn siglip1_spiece_tokenizer_equals_transformers() {
    let fixtures = repo_root().join("tests/fixtures");
    let golden = read_json(&fixtures.join("golden-siglip1.json"));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("siglip1");
    crate::common::siglip1_model(&dir);
    let model = ClipModel::load_dir(&dir).unwrap();
    let tok = model.tokenizer();
    let mut wrong = Vec::new();
    let mut ties = 0;
    let entries = golden["tokens"].as_array().unwrap();
    for entry in entries {
        let text = entry["text"].as_str().unwrap();
        let want: Vec<u32> = token_ids(&entry["ids"]);
        let got = tok.encode(text);
        // A long run of one repeated unit ("aaaa…", "abab…") has many
        // segmentations of equal score; SentencePiece sums the scores in
        // float32 and the `tokenizers` unigram in float64, so the tie may be
        // broken in another order: the same pieces, in another order.
        let chars: Vec<char> = text.chars().collect();
        let run = chars.len() >= 50
            && (1..=2).any(|unit| chars.iter().enumerate().all(|(i, c)| *c == chars[i % unit]));
        if run && got != want {
            let (mut a, mut b) = (got.clone(), want.clone());
            a.sort_unstable();
            b.sort_unstable();
            if a == b {
                ties += 1;
                continue;
            }
        }
        if got != want {
            wrong.push(format!("{text:?}\n  got  {got:?}\n  want {want:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        entries.len(),
        wrong.join("\n")
    );
    assert!(entries.len() > 440);
    assert!(ties <= 4, "{ties} ties");
    println!(
        "{} texts: token ids equal ({ties} long runs: the same pieces, ties ordered otherwise)",
        entries.len() - ties
    );
    // Punctuation and case do not matter; "</s>" (1) ends and pads the text.
    assert_eq!(
        tok.encode("A Photo, of a CAT!"),
        tok.encode("a photo of a cat")
    );
    let short = tok.encode("a cat");
    assert_eq!(short.len(), 64);
    assert!(short.iter().rev().take(60).all(|&i| i == 1));
    // And the text tower reads the ids: a query embeds.
    let e = model.embed_texts(&["a photo of a cat"]).unwrap();
    assert_eq!(e[0].len(), model.dim());
}
