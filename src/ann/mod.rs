//! Nearest-neighbour search over normalised embeddings (cosine = dot product): an
//! exact SIMD-friendly scan and an HNSW graph (the only module that names
//! hnsw_rs), behind one trait. The exact index is a product feature (small or
//! heavily filtered libraries, where it is faster) and the oracle that the graph's
//! recall is tested against.

use std::collections::HashMap;
use std::path::Path;

use anndists::dist::Distance;
use hnsw_rs::api::AnnT;
use hnsw_rs::hnsw::Hnsw;
use hnsw_rs::hnswio::HnswIo;

use crate::error::{Error, Result};
use crate::store::ImageId;

mod slab;
mod view_file;
pub(crate) use slab::{write_durably, Slab};
pub use view_file::is_view_file;

/// Below this many vectors an exact scan beats the graph (~1 ms at 10k); no graph
/// is kept.
pub const GRAPH_MIN_POINTS: usize = 10_000;
/// HNSW parameters: 16 links per node, ef_construction 200 (recall@10 ≥ 0.98 at
/// 100k vectors, CRATES.md).
pub const MAX_CONNECTIONS: usize = 16;
pub const EF_CONSTRUCTION: usize = 200;
const MAX_LAYERS: usize = 16;

/// A scored neighbour: image id and cosine similarity.
pub type Scored = (ImageId, f32);

/// Anything that answers k-nearest-neighbour queries.
pub trait NearestNeighbours {
    /// The `k` most similar ids that `keep` accepts, best first.
    fn search(&self, query: &[f32], k: usize, keep: &dyn Fn(ImageId) -> bool) -> Vec<Scored>;
}

/// Dot product, written so the compiler vectorises it (16 independent lanes),
/// compiled for AVX-512 and AVX2 as well and picked at run time.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx512dq+fma",
    "x86_64+avx2+fma"
))]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    crate::simd::dot16(a, b)
}

/// `1 - <a, b>` clamped at 0. hnsw_rs's own `DistDot` asserts the value is
/// non-negative, and normalised f32 vectors often have a self-dot slightly above 1:
/// a duplicate photo would panic the indexer.
#[derive(Debug, Default, Clone, Copy)]
pub struct DotDistance;

impl Distance<f32> for DotDistance {
    fn eval(&self, va: &[f32], vb: &[f32]) -> f32 {
        (1.0 - dot(va, vb)).max(0.0)
    }
}

/// The live vectors, contiguous for a fast exact scan: in memory, or read in
/// place from the library's vector file until the first change.
#[derive(Debug, Default)]
pub struct Vectors {
    dim: usize,
    ids: Vec<ImageId>,
    data: Slab<f32>,
    pos: HashMap<ImageId, usize>,
}

impl Vectors {
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            ..Default::default()
        }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn contains(&self, id: ImageId) -> bool {
        self.pos.contains_key(&id)
    }

    pub fn get(&self, id: ImageId) -> Option<&[f32]> {
        self.pos
            .get(&id)
            .map(|&p| &self.data[p * self.dim..(p + 1) * self.dim])
    }

    /// The vectors `ids[i]` ↦ `data[i · dim..(i + 1) · dim]`, as [`Vectors::ids`]
    /// and [`Vectors::flat`] give them back. `None` if the lengths disagree or an
    /// id repeats.
    pub fn from_parts(dim: usize, ids: Vec<ImageId>, data: Vec<f32>) -> Option<Self> {
        Self::from_slab(dim, ids, data.into())
    }

    /// [`Vectors::from_parts`] with values that may be read in place from a file.
    pub(crate) fn from_slab(dim: usize, ids: Vec<ImageId>, data: Slab<f32>) -> Option<Self> {
        if data.len() != ids.len() * dim {
            return None;
        }
        let mut pos = HashMap::with_capacity(ids.len());
        for (p, &id) in ids.iter().enumerate() {
            if pos.insert(id, p).is_some() {
                return None;
            }
        }
        Some(Self {
            dim,
            ids,
            data,
            pos,
        })
    }

    /// Where `id`'s vector is in storage order ([`Vectors::ids`]).
    pub fn position(&self, id: ImageId) -> Option<usize> {
        self.pos.get(&id).copied()
    }

    /// Whether the values are read in place from the library's vector file
    /// (none has changed since it was opened).
    pub fn is_mapped(&self) -> bool {
        self.data.is_mapped()
    }

    /// The ids, in storage order.
    pub fn ids(&self) -> &[ImageId] {
        &self.ids
    }

    /// The values, one vector after the other in the order of [`Vectors::ids`].
    pub fn flat(&self) -> &[f32] {
        &self.data
    }

    /// Makes room for `more` vectors (one allocation instead of a doubling
    /// series when a library's vectors are read at open).
    pub fn reserve(&mut self, more: usize) {
        self.ids.reserve(more);
        self.data.to_mut().reserve(more * self.dim);
        self.pos.reserve(more);
    }

    /// Adds or replaces a vector.
    pub fn insert(&mut self, id: ImageId, v: &[f32]) {
        assert_eq!(v.len(), self.dim, "vector dimension");
        let data = self.data.to_mut();
        if let Some(&p) = self.pos.get(&id) {
            data[p * self.dim..(p + 1) * self.dim].copy_from_slice(v);
            return;
        }
        self.pos.insert(id, self.ids.len());
        self.ids.push(id);
        data.extend_from_slice(v);
    }

    pub fn remove(&mut self, id: ImageId) -> bool {
        let Some(p) = self.pos.remove(&id) else {
            return false;
        };
        let last = self.ids.len() - 1;
        let data = self.data.to_mut();
        if p != last {
            let moved = self.ids[last];
            self.ids[p] = moved;
            self.pos.insert(moved, p);
            let (head, tail) = data.split_at_mut(last * self.dim);
            head[p * self.dim..(p + 1) * self.dim].copy_from_slice(&tail[..self.dim]);
        }
        self.ids.pop();
        data.truncate(last * self.dim);
        true
    }

    /// Iterates `(id, vector)`.
    pub fn iter(&self) -> impl Iterator<Item = (ImageId, &[f32])> {
        self.ids
            .iter()
            .copied()
            .zip(self.data.chunks_exact(self.dim.max(1)))
    }
}

