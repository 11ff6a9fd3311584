//! Duplicates, in three tiers that are never mixed:
//!
//! 1. **exact**: the same bytes (content hash);
//! 2. **near**: the same picture re-encoded, resized, lightly cropped or with
//!    other metadata — a strict CLIP cosine *confirmed* by a perceptual hash, so
//!    two different photos of one scene (which CLIP alone finds close) are not
//!    called duplicates;
//! 3. **similar**: bursts and retakes — close in CLIP space *and* taken within a
//!    few minutes of each other (EXIF capture time on both), but not near
//!    duplicates.
//!
//! Nothing here deletes anything: a group names a suggested keeper (largest
//! resolution, then richest EXIF, then oldest) and leaves the choice to a person.

use std::collections::HashMap;

use image::RgbImage;
use serde::Serialize;

use crate::ann::dot;
use crate::error::Result;
use crate::library::Library;
use crate::store::{ImageId, ImageRecord};

/// 64-bit perceptual hash (pHash: the 8×8 lowest DCT frequencies of the grey
/// image, each bit above or below their median):
/// survives re-encoding, resizing, small crops and metadata edits; changes with
/// the content. Computed on a thumbnail-sized image.
pub fn perceptual_hash(rgb: &RgbImage) -> u64 {
    let hasher = image_hasher::HasherConfig::new()
        .hash_size(8, 8)
        .hash_alg(image_hasher::HashAlg::Median)
        .preproc_dct()
        .to_hasher();
    let hash = hasher.hash_image(rgb);
    let mut bytes = [0u8; 8];
    for (b, h) in bytes.iter_mut().zip(hash.as_bytes()) {
        *b = *h;
    }
    u64::from_be_bytes(bytes)
}

/// Differing bits of two perceptual hashes (0 = same picture, ~32 = unrelated).
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// Which tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Exact,
    Near,
    Similar,
}

impl std::str::FromStr for Tier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "exact" => Ok(Tier::Exact),
            "near" => Ok(Tier::Near),
            "similar" => Ok(Tier::Similar),
            other => Err(format!(
                "unknown tier {other:?}: use exact, near or similar"
            )),
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Tier::Exact => "exact",
            Tier::Near => "near",
            Tier::Similar => "similar",
        })
    }
}

/// Thresholds. The defaults are strict: a false "duplicate" costs a person a
/// photo, a missed one only some disk space.
#[derive(Debug, Clone, PartialEq)]
pub struct DupeOptions {
    /// Near: at most this many differing perceptual-hash bits (of 64).
    pub near_max_bits: u32,
    /// Near: CLIP cosine at least this.
    pub near_min_cosine: f32,
    /// Similar: CLIP cosine at least this.
    pub similar_min_cosine: f32,
    /// Similar: capture times at most this many seconds apart.
    pub similar_within_secs: i64,
    /// Neighbours looked at per image.
    pub neighbours: usize,
    /// Only images under these folders (what the viewer may see): groups are
    /// made from them alone, never through an image outside.
    pub within: Option<Vec<std::path::PathBuf>>,
}

impl Default for DupeOptions {
    fn default() -> Self {
        Self {
            near_max_bits: 6,
            near_min_cosine: 0.90,
            similar_min_cosine: 0.85,
            similar_within_secs: 300,
            neighbours: 16,
            within: None,
        }
    }
}

/// One image of a group.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub id: ImageId,
    /// CLIP cosine to the keeper (1 for the keeper).
    pub cosine: f32,
    /// Perceptual-hash bits differing from the keeper's, when both are known.
    pub phash_bits: Option<u32>,
}

/// A group of duplicates: the keeper first.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub tier: Tier,
    pub keeper: ImageId,
    pub members: Vec<Member>,
}

/// Orders candidates for keeping: largest resolution, then richest EXIF, then
/// oldest, then the first indexed.
fn keeper_order(a: (ImageId, &ImageRecord), b: (ImageId, &ImageRecord)) -> std::cmp::Ordering {
    let pixels = |r: &ImageRecord| r.width as u64 * r.height as u64;
    let exif = |r: &ImageRecord| r.taken.is_some() as u8 + r.camera.is_some() as u8;
    pixels(b.1)
        .cmp(&pixels(a.1))
        .then(exif(b.1).cmp(&exif(a.1)))
        .then(a.1.date().cmp(&b.1.date()))
        .then(a.0.cmp(&b.0))
}

/// Union-find over image ids.
#[derive(Default)]
struct Sets {
    parent: HashMap<ImageId, ImageId>,
}

impl Sets {
    fn find(&mut self, x: ImageId) -> ImageId {
        let p = *self.parent.get(&x).unwrap_or(&x);
        if p == x {
            return x;
        }
        let root = self.find(p);
        self.parent.insert(x, root);
        root
    }

