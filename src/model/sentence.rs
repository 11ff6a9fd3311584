//! A text tower trained into an image model's space by sentence-transformers'
//! multilingual distillation (Reimers & Gurevych 2020): a multilingual
//! DistilBERT, its tokens mean-pooled, a dense layer into the image model's
//! space. `sentence-transformers/clip-ViT-B-32-multilingual-v1` answers in 50+
//! languages for a library indexed with OpenAI's ViT-B/32, with no re-indexing:
//! `--text-model` pairs it with the library's image model
//! ([`crate::ClipModel::set_text_model`]).
//!
//! The folder is read as sentence-transformers lays it out: `modules.json`
//! naming a Transformer, a Pooling and Dense layers (and perhaps a Normalize);
//! weights as safetensors or pickled PyTorch state dicts, whichever the repo
//! has. The forward pass is scry's own (`encoder::BertTower`), checked against
//! sentence-transformers on PyTorch (`scripts/make_multilingual_fixtures.py`).

use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use candle_nn::VarBuilder;

use super::catalogue::repo_of;
use super::encoder::{BertShape, BertTower, Dense};
use super::hub::{ModelSpec, RepoFiles};
use super::{mapped, normalize, Embedding};
use crate::error::{Error, Result};

/// The text tower people pair with OpenAI's ViT-B/32, named in messages.
const MULTILINGUAL: &str = "sentence-transformers/clip-ViT-B-32-multilingual-v1";

/// A module's weights, in the order they are looked for: safetensors, then the
/// pickled state dict older repos keep.
const WEIGHT_FILES: [&str; 2] = ["model.safetensors", "pytorch_model.bin"];

/// How a text's token rows become one vector (`1_Pooling/config.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pooling {
    Mean,
    Cls,
    Max,
}

/// A dense layer's activation (`2_Dense/config.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activation {
    Identity,
    Tanh,
}

/// A loaded sentence-transformers text tower.
pub struct SentenceTower {
    id: String,
    dir: PathBuf,
    tokenizer: tokenizers::Tokenizer,
    lowercase: bool,
    max_len: usize,
    vocab: usize,
    bert: BertTower,
    pooling: Pooling,
    dense: Vec<(Dense, Activation)>,
    dim: usize,
}

impl std::fmt::Debug for SentenceTower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentenceTower")
            .field("id", &self.id)
            .field("dir", &self.dir)
            .field("dim", &self.dim)
            .field("max_len", &self.max_len)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct ModuleEntry {
    #[serde(default)]
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

/// A JSON file of a model folder; unreadable or not JSON is an error naming it.
pub(crate) fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::invalid_model(path, format!("not JSON: {e}")))
}

fn usize_at(v: &serde_json::Value, key: &str, file: &Path) -> Result<usize> {
    v.get(key)
        .and_then(serde_json::Value::as_u64)
        .map(|n| n as usize)
        .ok_or_else(|| Error::invalid_model(file, format!("no {key}")))
}

/// A module's folder inside the model folder: relative, without `..`.
fn module_dir(dir: &Path, entry: &ModuleEntry, modules_file: &Path) -> Result<PathBuf> {
    let rel = Path::new(&entry.path);
    if rel
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)))
    {
        Ok(dir.join(rel))
    } else {
        Err(Error::invalid_model(
            modules_file,
            format!("module path {:?} leaves the model folder", entry.path),
        ))
    }
}

/// The module's kind from its class name (`sentence_transformers.models.Dense`,
/// `sentence_transformers.base.modules.dense.Dense`, ...).
fn kind(entry: &ModuleEntry) -> &str {
    entry.kind.rsplit('.').next().unwrap_or(&entry.kind)
}

/// Weights as candle reads them: safetensors (memory-mapped) or a pickled state dict.
fn var_builder(path: &Path) -> Result<VarBuilder<'static>> {
    let is_pth = path.extension().is_some_and(|e| e == "bin" || e == "pt");
    let vb = if is_pth {
        VarBuilder::from_pth(path, DType::F32, &Device::Cpu)
    } else {
        // SAFETY: the file is mapped read-only; scry never writes model files.
        unsafe { VarBuilder::from_mmaped_safetensors(&[path], DType::F32, &Device::Cpu) }
    };
    vb.map_err(|e| Error::invalid_model(path, format!("unreadable weights: {e}")))
}

