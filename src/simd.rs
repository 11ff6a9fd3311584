//! Loops written so the compiler vectorises them (16 independent lanes). They are
//! `inline(always)` so that each caller compiled for AVX2 or AVX-512 (with
//! `multiversion`) gets them in its own instruction set.

/// Dot product of two equally long slices: `f32`s with `f32`s, or with `i8`
/// codes (the ANN walk's quantised vectors), widened to `f32` lane by lane.
#[inline(always)]
pub(crate) fn dot16<T: Copy>(a: &[f32], b: &[T]) -> f32
where
    f32: From<T>,
{
    let mut acc = [0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * f32::from(*y))
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..16 {
            acc[l] += x[l] * f32::from(y[l]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Sum of `f(x)` over a slice.
#[inline(always)]
pub(crate) fn sum16(x: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0f32; 16];
    let chunks = x.chunks_exact(16);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += f(*v);
        }
    }
    acc.iter().sum::<f32>() + rest.iter().map(|v| f(*v)).sum::<f32>()
}
