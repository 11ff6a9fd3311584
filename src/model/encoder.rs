//! scry's own CPU forward pass for CLIP's two towers.
//!
//! candle-transformers' towers (kept as the reference, [`super::reference`]) spend
//! about 40 % of a ViT-B/32 forward pass outside matrix multiplication: per-op
//! tensors, separate Q/K/V projections, bias adds, head reshapes and a scalar
//! `exp` in quick-GELU. Here the same arithmetic runs on flat row-major buffers:
//!
//! - weights are stored transposed once at load (`[in, out]`), Q/K/V fused into one
//!   projection, and every bias add and residual add is folded into the GEMM
//!   (`dst = dst + x·W`, with `dst` pre-filled with the bias or the residual);
//! - attention calls GEMM directly on strided views of the fused QKV buffer, one
//!   task per (image, head), so no head is ever copied or transposed;
//! - layer norm, softmax and quick-GELU are vectorised loops compiled for AVX2/FMA
//!   and AVX-512 and picked at run time, with an `exp` accurate to ~1 ulp;
//! - after the last layer's attention only the pooled rows (CLS token, or each
//!   text's end-of-text token) go through the output projection and the MLP.
//!
//! The result equals the reference to float rounding (tests compare both towers, and
//! `scripts/parity_full.sh` compares against PyTorch at full size).

use candle_core::{DType, Tensor};
use candle_nn::VarBuilder;
use gemm::{gemm, Parallelism};
use multiversion::multiversion;
use rayon::prelude::*;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use super::bf16::PackedBf16;
use super::config::{Act, ClipConfig, Family};
use super::int8::PackedInt8;
use super::mapped::{Floats, MappedWeights};
use super::Precision;

/// A matrix product below this many multiply-adds runs on one thread.
const PARALLEL_GEMM_MIN: usize = 1 << 20;
/// Element-wise work is split across threads in chunks of this many values.
const CHUNK: usize = 1 << 14;

type CResult<T> = candle_core::Result<T>;

thread_local! {
    /// Set while this thread runs one shard of a batch: everything inside then
    /// stays on this thread (the shards already occupy every core).
    static SERIAL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn serial() -> bool {
    SERIAL.with(|s| s.get())
}

/// Runs `f` with every kernel on the calling thread.
fn run_serial<T>(f: impl FnOnce() -> T) -> T {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            SERIAL.with(|s| s.set(self.0));
        }
    }
    let _reset = Reset(SERIAL.with(|s| s.replace(true)));
    f()
}

/// Applies `f` to chunks of `x`, across threads unless running serially.
fn for_chunks(x: &mut [f32], chunk: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    if serial() || x.len() <= chunk {
        x.chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
    } else {
        x.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    }
}

fn to_vec(t: Tensor) -> CResult<Vec<f32>> {
    t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()
}

/// Outputs per task of the streaming kernel: a block of weight rows that
/// stays in L2 (64 × 4,304 floats at most) while every input row passes it.
const STREAM_OUTPUTS: usize = 64;
/// The streaming kernel's register tile: this many input rows by this many
/// outputs, each a 16-lane accumulator (16 of the 32 AVX-512 registers).
const TILE: usize = 4;

/// How a weight matrix is stored.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Layout {
    /// `[in, out]`: what GEMM reads fastest (the image tower's large batches).
    InOut,
    /// `[out, in]`, as PyTorch stores it: each output's weights contiguous, so
    /// a text's rows (up to 77 tokens, 64 for SigLIP's padded text) stream
    /// them from the mapped file with no copy (the text towers).
    OutIn,
}

/// `dst (m×n) = [dst +] a (m×k) · W`, with `W` (`k × n`) stored as `layout` says;
/// everything row-major and contiguous.
#[allow(clippy::too_many_arguments)]
fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    accumulate: bool,
    a: &[f32],
    w: &[f32],
    layout: Layout,
) {
    assert!(dst.len() >= m * n && a.len() >= m * k && w.len() >= k * n);
    if layout == Layout::OutIn {
        return matmul_streaming(m, n, k, dst, accumulate, a, w);
    }
    // Strides of W as a k × n matrix: (column stride, row stride), and where
    // output column c starts.
    let (cs, rs, col) = match layout {
        Layout::InOut => (1, n, 1),
        Layout::OutIn => (k, 1, k),
    };
    let threads = rayon::current_num_threads();
    if serial() || threads == 1 || m * n * k < PARALLEL_GEMM_MIN {
        return gemm_serial(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            n,
            accumulate,
            a,
            w.as_ptr(),
            cs,
            rs,
        );
    }
    if m < 128 {
        // Few rows (one image: 50): GEMM's own threading splits rows and syncs
        // often; split the outputs instead, one block per thread.
        let block = n.div_ceil(threads).next_multiple_of(16);
        let dst_ptr = SendPtr(dst.as_mut_ptr());
        (0..n.div_ceil(block)).into_par_iter().for_each(|i| {
            let c0 = i * block;
            // SAFETY: columns c0..c0+width of dst and of W, inside the asserted
            // bounds; blocks are disjoint between tasks.
            gemm_serial(
                m,
                block.min(n - c0),
                k,
                unsafe { dst_ptr.get().add(c0) },
                n,
                accumulate,
                a,
                w[c0 * col..].as_ptr(),
                cs,
                rs,
            )
        });
        return;
    }
    // SAFETY: the asserts above bound every access gemm makes with these strides.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            1,
            k as isize,
            w.as_ptr(),
            cs as isize,
            rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::Rayon(threads),
        )
    }
}

/// One-thread GEMM into `m × n` of `dst` (row stride `ld`); W read with column
/// stride `cs` and row stride `rs`.
#[allow(clippy::too_many_arguments)]
fn gemm_serial(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    ld: usize,
    accumulate: bool,
    a: &[f32],
    w: *const f32,
    cs: usize,
    rs: usize,
) {
    // SAFETY: callers pass dst with at least m rows of ld ≥ n floats and a W block
    // that these strides keep inside; a holds m × k.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst,
            1,
            ld as isize,
            accumulate,
            a.as_ptr(),
            1,
            k as isize,
            w,
            cs as isize,
            rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        )
    }
}

