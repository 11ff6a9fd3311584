//! `config.json` of a Hugging Face CLIP or SigLIP checkpoint, mapped by hand
//! (candle's CLIP configs have no serde) and validated, so that every CLIP shape
//! (ViT-B/32 … ViT-H/14, OpenAI's and LAION's) and SigLIP / SigLIP 2 at fixed
//! resolution load through the same code: one encoder with the pieces a
//! [`Family`] switches on (class token or attention-pooling head, causal or
//! padded text, the pooled position, the activation).
//!
//! Missing keys take transformers' defaults for the family (`CLIPTextConfig` /
//! `CLIPVisionConfig`, `SiglipTextConfig` / `SiglipVisionConfig`), as
//! transformers itself does when it reads the file. The real
//! `openai/clip-vit-base-patch32` file is an old transformers-4.16 dump with
//! `text_config_dict: null`; both the old and the new layout are read.

use std::path::Path;

use candle_transformers::models::clip::{
    text_model::{Activation, ClipTextConfig},
    vision_model::ClipVisionConfig,
};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The model families scry computes, told apart by `config.json`'s `model_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// CLIP (`model_type: "clip"`): class token, pre-LayerNorm, projections;
    /// causal text pooled at the end-of-text token.
    Clip,
    /// SigLIP and SigLIP 2 at fixed resolution (`model_type: "siglip"`): no
    /// class token, an attention-pooling head; text padded to its full length,
    /// attended both ways and pooled at the last position, then a `head` layer.
    Siglip,
}

impl Family {
    /// The name people know the family by.
    pub fn name(self) -> &'static str {
        match self {
            Family::Clip => "CLIP",
            Family::Siglip => "SigLIP",
        }
    }
}

/// The text tower's shape.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
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
    /// SigLIP: the output size of the text `head` (transformers: `None` means
    /// `hidden_size`).
    pub projection_size: Option<usize>,
}

impl TextConfig {
    /// transformers' `SiglipTextConfig` defaults.
    fn siglip() -> Self {
        Self {
            vocab_size: 32000,
            hidden_size: 768,
            intermediate_size: 3072,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            max_position_embeddings: 64,
            hidden_act: "gelu_pytorch_tanh".into(),
            layer_norm_eps: 1e-6,
            projection_size: None,
        }
    }
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
            projection_size: None,
        }
    }
}

/// The vision tower's shape.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
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
    /// SigLIP: whether the attention-pooling head is there (scry needs it).
    pub vision_use_head: bool,
}

impl VisionConfig {
    /// transformers' `SiglipVisionConfig` defaults.
    fn siglip() -> Self {
        Self {
            hidden_size: 768,
            intermediate_size: 3072,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            num_channels: 3,
            image_size: 224,
            patch_size: 16,
            hidden_act: "gelu_pytorch_tanh".into(),
            layer_norm_eps: 1e-6,
            vision_use_head: true,
        }
    }
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
            vision_use_head: true,
        }
    }
}

/// The MLP activation of a tower (`hidden_act`): OpenAI's CLIPs use QuickGELU,
/// LAION's and other open_clip CLIPs in Hugging Face layout exact GELU, SigLIP
/// GELU's tanh approximation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// `x · sigmoid(1.702 x)`.
    QuickGelu,
    /// `x · Φ(x)` with the exact error function (PyTorch's `nn.GELU()`).
    Gelu,
    /// `x/2 · (1 + tanh(√(2/π) (x + 0.044715 x³)))` (PyTorch's
    /// `gelu(approximate="tanh")`, transformers' `gelu_pytorch_tanh`).
    GeluTanh,
}

impl Act {
    /// The activation a `hidden_act` string names, if scry implements it.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "quick_gelu" => Some(Act::QuickGelu),
            "gelu" => Some(Act::Gelu),
            "gelu_pytorch_tanh" | "gelu_new" => Some(Act::GeluTanh),
            _ => None,
        }
    }
}

