//! CLIP's tokenizer, equal to OpenAI's original (as open_clip ships it), not to HF's
//! fast tokenizer.
//!
//! The two differ on what people actually type: curly apostrophes from phones, HTML
//! entities pasted from the web, full-width characters, ligatures (34 of 210 test
//! strings). The original cleans the text first (`textclean`), then splits it with
//! its own pattern, in which the special tokens are spelled `<start_of_text>` and
//! `<end_of_text>`: HF's `<|endoftext|>` typed in a query is plain text there.
//!
//! The BPE itself is the `tokenizers` crate's, built from the vocabulary and merges
//! of the model's `tokenizer.json` (ids are the same in both tokenizers).
//!
//! SigLIP's tokenizer ([`SiglipTokenizer`]) is the model folder's `tokenizer.json`
//! as the `tokenizers` crate runs it, with SigLIP's training recipe on top:
//! lowercased, and padded on the right to the model's full text length. Both sit
//! behind [`TextTokenizer`].

use std::path::Path;

use regex::Regex;
use tokenizers::models::bpe::BPE;
use tokenizers::Model;

use super::textclean::clean_text;
use crate::error::{Error, Result};

/// Text → the token ids a model's text tower reads.
pub trait TextTokenizer: Send + Sync + std::fmt::Debug {
    /// The ids for `text`, special tokens included; padded to
    /// [`TextTokenizer::context_length`] where the family pads (SigLIP).
    fn encode(&self, text: &str) -> Vec<u32>;
    /// The most ids the text tower reads.
    fn context_length(&self) -> usize;
    /// The largest id the tokenizer can produce (checked against the model's
    /// vocabulary when the model loads).
    fn max_id(&self) -> u32;
}

impl TextTokenizer for ClipTokenizer {
    fn encode(&self, text: &str) -> Vec<u32> {
        ClipTokenizer::encode(self, text)
    }
    fn context_length(&self) -> usize {
        self.context_length
    }
    fn max_id(&self) -> u32 {
        self.eot
    }
}

/// SigLIP's tokenizer: the folder's `tokenizer.json` (SigLIP 2: Gemma's BPE with
/// byte fallback) with the training recipe applied, as transformers'
/// `Siglip2Tokenizer` and big_vision do: the text lowercased (the `tokenizers`
/// `Lowercase` normaliser, put before the file's own), truncated to the model's
/// text length (special tokens kept) and padded on the right to that length with
/// the file's pad token. The model reads every position and pools the last one,
/// so the padding is part of the input, not an optimisation to skip.
#[derive(Debug)]
pub struct SiglipTokenizer {
    inner: tokenizers::Tokenizer,
    context_length: usize,
    max_id: u32,
    /// SigLIP 1: the recipe transformers' `SiglipTokenizer` runs around the
    /// SentencePiece model (`inner` then encodes as SentencePiece does).
    spm: Option<SpmRecipe>,
}

/// SigLIP 1's text recipe (transformers' `SiglipTokenizer`, after
/// big_vision): special tokens typed in the text are split out first (with the
/// whitespace around them); every other part is canonicalised (lower-cased,
/// ASCII punctuation removed, whitespace runs made one space, stripped) and
/// encoded by SentencePiece, only the first with a "▁" in front; "</s>" ends
/// the text unless it already does; cut to the text length (the "</s>" kept)
/// and padded on the right with the pad token ("</s>").
#[derive(Debug)]
struct SpmRecipe {
    /// The special tokens as typed, longest first, with their ids.
    specials: Vec<(String, u32)>,
    eos: u32,
    pad: u32,
    /// The id of the piece "▁".
    underline: Option<u32>,
    lower: bool,
}

/// Python's `str.isspace`: Unicode whitespace and the four ASCII separators.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// big_vision's canonical text (transformers' `canonicalize_text`):
/// lower-cased, without ASCII punctuation (Python's `string.punctuation`),
/// whitespace runs made one space, stripped.
fn canonicalize(text: &str, lower: bool) -> String {
    let lowered;
    let text = if lower {
        lowered = text.to_lowercase();
        lowered.as_str()
    } else {
        text
    };
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.chars().filter(|c| !c.is_ascii_punctuation()) {
        if py_space(c) {
            gap = true;
        } else {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        }
    }
    out
}

