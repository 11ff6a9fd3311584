//! Queries: one model for the CLI, the API and the UI.
//!
//! A query is any mix of text, images (a file or uploaded bytes) and indexed
//! images ("more like this"), each with a weight and a sign, in rclip's spirit:
//! `"2:golden retriever" + ./pool.jpg - water`. The query vector is the weighted
//! sum of the normalised embeddings, normalised again.
//!
//! Filters (folder, dates, camera, format, size) are applied inside the search, so
//! a filtered query still returns k results; a selective filter is served by an
//! exact scan of the allowed images, which is faster than a filtered graph walk.
//! Keyword hits (file names, folders, camera) are fused with the semantic ranking
//! by reciprocal-rank fusion, so `IMG_2041` or a folder name finds what a person
//! expects; a query that matches no keyword is purely semantic. Every hit carries
//! its cosine score.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use std::collections::HashMap;

use crate::ann::{dot, Scored};
use crate::error::{Error, Result};
use crate::home::Scope;
use crate::library::Library;
use crate::model::{normalize, ClipModel, Embedding};
use crate::store::{ImageId, ImageRecord, RecordFields};

pub mod place;
pub mod when;

/// A typed query once its place and dates are read: what the CLI and the API
/// search.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    /// The text to search (CLIP and keywords).
    pub text: String,
    /// Capture-date bounds, seconds since the epoch ([`when::read`]).
    pub after: Option<i64>,
    pub before: Option<i64>,
    /// Where: the place given, else one typed (`place:`, "in CITY":
    /// [`place::understand`]).
    pub place: Option<crate::places::Found>,
    /// Every understood phrase, place first, for the person to undo.
    pub chips: Vec<when::Chip>,
    /// `text:"…"`: only images whose text holds these words in a row
    /// ([`Filters::text`]).
    pub in_text: Option<Vec<String>>,
    /// `tag:NAME`s typed: only images carrying every one ([`Filters::tags`]).
    pub tags: Vec<String>,
}

/// Takes every `tag:NAME` out of a typed query (`tag:dog`,
/// `tag:hot-air-balloon`): the rest of the text and the tags' keywords
/// ([`crate::tags::keyword`]), without repeats.
pub fn take_tags(query: &str) -> Result<(String, Vec<String>)> {
    let mut tags: Vec<String> = Vec::new();
    let mut rest: Vec<&str> = Vec::new();
    for w in query.split_whitespace() {
        match w.strip_prefix("tag:") {
            Some(name) => {
                let k = crate::tags::keyword(name);
                if k.is_empty() || crate::tags::check_category(&k).is_err() {
                    return Err(Error::InvalidArgument(format!(
                        "{w:?}: a tag is a category's keyword, as in tag:dog or tag:hot-air-balloon (scry tags lists them)"
                    )));
                }
                if !tags.contains(&k) {
                    tags.push(k);
                }
            }
            None => rest.push(w),
        }
    }
    if tags.is_empty() {
        return Ok((query.to_string(), tags));
    }
    Ok((rest.join(" "), tags))
}

/// Takes `text:WORD` or `text:"A PHRASE"` out of a typed query: the rest and
/// the phrase's words ([`crate::keyword::tokens`]).
pub fn take_text(query: &str) -> Result<(String, Option<Vec<String>>)> {
    let Some((value, at, end)) = place::token_value(query, "text:")? else {
        return Ok((query.to_string(), None));
    };
    let words = crate::keyword::tokens(&value);
    if words.is_empty() {
        return Err(Error::InvalidArgument(
            "text: needs words to find in images, as in text:invoice or text:\"gate B12\"".into(),
        ));
    }
    let rest = when::tidy(query, &[(at, end, None)]);
    if place::token_value(&rest, "text:")?.is_some() {
        return Err(Error::InvalidArgument(
            "one text: at a time: put the words in one phrase, as in text:\"gate B12\"".into(),
        ));
    }
    Ok((rest, Some(words)))
}

/// What a caller gives beside the typed text: explicit date bounds (seconds
/// since the epoch) and an explicit place (`--near`, `near=`).
#[derive(Debug, Clone, Default)]
pub struct Given {
    pub after: Option<i64>,
    pub before: Option<i64>,
    pub near: Option<crate::places::Found>,
}

