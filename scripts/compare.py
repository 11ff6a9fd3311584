#!/usr/bin/env python3
"""scry against the Python pipelines people use today, on this machine, in one run.

Run through scripts/compare.sh (it makes the virtual environment, the model, the
photo folder and the scry binary). Every figure is measured in a fresh process;
scry and the baselines alternate, round after round, and the table gives medians
over rounds and the ratio scry/baseline (> 1 means scry is faster).

    baselines: HF transformers on PyTorch (the default pipeline: PIL decode, the
    default image processor, get_image_features; text padded to 77), ONNX Runtime
    on an ONNX export of the same model, hnswlib for the ANN part.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

CORES = os.cpu_count() or 1
# Multiply-adds × 2 of one ViT-B/32 image: 12 layers × 50 tokens × (QKV + out + MLP),
# attention, patch embedding and projection.
D, I, T, L = 768, 3072, 50, 12
GFLOP_PER_IMAGE = (2 * T * L * (4 * D * D + 2 * D * I) + 4 * T * T * D * L
                   + 2 * 49 * 3072 * D + 2 * D * 512) / 1e9
QUERIES = [
    "a dog on the beach", "kids building a sandcastle at dusk", "snow covered mountains",
    "a red car", "birthday cake with candles", "city skyline at night",
    "a cat sleeping on a sofa", "receipt", "sunflowers in a field", "a bride and groom",
    "an old stone bridge", "screenshot of a chat",
]
IMAGE_EXT = (".jpg", ".jpeg", ".png", ".webp")


def median_time(fn, iters: int) -> float:
    fn()
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


# --------------------------------------------------------------------- workers
# Each runs in its own process and prints one JSON line.

def w_gemm(_args) -> dict:
    import torch
    torch.set_num_threads(CORES)
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    t = median_time(lambda: a @ b, 15)
    return {"gflops": 2 * n ** 3 / t / 1e9}


def load_torch(model_dir: str):
    import torch
    from transformers import CLIPModel
    torch.set_num_threads(CORES)
    return CLIPModel.from_pretrained(model_dir, dtype=torch.float32).eval()


def w_torch_encoder(args) -> dict:
    import torch
    model = load_torch(args.model)
    x = torch.randn(args.batch, 3, 224, 224)
    with torch.inference_mode():
        t = median_time(lambda: model.get_image_features(pixel_values=x), args.iters)
    return {"images_per_s": args.batch / t}


def w_torch_int8_encoder(args) -> dict:
    """PyTorch's dynamic int8 quantisation of the dense layers (its own int8 path)."""
    import torch
    model = torch.ao.quantization.quantize_dynamic(load_torch(args.model), {torch.nn.Linear},
                                                   dtype=torch.qint8)
    x = torch.randn(args.batch, 3, 224, 224)
    with torch.inference_mode():
        t = median_time(lambda: model.get_image_features(pixel_values=x), args.iters)
    return {"images_per_s": args.batch / t}


def ort_session(path: str):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = CORES
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def w_ort_encoder(args) -> dict:
    import numpy as np
    sess = ort_session(str(Path(args.onnx) / "vision.onnx"))
    x = np.random.default_rng(0).standard_normal((args.batch, 3, 224, 224), dtype=np.float32)
    t = median_time(lambda: sess.run(None, {"pixel_values": x}), args.iters)
    return {"images_per_s": args.batch / t}


def w_ort_int8_encoder(args) -> dict:
    """ONNX Runtime on its dynamically quantised (int8 weights, u8 activations) export."""
    import numpy as np
    sess = ort_session(str(Path(args.onnx) / "vision-int8.onnx"))
    x = np.random.default_rng(0).standard_normal((args.batch, 3, 224, 224), dtype=np.float32)
    t = median_time(lambda: sess.run(None, {"pixel_values": x}), args.iters)
    return {"images_per_s": args.batch / t}


def photo_files(folder: str) -> list[str]:
    out = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        out += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(IMAGE_EXT)]
    return out


