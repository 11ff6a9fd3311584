//! Auto-tags by zero-shot classification, as the CLIP paper does it (§3.1.4,
//! "prompt engineering and ensembling"): every category of a vocabulary is
//! written into a set of prompt templates, each prompt is encoded, and the
//! category's vector is the mean of the normalised template embeddings,
//! normalised again. An image's tags are the categories that take a clear
//! share of its zero-shot distribution over the whole vocabulary (a softmax of
//! its cosines at CLIP's logit scale), so a tag means "this, rather than the
//! other few hundred things", not an absolute cosine that differs by model.
//!
//! Tags are computed from the stored embeddings: a new category or a changed
//! vocabulary re-tags a library with one dot product per image and category,
//! and nothing is re-embedded.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::library::Library;
use crate::model::{normalize, ClipModel};
use crate::store::ImageId;

/// Prompt templates, from the 80 the CLIP authors ensembled for ImageNet
/// (`notebooks/Prompt_Engineering_for_ImageNet.ipynb` in openai/CLIP): those
/// that describe a photograph, since a photo library holds photographs
/// (the drawings, sculptures, tattoos and video-game ones are left out).
pub const TEMPLATES: &[&str] = &[
    "a photo of a {}.",
    "a bad photo of a {}.",
    "a photo of many {}.",
    "a bright photo of a {}.",
    "a dark photo of the {}.",
    "a close-up photo of a {}.",
    "a cropped photo of a {}.",
    "a blurry photo of the {}.",
    "a good photo of the {}.",
    "itap of a {}.",
    "a photo of the large {}.",
    "a photo of the small {}.",
];