impl NearestNeighbours for Vectors {
    fn search(&self, query: &[f32], k: usize, keep: &dyn Fn(ImageId) -> bool) -> Vec<Scored> {
        if k == 0 {
            return Vec::new();
        }
        // A bounded min-heap of the best k.
        let mut heap: std::collections::BinaryHeap<std::cmp::Reverse<(OrdF32, ImageId)>> =
            std::collections::BinaryHeap::with_capacity(k + 1);
        for (id, v) in self.iter() {
            if !keep(id) {
                continue;
            }
            let s = dot(query, v);
            if heap.len() < k {
                heap.push(std::cmp::Reverse((OrdF32(s), id)));
            } else if s > heap.peek().expect("k > 0").0 .0 .0 {
                heap.pop();
                heap.push(std::cmp::Reverse((OrdF32(s), id)));
            }
        }
        let mut out: Vec<Scored> = heap.into_iter().map(|r| (r.0 .1, r.0 .0 .0)).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct OrdF32(f32);
impl Eq for OrdF32 {}
impl PartialOrd for OrdF32 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrdF32 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// An HNSW graph over (some of) the vectors. Ids of removed images stay in the
/// graph as tombstones (hnsw_rs cannot delete) and are filtered at query time
/// until a compaction rebuilds the graph.
pub struct Graph {
    /// The search view, made from `hnsw` on first use after any change, or
    /// read from its file ([`Graph::open_view`]).
    view: std::sync::OnceLock<SearchView>,
    /// `None` for a graph opened from its view file: it searches but cannot
    /// change (the library reads hnsw_rs's dump before the first change).
    hnsw: Option<Hnsw<'static, f32, DotDistance>>,
    points: usize,
    max_id: ImageId,
    /// The fewest layer-0 links to a node that a view made from `hnsw`
    /// leaves unrepaired ([`SearchView::repair`]; 0: no repair, only to
    /// measure what the repair gives).
    repair: u32,
}

/// A flat, read-only copy of the graph's links for searching.
///
/// hnsw_rs builds, extends and persists the graph, but its search walks
/// reference-counted points behind locks and a hash set of visited nodes: at 100k
/// vectors that is ~10× slower than hnswlib at the same recall, almost all of it
/// cache misses. This view keeps layer 0's links in one fixed slot per node and
/// the upper layers' in a map, and marks visited nodes in a bitmap. The walk
/// scores nodes with an `i8` copy of the vectors (512 bytes a node at 512-d: a
/// quarter of the memory traffic, which is what bounds the walk), on huge pages
/// where Linux offers them; the best `4k` it keeps are then re-scored exactly
/// through a pointer per node to its `f32` vector (inside hnsw_rs's own
/// storage). At 100k vectors this took ef 128 from ~1,400 to ~2,100 queries/s on
/// one core with the same recall (0.995).
///
/// Its layer-0 links are hnsw_rs's, repaired where few nodes link to a node
/// ([`SearchView::repair`]): hnsw_rs's graph is what the library extends and
/// dumps, the view what it searches.
///
/// A view made from hnsw_rs's graph is also written to a file at a checkpoint
/// ([`view_file`]); a library that has not changed since searches with that
/// file, memory-mapped, and hnsw_rs's graph is not read at all.
struct SearchView {
    ids: Slab<ImageId>,
    /// Where the exact vectors are.
    exact: Exact,
    dim: usize,
    /// Each vector quantised to `i8` (`dim` codes per node) with its scale: the
    /// walk reads these, a quarter of the bytes, and the final candidates are
    /// re-scored with the exact vectors.
    codes: Slab<i8>,
    scales: Slab<f32>,
    /// Layer 0 links, a fixed slot of `SLOT0` per node: the count, then the
    /// links (one cache miss per expansion, no offset table to read first).
    links0: Slab<u32>,
    /// Links above layer 0, only for the few nodes that have them:
    /// `upper[node][layer - 1]`.
    upper: HashMap<u32, Vec<Vec<u32>>>,
    entry: u32,
    top_layer: usize,
    /// What the repair changed, for a view made from hnsw_rs's graph.
    repaired: RepairStats,
}

/// The exact vectors of a search view's nodes.
enum Exact {
    /// A pointer per node into hnsw_rs's own storage.
    Points(Vec<*const f32>),
    /// A row per node in the library's vector file ([`view_file::NO_ROW`] for
    /// a removed image's tombstone, whose vector is no longer kept), read with
    /// positioned reads rather than through a map: the few rows a query
    /// re-scores lie anywhere in the file, and mapped, each fault brought the
    /// 16 pages around it into the server's resident memory (~18 MB a query
    /// at a million photos, the whole 2 GB file after a few hundred queries).
    Rows {
        file: std::fs::File,
        /// Byte offset of row 0 in `file`.
        offset: u64,
        rows: Slab<u32>,
    },
}

/// Fills `buf` from `file` at byte `at`.
fn read_at(file: &std::fs::File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
    }
    #[cfg(windows)]
    {
        let (mut done, mut at) = (0, at);
        while done < buf.len() {
            let n = std::os::windows::fs::FileExt::seek_read(file, &mut buf[done..], at)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            done += n;
            at += n as u64;
        }
        Ok(())
    }
}

/// Layer-0 slot of a node: its link count and up to `2 * MAX_CONNECTIONS` links
/// (hnsw_rs's own bound for layer 0).
const SLOT0: usize = 1 + 2 * MAX_CONNECTIONS;

/// Candidates re-scored exactly: this many per hit asked for, at least
/// `RERANK_MIN` (recall@10 at 100k is the same as re-scoring all `ef`).
const RERANK_PER_HIT: usize = 4;
const RERANK_MIN: usize = 32;

/// Nodes kept per upper layer on the way down (HNSW's own descent keeps one).
/// Photos form many tight clusters about equally far apart; the upper layers
/// hold a node of only a few of them, so a greedy descent stops in whichever
/// cluster is nearest by chance, and layer 0 (searched inside that cluster)
/// never leaves it: the query finds none of its neighbours. On the scale
/// bench's photos (1,000 clusters of 1,000 512-d vectors) hnsw_rs's greedy
/// descent lost 17 % of the queries (recall@10 0.80 at ef 128); keeping 16 per
/// layer loses none (0.963), for ~0.15 ms more a query (`examples/ann_recall.rs`).
const UPPER_BEAM: usize = 16;

/// Exact re-scoring requests vectors this many ahead of the one it scores.
const RERANK_AHEAD: usize = 4;

/// Asks the CPU to start loading every cache line of `bytes` bytes from `p`.
#[inline(always)]
fn prefetch(p: *const i8, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; it never faults, whatever the address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // From the cache line holding the first byte to the one holding the last.
        let first = (p as usize) & !63;
        let last = (p as usize + bytes.max(1) - 1) & !63;
        for line in (first..=last).step_by(64) {
            _mm_prefetch::<_MM_HINT_T0>(line as *const i8);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, bytes);
}

/// An empty vector with room for `capacity` items, backed by huge pages where
/// Linux offers them (`madvise`): the walk reads nodes at random across tens of
/// megabytes, and with 4 KiB pages nearly every read is also a TLB miss.
fn huge_vec<T>(capacity: usize) -> Vec<T> {
    let v: Vec<T> = Vec::with_capacity(capacity);
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = (v.as_ptr() as usize).next_multiple_of(HUGE);
        let end = (v.as_ptr() as usize + capacity * std::mem::size_of::<T>()) & !(HUGE - 1);
        if end > start {
            // SAFETY: advice on whole pages inside this vector's own allocation;
            // it never changes the memory's contents or validity.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    v
}

/// Appends `v` quantised to `i8` (symmetric, one scale per vector) to `codes` and
/// returns the scale: `v[i] ≈ scale * code[i]`.
fn quantise(v: &[f32], codes: &mut Vec<i8>) -> f32 {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
    codes.extend(
        v.iter()
            .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8),
    );
    scale
}

// SAFETY: the vector pointers point into points owned by the `Hnsw` of the same
// `Graph`, which never frees or moves a point's data while it lives; the view is
// dropped whenever that graph is mutated (`insert` takes `&mut self`). The data
// is only ever read.
unsafe impl Send for SearchView {}
unsafe impl Sync for SearchView {}

impl SearchView {
    fn new(hnsw: &Hnsw<'static, f32, DotDistance>) -> Self {
        let points: Vec<_> = hnsw.get_point_indexation().into_iter().collect();
        let node_of: HashMap<hnsw_rs::hnsw::PointId, u32> = points
            .iter()
            .enumerate()
            .map(|(i, p)| (p.get_point_id(), i as u32))
            .collect();
        let dim = points.first().map_or(0, |p| p.get_v().len());
        let mut ids = Vec::with_capacity(points.len());
        let mut vectors = Vec::with_capacity(points.len());
        let mut codes = huge_vec(points.len() * dim);
        let mut scales = Vec::with_capacity(points.len());
        let mut links0 = huge_vec(points.len() * SLOT0);
        let mut upper = HashMap::new();
        let (mut entry, mut top_layer) = (0, 0);
        for (i, p) in points.iter().enumerate() {
            ids.push(p.get_origin_id() as ImageId);
            vectors.push(p.get_v().as_ptr());
            scales.push(quantise(p.get_v(), &mut codes));
            let layers = p.get_neighborhood_id();
            let level = p.get_point_id().0 as usize;
            let nodes = |layer: usize| -> Vec<u32> {
                layers
                    .get(layer)
                    .map(|ns| {
                        ns.iter()
                            .filter_map(|n| node_of.get(&n.p_id).copied())
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let mut l0 = nodes(0);
            // hnsw_rs keeps at most 2 × MAX_CONNECTIONS links on layer 0.
            debug_assert!(l0.len() < SLOT0, "layer-0 links {}", l0.len());
            l0.truncate(SLOT0 - 1);
            links0.push(l0.len() as u32);
            links0.extend(&l0);
            links0.resize((i + 1) * SLOT0, 0);
            if level > 0 {
                upper.insert(i as u32, (1..=level).map(nodes).collect());
            }
            if level > top_layer || i == 0 {
                top_layer = level;
                entry = i as u32;
            }
        }
        SearchView {
            ids: ids.into(),
            exact: Exact::Points(vectors),
            dim,
            codes: codes.into(),
            scales: scales.into(),
            links0: links0.into(),
            upper,
            entry,
            top_layer,
            repaired: RepairStats::default(),
        }
    }

    /// A node's exact vector; `None` for a tombstone read from a view file.
    /// The exact score of each of `nodes` (`None` for a tombstone, whose
    /// vector is no longer kept, or a row that could not be read).
    fn exact_scores(&self, query: &[f32], nodes: &[u32]) -> Vec<Option<f32>> {
        match &self.exact {
            Exact::Points(p) => {
                // SAFETY: see the `Send`/`Sync` impls: each pointer is valid for
                // `dim` floats as long as the graph that owns this view.
                let vector =
                    |n: u32| unsafe { std::slice::from_raw_parts(p[n as usize], self.dim) };
                // Scattered in memory: request each a few ahead of its use.
                let bytes = self.dim * 4;
                for &n in nodes.iter().take(RERANK_AHEAD) {
                    prefetch(vector(n).as_ptr() as *const i8, bytes);
                }
                nodes
                    .iter()
                    .enumerate()
                    .map(|(i, &n)| {
                        if let Some(&ahead) = nodes.get(i + RERANK_AHEAD) {
                            prefetch(vector(ahead).as_ptr() as *const i8, bytes);
                        }
                        Some(dot(query, vector(n)))
                    })
                    .collect()
            }
            Exact::Rows { file, offset, rows } => {
                let mut buf = vec![0f32; self.dim];
                let row_bytes = (self.dim * 4) as u64;
                nodes
                    .iter()
                    .map(|&n| {
                        let r = rows[n as usize];
                        if r == view_file::NO_ROW {
                            return None;
                        }
                        let at = offset + u64::from(r) * row_bytes;
                        read_at(file, bytemuck::cast_slice_mut(&mut buf), at).ok()?;
                        if cfg!(target_endian = "big") {
                            for v in &mut buf {
                                *v = f32::from_bits(v.to_bits().swap_bytes());
                            }
                        }
                        Some(dot(query, &buf))
                    })
                    .collect()
            }
        }
    }

    /// `1 - <query, v>` from the node's quantised code.
    fn code_distance(&self, query: &[f32], node: u32) -> f32 {
        let mut d = [0f32];
        distances_i8(query, &self.codes, &self.scales, &[node], &mut d);
        d[0]
    }

    /// The `width` nodes of `layer` nearest to `query` reachable from `entries`
    /// (a best-first search; width 1 is HNSW's greedy descent).
    fn search_upper(
        &self,
        query: &[f32],
        entries: Vec<(OrdF32, u32)>,
        layer: usize,
        width: usize,
    ) -> Vec<(OrdF32, u32)> {
        use std::cmp::Reverse;
        use std::collections::{BinaryHeap, HashSet};
        let mut seen: HashSet<u32> = entries.iter().map(|e| e.1).collect();
        let mut candidates: BinaryHeap<Reverse<(OrdF32, u32)>> =
            entries.iter().map(|&e| Reverse(e)).collect();
        let mut found: BinaryHeap<(OrdF32, u32)> = entries.into_iter().collect();
        while found.len() > width {
            found.pop();
        }
        while let Some(Reverse((d, c))) = candidates.pop() {
            if found.len() >= width && d > found.peek().expect("non-empty").0 {
                break;
            }
            let links = self
                .upper
                .get(&c)
                .and_then(|l| l.get(layer - 1))
                .map_or(&[][..], |v| &v[..]);
            for &n in links {
                if !seen.insert(n) {
                    continue;
                }
                let dn = OrdF32(self.code_distance(query, n));
                if found.len() < width || dn < found.peek().expect("non-empty").0 {
                    candidates.push(Reverse((dn, n)));
                    found.push((dn, n));
                    if found.len() > width {
                        found.pop();
                    }
                }
            }
        }
        found.into_sorted_vec()
    }

    /// HNSW search: a narrow best-first descent through the upper layers
    /// ([`UPPER_BEAM`] nodes a layer), then a best-first search of layer 0 from
    /// all of them, keeping the `ef` best nodes that `keep` accepts.
    fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        keep: &dyn Fn(ImageId) -> bool,
    ) -> Vec<Scored> {
        if self.ids.is_empty() || k == 0 {
            return Vec::new();
        }
        assert_eq!(query.len(), self.dim, "query dimension");
        let found = self.walk(query, ef.max(k), |n| keep(self.ids[n as usize]));
        // The walk ranked by quantised distances: re-score the best it found exactly.
        let mut nodes: Vec<u32> = found.into_iter().map(|(_, n)| n).collect();
        // The exact top k lies among the best few by quantised distance (its error
        // is ~1e-3 of a cosine): re-score those, not all ef.
        nodes.truncate((RERANK_PER_HIT * k).max(RERANK_MIN));
        let exact = self.exact_scores(query, &nodes);
        let mut out: Vec<Scored> = nodes
            .iter()
            .zip(exact)
            .map(|(&n, score)| {
                let score = score.unwrap_or_else(|| 1.0 - self.code_distance(query, n));
                (self.ids[n as usize], score)
            })
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.dedup_by_key(|h| h.0);
        out.truncate(k);
        out
    }

    /// The `ef` nodes nearest to `query` by their codes that `keep` accepts,
    /// nearest first: the descent of the upper layers, then a best-first
    /// search of layer 0 from the nodes it ends on.
    fn walk(&self, query: &[f32], ef: usize, keep: impl Fn(u32) -> bool) -> Vec<(OrdF32, u32)> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        // The descent ranks by the codes too: the exact vectors are read only
        // for the final candidates (a query far from every photo would
        // otherwise read thousands of them at random in the upper layers).
        let mut entries = vec![(OrdF32(self.code_distance(query, self.entry)), self.entry)];
        for layer in (1..=self.top_layer).rev() {
            entries = self.search_upper(query, entries, layer, UPPER_BEAM);
        }
        let mut visited = vec![0u64; self.ids.len().div_ceil(64)];
        let mut mark = |n: u32| {
            let (w, b) = ((n / 64) as usize, n % 64);
            let seen = visited[w] & (1 << b) != 0;
            visited[w] |= 1 << b;
            seen
        };
        // Candidates to expand (closest first) and the best accepted nodes found
        // (farthest on top, at most ef).
        let mut candidates = BinaryHeap::with_capacity(ef + entries.len());
        let mut found: BinaryHeap<(OrdF32, u32)> = BinaryHeap::with_capacity(ef + 1);
        for &(d, node) in &entries {
            mark(node);
            candidates.push(Reverse((d, node)));
            if keep(node) {
                found.push((d, node));
                if found.len() > ef {
                    found.pop();
                }
            }
        }
        while let Some(Reverse((OrdF32(d), c))) = candidates.pop() {
            if found.len() >= ef && d > found.peek().expect("non-empty").0 .0 {
                break;
            }
            // The next expansion is probably the next best candidate: request its
            // links while this one is worked on.
            if let Some(Reverse((_, next))) = candidates.peek() {
                prefetch(
                    self.links0.as_ptr().wrapping_add(*next as usize * SLOT0) as *const i8,
                    SLOT0 * 4,
                );
            }
            // Unvisited neighbours first, with their codes requested before any
            // distance is computed (the walk is memory-bound).
            let mut fresh = [0u32; 4 * MAX_CONNECTIONS];
            let mut count = 0;
            for &n in self.links_of(c) {
                if !mark(n) && count < fresh.len() {
                    fresh[count] = n;
                    count += 1;
                    prefetch(
                        self.codes.as_ptr().wrapping_add(n as usize * self.dim),
                        self.dim,
                    );
                }
            }
            let mut dists = [0f32; 4 * MAX_CONNECTIONS];
            distances_i8(
                query,
                &self.codes,
                &self.scales,
                &fresh[..count],
                &mut dists,
            );
            for (&n, &dn) in fresh[..count].iter().zip(&dists) {
                let worst = found.peek().map_or(f32::INFINITY, |w| w.0 .0);
                if found.len() < ef || dn < worst {
                    candidates.push(Reverse((OrdF32(dn), n)));
                    if keep(n) {
                        found.push((OrdF32(dn), n));
                        if found.len() > ef {
                            found.pop();
                        }
                    }
                }
            }
        }
        found.into_sorted_vec()
    }

    /// A node's layer-0 links.
    fn links_of(&self, node: u32) -> &[u32] {
        let slot = &self.links0[node as usize * SLOT0..(node as usize + 1) * SLOT0];
        &slot[1..1 + slot[0] as usize]
    }
}

/// Nodes a repaired node's search keeps as candidates for its links.
const REPAIR_EF: usize = 100;
/// Of a repaired node's new neighbours, the nearest this many take a link to
/// it even when their slots are full (in place of their farthest link whose
/// target other nodes also link to); the others only where it is nearer than
/// that link.
const REPAIR_FORCED_IN_LINKS: usize = 4;

/// Rounds of [`SearchView::repair`] at most: the nodes a round leaves weak
/// (each fewer than the one before) are repaired in the next.
const REPAIR_ROUNDS: usize = 8;
/// A layer-0 node fewer nodes link to is repaired. At a million synthetic
/// photos (`examples/ann_recall.rs 1000000 1000`, 2 cores) the median node
/// has 23 and the true neighbours searches missed had 3; recall@10 at the
/// default ef was 0.966 unrepaired, 0.989 repaired below 4 (17 s more to
/// make the view) and 0.999 below 8 (35 s more, 7 % of the nodes).
pub const REPAIR_MIN_IN_LINKS: u32 = 8;

/// What [`SearchView::repair`] changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RepairStats {
    /// Layer-0 nodes fewer than the minimum linked to.
    pub weak: usize,
    /// Nodes given new links (the weak, and nodes left weak by the repair of
    /// another).
    pub relinked: usize,
    /// Links to repaired nodes added in other nodes' slots.
    pub links_in: usize,
    /// Nodes still weak after the last round.
    pub left_weak: usize,
}

impl SearchView {
    /// A node's exact vector while the view is made from hnsw_rs's graph.
    fn point(&self, node: u32) -> Option<&[f32]> {
        match &self.exact {
            // SAFETY: see the `Send`/`Sync` impls: each pointer is valid for
            // `dim` floats as long as the graph that owns this view.
            Exact::Points(p) => {
                Some(unsafe { std::slice::from_raw_parts(p[node as usize], self.dim) })
            }
            Exact::Rows { .. } => None,
        }
    }

