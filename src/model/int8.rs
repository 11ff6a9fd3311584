//! The opt-in int8 image encoder's matrix product (`--precision int8`).
//!
//! **Weights** are quantised once, at load: symmetric int8 per output column
//! (scale = the column's largest magnitude / 127), packed in panels of 32
//! columns of k-quads (four consecutive k of one column in a 32-bit lane: what
//! `vpdpbusd` and `tdpbusd` multiply), with each column's sum of its int8
//! weights kept beside them.
//!
//! **Activations** are quantised as each layer's input is packed, one row
//! (token) at a time: asymmetric u8 with the row's own scale and zero point,
//! from its smallest and largest value (zero kept inside the range, so it is
//! exact). The sums are exact in i32, and since `Σ (q_a − z)·q_w = Σ q_a·q_w −
//! z·Σ q_w`, each output is `s_a · s_w · (acc − z · colsum)`. Everything
//! outside the dense layers (layer norm, attention, softmax, GELU, residuals)
//! stays f32, as in bf16.
//!
//! Three kernels, chosen at run time:
//! - **AMX-INT8** (Intel Sapphire Rapids and later): `tdpbusd` multiplies a
//!   16×64 u8 tile by a 64×16 s8 one into 16×16 i32 sums; 32×32 blocks in four
//!   tiles, as the bf16 kernel ([`super::amx`]).
//! - **AVX-512 VNNI** (Intel Cascade Lake and later, AMD Zen 4 and later):
//!   `vpdpbusd` on 12 rows × 32 columns of i32 accumulators.
//! - **AVX-VNNI** (Intel Alder Lake and later without AVX-512): the same
//!   instruction on 256-bit registers, 6 rows × 16 columns.
//!
//! `SCRY_INT8_KERNEL=avx512` or `avxvnni` picks one (for comparisons); a kernel
//! named there that the CPU lacks means int8 is not available. [`kernel`] says
//! which one runs.

use super::amx::{self, Block, Tiles, TK, TM, TN as NR};

/// Input rows per AVX-512 VNNI register block (24 of 32 registers accumulate).
const MR: usize = 12;
/// Input rows per AVX-VNNI register block (12 of 16 registers accumulate).
const MR_AVX2: usize = 6;

/// The kernel that runs the int8 matrix products on this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Intel AMX tiles (`tdpbusd`).
    Amx,
    /// AVX-512 VNNI (`vpdpbusd` on 512-bit registers).
    Avx512Vnni,
    /// AVX-VNNI (`vpdpbusd` on 256-bit registers).
    AvxVnni,
}