/// Reads the place, then the dates, out of `query` (`keep` phrases stay text;
/// `literal` reads neither, except an explicit `place:`), and joins them with
/// what the caller `given`: the dates narrow each other; a place typed and a
/// place given are refused together. A query left with no text lists the
/// photos of that place or time: its text becomes "a photo", unless
/// `has_images` (example images carry it).
pub fn read(
    query: &str,
    today: i64,
    keep: &[String],
    literal: bool,
    has_images: bool,
    given: Given,
) -> Result<Read> {
    // `text:"…"` first: its words are never a place or a date. Alone, it is
    // also what is searched (CLIP reads some text too, and the keyword index
    // ranks the images holding it).
    let (rest, in_text) = take_text(query)?;
    // Tags next: `tag:march` is a category, not a month.
    let (rest, tags) = take_tags(&rest)?;
    let query = rest.as_str();
    // The phrase stands in for "a photo" when nothing else is left, and a tag
    // for itself (its category's vector ranks its images).
    let has_images_or_text = has_images || in_text.is_some() || !tags.is_empty();
    let typed = place::understand(query, keep, literal)?;
    if let (Some(t), Some(g)) = (&typed.found, &given.near) {
        return Err(Error::InvalidArgument(format!(
            "two places: {} given and {:?} typed in the query; give one (or keep the phrase)",
            g.label, t.label
        )));
    }
    let place = given.near.or(typed.found);
    let dates = when::read(
        &typed.rest,
        today,
        keep,
        literal,
        has_images_or_text,
        given.after,
        given.before,
    );
    let mut text = dates.text;
    if text.trim().is_empty() && place.is_some() && !has_images_or_text {
        text = "a photo".to_string();
    }
    if text.trim().is_empty() && !has_images {
        if let Some(words) = &in_text {
            text = words.join(" ");
        }
    }
    let mut chips = typed.chips;
    chips.extend(dates.chips);
    Ok(Read {
        text,
        after: dates.after,
        before: dates.before,
        place,
        chips,
        in_text,
        tags,
    })
}

/// One part of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    Text(String),
    ImageFile(PathBuf),
    ImageBytes(Vec<u8>),
    /// An indexed image, by catalog id ("more like this").
    Like(ImageId),
    /// A video's frame nearest this many seconds (`like:ID@SECONDS`: more like
    /// this moment of it).
    LikeFrame(ImageId, f64),
}

/// A term with its weight (negative: "less like this").
#[derive(Debug, Clone, PartialEq)]
pub struct Weighted {
    pub term: Term,
    pub weight: f32,
}

/// Narrowing conditions, all optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    /// Only images under this folder (whole path components).
    pub folder: Option<PathBuf>,
    /// Capture date (EXIF, else modification time) on or after, seconds since epoch.
    pub after: Option<i64>,
    /// Capture date strictly before, seconds since epoch.
    pub before: Option<i64>,
    /// Camera make/model contains this (case-insensitive).
    pub camera: Option<String>,
    /// Format name ("jpeg", "png", …).
    pub format: Option<String>,
    /// The image's shorter side is at least this many pixels.
    pub min_size: Option<u32>,
    /// Only members of this smart album ([`crate::albums`]).
    pub album: Option<String>,
    /// Only images carrying every one of these auto-tags (keywords:
    /// [`crate::tags::keyword`]); resolved, like the album, to the images
    /// that carry them before the search.
    pub tags: Vec<String>,
    /// Only photos taken here: near a place, or in a country or region
    /// ([`crate::places`]); photos without a position never match.
    pub place: Option<crate::places::Where>,
    /// Only images whose text ([`crate::ocr`]) holds these words in a row: the
    /// words of `text:"gate B12"` as the keyword index splits them.
    pub text: Option<Vec<String>>,
    /// Only images under one of these folders: what the person searching may
    /// see ([`crate::access::Visibility`]); none when empty.
    pub within: Option<Vec<PathBuf>>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        *self == Filters::default()
    }

    /// Whether a record passes.
    pub fn accepts(&self, rec: &impl RecordFields) -> bool {
        if let Some(within) = &self.within {
            if !rec.lies_under_any(within) {
                return false;
            }
        }
        if let Some(folder) = &self.folder {
            if !rec.lies_under(folder) {
                return false;
            }
        }
        let date = rec.when();
        if self.after.is_some_and(|a| date < a) || self.before.is_some_and(|b| date >= b) {
            return false;
        }
        if let Some(c) = &self.camera {
            let c = c.to_lowercase();
            if !rec
                .camera_name()
                .is_some_and(|rc| rc.to_lowercase().contains(&c))
            {
                return false;
            }
        }
        if self
            .format
            .as_ref()
            .is_some_and(|f| !f.eq_ignore_ascii_case(rec.format_name()))
        {
            return false;
        }
        if self.min_size.is_some_and(|m| rec.short_side() < m) {
            return false;
        }
        if let Some(w) = &self.place {
            if !w.contains_at(rec.position(), rec.country_region()) {
                return false;
            }
        }
        if let Some(words) = &self.text {
            if !rec
                .picture_text()
                .is_some_and(|t| crate::ocr::contains_phrase(t, words))
            {
                return false;
            }
        }
        true
    }
}