    /// Gives every layer-0 node that fewer than `min_in_links` nodes link to
    /// new links, found by a search for it, and links from its nearest
    /// neighbours, so that a walk reaches it.
    ///
    /// hnsw_rs keeps a node's nearest links when a new point's reverse link
    /// overflows its slot (hnswlib prunes with the neighbour heuristic there),
    /// and links a point after a greedy descent of the upper layers. On photos
    /// in many clusters about equally far apart, a point whose descent ended
    /// in another cluster is linked there, its links back are soon displaced
    /// by nearer points, and its own cluster rarely links to it; inside a
    /// cluster, a point few others count among their nearest is kept by few.
    /// A walk finds such points only by chance: at a million synthetic photos
    /// the true neighbours a search missed had 3 links to them (the median
    /// node 23), some none. Each is searched for like a query, given links
    /// chosen with the neighbour heuristic among what the search found and its
    /// old links, and linked to from its nearest new neighbours. The searches
    /// run on every core; the links are changed one node after another.
    fn repair(&mut self, min_in_links: u32) -> RepairStats {
        use rayon::prelude::*;
        let n = self.ids.len();
        let mut stats = RepairStats::default();
        if n < 2 || min_in_links == 0 || self.point(0).is_none() {
            return stats;
        }
        let mut in_links = vec![0u32; n];
        for node in 0..n as u32 {
            for &m in self.links_of(node) {
                in_links[m as usize] += 1;
            }
        }
        let entry = self.entry;
        let weak = |in_links: &[u32], p: u32| in_links[p as usize] < min_in_links && p != entry;
        let mut work: Vec<u32> = (0..n as u32).filter(|&p| weak(&in_links, p)).collect();
        stats.weak = work.len();
        // A repair can leave a node it unlinks weak in turn: a few rounds.
        for _ in 0..REPAIR_ROUNDS {
            if work.is_empty() {
                break;
            }
            let view = &*self;
            // On every core, unless this thread is already one of rayon's: the
            // view is made inside a `OnceLock`, and a worker waiting for its
            // own parallel jobs may run another of the caller's (a search
            // needing this same view), which would wait for itself.
            let plans: Vec<(u32, Vec<(f32, u32)>)> = if rayon::current_thread_index().is_none() {
                work.par_iter().map(|&p| (p, view.plan_links(p))).collect()
            } else {
                work.iter().map(|&p| (p, view.plan_links(p))).collect()
            };
            let mut next = Vec::new();
            for (p, chosen) in plans {
                stats.relinked += 1;
                let old: Vec<u32> = self.links_of(p).to_vec();
                for &m in &old {
                    in_links[m as usize] -= 1;
                }
                for &(_, m) in &chosen {
                    in_links[m as usize] += 1;
                }
                self.set_links(p, &chosen.iter().map(|c| c.1).collect::<Vec<_>>());
                next.extend(old.into_iter().filter(|&m| weak(&in_links, m)));
                // Links to p from its nearest.
                let mut nearest = chosen;
                nearest.sort_by(|a, b| a.0.total_cmp(&b.0));
                for (i, &(d, q)) in nearest.iter().enumerate() {
                    let force = i < REPAIR_FORCED_IN_LINKS;
                    if self.link_into(q, p, d, force, min_in_links, &mut in_links) {
                        stats.links_in += 1;
                    }
                }
            }
            next.sort_unstable();
            next.dedup();
            next.retain(|&p| weak(&in_links, p));
            work = next;
        }
        stats.left_weak = (0..n as u32).filter(|&p| weak(&in_links, p)).count();
        stats
    }

