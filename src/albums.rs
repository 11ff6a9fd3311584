//! Smart albums: a name, prompts (and optionally an example image) and a
//! threshold. The prompts are encoded once, when the album is defined; its
//! members are the images whose embedding has a cosine of at least the threshold
//! with the album's vector, computed from the stored embeddings at each use, so
//! an album is current as soon as an image is committed and nothing is
//! re-encoded.

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
}

impl Album {
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
    Ok(album)
}

/// Every image with its cosine to the album, at or above `threshold`, best first.
pub fn members(lib: &Library, album: &Album, threshold: f32) -> Result<Scored> {
    lib.at_least(&album.vector, threshold)
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
    let between: Scored = visible_members(lib, album, lo, visibility)?
        .into_iter()
        .filter(|&(_, c)| c < hi)
        .collect();
    Ok(if threshold < album.threshold {
        (between, Vec::new())
    } else {
        (Vec::new(), between)
    })
}
