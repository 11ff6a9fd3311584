//! The CLIP encoder: loads a model in Hugging Face layout and turns images and
//! texts into L2-normalised embeddings in one shared space.
//!
//! Weights are read with candle (`candle-core`/`candle-nn`), after every tensor the
//! config implies has been checked. The forward pass is scry's own (`encoder`): the
//! same arithmetic as candle-transformers' CLIP towers, which stay available as
//! [`reference::ReferenceClip`] and which the tests compare against, at about 1.5×
//! their speed. This module also owns everything else that decides faithfulness:
//! the config mapping (`config`), the tokenizer (`tokenizer`, `textclean`), the
//! pooling and the batching. Preprocessing lives in [`crate::preprocess`].

mod amx;
mod bf16;
pub mod catalogue;
pub mod config;
mod encoder;
pub mod hub;
mod int8;
mod mapped;
pub mod reference;
pub mod sentence;
pub mod spiece;
pub mod textclean;
pub mod tokenizer;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use rayon::prelude::*;

use encoder::{TextTower, VisionTower};

pub use config::ClipConfig;
pub use config::Family;
pub use hub::{ModelSpec, DEFAULT_MODEL};
pub use sentence::SentenceTower;
pub use tokenizer::{ClipTokenizer, SiglipTokenizer, TextTokenizer};

use crate::error::{Error, Result};
use crate::preprocess::Preprocessor;

/// An L2-normalised embedding.
pub type Embedding = Vec<f32>;

/// Images per forward pass when the caller does not say: on CPU, batching beyond 8
/// adds little throughput and only latency and memory.
pub const DEFAULT_BATCH_SIZE: usize = 8;

/// The arithmetic of the image encoder's dense layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// f32 throughout: equal to the reference implementation to float rounding.
    #[default]
    F32,
    /// bf16 weights and inputs with f32 sums (needs AVX-512 BF16): about twice
    /// the image throughput, embeddings at cosine ≥ 0.999 to f32's. Opt-in.
    Bf16,
    /// int8 weights (per output channel) and inputs (per token, dynamic) with
    /// exact i32 sums (needs AVX-512 VNNI, AVX-VNNI or AMX-INT8). Opt-in.
    Int8,
}

impl Precision {
    /// Its name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::Bf16 => "bf16",
            Self::Int8 => "int8",
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Precision {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "fp32" => Ok(Self::F32),
            "bf16" => Ok(Self::Bf16),
            "int8" => Ok(Self::Int8),
            _ => Err(Error::InvalidArgument(format!(
                "precision {s:?}: expected f32, bf16 or int8"
            ))),
        }
    }
}

/// A loaded CLIP model: both towers, the tokenizer and the preprocessing recipe.
pub struct ClipModel {
    precision: Precision,
    id: String,
    dir: PathBuf,
    config: ClipConfig,
    /// The checked, memory-mapped weights the towers are read from.
    weights: VarBuilder<'static>,
    /// The same file mapped for the weights the text tower reads in place.
    mapped: std::sync::Arc<mapped::MappedWeights>,
    /// Each tower is read on first use: `scry search` with a text query never
    /// reads the image tower, and `scry index` with nothing to embed reads none.
    text: OnceLock<std::result::Result<TextTower, String>>,
    vision: OnceLock<std::result::Result<VisionTower, String>>,
    tokenizer: Box<dyn TextTokenizer>,
    preprocessor: Preprocessor,
    /// A text tower trained into this model's image space (`--text-model`):
    /// every text is encoded by it instead of CLIP's own.
    text_model: Option<std::sync::Arc<SentenceTower>>,
}