/// A value of `tokenizer_config.json`: a string, or an `AddedToken` object.
fn config_token(config: &serde_json::Value, key: &str, default: &str) -> String {
    match &config[key] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(o) => o
            .get("content")
            .and_then(|c| c.as_str())
            .unwrap_or(default)
            .to_string(),
        _ => default.to_string(),
    }
}

impl SiglipTokenizer {
    /// Loads `tokenizer.json` for a text tower that reads `context_length` ids.
    pub fn from_file(path: &Path, context_length: usize) -> Result<Self> {
        let inner = tokenizers::Tokenizer::from_file(path).map_err(|e| {
            Error::invalid_model(path, format!("not a readable tokenizer.json: {e}"))
        })?;
        Self::new(inner, context_length).map_err(|m| Error::invalid_model(path, m))
    }

    fn new(
        mut inner: tokenizers::Tokenizer,
        context_length: usize,
    ) -> std::result::Result<Self, String> {
        use tokenizers::normalizers::{Lowercase, NormalizerWrapper, Sequence};
        let pad_id = inner
            .get_padding()
            .map(|p| p.pad_id)
            .or_else(|| inner.token_to_id("<pad>"))
            .ok_or("no padding token: neither a \"padding\" section nor a <pad> token, and SigLIP pads every text")?;
        let pad_token = inner
            .id_to_token(pad_id)
            .ok_or_else(|| format!("the padding id {pad_id} is not in the vocabulary"))?;
        let lowercase: NormalizerWrapper = Lowercase.into();
        let normalizer = match inner.get_normalizer().cloned() {
            Some(own) => Sequence::new(vec![lowercase, own]).into(),
            None => lowercase,
        };
        inner
            .with_normalizer(Some(normalizer))
            .map_err(|e| format!("cannot put the lowercase normaliser in front: {e}"))?;
        inner
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: context_length,
                ..Default::default()
            }))
            .map_err(|e| format!("cannot truncate to {context_length} tokens: {e}"))?;
        inner.with_padding(Some(tokenizers::PaddingParams {
            strategy: tokenizers::PaddingStrategy::Fixed(context_length),
            direction: tokenizers::PaddingDirection::Right,
            pad_id,
            pad_token,
            ..Default::default()
        }));
        let max_id = inner.get_vocab_size(true).saturating_sub(1) as u32;
        Ok(Self {
            inner,
            context_length,
            max_id,
            spm: None,
        })
    }

    /// SigLIP 1's tokenizer: the folder's `spiece.model` (SentencePiece
    /// unigram) with transformers' `SiglipTokenizer` recipe, its tokens and
    /// lower-casing from `tokenizer_config.json` when the folder has one.
    pub fn from_spiece(dir: &Path, context_length: usize) -> Result<Self> {
        let model = dir.join(super::hub::SPIECE_FILE);
        let inner = super::spiece::load(&model)?;
        let config_file = dir.join("tokenizer_config.json");
        let config = if config_file.is_file() {
            super::sentence::read_json(&config_file)?
        } else {
            serde_json::Value::Null
        };
        let id = |key: &str, default: &str| -> Result<(String, u32)> {
            let token = config_token(&config, key, default);
            let id = super::spiece::piece_id(&inner, &token).ok_or_else(|| {
                Error::invalid_model(
                    &model,
                    format!("its {key} {token:?} is not one of its pieces"),
                )
            })?;
            Ok((token, id))
        };
        let (eos_text, eos) = id("eos_token", "</s>")?;
        let (unk, unk_id) = id("unk_token", "<unk>")?;
        let (pad_text, pad) = id("pad_token", "</s>")?;
        let mut specials = vec![(eos_text, eos), (unk, unk_id), (pad_text, pad)];
        specials.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        specials.dedup_by(|a, b| a.0 == b.0);
        let lower = config["do_lower_case"].as_bool().unwrap_or(true);
        let recipe = SpmRecipe {
            specials,
            eos,
            pad,
            underline: super::spiece::piece_id(&inner, "▁"),
            lower,
        };
        let max_id = inner.get_vocab_size(true).saturating_sub(1) as u32;
        Ok(Self {
            inner,
            context_length,
            max_id,
            spm: Some(recipe),
        })
    }

    /// [`SpmRecipe`]'s ids for `text`.
    fn encode_spm(&self, r: &SpmRecipe, text: &str) -> Vec<u32> {
        enum Part {
            Special(u32),
            Text(String),
        }
        let text = format!("▁{}", text.replace('▁', " "));
        // Split on the special tokens, leftmost first, the longest where two
        // start at the same place.
        let mut parts = Vec::new();
        let mut rest = text.as_str();
        loop {
            let next = r
                .specials
                .iter()
                .filter_map(|(t, id)| rest.find(t.as_str()).map(|at| (at, t.len(), *id)))
                .min_by_key(|&(at, len, _)| (at, std::cmp::Reverse(len)));
            let Some((at, len, id)) = next else {
                parts.push(Part::Text(rest.to_string()));
                break;
            };
            parts.push(Part::Text(rest[..at].to_string()));
            parts.push(Part::Special(id));
            rest = &rest[at + len..];
        }
        // Special tokens take the whitespace on both sides with them.
        for i in 0..parts.len() {
            if matches!(parts[i], Part::Special(_)) {
                if let Some(Part::Text(t)) = parts.get_mut(i + 1) {
                    *t = t.trim_start_matches(py_space).to_string();
                }
                if let Some(Part::Text(t)) = i.checked_sub(1).and_then(|j| parts.get_mut(j)) {
                    *t = t.trim_end_matches(py_space).to_string();
                }
            }
        }
        let mut ids: Vec<u32> = Vec::new();
        // Whether the second id is a special token typed in the text (not an
        // unknown piece, which has the same id as "<unk>").
        let mut second_special = false;
        for part in &parts {
            if ids.len() == 1 {
                second_special = matches!(part, Part::Special(_));
            }
            match part {
                Part::Special(id) => ids.push(*id),
                Part::Text(t) if t.is_empty() => {}
                // Encoded as SentencePiece encodes text that follows other
                // text (transformers encodes it behind "<unk>" and drops
                // those pieces): the first part has its own "▁" in front.
                Part::Text(t) => match self.inner.encode(canonicalize(t, r.lower), false) {
                    Ok(e) => ids.extend_from_slice(e.get_ids()),
                    Err(e) => tracing::warn!("tokenizer: {e}; a part of the text is left out"),
                },
            }
        }
        // A text that starts with a special token: the lone "▁" in front goes.
        if ids.len() > 1 && r.underline == Some(ids[0]) && second_special {
            ids.remove(0);
        }
        ids.truncate(self.context_length.saturating_sub(1));
        if ids.last() != Some(&r.eos) {
            ids.push(r.eos);
        }
        ids.resize(self.context_length, r.pad);
        ids
    }
}