impl Kernel {
    /// The name the benchmarks print.
    pub fn name(self) -> &'static str {
        match self {
            Self::Amx => "AMX-INT8 tiles",
            Self::Avx512Vnni => "AVX-512 VNNI",
            Self::AvxVnni => "AVX-VNNI",
        }
    }

    /// Whether this CPU (and process) can run it.
    fn available(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            let avx512 =
                is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vnni");
            match self {
                Self::Amx => avx512 && amx::has_int8(),
                Self::Avx512Vnni => avx512,
                Self::AvxVnni => {
                    is_x86_feature_detected!("avx2")
                        && is_x86_feature_detected!("fma")
                        && is_x86_feature_detected!("avxvnni")
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }
}

/// The kernel int8 products use here, or `None` where none can run.
pub(crate) fn kernel() -> Option<Kernel> {
    static KERNEL: std::sync::OnceLock<Option<Kernel>> = std::sync::OnceLock::new();
    *KERNEL.get_or_init(|| match std::env::var("SCRY_INT8_KERNEL").as_deref() {
        Ok("avx512") => Some(Kernel::Avx512Vnni).filter(|k| k.available()),
        Ok("avxvnni") => Some(Kernel::AvxVnni).filter(|k| k.available()),
        _ => [Kernel::Amx, Kernel::Avx512Vnni, Kernel::AvxVnni]
            .into_iter()
            .find(|k| k.available()),
    })
}

/// Rounds to the nearest integer, ties to even, for `|x| < 2^22` (adding and
/// taking away 1.5·2^23 leaves no fraction bits): vectorises, unlike a call.
#[inline(always)]
fn round_even(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    (x + MAGIC) - MAGIC
}

/// A row's scale and zero point from its smallest and largest value, widened
/// to hold 0: `x ≈ scale · (q − zero)` with `q` in 0..=255.
#[inline(always)]
fn row_scale(min: f32, max: f32) -> (f32, f32, f32) {
    let (min, max) = (min.min(0.0), max.max(0.0));
    let scale = if max > min { (max - min) / 255.0 } else { 1.0 };
    let inv = 1.0 / scale;
    let zero = round_even(-min * inv).clamp(0.0, 255.0);
    (scale, inv, zero)
}

/// Quantises one row to u8 with its own scale and zero point ([`row_scale`]);
/// returns them.
#[inline(always)]
fn quantise_row(row: &[f32], out: &mut [u8]) -> (f32, i32) {
    // Sixteen lanes of running extremes, branch-free: vectorised.
    let (mut lo, mut hi) = ([0f32; 16], [0f32; 16]);
    let chunks = row.chunks_exact(16);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..16 {
            lo[i] = if c[i] < lo[i] { c[i] } else { lo[i] };
            hi[i] = if c[i] > hi[i] { c[i] } else { hi[i] };
        }
    }
    let mut min = lo.iter().fold(0f32, |a, &b| a.min(b));
    let mut max = hi.iter().fold(0f32, |a, &b| a.max(b));
    for &x in rest {
        min = min.min(x);
        max = max.max(x);
    }
    let (scale, inv, zero) = row_scale(min, max);
    for (o, &x) in out.iter_mut().zip(row) {
        *o = round_even(x.mul_add(inv, zero)).clamp(0.0, 255.0) as u8;
    }
    (scale, zero as i32)
}

/// [`quantise_row`] with AVX-512: the same bytes, scale and zero point.
///
/// # Safety
/// AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn quantise_row_avx512(row: &[f32], out: &mut [u8]) -> (f32, i32) {
    use std::arch::x86_64::*;
    let k = row.len();
    debug_assert!(out.len() >= k);
    let tail = |i: usize| -> __mmask16 {
        let left = k - i;
        if left >= 16 {
            0xFFFF
        } else {
            (1u16 << left) - 1
        }
    };
    // Masked-off lanes read 0, which the range holds anyway.
    let (mut lo, mut hi) = (_mm512_setzero_ps(), _mm512_setzero_ps());
    for i in (0..k).step_by(16) {
        let x = _mm512_maskz_loadu_ps(tail(i), row.as_ptr().add(i));
        lo = _mm512_min_ps(lo, x);
        hi = _mm512_max_ps(hi, x);
    }
    let (scale, inv, zero) = row_scale(_mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi));
    let (vinv, vzero) = (_mm512_set1_ps(inv), _mm512_set1_ps(zero));
    let (floor, ceil) = (_mm512_setzero_si512(), _mm512_set1_epi32(255));
    for i in (0..k).step_by(16) {
        let m = tail(i);
        let x = _mm512_maskz_loadu_ps(m, row.as_ptr().add(i));
        // x·inv + zero rounded to nearest even (the default rounding mode).
        let q = _mm512_cvtps_epi32(_mm512_fmadd_ps(x, vinv, vzero));
        let q = _mm512_min_epi32(_mm512_max_epi32(q, floor), ceil);
        _mm512_mask_cvtepi32_storeu_epi8(out.as_mut_ptr().add(i) as *mut _, m, q);
    }
    (scale, zero as i32)
}

/// A layer's input, quantised: rows of `quads` 32-bit k-quads laid out for the
/// kernel, with each row's scale and zero point.
struct Input {
    data: Vec<u32>,
    scale: Vec<f32>,
    zero: Vec<i32>,
}