/// Takes `album:NAME` out of a typed query: the rest of the text and the album
/// named, if any (the last one wins).
pub fn take_album(query: &str) -> (String, Option<String>) {
    let mut album = None;
    let rest: Vec<&str> = query
        .split_whitespace()
        .filter(|w| match w.strip_prefix("album:") {
            Some(name) if !name.is_empty() => {
                album = Some(name.to_string());
                false
            }
            _ => true,
        })
        .collect();
    (rest.join(" "), album)
}

/// A whole search request.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    pub terms: Vec<Weighted>,
    pub filters: Filters,
    pub k: usize,
    pub offset: usize,
    /// Drop hits below a threshold that adapts to this query's score distribution.
    pub cutoff: bool,
}

/// Largest page size.
pub const MAX_K: usize = 1000;
/// Deepest pagination.
pub const MAX_OFFSET: usize = 100_000;
/// Longest text term, in characters (CLIP reads 77 tokens; the rest is ignored).
pub const MAX_TEXT_CHARS: usize = 2000;

/// A result.
#[derive(Debug, Clone)]
pub struct Hit {
    pub id: ImageId,
    /// Cosine similarity between the query vector and the image (a video's
    /// best frame).
    pub score: f32,
    pub record: ImageRecord,
    /// For a video: when its best frame is, in seconds.
    pub time: Option<f64>,
}

/// A page of results.
#[derive(Debug, Clone)]
pub struct SearchResult {
    pub hits: Vec<Hit>,
    pub has_more: bool,
    /// Where the time went.
    pub timings: Timings,
}

/// The stages of a search, for metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    /// Making the query vector (text and image encoding, or the cache).
    pub encode: std::time::Duration,
    /// The candidate searches (nearest vectors and keywords).
    pub search: std::time::Duration,
    /// Fusion, cosines of keyword-only candidates, cutoff and the page's records.
    pub fuse: std::time::Duration,
}

/// Parses the query language: terms joined by ` + ` or ` - `, each optionally
/// weighted (`2:term`) and quoted (`"a b"`). A term that names an existing file is
/// an image; `like:ID` is an indexed image; anything else is text.
pub fn parse_query(input: &str) -> Result<Vec<Weighted>> {
    let mut terms = Vec::new();
    let mut sign = 1.0f32;
    for (token, op) in split_terms(input.trim()) {
        let raw = token.trim();
        if raw.is_empty() {
            if op.is_some() && !terms.is_empty() {
                return Err(Error::InvalidArgument(format!(
                    "empty term in query {input:?}"
                )));
            }
            sign = op.unwrap_or(1.0);
            continue;
        }
        // Quotes may wrap the weight too: "2:golden retriever".
        let raw = raw.trim_matches('"').trim();
        let (weight, body) = match raw.split_once(':') {
            Some((w, rest)) if !w.is_empty() && w.parse::<f32>().is_ok() => {
                (w.parse::<f32>().expect("checked"), rest)
            }
            _ => (1.0, raw),
        };
        if !weight.is_finite() {
            return Err(Error::InvalidArgument(format!(
                "weight {weight} is not a number"
            )));
        }
        let body = body.trim().trim_matches('"').trim();
        let term = if let Some(like) = body.strip_prefix("like:") {
            let (id, at) = match like.split_once('@') {
                Some((id, at)) => (id, Some(at)),
                None => (like, None),
            };
            let id = id.trim().parse().map_err(|_| {
                Error::InvalidArgument(format!("like:{like}: expected an image id (a number)"))
            })?;
            match at {
                None => Term::Like(id),
                Some(at) => Term::LikeFrame(
                    id,
                    at.trim()
                        .parse()
                        .ok()
                        .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                        .ok_or_else(|| {
                            Error::InvalidArgument(format!(
                                "like:{like}: expected a time in seconds after @ (like:42@12.5)"
                            ))
                        })?,
                ),
            }
        } else if looks_like_path(body) && Path::new(body).is_file() {
            Term::ImageFile(PathBuf::from(body))
        } else {
            Term::Text(body.to_string())
        };
        terms.push(Weighted {
            term,
            weight: sign * weight,
        });
        sign = op.unwrap_or(1.0);
    }
    Ok(terms)
}