/// Everyday categories of a photo library: living things, objects, food,
/// places and scenes, events, and documents. Users add their own.
pub const VOCABULARY: &[&str] = &[
    // People and animals
    "person",
    "baby",
    "child",
    "group of people",
    "selfie",
    "portrait",
    "crowd",
    "dog",
    "cat",
    "bird",
    "horse",
    "cow",
    "sheep",
    "pig",
    "goat",
    "chicken",
    "duck",
    "fish",
    "rabbit",
    "hamster",
    "turtle",
    "snake",
    "lizard",
    "frog",
    "butterfly",
    "bee",
    "spider",
    "insect",
    "deer",
    "fox",
    "bear",
    "wolf",
    "lion",
    "tiger",
    "elephant",
    "giraffe",
    "zebra",
    "monkey",
    "squirrel",
    "owl",
    "parrot",
    "penguin",
    "swan",
    "seagull",
    "dolphin",
    "whale",
    "jellyfish",
    "crab",
    "squid",
    // Plants
    "flower",
    "rose",
    "sunflower",
    "tulip",
    "tree",
    "palm tree",
    "cactus",
    "houseplant",
    "mushroom",
    "leaves",
    "grass",
    // Food and drink
    "food",
    "pizza",
    "burger",
    "sandwich",
    "salad",
    "soup",
    "pasta",
    "sushi",
    "rice",
    "noodles",
    "bread",
    "cake",
    "cupcake",
    "cookie",
    "ice cream",
    "chocolate",
    "fruit",
    "apple",
    "banana",
    "orange",
    "strawberry",
    "grapes",
    "vegetables",
    "cheese",
    "egg",
    "steak",
    "barbecue",
    "breakfast",
    "coffee",
    "tea",
    "wine",
    "beer",
    "cocktail",
    "juice",
    // Vehicles
    "car",
    "truck",
    "bus",
    "train",
    "tram",
    "motorcycle",
    "bicycle",
    "scooter",
    "boat",
    "sailboat",
    "ship",
    "airplane",
    "helicopter",
    "hot air balloon",
    "tractor",
    // Things at home and work
    "chair",
    "sofa",
    "bed",
    "table",
    "desk",
    "kitchen",
    "bathroom",
    "bookshelf",
    "book",
    "computer",
    "laptop",
    "phone",
    "tablet",
    "television",
    "camera",
    "keyboard",
    "clock",
    "watch",
    "lamp",
    "candle",
    "mirror",
    "window",
    "door",
    "stairs",
    "toy",
    "teddy bear",
    "lego",
    "ball",
    "guitar",
    "piano",
    "drum",
    "violin",
    "umbrella",
    "backpack",
    "handbag",
    "suitcase",
    "shoes",
    "hat",
    "glasses",
    "dress",
    "jewelry",
    "bottle",
    "cup",
    "plate",
    "knife",
    "tools",
    "coins",
    "money",
    "flag",
    "sign",
    "painting",
    "sculpture",
    "balloon",
    "gift",
    "christmas tree",
    "fireworks",
    "tent",
    "kite",
    // Places and scenes
    "beach",
    "sea",
    "lake",
    "river",
    "waterfall",
    "mountain",
    "hill",
    "forest",
    "jungle",
    "desert",
    "field",
    "farm",
    "garden",
    "park",
    "playground",
    "snow",
    "ice",
    "rain",
    "fog",
    "sky",
    "clouds",
    "sunset",
    "sunrise",
    "night sky",
    "stars",
    "moon",
    "rainbow",
    "lightning",
    "cave",
    "island",
    "city",
    "street",
    "road",
    "bridge",
    "skyscraper",
    "house",
    "church",
    "castle",
    "temple",
    "tower",
    "ruins",
    "monument",
    "museum",
    "restaurant",
    "bar",
    "cafe",
    "shop",
    "market",
    "supermarket",
    "office",
    "classroom",
    "library",
    "hospital",
    "airport",
    "train station",
    "stadium",
    "swimming pool",
    "gym",
    "concert",
    "theater",
    "zoo",
    "aquarium",
    "amusement park",
    "campsite",
    "harbor",
    "lighthouse",
    "windmill",
    "graffiti",
    "construction site",
    "parking lot",
    "garage",
    "living room",
    "bedroom",
    "interior",
    "aerial view",
    "underwater",
    "space",
    "planet",
    "galaxy",
    // Activities and events
    "wedding",
    "birthday party",
    "party",
    "christmas",
    "halloween",
    "graduation",
    "dinner",
    "picnic",
    "camping",
    "hiking",
    "skiing",
    "snowboarding",
    "surfing",
    "swimming",
    "diving",
    "running",
    "cycling",
    "football",
    "basketball",
    "tennis",
    "golf",
    "baseball",
    "yoga",
    "dancing",
    "fishing",
    "cooking",
    "gardening",
    "reading",
    "travel",
    "road trip",
    "festival",
    "parade",
    "protest",
    "meeting",
    "sports",
    // Documents and screens
    "document",
    "receipt",
    "invoice",
    "letter",
    "handwriting",
    "whiteboard",
    "map",
    "menu",
    "ticket",
    "passport",
    "business card",
    "screenshot",
    "chart",
    "diagram",
    "text",
    "poster",
    "newspaper",
    "calendar",
    "qr code",
    "barcode",
    "license plate",
    // Kinds of picture
    "black and white photo",
    "close-up",
    "macro",
    "texture",
    "pattern",
    "drawing",
    "cartoon",
    "meme",
    "x-ray",
    "microscope image",
];

/// CLIP's logit scale: the trained models' `logit_scale.exp()` sits at the
/// 100 the training clamps it to (OpenAI's ViT-B/32 and ViT-L/14 both), and the
/// paper's zero-shot classifier is a softmax of cosines times it.
pub const LOGIT_SCALE: f32 = 100.0;

/// A tag needs this share of an image's zero-shot distribution over the
/// vocabulary. 0.1 is about the share a category takes when it is one of the
/// two or three things a photo shows; a category scoring 0.05 of cosine below
/// the best one gets e^-5 of its weight, under 1 %.
pub const DEFAULT_MIN_SHARE: f32 = 0.1;

