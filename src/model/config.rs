//! `config.json` of a Hugging Face CLIP checkpoint, mapped by hand (candle's CLIP
//! configs have no serde) and validated, so that ViT-B/32, ViT-B/16, ViT-L/14 and
//! any other CLIP shape load through the same code.
//!
//! Missing keys take transformers' `CLIPTextConfig` / `CLIPVisionConfig` defaults,
//! as transformers itself does when it reads the file. The real
//! `openai/clip-vit-base-patch32` file is an old transformers-4.16 dump with
//! `text_config_dict: null`; both the old and the new layout are read.

use std::path::Path;

use candle_transformers::models::clip::{
    text_model::{Activation, ClipTextConfig},
    vision_model::ClipVisionConfig,
};
use serde::Deserialize;

use crate::error::{Error, Result};

/// The text tower's shape.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct TextConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub max_position_embeddings: usize,
    pub hidden_act: String,
    pub layer_norm_eps: f64,
}

impl Default for TextConfig {
    fn default() -> Self {
        Self {
            vocab_size: 49408,
            hidden_size: 512,
            intermediate_size: 2048,
            num_hidden_layers: 12,
            num_attention_heads: 8,
            max_position_embeddings: 77,
            hidden_act: "quick_gelu".into(),
            layer_norm_eps: 1e-5,
        }
    }
}

/// The vision tower's shape.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct VisionConfig {
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_channels: usize,
    pub image_size: usize,
    pub patch_size: usize,
    pub hidden_act: String,
    pub layer_norm_eps: f64,
}

impl Default for VisionConfig {
    fn default() -> Self {
        Self {
            hidden_size: 768,
            intermediate_size: 3072,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            num_channels: 3,
            image_size: 224,
            patch_size: 32,
            hidden_act: "quick_gelu".into(),
            layer_norm_eps: 1e-5,
        }
    }
}

/// The MLP activation of a tower (`hidden_act`): OpenAI's CLIPs use QuickGELU,
/// LAION's and other open_clip CLIPs in Hugging Face layout exact GELU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// `x · sigmoid(1.702 x)`.
    QuickGelu,
    /// `x · Φ(x)` with the exact error function (PyTorch's `nn.GELU()`).
    Gelu,
}

impl Act {
    /// The activation a `hidden_act` string names, if scry implements it.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "quick_gelu" => Some(Act::QuickGelu),
            "gelu" => Some(Act::Gelu),
            _ => None,
        }
    }
}

/// A CLIP model's architecture, as read from `config.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipConfig {
    pub text: TextConfig,
    pub vision: VisionConfig,
    /// Dimension of the shared embedding space (both projections end here).
    pub projection_dim: usize,
}

#[derive(Deserialize)]
struct RawConfig {
    model_type: Option<String>,
    text_config: Option<serde_json::Value>,
    text_config_dict: Option<serde_json::Value>,
    vision_config: Option<serde_json::Value>,
    vision_config_dict: Option<serde_json::Value>,
    projection_dim: Option<usize>,
}

