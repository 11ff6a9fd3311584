//! Intel AMX (Sapphire Rapids and later): detection, the tile configuration and
//! the 32×32 block products of the bf16 and int8 kernels ([`super::bf16`],
//! [`super::int8`]), written with `asm!` (Rust's AMX intrinsics are not stable).
//!
//! Both kernels share one layout. A block of the output is 32 rows × 32
//! columns in four 16×16 tiles of 32-bit sums (tmm0–3). The input is packed
//! row-major, 64 bytes of k per tile row (16 bf16 pairs or 16 int8 quads);
//! a weight panel holds, for each k-group (pair or quad), 32 lanes of 32 bits:
//! the tile unit's B layout, so panels are loaded as they are.

/// Output rows per block (two tiles of 16 rows).
pub(super) const TM: usize = 32;
/// Output columns per block and per weight panel (two tiles of 16 columns).
pub(super) const TN: usize = 32;
/// 32-bit k-groups per tile row (64 bytes).
pub(super) const TK: usize = 16;

/// Bytes of packed input kept in the L2 cache while every weight panel passes
/// over them (a quarter of Sapphire Rapids' 2 MiB L2, leaving room for the panel).
const INPUT_L2: usize = 512 << 10;

/// The order both kernels take a product in: the packed input (`rows_padded`
/// rows of `groups` 32-bit k-groups) in slices of rows that stay in L2, the
/// weight panels `panels` over each slice, and each panel's 32-row blocks;
/// `visit(block's first row, panel)` runs one block.
#[inline(always)]
pub(super) fn for_each_block(
    rows_padded: usize,
    groups: usize,
    panels: std::ops::Range<usize>,
    mut visit: impl FnMut(usize, usize),
) {
    let rows_l2 = (INPUT_L2 / (groups * 4) / TM).max(1) * TM;
    for r0 in (0..rows_padded).step_by(rows_l2) {
        let r1 = (r0 + rows_l2).min(rows_padded);
        for j in panels.clone() {
            for blk in (r0..r1).step_by(TM) {
                visit(blk, j);
            }
        }
    }
}

/// What the CPU offers and Linux granted: the tile data state is asked for
/// once per process.
#[derive(Debug, Clone, Copy)]
struct Amx {
    bf16: bool,
    int8: bool,
}

fn amx() -> Amx {
    static AMX: std::sync::OnceLock<Amx> = std::sync::OnceLock::new();
    *AMX.get_or_init(detect)
}

/// Whether this process may use AMX BF16 tiles (`tdpbf16ps`).
pub(super) fn has_bf16() -> bool {
    amx().bf16
}

