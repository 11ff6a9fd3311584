//! The catalog: the only module that names sled.
//!
//! The catalog is the source of truth of a library: image records, their vectors
//! and thumbnails. The ANN graph and the keyword index are derived from it and are
//! repaired from it after a crash (see [`crate::ingest`]).
//!
//! Trees:
//! - `meta`: schema version, next id, generation, model, roots, last run, ANN dump.
//! - `images`: id → [`ImageRecord`] (postcard).
//! - `paths`: path bytes → id.
//! - `hashes`: content hash ‖ id → () (find copies and moved files).
//! - `vectors`: id → little-endian f32s.
//! - `thumbs`: id → JPEG bytes.
//! - `phash`: id → 64-bit perceptual hash (big-endian), for near-duplicates.
//! - `frames`: id → a video's other frames' vectors, one after another
//!   (little-endian f32s; the record's `video.frames_ms[1..]` says when each is).
//!
//! Every change is one sled transaction across the trees, followed by a flush: a
//! batch is either entirely in the catalog or not at all, whatever moment a crash
//! comes. Ids are allocated in that transaction, so they are never reused.

use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use crate::error::{Error, Result};

/// Version of the on-disk layout. A library written by another version is refused
/// with a clear message, never misread.
pub const SCHEMA_VERSION: u32 = 1;

/// Catalog id of an image. Never reused, also after the image is removed.
pub type ImageId = u64;

/// What the catalog knows about one image file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// Absolute path, as raw bytes (file names need not be UTF-8).
    pub path: Vec<u8>,
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// BLAKE3 of the file's bytes.
    pub hash: [u8; 32],
    /// Dimensions as displayed (after EXIF orientation).
    pub width: u32,
    pub height: u32,
    /// Format decided from the bytes ("jpeg", "png", …).
    pub format: String,
    /// EXIF DateTimeOriginal as seconds since the epoch (local time read as UTC).
    pub taken: Option<i64>,
    /// EXIF camera make and model.
    pub camera: Option<String>,
    /// When the record was written, seconds since the epoch.
    pub indexed_at: i64,
    /// EXIF GPS position. Records written before scry read positions have
    /// none (they end after `indexed_at`; [`decode_record`] reads both).
    pub gps: Option<crate::places::Gps>,
    /// The nearest place to `gps` ([`crate::places`]).
    pub place: Option<crate::places::Place>,
    /// Text read in the image ([`crate::ocr`]): `None` when it was never
    /// looked for (OCR off, or a record written before scry read text),
    /// `Some("")` when it was and there is none.
    pub text: Option<String>,
    /// For a video: its length and the frames embedded ([`Video`]). Records
    /// written before scry read videos have none.
    #[serde(default)]
    pub video: Option<Video>,
}

/// What the catalog keeps about a video's frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Video {
    /// Its length, in milliseconds.
    pub duration_ms: u64,
    /// When each embedded frame is, in milliseconds: the poster first (the
    /// frame whose vector is the record's, the thumbnail's), then the others
    /// in time order (their vectors are the catalog's `frames`).
    pub frames_ms: Vec<u32>,
}

impl Video {
    /// The poster frame's time, in seconds.
    pub fn poster_seconds(&self) -> f64 {
        self.frames_ms
            .first()
            .map_or(0.0, |&t| f64::from(t) / 1000.0)
    }
}

/// A record as the first catalog layout wrote it (no position, no place).
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
pub(crate) struct RecordV1 {
    pub(crate) path: Vec<u8>,
    pub(crate) size: u64,
    pub(crate) mtime_ns: i64,
    pub(crate) hash: [u8; 32],
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) format: String,
    pub(crate) taken: Option<i64>,
    pub(crate) camera: Option<String>,
    pub(crate) indexed_at: i64,
}

/// A record as the second layout wrote it (no text): the first layout's
/// fields, then the position and place (postcard writes a struct's fields one
/// after another, nested or not).
#[derive(Deserialize)]
struct RecordV2 {
    first: RecordV1,
    gps: Option<crate::places::Gps>,
    place: Option<crate::places::Place>,
}

impl RecordV1 {
    fn into_current(
        self,
        gps: Option<crate::places::Gps>,
        place: Option<crate::places::Place>,
    ) -> ImageRecord {
        ImageRecord {
            path: self.path,
            size: self.size,
            mtime_ns: self.mtime_ns,
            hash: self.hash,
            width: self.width,
            height: self.height,
            format: self.format,
            taken: self.taken,
            camera: self.camera,
            indexed_at: self.indexed_at,
            gps,
            place,
            text: None,
            video: None,
        }
    }
}

