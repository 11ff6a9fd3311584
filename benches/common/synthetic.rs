//! Synthetic photos' embeddings, the same in every run and every process:
//! 512-d unit vectors in clusters (vector `i` is near centre `i % centres`),
//! queries drawn like the data. Shared by `indexer/benches/scale.rs` and
//! `examples/ann_recall.rs`, so their recall figures are about the same data.

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