/// Most tags an image gets.
pub const MAX_TAGS: usize = 5;

/// Most categories a library adds to the built-in vocabulary (tags are
/// indexed by `u16`, and each one costs a pass of the text tower once).
pub const MAX_CATEGORIES: usize = 1000;

/// A category as a keyword: lower case, words joined by `-`
/// (`tag:hot-air-balloon`).
pub fn keyword(category: &str) -> String {
    category
        .split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

/// A category name people typed: trimmed, single-spaced, 1–40 characters of
/// letters, digits, spaces, `-` and `'`.
pub fn check_category(name: &str) -> Result<String> {
    let clean = name.split_whitespace().collect::<Vec<_>>().join(" ");
    let ok = (1..=40).contains(&clean.chars().count())
        && clean
            .chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || c == '-' || c == '\'');
    if !ok {
        return Err(Error::InvalidArgument(format!(
            "category {name:?}: use 1 to 40 letters, digits, spaces, - or '"
        )));
    }
    Ok(clean)
}

/// A minimum share must be above 0 and at most 1.
pub fn check_min_share(share: f32) -> Result<()> {
    if share > 0.0 && share <= 1.0 {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "minimum share {share}: give a number above 0 and at most 1"
        )))
    }
}

/// The CLIP paper's ensemble: the mean of the normalised embeddings,
/// normalised again.
pub fn ensemble(embeddings: &[Vec<f32>]) -> Vec<f32> {
    let dim = embeddings.first().map_or(0, Vec::len);
    let mut sum = vec![0.0f32; dim];
    for e in embeddings {
        let e = normalize(e.clone());
        for (s, x) in sum.iter_mut().zip(&e) {
            *s += x;
        }
    }
    normalize(sum)
}

/// A vocabulary encoded for one model: the categories and their ensembled
/// vectors.
#[derive(Debug, Clone)]
pub struct Tagger {
    names: Vec<String>,
    /// `names.len()` rows of `dim` floats.
    vectors: Vec<f32>,
    dim: usize,
    min_share: f32,
}

/// (category, images carrying it) from per-category counts, most first, ties
/// by name; categories no image carries are left out.
fn ranked(names: &[String], counts: Vec<usize>) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = names
        .iter()
        .cloned()
        .zip(counts)
        .filter(|&(_, c)| c > 0)
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// The index of the category of `names` with this name or keyword.
fn position(names: &[String], name: &str) -> Option<usize> {
    let k = keyword(name);
    names.iter().position(|n| keyword(n) == k)
}

/// One image's tag: the category's index in the vocabulary and its share.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tag {
    pub category: usize,
    pub share: f32,
}

impl Tagger {
    /// Encodes `categories` with the templates through the model's text tower
    /// (`TEMPLATES.len()` prompts a category, in batches); `progress` is told
    /// how many categories are done.
    pub fn encode(
        model: &ClipModel,
        categories: &[String],
        mut progress: impl FnMut(usize),
    ) -> Result<Tagger> {
        let mut vectors = Vec::with_capacity(categories.len());
        // A few categories a batch: the text tower pads a batch to its longest
        // prompt only.
        for (done, chunk) in categories.chunks(8).enumerate() {
            let prompts: Vec<String> = chunk
                .iter()
                .flat_map(|c| TEMPLATES.iter().map(move |t| t.replace("{}", c)))
                .collect();
            let embedded = model.embed_texts(&prompts)?;
            for per_category in embedded.chunks(TEMPLATES.len()) {
                vectors.push(ensemble(per_category));
            }
            progress((done * 8 + chunk.len()).min(categories.len()));
        }
        Tagger::from_vectors(categories.to_vec(), vectors)
    }