/// A record as the third layout wrote it (no video).
#[derive(Deserialize)]
struct RecordV3 {
    v2: RecordV2,
    text: Option<String>,
}

/// Reads a stored record, in the current layout or an older one (postcard
/// is not self-describing: an older record ends where the current one still
/// expects a field, so it fails to read as current and is read as older).
pub fn decode_record(bytes: &[u8]) -> std::result::Result<ImageRecord, postcard::Error> {
    // Each layout only adds fields at the end, so an older record fails to
    // decode as a newer one (it ends early): try the newest first.
    postcard::from_bytes(bytes).or_else(|e| {
        if let Ok(v3) = postcard::from_bytes::<RecordV3>(bytes) {
            let mut rec = v3.v2.first.into_current(v3.v2.gps, v3.v2.place);
            rec.text = v3.text;
            return Ok(rec);
        }
        if let Ok(v2) = postcard::from_bytes::<RecordV2>(bytes) {
            return Ok(v2.first.into_current(v2.gps, v2.place));
        }
        postcard::from_bytes::<RecordV1>(bytes)
            .map(|v1| v1.into_current(None, None))
            .map_err(|_| e)
    })
}

impl ImageRecord {
    /// The path as an OS path.
    pub fn path_buf(&self) -> PathBuf {
        bytes_to_path(&self.path)
    }

    /// Whether the file lies in `folder` or below it ([`path_is_under`]).
    pub fn is_under(&self, folder: &Path) -> bool {
        path_is_under(&self.path, folder)
    }

    /// Whether the file lies under any of `roots` ([`ImageRecord::is_under`]).
    pub fn is_under_any(&self, roots: &[PathBuf]) -> bool {
        roots.iter().any(|r| self.is_under(r))
    }

    /// The date a person means by "when": EXIF capture time, else modification time.
    pub fn date(&self) -> i64 {
        capture_date(self.taken, self.mtime_ns)
    }
}

/// When a photo was taken (Unix seconds): its capture time if known, else
/// its file's modification time.
fn capture_date(taken: Option<i64>, mtime_ns: i64) -> i64 {
    taken.unwrap_or(mtime_ns.div_euclid(1_000_000_000))
}

/// Whether the file at `path` (bytes, as records keep it) lies in `folder` or
/// below it, as [`Path::starts_with`] says (whole components: `/a/b` holds
/// `/a/b/c.jpg`, not `/a/bc.jpg`), without making a `PathBuf`: filters test
/// this on every image a search looks at.
pub fn path_is_under(path: &[u8], folder: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let f = folder.as_os_str().as_bytes();
        // A folder spelt plainly (no `//`, `/./`, trailing `/.`) is compared as
        // bytes; records hold the paths the crawl gave, spelt plainly too.
        let plain = |b: &[u8]| {
            !b.windows(2).any(|w| w == b"//")
                && !b.windows(3).any(|w| w == b"/./")
                && !b.ends_with(b"/.")
        };
        if !f.is_empty() && plain(f) {
            let f = match f {
                [b'/'] => f,
                [rest @ .., b'/'] => rest,
                _ => f,
            };
            let p = path;
            let fast =
                p.starts_with(f) && (p.len() == f.len() || p[f.len()] == b'/' || f.ends_with(b"/"));
            if fast || plain(p) {
                return fast;
            }
        }
    }
    bytes_to_path(path).starts_with(folder)
}

/// What filters read of a record: an owned [`ImageRecord`] or a
/// [`RecordRef`] read in place.
pub trait RecordFields {
    /// The path, as bytes.
    fn path_bytes(&self) -> &[u8];
    /// The date a person means by "when" ([`ImageRecord::date`]).
    fn when(&self) -> i64;
    fn camera_name(&self) -> Option<&str>;
    fn format_name(&self) -> &str;
    /// The shorter of width and height.
    fn short_side(&self) -> u32;
    fn position(&self) -> Option<&crate::places::Gps>;
    /// The nearest place's country code and region.
    fn country_region(&self) -> Option<(&str, &str)>;
    /// Text read in the image (`None`: never looked for).
    fn picture_text(&self) -> Option<&str>;