fn first_file(dir: &Path, names: &[&str]) -> Result<PathBuf> {
    names
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error::invalid_model(dir, format!("no weights: expected {}", names.join(" or ")))
        })
}

impl SentenceTower {
    /// Resolves `spec` (a folder, or a hub repo fetched into the Hugging Face
    /// cache if allowed) and loads it.
    pub fn open(spec: &ModelSpec, allow_download: bool) -> Result<Self> {
        let dir = match RepoFiles::new(spec, allow_download)? {
            None => spec_dir(spec),
            Some(files) => fetch(&files).map_err(|why| {
                Error::ModelNotFound(format!(
                    "no text model found: {} is not in the Hugging Face cache ({}) and cannot be \
                     fetched ({why}). Run `scry model fetch {}` on a machine with \
                     network access (the cache can be copied), or pass --text-model DIR with a \
                     sentence-transformers folder",
                    spec.id(),
                    files.cache_dir().display(),
                    spec.id()
                ))
            })?,
        };
        let mut tower = Self::load_dir(&dir)?;
        tower.id = spec.id();
        Ok(tower)
    }

    /// Loads a sentence-transformers folder.
    pub fn load_dir(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::ModelNotFound(format!(
                "no text model found: {} is not a folder. Pass --text-model with a \
                 sentence-transformers folder (modules.json, config.json, tokenizer.json, \
                 weights) or a hub repo such as {}",
                dir.display(),
                MULTILINGUAL
            )));
        }
        let modules_file = dir.join("modules.json");
        let text = std::fs::read_to_string(&modules_file).map_err(|_| {
            Error::invalid_model(
                dir,
                "not a sentence-transformers folder: no modules.json (a text model for \
                 --text-model is a sentence-transformers model such as \
                 sentence-transformers/clip-ViT-B-32-multilingual-v1)",
            )
        })?;
        let modules: Vec<ModuleEntry> = serde_json::from_str(&text)
            .map_err(|e| Error::invalid_model(&modules_file, format!("not a module list: {e}")))?;
        let Some((first, rest)) = modules.split_first() else {
            return Err(Error::invalid_model(&modules_file, "no modules"));
        };
        if kind(first) != "Transformer" {
            return Err(Error::invalid_model(
                &modules_file,
                format!(
                    "the first module is {}; scry reads a Transformer first",
                    first.kind
                ),
            ));
        }
        let tdir = module_dir(dir, first, &modules_file)?;
        let config_file = tdir.join("config.json");
        let config = read_json(&config_file)?;
        let model_type = config["model_type"].as_str().unwrap_or("unknown");
        if model_type != "distilbert" {
            return Err(Error::invalid_model(
                &config_file,
                format!(
                    "a {model_type} transformer: scry reads DistilBERT text towers (as in {})",
                    MULTILINGUAL
                ),
            ));
        }
        let activation = config["activation"].as_str().unwrap_or("gelu");
        if activation != "gelu" {
            return Err(Error::invalid_model(
                &config_file,
                format!("activation {activation:?}: scry implements DistilBERT's gelu"),
            ));
        }
        if config["sinusoidal_pos_embds"].as_bool() == Some(true) {
            return Err(Error::invalid_model(
                &config_file,
                "sinusoidal position embeddings: scry reads learned ones",
            ));
        }
        let shape = BertShape {
            vocab: usize_at(&config, "vocab_size", &config_file)?,
            dim: usize_at(&config, "dim", &config_file)?,
            heads: usize_at(&config, "n_heads", &config_file)?,
            mlp: usize_at(&config, "hidden_dim", &config_file)?,
            layers: usize_at(&config, "n_layers", &config_file)?,
            positions: usize_at(&config, "max_position_embeddings", &config_file)?,
        };
        if [shape.vocab, shape.dim, shape.mlp, shape.positions].contains(&0) {
            return Err(Error::invalid_model(
                &config_file,
                "vocab_size, dim, hidden_dim and max_position_embeddings must be above 0",
            ));
        }
        if shape.heads == 0 || !shape.dim.is_multiple_of(shape.heads) {
            return Err(Error::invalid_model(
                &config_file,
                format!(
                    "dim {} is not a multiple of n_heads {}",
                    shape.dim, shape.heads
                ),
            ));
        }

        // Sequence length and case: sentence_bert_config.json, else the tokenizer's.
        // Optional files; present but unreadable is an error naming them.
        let optional = |name: &str| {
            let p = tdir.join(name);
            if p.is_file() {
                read_json(&p).map(Some)
            } else {
                Ok(None)
            }
        };
        let st_config = optional("sentence_bert_config.json")?;
        let tok_config = optional("tokenizer_config.json")?;
        let max_len = st_config
            .as_ref()
            .and_then(|c| c["max_seq_length"].as_u64())
            .or_else(|| {
                tok_config
                    .as_ref()
                    .and_then(|c| c["model_max_length"].as_u64())
            })
            .map_or(shape.positions, |n| n as usize)
            .min(shape.positions);
        let lowercase = st_config
            .as_ref()
            .and_then(|c| c["do_lower_case"].as_bool())
            .unwrap_or(false);
        let tok_file = tdir.join("tokenizer.json");
        let mut tokenizer = tokenizers::Tokenizer::from_file(&tok_file)
            .map_err(|e| Error::invalid_model(&tok_file, format!("unreadable tokenizer: {e}")))?;
        tokenizer.with_padding(None);
        let specials = tokenizer
            .get_post_processor()
            .map_or(0, |p| tokenizers::PostProcessor::added_tokens(p, false));
        if max_len <= specials {
            return Err(Error::invalid_model(
                tdir.join("sentence_bert_config.json"),
                format!("max_seq_length {max_len} leaves no room beside {specials} special tokens"),
            ));
        }
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: max_len,
                ..Default::default()
            }))
            .map_err(|e| Error::invalid_model(&tok_file, format!("truncation: {e}")))?;
        let vocab = tokenizer.get_vocab_size(true);
        if vocab > shape.vocab {
            return Err(Error::invalid_model(
                &tok_file,
                format!(
                    "{vocab} tokens for a model of {} (config.json): tokenizer and model do not \
                     belong together",
                    shape.vocab
                ),
            ));
        }

        let weights = first_file(&tdir, &WEIGHT_FILES)?;
        let vb = var_builder(&weights)?;
        // Saved from DistilBertModel (no prefix) or a model around one ("distilbert.").
        let vb = if vb.contains_tensor("embeddings.word_embeddings.weight") {
            vb
        } else {
            vb.pp("distilbert")
        };
        let mapped = if weights.extension().is_some_and(|e| e == "safetensors") {
            Some(mapped::MappedWeights::open(&weights)?)
        } else {
            None
        };
        let bert = BertTower::load(&vb, &shape, mapped.as_ref())
            .map_err(|e| Error::invalid_model(&weights, e.to_string()))?;

        let mut pooling = None;
        let mut dense = Vec::new();
        let mut dim = shape.dim;
        for (i, m) in rest.iter().enumerate() {
            let mdir = module_dir(dir, m, &modules_file)?;
            let file = mdir.join("config.json");
            match kind(m) {
                "Pooling" if pooling.is_none() && dense.is_empty() => {
                    let c = read_json(&file)?;
                    pooling = Some(pooling_of(&c, &file)?);
                }
                "Dense" if pooling.is_some() => {
                    let c = read_json(&file)?;
                    let n_in = usize_at(&c, "in_features", &file)?;
                    let n_out = usize_at(&c, "out_features", &file)?;
                    if n_out == 0 {
                        return Err(Error::invalid_model(&file, "out_features 0"));
                    }
                    if n_in != dim {
                        return Err(Error::invalid_model(
                            &file,
                            format!("in_features {n_in} after a {dim}-d layer"),
                        ));
                    }
                    let act = match c["activation_function"].as_str().unwrap_or("") {
                        "torch.nn.modules.linear.Identity" | "" => Activation::Identity,
                        "torch.nn.modules.activation.Tanh" => Activation::Tanh,
                        other => {
                            return Err(Error::invalid_model(
                                &file,
                                format!("activation {other}: scry implements Identity and Tanh"),
                            ))
                        }
                    };
                    let bias = c["bias"].as_bool().unwrap_or(true);
                    let w = first_file(&mdir, &WEIGHT_FILES)?;
                    let layer = Dense::load(&var_builder(&w)?, n_in, n_out, bias)
                        .map_err(|e| Error::invalid_model(&w, e.to_string()))?;
                    dim = layer.n_out();
                    dense.push((layer, act));
                }
                // scry normalises every embedding anyway; only last does that change nothing.
                "Normalize" if i + 1 == rest.len() => {}
                other => {
                    return Err(Error::invalid_model(
                        &modules_file,
                        format!(
                            "module {other} ({}) where scry reads a Transformer, a Pooling, \
                             Dense layers and a Normalize, in that order",
                            m.kind
                        ),
                    ))
                }
            }
        }
        let pooling = pooling.ok_or_else(|| Error::invalid_model(&modules_file, "no Pooling"))?;
        Ok(Self {
            id: dir.display().to_string(),
            dir: dir.to_path_buf(),
            tokenizer,
            lowercase,
            max_len,
            vocab: shape.vocab,
            bert,
            pooling,
            dense,
            dim,
        })
    }

    /// The id it was opened by (hub repo, or folder).
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Dimension of its embeddings.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The longest token sequence it reads (longer texts are truncated, as
    /// sentence-transformers truncates them).
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Token ids as the reference tokenizes: special tokens added, truncated to
    /// the model's sequence length, no padding.
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>> {
        let owned;
        let text = if self.lowercase {
            owned = text.to_lowercase();
            &owned
        } else {
            text
        };
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| Error::InvalidArgument(format!("tokenizing {text:?}: {e}")))?;
        Ok(enc.get_ids().to_vec())
    }

    /// The unnormalised embedding of one token sequence.
    pub fn features(&self, ids: &[u32]) -> Result<Vec<f32>> {
        if ids.is_empty() || ids.len() > self.max_len {
            return Err(Error::InvalidArgument(format!(
                "token sequences must have 1..={} ids, got {}",
                self.max_len,
                ids.len()
            )));
        }
        if let Some(bad) = ids.iter().find(|&&i| i as usize >= self.vocab) {
            return Err(Error::InvalidArgument(format!(
                "token id {bad} is outside the vocabulary of {}",
                self.vocab
            )));
        }
        let rows = self.bert.forward(ids);
        let d = self.bert.dim();
        let mut v = match self.pooling {
            Pooling::Cls => rows[..d].to_vec(),
            Pooling::Mean => {
                let mut sum = vec![0f32; d];
                for r in rows.chunks_exact(d) {
                    for (s, x) in sum.iter_mut().zip(r) {
                        *s += x;
                    }
                }
                let n = ids.len() as f32;
                sum.iter_mut().for_each(|s| *s /= n);
                sum
            }
            Pooling::Max => {
                let mut max = vec![f32::NEG_INFINITY; d];
                for r in rows.chunks_exact(d) {
                    for (m, x) in max.iter_mut().zip(r) {
                        *m = m.max(*x);
                    }
                }
                max
            }
        };
        for (layer, act) in &self.dense {
            v = layer.forward(&v);
            if *act == Activation::Tanh {
                v.iter_mut().for_each(|x| *x = x.tanh());
            }
        }
        Ok(v)
    }

    /// Normalised embeddings, one per text (each encoded at its own length, so
    /// no padding changes a mean).
    pub fn embed_texts<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Result<Vec<Embedding>> {
        let one = |t: &S| Ok(normalize(self.features(&self.token_ids(t.as_ref())?)?));
        if texts.len() < 4 {
            return texts.iter().map(one).collect();
        }
        // Many texts (a tag vocabulary's prompts): one per core at a time.
        use rayon::prelude::*;
        texts.par_iter().map(one).collect()
    }

    /// Refuses a pairing with an image model whose space this tower does not
    /// share: another dimension, or (for towers in the [`super::catalogue`])
    /// another image model than the one it was trained into.
    pub fn check_pair(&self, image_model: &str, image_dim: usize) -> Result<()> {
        check_pair(&self.id, Some(self.dim), image_model, image_dim)
    }
}