/// A text's rows times a weight matrix stored `[out, in]` (one row per token,
/// at most a few dozen). GEMM would first copy the weights into its panel
/// layout — gathering a transposed matrix cost more than the product itself
/// for SigLIP's 64 tokens — so the weights are read where they are instead:
/// blocks of [`STREAM_OUTPUTS`] weight rows, one task each, in which every
/// [`TILE`] × [`TILE`] tile of rows and outputs is a set of dot products.
fn matmul_streaming(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    accumulate: bool,
    a: &[f32],
    w: &[f32],
) {
    let kernel = TileKernel::get();
    // More rows than one vector holds (SigLIP's 64): with AVX-512, outer
    // products from the rows transposed (see `outer_block`).
    let outer = matches!(kernel, TileKernel::Avx512) && m > 16;
    let padded = m.next_multiple_of(16);
    thread_local! {
        /// The transposed rows, kept between calls: a fresh buffer this size
        /// (up to 800 KB) would be fresh pages, faulted in and zeroed, at every
        /// layer of every query.
        static TRANSPOSED: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let mut at = if outer {
        TRANSPOSED.with_borrow_mut(std::mem::take)
    } else {
        Vec::new()
    };
    if outer {
        transpose_padded(&a[..m * k], m, k, padded, &mut at);
    }
    let blocks = n.div_ceil(STREAM_OUTPUTS);
    let dst_ptr = SendPtr(dst.as_mut_ptr());
    let task = |blk: usize| {
        let j0 = blk * STREAM_OUTPUTS;
        let j1 = (j0 + STREAM_OUTPUTS).min(n);
        let block = &w[j0 * k..j1 * k];
        let mut out = vec![0f32; m * (j1 - j0)];
        if outer {
            outer_block(&at, padded, m, k, block, &mut out);
        } else {
            stream_block(kernel, &mut out, &a[..m * k], k, block);
        }
        for (r, row) in out.chunks_exact(j1 - j0).enumerate() {
            // SAFETY: row r, columns j0..j1 of dst (bounds asserted by matmul); column
            // blocks are disjoint between tasks.
            let dst =
                unsafe { std::slice::from_raw_parts_mut(dst_ptr.get().add(r * n + j0), j1 - j0) };
            if accumulate {
                add_assign(dst, row);
            } else {
                dst.copy_from_slice(row);
            }
        }
    };
    if serial() || blocks == 1 || m * n * k < PARALLEL_GEMM_MIN {
        (0..blocks).for_each(task);
    } else {
        (0..blocks).into_par_iter().for_each(task);
    }
    if outer {
        TRANSPOSED.with_borrow_mut(|kept| *kept = at);
    }
}

/// `a` (`m` rows of `k`) transposed into `k` rows of `padded` values, zero past
/// `m`; in 16 × 16 blocks, so that both sides stay in cache lines.
fn transpose_padded(a: &[f32], m: usize, k: usize, padded: usize, at: &mut Vec<f32>) {
    at.clear();
    at.resize(k * padded, 0.0);
    for r0 in (0..m).step_by(16) {
        let r1 = (r0 + 16).min(m);
        for p0 in (0..k).step_by(16) {
            let p1 = (p0 + 16).min(k);
            for r in r0..r1 {
                let row = &a[r * k + p0..r * k + p1];
                for (p, v) in (p0..p1).zip(row) {
                    at[p * padded + r] = *v;
                }
            }
        }
    }
}

/// Outputs per group of the outer-product kernel: 6 outputs × 4 vectors of 16
/// rows = 24 accumulators, with the 4 row vectors and a broadcast weight 29 of
/// AVX-512's 32 registers.
const OUTER_OUTPUTS: usize = 6;

/// Steps along `k` that [`outer_block`] packs and multiplies at a time: the
/// slice of the transposed rows (64 × 64 floats) and of the packed weights
/// (64 × 64) take 32 KiB of L1 together.
const OUTER_SLICE: usize = 64;

/// As [`stream_block`], from `at`, the `m` rows transposed (`k` rows of
/// `padded` values, a multiple of 16, zero past `m`), for a block of at most
/// [`STREAM_OUTPUTS`] weight rows. `k` is walked in slices of [`OUTER_SLICE`]:
/// each slice of the weights is first packed by 16 × 16 transposes into
/// `[step][output]`, then, for each group of [`OUTER_OUTPUTS`] outputs and 64
/// rows, every step multiplies one weight per output, broadcast, with four
/// 16-row vectors — 24 multiply-adds for 4 loads and 6 broadcasts, all from L1.
/// Read where they lay, the weights were 64 interleaved runs of four cache
/// lines, too many for the hardware prefetcher: the kernel stalled on its
/// broadcasts (SigLIP 2 large's query ~12 % slower); the next slice is now
/// prefetched while this one is multiplied.
fn outer_block(at: &[f32], padded: usize, m: usize, k: usize, w: &[f32], out: &mut [f32]) {
    let cols = w.len() / k;
    assert!(at.len() >= k * padded && padded.is_multiple_of(16) && m <= padded);
    assert!(cols <= STREAM_OUTPUTS);
    let chunks = padded.div_ceil(64);
    let groups = cols.div_ceil(OUTER_OUTPUTS);
    let mut tiles = vec![[[0f32; 64]; OUTER_OUTPUTS]; groups * chunks];
    // The last group reads up to OUTER_OUTPUTS - 1 columns past `cols` (past the
    // row, at the last step): zeroed once, never packed, ignored.
    let mut panel = vec![0f32; OUTER_SLICE * STREAM_OUTPUTS + OUTER_OUTPUTS];
    for p0 in (0..k).step_by(OUTER_SLICE) {
        let p1 = (p0 + OUTER_SLICE).min(k);
        pack_panel(w, k, cols, p0, p1, &mut panel);
        for g in 0..groups {
            let c0 = g * OUTER_OUTPUTS;
            // This group's share of the next slice's weight rows, asked for now
            // so that they are in L2 when that slice is packed.
            let share = g * cols / groups..(g + 1) * cols / groups;
            prefetch_l2(w, k, share, p1..(p1 + OUTER_SLICE).min(k));
            for c in 0..chunks {
                let r0 = c * 64;
                let vectors = ((padded - r0) / 16).min(4);
                let rows = &at[p0 * padded + r0..];
                let tile = &mut tiles[g * chunks + c];
                let weights = &panel[c0..];
                #[cfg(target_arch = "x86_64")]
                // SAFETY: only chosen where the CPU has AVX-512 (`TileKernel::get`);
                // `rows` holds p1 - p0 rows of `padded` values from r0, and
                // r0 + 16 · vectors ≤ padded; `weights` holds p1 - p0 rows of
                // STREAM_OUTPUTS from c0, and OUTER_OUTPUTS more past the last.
                unsafe {
                    let n = p1 - p0;
                    match vectors {
                        4 => outer_avx512::<4>(rows, padded, weights, n, tile),
                        3 => outer_avx512::<3>(rows, padded, weights, n, tile),
                        2 => outer_avx512::<2>(rows, padded, weights, n, tile),
                        _ => outer_avx512::<1>(rows, padded, weights, n, tile),
                    }
                }
            }
        }
    }
    for g in 0..groups {
        let c0 = g * OUTER_OUTPUTS;
        let cn = (cols - c0).min(OUTER_OUTPUTS);
        for c in 0..chunks {
            let r0 = c * 64;
            for (j, col) in tiles[g * chunks + c].iter().enumerate().take(cn) {
                for r in r0..(r0 + 64).min(m) {
                    out[r * cols + c0 + j] = col[r - r0];
                }
            }
        }
    }
}

/// Asks for the cache lines of `w`'s `rows` (each `k` long) at `steps` to be
/// brought into L2. Spread over the kernel's groups, 256 lines a slice arrive
/// while the slice before is multiplied (all at once, the requests stalled on
/// the CPU's queue of misses).
fn prefetch_l2(w: &[f32], k: usize, rows: Range<usize>, steps: Range<usize>) {
    #[cfg(target_arch = "x86_64")]
    for j in rows {
        for p in steps.clone().step_by(16) {
            // SAFETY: a prefetch of an address inside w; it never faults.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(
                    w.as_ptr().add(j * k + p) as *const i8,
                )
            }
        }
    }
}

/// `panel[(p - p0) · STREAM_OUTPUTS + j] = w[j · k + p]` for the `cols` rows of
/// `w` and `p0 ≤ p < p1`: whole 16 × 16 squares by register transposes, the
/// edges one value at a time.
fn pack_panel(w: &[f32], k: usize, cols: usize, p0: usize, p1: usize, panel: &mut [f32]) {
    assert!(cols <= STREAM_OUTPUTS && p1 - p0 <= OUTER_SLICE && p1 <= k && w.len() >= cols * k);
    let (full_cols, full_steps) = (cols - cols % 16, (p1 - p0) - (p1 - p0) % 16);
    for j0 in (0..full_cols).step_by(16) {
        for q in (0..full_steps).step_by(16) {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: outer_block runs only where the CPU has AVX-512; rows j0..j0+16
            // of w hold steps p0+q..p0+q+16 (< p1 ≤ k), and panel rows q..q+16
            // hold columns j0..j0+16 (≤ STREAM_OUTPUTS).
            unsafe {
                transpose16_avx512(
                    w.as_ptr().add(j0 * k + p0 + q),
                    k,
                    panel.as_mut_ptr().add(q * STREAM_OUTPUTS + j0),
                    STREAM_OUTPUTS,
                );
            }
        }
    }
    for j in 0..cols {
        let row = &w[j * k..];
        let from = if j < full_cols { full_steps } else { 0 };
        for q in from..p1 - p0 {
            panel[q * STREAM_OUTPUTS + j] = row[p0 + q];
        }
    }
}

/// The 16 × 16 square at `src` (row stride `ld`) written transposed at `dst`
/// (row stride `ldd`): 16 loads, four rounds of 16 in-register shuffles, 16
/// stores.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn transpose16_avx512(src: *const f32, ld: usize, dst: *mut f32, ldd: usize) {
    use std::arch::x86_64::*;
    let r: [__m512; 16] = std::array::from_fn(|i| _mm512_loadu_ps(src.add(i * ld)));
    // Pairs of rows interleaved within each 128-bit lane.
    let t: [__m512; 16] = std::array::from_fn(|i| {
        let (a, b) = (r[i & !1], r[i | 1]);
        if i % 2 == 0 {
            _mm512_unpacklo_ps(a, b)
        } else {
            _mm512_unpackhi_ps(a, b)
        }
    });
    // Quads: each lane now holds one column of four rows.
    let q: [__m512; 16] = std::array::from_fn(|i| {
        let base = i & !3;
        let (a, b) = (
            _mm512_castps_pd(t[base + (i & 3) / 2]),
            _mm512_castps_pd(t[base + 2 + (i & 3) / 2]),
        );
        _mm512_castpd_ps(if i % 2 == 0 {
            _mm512_unpacklo_pd(a, b)
        } else {
            _mm512_unpackhi_pd(a, b)
        })
    });
    // Lanes of rows 0-7 (and 8-15) gathered: q[4g + c] holds column c + 4 · lane
    // of rows 4g..4g+4.
    let h: [__m512; 16] = std::array::from_fn(|i| {
        let (g, c, odd) = (i / 8, i % 4, (i / 4) % 2 == 1);
        let (a, b) = (q[8 * g + c], q[8 * g + 4 + c]);
        if odd {
            _mm512_shuffle_f32x4::<0xdd>(a, b)
        } else {
            _mm512_shuffle_f32x4::<0x88>(a, b)
        }
    });
    // h[8g + c] holds columns c and c + 8 of rows 8g..8g+8 (first and second
    // pair of lanes); h[8g + 4 + c] columns c + 4 and c + 12.
    for i in 0..16 {
        let (c, hi) = (i % 4 + 4 * ((i / 4) % 2), i >= 8);
        let (a, b) = (h[c], h[8 + c]);
        let col = if hi {
            _mm512_shuffle_f32x4::<0xdd>(a, b)
        } else {
            _mm512_shuffle_f32x4::<0x88>(a, b)
        };
        _mm512_storeu_ps(dst.add(i * ldd), col);
    }
}