    /// Whether the file lies in `folder` or below it ([`path_is_under`]).
    fn lies_under(&self, folder: &Path) -> bool {
        path_is_under(self.path_bytes(), folder)
    }
    /// Whether the file lies under any of `roots`.
    fn lies_under_any(&self, roots: &[PathBuf]) -> bool {
        roots.iter().any(|r| self.lies_under(r))
    }
}

impl RecordFields for ImageRecord {
    fn path_bytes(&self) -> &[u8] {
        &self.path
    }
    fn when(&self) -> i64 {
        self.date()
    }
    fn camera_name(&self) -> Option<&str> {
        self.camera.as_deref()
    }
    fn format_name(&self) -> &str {
        &self.format
    }
    fn short_side(&self) -> u32 {
        self.width.min(self.height)
    }
    fn position(&self) -> Option<&crate::places::Gps> {
        self.gps.as_ref()
    }
    fn country_region(&self) -> Option<(&str, &str)> {
        self.place
            .as_ref()
            .map(|p| (p.country.as_str(), p.region.as_str()))
    }
    fn picture_text(&self) -> Option<&str> {
        self.text.as_deref()
    }
}

/// A record read in place from its encoded bytes (the current layout, or the
/// one before videos: the fields it names end before `video`), borrowing its
/// path and strings: what a search's filters read at a million images without
/// holding a million decoded records.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordRef<'a> {
    #[serde(borrow)]
    pub path: &'a [u8],
    pub size: u64,
    pub mtime_ns: i64,
    pub hash: [u8; 32],
    pub width: u32,
    pub height: u32,
    #[serde(borrow)]
    pub format: &'a str,
    pub taken: Option<i64>,
    #[serde(borrow)]
    pub camera: Option<&'a str>,
    pub indexed_at: i64,
    pub gps: Option<crate::places::Gps>,
    #[serde(borrow)]
    pub place: Option<PlaceRef<'a>>,
    #[serde(borrow)]
    pub text: Option<&'a str>,
}

/// [`crate::places::Place`], borrowed.
#[derive(Debug, Clone, Deserialize)]
pub struct PlaceRef<'a> {
    #[serde(borrow)]
    pub city: &'a str,
    #[serde(borrow)]
    pub region: &'a str,
    #[serde(borrow)]
    pub country: &'a str,
}

impl<'a> RecordRef<'a> {
    /// Reads a record's bytes in place; `None` for a layout older than the
    /// one before videos (re-encode it first: [`decode_record`]).
    pub fn read(bytes: &'a [u8]) -> Option<Self> {
        postcard::from_bytes(bytes).ok()
    }
}

impl RecordFields for RecordRef<'_> {
    fn path_bytes(&self) -> &[u8] {
        self.path
    }
    fn when(&self) -> i64 {
        capture_date(self.taken, self.mtime_ns)
    }
    fn camera_name(&self) -> Option<&str> {
        self.camera
    }
    fn format_name(&self) -> &str {
        self.format
    }
    fn short_side(&self) -> u32 {
        self.width.min(self.height)
    }
    fn position(&self) -> Option<&crate::places::Gps> {
        self.gps.as_ref()
    }
    fn country_region(&self) -> Option<(&str, &str)> {
        self.place.as_ref().map(|p| (p.country, p.region))
    }
    fn picture_text(&self) -> Option<&str> {
        self.text
    }
}

/// Path → bytes, losslessly (Unix file names are bytes).
pub fn path_to_bytes(path: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        path.to_string_lossy().as_bytes().to_vec()
    }
}

/// Bytes → path, the inverse of [`path_to_bytes`].
pub fn bytes_to_path(bytes: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
    }
}

/// A new image to add: its record, normalised vector and thumbnail.
#[derive(Debug, Clone)]
pub struct NewImage {
    pub record: ImageRecord,
    pub vector: Vec<f32>,
    pub thumbnail: Vec<u8>,
    /// Perceptual hash of the pixels ([`crate::dupes::perceptual_hash`]).
    pub phash: u64,
    /// A video's other frames' vectors, in the order of the record's
    /// `video.frames_ms[1..]`; empty for a photo.
    pub frames: Vec<Vec<f32>>,
}

/// One batch of changes, applied atomically.
#[derive(Debug, Default, Clone)]
pub struct ChangeSet {
    pub added: Vec<NewImage>,
    /// An existing image at a new path (moved or renamed; same bytes).
    pub moved: Vec<(ImageId, ImageRecord)>,
    pub removed: Vec<ImageId>,
}

