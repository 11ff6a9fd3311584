//! The engine's error type. Every variant that concerns a file names it, and the
//! message says what to do next where there is something to do.

use std::path::PathBuf;

/// Errors of the scry engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No model could be found or fetched. The message says how to get one.
    #[error("{0}")]
    ModelNotFound(String),

    /// A model folder exists but is not a usable CLIP model (bad config, missing or
    /// mismatched tensors, unreadable tokenizer).
    #[error("{}: {message}", path.display())]
    InvalidModel { path: PathBuf, message: String },

    /// An image could not be read or decoded. `message` says why (e.g. "not an
    /// image", "truncated", "too large").
    #[error("{}: {message}", path.display())]
    Image { path: PathBuf, message: String },

    /// An image given as bytes (an upload) could not be decoded.
    #[error("image data: {0}")]
    ImageData(String),

    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A part of the library on disk is damaged. The message names the part and
    /// the recovery (`scry index --rebuild`).
    #[error("{}: damaged library: {message}", path.display())]
    DataCorruption { path: PathBuf, message: String },

    /// The library was written by an incompatible version of scry, or with another
    /// model.
    #[error("{}: {message}", path.display())]
    IncompatibleLibrary { path: PathBuf, message: String },

    /// Something asked for by id does not exist (an image id, say).
    #[error("{0}")]
    NotFound(String),

    /// A caller passed an argument that cannot work (e.g. an empty batch size).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The library's remote home (Qdrant) could not be reached, or refused a
    /// request. The message says which request and what to check.
    #[error("{location}: {message}")]
    Remote { location: String, message: String },

    /// A tensor operation failed. This is a bug or an out-of-memory condition,
    /// not bad input: inputs are validated before they reach the model.
    #[error("model computation failed: {0}")]
    Compute(#[from] candle_core::Error),
}

/// Shorthand for results of the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid_model(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::InvalidModel {
            path: path.into(),
            message: message.into(),
        }
    }
}
