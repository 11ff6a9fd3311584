//! Where a model comes from: a local folder in Hugging Face layout, or a Hugging
//! Face repo id fetched with `hf-hub` into the standard HF cache (`$HF_HOME/hub`,
//! default `~/.cache/huggingface/hub`), shared with Python tools.
//!
//! `HF_HUB_OFFLINE=1` is respected: only the cache is read, nothing is fetched.

use std::path::{Path, PathBuf};

use hf_hub::{api::sync::ApiBuilder, Cache, Repo, RepoType};

use crate::error::{Error, Result};

/// The model scry uses when none is named.
pub const DEFAULT_MODEL: &str = "openai/clip-vit-base-patch32";
/// The revision of [`DEFAULT_MODEL`] that is pinned: the one candle's CLIP example
/// uses, which carries `model.safetensors` (the repo's main branch has only
/// pickled PyTorch weights in older snapshots).
pub const DEFAULT_REVISION: &str = "refs/pr/15";

/// Files of a model in Hugging Face layout.
pub const REQUIRED_FILES: [&str; 3] = ["config.json", "model.safetensors", "tokenizer.json"];

/// SigLIP 1's tokenizer, in place of `tokenizer.json`.
pub const SPIECE_FILE: &str = "spiece.model";
/// Optional; CLIP's defaults apply without it.
pub const PREPROCESSOR_FILE: &str = "preprocessor_config.json";

/// A model as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSpec {
    /// A local folder with `config.json`, `model.safetensors`, `tokenizer.json`.
    Dir(PathBuf),
    /// A Hugging Face repo id, with a revision (branch, tag, commit or `refs/pr/N`).
    Hub { repo: String, revision: String },
}

impl ModelSpec {
    /// Parses `--model`: an existing path is a folder; `org/name` or
    /// `org/name@revision` is a hub repo; anything else is a folder that does not
    /// exist (reported as such when resolved).
    pub fn parse(spec: &str) -> Self {
        let path = Path::new(spec);
        if path.exists() || spec.starts_with('.') || spec.starts_with('/') || spec.starts_with('~')
        {
            return ModelSpec::Dir(path.to_path_buf());
        }
        let (repo, revision) = match spec.split_once('@') {
            Some((r, rev)) => (r.to_string(), rev.to_string()),
            None if spec == DEFAULT_MODEL => (spec.to_string(), DEFAULT_REVISION.to_string()),
            None => (spec.to_string(), "main".to_string()),
        };
        let looks_like_repo = repo.split('/').count() == 2
            && repo.split('/').all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            });
        if looks_like_repo {
            ModelSpec::Hub { repo, revision }
        } else {
            ModelSpec::Dir(path.to_path_buf())
        }
    }

    /// The model's id as recorded with embeddings (the repo id, or the folder).
    pub fn id(&self) -> String {
        match self {
            // Canonical, so the same folder named two ways is the same model.
            ModelSpec::Dir(p) => std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string(),
            ModelSpec::Hub { repo, revision } if revision == "main" => repo.clone(),
            ModelSpec::Hub { repo, revision } => format!("{repo}@{revision}"),
        }
    }
}

impl Default for ModelSpec {
    fn default() -> Self {
        ModelSpec::parse(DEFAULT_MODEL)
    }
}

/// Whether `HF_HUB_OFFLINE` asks for no network access.
pub fn hub_offline() -> bool {
    std::env::var("HF_HUB_OFFLINE")
        .map(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        })
        .unwrap_or(false)
}

/// Finds the model's folder, fetching it from the hub if needed and allowed.
/// With `allow_download == false` (or `HF_HUB_OFFLINE=1`) only the cache is used.
pub fn resolve(spec: &ModelSpec, allow_download: bool) -> Result<PathBuf> {
    resolve_in(spec, &hub_cache_dir(), allow_download && !hub_offline())
}

