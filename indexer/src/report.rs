//! What an indexing run tells a person: counts, and every file that was not
//! indexed with its reason, grouped by kind of reason.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

/// Why a file was not indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The file or folder could not be read (permissions, I/O error, vanished).
    Unreadable,
    /// The bytes are not an image (e.g. a text file named `.jpg`).
    NotAnImage,
    /// An image, but damaged or cut short.
    Corrupt,
    /// Declared dimensions or memory needs beyond the safety limits (a
    /// decompression bomb, or a panorama larger than scry decodes).
    TooLarge,
    /// A real photo scry cannot decode on this machine (HEIC without libheif, a
    /// RAW without a preview). Not an error: the message says what to install.
    Unsupported,
    /// A symlink that leads back into its own ancestors (only with --follow-links).
    SymlinkLoop,
    /// The configured root folder does not exist: nothing under it was removed.
    MissingRoot,
}

impl FailureKind {
    /// Sorts a decoder's message into a kind.
    pub fn from_message(msg: &str) -> Self {
        if msg.starts_with("not an image") || msg == "empty file" {
            FailureKind::NotAnImage
        } else if msg.starts_with("unsupported") {
            FailureKind::Unsupported
        } else if msg.starts_with("too large") {
            FailureKind::TooLarge
        } else if msg.starts_with("cannot read") {
            FailureKind::Unreadable
        } else {
            FailureKind::Corrupt
        }
    }

    /// Whether this counts as an error in the summary (unsupported formats do not).
    pub fn is_error(self) -> bool {
        !matches!(self, FailureKind::Unsupported)
    }
}

/// One file that was not indexed.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    #[serde(serialize_with = "lossy_path")]
    pub path: PathBuf,
    pub kind: FailureKind,
    pub reason: String,
}

fn lossy_path<S: serde::Serializer>(p: &std::path::Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

impl Failure {
    pub fn new(path: PathBuf, kind: FailureKind, reason: impl Into<String>) -> Self {
        Self {
            path,
            kind,
            reason: reason.into(),
        }
    }
}

/// The outcome of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Newly indexed files.
    pub new: usize,
    /// Files whose content changed and were re-embedded.
    pub changed: usize,
    /// Files skipped because size and modification time are unchanged.
    pub unchanged: usize,
    /// Files whose modification time changed but not their bytes: record updated,
    /// not decoded.
    pub touched: usize,
    /// Files recognised by content at a new path: kept their vectors, not decoded.
    pub moved: usize,
    /// Unchanged photos of a library indexed before scry read GPS positions that
    /// got their position and place in this run (their EXIF read again, nothing
    /// decoded or embedded; once per library).
    pub placed: usize,
    /// Images looked at for text in this run (`--ocr`): new and changed ones,
    /// and unchanged ones never looked at before (decoded again, not embedded).
    pub ocr_checked: usize,
    /// Of those, the ones the gate took for text and Tesseract read.
    pub ocr_read: usize,
    /// Of those, the ones with words in them.
    pub ocr_with_text: usize,
    /// Why OCR was skipped in this run although the library asks for it
    /// (Tesseract missing on this machine: what to install).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ocr_skipped: Option<String>,
    /// Files gone from disk, removed from the library.
    pub removed: usize,
    /// New files that are byte-identical copies of indexed ones: vector reused.
    pub copies: usize,
    /// Files that are neither photos nor videos (sidecars, documents): ignored.
    pub ignored: usize,
    /// Live Photos' and Motion Photos' clips: a video beside a photo of the
    /// same name, kept with the photo rather than indexed apart.
    pub motion_clips: usize,
    /// Files not indexed because of an error.
    pub failed: usize,
    /// Files scry cannot decode here (HEIC without libheif, a video without
    /// ffmpeg, RAW without a preview).
    pub unsupported: usize,
    /// Images embedded by the model in this run (a video counts once).
    pub embedded: usize,
    /// Videos' frames embedded in this run.
    pub frames: usize,
    /// Images in the library after the run.
    pub total: usize,
    pub seconds: f64,
    /// Every failure, grouped by kind.
    pub failures: BTreeMap<FailureKind, Vec<Failure>>,
}

impl Summary {
    pub fn record_failure(&mut self, f: Failure) {
        if f.kind.is_error() {
            self.failed += 1;
        } else {
            self.unsupported += 1;
        }
        self.failures.entry(f.kind).or_default().push(f);
    }
}

/// Progress of a run, for a progress bar or log lines. All methods have no-op
/// defaults.
pub trait Progress: Sync {
    /// The crawl found `files` files so far.
    fn crawling(&self, _files: usize) {}
    /// `total` files need decoding and embedding.
    fn start(&self, _total: usize) {}
    /// `n` more files are done (embedded, copied or failed).
    fn advance(&self, _n: usize) {}
    /// The run is over.
    fn finish(&self) {}
}

/// Reports nothing.
pub struct Silent;
impl Progress for Silent {}
