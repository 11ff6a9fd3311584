//! The local home: a library in one folder on this machine: the catalog (sled),
//! the ANN graph (hnsw_rs) and the keyword index (tantivy), written in a fixed
//! order so that a crash between any two writes is repaired on the next open.
//!
//! Order and recovery:
//! 1. The catalog is written first, one atomic, flushed transaction per batch. It
//!    is the truth; the rest is derived from it.
//! 2. The keyword index is committed with the catalog generation as its payload.
//!    On open, a keyword index whose generation differs is re-created from the
//!    catalog.
//! 3. The ANN graph is dumped to new files; then the catalog records the dump's
//!    name, point count and highest id; then the old dump is deleted. On open, the
//!    recorded dump is loaded and catalog vectors with higher ids are inserted;
//!    removed images are tombstones filtered at query time; a dump that is missing
//!    or unreadable is rebuilt from the catalog's vectors.
//! 4. The vectors are written to one flat file in the same way (dump, record
//!    with the catalog generation, delete the old one): opening reads it instead
//!    of walking the catalog's vector tree while the generation it records is the
//!    catalog's ([`super::vector_file`]).
//!
//! 5. The graph's search view is written to a file of its own in the same way
//!    (recorded with the generation and the dump it was made from). A library
//!    opened at that generation searches with it, memory-mapped, and reads the
//!    dump only before its first change ([`crate::ann::Graph::open_view`]).
//! 6. The records, as the in-memory table holds them (encoded, sorted by id),
//!    are written to a file of their own in the same way: a library opened at
//!    that generation maps it instead of reading every record out of the
//!    catalog ([`super::records`]).
//!
//! A video's other frames (beyond the poster, whose vector is the record's) are
//! kept apart from the images' vectors and scanned exactly at each search: a
//! video scores as its best frame. Frames are few beside photos (at most 31 a
//! video), so the scan stays small; everything that counts images (albums,
//! duplicates, tags) sees the poster only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Home, Item, Scope, Want};
use crate::access::Access;
use crate::albums::Album;
use crate::ann::{is_view_file, Graph, NearestNeighbours, Scored, Vectors, GRAPH_MIN_POINTS};
use crate::error::{Error, Result};
use crate::keyword::KeywordIndex;
use std::collections::HashMap;

use super::records::{self, RecordTable};
use super::vector_file::{self, VectorFileMeta};
use crate::store::{Applied, ChangeSet, ImageId, ImageRecord, Store};

/// Records a filtered search tests to estimate how many images the filter keeps
/// (±1.5 % of the library at 95 % confidence).
const FILTER_SAMPLE: usize = 4096;

/// Share of tombstones in the graph above which it is rebuilt.
pub const COMPACT_DEAD_SHARE: f64 = 0.2;

const KEY_MODEL: &[u8] = b"model";
const KEY_DIM: &[u8] = b"dim";
const KEY_ROOTS: &[u8] = b"roots";
const KEY_ANN: &[u8] = b"ann";
const KEY_VECTOR_FILE: &[u8] = b"vector_file";
const KEY_VIEW_FILE: &[u8] = b"view_file";
const KEY_RECORD_FILE: &[u8] = b"record_file";
const KEY_LAST_RUN: &[u8] = b"last_run";
const KEY_OCR: &[u8] = b"ocr";
const KEY_ALBUMS: &[u8] = b"albums";
const KEY_CATEGORIES: &[u8] = b"categories";
/// The users and groups: a file of its own, so a rebuild (which sets the
/// catalog aside) keeps them.
const ACCESS_FILE: &str = "access.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AnnMeta {
    basename: String,
    points: usize,
    max_id: ImageId,
}

/// What the catalog records of the graph's view file (step 5).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ViewFileMeta {
    /// The file's name inside the `ann` folder.
    name: String,
    /// The catalog generation it was written at (its rows are those of the
    /// vector file of the same generation).
    generation: u64,
    /// The graph dump it was made from.
    graph: String,
}

/// An open library.
pub struct LocalLibrary {
    dir: PathBuf,
    store: Store,
    vectors: Vectors,
    /// Videos' other frames, under [`frame_point`] ids.
    frames: Vectors,
    graph: Option<Graph>,
    graph_dirty: bool,
    /// hnsw_rs's graph is read before the first change (opened with the view
    /// file, or by [`LocalLibrary::open_without_graph`]).
    graph_deferred: bool,
    /// Opened by [`LocalLibrary::open_without_graph`] for a few searches: they
    /// scan (the view file's codes, or the vectors) instead of walking a graph.
    scan_only: bool,
    keyword: KeywordIndex,
    keyword_dirty: bool,
    /// The flat file of the vectors the catalog records (step 4).
    vector_file: Option<VectorFileMeta>,
    /// The graph's view file the catalog records (step 5).
    view_file: Option<ViewFileMeta>,
    /// The record table's file the catalog records (step 6).
    record_file: Option<VectorFileMeta>,
    /// Every record, in memory and encoded ([`RecordTable`]): filters and
    /// result pages read it without touching the catalog's disk.
    metas: RecordTable,
    /// Perceptual hashes (8 bytes an image), read from the catalog the first
    /// time they are asked for: only duplicate finding needs them, and reading
    /// them was the longest part of opening a library for a search.
    phashes: std::sync::OnceLock<HashMap<ImageId, u64>>,
    /// For [`LocalLibrary::open_snapshot`]: the temporary copy, removed after the
    /// indexes above are closed (fields drop in declaration order).
    snapshot: Option<tempfile::TempDir>,
    /// Where the users and groups are: the library's own folder, also for a
    /// snapshot (so users added while it is served take effect).
    access_dir: PathBuf,
}