    /// New layer-0 links for node `p`: the neighbour heuristic's choice among
    /// what a search for it finds and its links now (distance, node).
    fn plan_links(&self, p: u32) -> Vec<(f32, u32)> {
        let v = self.point(p).expect("made from hnsw_rs's graph");
        let mut candidates: Vec<u32> = self
            .walk(v, REPAIR_EF, |m| m != p)
            .into_iter()
            .map(|(_, m)| m)
            .chain(self.links_of(p).iter().copied())
            .filter(|&m| m != p)
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let mut scored: Vec<(f32, u32)> = candidates
            .into_iter()
            .map(|m| (1.0 - dot(v, self.point(m).expect("points")), m))
            .collect();
        scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        self.select_links(&scored, SLOT0 - 1)
    }

    /// Up to `max` of `scored` (distance to a node, candidate; nearest first)
    /// chosen with HNSW's neighbour heuristic: a candidate is taken if it is
    /// nearer to the node than to every one taken before it, so that links
    /// point in different directions; the slots left are filled with the
    /// nearest of those passed over.
    fn select_links(&self, scored: &[(f32, u32)], max: usize) -> Vec<(f32, u32)> {
        let mut chosen: Vec<(f32, u32)> = Vec::with_capacity(max);
        let mut passed = Vec::new();
        for &(d, c) in scored {
            if chosen.len() == max {
                break;
            }
            let vc = self.point(c).expect("points");
            // hnswlib's rule: passed over only if strictly nearer to a link
            // taken (an exact copy of the node, at the same distance from
            // every candidate, then passes none over).
            let diverse = chosen
                .iter()
                .all(|&(_, s)| 1.0 - dot(vc, self.point(s).expect("points")) >= d);
            if diverse {
                chosen.push((d, c));
            } else {
                passed.push((d, c));
            }
        }
        for p in passed {
            if chosen.len() == max {
                break;
            }
            chosen.push(p);
        }
        chosen
    }

