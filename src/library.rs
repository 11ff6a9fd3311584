//! [`Library`]: an open library, whichever [`Home`] holds its data. What is
//! the same for every home — the rules for binding a model, roots and albums —
//! is written here once; where the data lives is the home's business.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::albums::Album;
use crate::ann::Scored;
use crate::error::{Error, Result};
use crate::home::local::LocalLibrary;
use crate::home::qdrant::{QdrantLibrary, QdrantUrl};
use crate::home::{Home, Item, Location, Scope, Want};
use crate::store::{Applied, ChangeSet, ImageId, ImageRecord};

/// An open library.
pub struct Library {
    home: Box<dyn Home>,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Library")
            .field("location", &self.home.location())
            .finish()
    }
}

impl From<LocalLibrary> for Library {
    fn from(l: LocalLibrary) -> Self {
        Library { home: Box::new(l) }
    }
}

impl From<QdrantLibrary> for Library {
    fn from(q: QdrantLibrary) -> Self {
        Library { home: Box::new(q) }
    }
}

impl Library {
    /// Opens (or creates) the local library in `dir`, repairing derived indexes
    /// that a crash left behind the catalog.
    pub fn open(dir: &Path) -> Result<Self> {
        Ok(LocalLibrary::open(dir)?.into())
    }

    /// Opens the local library in `dir` without reading its ANN graph, for a few
    /// searches (see [`LocalLibrary::open_without_graph`]).
    pub fn open_without_graph(dir: &Path) -> Result<Self> {
        Ok(LocalLibrary::open_without_graph(dir)?.into())
    }

    /// Opens a temporary copy of the local library in `dir` (see
    /// [`LocalLibrary::open_snapshot`]).
    pub fn open_snapshot(dir: &Path) -> Result<Self> {
        Ok(LocalLibrary::open_snapshot(dir)?.into())
    }

    /// Connects to (or creates) the library in a Qdrant collection.
    pub fn connect(url: &QdrantUrl) -> Result<Self> {
        Ok(QdrantLibrary::connect(url)?.into())
    }

    /// Opens the library wherever it lives.
    pub fn open_at(location: &Location) -> Result<Self> {
        match location {
            Location::Folder(dir) => Self::open(dir),
            Location::Qdrant(url) => Self::connect(url),
        }
    }

    /// The home itself.
    pub fn home(&self) -> &dyn Home {
        self.home.as_ref()
    }

    /// The local library, when the data lives in a folder (for what only it
    /// has: the catalog's internals, the graph).
    pub fn local(&self) -> Option<&LocalLibrary> {
        let any: &dyn std::any::Any = self.home.as_ref();
        any.downcast_ref()
    }

    /// The Qdrant library, when the data lives in Qdrant (to end a rebuild).
    pub fn qdrant_mut(&mut self) -> Option<&mut QdrantLibrary> {
        let any: &mut dyn std::any::Any = self.home.as_mut();
        any.downcast_mut()
    }

    /// Where it is, for messages.
    pub fn location(&self) -> String {
        self.home.location()
    }

    /// The library's folder, for a local library.
    pub fn dir(&self) -> Option<&Path> {
        self.home.folder()
    }

    /// Whether this is a temporary copy ([`Library::open_snapshot`]).
    pub fn is_snapshot(&self) -> bool {
        self.home.is_snapshot()
    }

    /// An image's record.
    pub fn meta(&self, id: ImageId) -> Result<Option<ImageRecord>> {
        Ok(self.home.records(&[id])?.pop().map(|(_, r)| r))
    }

    /// The records of these images, in the order of `ids` (unknown ones left out).
    pub fn records(&self, ids: &[ImageId]) -> Result<Vec<(ImageId, ImageRecord)>> {
        let mut found: std::collections::HashMap<ImageId, ImageRecord> =
            self.home.records(ids)?.into_iter().collect();
        Ok(ids
            .iter()
            .filter_map(|id| Some((*id, found.remove(id)?)))
            .collect())
    }

    /// An image's vector.
    pub fn vector(&self, id: ImageId) -> Result<Option<Vec<f32>>> {
        Ok(self.home.vectors(&[id])?.pop().map(|(_, v)| v))
    }

    /// The vectors of these images (unknown ones left out), in any order.
    pub fn vectors(&self, ids: &[ImageId]) -> Result<Vec<(ImageId, Vec<f32>)>> {
        self.home.vectors(ids)
    }

    /// Where in a video `query` matches best: that frame's time in seconds and
    /// its cosine (the poster's when no other frame does better); `None` for a
    /// photo.
    pub fn best_frame(
        &self,
        id: ImageId,
        record: &ImageRecord,
        query: &[f32],
    ) -> Result<Option<(f64, f32)>> {
        Ok(self
            .best_frames(&[(id, record)], query)?
            .into_iter()
            .next()
            .map(|(_, t, c)| (t, c)))
    }

