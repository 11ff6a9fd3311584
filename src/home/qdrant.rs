//! The Qdrant home: a library in a Qdrant collection, on one node or a cluster.
//! The only module that names `qdrant-client`.
//!
//! Layout (URL `qdrant://HOST:PORT/NAME`, gRPC port):
//! - The alias `NAME` points at the collection `NAME_v<n>`. `scry index --rebuild`
//!   fills `NAME_v<n+1>` and re-points the alias in one step, so searches never
//!   see a half-built library; the old collection is then dropped.
//! - One point per image. Its id is derived from the path (53 bits of BLAKE3,
//!   probing on the rare collision), so a restarted run rewrites the same points
//!   and ids stay exact in JSON. Vectors: `clip` (dense, cosine, originals on disk,
//!   int8 scalar quantisation kept in RAM with rescoring) and `bm25` (sparse, IDF
//!   modifier: the words of [`crate::keyword::document_text`] as the local
//!   keyword index splits them, weighted by BM25's term part here). A keyword
//!   match needs every word (a `words` payload condition), as in the local
//!   library, and is ranked by BM25. The payload holds the record, the perceptual hash, the filter
//!   fields (`dirs`: every ancestor folder, `date`, `camera`, `format`,
//!   `short_side`, `hash`) and the thumbnail (base64, never sent with results).
//! - One settings point (no vectors) at a reserved id above every image id: the
//!   model, dimension, roots, albums, last run and a generation (a fresh number
//!   at each change, not a counter: workers write at once). Changes write only
//!   the keys they change (a payload update), so concurrent writers of
//!   different keys never undo each other. So
//!   everything a server needs is in the collection: any number of `scry serve`
//!   replicas can answer from it, and any can be killed.
//!
//! Every write waits for the server (`wait=true`) and checks that it completed;
//! transient errors (unavailable, deadline, overloaded) are retried with
//! back-off; anything else becomes one [`Error::Remote`] naming the request.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use qdrant_client::qdrant::{
    point_id::PointIdOptions, vector_output::Vector as OutVector, Condition, CountPointsBuilder,
    CreateAliasBuilder, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder,
    DeleteCollectionBuilder, DeletePointsBuilder, Distance, FieldType, Filter, GeoPoint, GeoRadius,
    GetPointsBuilder, IntegerIndexParamsBuilder, KeywordIndexParamsBuilder, Modifier, NamedVectors,
    PayloadExcludeSelector, PayloadIncludeSelector, PointId, PointStruct,
    QuantizationSearchParamsBuilder, Query, QueryBatchPointsBuilder, QueryPoints,
    QueryPointsBuilder, Range, ReplicaState, RetrievedPoint, ScalarQuantizationBuilder,
    ScrollPointsBuilder, SearchParamsBuilder, SetPayloadPointsBuilder, SparseVectorParamsBuilder,
    SparseVectorsConfigBuilder, TextIndexParamsBuilder, TokenizerType, UpdateStatus,
    UpsertPointsBuilder, VectorParamsBuilder, VectorsConfigBuilder, VectorsSelector, WriteOrdering,
    WriteOrderingType,
};
use qdrant_client::{Payload, Qdrant, QdrantError};
use serde::{Deserialize, Serialize};

use super::{Home, Item, Scope, Want};
use crate::access::Access;
use crate::albums::Album;
use crate::ann::Scored;
use crate::error::{Error, Result};
use crate::places::Where;
use crate::store::{Applied, ChangeSet, ImageId, ImageRecord};

/// Image ids stay below 2^53, exact as JSON numbers in every language.
const ID_BITS: u32 = 53;
/// The settings point: above every image id.
const SETTINGS_ID: u64 = 1 << 60;
const DENSE: &str = "clip";
const SPARSE: &str = "bm25";
/// BM25's parameters (tantivy's), and the document length the term weights are
/// normalised by (a path's words: folders, name, extension, camera, dates).
const BM25_K1: f32 = 1.2;
const BM25_B: f32 = 0.75;
const BM25_AVG_WORDS: f32 = 14.0;
/// Points per upsert request (Qdrant suggests 64–256; ours carry thumbnails).
const UPSERT_CHUNK: usize = 64;
/// Points per scroll page.
const PAGE: u32 = 512;
/// Attempts of a request that failed for a transient reason.
const ATTEMPTS: u32 = 6;

/// `qdrant://HOST:PORT[,HOST:PORT…]/NAME[?exact=true&shards=N&replicas=N]`.
/// Several nodes of one cluster may be named: requests go to the first that
/// answers, and move to the next when a node cannot be reached.
#[derive(Debug, Clone, PartialEq)]
pub struct QdrantUrl {
    pub tls: bool,
    /// The nodes, each a host and its gRPC port (at least one).
    pub nodes: Vec<(String, u16)>,
    /// The alias scry reads and writes through.
    pub name: String,
    /// Search exactly (no HNSW): for tests and for measuring recall.
    pub exact: bool,
    /// Shards and replicas of a new collection (Qdrant's defaults otherwise).
    pub shards: Option<u32>,
    pub replicas: Option<u32>,
}

impl QdrantUrl {
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::InvalidArgument(format!(
                "--db {s}: {why}; expected qdrant://HOST:PORT/NAME, or qdrant://HOST:PORT,HOST:PORT/NAME for several nodes of a cluster (the gRPC port, 6334 by default)"
            ))
        };
        let (tls, rest) = if let Some(r) = s.strip_prefix("qdrants://") {
            (true, r)
        } else if let Some(r) = s.strip_prefix("qdrant://") {
            (false, r)
        } else {
            return Err(bad("not a qdrant:// URL"));
        };
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, name) = rest
            .split_once('/')
            .ok_or_else(|| bad("no collection name"))?;
        let name = name.trim_end_matches('/');
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(bad("the name must be letters, digits, '_' or '-'"));
        }
        let mut nodes = Vec::new();
        for node in authority.split(',') {
            let (host, port) = match node.rsplit_once(':') {
                Some((h, p)) => (
                    h.to_string(),
                    p.parse::<u16>()
                        .map_err(|_| bad("the port is not a number"))?,
                ),
                None => (node.to_string(), 6334),
            };
            if host.is_empty() {
                return Err(bad("no host"));
            }
            nodes.push((host, port));
        }
        let mut url = QdrantUrl {
            tls,
            nodes,
            name: name.to_string(),
            exact: false,
            shards: None,
            replicas: None,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let num = || {
                v.parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| bad(&format!("{k}={v} is not a positive number")))
            };
            match k {
                "exact" => url.exact = matches!(v, "" | "1" | "true" | "yes"),
                "shards" => url.shards = Some(num()?),
                "replicas" => url.replicas = Some(num()?),
                _ => {
                    return Err(bad(&format!(
                        "unknown option {k:?} (exact, shards, replicas)"
                    )))
                }
            }
        }
        Ok(url)
    }

    /// Each node's gRPC endpoint, in the order given.
    fn endpoints(&self) -> Vec<String> {
        let scheme = if self.tls { "https" } else { "http" };
        self.nodes
            .iter()
            .map(|(h, p)| format!("{scheme}://{h}:{p}"))
            .collect()
    }
}

impl std::fmt::Display for QdrantUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "qdrants" } else { "qdrant" };
        let nodes: Vec<String> = self.nodes.iter().map(|(h, p)| format!("{h}:{p}")).collect();
        write!(f, "{scheme}://{}/{}", nodes.join(","), self.name)
    }
}

/// What the settings point holds.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Settings {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    dim: usize,
    #[serde(default)]
    roots: Vec<String>,
    /// JSON text: kept as a string so Qdrant's payload types never reshape it.
    #[serde(default)]
    albums_json: Option<String>,
    #[serde(default)]
    last_run_json: Option<String>,
    /// The OCR languages indexing reads text in; none: OCR is off.
    #[serde(default)]
    ocr: Option<String>,
    /// The library's own tag categories.
    #[serde(default)]
    categories: Vec<String>,
    /// The users and groups, JSON text.
    #[serde(default)]
    access_json: Option<String>,
    #[serde(default)]
    generation: u64,
}

/// An image point's payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ImagePayload {
    kind: String,
    /// The path as text (lossy where it is not UTF-8; then `path_hex` has the bytes).
    path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path_hex: Option<String>,
    dirs: Vec<String>,
    size: u64,
    mtime_ns: i64,
    hash: String,
    width: u32,
    height: u32,
    format: String,
    taken: Option<i64>,
    camera: Option<String>,
    indexed_at: i64,
    date: i64,
    short_side: u32,
    /// The perceptual hash's bits, as a signed integer (payload integers are i64).
    phash: i64,
    /// The keyword index's words of the image (every one must be present for a
    /// keyword match, as in the local library).
    #[serde(default)]
    words: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    thumb: Option<String>,
    /// The GPS position as Qdrant's geo type (`lat`, `lon`), for radius filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    location: Option<crate::places::Gps>,
    /// The nearest place's name, region and country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    country: Option<String>,
    /// Text read in the image, as read (the record's), and its words as the
    /// keyword index splits them, joined by spaces: the field a phrase
    /// (`text:"gate b12"`) is matched against, so both homes split alike.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text_words: Option<String>,
    /// A video's length and frame times (the record's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    video: Option<crate::store::Video>,
    /// A video's other frames' vectors: little-endian f32s one after another,
    /// base64 (read only by [`Home::frames`], like the thumbnail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    frames: Option<String>,
    /// A frame point's video (its image id) and time in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    of: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at: Option<u32>,
}