    /// [`Tagger::encode`], kept in `cache_dir` so that the next run with the
    /// same text tower, templates and categories reads it back instead of
    /// encoding `TEMPLATES.len()` prompts a category again (about 12 s for the
    /// built-in vocabulary with ViT-B/32 on 2 cores). The file's name is a
    /// BLAKE3 hash of the templates, the categories and the model's embedding
    /// of a fixed text, so other weights never read it. A cache that cannot be
    /// read or written only costs the encoding.
    pub fn encode_cached(
        model: &ClipModel,
        categories: &[String],
        cache_dir: &std::path::Path,
        progress: impl FnMut(usize),
    ) -> Result<Tagger> {
        let probe = model.embed_texts(&["a photo."])?.remove(0);
        let mut key = blake3::Hasher::new();
        for t in TEMPLATES {
            key.update(t.as_bytes()).update(b"\0");
        }
        key.update(b"\x01");
        for c in categories {
            key.update(c.as_bytes()).update(b"\0");
        }
        key.update(b"\x01");
        for x in &probe {
            key.update(&x.to_le_bytes());
        }
        let hex = key.finalize().to_hex();
        let file = cache_dir.join(format!("tags-{}.f32", &hex[..32]));
        if let Some(vectors) = read_cache(&file, categories.len(), probe.len()) {
            // Written normalised: normalising again could move the last bit.
            return Tagger::checked(categories.to_vec(), vectors, false);
        }
        let tagger = Tagger::encode(model, categories, progress)?;
        if let Err(e) = write_cache(&file, &tagger.vectors) {
            tracing::warn!(
                "auto-tags: could not keep the encoded vocabulary in {}: {e}",
                file.display()
            );
        }
        Ok(tagger)
    }

    /// A tagger from category vectors made elsewhere (normalised here).
    pub fn from_vectors(names: Vec<String>, vectors: Vec<Vec<f32>>) -> Result<Tagger> {
        Self::checked(names, vectors, true)
    }

    /// A tagger from `vectors`, normalised first if `normalise`.
    fn checked(names: Vec<String>, vectors: Vec<Vec<f32>>, normalise: bool) -> Result<Tagger> {
        if names.len() != vectors.len() || names.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "a vocabulary of {} names and {} vectors",
                names.len(),
                vectors.len()
            )));
        }
        let dim = vectors[0].len();
        if vectors.iter().any(|v| v.len() != dim) {
            return Err(Error::InvalidArgument(
                "category vectors of different lengths".into(),
            ));
        }
        let mut seen = BTreeMap::new();
        for n in &names {
            if let Some(other) = seen.insert(keyword(n), n) {
                return Err(Error::InvalidArgument(format!(
                    "categories {other:?} and {n:?} are the same tag"
                )));
            }
        }
        Ok(Tagger {
            names,
            vectors: if normalise {
                vectors.into_iter().flat_map(normalize).collect()
            } else {
                vectors.into_iter().flatten().collect()
            },
            dim,
            min_share: DEFAULT_MIN_SHARE,
        })
    }

    /// The same vocabulary with another minimum share (0 < share ≤ 1).
    pub fn with_min_share(mut self, share: f32) -> Result<Tagger> {
        check_min_share(share)?;
        self.min_share = share;
        Ok(self)
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Category `i`'s (normalised) vector.
    pub fn vector(&self, i: usize) -> &[f32] {
        &self.vectors[i * self.dim..(i + 1) * self.dim]
    }

    /// The index of the category with this name or keyword.
    pub fn find(&self, name: &str) -> Option<usize> {
        position(&self.names, name)
    }

    /// The image's share of each category: the softmax of its cosines at
    /// [`LOGIT_SCALE`].
    pub fn shares(&self, image: &[f32]) -> Vec<f32> {
        assert_eq!(image.len(), self.dim, "an image vector of another model");
        let logits: Vec<f32> = self
            .vectors
            .chunks(self.dim)
            .map(|t| LOGIT_SCALE * crate::ann::dot(image, t))
            .collect();
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exp: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
        let total: f32 = exp.iter().sum();
        exp.into_iter().map(|e| e / total).collect()
    }

    /// The image's tags, largest share first: at most [`MAX_TAGS`], each with
    /// at least the minimum share.
    pub fn tags(&self, image: &[f32]) -> Vec<Tag> {
        let mut tags: Vec<Tag> = self
            .shares(image)
            .into_iter()
            .enumerate()
            .filter(|&(_, s)| s >= self.min_share)
            .map(|(category, share)| Tag { category, share })
            .collect();
        tags.sort_by(|a, b| b.share.total_cmp(&a.share));
        tags.truncate(MAX_TAGS);
        tags
    }

    /// How many images carry each tag (the facets), most first, ties by name;
    /// categories no image carries are left out.
    pub fn facets<'a>(&self, images: impl IntoIterator<Item = &'a [f32]>) -> Vec<(String, usize)> {
        let mut counts = vec![0; self.names.len()];
        for v in images {
            for t in self.tags(v) {
                counts[t.category] += 1;
            }
        }
        ranked(&self.names, counts)
    }
}