/// A `k × n` weight matrix in int8, packed for the kernels: panel `j` holds
/// columns `32j..32j+32`; within it k-quad `g` is 32 lanes of the four int8
/// weights `w[4g..4g+4][c]`. `k` and a partial last panel are zero-padded.
pub(crate) struct PackedInt8 {
    k: usize,
    n: usize,
    quads: usize,
    data: Vec<u32>,
    /// Per column (padded to whole panels): the weights' scale and the sum of
    /// the column's int8 weights.
    scale: Vec<f32>,
    colsum: Vec<i32>,
}

impl PackedInt8 {
    /// Quantises and packs the weights `w(row, col)` of a `k × n` matrix.
    pub(crate) fn pack(k: usize, n: usize, w: impl Fn(usize, usize) -> f32) -> Self {
        // Whole AMX tiles of k (64 bytes); the padding's weights are zero.
        let quads = k.div_ceil(4 * TK) * TK;
        let padded = n.div_ceil(NR) * NR;
        // Row by row (the order the weights are read fastest in): each column's
        // largest magnitude, then the sum of its int8 weights.
        let mut most = vec![0f32; n];
        for r in 0..k {
            for (c, m) in most.iter_mut().enumerate() {
                *m = m.max(w(r, c).abs());
            }
        }
        let mut scale = vec![1f32; padded];
        for (s, &m) in scale.iter_mut().zip(&most) {
            if m > 0.0 {
                *s = m / 127.0;
            }
        }
        let inv: Vec<f32> = scale.iter().map(|s| 1.0 / s).collect();
        let q = |r: usize, c: usize| -> i8 {
            if r < k {
                round_even(w(r, c) * inv[c]).clamp(-127.0, 127.0) as i8
            } else {
                0
            }
        };
        let mut colsum = vec![0i32; padded];
        for r in 0..k {
            for (c, sum) in colsum.iter_mut().enumerate().take(n) {
                *sum += q(r, c) as i32;
            }
        }
        let data = amx::pack_panels(quads, n, |g, c| {
            let b = [
                q(4 * g, c),
                q(4 * g + 1, c),
                q(4 * g + 2, c),
                q(4 * g + 3, c),
            ];
            u32::from_le_bytes(b.map(|v| v as u8))
        });
        Self {
            k,
            n,
            quads,
            data,
            scale,
            colsum,
        }
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
        let kernel = kernel().expect("int8 kernel on a CPU without VNNI");
        self.matmul_with(kernel, m, dst, accumulate, a, parallel);
    }