impl std::fmt::Debug for LocalLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLibrary")
            .field("dir", &self.dir)
            .field("images", &self.vectors.len())
            .field("graph", &self.graph)
            .finish()
    }
}

impl LocalLibrary {
    /// Opens (or creates) the library in `dir`, repairing derived indexes that a
    /// crash left behind the catalog.
    pub fn open(dir: &Path) -> Result<Self> {
        let mut lib = Self::open_catalog(dir)?;
        if !lib.open_view()? {
            lib.open_graph()?;
        }
        Ok(lib)
    }

    /// Opens the library without reading its ANN graph, for a command that runs a
    /// few searches (`scry search`): they scan the vectors exactly, which for one
    /// query is far cheaper than reading a graph (at 10,000 images reading it was
    /// ~30 % of `scry search`; at a million, tens of seconds against a scan of
    /// ~0.1 s) and exact. The graph's view file, where the catalog records one
    /// at its generation, costs nothing to open and is searched instead. The
    /// graph is read before the first change, so the library on disk stays as
    /// [`LocalLibrary::open`] keeps it.
    pub fn open_without_graph(dir: &Path) -> Result<Self> {
        let mut lib = Self::open_catalog(dir)?;
        lib.open_view()?;
        lib.graph_deferred = true;
        lib.scan_only = true;
        Ok(lib)
    }

    /// Reads hnsw_rs's graph now if it was left unread ([`LocalLibrary::open_view`],
    /// [`LocalLibrary::open_without_graph`]): it replaces the graph read from
    /// its view file, which cannot change.
    fn ensure_graph(&mut self) -> Result<()> {
        if std::mem::take(&mut self.graph_deferred) {
            self.graph = None;
            self.open_graph()?;
        }
        Ok(())
    }

    /// The recorded view file, the vector file it re-scores from and the
    /// graph it was made from, if the view is the current graph's at
    /// `generation`.
    fn current_view(
        &self,
        generation: u64,
    ) -> Result<Option<(ViewFileMeta, VectorFileMeta, AnnMeta)>> {
        let (Some(view), Some(vectors)) = (&self.view_file, &self.vector_file) else {
            return Ok(None);
        };
        if view.generation != generation || vectors.generation != generation {
            return Ok(None);
        }
        Ok(self
            .store
            .meta_get::<AnnMeta>(KEY_ANN)?
            .filter(|a| a.basename == view.graph)
            .map(|ann| (view.clone(), vectors.clone(), ann)))
    }

    /// Searches with the graph's view file if the catalog records a current
    /// one (step 5): memory-mapped, nothing read up front, hnsw_rs's graph
    /// left for the first change. `false` (and a warning if a file was there)
    /// when there is none to use.
    fn open_view(&mut self) -> Result<bool> {
        let generation = self.store.generation()?;
        let Some((view, vectors, ann)) = self.current_view(generation)? else {
            return Ok(false);
        };
        let dir = self.ann_dir();
        let dim = self.vectors.dim();
        let opened = vector_file::open(&dir, &vectors, generation, dim)
            .map_err(|e| Error::io(dir.join(&vectors.name), e))
            .and_then(|file| match file {
                // The header checked; the rows are read where a search needs one.
                Some((file, count)) if is_view_file(&view.name) => Graph::open_view(
                    &dir.join(&view.name),
                    generation,
                    dim,
                    file,
                    vector_file::values_offset(count),
                    count,
                    ann.max_id,
                ),
                _ => Ok(None),
            });
        match opened {
            Ok(Some(graph)) if graph.points() == ann.points => {
                self.graph = Some(graph);
                self.graph_deferred = true;
                Ok(true)
            }
            Ok(_) => {
                tracing::warn!("{}: not this library's graph; reading its dump", view.name);
                Ok(false)
            }
            Err(e) => {
                tracing::warn!("{e}; reading the graph's dump");
                Ok(false)
            }
        }
    }

