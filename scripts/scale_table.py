#!/usr/bin/env python3
"""The sizing tables of docs/SCALE.md, derived from measured figures.

    python3 scripts/scale_table.py

Every input below is a measurement from this repository's benchmarks (the
source is named beside it); the tables are arithmetic on them, so a new
measurement changes the document by re-running this script. No figure comes
from a vendor's page.
"""

import math

# --- Measured (cargo bench -p scry-indexer --bench scale -- 1000000) ---------
# One Qdrant node holding 1,000,000 512-d vectors with photo payloads, as scry
# makes its collections (f32 originals on disk, int8 copy in RAM, HNSW m=16),
# 2026-12-06 on a 2-core Sapphire Rapids VM, the same invocation as the local
# library's row: loaded in 2,335 s (upload 1,421 s, then the optimiser),
# 4,249 MiB on disk, 3,560 MiB resident (VmRSS: the process and the pages of
# its memory-mapped files that searches touched). The 2026-12-03 run on a
# 2-core AMD EPYC gave 4,451 / 3,460 bytes an image and p50 10.63 ms.
QDRANT_DISK_PER_IMAGE = 4_455  # bytes on disk per image, 512-d, no thumbnail
QDRANT_RSS_PER_IMAGE = 3_733  # resident bytes per image, 512-d
QDRANT_P50_MS = 9.92  # nearest-10, one query in flight, HNSW + int8 rescoring
QDRANT_P99_MS = 14.89
QDRANT_FILTERED_P50_MS = 25.45  # inside a folder filter keeping 1/8
QDRANT_FILTERED_P99_MS = 35.40
QDRANT_RECALL = 1.000
# The per-image figures at 512-d split into what grows with the dimension
# (the f32 original on disk, the int8 copy in RAM) and the rest.
DIM_MEASURED = 512

# --- Measured elsewhere -------------------------------------------------------
# Thumbnails (256 px short side, JPEG q82) of the sample photos, same bench.
THUMBNAIL_BYTES = 17_264  # mean
# README "Benchmarks" (scripts/compare.sh, 2-core AMD EPYC, ViT-B/32 f32):
# end to end indexing 13.46 images/s on 2 cores (decode + preprocess + encode),
# the encoder alone 22.57 images/s on 2 cores.
E2E_PER_CORE = 13.46 / 2
ENCODER_PER_CORE = 22.57 / 2
# Text query: tokenise + encode 11.2 ms on the 2 cores (README), cached 0.18 ms.
TEXT_ENCODE_CORE_MS = 11.2 * 2

# --- Model families ----------------------------------------------------------
# Image-tower cost relative to ViT-B/32 in multiply-adds (CLIP paper, table
# 20: ViT-B/32 4.4 GFLOPs, ViT-L/14 81 GFLOPs at 224 px).
MODELS = {
    "ViT-B/32 (512-d)": (512, 1.0),
    "ViT-L/14 (768-d)": (768, 81 / 4.4),
}

# --- A node as people rent them -----------------------------------------------
NODE_RAM = 64 << 30
NODE_DISK = 2 * 10**12
NODE_CORES = 16
RAM_USABLE = 0.6  # page cache for the on-disk originals, the optimiser, headroom
DISK_USABLE = 0.7  # segment merges write a copy before dropping the old one
REPLICAS = 2
WORKER_CORES = 16
WORKERS_MAX = 64
# Query load (an assumption, stated so it can be changed): one person per
# 2,000 photos, and at the busiest second 1 % of them type a new query.
PHOTOS_PER_PERSON = 2_000
BUSY_SHARE = 0.01
SERVER_UTILISATION = 0.5  # keep query servers half idle for bursts and failover

# --- Qdrant's storage layout, for the split by component ---------------------
# (what each part costs follows from the format; the measured totals above
# give the rest, payload and bookkeeping, as the remainder)
HNSW_M = 16  # scry's collections use Qdrant's default m
# Level 0 keeps up to 2·m links of 4 bytes; the upper levels add about 1/(m-1)
# of that again (a point reaches level l with probability m^-l).
GRAPH_BYTES = 2 * HNSW_M * 4 * (1 + 1 / (HNSW_M - 1))


def per_image(dim):
    """Qdrant's bytes per image at `dim`: (RAM, disk without thumbnail)."""
    extra = dim - DIM_MEASURED
    ram = QDRANT_RSS_PER_IMAGE + extra  # the int8 copy: one byte per dimension
    disk = QDRANT_DISK_PER_IMAGE + extra * 4 + extra  # f32 original + int8 copy
    return ram, disk