/// Whether this process may use AMX INT8 tiles (`tdpbusd`).
pub(super) fn has_int8() -> bool {
    amx().int8
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn detect() -> Amx {
    let none = Amx {
        bf16: false,
        int8: false,
    };
    // The tiles' results are read back with AVX-512.
    if !is_x86_feature_detected!("avx512f") {
        return none;
    }
    // CPUID leaf 7 (structured extended features) exists on every CPU with AVX-512.
    let leaf7 = std::arch::x86_64::__cpuid_count(7, 0);
    let bit = |b: u32| (leaf7.edx >> b) & 1 == 1;
    let (bf16, tile, int8) = (bit(22), bit(24), bit(25));
    if !tile {
        return none;
    }
    const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_long = 18;
    // SAFETY: a plain system call asking for the tile state; it fails
    // harmlessly on kernels without AMX support.
    let granted = unsafe {
        libc::syscall(
            libc::SYS_arch_prctl,
            ARCH_REQ_XCOMP_PERM,
            XFEATURE_XTILEDATA,
        ) == 0
    };
    Amx {
        bf16: granted && bf16,
        int8: granted && int8,
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn detect() -> Amx {
    Amx {
        bf16: false,
        int8: false,
    }
}

/// The 32-bit sums of one 32×32 output block, row-major (f32 for bf16, i32
/// for int8).
#[repr(C, align(64))]
pub(super) struct Block<T>(pub [T; TM * TN]);

impl<T: Copy + Default> Block<T> {
    pub(super) fn new() -> Self {
        Self([T::default(); TM * TN])
    }
}

/// The tile configuration of this thread while it lives: eight tiles of 16
/// rows × 64 bytes (C: tmm0–3, A: tmm4–5, B: tmm6–7); released on drop.
pub(super) struct Tiles;

#[cfg(target_arch = "x86_64")]
impl Tiles {
    /// # Safety
    /// [`has_bf16`] or [`has_int8`] is true.
    pub(super) unsafe fn configure() -> Self {
        #[repr(C, align(64))]
        struct Config([u8; 64]);
        let mut cfg = Config([0; 64]);
        cfg.0[0] = 1; // palette 1
        for t in 0..8 {
            cfg.0[16 + 2 * t] = 64; // bytes per row
            cfg.0[48 + t] = 16; // rows
        }
        std::arch::asm!("ldtilecfg [{0}]", in(reg) cfg.0.as_ptr(), options(nostack, readonly));
        Self
    }
}

#[cfg(target_arch = "x86_64")]
impl Drop for Tiles {
    fn drop(&mut self) {
        // SAFETY: the tiles were configured by `configure`.
        unsafe { std::arch::asm!("tilerelease", options(nostack, nomem)) };
    }
}

/// `block(groups, a, b, out)`: `out = A · B` for one 32×32 block with the
/// given tile instruction. `a` is 32 rows of `groups` 32-bit k-groups
/// (row-major), `b` a weight panel (`groups` rows of 32 lanes).
///
/// # Safety
/// Tiles are configured on this thread ([`Tiles::configure`]) and the CPU has
/// the instruction; `groups` is a multiple of 16; `a` holds 32 rows and `b`
/// `groups` rows.
macro_rules! block_kernel {
    ($name:ident, $op:literal, $out:ty) => {
        #[cfg(target_arch = "x86_64")]
        #[inline(always)]
        pub(super) unsafe fn $name(groups: usize, a: *const u32, b: *const u32, out: &mut Block<$out>) {
            use std::arch::asm;
            let lda = groups * 4;
            let ldb = TN * 4;
            asm!(
                "tilezero tmm0",
                "tilezero tmm1",
                "tilezero tmm2",
                "tilezero tmm3",
                options(nostack, nomem)
            );
            for p0 in (0..groups).step_by(TK) {
                let a0 = a.add(p0);
                let a1 = a0.add(16 * groups);
                let b0 = b.add(p0 * TN);
                let b1 = b0.add(16);
                asm!(
                    "tileloadd tmm4, [{a0} + {lda}*1]",
                    "tileloadd tmm5, [{a1} + {lda}*1]",
                    "tileloadd tmm6, [{b0} + {ldb}*1]",
                    "tileloadd tmm7, [{b1} + {ldb}*1]",
                    concat!($op, " tmm0, tmm4, tmm6"),
                    concat!($op, " tmm1, tmm4, tmm7"),
                    concat!($op, " tmm2, tmm5, tmm6"),
                    concat!($op, " tmm3, tmm5, tmm7"),
                    a0 = in(reg) a0,
                    a1 = in(reg) a1,
                    b0 = in(reg) b0,
                    b1 = in(reg) b1,
                    lda = in(reg) lda,
                    ldb = in(reg) ldb,
                    options(nostack, readonly)
                );
            }
            let c = out.0.as_mut_ptr();
            let ldc = TN * 4;
            asm!(
                "tilestored [{c0} + {ldc}*1], tmm0",
                "tilestored [{c1} + {ldc}*1], tmm1",
                "tilestored [{c2} + {ldc}*1], tmm2",
                "tilestored [{c3} + {ldc}*1], tmm3",
                c0 = in(reg) c,
                c1 = in(reg) c.add(16),
                c2 = in(reg) c.add(16 * TN),
                c3 = in(reg) c.add(16 * TN + 16),
                ldc = in(reg) ldc,
                options(nostack)
            );
        }
    };
}

// bf16 pairs multiplied into f32 sums.
block_kernel!(block_bf16, "tdpbf16ps", f32);
// Unsigned input bytes × signed weight bytes, four at a time, into i32 sums.
block_kernel!(block_int8, "tdpbusd", i32);

/// A raw pointer handed to the threads that own disjoint column ranges of it.
#[derive(Clone, Copy)]
pub(super) struct SendPtr(pub *mut f32);
// SAFETY: used only to hand disjoint column ranges of one buffer to threads.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    pub(super) fn get(self) -> *mut f32 {
        self.0
    }
}

/// Runs `run(j0, j1)` over `panels` weight panels: split into one range per
/// thread when `parallel`, else all at once on this thread.
pub(super) fn over_panels(panels: usize, parallel: bool, run: impl Fn(usize, usize) + Sync) {
    use rayon::prelude::*;
    let threads = rayon::current_num_threads();
    if parallel && threads > 1 && panels > 1 {
        let per = panels.div_ceil(threads);
        (0..panels.div_ceil(per))
            .into_par_iter()
            .for_each(|t| run(t * per, ((t + 1) * per).min(panels)));
    } else {
        run(0, panels);
    }
}

/// Packs a `k × n` weight matrix into panels of [`TN`] columns: panel `j`,
/// k-group `g` holds [`TN`] lanes, lane `l` being `lane(g, j·TN + l)` for the
/// columns that exist (zero past `n`). `groups` k-groups per panel.
pub(super) fn pack_panels(groups: usize, n: usize, lane: impl Fn(usize, usize) -> u32) -> Vec<u32> {
    let panels = n.div_ceil(TN);
    let mut data = vec![0u32; panels * groups * TN];
    for j in 0..panels {
        for g in 0..groups {
            let lanes = &mut data[(j * groups + g) * TN..][..TN];
            for (l, out) in lanes.iter_mut().enumerate() {
                let c = j * TN + l;
                if c < n {
                    *out = lane(g, c);
                }
            }
        }
    }
    data
}