impl ChangeSet {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.moved.is_empty() && self.removed.is_empty()
    }
}

/// What [`Store::apply`] did: the ids given to the added images, in order, and
/// the ids whose path was re-added with new content (removed in the same
/// transaction).
#[derive(Debug, Clone)]
pub struct Applied {
    pub added_ids: Vec<ImageId>,
    pub replaced: Vec<ImageId>,
    pub generation: u64,
}

/// The sled-backed catalog.
pub struct Store {
    dir: PathBuf,
    t: std::mem::ManuallyDrop<Trees>,
    /// Set when sled reported an I/O error (a full disk, a read-only folder).
    io_failed: std::sync::atomic::AtomicBool,
}

/// The sled database and its trees.
struct Trees {
    db: sled::Db,
    meta: sled::Tree,
    images: sled::Tree,
    paths: sled::Tree,
    hashes: sled::Tree,
    vectors: sled::Tree,
    thumbs: sled::Tree,
    phash: sled::Tree,
    frames: sled::Tree,
}

impl Drop for Store {
    fn drop(&mut self) {
        if self.io_failed.load(std::sync::atomic::Ordering::Relaxed) {
            // After a failed write sled 0.34's drop waits forever for a flush that
            // cannot happen (seen with a full disk): leave its memory to the
            // process exit. Everything committed before the failure is on disk.
            return;
        }
        // SAFETY: dropped once, here; `t` is never used after.
        unsafe { std::mem::ManuallyDrop::drop(&mut self.t) }
    }
}

const KEY_SCHEMA: &[u8] = b"schema_version";
const KEY_NEXT_ID: &[u8] = b"next_id";
const KEY_GENERATION: &[u8] = b"generation";

/// sled's lock on `db` is held by another process, or for a moment more by this one:
/// sled 0.34 hands its last buffer writes to a pool thread that still holds the file
/// after the `Db` is dropped, so a library closed and opened again at once can find
/// its own lock (seen in CI as a rare `WouldBlock` on reopen).
fn is_lock_held(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("could not acquire lock")
}

/// sled's page cache, in bytes.
const SLED_CACHE: u64 = 128 << 20;

/// Opens sled, waiting up to two seconds for a lock that is about to be released.
fn open_waiting_for_lock(dir: &Path) -> sled::Result<sled::Db> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let got = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::LowSpace)
            // sled's default (1 GiB) filled up with the records read at open:
            // a server of a million photos kept a gigabyte it never read again.
            .cache_capacity(SLED_CACHE)
            .open();
        match got {
            Err(sled::Error::Io(io))
                if is_lock_held(&io) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            other => return other,
        }
    }
}

fn corrupt(dir: &Path, what: impl std::fmt::Display) -> Error {
    Error::DataCorruption {
        path: dir.to_path_buf(),
        message: format!(
            "{what}; run `scry index --rebuild` to re-create the library from the source images"
        ),
    }
}