    /// [`Library::best_frame`] of several images at once (one request for all
    /// their frames on a remote home): `(id, seconds, cosine)` for the videos.
    pub fn best_frames(
        &self,
        hits: &[(ImageId, &ImageRecord)],
        query: &[f32],
    ) -> Result<Vec<(ImageId, f64, f32)>> {
        let videos: Vec<(ImageId, &crate::store::Video)> = hits
            .iter()
            .filter_map(|(id, r)| Some((*id, r.video.as_ref()?)))
            .collect();
        if videos.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<ImageId> = videos.iter().map(|(id, _)| *id).collect();
        let posters: std::collections::HashMap<ImageId, Vec<f32>> =
            self.vectors(&ids)?.into_iter().collect();
        let mut others: std::collections::HashMap<ImageId, Vec<Vec<f32>>> =
            self.home.frames(&ids)?.into_iter().collect();
        Ok(videos
            .into_iter()
            .filter_map(|(id, video)| {
                let poster = posters.get(&id)?;
                let frames = others.remove(&id).unwrap_or_default();
                std::iter::once(poster.as_slice())
                    .chain(frames.iter().map(Vec::as_slice))
                    .zip(&video.frames_ms)
                    .map(|(v, &ms)| (id, f64::from(ms) / 1000.0, crate::ann::dot(query, v)))
                    .fold(None, |best: Option<(ImageId, f64, f32)>, x| match best {
                        Some(b) if b.2 >= x.2 => Some(b),
                        _ => Some(x),
                    })
            })
            .collect())
    }

    /// The vector of a video's frame nearest `seconds` (its poster's when it
    /// is a photo, or has no other frame).
    pub fn frame_vector(&self, id: ImageId, seconds: f64) -> Result<Option<Vec<f32>>> {
        let Some(poster) = self.vector(id)? else {
            return Ok(None);
        };
        let Some(video) = self.meta(id)?.and_then(|r| r.video) else {
            return Ok(Some(poster));
        };
        let frames = self
            .home
            .frames(&[id])?
            .into_iter()
            .next()
            .map(|(_, f)| f)
            .unwrap_or_default();
        let at = (seconds * 1000.0).round();
        let nearest = video
            .frames_ms
            .iter()
            .enumerate()
            .min_by(|a, b| {
                (f64::from(*a.1) - at)
                    .abs()
                    .total_cmp(&(f64::from(*b.1) - at).abs())
            })
            .map_or(0, |(i, _)| i);
        Ok(Some(match nearest {
            0 => poster,
            i => frames.get(i - 1).cloned().unwrap_or(poster),
        }))
    }

    /// An image's thumbnail (JPEG).
    pub fn thumbnail(&self, id: ImageId) -> Result<Option<Vec<u8>>> {
        self.home.thumbnail(id)
    }

    /// The image at this path.
    pub fn id_for_path(&self, path: &Path) -> Result<Option<ImageId>> {
        self.home.id_for_path(&crate::store::path_to_bytes(path))
    }