/// [`SentenceTower::check_pair`] before anything is loaded: by ids, and by
/// dimension once the text model's is known.
pub fn check_pair(
    text_model: &str,
    text_dim: Option<usize>,
    image_model: &str,
    image_dim: usize,
) -> Result<()> {
    if let Some(images) = super::catalogue::image_models_of(text_model) {
        let image_repo = repo_of(image_model);
        // A folder's id is its absolute path: what it holds is not known.
        let from_hub = !Path::new(image_model).is_absolute();
        if from_hub && !images.iter().any(|i| i.eq_ignore_ascii_case(image_repo)) {
            return Err(Error::InvalidArgument(format!(
                "text model {text_model} was trained into the space of {}; this library's \
                 images were embedded with {image_model}: re-index with that model \
                 (scry index --rebuild --model {}) or drop --text-model",
                images[0], images[0]
            )));
        }
    }
    if let Some(text_dim) = text_dim.filter(|&d| d != image_dim) {
        return Err(Error::InvalidArgument(format!(
            "text model {text_model} makes {text_dim}-d vectors and the image model \
             {image_model} {image_dim}-d ones: they are not one space"
        )));
    }
    Ok(())
}

fn pooling_of(c: &serde_json::Value, file: &Path) -> Result<Pooling> {
    // sentence-transformers 5+: "pooling_mode": "mean"; before: one flag a mode.
    let mode = match c["pooling_mode"].as_str() {
        Some(m) => m.to_string(),
        None => {
            let on: Vec<&str> = c
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, v)| k.starts_with("pooling_mode_") && v.as_bool() == Some(true))
                .map(|(k, _)| k.trim_start_matches("pooling_mode_"))
                .collect();
            match on.as_slice() {
                [one] => one.to_string(),
                _ => {
                    return Err(Error::invalid_model(
                        file,
                        format!("pooling modes {on:?}: scry reads one of mean, cls, max"),
                    ))
                }
            }
        }
    };
    match mode.as_str() {
        "mean" | "mean_tokens" => Ok(Pooling::Mean),
        "cls" | "cls_token" => Ok(Pooling::Cls),
        "max" | "max_tokens" => Ok(Pooling::Max),
        other => Err(Error::invalid_model(
            file,
            format!("pooling {other:?}: scry reads mean, cls and max"),
        )),
    }
}