    /// Replaces a node's layer-0 links.
    fn set_links(&mut self, node: u32, links: &[u32]) {
        debug_assert!(links.len() < SLOT0);
        let links0 = self.links0.to_mut();
        let slot = &mut links0[node as usize * SLOT0..(node as usize + 1) * SLOT0];
        slot[0] = links.len() as u32;
        slot[1..1 + links.len()].copy_from_slice(links);
    }

    /// Adds a link from `q` to `p` (at distance `d`): in a free slot, else in
    /// place of `q`'s farthest link whose target keeps more than
    /// `min_in_links` links to it, if `force` or `p` is nearer than that link.
    /// Whether it was added.
    fn link_into(
        &mut self,
        q: u32,
        p: u32,
        d: f32,
        force: bool,
        min_in_links: u32,
        in_links: &mut [u32],
    ) -> bool {
        let links = self.links_of(q);
        if links.contains(&p) {
            return false;
        }
        let mut new: Vec<u32> = links.to_vec();
        if new.len() < SLOT0 - 1 {
            new.push(p);
        } else {
            let vq = self.point(q).expect("points");
            let farthest = new
                .iter()
                .enumerate()
                .filter(|&(_, &m)| in_links[m as usize] > min_in_links)
                .map(|(i, &m)| (1.0 - dot(vq, self.point(m).expect("points")), i))
                .max_by(|a, b| a.0.total_cmp(&b.0));
            match farthest {
                Some((dw, i)) if force || d < dw => {
                    in_links[new[i] as usize] -= 1;
                    new[i] = p;
                }
                _ => return false,
            }
        }
        in_links[p as usize] += 1;
        self.set_links(q, &new);
        true
    }

    /// For each of `nodes`: how many nodes link to it on layer 0, the
    /// distance to its nearest link, and to the nearest node linking to it
    /// (for `examples/ann_recall.rs`).
    fn link_report(&self, nodes: &[u32]) -> Vec<(u32, f32, f32)> {
        let mut linkers: HashMap<u32, Vec<u32>> = nodes.iter().map(|&n| (n, Vec::new())).collect();
        for node in 0..self.ids.len() as u32 {
            for &m in self.links_of(node) {
                if let Some(from) = linkers.get_mut(&m) {
                    from.push(node);
                }
            }
        }
        nodes
            .iter()
            .map(|p| (p, &linkers[p]))
            .map(|(&p, from)| {
                let v = self.code_vector(p);
                let nearest = |ns: &[u32]| {
                    ns.iter()
                        .map(|&m| self.code_distance(&v, m))
                        .fold(f32::INFINITY, f32::min)
                };
                (from.len() as u32, nearest(self.links_of(p)), nearest(from))
            })
            .collect()
    }

    /// A node's vector as its code gives it.
    fn code_vector(&self, node: u32) -> Vec<f32> {
        let s = self.scales[node as usize];
        self.codes[node as usize * self.dim..(node as usize + 1) * self.dim]
            .iter()
            .map(|&c| s * f32::from(c))
            .collect()
    }
}

/// `scale · <query, code>` of the consecutive nodes whose codes and scales
/// are given, into `out`, one dispatch for all of them.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx512dq+fma",
    "x86_64+avx2+fma"
))]
fn scores_i8(query: &[f32], codes: &[i8], scales: &[f32], out: &mut [f32]) {
    for ((c, s), o) in codes.chunks_exact(query.len()).zip(scales).zip(out) {
        *o = s * crate::simd::dot16(query, c);
    }
}

/// Nodes scored from their codes at a time in [`SearchView::scan`].
const SCAN_CHUNK: usize = 16_384;
/// Candidates [`SearchView::scan`] re-scores exactly: this many a hit asked
/// for, at least [`SCAN_RERANK_MIN`] (a code's error is ~1e-3 of a cosine;
/// scores of a query far from every photo lie close together).
const SCAN_RERANK_PER_HIT: usize = 16;
const SCAN_RERANK_MIN: usize = 256;

/// Approximate `1 - <query, v>` from the quantised codes for each node in
/// `nodes`, one dispatch for all of them.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx512dq+fma",
    "x86_64+avx2+fma"
))]
fn distances_i8(query: &[f32], codes: &[i8], scales: &[f32], nodes: &[u32], out: &mut [f32]) {
    let dim = query.len();
    for (&n, o) in nodes.iter().zip(out.iter_mut()) {
        let c = &codes[n as usize * dim..(n as usize + 1) * dim];
        *o = 1.0 - scales[n as usize] * crate::simd::dot16(query, c);
    }
}

impl SearchView {
    /// Every node scored from its code (a quarter of the vectors' bytes, read
    /// in order), the best few re-scored exactly: for a command that asks one
    /// or two queries, what an exact scan gives (no walk, so no query is
    /// stranded away from its neighbours) at a quarter of its memory traffic.
    fn scan(&self, query: &[f32], k: usize, keep: &dyn Fn(ImageId) -> bool) -> Vec<Scored> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let n = self.ids.len();
        if n == 0 || k == 0 {
            return Vec::new();
        }
        assert_eq!(query.len(), self.dim, "query dimension");
        let pool = (SCAN_RERANK_PER_HIT * k).max(SCAN_RERANK_MIN);
        // The best `pool` by their codes' scores (worst on top).
        let mut heap: BinaryHeap<Reverse<(OrdF32, u32)>> = BinaryHeap::with_capacity(pool + 1);
        let mut scores = vec![0f32; SCAN_CHUNK.min(n)];
        for start in (0..n).step_by(SCAN_CHUNK) {
            let end = (start + SCAN_CHUNK).min(n);
            let scores = &mut scores[..end - start];
            scores_i8(
                query,
                &self.codes[start * self.dim..end * self.dim],
                &self.scales[start..end],
                scores,
            );
            for (i, &s) in scores.iter().enumerate() {
                let node = start + i;
                let worst = heap.peek().map_or(f32::MIN, |w| w.0 .0 .0);
                if (heap.len() < pool || s > worst) && keep(self.ids[node]) {
                    heap.push(Reverse((OrdF32(s), node as u32)));
                    if heap.len() > pool {
                        heap.pop();
                    }
                }
            }
        }
        let pooled: Vec<(OrdF32, u32)> = heap.into_iter().map(|Reverse(h)| h).collect();
        let nodes: Vec<u32> = pooled.iter().map(|h| h.1).collect();
        let exact = self.exact_scores(query, &nodes);
        let mut out: Vec<Scored> = pooled
            .iter()
            .zip(exact)
            .map(|(&(approx, node), score)| (self.ids[node as usize], score.unwrap_or(approx.0)))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.dedup_by_key(|h| h.0);
        out.truncate(k);
        out
    }
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph")
            .field("points", &self.points)
            .field("max_id", &self.max_id)
            .finish()
    }
}