/// Every image's tags under one vocabulary: what `tag:NAME` filters by and
/// what the facets count. Built from the stored vectors ([`TagTable::build`]),
/// so a changed vocabulary or threshold costs one pass over the vectors and
/// nothing is re-embedded.
#[derive(Debug, Clone)]
pub struct TagTable {
    names: Vec<String>,
    /// Each tagged image's categories (indices into `names`), largest share
    /// first; an image without a tag is absent.
    tags: HashMap<ImageId, Vec<u16>>,
    images: usize,
}

impl TagTable {
    /// Tags every image of `lib` with `tagger`, a few thousand vectors at a
    /// time on every core (the home streams them; they are never all held).
    pub fn build(lib: &Library, tagger: &Tagger) -> Result<TagTable> {
        if lib.dim() != 0 && lib.dim() != tagger.dim() {
            return Err(Error::InvalidArgument(format!(
                "a vocabulary of dimension {} for a library of dimension {}",
                tagger.dim(),
                lib.dim()
            )));
        }
        const BATCH: usize = 4096;
        let mut tags = HashMap::new();
        let mut images = 0usize;
        let mut ids: Vec<ImageId> = Vec::with_capacity(BATCH);
        let mut flat: Vec<f32> = Vec::with_capacity(BATCH * tagger.dim());
        let flush = |ids: &mut Vec<ImageId>,
                     flat: &mut Vec<f32>,
                     tags: &mut HashMap<ImageId, Vec<u16>>| {
            use rayon::prelude::*;
            let found: Vec<(ImageId, Vec<u16>)> = ids
                .par_iter()
                .zip(flat.par_chunks(tagger.dim()))
                .filter_map(|(&id, v)| {
                    let t: Vec<u16> = tagger.tags(v).iter().map(|t| t.category as u16).collect();
                    (!t.is_empty()).then_some((id, t))
                })
                .collect();
            tags.extend(found);
            ids.clear();
            flat.clear();
        };
        lib.for_each(true, |item| {
            let Some(v) = item.vector else { return };
            if v.len() != tagger.dim() {
                return;
            }
            images += 1;
            ids.push(item.id);
            flat.extend_from_slice(v);
            if ids.len() == BATCH {
                flush(&mut ids, &mut flat, &mut tags);
            }
        })?;
        flush(&mut ids, &mut flat, &mut tags);
        Ok(TagTable {
            names: tagger.names().to_vec(),
            tags,
            images,
        })
    }

    /// Images looked at.
    pub fn images(&self) -> usize {
        self.images
    }

    /// The index of the category with this name or keyword.
    pub fn find(&self, name: &str) -> Option<usize> {
        position(&self.names, name)
    }

