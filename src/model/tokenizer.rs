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
        })
    }
}

impl TextTokenizer for SiglipTokenizer {
    fn encode(&self, text: &str) -> Vec<u32> {
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