    fn union(&mut self, a: ImageId, b: ImageId) {
        self.parent.entry(a).or_insert(a);
        self.parent.entry(b).or_insert(b);
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent.insert(ra.max(rb), ra.min(rb));
        }
    }

    fn groups(mut self) -> Vec<Vec<ImageId>> {
        let ids: Vec<ImageId> = self.parent.keys().copied().collect();
        let mut by_root: HashMap<ImageId, Vec<ImageId>> = HashMap::new();
        for id in ids {
            let r = self.find(id);
            by_root.entry(r).or_default().push(id);
        }
        by_root.into_values().filter(|g| g.len() > 1).collect()
    }
}

/// Everything duplicate finding reads, loaded once from the library.
struct Loaded {
    records: HashMap<ImageId, ImageRecord>,
    vectors: HashMap<ImageId, Vec<f32>>,
    phashes: HashMap<ImageId, u64>,
}

impl Loaded {
    fn meta(&self, id: ImageId) -> Option<&ImageRecord> {
        self.records.get(&id)
    }
}

/// The groups of one tier (or of all three, `None`), largest first.
pub fn find(lib: &Library, tier: Option<Tier>, opts: &DupeOptions) -> Result<Vec<Group>> {
    let want = |t: Tier| tier.is_none_or(|w| w == t);
    let need_vectors = want(Tier::Near) || want(Tier::Similar);
    let mut all = Loaded {
        records: HashMap::new(),
        vectors: HashMap::new(),
        phashes: HashMap::new(),
    };
    let fields = crate::home::Want {
        vectors: need_vectors,
        phash: true,
    };
    lib.for_each_with(fields, |it| {
        if let Some(within) = &opts.within {
            if !it.record.is_under_any(within) {
                return;
            }
        }
        all.records.insert(it.id, it.record.clone());
        if let Some(v) = it.vector {
            all.vectors.insert(it.id, v.to_vec());
        }
        if let Some(h) = it.phash {
            all.phashes.insert(it.id, h);
        }
    })?;
    let all = &all;
    let mut out = Vec::new();
    let cosine = |a: ImageId, b: ImageId| match (all.vectors.get(&a), all.vectors.get(&b)) {
        (Some(x), Some(y)) => dot(x, y),
        _ => 0.0,
    };
    let phash_bits = |a: ImageId, b: ImageId| match (all.phashes.get(&a), all.phashes.get(&b)) {
        (Some(x), Some(y)) => Some(hamming(*x, *y)),
        _ => None,
    };

    // Tier 1: same bytes. Later tiers see each set of copies once, as its keeper.
    let mut by_hash: HashMap<[u8; 32], Vec<ImageId>> = HashMap::new();
    for (&id, rec) in &all.records {
        by_hash.entry(rec.hash).or_default().push(id);
    }
    let mut copy_of: HashMap<ImageId, ImageId> = HashMap::new();
    for ids in by_hash.into_values().filter(|g| g.len() > 1) {
        let g = make_group(all, Tier::Exact, ids, &cosine, &phash_bits);
        for m in &g.members {
            copy_of.insert(m.id, g.keeper);
        }
        if want(Tier::Exact) {
            out.push(g);
        }
    }
    if !need_vectors {
        return Ok(sorted(out));
    }

    // Candidate pairs from the nearest neighbours of every image.
    let mut ids: Vec<ImageId> = all.vectors.keys().copied().collect();
    ids.sort_unstable();
    let floor = opts.near_min_cosine.min(opts.similar_min_cosine);
    let mut pairs: Vec<(ImageId, ImageId, f32)> = Vec::new();
    for chunk in ids.chunks(256) {
        let queries: Vec<&[f32]> = chunk.iter().map(|id| all.vectors[id].as_slice()).collect();
        let found = match &opts.within {
            None => lib.home().nearest_many(&queries, opts.neighbours + 1)?,
            // The neighbours among the visible images only (filtered inside
            // the search, so each image still gets its k).
            Some(within) => {
                let filters = crate::query::Filters {
                    within: Some(within.clone()),
                    ..Default::default()
                };
                let scope = crate::home::Scope {
                    filters: &filters,
                    members: None,
                    exclude: &[],
                };
                queries
                    .iter()
                    .map(|q| lib.nearest(q, opts.neighbours + 1, &scope))
                    .collect::<Result<Vec<_>>>()?
            }
        };
        for (&id, near) in chunk.iter().zip(found) {
            pairs.extend(
                near.into_iter()
                    .filter(|&(other, c)| other > id && c >= floor)
                    .map(|(other, c)| (id, other, c)),
            );
        }
    }
    // Copies collapse onto their keeper (their vectors and hashes are the same).
    let pairs: Vec<(ImageId, ImageId, f32)> = pairs
        .into_iter()
        .map(|(a, b, c)| {
            (
                *copy_of.get(&a).unwrap_or(&a),
                *copy_of.get(&b).unwrap_or(&b),
                c,
            )
        })
        .filter(|(a, b, _)| a != b)
        .collect();
    let meta = |id: ImageId| all.meta(id);
    let same_bytes = |a: ImageId, b: ImageId| matches!((meta(a), meta(b)), (Some(x), Some(y)) if x.hash == y.hash);
    let is_near = |a: ImageId, b: ImageId, c: f32| {
        c >= opts.near_min_cosine
            && !same_bytes(a, b)
            && phash_bits(a, b).is_some_and(|bits| bits <= opts.near_max_bits)
    };

    // Tier 2: CLIP close and the perceptual hash agrees.
    let mut near = Sets::default();
    for &(a, b, c) in &pairs {
        if is_near(a, b, c) {
            near.union(a, b);
        }
    }
    let near_groups: Vec<Group> = near
        .groups()
        .into_iter()
        .map(|g| make_group(all, Tier::Near, g, &cosine, &phash_bits))
        .collect();
    // In tier 3 a near-duplicate group counts once, as its keeper.
    let mut rep: HashMap<ImageId, ImageId> = HashMap::new();
    for g in &near_groups {
        for m in &g.members {
            rep.insert(m.id, g.keeper);
        }
    }
    if want(Tier::Near) {
        out.extend(near_groups);
    }

    // Tier 3: close in CLIP space and in capture time, not the same picture.
    if want(Tier::Similar) {
        let mut similar = Sets::default();
        for &(a, b, c) in &pairs {
            if c < opts.similar_min_cosine || same_bytes(a, b) || is_near(a, b, c) {
                continue;
            }
            // Capture times of the two shots themselves, then their groups.
            let close_in_time = match (meta(a).and_then(|r| r.taken), meta(b).and_then(|r| r.taken))
            {
                (Some(x), Some(y)) => (x - y).abs() <= opts.similar_within_secs,
                _ => false,
            };
            let (a, b) = (*rep.get(&a).unwrap_or(&a), *rep.get(&b).unwrap_or(&b));
            if a == b {
                continue;
            }
            if close_in_time {
                similar.union(a, b);
            }
        }
        for g in similar.groups() {
            out.push(make_group(all, Tier::Similar, g, &cosine, &phash_bits));
        }
    }
    Ok(sorted(out))
}