impl ClipConfig {
    /// Reads and validates `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json(&text).map_err(|message| Error::invalid_model(path, message))
    }

    /// Parses and validates the text of a `config.json`. The error is a message
    /// for a person, without the file name.
    pub fn from_json(text: &str) -> std::result::Result<Self, String> {
        let raw: RawConfig =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        if let Some(t) = raw.model_type.as_deref() {
            if t != "clip" {
                return Err(format!(
                    "model_type is \"{t}\", not \"clip\": scry needs a CLIP model \
                     (e.g. openai/clip-vit-base-patch32)"
                ));
            }
        }
        let pick = |new: Option<serde_json::Value>, old: Option<serde_json::Value>| {
            new.filter(|v| !v.is_null())
                .or_else(|| old.filter(|v| !v.is_null()))
        };
        let text_json = pick(raw.text_config, raw.text_config_dict)
            .ok_or("no text_config: this is not a CLIP model config")?;
        let vision_json = pick(raw.vision_config, raw.vision_config_dict)
            .ok_or("no vision_config: this is not a CLIP model config")?;
        let text: TextConfig =
            serde_json::from_value(text_json).map_err(|e| format!("text_config: {e}"))?;
        let vision: VisionConfig =
            serde_json::from_value(vision_json).map_err(|e| format!("vision_config: {e}"))?;
        let config = ClipConfig {
            text,
            vision,
            projection_dim: raw.projection_dim.unwrap_or(512),
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        let t = &self.text;
        let v = &self.vision;
        let positive = [
            ("text_config.vocab_size", t.vocab_size),
            ("text_config.hidden_size", t.hidden_size),
            ("text_config.intermediate_size", t.intermediate_size),
            ("text_config.num_hidden_layers", t.num_hidden_layers),
            ("text_config.num_attention_heads", t.num_attention_heads),
            (
                "text_config.max_position_embeddings",
                t.max_position_embeddings,
            ),
            ("vision_config.hidden_size", v.hidden_size),
            ("vision_config.intermediate_size", v.intermediate_size),
            ("vision_config.num_hidden_layers", v.num_hidden_layers),
            ("vision_config.num_attention_heads", v.num_attention_heads),
            ("vision_config.image_size", v.image_size),
            ("vision_config.patch_size", v.patch_size),
            ("projection_dim", self.projection_dim),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(format!("{name} is 0"));
            }
        }
        if !t.hidden_size.is_multiple_of(t.num_attention_heads) {
            return Err(format!(
                "text_config.hidden_size {} is not divisible by num_attention_heads {}",
                t.hidden_size, t.num_attention_heads
            ));
        }
        if !v.hidden_size.is_multiple_of(v.num_attention_heads) {
            return Err(format!(
                "vision_config.hidden_size {} is not divisible by num_attention_heads {}",
                v.hidden_size, v.num_attention_heads
            ));
        }
        if !v.image_size.is_multiple_of(v.patch_size) {
            return Err(format!(
                "vision_config.image_size {} is not a multiple of patch_size {}",
                v.image_size, v.patch_size
            ));
        }
        if v.num_channels != 3 {
            return Err(format!(
                "vision_config.num_channels is {}; scry feeds RGB images (3 channels)",
                v.num_channels
            ));
        }
        if t.max_position_embeddings < 3 {
            return Err("text_config.max_position_embeddings must be at least 3".into());
        }
        // Refuse an activation scry does not implement rather than compute a
        // silently different function.
        for (name, act) in [
            ("text_config", &t.hidden_act),
            ("vision_config", &v.hidden_act),
        ] {
            if Act::parse(act).is_none() {
                return Err(format!(
                    "{name}.hidden_act is \"{act}\"; scry supports \"quick_gelu\" (OpenAI CLIP) and \"gelu\" (LAION / open_clip CLIP)"
                ));
            }
        }
        for (name, eps) in [
            ("text_config", t.layer_norm_eps),
            ("vision_config", v.layer_norm_eps),
        ] {
            if (eps - 1e-5).abs() > 1e-12 {
                return Err(format!(
                    "{name}.layer_norm_eps is {eps}; scry supports 1e-5 (OpenAI CLIP models)"
                ));
            }
        }
        Ok(())
    }

    /// The text tower's activation (validated).
    pub fn text_act(&self) -> Act {
        Act::parse(&self.text.hidden_act).unwrap_or(Act::QuickGelu)
    }

    /// The vision tower's activation (validated).
    pub fn vision_act(&self) -> Act {
        Act::parse(&self.vision.hidden_act).unwrap_or(Act::QuickGelu)
    }

    /// The number of patch positions plus the class token.
    pub fn vision_positions(&self) -> usize {
        (self.vision.image_size / self.vision.patch_size).pow(2) + 1
    }

    pub(crate) fn candle_text(&self) -> ClipTextConfig {
        ClipTextConfig {
            vocab_size: self.text.vocab_size,
            embed_dim: self.text.hidden_size,
            activation: Activation::QuickGelu,
            intermediate_size: self.text.intermediate_size,
            max_position_embeddings: self.text.max_position_embeddings,
            pad_with: None,
            num_hidden_layers: self.text.num_hidden_layers,
            num_attention_heads: self.text.num_attention_heads,
            projection_dim: self.projection_dim,
        }
    }

    pub(crate) fn candle_vision(&self) -> ClipVisionConfig {
        ClipVisionConfig {
            embed_dim: self.vision.hidden_size,
            activation: Activation::QuickGelu,
            intermediate_size: self.vision.intermediate_size,
            num_hidden_layers: self.vision.num_hidden_layers,
            num_attention_heads: self.vision.num_attention_heads,
            projection_dim: self.projection_dim,
            num_channels: self.vision.num_channels,
            image_size: self.vision.image_size,
            patch_size: self.vision.patch_size,
        }
    }

    /// Every tensor the model reads, with the shape this config implies, in
    /// Hugging Face's names. Checked against `model.safetensors` before loading so
    /// that a wrong file fails with the tensor's name instead of a shape error deep
    /// in a forward pass, and so that candle's "use a random value if absent"
    /// fallbacks (class_embedding) can never trigger.
    pub fn expected_tensors(&self) -> Vec<(String, Vec<usize>)> {
        let mut out = Vec::new();
        let t = &self.text;
        let v = &self.vision;
        out.push((
            "text_model.embeddings.token_embedding.weight".into(),
            vec![t.vocab_size, t.hidden_size],
        ));
        out.push((
            "text_model.embeddings.position_embedding.weight".into(),
            vec![t.max_position_embeddings, t.hidden_size],
        ));
        encoder_tensors(
            &mut out,
            "text_model.encoder",
            t.num_hidden_layers,
            t.hidden_size,
            t.intermediate_size,
        );
        layer_norm(&mut out, "text_model.final_layer_norm", t.hidden_size);
        out.push((
            "vision_model.embeddings.class_embedding".into(),
            vec![v.hidden_size],
        ));
        out.push((
            "vision_model.embeddings.patch_embedding.weight".into(),
            vec![v.hidden_size, v.num_channels, v.patch_size, v.patch_size],
        ));
        out.push((
            "vision_model.embeddings.position_embedding.weight".into(),
            vec![self.vision_positions(), v.hidden_size],
        ));
        // Sic: "pre_layrnorm" is the name in every HF CLIP checkpoint.
        layer_norm(&mut out, "vision_model.pre_layrnorm", v.hidden_size);
        encoder_tensors(
            &mut out,
            "vision_model.encoder",
            v.num_hidden_layers,
            v.hidden_size,
            v.intermediate_size,
        );
        layer_norm(&mut out, "vision_model.post_layernorm", v.hidden_size);
        out.push((
            "visual_projection.weight".into(),
            vec![self.projection_dim, v.hidden_size],
        ));
        out.push((
            "text_projection.weight".into(),
            vec![self.projection_dim, t.hidden_size],
        ));
        out
    }
}

