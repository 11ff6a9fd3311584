//! The graph's search view in one file, `ann/graph-<generation>.view`, read in
//! place: what a library that has not changed since its last checkpoint
//! searches with, instead of reading hnsw_rs's dump (at a million photos that
//! read took most of a minute and held the vectors twice, ~10 GB).
//!
//! The file holds what the walk reads (ids, quantised codes and their scales,
//! layer 0's links in fixed slots, the upper layers' links) and, for each node,
//! its row in the library's vector file of the same generation, which the final
//! candidates are re-scored from. Both files are memory-mapped: opening costs
//! the same at any size, and a search keeps resident only the pages it touches.
//! hnsw_rs's dump stays the graph's source for changes: the library reads it
//! before the first change, as before.
//!
//! Layout, little-endian, each section starting at a multiple of 64 bytes: a
//! 64-byte header (`SCRYGRF1`, then generation, nodes, dimension, entry node,
//! top layer, words of the upper section, layer-0 slot size, u64 each); the ids
//! (u64), rows (u32, `u32::MAX` for a removed image's tombstone), scales (f32),
//! layer-0 slots (u32), the upper section (u32: for each node above layer 0,
//! its node, its level, and per layer a count and the links), the codes (i8).

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use memmap2::Mmap;

use super::{Exact, SearchView, Slab, SLOT0};
use crate::store::ImageId;

const MAGIC: &[u8; 8] = b"SCRYGRF1";
const HEADER: usize = 64;
const ALIGN: usize = 64;
/// A row for a node whose image is no longer in the library.
pub(super) const NO_ROW: u32 = u32::MAX;

/// The name of the file written at generation `generation`.
pub fn file_name(generation: u64) -> String {
    format!("graph-{generation}.view")
}

/// Whether `name` is one of these files (for removing those no one records).
pub fn is_view_file(name: &str) -> bool {
    name.starts_with("graph-") && (name.ends_with(".view") || name.ends_with(".view.tmp"))
}

struct Layout {
    ids: usize,
    rows: usize,
    scales: usize,
    links0: usize,
    upper: usize,
    codes: usize,
    end: usize,
}

fn layout(nodes: usize, dim: usize, upper_words: usize) -> Option<Layout> {
    let mut at = HEADER;
    let mut section = |bytes: usize| -> Option<usize> {
        let start = at.checked_next_multiple_of(ALIGN)?;
        at = start.checked_add(bytes)?;
        Some(start)
    };
    let ids = section(nodes.checked_mul(8)?)?;
    let rows = section(nodes.checked_mul(4)?)?;
    let scales = section(nodes.checked_mul(4)?)?;
    let links0 = section(nodes.checked_mul(SLOT0)?.checked_mul(4)?)?;
    let upper = section(upper_words.checked_mul(4)?)?;
    let codes = section(nodes.checked_mul(dim)?)?;
    Some(Layout {
        ids,
        rows,
        scales,
        links0,
        upper,
        codes,
        end: at,
    })
}

fn pad_to(out: &mut impl Write, written: &mut usize, at: usize) -> std::io::Result<()> {
    out.write_all(&vec![0u8; at - *written])?;
    *written = at;
    Ok(())
}

fn put<T: bytemuck::Pod>(
    out: &mut impl Write,
    written: &mut usize,
    values: &[T],
) -> std::io::Result<()> {
    if cfg!(target_endian = "little") {
        out.write_all(bytemuck::cast_slice(values))?;
    } else {
        for v in values {
            let mut b = bytemuck::bytes_of(v).to_vec();
            b.reverse();
            out.write_all(&b)?;
        }
    }
    *written += std::mem::size_of_val(values);
    Ok(())
}

impl SearchView {
    /// Writes the view as generation `generation` into `dir` (temporary name,
    /// sync, rename) and returns the name to record. `row` gives each live
    /// image's row in the vector file of the same generation.
    pub(super) fn write(
        &self,
        dir: &Path,
        generation: u64,
        row: &dyn Fn(ImageId) -> Option<usize>,
    ) -> std::io::Result<String> {
        let nodes = self.ids.len();
        let mut upper_nodes: Vec<u32> = self.upper.keys().copied().collect();
        upper_nodes.sort_unstable();
        let mut upper: Vec<u32> = Vec::new();
        for node in upper_nodes {
            let layers = &self.upper[&node];
            upper.push(node);
            upper.push(layers.len() as u32);
            for links in layers {
                upper.push(links.len() as u32);
                upper.extend(links);
            }
        }
        let lay = layout(nodes, self.dim, upper.len())
            .ok_or_else(|| std::io::Error::other("search view too large"))?;
        let rows: Vec<u32> = self
            .ids
            .iter()
            .map(|&id| {
                row(id)
                    .and_then(|r| u32::try_from(r).ok())
                    .unwrap_or(NO_ROW)
            })
            .collect();
        let name = file_name(generation);
        super::write_durably(dir, &name, |out| {
            let mut written = 0;
            out.write_all(MAGIC)?;
            let header = [
                generation,
                nodes as u64,
                self.dim as u64,
                self.entry as u64,
                self.top_layer as u64,
                upper.len() as u64,
                SLOT0 as u64,
            ];
            for word in header {
                out.write_all(&word.to_le_bytes())?;
            }
            written += 8 + 8 * header.len();
            pad_to(out, &mut written, lay.ids)?;
            put(out, &mut written, &self.ids)?;
            pad_to(out, &mut written, lay.rows)?;
            put(out, &mut written, &rows)?;
            pad_to(out, &mut written, lay.scales)?;
            put(out, &mut written, &self.scales)?;
            pad_to(out, &mut written, lay.links0)?;
            put(out, &mut written, &self.links0)?;
            pad_to(out, &mut written, lay.upper)?;
            put(out, &mut written, &upper)?;
            pad_to(out, &mut written, lay.codes)?;
            put(out, &mut written, &self.codes)?;
            debug_assert_eq!(written, lay.end);
            Ok(())
        })?;
        Ok(name)
    }