/// `tile[j][r] += Σ_p rows[p · padded + r] · weights[p · STREAM_OUTPUTS + j]`
/// for `16 · V` rows and `k` steps.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn outer_avx512<const V: usize>(
    rows: &[f32],
    padded: usize,
    weights: &[f32],
    k: usize,
    tile: &mut [[f32; 64]; OUTER_OUTPUTS],
) {
    use std::arch::x86_64::*;
    assert!(rows.len() >= (k.max(1) - 1) * padded + 16 * V);
    assert!(weights.len() >= (k.max(1) - 1) * STREAM_OUTPUTS + OUTER_OUTPUTS);
    let mut acc = [[_mm512_setzero_ps(); V]; OUTER_OUTPUTS];
    for (acc, col) in acc.iter_mut().zip(tile.iter()) {
        for (v, acc) in acc.iter_mut().enumerate() {
            *acc = _mm512_loadu_ps(col.as_ptr().add(16 * v));
        }
    }
    let mut x = [_mm512_setzero_ps(); V];
    let mut row = rows.as_ptr();
    let mut wp = weights.as_ptr();
    for _ in 0..k {
        for (v, x) in x.iter_mut().enumerate() {
            *x = _mm512_loadu_ps(row.add(16 * v));
        }
        for (j, acc) in acc.iter_mut().enumerate() {
            let b = _mm512_set1_ps(*wp.add(j));
            for (acc, x) in acc.iter_mut().zip(&x) {
                *acc = _mm512_fmadd_ps(*x, b, *acc);
            }
        }
        row = row.add(padded);
        wp = wp.add(STREAM_OUTPUTS);
    }
    for (acc, col) in acc.iter().zip(tile.iter_mut()) {
        for (v, acc) in acc.iter().enumerate() {
            _mm512_storeu_ps(col.as_mut_ptr().add(16 * v), *acc);
        }
    }
}

/// `out[r][j] = a_r · w_j` for the rows of `a` and of `w` (each `k` long), `out`
/// row-major with one column per row of `w`, in [`TILE`] × [`TILE`] tiles.
/// Edge tiles repeat their last row or output and keep only what is theirs.
fn stream_block(kernel: TileKernel, out: &mut [f32], a: &[f32], k: usize, w: &[f32]) {
    let (m, cols) = (a.len() / k, w.len() / k);
    for r0 in (0..m).step_by(TILE) {
        let rn = (m - r0).min(TILE);
        let rows: [&[f32]; TILE] = std::array::from_fn(|i| &a[(r0 + i.min(rn - 1)) * k..][..k]);
        for c0 in (0..cols).step_by(TILE) {
            let cn = (cols - c0).min(TILE);
            let outs: [&[f32]; TILE] = std::array::from_fn(|j| &w[(c0 + j.min(cn - 1)) * k..][..k]);
            let dots = kernel.tile(&rows, &outs);
            for (i, row) in dots.iter().enumerate().take(rn) {
                out[(r0 + i) * cols + c0..][..cn].copy_from_slice(&row[..cn]);
            }
        }
    }
}

/// The instructions a [`TILE`] × [`TILE`] tile of dot products runs on,
/// chosen once per CPU.
#[derive(Clone, Copy, Debug)]
enum TileKernel {
    /// 16 lanes; the 16 accumulators and 8 loads fit AVX-512's 32 registers.
    Avx512,
    /// 8 lanes, two rows at a time (8 accumulators and 6 loads of 16 registers).
    Avx2,
    Portable,
}

impl TileKernel {
    /// The best of [`TileKernel::available`], found once.
    fn get() -> Self {
        static KERNEL: OnceLock<TileKernel> = OnceLock::new();
        *KERNEL.get_or_init(|| Self::available()[0])
    }

    /// Every kernel this CPU runs, best first (the portable one last).
    fn available() -> Vec<Self> {
        let mut kernels = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                kernels.push(TileKernel::Avx512);
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                kernels.push(TileKernel::Avx2);
            }
        }
        kernels.push(TileKernel::Portable);
        kernels
    }

    /// `rows[i] · outs[j]` for every pair (all slices equally long).
    fn tile(self, rows: &[&[f32]; TILE], outs: &[&[f32]; TILE]) -> [[f32; TILE]; TILE] {
        match self {
            // SAFETY: the CPU has the instructions (checked in `get`).
            #[cfg(target_arch = "x86_64")]
            TileKernel::Avx512 => unsafe { tile_avx512(rows, outs) },
            #[cfg(target_arch = "x86_64")]
            TileKernel::Avx2 => {
                let mut d = [[0f32; TILE]; TILE];
                for half in 0..TILE / 2 {
                    let pair = [rows[2 * half], rows[2 * half + 1]];
                    // SAFETY: as above.
                    let two = unsafe { tile_avx2(&pair, outs) };
                    d[2 * half] = two[0];
                    d[2 * half + 1] = two[1];
                }
                d
            }
            _ => std::array::from_fn(|i| {
                std::array::from_fn(|j| crate::simd::dot16(rows[i], outs[j]))
            }),
        }
    }
}

/// The dot products past the last whole vector.
fn tile_tail<const R: usize>(
    d: &mut [[f32; TILE]; R],
    rows: &[&[f32]; R],
    outs: &[&[f32]; TILE],
    from: usize,
) {
    for (i, row) in d.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v += (from..rows[i].len())
                .map(|p| rows[i][p] * outs[j][p])
                .sum::<f32>();
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn tile_avx512(rows: &[&[f32]; TILE], outs: &[&[f32]; TILE]) -> [[f32; TILE]; TILE] {
    use std::arch::x86_64::*;
    let k = rows[0].len();
    let body = k - k % 16;
    let mut acc = [[_mm512_setzero_ps(); TILE]; TILE];
    let mut p = 0;
    while p < body {
        // SAFETY: p + 16 ≤ k, the length of every slice.
        let x: [__m512; TILE] = std::array::from_fn(|i| _mm512_loadu_ps(rows[i].as_ptr().add(p)));
        let y: [__m512; TILE] = std::array::from_fn(|j| _mm512_loadu_ps(outs[j].as_ptr().add(p)));
        for i in 0..TILE {
            for j in 0..TILE {
                acc[i][j] = _mm512_fmadd_ps(x[i], y[j], acc[i][j]);
            }
        }
        p += 16;
    }
    let mut d: [[f32; TILE]; TILE] =
        std::array::from_fn(|i| std::array::from_fn(|j| _mm512_reduce_add_ps(acc[i][j])));
    tile_tail(&mut d, rows, outs, body);
    d
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2(rows: &[&[f32]; 2], outs: &[&[f32]; TILE]) -> [[f32; TILE]; 2] {
    use std::arch::x86_64::*;
    let k = rows[0].len();
    let body = k - k % 8;
    let mut acc = [[_mm256_setzero_ps(); TILE]; 2];
    let mut p = 0;
    while p < body {
        // SAFETY: p + 8 ≤ k, the length of every slice.
        let x: [__m256; 2] = std::array::from_fn(|i| _mm256_loadu_ps(rows[i].as_ptr().add(p)));
        let y: [__m256; TILE] = std::array::from_fn(|j| _mm256_loadu_ps(outs[j].as_ptr().add(p)));
        for i in 0..2 {
            for j in 0..TILE {
                acc[i][j] = _mm256_fmadd_ps(x[i], y[j], acc[i][j]);
            }
        }
        p += 8;
    }
    let sum = |v: __m256| {
        let h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        _mm_cvtss_f32(_mm_add_ss(h, _mm_shuffle_ps(h, h, 1)))
    };
    let mut d: [[f32; TILE]; 2] = std::array::from_fn(|i| std::array::from_fn(|j| sum(acc[i][j])));
    tile_tail(&mut d, rows, outs, body);
    d
}

/// The `rows × cols` tensor `name` under `vb` as the file stores it: read in place
/// from `mapped` where the file holds it as f32, else converted and copied.
fn as_stored(
    vb: &VarBuilder,
    name: &str,
    rows: usize,
    cols: usize,
    mapped: Option<&Arc<MappedWeights>>,
) -> CResult<Floats> {
    let prefix = vb.prefix();
    let full = if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    };
    match mapped.and_then(|m| m.f32s(&full, rows * cols)) {
        Some(w) => Ok(w),
        None => Ok(to_vec(vb.get((rows, cols), name)?)?.into()),
    }
}

/// A dense layer's weights packed for a lower-precision kernel.
enum Packed {
    Bf16(PackedBf16),
    Int8(PackedInt8),
}

/// A dense layer; its weight stored as `layout` says.
struct Linear {
    /// Owned, or read in place from the model file ([`MappedWeights`]).
    w: Floats,
    /// The weights in bf16 or int8 instead of `w` (`--precision`).
    packed: Option<Packed>,
    layout: Layout,
    bias: Option<Vec<f32>>,
    n_in: usize,
    n_out: usize,
}

impl Linear {
    /// Reads the layer under `vb`; an `[out, in]` weight stored as f32 in
    /// `mapped` is used in place.
    fn load(
        vb: &VarBuilder,
        n_in: usize,
        n_out: usize,
        with_bias: bool,
        layout: Layout,
        mapped: Option<&Arc<MappedWeights>>,
    ) -> CResult<Self> {
        let w = match layout {
            Layout::OutIn => as_stored(vb, "weight", n_out, n_in, mapped)?,
            Layout::InOut => to_vec(vb.get((n_out, n_in), "weight")?.t()?.contiguous()?)?.into(),
        };
        let bias = if with_bias {
            Some(to_vec(vb.get(n_out, "bias")?)?)
        } else {
            None
        };
        Ok(Self {
            w,
            packed: None,
            layout,
            bias,
            n_in,
            n_out,
        })
    }

    /// Concatenates layers that read the same input along their outputs.
    fn fuse(parts: &[Linear]) -> Self {
        let n_in = parts[0].n_in;
        let n_out: usize = parts.iter().map(|p| p.n_out).sum();
        let layout = parts[0].layout;
        let w: Floats = match layout {
            Layout::OutIn => parts.iter().flat_map(|p| p.w.iter().copied()).collect(),
            Layout::InOut => (0..n_in)
                .flat_map(|r| {
                    parts
                        .iter()
                        .flat_map(move |p| &p.w[r * p.n_out..(r + 1) * p.n_out])
                })
                .copied()
                .collect(),
        };
        let bias = parts
            .iter()
            .map(|p| p.bias.clone())
            .collect::<Option<Vec<_>>>()
            .map(|b| b.concat());
        Self {
            w,
            packed: None,
            layout,
            bias,
            n_in,
            n_out,
        }
    }

    /// `out = x·Wᵀ + b`, or `out += x·Wᵀ + b` when `accumulate` (a residual add).
    fn forward(&self, x: &[f32], rows: usize, out: &mut [f32], accumulate: bool) {
        let out = &mut out[..rows * self.n_out];
        let mut read_dst = accumulate;
        if let Some(b) = &self.bias {
            for row in out.chunks_exact_mut(self.n_out) {
                if accumulate {
                    add_assign(row, b);
                } else {
                    row.copy_from_slice(b);
                }
            }
            read_dst = true;
        }
        if let Some(packed) = &self.packed {
            let parallel = !serial() && rows * self.n_in * self.n_out >= PARALLEL_GEMM_MIN;
            let x = &x[..rows * self.n_in];
            match packed {
                Packed::Bf16(p) => p.matmul(rows, out, read_dst, x, parallel),
                Packed::Int8(p) => p.matmul(rows, out, read_dst, x, parallel),
            }
            return;
        }
        matmul(
            rows,
            self.n_out,
            self.n_in,
            out,
            read_dst,
            &x[..rows * self.n_in],
            &self.w,
            self.layout,
        );
    }

    /// Replaces the f32 weights with bf16 or int8 ones for that kernel (f32
    /// leaves them).
    fn use_precision(&mut self, precision: Precision) {
        let (k, n, w, layout) = (self.n_in, self.n_out, &self.w, self.layout);
        let at = |r: usize, c: usize| match layout {
            Layout::InOut => w[r * n + c],
            Layout::OutIn => w[c * k + r],
        };
        let packed = match precision {
            Precision::F32 => return,
            Precision::Bf16 => Packed::Bf16(PackedBf16::pack(k, n, at)),
            Precision::Int8 => Packed::Int8(PackedInt8::pack(k, n, at)),
        };
        self.packed = Some(packed);
        self.w = Floats::default();
    }
}

struct LayerNorm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
    eps: f32,
}