    /// [`Self::matmul`] on a given kernel (the tests run each one the CPU has).
    fn matmul_with(
        &self,
        kernel: Kernel,
        m: usize,
        dst: &mut [f32],
        accumulate: bool,
        a: &[f32],
        parallel: bool,
    ) {
        let (k, n) = (self.k, self.n);
        assert!(dst.len() >= m * n && a.len() >= m * k, "matmul bounds");
        assert!(kernel.available(), "{kernel:?} kernel on a CPU without it");
        if m == 0 {
            return;
        }
        if k == 0 {
            // An empty sum: the kernels never run.
            if !accumulate {
                dst[..m * n].fill(0.0);
            }
            return;
        }
        let input = match kernel {
            Kernel::Amx => self.quantise(m, a, TM, 1),
            Kernel::Avx512Vnni => self.quantise(m, a, MR, MR),
            Kernel::AvxVnni => self.quantise(m, a, MR_AVX2, MR_AVX2),
        };
        let panels = n.div_ceil(NR);
        #[cfg(target_arch = "x86_64")]
        {
            let dst_ptr = amx::SendPtr(dst.as_mut_ptr());
            amx::over_panels(panels, parallel, |j0, j1| {
                let dst = dst_ptr.get();
                // SAFETY: the kernel is available (asserted above); the kernels
                // write only rows < m and columns < n of `dst` (bounds asserted
                // above), and tasks own disjoint column ranges.
                unsafe {
                    match kernel {
                        Kernel::Amx => self.amx_panels(m, j0, j1, dst, accumulate, &input),
                        Kernel::Avx512Vnni => {
                            self.avx512_panels(m, j0, j1, dst, accumulate, &input)
                        }
                        Kernel::AvxVnni => self.avx2_panels(m, j0, j1, dst, accumulate, &input),
                    }
                }
            });
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (input, panels, accumulate, dst, parallel);
    }

    /// Quantises the `m` rows of `a` (each row's own scale and zero point) and
    /// lays them out in blocks of `block` rows (padded with zero rows), with
    /// `lanes` rows interleaved per k-quad: 1 is row-major (AMX tiles), `MR`
    /// puts quad `g` of the block's rows side by side (register blocking).
    fn quantise(&self, m: usize, a: &[f32], block: usize, lanes: usize) -> Input {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") {
                // SAFETY: checked just above.
                return self.quantise_with(m, a, block, lanes, |row, out| unsafe {
                    quantise_row_avx512(row, out)
                });
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                // SAFETY: checked just above.
                return unsafe { self.quantise_avx2(m, a, block, lanes) };
            }
        }
        self.quantise_with(m, a, block, lanes, quantise_row)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn quantise_avx2(&self, m: usize, a: &[f32], block: usize, lanes: usize) -> Input {
        self.quantise_with(m, a, block, lanes, quantise_row)
    }

