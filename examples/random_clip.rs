//! Writes a random-weight CLIP of a real architecture in Hugging Face layout
//! (config, f32 safetensors, the tokenizer and preprocessor config of the tiny
//! fixture), for benchmarks on machines without PyTorch. Weights are N(0, 0.02),
//! layer norms 1 and 0, like transformers' initialisation; parity is tested on
//! the fixtures `scripts/make_fixtures.py` makes with transformers, not on this.
//!
//!     cargo run --release --example random_clip -- OUT_DIR [b32|b16|l14]

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::{DType, Device, Tensor};

struct Tower {
    hidden: usize,
    intermediate: usize,
    heads: usize,
    layers: usize,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let out = PathBuf::from(
        args.get(1)
            .expect("usage: random_clip OUT_DIR [b32|b16|l14]"),
    );
    let arch = args.get(2).map_or("b32", String::as_str);
    let (vision, text, patch, proj) = match arch {
        "b32" | "b16" => (
            Tower {
                hidden: 768,
                intermediate: 3072,
                heads: 12,
                layers: 12,
            },
            Tower {
                hidden: 512,
                intermediate: 2048,
                heads: 8,
                layers: 12,
            },
            if arch == "b32" { 32 } else { 16 },
            512,
        ),
        "l14" => (
            Tower {
                hidden: 1024,
                intermediate: 4096,
                heads: 16,
                layers: 24,
            },
            Tower {
                hidden: 768,
                intermediate: 3072,
                heads: 12,
                layers: 12,
            },
            14,
            768,
        ),
        other => anyhow::bail!("unknown architecture {other}: b32, b16 or l14"),
    };
    let image = 224;
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-clip");
    std::fs::create_dir_all(&out)?;

    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture.join("config.json"))?)?;
    config["projection_dim"] = proj.into();
    for (key, t) in [("vision_config", &vision), ("text_config", &text)] {
        let c = &mut config[key];
        c["hidden_size"] = t.hidden.into();
        c["intermediate_size"] = t.intermediate.into();
        c["num_attention_heads"] = t.heads.into();
        c["num_hidden_layers"] = t.layers.into();
        c["projection_dim"] = proj.into();
    }
    config["vision_config"]["patch_size"] = patch.into();
    config["vision_config"]["image_size"] = image.into();
    std::fs::write(out.join("config.json"), serde_json::to_vec_pretty(&config)?)?;
    for f in ["tokenizer.json", "preprocessor_config.json"] {
        std::fs::copy(fixture.join(f), out.join(f))?;
    }

    let dev = Device::Cpu;
    let mut w: HashMap<String, Tensor> = HashMap::new();
    let mut normal = |name: String, shape: &[usize]| -> anyhow::Result<()> {
        w.insert(name, Tensor::randn(0f32, 0.02, shape, &dev)?);
        Ok(())
    };
    let positions = (image / patch) * (image / patch) + 1;
    normal(
        "vision_model.embeddings.class_embedding".into(),
        &[vision.hidden],
    )?;
    normal(
        "vision_model.embeddings.patch_embedding.weight".into(),
        &[vision.hidden, 3, patch, patch],
    )?;
    normal(
        "vision_model.embeddings.position_embedding.weight".into(),
        &[positions, vision.hidden],
    )?;
    normal(
        "text_model.embeddings.token_embedding.weight".into(),
        &[49408, text.hidden],
    )?;
    normal(
        "text_model.embeddings.position_embedding.weight".into(),
        &[77, text.hidden],
    )?;
    normal("visual_projection.weight".into(), &[proj, vision.hidden])?;
    normal("text_projection.weight".into(), &[proj, text.hidden])?;
    let mut norms = Vec::new();
    for (tower, t) in [("vision_model", &vision), ("text_model", &text)] {
        let h = t.hidden;
        for l in 0..t.layers {
            let p = format!("{tower}.encoder.layers.{l}");
            for x in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                normal(format!("{p}.self_attn.{x}.weight"), &[h, h])?;
                normal(format!("{p}.self_attn.{x}.bias"), &[h])?;
            }
            normal(format!("{p}.mlp.fc1.weight"), &[t.intermediate, h])?;
            normal(format!("{p}.mlp.fc1.bias"), &[t.intermediate])?;
            normal(format!("{p}.mlp.fc2.weight"), &[h, t.intermediate])?;
            normal(format!("{p}.mlp.fc2.bias"), &[h])?;
            norms.push((format!("{p}.layer_norm1"), h));
            norms.push((format!("{p}.layer_norm2"), h));
        }
    }
    norms.push(("vision_model.pre_layrnorm".into(), vision.hidden));
    norms.push(("vision_model.post_layernorm".into(), vision.hidden));
    norms.push(("text_model.final_layer_norm".into(), text.hidden));
    for (name, h) in norms {
        w.insert(format!("{name}.weight"), Tensor::ones(h, DType::F32, &dev)?);
        w.insert(format!("{name}.bias"), Tensor::zeros(h, DType::F32, &dev)?);
    }
    w.insert("logit_scale".into(), Tensor::new(2.6592f32, &dev)?);
    let ids = |n: usize| Tensor::arange(0i64, n as i64, &dev)?.reshape((1, n));
    w.insert(
        "vision_model.embeddings.position_ids".into(),
        ids(positions)?,
    );
    w.insert("text_model.embeddings.position_ids".into(), ids(77)?);
    candle_core::safetensors::save(&w, out.join("model.safetensors"))?;
    println!("{arch}: {} tensors in {}", w.len(), out.display());
    Ok(())
}
