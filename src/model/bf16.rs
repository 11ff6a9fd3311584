//! The opt-in bf16 image encoder's matrix product (`--precision bf16`).
//!
//! On CPUs with AVX-512 BF16 (AMD Zen 4 and later, Intel Cooper Lake and Sapphire
//! Rapids and later), `vdpbf16ps` multiplies pairs of bf16 values and adds them
//! into f32 lanes: twice the multiply-adds per instruction of an f32 FMA, and half
//! the bytes of weights to read. Weights are rounded to bf16 once, at load, and
//! packed into panels of 32 output columns; each layer's input is rounded to bf16
//! as it is packed. Sums are accumulated in f32, and everything outside the dense
//! layers (layer norm, attention, softmax, GELU, residuals) stays f32.
//!
//! Two kernels, chosen at run time:
//! - **AMX** (Intel Sapphire Rapids and later: `amx-tile` + `amx-bf16`): the
//!   tile unit's `tdpbf16ps` multiplies a 16×32 bf16 tile by a 32×16 one into
//!   16×16 f32 sums, 8× the multiply-adds of `vdpbf16ps` per instruction. A
//!   32×32 block of the output lives in four tiles; the weight panels below are
//!   already in the tile unit's pair layout, and the input is packed row-major.
//! - **AVX-512 BF16** otherwise: the classic register-blocked kernel, 12 rows ×
//!   32 columns of f32 accumulators (24 of the 32 vector registers), a k-block of
//!   the weight panel sized for the L1 cache, the packed input for the L2.
//!
//! `SCRY_BF16_KERNEL=avx512` keeps AMX off (for comparisons); [`kernel`] says
//! which one runs.

use super::amx::{self, Block, Tiles, TK, TM, TN as NR};

/// Input rows per register block.
const MR: usize = 12;
/// k-pairs per cache block: a 32-column weight block is `KC × 128` bytes (16 KiB).
const KC: usize = 128;

/// The kernel that runs the bf16 matrix products on this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Intel AMX tiles (`tdpbf16ps`).
    Amx,
    /// AVX-512 BF16 (`vdpbf16ps`).
    Avx512,
}

impl Kernel {
    /// The name the benchmarks print.
    pub fn name(self) -> &'static str {
        match self {
            Self::Amx => "AMX-BF16 tiles",
            Self::Avx512 => "AVX-512 BF16",
        }
    }
}

/// The kernel bf16 products use here, or `None` without AVX-512 BF16.
pub(crate) fn kernel() -> Option<Kernel> {
    if !supported() {
        return None;
    }
    Some(if amx_available() {
        Kernel::Amx
    } else {
        Kernel::Avx512
    })
}

/// Whether this process runs bf16 products on AMX tiles: the CPU has them and
/// `SCRY_BF16_KERNEL` does not say `avx512`.
fn amx_available() -> bool {
    supported()
        && amx::has_bf16()
        && !std::env::var("SCRY_BF16_KERNEL").is_ok_and(|k| k == "avx512")
}

/// Whether this CPU runs the bf16 kernel.
pub(crate) fn supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Rounds to the nearest bf16 (ties to even), as the upper 16 bits of an f32.
#[inline(always)]
fn bf16_bits(x: f32) -> u32 {
    let b = x.to_bits();
    if x.is_nan() {
        return (b >> 16) | 0x40;
    }
    (b + 0x7FFF + ((b >> 16) & 1)) >> 16
}

/// The value `x` has in bf16.
#[cfg(test)]
pub(crate) fn round_bf16(x: f32) -> f32 {
    f32::from_bits(bf16_bits(x) << 16)
}

/// Two bf16 values in one 32-bit lane, `lo` first (what `vdpbf16ps` pairs up).
#[inline(always)]
fn pair(lo: f32, hi: f32) -> u32 {
    bf16_bits(lo) | (bf16_bits(hi) << 16)
}