impl ImagePayload {
    fn new(rec: &ImageRecord, phash: u64, thumb: Option<&[u8]>, frames: Option<String>) -> Self {
        let path = rec.path_buf();
        let text = std::str::from_utf8(&rec.path).ok();
        ImagePayload {
            kind: "image".into(),
            path: path.to_string_lossy().into_owned(),
            path_hex: text.is_none().then(|| hex(&rec.path)),
            dirs: path
                .ancestors()
                .skip(1)
                .map(|d| d.to_string_lossy().into_owned())
                .filter(|d| !d.is_empty())
                .collect(),
            size: rec.size,
            mtime_ns: rec.mtime_ns,
            hash: hex(&rec.hash),
            width: rec.width,
            height: rec.height,
            format: rec.format.to_lowercase(),
            taken: rec.taken,
            camera: rec.camera.clone(),
            indexed_at: rec.indexed_at,
            date: rec.date(),
            short_side: rec.width.min(rec.height),
            phash: phash as i64,
            words: {
                let mut w = crate::keyword::tokens(&crate::keyword::document_text(rec));
                w.sort();
                w.dedup();
                w
            },
            thumb: thumb.map(|t| base64::engine::general_purpose::STANDARD.encode(t)),
            location: rec.gps,
            city: rec.place.as_ref().map(|p| p.city.clone()),
            region: rec.place.as_ref().map(|p| p.region.clone()),
            country: rec.place.as_ref().map(|p| p.country.clone()),
            text: rec.text.clone(),
            text_words: rec
                .text
                .as_ref()
                .map(|t| crate::keyword::tokens(t).join(" ")),
            video: rec.video.clone(),
            frames,
            of: None,
            at: None,
        }
    }

    /// The payload of a video's frame point: the video's filter fields (so a
    /// search's filters apply to its frames alike), never its words (keyword
    /// matches are the video's own point), thumbnail or frames.
    fn frame(rec: &ImageRecord, video: ImageId, at_ms: u32) -> Self {
        let mut p = ImagePayload::new(rec, 0, None, None);
        p.kind = "frame".into();
        p.words = Vec::new();
        p.text = None;
        p.of = Some(video);
        p.at = Some(at_ms);
        p
    }

    fn record(&self) -> ImageRecord {
        let path = match &self.path_hex {
            Some(h) => unhex(h),
            None => self.path.clone().into_bytes(),
        };
        let mut hash = [0u8; 32];
        let bytes = unhex(&self.hash);
        if bytes.len() == 32 {
            hash.copy_from_slice(&bytes);
        }
        ImageRecord {
            path,
            size: self.size,
            mtime_ns: self.mtime_ns,
            hash,
            width: self.width,
            height: self.height,
            format: self.format.clone(),
            taken: self.taken,
            camera: self.camera.clone(),
            indexed_at: self.indexed_at,
            gps: self.location,
            place: match (&self.city, &self.country) {
                (Some(city), Some(country)) => Some(crate::places::Place {
                    city: city.clone(),
                    region: self.region.clone().unwrap_or_default(),
                    country: country.clone(),
                }),
                _ => None,
            },
            text: self.text.clone(),
            video: self.video.clone(),
        }
    }
}

/// A video's other frames read back from [`frames_payload`]'s text.
fn frames_of_payload(
    text: &str,
    dim: usize,
) -> std::result::Result<Vec<Vec<f32>>, base64::DecodeError> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(text)?;
    let all: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(all.chunks_exact(dim.max(1)).map(<[f32]>::to_vec).collect())
}