fn make_group(
    lib: &Loaded,
    tier: Tier,
    mut ids: Vec<ImageId>,
    cosine: &dyn Fn(ImageId, ImageId) -> f32,
    phash_bits: &dyn Fn(ImageId, ImageId) -> Option<u32>,
) -> Group {
    ids.retain(|&id| lib.meta(id).is_some());
    ids.sort_by(|&a, &b| match (lib.meta(a), lib.meta(b)) {
        (Some(x), Some(y)) => keeper_order((a, x), (b, y)),
        _ => a.cmp(&b),
    });
    let keeper = ids.first().copied().unwrap_or_default();
    Group {
        tier,
        keeper,
        members: ids
            .iter()
            .map(|&id| Member {
                id,
                cosine: if id == keeper {
                    1.0
                } else {
                    cosine(keeper, id)
                },
                phash_bits: phash_bits(keeper, id),
            })
            .collect(),
    }
}

/// Tiers in order, then larger groups first, then by keeper id: a stable listing.
fn sorted(mut groups: Vec<Group>) -> Vec<Group> {
    groups.sort_by(|a, b| {
        a.tier
            .cmp(&b.tier)
            .then(b.members.len().cmp(&a.members.len()))
            .then(a.keeper.cmp(&b.keeper))
    });
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perceptual_hash_survives_resizing_and_changes_with_content() {
        let img = RgbImage::from_fn(200, 150, |x, y| {
            image::Rgb([
                (x * 255 / 200) as u8,
                (y * 255 / 150) as u8,
                ((x + y) % 256) as u8,
            ])
        });
        let small = image::imageops::resize(&img, 100, 75, image::imageops::FilterType::Triangle);
        let other = RgbImage::from_fn(200, 150, |x, y| {
            image::Rgb([255 - (y * 255 / 150) as u8, (x * 255 / 200) as u8, 40])
        });
        let (a, b, c) = (
            perceptual_hash(&img),
            perceptual_hash(&small),
            perceptual_hash(&other),
        );
        assert!(hamming(a, b) <= 4, "resized: {}", hamming(a, b));
        assert!(hamming(a, c) > 12, "different: {}", hamming(a, c));
    }

    #[test]
    fn tiers_parse_and_print() {
        for t in [Tier::Exact, Tier::Near, Tier::Similar] {
            assert_eq!(t.to_string().parse::<Tier>().unwrap(), t);
        }
        assert!("dupes"
            .parse::<Tier>()
            .unwrap_err()
            .contains("exact, near or similar"));
    }
}