    /// Every image, in no particular order; vectors only when asked for.
    pub fn for_each(&self, vectors: bool, f: impl FnMut(Item<'_>)) -> Result<()> {
        self.for_each_with(Want::vectors(vectors), f)
    }

    /// Every image, in no particular order, with what `want` asks for.
    pub fn for_each_with(&self, want: Want, mut f: impl FnMut(Item<'_>)) -> Result<()> {
        self.home.for_each(want, &mut f)
    }

    /// Every image's record.
    pub fn all_records(&self) -> Result<Vec<(ImageId, ImageRecord)>> {
        let mut out = Vec::new();
        self.for_each(false, |it| out.push((it.id, it.record.clone())))?;
        Ok(out)
    }

    /// The vector of an indexed copy of these bytes, other than `except`.
    pub fn vector_of_copy(
        &self,
        hash: &[u8; 32],
        except: Option<ImageId>,
    ) -> Result<Option<Vec<f32>>> {
        self.home.vector_of_copy(hash, except)
    }

    /// Number of images.
    pub fn len(&self) -> Result<usize> {
        self.home.len()
    }

    pub fn is_empty(&self) -> Result<bool> {
        self.home.is_empty()
    }

    /// A number that changes whenever the images change.
    pub fn generation(&self) -> Result<u64> {
        self.home.generation()
    }

    /// The vectors' dimension (0 before a model is bound).
    pub fn dim(&self) -> usize {
        self.home.dim()
    }

    /// The model the library's vectors come from, if any were written.
    pub fn model(&self) -> Result<Option<String>> {
        self.home.model()
    }

    /// The model as the library records it now (see [`Home::stored_model`]).
    pub fn stored_model(&self) -> Result<Option<String>> {
        self.home.stored_model()
    }

    /// Refuses a model other than the one the library was indexed with (mixing
    /// embeddings of two models would make every search silently wrong).
    pub fn check_model(&self, model_id: &str) -> Result<()> {
        match self.model()? {
            Some(m) if m != model_id => Err(Error::IncompatibleLibrary {
                path: PathBuf::from(self.location()),
                message: format!(
                    "the library was indexed with model {m}; pass --model {m}, or re-index \
                     everything with the new model: scry index --rebuild --model {model_id}"
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Records the model on first use; refuses another model afterwards, unless
    /// the library is empty.
    pub fn bind_model(&mut self, model_id: &str, dim: usize) -> Result<()> {
        match self.model()? {
            Some(m) if m == model_id && self.dim() == dim => Ok(()),
            Some(_) if !self.is_empty()? => {
                self.check_model(model_id)?;
                // Same model id, other dimension: the folder's weights changed.
                Err(Error::IncompatibleLibrary {
                    path: PathBuf::from(self.location()),
                    message: format!(
                        "the library holds {}-dimensional vectors, {model_id} makes {dim}; \
                         re-index with scry index --rebuild",
                        self.dim()
                    ),
                })
            }
            _ => self.home.set_model(model_id, dim),
        }
    }

    /// The folders this library indexes.
    pub fn roots(&self) -> Result<Vec<PathBuf>> {
        self.home.roots()
    }

    /// Adds folders to the set of roots (kept sorted and unique). A folder inside
    /// a root is already covered and is not added; a root inside a new folder is
    /// replaced by it (a folder is never crawled twice).
    pub fn add_roots(&mut self, roots: &[PathBuf]) -> Result<()> {
        let mut all = self.home.roots()?;
        let before = all.clone();
        for r in roots {
            if !all.iter().any(|a| r.starts_with(a)) {
                all.retain(|a| !a.starts_with(r));
                all.push(r.clone());
            }
        }
        all.sort();
        if all == before {
            return Ok(());
        }
        self.home.set_roots(&all)
    }

    /// The summary of the last indexing run, as the indexer wrote it.
    pub fn last_run(&self) -> Result<Option<serde_json::Value>> {
        self.home.last_run()
    }

    pub fn set_last_run(&mut self, summary: &serde_json::Value) -> Result<()> {
        self.home.set_last_run(summary)
    }

    /// The OCR languages indexing reads text in, `None` when OCR is off
    /// ([`crate::ocr`]).
    pub fn ocr(&self) -> Result<Option<String>> {
        self.home.ocr()
    }

    /// Turns OCR on or off for later runs (on a new library, after
    /// [`Library::bind_model`]: a Qdrant collection is made then).
    pub fn set_ocr(&mut self, languages: Option<&str>) -> Result<()> {
        if self.home.ocr()?.as_deref() == languages {
            return Ok(());
        }
        self.home.set_ocr(languages)
    }

    /// The users and groups ([`crate::access`]).
    pub fn access(&self) -> Result<crate::access::Access> {
        self.home.access()
    }

    pub fn set_access(&mut self, access: &crate::access::Access) -> Result<()> {
        self.home.set_access(access)
    }

    /// Those of `ids` whose images are under one of `roots` (what a viewer may
    /// see); unknown ids are left out.
    pub fn ids_under(
        &self,
        ids: &[ImageId],
        roots: &[PathBuf],
    ) -> Result<std::collections::HashSet<ImageId>> {
        Ok(self
            .records(ids)?
            .into_iter()
            .filter(|(_, r)| r.is_under_any(roots))
            .map(|(id, _)| id)
            .collect())
    }

    /// The images within `scope` (what a viewer may see, say), in any order.
    pub fn ids_in(&self, scope: &Scope<'_>) -> Result<Vec<ImageId>> {
        self.home.ids_in(scope)
    }

    /// Number of images within `scope` (what a viewer may see, say).
    pub fn count(&self, scope: &Scope<'_>) -> Result<usize> {
        self.home.count(scope)
    }

    /// The library's own tag categories ([`crate::tags`]), beside the
    /// built-in vocabulary.
    pub fn categories(&self) -> Result<Vec<String>> {
        self.home.categories()
    }

    /// Adds a tag category (checked with [`crate::tags::check_category`]); false
    /// when the vocabulary already has one with that keyword (built in or
    /// added before).
    pub fn add_category(&mut self, name: &str) -> Result<bool> {
        let name = crate::tags::check_category(name)?;
        let mut mine = self.home.categories()?;
        let k = crate::tags::keyword(&name);
        if crate::tags::vocabulary(&mine)
            .iter()
            .any(|c| crate::tags::keyword(c) == k)
        {
            return Ok(false);
        }
        if mine.len() >= crate::tags::MAX_CATEGORIES {
            return Err(Error::InvalidArgument(format!(
                "a library has at most {} categories of its own; remove one first",
                crate::tags::MAX_CATEGORIES
            )));
        }
        mine.push(name);
        self.home.set_categories(&mine)?;
        Ok(true)
    }

    /// Removes one of the library's own categories, by name or keyword; false
    /// if it had none such. Built-in categories stay.
    pub fn remove_category(&mut self, name: &str) -> Result<bool> {
        let k = crate::tags::keyword(name);
        if crate::tags::VOCABULARY
            .iter()
            .any(|c| crate::tags::keyword(c) == k)
        {
            return Err(Error::InvalidArgument(format!(
                "{name:?} is a built-in category; only the library's own can be removed"
            )));
        }
        let mut mine = self.home.categories()?;
        let before = mine.len();
        mine.retain(|c| crate::tags::keyword(c) != k);
        if mine.len() == before {
            return Ok(false);
        }
        self.home.set_categories(&mine)?;
        Ok(true)
    }

    /// The smart albums, by name.
    pub fn albums(&self) -> Result<Vec<Album>> {
        Ok(self.home.albums()?.into_values().collect())
    }

    /// One album, by [`Album::key`]; an unknown one is a `NotFound` error
    /// listing the albums there are.
    pub fn album(&self, name: &str) -> Result<Album> {
        let albums = self.home.albums()?;
        if let Some(a) = albums.get(name) {
            return Ok(a.clone());
        }
        let listing = if albums.is_empty() {
            "there are none yet (scry album add NAME --prompt TEXT)".to_string()
        } else {
            let names: Vec<&str> = albums.keys().map(String::as_str).collect();
            format!("albums: {}", names.join(", "))
        };
        Err(Error::NotFound(format!(
            "no album named {name:?}; {listing}"
        )))
    }

    /// Adds or replaces an album.
    pub fn put_album(&mut self, album: Album) -> Result<()> {
        crate::albums::check_name(&album.name)?;
        crate::albums::check_threshold(album.threshold)?;
        if album.vector.len() != self.dim() && self.dim() != 0 {
            return Err(Error::InvalidArgument(format!(
                "album vector of {} values for a library of dimension {}",
                album.vector.len(),
                self.dim()
            )));
        }
        let mut map: BTreeMap<String, Album> = self.home.albums()?;
        map.insert(album.key(), album);
        self.home.set_albums(&map)
    }

    /// Removes an album (by [`Album::key`]); false if there was none.
    pub fn remove_album(&mut self, name: &str) -> Result<bool> {
        let mut map = self.home.albums()?;
        let had = map.remove(name).is_some();
        if had {
            self.home.set_albums(&map)?;
        }
        Ok(had)
    }

    /// Applies one batch of changes, all or nothing.
    pub fn commit(&mut self, changes: &ChangeSet) -> Result<Applied> {
        if let Some(bad) = changes.added.iter().find(|a| a.vector.len() != self.dim()) {
            return Err(Error::InvalidArgument(format!(
                "vector of {} values for a library of dimension {}",
                bad.vector.len(),
                self.dim()
            )));
        }
        self.home.commit(changes)
    }

    /// Makes the committed changes durable in the derived indexes.
    pub fn checkpoint(&mut self) -> Result<()> {
        self.home.checkpoint()
    }

    /// The `k` images nearest to `query` within `scope`, best first.
    pub fn nearest(&self, query: &[f32], k: usize, scope: &Scope<'_>) -> Result<Vec<Scored>> {
        self.home.nearest(query, k, scope)
    }

    /// The semantic and keyword candidates of one query (see [`Home::candidates`]).
    pub fn candidates(
        &self,
        query: &[f32],
        k: usize,
        text: Option<&str>,
        scope: &Scope<'_>,
    ) -> Result<(Vec<Scored>, Vec<Scored>)> {
        self.home.candidates(query, k, text, scope)
    }

    /// Every image at cosine ≥ `threshold` from `query`, best first.
    pub fn at_least(&self, query: &[f32], threshold: f32) -> Result<Vec<Scored>> {
        self.home.at_least(query, threshold)
    }

    /// Keyword matches within `scope`, best first.
    pub fn keyword(&self, text: &str, k: usize, scope: &Scope<'_>) -> Result<Vec<Scored>> {
        self.home.keyword(text, k, scope)
    }
}
