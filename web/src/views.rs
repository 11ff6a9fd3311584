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