fn looks_like_path(s: &str) -> bool {
    s.starts_with('/') || s.starts_with("./") || s.starts_with("../") || s.starts_with("~/") || {
        let lower = s.to_ascii_lowercase();
        [
            ".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff",
        ]
        .iter()
        .any(|e| lower.ends_with(e))
    }
}

/// Splits on ` + ` / ` - ` outside quotes; each piece comes with the operator that
/// follows it.
fn split_terms(s: &str) -> Vec<(String, Option<f32>)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    // A leading "-" negates the first term.
    if chars.first() == Some(&'-') && chars.get(1).is_some_and(|c| c.is_whitespace()) {
        out.push((String::new(), Some(-1.0)));
        i = 2;
    }
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            in_quotes = !in_quotes;
        }
        let is_op = !in_quotes
            && (c == '+' || c == '-')
            && i > 0
            && chars[i - 1].is_whitespace()
            && chars.get(i + 1).is_some_and(|n| n.is_whitespace());
        if is_op {
            out.push((
                std::mem::take(&mut cur),
                Some(if c == '+' { 1.0 } else { -1.0 }),
            ));
        } else {
            cur.push(c);
        }
        i += 1;
    }
    out.push((cur, None));
    out
}

/// Cache of text embeddings: people retype the same queries, and as-you-type
/// search sends every prefix.
pub struct TextCache {
    cache: Mutex<lru::LruCache<String, Embedding>>,
    hits: std::sync::atomic::AtomicU64,
    misses: std::sync::atomic::AtomicU64,
    /// The tag vocabulary as the model encoded it, and the library's tags
    /// (`tag:NAME`, facets).
    pub tags: crate::tags::TagCache,
}

impl TextCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            cache: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(capacity.max(1)).expect("≥ 1"),
            )),
            hits: Default::default(),
            misses: Default::default(),
            tags: Default::default(),
        }
    }

    /// Lookups answered from the cache, and those that encoded the text.
    pub fn stats(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.hits.load(Relaxed), self.misses.load(Relaxed))
    }

    /// The embedding of `text` by `model`, computed once (keyed by the model too:
    /// a server may switch models while it runs).
    pub fn embed(&self, model: &ClipModel, text: &str) -> Result<Embedding> {
        let key = format!("{}\u{0}{text}", model.id());
        use std::sync::atomic::Ordering::Relaxed;
        if let Some(e) = self.cache.lock().expect("cache lock").get(&key) {
            self.hits.fetch_add(1, Relaxed);
            return Ok(e.clone());
        }
        self.misses.fetch_add(1, Relaxed);
        let e = model.embed_texts(&[text])?.remove(0);
        self.cache.lock().expect("cache lock").put(key, e.clone());
        Ok(e)
    }
}

impl Default for TextCache {
    fn default() -> Self {
        Self::new(1024)
    }
}

