//! SentencePiece unigram models (`spiece.model`, what SigLIP 1 ships instead of
//! a `tokenizer.json`), read into the `tokenizers` crate the way transformers'
//! converter builds them (`SpmConverter.build_tokenizer_from_spm_proto`), so
//! that they encode as `SentencePieceProcessor.encode` does: the model's own
//! normaliser (its precompiled NFKC character map, extra spaces removed, spaces
//! escaped as "▁", a dummy "▁" prefix), then the unigram lattice over the
//! pieces and their scores.
//!
//! The file is a protocol buffer (`sentencepiece_model.proto`); prost reads the
//! few fields used here, by their numbers, and skips the rest.

use std::path::Path;

use prost::Message;
use tokenizers::models::unigram::Unigram;
use tokenizers::normalizers::{NormalizerWrapper, Precompiled, Replace, Sequence};
use tokenizers::pre_tokenizers::sequence::Sequence as PreSequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::{SplitDelimiterBehavior, Tokenizer};

use crate::error::{Error, Result};

#[derive(Clone, PartialEq, Message)]
struct ModelProto {
    #[prost(message, repeated, tag = "1")]
    pieces: Vec<PieceProto>,
    #[prost(message, optional, tag = "2")]
    trainer_spec: Option<TrainerSpec>,
    #[prost(message, optional, tag = "3")]
    normalizer_spec: Option<NormalizerSpec>,
}

#[derive(Clone, PartialEq, Message)]
struct PieceProto {
    #[prost(string, optional, tag = "1")]
    piece: Option<String>,
    #[prost(float, optional, tag = "2")]
    score: Option<f32>,
    /// NORMAL = 1 (the default), UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4,
    /// UNUSED = 5, BYTE = 6.
    #[prost(int32, optional, tag = "3")]
    kind: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
struct TrainerSpec {
    /// UNIGRAM = 1 (the default), BPE = 2, WORD = 3, CHAR = 4.
    #[prost(int32, optional, tag = "3")]
    model_type: Option<i32>,
    #[prost(bool, optional, tag = "24")]
    treat_whitespace_as_suffix: Option<bool>,
    #[prost(bool, optional, tag = "35")]
    byte_fallback: Option<bool>,
    #[prost(int32, optional, tag = "40")]
    unk_id: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
struct NormalizerSpec {
    /// The rule set the character map was compiled from ("nmt_nfkc", …).
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(bytes = "vec", optional, tag = "2")]
    precompiled_charsmap: Option<Vec<u8>>,
    #[prost(bool, optional, tag = "4")]
    remove_extra_whitespaces: Option<bool>,
    #[prost(bool, optional, tag = "5")]
    escape_whitespaces: Option<bool>,
}

const USER_DEFINED: i32 = 4;

/// A SentencePiece unigram model as a `tokenizers` tokenizer that encodes a
/// text as SentencePiece encodes it when it follows other text: without the
/// dummy "▁" prefix (a space in front of the text stands for it), no special
/// tokens added, no padding.
pub fn load(path: &Path) -> Result<Tokenizer> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let proto = ModelProto::decode(bytes.as_slice()).map_err(|e| {
        Error::invalid_model(
            path,
            format!("not a SentencePiece model (spiece.model): {e}"),
        )
    })?;
    build(&proto).map_err(|m| Error::invalid_model(path, m))
}

