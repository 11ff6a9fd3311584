//! scry's engine integration tests: one binary, one module per subject.
//!
//! Everything runs offline on the committed fixtures in `tests/fixtures/`, made by
//! `scripts/make_fixtures.py` from the reference implementations (transformers and
//! open_clip on PyTorch): a tiny random-weight CLIP in Hugging Face layout with the
//! real CLIP tokenizer, and the reference's outputs for it.
//!
//! Set `SCRY_PARITY_FIXTURE=DIR` to run the parity module against another fixture
//! folder (the full-size ViT-B/32 one made by `scripts/parity_full.sh`).

/// Fixture paths, the shared tiny model, golden-file readers, temp-dir helpers.
mod common;

/// Token ids equal open_clip's on the 370-string corpus (clean-up, BPE, truncation,
/// special-token look-alikes).
mod tokenizer;

/// Preprocessing and forward passes against the reference: pixels, image
/// embeddings from reference pixels and from files, text embeddings, padding.
mod parity;

/// HEIC, AVIF, JPEG XL and camera RAW against their reference decoders: pixels,
/// embeddings, orientation, detection by bytes, hostile files.
mod formats;

/// Videos against the reference (ffmpeg's frames + transformers): the frames
/// chosen, their embeddings, rotation, damaged files, a video found at a frame.
mod video;

/// Model families beyond OpenAI's CLIP against their reference (LAION-style GELU).
mod families;

/// Loading models: config-driven shapes, the HF cache, and clear errors for folders
/// that are not CLIP models.
mod model_loading;

/// The library on disk: crash repair of derived indexes, ANN graph persistence and
/// tombstones, recall against the exact index, schema and model checks, damage.
mod library;

/// The query engine on constructed vectors: text, more-like-this and algebra
/// ordering, filters that still fill k, file-name fusion, stable pagination.
mod search;

/// Duplicate tiers on constructed vectors: bursts vs retakes vs near duplicates,
/// keepers.
mod dupes;

/// Smart albums on constructed vectors: membership as images come and go,
/// previews, persistence, refusals.
mod albums;

/// Inputs the fuzzers found (fuzz/corpus): replayed on stable so a regression in
/// the query parser or the decoders fails CI without the fuzzer.
mod fuzz_corpus;

/// Auto-tags through a real text tower: each category's vector is the CLIP
/// paper's ensemble of its template prompts.
mod tags;

/// Places: EXIF GPS of twenty cities read from the committed fixtures, each
/// city found by its name, by a radius around it and by "… in CITY".
mod places;
