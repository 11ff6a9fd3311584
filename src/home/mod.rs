//! Where a library's data lives: one trait, two homes.
//!
//! [`Home`] is everything the engine needs from storage: settings (model, roots,
//! albums, the last run's summary), the catalog (records, vectors, thumbnails,
//! perceptual hashes), atomic batches of changes, and the two kinds of candidate
//! search (nearest vectors and keyword matches), with the filters applied inside
//! the search. Query algebra, fusion, cutoff, pagination, duplicates and albums
//! are written once above it ([`crate::Library`], [`crate::query`],
//! [`crate::dupes`], [`crate::albums`]).
//!
//! - [`local`]: a folder on this machine (sled + hnsw_rs + tantivy), the default.
//! - [`qdrant`]: a Qdrant collection (one node or a cluster), for libraries that
//!   outgrow one machine. It is the only module that names `qdrant-client`.

pub mod local;
pub mod qdrant;
mod records;
mod vector_file;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use crate::access::Access;
use crate::albums::Album;
use crate::ann::Scored;
use crate::error::{Error, Result};
use crate::query::Filters;
use crate::store::{Applied, ChangeSet, ImageId, ImageRecord};

/// Which images a candidate search may return: the filters (without the album,
/// which arrives resolved as `members`), and images to leave out.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub filters: &'a Filters,
    /// Only these images (a smart album's members), when set.
    pub members: Option<&'a HashSet<ImageId>>,
    /// Never these (the examples of a "more like this" query).
    pub exclude: &'a [ImageId],
}

impl<'a> Scope<'a> {
    /// Every image.
    pub fn all() -> Scope<'static> {
        static NONE: std::sync::OnceLock<Filters> = std::sync::OnceLock::new();
        Scope {
            filters: NONE.get_or_init(Filters::default),
            members: None,
            exclude: &[],
        }
    }

    /// Whether nothing narrows the search.
    pub fn is_everything(&self) -> bool {
        self.filters.is_empty() && self.members.is_none() && self.exclude.is_empty()
    }

    /// Whether an image passes (for homes that filter in memory).
    pub fn accepts(&self, id: ImageId, rec: &impl crate::store::RecordFields) -> bool {
        !self.exclude.contains(&id)
            && self.members.is_none_or(|m| m.contains(&id))
            && self.filters.accepts(rec)
    }
}

/// One image as [`Home::for_each`] hands it over.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    pub id: ImageId,
    pub record: &'a ImageRecord,
    /// Present when asked for.
    pub vector: Option<&'a [f32]>,
    /// The perceptual hash, when asked for (and known).
    pub phash: Option<u64>,
}

/// What [`Home::for_each`] reads besides each record: a local library keeps
/// the perceptual hashes apart and reads them only for the callers that
/// compare them (duplicate finding).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Want {
    pub vectors: bool,
    pub phash: bool,
}

impl Want {
    /// The records alone.
    pub const RECORDS: Want = Want {
        vectors: false,
        phash: false,
    };

    /// The records, and the vectors if `vectors`.
    pub fn vectors(vectors: bool) -> Want {
        Want {
            vectors,
            phash: false,
        }
    }
}

/// Where a library's data lives. Implementations are [`local::LocalLibrary`] and
/// [`qdrant::QdrantLibrary`]; callers use [`crate::Library`].
pub trait Home: std::any::Any + Send + Sync {
    /// Where it is, for messages: a folder or a `qdrant://` URL.
    fn location(&self) -> String;
    /// The library's folder, for a local library.
    fn folder(&self) -> Option<&Path> {
        None
    }
    /// Whether this is a temporary copy whose changes are discarded.
    fn is_snapshot(&self) -> bool {
        false
    }

    /// The model the vectors come from, if any were written.
    fn model(&self) -> Result<Option<String>>;
    /// The model as the library records it now, read again: another process may
    /// have rebuilt the library with another model since it was opened.
    fn stored_model(&self) -> Result<Option<String>> {
        self.model()
    }
    /// The vectors' dimension (0 before a model is bound).
    fn dim(&self) -> usize;
    /// Records the model and dimension; the caller has checked they may change.
    fn set_model(&mut self, model_id: &str, dim: usize) -> Result<()>;
    fn roots(&self) -> Result<Vec<PathBuf>>;
    fn set_roots(&mut self, roots: &[PathBuf]) -> Result<()>;
    fn last_run(&self) -> Result<Option<serde_json::Value>>;
    fn set_last_run(&mut self, summary: &serde_json::Value) -> Result<()>;
    /// The OCR languages indexing reads text in (`scry index --ocr`), kept
    /// with the library so later runs and a server's rescans keep doing it;
    /// `None`: OCR is off.
    fn ocr(&self) -> Result<Option<String>>;
    fn set_ocr(&mut self, languages: Option<&str>) -> Result<()>;
    /// The library's own tag categories ([`crate::tags`]), beside the
    /// built-in vocabulary, in the order they were added.
    fn categories(&self) -> Result<Vec<String>>;
    fn set_categories(&mut self, categories: &[String]) -> Result<()>;
    /// The smart albums, by name.
    fn albums(&self) -> Result<BTreeMap<String, Album>>;
    fn set_albums(&mut self, albums: &BTreeMap<String, Album>) -> Result<()>;
    /// The users and groups ([`crate::access`]); empty when none were added.
    fn access(&self) -> Result<Access>;
    fn set_access(&mut self, access: &Access) -> Result<()>;

