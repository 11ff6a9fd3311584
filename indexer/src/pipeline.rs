//! One indexing run: crawl → compare with the catalog → decode and preprocess on a
//! thread pool → batched CLIP encoding → ingest in committed batches.
//!
//! - Unchanged files (same size and modification time) are skipped unread.
//! - A file at a new path whose bytes match a file gone from its old path is a
//!   move: it keeps its vector and is never decoded.
//! - A new file byte-identical to an indexed one reuses that vector.
//! - Decoding runs on its own pool and feeds the model through a bounded channel,
//!   so decoding overlaps inference and memory stays flat whatever the library
//!   size.
//! - Progress is committed every `commit_every` images: a kill redoes at most the
//!   batches in flight.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use scry::decode::decode_full;
use scry::preprocess::{
    encode_thumbnail, thumbnail_rgb, to_rgb, Preprocessor, THUMBNAIL_SHORT_SIDE,
};
use scry::store::{content_hash, path_to_bytes, ChangeSet, ImageId, ImageRecord, NewImage};
use scry::{ClipModel, Library};

use crate::crawl::{classify, crawl, CrawlOptions, FileEntry, Kind};
use crate::report::{Failure, FailureKind, Progress, Summary};

/// The text of an image ([`scry::ocr::read_decoded`]), and whether Tesseract
/// read it. Tesseract and the languages were checked before the run, so a
/// failure here is this image's (logged, and recorded as no text: it would
/// fail again).
fn read_text(
    bytes: &[u8],
    rgb: &scry::ocr::Rgb,
    full: (u32, u32),
    languages: &str,
) -> (Option<String>, bool) {
    match scry::ocr::read_decoded(bytes, rgb, full, languages) {
        Ok(Some(text)) => (Some(text), true),
        Ok(None) => (Some(String::new()), false),
        Err(e) => {
            tracing::warn!("reading text: {e}");
            (Some(String::new()), true)
        }
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    pub crawl: CrawlOptions,
    /// Images per forward pass.
    pub batch_size: usize,
    /// Images per catalog commit.
    pub commit_every: usize,
    /// Decoding threads (default: all cores).
    pub decode_threads: usize,
    /// How often long runs make the keyword index and graph durable.
    pub checkpoint_every: Duration,
    /// Only this worker's share of the files ([`crate::Shard`]): new, changed
    /// and removed files of other shares are theirs.
    pub shard: Option<crate::Shard>,
}

impl Default for IndexOptions {
    fn default() -> Self {
        Self {
            crawl: CrawlOptions::default(),
            batch_size: scry::model::DEFAULT_BATCH_SIZE,
            commit_every: 64,
            decode_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            checkpoint_every: Duration::from_secs(60),
            shard: None,
        }
    }
}

/// A file decoded and preprocessed, waiting for the model.
struct Prepared {
    /// Whether the gate sent it to Tesseract (with OCR on).
    ocr_read: bool,
    record: ImageRecord,
    replaces: Option<ImageId>,
    /// The model's input: one for a photo, one per chosen frame for a video
    /// (in time order).
    pixels: Vec<Vec<f32>>,
    thumbnail: Vec<u8>,
    phash: u64,
    /// A video's frames as thumbnails: the poster's becomes the thumbnail once
    /// the frames are embedded ([`scry::video::poster`]).
    frames: Vec<scry::image::RgbImage>,
}

impl Prepared {
    /// The record, vectors and thumbnail once the model embedded `vectors`
    /// (one per `pixels`): a video's poster frame first.
    fn into_new(self, mut vectors: Vec<Vec<f32>>) -> NewImage {
        let mut record = self.record;
        let Some(video) = record.video.as_mut().filter(|_| !self.frames.is_empty()) else {
            return NewImage {
                record,
                vector: vectors.swap_remove(0),
                thumbnail: self.thumbnail,
                phash: self.phash,
                frames: Vec::new(),
            };
        };
        let poster = scry::video::poster(&vectors);
        let at = video.frames_ms.remove(poster);
        video.frames_ms.insert(0, at);
        let vector = vectors.remove(poster);
        let small = &self.frames[poster];
        NewImage {
            record,
            vector,
            thumbnail: encode_thumbnail(small),
            phash: scry::dupes::perceptual_hash(small),
            frames: vectors,
        }
    }
}

/// A file to (re-)index.
struct Candidate {
    entry: FileEntry,
    /// The catalog entry at this path, when the file changed (size or mtime).
    replaces: Option<(ImageId, ImageRecord)>,
}

/// What preparing a file gave.
enum Outcome {
    Ready(Prepared),
    /// Only the modification time changed (a copy without -p, a touch): same bytes,
    /// same vector; the record is updated without decoding.
    Touched(ImageId, ImageRecord),
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A changed file whose bytes are those indexed: only its size or time
/// changed (a copy without -p, a touch), so its record is updated, nothing
/// decoded.
fn touched(c: &Candidate, hash: &[u8; 32]) -> Option<Outcome> {
    let (id, old) = c.replaces.as_ref()?;
    (old.hash == *hash).then(|| {
        let mut rec = old.clone();
        rec.size = c.entry.size;
        rec.mtime_ns = c.entry.mtime_ns;
        Outcome::Touched(*id, rec)
    })
}

/// Reads, hashes, decodes (once) and prepares one file: model input, thumbnail and
/// catalog record from the same decode.
fn prepare(
    c: &Candidate,
    pre: &Preprocessor,
    ocr: Option<&str>,
    budget: &FrameBudget,
    cancel: &AtomicBool,
) -> Result<Outcome, Failure> {
    let path = &c.entry.path;
    let unreadable = |e: std::io::Error| {
        Failure::new(
            path.clone(),
            FailureKind::Unreadable,
            format!("cannot read: {e}"),
        )
    };
    // The file is opened once: its first bytes say whether it is a video
    // (hashed as a stream, never read whole) or a photo (read whole).
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    // Room for the head only: a video is never read further into memory, and
    // a photo's `read_to_end` reserves the rest from the file's length.
    let mut bytes = Vec::with_capacity(VIDEO_HEAD as usize);
    (&mut file)
        .take(VIDEO_HEAD)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if scry::decode::detect(&bytes).is_some_and(|f| !f.is_image()) {
        // Its frames' room is taken first (as many as a video may have),
        // what it did not use given back at once, the rest once embedded.
        let most = scry::video::MAX_FRAMES;
        if !budget.take(most, cancel) {
            return Err(Failure::new(
                path.clone(),
                FailureKind::Unreadable,
                "indexing stopped",
            ));
        }
        let got = prepare_video(c, pre, ocr, &bytes, file);
        let kept = match &got {
            Ok(Outcome::Ready(p)) => p.frames.len(),
            _ => 0,
        };
        budget.give(most - kept);
        return got;
    }
    file.read_to_end(&mut bytes).map_err(unreadable)?;
    let hash = content_hash(&bytes);
    if let Some(same) = touched(c, &hash) {
        return Ok(same);
    }
    let decoded = decode_full(&bytes, Some(pre.decode_min_side()))
        .map_err(|m| Failure::new(path.clone(), FailureKind::from_message(&m), m))?;
    let meta = scry::metadata::read(&bytes);
    let rgb = to_rgb(decoded.image);
    let (text, ocr_read) = match ocr {
        Some(languages) => read_text(&bytes, &rgb, (decoded.width, decoded.height), languages),
        None => (None, false),
    };
    let small = thumbnail_rgb(&rgb, THUMBNAIL_SHORT_SIDE);
    Ok(Outcome::Ready(Prepared {
        ocr_read,
        record: ImageRecord {
            path: path_to_bytes(path),
            size: c.entry.size,
            mtime_ns: c.entry.mtime_ns,
            hash,
            width: decoded.width,
            height: decoded.height,
            format: decoded.format.to_string(),
            taken: meta.taken,
            camera: meta.camera,
            indexed_at: now_secs(),
            place: meta.gps.and_then(|g| scry::places::gazetteer().nearest(&g)),
            gps: meta.gps,
            text,
            video: None,
        },
        replaces: c.replaces.as_ref().map(|(id, _)| *id),
        pixels: vec![pre.pixels(&rgb)],
        thumbnail: encode_thumbnail(&small),
        phash: scry::dupes::perceptual_hash(&small),
        frames: Vec::new(),
    }))
}

/// Videos' frames decoded and waiting for the model, held to a budget: a
/// video's frames weigh up to [`scry::video::MAX_FRAMES`] photos, and the
/// decoders run ahead of the model by a channel counted in files.
struct FrameBudget {
    left: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

/// Frames in flight at most (~75 MB of model input at 224 px).
const FRAMES_IN_FLIGHT: usize = 4 * scry::video::MAX_FRAMES;

impl FrameBudget {
    fn new(frames: usize) -> Self {
        FrameBudget {
            left: std::sync::Mutex::new(frames),
            freed: std::sync::Condvar::new(),
        }
    }

    /// Takes `n` frames of the budget, waiting while they are out; `false`
    /// when the run is cancelled meanwhile.
    fn take(&self, n: usize, cancel: &AtomicBool) -> bool {
        let mut left = self
            .left
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while *left < n {
            if cancel.load(Ordering::Relaxed) {
                return false;
            }
            left = self
                .freed
                .wait_timeout(left, Duration::from_millis(100))
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        *left -= n;
        true
    }

    fn give(&self, n: usize) {
        if n > 0 {
            *self
                .left
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) += n;
            self.freed.notify_all();
        }
    }
}

/// How much of a file is read to tell a video from a photo.
const VIDEO_HEAD: u64 = 64 * 1024;

/// A video: hashed as a stream (its `head` already read from `rest`, the
/// same open file; never read whole), probed, and its chosen frames prepared
/// one at a time ([`scry::video`]).
fn prepare_video(
    c: &Candidate,
    pre: &Preprocessor,
    ocr: Option<&str>,
    head: &[u8],
    rest: std::fs::File,
) -> Result<Outcome, Failure> {
    let path = &c.entry.path;
    let unreadable = |e: std::io::Error| {
        Failure::new(
            path.clone(),
            FailureKind::Unreadable,
            format!("cannot read: {e}"),
        )
    };
    let hash = {
        let mut hasher = blake3::Hasher::new();
        hasher.update(head);
        hasher.update_reader(rest).map_err(unreadable)?;
        *hasher.finalize().as_bytes()
    };
    if let Some(same) = touched(c, &hash) {
        return Ok(same);
    }
    let failed = |m: String| Failure::new(path.clone(), FailureKind::from_message(&m), m);
    let probe = scry::video::probe(path).map_err(failed)?;
    let mut times_ms = Vec::new();
    let mut pixels = Vec::new();
    let mut frames = Vec::new();
    scry::video::frames(path, &probe, &mut |t, rgb| {
        times_ms.push((t * 1000.0).round().clamp(0.0, u32::MAX as f64) as u32);
        pixels.push(pre.pixels(&rgb));
        frames.push(thumbnail_rgb(&rgb, THUMBNAIL_SHORT_SIDE));
    })
    .map_err(failed)?;
    if frames.is_empty() {
        return Err(failed(
            "corrupt or truncated video: no frame could be decoded".into(),
        ));
    }
    Ok(Outcome::Ready(Prepared {
        ocr_read: false,
        record: ImageRecord {
            path: path_to_bytes(path),
            size: c.entry.size,
            mtime_ns: c.entry.mtime_ns,
            hash,
            width: probe.width,
            height: probe.height,
            format: scry::video::container(head).to_string(),
            taken: probe.taken,
            camera: probe.camera,
            indexed_at: now_secs(),
            place: probe
                .gps
                .and_then(|g| scry::places::gazetteer().nearest(&g)),
            gps: probe.gps,
            // Text is read in photos only: "looked, none" when OCR is on.
            text: ocr.map(|_| String::new()),
            video: Some(scry::store::Video {
                duration_ms: (probe.duration * 1000.0).round() as u64,
                frames_ms: times_ms,
            }),
        },
        replaces: c.replaces.as_ref().map(|(id, _)| *id),
        pixels,
        thumbnail: Vec::new(),
        phash: 0,
        frames,
    }))
}

/// Reads the text of unchanged images never looked at for it (OCR just
/// turned on, or a library indexed before): decoded again, not embedded; the
/// records are stored as they are read. Counts go into `summary`.
#[allow(clippy::too_many_arguments)]
fn read_texts(
    lib: &RwLock<Library>,
    records: Vec<(ImageId, ImageRecord)>,
    languages: &str,
    pre: &Preprocessor,
    pool: &rayon::ThreadPool,
    opts: &IndexOptions,
    progress: &dyn Progress,
    summary: &mut Summary,
) -> scry::Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    progress.start(records.len());
    let mut last_checkpoint = Instant::now();
    for chunk in records.chunks(64) {
        let done: Vec<(ImageId, ImageRecord, bool)> = pool.install(|| {
            chunk
                .par_iter()
                .filter_map(|(id, rec)| {
                    let bytes = std::fs::read(rec.path_buf()).ok()?;
                    // The file changed since it was indexed: the next run re-indexes it.
                    if scry::store::content_hash(&bytes) != rec.hash {
                        return None;
                    }
                    let decoded = decode_full(&bytes, Some(pre.decode_min_side())).ok()?;
                    let rgb = to_rgb(decoded.image);
                    let (text, read) =
                        read_text(&bytes, &rgb, (decoded.width, decoded.height), languages);
                    let mut rec = rec.clone();
                    rec.text = Some(text?);
                    Some((*id, rec, read))
                })
                .collect()
        });
        progress.advance(chunk.len());
        summary.ocr_checked += done.len();
        summary.ocr_read += done.iter().filter(|d| d.2).count();
        summary.ocr_with_text += done
            .iter()
            .filter(|d| d.1.text.as_deref().is_some_and(|t| !t.is_empty()))
            .count();
        if !done.is_empty() {
            write(lib).commit(&ChangeSet {
                moved: done.into_iter().map(|(id, rec, _)| (id, rec)).collect(),
                ..Default::default()
            })?;
        }
        if last_checkpoint.elapsed() >= opts.checkpoint_every {
            write(lib).checkpoint()?;
            last_checkpoint = Instant::now();
        }
    }
    progress.finish();
    Ok(())
}

/// The last run's key saying that unchanged photos have had their positions
/// read (libraries indexed before scry read them lack it).
const POSITIONS_READ: &str = "positions_read";

/// Formats whose files can carry EXIF GPS.
fn may_have_position(format: &str) -> bool {
    !matches!(format, "gif" | "bmp")
}

/// Reads the positions of `records` again from their files' EXIF (a JPEG's
/// first 256 KiB, which hold its EXIF block; other files whole) and stores
/// those found with their place: records only, nothing decoded or embedded.
/// How many got one.
fn place(lib: &RwLock<Library>, records: Vec<(ImageId, ImageRecord)>) -> scry::Result<usize> {
    use std::io::Read;
    let mut placed = 0;
    for chunk in records.chunks(1000) {
        let moved: Vec<(ImageId, ImageRecord)> = chunk
            .par_iter()
            .filter_map(|(id, rec)| {
                let file = std::fs::File::open(rec.path_buf()).ok()?;
                let mut bytes = Vec::new();
                if rec.format == "jpeg" {
                    file.take(256 * 1024).read_to_end(&mut bytes).ok()?;
                } else {
                    let mut file = file;
                    file.read_to_end(&mut bytes).ok()?;
                }
                let gps = scry::metadata::read(&bytes).gps?;
                let mut rec = rec.clone();
                rec.place = scry::places::gazetteer().nearest(&gps);
                rec.gps = Some(gps);
                Some((*id, rec))
            })
            .collect();
        placed += moved.len();
        if !moved.is_empty() {
            write(lib).commit(&ChangeSet {
                moved,
                ..Default::default()
            })?;
        }
    }
    Ok(placed)
}

/// The library is shared with readers (a server answering queries while it
/// indexes): locks are taken per step and never held across decoding or inference.
pub(crate) fn read(lib: &RwLock<Library>) -> std::sync::RwLockReadGuard<'_, Library> {
    lib.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) fn write(lib: &RwLock<Library>) -> std::sync::RwLockWriteGuard<'_, Library> {
    lib.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Indexes `roots` into `lib` with `model`. Per-file problems are in the summary;
/// the error is for what stops the whole run (a damaged library, a full disk).
pub fn index(
    lib: &RwLock<Library>,
    model: &ClipModel,
    roots: &[PathBuf],
    opts: &IndexOptions,
    progress: &dyn Progress,
) -> scry::Result<Summary> {
    let started = Instant::now();
    let mut summary = Summary::default();
    write(lib).bind_model(model.id(), model.dim())?;
    // OCR, when the library asks for it and Tesseract and its languages are
    // here.
    let ocr = match read(lib).ocr()? {
        Some(languages) => match scry::ocr::check(&languages) {
            Ok(()) => Some(languages),
            Err(e) => {
                summary.ocr_skipped = Some(e);
                None
            }
        },
        None => None,
    };
    let ocr = ocr.as_deref();

    // Roots that exist; a missing one (an unmounted drive) removes nothing.
    let mut live_roots = Vec::new();
    for root in roots {
        match std::fs::canonicalize(root) {
            Ok(c) if c.is_dir() => live_roots.push(c),
            Ok(c) => summary.record_failure(Failure::new(
                c,
                FailureKind::MissingRoot,
                "not a folder: pass folders to index",
            )),
            Err(e) => summary.record_failure(Failure::new(
                root.clone(),
                FailureKind::MissingRoot,
                format!("folder not found ({e}): its images were kept"),
            )),
        }
    }
    // A root inside another is crawled with it, never twice.
    live_roots.sort();
    live_roots.dedup();
    let nested: Vec<PathBuf> = live_roots
        .iter()
        .filter(|r| live_roots.iter().any(|o| o != *r && r.starts_with(o)))
        .cloned()
        .collect();
    live_roots.retain(|r| !nested.contains(r));
    write(lib).add_roots(&live_roots)?;

    // 1. Crawl.
    let mut entries = Vec::new();
    for root in &live_roots {
        crawl(
            root,
            opts.crawl,
            |e| {
                entries.push(e);
                if entries.len() % 1000 == 0 {
                    progress.crawling(entries.len());
                }
            },
            |f| summary.record_failure(f),
        );
    }
    progress.crawling(entries.len());
    let mine = |p: &Path| opts.shard.is_none_or(|s| s.owns(p));
    if opts.shard.is_some() {
        entries.retain(|e| mine(&e.path));
    }
    // A Live Photo's or Motion Photo's clip (a video named as a photo beside
    // it) belongs to the photo: not indexed apart (and removed if it was).
    let photos: std::collections::HashSet<(PathBuf, String)> = entries
        .iter()
        .filter(|e| crate::crawl::has_image_extension(&e.path))
        .filter_map(|e| crate::crawl::motion_key(&e.path))
        .collect();
    if !photos.is_empty() {
        let before = entries.len();
        entries.retain(|e| {
            !(crate::crawl::has_video_extension(&e.path)
                && crate::crawl::motion_key(&e.path).is_some_and(|k| photos.contains(&k)))
        });
        summary.motion_clips = before - entries.len();
    }

    // 2. Compare with the catalog (read once: one pass over a remote library).
    let mut catalog: HashMap<Vec<u8>, (ImageId, ImageRecord)> = read(lib)
        .all_records()?
        .into_iter()
        .map(|(id, r)| (r.path.clone(), (id, r)))
        .collect();
    let mut candidates = Vec::new();
    // A library indexed before positions were read: its unchanged photos get
    // theirs once (the last run says when that is done).
    let place_unchanged = read(lib)
        .last_run()?
        .is_none_or(|r| r.get(POSITIONS_READ).is_none());
    let mut to_place: Vec<(ImageId, ImageRecord)> = Vec::new();
    let mut to_read: Vec<(ImageId, ImageRecord)> = Vec::new();
    for entry in entries {
        let key = path_to_bytes(&entry.path);
        let known = catalog.remove(&key);
        match known {
            Some((id, rec)) if rec.size == entry.size && rec.mtime_ns == entry.mtime_ns => {
                summary.unchanged += 1;
                if ocr.is_some() && rec.text.is_none() && rec.video.is_none() {
                    to_read.push((id, rec.clone()));
                }
                if place_unchanged
                    && rec.gps.is_none()
                    && rec.video.is_none()
                    && may_have_position(&rec.format)
                {
                    to_place.push((id, rec));
                }
            }
            Some(known) => candidates.push(Candidate {
                entry,
                replaces: Some(known),
            }),
            None => match classify(&entry.path) {
                Kind::Image | Kind::Video => candidates.push(Candidate {
                    entry,
                    replaces: None,
                }),
                Kind::Other => summary.ignored += 1,
            },
        }
    }

    // 3. Gone from disk (under a root that was crawled): what is left of the
    //    catalog.
    let mut missing: Vec<(ImageId, ImageRecord)> = catalog
        .into_values()
        .filter(|(_, rec)| {
            let p = rec.path_buf();
            // Another worker's file is that worker's to remove.
            scry::access::under_any(&p, &live_roots) && mine(&p)
        })
        .collect();
    missing.sort_by_key(|(id, _)| *id);

    // 4. Moves: a new path with the bytes of a missing file. Only files whose size
    //    matches a missing one are read here.
    let mut by_size: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, (_, rec)) in missing.iter().enumerate() {
        by_size.entry(rec.size).or_default().push(i);
    }
    let mut claimed = vec![false; missing.len()];
    let mut moves = ChangeSet::default();
    if !by_size.is_empty() {
        candidates.retain(|c| {
            if c.replaces.is_some() {
                return true;
            }
            let Some(same_size) = by_size.get(&c.entry.size) else {
                return true;
            };
            let Ok(bytes) = std::fs::read(&c.entry.path) else {
                return true; // reported when decoding
            };
            let hash = content_hash(&bytes);
            let Some(&i) = same_size
                .iter()
                .find(|&&i| !claimed[i] && missing[i].1.hash == hash)
            else {
                return true;
            };
            claimed[i] = true;
            let (id, old) = &missing[i];
            let mut rec = old.clone();
            rec.path = path_to_bytes(&c.entry.path);
            rec.mtime_ns = c.entry.mtime_ns;
            moves.moved.push((*id, rec));
            false
        });
    }
    moves.removed = missing
        .iter()
        .zip(&claimed)
        .filter(|(_, &c)| !c)
        .map(|((id, _), _)| *id)
        .collect();
    summary.moved = moves.moved.len();
    summary.removed = moves.removed.len();
    write(lib).commit(&moves)?;
    summary.placed = place(lib, to_place)?;

    // 5. Decode on a pool, embed in batches, commit in batches.
    progress.start(candidates.len());
    let pre = model.preprocessor().clone();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.decode_threads.max(1))
        .thread_name(|i| format!("scry-decode-{i}"))
        .build()
        .map_err(|e| scry::Error::InvalidArgument(format!("cannot start decoding threads: {e}")))?;
    let (tx, rx) = sync_channel::<Result<Outcome, Failure>>(opts.batch_size.max(1) * 4);
    let cancel = AtomicBool::new(false);
    let budget = FrameBudget::new(FRAMES_IN_FLIGHT);
    let batch_size = opts.batch_size.max(1);
    let commit_every = opts.commit_every.max(1);

    let outcome = std::thread::scope(|s| -> scry::Result<()> {
        let candidates = &candidates;
        let (pre, cancel, pool, budget) = (&pre, &cancel, &pool, &budget);
        s.spawn(move || {
            pool.install(|| {
                candidates.par_iter().for_each_with(tx, |tx, c| {
                    if cancel.load(Ordering::Relaxed) {
                        return;
                    }
                    let _ = tx.send(prepare(c, pre, ocr, budget, cancel));
                });
            });
        });

        let mut pending: Vec<Prepared> = Vec::with_capacity(batch_size);
        let mut changes = ChangeSet::default();
        let mut last_checkpoint = Instant::now();
        let embed = |pending: &mut Vec<Prepared>,
                     changes: &mut ChangeSet,
                     summary: &mut Summary|
         -> scry::Result<()> {
            if pending.is_empty() {
                return Ok(());
            }
            let counts: Vec<usize> = pending.iter().map(|p| p.pixels.len()).collect();
            let pixels: Vec<Vec<f32>> = pending
                .iter_mut()
                .flat_map(|p| std::mem::take(&mut p.pixels))
                .collect();
            let mut vectors = model.embed_pixels(&pixels, batch_size)?.into_iter();
            summary.embedded += pending.len();
            summary.frames += pending
                .iter()
                .filter(|p| p.record.video.is_some())
                .map(|p| p.frames.len())
                .sum::<usize>();
            for (p, n) in pending.drain(..).zip(counts) {
                budget.give(p.frames.len());
                changes
                    .added
                    .push(p.into_new(vectors.by_ref().take(n).collect()));
            }
            Ok(())
        };
        let run = (|| -> scry::Result<()> {
            for item in rx.iter() {
                match item {
                    Err(f) => {
                        summary.record_failure(f);
                        progress.advance(1);
                    }
                    Ok(Outcome::Touched(id, rec)) => {
                        summary.touched += 1;
                        changes.moved.push((id, rec));
                        progress.advance(1);
                    }
                    Ok(Outcome::Ready(p)) => {
                        if ocr.is_some() {
                            summary.ocr_checked += 1;
                            summary.ocr_read += p.ocr_read as usize;
                            summary.ocr_with_text +=
                                p.record.text.as_deref().is_some_and(|t| !t.is_empty()) as usize;
                        }
                        if p.replaces.is_some() {
                            summary.changed += 1;
                        } else {
                            summary.new += 1;
                        }
                        // A byte-identical copy of an indexed photo: reuse its
                        // vector (a video's frames are embedded again).
                        let copy = match p.record.video {
                            None => read(lib).vector_of_copy(&p.record.hash, p.replaces)?,
                            Some(_) => None,
                        };
                        if let Some(vector) = copy {
                            changes.added.push(p.into_new(vec![vector]));
                            summary.copies += 1;
                            progress.advance(1);
                        } else {
                            pending.push(p);
                            if pending.iter().map(|p| p.pixels.len()).sum::<usize>() >= batch_size {
                                let n = pending.len();
                                embed(&mut pending, &mut changes, &mut summary)?;
                                progress.advance(n);
                            }
                        }
                    }
                }
                if changes.added.len() + changes.moved.len() >= commit_every {
                    write(lib).commit(&std::mem::take(&mut changes))?;
                    if last_checkpoint.elapsed() >= opts.checkpoint_every {
                        write(lib).checkpoint()?;
                        last_checkpoint = Instant::now();
                    }
                }
            }
            let n = pending.len();
            embed(&mut pending, &mut changes, &mut summary)?;
            progress.advance(n);
            write(lib).commit(&changes)?;
            Ok(())
        })();
        if run.is_err() {
            cancel.store(true, Ordering::Relaxed);
            // Drain so the decoders blocked on a full channel can finish.
            for _ in rx.iter() {}
        }
        run
    });
    outcome?;
    write(lib).checkpoint()?;
    progress.finish();
    // Text of unchanged images never read (places were read before the new
    // files, text after: it is the slow part, and new images come first).
    if let Some(languages) = ocr {
        let mut to_read = to_read;
        // A place read above changed those records: read them afresh.
        if summary.placed > 0 {
            let ids: Vec<ImageId> = to_read.iter().map(|(id, _)| *id).collect();
            to_read = read(lib).records(&ids)?;
        }
        read_texts(
            lib,
            to_read,
            languages,
            &pre,
            &pool,
            opts,
            progress,
            &mut summary,
        )?;
        write(lib).checkpoint()?;
    }

    summary.total = read(lib).len()?;
    summary.seconds = started.elapsed().as_secs_f64();
    let mut stored = serde_json::to_value(&summary).expect("summary serialises");
    // Keep the stored report bounded: a folder of 100,000 broken files must not
    // bloat the catalog.
    if let Some(groups) = stored.get_mut("failures").and_then(|f| f.as_object_mut()) {
        for list in groups.values_mut() {
            if let Some(a) = list.as_array_mut() {
                a.truncate(1000);
            }
        }
    }
    stored["finished_at"] = now_secs().into();
    stored[POSITIONS_READ] = true.into();
    // A worker's run covers its share only: say which.
    if let Some(shard) = opts.shard {
        stored["shard"] = format!("{}/{}", shard.index + 1, shard.count).into();
    }
    write(lib).set_last_run(&stored)?;
    Ok(summary)
}