def components(dim):
    """Bytes per image and copy: {component: (RAM, disk)}."""
    ram, disk = per_image(dim)
    f32 = 4 * dim
    int8 = dim + 4  # one byte a dimension and the vector's offset/scale
    graph = GRAPH_BYTES
    return {
        "f32 original (rescoring)": (0, f32),
        "int8 copy (the search)": (int8, int8),
        f"HNSW graph (m={HNSW_M})": (graph, graph),
        "payload, payload indexes, ids, WAL (the rest of the measured total)": (
            ram - int8 - graph,
            disk - f32 - int8 - graph,
        ),
    }


def human(b):
    for unit, size in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6)):
        if b >= size:
            return f"{b / size:,.1f} {unit}"
    return f"{b:,.0f} B"


def hours(s):
    if s < 3600:
        return f"{s / 60:,.0f} min"
    if s < 3 * 86400:
        return f"{s / 3600:,.1f} h"
    return f"{s / 86400:,.1f} days"


def cost_text(model):
    """A text query's cost relative to ViT-B/32's text tower (ViT-L/14's is
    768 wide and 12 deep against 512 and 12: (768/512)^2 the multiply-adds)."""
    return (768 / 512) ** 2 if model.startswith("ViT-L") else 1.0


def main():
    sizes = [10**6, 10**7, 10**8, 10**9]
    for model, (dim, cost) in MODELS.items():
        ram, disk = per_image(dim)
        disk_t = disk + THUMBNAIL_BYTES
        # Seconds of one core per image: decode etc. as measured, the encoder
        # scaled by the model's multiply-adds.
        core_s = (1 / E2E_PER_CORE - 1 / ENCODER_PER_CORE) + cost / ENCODER_PER_CORE
        worker_rate = WORKER_CORES / core_s
        print(f"\n### {model}\n")
        print(
            f"Per image: {human(ram)} of RAM and {human(disk)} of disk per copy, "
            f"{human(disk_t)} with its thumbnail; embedding {core_s:.2f} core-seconds "
            f"({worker_rate:,.0f} images/s per {WORKER_CORES}-core worker).\n"
        )
        print("| per image and copy | RAM | disk |")
        print("|---|---|---|")
        for name, (r, d) in components(dim).items():
            print(f"| {name} | {r:,.0f} B | {d:,.0f} B |")
        print(f"| thumbnail (256 px JPEG) | 0 B | {THUMBNAIL_BYTES:,} B |")
        print(f"| **all** | **{ram:,} B** | **{disk_t:,} B** |\n")
        print(
            "| images | RAM, all copies | disk, all copies | nodes (64 GB, 2 TB) | shards | RAM / node | disk / node "
            "| workers | wall time to index | CPU-hours | peak new queries/s | query servers |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for n in sizes:
            ram_all = n * ram * REPLICAS
            disk_all = n * disk_t * REPLICAS
            nodes = max(
                3,
                math.ceil(ram_all / (NODE_RAM * RAM_USABLE)),
                math.ceil(disk_all / (NODE_DISK * DISK_USABLE)),
            )
            shards = max(6, 2 * nodes)  # two per node: room to rebalance
            workers = min(WORKERS_MAX, max(1, math.ceil(n / worker_rate / 86400)))
            wall = n / (workers * worker_rate)
            peak = n / PHOTOS_PER_PERSON * BUSY_SHARE
            text_qps = WORKER_CORES * 1000 / (TEXT_ENCODE_CORE_MS * cost_text(model))
            servers = max(2, math.ceil(peak / (text_qps * SERVER_UTILISATION)))
            print(
                f"| {n:,} | {human(ram_all)} | {human(disk_all)} | {nodes} | {shards} "
                f"| {human(ram_all / nodes)} | {human(disk_all / nodes)} | {workers} "
                f"| {hours(wall)} | {n * core_s / 3600:,.0f} | {peak:,.0f} | {servers} |"
            )
    # What a query costs.
    print("\n### A query\n")
    text_qps = NODE_CORES * 1000 / TEXT_ENCODE_CORE_MS
    node_qps = NODE_CORES * 1000 / QDRANT_P50_MS
    print(
        f"- Text encoding on the query server: {TEXT_ENCODE_CORE_MS:.1f} core-ms a new query "
        f"(0.18 ms from the cache): about {text_qps:,.0f} new queries/s per {NODE_CORES}-core server."
    )
    print(
        f"- Qdrant: nearest 10 of 1 M in {QDRANT_P50_MS:.2f} ms p50 / {QDRANT_P99_MS:.2f} ms p99 "
        f"(recall@10 {QDRANT_RECALL:.3f}; inside a folder filter keeping an eighth, "
        f"{QDRANT_FILTERED_P50_MS:.2f} / {QDRANT_FILTERED_P99_MS:.2f} ms); at most about {node_qps:,.0f} queries/s per "
        f"{NODE_CORES}-core node if a query's latency were all CPU (an upper bound)."
    )


if __name__ == "__main__":
    main()
