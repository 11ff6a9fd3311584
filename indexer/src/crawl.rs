//! Walking the photo folders (the only module that names walkdir).
//!
//! Symlinks are not followed unless asked (then loops are detected and reported);
//! hidden entries and well-known junk (NAS thumbnail folders, trash, macOS
//! resource forks, VCS folders) are skipped.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::report::{Failure, FailureKind};

/// How to walk.
#[derive(Debug, Clone, Copy, Default)]
pub struct CrawlOptions {
    pub follow_links: bool,
    pub include_hidden: bool,
}

/// A regular file found by the crawl.
#[derive(Debug, Clone)]
pub struct FileEntry {
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
}

/// Folder and file names that are never photos people mean to search.
const JUNK_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "@eaDir",
    "#recycle",
    ".thumbnails",
    "System Volume Information",
    "$RECYCLE.BIN",
    ".Spotlight-V100",
    ".fseventsd",
    "lost+found",
];

fn is_junk(name: &str, is_dir: bool) -> bool {
    if is_dir {
        JUNK_DIRS.contains(&name) || name.starts_with(".Trash-") || name == ".Trash"
    } else {
        name.starts_with("._")
            || name == ".DS_Store"
            || name == "Thumbs.db"
            || name == "desktop.ini"
    }
}

/// Walks `root`, calling `file` for each regular file and `issue` for each entry
/// that could not be read.
pub fn crawl(
    root: &Path,
    opts: CrawlOptions,
    mut file: impl FnMut(FileEntry),
    mut issue: impl FnMut(Failure),
) {
    let walker = WalkDir::new(root)
        .follow_links(opts.follow_links)
        .into_iter()
        .filter_entry(|e| {
            if e.depth() == 0 {
                return true;
            }
            let name = e.file_name().to_string_lossy();
            let is_dir = e.file_type().is_dir();
            if is_junk(&name, is_dir) {
                return false;
            }
            opts.include_hidden || !name.starts_with('.')
        });
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(err) => {
                let path = err
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.to_path_buf());
                let (kind, reason) = if err.loop_ancestor().is_some() {
                    (
                        FailureKind::SymlinkLoop,
                        "symlink loop: skipped".to_string(),
                    )
                } else {
                    let io = err
                        .io_error()
                        .map(|e| e.to_string())
                        .unwrap_or_else(|| err.to_string());
                    (FailureKind::Unreadable, format!("cannot read: {io}"))
                };
                issue(Failure::new(path, kind, reason));
                continue;
            }
        };
        let ft = entry.file_type();
        if ft.is_symlink() {
            // Only reached when not following links: a link is not a photo itself.
            continue;
        }
        if !ft.is_file() {
            continue;
        }
        match entry.metadata() {
            Ok(md) => {
                let mtime_ns = md
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos() as i64)
                    .unwrap_or(0);
                file(FileEntry {
                    path: entry.into_path(),
                    size: md.len(),
                    mtime_ns,
                });
            }
            Err(err) => issue(Failure::new(
                entry.path().to_path_buf(),
                FailureKind::Unreadable,
                format!("cannot read: {err}"),
            )),
        }
    }
}

/// Extensions of files scry treats as images (decoded by their bytes, not by this):
/// everyday formats, HEIF/AVIF, JPEG XL and camera RAW (read by its preview).
pub const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "jfif", "png", "webp", "gif", "bmp", "dib", "tif", "tiff", "avif",
    "heic", "heif", "hif", "jxl", "cr2", "cr3", "nef", "nrw", "arw", "srf", "sr2", "dng", "raf",
    "orf", "rw2", "pef", "srw", "3fr", "iiq", "rwl", "erf", "kdc", "mrw",
];

/// What a file looks like before decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An image extension, or image bytes under another name.
    Image,
    /// A video's extension or bytes.
    Video,
    /// Neither (a sidecar, a document).
    Other,
}

/// The file's extension, lower-case.
fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The key a photo and its motion clip share: the folder and the file name
/// without its extension, lower-case (`IMG_1234.HEIC` and `IMG_1234.MOV`).
pub fn motion_key(path: &Path) -> Option<(PathBuf, String)> {
    Some((
        path.parent()?.to_path_buf(),
        path.file_stem()?.to_string_lossy().to_lowercase(),
    ))
}

/// Whether the file's extension is a photo's.
pub fn has_image_extension(path: &Path) -> bool {
    IMAGE_EXTENSIONS.contains(&extension(path).as_str())
}

/// Whether the file's extension is a video's.
pub fn has_video_extension(path: &Path) -> bool {
    scry::video::has_extension(path)
}

/// Classifies by extension, and by the first bytes for files whose extension is
/// not an image's (a JPEG saved as `.dat` is still a photo).
pub fn classify(path: &Path) -> Kind {
    if has_image_extension(path) {
        return Kind::Image;
    }
    if has_video_extension(path) {
        return Kind::Video;
    }
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    match scry::decode::detect(&head[..n]) {
        _ if n < 4 => Kind::Other,
        Some(f) if f.is_image() => Kind::Image,
        Some(_) => Kind::Video,
        None => Kind::Other,
    }
}