/// A video's other frames as the payload keeps them.
fn frames_payload(frames: &[Vec<f32>]) -> Option<String> {
    if frames.is_empty() {
        return None;
    }
    let bytes: Vec<u8> = frames
        .iter()
        .flatten()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A word's dimension in the sparse vector.
fn word_id(word: &str) -> u32 {
    let d = blake3::hash(word.as_bytes());
    u32::from_le_bytes(d.as_bytes()[..4].try_into().expect("4 bytes"))
}

/// The BM25 term weights of a document's words (Qdrant multiplies them by each
/// word's IDF at query time).
fn bm25_document(words: &[String]) -> (Vec<u32>, Vec<f32>) {
    let mut counts: BTreeMap<u32, f32> = BTreeMap::new();
    for w in words {
        *counts.entry(word_id(w)).or_default() += 1.0;
    }
    let len = words.len() as f32;
    let norm = BM25_K1 * (1.0 - BM25_B + BM25_B * len / BM25_AVG_WORDS);
    counts
        .into_iter()
        .map(|(id, tf)| (id, tf * (BM25_K1 + 1.0) / (tf + norm)))
        .unzip()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

/// The id a path gets, `probe` counting collisions.
fn id_for(path: &[u8], probe: u32) -> ImageId {
    let mut h = blake3::Hasher::new();
    h.update(path);
    if probe > 0 {
        h.update(&probe.to_le_bytes());
    }
    let d = h.finalize();
    let n = u64::from_le_bytes(d.as_bytes()[..8].try_into().expect("8 bytes"));
    // 0 is left unused.
    (n & ((1 << ID_BITS) - 1)).max(1)
}

fn point_u64(id: &Option<PointId>) -> Option<u64> {
    match id.as_ref()?.point_id_options.as_ref()? {
        PointIdOptions::Num(n) => Some(*n),
        PointIdOptions::Uuid(_) => None,
    }
}

fn dense(v: Option<OutVector>) -> Option<Vec<f32>> {
    match v? {
        OutVector::Dense(d) => Some(d.data),
        _ => None,
    }
}

fn image_payload(p: HashMap<String, qdrant_client::qdrant::Value>) -> Option<ImagePayload> {
    Payload::from(p).deserialize::<ImagePayload>().ok()
}

fn no_thumb() -> PayloadExcludeSelector {
    PayloadExcludeSelector {
        fields: vec!["thumb".into(), "frames".into()],
    }
}

fn only(fields: &[&str]) -> PayloadIncludeSelector {
    PayloadIncludeSelector {
        fields: fields.iter().map(|f| f.to_string()).collect(),
    }
}

fn clip_only() -> VectorsSelector {
    VectorsSelector {
        names: vec![DENSE.into()],
    }
}

/// A number for the settings' generation that no other write used: the clock's
/// nanoseconds mixed with this process's id (53 bits, exact in JSON).
fn fresh_generation() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mixed = blake3::hash(
        &[
            nanos.to_le_bytes(),
            u64::from(std::process::id()).to_le_bytes(),
        ]
        .concat(),
    );
    let g = u64::from_le_bytes(mixed.as_bytes()[..8].try_into().expect("8 bytes")) >> 11;
    // Never the same number twice in a row from this process.
    if LAST.swap(g, Ordering::Relaxed) == g {
        g ^ 1
    } else {
        g
    }
}

/// A folder as the `dirs` payload spells it (no trailing slash; the root is `/`).
fn dir_key(folder: &Path) -> String {
    let d = folder.to_string_lossy().trim_end_matches('/').to_string();
    if d.is_empty() {
        "/".to_string()
    } else {
        d
    }
}

fn is_image() -> Condition {
    Condition::matches("kind", vec!["image".to_string()])
}

/// The first id of videos' frame points: above every image id (53 bits) and
/// the settings point (2^60).
const FRAME_IDS: u64 = 1 << 61;

/// The point id of a video's `k`-th other frame (from 1).
fn frame_point(video: ImageId, k: usize) -> u64 {
    FRAME_IDS | (video << 6) | k as u64
}

/// The image a point stands for: a frame point's video, else itself.
fn image_of(point: u64) -> ImageId {
    if point >= FRAME_IDS {
        (point & (FRAME_IDS - 1)) >> 6
    } else {
        point
    }
}

/// A nearest-vector search's points as images: each video once, at its best
/// frame's score, best first.
fn merge_frames(points: Vec<Scored>) -> Vec<Scored> {
    let mut out: Vec<Scored> = Vec::with_capacity(points.len());
    let mut seen: HashMap<ImageId, usize> = HashMap::new();
    for (p, score) in points {
        let id = image_of(p);
        match seen.get(&id) {
            Some(&i) => out[i].1 = out[i].1.max(score),
            None => {
                seen.insert(id, out.len());
                out.push((id, score));
            }
        }
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// Whether the request never reached the server (the client reports a refused or
/// broken connection as an `Internal` status).
fn unreachable(status: &tonic::Status) -> bool {
    let m = status.message();
    status.code() == tonic::Code::Unavailable
        || m.contains("Failed to connect")
        || m.contains("tcp connect error")
        || m.contains("transport error")
}

/// Whether a cluster is between states: a collection whose replicas are still
/// being activated, a node that died and whose replicas are being marked dead,
/// a shard being moved. Qdrant says these as internal errors.
fn settling(status: &tonic::Status) -> bool {
    let m = status.message();
    m.contains("enough active replicas")
        || m.contains("Please retry")
        || m.contains("please retry")
        || m.contains("is not active")
}

/// Whether a failed request may succeed if sent again.
fn transient(e: &QdrantError) -> bool {
    use tonic::Code;
    match e {
        QdrantError::ResponseError { status } if unreachable(status) || settling(status) => true,
        QdrantError::ResponseError { status } => matches!(
            status.code(),
            Code::Unavailable
                | Code::DeadlineExceeded
                | Code::ResourceExhausted
                | Code::Aborted
                | Code::Unknown
                | Code::Cancelled
        ),
        QdrantError::ResourceExhaustedError { .. } => true,
        _ => false,
    }
}

/// A library in a Qdrant collection.
pub struct QdrantLibrary {
    url: QdrantUrl,
    /// One client per node of the URL; requests go to `node`'s, and move on
    /// when it cannot be reached.
    clients: Vec<Qdrant>,
    node: std::sync::atomic::AtomicUsize,
    rt: tokio::runtime::Runtime,
    /// The collection written and read: the alias's target, or during a rebuild
    /// the new collection.
    collection: String,
    /// Model and dimension, read when connecting (a model changes only by a
    /// rebuild, which makes a new collection).
    model: Option<String>,
    dim: usize,
}

impl std::fmt::Debug for QdrantLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QdrantLibrary")
            .field("url", &self.url.to_string())
            .field("collection", &self.collection)
            .finish()
    }
}

impl QdrantLibrary {
    /// Connects to the library behind `url`'s alias, creating its first
    /// collection if there is none.
    /// Connects to the library behind `url`'s alias. A library that does not
    /// exist yet is created when its model is bound (the collection's vector size
    /// is the model's).
    pub fn connect(url: &QdrantUrl) -> Result<Self> {
        let mut lib = Self::client_only(url)?;
        if lib.alias_target()?.is_some() {
            // Requests go through the alias: a rebuild's switch reaches every
            // reader at once.
            lib.collection = url.name.clone();
            lib.load_settings()?;
        }
        Ok(lib)
    }

    /// Connects to a library that must exist already.
    pub fn connect_existing(url: &QdrantUrl) -> Result<Self> {
        let mut lib = Self::client_only(url)?;
        lib.alias_target()?.ok_or_else(|| Error::Remote {
            location: url.to_string(),
            message: format!(
                "no library named {:?} on this Qdrant server: create one with `scry index FOLDER --db {url}`",
                url.name
            ),
        })?;
        lib.collection = url.name.clone();
        lib.load_settings()?;
        Ok(lib)
    }

    /// Starts a rebuild: a new, empty collection beside the one the alias points
    /// at, which keeps answering searches until [`QdrantLibrary::finish_rebuild`].
    /// The roots and albums are carried over. Leftovers of a rebuild that was
    /// stopped are removed first.
    pub fn start_rebuild(url: &QdrantUrl, model_id: &str, dim: usize) -> Result<Self> {
        let mut lib = Self::client_only(url)?;
        let current = lib.alias_target()?;
        let existing = lib.collections()?;
        let version =
            |c: &str| -> Option<u32> { c.strip_prefix(&format!("{}_v", url.name))?.parse().ok() };
        for c in &existing {
            if version(c).is_some() && Some(c) != current.as_ref() {
                tracing::info!("removing {c}, left by a rebuild that did not finish");
                lib.drop_collection(c)?;
            }
        }
        let next = existing
            .iter()
            .filter_map(|c| version(c))
            .max()
            .unwrap_or(0)
            + 1;
        let fresh = format!("{}_v{next}", url.name);
        lib.create_collection(&fresh, dim)?;
        let mut carried = Settings {
            model: Some(model_id.to_string()),
            dim,
            ..Settings::default()
        };
        if let Some(old) = &current {
            lib.collection = old.clone();
            let s = lib.settings()?;
            carried.roots = s.roots;
            carried.albums_json = s.albums_json;
            carried.access_json = s.access_json;
            carried.ocr = s.ocr;
        }
        lib.collection = fresh;
        lib.write_settings(&carried)?;
        lib.load_settings()?;
        Ok(lib)
    }

    /// Ends a rebuild: the alias points at the new collection in one step, then
    /// the old one is dropped.
    pub fn finish_rebuild(&mut self) -> Result<()> {
        if self.collection == self.url.name {
            return Ok(()); // not rebuilding
        }
        let old = self.alias_target()?;
        self.point_alias(&self.collection.clone())?;
        if let Some(old) = old.filter(|o| *o != self.collection) {
            self.drop_collection(&old)?;
        }
        self.collection = self.url.name.clone();
        Ok(())
    }

    fn client_only(url: &QdrantUrl) -> Result<Self> {
        let key = std::env::var("SCRY_QDRANT_API_KEY")
            .ok()
            .filter(|k| !k.is_empty());
        let clients = url
            .endpoints()
            .iter()
            .map(|endpoint| {
                Qdrant::from_url(endpoint)
                    .api_key(key.clone())
                    .timeout(Duration::from_secs(60))
                    .connect_timeout(Duration::from_secs(5))
                    .skip_compatibility_check()
                    .build()
                    .map_err(|e| Error::Remote {
                        location: url.to_string(),
                        message: format!("cannot set up a connection to {endpoint}: {e}"),
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("scry-qdrant")
            .enable_all()
            .build()
            .map_err(|e| Error::Remote {
                location: url.to_string(),
                message: format!("cannot start the client's threads: {e}"),
            })?;
        let lib = QdrantLibrary {
            url: url.clone(),
            clients,
            node: std::sync::atomic::AtomicUsize::new(0),
            rt,
            collection: String::new(),
            model: None,
            dim: 0,
        };
        // The first contact is not retried: a wrong address or a server that is
        // down is said at once (each node named is tried once).
        lib.call_once("connecting", |c| async move { c.health_check().await })?;
        Ok(lib)
    }

    /// [`QdrantLibrary::call`] without retries.
    fn call_once<T, F, Fut>(&self, what: &str, make: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(Qdrant) -> Fut,
        Fut: Future<Output = std::result::Result<T, QdrantError>> + Send + 'static,
    {
        self.call_with(what, make, 1)
    }

    /// Runs one request on the client's runtime (from any thread, async worker
    /// or not), retrying transient failures with back-off.
    fn call<T, F, Fut>(&self, what: &str, make: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(Qdrant) -> Fut,
        Fut: Future<Output = std::result::Result<T, QdrantError>> + Send + 'static,
    {
        self.call_with(what, make, ATTEMPTS)
    }

    fn call_with<T, F, Fut>(&self, what: &str, make: F, attempts: u32) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(Qdrant) -> Fut,
        Fut: Future<Output = std::result::Result<T, QdrantError>> + Send + 'static,
    {
        use std::sync::atomic::Ordering::Relaxed;
        let nodes = self.clients.len();
        let mut delay = Duration::from_millis(250);
        let mut attempt = 1;
        // Nodes tried since the last pause: an unreachable node hands the
        // request to the next one at once; a pause comes after a full round.
        let mut tried = 1;
        loop {
            let node = self.node.load(Relaxed) % nodes;
            let fut = make(self.clients[node].clone());
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            self.rt.spawn(async move {
                let _ = tx.send(fut.await);
            });
            let outcome = rx
                .recv()
                .map_err(|_| self.fail(what, "the request was dropped"))?;
            match outcome {
                Ok(v) => return Ok(v),
                Err(e)
                    if nodes > 1
                        && tried < nodes
                        && matches!(&e, QdrantError::ResponseError { status } if unreachable(status)) =>
                {
                    let next = (node + 1) % nodes;
                    // Another thread may have moved on already.
                    let _ = self.node.compare_exchange(node, next, Relaxed, Relaxed);
                    tracing::warn!(
                        "{}: {what}: node {} cannot be reached ({}); trying {}",
                        self.url,
                        self.url.endpoints()[node],
                        describe(&e),
                        self.url.endpoints()[next]
                    );
                    tried += 1;
                }
                Err(e) if transient(&e) && attempt < attempts => {
                    tracing::warn!(
                        "{}: {what} failed ({}); retrying in {:.1} s",
                        self.url,
                        describe(&e),
                        delay.as_secs_f64()
                    );
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(8));
                    attempt += 1;
                    tried = 1;
                }
                Err(e) => {
                    let hint = match (transient(&e), attempts) {
                        (false, _) => String::new(),
                        (true, 1) => "; is Qdrant running and reachable?".to_string(),
                        (true, n) => {
                            format!(" after {n} attempts; is Qdrant running and reachable?")
                        }
                    };
                    return Err(self.fail(what, &format!("{}{hint}", describe(&e))));
                }
            }
        }
    }

    fn fail(&self, what: &str, why: &str) -> Error {
        Error::Remote {
            location: self.url.to_string(),
            message: format!("{what} failed: {why}"),
        }
    }

    /// Checks that a write was applied (not merely queued, not timed out).
    fn applied(&self, what: &str, status: Option<i32>) -> Result<()> {
        if status == Some(UpdateStatus::Completed as i32) {
            Ok(())
        } else {
            let s = status
                .and_then(|s| UpdateStatus::try_from(s).ok())
                .map_or("no status".to_string(), |s| s.as_str_name().to_string());
            Err(self.fail(what, &format!("the server answered {s}, not COMPLETED")))
        }
    }

    fn alias_target(&self) -> Result<Option<String>> {
        let aliases = self.call("listing aliases", |c| async move { c.list_aliases().await })?;
        Ok(aliases
            .aliases
            .into_iter()
            .find(|a| a.alias_name == self.url.name)
            .map(|a| a.collection_name))
    }

    /// Waits (up to a minute) until the alias points at `collection`: the
    /// process that created it has finished setting it up.
    fn wait_for_alias(&self, collection: &str) -> Result<()> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while self.alias_target()?.as_deref() != Some(collection) {
            if std::time::Instant::now() > deadline {
                return Err(self.fail(
                    "waiting for the library",
                    &format!("{collection} was created by another process, which did not finish setting it up within a minute"),
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Ok(())
    }

    /// Waits (up to a minute) until every replica of every shard of a new
    /// collection is active. In a cluster they start as "initializing": a write
    /// then may reach only some of them, and a read fails for want of active
    /// replicas. On one node this is the first answer.
    fn wait_active(&self, collection: &str) -> Result<()> {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let col = collection.to_string();
            let info = self.call("reading the collection's replicas", move |c| {
                let col = col.clone();
                async move { c.collection_cluster_info(col).await }
            })?;
            let states: Vec<i32> = info
                .local_shards
                .iter()
                .map(|s| s.state)
                .chain(info.remote_shards.iter().map(|s| s.state))
                .collect();
            if !states.is_empty() && states.iter().all(|s| *s == ReplicaState::Active as i32) {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                return Err(self.fail(
                    "creating the collection",
                    &format!(
                        "its replicas did not all become active within a minute ({} of {} are)",
                        states
                            .iter()
                            .filter(|s| **s == ReplicaState::Active as i32)
                            .count(),
                        states.len()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn collections(&self) -> Result<Vec<String>> {
        let list = self.call("listing collections", |c| async move {
            c.list_collections().await
        })?;
        Ok(list.collections.into_iter().map(|c| c.name).collect())
    }

    fn point_alias(&self, collection: &str) -> Result<()> {
        let (col, name) = (collection.to_string(), self.url.name.clone());
        self.call("pointing the alias", move |c| {
            let req = CreateAliasBuilder::new(col.clone(), name.clone());
            async move { c.create_alias(req).await }
        })?;
        Ok(())
    }

    fn drop_collection(&self, collection: &str) -> Result<()> {
        let col = collection.to_string();
        self.call("dropping a collection", move |c| {
            let req = DeleteCollectionBuilder::new(col.clone());
            async move { c.delete_collection(req).await }
        })?;
        Ok(())
    }

    /// A new collection with its payload indexes (made before any point, so the
    /// HNSW graph gets its filter links) and an empty settings point. Original
    /// vectors stay on disk; an int8 copy in RAM serves the graph walk, rescored
    /// with the originals (it is built once a segment is large enough to index).
    /// Makes a payload index on `field` of collection `name` (the same index
    /// made again is no change).
    fn create_index(&self, name: &str, field: &'static str, kind: FieldType) -> Result<()> {
        let col = name.to_string();
        self.call("creating a payload index", move |c| {
            let mut req =
                CreateFieldIndexCollectionBuilder::new(col.clone(), field, kind).wait(true);
            req = match kind {
                FieldType::Text => req.field_index_params(
                    TextIndexParamsBuilder::new(TokenizerType::Word)
                        .lowercase(true)
                        .phrase_matching(field == "text_words")
                        .build(),
                ),
                // A frame's video is matched, never ranged.
                FieldType::Integer if field == "of" => {
                    req.field_index_params(IntegerIndexParamsBuilder::new(true, false).build())
                }
                FieldType::Integer => {
                    req.field_index_params(IntegerIndexParamsBuilder::new(false, true).build())
                }
                FieldType::Geo => req,
                _ => req.field_index_params(KeywordIndexParamsBuilder::default().build()),
            };
            async move { c.create_field_index(req).await }
        })?;
        Ok(())
    }

    fn create_collection(&mut self, name: &str, dim: usize) -> Result<()> {
        let url = self.url.clone();
        let col = name.to_string();
        self.call("creating the collection", move |c| {
            let mut dense = VectorsConfigBuilder::default();
            dense.add_named_vector_params(
                DENSE,
                VectorParamsBuilder::new(dim as u64, Distance::Cosine).on_disk(true),
            );
            let mut sparse = SparseVectorsConfigBuilder::default();
            sparse.add_named_vector_params(
                SPARSE,
                SparseVectorParamsBuilder::default().modifier(Modifier::Idf),
            );
            let mut req = CreateCollectionBuilder::new(col.clone())
                .vectors_config(dense)
                .sparse_vectors_config(sparse)
                .quantization_config(
                    ScalarQuantizationBuilder::default()
                        .quantile(0.99)
                        .always_ram(true),
                );
            if let Some(n) = url.shards {
                req = req.shard_number(n);
            }
            if let Some(n) = url.replicas {
                req = req.replication_factor(n).write_consistency_factor(1);
            }
            async move { c.create_collection(req).await }
        })?;
        self.wait_active(name)?;
        let indexes: [(&str, FieldType); 13] = [
            ("kind", FieldType::Keyword),
            ("words", FieldType::Keyword),
            ("dirs", FieldType::Keyword),
            ("hash", FieldType::Keyword),
            ("format", FieldType::Keyword),
            ("camera", FieldType::Text),
            ("date", FieldType::Integer),
            ("short_side", FieldType::Integer),
            ("location", FieldType::Geo),
            ("country", FieldType::Keyword),
            ("region", FieldType::Keyword),
            ("of", FieldType::Integer),
            ("text_words", FieldType::Text),
        ];
        for (field, kind) in indexes {
            self.create_index(name, field, kind)?;
        }
        let previous = std::mem::replace(&mut self.collection, name.to_string());
        let written = self.write_settings(&Settings::default());
        if !previous.is_empty() {
            self.collection = previous;
        }
        written
    }

    fn settings(&self) -> Result<Settings> {
        if self.collection.is_empty() {
            return Ok(Settings::default()); // no library yet
        }
        let col = self.collection.clone();
        let got = self.call("reading the settings", move |c| {
            let req = GetPointsBuilder::new(col.clone(), vec![PointId::from(SETTINGS_ID)])
                .with_payload(true);
            async move { c.get_points(req).await }
        })?;
        Ok(got
            .result
            .into_iter()
            .next()
            .and_then(|p| Payload::from(p.payload).deserialize::<Settings>().ok())
            .unwrap_or_default())
    }

    fn load_settings(&mut self) -> Result<()> {
        let s = self.settings()?;
        self.model = s.model;
        self.dim = s.dim;
        Ok(())
    }

    /// Writes the whole settings point.
    fn write_settings(&self, s: &Settings) -> Result<()> {
        if self.collection.is_empty() {
            return Err(self.fail(
                "writing the settings",
                "the library does not exist yet: index a folder first",
            ));
        }
        let mut payload = Payload::try_from(serde_json::to_value(s).expect("settings serialise"))
            .map_err(|e| self.fail("writing the settings", &e.to_string()))?;
        payload.insert("kind", "settings");
        let col = self.collection.clone();
        let res = self.call("writing the settings", move |c| {
            let point = PointStruct::new(SETTINGS_ID, NamedVectors::default(), payload.clone());
            let req = UpsertPointsBuilder::new(col.clone(), vec![point]).wait(true);
            async move { c.upsert_points(req).await }
        })?;
        self.applied("writing the settings", res.result.map(|r| r.status))
    }

    /// Changes some settings. Only the keys that changed are written (a payload
    /// update of the settings point, routed through one replica), so processes
    /// that change different keys at once (indexing workers stamping the
    /// generation and their last run, an album command) never undo each other.
    /// Two changes of the same key at once keep the later.
    fn update_settings(&self, f: impl FnOnce(&mut Settings)) -> Result<()> {
        let before = self.settings()?;
        let mut after = before.clone();
        f(&mut after);
        let json = |s: &Settings| match serde_json::to_value(s).expect("settings serialise") {
            serde_json::Value::Object(m) => m,
            _ => unreachable!("settings are an object"),
        };
        let (old, new) = (json(&before), json(&after));
        let changed: serde_json::Map<String, serde_json::Value> = new
            .into_iter()
            .filter(|(k, v)| old.get(k) != Some(v))
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        let payload = Payload::try_from(serde_json::Value::Object(changed))
            .map_err(|e| self.fail("writing the settings", &e.to_string()))?;
        let payload: HashMap<String, qdrant_client::qdrant::Value> = payload.into();
        let col = self.collection.clone();
        let res = self.call("writing the settings", move |c| {
            let req = SetPayloadPointsBuilder::new(col.clone(), payload.clone())
                .points_selector(vec![PointId::from(SETTINGS_ID)])
                .ordering(WriteOrdering {
                    r#type: WriteOrderingType::Medium as i32,
                })
                .wait(true);
            async move { c.set_payload(req).await }
        })?;
        self.applied("writing the settings", res.result.map(|r| r.status))
    }

    fn get(
        &self,
        what: &str,
        ids: &[ImageId],
        payload: Option<PayloadIncludeSelector>,
        vectors: bool,
    ) -> Result<Vec<RetrievedPoint>> {
        let mut out = Vec::with_capacity(ids.len());
        if self.collection.is_empty() {
            return Ok(out);
        }
        for chunk in ids.chunks(1024) {
            let col = self.collection.clone();
            let ids: Vec<PointId> = chunk.iter().map(|&i| PointId::from(i)).collect();
            let payload = payload.clone();
            let got = self.call(what, move |c| {
                let mut req = GetPointsBuilder::new(col.clone(), ids.clone());
                req = match payload.clone() {
                    Some(sel) => req.with_payload(sel),
                    None => req.with_payload(no_thumb()),
                };
                if vectors {
                    req = req.with_vectors(clip_only());
                }
                async move { c.get_points(req).await }
            })?;
            out.extend(got.result);
        }
        Ok(out)
    }

    /// The ids of these paths: the existing point's, else a free one.
    fn locate(&self, paths: &[&[u8]]) -> Result<Vec<(ImageId, bool)>> {
        let mut out: Vec<Option<(ImageId, bool)>> = vec![None; paths.len()];
        let mut taken_in_batch: HashSet<ImageId> = HashSet::new();
        for probe in 0..16u32 {
            let open: Vec<usize> = (0..paths.len()).filter(|&i| out[i].is_none()).collect();
            if open.is_empty() {
                break;
            }
            let ids: Vec<ImageId> = open.iter().map(|&i| id_for(paths[i], probe)).collect();
            let found: HashMap<ImageId, Vec<u8>> = self
                .get(
                    "looking up paths",
                    &ids,
                    Some(only(&["path", "path_hex"])),
                    false,
                )?
                .into_iter()
                .filter_map(|p| {
                    let id = point_u64(&p.id)?;
                    let pl = Payload::from(p.payload);
                    #[derive(Deserialize)]
                    struct P {
                        path: String,
                        path_hex: Option<String>,
                    }
                    let p: P = pl.deserialize().ok()?;
                    Some((
                        id,
                        p.path_hex
                            .map_or_else(|| p.path.into_bytes(), |h| unhex(&h)),
                    ))
                })
                .collect();
            for (&i, &id) in open.iter().zip(&ids) {
                match found.get(&id) {
                    Some(p) if p.as_slice() == paths[i] => out[i] = Some((id, true)),
                    Some(_) => {} // another path holds it: probe on
                    None if taken_in_batch.insert(id) => out[i] = Some((id, false)),
                    None => {}
                }
            }
        }
        out.into_iter()
            .map(|o| o.ok_or_else(|| self.fail("assigning ids", "16 collisions in a row")))
            .collect()
    }

    fn upsert(&self, points: Vec<PointStruct>) -> Result<()> {
        let mut points = points;
        while !points.is_empty() {
            let rest = points.split_off(points.len().min(UPSERT_CHUNK));
            let chunk = std::mem::replace(&mut points, rest);
            let col = self.collection.clone();
            let res = self.call("writing images", move |c| {
                let req = UpsertPointsBuilder::new(col.clone(), chunk.clone()).wait(true);
                async move { c.upsert_points(req).await }
            })?;
            self.applied("writing images", res.result.map(|r| r.status))?;
        }
        Ok(())
    }

    fn delete(&self, ids: &[ImageId]) -> Result<()> {
        for chunk in ids.chunks(1024) {
            let col = self.collection.clone();
            let ids: Vec<PointId> = chunk.iter().map(|&i| PointId::from(i)).collect();
            let res = self.call("removing images", move |c| {
                let req = DeletePointsBuilder::new(col.clone())
                    .points(ids.clone())
                    .wait(true);
                async move { c.delete_points(req).await }
            })?;
            self.applied("removing images", res.result.map(|r| r.status))?;
        }
        Ok(())
    }

    /// Removes the frame points of these videos (any image id may be given).
    fn delete_frames_of(&self, ids: &[ImageId]) -> Result<()> {
        for chunk in ids.chunks(1024) {
            let col = self.collection.clone();
            let of: Vec<i64> = chunk.iter().map(|&i| i as i64).collect();
            let res = self.call("removing video frames", move |c| {
                let req = DeletePointsBuilder::new(col.clone())
                    .points(Filter::must([
                        Condition::matches("kind", vec!["frame".to_string()]),
                        Condition::matches("of", of.clone()),
                    ]))
                    .wait(true);
                async move { c.delete_points(req).await }
            })?;
            self.applied("removing video frames", res.result.map(|r| r.status))?;
        }
        Ok(())
    }

    /// The points of a video's other frames (none for a photo).
    fn frame_points(
        id: ImageId,
        rec: &ImageRecord,
        frames: &[Vec<f32>],
    ) -> Result<Vec<PointStruct>> {
        let Some(video) = &rec.video else {
            return Ok(Vec::new());
        };
        frames
            .iter()
            .zip(video.frames_ms.iter().skip(1))
            .enumerate()
            .map(|(k, (v, &at))| {
                let payload = ImagePayload::frame(rec, id, at);
                let payload =
                    Payload::try_from(serde_json::to_value(&payload).expect("payload serialises"))
                        .map_err(|e| Error::InvalidArgument(format!("frame payload: {e}")))?;
                Ok(PointStruct::new(
                    frame_point(id, k + 1),
                    NamedVectors::default().add_vector(DENSE, v.clone()),
                    payload,
                ))
            })
            .collect()
    }

    fn point(
        id: ImageId,
        vector: Vec<f32>,
        payload: &ImagePayload,
        rec: &ImageRecord,
    ) -> Result<PointStruct> {
        let (indices, values) =
            bm25_document(&crate::keyword::tokens(&crate::keyword::document_text(rec)));
        let vectors = NamedVectors::default()
            .add_vector(DENSE, vector)
            .add_vector(
                SPARSE,
                qdrant_client::qdrant::Vector::new_sparse(indices, values),
            );
        let payload = Payload::try_from(serde_json::to_value(payload).expect("payload serialises"))
            .map_err(|e| Error::InvalidArgument(format!("image payload: {e}")))?;
        Ok(PointStruct::new(id, vectors, payload))
    }

    fn filter(&self, scope: &Scope<'_>) -> Filter {
        let f = scope.filters;
        let mut must = Vec::new();
        if let Some(folder) = &f.folder {
            must.push(Condition::matches("dirs", vec![dir_key(folder)]));
        }
        if let Some(within) = &f.within {
            // A viewer's folders: any of them (none: nothing matches).
            let dirs: Vec<String> = within.iter().map(|d| dir_key(d)).collect();
            must.push(if dirs.is_empty() {
                Condition::matches("kind", vec!["nothing".to_string()])
            } else {
                Condition::matches("dirs", dirs)
            });
        }
        if f.after.is_some() || f.before.is_some() {
            must.push(Condition::range(
                "date",
                Range {
                    gte: f.after.map(|a| a as f64),
                    lt: f.before.map(|b| b as f64),
                    ..Default::default()
                },
            ));
        }
        if let Some(c) = &f.camera {
            must.push(Condition::matches_text("camera", c.to_lowercase()));
        }
        if let Some(fmt) = &f.format {
            must.push(Condition::matches("format", vec![fmt.to_lowercase()]));
        }
        if let Some(m) = f.min_size {
            must.push(Condition::range(
                "short_side",
                Range {
                    gte: Some(m as f64),
                    ..Default::default()
                },
            ));
        }
        match &f.place {
            Some(Where::Near { lat, lon, km }) => must.push(Condition::geo_radius(
                "location",
                GeoRadius {
                    center: Some(GeoPoint {
                        lat: *lat,
                        lon: *lon,
                    }),
                    radius: (*km * 1000.0) as f32,
                },
            )),
            Some(Where::Country(cc)) => {
                must.push(Condition::matches("country", vec![cc.to_uppercase()]))
            }
            Some(Where::Region { country, region }) => {
                must.push(Condition::matches("country", vec![country.to_uppercase()]));
                must.push(Condition::matches("region", vec![region.clone()]));
            }
            None => {}
        }
        if let Some(words) = &f.text {
            must.push(Condition::matches_phrase("text_words", words.join(" ")));
        }
        // An album's members and a search's examples by id, and their
        // videos' frames by the video they belong to.
        if let Some(members) = scope.members {
            let ids: Vec<i64> = members.iter().map(|&m| m as i64).collect();
            must.push(Condition::from(Filter::should([
                Condition::has_id(members.iter().copied()),
                Condition::matches("of", ids),
            ])));
        }
        let must_not = if scope.exclude.is_empty() {
            Vec::new()
        } else {
            let ids: Vec<i64> = scope.exclude.iter().map(|&m| m as i64).collect();
            vec![
                Condition::has_id(scope.exclude.iter().copied()),
                Condition::matches("of", ids),
            ]
        };
        Filter {
            must,
            must_not,
            ..Default::default()
        }
    }

    fn search_params(&self, k: usize) -> SearchParamsBuilder {
        SearchParamsBuilder::default()
            .exact(self.url.exact)
            .hnsw_ef((k as u64).max(128))
            .quantization(
                QuantizationSearchParamsBuilder::default()
                    .rescore(true)
                    .oversampling(2.0),
            )
    }

    fn dense_query(&self, query: &[f32], k: usize, filter: Option<Filter>) -> QueryPoints {
        let mut req = QueryPointsBuilder::new(self.collection.clone())
            .query(Query::new_nearest(query.to_vec()))
            .using(DENSE)
            .limit(k as u64)
            .with_payload(false)
            .params(self.search_params(k));
        if let Some(f) = filter {
            req = req.filter(f);
        }
        req.build()
    }

    /// The nearest-vector search of [`Home::nearest`], or `None` when nothing can
    /// match.
    fn nearest_query(&self, query: &[f32], k: usize, scope: &Scope<'_>) -> Option<QueryPoints> {
        if k == 0 || self.dim == 0 || scope.members.is_some_and(|m| m.is_empty()) {
            return None;
        }
        let filter = (!scope.is_everything()).then(|| self.filter(scope));
        Some(self.dense_query(query, k, filter))
    }

    /// The keyword search of [`Home::keyword`], or `None` when nothing can match.
    fn keyword_query(&self, text: &str, k: usize, scope: &Scope<'_>) -> Option<QueryPoints> {
        if k == 0 || self.dim == 0 || scope.members.is_some_and(|m| m.is_empty()) {
            return None;
        }
        let mut words = crate::keyword::tokens(text);
        words.sort();
        words.dedup();
        if words.is_empty() {
            return None;
        }
        let indices: Vec<u32> = words.iter().map(|w| word_id(w)).collect();
        let ones = vec![1.0; indices.len()];
        // Every word must be there (as in the local library: a long sentence
        // matches no file name and stays purely semantic); BM25 ranks.
        let mut filter = self.filter(scope);
        filter.must.extend(
            words
                .into_iter()
                .map(|w| Condition::matches("words", vec![w])),
        );
        Some(
            QueryPointsBuilder::new(self.collection.clone())
                .query(Query::new_nearest(
                    qdrant_client::qdrant::VectorInput::new_sparse(indices, ones),
                ))
                .using(SPARSE)
                .limit(k as u64)
                .filter(filter)
                .with_payload(false)
                .build(),
        )
    }

    fn scored(&self, what: &str, req: QueryPoints) -> Result<Vec<Scored>> {
        let res = self.call(what, move |c| {
            let req = req.clone();
            async move { c.query(req).await }
        })?;
        Ok(res
            .result
            .into_iter()
            .filter_map(|p| Some((point_u64(&p.id)?, p.score)))
            .collect())
    }

    /// Scrolls every image point matching `filter`.
    fn scroll(
        &self,
        filter: Filter,
        vectors: bool,
        f: &mut dyn FnMut(ImageId, ImagePayload, Option<Vec<f32>>),
    ) -> Result<()> {
        let mut offset: Option<PointId> = None;
        if self.collection.is_empty() {
            return Ok(());
        }
        loop {
            let col = self.collection.clone();
            let (filter, from) = (filter.clone(), offset.clone());
            let page = self.call("reading the catalog", move |c| {
                let mut req = ScrollPointsBuilder::new(col.clone())
                    .filter(filter.clone())
                    .limit(PAGE)
                    .with_payload(no_thumb());
                if vectors {
                    req = req.with_vectors(clip_only());
                }
                if let Some(o) = from.clone() {
                    req = req.offset(o);
                }
                async move { c.scroll(req).await }
            })?;
            for p in page.result {
                let Some(id) = point_u64(&p.id) else { continue };
                let v = p
                    .vectors
                    .as_ref()
                    .and_then(|v| dense(v.get_vector_by_name(DENSE)));
                if let Some(pl) = image_payload(p.payload) {
                    f(id, pl, v);
                }
            }
            match page.next_page_offset {
                Some(next) => offset = Some(next),
                None => return Ok(()),
            }
        }
    }
}

fn describe(e: &QdrantError) -> String {
    match e {
        QdrantError::ResponseError { status } if unreachable(status) => {
            let m = status.message();
            let why = if m.contains("Connection refused") {
                "connection refused"
            } else if m.contains("timed out") || status.code() == tonic::Code::DeadlineExceeded {
                "timed out"
            } else {
                "no connection"
            };
            format!("Qdrant is unreachable ({why})")
        }
        QdrantError::ResponseError { status } => {
            let msg = status.message();
            match status.code() {
                tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => format!(
                    "access refused ({msg}): set SCRY_QDRANT_API_KEY to the server's API key"
                ),
                tonic::Code::Unavailable => format!("Qdrant is unreachable ({msg})"),
                tonic::Code::NotFound => format!("not found ({msg})"),
                _ => format!("{msg} ({:?})", status.code()),
            }
        }
        other => other.to_string(),
    }
}

impl Home for QdrantLibrary {
    fn location(&self) -> String {
        self.url.to_string()
    }

    fn model(&self) -> Result<Option<String>> {
        Ok(self.model.clone())
    }

    fn stored_model(&self) -> Result<Option<String>> {
        Ok(self.settings()?.model)
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn set_model(&mut self, model_id: &str, dim: usize) -> Result<()> {
        if self.collection.is_empty() {
            let existing = self.collections()?;
            let ours = |c: &String| {
                c.strip_prefix(&format!("{}_v", self.url.name))
                    .is_some_and(|v| v.parse::<u32>().is_ok())
            };
            if existing.iter().any(ours) {
                // A collection of this library without the alias: another
                // process is creating the library right now (it points the
                // alias last), or one was killed while doing so. Give the first
                // case time to finish, and join it.
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
                while std::time::Instant::now() < deadline {
                    if self.alias_target()?.is_some() {
                        self.collection = self.url.name.clone();
                        self.load_settings()?;
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            }
        }
        if self.collection.is_empty() || self.dim != dim {
            // The vector size is fixed per collection: a new library, or an empty
            // one taking a model of another size, gets a fresh collection.
            let existing = self.collections()?;
            let next = existing
                .iter()
                .filter_map(|c| {
                    c.strip_prefix(&format!("{}_v", self.url.name))?
                        .parse::<u32>()
                        .ok()
                })
                .max()
                .unwrap_or(0)
                + 1;
            let fresh = format!("{}_v{next}", self.url.name);
            let carried = if self.collection.is_empty() {
                Settings::default()
            } else {
                self.settings()?
            };
            match self.create_collection(&fresh, dim) {
                // Another process (an indexing worker started at the same
                // moment) is creating this library: use theirs once it is ready.
                Err(Error::Remote { message, .. })
                    if self.collection.is_empty() && message.contains("already exists") =>
                {
                    self.wait_for_alias(&fresh)?;
                    self.collection = self.url.name.clone();
                    self.load_settings()?;
                    if self.dim != dim {
                        return Err(self.fail(
                            "binding the model",
                            &format!(
                                "another process created this library at the same moment with \
                                 {}-dimensional vectors; this model's are {dim}",
                                self.dim
                            ),
                        ));
                    }
                }
                Err(e) => return Err(e),
                Ok(()) => {
                    self.collection = fresh;
                    // The model goes in before the alias points here: a process
                    // waiting for the alias reads it at once.
                    self.write_settings(&Settings {
                        generation: fresh_generation(),
                        model: Some(model_id.to_string()),
                        dim,
                        ..carried
                    })?;
                    self.finish_rebuild()?;
                }
            }
        }
        let id = model_id.to_string();
        self.update_settings(|s| {
            s.model = Some(id);
            s.dim = dim;
        })?;
        self.model = Some(model_id.to_string());
        self.dim = dim;
        Ok(())
    }

    fn roots(&self) -> Result<Vec<PathBuf>> {
        Ok(self
            .settings()?
            .roots
            .into_iter()
            .map(PathBuf::from)
            .collect())
    }

    fn set_roots(&mut self, roots: &[PathBuf]) -> Result<()> {
        let roots: Vec<String> = roots
            .iter()
            .map(|r| r.to_string_lossy().into_owned())
            .collect();
        self.update_settings(|s| s.roots = roots)
    }

    fn last_run(&self) -> Result<Option<serde_json::Value>> {
        Ok(self
            .settings()?
            .last_run_json
            .and_then(|j| serde_json::from_str(&j).ok()))
    }

    fn set_last_run(&mut self, summary: &serde_json::Value) -> Result<()> {
        let j = summary.to_string();
        self.update_settings(|s| s.last_run_json = Some(j))
    }

    fn ocr(&self) -> Result<Option<String>> {
        Ok(self.settings()?.ocr)
    }

    fn set_ocr(&mut self, languages: Option<&str>) -> Result<()> {
        if languages.is_some() {
            // A collection made before scry read text has no index for it.
            self.create_index(&self.collection.clone(), "text_words", FieldType::Text)?;
        }
        let l = languages.map(str::to_string);
        self.update_settings(|s| s.ocr = l)
    }

    fn categories(&self) -> Result<Vec<String>> {
        Ok(self.settings()?.categories)
    }

    fn set_categories(&mut self, categories: &[String]) -> Result<()> {
        let c = categories.to_vec();
        self.update_settings(|s| s.categories = c)
    }

    fn albums(&self) -> Result<BTreeMap<String, Album>> {
        Ok(self
            .settings()?
            .albums_json
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default())
    }

    fn set_albums(&mut self, albums: &BTreeMap<String, Album>) -> Result<()> {
        let j = serde_json::to_string(albums).expect("albums serialise");
        self.update_settings(|s| s.albums_json = Some(j))
    }

    fn access(&self) -> Result<Access> {
        match self.settings()?.access_json {
            None => Ok(Access::default()),
            Some(j) => serde_json::from_str(&j).map_err(|e| Error::Remote {
                location: self.url.to_string(),
                message: format!("the users and groups in the settings point are unreadable: {e}"),
            }),
        }
    }

    fn set_access(&mut self, access: &Access) -> Result<()> {
        let j = serde_json::to_string(access).expect("access serialises");
        self.update_settings(|s| s.access_json = Some(j))
    }

    fn len(&self) -> Result<usize> {
        if self.collection.is_empty() {
            return Ok(0);
        }
        let col = self.collection.clone();
        let res = self.call("counting images", move |c| {
            let req = CountPointsBuilder::new(col.clone())
                .filter(Filter::must([is_image()]))
                .exact(true);
            async move { c.count(req).await }
        })?;
        Ok(res.result.map_or(0, |r| r.count as usize))
    }

    fn count(&self, scope: &Scope<'_>) -> Result<usize> {
        if self.collection.is_empty() {
            return Ok(0);
        }
        let mut filter = self.filter(scope);
        filter.must.push(is_image());
        let col = self.collection.clone();
        let res = self.call("counting images", move |c| {
            let req = CountPointsBuilder::new(col.clone())
                .filter(filter.clone())
                .exact(true);
            async move { c.count(req).await }
        })?;
        Ok(res.result.map_or(0, |r| r.count as usize))
    }

    fn generation(&self) -> Result<u64> {
        Ok(self.settings()?.generation)
    }

    fn records(&self, ids: &[ImageId]) -> Result<Vec<(ImageId, ImageRecord)>> {
        Ok(self
            .get("reading records", ids, None, false)?
            .into_iter()
            .filter_map(|p| Some((point_u64(&p.id)?, image_payload(p.payload)?.record())))
            .collect())
    }

    fn vectors(&self, ids: &[ImageId]) -> Result<Vec<(ImageId, Vec<f32>)>> {
        Ok(self
            .get("reading vectors", ids, Some(only(&[])), true)?
            .into_iter()
            .filter_map(|p| {
                let v = dense(p.vectors.as_ref()?.get_vector_by_name(DENSE))?;
                Some((point_u64(&p.id)?, v))
            })
            .collect())
    }

    fn thumbnail(&self, id: ImageId) -> Result<Option<Vec<u8>>> {
        Ok(self
            .get("reading a thumbnail", &[id], Some(only(&["thumb"])), false)?
            .into_iter()
            .next()
            .and_then(|p| {
                let t = p.payload.get("thumb")?.as_str()?.to_string();
                base64::engine::general_purpose::STANDARD.decode(t).ok()
            }))
    }

    fn frames(&self, ids: &[ImageId]) -> Result<Vec<(ImageId, Vec<Vec<f32>>)>> {
        let mut out = Vec::new();
        for p in self.get(
            "reading videos' frames",
            ids,
            Some(only(&["frames"])),
            false,
        )? {
            let (Some(id), Some(text)) = (
                point_u64(&p.id),
                p.payload.get("frames").and_then(|f| f.as_str()),
            ) else {
                continue;
            };
            let frames = frames_of_payload(text, self.dim).map_err(|e| Error::Remote {
                location: self.location(),
                message: format!("the frames of image {id} are unreadable: {e}"),
            })?;
            out.push((id, frames));
        }
        Ok(out)
    }

    fn id_for_path(&self, path: &[u8]) -> Result<Option<ImageId>> {
        Ok(self
            .locate(&[path])?
            .into_iter()
            .next()
            .and_then(|(id, exists)| exists.then_some(id)))
    }

    fn for_each(&self, want: Want, f: &mut dyn FnMut(Item<'_>)) -> Result<()> {
        self.scroll(
            Filter::must([is_image()]),
            want.vectors,
            &mut |id, pl, v| {
                let record = pl.record();
                f(Item {
                    id,
                    record: &record,
                    vector: v.as_deref(),
                    phash: want.phash.then_some(pl.phash as u64),
                })
            },
        )
    }

    fn vector_of_copy(&self, hash: &[u8; 32], except: Option<ImageId>) -> Result<Option<Vec<f32>>> {
        if self.collection.is_empty() {
            return Ok(None);
        }
        let col = self.collection.clone();
        let mut filter = Filter::must([Condition::matches("hash", vec![hex(hash)])]);
        if let Some(e) = except {
            filter.must_not = vec![Condition::has_id([e])];
        }
        let page = self.call("looking up copies", move |c| {
            let req = ScrollPointsBuilder::new(col.clone())
                .filter(filter.clone())
                .limit(1)
                .with_payload(false)
                .with_vectors(clip_only());
            async move { c.scroll(req).await }
        })?;
        Ok(page
            .result
            .into_iter()
            .find_map(|p| dense(p.vectors.as_ref()?.get_vector_by_name(DENSE))))
    }

    fn commit(&mut self, changes: &ChangeSet) -> Result<Applied> {
        // New points first, removals last: a run stopped in between leaves an
        // image twice (its old path is removed by the next run), never lost.
        let paths: Vec<&[u8]> = changes
            .added
            .iter()
            .map(|a| a.record.path.as_slice())
            .collect();
        let ids = self.locate(&paths)?;
        // A path indexed again: its old video's frames go (the new ones, if
        // any, are written below).
        let again: Vec<ImageId> = ids.iter().filter(|(_, e)| *e).map(|(id, _)| *id).collect();
        if !again.is_empty() {
            self.delete_frames_of(&again)?;
        }
        let mut points = Vec::with_capacity(changes.added.len() + changes.moved.len());
        for (new, (id, _)) in changes.added.iter().zip(&ids) {
            points.extend(Self::frame_points(*id, &new.record, &new.frames)?);
            let payload = ImagePayload::new(
                &new.record,
                new.phash,
                Some(&new.thumbnail),
                frames_payload(&new.frames),
            );
            points.push(Self::point(*id, new.vector.clone(), &payload, &new.record)?);
        }
        // Moved or re-timed: the same vector, thumbnail and hash under the new
        // record (a new id when the path changed).
        let mut gone: Vec<ImageId> = changes.removed.clone();
        if !changes.moved.is_empty() {
            let old_ids: Vec<ImageId> = changes.moved.iter().map(|(id, _)| *id).collect();
            let old: HashMap<ImageId, RetrievedPoint> = self
                .get(
                    "reading moved images",
                    &old_ids,
                    Some(only(&["thumb", "phash", "frames"])),
                    true,
                )?
                .into_iter()
                .filter_map(|p| Some((point_u64(&p.id)?, p)))
                .collect();
            let new_paths: Vec<&[u8]> = changes
                .moved
                .iter()
                .map(|(_, r)| r.path.as_slice())
                .collect();
            let new_ids = self.locate(&new_paths)?;
            for ((old_id, rec), (new_id, _)) in changes.moved.iter().zip(new_ids) {
                let Some(p) = old.get(old_id) else { continue };
                let Some(v) = p
                    .vectors
                    .as_ref()
                    .and_then(|v| dense(v.get_vector_by_name(DENSE)))
                else {
                    continue;
                };
                let thumb = p
                    .payload
                    .get("thumb")
                    .and_then(|t| t.as_str())
                    .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok());
                let phash = p
                    .payload
                    .get("phash")
                    .and_then(|h| h.as_integer())
                    .unwrap_or(0) as u64;
                let frames = p.payload.get("frames").and_then(|f| f.as_str()).cloned();
                // A video's frames move with it (their payload is the record's).
                let vectors: Vec<Vec<f32>> = frames
                    .as_deref()
                    .and_then(|t| frames_of_payload(t, self.dim).ok())
                    .unwrap_or_default();
                points.extend(Self::frame_points(new_id, rec, &vectors)?);
                let payload = ImagePayload::new(rec, phash, thumb.as_deref(), frames);
                points.push(Self::point(new_id, v, &payload, rec)?);
                if new_id != *old_id {
                    gone.push(*old_id);
                }
            }
        }
        self.upsert(points)?;
        self.delete(&gone)?;
        self.delete_frames_of(&gone)?;
        // Not a counter: workers applying batches at once would both write
        // n + 1. A fresh number each time changes for every reader.
        let generation = fresh_generation();
        self.update_settings(|s| s.generation = generation)?;
        Ok(Applied {
            added_ids: ids.into_iter().map(|(id, _)| id).collect(),
            replaced: Vec::new(),
            generation,
        })
    }

    fn checkpoint(&mut self) -> Result<()> {
        // Every write was waited for: nothing is pending.
        Ok(())
    }

    fn nearest(&self, query: &[f32], k: usize, scope: &Scope<'_>) -> Result<Vec<Scored>> {
        // Videos' frames are points too: ask for more until k images are
        // found (a video's frames count once) or the collection has no more.
        let mut limit = k;
        loop {
            let Some(req) = self.nearest_query(query, limit, scope) else {
                return Ok(Vec::new());
            };
            let raw = self.scored("searching", req)?;
            let exhausted = raw.len() < limit;
            let mut found = merge_frames(raw);
            if found.len() >= k || exhausted || limit >= k * (crate::video::MAX_FRAMES + 1) {
                found.truncate(k);
                return Ok(found);
            }
            limit *= 4;
        }
    }

    fn nearest_many(&self, queries: &[&[f32]], k: usize) -> Result<Vec<Vec<Scored>>> {
        if queries.is_empty() || self.dim == 0 {
            return Ok(vec![Vec::new(); queries.len()]);
        }
        // Images only: duplicates compare videos by their posters.
        let reqs: Vec<QueryPoints> = queries
            .iter()
            .map(|q| self.dense_query(q, k, Some(Filter::must([is_image()]))))
            .collect();
        let col = self.collection.clone();
        let res = self.call("searching", move |c| {
            let req = QueryBatchPointsBuilder::new(col.clone(), reqs.clone());
            async move { c.query_batch(req).await }
        })?;
        Ok(res
            .result
            .into_iter()
            .map(|b| {
                b.result
                    .into_iter()
                    .filter_map(|p| Some((point_u64(&p.id)?, p.score)))
                    .collect()
            })
            .collect())
    }

    fn at_least(&self, query: &[f32], threshold: f32) -> Result<Vec<Scored>> {
        let n = self.len()?;
        if n == 0 || self.dim == 0 {
            return Ok(Vec::new());
        }
        // Every image above a threshold: an exact scan is the only sure way.
        let req = QueryPointsBuilder::new(self.collection.clone())
            .query(Query::new_nearest(query.to_vec()))
            .using(DENSE)
            .limit(n as u64)
            .score_threshold(threshold)
            .filter(Filter::must([is_image()]))
            .with_payload(false)
            .params(self.search_params(n).exact(true));
        let mut out = self.scored("listing album members", req.build())?;
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(out)
    }

    fn keyword(&self, text: &str, k: usize, scope: &Scope<'_>) -> Result<Vec<Scored>> {
        match self.keyword_query(text, k, scope) {
            Some(req) => self.scored("keyword search", req),
            None => Ok(Vec::new()),
        }
    }

    fn candidates(
        &self,
        query: &[f32],
        k: usize,
        text: Option<&str>,
        scope: &Scope<'_>,
    ) -> Result<(Vec<Scored>, Vec<Scored>)> {
        // Both searches in one request.
        let dense = self.nearest_query(query, k, scope);
        let words = text.and_then(|t| self.keyword_query(t, k, scope));
        let has = (dense.is_some(), words.is_some());
        let reqs: Vec<QueryPoints> = dense.into_iter().chain(words).collect();
        if reqs.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let col = self.collection.clone();
        let res = self.call("searching", move |c| {
            let req = QueryBatchPointsBuilder::new(col.clone(), reqs.clone());
            async move { c.query_batch(req).await }
        })?;
        let mut lists = res.result.into_iter().map(|b| {
            b.result
                .into_iter()
                .filter_map(|p| Some((point_u64(&p.id)?, p.score)))
                .collect::<Vec<Scored>>()
        });
        let semantic = if has.0 {
            let raw = lists.next().unwrap_or_default();
            let full = raw.len() == k;
            let mut found = merge_frames(raw);
            if found.len() < k && full {
                // Frames of the same videos took places: ask again for more.
                found = self.nearest(query, k, scope)?;
            }
            found.truncate(k);
            found
        } else {
            Vec::new()
        };
        let keyword = if has.1 {
            lists.next().unwrap_or_default()
        } else {
            Vec::new()
        };
        Ok((semantic, keyword))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let u =
            QdrantUrl::parse("qdrant://127.0.0.1:6334/photos?exact=1&shards=6&replicas=2").unwrap();
        assert_eq!(
            (
                u.nodes[0].0.as_str(),
                u.nodes[0].1,
                u.name.as_str(),
                u.exact,
                u.shards,
                u.replicas,
                u.tls
            ),
            ("127.0.0.1", 6334, "photos", true, Some(6), Some(2), false)
        );
        assert_eq!(u.to_string(), "qdrant://127.0.0.1:6334/photos");
        let u = QdrantUrl::parse("qdrants://db.example/lib").unwrap();
        assert_eq!((u.nodes[0].1, u.tls), (6334, true));
        let u = QdrantUrl::parse("qdrant://a:6334,b,c:7000/lib").unwrap();
        assert_eq!(
            u.nodes,
            [("a".into(), 6334), ("b".into(), 6334), ("c".into(), 7000)]
        );
        assert_eq!(u.to_string(), "qdrant://a:6334,b:6334,c:7000/lib");
        assert_eq!(
            u.endpoints(),
            ["http://a:6334", "http://b:6334", "http://c:7000"]
        );
        for bad in [
            "qdrant://host:port/x",
            "qdrant://host:6334",
            "qdrant://host:6334/a b",
            "qdrant://:6334/x",
            "qdrant://a:1,:2/x",
            "qdrant://a:1,b:x/x",
            "qdrant://h:1/x?shards=0",
            "qdrant://h:1/x?colour=red",
        ] {
            let e = QdrantUrl::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn ids_are_stable_and_below_2_pow_53() {
        let a = id_for(b"/photos/a.jpg", 0);
        assert_eq!(a, id_for(b"/photos/a.jpg", 0));
        assert_ne!(a, id_for(b"/photos/a.jpg", 1));
        assert_ne!(a, id_for(b"/photos/b.jpg", 0));
        for i in 0..1000u32 {
            let id = id_for(format!("/p/{i}").as_bytes(), 0);
            assert!(id > 0 && id < (1 << 53));
        }
    }

    #[test]
    fn payload_round_trips_a_record() {
        let rec = ImageRecord {
            path: b"/photos/2019/\xffodd.jpg".to_vec(),
            size: 1234,
            mtime_ns: -5,
            hash: [7; 32],
            width: 640,
            height: 480,
            format: "jpeg".into(),
            taken: Some(1_560_000_000),
            camera: Some("Canon EOS".into()),
            indexed_at: 9,
            gps: None,
            place: None,
            text: None,
            video: Some(crate::store::Video {
                duration_ms: 61_000,
                frames_ms: vec![12_000, 0, 30_500],
            }),
        };
        let p = ImagePayload::new(&rec, u64::MAX - 3, Some(b"jpeg"), None);
        assert_eq!(p.dirs, ["/photos/2019", "/photos", "/"]);
        assert_eq!(p.short_side, 480);
        let json = serde_json::to_value(&p).unwrap();
        let back: ImagePayload = Payload::try_from(json).unwrap().deserialize().unwrap();
        assert_eq!(back.record(), rec);
        assert_eq!(back.phash as u64, u64::MAX - 3);
    }
}