fn spec_dir(spec: &ModelSpec) -> PathBuf {
    match spec {
        ModelSpec::Dir(d) => d.clone(),
        ModelSpec::Hub { repo, .. } => PathBuf::from(repo),
    }
}

/// Fetches (or finds in the cache) every file the modules name; returns the
/// snapshot folder.
fn fetch(files: &RepoFiles) -> std::result::Result<PathBuf, String> {
    let modules = files.get("modules.json")?;
    let text = std::fs::read_to_string(&modules).map_err(|e| e.to_string())?;
    let list: Vec<ModuleEntry> = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let join = |dir: &str, f: &str| {
        if dir.is_empty() {
            f.to_string()
        } else {
            format!("{dir}/{f}")
        }
    };
    for m in &list {
        let get = |f: &str| files.get(&join(&m.path, f));
        let weights = || files.first_of(&WEIGHT_FILES.map(|f| join(&m.path, f)));
        match kind(m) {
            "Transformer" => {
                get("config.json")?;
                get("tokenizer.json")?;
                weights()?;
                for optional in ["sentence_bert_config.json", "tokenizer_config.json"] {
                    let _ = get(optional);
                }
            }
            "Pooling" => {
                get("config.json")?;
            }
            "Dense" => {
                get("config.json")?;
                weights()?;
            }
            _ => {}
        }
    }
    modules
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| "no folder".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_pairs_and_dimensions() {
        let ml = MULTILINGUAL;
        check_pair(
            ml,
            Some(512),
            "openai/clip-vit-base-patch32@refs/pr/15",
            512,
        )
        .unwrap();
        check_pair(ml, Some(512), "/models/my-clip", 512).unwrap();
        let e =
            check_pair(ml, Some(512), "laion/CLIP-ViT-B-32-laion2B-s34B-b79K", 512).unwrap_err();
        assert!(
            e.to_string()
                .contains("trained into the space of openai/clip-vit-base-patch32"),
            "{e}"
        );
        let e = check_pair(
            "/models/mine",
            Some(768),
            "openai/clip-vit-base-patch32",
            512,
        )
        .unwrap_err();
        assert!(e.to_string().contains("768-d"), "{e}");
    }
}