/// A `k × n` weight matrix in bf16, packed for the kernel: panel `j` holds
/// columns `32j..32j+32`, and within it k-pair `p` is 32 lanes of
/// `(w[2p][c], w[2p+1][c])`. Odd `k` and a partial last panel are zero-padded.
pub(crate) struct PackedBf16 {
    k: usize,
    n: usize,
    pairs: usize,
    data: Vec<u32>,
}

impl PackedBf16 {
    /// Packs the weights `w(row, col)` of a `k × n` matrix.
    pub(crate) fn pack(k: usize, n: usize, w: impl Fn(usize, usize) -> f32) -> Self {
        // Whole AMX tiles of k: zero pairs past `k` add nothing (every CLIP layer's
        // k is a multiple of 32 already).
        let pairs = k.div_ceil(2 * TK) * TK;
        let at = |r: usize, c: usize| if r < k { w(r, c) } else { 0.0 };
        let data = amx::pack_panels(pairs, n, |p, c| pair(at(2 * p, c), at(2 * p + 1, c)));
        Self { k, n, pairs, data }
    }

    /// `dst (m×n) = [dst +] a (m×k) · W`, row-major and contiguous. Splits the
    /// columns across threads unless `parallel` is false.
    pub(crate) fn matmul(
        &self,
        m: usize,
        dst: &mut [f32],
        accumulate: bool,
        a: &[f32],
        parallel: bool,
    ) {
        let (k, n) = (self.k, self.n);
        assert!(dst.len() >= m * n && a.len() >= m * k, "matmul bounds");
        assert!(supported(), "bf16 kernel on a CPU without AVX-512 BF16");
        if self.pairs == 0 {
            // An empty sum: the kernel never runs.
            if !accumulate {
                dst[..m * n].fill(0.0);
            }
            return;
        }
        self.matmul_with(
            kernel().expect("checked above"),
            m,
            dst,
            accumulate,
            a,
            parallel,
        );
    }