impl Store {
    /// Opens (or creates) the catalog in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let open = || open_waiting_for_lock(dir);
        let db = match open() {
            // A snapshot sled was writing when the disk filled (or the process was
            // killed) stays behind as an empty `snap.*.generating` file, which sled
            // then reads as a damaged catalog. Finished snapshots are renamed, so
            // such a file is never needed: drop it and open again.
            Err(sled::Error::Corruption { .. }) if remove_unfinished_snapshots(dir) => open(),
            other => other,
        }
        .map_err(|e| match e {
            sled::Error::Io(io) if is_lock_held(&io) => Error::io(
                dir,
                std::io::Error::new(
                    io.kind(),
                    "the library is open in another scry process (an indexer or a server); \
                     stop it, or point this one at another library",
                ),
            ),
            sled::Error::Io(io) => Error::io(dir, io),
            other => corrupt(dir, format!("the catalog cannot be opened ({other})")),
        })?;
        let tree = |name: &str| db.open_tree(name).map_err(|e| corrupt(dir, e));
        let t = Trees {
            meta: tree("meta")?,
            images: tree("images")?,
            paths: tree("paths")?,
            hashes: tree("hashes")?,
            vectors: tree("vectors")?,
            thumbs: tree("thumbs")?,
            phash: tree("phash")?,
            frames: tree("frames")?,
            db,
        };
        let store = Store {
            dir: dir.to_path_buf(),
            t: std::mem::ManuallyDrop::new(t),
            io_failed: std::sync::atomic::AtomicBool::new(false),
        };
        match store.meta_get::<u32>(KEY_SCHEMA)? {
            None if store.t.images.is_empty() => {
                store.meta_set(KEY_SCHEMA, &SCHEMA_VERSION)?;
                store.flush()?;
            }
            None => return Err(corrupt(dir, "the catalog has images but no schema version")),
            Some(v) if v == SCHEMA_VERSION => {}
            Some(v) => {
                return Err(Error::IncompatibleLibrary {
                    path: dir.to_path_buf(),
                    message: format!(
                        "the library was written by schema version {v}; this scry reads version \
                         {SCHEMA_VERSION}. Use a matching scry, or `scry index --rebuild` to re-create it"
                    ),
                })
            }
        }
        Ok(store)
    }

    /// The folder holding the catalog.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn err(&self, e: impl std::fmt::Display) -> Error {
        corrupt(&self.dir, e)
    }

    /// A sled error: an I/O failure names the OS error (and marks the store, see
    /// `Drop`); anything else means the catalog is damaged.
    fn sled_err(&self, e: sled::Error) -> Error {
        match e {
            sled::Error::Io(io) => {
                self.io_failed
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                Error::io(&self.dir, io)
            }
            other => corrupt(&self.dir, other),
        }
    }

    /// Reads a metadata value.
    pub fn meta_get<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>> {
        match self.t.meta.get(key).map_err(|e| self.sled_err(e))? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v).map(Some).map_err(|e| {
                self.err(format!(
                    "metadata {} unreadable: {e}",
                    String::from_utf8_lossy(key)
                ))
            }),
        }
    }

    /// Writes a metadata value (durable after the next [`Store::flush`]).
    pub fn meta_set<T: Serialize>(&self, key: &[u8], value: &T) -> Result<()> {
        let v = serde_json::to_vec(value).expect("metadata serialises");
        self.t.meta.insert(key, v).map_err(|e| self.sled_err(e))?;
        Ok(())
    }

    /// Removes a metadata value.
    pub fn meta_remove(&self, key: &[u8]) -> Result<()> {
        self.t.meta.remove(key).map_err(|e| self.sled_err(e))?;
        Ok(())
    }

    /// Makes everything written so far durable.
    pub fn flush(&self) -> Result<()> {
        self.t.db.flush().map_err(|e| self.sled_err(e))?;
        Ok(())
    }

    /// Number of images in the catalog.
    pub fn len(&self) -> usize {
        self.t.images.len()
    }

    pub fn is_empty(&self) -> bool {
        self.t.images.is_empty()
    }

    /// Incremented by every applied change set; derived indexes record the
    /// generation they reflect.
    pub fn generation(&self) -> Result<u64> {
        Ok(self.meta_get(KEY_GENERATION)?.unwrap_or(0))
    }

    pub fn get(&self, id: ImageId) -> Result<Option<ImageRecord>> {
        match self
            .t
            .images
            .get(id.to_be_bytes())
            .map_err(|e| self.sled_err(e))?
        {
            None => Ok(None),
            Some(v) => decode_record(&v)
                .map(Some)
                .map_err(|e| self.err(format!("image record {id} unreadable: {e}"))),
        }
    }

    pub fn contains(&self, id: ImageId) -> Result<bool> {
        self.t
            .images
            .contains_key(id.to_be_bytes())
            .map_err(|e| self.sled_err(e))
    }

    pub fn id_for_path(&self, path: &[u8]) -> Result<Option<ImageId>> {
        Ok(self
            .t
            .paths
            .get(path)
            .map_err(|e| self.sled_err(e))?
            .map(|v| id_from(&v)))
    }

    /// Ids of images whose bytes hash to `hash`.
    pub fn ids_for_hash(&self, hash: &[u8; 32]) -> Result<Vec<ImageId>> {
        self.t
            .hashes
            .scan_prefix(hash)
            .keys()
            .map(|k| k.map(|k| id_from(&k[32..])).map_err(|e| self.sled_err(e)))
            .collect()
    }

    pub fn vector(&self, id: ImageId) -> Result<Option<Vec<f32>>> {
        Ok(self
            .t
            .vectors
            .get(id.to_be_bytes())
            .map_err(|e| self.sled_err(e))?
            .map(|v| floats_from(&v)))
    }

    /// A video's other frames' vectors (none for a photo).
    pub fn frames(&self, id: ImageId, dim: usize) -> Result<Vec<Vec<f32>>> {
        Ok(self
            .t
            .frames
            .get(id.to_be_bytes())
            .map_err(|e| self.sled_err(e))?
            .map(|v| split_frames(&floats_from(&v), dim))
            .unwrap_or_default())
    }

    /// Every video's other frames' vectors.
    pub fn all_frames(
        &self,
        dim: usize,
    ) -> impl Iterator<Item = Result<(ImageId, Vec<Vec<f32>>)>> + '_ {
        self.t.frames.iter().map(move |kv| {
            let (k, v) = kv.map_err(|e| self.sled_err(e))?;
            Ok((id_from(&k), split_frames(&floats_from(&v), dim)))
        })
    }

    pub fn thumbnail(&self, id: ImageId) -> Result<Option<Vec<u8>>> {
        Ok(self
            .t
            .thumbs
            .get(id.to_be_bytes())
            .map_err(|e| self.sled_err(e))?
            .map(|v| v.to_vec()))
    }

    /// Every stored perceptual hash, in id order.
    pub fn phashes(&self) -> impl Iterator<Item = Result<(ImageId, u64)>> + '_ {
        self.t.phash.iter().map(move |kv| {
            let (k, v) = kv.map_err(|e| self.sled_err(e))?;
            let bytes: [u8; 8] = v.as_ref().try_into().map_err(|_| {
                self.err(format!(
                    "perceptual hash of image {} unreadable",
                    id_from(&k)
                ))
            })?;
            Ok((id_from(&k), u64::from_be_bytes(bytes)))
        })
    }

    /// Stores perceptual hashes computed after the fact (libraries indexed before
    /// they were kept).
    pub fn set_phashes(&self, hashes: &[(ImageId, u64)]) -> Result<()> {
        let mut batch = sled::Batch::default();
        for (id, h) in hashes {
            batch.insert(&id.to_be_bytes(), &h.to_be_bytes());
        }
        self.t
            .phash
            .apply_batch(batch)
            .map_err(|e| self.sled_err(e))?;
        self.flush()
    }

    /// Every record, in id order.
    pub fn records(&self) -> impl Iterator<Item = Result<(ImageId, ImageRecord)>> + '_ {
        self.records_in(0..ImageId::MAX)
    }

    /// The records of ids in `range`, in id order (for reading a large catalog
    /// on several threads: sled iterates disjoint ranges concurrently).
    pub fn records_in(
        &self,
        range: std::ops::Range<ImageId>,
    ) -> impl Iterator<Item = Result<(ImageId, ImageRecord)>> + '_ {
        let (start, end) = (range.start.to_be_bytes(), range.end.to_be_bytes());
        self.t.images.range(start..end).map(move |kv| {
            let (k, v) = kv.map_err(|e| self.sled_err(e))?;
            let id = id_from(&k);
            let rec = decode_record(&v)
                .map_err(|e| self.err(format!("image record {id} unreadable: {e}")))?;
            Ok((id, rec))
        })
    }

    /// The records of ids in `range` as the catalog stores them (encoded), in
    /// id order: for holding them compactly ([`RecordRef`], [`decode_record`]).
    pub fn raw_records_in(
        &self,
        range: std::ops::Range<ImageId>,
    ) -> impl Iterator<Item = Result<(ImageId, impl AsRef<[u8]>)>> + '_ {
        let (start, end) = (range.start.to_be_bytes(), range.end.to_be_bytes());
        self.t.images.range(start..end).map(move |kv| {
            let (k, v) = kv.map_err(|e| self.sled_err(e))?;
            Ok((id_from(&k), v))
        })
    }

    /// The highest image id in the catalog (`None` when it is empty).
    pub fn last_id(&self) -> Result<Option<ImageId>> {
        Ok(self
            .t
            .images
            .last()
            .map_err(|e| self.sled_err(e))?
            .map(|(k, _)| id_from(&k)))
    }

    /// Every vector, in id order.
    pub fn vectors(&self) -> impl Iterator<Item = Result<(ImageId, Vec<f32>)>> + '_ {
        self.t.vectors.iter().map(move |kv| {
            let (k, v) = kv.map_err(|e| self.sled_err(e))?;
            Ok((id_from(&k), floats_from(&v)))
        })
    }

    /// Applies a change set atomically and durably.
    pub fn apply(&self, changes: &ChangeSet) -> Result<Applied> {
        let encoded: Vec<Vec<u8>> = changes
            .added
            .iter()
            .map(|n| postcard::to_allocvec(&n.record).expect("record serialises"))
            .collect();
        let moved: Vec<Vec<u8>> = changes
            .moved
            .iter()
            .map(|(_, r)| postcard::to_allocvec(r).expect("record serialises"))
            .collect();
        let result = (
            &self.t.meta,
            &self.t.images,
            &self.t.paths,
            &self.t.hashes,
            &self.t.vectors,
            &self.t.thumbs,
            &self.t.phash,
            &self.t.frames,
        )
            .transaction(
                |(meta, images, paths, hashes, vectors, thumbs, phash, frames)| {
                    let read_u64 = |key: &[u8]| -> std::result::Result<
                        u64,
                        ConflictableTransactionError<String>,
                    > {
                        Ok(match meta.get(key)? {
                            Some(v) => serde_json::from_slice(&v)
                                .map_err(|e| ConflictableTransactionError::Abort(e.to_string()))?,
                            None => 0,
                        })
                    };
                    let mut next = read_u64(KEY_NEXT_ID)?.max(1);
                    let generation = read_u64(KEY_GENERATION)? + 1;
                    for &id in &changes.removed {
                        let key = id.to_be_bytes();
                        if let Some(old) = images.remove(&key)? {
                            let rec: ImageRecord = decode_record(&old)
                                .map_err(|e| ConflictableTransactionError::Abort(e.to_string()))?;
                            if paths.get(&rec.path)?.map(|v| id_from(&v)) == Some(id) {
                                paths.remove(rec.path.as_slice())?;
                            }
                            hashes.remove(hash_key(&rec.hash, id).as_slice())?;
                        }
                        vectors.remove(&key)?;
                        thumbs.remove(&key)?;
                        phash.remove(&key)?;
                        frames.remove(&key)?;
                    }
                    for ((id, rec), bytes) in changes.moved.iter().zip(&moved) {
                        let key = id.to_be_bytes();
                        if let Some(old) = images.get(key)? {
                            let old: ImageRecord = decode_record(&old)
                                .map_err(|e| ConflictableTransactionError::Abort(e.to_string()))?;
                            if paths.get(&old.path)?.map(|v| id_from(&v)) == Some(*id) {
                                paths.remove(old.path.as_slice())?;
                            }
                        }
                        images.insert(&key, bytes.as_slice())?;
                        paths.insert(rec.path.as_slice(), &key)?;
                    }
                    let mut added_ids = Vec::with_capacity(changes.added.len());
                    let mut replaced = Vec::new();
                    for (new, bytes) in changes.added.iter().zip(&encoded) {
                        let id = next;
                        next += 1;
                        let key = id.to_be_bytes();
                        // A path re-added with new content replaces its old record.
                        if let Some(old_id) = paths.get(&new.record.path)? {
                            let old_id = id_from(&old_id);
                            if let Some(old) = images.remove(&old_id.to_be_bytes())? {
                                let old: ImageRecord = decode_record(&old).map_err(|e| {
                                    ConflictableTransactionError::Abort(e.to_string())
                                })?;
                                hashes.remove(hash_key(&old.hash, old_id).as_slice())?;
                            }
                            vectors.remove(&old_id.to_be_bytes())?;
                            thumbs.remove(&old_id.to_be_bytes())?;
                            phash.remove(&old_id.to_be_bytes())?;
                            frames.remove(&old_id.to_be_bytes())?;
                            replaced.push(old_id);
                        }
                        images.insert(&key, bytes.as_slice())?;
                        paths.insert(new.record.path.as_slice(), &key)?;
                        hashes.insert(hash_key(&new.record.hash, id), &[])?;
                        vectors.insert(&key, floats_to(&new.vector))?;
                        thumbs.insert(&key, new.thumbnail.as_slice())?;
                        phash.insert(&key, &new.phash.to_be_bytes())?;
                        if !new.frames.is_empty() {
                            frames.insert(&key, floats_to(&new.frames.concat()))?;
                        }
                        added_ids.push(id);
                    }
                    meta.insert(KEY_NEXT_ID, serde_json::to_vec(&next).expect("u64"))?;
                    meta.insert(
                        KEY_GENERATION,
                        serde_json::to_vec(&generation).expect("u64"),
                    )?;
                    Ok(Applied {
                        added_ids,
                        replaced,
                        generation,
                    })
                },
            );
        let applied = result.map_err(|e| match e {
            TransactionError::Abort(m) => self.err(m),
            TransactionError::Storage(e) => self.sled_err(e),
        })?;
        self.flush()?;
        Ok(applied)
    }
}