impl TextTokenizer for SiglipTokenizer {
    fn encode(&self, text: &str) -> Vec<u32> {
        if let Some(r) = &self.spm {
            return self.encode_spm(r, text);
        }
        match self.inner.encode(text, true) {
            Ok(e) => e.get_ids().to_vec(),
            // Byte fallback leaves nothing unencodable; should the file's model
            // still fail on a text, an empty text stands in for it.
            Err(e) => {
                tracing::warn!("tokenizer: {e}; encoding an empty text instead");
                self.inner
                    .encode("", true)
                    .map(|e| e.get_ids().to_vec())
                    .unwrap_or_else(|_| vec![0; self.context_length])
            }
        }
    }
    fn context_length(&self) -> usize {
        self.context_length
    }
    fn max_id(&self) -> u32 {
        self.max_id
    }
}

/// Text → CLIP token ids (`<start_of_text> … <end_of_text>`, unpadded).
pub struct ClipTokenizer {
    bpe: BPE,
    pattern: Regex,
    byte_chars: [char; 256],
    sot: u32,
    eot: u32,
    context_length: usize,
}

impl std::fmt::Debug for ClipTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClipTokenizer")
            .field("sot", &self.sot)
            .field("eot", &self.eot)
            .field("context_length", &self.context_length)
            .finish_non_exhaustive()
    }
}

