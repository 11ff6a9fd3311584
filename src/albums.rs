//! Smart albums: a name, prompts (and optionally an example image) and a
//! threshold. The prompts are encoded once, when the album is defined; its
//! members are the images whose embedding has a cosine of at least the threshold
//! with the album's vector, computed from the stored embeddings at each use, so
//! an album is current as soon as an image is committed and nothing is
//! re-encoded.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::library::Library;
use crate::model::{normalize, ClipModel};
use crate::store::ImageId;

/// Longest album name.
pub const MAX_NAME_CHARS: usize = 40;

/// An album as the library keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Album {
    pub name: String,
    pub prompts: Vec<String>,
    /// The example image's path, if one was given (re-encoded when the library
    /// is rebuilt with another model).
    pub example: Option<String>,
    /// Minimum cosine between an image and [`Album::vector`].
    pub threshold: f32,
    /// The normalised sum of the prompts' and the example's embeddings.
    pub vector: Vec<f32>,
    /// The user whose album it is; shared by everyone when `None` (made with
    /// `scry album add`, or on a server without users).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Photos a person said belong or do not ([`mark`]). With marks, `vector`
    /// and `threshold` are the fitted probe's and [`Album::prior`] keeps the
    /// prompts' own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<Mark>,
    /// The album as its prompts and example define it, before any mark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior: Option<Prior>,
}

/// A photo marked as belonging to an album ("yes") or not ("no").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    /// The image's path when it was marked (a marked image is always, or
    /// never, a member while it is there).
    pub path: String,
    /// BLAKE3 of its bytes, hex: finds its vector again after a rebuild with
    /// another model.
    pub hash: String,
    pub yes: bool,
    /// Its embedding, which the probe is fitted on (empty until found again
    /// after a rebuild).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vector: Vec<f32>,
}

/// An album's vector and threshold from its prompts and example alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prior {
    pub vector: Vec<f32>,
    pub threshold: f32,
}

impl Album {
    /// The prompts' (and example's) vector and threshold, without the marks.
    pub fn prior(&self) -> Prior {
        self.prior.clone().unwrap_or_else(|| Prior {
            vector: self.vector.clone(),
            threshold: self.threshold,
        })
    }

    /// Where the library keeps it: the name of a shared album, `OWNER/NAME` of
    /// a user's (names have no `/`, so the two never collide).
    pub fn key(&self) -> String {
        key(self.owner.as_deref(), &self.name)
    }
}

/// The key of album `name` of `owner` (see [`Album::key`]).
pub fn key(owner: Option<&str>, name: &str) -> String {
    match owner {
        Some(o) => format!("{o}/{name}"),
        None => name.to_string(),
    }
}

/// An album a person can switch on with one command; not enabled by default.
#[derive(Debug, Clone, Copy)]
pub struct Suggested {
    pub name: &'static str,
    pub prompts: &'static [&'static str],
    pub threshold: f32,
}

/// Default threshold for text prompts: CLIP ViT-B/32 gives matching photos a
/// cosine around 0.25–0.33 with a short caption, unrelated ones below 0.2.
pub const DEFAULT_THRESHOLD: f32 = 0.25;

/// Albums that ship disabled (`scry album add NAME` enables one).
pub const SUGGESTED: &[Suggested] = &[
    Suggested {
        name: "screenshots",
        prompts: &[
            "a screenshot of a computer screen",
            "a screenshot of a phone app",
        ],
        threshold: 0.25,
    },
    Suggested {
        name: "receipts",
        prompts: &[
            "a photo of a receipt",
            "a scanned document",
            "a page of printed text",
        ],
        threshold: 0.25,
    },
    Suggested {
        name: "food",
        prompts: &["a photo of food", "a plate of food on a table"],
        threshold: 0.25,
    },
    Suggested {
        name: "pets",
        prompts: &["a photo of a dog", "a photo of a cat"],
        threshold: 0.25,
    },
    Suggested {
        name: "people",
        prompts: &["a photo of people", "a portrait of a person"],
        threshold: 0.24,
    },
];

/// The suggested album of that name, if any.
pub fn suggested(name: &str) -> Option<&'static Suggested> {
    SUGGESTED.iter().find(|s| s.name == name)
}

