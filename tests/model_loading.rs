//! Loading models: any CLIP shape through config.json, the Hugging Face cache, and
//! one clear error per kind of broken folder.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use scry::model::{hub, ClipConfig, ModelSpec};
use scry::{ClipModel, Error};

use crate::common::{copy_model, tiny_model_dir};

fn load_err(dir: &Path) -> String {
    match ClipModel::load_dir(dir) {
        Ok(_) => panic!("{} loaded but should not", dir.display()),
        Err(e) => e.to_string(),
    }
}

/// Writes a random-weight model of the given config, reusing the tiny model's
/// tokenizer: proves the shapes come from config.json, not from a preset.
fn synthesize(dir: &Path, config_json: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("config.json"), config_json).unwrap();
    std::fs::copy(
        tiny_model_dir().join("tokenizer.json"),
        dir.join("tokenizer.json"),
    )
    .unwrap();
    let config = ClipConfig::from_json(config_json).unwrap();
    let tensors: HashMap<String, Tensor> = config
        .expected_tensors()
        .into_iter()
        .map(|(name, shape)| {
            let t = Tensor::randn(0f32, 0.1, shape, &Device::Cpu).unwrap();
            (name, t)
        })
        .collect();
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors")).unwrap();
}

#[test]
fn other_architectures_load_through_the_same_code() {
    // ViT-B/16-like (patch 16) at another input size, other widths and depths.
    let tmp = tempfile::tempdir().unwrap();
    let json = r#"{"model_type":"clip","projection_dim":16,
        "text_config":{"hidden_size":24,"intermediate_size":40,"num_hidden_layers":1,"num_attention_heads":3},
        "vision_config":{"hidden_size":40,"intermediate_size":56,"num_hidden_layers":3,"num_attention_heads":5,
                         "image_size":64,"patch_size":16}}"#;
    synthesize(tmp.path(), json);
    let model = ClipModel::load_dir(tmp.path()).unwrap();
    assert_eq!(model.dim(), 16);
    assert_eq!(model.preprocessor().crop, 64);
    assert_eq!(model.pixels_len(), 3 * 64 * 64);
    let img = crate::common::repo_root().join("sample_data/animals/chelsea.jpg");
    let e = model
        .embed_image_files(&[img], 1)
        .unwrap()
        .remove(0)
        .unwrap();
    assert_eq!(e.len(), 16);
    let t = model.embed_texts(&["a cat"]).unwrap();
    assert_eq!(t[0].len(), 16);
}

#[test]
fn a_hub_repo_is_found_in_the_hf_cache_offline() {
    let cache = tempfile::tempdir().unwrap();
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let repo_dir = cache.path().join("models--testorg--tiny-clip");
    std::fs::create_dir_all(repo_dir.join("refs")).unwrap();
    std::fs::write(repo_dir.join("refs/main"), commit).unwrap();
    copy_model(&tiny_model_dir(), &repo_dir.join("snapshots").join(commit));

    let spec = ModelSpec::parse("testorg/tiny-clip");
    let dir = hub::resolve_in(&spec, cache.path(), false).unwrap();
    assert!(dir.ends_with(commit));
    ClipModel::load_dir(&dir).unwrap();

    let missing = ModelSpec::parse("testorg/not-there");
    let err = hub::resolve_in(&missing, cache.path(), false).unwrap_err();
    assert!(matches!(err, Error::ModelNotFound(_)));
    let msg = err.to_string();
    assert!(
        msg.contains("scry model fetch") && msg.contains("--model"),
        "{msg}"
    );
    assert!(msg.contains("testorg/not-there"), "{msg}");
}

/// A SigLIP 1 repo in the cache has spiece.model where others have
/// tokenizer.json: it is found offline and loads.
#[test]
fn a_siglip1_repo_without_tokenizer_json_is_found_in_the_hf_cache() {
    let cache = tempfile::tempdir().unwrap();
    let commit = "89abcdef0123456789abcdef0123456789abcdef";
    let repo_dir = cache.path().join("models--testorg--tiny-siglip1");
    std::fs::create_dir_all(repo_dir.join("refs")).unwrap();
    std::fs::write(repo_dir.join("refs/main"), commit).unwrap();
    let snap = repo_dir.join("snapshots").join(commit);
    crate::common::siglip1_model(&snap);
    let dir = hub::resolve_in(
        &ModelSpec::parse("testorg/tiny-siglip1"),
        cache.path(),
        false,
    )
    .unwrap();
    assert!(dir.ends_with(commit));
    let model = ClipModel::load_dir(&dir).unwrap();
    assert_eq!(model.tokenizer().encode("a cat").len(), 64);
    // Without either tokenizer file the repo is not in the cache.
    std::fs::remove_file(snap.join("spiece.model")).unwrap();
    let err = hub::resolve_in(
        &ModelSpec::parse("testorg/tiny-siglip1"),
        cache.path(),
        false,
    )
    .unwrap_err();
    assert!(matches!(err, Error::ModelNotFound(_)), "{err}");
}