impl LayerNorm {
    fn load(vb: &VarBuilder, dim: usize, eps: f64) -> CResult<Self> {
        Ok(Self {
            gamma: to_vec(vb.get(dim, "weight")?)?,
            beta: to_vec(vb.get(dim, "bias")?)?,
            eps: eps as f32,
        })
    }

    /// Normalises each row of `x` into `out` (same shape).
    fn forward(&self, x: &[f32], out: &mut [f32]) {
        let d = self.gamma.len();
        let out = &mut out[..x.len()];
        let rows_per_task = (CHUNK / d).max(1);
        for_chunks(out, rows_per_task * d, |i, os| {
            let xs = &x[i * rows_per_task * d..];
            for (xr, or) in xs.chunks_exact(d).zip(os.chunks_exact_mut(d)) {
                layer_norm_row(xr, &self.gamma, &self.beta, self.eps, or);
            }
        });
    }
}

struct Layer {
    ln1: LayerNorm,
    qkv: Linear,
    out: Linear,
    ln2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

/// A stack of pre-norm transformer layers (CLIP's encoder, either tower).
struct Encoder {
    layers: Vec<Layer>,
    dim: usize,
    heads: usize,
    mlp: usize,
    act: Act,
}

/// What [`Encoder::load`] reads from a tower's config.
struct Shape {
    dim: usize,
    mlp: usize,
    heads: usize,
    layers: usize,
    eps: f64,
    act: Act,
}

impl Encoder {
    fn load(
        vb: &VarBuilder,
        shape: Shape,
        layout: Layout,
        mapped: Option<&Arc<MappedWeights>>,
    ) -> CResult<Self> {
        let Shape {
            dim,
            mlp,
            heads,
            layers,
            eps,
            act,
        } = shape;
        let layers = (0..layers)
            .map(|i| {
                let l = vb.pp(format!("layers.{i}"));
                let a = l.pp("self_attn");
                let q = Linear::load(&a.pp("q_proj"), dim, dim, true, layout, mapped)?;
                let k = Linear::load(&a.pp("k_proj"), dim, dim, true, layout, mapped)?;
                let v = Linear::load(&a.pp("v_proj"), dim, dim, true, layout, mapped)?;
                Ok(Layer {
                    ln1: LayerNorm::load(&l.pp("layer_norm1"), dim, eps)?,
                    qkv: Linear::fuse(&[q, k, v]),
                    out: Linear::load(&a.pp("out_proj"), dim, dim, true, layout, mapped)?,
                    ln2: LayerNorm::load(&l.pp("layer_norm2"), dim, eps)?,
                    fc1: Linear::load(&l.pp("mlp.fc1"), dim, mlp, true, layout, mapped)?,
                    fc2: Linear::load(&l.pp("mlp.fc2"), mlp, dim, true, layout, mapped)?,
                })
            })
            .collect::<CResult<Vec<_>>>()?;
        Ok(Self {
            layers,
            dim,
            heads,
            mlp,
            act,
        })
    }

    /// Runs every layer over `x` (`batch × seq` rows of `dim`) and returns the rows
    /// listed in `keep` (indices into those rows), in that order.
    fn forward(
        &self,
        mut x: Vec<f32>,
        batch: usize,
        seq: usize,
        causal: bool,
        keep: &[usize],
    ) -> Vec<f32> {
        let d = self.dim;
        let mut rows = batch * seq;
        let mut h = vec![0f32; rows * d];
        let mut qkv = vec![0f32; rows * 3 * d];
        let mut attn = vec![0f32; rows * d];
        let mut mlp = vec![0f32; rows * self.mlp];
        let last = self.layers.len().saturating_sub(1);
        // Every row kept in order (SigLIP's image tokens, all pooled by its
        // head): nothing to gather.
        let all = keep.len() == rows && keep.iter().enumerate().all(|(i, &r)| i == r);
        for (i, layer) in self.layers.iter().enumerate() {
            layer.ln1.forward(&x[..rows * d], &mut h);
            layer.qkv.forward(&h, rows, &mut qkv, false);
            attention(&qkv, batch, seq, d, self.heads, causal, &mut attn);
            if i == last && !all {
                // Only the pooled rows matter from here on.
                x = gather_rows(&x, d, keep);
                attn = gather_rows(&attn, d, keep);
                rows = keep.len();
            }
            layer.out.forward(&attn, rows, &mut x, true);
            layer.ln2.forward(&x[..rows * d], &mut h);
            layer.fc1.forward(&h, rows, &mut mlp, false);
            activate(self.act, &mut mlp[..rows * self.mlp]);
            layer.fc2.forward(&mlp, rows, &mut x, true);
        }
        if self.layers.is_empty() && !all {
            x = gather_rows(&x, d, keep);
        }
        x.truncate(keep.len() * d);
        x
    }
}

fn gather_rows(x: &[f32], d: usize, keep: &[usize]) -> Vec<f32> {
    let mut out = Vec::with_capacity(keep.len() * d);
    for &r in keep {
        out.extend_from_slice(&x[r * d..(r + 1) * d]);
    }
    out
}

/// A raw pointer that may cross threads: each task writes a disjoint region.
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: used only for writes to disjoint (image, head) blocks, see `attention`.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// Multi-head attention over the fused QKV rows (`batch × seq` rows of `3·dim`:
/// all heads' queries, then keys, then values) into `out` (`batch × seq × dim`).
fn attention(
    qkv: &[f32],
    batch: usize,
    seq: usize,
    dim: usize,
    heads: usize,
    causal: bool,
    out: &mut [f32],
) {
    let hd = dim / heads;
    let scale = (hd as f32).powf(-0.5);
    let stride = 3 * dim as isize;
    assert!(qkv.len() >= batch * seq * 3 * dim && out.len() >= batch * seq * dim);
    let out_ptr = SendPtr(out.as_mut_ptr());
    let run = |scores: &mut Vec<f32>, task: usize| {
        let (b, h) = (task / heads, task % heads);
        let base = b * seq * 3 * dim + h * hd;
        // SAFETY: every pointer below stays inside `qkv` (rows b·seq..(b+1)·seq,
        // columns of head h) or inside this task's own block of `out` (rows of
        // image b, columns h·hd..(h+1)·hd), which no other task touches.
        unsafe {
            let q = qkv.as_ptr().add(base);
            let k = q.add(dim);
            let v = q.add(2 * dim);
            // scores = scale · Q·Kᵀ (Kᵀ read through swapped strides).
            gemm(
                seq,
                seq,
                hd,
                scores.as_mut_ptr(),
                1,
                seq as isize,
                false,
                q,
                1,
                stride,
                k,
                stride,
                1,
                0.0,
                scale,
                false,
                false,
                false,
                Parallelism::None,
            );
            for i in 0..seq {
                let row = &mut scores[i * seq..(i + 1) * seq];
                let valid = if causal { i + 1 } else { seq };
                softmax(&mut row[..valid]);
                row[valid..].fill(0.0);
            }
            gemm(
                seq,
                hd,
                seq,
                out_ptr.get().add(b * seq * dim + h * hd),
                1,
                dim as isize,
                false,
                scores.as_ptr(),
                1,
                seq as isize,
                v,
                1,
                stride,
                0.0,
                1.0,
                false,
                false,
                false,
                Parallelism::None,
            );
        }
    };
    if serial() {
        let mut scores = vec![0f32; seq * seq];
        (0..batch * heads).for_each(|t| run(&mut scores, t));
    } else {
        (0..batch * heads)
            .into_par_iter()
            .for_each_init(|| vec![0f32; seq * seq], run);
    }
}

/// The tower's activation, in place, split across threads.
fn activate(act: Act, x: &mut [f32]) {
    match act {
        Act::QuickGelu => quick_gelu(x),
        Act::Gelu => gelu(x),
        Act::GeluTanh => for_chunks(x, CHUNK, |_, c| gelu_tanh_chunk(c)),
    }
}

/// `x/2 · (1 + tanh(√(2/π) (x + 0.044715 x³)))`, PyTorch's
/// `gelu(approximate="tanh")`; `tanh u = 1 − 2 / (1 + e^{2u})`.
#[multiversion(targets("x86_64+avx512f+avx512bw+avx512vl+avx512dq+fma", "x86_64+avx2+fma"))]
fn gelu_tanh_chunk(x: &mut [f32]) {
    const K: f32 = 0.797_884_6; // √(2/π)
    for v in x.iter_mut() {
        let u = K * (*v + 0.044_715 * *v * *v * *v);
        let tanh = 1.0 - 2.0 / (1.0 + exp(2.0 * u));
        *v *= 0.5 * (1.0 + tanh);
    }
}

/// `x * sigmoid(1.702 x)` in place, split across threads.
fn quick_gelu(x: &mut [f32]) {
    for_chunks(x, CHUNK, |_, c| quick_gelu_chunk(c));
}

#[multiversion(targets("x86_64+avx512f+avx512bw+avx512vl+avx512dq+fma", "x86_64+avx2+fma"))]
fn quick_gelu_chunk(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v /= 1.0 + exp(-1.702 * *v);
    }
}