/// The HF hub cache folder (`$HF_HOME/hub`, default `~/.cache/huggingface/hub`).
pub fn hub_cache_dir() -> PathBuf {
    Cache::from_env().path().clone()
}

/// As [`resolve`], with an explicit HF hub cache folder; `allow_download == false`
/// reads only the cache.
pub fn resolve_in(spec: &ModelSpec, cache_dir: &Path, allow_download: bool) -> Result<PathBuf> {
    let cache = &Cache::new(cache_dir.to_path_buf());
    match spec {
        ModelSpec::Dir(dir) => check_dir(dir).map(|()| dir.clone()),
        ModelSpec::Hub { repo, revision } => {
            let hub_repo = Repo::with_revision(repo.clone(), RepoType::Model, revision.clone());
            if let Some(dir) = cached(cache, &hub_repo) {
                return Ok(dir);
            }
            if !allow_download {
                let why = if hub_offline() {
                    "HF_HUB_OFFLINE is set"
                } else {
                    "downloads are off"
                };
                return Err(not_found(cache, repo, revision, why));
            }
            download(cache, &hub_repo).map_err(|e| not_found(cache, repo, revision, &e))
        }
    }
}

fn cached(cache: &Cache, repo: &Repo) -> Option<PathBuf> {
    let cache = cache.repo(repo.clone());
    let mut dir = None;
    for file in REQUIRED_FILES {
        let path = match cache.get(file) {
            Some(p) => p,
            // SigLIP 1: its SentencePiece model stands in for tokenizer.json.
            None if file == "tokenizer.json" => cache.get(SPIECE_FILE)?,
            None => return None,
        };
        dir = path.parent().map(Path::to_path_buf);
    }
    dir
}

/// The hub client for `repo`, writing into `cache` (progress bars on).
fn api_repo(cache: &Cache, repo: &Repo) -> std::result::Result<hf_hub::api::sync::ApiRepo, String> {
    let api = ApiBuilder::from_env()
        .with_cache_dir(cache.path().clone())
        .with_progress(true)
        .build()
        .map_err(|e| e.to_string())?;
    Ok(api.repo(repo.clone()))
}

fn download(cache: &Cache, repo: &Repo) -> std::result::Result<PathBuf, String> {
    let api = api_repo(cache, repo)?;
    let mut dir = None;
    for file in REQUIRED_FILES {
        let path = match api.get(file) {
            Ok(p) => p,
            // SigLIP 1 ships spiece.model (and its tokenizer_config.json)
            // instead of tokenizer.json.
            Err(e) if file == "tokenizer.json" => match api.get(SPIECE_FILE) {
                Ok(p) => {
                    if let Err(e) = api.get("tokenizer_config.json") {
                        tracing::debug!("no tokenizer_config.json for {}: {e}", repo.url());
                    }
                    p
                }
                Err(_) => return Err(format!("downloading {file}: {e}")),
            },
            Err(e) => return Err(format!("downloading {file}: {e}")),
        };
        dir = path.parent().map(Path::to_path_buf);
    }
    // Optional: its absence (or a failed fetch) leaves CLIP's defaults.
    if let Err(e) = api.get(PREPROCESSOR_FILE) {
        tracing::debug!("no {PREPROCESSOR_FILE} for {}: {e}", repo.url());
    }
    dir.ok_or_else(|| "no files".to_string())
}

/// Files of one hub repo at one revision, read from the cache or fetched
/// (when allowed): for repos whose file list is only known once a first file
/// is read (a sentence-transformers model's `modules.json` names its folders).
pub(crate) struct RepoFiles {
    repo: Repo,
    cache: Cache,
    api: Option<hf_hub::api::sync::ApiRepo>,
}