impl Graph {
    /// Builds a graph over all `vectors` (parallel insertion).
    pub fn build(vectors: &Vectors) -> Self {
        let hnsw = Hnsw::new(
            MAX_CONNECTIONS,
            vectors.len().max(1024),
            MAX_LAYERS,
            EF_CONSTRUCTION,
            DotDistance,
        );
        let items: Vec<(&[f32], usize)> = vectors.iter().map(|(id, v)| (v, id as usize)).collect();
        // hnsw_rs wants large calls for parallel insertion to pay off.
        for chunk in items.chunks(20_000) {
            hnsw.parallel_insert_slice(&chunk.to_vec());
        }
        let graph = Self {
            view: std::sync::OnceLock::new(),
            points: items.len(),
            max_id: vectors.iter().map(|(id, _)| id).max().unwrap_or(0),
            hnsw: Some(hnsw),
            repair: REPAIR_MIN_IN_LINKS,
        };
        graph.warm();
        graph
    }

    /// Makes the search view now rather than on the first query.
    pub fn warm(&self) {
        self.view();
    }

    fn view(&self) -> &SearchView {
        self.view.get_or_init(|| {
            let mut view = SearchView::new(
                self.hnsw
                    .as_ref()
                    .expect("a graph without hnsw_rs's graph was opened with its view"),
            );
            if self.repair > 0 {
                let t = std::time::Instant::now();
                view.repaired = view.repair(self.repair);
                tracing::debug!(
                    "graph view repaired in {:.2} s: {:?}",
                    t.elapsed().as_secs_f64(),
                    view.repaired
                );
            }
            view
        })
    }

    /// Sets the fewest layer-0 links to a node that the repair of the view
    /// made from hnsw_rs's graph leaves alone (0: no repair; by default
    /// [`REPAIR_MIN_IN_LINKS`]) and drops the view made so far: for measuring
    /// what the repair gives (`examples/ann_recall.rs`).
    #[doc(hidden)]
    pub fn set_repair(&mut self, min_in_links: u32) {
        self.repair = min_in_links;
        if self.hnsw.is_some() {
            self.view = std::sync::OnceLock::new();
        }
    }

    /// What the repair changed in the current view.
    #[doc(hidden)]
    pub fn repair_stats(&self) -> RepairStats {
        self.view().repaired
    }

    /// For each of `ids` in the graph: how many nodes link to it on layer 0,
    /// the (code) distance to its nearest link and to the nearest node
    /// linking to it (`examples/ann_recall.rs`).
    #[doc(hidden)]
    pub fn link_report(&self, ids: &[ImageId]) -> Vec<Option<(u32, f32, f32)>> {
        let view = self.view();
        let node_of: HashMap<ImageId, u32> = view
            .ids
            .iter()
            .enumerate()
            .map(|(i, &id)| (id, i as u32))
            .collect();
        let nodes: Vec<u32> = ids
            .iter()
            .filter_map(|id| node_of.get(id).copied())
            .collect();
        let mut report = view.link_report(&nodes).into_iter();
        ids.iter()
            .map(|id| node_of.get(id).and_then(|_| report.next()))
            .collect()
    }

    /// Whether the graph was opened from its view file alone: it searches, but
    /// cannot change or be dumped.
    pub fn is_read_only(&self) -> bool {
        self.hnsw.is_none()
    }

    /// Adds a point. The id must be larger than every id already in the graph
    /// (ids are never reused; re-inserting one would add a second point).
    ///
    /// # Panics
    /// On a graph opened from its view file ([`Graph::is_read_only`]).
    pub fn insert(&mut self, id: ImageId, v: &[f32]) {
        debug_assert!(id > self.max_id || self.points == 0);
        self.hnsw
            .as_ref()
            .expect("insert into a graph opened from its view file")
            .insert_slice((v, id as usize));
        self.view = std::sync::OnceLock::new();
        self.points += 1;
        self.max_id = self.max_id.max(id);
    }

    /// Points in the graph, tombstones included.
    pub fn points(&self) -> usize {
        self.points
    }

    /// The highest id in the graph: newer catalog vectors are not in it yet.
    pub fn max_id(&self) -> ImageId {
        self.max_id
    }

    /// Writes the graph to `dir` under a fresh name and returns the name.
    /// hnsw_rs never overwrites files: an existing name gets a random suffix, so
    /// the name it returns is the one to record.
    pub fn dump(&self, dir: &Path, basename: &str) -> Result<String> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let Some(hnsw) = &self.hnsw else {
            return Err(Error::InvalidArgument(
                "a graph opened from its view file cannot be dumped".into(),
            ));
        };
        hnsw.file_dump(dir, basename)
            .map_err(|e| Error::DataCorruption {
                path: dir.to_path_buf(),
                message: format!("cannot write the ANN graph: {e}"),
            })
    }

    /// Loads a graph written by [`Graph::dump`]; a damaged or partly written
    /// dump is [`Error::DataCorruption`] (the caller rebuilds the graph).
    pub fn load(dir: &Path, basename: &str, points: usize, max_id: ImageId) -> Result<Self> {
        for ext in ["hnsw.graph", "hnsw.data"] {
            let f = dir.join(format!("{basename}.{ext}"));
            if !f.is_file() {
                return Err(Error::DataCorruption {
                    path: f,
                    message: "ANN graph file is missing".into(),
                });
            }
        }
        check_graph_magic(&dir.join(format!("{basename}.hnsw.graph")))?;
        check_data_file(&dir.join(format!("{basename}.hnsw.data")), points)?;
        // hnsw_rs ties the graph's lifetime to its loader. The loader is small (the
        // data is copied, not memory-mapped), so it is leaked to give the graph a
        // 'static lifetime; a library loads its graph once.
        let io: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(dir, basename)));
        fn load_static(io: &'static mut HnswIo) -> anyhow::Result<Hnsw<'static, f32, DotDistance>> {
            io.load_hnsw::<f32, DotDistance>()
        }
        // A truncated dump can make hnsw_rs panic instead of returning an error.
        let mut slot = Some(io);
        let load = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            load_static(slot.take().expect("called once"))
        }));
        let hnsw = match load {
            Ok(Ok(h)) => h,
            Ok(Err(e)) => {
                return Err(Error::DataCorruption {
                    path: dir.join(basename),
                    message: format!("ANN graph unreadable: {e}"),
                })
            }
            Err(_) => {
                return Err(Error::DataCorruption {
                    path: dir.join(basename),
                    message: "ANN graph unreadable (truncated or overwritten)".into(),
                })
            }
        };
        if hnsw.get_nb_point() != points {
            return Err(Error::DataCorruption {
                path: dir.join(basename),
                message: format!(
                    "ANN graph has {} points, the catalog recorded {points}",
                    hnsw.get_nb_point()
                ),
            });
        }
        // The search view is made on first use (or by `warm`): the caller may
        // still insert what was committed after the dump.
        Ok(Self {
            view: std::sync::OnceLock::new(),
            hnsw: Some(hnsw),
            repair: REPAIR_MIN_IN_LINKS,
            points,
            max_id,
        })
    }

    /// Writes the search view to `dir` as generation `generation` (see
    /// [`view_file`]) and returns the file's name. `row` is each live image's
    /// row in the vector file of that generation.
    pub fn write_view(
        &self,
        dir: &Path,
        generation: u64,
        row: &dyn Fn(ImageId) -> Option<usize>,
    ) -> Result<String> {
        self.view()
            .write(dir, generation, row)
            .map_err(|e| Error::io(dir, e))
    }

    /// Opens a graph from the view file `path` written at `generation` with
    /// [`Graph::write_view`], re-scoring from the vector file of the same
    /// generation (`count` vectors of `dim` at byte `values_offset`, each read
    /// when a search re-scores it).
    /// The graph searches but cannot change ([`Graph::is_read_only`]). `None`
    /// if the file is not that view or is damaged.
    pub fn open_view(
        path: &Path,
        generation: u64,
        dim: usize,
        vectors: std::fs::File,
        values_offset: usize,
        count: usize,
        max_id: ImageId,
    ) -> Result<Option<Self>> {
        let view = SearchView::open(path, generation, dim, vectors, values_offset, count)
            .map_err(|e| Error::io(path, e))?;
        Ok(view.map(|view| Self {
            points: view.ids.len(),
            max_id,
            hnsw: None,
            repair: REPAIR_MIN_IN_LINKS,
            view: view.into(),
        }))
    }

    /// Search with an explicit `ef` (candidate list size; ≥ k).
    pub fn search_ef(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        keep: &dyn Fn(ImageId) -> bool,
    ) -> Vec<Scored> {
        if k == 0 || self.points == 0 {
            return Vec::new();
        }
        self.view().search(query, k, ef, keep)
    }

    /// The `k` nearest that `keep` accepts by a scan of every node's code and
    /// an exact re-scoring of the best (see `SearchView::scan`): for one or two
    /// queries on a library opened with its view file, near the exact scan's
    /// answer and cost without walking the graph.
    pub fn scan(&self, query: &[f32], k: usize, keep: &dyn Fn(ImageId) -> bool) -> Vec<Scored> {
        if k == 0 || self.points == 0 {
            return Vec::new();
        }
        self.view().scan(query, k, keep)
    }

    /// The same search through hnsw_rs's own code (the reference the search view
    /// is tested against).
    pub fn search_ef_hnsw_rs(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        keep: &dyn Fn(ImageId) -> bool,
    ) -> Vec<Scored> {
        if k == 0 || self.points == 0 {
            return Vec::new();
        }
        let filter = |id: &usize| keep(*id as ImageId);
        let hnsw = self.hnsw.as_ref().expect("hnsw_rs's graph is read");
        let found = hnsw.search_filter(query, k, ef.max(k), Some(&filter));
        found
            .into_iter()
            .map(|n| (n.d_id as ImageId, 1.0 - n.distance))
            .collect()
    }
}

