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

/// Dot product, written so the compiler vectorises it (8 independent lanes).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = a.len() / 8;
    for i in 0..chunks {
        let (x, y) = (&a[i * 8..i * 8 + 8], &b[i * 8..i * 8 + 8]);
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for i in chunks * 8..a.len() {
        sum += a[i] * b[i];
    }
    sum
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

/// The live vectors, contiguous for a fast exact scan.
#[derive(Debug, Default)]
pub struct Vectors {
    dim: usize,
    ids: Vec<ImageId>,
    data: Vec<f32>,
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

    /// Adds or replaces a vector.
    pub fn insert(&mut self, id: ImageId, v: &[f32]) {
        assert_eq!(v.len(), self.dim, "vector dimension");
        if let Some(&p) = self.pos.get(&id) {
            self.data[p * self.dim..(p + 1) * self.dim].copy_from_slice(v);
            return;
        }
        self.pos.insert(id, self.ids.len());
        self.ids.push(id);
        self.data.extend_from_slice(v);
    }

    pub fn remove(&mut self, id: ImageId) -> bool {
        let Some(p) = self.pos.remove(&id) else {
            return false;
        };
        let last = self.ids.len() - 1;
        if p != last {
            let moved = self.ids[last];
            self.ids[p] = moved;
            self.pos.insert(moved, p);
            let (head, tail) = self.data.split_at_mut(last * self.dim);
            head[p * self.dim..(p + 1) * self.dim].copy_from_slice(&tail[..self.dim]);
        }
        self.ids.pop();
        self.data.truncate(last * self.dim);
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
    hnsw: Hnsw<'static, f32, DotDistance>,
    points: usize,
    max_id: ImageId,
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
        Self {
            points: items.len(),
            max_id: vectors.iter().map(|(id, _)| id).max().unwrap_or(0),
            hnsw,
        }
    }

    /// Adds a point. The id must be larger than every id already in the graph
    /// (ids are never reused; re-inserting one would add a second point).
    pub fn insert(&mut self, id: ImageId, v: &[f32]) {
        debug_assert!(id > self.max_id || self.points == 0);
        self.hnsw.insert_slice((v, id as usize));
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
        self.hnsw
            .file_dump(dir, basename)
            .map_err(|e| Error::DataCorruption {
                path: dir.to_path_buf(),
                message: format!("cannot write the ANN graph: {e}"),
            })
    }

    /// Loads a graph written by [`Graph::dump`].
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
        Ok(Self {
            hnsw,
            points,
            max_id,
        })
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
        let filter = |id: &usize| keep(*id as ImageId);
        let found = self.hnsw.search_filter(query, k, ef.max(k), Some(&filter));
        found
            .into_iter()
            .map(|n| (n.d_id as ImageId, 1.0 - n.distance))
            .collect()
    }
}

impl NearestNeighbours for Graph {
    fn search(&self, query: &[f32], k: usize, keep: &dyn Fn(ImageId) -> bool) -> Vec<Scored> {
        self.search_ef(query, k, (k * 4).max(64), keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: Vec<f32>) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
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
}