    #[inline(always)]
    fn quantise_with(
        &self,
        m: usize,
        a: &[f32],
        block: usize,
        lanes: usize,
        quantise: impl Fn(&[f32], &mut [u8]) -> (f32, i32),
    ) -> Input {
        let (k, quads) = (self.k, self.quads);
        let rows = m.div_ceil(block) * block;
        let mut data = vec![0u32; rows * quads];
        let mut scale = vec![1f32; rows];
        let mut zero = vec![0i32; rows];
        let mut bytes = vec![0u8; quads * 4];
        for (r, row) in a.chunks_exact(k).take(m).enumerate() {
            if lanes == 1 {
                // Row-major: the row's bytes are its quads, in place.
                let out = &mut data[r * quads..(r + 1) * quads];
                // SAFETY: the u32s are reinterpreted as their bytes (u8 has no
                // alignment; little-endian, as the kernels read them).
                let out = unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr() as *mut u8, k) };
                (scale[r], zero[r]) = quantise(row, out);
            } else {
                (scale[r], zero[r]) = quantise(row, &mut bytes[..k]);
                let (b, lane) = (r / lanes, r % lanes);
                let base = b * quads * lanes + lane;
                for (g, q) in bytes.chunks_exact(4).enumerate() {
                    data[base + g * lanes] = u32::from_le_bytes([q[0], q[1], q[2], q[3]]);
                }
            }
        }
        Input { data, scale, zero }
    }

    /// Panels `j0..j1` of the product on AMX tiles, all rows.
    ///
    /// # Safety
    /// AMX-INT8 and AVX-512 F are available; `dst` has `m` rows of `n` floats;
    /// `input` is row-major in blocks of `TM` rows.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn amx_panels(
        &self,
        m: usize,
        j0: usize,
        j1: usize,
        dst: *mut f32,
        accumulate: bool,
        input: &Input,
    ) {
        let (quads, n) = (self.quads, self.n);
        let rows_padded = m.div_ceil(TM) * TM;
        debug_assert_eq!(input.data.len(), rows_padded * quads);
        let mut block = Block::<i32>::new();
        let _tiles = Tiles::configure();
        amx::for_each_block(rows_padded, quads, j0..j1, |blk, j| {
            let cols = NR.min(n - j * NR);
            let b = self.data.as_ptr().add(j * quads * NR);
            let a = input.data.as_ptr().add(blk * quads);
            amx::block_int8(quads, a, b, &mut block);
            let rows = TM.min(m - blk);
            for r in 0..rows {
                let sums = block.0.as_ptr().add(r * NR);
                let load =
                    |h: usize| std::arch::x86_64::_mm512_loadu_si512(sums.add(16 * h) as *const _);
                let row = blk + r;
                self.finish_row([load(0), load(1)], row, j, cols, input, dst, accumulate);
            }
        });
    }

    /// Row `row`'s outputs in panel `j` (`cols` of them) from their i32 sums,
    /// two halves of 16 ([`finish16`]).
    ///
    /// # Safety
    /// AVX-512 F; `dst` has `m` rows of `n` floats and `row < m`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    unsafe fn finish_row(
        &self,
        sums: [std::arch::x86_64::__m512i; 2],
        row: usize,
        j: usize,
        cols: usize,
        input: &Input,
        dst: *mut f32,
        accumulate: bool,
    ) {
        let out = dst.add(row * self.n + j * NR);
        for (h, &s) in sums.iter().enumerate() {
            finish16(
                s,
                lanes(cols, h),
                input.zero[row],
                input.scale[row],
                self.colsum.as_ptr().add(j * NR + 16 * h),
                self.scale.as_ptr().add(j * NR + 16 * h),
                out.add(16 * h),
                accumulate,
            );
        }
    }

    /// Panels `j0..j1` of the product with AVX-512 VNNI, all rows.
    ///
    /// # Safety
    /// AVX-512 F and VNNI; `dst` has `m` rows of `n` floats; `input` is in
    /// blocks of `MR` interleaved rows.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vnni")]
    unsafe fn avx512_panels(
        &self,
        m: usize,
        j0: usize,
        j1: usize,
        dst: *mut f32,
        accumulate: bool,
        input: &Input,
    ) {
        use std::arch::x86_64::*;
        let (quads, n) = (self.quads, self.n);
        for j in j0..j1 {
            let cols = NR.min(n - j * NR);
            let b = self.data.as_ptr().add(j * quads * NR);
            for blk in 0..m.div_ceil(MR) {
                let rows = MR.min(m - blk * MR);
                let a = input.data.as_ptr().add(blk * quads * MR);
                let mut acc = [[_mm512_setzero_si512(); 2]; MR];
                for g in 0..quads {
                    let b0 = _mm512_loadu_si512(b.add(g * NR) as *const _);
                    let b1 = _mm512_loadu_si512(b.add(g * NR + 16) as *const _);
                    let ag = a.add(g * MR);
                    for (r, acc) in acc.iter_mut().enumerate() {
                        let av = _mm512_set1_epi32(*ag.add(r) as i32);
                        acc[0] = _mm512_dpbusd_epi32(acc[0], av, b0);
                        acc[1] = _mm512_dpbusd_epi32(acc[1], av, b1);
                    }
                }
                for (r, &sums) in acc.iter().enumerate().take(rows) {
                    self.finish_row(sums, blk * MR + r, j, cols, input, dst, accumulate);
                }
            }
        }
    }

    /// Panels `j0..j1` of the product with AVX-VNNI (256-bit), all rows: each
    /// panel in two halves of 16 columns.
    ///
    /// # Safety
    /// AVX2, FMA and AVX-VNNI; `dst` has `m` rows of `n` floats; `input` is in
    /// blocks of `MR_AVX2` interleaved rows.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma,avxvnni")]
    unsafe fn avx2_panels(
        &self,
        m: usize,
        j0: usize,
        j1: usize,
        dst: *mut f32,
        accumulate: bool,
        input: &Input,
    ) {
        use std::arch::x86_64::*;
        let (quads, n) = (self.quads, self.n);
        for j in j0..j1 {
            for h in 0..2 {
                let cols = lanes_count(NR.min(n - j * NR), h);
                if cols == 0 {
                    continue;
                }
                let b = self.data.as_ptr().add(j * quads * NR + 16 * h);
                for blk in 0..m.div_ceil(MR_AVX2) {
                    let rows = MR_AVX2.min(m - blk * MR_AVX2);
                    let a = input.data.as_ptr().add(blk * quads * MR_AVX2);
                    let mut acc = [[_mm256_setzero_si256(); 2]; MR_AVX2];
                    for g in 0..quads {
                        let b0 = _mm256_loadu_si256(b.add(g * NR) as *const _);
                        let b1 = _mm256_loadu_si256(b.add(g * NR + 8) as *const _);
                        let ag = a.add(g * MR_AVX2);
                        for (r, acc) in acc.iter_mut().enumerate() {
                            let av = _mm256_set1_epi32(*ag.add(r) as i32);
                            acc[0] = _mm256_dpbusd_avx_epi32(acc[0], av, b0);
                            acc[1] = _mm256_dpbusd_avx_epi32(acc[1], av, b1);
                        }
                    }
                    for (r, acc) in acc.iter().enumerate().take(rows) {
                        let row = blk * MR_AVX2 + r;
                        let mut sums = [0i32; 16];
                        _mm256_storeu_si256(sums.as_mut_ptr() as *mut _, acc[0]);
                        _mm256_storeu_si256(sums.as_mut_ptr().add(8) as *mut _, acc[1]);
                        let out = dst.add(row * n + j * NR + 16 * h);
                        let col0 = j * NR + 16 * h;
                        let (z, s) = (input.zero[row], input.scale[row]);
                        for (c, &sum) in sums.iter().enumerate().take(cols) {
                            let v = (sum - z * self.colsum[col0 + c]) as f32
                                * (self.scale[col0 + c] * s);
                            let o = out.add(c);
                            *o = if accumulate { *o + v } else { v };
                        }
                    }
                }
            }
        }
    }
}