def w_torch_index(args) -> dict:
    """What a Python user writes: walk, PIL decode, the default processor, batches of 8."""
    import numpy as np
    import torch
    from PIL import Image
    from transformers import AutoImageProcessor
    model = load_torch(args.model)
    processor = AutoImageProcessor.from_pretrained(args.model)
    t0 = time.perf_counter()
    files = photo_files(args.photos)
    feats = []
    with torch.inference_mode():
        for i in range(0, len(files), 8):
            images = [Image.open(f).convert("RGB") for f in files[i:i + 8]]
            inputs = processor(images=images, return_tensors="pt")
            out = model.get_image_features(**inputs)
            out = getattr(out, "pooler_output", out)
            feats.append(torch.nn.functional.normalize(out, dim=-1).numpy())
    vectors = np.concatenate(feats)
    secs = time.perf_counter() - t0
    return {"images": len(vectors), "seconds": secs, "images_per_s": len(vectors) / secs,
            "processor": type(processor).__name__}


def clip_tokenizer(model_dir: str):
    from transformers import CLIPTokenizerFast
    return CLIPTokenizerFast(tokenizer_file=str(Path(model_dir) / "tokenizer.json"))


def w_torch_text(args) -> dict:
    import torch
    model = load_torch(args.model)
    tok = clip_tokenizer(args.model)

    def encode(text):
        ids = tok([text], padding="max_length", max_length=77, truncation=True, return_tensors="pt")
        return model.get_text_features(**ids)

    with torch.inference_mode():
        encode("warm up")
        times = []
        for i in range(args.iters):
            t = time.perf_counter()
            encode(QUERIES[i % len(QUERIES)])
            times.append(time.perf_counter() - t)
    return {"encode_ms": statistics.median(times) * 1e3}


def w_ort_text(args) -> dict:
    import numpy as np
    sess = ort_session(str(Path(args.onnx) / "text.onnx"))
    tok = clip_tokenizer(args.model)

    def encode(text):
        ids = tok([text], padding="max_length", max_length=77, truncation=True, return_tensors="np")
        return sess.run(None, {"input_ids": ids["input_ids"].astype(np.int64),
                               "attention_mask": ids["attention_mask"].astype(np.int64)})

    encode("warm up")
    times = []
    for i in range(args.iters):
        t = time.perf_counter()
        encode(QUERIES[i % len(QUERIES)])
        times.append(time.perf_counter() - t)
    return {"encode_ms": statistics.median(times) * 1e3}


def w_hnswlib(args) -> dict:
    import hnswlib
    import numpy as np
    data = np.fromfile(args.vectors, dtype="<f4").reshape(-1, args.dim)
    queries = np.fromfile(args.queries, dtype="<f4").reshape(-1, args.dim)
    truth = np.argsort(-(queries @ data.T), axis=1)[:, :10]
    index = hnswlib.Index(space="ip", dim=args.dim)
    index.init_index(max_elements=len(data), ef_construction=200, M=16)
    index.set_num_threads(CORES)
    t = time.perf_counter()
    index.add_items(data, np.arange(len(data)))
    build = time.perf_counter() - t
    index.set_num_threads(1)  # one query at a time, as scry's figure
    curve = []
    for ef in [16, 24, 32, 48, 64, 96, 128, 256]:
        index.set_ef(ef)
        t = time.perf_counter()
        labels = np.stack([index.knn_query(q, k=10)[0][0] for q in queries])
        qps = len(queries) / (time.perf_counter() - t)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(labels, truth)])
        curve.append({"ef": ef, "recall": float(recall), "qps": qps})
    return {"build_s": build, "curve": curve}


WORKERS = {
    "gemm": w_gemm, "torch-encoder": w_torch_encoder, "ort-encoder": w_ort_encoder,
    "torch-index": w_torch_index, "torch-text": w_torch_text, "ort-text": w_ort_text,
    "hnswlib": w_hnswlib, "torch-int8-encoder": w_torch_int8_encoder,
    "ort-int8-encoder": w_ort_int8_encoder,
}


# ---------------------------------------------------------------------- set-up