    /// Everything but the graph.
    fn open_catalog(dir: &Path) -> Result<Self> {
        let store = Store::open(&dir.join("catalog"))?;
        let dim: usize = store.meta_get(KEY_DIM)?.unwrap_or(0);
        let generation = store.generation()?;
        let vector_file: Option<VectorFileMeta> = store.meta_get(KEY_VECTOR_FILE)?;
        let view_file: Option<ViewFileMeta> = store.meta_get(KEY_VIEW_FILE)?;
        let record_file: Option<VectorFileMeta> = store.meta_get(KEY_RECORD_FILE)?;
        let ann_dir = dir.join("ann");
        // The trees are read side by side, one thread each (sled reads them
        // concurrently): the vectors and frames, the records. The records'
        // count is the images' count (sled would walk the tree again to count
        // it).
        let middle = store.last_id()?.unwrap_or(0) / 2 + 1;
        let table = |range: std::ops::Range<ImageId>| -> Result<RecordTable> {
            let mut failed = None;
            let rows = store.raw_records_in(range).map_while(|r| match r {
                Ok(row) => Some(row),
                Err(e) => {
                    failed = Some(e);
                    None
                }
            });
            let table = RecordTable::from_encoded(rows).map_err(|id| Error::DataCorruption {
                path: store.dir().to_path_buf(),
                message: format!("image record {id} unreadable; run `scry index --rebuild`"),
            });
            match failed {
                Some(e) => Err(e),
                None => table,
            }
        };
        let table = &table;
        let (vectors, metas) = std::thread::scope(|s| {
            let vectors = s.spawn(|| -> Result<(Vectors, Vectors)> {
                let flat = vector_file.as_ref().and_then(|meta| {
                    vector_file::read(&ann_dir, meta, generation, dim).unwrap_or_else(|e| {
                        tracing::warn!("{}: {e}; reading the catalog", meta.name);
                        None
                    })
                });
                let from_tree = flat.is_none();
                let mut vectors = flat.unwrap_or_else(|| Vectors::new(dim));
                let tree = from_tree.then(|| store.vectors()).into_iter().flatten();
                for item in tree {
                    let (id, v) = item?;
                    if v.len() != dim {
                        return Err(Error::DataCorruption {
                            path: store.dir().to_path_buf(),
                            message: format!(
                                "vector of image {id} has {} values, the library's dimension \
                                 is {dim}; run `scry index --rebuild`",
                                v.len()
                            ),
                        });
                    }
                    vectors.insert(id, &v);
                }
                let mut frames = Vectors::new(dim);
                for item in store.all_frames(dim) {
                    let (id, fs) = item?;
                    for (k, v) in fs.iter().enumerate() {
                        frames.insert(frame_point(id, k + 1), v);
                    }
                }
                Ok((vectors, frames))
            });
            // An unchanged library maps the table its last checkpoint wrote.
            let mapped = record_file.as_ref().and_then(|meta| {
                RecordTable::open(&ann_dir, meta, generation).unwrap_or_else(|e| {
                    tracing::warn!("{}: {e}; reading the catalog", meta.name);
                    None
                })
            });
            if let Some(table) = mapped {
                let vectors = vectors
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p));
                return (vectors, Ok(table));
            }
            // Else the records in two halves of the ids, the upper half on a
            // thread of its own (at a million images, 2.7 s on one core when
            // they were decoded; they are kept encoded).
            let upper = s.spawn(move || table(middle..ImageId::MAX));
            let metas = (|| -> Result<RecordTable> {
                let mut lower = table(0..middle)?;
                let upper = upper
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))?;
                lower.append(upper);
                Ok(lower)
            })();
            let vectors = vectors
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (vectors, metas)
        });
        let ((vectors, frames), metas) = (vectors?, metas?);
        let images = metas.len();
        if vectors.len() != images {
            return Err(Error::DataCorruption {
                path: store.dir().to_path_buf(),
                message: format!(
                    "{} images but {} vectors; run `scry index --rebuild`",
                    images,
                    vectors.len()
                ),
            });
        }
        let keyword = KeywordIndex::open(&dir.join("keyword"))?;
        let mut lib = Self {
            dir: dir.to_path_buf(),
            store,
            vectors,
            frames,
            graph: None,
            graph_dirty: false,
            graph_deferred: false,
            scan_only: false,
            keyword,
            keyword_dirty: false,
            vector_file,
            view_file,
            record_file,
            metas,
            phashes: std::sync::OnceLock::new(),
            snapshot: None,
            access_dir: dir.to_path_buf(),
        };
        if lib.keyword.generation()? != generation {
            tracing::info!("keyword index behind the catalog: re-creating it");
            lib.rebuild_keyword()?;
        }
        Ok(lib)
    }

    /// Opens a copy of the library made in the temporary folder: for searching a
    /// library whose own folder cannot be written (a read-only mount, a full disk),
    /// which sled cannot open in place. Changes go to the copy and are discarded.
    pub fn open_snapshot(dir: &Path) -> Result<Self> {
        let tmp = tempfile::Builder::new()
            .prefix("scry-snapshot-")
            .tempdir()
            .map_err(|e| Error::io(std::env::temp_dir(), e))?;
        for part in ["catalog", "keyword", "ann"] {
            let from = dir.join(part);
            if from.exists() {
                copy_tree(&from, &tmp.path().join(part))?;
            }
        }
        let mut lib = Self::open(tmp.path())?;
        lib.snapshot = Some(tmp);
        lib.access_dir = dir.to_path_buf();
        Ok(lib)
    }

    /// Whether this is a temporary copy ([`LocalLibrary::open_snapshot`]).
    pub fn is_snapshot(&self) -> bool {
        self.snapshot.is_some()
    }

    fn ann_dir(&self) -> PathBuf {
        self.dir.join("ann")
    }

    fn open_graph(&mut self) -> Result<()> {
        let recorded = self.store.meta_get::<AnnMeta>(KEY_ANN)?;
        self.remove_unrecorded_dumps(recorded.as_ref().map(|m| m.basename.as_str()));
        if let Some(meta) = recorded {
            match Graph::load(&self.ann_dir(), &meta.basename, meta.points, meta.max_id) {
                Ok(mut graph) => {
                    // Vectors committed after the last dump.
                    for (id, v) in self.vectors.iter() {
                        if id > meta.max_id {
                            graph.insert(id, v);
                            self.graph_dirty = true;
                        }
                    }
                    // Ready before the first query, made once after the inserts.
                    graph.warm();
                    self.graph = Some(graph);
                    return Ok(());
                }
                Err(e) => tracing::warn!("{e}; rebuilding the ANN graph from the catalog"),
            }
        }
        if self.vectors.len() >= GRAPH_MIN_POINTS {
            self.graph = Some(Graph::build(&self.vectors));
            self.graph_dirty = true;
            self.save_graph()?;
        }
        Ok(())
    }

    /// A crash between writing a dump and recording it in the catalog leaves
    /// files no one will load: removed on the next open (one process has a
    /// library open at a time: sled locks the catalog).
    fn remove_unrecorded_dumps(&self, recorded: Option<&str>) {
        let Ok(entries) = std::fs::read_dir(self.ann_dir()) else {
            return;
        };
        // Each kind of file written at a checkpoint: how its names look, the
        // one recorded, what it is.
        type Kind<'a> = (fn(&str) -> bool, Option<&'a str>, &'static str);
        let kinds: [Kind<'_>; 3] = [
            (
                records::is_record_file,
                self.record_file.as_ref().map(|m| m.name.as_str()),
                "record table",
            ),
            (
                vector_file::is_vector_file,
                self.vector_file.as_ref().map(|m| m.name.as_str()),
                "vector file",
            ),
            (
                is_view_file,
                self.view_file.as_ref().map(|m| m.name.as_str()),
                "graph view file",
            ),
        ];
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some((_, _, what)) = kinds
                .iter()
                .find(|(is_kind, kept, _)| is_kind(&name) && *kept != Some(name.as_str()))
            {
                tracing::info!("removing an unrecorded {what}: {name}");
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            let base = name
                .strip_suffix(".hnsw.graph")
                .or_else(|| name.strip_suffix(".hnsw.data"));
            if base.is_some_and(|b| Some(b) != recorded) {
                tracing::info!("removing an unrecorded ANN dump: {name}");
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// The folder of the library.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The catalog.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The live vectors.
    pub fn vectors(&self) -> &Vectors {
        &self.vectors
    }

    /// Whether the records are read in place from the table file the last
    /// checkpoint wrote (an unchanged library), rather than from the catalog.
    pub fn records_are_mapped(&self) -> bool {
        self.metas.is_mapped()
    }

    /// An image's record, from memory.
    pub fn meta(&self, id: ImageId) -> Option<ImageRecord> {
        self.metas.record(id)
    }

    /// Every image's record, from memory, in id order.
    pub fn metas(&self) -> impl Iterator<Item = (ImageId, ImageRecord)> + '_ {
        self.metas.records()
    }

    /// An image's perceptual hash ([`crate::dupes::perceptual_hash`]).
    pub fn phash(&self, id: ImageId) -> Option<u64> {
        self.phashes().get(&id).copied()
    }

    /// Every image's perceptual hash, read on first use.
    fn phashes(&self) -> &HashMap<ImageId, u64> {
        self.phashes.get_or_init(|| {
            self.read_phashes().unwrap_or_else(|e| {
                tracing::warn!(
                    "perceptual hashes unreadable ({e}): duplicates found by vector only"
                );
                HashMap::new()
            })
        })
    }

    /// The catalog's perceptual hashes. Libraries indexed before they were kept
    /// get them from their thumbnails, once.
    fn read_phashes(&self) -> Result<HashMap<ImageId, u64>> {
        let mut phashes: HashMap<ImageId, u64> = self.store.phashes().collect::<Result<_>>()?;
        let missing: Vec<ImageId> = self
            .metas
            .ids()
            .iter()
            .copied()
            .filter(|id| !phashes.contains_key(id))
            .collect();
        if missing.is_empty() {
            return Ok(phashes);
        }
        tracing::info!(
            "computing perceptual hashes of {} images from their thumbnails",
            missing.len()
        );
        let mut computed = Vec::with_capacity(missing.len());
        for id in missing {
            let Some(jpeg) = self.store.thumbnail(id)? else {
                continue;
            };
            if let Ok(img) = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg) {
                computed.push((id, crate::dupes::perceptual_hash(&img.into_rgb8())));
            }
        }
        self.store.set_phashes(&computed)?;
        phashes.extend(computed);
        Ok(phashes)
    }

    /// The keyword index.
    pub fn keyword(&self) -> &KeywordIndex {
        &self.keyword
    }

    /// The ANN graph, when the library is large enough to keep one.
    pub fn graph(&self) -> Option<&Graph> {
        self.graph.as_ref()
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    /// Step 1 of a batch: the catalog (atomic, durable), then the in-memory
    /// indexes. Keyword changes are durable at the next [`LocalLibrary::checkpoint`].
    pub fn commit(&mut self, changes: &ChangeSet) -> Result<Applied> {
        if changes.is_empty() {
            return Ok(Applied {
                added_ids: Vec::new(),
                replaced: Vec::new(),
                generation: self.store.generation()?,
            });
        }
        self.ensure_graph()?;
        if let Some(bad) = changes
            .added
            .iter()
            .find(|a| a.vector.len() != self.vectors.dim())
        {
            return Err(Error::InvalidArgument(format!(
                "vector of {} values for a library of dimension {}",
                bad.vector.len(),
                self.vectors.dim()
            )));
        }
        if let Some(bad) = changes.added.iter().find(|a| {
            a.frames.len() >= FRAMES_PER_VIDEO
                || a.frames.iter().any(|f| f.len() != self.vectors.dim())
        }) {
            return Err(Error::InvalidArgument(format!(
                "{}: {} frames, at most {} of dimension {}",
                bad.record.path_buf().display(),
                bad.frames.len() + 1,
                FRAMES_PER_VIDEO,
                self.vectors.dim()
            )));
        }
        let applied = self.store.apply(changes)?;
        let removed: Vec<ImageId> = changes
            .removed
            .iter()
            .chain(&applied.replaced)
            .copied()
            .collect();
        self.metas.apply(
            &removed,
            changes.moved.iter().map(|(id, rec)| (*id, rec)).chain(
                changes
                    .added
                    .iter()
                    .zip(&applied.added_ids)
                    .map(|(new, &id)| (id, &new.record)),
            ),
        );
        for &id in changes.removed.iter().chain(&applied.replaced) {
            for k in 1..FRAMES_PER_VIDEO {
                if !self.frames.remove(frame_point(id, k)) {
                    break;
                }
            }
            self.vectors.remove(id);
            self.keyword.remove(id);
            // Not read yet: the catalog, read later, has the change.
            if let Some(p) = self.phashes.get_mut() {
                p.remove(&id);
            }
        }
        for (id, rec) in &changes.moved {
            self.keyword.upsert(*id, rec)?;
        }
        for (new, &id) in changes.added.iter().zip(&applied.added_ids) {
            self.vectors.insert(id, &new.vector);
            for (k, v) in new.frames.iter().enumerate() {
                self.frames.insert(frame_point(id, k + 1), v);
            }
            if let Some(p) = self.phashes.get_mut() {
                p.insert(id, new.phash);
            }
            if let Some(g) = self.graph.as_mut() {
                g.insert(id, &new.vector);
                self.graph_dirty = true;
            }
            self.keyword.upsert(id, &new.record)?;
        }
        self.keyword_dirty = true;
        Ok(applied)
    }

    /// Steps 2 and 3: commits the keyword index and, if the graph changed (or must
    /// be created or compacted), dumps it. Call at the end of a run and
    /// periodically during long runs.
    pub fn checkpoint(&mut self) -> Result<()> {
        if self.keyword_dirty {
            let generation = self.store.generation()?;
            self.keyword.commit(generation)?;
            self.keyword_dirty = false;
        }
        // Nothing changed since a library was opened with a current view file:
        // its graph is as recorded, and hnsw_rs's dump need not be read.
        if !(self.graph_deferred && self.current_view(self.store.generation()?)?.is_some()) {
            self.checkpoint_graph()?;
        }
        let generation = self.store.generation()?;
        if self.vector_file.as_ref().map(|f| f.generation) != Some(generation) {
            self.save_vector_file(generation)?;
        }
        if self.current_view(generation)?.is_none() {
            self.save_view_file(generation)?;
        }
        if self.record_file.as_ref().map(|f| f.generation) != Some(generation) {
            self.save_record_file(generation)?;
        }
        Ok(())
    }

    /// Step 6: the record table as of `generation` in a new file, recorded,
    /// and the file it replaces removed.
    fn save_record_file(&mut self, generation: u64) -> Result<()> {
        let dir = self.ann_dir();
        let name = self
            .metas
            .write(&dir, generation)
            .map_err(|e| Error::io(dir.clone(), e))?;
        let meta = VectorFileMeta { name, generation };
        record_file(
            &self.store,
            &dir,
            KEY_RECORD_FILE,
            &mut self.record_file,
            meta,
        )
    }

    /// Step 5: the graph's search view as of `generation` in a new file,
    /// recorded, and the file it replaces removed (or only removed when the
    /// library keeps no graph).
    fn save_view_file(&mut self, generation: u64) -> Result<()> {
        let dir = self.ann_dir();
        let ann = self.store.meta_get::<AnnMeta>(KEY_ANN)?;
        let new = match (&self.graph, ann) {
            (Some(g), Some(ann)) if !g.is_read_only() => {
                let vectors = &self.vectors;
                let name = g.write_view(&dir, generation, &|id| vectors.position(id))?;
                let meta = ViewFileMeta {
                    name,
                    generation,
                    graph: ann.basename,
                };
                self.store.meta_set(KEY_VIEW_FILE, &meta)?;
                Some(meta)
            }
            _ => {
                self.store.meta_remove(KEY_VIEW_FILE)?;
                None
            }
        };
        self.store.flush()?;
        let kept = new.as_ref().map(|m| m.name.clone());
        if let Some(old) = std::mem::replace(&mut self.view_file, new) {
            if Some(&old.name) != kept.as_ref() {
                let _ = std::fs::remove_file(dir.join(&old.name));
            }
        }
        Ok(())
    }

    /// Step 3: the graph created, compacted or dumped as the changes require.
    fn checkpoint_graph(&mut self) -> Result<()> {
        self.ensure_graph()?;
        let live = self.vectors.len();
        match &self.graph {
            None if live >= GRAPH_MIN_POINTS => {
                self.graph = Some(Graph::build(&self.vectors));
                self.graph_dirty = true;
            }
            Some(g)
                if g.points() > 0
                    && (g.points() - live.min(g.points())) as f64 / g.points() as f64
                        > COMPACT_DEAD_SHARE =>
            {
                tracing::info!(
                    "compacting the ANN graph ({} points, {live} live)",
                    g.points()
                );
                self.graph = if live >= GRAPH_MIN_POINTS {
                    Some(Graph::build(&self.vectors))
                } else {
                    None
                };
                self.graph_dirty = true;
            }
            _ => {}
        }
        if self.graph_dirty {
            self.save_graph()?;
        }
        Ok(())
    }

    /// Step 4: the vectors as of `generation` in a new flat file, recorded, and
    /// the file it replaces removed.
    fn save_vector_file(&mut self, generation: u64) -> Result<()> {
        let dir = self.ann_dir();
        let name = vector_file::write(&dir, &self.vectors, generation)
            .map_err(|e| Error::io(dir.clone(), e))?;
        let meta = VectorFileMeta { name, generation };
        record_file(
            &self.store,
            &dir,
            KEY_VECTOR_FILE,
            &mut self.vector_file,
            meta,
        )
    }

    fn save_graph(&mut self) -> Result<()> {
        let old: Option<AnnMeta> = self.store.meta_get(KEY_ANN)?;
        match &self.graph {
            Some(g) => {
                let basename = g.dump(&self.ann_dir(), "graph")?;
                let meta = AnnMeta {
                    basename,
                    points: g.points(),
                    max_id: g.max_id(),
                };
                self.store.meta_set(KEY_ANN, &meta)?;
                self.store.flush()?;
                if let Some(old) = old.filter(|o| o.basename != meta.basename) {
                    remove_dump(&self.ann_dir(), &old.basename);
                }
            }
            None => {
                self.store.meta_remove(KEY_ANN)?;
                self.store.flush()?;
                if let Some(old) = old {
                    remove_dump(&self.ann_dir(), &old.basename);
                }
            }
        }
        self.graph_dirty = false;
        Ok(())
    }

    /// Re-creates the keyword index from the catalog.
    pub fn rebuild_keyword(&mut self) -> Result<()> {
        self.keyword.clear()?;
        for item in self.store.records() {
            let (id, rec) = item?;
            self.keyword.upsert(id, &rec)?;
        }
        let generation = self.store.generation()?;
        self.keyword.commit(generation)?;
        self.keyword_dirty = false;
        Ok(())
    }

    /// The `k` images most similar to `query` among those `keep` accepts. Uses the
    /// graph for large libraries, an exact scan otherwise.
    pub fn nearest_where(
        &self,
        query: &[f32],
        k: usize,
        keep: &dyn Fn(ImageId) -> bool,
    ) -> Vec<Scored> {
        let found = self.nearest_posters(query, k, keep);
        self.with_frames(query, k, found, keep)
    }

    /// As [`LocalLibrary::nearest_where`], with each video its poster frame only
    /// (duplicates compare posters).
    fn nearest_posters(
        &self,
        query: &[f32],
        k: usize,
        keep: &dyn Fn(ImageId) -> bool,
    ) -> Vec<Scored> {
        let live = |id: ImageId| self.vectors.contains(id) && keep(id);
        match &self.graph {
            // A few queries (`scry search`): every code scored, the best re-scored.
            Some(g) if self.scan_only && g.is_read_only() => g.scan(query, k, &live),
            Some(g) => g.search(query, k, &live),
            None => self.vectors.search(query, k, &live),
        }
    }

    /// Adds the videos' other frames to a search's results: each video scores as
    /// its best frame, and appears once.
    fn with_frames(
        &self,
        query: &[f32],
        k: usize,
        found: Vec<Scored>,
        keep: &dyn Fn(ImageId) -> bool,
    ) -> Vec<Scored> {
        if self.frames.is_empty() {
            return found;
        }
        let frames = self
            .frames
            .search(query, k, &|p| keep(p / FRAMES_PER_VIDEO as u64));
        let mut best: HashMap<ImageId, f32> = found.into_iter().collect();
        for (p, score) in frames {
            let id = p / FRAMES_PER_VIDEO as u64;
            let s = best.entry(id).or_insert(score);
            *s = s.max(score);
        }
        let mut out: Vec<Scored> = best.into_iter().collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(k);
        out
    }
}

/// Most frames a video may have (the poster and its others); a frame's id in
/// the frame index is the video's id times this plus its number.
const FRAMES_PER_VIDEO: usize = 64;

/// The id of a video's `k`-th other frame (from 1) in the frame index.
fn frame_point(id: ImageId, k: usize) -> ImageId {
    id * FRAMES_PER_VIDEO as u64 + k as u64
}

impl Home for LocalLibrary {
    fn location(&self) -> String {
        self.dir.display().to_string()
    }

    fn folder(&self) -> Option<&Path> {
        Some(&self.dir)
    }

    fn is_snapshot(&self) -> bool {
        self.snapshot.is_some()
    }

    fn model(&self) -> Result<Option<String>> {
        self.store.meta_get(KEY_MODEL)
    }

    fn dim(&self) -> usize {
        self.vectors.dim()
    }

    fn set_model(&mut self, model_id: &str, dim: usize) -> Result<()> {
        self.store.meta_set(KEY_MODEL, &model_id)?;
        self.store.meta_set(KEY_DIM, &dim)?;
        self.store.flush()?;
        if self.vectors.is_empty() {
            self.vectors = Vectors::new(dim);
            self.frames = Vectors::new(dim);
        }
        Ok(())
    }

    fn roots(&self) -> Result<Vec<PathBuf>> {
        let roots: Vec<Vec<u8>> = self.store.meta_get(KEY_ROOTS)?.unwrap_or_default();
        Ok(roots
            .iter()
            .map(|r| crate::store::bytes_to_path(r))
            .collect())
    }

    fn set_roots(&mut self, roots: &[PathBuf]) -> Result<()> {
        let all: Vec<Vec<u8>> = roots
            .iter()
            .map(|r| crate::store::path_to_bytes(r))
            .collect();
        self.store.meta_set(KEY_ROOTS, &all)?;
        self.store.flush()
    }

    fn last_run(&self) -> Result<Option<serde_json::Value>> {
        self.store.meta_get(KEY_LAST_RUN)
    }

    fn set_last_run(&mut self, summary: &serde_json::Value) -> Result<()> {
        self.store.meta_set(KEY_LAST_RUN, summary)?;
        self.store.flush()
    }

    fn ocr(&self) -> Result<Option<String>> {
        Ok(self.store.meta_get::<Option<String>>(KEY_OCR)?.flatten())
    }

    fn set_ocr(&mut self, languages: Option<&str>) -> Result<()> {
        self.store.meta_set(KEY_OCR, &languages)?;
        self.store.flush()
    }

    fn categories(&self) -> Result<Vec<String>> {
        Ok(self.store.meta_get(KEY_CATEGORIES)?.unwrap_or_default())
    }

    fn set_categories(&mut self, categories: &[String]) -> Result<()> {
        self.store.meta_set(KEY_CATEGORIES, &categories)?;
        self.store.flush()
    }

    fn albums(&self) -> Result<BTreeMap<String, Album>> {
        Ok(self.store.meta_get(KEY_ALBUMS)?.unwrap_or_default())
    }

    fn set_albums(&mut self, albums: &BTreeMap<String, Album>) -> Result<()> {
        self.store.meta_set(KEY_ALBUMS, albums)?;
        self.store.flush()
    }

    fn access(&self) -> Result<Access> {
        read_access(&self.access_dir)
    }

    fn set_access(&mut self, access: &Access) -> Result<()> {
        write_access(&self.access_dir, access)
    }

    fn len(&self) -> Result<usize> {
        Ok(self.vectors.len())
    }

    fn count(&self, scope: &Scope<'_>) -> Result<usize> {
        if scope.is_everything() {
            return Ok(self.vectors.len());
        }
        Ok(self.ids_in(scope)?.len())
    }

    fn ids_in(&self, scope: &Scope<'_>) -> Result<Vec<ImageId>> {
        // The records are read in place, on every core.
        let vectors = &self.vectors;
        Ok(self
            .metas
            .ids_where(&|id, r| vectors.contains(id) && scope.accepts(id, r)))
    }

    fn generation(&self) -> Result<u64> {
        self.store.generation()
    }

    fn records(&self, ids: &[ImageId]) -> Result<Vec<(ImageId, ImageRecord)>> {
        Ok(ids
            .iter()
            .filter_map(|&id| Some((id, self.metas.record(id)?)))
            .collect())
    }

    fn vectors(&self, ids: &[ImageId]) -> Result<Vec<(ImageId, Vec<f32>)>> {
        Ok(ids
            .iter()
            .filter_map(|&id| Some((id, self.vectors.get(id)?.to_vec())))
            .collect())
    }

    fn thumbnail(&self, id: ImageId) -> Result<Option<Vec<u8>>> {
        self.store.thumbnail(id)
    }

    fn frames(&self, ids: &[ImageId]) -> Result<Vec<(ImageId, Vec<Vec<f32>>)>> {
        Ok(ids
            .iter()
            .map(|&id| {
                let frames: Vec<Vec<f32>> = (1..FRAMES_PER_VIDEO)
                    .map_while(|k| self.frames.get(frame_point(id, k)).map(<[f32]>::to_vec))
                    .collect();
                (id, frames)
            })
            .filter(|(_, f)| !f.is_empty())
            .collect())
    }

    fn id_for_path(&self, path: &[u8]) -> Result<Option<ImageId>> {
        self.store.id_for_path(path)
    }

    fn for_each(&self, want: Want, f: &mut dyn FnMut(Item<'_>)) -> Result<()> {
        let phashes = want.phash.then(|| self.phashes());
        for (id, record) in self.metas.records() {
            f(Item {
                id,
                record: &record,
                vector: if want.vectors {
                    self.vectors.get(id)
                } else {
                    None
                },
                phash: phashes.and_then(|p| p.get(&id).copied()),
            });
        }
        Ok(())
    }

    fn vector_of_copy(&self, hash: &[u8; 32], except: Option<ImageId>) -> Result<Option<Vec<f32>>> {
        Ok(self
            .store
            .ids_for_hash(hash)?
            .into_iter()
            .filter(|&id| Some(id) != except)
            .find_map(|id| self.vectors.get(id).map(<[f32]>::to_vec)))
    }

    fn commit(&mut self, changes: &ChangeSet) -> Result<Applied> {
        LocalLibrary::commit(self, changes)
    }

    fn checkpoint(&mut self) -> Result<()> {
        LocalLibrary::checkpoint(self)
    }

    fn nearest(&self, query: &[f32], k: usize, scope: &Scope<'_>) -> Result<Vec<Scored>> {
        if scope.is_everything() {
            return Ok(self.nearest_where(query, k, &|_| true));
        }
        let keep = |id: ImageId| self.metas.get(id).is_some_and(|r| scope.accepts(id, &r));
        if self.graph.is_none() || (scope.filters.is_empty() && scope.members.is_none()) {
            return Ok(self.nearest_where(query, k, &keep));
        }
        // Selective filter: scan the allowed vectors exactly (a filtered graph walk
        // degrades badly below a few percent); otherwise walk the graph. The share
        // allowed is estimated from a sample spread over the ids: counting a
        // million records would cost more than the search.
        let mut sampled = 0;
        let mut hits = 0;
        for (id, r) in self.metas.sample(FILTER_SAMPLE) {
            sampled += 1;
            hits += usize::from(scope.accepts(id, &r));
        }
        let allowed = hits * self.metas.len() / sampled.max(1);
        Ok(if allowed < GRAPH_MIN_POINTS || allowed * 20 < self.len() {
            // Which images pass, in one pass over the records on every core,
            // then only their vectors scored (the scan of every vector asking
            // each whether it passes cost as much again).
            let passing = self.metas.ids_where(&|id, r| scope.accepts(id, r));
            let keep = |id: ImageId| passing.binary_search(&id).is_ok();
            let mut found: Vec<Scored> = passing
                .iter()
                .filter_map(|&id| Some((id, crate::ann::dot(query, self.vectors.get(id)?))))
                .collect();
            let order = |a: &Scored, b: &Scored| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
            if found.len() > k {
                found.select_nth_unstable_by(k, order);
                found.truncate(k);
            }
            found.sort_by(order);
            self.with_frames(query, k, found, &keep)
        } else {
            self.nearest_where(query, k, &keep)
        })
    }

    fn nearest_many(&self, queries: &[&[f32]], k: usize) -> Result<Vec<Vec<Scored>>> {
        use rayon::prelude::*;
        // The graph's view made (and repaired, on every core) before the
        // queries run on every core, not by the first of them.
        if let Some(g) = &self.graph {
            g.warm();
        }
        Ok(queries
            .par_iter()
            .map(|q| self.nearest_posters(q, k, &|_| true))
            .collect())
    }

    fn at_least(&self, query: &[f32], threshold: f32) -> Result<Vec<Scored>> {
        let mut out: Vec<Scored> = self
            .vectors
            .iter()
            .map(|(id, v)| (id, crate::ann::dot(v, query)))
            .filter(|&(_, c)| c >= threshold)
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(out)
    }

    fn keyword(&self, text: &str, k: usize, scope: &Scope<'_>) -> Result<Vec<Scored>> {
        // Filters apply after the match: ask for more, keep k.
        let depth = if scope.is_everything() {
            k
        } else {
            k * 4 + 100
        };
        Ok(self
            .keyword
            .search(text, depth)?
            .into_iter()
            .filter(|&(id, _)| {
                self.vectors.contains(id)
                    && self.metas.get(id).is_some_and(|r| scope.accepts(id, &r))
            })
            .take(k)
            .collect())
    }
}

/// The users and groups of the library in `dir`, read without opening it (a
/// running server holds the catalog's lock; `scry user add` must still work).
pub fn read_access(dir: &Path) -> Result<Access> {
    let path = dir.join(ACCESS_FILE);
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| Error::DataCorruption {
            path: path.clone(),
            message: format!(
                "the users and groups are unreadable ({e}); restore the file from a backup, \
                 or remove it and add the users again"
            ),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Access::default()),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// Writes the users and groups of the library in `dir`: whole, then renamed
/// over the old file (never half-written), readable by its owner only.
pub fn write_access(dir: &Path, access: &Access) -> Result<()> {
    let path = dir.join(ACCESS_FILE);
    let tmp = dir.join(format!("{ACCESS_FILE}.tmp"));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        std::fs::create_dir_all(dir)?;
        let mut f = opts.open(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(access).expect("access serialises"))?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| Error::io(&path, e))
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| Error::io(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| Error::io(from, e))? {
        let entry = entry.map_err(|e| Error::io(from, e))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().map_err(|e| Error::io(&src, e))?.is_dir() {
            copy_tree(&src, &dst)?;
        } else if !crate::store::is_unfinished_snapshot(&entry.file_name()) {
            std::fs::copy(&src, &dst).map_err(|e| Error::io(&src, e))?;
        }
    }
    Ok(())
}

/// Records `meta` (a file just written in `dir`) under `key` in the
/// catalog, durably, keeps it in `slot`, and removes the file it replaces.
/// A crash before the catalog's flush leaves the old file recorded and the
/// new one unrecorded (removed at the next open); after it, the reverse.
fn record_file(
    store: &Store,
    dir: &Path,
    key: &[u8],
    slot: &mut Option<VectorFileMeta>,
    meta: VectorFileMeta,
) -> Result<()> {
    store.meta_set(key, &meta)?;
    store.flush()?;
    let kept = meta.name.clone();
    if let Some(old) = slot.replace(meta) {
        if old.name != kept {
            let _ = std::fs::remove_file(dir.join(&old.name));
        }
    }
    Ok(())
}

fn remove_dump(dir: &Path, basename: &str) {
    for ext in ["hnsw.graph", "hnsw.data"] {
        let _ = std::fs::remove_file(dir.join(format!("{basename}.{ext}")));
    }
}