    /// An image's tags, as keywords, largest share first.
    pub fn of(&self, id: ImageId) -> Vec<String> {
        self.tags
            .get(&id)
            .map(|t| {
                t.iter()
                    .map(|&c| keyword(&self.names[c as usize]))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The images carrying category `category`.
    pub fn with(&self, category: usize) -> HashSet<ImageId> {
        self.tags
            .iter()
            .filter(|(_, t)| t.contains(&(category as u16)))
            .map(|(&id, _)| id)
            .collect()
    }

    /// (category, images carrying it) over the images `counted` accepts,
    /// most first, ties by name; categories no such image carries are left
    /// out.
    pub fn facets(&self, counted: impl Fn(ImageId) -> bool) -> Vec<(String, usize)> {
        let mut counts = vec![0usize; self.names.len()];
        for (&id, t) in &self.tags {
            if counted(id) {
                for &c in t {
                    counts[c as usize] += 1;
                }
            }
        }
        ranked(&self.names, counts)
    }
}

/// Where encoded vocabularies are kept between runs: the user's cache folder
/// (`~/.cache/scry/tags` on Linux), else the temporary folder.
pub fn default_cache_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("scry")
        .join("tags")
}

/// A library's tagger and tag table, kept between searches: the vocabulary is
/// encoded once per model and vocabulary (and read back from
/// [`default_cache_dir`] by later processes), the table rebuilt only when the
/// images change.
pub struct TagCache {
    dir: PathBuf,
    state: std::sync::Mutex<Option<Cached>>,
}

struct Cached {
    model: String,
    vocabulary: Vec<String>,
    tagger: Arc<Tagger>,
    table: Option<(u64, Arc<TagTable>)>,
}

impl Default for TagCache {
    fn default() -> Self {
        TagCache::new(default_cache_dir())
    }
}

impl TagCache {
    /// A cache whose encoded vocabularies live in `dir`.
    pub fn new(dir: PathBuf) -> TagCache {
        TagCache {
            dir,
            state: Default::default(),
        }
    }

    /// The library's tagger: the built-in vocabulary and the library's own
    /// categories, encoded with `model` (`progress` hears of the categories
    /// done when it has to be encoded).
    pub fn tagger(
        &self,
        lib: &Library,
        model: &ClipModel,
        progress: impl FnMut(usize),
    ) -> Result<Arc<Tagger>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.current(&mut state, lib, model, progress)
            .map(|c| c.tagger.clone())
    }

    /// The library's tag table as its images are now, and its tagger.
    pub fn table(
        &self,
        lib: &Library,
        model: &ClipModel,
        progress: impl FnMut(usize),
    ) -> Result<(Arc<Tagger>, Arc<TagTable>)> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let generation = lib.generation()?;
        let cached = self.current(&mut state, lib, model, progress)?;
        if let Some((g, table)) = &cached.table {
            if *g == generation {
                return Ok((cached.tagger.clone(), table.clone()));
            }
        }
        let table = Arc::new(TagTable::build(lib, &cached.tagger)?);
        cached.table = Some((generation, table.clone()));
        Ok((cached.tagger.clone(), table))
    }

    fn current<'s>(
        &self,
        state: &'s mut Option<Cached>,
        lib: &Library,
        model: &ClipModel,
        progress: impl FnMut(usize),
    ) -> Result<&'s mut Cached> {
        let vocabulary = vocabulary(&lib.categories()?);
        let fresh = state
            .as_ref()
            .is_some_and(|c| c.model == model.id() && c.vocabulary == vocabulary);
        if !fresh {
            let tagger = Tagger::encode_cached(model, &vocabulary, &self.dir, progress)?;
            *state = Some(Cached {
                model: model.id().to_string(),
                vocabulary,
                tagger: Arc::new(tagger),
                table: None,
            });
        }
        Ok(state.as_mut().expect("set above"))
    }
}

