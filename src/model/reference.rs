//! candle-transformers' CLIP towers over the same checked weights: the reference
//! that scry's own forward pass ([`super::ClipModel`]) is tested against, and the
//! baseline its benchmark reports a ratio to. Not used for indexing or search.

use std::path::Path;

use candle_core::{DType, Device, IndexOp, Module, Tensor};
use candle_transformers::models::clip::{
    text_model::ClipTextTransformer, vision_model::ClipVisionTransformer,
};

use super::config::ClipConfig;
use super::{checked_var_builder, pad_and_pool};
use crate::error::{Error, Result};

/// Both towers as candle-transformers builds them.
pub struct ReferenceClip {
    config: ClipConfig,
    text: ClipTextTransformer,
    vision: ClipVisionTransformer,
    text_projection: candle_nn::Linear,
    visual_projection: candle_nn::Linear,
}

impl ReferenceClip {
    /// Loads a model folder in Hugging Face layout (checked as [`super::ClipModel`] does).
    pub fn load_dir(dir: &Path) -> Result<Self> {
        let config = ClipConfig::from_file(&dir.join("config.json"))?;
        if config.family != super::config::Family::Clip {
            return Err(Error::invalid_model(
                dir.join("config.json"),
                "candle's reference towers are CLIP's; this is a SigLIP model",
            ));
        }
        if config.text_act() != super::config::Act::QuickGelu
            || config.vision_act() != super::config::Act::QuickGelu
        {
            return Err(Error::InvalidModel {
                path: dir.to_path_buf(),
                message:
                    "candle-transformers' CLIP implements quick_gelu only; this model uses gelu"
                        .into(),
            });
        }
        let weights = dir.join("model.safetensors");
        let vb = checked_var_builder(&weights, &config, &Device::Cpu)?;
        let built = (|| -> candle_core::Result<_> {
            Ok((
                ClipTextTransformer::new(vb.pp("text_model"), &config.candle_text())?,
                ClipVisionTransformer::new(vb.pp("vision_model"), &config.candle_vision())?,
                candle_nn::linear_no_bias(
                    config.text.hidden_size,
                    config.projection_dim,
                    vb.pp("text_projection"),
                )?,
                candle_nn::linear_no_bias(
                    config.vision.hidden_size,
                    config.projection_dim,
                    vb.pp("visual_projection"),
                )?,
            ))
        })();
        let (text, vision, text_projection, visual_projection) =
            built.map_err(|e| Error::invalid_model(&weights, e.to_string()))?;
        Ok(Self {
            config,
            text,
            vision,
            text_projection,
            visual_projection,
        })
    }

    /// Raw projected text features, pooled at each sequence's first end-of-text token.
    pub fn text_features(&self, ids: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let len = ids.iter().map(Vec::len).max().unwrap_or(0);
        if ids.is_empty() || len == 0 {
            return Err(Error::InvalidArgument("no token ids".into()));
        }
        let (flat, pool_at) = pad_and_pool(ids, len);
        let input = Tensor::from_vec(flat, (ids.len(), len), &Device::Cpu)?;
        let hidden = self.text.forward_with_mask(&input, usize::MAX)?;
        let rows = pool_at
            .iter()
            .enumerate()
            .map(|(b, &p)| hidden.i((b, p)))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let projected = self.text_projection.forward(&Tensor::stack(&rows, 0)?)?;
        Ok(projected.to_vec2::<f32>()?)
    }

    /// Raw projected image features for preprocessed pixels (CHW each).
    pub fn image_features(&self, pixels: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
        let s = self.config.vision.image_size;
        let flat: Vec<f32> = pixels.iter().flatten().copied().collect();
        if pixels.is_empty() || flat.len() != pixels.len() * 3 * s * s {
            return Err(Error::InvalidArgument(format!(
                "expected images of 3×{s}×{s} values"
            )));
        }
        let input = Tensor::from_vec(flat, (pixels.len(), 3, s, s), &Device::Cpu)?;
        let pooled = self.vision.forward(&input)?;
        let projected = self.visual_projection.forward(&pooled)?;
        Ok(projected.to_dtype(DType::F32)?.to_vec2::<f32>()?)
    }
}