impl RepoFiles {
    /// `None` for a folder: its files are read where they are.
    pub(crate) fn new(spec: &ModelSpec, allow_download: bool) -> Result<Option<Self>> {
        let ModelSpec::Hub { repo, revision } = spec else {
            return Ok(None);
        };
        let cache = Cache::new(hub_cache_dir());
        let repo = Repo::with_revision(repo.clone(), RepoType::Model, revision.clone());
        let api = if allow_download && !hub_offline() {
            Some(
                api_repo(&cache, &repo)
                    .map_err(|e| Error::ModelNotFound(format!("{}: {e}", repo.url())))?,
            )
        } else {
            None
        };
        Ok(Some(Self { repo, cache, api }))
    }

    /// The file's path in the cache, fetched first when it is not there; the
    /// reason when it is neither cached nor fetchable.
    pub(crate) fn get(&self, file: &str) -> std::result::Result<PathBuf, String> {
        if let Some(p) = self.cache.repo(self.repo.clone()).get(file) {
            return Ok(p);
        }
        match &self.api {
            Some(api) => api
                .get(file)
                .map_err(|e| format!("downloading {file}: {e}")),
            None if hub_offline() => Err(format!("{file} is not cached and HF_HUB_OFFLINE is set")),
            None => Err(format!("{file} is not cached and downloads are off")),
        }
    }

    /// The first of `names` that is cached or can be fetched.
    pub(crate) fn first_of(&self, names: &[String]) -> std::result::Result<PathBuf, String> {
        let mut why = String::new();
        for name in names {
            match self.get(name) {
                Ok(p) => return Ok(p),
                Err(e) => why = e,
            }
        }
        Err(why)
    }

    /// Where the cache keeps this repo's files (the cache root when it has none).
    pub(crate) fn cache_dir(&self) -> PathBuf {
        self.cache.path().clone()
    }
}

fn not_found(cache: &Cache, repo: &str, revision: &str, why: &str) -> Error {
    Error::ModelNotFound(format!(
        "no CLIP model found: {repo}@{revision} is not in the Hugging Face cache ({}) and \
         cannot be downloaded ({why}). Run `scry model fetch` on a machine with network \
         access (the cache can be copied), or pass --model DIR with a folder holding \
         config.json, model.safetensors and tokenizer.json",
        cache.path().display()
    ))
}

fn check_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Err(Error::ModelNotFound(format!(
            "no CLIP model found: {} does not exist. Pass --model DIR with a folder holding \
             config.json, model.safetensors and tokenizer.json, or a Hugging Face repo id \
             such as {DEFAULT_MODEL} (fetched with `scry model fetch`)",
            dir.display()
        )));
    }
    if !dir.is_dir() {
        return Err(Error::invalid_model(
            dir,
            "not a folder: a model is a folder holding config.json, model.safetensors and tokenizer.json",
        ));
    }
    let missing: Vec<&str> = REQUIRED_FILES
        .iter()
        .copied()
        .filter(|f| !dir.join(f).is_file())
        .collect();
    if missing == ["tokenizer.json"] && dir.join(SPIECE_FILE).is_file() {
        // SigLIP 1 (google/siglip-*) ships only its SentencePiece model.
        return Ok(());
    }
    if !missing.is_empty() {
        return Err(Error::invalid_model(
            dir,
            format!(
                "not a CLIP model folder: missing {} (a model in Hugging Face layout has {})",
                missing.join(", "),
                REQUIRED_FILES.join(", ")
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert_eq!(
            ModelSpec::parse("openai/clip-vit-base-patch32"),
            ModelSpec::Hub {
                repo: DEFAULT_MODEL.into(),
                revision: DEFAULT_REVISION.into()
            }
        );
        assert_eq!(
            ModelSpec::parse("openai/clip-vit-large-patch14@abc123"),
            ModelSpec::Hub {
                repo: "openai/clip-vit-large-patch14".into(),
                revision: "abc123".into()
            }
        );
        assert_eq!(
            ModelSpec::parse("./models/clip"),
            ModelSpec::Dir("./models/clip".into())
        );
        assert_eq!(ModelSpec::parse("a/b/c"), ModelSpec::Dir("a/b/c".into()));
    }
}