/// Removes sled's unfinished snapshot files from `dir`; true if there were any.
fn remove_unfinished_snapshots(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut removed = false;
    for entry in entries.flatten() {
        if is_unfinished_snapshot(&entry.file_name()) {
            tracing::warn!(
                "removing an unfinished catalog snapshot: {}",
                entry.path().display()
            );
            removed |= std::fs::remove_file(entry.path()).is_ok();
        }
    }
    removed
}

/// `snap.*.generating`: a snapshot sled had not finished writing.
pub fn is_unfinished_snapshot(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with("snap.") && name.ends_with(".generating")
}

/// Content hash of a file's bytes (BLAKE3): finds copies and moved files.
pub fn content_hash(bytes: &[u8]) -> [u8; 32] {
    *blake3::hash(bytes).as_bytes()
}

fn hash_key(hash: &[u8; 32], id: ImageId) -> Vec<u8> {
    let mut k = Vec::with_capacity(40);
    k.extend_from_slice(hash);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

fn id_from(bytes: &[u8]) -> ImageId {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[..8]);
    u64::from_be_bytes(b)
}

fn floats_to(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A video's frames, stored one after another, as one vector each.
fn split_frames(all: &[f32], dim: usize) -> Vec<Vec<f32>> {
    if dim == 0 {
        return Vec::new();
    }
    all.chunks_exact(dim).map(<[f32]>::to_vec).collect()
}

fn floats_from(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_of_every_layout_read_back() {
        let v1 = postcard::to_allocvec(&(
            b"/a.jpg".to_vec(),
            7u64,
            8i64,
            [3u8; 32],
            4u32,
            5u32,
            "jpeg",
            Some(9i64),
            Some("Canon EOS 5D"),
            10i64,
        ))
        .unwrap();
        let old = decode_record(&v1).unwrap();
        assert_eq!((old.size, old.taken, old.indexed_at), (7, Some(9), 10));
        assert_eq!((old.gps, old.place.clone()), (None, None));
        let mut new = old.clone();
        new.gps = crate::places::Gps::new(38.7, -9.1);
        new.place = Some(crate::places::Place {
            city: "Lisbon".into(),
            region: "Lisbon".into(),
            country: "PT".into(),
        });
        // The second layout: position and place, no text.
        let v2 = postcard::to_allocvec(&new).unwrap();
        let v2 = &v2[..v2.len() - 1];
        assert_eq!(decode_record(v2).unwrap(), new);
        new.text = Some("GATE B12".into());
        let bytes = postcard::to_allocvec(&new).unwrap();
        assert_eq!(decode_record(&bytes).unwrap(), new);
        assert!(decode_record(&v1[..v1.len() - 1]).is_err());
    }

    #[test]
    fn is_under_agrees_with_path_starts_with() {
        let paths = [
            "/srv/photos/user3/2021/IMG_1.jpg",
            "/srv/photos/user31/IMG_2.jpg",
            "/srv/photos/user3",
            "/srv//photos/user3/a.jpg",
            "/srv/photos/./user3/b.jpg",
            "relative/user3/c.jpg",
            "/",
        ];
        let folders = [
            "/srv/photos/user3",
            "/srv/photos/user3/",
            "/srv/photos/user",
            "/srv//photos",
            "/srv/./photos",
            "/",
            "",
            "relative",
            "/srv/photos/user3/2021/IMG_1.jpg",
        ];
        let mut rec = ImageRecord {
            path: Vec::new(),
            size: 0,
            mtime_ns: 0,
            hash: [0; 32],
            width: 1,
            height: 1,
            format: "jpeg".into(),
            taken: None,
            camera: None,
            indexed_at: 0,
            gps: None,
            place: None,
            text: None,
            video: None,
        };
        for p in paths {
            rec.path = p.as_bytes().to_vec();
            for f in folders {
                let want = Path::new(p).starts_with(f);
                assert_eq!(rec.is_under(Path::new(f)), want, "{p} under {f}");
            }
        }
    }
}