/// How many of half `h`'s 16 columns exist when a panel has `cols`.
#[inline(always)]
fn lanes_count(cols: usize, h: usize) -> usize {
    cols.saturating_sub(16 * h).min(16)
}

/// The store mask of half `h` of a panel with `cols` columns.
#[inline(always)]
fn lanes(cols: usize, h: usize) -> u16 {
    match lanes_count(cols, h) {
        16 => 0xFFFF,
        c => (1u16 << c) - 1,
    }
}

/// Sixteen outputs of one row from their i32 sums: `s_a · s_w · (acc − z ·
/// colsum)`, added to `out` when `accumulate`; only the lanes in `mask`.
///
/// # Safety
/// AVX-512 F; `colsum` and `scale` hold 16 values; `out` the masked lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn finish16(
    sums: std::arch::x86_64::__m512i,
    mask: u16,
    zero: i32,
    scale_a: f32,
    colsum: *const i32,
    scale: *const f32,
    out: *mut f32,
    accumulate: bool,
) {
    use std::arch::x86_64::*;
    if mask == 0 {
        return;
    }
    let cs = _mm512_loadu_si512(colsum as *const _);
    let exact = _mm512_sub_epi32(sums, _mm512_mullo_epi32(_mm512_set1_epi32(zero), cs));
    let s = _mm512_mul_ps(_mm512_loadu_ps(scale), _mm512_set1_ps(scale_a));
    let mut v = _mm512_mul_ps(_mm512_cvtepi32_ps(exact), s);
    if accumulate {
        v = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, out), v);
    }
    _mm512_mask_storeu_ps(out, mask, v);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng(mut s: u64) -> impl FnMut() -> f32 {
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 20_001) as f32 / 10_000.0 - 1.0
        }
    }

    #[test]
    fn rows_quantise_with_zero_exact_and_within_half_a_step() {
        let mut next = rng(7);
        for k in [1, 5, 16, 33, 768] {
            let mut row: Vec<f32> = (0..k).map(|_| next() * 3.0 + 0.5).collect();
            // Zero is a whole step: a zero input comes back as zero.
            row[k / 2] = 0.0;
            let mut q = vec![0u8; k];
            let (scale, zero) = quantise_row(&row, &mut q);
            assert_eq!(q[k / 2] as i32, zero, "k {k}");
            for (&x, &q) in row.iter().zip(&q) {
                let back = scale * (q as i32 - zero) as f32;
                assert!(
                    (back - x).abs() <= scale * 0.5 + 1e-6,
                    "k {k}: {x} → {back}"
                );
            }
        }
        // A row of zeros: scale 1, everything zero.
        let mut q = [9u8; 4];
        assert_eq!(quantise_row(&[0.0; 4], &mut q), (1.0, 0));
        assert_eq!(q, [0; 4]);
    }

    /// Every kernel this CPU has gives exactly the integer product of the
    /// quantised operands (to f32 rounding of the final scaling), for odd
    /// shapes, partial panels and blocks, with and without a residual.
    #[test]
    fn matmul_equals_the_quantised_definition_on_every_kernel() {
        let kernels: Vec<Kernel> = [Kernel::Amx, Kernel::Avx512Vnni, Kernel::AvxVnni]
            .into_iter()
            .filter(|k| k.available())
            .collect();
        if kernels.is_empty() {
            eprintln!("skipped: this CPU has no VNNI");
            return;
        }
        eprintln!("int8 kernels tested: {kernels:?}");
        let mut next = rng(0x9E37_79B9_7F4A_7C15);
        for &(m, k, n) in &[
            (2, 0, 3),
            (1, 3, 5),
            (13, 77, 33),
            (30, 300, 70),
            (50, 768, 96),
            (70, 1024, 64),
        ] {
            let a: Vec<f32> = (0..m * k).map(|_| next()).collect();
            let w: Vec<f32> = (0..k * n).map(|_| next() * 0.1).collect();
            let packed = PackedInt8::pack(k, n, |r, c| w[r * n + c]);
            // The reference: the same quantisation, summed in i64.
            let qa: Vec<(Vec<u8>, f32, i32)> = (0..m)
                .map(|i| &a[i * k..(i + 1) * k])
                .map(|row| {
                    let mut q = vec![0u8; k];
                    let (s, z) = quantise_row(row, &mut q);
                    (q, s, z)
                })
                .collect();
            let qw = |r: usize, c: usize| {
                (w[r * n + c] * (1.0 / packed.scale[c]))
                    .round_ties_even()
                    .clamp(-127.0, 127.0) as i64
            };
            for &kernel in &kernels {
                for accumulate in [false, true] {
                    for parallel in [false, true] {
                        let start: Vec<f32> = (0..m * n).map(|_| next()).collect();
                        let mut dst = start.clone();
                        packed.matmul_with(kernel, m, &mut dst, accumulate, &a, parallel);
                        for (i, (q, sa, z)) in qa.iter().enumerate() {
                            for j in 0..n {
                                let acc: i64 =
                                    (0..k).map(|t| (q[t] as i64 - *z as i64) * qw(t, j)).sum();
                                let base = if accumulate {
                                    start[i * n + j] as f64
                                } else {
                                    0.0
                                };
                                let want =
                                    acc as f64 * (*sa as f64 * packed.scale[j] as f64) + base;
                                let got = dst[i * n + j] as f64;
                                let tol = 1e-6 * (want.abs() + base.abs() + 1e-3);
                                assert!(
                                    (got - want).abs() <= tol,
                                    "{kernel:?} m {m} k {k} n {n} [{i},{j}]: {got} vs {want}"
                                );
                                // And near the float product: quantisation error only.
                                let exact: f64 = (0..k)
                                    .map(|t| a[i * k + t] as f64 * w[t * n + j] as f64)
                                    .sum::<f64>()
                                    + base;
                                let size: f64 = (0..k)
                                    .map(|t| (a[i * k + t] as f64 * w[t * n + j] as f64).abs())
                                    .sum();
                                assert!(
                                    (got - exact).abs() <= 0.02 * size + 1e-6,
                                    "{kernel:?} [{i},{j}]: {got} vs float {exact}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