impl ClipTokenizer {
    /// Loads the vocabulary and merges from an HF `tokenizer.json`.
    pub fn from_file(path: &Path, context_length: usize) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json(&text, context_length).map_err(|m| Error::invalid_model(path, m))
    }

    /// As [`ClipTokenizer::from_file`], from the file's text.
    pub fn from_json(text: &str, context_length: usize) -> std::result::Result<Self, String> {
        // Only the "model" section matters; it is found without building the rest
        // (the file is ~3.6 MB: a full `Value` was ~0.1 s of every `scry search`).
        #[derive(serde::Deserialize)]
        struct File<'a> {
            #[serde(borrow)]
            model: Option<&'a serde_json::value::RawValue>,
        }
        #[derive(serde::Deserialize)]
        struct Kind {
            #[serde(rename = "type")]
            kind: Option<String>,
        }
        let file: File = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        let model = file
            .model
            .ok_or("no \"model\" section: not a tokenizers tokenizer.json")?;
        let kind: Kind = serde_json::from_str(model.get())
            .map_err(|e| format!("cannot read the tokenizer model: {e}"))?;
        if kind.kind.as_deref() != Some("BPE") {
            return Err("the tokenizer model is not BPE: not a CLIP tokenizer".into());
        }
        let bpe: BPE = serde_json::from_str(model.get())
            .map_err(|e| format!("cannot read the BPE model: {e}"))?;
        let id = |name: &str| {
            bpe.token_to_id(name)
                .ok_or_else(|| format!("the vocabulary has no {name}: not a CLIP tokenizer"))
        };
        let sot = id("<|startoftext|>")?;
        let eot = id("<|endoftext|>")?;
        // A CLIP vocabulary ends with the two special tokens; the model pools at the
        // highest id, so EOT must be the maximum.
        if bpe.get_vocab_size() != eot as usize + 1 {
            return Err(format!(
                "<|endoftext|> has id {eot} but the vocabulary has {} entries: not a CLIP tokenizer",
                bpe.get_vocab_size()
            ));
        }
        if bpe.token_to_id("a</w>").is_none() {
            return Err(
                "the vocabulary has no end-of-word tokens (\"a</w>\"): not a CLIP tokenizer".into(),
            );
        }
        let pattern = Regex::new(
            r"(?i)<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+",
        )
        .expect("valid pattern");
        Ok(Self {
            bpe,
            pattern,
            byte_chars: bytes_to_unicode(),
            sot,
            eot,
            context_length,
        })
    }

    /// Id of `<start_of_text>`.
    pub fn sot(&self) -> u32 {
        self.sot
    }

    /// Id of `<end_of_text>`; the text tower pools at its first occurrence.
    pub fn eot(&self) -> u32 {
        self.eot
    }

    /// Maximum sequence length (77 for every CLIP).
    pub fn context_length(&self) -> usize {
        self.context_length
    }

    /// `[SOT] + tokens + [EOT]`, truncated to the context length with EOT kept last,
    /// exactly as open_clip's `tokenize` (without its zero padding). An empty or
    /// whitespace-only text gives `[SOT, EOT]`.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let cleaned = clean_text(text);
        let mut ids = Vec::with_capacity(self.context_length);
        ids.push(self.sot);
        let mut mapped = String::new();
        'words: for m in self.pattern.find_iter(&cleaned) {
            let word = m.as_str();
            match word {
                "<start_of_text>" => ids.push(self.sot),
                "<end_of_text>" => ids.push(self.eot),
                _ => {
                    mapped.clear();
                    mapped.extend(word.bytes().map(|b| self.byte_chars[b as usize]));
                    // Byte-level BPE cannot meet an unknown symbol: every byte has a token.
                    let tokens = self.bpe.tokenize(&mapped).unwrap_or_default();
                    ids.extend(tokens.iter().map(|t| t.id));
                }
            }
            if ids.len() >= self.context_length {
                break 'words;
            }
        }
        ids.push(self.eot);
        if ids.len() > self.context_length {
            ids.truncate(self.context_length);
            *ids.last_mut().expect("context length ≥ 3") = self.eot;
        }
        ids
    }
}

/// GPT-2's reversible byte → printable-character map, which CLIP's BPE uses.
fn bytes_to_unicode() -> [char; 256] {
    let mut table = ['\0'; 256];
    let printable = |b: u32| {
        (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b)
    };
    let mut extra = 0;
    for b in 0..256u32 {
        table[b as usize] = if printable(b) {
            char::from_u32(b).expect("latin-1 code point")
        } else {
            extra += 1;
            char::from_u32(255 + extra).expect("valid code point")
        };
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_map_is_gpt2s() {
        let t = bytes_to_unicode();
        assert_eq!(t[b'a' as usize], 'a');
        assert_eq!(t[b' ' as usize], 'Ġ');
        assert_eq!(t[0], 'Ā');
        let mut seen = std::collections::HashSet::new();
        assert!(
            t.iter().all(|c| seen.insert(*c)),
            "the map must be a bijection"
        );
    }
}
