#!/usr/bin/env python3
"""Speeds for the model catalogue (src/model/catalogue.rs): each architecture at
full size with random weights (speed does not depend on the values), PyTorch and
scry in the same run, interleaved, medians.

    .venv/bin/python scripts/catalogue_bench.py [--out DIR] [--rounds 3] [ARCH ...]

ARCH: b32 (OpenAI's ViT-B/32), laion-b32 (the same with exact GELU), b16, l14,
l14-336, laion-l14, h14, siglip2-b16 (google/siglip2-base-patch16-224),
siglip2-large (google/siglip2-large-patch16-256), siglip2-so400m
(google/siglip2-so400m-patch14-384), siglip-b16 and siglip-so400m (SigLIP 1: the
same towers, a 32,000-piece vocabulary). Prints one JSON line per
architecture: images/s at batch 8 and ms for one short text query, for scry (f32)
and PyTorch (transformers, 2 threads; CLIP from unpadded ids, SigLIP from ids
padded to 64 as it is trained and as scry runs it).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch
from transformers import AutoModel, CLIPConfig, CLIPModel, SiglipConfig, SiglipModel

ROOT = Path(__file__).resolve().parent.parent
CORES = 2

ARCHS = {
    "b32": dict(text=(512, 12, 8, 2048), vision=(768, 12, 12, 3072), patch=32, image=224, proj=512, act="quick_gelu"),
    "laion-b32": dict(text=(512, 12, 8, 2048), vision=(768, 12, 12, 3072), patch=32, image=224, proj=512, act="gelu"),
    "b16": dict(text=(512, 12, 8, 2048), vision=(768, 12, 12, 3072), patch=16, image=224, proj=512, act="quick_gelu"),
    "l14": dict(text=(768, 12, 12, 3072), vision=(1024, 24, 16, 4096), patch=14, image=224, proj=768, act="quick_gelu"),
    "l14-336": dict(text=(768, 12, 12, 3072), vision=(1024, 24, 16, 4096), patch=14, image=336, proj=768, act="quick_gelu"),
    "laion-l14": dict(text=(768, 12, 12, 3072), vision=(1024, 24, 16, 4096), patch=14, image=224, proj=768, act="gelu"),
    "h14": dict(text=(1024, 24, 16, 4096), vision=(1280, 32, 16, 5120), patch=14, image=224, proj=1024, act="gelu"),
    "siglip2-b16": dict(text=(768, 12, 12, 3072), vision=(768, 12, 12, 3072), patch=16, image=224, family="siglip",
                        vocab=256000),
    "siglip2-large": dict(text=(1024, 24, 16, 4096), vision=(1024, 24, 16, 4096), patch=16, image=256,
                          family="siglip", vocab=256000),
    "siglip2-so400m": dict(text=(1152, 27, 16, 4304), vision=(1152, 27, 16, 4304), patch=14, image=384,
                           family="siglip", vocab=256000),
    # SigLIP 1: the same towers with a 32,000-piece vocabulary.
    "siglip-b16": dict(text=(768, 12, 12, 3072), vision=(768, 12, 12, 3072), patch=16, image=224, family="siglip",
                       vocab=32000),
    "siglip-so400m": dict(text=(1152, 27, 16, 4304), vision=(1152, 27, 16, 4304), patch=14, image=384,
                          family="siglip", vocab=32000),
}


def build(name: str, out: Path) -> Path:
    d = out / name
    if (d / "model.safetensors").exists():
        return d
    a = ARCHS[name]
    th, tl, theads, tm = a["text"]
    vh, vl, vheads, vm = a["vision"]
    if a.get("family") == "siglip":
        config = SiglipConfig(
            text_config=dict(hidden_size=th, num_hidden_layers=tl, num_attention_heads=theads, intermediate_size=tm,
                             max_position_embeddings=64, vocab_size=a["vocab"],
                             pad_token_id=0, eos_token_id=1, bos_token_id=2),
            vision_config=dict(hidden_size=vh, num_hidden_layers=vl, num_attention_heads=vheads,
                               intermediate_size=vm, patch_size=a["patch"], image_size=a["image"]),
        )
        model = SiglipModel(config).eval()
        d.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(d, safe_serialization=True)
        for f in ("tokenizer.json", "tokenizer_config.json", "preprocessor_config.json"):
            shutil.copy(ROOT / "tests/fixtures/tiny-siglip" / f, d / f)
        pre = json.loads((d / "preprocessor_config.json").read_text())
        pre["size"] = {"height": a["image"], "width": a["image"]}
        (d / "preprocessor_config.json").write_text(json.dumps(pre))
        return d
    config = CLIPConfig(
        text_config=dict(hidden_size=th, num_hidden_layers=tl, num_attention_heads=theads, intermediate_size=tm,
                         hidden_act=a["act"], max_position_embeddings=77, vocab_size=49408),
        vision_config=dict(hidden_size=vh, num_hidden_layers=vl, num_attention_heads=vheads, intermediate_size=vm,
                           hidden_act=a["act"], patch_size=a["patch"], image_size=a["image"]),
        projection_dim=a["proj"],
    )
    model = CLIPModel(config).eval()
    d.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(d, safe_serialization=True)
    shutil.copy(ROOT / "tests/fixtures/tiny-clip/tokenizer.json", d / "tokenizer.json")
    return d


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def torch_times(d: Path, image: int, iters: int, images: bool = True) -> dict:
    torch.set_num_threads(CORES)
    model = AutoModel.from_pretrained(d, dtype=torch.float32).eval()
    x = torch.randn(8, 3, image, image)
    ids = torch.tensor([[49406, 320, 1929, 525, 518, 2117, 49407]])  # "a dog on the beach"
    if isinstance(model, SiglipModel):
        ids = torch.tensor([[11, 12, 13, 14, 15, 1] + [0] * 58])  # padded to 64, as trained
    with torch.inference_mode():
        img = []
        if images:
            model.get_image_features(pixel_values=x)
        for _ in range(iters if images else 0):
            t = time.perf_counter()
            model.get_image_features(pixel_values=x)
            img.append(time.perf_counter() - t)
        for _ in range(3):  # warm-up: the first calls fault the mapped weights in
            model.get_text_features(input_ids=ids)
        txt = []
        for _ in range(iters * 5):
            t = time.perf_counter()
            model.get_text_features(input_ids=ids)
            txt.append((time.perf_counter() - t) * 1000)
    return {"images_per_s": 8 / median(img) if img else None, "text_ms": median(txt)}


def scry_times(d: Path, iters: int, binary: Path | None, images: bool = True) -> dict:
    cmd = [str(binary)] if binary else [
        "cargo", "run", "-q", "--release", "-p", "scry-indexer", "--example", "compare", "--"]
    run = lambda *a: json.loads(subprocess.run(
        [*cmd, *a], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    enc = run("encoder", str(d), "8", str(iters)) if images else {"images_per_s": None}
    txt = run("text-query", str(d), str(iters * 5))
    return {"images_per_s": enc["images_per_s"], "text_ms": txt["query_ms_median"]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("/tmp/scry-catalogue"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--bin", type=Path, default=None,
                    help="a built compare example to run (default: cargo run --release, which rebuilds "
                         "if the sources changed)")
    ap.add_argument("--text-only", action="store_true", help="time the text queries alone")
    ap.add_argument("archs", nargs="*", default=list(ARCHS))
    args = ap.parse_args()
    for name in args.archs:
        d = build(name, args.out)
        ours, theirs = [], []
        for _ in range(args.rounds):
            theirs.append(torch_times(d, ARCHS[name]["image"], args.iters, not args.text_only))
            ours.append(scry_times(d, args.iters, args.bin, not args.text_only))
        row = {"arch": name}
        keys = ("text_ms",) if args.text_only else ("images_per_s", "text_ms")
        for key in keys:
            row[f"scry_{key}"] = round(median([r[key] for r in ours]), 2)
            row[f"torch_{key}"] = round(median([r[key] for r in theirs]), 2)
        if not args.text_only:
            row["image_ratio"] = round(row["scry_images_per_s"] / row["torch_images_per_s"], 2)
        row["text_ratio"] = round(row["torch_text_ms"] / row["scry_text_ms"], 2)
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
