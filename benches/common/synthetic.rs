//! Synthetic photos' embeddings, the same in every run and every process:
//! 512-d unit vectors in clusters (vector `i` is near centre `i % centres`),
//! queries drawn like the data, and records like a photo's (dated folders of 8
//! people, phones and cameras). Shared by `indexer/benches/scale.rs` and
//! `examples/ann_recall.rs`, so their recall figures are about the same data,
//! and by `examples/synthetic_library.rs`.
#![allow(dead_code)] // each includer uses a part

/// xorshift from a seed: vector `i` is the same in every phase, so nothing
/// holds all of them in memory.
pub fn noise(seed: u64) -> impl FnMut() -> f32 {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % 2000) as f32 / 1000.0 - 1.0
    }
}

/// Cluster centre `c` (not normalised).
pub fn centre(c: usize, dim: usize) -> Vec<f32> {
    let mut n = noise(1_000_000_007 + c as u64);
    (0..dim).map(|_| n()).collect()
}

/// Vector `i`: its centre plus noise, normalised.
pub fn vector(i: usize, centres: &[Vec<f32>]) -> Vec<f32> {
    let mut n = noise(i as u64 + 1);
    scry::model::normalize(
        centres[i % centres.len()]
            .iter()
            .map(|c| c + 0.8 * n())
            .collect(),
    )
}

/// Query `q`: near a centre, like the data.
pub fn query(q: usize, centres: &[Vec<f32>]) -> Vec<f32> {
    let mut n = noise(u64::MAX / 2 + q as u64);
    scry::model::normalize(
        centres[(q * 7) % centres.len()]
            .iter()
            .map(|c| c + 0.8 * n())
            .collect(),
    )
}

pub const CAMERAS: [&str; 6] = [
    "Apple iPhone 13",
    "Apple iPhone 15 Pro",
    "Canon EOS R6",
    "SONY ILCE-7M3",
    "samsung SM-S911B",
    "Google Pixel 8",
];

/// A photo's record: a dated folder of one of 8 people, a phone or camera name.
pub fn record(i: usize) -> scry::store::ImageRecord {
    let day = (i / 40) % 3650;
    let year = 2016 + day / 365;
    let taken = 1_451_606_400 + day as i64 * 86_400 + (i % 40) as i64 * 600;
    scry::store::ImageRecord {
        path: format!(
            "/srv/photos/user{}/{year}/{year}-{:02}-{:02}/IMG_{:06}.{}",
            i % 8,
            1 + (day % 365) / 31,
            1 + day % 28,
            i,
            if i.is_multiple_of(5) { "heic" } else { "jpg" }
        )
        .into_bytes(),
        size: 2_000_000 + (i as u64 * 7919) % 3_000_000,
        mtime_ns: taken * 1_000_000_000,
        hash: *blake3::hash(&(i as u64).to_le_bytes()).as_bytes(),
        width: 4032,
        height: 3024,
        format: if i.is_multiple_of(5) { "heic" } else { "jpeg" }.into(),
        taken: Some(taken),
        camera: Some(CAMERAS[i % CAMERAS.len()].into()),
        indexed_at: 1_700_000_000,
        gps: None,
        place: None,
        text: None,
        video: None,
    }
}

/// Images `range` (vector, record, no thumbnail), made in parallel.
pub fn images(range: std::ops::Range<usize>, centres: &[Vec<f32>]) -> Vec<scry::store::NewImage> {
    use rayon::prelude::*;
    range
        .into_par_iter()
        .map(|i| scry::store::NewImage {
            record: record(i),
            vector: vector(i, centres),
            thumbnail: Vec::new(),
            phash: i as u64,
            frames: Vec::new(),
        })
        .collect()
}