    /// Opens the view file `path` written at `generation`, re-scoring from
    /// `vectors` (the vector file of that generation, read where a row is
    /// needed, its values at byte `values_offset`, `count` rows of `dim`). `None` if the file is not
    /// that view or does not hold together (every link and row is checked, so
    /// a damaged file is refused here instead of failing a search).
    pub(super) fn open(
        path: &Path,
        generation: u64,
        dim: usize,
        vectors: File,
        values_offset: usize,
        count: usize,
    ) -> std::io::Result<Option<Self>> {
        let values_end = count
            .checked_mul(dim)
            .and_then(|v| v.checked_mul(4))
            .and_then(|b| b.checked_add(values_offset));
        if values_end.is_none_or(|end| (end as u64) > vectors.metadata().map_or(0, |m| m.len())) {
            return Ok(None);
        }
        let file = File::open(path)?;
        // SAFETY: written once under a temporary name and renamed; never
        // changed after, and unlinked (not truncated) when replaced.
        // Mapped whole up front (populated): the walk reads nodes at random, and
        // first touching each page in a search cost a fault a node (a query
        // far from every photo took 2x longer at p99 at a million).
        let map = Arc::new(unsafe { memmap2::MmapOptions::new().populate().map(&file)? });
        Ok(Self::from_map(
            &map,
            generation,
            dim,
            vectors,
            values_offset,
            count,
        ))
    }

    fn from_map(
        map: &Arc<Mmap>,
        generation: u64,
        dim: usize,
        vectors: File,
        values_offset: usize,
        count: usize,
    ) -> Option<Self> {
        let header = map.get(..HEADER)?;
        if &header[..8] != MAGIC {
            return None;
        }
        let word = |i: usize| u64::from_le_bytes(header[8 + 8 * i..16 + 8 * i].try_into().unwrap());
        let [file_generation, nodes, file_dim, entry, top_layer, upper_words, slot0] =
            std::array::from_fn(word);
        let to_usize = |w: u64| usize::try_from(w).ok();
        let (nodes, upper_words) = (to_usize(nodes)?, to_usize(upper_words)?);
        if file_generation != generation
            || file_dim != dim as u64
            || slot0 != SLOT0 as u64
            || nodes == 0
            || nodes > u32::MAX as usize
            || entry >= nodes as u64
            || top_layer > 64
        {
            return None;
        }
        let lay = layout(nodes, dim, upper_words)?;
        if lay.end != map.len() {
            return None;
        }
        let ids: Slab<ImageId> = Slab::in_file(map, lay.ids, nodes)?;
        let rows: Slab<u32> = Slab::in_file(map, lay.rows, nodes)?;
        let scales: Slab<f32> = Slab::in_file(map, lay.scales, nodes)?;
        let links0: Slab<u32> = Slab::in_file(map, lay.links0, nodes * SLOT0)?;
        let words: Slab<u32> = Slab::in_file(map, lay.upper, upper_words)?;
        let codes: Slab<i8> = Slab::in_file(map, lay.codes, nodes * dim)?;
        let n = nodes as u32;
        if rows.iter().any(|&r| r != NO_ROW && r as usize >= count) {
            return None;
        }
        for slot in links0.chunks_exact(SLOT0) {
            let links = slot.get(1..1 + slot[0] as usize)?;
            if links.iter().any(|&l| l >= n) {
                return None;
            }
        }
        let mut upper: HashMap<u32, Vec<Vec<u32>>> = HashMap::new();
        let mut max_level = 0;
        let mut it = words.iter().copied();
        while let Some(node) = it.next() {
            let level = it.next()? as usize;
            if node >= n || level == 0 || level > top_layer as usize {
                return None;
            }
            let mut layers = Vec::with_capacity(level);
            for _ in 0..level {
                let count = it.next()? as usize;
                let links: Vec<u32> = (0..count).map(|_| it.next()).collect::<Option<_>>()?;
                if links.iter().any(|&l| l >= n) {
                    return None;
                }
                layers.push(links);
            }
            max_level = max_level.max(level);
            upper.insert(node, layers);
        }
        if max_level != top_layer as usize
            || (top_layer > 0
                && upper.get(&(entry as u32)).map(Vec::len) != Some(top_layer as usize))
        {
            return None;
        }
        Some(SearchView {
            ids,
            exact: Exact::Rows {
                file: vectors,
                offset: values_offset as u64,
                rows,
            },
            dim,
            codes,
            scales,
            links0,
            upper,
            entry: entry as u32,
            top_layer: top_layer as usize,
            repaired: super::RepairStats::default(),
        })
    }
}
