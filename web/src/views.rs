//! Response types of the CLI's JSON and the HTTP API, kept apart from engine types
//! so the engine can change without changing the contract.

use scry::query::Hit;
use scry::ImageRecord;
use serde::Serialize;

/// An `f32` as the number it is: its shortest decimal form as a JSON number
/// (`0.1743`, not the `0.17430000007152557` of widening it to `f64`), also when
/// it passes through `serde_json::Value` (`json!`), which widens.
pub fn short_f32(x: f32) -> f64 {
    // Display prints the shortest decimal that reads back as the same f32.
    x.to_string().parse().unwrap_or(f64::from(x))
}

/// `serialize_with` for `f32` fields (see [`short_f32`]).
pub fn ser_f32<S: serde::Serializer>(x: &f32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(short_f32(*x))
}

/// A vector of `f32` as JSON numbers in their shortest form.
pub fn f32s_json(v: &[f32]) -> serde_json::Value {
    serde_json::Value::Array(v.iter().map(|&x| serde_json::json!(short_f32(x))).collect())
}

/// One search result.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
#[schema(example = json!({
    "id": 42, "path": "/photos/2019/beach/IMG_2041.jpg", "name": "IMG_2041.jpg",
    "folder": "/photos/2019/beach", "score": 0.3127, "date": "2019-07-14T18:02:11",
    "width": 4032, "height": 3024, "format": "jpeg",
    "thumbnail": "/api/images/42/thumbnail", "original": "/api/images/42/original",
    "display": "/api/images/42/original"
}))]
pub struct HitView {
    pub id: u64,
    pub path: String,
    pub name: String,
    pub folder: String,
    /// Cosine similarity to the query.
    #[serde(serialize_with = "ser_f32")]
    #[schema(value_type = f32)]
    pub score: f32,
    /// Capture date (EXIF), else modification time: "YYYY-MM-DDTHH:MM:SS".
    pub date: Option<String>,
    pub width: u32,
    pub height: u32,
    pub format: String,
    pub thumbnail: String,
    pub original: String,
    /// A picture the browser can show: the original, or a JPEG rendition of a
    /// format browsers do not display (HEIC, RAW, JPEG XL, TIFF).
    pub display: String,
    /// Where it was taken (EXIF GPS), if known.
    pub place: Option<PlaceView>,
    /// For a video: its length in seconds (`original` is the video; play it
    /// from `time`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// For a video: when the frame that matched best is, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<f64>,
}

/// A video's length in seconds.
fn duration_of(rec: &ImageRecord) -> Option<f64> {
    rec.video.as_ref().map(|v| v.duration_ms as f64 / 1000.0)
}

/// Where a photo was taken.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct PlaceView {
    /// "Shibuya, Tokyo, Japan".
    pub label: String,
    /// What to type to search there: `place:"Shibuya, JP"`.
    pub query: String,
    /// The GPS position, degrees.
    pub lat: f64,
    pub lon: f64,
}

impl PlaceView {
    pub fn new(rec: &ImageRecord) -> Option<Self> {
        let gps = rec.gps?;
        let (label, query) = match &rec.place {
            Some(p) => (p.label(), format!("place:\"{}, {}\"", p.city, p.country)),
            None => (
                format!("{:.4}, {:.4}", gps.lat, gps.lon),
                format!("place:\"{:.4}, {:.4}\"", gps.lat, gps.lon),
            ),
        };
        Some(PlaceView {
            label,
            query,
            lat: gps.lat,
            lon: gps.lon,
        })
    }
}

/// Formats every current browser displays as they are.
pub fn browser_shows(format: &str) -> bool {
    matches!(format, "jpeg" | "png" | "webp" | "gif" | "bmp" | "avif")
}

/// The URL of a picture of image `id` the browser can show: for a video, its
/// poster (the thumbnail; the video itself is `original`).
pub fn display_url(id: u64, rec: &ImageRecord) -> String {
    if rec.video.is_some() {
        format!("/api/images/{id}/thumbnail")
    } else if browser_shows(&rec.format) {
        format!("/api/images/{id}/original")
    } else {
        format!("/api/images/{id}/display")
    }
}