impl NearestNeighbours for Graph {
    fn search(&self, query: &[f32], k: usize, keep: &dyn Fn(ImageId) -> bool) -> Vec<Scored> {
        // ef 128: recall@10 0.995 on 100k clustered vectors at ~0.7 ms (README).
        self.search_ef(query, k, (k * 4).max(128), keep)
    }
}

/// The graph file's first word is the dump format (hnsw_rs 0.3 writes version 4,
/// `0x002a6779`; a version-2 word, one bit away, makes it end the process).
fn check_graph_magic(path: &Path) -> Result<()> {
    use std::io::Read;
    let mut word = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut word))
        .map_err(|e| Error::io(path, e))?;
    match u32::from_ne_bytes(word) {
        0x002a_6779 | 0x002a_6771 => Ok(()),
        other => Err(Error::DataCorruption {
            path: path.to_path_buf(),
            message: format!("ANN graph file of an unknown format ({other:#010x})"),
        }),
    }
}

/// Checks that a graph dump's data file is whole: hnsw_rs 0.3 ends the process
/// (`std::process::exit(1)` in `hnswio.rs`) instead of returning an error when
/// a point's data cannot be read, so a file cut short by a crash or a full disk
/// must never reach it. The layout is hnsw_rs's: a header (magic `u32`,
/// dimension `usize`), then per point the magic, its id (`u64`), the byte
/// length (`u64`) and the values; native endianness.
fn check_data_file(path: &Path, points: usize) -> Result<()> {
    use std::io::Read;
    const MAGIC: u32 = 0xa67f_0000;
    let bad = |why: String| Error::DataCorruption {
        path: path.to_path_buf(),
        message: format!("ANN graph data unreadable: {why}"),
    };
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut r = std::io::BufReader::new(file);
    let mut u32b = [0u8; 4];
    let mut u64b = [0u8; 8];
    let mut usizeb = [0u8; std::mem::size_of::<usize>()];
    r.read_exact(&mut u32b)
        .and_then(|()| r.read_exact(&mut usizeb))
        .map_err(|_| bad("no header".into()))?;
    if u32::from_ne_bytes(u32b) != MAGIC {
        return Err(bad("not a graph data file".into()));
    }
    let dim = usize::from_ne_bytes(usizeb) as u64;
    let point_bytes = dim
        .checked_mul(4)
        .ok_or_else(|| bad(format!("dimension {dim}")))?;
    let mut at = (4 + usizeb.len()) as u64;
    let mut found = 0usize;
    while at < size {
        let head = r
            .read_exact(&mut u32b)
            .and_then(|()| r.read_exact(&mut u64b))
            .and_then(|()| {
                if u32::from_ne_bytes(u32b) != MAGIC {
                    return Err(std::io::ErrorKind::InvalidData.into());
                }
                r.read_exact(&mut u64b)
            });
        if head.is_err() {
            return Err(bad(format!("point {found} is cut short or overwritten")));
        }
        let len = u64::from_ne_bytes(u64b);
        if len != point_bytes {
            return Err(bad(format!(
                "point {found} holds {len} bytes, not {point_bytes}"
            )));
        }
        at += 20 + len;
        if at > size {
            return Err(bad(format!("point {found} is cut short")));
        }
        r.seek_relative(len as i64)
            .map_err(|e| Error::io(path, e))?;
        found += 1;
    }
    if found != points {
        return Err(bad(format!(
            "{found} points, the catalog recorded {points}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: Vec<f32>) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    /// `ids` unit vectors of `dim` around `clusters` random centres (noise
    /// 0.3 a component), from xorshift seeded with `seed`, and the generator
    /// to draw more from.
    fn clustered(
        dim: usize,
        clusters: usize,
        ids: std::ops::RangeInclusive<u64>,
        seed: u64,
    ) -> (Vectors, impl FnMut() -> f32) {
        let mut s = seed;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 2000) as f32 / 1000.0 - 1.0
        };
        let centres: Vec<Vec<f32>> = (0..clusters)
            .map(|_| unit((0..dim).map(|_| next()).collect()))
            .collect();
        let mut vs = Vectors::new(dim);
        for id in ids {
            let c = &centres[id as usize % centres.len()];
            vs.insert(id, &unit(c.iter().map(|x| x + 0.3 * next()).collect()));
        }
        (vs, next)
    }

    /// A dump cut short (a crash, a full disk) or overwritten is an error the
    /// library recovers from by rebuilding, never hnsw_rs ending the process.
    #[test]
    fn a_damaged_dump_is_an_error_not_an_exit() {
        let mut vs = Vectors::new(8);
        for id in 1..=200u64 {
            let v: Vec<f32> = (0..8).map(|i| ((id * 7 + i) % 13) as f32 - 6.0).collect();
            vs.insert(id, &unit(v));
        }
        let g = Graph::build(&vs);
        let tmp = tempfile::tempdir().unwrap();
        let name = g.dump(tmp.path(), "g").unwrap();
        let data = tmp.path().join(format!("{name}.hnsw.data"));
        let whole = std::fs::read(&data).unwrap();
        let loaded = Graph::load(tmp.path(), &name, 200, 200).unwrap();
        assert_eq!(loaded.search(vs.get(7).unwrap(), 1, &|_| true)[0].0, 7);
        let point = 20 + 8 * 4;
        for cut in [
            0,
            5,
            12,
            12 + point / 2,
            whole.len() - point,
            whole.len() - 1,
        ] {
            std::fs::write(&data, &whole[..cut]).unwrap();
            let Err(err) = Graph::load(tmp.path(), &name, 200, 200) else {
                panic!("a cut dump loaded");
            };
            assert!(
                matches!(err, Error::DataCorruption { .. }),
                "cut at {cut}: {err}"
            );
        }
        let graph = tmp.path().join(format!("{name}.hnsw.graph"));
        let graph_bytes = std::fs::read(&graph).unwrap();
        let mut damaged = graph_bytes.clone();
        damaged[0] ^= 0x06; // version 4's word becomes version 2's
        std::fs::write(&graph, &damaged).unwrap();
        std::fs::write(&data, &whole).unwrap();
        assert!(Graph::load(tmp.path(), &name, 200, 200).is_err());
        std::fs::write(&graph, &graph_bytes).unwrap();
        let mut bad = whole.clone();
        bad[12 + 3 * point] ^= 0xff; // a point's magic
        std::fs::write(&data, &bad).unwrap();
        assert!(Graph::load(tmp.path(), &name, 200, 200).is_err());
        std::fs::write(&data, &whole).unwrap();
        let Err(err) = Graph::load(tmp.path(), &name, 201, 201) else {
            panic!("a count mismatch loaded");
        };
        assert!(err.to_string().contains("201"), "{err}");
    }

    #[test]
    fn duplicate_vectors_do_not_panic_the_graph() {
        let mut vs = Vectors::new(4);
        let v = unit(vec![0.3, 0.1, 0.9, 0.2]);
        for id in 1..=50 {
            vs.insert(id, &v);
        }
        let g = Graph::build(&vs);
        let hits = g.search(&v, 5, &|_| true);
        assert_eq!(hits.len(), 5);
        assert!(hits.iter().all(|h| h.1 > 0.999));
    }

    #[test]
    fn exact_search_orders_by_cosine_and_filters() {
        let mut vs = Vectors::new(2);
        vs.insert(1, &[1.0, 0.0]);
        vs.insert(2, &unit(vec![1.0, 1.0]));
        vs.insert(3, &[0.0, 1.0]);
        let hits = vs.search(&[1.0, 0.0], 2, &|_| true);
        assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), [1, 2]);
        let hits = vs.search(&[1.0, 0.0], 2, &|id| id != 1);
        assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), [2, 3]);
        assert!(vs.remove(2));
        assert_eq!(vs.len(), 2);
        assert_eq!(vs.get(3).unwrap(), &[0.0, 1.0]);
    }

    /// A node that no other node links to on layer 0 cannot be found by any
    /// walk; the repair gives it links from its nearest neighbours, and leaves
    /// no such node behind.
    #[test]
    fn the_repair_links_a_node_no_walk_could_reach() {
        let vs = clustered(16, 20, 1..=2000, 0x9E37_79B9_7F4A_7C15).0;
        let g = Graph::build(&vs);
        let mut view = SearchView::new(g.hnsw.as_ref().unwrap());
        let in_links = |view: &SearchView, t: u32| {
            (0..view.ids.len() as u32)
                .filter(|&n| view.links_of(n).contains(&t))
                .count()
        };
        // A node only on layer 0 (no upper layer links to it), cut off: every
        // link to it removed.
        let in_upper: std::collections::HashSet<u32> =
            view.upper.values().flatten().flatten().copied().collect();
        let t = (0..view.ids.len() as u32)
            .find(|&n| {
                n != view.entry
                    && !view.upper.contains_key(&n)
                    && !in_upper.contains(&n)
                    && in_links(&view, n) > 0
            })
            .unwrap();
        for n in 0..view.ids.len() as u32 {
            let links: Vec<u32> = view
                .links_of(n)
                .iter()
                .copied()
                .filter(|&m| m != t)
                .collect();
            view.set_links(n, &links);
        }
        let v = view.point(t).unwrap().to_vec();
        let id = view.ids[t as usize];
        let found =
            |view: &SearchView| view.search(&v, 10, 64, &|_| true).iter().any(|h| h.0 == id);
        assert_eq!(in_links(&view, t), 0);
        assert!(!found(&view), "an unlinked node was found");
        let stats = view.repair(REPAIR_MIN_IN_LINKS);
        assert!(stats.weak >= 1 && stats.relinked >= 1, "{stats:?}");
        assert!(in_links(&view, t) >= 1, "still unlinked");
        assert_eq!(
            view.search(&v, 1, 64, &|_| true)[0].0,
            id,
            "found itself first"
        );
        // No node is left that nothing links to, and every slot is in bounds.
        assert_eq!(stats.left_weak, 0, "{stats:?}");
        for n in 0..view.ids.len() as u32 {
            assert!(
                n == view.entry || in_links(&view, n) > 0,
                "node {n} unlinked"
            );
            assert!(view
                .links_of(n)
                .iter()
                .all(|&m| (m as usize) < view.ids.len() && m != n));
        }
        // The repaired graph the library keeps still finds the exact answers.
        let mut hits = 0;
        for q in (0..30u64).map(|i| vs.get(1 + i * 61).unwrap().to_vec()) {
            let want: Vec<ImageId> = vs.search(&q, 10, &|_| true).iter().map(|h| h.0).collect();
            hits += g
                .search_ef(&q, 10, 64, &|_| true)
                .iter()
                .filter(|h| want.contains(&h.0))
                .count();
        }
        assert!(hits >= 290, "recall {hits}/300");
    }

    /// The view (and its repair) made by the first of many searches running
    /// on rayon's threads: each search answers, none waits for itself.
    #[test]
    fn a_view_made_inside_parallel_searches_answers_them_all() {
        use rayon::prelude::*;
        let (vs, _) = clustered(16, 20, 1..=3000, 0x5EED_0FC0_FFEE);
        let mut g = Graph::build(&vs);
        let extra: Vec<f32> = vs.get(7).unwrap().to_vec();
        g.insert(5000, &extra);
        let found: Vec<bool> = (1..=64u64)
            .into_par_iter()
            .map(|id| {
                let q = vs.get(id).unwrap();
                g.search(q, 3, &|_| true).iter().any(|h| h.0 == id)
            })
            .collect();
        assert!(found.iter().filter(|&&f| f).count() >= 62, "{found:?}");
        assert!(g.repair_stats().relinked > 0 || g.repair_stats().weak == 0);
    }

    #[test]
    fn search_view_matches_exact_search_and_hnsw_rs() {
        // Clustered vectors; queries between clusters; the view's recall against
        // the exact scan is at least hnsw_rs's own, filters hold, inserts are seen.
        let dim = 24;
        let (vs, mut next) = clustered(dim, 40, 0..=3999, 0x1234_5678_9ABC_DEF1);
        let mut g = Graph::build(&vs);
        let queries: Vec<Vec<f32>> = (0..60)
            .map(|_| unit((0..dim).map(|_| next()).collect()))
            .collect();
        let recall = |f: &dyn Fn(&[f32]) -> Vec<Scored>, keep: &dyn Fn(ImageId) -> bool| {
            let mut hits = 0;
            for q in &queries {
                let want: Vec<ImageId> = vs.search(q, 10, keep).iter().map(|h| h.0).collect();
                let got = f(q);
                assert!(got.iter().all(|h| keep(h.0)), "filter respected");
                assert!(got.windows(2).all(|w| w[0].1 >= w[1].1), "best first");
                hits += got.iter().filter(|h| want.contains(&h.0)).count();
            }
            hits as f64 / (10 * queries.len()) as f64
        };
        let all = |_: ImageId| true;
        let ours = recall(&|q| g.search_ef(q, 10, 64, &all), &all);
        let theirs = recall(&|q| g.search_ef_hnsw_rs(q, 10, 64, &all), &all);
        assert!(
            ours >= 0.95 && ours >= theirs - 0.02,
            "recall {ours} vs hnsw_rs {theirs}"
        );
        let even = |id: ImageId| id.is_multiple_of(2);
        let filtered = recall(&|q| g.search_ef(q, 10, 64, &even), &even);
        assert!(filtered >= 0.9, "filtered recall {filtered}");
        // Scores are the cosine of the stored vectors.
        let q = &queries[0];
        for (id, score) in g.search_ef(q, 5, 64, &all) {
            assert!((score - dot(q, vs.get(id).unwrap())).abs() < 1e-6);
        }
        // A point inserted after the view was made is found.
        let v = unit((0..dim).map(|_| next()).collect());
        g.insert(10_000, &v);
        assert_eq!(g.search_ef(&v, 1, 32, &all)[0].0, 10_000);
    }
}
