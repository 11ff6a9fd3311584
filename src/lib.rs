//! scry's engine: the CLIP encoder, image decoding and preprocessing, the
//! library (its two homes: a local folder or Qdrant), the ANN and keyword
//! indexes, the query engine, duplicates, smart albums and who may see what.
//!
//! No argv, no HTTP and no printing here: the `scry` command (in `web/`) and the
//! indexer (in `indexer/`) are built on this crate. See ARCHITECTURE.md.

pub mod access;
pub mod albums;
pub mod ann;
pub mod dates;
pub mod decode;
pub mod dupes;
pub mod error;
pub mod home;
pub mod keyword;
pub mod library;
pub mod metadata;
pub mod model;
pub mod ocr;
pub mod places;
pub mod preprocess;
pub mod probe;
pub mod query;
mod simd;
pub mod store;
pub mod tags;
pub mod video;

pub use error::{Error, Result};
/// The image crate, whose pixel types the engine hands out.
pub use image;
pub use library::Library;
pub use model::{ClipModel, Embedding, ModelSpec, Precision};
pub use preprocess::Preprocessor;
pub use store::{ImageId, ImageRecord};