/// Checks an album name: 1–40 of `a-z 0-9 - _` (it is typed in queries as
/// `album:NAME` and appears in URLs).
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "album name {name:?}: use 1 to {MAX_NAME_CHARS} lower-case letters, digits, - or _"
        )))
    }
}

/// Checks a threshold (a cosine).
pub fn check_threshold(t: f32) -> Result<()> {
    if t.is_finite() && (-1.0..=1.0).contains(&t) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "threshold must be a cosine between -1 and 1, got {t}"
        )))
    }
}

/// Encodes prompts (and an example image's embedding) into an album's vector.
pub fn album_vector(
    model: &ClipModel,
    prompts: &[String],
    example: Option<&[f32]>,
) -> Result<Vec<f32>> {
    if prompts.iter().all(|p| p.trim().is_empty()) && example.is_none() {
        return Err(Error::InvalidArgument(
            "an album needs at least one prompt or an example image".into(),
        ));
    }
    let mut sum = vec![0.0f32; model.dim()];
    let texts: Vec<&str> = prompts
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect();
    if !texts.is_empty() {
        for e in model.embed_texts(&texts)? {
            sum.iter_mut().zip(&e).for_each(|(s, x)| *s += x);
        }
    }
    if let Some(e) = example {
        sum.iter_mut().zip(e).for_each(|(s, x)| *s += x);
    }
    Ok(normalize(sum))
}

/// The album's vector made again from its prompts and example file with
/// `model` (after `scry index --rebuild`, possibly with another model). An
/// example file that is gone is dropped, with a warning.
pub fn reencode(model: &ClipModel, album: &Album) -> Result<Album> {
    let mut album = album.clone();
    let example = match &album.example {
        Some(path) => match model
            .preprocessor()
            .pixels_from_file(std::path::Path::new(path))
        {
            Ok(pixels) => Some(model.embed_pixels(&[pixels], 1)?.remove(0)),
            Err(e) => {
                // The definition keeps the path: the file may come back (a drive
                // not mounted now).
                tracing::warn!("album {}: example image not readable now: {e}", album.name);
                None
            }
        },
        None => None,
    };
    if album.prompts.is_empty() && example.is_none() {
        return Err(Error::InvalidArgument(format!(
            "album {}: its only example image is gone; define it again",
            album.name
        )));
    }
    album.vector = album_vector(model, &album.prompts, example.as_deref())?;
    if !album.marks.is_empty() {
        // The marks' vectors are the old model's: found again by [`refit`].
        album.prior = Some(Prior {
            vector: album.vector.clone(),
            threshold: album
                .prior
                .as_ref()
                .map_or(album.threshold, |p| p.threshold),
        });
        album.marks.iter_mut().for_each(|m| m.vector.clear());
    }
    Ok(album)
}

/// Most marks an album keeps.
pub const MAX_MARKS: usize = 1000;

/// Marks image `id` as belonging to the album (`Some(true)`), not belonging
/// (`Some(false)`), or unmarks it (`None`), and fits the album's probe again
/// ([`crate::probe`]): the returned album's vector and threshold are the new
/// boundary. The caller stores it.
pub fn mark(lib: &Library, album: &Album, id: ImageId, belongs: Option<bool>) -> Result<Album> {
    let gone = || Error::NotFound(format!("no image with id {id}"));
    let rec = lib.meta(id)?.ok_or_else(gone)?;
    let path = rec.path_buf().display().to_string();
    let hash = hex(&rec.hash);
    let mut album = album.clone();
    let prior = album.prior();
    album.marks.retain(|m| m.path != path && m.hash != hash);
    if let Some(yes) = belongs {
        if album.marks.len() >= MAX_MARKS {
            return Err(Error::InvalidArgument(format!(
                "album {} has {MAX_MARKS} marked photos, the most it keeps; unmark some first",
                album.name
            )));
        }
        let vector = lib.vector(id)?.ok_or_else(gone)?;
        album.marks.push(Mark {
            path,
            hash,
            yes,
            vector,
        });
    }
    album.prior = Some(prior);
    refit(lib, album)
}