fn layer_norm(out: &mut Vec<(String, Vec<usize>)>, prefix: &str, dim: usize) {
    out.push((format!("{prefix}.weight"), vec![dim]));
    out.push((format!("{prefix}.bias"), vec![dim]));
}

fn encoder_tensors(
    out: &mut Vec<(String, Vec<usize>)>,
    prefix: &str,
    layers: usize,
    hidden: usize,
    intermediate: usize,
) {
    for i in 0..layers {
        let p = format!("{prefix}.layers.{i}");
        for proj in ["q_proj", "k_proj", "v_proj", "out_proj"] {
            out.push((format!("{p}.self_attn.{proj}.weight"), vec![hidden, hidden]));
            out.push((format!("{p}.self_attn.{proj}.bias"), vec![hidden]));
        }
        layer_norm(out, &format!("{p}.layer_norm1"), hidden);
        layer_norm(out, &format!("{p}.layer_norm2"), hidden);
        out.push((format!("{p}.mlp.fc1.weight"), vec![intermediate, hidden]));
        out.push((format!("{p}.mlp.fc1.bias"), vec![intermediate]));
        out.push((format!("{p}.mlp.fc2.weight"), vec![hidden, intermediate]));
        out.push((format!("{p}.mlp.fc2.bias"), vec![hidden]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_object_is_not_clip() {
        let err = ClipConfig::from_json("{}").unwrap_err();
        assert!(err.contains("no text_config"), "{err}");
    }

    #[test]
    fn old_dump_layout_with_null_new_keys_reads_the_dict_keys() {
        let json = r#"{"model_type":"clip","text_config":null,
            "text_config_dict":{"hidden_size":64,"num_attention_heads":4},
            "vision_config_dict":{"hidden_size":96,"num_attention_heads":4,"patch_size":16},
            "projection_dim":32}"#;
        let c = ClipConfig::from_json(json).unwrap();
        assert_eq!(c.text.hidden_size, 64);
        assert_eq!(c.vision.patch_size, 16);
        assert_eq!(c.vision_positions(), 14 * 14 + 1);
        assert_eq!(c.projection_dim, 32);
        // defaults fill the rest, as transformers does
        assert_eq!(c.text.vocab_size, 49408);
    }

    #[test]
    fn rejects_what_candle_cannot_compute() {
        let laion =
            r#"{"text_config":{"hidden_act":"gelu"},"vision_config":{"hidden_act":"gelu"}}"#;
        let c = ClipConfig::from_json(laion).unwrap();
        assert_eq!((c.text_act(), c.vision_act()), (Act::Gelu, Act::Gelu));
        let base = r#"{"text_config":{},"vision_config":{"hidden_act":"relu"}}"#;
        assert!(ClipConfig::from_json(base)
            .unwrap_err()
            .contains("hidden_act"));
        let bad_heads =
            r#"{"text_config":{"hidden_size":30,"num_attention_heads":8},"vision_config":{}}"#;
        assert!(ClipConfig::from_json(bad_heads)
            .unwrap_err()
            .contains("divisible"));
        let siglip = r#"{"model_type":"siglip","text_config":{},"vision_config":{}}"#;
        assert!(ClipConfig::from_json(siglip)
            .unwrap_err()
            .contains("siglip"));
    }

    #[test]
    fn vit_b32_has_the_documented_parameter_count() {
        // 151,277,313 parameters in openai/clip-vit-base-patch32, logit_scale included.
        let c = ClipConfig::from_json(r#"{"text_config":{},"vision_config":{}}"#).unwrap();
        let n: usize = c
            .expected_tensors()
            .iter()
            .map(|(_, s)| s.iter().product::<usize>())
            .sum();
        assert_eq!(n + 1, 151_277_313);
    }
}