fn build(proto: &ModelProto) -> std::result::Result<Tokenizer, String> {
    let trainer = proto.trainer_spec.clone().unwrap_or_default();
    let norm = proto.normalizer_spec.clone().unwrap_or_default();
    match trainer.model_type.unwrap_or(1) {
        1 => {}
        2 => {
            return Err(
                "a SentencePiece BPE model: scry reads SentencePiece unigram models (SigLIP's)"
                    .into(),
            )
        }
        other => {
            return Err(format!(
                "a SentencePiece model of type {other}: scry reads unigram models (type 1)"
            ))
        }
    }
    if trainer.treat_whitespace_as_suffix.unwrap_or(false) {
        return Err("a SentencePiece model that puts \"▁\" after words (treat_whitespace_as_suffix): not supported".into());
    }
    if proto.pieces.is_empty() {
        return Err("a SentencePiece model without pieces".into());
    }
    let vocab: Vec<(String, f64)> = proto
        .pieces
        .iter()
        .map(|p| {
            (
                p.piece.clone().unwrap_or_default(),
                f64::from(p.score.unwrap_or(0.0)),
            )
        })
        .collect();
    let unk_id = usize::try_from(trainer.unk_id.unwrap_or(0))
        .map_err(|_| "a negative unk_id".to_string())?;
    let model = Unigram::from(vocab, Some(unk_id), trainer.byte_fallback.unwrap_or(false))
        .map_err(|e| format!("its pieces do not make a unigram model: {e}"))?;
    let mut tokenizer = Tokenizer::new(model);

    // The normaliser, in SentencePiece's order, for a text that continues
    // another: "▁" typed in the text is a space to SentencePiece; spaces at
    // the start make one "▁" (at the very start of a text SentencePiece puts
    // its dummy prefix there instead: a caller wanting it puts a space in
    // front), at the end none, runs of them one.
    use tokenizers::normalizers::replace::ReplacePattern;
    let replace = |pattern: ReplacePattern, with: &str| {
        Replace::new(pattern, with)
            .map(NormalizerWrapper::from)
            .map_err(|e| format!("normaliser: {e}"))
    };
    let mut normalizers: Vec<NormalizerWrapper> =
        vec![replace(ReplacePattern::String("▁".into()), " ")?];
    // The NFKC rule sets' maps compose as NFKC does; the `tokenizers` reading
    // of the map does not compose a base letter with marks after it ("o" +
    // U+0308 + U+0304, half-width kana + voiced mark, decomposed Hangul), so
    // NFKC goes first (the map then leaves NFKC text as it is).
    if norm.name.as_deref().is_some_and(|n| n.contains("nfkc")) {
        normalizers.push(tokenizers::normalizers::NFKC.into());
    }
    if let Some(map) = norm
        .precompiled_charsmap
        .as_deref()
        .filter(|m| !m.is_empty())
    {
        let p = Precompiled::from(map)
            .map_err(|e| format!("its normalisation map cannot be read: {e:?}"))?;
        normalizers.push(p.into());
    }
    if norm.remove_extra_whitespaces.unwrap_or(true) {
        // Only spaces: SentencePiece leaves other whitespace alone.
        normalizers.push(replace(ReplacePattern::Regex(" +\\z".into()), "")?);
        normalizers.push(replace(ReplacePattern::Regex(" {2,}".into()), " ")?);
    }
    if norm.escape_whitespaces.unwrap_or(true) {
        normalizers.push(replace(ReplacePattern::String(" ".into()), "▁")?);
    }
    tokenizer
        .with_normalizer(Some(Sequence::new(normalizers)))
        .map_err(|e| format!("normaliser: {e}"))?;

    let mut pre: Vec<PreTokenizerWrapper> = Vec::new();
    // User-defined pieces are always emitted whole.
    let mut user: Vec<&str> = proto
        .pieces
        .iter()
        .filter(|p| p.kind == Some(USER_DEFINED))
        .filter_map(|p| p.piece.as_deref())
        .collect();
    if !user.is_empty() {
        user.sort_by_key(|p| std::cmp::Reverse(p.chars().count()));
        let pattern = user
            .iter()
            .map(|p| regex::escape(p))
            .collect::<Vec<_>>()
            .join("|");
        let split = Split::new(
            SplitPattern::Regex(pattern),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(|e| format!("its user-defined pieces: {e}"))?;
        pre.push(split.into());
    }
    if !pre.is_empty() {
        tokenizer.with_pre_tokenizer(Some(PreSequence::new(pre)));
    }
    Ok(tokenizer)
}

/// The id of each piece, by its text.
pub fn piece_id(tokenizer: &Tokenizer, piece: &str) -> Option<u32> {
    tokenizers::Model::token_to_id(tokenizer.get_model(), piece)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_unigram_model() {
        let bpe = ModelProto {
            pieces: vec![PieceProto {
                piece: Some("<unk>".into()),
                score: Some(0.0),
                kind: Some(2),
            }],
            trainer_spec: Some(TrainerSpec {
                model_type: Some(2),
                ..Default::default()
            }),
            normalizer_spec: None,
        };
        assert!(build(&bpe).unwrap_err().contains("BPE"));
        let empty = ModelProto::default();
        assert!(build(&empty).unwrap_err().contains("without pieces"));
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("spiece.model");
        std::fs::write(&junk, b"\xff\xff\xff not a protocol buffer").unwrap();
        let e = load(&junk).unwrap_err().to_string();
        assert!(e.contains("spiece.model"), "{e}");
    }
}
