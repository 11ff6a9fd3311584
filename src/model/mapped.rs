//! Weights used where they lie in the memory-mapped `model.safetensors`.
//!
//! The text tower reads its dense layers as PyTorch stores them (`[out, in]`, each
//! output's weights contiguous: a query of a few tokens streams them once), so
//! those matrices need no copy: they are read in place from the mapped file, and
//! only the pages a query touches are ever read from disk. The token embedding is
//! the largest case: a query reads a handful of its 49,408 rows. Copying the tower
//! instead cost its size twice in memory (the mapped pages read while copying, and
//! the copy) and the copy's time at every start of `scry search`.
//!
//! A tensor is used in place only when it is stored as little-endian `f32` at an
//! offset aligned for `f32` (safetensors files written by `safetensors` ≥ 0.3 are);
//! otherwise it is converted and copied as before.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};

/// The mapped file and where each tensor's bytes are in it.
pub(crate) struct MappedWeights {
    map: memmap2::Mmap,
    /// Name → (dtype, byte offset in the file, bytes).
    tensors: HashMap<String, (safetensors::Dtype, usize, usize)>,
}

impl std::fmt::Debug for MappedWeights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedWeights")
            .field("bytes", &self.map.len())
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

impl MappedWeights {
    /// Maps `path` and reads its header (the tensors were checked by the caller).
    pub(crate) fn open(path: &Path) -> Result<Arc<Self>> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: mapped read-only; scry never writes model files, and a model file
        // rewritten while in use is outside what any mmap-based loader supports
        // (candle's and transformers' alike).
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        let (header, meta) = safetensors::SafeTensors::read_metadata(&map).map_err(|e| {
            Error::invalid_model(path, format!("not a readable safetensors file: {e}"))
        })?;
        let data_start = 8 + header;
        let tensors = meta
            .tensors()
            .into_iter()
            .map(|(name, info)| {
                let (from, to) = info.data_offsets;
                (name, (info.dtype, data_start + from, to - from))
            })
            .collect();
        Ok(Arc::new(Self { map, tensors }))
    }

    /// The tensor `name` as `len` floats read in place, when it is stored so.
    pub(crate) fn f32s(self: &Arc<Self>, name: &str, len: usize) -> Option<Floats> {
        let &(dtype, start, bytes) = self.tensors.get(name)?;
        let usable = cfg!(target_endian = "little")
            && dtype == safetensors::Dtype::F32
            && bytes == len * 4
            && start + bytes <= self.map.len()
            && (self.map.as_ptr() as usize + start).is_multiple_of(std::mem::align_of::<f32>());
        usable.then(|| Floats::Mapped {
            file: Arc::clone(self),
            start,
            len,
        })
    }
}

/// A weight matrix or vector: owned, or read in place from the mapped model file.
pub(crate) enum Floats {
    Owned(Vec<f32>),
    Mapped {
        file: Arc<MappedWeights>,
        /// Byte offset in the file (aligned for `f32`).
        start: usize,
        /// Floats.
        len: usize,
    },
}

impl Floats {
    /// Whether the values are read in place from the model file.
    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self, Floats::Mapped { .. })
    }
}

impl Default for Floats {
    fn default() -> Self {
        Floats::Owned(Vec::new())
    }
}

impl From<Vec<f32>> for Floats {
    fn from(v: Vec<f32>) -> Self {
        Floats::Owned(v)
    }
}

impl std::ops::Deref for Floats {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        match self {
            Floats::Owned(v) => v,
            // SAFETY: `f32s` checked that `start..start + 4 * len` lies inside the
            // map and is aligned for f32, on a little-endian target (the file's byte
            // order); every bit pattern is a valid f32; the map lives as long as
            // the `Arc` held here and is never written.
            Floats::Mapped { file, start, len } => unsafe {
                std::slice::from_raw_parts(file.map.as_ptr().add(*start) as *const f32, *len)
            },
        }
    }
}

impl FromIterator<f32> for Floats {
    fn from_iter<I: IntoIterator<Item = f32>>(iter: I) -> Self {
        Floats::Owned(iter.into_iter().collect())
    }
}