    /// Number of images.
    fn len(&self) -> Result<usize>;
    fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
    /// Number of images within `scope`.
    fn count(&self, scope: &Scope<'_>) -> Result<usize> {
        if scope.is_everything() {
            return self.len();
        }
        let mut n = 0;
        self.for_each(Want::RECORDS, &mut |it| {
            n += usize::from(scope.accepts(it.id, it.record))
        })?;
        Ok(n)
    }
    /// The images within `scope`, in any order.
    fn ids_in(&self, scope: &Scope<'_>) -> Result<Vec<ImageId>> {
        let mut ids = Vec::new();
        self.for_each(Want::RECORDS, &mut |it| {
            if scope.accepts(it.id, it.record) {
                ids.push(it.id);
            }
        })?;
        Ok(ids)
    }
    /// A number that changes whenever the images change (for caches).
    fn generation(&self) -> Result<u64>;
    /// The records of these images (unknown ids are left out), in any order.
    fn records(&self, ids: &[ImageId]) -> Result<Vec<(ImageId, ImageRecord)>>;
    /// The vectors of these images (unknown ids are left out), in any order.
    fn vectors(&self, ids: &[ImageId]) -> Result<Vec<(ImageId, Vec<f32>)>>;
    /// The image's thumbnail (JPEG).
    fn thumbnail(&self, id: ImageId) -> Result<Option<Vec<u8>>>;
    /// Videos' other frames' vectors, each in the order of its record's
    /// `video.frames_ms[1..]` (photos and unknown ids are left out), in one
    /// request where the home is remote.
    fn frames(&self, ids: &[ImageId]) -> Result<Vec<(ImageId, Vec<Vec<f32>>)>>;
    /// The image at this path (raw path bytes).
    fn id_for_path(&self, path: &[u8]) -> Result<Option<ImageId>>;
    /// Every image, in no particular order, with what `want` asks for.
    fn for_each(&self, want: Want, f: &mut dyn FnMut(Item<'_>)) -> Result<()>;
    /// The vector of an indexed image with these bytes, other than `except`
    /// (a byte-identical copy reuses it instead of being encoded again).
    fn vector_of_copy(&self, hash: &[u8; 32], except: Option<ImageId>) -> Result<Option<Vec<f32>>>;

    /// Applies one batch of changes, all or nothing.
    fn commit(&mut self, changes: &ChangeSet) -> Result<Applied>;
    /// Makes every committed change durable in the derived indexes; called at
    /// the end of a run and periodically during long ones.
    fn checkpoint(&mut self) -> Result<()>;

    /// The `k` images nearest to `query` within `scope`, best first, with their
    /// cosine; a video scores as its best frame and appears once. Filters apply
    /// inside the search: k results when k images pass.
    fn nearest(&self, query: &[f32], k: usize, scope: &Scope<'_>) -> Result<Vec<Scored>>;
    /// A query's two candidate lists: [`Home::nearest`] and, for `text`,
    /// [`Home::keyword`] (a remote home answers both in one request).
    fn candidates(
        &self,
        query: &[f32],
        k: usize,
        text: Option<&str>,
        scope: &Scope<'_>,
    ) -> Result<(Vec<Scored>, Vec<Scored>)> {
        let semantic = self.nearest(query, k, scope)?;
        let keyword = match text {
            Some(t) => self.keyword(t, k, scope)?,
            None => Vec::new(),
        };
        Ok((semantic, keyword))
    }
    /// Several [`Home::nearest`] searches over the whole library at once, each
    /// video by its poster frame only (for duplicates).
    fn nearest_many(&self, queries: &[&[f32]], k: usize) -> Result<Vec<Vec<Scored>>> {
        queries
            .iter()
            .map(|q| self.nearest(q, k, &Scope::all()))
            .collect()
    }
    /// Every image whose cosine to `query` is at least `threshold`, best first.
    fn at_least(&self, query: &[f32], threshold: f32) -> Result<Vec<Scored>>;
    /// Images whose words (file and folder names, extension, camera, dates) match
    /// every word of `text`, best first with their BM25 scores, at most `k`.
    fn keyword(&self, text: &str, k: usize, scope: &Scope<'_>) -> Result<Vec<Scored>>;
}

/// Where `--db` points: a folder, or a Qdrant collection.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    Folder(PathBuf),
    Qdrant(qdrant::QdrantUrl),
}

impl Location {
    /// `qdrant://HOST:PORT/NAME` or `qdrants://…` is Qdrant; anything else is a
    /// folder.
    pub fn parse(s: &str) -> Result<Location> {
        if s.starts_with("qdrant://") || s.starts_with("qdrants://") {
            return Ok(Location::Qdrant(qdrant::QdrantUrl::parse(s)?));
        }
        if s.contains("://") {
            return Err(Error::InvalidArgument(format!(
                "--db {s}: expected a folder or qdrant://HOST:PORT/NAME (qdrants:// for TLS)"
            )));
        }
        Ok(Location::Folder(PathBuf::from(s)))
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Folder(p) => write!(f, "{}", p.display()),
            Location::Qdrant(u) => write!(f, "{u}"),
        }
    }
}