def export_onnx(model_dir: str, out: Path) -> None:
    """ONNX exports of both towers (what Immich and rclip run), made once."""
    if (out / "vision.onnx").exists() and (out / "text.onnx").exists():
        quantize_onnx(out)
        return
    import torch
    out.mkdir(parents=True, exist_ok=True)
    model = load_torch(model_dir)

    class Vision(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, pixel_values):
            o = self.m.get_image_features(pixel_values=pixel_values)
            return getattr(o, "pooler_output", o)

    class Text(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            o = self.m.get_text_features(input_ids=input_ids, attention_mask=attention_mask)
            return getattr(o, "pooler_output", o)

    kw = dict(opset_version=17, dynamo=False, do_constant_folding=True)
    with torch.inference_mode():
        torch.onnx.export(Vision(model), (torch.randn(1, 3, 224, 224),), str(out / "vision.onnx"),
                          input_names=["pixel_values"], output_names=["embeds"],
                          dynamic_axes={"pixel_values": {0: "batch"}}, **kw)
        ids = torch.zeros(1, 77, dtype=torch.int64)
        torch.onnx.export(Text(model), (ids, torch.ones_like(ids)), str(out / "text.onnx"),
                          input_names=["input_ids", "attention_mask"], output_names=["embeds"],
                          dynamic_axes={"input_ids": {0: "batch"}, "attention_mask": {0: "batch"}},
                          **kw)
    quantize_onnx(out)


def quantize_onnx(out: Path) -> None:
    """ONNX Runtime's dynamic int8 quantisation of the vision export, made once."""
    if (out / "vision-int8.onnx").exists():
        return
    from onnxruntime.quantization import QuantType, quantize_dynamic
    quantize_dynamic(str(out / "vision.onnx"), str(out / "vision-int8.onnx"), weight_type=QuantType.QInt8)


def make_vectors(work: Path, n: int, dim: int) -> tuple[Path, Path]:
    """Clustered unit vectors (photo libraries are clumpy: bursts, trips, pets) and
    queries that sit between clusters, as text queries do."""
    import numpy as np
    vec, qry = work / f"vectors-{n}.f32", work / f"queries-{n}.f32"
    if vec.exists() and qry.exists():
        return vec, qry
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((max(n // 100, 10), dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    which = rng.integers(0, len(centres), n)
    data = centres[which] + rng.standard_normal((n, dim)).astype(np.float32) * (0.8 / dim ** 0.5)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    picks = rng.integers(0, len(centres), (1000, 2))
    q = centres[picks[:, 0]] + 0.7 * centres[picks[:, 1]]
    q += rng.standard_normal(q.shape).astype(np.float32) * (1.0 / dim ** 0.5)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    data.astype("<f4").tofile(vec)
    q.astype("<f4").tofile(qry)
    return vec, qry


# ---------------------------------------------------------------------- driver

def run(cmd: list[str], env: dict | None = None) -> dict:
    p = subprocess.run(cmd, capture_output=True, text=True,
                       env={**os.environ, **env} if env else None)
    if p.returncode != 0:
        sys.stderr.write(p.stderr[-3000:])
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def best_curve_at(curve: list[dict], recall: float) -> dict | None:
    ok = [c for c in curve if c["recall"] >= recall]
    return max(ok, key=lambda c: c["qps"]) if ok else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("worker", nargs="?")
    ap.add_argument("--work", type=Path, default=Path("target/compare"))
    ap.add_argument("--scry", default="target/release/examples/compare")
    ap.add_argument("--model")
    ap.add_argument("--onnx")
    ap.add_argument("--photos")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--vectors")
    ap.add_argument("--queries")
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=100_000)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args)))
        return 0

    work = args.work.resolve()
    model = args.model or str(work / "model" / "vit-b-32")
    onnx = work / "onnx"
    me = [sys.executable, __file__]
    export_onnx(model, onnx)
    vec, qry = make_vectors(work, args.n, args.dim)
    batches = [1, 8, 32]
    R: dict[str, list] = {}

    def add(key, value):
        R.setdefault(key, []).append(value)

    # ANN once (graph builds take minutes): scry's graph, then hnswlib's.
    print(f"ANN: {args.n:,} clustered {args.dim}-d unit vectors, 1,000 queries …", flush=True)
    ann_dir = work / "ann"
    scry_ann = run([args.scry, "ann", str(vec), str(qry), str(args.dim), str(ann_dir)])
    hnsw = run(me + ["hnswlib", "--vectors", str(vec), "--queries", str(qry), "--dim", str(args.dim)])

    # The opt-in bf16 image encoder, where the CPU has AVX-512 BF16: its cosine to
    # f32 on every photo, then its speed in each round beside the f32 figures.
    bf16 = run([args.scry, "bf16-cosine", model, args.photos])
    BF16 = {"SCRY_PRECISION": "bf16"}
    # Where bf16 runs on AMX tiles, the AVX-512 BF16 kernel is measured beside it.
    BF16_AVX512 = {"SCRY_PRECISION": "bf16", "SCRY_BF16_KERNEL": "avx512"}
    kernel = run([args.scry, "encoder", model, "1", "1"], BF16)["kernel"] if bf16["supported"] else None
    amx = kernel == "AMX-BF16 tiles"
    # The opt-in int8 image encoder, where the CPU has VNNI (or AMX-INT8): the same,
    # beside PyTorch's and ONNX Runtime's own dynamic int8 quantisation.
    int8 = run([args.scry, "int8-cosine", model, args.photos])
    INT8 = {"SCRY_PRECISION": "int8"}
    INT8_VNNI = {"SCRY_PRECISION": "int8", "SCRY_INT8_KERNEL": "avx512"}
    kernel8 = run([args.scry, "encoder", model, "1", "1"], INT8)["kernel"] if int8["supported"] else None
    amx8 = kernel8 == "AMX-INT8 tiles"

    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds} …", flush=True)
        add("gemm", run(me + ["gemm"])["gflops"])
        order = [0, 1, 2][r % 3:] + [0, 1, 2][:r % 3]
        for who in order:
            for b in batches:
                it = str(max(3, 24 // b))
                if who == 0:
                    v = run([args.scry, "encoder", model, str(b), it])["images_per_s"]
                    add(f"scry-enc-{b}", v)
                    if bf16["supported"]:
                        v = run([args.scry, "encoder", model, str(b), it], BF16)["images_per_s"]
                        add(f"bf16-enc-{b}", v)
                    if amx:
                        v = run([args.scry, "encoder", model, str(b), it], BF16_AVX512)["images_per_s"]
                        add(f"bf16avx-enc-{b}", v)
                    if int8["supported"]:
                        v = run([args.scry, "encoder", model, str(b), it], INT8)["images_per_s"]
                        add(f"int8-enc-{b}", v)
                    if amx8:
                        v = run([args.scry, "encoder", model, str(b), it], INT8_VNNI)["images_per_s"]
                        add(f"int8vnni-enc-{b}", v)
                elif who == 1:
                    v = run(me + ["torch-encoder", "--model", model, "--batch", str(b), "--iters", it])
                    add(f"torch-enc-{b}", v["images_per_s"])
                    v = run(me + ["torch-int8-encoder", "--model", model, "--batch", str(b), "--iters", it])
                    add(f"torch8-enc-{b}", v["images_per_s"])
                else:
                    v = run(me + ["ort-encoder", "--onnx", str(onnx), "--batch", str(b), "--iters", it])
                    add(f"ort-enc-{b}", v["images_per_s"])
                    v = run(me + ["ort-int8-encoder", "--onnx", str(onnx), "--batch", str(b), "--iters", it])
                    add(f"ort8-enc-{b}", v["images_per_s"])
        for who in order:
            if who == 0:
                v = run([args.scry, "text", model, str(ann_dir), str(vec), str(args.dim), "24"])
                add("scry-query", v["query_ms"])
                add("scry-encode", v["encode_ms"])
                add("scry-cached", v["cached_query_ms"])
                add("scry-server-rss", v["server_rss_mib"])
            elif who == 1:
                add("torch-text", run(me + ["torch-text", "--model", model, "--iters", "24"])["encode_ms"])
            else:
                add("ort-text", run(me + ["ort-text", "--model", model, "--onnx", str(onnx),
                                          "--iters", "24"])["encode_ms"])
        for who in ([0, 1] if r % 2 == 0 else [1, 0]):
            if who == 0:
                v = run([args.scry, "index", model, args.photos])
                add("scry-index", v["images_per_s"])
                add("scry-index-rss", v["peak_rss_mib"])
                add("photos", v["images"])
                if bf16["supported"]:
                    add("bf16-index", run([args.scry, "index", model, args.photos], BF16)["images_per_s"])
                if int8["supported"]:
                    add("int8-index", run([args.scry, "index", model, args.photos], INT8)["images_per_s"])
            else:
                v = run(me + ["torch-index", "--model", model, "--photos", args.photos])
                add("torch-index", v["images_per_s"])
                add("processor", v["processor"])

    med = {k: statistics.median(v) if isinstance(v[0], (int, float)) else v[0] for k, v in R.items()}
    (work / "results.json").write_text(json.dumps({"rounds": R, "ann": scry_ann, "hnswlib": hnsw,
                                                   "bf16": bf16, "int8": int8}, indent=1))

    rows = []

    def row(what, scry_v, base_name, base_v, unit, higher_is_better=True):
        ratio = scry_v / base_v if higher_is_better else base_v / scry_v
        rows.append(f"| {what} | {scry_v:,.2f} {unit} | {base_name} | {base_v:,.2f} {unit} | **{ratio:.2f}×** |")

    best = lambda who: max(batches, key=lambda b: med[f"{who}-enc-{b}"])  # noqa: E731
    sb, tb, ob = best("scry"), best("torch"), best("ort")
    ceiling = med["gemm"] / GFLOP_PER_IMAGE
    for b in batches:
        row(f"image encoder, batch {b} (images/s)", med[f"scry-enc-{b}"], "PyTorch",
            med[f"torch-enc-{b}"], "")
        row(f"image encoder, batch {b} (images/s)", med[f"scry-enc-{b}"], "ONNX Runtime",
            med[f"ort-enc-{b}"], "")
    row(f"image encoder, best batch (scry {sb}, PyTorch {tb})", med[f"scry-enc-{sb}"], "PyTorch",
        med[f"torch-enc-{tb}"], "img/s")
    row(f"image encoder, best batch (scry {sb}, ORT {ob})", med[f"scry-enc-{sb}"], "ONNX Runtime",
        med[f"ort-enc-{ob}"], "img/s")
    row(f"indexing {int(med['photos'])} photos end to end", med["scry-index"],
        f"transformers ({med['processor']})", med["torch-index"], "img/s")
    if bf16["supported"]:
        bb = best("bf16")
        row(f"opt-in bf16 image encoder, best batch (scry {bb}, ORT {ob})", med[f"bf16-enc-{bb}"],
            "ONNX Runtime", med[f"ort-enc-{ob}"], "img/s")
        row(f"opt-in bf16 image encoder, best batch (scry {bb}, PyTorch {tb})", med[f"bf16-enc-{bb}"],
            "PyTorch", med[f"torch-enc-{tb}"], "img/s")
        row(f"indexing {int(med['photos'])} photos end to end, --precision bf16", med["bf16-index"],
            f"transformers ({med['processor']})", med["torch-index"], "img/s")
        for b in batches:
            row(f"bf16 image encoder on {kernel}, batch {b}", med[f"bf16-enc-{b}"],
                "scry f32", med[f"scry-enc-{b}"], "img/s")
        if amx:
            for b in batches:
                row(f"bf16 image encoder on AMX tiles, batch {b}", med[f"bf16-enc-{b}"],
                    "the same on AVX-512 BF16", med[f"bf16avx-enc-{b}"], "img/s")
    if int8["supported"]:
        ib, t8, o8 = best("int8"), best("torch8"), best("ort8")
        row(f"opt-in int8 image encoder, best batch (scry {ib}, ORT int8 {o8})", med[f"int8-enc-{ib}"],
            "ONNX Runtime, dynamic int8", med[f"ort8-enc-{o8}"], "img/s")
        row(f"opt-in int8 image encoder, best batch (scry {ib}, PyTorch int8 {t8})", med[f"int8-enc-{ib}"],
            "PyTorch, dynamic int8", med[f"torch8-enc-{t8}"], "img/s")
        row(f"indexing {int(med['photos'])} photos end to end, --precision int8", med["int8-index"],
            f"transformers ({med['processor']})", med["torch-index"], "img/s")
        for b in batches:
            row(f"int8 image encoder on {kernel8}, batch {b}", med[f"int8-enc-{b}"],
                "scry f32", med[f"scry-enc-{b}"], "img/s")
        if amx8:
            for b in batches:
                row(f"int8 image encoder on AMX tiles, batch {b}", med[f"int8-enc-{b}"],
                    "the same on AVX-512 VNNI", med[f"int8vnni-enc-{b}"], "img/s")
    row("text query: scry tokenize+encode+search 100k vs encode only", med["scry-query"],
        "transformers, padded 77", med["torch-text"], "ms", higher_is_better=False)
    row("text query (same)", med["scry-query"], "ONNX Runtime, padded 77", med["ort-text"], "ms",
        higher_is_better=False)
    s98, h98 = best_curve_at(scry_ann["curve"], 0.98), best_curve_at(hnsw["curve"], 0.98)
    if s98 and h98:
        row(f"ANN queries/s at recall@10 ≥ 0.98 (scry ef {s98['ef']}: {s98['recall']:.3f}, "
            f"hnswlib ef {h98['ef']}: {h98['recall']:.3f})", s98["qps"], "hnswlib", h98["qps"], "q/s")
    row("opening the 100k graph vs rebuilding it", scry_ann["load_s"], "rebuild", scry_ann["build_s"],
        "s", higher_is_better=False)

    print()
    print(f"Machine: {CORES} cores. fp32 GEMM ceiling (PyTorch 2048² matmul): {med['gemm']:.0f} GFLOP/s "
          f"→ {ceiling:.1f} ViT-B/32 images/s at {GFLOP_PER_IMAGE:.2f} GFLOP each. "
          f"Medians of {args.rounds} interleaved rounds.")
    print()
    flags = set()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    shown = sorted(f for f in flags if f.startswith(("avx512", "amx")) or f in ("avx2", "fma", "avx_vnni"))
    print(f"CPU flags: {' '.join(shown) or 'unknown'}. Kernels: f32 gemm (run-time dispatch); "
          f"bf16 {kernel or 'not available'}; int8 {kernel8 or 'not available'}.")
    print()
    print("| figure | scry | baseline | baseline value | ratio (scry faster if > 1) |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    print(f"scry's image encoder reaches {med[f'scry-enc-{sb}'] / ceiling:.0%} of the GEMM ceiling "
          f"(PyTorch {med[f'torch-enc-{tb}'] / ceiling:.0%}, ONNX Runtime {med[f'ort-enc-{ob}'] / ceiling:.0%}).")
    if bf16["supported"]:
        print(f"bf16 (opt-in, --precision bf16): {med[f'bf16-enc-{bb}'] / med[f'scry-enc-{sb}']:.2f}× "
              f"scry's f32 image encoder at the best batch, "
              f"{med['bf16-index'] / med['scry-index']:.2f}× its f32 indexing; cosine to the f32 "
              f"embeddings over the {bf16['photos']} photos: min {bf16['min']:.6f}, "
              f"median {bf16['median']:.6f}.")
    else:
        print("bf16: this CPU has no AVX-512 BF16; not measured.")
    if int8["supported"]:
        print(f"int8 (opt-in, --precision int8): {med[f'int8-enc-{ib}'] / med[f'scry-enc-{sb}']:.2f}× "
              f"scry's f32 image encoder at the best batch, "
              f"{med['int8-index'] / med['scry-index']:.2f}× its f32 indexing; cosine to the f32 "
              f"embeddings over the {int8['photos']} photos: min {int8['min']:.6f} ({int8['least']}), "
              f"median {int8['median']:.6f}.")
    else:
        print("int8: this CPU has no VNNI; not measured.")
    print(f"Text: scry encode alone {med['scry-encode']:.1f} ms, a repeated query (cache) "
          f"{med['scry-cached']:.2f} ms.")
    print(f"ANN, exact SIMD scan of {scry_ann['n']:,}: {scry_ann['exact_qps']:.0f} q/s on one core. "
          "Recall/throughput (ef: scry | hnswlib):")
    for a, b in zip(scry_ann["curve"], hnsw["curve"]):
        print(f"  ef {a['ef']:>3}: {a['recall']:.3f} @ {a['qps']:,.0f} q/s | {b['recall']:.3f} @ {b['qps']:,.0f} q/s")
    print(f"Graph build (2 threads): scry {scry_ann['build_s']:.0f} s, hnswlib {hnsw['build_s']:.0f} s.")
    print(f"Memory: indexing peak RSS {med['scry-index-rss']:.0f} MiB (model included); per 100k vectors: "
          f"{scry_ann['rss_vectors_mib'] * 1e5 / scry_ann['n']:.0f} MiB vectors + "
          f"{scry_ann['rss_graph_mib'] * 1e5 / scry_ann['n']:.0f} MiB graph; query process with model, "
          f"graph and vectors: {med['scry-server-rss']:.0f} MiB.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