/// (path, file name, folder) of a record, for display (lossy for non-UTF-8 names).
fn path_parts(rec: &ImageRecord) -> (String, String, String) {
    let path = rec.path_buf();
    let lossy = |p: Option<&std::ffi::OsStr>| {
        p.map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    (
        path.to_string_lossy().into_owned(),
        lossy(path.file_name()),
        lossy(path.parent().map(std::path::Path::as_os_str)),
    )
}

impl HitView {
    pub fn new(hit: &Hit) -> Self {
        let rec = &hit.record;
        let (path, name, folder) = path_parts(rec);
        Self {
            id: hit.id,
            path,
            name,
            folder,
            score: (hit.score * 10_000.0).round() / 10_000.0,
            date: Some(scry::dates::format_datetime(rec.date())),
            width: rec.width,
            height: rec.height,
            format: rec.format.clone(),
            thumbnail: format!("/api/images/{}/thumbnail", hit.id),
            original: format!("/api/images/{}/original", hit.id),
            display: display_url(hit.id, rec),
            place: PlaceView::new(rec),
            duration: duration_of(rec),
            time: hit.time,
        }
    }
}

/// An image's metadata.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ImageView {
    pub id: u64,
    pub path: String,
    pub name: String,
    pub folder: String,
    pub width: u32,
    pub height: u32,
    pub format: String,
    pub date: Option<String>,
    pub camera: Option<String>,
    pub size_bytes: u64,
    /// Where it was taken (EXIF GPS), if known.
    pub place: Option<PlaceView>,
    /// The text read in it (`scry index --ocr`), lines separated by "\n";
    /// absent when it was not read or holds none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Its auto-tags, largest share first (`tag:NAME` searches them); only
    /// in `GET /api/images/{id}`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// For a video: its length in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// For a video: the times of the frames it is searched by, in seconds
    /// (the poster's first).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<f64>,
    /// For a Live Photo or Motion Photo: its clip (`/api/images/{id}/motion`);
    /// only in `GET /api/images/{id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motion: Option<String>,
}

impl ImageView {
    pub fn new(id: u64, rec: &ImageRecord) -> Self {
        let (path, name, folder) = path_parts(rec);
        Self {
            id,
            path,
            name,
            folder,
            width: rec.width,
            height: rec.height,
            format: rec.format.clone(),
            date: Some(scry::dates::format_datetime(rec.date())),
            camera: rec.camera.clone(),
            size_bytes: rec.size,
            place: PlaceView::new(rec),
            text: rec.text.clone().filter(|t| !t.is_empty()),
            tags: Vec::new(),
            duration: duration_of(rec),
            frames: rec
                .video
                .iter()
                .flat_map(|v| v.frames_ms.iter().map(|&t| f64::from(t) / 1000.0))
                .collect(),
            motion: None,
        }
    }
}

/// One image of a duplicate group.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct DupeMemberView {
    #[serde(flatten)]
    pub image: ImageView,
    pub keeper: bool,
    /// CLIP cosine to the keeper.
    #[serde(serialize_with = "ser_f32")]
    #[schema(value_type = f32)]
    pub cosine: f32,
    /// Perceptual-hash bits differing from the keeper's (of 64).
    pub phash_bits: Option<u32>,
    pub thumbnail: String,
    pub original: String,
    /// A picture the browser can show: the original, or a JPEG rendition of a
    /// format browsers do not display (HEIC, RAW, JPEG XL, TIFF).
    pub display: String,
}

/// A duplicate group: the suggested keeper first.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct DupeGroupView {
    pub tier: String,
    pub keeper: u64,
    pub members: Vec<DupeMemberView>,
}

impl DupeGroupView {
    pub fn new(lib: &scry::Library, g: &scry::dupes::Group) -> scry::Result<Self> {
        let ids: Vec<u64> = g.members.iter().map(|m| m.id).collect();
        let records: std::collections::HashMap<u64, scry::ImageRecord> =
            lib.records(&ids)?.into_iter().collect();
        Ok(Self {
            tier: g.tier.to_string(),
            keeper: g.keeper,
            members: g
                .members
                .iter()
                .filter_map(|m| {
                    let rec = records.get(&m.id)?;
                    Some(DupeMemberView {
                        image: ImageView::new(m.id, rec),
                        keeper: m.id == g.keeper,
                        cosine: (m.cosine * 10_000.0).round() / 10_000.0,
                        phash_bits: m.phash_bits,
                        thumbnail: format!("/api/images/{}/thumbnail", m.id),
                        original: format!("/api/images/{}/original", m.id),
                        display: display_url(m.id, rec),
                    })
                })
                .collect(),
        })
    }
}