/// `x · Φ(x) = x/2 · (1 + erf(x/√2))` in place (PyTorch's exact GELU), split
/// across threads.
fn gelu(x: &mut [f32]) {
    for_chunks(x, CHUNK, |_, c| gelu_chunk(c));
}

#[multiversion(targets("x86_64+avx512f+avx512bw+avx512vl+avx512dq+fma", "x86_64+avx2+fma"))]
fn gelu_chunk(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v *= 0.5 * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// `erf x` for f32, branch-free so loops over it vectorise: Abramowitz & Stegun
/// 7.1.26 (|error| ≤ 1.5e-7), `sign(x) · (1 − t·P(t)·e^{−x²})` with
/// `t = 1/(1 + p|x|)` — the formula and constants of PyTorch's vectorised CPU
/// `erf`, which its exact GELU runs on. (libm's `erff` branches per value and
/// cost ~9 % of a ViT-H/14's time.)
#[inline(always)]
pub(crate) fn erf(x: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A1: f32 = 0.254_829_6;
    const A2: f32 = -0.284_496_74;
    const A3: f32 = 1.421_413_8;
    const A4: f32 = -1.453_152;
    const A5: f32 = 1.061_405_4;
    let a = x.abs();
    let t = 1.0 / (1.0 + P * a);
    let r = (((A5 * t + A4) * t + A3) * t + A2) * t + A1;
    (1.0 - r * t * exp(-a * a)).copysign(x)
}

#[multiversion(targets("x86_64+avx512f+avx512bw+avx512vl+avx512dq+fma", "x86_64+avx2+fma"))]
fn add_assign(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += *s;
    }
}

#[multiversion(targets("x86_64+avx512f+avx512bw+avx512vl+avx512dq+fma", "x86_64+avx2+fma"))]
fn layer_norm_row(x: &[f32], gamma: &[f32], beta: &[f32], eps: f32, out: &mut [f32]) {
    let n = x.len() as f32;
    let mean = crate::simd::sum16(x, |v| v) / n;
    let var = crate::simd::sum16(x, |v| (v - mean) * (v - mean)) / n;
    let r = 1.0 / (var + eps).sqrt();
    for (((o, v), g), b) in out.iter_mut().zip(x).zip(gamma).zip(beta) {
        *o = (*v - mean) * r * *g + *b;
    }
}

#[multiversion(targets("x86_64+avx512f+avx512bw+avx512vl+avx512dq+fma", "x86_64+avx2+fma"))]
fn softmax(x: &mut [f32]) {
    // 16 running maxima, so the loop vectorises (one fold would be serial).
    let mut lanes = [f32::NEG_INFINITY; 16];
    let chunks = x.chunks_exact(16);
    let rest = chunks.remainder();
    for c in chunks {
        for (m, v) in lanes.iter_mut().zip(c) {
            *m = m.max(*v);
        }
    }
    let max = lanes
        .iter()
        .chain(rest)
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    for v in x.iter_mut() {
        *v = exp(*v - max);
    }
    let sum = crate::simd::sum16(x, |v| v);
    let inv = 1.0 / sum;
    for v in x.iter_mut() {
        *v *= inv;
    }
}

/// `e^x` for f32, branch-free so loops over it vectorise: Cody–Waite range
/// reduction and Cephes' degree-6 polynomial, within ~1 ulp of `f32::exp` over the
/// range it is used on (tested); inputs are clamped to −87.3..=88, so it returns
/// the smallest normal instead of a denormal and e⁸⁸ instead of infinity.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.33654, 88.0);
    let n = (x * LOG2E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    // Plain multiplies and adds (not mul_add): the same bits on every CPU, and no
    // software fma on CPUs without the instruction.
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5e-1;
    let p = p * r * r + r + 1.0;
    // 2^n through the exponent bits; n + 127 is within 1..=255 after the clamp.
    // Adding 2^23 puts that integer in the mantissa's low bits, and the shift
    // moves it into the exponent: no float-to-int cast, whose saturating
    // semantics compile to one scalar conversion per lane (which had left
    // softmax and the GELUs unvectorised: 10 % of a SigLIP so400m's time).
    let scale = f32::from_bits((n + (8_388_608.0 + 127.0)).to_bits() << 23);
    p * scale
}

/// How the image tower turns its tokens into one embedding.
enum ImagePool {
    /// CLIP: the class token, layer-normed, through `visual_projection`.
    Cls { projection: Linear },
    /// SigLIP: every token layer-normed, then the attention-pooling head.
    Map(Box<MapHead>),
}

/// SigLIP's multihead attention pooling: one learned query (`probe`) attends
/// over the image's tokens (PyTorch `nn.MultiheadAttention`), then a
/// LayerNorm + MLP residual block.
struct MapHead {
    /// The probe through the query projection, `probe·W_qᵀ + b_q` (the same
    /// for every image, so computed once).
    query: Vec<f32>,
    /// Keys and values, fused: the last two thirds of `in_proj_weight`.
    kv: Linear,
    out: Linear,
    ln: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    heads: usize,
    act: Act,
}

impl MapHead {
    fn load(
        vb: &VarBuilder,
        d: usize,
        mlp: usize,
        heads: usize,
        eps: f64,
        act: Act,
    ) -> CResult<Self> {
        let a = vb.pp("attention");
        let w = to_vec(a.get((3 * d, d), "in_proj_weight")?)?;
        let b = to_vec(a.get(3 * d, "in_proj_bias")?)?;
        let probe = to_vec(vb.get((1, 1, d), "probe")?)?;
        let query = (0..d)
            .map(|j| {
                let row = &w[j * d..(j + 1) * d];
                b[j] + row.iter().zip(&probe).map(|(x, y)| x * y).sum::<f32>()
            })
            .collect();
        // Stored [out, in]; copied transposed for the image GEMMs.
        let kv_w: Floats = (0..d)
            .flat_map(|i| (d..3 * d).map(move |j| (i, j)))
            .map(|(i, j)| w[j * d + i])
            .collect();
        let kv = Linear {
            w: kv_w,
            packed: None,
            layout: Layout::InOut,
            bias: Some(b[d..].to_vec()),
            n_in: d,
            n_out: 2 * d,
        };
        Ok(Self {
            query,
            kv,
            out: Linear::load(&a.pp("out_proj"), d, d, true, Layout::InOut, None)?,
            ln: LayerNorm::load(&vb.pp("layernorm"), d, eps)?,
            fc1: Linear::load(&vb.pp("mlp.fc1"), d, mlp, true, Layout::InOut, None)?,
            fc2: Linear::load(&vb.pp("mlp.fc2"), mlp, d, true, Layout::InOut, None)?,
            heads,
            act,
        })
    }