/// The query vector: weighted sum of normalised term embeddings, normalised.
pub fn query_vector(
    lib: &Library,
    model: &ClipModel,
    cache: &TextCache,
    terms: &[Weighted],
) -> Result<Option<Embedding>> {
    let mut sum: Option<Vec<f32>> = None;
    for w in terms {
        let e = match &w.term {
            Term::Text(t) => {
                if t.chars().count() > MAX_TEXT_CHARS {
                    return Err(Error::InvalidArgument(format!(
                        "text of {} characters; at most {MAX_TEXT_CHARS}",
                        t.chars().count()
                    )));
                }
                cache.embed(model, t)?
            }
            Term::ImageFile(p) => model
                .embed_pixels(&[model.preprocessor().pixels_from_file(p)?], 1)?
                .remove(0),
            Term::ImageBytes(b) => model
                .embed_pixels(&[model.preprocessor().pixels_from_bytes(b)?], 1)?
                .remove(0),
            Term::Like(id) => lib
                .vector(*id)?
                .ok_or_else(|| Error::NotFound(format!("no image with id {id}")))?,
            Term::LikeFrame(id, at) => lib
                .frame_vector(*id, *at)?
                .ok_or_else(|| Error::NotFound(format!("no image with id {id}")))?,
        };
        let acc = sum.get_or_insert_with(|| vec![0.0; e.len()]);
        if acc.len() != e.len() {
            return Err(Error::InvalidArgument(
                "the model and the library have different dimensions".into(),
            ));
        }
        acc.iter_mut().zip(&e).for_each(|(a, x)| *a += w.weight * x);
    }
    Ok(sum.map(normalize).filter(|v| v.iter().any(|x| *x != 0.0)))
}

/// Reciprocal-rank fusion constant (the usual 60).
const RRF_K: f32 = 60.0;
/// Keyword ranks count more than semantic ones: a file or folder name typed by a
/// person is a strong signal.
const KEYWORD_WEIGHT: f32 = 1.5;

/// Runs a search.
pub fn search(
    lib: &Library,
    model: &ClipModel,
    cache: &TextCache,
    req: &SearchRequest,
) -> Result<SearchResult> {
    if req.k == 0 || req.k > MAX_K {
        return Err(Error::InvalidArgument(format!(
            "k must be between 1 and {MAX_K}, got {}",
            req.k
        )));
    }
    if req.offset > MAX_OFFSET {
        return Err(Error::InvalidArgument(format!(
            "offset must be at most {MAX_OFFSET}"
        )));
    }
    // An image the searcher may not see is no example: the same answer as for
    // an id that does not exist, so no similarity leaks.
    if let Some(within) = &req.filters.within {
        let liked: Vec<ImageId> = req
            .terms
            .iter()
            .filter_map(|w| match w.term {
                Term::Like(id) | Term::LikeFrame(id, _) => Some(id),
                _ => None,
            })
            .collect();
        let seen = lib.ids_under(&liked, within)?;
        if let Some(id) = liked.iter().find(|id| !seen.contains(id)) {
            return Err(Error::NotFound(format!("no image with id {id}")));
        }
    }
    let album = match &req.filters.album {
        Some(name) => Some(lib.album(name)?),
        None => None,
    };
    let started = std::time::Instant::now();
    let mut timings = Timings::default();
    // Each tag: the images carrying it, and its category's vector.
    let mut tagged: Option<std::collections::HashSet<ImageId>> = None;
    let mut tag_vector: Option<Vec<f32>> = None;
    if !req.filters.tags.is_empty() {
        let (tagger, table) = cache.tags.table(lib, model, |_| {})?;
        for t in &req.filters.tags {
            let c = table.find(t).ok_or_else(|| {
                Error::NotFound(format!(
                    "no tag {t:?} in this library's vocabulary; `scry tags` lists the tags, \
                     `scry tags --add NAME` adds a category"
                ))
            })?;
            let with = table.with(c);
            tagged = Some(match tagged {
                Some(so_far) => so_far.intersection(&with).copied().collect(),
                None => with,
            });
            tag_vector.get_or_insert_with(|| tagger.vector(c).to_vec());
        }
    }
    // `album:NAME` or `tag:NAME` alone lists the album or the tag, best match
    // first.
    let listed = if req.terms.is_empty() {
        album.as_ref().map(|a| a.vector.clone()).or(tag_vector)
    } else {
        None
    };
    let qv = match query_vector(lib, model, cache, &req.terms)?.or(listed) {
        Some(qv) => qv,
        None => {
            return Ok(SearchResult {
                hits: Vec::new(),
                has_more: false,
                timings,
            })
        }
    };
    let members: Option<std::collections::HashSet<ImageId>> = match &album {
        Some(a) => Some(
            crate::albums::members(lib, a, a.threshold)?
                .into_iter()
                .map(|(id, _)| id)
                .collect(),
        ),
        None => None,
    };
    let members = match (members, tagged) {
        (Some(a), Some(t)) => Some(a.intersection(&t).copied().collect()),
        (a, t) => a.or(t),
    };
    let want = req.offset + req.k + 1;
    // "More like this" does not return the image itself.
    let liked: Vec<ImageId> = req
        .terms
        .iter()
        .filter_map(|w| match w.term {
            Term::Like(id) | Term::LikeFrame(id, _) if w.weight > 0.0 => Some(id),
            _ => None,
        })
        .collect();
    let scope = Scope {
        filters: &req.filters,
        members: members.as_ref(),
        exclude: &liked,
    };
    // Keyword candidates come from the positive text terms.
    let text: Vec<&str> = req
        .terms
        .iter()
        .filter_map(|w| match &w.term {
            Term::Text(t) if w.weight > 0.0 => Some(t.as_str()),
            _ => None,
        })
        .collect();
    let text = (!text.is_empty()).then(|| text.join(" "));
    // Enough candidates for this page and for fusion.
    let depth = want.max(100);
    timings.encode = started.elapsed();
    let (semantic, keyword) = lib.candidates(&qv, depth, text.as_deref(), &scope)?;
    timings.search = started.elapsed() - timings.encode;
    let mut fused = fuse(&semantic, &keyword);
    // Cosines of every candidate: the semantic ones came with theirs.
    let mut cosine: HashMap<ImageId, f32> = semantic.iter().copied().collect();
    let unscored: Vec<ImageId> = keyword
        .iter()
        .map(|&(id, _)| id)
        .filter(|id| !cosine.contains_key(id))
        .collect();
    for (id, v) in lib.vectors(&unscored)? {
        cosine.insert(id, dot(&qv, &v));
    }
    if req.cutoff {
        let threshold = adaptive_threshold(&semantic);
        fused.retain(|id| {
            keyword.iter().any(|(k, _)| k == id) || cosine.get(id).is_some_and(|&c| c >= threshold)
        });
    }
    let has_more = fused.len() > req.offset + req.k;
    let page: Vec<ImageId> = fused.into_iter().skip(req.offset).take(req.k).collect();
    let records = lib.records(&page)?;
    // A video is shown at its best frame (its frames read in one go).
    let listed: Vec<(ImageId, &ImageRecord)> = records.iter().map(|(id, r)| (*id, r)).collect();
    let best: HashMap<ImageId, (f64, f32)> = lib
        .best_frames(&listed, &qv)?
        .into_iter()
        .map(|(id, t, c)| (id, (t, c)))
        .collect();
    let hits = records
        .into_iter()
        .filter_map(|(id, record)| {
            let score = *cosine.get(&id)?;
            let (time, score) = match best.get(&id) {
                Some(&(t, c)) => (Some(t), c.max(score)),
                None => (None, score),
            };
            Some(Hit {
                id,
                score,
                record,
                time,
            })
        })
        .collect();
    timings.fuse = started.elapsed() - timings.encode - timings.search;
    Ok(SearchResult {
        hits,
        has_more,
        timings,
    })
}

