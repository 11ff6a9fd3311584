//! The local library's vectors in one flat file, `ann/vectors-<generation>.f32`:
//! what opening a library maps instead of walking the catalog's vector tree
//! (at 100,000 images the walk took 0.35–0.55 s of a search's start on a
//! 2-core VM, most of it; opening with the file took 0.25 s less). Its values
//! are read in place until the first change, and the graph's view file
//! re-scores from it ([`crate::ann::Graph::open_view`]).
//!
//! It is derived, like the graph, and written the same way: to a temporary
//! name, synced and renamed; then the catalog records its name and the catalog
//! generation it holds; then the file it replaces is deleted. On open it is
//! used only if the catalog records it at the catalog's current generation
//! (any commit since makes it stale) and its header agrees; otherwise the
//! vector tree is walked as before, and the next checkpoint writes a new file.
//! A rebuilt library starts without the record, so an old file is never read.
//!
//! Layout, little-endian: `SCRYVEC1`, then generation, dimension and count
//! (u64 each), the ids (u64 each), the values (f32, one vector after another).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

use serde::{Deserialize, Serialize};

use crate::ann::{Slab, Vectors};
use crate::store::ImageId;

const MAGIC: &[u8; 8] = b"SCRYVEC1";
const HEADER: usize = 8 + 3 * 8;

/// What the catalog records of the current file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct VectorFileMeta {
    /// The file's name inside the library's `ann` folder.
    pub name: String,
    /// The catalog generation whose vectors it holds.
    pub generation: u64,
}

/// The name of the file holding generation `generation`.
pub(super) fn file_name(generation: u64) -> String {
    format!("vectors-{generation}.f32")
}

/// Whether `name` is one of these files (for removing those no one records).
pub(super) fn is_vector_file(name: &str) -> bool {
    name.starts_with("vectors-") && (name.ends_with(".f32") || name.ends_with(".f32.tmp"))
}

/// Writes `vectors` as generation `generation` into `dir` and returns the
/// name to record; durable when it returns.
pub(super) fn write(dir: &Path, vectors: &Vectors, generation: u64) -> std::io::Result<String> {
    let name = file_name(generation);
    crate::ann::write_durably(dir, &name, |out| {
        out.write_all(MAGIC)?;
        for v in [generation, vectors.dim() as u64, vectors.len() as u64] {
            out.write_all(&v.to_le_bytes())?;
        }
        for id in vectors.ids() {
            out.write_all(&id.to_le_bytes())?;
        }
        for chunk in vectors.flat().chunks(1 << 16) {
            let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
            out.write_all(&bytes)?;
        }
        Ok(())
    })?;
    Ok(name)
}

/// Opens the file `meta` names from `dir` if it holds `generation` at `dim`:
/// the ids are read, the values mapped and read in place until the first
/// change (opening costs the same at any size; a search touches only the pages
/// it scores). `Ok(None)` when it does not hold them (stale, another dimension,
/// a header that disagrees with its length); an error when it cannot be read.
pub(super) fn read(
    dir: &Path,
    meta: &VectorFileMeta,
    generation: u64,
    dim: usize,
) -> std::io::Result<Option<Vectors>> {
    Ok(map(dir, meta, generation, dim)?.and_then(|(map, count)| {
        let ids: Vec<ImageId> = map[HEADER..HEADER + count * 8]
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect();
        let data = Slab::in_file(&map, HEADER + count * 8, count * dim)?;
        Vectors::from_slab(dim, ids, data)
    }))
}

/// The file opened, with its vector count, if it holds `generation` at `dim`
/// (its header and length checked; nothing else read).
pub(super) fn open(
    dir: &Path,
    meta: &VectorFileMeta,
    generation: u64,
    dim: usize,
) -> std::io::Result<Option<(File, usize)>> {
    use std::io::Read;
    if meta.generation != generation || !is_vector_file(&meta.name) {
        return Ok(None);
    }
    let path: PathBuf = dir.join(&meta.name);
    let mut file = File::open(&path)?;
    let len = file.metadata()?.len();
    let mut header = [0u8; HEADER];
    if len < HEADER as u64 {
        return Ok(None);
    }
    file.read_exact(&mut header)?;
    let word = |i: usize| u64::from_le_bytes(header[8 + 8 * i..16 + 8 * i].try_into().unwrap());
    let (file_generation, file_dim, count) = (word(0), word(1), word(2));
    let per_vector = file_dim.saturating_mul(4).saturating_add(8);
    let expected = (HEADER as u64).saturating_add(count.saturating_mul(per_vector));
    if &header[..8] != MAGIC
        || file_generation != generation
        || file_dim != dim as u64
        || expected != len
    {
        return Ok(None);
    }
    Ok(Some((file, count as usize)))
}

/// The file mapped, with its vector count, if it holds `generation` at `dim`.
pub(super) fn map(
    dir: &Path,
    meta: &VectorFileMeta,
    generation: u64,
    dim: usize,
) -> std::io::Result<Option<(Arc<Mmap>, usize)>> {
    let Some((file, count)) = open(dir, meta, generation, dim)? else {
        return Ok(None);
    };
    // SAFETY: the library's derived files are written once under a temporary
    // name and never changed after the rename; one process opens a library at
    // a time (sled's lock), and a file replaced at a checkpoint is unlinked,
    // not truncated, so a map of it stays valid.
    let map = unsafe { Mmap::map(&file)? };
    // Searches read a few vectors at random: no read-ahead around each.
    #[cfg(unix)]
    let _ = map.advise(memmap2::Advice::Random);
    if map.len() != values_offset(count) + count * dim * 4 {
        return Ok(None);
    }
    Ok(Some((Arc::new(map), count)))
}

/// Byte offset of the values in a file of `count` vectors.
pub(super) fn values_offset(count: usize) -> usize {
    HEADER + count * 8
}