    /// One pooled row per image from `batch × tokens` layer-normed rows.
    fn forward(&self, x: &[f32], batch: usize, tokens: usize) -> Vec<f32> {
        let d = self.query.len();
        let hd = d / self.heads;
        let scale = (hd as f32).powf(-0.5);
        let mut kv = vec![0f32; batch * tokens * 2 * d];
        self.kv.forward(x, batch * tokens, &mut kv, false);
        let mut attn = vec![0f32; batch * d];
        let pool = |task: usize, dst: &mut [f32], scores: &mut Vec<f32>| {
            let (b, h) = (task / self.heads, task % self.heads);
            let q = &self.query[h * hd..(h + 1) * hd];
            let rows = &kv[b * tokens * 2 * d..(b + 1) * tokens * 2 * d];
            scores.clear();
            scores.extend(rows.chunks_exact(2 * d).map(|r| {
                scale
                    * q.iter()
                        .zip(&r[h * hd..(h + 1) * hd])
                        .map(|(a, k)| a * k)
                        .sum::<f32>()
            }));
            softmax(scores);
            dst.fill(0.0);
            for (p, r) in scores.iter().zip(rows.chunks_exact(2 * d)) {
                for (o, v) in dst.iter_mut().zip(&r[d + h * hd..d + (h + 1) * hd]) {
                    *o += p * v;
                }
            }
        };
        if serial() {
            let mut scores = Vec::with_capacity(tokens);
            for (t, dst) in attn.chunks_exact_mut(hd).enumerate() {
                pool(t, dst, &mut scores);
            }
        } else {
            attn.par_chunks_exact_mut(hd).enumerate().for_each_init(
                || Vec::with_capacity(tokens),
                |scores, (t, dst)| pool(t, dst, scores),
            );
        }
        let mut hidden = vec![0f32; batch * d];
        self.out.forward(&attn, batch, &mut hidden, false);
        let mut normed = vec![0f32; batch * d];
        self.ln.forward(&hidden, &mut normed);
        let mut mlp = vec![0f32; batch * self.fc1.n_out];
        self.fc1.forward(&normed, batch, &mut mlp, false);
        activate(self.act, &mut mlp);
        self.fc2.forward(&mlp, batch, &mut hidden, true);
        hidden
    }
}

/// The image tower: patch embedding, encoder, then the family's pooling (CLIP's
/// class token and projection, SigLIP's attention-pooling head).
pub(crate) struct VisionTower {
    patch: Linear,
    /// CLIP's class token (SigLIP has none).
    class_embedding: Option<Vec<f32>>,
    positions: Vec<f32>,
    /// CLIP's pre-LayerNorm (SigLIP has none).
    pre_ln: Option<LayerNorm>,
    encoder: Encoder,
    post_ln: LayerNorm,
    pool: ImagePool,
    image_size: usize,
    patch_size: usize,
    channels: usize,
}

impl VisionTower {
    pub(crate) fn load(vb: &VarBuilder, config: &ClipConfig) -> CResult<Self> {
        let c = &config.vision;
        let (d, p, ch) = (c.hidden_size, c.patch_size, c.num_channels);
        let clip = config.family == Family::Clip;
        let v = vb.pp("vision_model");
        let e = v.pp("embeddings");
        let w = e.get((d, ch, p, p), "patch_embedding.weight")?;
        let patch = Linear {
            w: to_vec(w.reshape((d, ch * p * p))?.t()?.contiguous()?)?.into(),
            packed: None,
            layout: Layout::InOut,
            bias: if clip {
                None
            } else {
                Some(to_vec(e.get(d, "patch_embedding.bias")?)?)
            },
            n_in: ch * p * p,
            n_out: d,
        };
        let eps = c.layer_norm_eps;
        let act = config.vision_act();
        let pool = if clip {
            ImagePool::Cls {
                projection: Linear::load(
                    &vb.pp("visual_projection"),
                    d,
                    config.projection_dim,
                    false,
                    Layout::InOut,
                    None,
                )?,
            }
        } else {
            ImagePool::Map(Box::new(MapHead::load(
                &v.pp("head"),
                d,
                c.intermediate_size,
                c.num_attention_heads,
                eps,
                act,
            )?))
        };
        Ok(Self {
            patch,
            class_embedding: if clip {
                Some(to_vec(e.get(d, "class_embedding")?)?)
            } else {
                None
            },
            positions: to_vec(e.get((config.vision_positions(), d), "position_embedding.weight")?)?,
            pre_ln: if clip {
                Some(LayerNorm::load(&v.pp("pre_layrnorm"), d, eps)?)
            } else {
                None
            },
            encoder: Encoder::load(
                &v.pp("encoder"),
                Shape {
                    dim: d,
                    mlp: c.intermediate_size,
                    heads: c.num_attention_heads,
                    layers: c.num_hidden_layers,
                    eps,
                    act,
                },
                Layout::InOut,
                None,
            )?,
            post_ln: LayerNorm::load(&v.pp("post_layernorm"), d, eps)?,
            pool,
            image_size: c.image_size,
            patch_size: p,
            channels: ch,
        })
    }

    /// Switches every dense layer to `precision`'s weights and kernel (the
    /// caller checks that the CPU runs it). Attention, norms and activations
    /// stay f32.
    pub(crate) fn use_precision(&mut self, precision: Precision) {
        // The layers are packed side by side, one per core at a time.
        let mut layers: Vec<&mut Linear> = vec![&mut self.patch];
        for l in &mut self.encoder.layers {
            layers.extend([&mut l.qkv, &mut l.out, &mut l.fc1, &mut l.fc2]);
        }
        match &mut self.pool {
            ImagePool::Cls { projection } => layers.push(projection),
            ImagePool::Map(head) => {
                layers.extend([&mut head.kv, &mut head.out, &mut head.fc1, &mut head.fc2])
            }
        }
        layers
            .into_par_iter()
            .for_each(|lin| lin.use_precision(precision));
    }

    /// Projected (unnormalised) features for `batch` images stored back to back
    /// as `channels × size × size` planes.
    ///
    /// A batch of at least two images per core is split into one shard per core,
    /// each run start to finish on its own thread: no synchronisation between the
    /// ~100 kernels of a forward pass, and each core keeps its activations in cache.
    /// Smaller batches (a query image) spread each kernel across the cores instead.
    pub(crate) fn forward(&self, pixels: &[f32], batch: usize) -> Vec<f32> {
        let threads = rayon::current_num_threads();
        if threads > 1 && batch >= 2 * threads && !serial() {
            let per_image = pixels.len() / batch;
            let per_shard = batch.div_ceil(threads);
            let shards: Vec<Vec<f32>> = pixels
                .par_chunks(per_shard * per_image)
                .map(|p| run_serial(|| self.forward_batch(p, p.len() / per_image)))
                .collect();
            return shards.concat();
        }
        self.forward_batch(pixels, batch)
    }

    fn forward_batch(&self, pixels: &[f32], batch: usize) -> Vec<f32> {
        let (s, p, ch) = (self.image_size, self.patch_size, self.channels);
        let d = self.encoder.dim;
        let grid = s / p;
        let np = grid * grid;
        // CLIP's class token goes first.
        let lead = usize::from(self.class_embedding.is_some());
        let seq = np + lead;
        assert_eq!(pixels.len(), batch * ch * s * s);
        // im2col: one row per patch, in the conv weight's (channel, y, x) order.
        let k = ch * p * p;
        let mut patches = vec![0f32; batch * np * k];
        for_chunks(&mut patches, k, |row, dst| {
            let (b, pi) = (row / np, row % np);
            let (py, px) = (pi / grid, pi % grid);
            let img = &pixels[b * ch * s * s..(b + 1) * ch * s * s];
            for c in 0..ch {
                for y in 0..p {
                    let src = c * s * s + (py * p + y) * s + px * p;
                    let at = (c * p + y) * p;
                    dst[at..at + p].copy_from_slice(&img[src..src + p]);
                }
            }
        });
        let mut embedded = vec![0f32; batch * np * d];
        self.patch
            .forward(&patches, batch * np, &mut embedded, false);
        let mut x = vec![0f32; batch * seq * d];
        for b in 0..batch {
            for t in 0..seq {
                let dst = &mut x[(b * seq + t) * d..(b * seq + t + 1) * d];
                let pos = &self.positions[t * d..(t + 1) * d];
                let src = match &self.class_embedding {
                    Some(cls) if t == 0 => &cls[..],
                    _ => &embedded[(b * np + t - lead) * d..(b * np + t - lead + 1) * d],
                };
                for ((o, a), q) in dst.iter_mut().zip(src).zip(pos) {
                    *o = a + q;
                }
            }
        }
        if let Some(pre_ln) = &self.pre_ln {
            let mut normed = vec![0f32; x.len()];
            pre_ln.forward(&x, &mut normed);
            x = normed;
        }
        match &self.pool {
            ImagePool::Cls { projection } => {
                let keep: Vec<usize> = (0..batch).map(|b| b * seq).collect();
                let pooled = self.encoder.forward(x, batch, seq, false, &keep);
                let mut normed = vec![0f32; pooled.len()];
                self.post_ln.forward(&pooled, &mut normed);
                let mut out = vec![0f32; batch * projection.n_out];
                projection.forward(&normed, batch, &mut out, false);
                out
            }
            ImagePool::Map(head) => {
                let keep: Vec<usize> = (0..batch * seq).collect();
                let tokens = self.encoder.forward(x, batch, seq, false, &keep);
                let mut normed = vec![0f32; tokens.len()];
                self.post_ln.forward(&tokens, &mut normed);
                head.forward(&normed, batch, seq)
            }
        }
    }
}