    /// [`Self::matmul`] on a given kernel (the tests run both).
    fn matmul_with(
        &self,
        kernel: Kernel,
        m: usize,
        dst: &mut [f32],
        accumulate: bool,
        a: &[f32],
        parallel: bool,
    ) {
        let n = self.n;
        let on_tiles = kernel == Kernel::Amx;
        assert!(!on_tiles || amx_available(), "AMX kernel without AMX");
        let packed_a = if on_tiles {
            self.pack_rows(m, a)
        } else {
            self.pack_input(m, a)
        };
        let panels = n.div_ceil(NR);
        #[cfg(target_arch = "x86_64")]
        {
            let dst_ptr = amx::SendPtr(dst.as_mut_ptr());
            amx::over_panels(panels, parallel, |j0, j1| {
                // SAFETY: `supported()` (and for AMX `amx_available()`) was
                // checked; the kernels write only rows < m and columns < n of
                // `dst` (bounds asserted above), and tasks own disjoint column
                // ranges.
                unsafe {
                    if on_tiles {
                        self.amx_panels(m, j0, j1, dst_ptr.get(), accumulate, &packed_a)
                    } else {
                        self.panels(m, j0, j1, dst_ptr.get(), accumulate, &packed_a)
                    }
                }
            });
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (packed_a, panels, accumulate, dst, parallel);
    }

    /// The input rounded to bf16 pairs, row-major for AMX tiles: row `r` is
    /// `pairs` lanes; rows are padded with zeros to whole 32-row blocks.
    fn pack_rows(&self, m: usize, a: &[f32]) -> Vec<u32> {
        let (k, pairs) = (self.k, self.pairs);
        let mut out = vec![0u32; m.div_ceil(TM) * TM * pairs];
        for (row, dst) in a.chunks_exact(k).take(m).zip(out.chunks_exact_mut(pairs)) {
            let (whole, rest) = row.split_at(k - k % 2);
            for (d, two) in dst.iter_mut().zip(whole.chunks_exact(2)) {
                *d = pair(two[0], two[1]);
            }
            if let Some(&lo) = rest.first() {
                dst[k / 2] = pair(lo, 0.0);
            }
        }
        out
    }

    /// Panels `j0..j1` of the product on AMX tiles, all rows.
    ///
    /// # Safety
    /// AMX is available to this process (`amx_available()`); `dst` has `m` rows
    /// of `n` floats; `packed_a` comes from [`Self::pack_rows`].
    #[cfg(target_arch = "x86_64")]
    unsafe fn amx_panels(
        &self,
        m: usize,
        j0: usize,
        j1: usize,
        dst: *mut f32,
        accumulate: bool,
        packed_a: &[u32],
    ) {
        let (pairs, n) = (self.pairs, self.n);
        let rows_padded = m.div_ceil(TM) * TM;
        debug_assert_eq!(packed_a.len(), rows_padded * pairs);
        let mut block = Block::<f32>::new();
        let _tiles = Tiles::configure();
        amx::for_each_block(rows_padded, pairs, j0..j1, |blk, j| {
            let cols = NR.min(n - j * NR);
            let b = self.data.as_ptr().add(j * pairs * NR);
            let a = packed_a.as_ptr().add(blk * pairs);
            amx::block_bf16(pairs, a, b, &mut block);
            let rows = TM.min(m - blk);
            for r in 0..rows {
                let out = std::slice::from_raw_parts_mut(dst.add((blk + r) * n + j * NR), cols);
                let sums = &block.0[r * NR..r * NR + cols];
                if accumulate {
                    out.iter_mut().zip(sums).for_each(|(o, s)| *o += s);
                } else {
                    out.copy_from_slice(sums);
                }
            }
        });
    }

    /// The input rounded to bf16 pairs, in blocks of `MR` rows: block `b`, pair `p`
    /// holds `MR` lanes (rows past `m` are zero).
    fn pack_input(&self, m: usize, a: &[f32]) -> Vec<u32> {
        let (k, pairs) = (self.k, self.pairs);
        let blocks = m.div_ceil(MR);
        let mut out = vec![0u32; blocks * pairs * MR];
        for r in 0..m {
            let row = &a[r * k..(r + 1) * k];
            let (b, lane) = (r / MR, r % MR);
            let base = b * pairs * MR + lane;
            for p in 0..pairs {
                let at = |i: usize| if i < k { row[i] } else { 0.0 };
                let (lo, hi) = (at(2 * p), at(2 * p + 1));
                out[base + p * MR] = pair(lo, hi);
            }
        }
        out
    }

    /// Panels `j0..j1` of the product, all rows.
    ///
    /// # Safety
    /// The CPU has AVX-512 F and BF16; `dst` has `m` rows of `n` floats.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bf16")]
    unsafe fn panels(
        &self,
        m: usize,
        j0: usize,
        j1: usize,
        dst: *mut f32,
        accumulate: bool,
        packed_a: &[u32],
    ) {
        let pairs = self.pairs;
        let blocks = m.div_ceil(MR);
        for p0 in (0..pairs).step_by(KC) {
            let kc = KC.min(pairs - p0);
            for j in j0..j1 {
                let cols = NR.min(self.n - j * NR);
                let b = self.data.as_ptr().add((j * pairs + p0) * NR);
                for blk in 0..blocks {
                    let rows = MR.min(m - blk * MR);
                    let a = packed_a.as_ptr().add((blk * pairs + p0) * MR);
                    let c = dst.add(blk * MR * self.n + j * NR);
                    avx512_kernel(kc, a, b, c, self.n, rows, cols, accumulate || p0 > 0);
                }
            }
        }
    }
}

/// `c[rows × cols] (+)= a · b` over `kc` k-pairs: `a` holds `MR` lanes per pair,
/// `b` holds `NR` lanes per pair, `c` has row stride `ldc`.
///
/// # Safety
/// AVX-512 F and BF16; `a` and `b` hold `kc` pairs; `c` is valid for `rows` rows
/// of `cols` floats.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
#[allow(clippy::too_many_arguments)]
unsafe fn avx512_kernel(
    kc: usize,
    a: *const u32,
    b: *const u32,
    c: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
    accumulate: bool,
) {
    use std::arch::x86_64::*;
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    for p in 0..kc {
        let b0: __m512bh = std::mem::transmute(_mm512_loadu_si512(b.add(p * NR) as *const _));
        let b1: __m512bh = std::mem::transmute(_mm512_loadu_si512(b.add(p * NR + 16) as *const _));
        let ap = a.add(p * MR);
        for (r, acc) in acc.iter_mut().enumerate() {
            let av: __m512bh = std::mem::transmute(_mm512_set1_epi32(*ap.add(r) as i32));
            acc[0] = _mm512_dpbf16_ps(acc[0], av, b0);
            acc[1] = _mm512_dpbf16_ps(acc[1], av, b1);
        }
    }
    let m0: __mmask16 = if cols >= 16 {
        0xFFFF
    } else {
        (1u16 << cols) - 1
    };
    let m1: __mmask16 = match cols {
        32.. => 0xFFFF,
        17..=31 => (1u16 << (cols - 16)) - 1,
        _ => 0,
    };
    for (r, acc) in acc.iter().enumerate().take(rows) {
        for (h, mask) in [(0, m0), (1, m1)] {
            if mask == 0 {
                continue;
            }
            let ptr = c.add(r * ldc + 16 * h);
            let v = if accumulate {
                _mm512_add_ps(_mm512_maskz_loadu_ps(mask, ptr), acc[h])
            } else {
                acc[h]
            };
            _mm512_mask_storeu_ps(ptr, mask, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_to_nearest_even() {
        assert_eq!(round_bf16(1.0), 1.0);
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even 1.0.
        assert_eq!(round_bf16(1.0 + 1.0 / 256.0), 1.0);
        assert_eq!(round_bf16(1.0 + 3.0 / 256.0), 1.0 + 4.0 / 256.0);
        assert_eq!(round_bf16(-2.0), -2.0);
        assert!(round_bf16(f32::NAN).is_nan());
    }

    #[test]
    fn matmul_equals_the_definition_on_bf16_inputs() {
        if !supported() {
            eprintln!("skipped: this CPU has no AVX-512 BF16");
            return;
        }
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 20_001) as f32 / 10_000.0 - 1.0
        };
        // Odd k, partial panels and partial row blocks, one k-block and several.
        for &(m, k, n) in &[
            (1, 3, 5),
            (13, 77, 33),
            (30, 300, 70),
            (50, 768, 96),
            (70, 1024, 64),
        ] {
            let a: Vec<f32> = (0..m * k).map(|_| next()).collect();
            let w: Vec<f32> = (0..k * n).map(|_| next()).collect();
            let packed = PackedBf16::pack(k, n, |r, c| w[r * n + c]);
            let kernels = [Kernel::Avx512, Kernel::Amx];
            for &kernel in kernels
                .iter()
                .filter(|&&k| k == Kernel::Avx512 || amx_available())
            {
                for accumulate in [false, true] {
                    for parallel in [false, true] {
                        let start: Vec<f32> = (0..m * n).map(|_| next()).collect();
                        let mut dst = start.clone();
                        packed.matmul_with(kernel, m, &mut dst, accumulate, &a, parallel);
                        for i in 0..m {
                            for j in 0..n {
                                let terms = (0..k).map(|t| {
                                    round_bf16(a[i * k + t]) as f64
                                        * round_bf16(w[t * n + j]) as f64
                                });
                                let base = if accumulate {
                                    start[i * n + j] as f64
                                } else {
                                    0.0
                                };
                                let want = terms.clone().sum::<f64>() + base;
                                let size = terms.map(f64::abs).sum::<f64>() + base.abs();
                                // f32 accumulation: at most ~k roundings of the running sum.
                                let tol = 1e-7 * (k as f64 + 2.0) * size;
                                let got = dst[i * n + j] as f64;
                                assert!(
                                    (got - want).abs() <= tol,
                                    "{kernel:?} m {m} k {k} n {n} [{i},{j}]: {got} vs {want}"
                                );
                            }
                        }
                    }
                }
            }
        }
        if !amx_available() {
            eprintln!("AMX kernel not tested: this CPU (or SCRY_BF16_KERNEL) has no AMX");
        }
    }
}
