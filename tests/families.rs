//! Model families beyond OpenAI's CLIP against their reference (transformers on
//! PyTorch, random weights; `scripts/make_family_fixtures.py`).
//!
//! LAION / open_clip CLIPs in Hugging Face layout differ from OpenAI's in one
//! place: exact GELU (`hidden_act: "gelu"`) instead of QuickGELU. The fixture
//! has the tiny model's weights with that activation, so a forward pass that
//! ignored `hidden_act` would reproduce tiny-clip's outputs instead.

use scry::model::cosine;
use scry::preprocess::to_rgb;
use scry::ClipModel;

use crate::common::{floats, max_abs_diff, read_json, repo_root};

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
        .replace("\"gelu\"", "\"gelu_new\"");
    std::fs::write(tmp.path().join("config.json"), config).unwrap();
    let Err(err) = ClipModel::load_dir(tmp.path()) else {
        panic!("a model with gelu_new loaded");
    };
    let err = err.to_string();
    assert!(err.contains("hidden_act is \"gelu_new\""), "{err}");
    assert!(err.contains("\"gelu\""), "{err}");
}