/// The text tower: token and position embeddings, encoder (causal for CLIP,
/// both ways for SigLIP), the pooled row (CLIP: the first end-of-text token;
/// SigLIP: the last position), final layer norm, projection (SigLIP: `head`).
pub(crate) struct TextTower {
    /// Read in place from the model file where it is stored as f32: a query reads
    /// a few rows of it.
    tokens: Floats,
    positions: Vec<f32>,
    encoder: Encoder,
    final_ln: LayerNorm,
    projection: Linear,
    causal: bool,
}

impl TextTower {
    /// Reads the tower; with `mapped`, its `[out, in]` matrices and the token
    /// embedding are used in place where the file stores them as f32.
    pub(crate) fn load(
        vb: &VarBuilder,
        config: &ClipConfig,
        mapped: Option<&Arc<MappedWeights>>,
    ) -> CResult<Self> {
        let c = &config.text;
        let d = c.hidden_size;
        let t = vb.pp("text_model");
        let e = t.pp("embeddings");
        Ok(Self {
            tokens: as_stored(&e, "token_embedding.weight", c.vocab_size, d, mapped)?,
            positions: to_vec(e.get((c.max_position_embeddings, d), "position_embedding.weight")?)?,
            encoder: Encoder::load(
                &t.pp("encoder"),
                Shape {
                    dim: d,
                    mlp: c.intermediate_size,
                    heads: c.num_attention_heads,
                    layers: c.num_hidden_layers,
                    eps: c.layer_norm_eps,
                    act: config.text_act(),
                },
                Layout::OutIn,
                mapped,
            )?,
            final_ln: LayerNorm::load(&t.pp("final_layer_norm"), d, c.layer_norm_eps)?,
            projection: match config.family {
                Family::Clip => Linear::load(
                    &vb.pp("text_projection"),
                    d,
                    config.projection_dim,
                    false,
                    Layout::OutIn,
                    mapped,
                )?,
                Family::Siglip => Linear::load(
                    &t.pp("head"),
                    d,
                    config.projection_dim,
                    true,
                    Layout::OutIn,
                    mapped,
                )?,
            },
            causal: config.family == Family::Clip,
        })
    }

    /// Weight floats read in place from the model file, and floats copied (the
    /// fused Q/K/V matrices, vectors, and whatever the file does not store as f32).
    pub(crate) fn weight_floats(&self) -> (usize, usize) {
        let mut all: Vec<&Floats> = vec![&self.tokens, &self.projection.w];
        let mut copied = self.positions.len() + 2 * self.final_ln.gamma.len();
        for l in &self.encoder.layers {
            all.extend([&l.qkv.w, &l.out.w, &l.fc1.w, &l.fc2.w]);
            copied += 4 * l.ln1.gamma.len();
            copied += [&l.qkv, &l.out, &l.fc1, &l.fc2]
                .iter()
                .map(|x| x.bias.as_ref().map_or(0, |b| b.len()))
                .sum::<usize>();
        }
        let mapped: usize = all.iter().filter(|w| w.is_mapped()).map(|w| w.len()).sum();
        let owned: usize = all.iter().filter(|w| !w.is_mapped()).map(|w| w.len()).sum();
        (mapped, owned + copied)
    }

    /// Projected (unnormalised) features for `batch` sequences of `len` ids stored
    /// back to back; `pool_at[b]` is the position pooled for sequence `b`. Ids and
    /// lengths are checked by the caller.
    pub(crate) fn forward(
        &self,
        ids: &[u32],
        batch: usize,
        len: usize,
        pool_at: &[usize],
    ) -> Vec<f32> {
        let d = self.encoder.dim;
        assert_eq!(ids.len(), batch * len);
        let mut x = vec![0f32; batch * len * d];
        for (row, (&id, dst)) in ids.iter().zip(x.chunks_exact_mut(d)).enumerate() {
            let tok = &self.tokens[id as usize * d..(id as usize + 1) * d];
            let pos = &self.positions[(row % len) * d..(row % len + 1) * d];
            for ((o, a), p) in dst.iter_mut().zip(tok).zip(pos) {
                *o = a + p;
            }
        }
        let keep: Vec<usize> = pool_at
            .iter()
            .enumerate()
            .map(|(b, &p)| b * len + p)
            .collect();
        let pooled = self.encoder.forward(x, batch, len, self.causal, &keep);
        let mut normed = vec![0f32; pooled.len()];
        self.final_ln.forward(&pooled, &mut normed);
        let mut out = vec![0f32; batch * self.projection.n_out];
        self.projection.forward(&normed, batch, &mut out, false);
        out
    }
}

/// What [`BertTower::load`] reads from a DistilBERT `config.json`.
pub(crate) struct BertShape {
    pub vocab: usize,
    pub dim: usize,
    pub heads: usize,
    pub mlp: usize,
    pub layers: usize,
    pub positions: usize,
}

/// One post-norm layer: attention, residual, norm; MLP, residual, norm.
struct BertLayer {
    qkv: Linear,
    out: Linear,
    ln1: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    ln2: LayerNorm,
}

/// A DistilBERT text encoder (the multilingual towers sentence-transformers
/// trained into CLIP's space): token and position embeddings and a layer norm,
/// then post-norm layers with exact GELU, every token's row returned. The same
/// flat buffers and kernels as the CLIP towers; layer norms at DistilBERT's
/// 1e-12.
pub(crate) struct BertTower {
    /// Read in place from the model file where it is stored as f32 (119,547
    /// rows for the multilingual vocabulary: a query reads a few).
    tokens: Floats,
    positions: Vec<f32>,
    embed_ln: LayerNorm,
    layers: Vec<BertLayer>,
    dim: usize,
    heads: usize,
    mlp: usize,
}

impl BertTower {
    /// Reads a DistilBERT under `vb` (`embeddings.*`, `transformer.layer.N.*`).
    pub(crate) fn load(
        vb: &VarBuilder,
        shape: &BertShape,
        mapped: Option<&Arc<MappedWeights>>,
    ) -> CResult<Self> {
        const EPS: f64 = 1e-12;
        let &BertShape {
            vocab,
            dim,
            heads,
            mlp,
            layers,
            positions,
        } = shape;
        let e = vb.pp("embeddings");
        let layers = (0..layers)
            .map(|i| {
                let l = vb.pp(format!("transformer.layer.{i}"));
                let lin = |p: &str, n_in, n_out| {
                    Linear::load(&l.pp(p), n_in, n_out, true, Layout::OutIn, mapped)
                };
                Ok(BertLayer {
                    qkv: Linear::fuse(&[
                        lin("attention.q_lin", dim, dim)?,
                        lin("attention.k_lin", dim, dim)?,
                        lin("attention.v_lin", dim, dim)?,
                    ]),
                    out: lin("attention.out_lin", dim, dim)?,
                    ln1: LayerNorm::load(&l.pp("sa_layer_norm"), dim, EPS)?,
                    fc1: lin("ffn.lin1", dim, mlp)?,
                    fc2: lin("ffn.lin2", mlp, dim)?,
                    ln2: LayerNorm::load(&l.pp("output_layer_norm"), dim, EPS)?,
                })
            })
            .collect::<CResult<Vec<_>>>()?;
        Ok(Self {
            tokens: as_stored(&e, "word_embeddings.weight", vocab, dim, mapped)?,
            positions: to_vec(e.get((positions, dim), "position_embeddings.weight")?)?,
            embed_ln: LayerNorm::load(&e.pp("LayerNorm"), dim, EPS)?,
            layers,
            dim,
            heads,
            mlp,
        })
    }

    pub(crate) fn dim(&self) -> usize {
        self.dim
    }

    /// Every token's final row (`ids.len() × dim`) for one sequence with no
    /// padding; ids and length are checked by the caller.
    pub(crate) fn forward(&self, ids: &[u32]) -> Vec<f32> {
        let (d, rows) = (self.dim, ids.len());
        let mut e = vec![0f32; rows * d];
        for (row, (&id, dst)) in ids.iter().zip(e.chunks_exact_mut(d)).enumerate() {
            let tok = &self.tokens[id as usize * d..(id as usize + 1) * d];
            let pos = &self.positions[row * d..(row + 1) * d];
            for ((o, a), p) in dst.iter_mut().zip(tok).zip(pos) {
                *o = a + p;
            }
        }
        let mut x = vec![0f32; rows * d];
        self.embed_ln.forward(&e, &mut x);
        let mut qkv = vec![0f32; rows * 3 * d];
        let mut attn = vec![0f32; rows * d];
        let mut mlp = vec![0f32; rows * self.mlp];
        for layer in &self.layers {
            layer.qkv.forward(&x, rows, &mut qkv, false);
            attention(&qkv, 1, rows, d, self.heads, false, &mut attn);
            // e = x + attn·Wₒ, then x = norm(e).
            e.copy_from_slice(&x);
            layer.out.forward(&attn, rows, &mut e, true);
            layer.ln1.forward(&e, &mut x);
            layer.fc1.forward(&x, rows, &mut mlp, false);
            gelu(&mut mlp);
            e.copy_from_slice(&x);
            layer.fc2.forward(&mlp, rows, &mut e, true);
            layer.ln2.forward(&e, &mut x);
        }
        x
    }
}

/// A dense layer of a sentence-transformers head (`2_Dense`): `[out, in]`
/// weight, optional bias.
pub(crate) struct Dense(Linear);

impl Dense {
    pub(crate) fn load(vb: &VarBuilder, n_in: usize, n_out: usize, bias: bool) -> CResult<Self> {
        Ok(Self(Linear::load(
            &vb.pp("linear"),
            n_in,
            n_out,
            bias,
            Layout::OutIn,
            None,
        )?))
    }

