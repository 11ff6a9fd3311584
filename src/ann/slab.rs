//! Plain values either owned or read in place from a memory-mapped file.
//!
//! A large library's vectors and search graph are files written whole at a
//! checkpoint and never changed in place. Mapping them, instead of copying them
//! into the heap, makes opening a library cost nothing whatever its size, and
//! keeps resident only the pages a search touches (at a million 512-d photos
//! the vectors alone are 2 GB). A mapped slab becomes an owned copy the first
//! time it is changed ([`Slab::to_mut`]): only commands that change the
//! library pay for the copy.

use std::ops::Deref;
use std::sync::Arc;

use bytemuck::Pod;
use memmap2::Mmap;

/// Writes the file `name` in `dir` whole, as these files are written: under a
/// temporary name (`name.tmp`, which a later open removes if a crash left
/// it), synced, renamed, and the rename made durable. When it returns, the
/// file is there complete or the call failed.
pub(crate) fn write_durably(
    dir: &std::path::Path,
    name: &str,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::fs::File;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{name}.tmp"));
    let mut out = std::io::BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
    fill(&mut out)?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, dir.join(name))?;
    File::open(dir)?.sync_all()
}

/// `len` values of `T`, owned or inside a mapped file.
pub(crate) enum Slab<T: Pod> {
    Owned(Vec<T>),
    Mapped {
        map: Arc<Mmap>,
        /// Byte offset of the first value in `map`.
        offset: usize,
        len: usize,
    },
}

impl<T: Pod> Default for Slab<T> {
    fn default() -> Self {
        Self::Owned(Vec::new())
    }
}

impl<T: Pod + std::fmt::Debug> std::fmt::Debug for Slab<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Owned(v) => write!(f, "Owned({} values)", v.len()),
            Self::Mapped { len, offset, .. } => write!(f, "Mapped({len} values at {offset})"),
        }
    }
}

impl<T: Pod> Slab<T> {
    /// The `len` values stored little-endian at byte `offset` of `map`, read
    /// in place where that is possible (a little-endian CPU, an offset aligned
    /// for `T`) and copied otherwise. `None` if they lie outside the map.
    pub(crate) fn in_file(map: &Arc<Mmap>, offset: usize, len: usize) -> Option<Self> {
        let bytes = len.checked_mul(std::mem::size_of::<T>())?;
        let end = offset.checked_add(bytes)?;
        let raw = map.get(offset..end)?;
        if cfg!(target_endian = "little") && bytemuck::try_cast_slice::<u8, T>(raw).is_ok() {
            return Some(Self::Mapped {
                map: Arc::clone(map),
                offset,
                len,
            });
        }
        // Unaligned or big-endian: a copy, each value's bytes in file order.
        let size = std::mem::size_of::<T>();
        let mut out: Vec<T> = Vec::with_capacity(len);
        for chunk in raw.chunks_exact(size) {
            let mut value = T::zeroed();
            let dst = bytemuck::bytes_of_mut(&mut value);
            dst.copy_from_slice(chunk);
            if cfg!(target_endian = "big") {
                dst.reverse();
            }
            out.push(value);
        }
        Some(Self::Owned(out))
    }

    /// The values as a vector that can be changed, copied out of the file the
    /// first time.
    pub(crate) fn to_mut(&mut self) -> &mut Vec<T> {
        if let Self::Mapped { .. } = self {
            *self = Self::Owned(self.to_vec());
        }
        match self {
            Self::Owned(v) => v,
            Self::Mapped { .. } => unreachable!("made owned above"),
        }
    }

    /// Whether the values are read in place from a file.
    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self, Self::Mapped { .. })
    }
}

impl<T: Pod> Deref for Slab<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        match self {
            Self::Owned(v) => v,
            Self::Mapped { map, offset, len } => {
                // In bounds and aligned: checked by `in_file`, and a map never
                // changes length.
                bytemuck::cast_slice(&map[*offset..*offset + *len * std::mem::size_of::<T>()])
            }
        }
    }
}

impl<T: Pod> From<Vec<T>> for Slab<T> {
    fn from(v: Vec<T>) -> Self {
        Self::Owned(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn map_of(bytes: &[u8]) -> Arc<Mmap> {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        // SAFETY: a private temporary file no one else writes.
        Arc::new(unsafe { Mmap::map(&f) }.unwrap())
    }

    #[test]
    fn values_read_in_place_equal_the_file_and_a_change_makes_a_copy() {
        let values: Vec<f32> = (0..100).map(|i| i as f32 * 0.5 - 7.0).collect();
        let mut bytes = vec![0u8; 8];
        bytes.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        let map = map_of(&bytes);
        let mut slab: Slab<f32> = Slab::in_file(&map, 8, 100).unwrap();
        assert!(slab.is_mapped());
        assert_eq!(&slab[..], &values[..]);
        slab.to_mut().push(1.0);
        assert!(!slab.is_mapped());
        assert_eq!(&slab[..100], &values[..]);
        assert_eq!(slab.len(), 101);
        // The file is untouched.
        assert_eq!(&map[8..12], &values[0].to_le_bytes());
    }

    #[test]
    fn an_unaligned_offset_is_copied_and_a_range_past_the_end_refused() {
        let values: Vec<u32> = (0..10).map(|i| i * 1000 + 7).collect();
        let mut bytes = vec![0u8; 3];
        bytes.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        let map = map_of(&bytes);
        let slab: Slab<u32> = Slab::in_file(&map, 3, 10).unwrap();
        assert!(!slab.is_mapped());
        assert_eq!(&slab[..], &values[..]);
        assert!(Slab::<u32>::in_file(&map, 3, 11).is_none());
        assert!(Slab::<u32>::in_file(&map, usize::MAX, 1).is_none());
    }
}