impl std::fmt::Debug for ClipModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClipModel")
            .field("id", &self.id)
            .field("dir", &self.dir)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ClipModel {
    /// Resolves `spec` (downloading from the hub if allowed) and loads it.
    pub fn open(spec: &ModelSpec, allow_download: bool) -> Result<Self> {
        let dir = hub::resolve(spec, allow_download)?;
        let mut model = Self::load_dir(&dir)?;
        model.id = spec.id();
        Ok(model)
    }

    /// Loads a model folder in Hugging Face layout.
    pub fn load_dir(dir: &Path) -> Result<Self> {
        hub::resolve(&ModelSpec::Dir(dir.to_path_buf()), false)?;
        let config = ClipConfig::from_file(&dir.join("config.json"))?;
        let tok_path = dir.join("tokenizer.json");
        let context = config.text.max_position_embeddings;
        let tokenizer: Box<dyn TextTokenizer> = match config.family {
            Family::Clip => Box::new(ClipTokenizer::from_file(&tok_path, context)?),
            // SigLIP 2 ships tokenizer.json; SigLIP 1 only its spiece.model.
            Family::Siglip if !tok_path.is_file() && dir.join(hub::SPIECE_FILE).is_file() => {
                Box::new(SiglipTokenizer::from_spiece(dir, context)?)
            }
            Family::Siglip => Box::new(SiglipTokenizer::from_file(&tok_path, context)?),
        };
        if tokenizer.max_id() as usize >= config.text.vocab_size {
            return Err(Error::invalid_model(
                tok_path,
                format!(
                    "token id {} is outside the model's vocabulary of {} (config.json): \
                     tokenizer and model do not belong together",
                    tokenizer.max_id(),
                    config.text.vocab_size
                ),
            ));
        }
        let image_size = config.vision.image_size as u32;
        let base = match config.family {
            Family::Clip => Preprocessor::clip(image_size),
            Family::Siglip => Preprocessor::siglip(image_size),
        };
        let pre_path = dir.join(hub::PREPROCESSOR_FILE);
        let preprocessor = if pre_path.is_file() {
            Preprocessor::from_config_file(&pre_path, base)?
        } else {
            base
        };

        // Every tensor is checked here (names and shapes); the towers' weights are
        // copied into the kernels' layout on first use.
        let weights = checked_var_builder(&dir.join("model.safetensors"), &config, &Device::Cpu)?;
        let mapped = mapped::MappedWeights::open(&dir.join("model.safetensors"))?;
        Ok(Self {
            precision: Precision::F32,
            id: dir.display().to_string(),
            dir: dir.to_path_buf(),
            config,
            weights,
            mapped,
            text: OnceLock::new(),
            vision: OnceLock::new(),
            tokenizer,
            preprocessor,
            text_model: None,
        })
    }

    /// Reads both towers now (a server does, so that its first query does not pay
    /// for it).
    pub fn load_towers(&self) -> Result<()> {
        if self.text_model.is_none() {
            self.text_tower()?;
        }
        self.vision_tower()?;
        Ok(())
    }

    fn text_tower(&self) -> Result<&TextTower> {
        self.text
            .get_or_init(|| {
                TextTower::load(&self.weights, &self.config, Some(&self.mapped))
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|m| Error::invalid_model(self.dir.join("model.safetensors"), m.clone()))
    }

    fn vision_tower(&self) -> Result<&VisionTower> {
        self.vision
            .get_or_init(|| {
                let mut v =
                    VisionTower::load(&self.weights, &self.config).map_err(|e| e.to_string())?;
                v.use_precision(self.precision);
                Ok(v)
            })
            .as_ref()
            .map_err(|m| Error::invalid_model(self.dir.join("model.safetensors"), m.clone()))
    }

    /// The text tower's weights, in floats: read in place from the mapped model
    /// file, and copied (reads the tower if it was not yet).
    pub fn text_weight_floats(&self) -> Result<(usize, usize)> {
        Ok(self.text_tower()?.weight_floats())
    }

    /// The id recorded with embeddings: the hub repo (and revision) or the folder.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Overrides the id (e.g. after resolving a hub repo to its cache folder).
    pub fn set_id(&mut self, id: impl Into<String>) {
        self.id = id.into();
    }

    /// The image encoder's arithmetic.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Switches the image encoder to `precision`. bf16 needs a CPU with AVX-512
    /// BF16, int8 one with VNNI or AMX-INT8; neither can be switched away from
    /// (the f32 weights are dropped: reload).
    pub fn set_precision(&mut self, precision: Precision) -> Result<()> {
        if precision == self.precision {
            return Ok(());
        }
        match (self.precision, precision) {
            (Precision::F32, Precision::Bf16) if !bf16::supported() => Err(Error::InvalidArgument(
                "--precision bf16 needs a CPU with AVX-512 BF16 (AMD Zen 4 or later, \
                     Intel Cooper Lake, Sapphire Rapids or later); this one has none: use f32"
                    .into(),
            )),
            (Precision::F32, Precision::Int8) if int8::kernel().is_none() => {
                Err(Error::InvalidArgument(
                    "--precision int8 needs a CPU with AVX-512 VNNI, AVX-VNNI or AMX-INT8 \
                     (Intel Cascade Lake, Alder Lake or later, AMD Zen 4 or later); this one \
                     has none: use f32"
                        .into(),
                ))
            }
            (Precision::F32, _) => {
                // A tower read already is converted now; one read later, as it loads.
                if let Some(Ok(v)) = self.vision.get_mut() {
                    v.use_precision(precision);
                }
                self.precision = precision;
                Ok(())
            }
            (now, _) => Err(Error::InvalidArgument(format!(
                "the model runs in {now} already: load it again for {precision}"
            ))),
        }
    }

    /// Whether this CPU can run [`Precision::Int8`].
    pub fn int8_supported() -> bool {
        int8::kernel().is_some()
    }

    /// The kernel [`Precision::Int8`] runs on here ("AMX-INT8 tiles", "AVX-512
    /// VNNI" or "AVX-VNNI"), or `None` where it cannot run.
    pub fn int8_kernel() -> Option<&'static str> {
        int8::kernel().map(int8::Kernel::name)
    }

    /// Whether this CPU can run [`Precision::Bf16`].
    pub fn bf16_supported() -> bool {
        bf16::supported()
    }

    /// The kernel [`Precision::Bf16`] runs on here ("AMX-BF16 tiles" or
    /// "AVX-512 BF16"), or `None` where it cannot run.
    pub fn bf16_kernel() -> Option<&'static str> {
        bf16::kernel().map(bf16::Kernel::name)
    }

    /// The folder the model was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Dimension of the embeddings.
    pub fn dim(&self) -> usize {
        self.config.projection_dim
    }

    /// The architecture read from `config.json`.
    pub fn config(&self) -> &ClipConfig {
        &self.config
    }

    /// The tokenizer (CLIP: OpenAI's original behaviour; SigLIP: the folder's
    /// `tokenizer.json`, lowercased and padded).
    pub fn tokenizer(&self) -> &dyn TextTokenizer {
        self.tokenizer.as_ref()
    }

    /// The model family (`config.json`'s `model_type`).
    pub fn family(&self) -> Family {
        self.config.family
    }

    /// The preprocessing recipe for this model's input size.
    pub fn preprocessor(&self) -> &Preprocessor {
        &self.preprocessor
    }

    /// Number of floats in one preprocessed image (3 × size × size).
    pub fn pixels_len(&self) -> usize {
        let s = self.config.vision.image_size;
        3 * s * s
    }

    /// Encodes every text with `tower` from now on (`--text-model`), after
    /// checking that it shares this model's image space.
    pub fn set_text_model(&mut self, tower: std::sync::Arc<SentenceTower>) -> Result<()> {
        tower.check_pair(&self.id, self.dim())?;
        self.text_model = Some(tower);
        Ok(())
    }

    /// The text tower queries go through instead of CLIP's own, if one is set.
    pub fn text_model(&self) -> Option<&std::sync::Arc<SentenceTower>> {
        self.text_model.as_ref()
    }

    /// Normalised text embeddings, one per text. An empty text is valid. With a
    /// [`Self::set_text_model`] tower, that tower encodes them.
    pub fn embed_texts<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Result<Vec<Embedding>> {
        if let Some(tower) = &self.text_model {
            return tower.embed_texts(texts);
        }
        let ids: Vec<Vec<u32>> = texts
            .iter()
            .map(|t| self.tokenizer.encode(t.as_ref()))
            .collect();
        Ok(self
            .text_features(&ids)?
            .into_iter()
            .map(normalize)
            .collect())
    }

    /// Raw (unnormalised) projected text features for token sequences.
    ///
    /// CLIP: each sequence is encoded at its real length: the text tower is causal
    /// and pools at the first end-of-text token, so padding to 77 changes nothing
    /// but costs up to ~10× the work for a short query. A batch is padded to its
    /// longest member only, and each row is pooled at its own end-of-text token.
    ///
    /// SigLIP: every sequence must be padded to the full text length (as the
    /// tokenizer gives them): the tower attends both ways over every position and
    /// pools the last one.
    pub fn text_features(&self, ids: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let context = self.config.text.max_position_embeddings;
        let max_len = ids.iter().map(Vec::len).max().unwrap_or(0);
        if max_len == 0 || max_len > context {
            return Err(Error::InvalidArgument(format!(
                "token sequences must have 1..={context} ids, got {max_len}"
            )));
        }
        if self.config.padded_text() {
            if let Some(short) = ids.iter().find(|s| s.len() != context) {
                return Err(Error::InvalidArgument(format!(
                    "{} token sequences must be padded to {context} ids, got {}",
                    self.config.family.name(),
                    short.len()
                )));
            }
        }
        if let Some(bad) = ids
            .iter()
            .flatten()
            .find(|&&i| i as usize >= self.config.text.vocab_size)
        {
            return Err(Error::InvalidArgument(format!(
                "token id {bad} is outside the vocabulary ({})",
                self.config.text.vocab_size
            )));
        }
        let (flat, pool_at) = if self.config.padded_text() {
            (ids.concat(), vec![context - 1; ids.len()])
        } else {
            pad_and_pool(ids, max_len)
        };
        let out = self
            .text_tower()?
            .forward(&flat, ids.len(), max_len, &pool_at);
        Ok(out
            .chunks_exact(self.config.projection_dim)
            .map(<[f32]>::to_vec)
            .collect())
    }

    /// Raw (unnormalised) projected image features for preprocessed pixels
    /// (each `3 × size × size`, CHW, as [`Preprocessor::pixels`] makes them).
    pub fn image_features(&self, pixels: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
        if pixels.is_empty() {
            return Ok(Vec::new());
        }
        let n = self.pixels_len();
        if let Some(bad) = pixels.iter().find(|p| p.len() != n) {
            return Err(Error::InvalidArgument(format!(
                "preprocessed image has {} values, the model needs {n}",
                bad.len()
            )));
        }
        let flat: Vec<f32> = pixels.iter().flatten().copied().collect();
        let out = self.vision_tower()?.forward(&flat, pixels.len());
        Ok(out
            .chunks_exact(self.config.projection_dim)
            .map(<[f32]>::to_vec)
            .collect())
    }

    /// Normalised embeddings for preprocessed images, `batch_size` per forward pass.
    pub fn embed_pixels(&self, pixels: &[Vec<f32>], batch_size: usize) -> Result<Vec<Embedding>> {
        if batch_size == 0 {
            return Err(Error::InvalidArgument(
                "batch size must be at least 1".into(),
            ));
        }
        let mut out = Vec::with_capacity(pixels.len());
        for chunk in pixels.chunks(batch_size) {
            out.extend(self.image_features(chunk)?.into_iter().map(normalize));
        }
        Ok(out)
    }

    /// Decodes, preprocesses (in parallel) and embeds image files. Each result is
    /// that file's embedding or the reason it could not be read.
    pub fn embed_image_files(
        &self,
        paths: &[PathBuf],
        batch_size: usize,
    ) -> Result<Vec<Result<Embedding>>> {
        if batch_size == 0 {
            return Err(Error::InvalidArgument(
                "batch size must be at least 1".into(),
            ));
        }
        let mut results = Vec::with_capacity(paths.len());
        for chunk in paths.chunks(batch_size) {
            let decoded: Vec<Result<Vec<f32>>> = chunk
                .par_iter()
                .map(|p| self.preprocessor.pixels_from_file(p))
                .collect();
            let good: Vec<Vec<f32>> = decoded
                .iter()
                .filter_map(|r| r.as_ref().ok().cloned())
                .collect();
            let mut embedded = self.embed_pixels(&good, batch_size)?.into_iter();
            for r in decoded {
                results.push(match r {
                    Ok(_) => Ok(embedded.next().expect("one embedding per decoded image")),
                    Err(e) => Err(e),
                });
            }
        }
        Ok(results)
    }
}