/// `n` vectors of `dim` floats, little-endian, as [`write_cache`] left them;
/// `None` for a missing file or one of another size.
fn read_cache(file: &std::path::Path, n: usize, dim: usize) -> Option<Vec<Vec<f32>>> {
    let bytes = std::fs::read(file).ok()?;
    if bytes.len() != n * dim * 4 || n == 0 {
        return None;
    }
    let floats: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if floats.iter().any(|x| !x.is_finite()) {
        return None;
    }
    Some(floats.chunks(dim).map(<[f32]>::to_vec).collect())
}

/// Writes the vectors whole or not at all (a temporary file renamed over).
fn write_cache(file: &std::path::Path, floats: &[f32]) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let bytes: Vec<u8> = floats.iter().flat_map(|x| x.to_le_bytes()).collect();
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::fs::write(tmp.path(), bytes)?;
    tmp.persist(file).map_err(|e| e.error)?;
    Ok(())
}

/// The vocabulary: the built-in categories and the user's own, without
/// repeats (by keyword), in that order.
pub fn vocabulary(extra: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    VOCABULARY
        .iter()
        .map(|s| s.to_string())
        .chain(extra.iter().cloned())
        .filter(|n| seen.insert(keyword(n)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIM: usize = 512;

    /// Category `i`'s vector: axis `i`, so cosines are exactly what a test
    /// builds.
    fn axis(i: usize) -> Vec<f32> {
        let mut v = vec![0.0; DIM];
        v[i] = 1.0;
        v
    }

    /// A unit vector with deterministic pseudo-random values on the axes from
    /// 400 on: orthogonal to every category, like what a photo shows beyond
    /// its tags.
    fn noise(seed: u64) -> Vec<f32> {
        let mut s = seed | 1;
        normalize(
            (0..DIM)
                .map(|i| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    if i < 400 {
                        0.0
                    } else {
                        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                    }
                })
                .collect(),
        )
    }

    fn mix(parts: &[(&[f32], f32)]) -> Vec<f32> {
        let mut v = vec![0.0; DIM];
        for (p, w) in parts {
            for (x, y) in v.iter_mut().zip(p.iter()) {
                *x += w * y;
            }
        }
        normalize(v)
    }

    fn tagger(n: usize) -> Tagger {
        let names = (0..n).map(|i| format!("category {i}")).collect();
        Tagger::from_vectors(names, (0..n).map(axis).collect()).unwrap()
    }

    #[test]
    fn the_ensemble_is_the_normalised_mean_of_normalised_embeddings() {
        let e = ensemble(&[vec![2.0, 0.0, 0.0], vec![0.0, 0.5, 0.0]]);
        let h = std::f32::consts::FRAC_1_SQRT_2;
        for (a, b) in e.iter().zip([h, h, 0.0]) {
            assert!((a - b).abs() < 1e-6, "{e:?}");
        }
        // A template's length does not weigh: only its direction counts.
        assert_eq!(
            ensemble(&[vec![1.0, 1.0], vec![3.0, 0.0]]),
            ensemble(&[vec![5.0, 5.0], vec![0.1, 0.0]])
        );
    }

    #[test]
    fn an_image_is_tagged_with_what_it_shows_and_nothing_else() {
        let t = tagger(200);
        let n = noise(99);
        // Cosine 0.3 with what the photo shows, as CLIP gives a matching
        // caption; 0 with the rest.
        let dog = mix(&[(&axis(3), 0.3), (&n, 0.95)]);
        let tags = t.tags(&dog);
        assert_eq!(tags.len(), 1, "{tags:?}");
        assert_eq!(tags[0].category, 3);
        assert!(tags[0].share > 0.99, "{tags:?}");
        // Two things in one photo, 0.02 of cosine apart: both, the stronger
        // first (e^-2 of its weight is still a clear share).
        let both = mix(&[(&axis(3), 0.3), (&axis(10), 0.28), (&n, 0.9)]);
        let tags = t.tags(&both);
        let order: Vec<usize> = tags.iter().map(|t| t.category).collect();
        assert_eq!(order, [3, 10], "{tags:?}");
        assert!(tags[1].share > DEFAULT_MIN_SHARE && tags[1].share < 0.2);
        // 0.05 apart: the weaker one is under 1 % and no tag.
        let apart = mix(&[(&axis(3), 0.3), (&axis(10), 0.25), (&n, 0.9)]);
        assert_eq!(t.tags(&apart).len(), 1);
        // Nothing stands out: shares are even, and no tag.
        let shares = t.shares(&n);
        assert!((shares.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        assert!(shares.iter().all(|s| (s - 1.0 / 200.0).abs() < 1e-5));
        assert!(t.tags(&n).is_empty());
        // Many things at once: at most MAX_TAGS.
        let parts: Vec<Vec<f32>> = (0..8).map(axis).collect();
        let mut weighted: Vec<(&[f32], f32)> = parts.iter().map(|p| (&p[..], 0.3)).collect();
        weighted.push((&n, 0.5));
        let tags = t.with_min_share(0.01).unwrap().tags(&mix(&weighted));
        assert_eq!(tags.len(), MAX_TAGS);
    }

    #[test]
    fn a_new_category_retags_stored_vectors_without_re_embedding_them() {
        let t = tagger(50);
        let photo = mix(&[(&axis(0), 0.2), (&axis(60), 0.32), (&noise(5), 0.9)]);
        let tags = t.tags(&photo);
        assert_eq!(tags.len(), 1);
        assert_eq!(t.names()[tags[0].category], "category 0");
        let mut names = t.names().to_vec();
        let mut vectors: Vec<Vec<f32>> = (0..50).map(axis).collect();
        names.push("kayak".into());
        vectors.push(axis(60));
        let wider = Tagger::from_vectors(names, vectors).unwrap();
        let tags = wider.tags(&photo);
        assert_eq!(wider.names()[tags[0].category], "kayak");
    }

    #[test]
    fn facets_count_each_tag_once_an_image_most_first() {
        let t = tagger(20);
        let n = noise(42);
        let mut images = Vec::new();
        for _ in 0..3 {
            images.push(mix(&[(&axis(5), 0.35), (&n, 0.9)]));
        }
        images.push(mix(&[(&axis(2), 0.35), (&n, 0.9)]));
        images.push(mix(&[(&axis(2), 0.3), (&axis(5), 0.3), (&n, 0.9)]));
        images.push(n.clone());
        let f = t.facets(images.iter().map(Vec::as_slice));
        assert_eq!(
            f,
            [("category 5".to_string(), 4), ("category 2".to_string(), 2)]
        );
    }

    #[test]
    fn vocabularies_and_names_are_checked() {
        let v = vocabulary(&["Dog".into(), "hot  air balloon".into(), "kayak".into()]);
        assert_eq!(v.len(), VOCABULARY.len() + 1, "repeats are dropped");
        assert_eq!(v.last().unwrap(), "kayak");
        let mut keys: Vec<String> = VOCABULARY.iter().map(|c| keyword(c)).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(
            keys.len(),
            VOCABULARY.len(),
            "the built-in tags are distinct"
        );
        assert!(VOCABULARY.len() >= 300, "{}", VOCABULARY.len());
        assert!(VOCABULARY.iter().all(|c| check_category(c).is_ok()));
        assert_eq!(keyword("Hot air  Balloon"), "hot-air-balloon");
        assert_eq!(check_category("  teddy   bear ").unwrap(), "teddy bear");
        assert!(check_category("").is_err());
        assert!(check_category("a/b").is_err());
        assert!(
            Tagger::from_vectors(vec!["dog".into(), "Dog".into()], vec![axis(0), axis(1)]).is_err()
        );
        assert!(Tagger::from_vectors(vec!["dog".into()], vec![]).is_err());
        let t = tagger(3);
        assert_eq!(t.find("Category 2"), Some(2));
        assert!(t.clone().with_min_share(0.0).is_err());
        assert!(t.with_min_share(0.5).is_ok());
    }
}