    pub(crate) fn n_out(&self) -> usize {
        self.0.n_out
    }

    /// `x·Wᵀ + b` for one row.
    pub(crate) fn forward(&self, x: &[f32]) -> Vec<f32> {
        let mut out = vec![0f32; self.0.n_out];
        self.0.forward(x, 1, &mut out, false);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_std_within_two_ulp() {
        let mut worst = 0f32;
        let mut x = -87.0f32;
        while x < 88.0 {
            let (got, want) = (exp(x), x.exp());
            worst = worst.max(((got - want) / want).abs());
            x += 0.000_731;
        }
        assert!(worst < 2.5e-7, "worst relative error {worst}");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) >= 0.0 && exp(-1000.0) < 1e-37);
        assert!(exp(1000.0).is_finite());
    }

    #[test]
    fn gelu_tanh_is_pytorchs_tanh_approximation() {
        // PyTorch: F.gelu(x, approximate="tanh"), as transformers' gelu_pytorch_tanh.
        let xs = [-3.0f32, -1.0, 0.0, 0.5, 1.0, 2.0, 6.0, -6.0];
        let want = [
            -0.003_637_433,
            -0.158_808,
            0.0,
            0.345_714,
            0.841_192,
            1.954_597_7,
            6.0,
            0.0,
        ];
        let mut g = xs.to_vec();
        activate(Act::GeluTanh, &mut g);
        for i in 0..xs.len() {
            assert!(
                (g[i] - want[i]).abs() < 1e-6,
                "gelu_tanh({}) = {}",
                xs[i],
                g[i]
            );
        }
        // Not the exact GELU (the two differ by ~1.5e-4 at -1).
        let mut e = xs.to_vec();
        gelu(&mut e);
        assert!((e[1] - g[1]).abs() > 1e-4);
    }

    #[test]
    fn erf_is_within_five_ulp_of_libms() {
        // A&S 7.1.26's bound is 1.5e-7 in exact arithmetic; f32 rounding of the
        // polynomial and of `exp` brings it to ~5e-7 (PyTorch's is the same
        // formula). Odd, and saturating to ±1 (no NaN or overshoot) far out.
        let mut worst = 0f32;
        for i in -60_000..=60_000 {
            let x = i as f32 / 10_000.0;
            let (ours, libm) = (erf(x), libm::erff(x));
            worst = worst.max((ours - libm).abs());
            assert_eq!(erf(-x), -ours, "erf is odd at {x}");
        }
        assert!(worst < 6e-7, "worst |erf - erff| = {worst}");
        for x in [10.0f32, 50.0, 1e30, f32::MAX] {
            assert_eq!(erf(x), 1.0);
            assert_eq!(erf(-x), -1.0);
        }
    }

    #[test]
    fn gelu_is_the_exact_one_and_quick_gelu_the_sigmoid_one() {
        // PyTorch: F.gelu(x) and x * sigmoid(1.702 x) at -3, -1, 0, 0.5, 1, 2.
        let xs = [-3.0f32, -1.0, 0.0, 0.5, 1.0, 2.0];
        let exact = [
            -0.004_049_867,
            -0.158_655_29,
            0.0,
            0.345_731_2,
            0.841_344_7,
            1.954_5,
        ];
        let quick = [
            -0.018_071_31,
            -0.154_204_23,
            0.0,
            0.350_388_44,
            0.845_795_75,
            1.935_658_6,
        ];
        let mut g = xs.to_vec();
        gelu(&mut g);
        let mut q = xs.to_vec();
        quick_gelu(&mut q);
        for i in 0..xs.len() {
            assert!((g[i] - exact[i]).abs() < 1e-6, "gelu({}) = {}", xs[i], g[i]);
            assert!(
                (q[i] - quick[i]).abs() < 1e-6,
                "quick_gelu({}) = {}",
                xs[i],
                q[i]
            );
        }
    }

    #[test]
    fn both_matmul_kernels_equal_the_definition() {
        // [out, in] takes the streaming kernels (dot-product tiles up to 16 rows;
        // with AVX-512, outer products past that: 1 to 4 row vectors, k in one
        // to four packed slices of whole 16 × 16 squares and edges), [in, out]
        // GEMM (one thread below its threshold, column blocks or its own threads
        // above it). Neither m nor n is a
        // multiple of a tile or of the column block, k not of 16; and
        // accumulation keeps what was there.
        for (m, n, k) in [
            (3, 300, 37),
            (16, 129, 8),
            (40, 70, 33),
            (30, 70, 200),
            (64, 131, 50),
            (77, 200, 80),
            (130, 150, 64),
        ] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 13) % 29) as f32 / 7.0 - 2.0)
                .collect();
            let b: Vec<f32> = (0..k * n)
                .map(|i| ((i * 17) % 31) as f32 / 9.0 - 1.5)
                .collect();
            let mut want = vec![0f32; m * n];
            for r in 0..m {
                for c in 0..n {
                    want[r * n + c] = (0..k).map(|i| a[r * k + i] * b[c * k + i]).sum::<f32>();
                }
            }
            // The same W stored [in, out] (transposed).
            let bt: Vec<f32> = (0..k * n).map(|x| b[(x % n) * k + x / n]).collect();
            for (w, layout) in [(&b, Layout::OutIn), (&bt, Layout::InOut)] {
                let mut got = vec![0f32; m * n];
                matmul(m, n, k, &mut got, false, &a, w, layout);
                let mut acc = vec![2f32; m * n];
                matmul(m, n, k, &mut acc, true, &a, w, layout);
                for i in 0..m * n {
                    let tol = 1e-4 * want[i].abs().max(1.0);
                    assert!((got[i] - want[i]).abs() <= tol, "{m}×{n}×{k} {layout:?}");
                    assert!((acc[i] - want[i] - 2.0).abs() <= tol, "{layout:?}");
                }
            }
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn packed_panels_hold_each_slice_of_the_weights_transposed() {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            return; // the outer-product path (and its packing) runs only with AVX-512
        }
        // Whole 16 × 16 squares, edges of outputs and of steps, and a slice
        // that starts inside k.
        for (cols, k, p0) in [
            (64, 200, 64),
            (64, 64, 0),
            (37, 50, 0),
            (16, 83, 64),
            (5, 16, 0),
        ] {
            let w: Vec<f32> = (0..cols * k).map(|i| i as f32).collect();
            let p1 = (p0 + OUTER_SLICE).min(k);
            let mut panel = vec![f32::NAN; OUTER_SLICE * STREAM_OUTPUTS];
            pack_panel(&w, k, cols, p0, p1, &mut panel);
            for p in p0..p1 {
                for j in 0..cols {
                    assert_eq!(
                        panel[(p - p0) * STREAM_OUTPUTS + j],
                        w[j * k + p],
                        "{cols}×{k} from {p0}: step {p}, output {j}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_streaming_tile_kernel_the_cpu_has_equals_the_definition() {
        let kernels = TileKernel::available();
        // Rows and outputs short of a tile, k short of a vector, of two, and long.
        for (m, cols, k) in [(1, 1, 1), (5, 7, 15), (4, 4, 16), (9, 6, 39), (64, 64, 768)] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 7) % 23) as f32 / 5.0 - 2.0)
                .collect();
            let w: Vec<f32> = (0..cols * k)
                .map(|i| ((i * 11) % 19) as f32 / 4.0 - 2.0)
                .collect();
            for &kernel in &kernels {
                let mut out = vec![f32::NAN; m * cols];
                stream_block(kernel, &mut out, &a, k, &w);
                for r in 0..m {
                    for c in 0..cols {
                        let want: f32 = (0..k).map(|p| a[r * k + p] * w[c * k + p]).sum();
                        let got = out[r * cols + c];
                        assert!(
                            (got - want).abs() <= 1e-4 * want.abs().max(1.0),
                            "{kernel:?} {m}×{cols}×{k} [{r}][{c}]: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn fused_linear_equals_parts() {
        let mk = |n_in: usize, n_out: usize, seed: usize| Linear {
            layout: Layout::InOut,
            packed: None,
            w: (0..n_in * n_out)
                .map(|i| ((i * 31 + seed) % 17) as f32 - 8.0)
                .collect(),
            bias: Some((0..n_out).map(|i| (i + seed) as f32).collect()),
            n_in,
            n_out,
        };
        let parts = [mk(5, 3, 1), mk(5, 4, 2)];
        let fused = Linear::fuse(&parts);
        let x: Vec<f32> = (0..10).map(|i| i as f32 * 0.5 - 2.0).collect();
        let mut all = vec![0f32; 2 * 7];
        fused.forward(&x, 2, &mut all, false);
        let mut a = vec![0f32; 2 * 3];
        let mut b = vec![0f32; 2 * 4];
        parts[0].forward(&x, 2, &mut a, false);
        parts[1].forward(&x, 2, &mut b, false);
        for r in 0..2 {
            assert_eq!(&all[r * 7..r * 7 + 3], &a[r * 3..r * 3 + 3]);
            assert_eq!(&all[r * 7 + 3..r * 7 + 7], &b[r * 4..r * 4 + 4]);
        }
        // Accumulating adds onto what is there (the residual).
        let mut acc = vec![1f32; 2 * 3];
        parts[0].forward(&x, 2, &mut acc, true);
        for (x, y) in acc.iter().zip(&a) {
            assert_eq!(*x, y + 1.0);
        }
    }
}