/// A smart album (its vector stays inside).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct AlbumView {
    pub name: String,
    pub prompts: Vec<String>,
    pub example: Option<String>,
    #[serde(serialize_with = "ser_f32")]
    #[schema(value_type = f32)]
    pub threshold: f32,
    /// Images at or above the threshold now.
    pub count: usize,
    /// Photos marked as belonging (`yes`) or not, among those the viewer may
    /// see: the album's probe is fitted on them.
    pub marks: Vec<MarkView>,
}

/// A photo marked for an album.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct MarkView {
    pub id: u64,
    pub yes: bool,
}

impl AlbumView {
    pub fn new(lib: &scry::Library, a: &scry::albums::Album) -> scry::Result<Self> {
        Self::seen(lib, a, &scry::access::Visibility::All)
    }

    /// As a viewer sees it: members counted among their images only, and the
    /// example image's path only when the viewer may see that image (a shared
    /// album made from someone else's photo must not reveal its path).
    pub fn seen(
        lib: &scry::Library,
        a: &scry::albums::Album,
        visibility: &scry::access::Visibility,
    ) -> scry::Result<Self> {
        Ok(Self {
            name: a.name.clone(),
            prompts: a.prompts.clone(),
            example: a
                .example
                .clone()
                .filter(|e| visibility.sees(std::path::Path::new(e))),
            threshold: a.threshold,
            count: scry::albums::visible_members(lib, a, a.threshold, visibility)?.len(),
            marks: scry::albums::marked(lib, a)?
                .into_iter()
                .filter(|(_, m)| visibility.sees(std::path::Path::new(&m.path)))
                .map(|(id, m)| MarkView { id, yes: m.yes })
                .collect(),
        })
    }
}

/// An image with its cosine to an album.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ScoredImageView {
    #[serde(flatten)]
    pub image: ImageView,
    #[serde(serialize_with = "ser_f32")]
    #[schema(value_type = f32)]
    pub score: f32,
    pub thumbnail: String,
    pub original: String,
    /// A picture the browser can show: the original, or a JPEG rendition of a
    /// format browsers do not display (HEIC, RAW, JPEG XL, TIFF).
    pub display: String,
}

impl ScoredImageView {
    /// The views of scored images, in their order (images gone are left out).
    pub fn many(lib: &scry::Library, scored: &[(u64, f32)]) -> scry::Result<Vec<Self>> {
        let ids: Vec<u64> = scored.iter().map(|s| s.0).collect();
        let records: std::collections::HashMap<u64, scry::ImageRecord> =
            lib.records(&ids)?.into_iter().collect();
        Ok(scored
            .iter()
            .filter_map(|&(id, score)| {
                let rec = records.get(&id)?;
                Some(Self {
                    image: ImageView::new(id, rec),
                    score: (score * 10_000.0).round() / 10_000.0,
                    thumbnail: format!("/api/images/{id}/thumbnail"),
                    original: format!("/api/images/{id}/original"),
                    display: display_url(id, rec),
                })
            })
            .collect())
    }
}

// ------------------------------------------------------------------ API responses
//
// Every JSON body the API answers with is one of these types: the OpenAPI
// document (`/api/openapi.json`) is generated from them.

/// `GET /api/health`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"ok": true}))]
pub struct Health {
    pub ok: bool,
}

/// What a search asked for, echoed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueryEcho {
    pub q: Option<String>,
    pub like: Option<String>,
    #[serde(rename = "in")]
    pub folder: Option<String>,
    pub after: Option<String>,
    pub before: Option<String>,
}

/// A page of search results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchPage {
    pub query: QueryEcho,
    /// Dates read out of `q` and applied as filters (undo one with `keep`).
    pub understood: Vec<crate::api::search::Understood>,
    pub hits: Vec<HitView>,
    pub offset: usize,
    pub k: usize,
    /// More results after this page.
    pub has_more: bool,
    /// Milliseconds the search took on the server.
    pub took_ms: f64,
}

