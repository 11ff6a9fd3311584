//! Response types of the CLI's JSON and the HTTP API, kept apart from engine types
//! so the engine can change without changing the contract.

use scry::query::Hit;
use scry::ImageRecord;
use serde::Serialize;

/// One search result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HitView {
    pub id: u64,
    pub path: String,
    pub name: String,
    pub folder: String,
    /// Cosine similarity to the query.
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
}

/// Formats every current browser displays as they are.
pub fn browser_shows(format: &str) -> bool {
    matches!(format, "jpeg" | "png" | "webp" | "gif" | "bmp" | "avif")
}

/// The URL of a picture of image `id` the browser can show.
pub fn display_url(id: u64, format: &str) -> String {
    if browser_shows(format) {
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
            display: display_url(hit.id, &rec.format),
        }
    }
}

/// An image's metadata.
#[derive(Debug, Clone, Serialize, PartialEq)]
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
        }
    }
}

/// One image of a duplicate group.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DupeMemberView {
    #[serde(flatten)]
    pub image: ImageView,
    pub keeper: bool,
    /// CLIP cosine to the keeper.
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
#[derive(Debug, Clone, Serialize, PartialEq)]
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
                        display: display_url(m.id, &rec.format),
                    })
                })
                .collect(),
        })
    }
}

/// A smart album (its vector stays inside).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlbumView {
    pub name: String,
    pub prompts: Vec<String>,
    pub example: Option<String>,
    pub threshold: f32,
    /// Images at or above the threshold now.
    pub count: usize,
}

impl AlbumView {
    pub fn new(lib: &scry::Library, a: &scry::albums::Album) -> scry::Result<Self> {
        Ok(Self {
            name: a.name.clone(),
            prompts: a.prompts.clone(),
            example: a.example.clone(),
            threshold: a.threshold,
            count: scry::albums::members(lib, a, a.threshold)?.len(),
        })
    }
}

/// An image with its cosine to an album.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScoredImageView {
    #[serde(flatten)]
    pub image: ImageView,
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
                    display: display_url(id, &rec.format),
                })
            })
            .collect())
    }
}