/// The album's probe fitted on its marks: marks without a vector (after a
/// rebuild) find theirs by content hash; marks whose photo is gone stay in the
/// definition and count again when it returns. No marks: the prompts' album.
pub fn refit(lib: &Library, mut album: Album) -> Result<Album> {
    let prior = album.prior();
    let dim = prior.vector.len();
    for m in album.marks.iter_mut().filter(|m| m.vector.len() != dim) {
        m.vector = match unhex(&m.hash) {
            Some(h) => lib.vector_of_copy(&h, None)?.unwrap_or_default(),
            None => Vec::new(),
        };
    }
    if album.marks.is_empty() {
        album.vector = prior.vector;
        album.threshold = prior.threshold;
        album.prior = None;
        return Ok(album);
    }
    let examples: Vec<(&[f32], bool)> = album
        .marks
        .iter()
        .filter(|m| m.vector.len() == dim)
        .map(|m| (m.vector.as_slice(), m.yes))
        .collect();
    let probe = crate::probe::fit(&prior.vector, prior.threshold, &examples);
    album.vector = probe.vector;
    album.threshold = probe.threshold;
    album.prior = Some(prior);
    Ok(album)
}

fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return None;
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The photos people marked, as they are in the library now (a marked photo
/// that is gone is left out), each with its mark.
pub fn marked<'a>(lib: &Library, album: &'a Album) -> Result<Vec<(ImageId, &'a Mark)>> {
    let mut out = Vec::with_capacity(album.marks.len());
    for m in &album.marks {
        if let Some(id) = lib.id_for_path(std::path::Path::new(&m.path))? {
            out.push((id, m));
        }
    }
    Ok(out)
}

/// Every image with its cosine to the album, at or above `threshold`, best
/// first; a photo marked "yes" is always a member and one marked "no" never.
pub fn members(lib: &Library, album: &Album, threshold: f32) -> Result<Scored> {
    let mut all = lib.at_least(&album.vector, threshold)?;
    if album.marks.is_empty() {
        return Ok(all);
    }
    let marks = marked(lib, album)?;
    let decided: HashSet<ImageId> = marks.iter().map(|(id, _)| *id).collect();
    let yes: Vec<ImageId> = marks
        .iter()
        .filter(|(_, m)| m.yes)
        .map(|(id, _)| *id)
        .collect();
    all.retain(|(id, _)| !decided.contains(id));
    all.extend(
        lib.vectors(&yes)?
            .into_iter()
            .map(|(id, v)| (id, crate::ann::dot(&v, &album.vector))),
    );
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(all)
}

/// [`members`] that `visibility` lets a viewer see.
pub fn visible_members(
    lib: &Library,
    album: &Album,
    threshold: f32,
    visibility: &crate::access::Visibility,
) -> Result<Scored> {
    let all = members(lib, album, threshold)?;
    let crate::access::Visibility::Within(roots) = visibility else {
        return Ok(all);
    };
    let ids: Vec<ImageId> = all.iter().map(|&(id, _)| id).collect();
    let seen = lib.ids_under(&ids, roots)?;
    Ok(all
        .into_iter()
        .filter(|(id, _)| seen.contains(id))
        .collect())
}

/// Images with their cosine to an album, best first.
pub type Scored = Vec<(ImageId, f32)>;

/// What moving the threshold from the album's own to `threshold` would change:
/// the images that would enter and those that would leave, best first.
pub fn preview(
    lib: &Library,
    album: &Album,
    threshold: f32,
    visibility: &crate::access::Visibility,
) -> Result<(Scored, Scored)> {
    let (lo, hi) = if threshold < album.threshold {
        (threshold, album.threshold)
    } else {
        (album.threshold, threshold)
    };
    // Marked photos are in or out at any threshold: they neither enter nor leave.
    let marked: HashSet<ImageId> = marked(lib, album)?.into_iter().map(|(id, _)| id).collect();
    let between: Scored = visible_members(lib, album, lo, visibility)?
        .into_iter()
        .filter(|&(id, c)| c < hi && !marked.contains(&id))
        .collect();
    Ok(if threshold < album.threshold {
        (between, Vec::new())
    } else {
        (Vec::new(), between)
    })
}