/// `GET /api/status`: what the caller can see of the library.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Status {
    /// Images the caller can see.
    pub images: usize,
    /// The caller's folders (every root of the library for an admin).
    pub roots: Vec<String>,
    pub model: String,
    /// The text model queries go through (`--text-model`), when not the
    /// image model's own text tower.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_model: Option<String>,
    pub indexing: bool,
    /// Files handled by the run in progress (admins only).
    pub indexed: Option<usize>,
    /// Files still to handle (admins only).
    pub queued: Option<usize>,
    /// When the last indexing run finished (UTC).
    pub last_run: Option<String>,
    /// The formats this server reads: built in, and optional system codecs.
    #[schema(value_type = Object)]
    pub formats: serde_json::Value,
}

/// Groups per tier.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DupeCounts {
    pub exact: usize,
    pub near: usize,
    pub similar: usize,
}

/// `GET /api/dupes`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Dupes {
    pub counts: DupeCounts,
    pub groups: Vec<DupeGroupView>,
}

/// A suggested album, not enabled yet.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SuggestedAlbum {
    pub name: String,
    pub prompts: Vec<String>,
    #[serde(serialize_with = "ser_f32")]
    #[schema(value_type = f32)]
    pub threshold: f32,
}

/// `GET /api/albums`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Albums {
    pub albums: Vec<AlbumView>,
    pub suggested: Vec<SuggestedAlbum>,
}

/// One auto-tag and how many images carry it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"tag": "hot-air-balloon", "category": "hot air balloon", "count": 12}))]
pub struct TagCount {
    /// What to type: `tag:` and this.
    pub tag: String,
    /// The category as the vocabulary spells it.
    pub category: String,
    pub count: usize,
}

/// `GET /api/tags`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TagFacets {
    /// The images counted (those the caller can see).
    pub images: usize,
    /// Categories in the vocabulary (built in and the library's own).
    pub vocabulary: usize,
    /// The library's own categories.
    pub categories: Vec<String>,
    /// Tags carried by at least one image, most first.
    pub tags: Vec<TagCount>,
}

/// The library's own categories, after a change.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TagCategories {
    pub categories: Vec<String>,
}

/// Images that a threshold preview adds or drops.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlbumChange {
    pub count: usize,
    pub images: Vec<ScoredImageView>,
}

/// `GET /api/albums/{name}`: the album's images, best first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlbumPage {
    pub album: AlbumView,
    /// The threshold shown (the album's, or the one previewed).
    #[serde(serialize_with = "ser_f32")]
    #[schema(value_type = f32)]
    pub threshold: f32,
    pub count: usize,
    pub images: Vec<ScoredImageView>,
    /// With `?threshold=`: what the new threshold would add.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entering: Option<AlbumChange>,
    /// With `?threshold=`: what it would drop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leaving: Option<AlbumChange>,
}

/// `DELETE /api/albums/{name}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Removed {
    pub removed: String,
}

/// `POST /api/rescan`: started in the background.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RescanStarted {
    pub started: bool,
    /// The folder rescanned; every root when absent.
    pub folder: Option<String>,
}

/// One embedded input.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Embedded {
    /// The text, or the uploaded file's name.
    pub input: String,
    /// L2-normalised.
    pub embedding: Vec<f32>,
}

/// `POST /api/embed`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Embeddings {
    pub model: String,
    /// The text model the texts went through (`--text-model`), when not the
    /// image model's own text tower.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_model: Option<String>,
    pub dim: usize,
    pub texts: Vec<Embedded>,
    pub images: Vec<Embedded>,
}

/// Who is signed in (`GET /api/me`, `POST /api/session`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"user": "alice", "admin": false, "roots": ["/srv/photos/alice"], "via": "token"}))]
pub struct Me {
    /// The user's name (none on a server without users, or for the server's token).
    pub user: Option<String>,
    pub admin: bool,
    /// The folders they see (none: everything).
    pub roots: Option<Vec<String>>,
    /// `token`, `proxy` or `open` (a server without users).
    pub via: String,
}

/// `DELETE /api/session`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignedOut {
    pub signed_out: bool,
}