#[test]
fn a_missing_folder_says_how_to_get_a_model() {
    let msg = load_err(Path::new("/nonexistent/scry-model"));
    assert!(
        msg.contains("/nonexistent/scry-model") && msg.contains("--model"),
        "{msg}"
    );
}

#[test]
fn a_folder_without_model_files_names_them() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("config.json"), "{}").unwrap();
    let msg = load_err(tmp.path());
    assert!(
        msg.contains("model.safetensors") && msg.contains("tokenizer.json"),
        "{msg}"
    );
}

#[test]
fn a_config_that_is_not_clip_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    copy_model(&tiny_model_dir(), tmp.path());
    std::fs::write(
        tmp.path().join("config.json"),
        r#"{"model_type":"blip","text_config":{},"vision_config":{}}"#,
    )
    .unwrap();
    let msg = load_err(tmp.path());
    assert!(
        msg.contains("config.json") && msg.contains("blip") && msg.contains("siglip"),
        "{msg}"
    );
}

#[test]
fn weights_that_do_not_match_the_config_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    copy_model(&tiny_model_dir(), tmp.path());
    let path = tmp.path().join("config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    cfg["text_config"]["hidden_size"] = 64.into();
    std::fs::write(&path, cfg.to_string()).unwrap();
    let msg = load_err(tmp.path());
    assert!(
        msg.contains("model.safetensors")
            && msg.contains("text_model.embeddings.token_embedding.weight"),
        "{msg}"
    );

    // Fewer layers in the config than in the file: silently wrong without the check.
    cfg["text_config"]["hidden_size"] = 32.into();
    cfg["vision_config"]["num_hidden_layers"] = 1.into();
    std::fs::write(&path, cfg.to_string()).unwrap();
    let msg = load_err(tmp.path());
    assert!(msg.contains("vision_model.encoder.layers.1"), "{msg}");
}

#[test]
fn tensors_under_another_prefix_are_refused_not_randomised() {
    // candle would fill a missing class_embedding with random numbers.
    let tmp = tempfile::tempdir().unwrap();
    copy_model(&tiny_model_dir(), tmp.path());
    let file = tmp.path().join("model.safetensors");
    let tensors = candle_core::safetensors::load(&file, &Device::Cpu).unwrap();
    let renamed: HashMap<String, Tensor> = tensors
        .into_iter()
        .map(|(k, v)| (format!("clip.{k}"), v))
        .collect();
    candle_core::safetensors::save(&renamed, &file).unwrap();
    let msg = load_err(tmp.path());
    assert!(
        msg.contains("model.safetensors") && msg.contains("is missing"),
        "{msg}"
    );

    let only_class = tmp.path().join("model.safetensors");
    let mut tensors =
        candle_core::safetensors::load(tiny_model_dir().join("model.safetensors"), &Device::Cpu)
            .unwrap();
    tensors.remove("vision_model.embeddings.class_embedding");
    candle_core::safetensors::save(&tensors, &only_class).unwrap();
    let msg = load_err(tmp.path());
    assert!(msg.contains("class_embedding"), "{msg}");
}

#[test]
fn damaged_files_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    copy_model(&tiny_model_dir(), tmp.path());
    std::fs::write(
        tmp.path().join("model.safetensors"),
        b"this is not safetensors",
    )
    .unwrap();
    let msg = load_err(tmp.path());
    assert!(
        msg.contains("model.safetensors") && msg.contains("safetensors"),
        "{msg}"
    );

    copy_model(&tiny_model_dir(), tmp.path());
    std::fs::write(tmp.path().join("tokenizer.json"), b"{\"model\": 3").unwrap();
    let msg = load_err(tmp.path());
    assert!(
        msg.contains("tokenizer.json") && msg.contains("JSON"),
        "{msg}"
    );

    copy_model(&tiny_model_dir(), tmp.path());
    std::fs::write(tmp.path().join("config.json"), b"[]").unwrap();
    let msg = load_err(tmp.path());
    assert!(msg.contains("config.json"), "{msg}");
}