/// Reciprocal-rank fusion of the semantic ranking and the keyword ranking; the
/// semantic ranking alone when no keyword matched. Keyword matches of equal score
/// (file names alike but for a word no one typed) share a rank, so the picture
/// decides between them, not the order the index stored them in.
pub fn fuse(semantic: &[Scored], keyword: &[Scored]) -> Vec<ImageId> {
    if keyword.is_empty() {
        return semantic.iter().map(|&(id, _)| id).collect();
    }
    let mut score: HashMap<ImageId, f32> = HashMap::new();
    for (rank, (id, _)) in semantic.iter().enumerate() {
        *score.entry(*id).or_default() += 1.0 / (RRF_K + rank as f32 + 1.0);
    }
    let mut rank = 0;
    for (i, (id, s)) in keyword.iter().enumerate() {
        if i > 0 && !same_score(*s, keyword[i - 1].1) {
            rank = i;
        }
        *score.entry(*id).or_default() += KEYWORD_WEIGHT / (RRF_K + rank as f32 + 1.0);
    }
    let mut v: Vec<(ImageId, f32)> = score.into_iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v.into_iter().map(|(id, _)| id).collect()
}

fn same_score(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-5 * a.abs().max(b.abs())
}

/// A relevance threshold that adapts to the query: CLIP's absolute cosines differ
/// between queries (0.2 can be a great match for one text and noise for another),
/// so the cut is placed relative to this query's own score distribution: one
/// standard deviation above the mean of its top candidates, never above the best.
pub fn adaptive_threshold(scored: &[(ImageId, f32)]) -> f32 {
    if scored.len() < 5 {
        return f32::MIN;
    }
    let n = scored.len() as f32;
    let mean = scored.iter().map(|s| s.1).sum::<f32>() / n;
    let var = scored.iter().map(|s| (s.1 - mean).powi(2)).sum::<f32>() / n;
    (mean + var.sqrt()).min(scored[0].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_phrases_are_taken_out_of_the_query() {
        let w = |s: &str| crate::keyword::tokens(s);
        let (rest, words) = take_text("receipt text:\"Gate B12\" 2019").unwrap();
        assert_eq!(
            (rest.as_str(), words),
            ("receipt 2019", Some(w("gate b12")))
        );
        let (rest, words) = take_text("text:invoice").unwrap();
        assert_eq!((rest.as_str(), words), ("", Some(w("invoice"))));
        // Inside quotes or a word, it is text.
        for q in ["\"text:invoice\"", "context:x", "plain words"] {
            assert_eq!(take_text(q).unwrap(), (q.to_string(), None), "{q}");
        }
        // The curly quotes of phone keyboards.
        let (rest, words) = take_text("text:“Gate B12” boarding").unwrap();
        assert_eq!((rest.as_str(), words), ("boarding", Some(w("gate b12"))));
        assert!(take_text("text:“gate").is_err());
        assert!(take_text("text:\"gate").is_err());
        assert!(take_text("text:\"--\"").is_err());
        assert!(take_text("text:a text:b").is_err());
        // Words of many-byte characters never split a character (a prefix of
        // five bytes ends inside them).
        for q in ["東京 タワー", "Straße größe", "déjà vu", "🙂🙂 text:ok"] {
            let (rest, _) = take_text(q).unwrap();
            assert!(!rest.contains("text:"), "{q}");
        }
        // Read as a whole: alone, the phrase is also what is searched.
        let r = read(
            "text:\"due on Monday\"",
            0,
            &[],
            false,
            false,
            Given::default(),
        )
        .unwrap();
        assert_eq!(r.text, "due on monday");
        assert_eq!(r.in_text, Some(w("due on monday")));
        assert!(r.after.is_none(), "the phrase's words are never a date");
        let r = read(
            "text:invoice 2019",
            20_000,
            &[],
            false,
            false,
            Given::default(),
        )
        .unwrap();
        assert!(r.after.is_some(), "the rest is read for dates");
        assert_eq!(r.text, "invoice");
    }

    #[test]
    fn parses_the_algebra() {
        let t = parse_query(r#""2:golden retriever" + like:7 - water"#).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(
            t[0],
            Weighted {
                term: Term::Text("golden retriever".into()),
                weight: 2.0
            }
        );
        assert_eq!(
            t[1],
            Weighted {
                term: Term::Like(7),
                weight: 1.0
            }
        );
        assert_eq!(
            t[2],
            Weighted {
                term: Term::Text("water".into()),
                weight: -1.0
            }
        );
        // Hyphens inside words are text, not operators.
        let t = parse_query("black-and-white photo").unwrap();
        assert_eq!(
            t,
            [Weighted {
                term: Term::Text("black-and-white photo".into()),
                weight: 1.0
            }]
        );
        assert!(parse_query("like:abc").is_err());
        assert_eq!(
            parse_query("like:7@12.5").unwrap()[0].term,
            Term::LikeFrame(7, 12.5)
        );
        assert!(parse_query("like:7@soon").is_err());
        assert!(parse_query("like:7@-1").is_err());
        assert_eq!(parse_query("   ").unwrap(), []);
        let t = parse_query("- dark").unwrap();
        assert_eq!(t[0].weight, -1.0);
    }

    #[test]
    fn threshold_adapts() {
        let flat: Vec<(ImageId, f32)> = (0..10).map(|i| (i, 0.2)).collect();
        assert!((adaptive_threshold(&flat) - 0.2).abs() < 1e-6);
        let mut peaked: Vec<(ImageId, f32)> = (0..20).map(|i| (i, 0.1)).collect();
        peaked[0].1 = 0.9;
        let t = adaptive_threshold(&peaked);
        assert!(t > 0.1 && t < 0.9, "{t}");
    }
}