/// Pads a batch of token sequences with zeros to `len` and finds where each is
/// pooled: the reference pools at `argmax(input_ids)`, the first occurrence of the
/// highest id, which is the first end-of-text token.
pub(crate) fn pad_and_pool(ids: &[Vec<u32>], len: usize) -> (Vec<u32>, Vec<usize>) {
    let mut flat = Vec::with_capacity(ids.len() * len);
    let mut pool_at = Vec::with_capacity(ids.len());
    for seq in ids {
        let max = seq.iter().copied().max().unwrap_or(0);
        pool_at.push(seq.iter().position(|&v| v == max).unwrap_or(0));
        flat.extend_from_slice(seq);
        flat.extend(std::iter::repeat_n(0, len - seq.len()));
    }
    (flat, pool_at)
}

/// Divides by the L2 norm (a zero vector stays zero).
pub fn normalize(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// Cosine similarity of two vectors of equal length.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    (dot / (na * nb)) as f32
}

/// Opens `model.safetensors` and checks every tensor the config implies is there
/// with the right shape, before candle reads any of them.
pub(crate) fn checked_var_builder(
    path: &Path,
    config: &ClipConfig,
    device: &Device,
) -> Result<VarBuilder<'static>> {
    // SAFETY: the file is mapped read-only; scry never writes to model files, and a
    // model folder being rewritten while in use is outside what we support (as for
    // every mmap-based loader, transformers' included).
    let st = unsafe { MmapedSafetensors::new(path) }
        .map_err(|e| Error::invalid_model(path, format!("not a readable safetensors file: {e}")))?;
    let present: std::collections::HashMap<String, Vec<usize>> = st
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.shape().to_vec()))
        .collect();
    let expected = config.expected_tensors();
    for (name, shape) in &expected {
        match present.get(name) {
            None => {
                return Err(Error::invalid_model(
                    path,
                    format!(
                        "tensor {name} is missing (is this a CLIP checkpoint in Hugging Face \
                         layout, with tensor names as transformers saves them?)"
                    ),
                ))
            }
            Some(found) if found != shape => {
                return Err(Error::invalid_model(
                    path,
                    format!(
                        "tensor {name} has shape {found:?}, but config.json implies {shape:?}: \
                         the weights and config.json do not belong together"
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    // Extra encoder layers mean config.json describes fewer layers than were trained:
    // the result would be silently wrong.
    let known: std::collections::HashSet<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
    if let Some(extra) = present
        .keys()
        .find(|n| n.contains(".layers.") && !known.contains(n.as_str()))
    {
        return Err(Error::invalid_model(
            path,
            format!("tensor {extra} is not described by config.json (more layers than num_hidden_layers?)"),
        ));
    }
    let unknown: Vec<&String> = present
        .keys()
        .filter(|n| {
            !known.contains(n.as_str()) && *n != "logit_scale" && !n.ends_with("position_ids")
        })
        .collect();
    if !unknown.is_empty() {
        tracing::warn!(
            "{}: ignoring {} unknown tensors, e.g. {}",
            path.display(),
            unknown.len(),
            unknown[0]
        );
    }
    Ok(VarBuilder::from_backend(
        Box::new(st),
        DType::F32,
        device.clone(),
    ))
}