/// A CLIP or SigLIP model's architecture, as read from `config.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipConfig {
    pub family: Family,
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
        let family = match raw.model_type.as_deref() {
            None | Some("clip") => Family::Clip,
            Some("siglip") => Family::Siglip,
            Some("siglip2") => {
                return Err(
                    "model_type is \"siglip2\": a SigLIP 2 NaFlex model (variable \
                     resolution); scry loads SigLIP 2 at fixed resolution \
                     (e.g. google/siglip2-base-patch16-224)"
                        .into(),
                )
            }
            Some(t) => {
                return Err(format!(
                    "model_type is \"{t}\": scry computes CLIP (\"clip\", e.g. \
                     openai/clip-vit-base-patch32) and SigLIP (\"siglip\", e.g. \
                     google/siglip2-base-patch16-224) models"
                ))
            }
        };
        let pick = |new: Option<serde_json::Value>, old: Option<serde_json::Value>| {
            new.filter(|v| !v.is_null())
                .or_else(|| old.filter(|v| !v.is_null()))
        };
        let text_json = pick(raw.text_config, raw.text_config_dict)
            .ok_or("no text_config: this is not a CLIP model config")?;
        let vision_json = pick(raw.vision_config, raw.vision_config_dict)
            .ok_or("no vision_config: this is not a CLIP model config")?;
        let (text, vision) = match family {
            Family::Clip => (TextConfig::default(), VisionConfig::default()),
            Family::Siglip => (TextConfig::siglip(), VisionConfig::siglip()),
        };
        let text: TextConfig =
            over_defaults(text, text_json).map_err(|e| format!("text_config: {e}"))?;
        let vision: VisionConfig =
            over_defaults(vision, vision_json).map_err(|e| format!("vision_config: {e}"))?;
        // SigLIP has no projections: the image embedding is the pooling head's
        // output, the text's the `head` layer's.
        let projection_dim = match family {
            Family::Clip => raw.projection_dim.unwrap_or(512),
            Family::Siglip => vision.hidden_size,
        };
        let config = ClipConfig {
            family,
            text,
            vision,
            projection_dim,
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
        // Like the reference's "valid" convolution, a remainder of fewer than
        // patch_size pixels at the right and bottom is not read (SigLIP
        // so400m-patch14-384: 27 × 14 = 378 of 384).
        if v.image_size < v.patch_size {
            return Err(format!(
                "vision_config.image_size {} is smaller than patch_size {}",
                v.image_size, v.patch_size
            ));
        }
        if self.family == Family::Siglip {
            let head = t.projection_size.unwrap_or(t.hidden_size);
            if head != v.hidden_size {
                return Err(format!(
                    "text_config.projection_size {head} differs from vision_config.hidden_size {}: \
                     the two towers would not embed into one space",
                    v.hidden_size
                ));
            }
            if !v.vision_use_head {
                return Err(
                    "vision_config.vision_use_head is false: scry pools SigLIP images \
                     with the attention-pooling head"
                        .into(),
                );
            }
        }
        if t.projection_size == Some(0) {
            return Err("text_config.projection_size is 0".into());
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
                    "{name}.hidden_act is \"{act}\"; scry supports \"quick_gelu\" (OpenAI CLIP), \"gelu\" \
                     (LAION / open_clip CLIP) and \"gelu_pytorch_tanh\" (SigLIP)"
                ));
            }
        }
        for (name, eps) in [
            ("text_config", t.layer_norm_eps),
            ("vision_config", v.layer_norm_eps),
        ] {
            if !(eps > 0.0 && eps < 1e-2) {
                return Err(format!(
                    "{name}.layer_norm_eps is {eps}; expected a small positive number (1e-5 for CLIP, 1e-6 for SigLIP)"
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

    /// The number of patch positions, plus the class token for CLIP.
    pub fn vision_positions(&self) -> usize {
        let patches = (self.vision.image_size / self.vision.patch_size).pow(2);
        match self.family {
            Family::Clip => patches + 1,
            Family::Siglip => patches,
        }
    }

    /// Whether texts are padded to `max_position_embeddings` and pooled at the
    /// last position (SigLIP), rather than encoded at their own length and
    /// pooled at the end-of-text token (CLIP, causal).
    pub fn padded_text(&self) -> bool {
        self.family == Family::Siglip
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
        if self.family == Family::Clip {
            out.push((
                "vision_model.embeddings.class_embedding".into(),
                vec![v.hidden_size],
            ));
        }
        out.push((
            "vision_model.embeddings.patch_embedding.weight".into(),
            vec![v.hidden_size, v.num_channels, v.patch_size, v.patch_size],
        ));
        if self.family == Family::Siglip {
            out.push((
                "vision_model.embeddings.patch_embedding.bias".into(),
                vec![v.hidden_size],
            ));
        }
        out.push((
            "vision_model.embeddings.position_embedding.weight".into(),
            vec![self.vision_positions(), v.hidden_size],
        ));
        if self.family == Family::Clip {
            // Sic: "pre_layrnorm" is the name in every HF CLIP checkpoint.
            layer_norm(&mut out, "vision_model.pre_layrnorm", v.hidden_size);
        }
        encoder_tensors(
            &mut out,
            "vision_model.encoder",
            v.num_hidden_layers,
            v.hidden_size,
            v.intermediate_size,
        );
        layer_norm(&mut out, "vision_model.post_layernorm", v.hidden_size);
        match self.family {
            Family::Clip => {
                out.push((
                    "visual_projection.weight".into(),
                    vec![self.projection_dim, v.hidden_size],
                ));
                out.push((
                    "text_projection.weight".into(),
                    vec![self.projection_dim, t.hidden_size],
                ));
            }
            Family::Siglip => {
                let d = v.hidden_size;
                let h = "vision_model.head";
                out.push((format!("{h}.probe"), vec![1, 1, d]));
                out.push((format!("{h}.attention.in_proj_weight"), vec![3 * d, d]));
                out.push((format!("{h}.attention.in_proj_bias"), vec![3 * d]));
                out.push((format!("{h}.attention.out_proj.weight"), vec![d, d]));
                out.push((format!("{h}.attention.out_proj.bias"), vec![d]));
                layer_norm(&mut out, &format!("{h}.layernorm"), d);
                mlp_tensors(&mut out, &format!("{h}.mlp"), d, v.intermediate_size);
                out.push((
                    "text_model.head.weight".into(),
                    vec![self.projection_dim, t.hidden_size],
                ));
                out.push(("text_model.head.bias".into(), vec![self.projection_dim]));
            }
        }
        out
    }
}

/// `defaults` with the keys `json` sets replaced, as transformers builds a
/// config from its class defaults and the file.
fn over_defaults<T: Serialize + serde::de::DeserializeOwned>(
    defaults: T,
    json: serde_json::Value,
) -> std::result::Result<T, serde_json::Error> {
    let mut merged = serde_json::to_value(defaults)?;
    if let (Some(base), serde_json::Value::Object(set)) = (merged.as_object_mut(), json.clone()) {
        for (k, v) in set {
            // A null leaves the default, as an absent key does.
            if !v.is_null() {
                base.insert(k, v);
            }
        }
        return serde_json::from_value(merged);
    }
    serde_json::from_value(json)
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
        mlp_tensors(out, &format!("{p}.mlp"), hidden, intermediate);
    }
}

fn mlp_tensors(
    out: &mut Vec<(String, Vec<usize>)>,
    prefix: &str,
    hidden: usize,
    intermediate: usize,
) {
    out.push((format!("{prefix}.fc1.weight"), vec![intermediate, hidden]));
    out.push((format!("{prefix}.fc1.bias"), vec![intermediate]));
    out.push((format!("{prefix}.fc2.weight"), vec![hidden, intermediate]));
    out.push((format!("{prefix}.fc2.bias"), vec![hidden]));
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
        let naflex = r#"{"model_type":"siglip2","text_config":{},"vision_config":{}}"#;
        assert!(ClipConfig::from_json(naflex)
            .unwrap_err()
            .contains("NaFlex"));
        let other = r#"{"model_type":"blip","text_config":{},"vision_config":{}}"#;
        assert!(ClipConfig::from_json(other).unwrap_err().contains("blip"));
        let no_head =
            r#"{"model_type":"siglip","text_config":{},"vision_config":{"vision_use_head":false}}"#;
        assert!(ClipConfig::from_json(no_head)
            .unwrap_err()
            .contains("vision_use_head"));
        let apart =
            r#"{"model_type":"siglip","text_config":{"projection_size":512},"vision_config":{}}"#;
        assert!(ClipConfig::from_json(apart)
            .unwrap_err()
            .contains("projection_size"));
    }

    #[test]
    fn so400m_at_384_reads_27_by_27_patches_as_the_valid_convolution_does() {
        let json = r#"{"model_type":"siglip",
            "text_config":{"hidden_size":1152,"intermediate_size":4304,"num_hidden_layers":27,
                "num_attention_heads":16,"vocab_size":256000},
            "vision_config":{"hidden_size":1152,"intermediate_size":4304,"num_hidden_layers":27,
                "num_attention_heads":16,"image_size":384,"patch_size":14}}"#;
        let c = ClipConfig::from_json(json).unwrap();
        assert_eq!(c.vision_positions(), 27 * 27);
        assert_eq!(
            (c.projection_dim, c.text.max_position_embeddings),
            (1152, 64)
        );
        assert_eq!(c.vision_act(), Act::GeluTanh);
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
