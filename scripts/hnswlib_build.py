#!/usr/bin/env python3
"""hnswlib's graph build time and recall@10 on the vectors `examples/ann_recall.rs`
writes with DUMP=DIR, at scry's parameters (M 16, ef_construction 200 unless
given, inner product), with as many threads as scry builds with (the cores).

    DUMP=/tmp/v100k cargo run --release --example ann_recall -- 100000 100
    python scripts/hnswlib_build.py /tmp/v100k [EF_CONSTRUCTION]

Needs numpy and hnswlib (scripts/requirements-compare.txt).
"""
import os
import sys
import time

import hnswlib
import numpy as np

DIM = 512
folder = sys.argv[1]
ef_construction = int(sys.argv[2]) if len(sys.argv) > 2 else 200
data = np.fromfile(os.path.join(folder, "vectors.f32"), dtype="<f4").reshape(-1, DIM)
queries = np.fromfile(os.path.join(folder, "queries.f32"), dtype="<f4").reshape(-1, DIM)
truth = np.argsort(-(queries @ data.T), axis=1)[:, :10]
index = hnswlib.Index(space="ip", dim=DIM)
index.init_index(max_elements=len(data), ef_construction=ef_construction, M=16)
index.set_num_threads(os.cpu_count())
t = time.perf_counter()
index.add_items(data, np.arange(len(data)))
build = time.perf_counter() - t
index.set_num_threads(1)
print(f"hnswlib graph of {len(data)} (ef_construction {ef_construction}) in {build:.1f} s")
for ef in [64, 128, 256]:
    index.set_ef(ef)
    t = time.perf_counter()
    labels = np.stack([index.knn_query(q, k=10)[0][0] for q in queries])
    ms = (time.perf_counter() - t) * 1e3 / len(queries)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(labels, truth)])
    print(f"hnswlib ef {ef:<4} recall@10 {recall:.3f}  {ms:.2f} ms/query")
