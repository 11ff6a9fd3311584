#!/usr/bin/env python3
"""Generate scry's CLIP parity fixtures from the reference implementations.

CI never runs this: it uses the committed output under tests/fixtures/. Run it
again only when the reference (transformers, open_clip) or the fixture recipe
changes.

    python3 -m venv .venv && .venv/bin/pip install -r scripts/requirements-fixtures.txt
    .venv/bin/python scripts/make_fixtures.py                      # tiny model -> tests/fixtures/
    .venv/bin/python scripts/make_fixtures.py --size full --out /tmp/scry-full   # ViT-B/32 shape

What it writes into OUT:
  tiny-clip/ (or vit-b-32/)   a random-weight CLIP in Hugging Face layout:
                              config.json, model.safetensors, tokenizer.json,
                              preprocessor_config.json
  tokens.json                 open_clip token ids for every string of
                              tokenizer_corpus.json (unpadded: SOT ... EOT)
  golden.json                 reference pixels (as PNG crops), image embeddings
                              from the reference pixels and text embeddings
  pixels/<name>.png           the reference's resized + centre-cropped uint8
                              image, which normalises exactly to its tensor

Weights are random but non-degenerate (see ../shared/CLIP_NOTES.md): with the
usual N(0, 0.02) init every image gets nearly the same embedding, and a broken
preprocessing would still "pass".
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

import open_clip
from open_clip.tokenizer import SimpleTokenizer, bytes_to_unicode
from transformers import CLIPConfig, CLIPModel, CLIPTokenizer
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261129

# Images whose reference preprocessing and embeddings are pinned. Real photos
# from sample_data plus synthetic edge cases made below (alpha, grey, odd sizes).
SAMPLE_IMAGES = [
    "sample_data/food/coffee.png",
    "sample_data/animals/chelsea.jpg",
    "sample_data/space/astronaut.webp",
    "sample_data/space/rocket.jpg",
]

TEXTS = [
    "a photo of a cat",
    "",
    "kids building a sandcastle at dusk",
    "it’s a dog",
    "cats &amp; dogs",
    "ＬＯＵＤ　ＮＯＩＳＥＳ",
    "a <end_of_text> b",
    "the quick brown fox jumps over the lazy dog " * 12,  # truncated at 77
    "東京の夜景",
    "🐶🐱 emoji party",
]

TINY = dict(
    text=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4),
    vision=dict(hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4),
    projection_dim=32,
)
FULL = dict(
    text=dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=8),
    vision=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12),
    projection_dim=512,
)


def build_tokenizer_files(work: Path) -> tuple[Path, Path]:
    """vocab.json + merges.txt from the BPE file that ships inside open_clip_torch.

    Same recipe as open_clip's SimpleTokenizer: 256 byte characters, the same with
    `</w>`, the merges' results, then the two special tokens (named as HF names them).
    """
    bpe_path = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    merges = gzip.open(bpe_path).read().decode("utf-8").split("\n")
    merges = merges[1 : 49152 - 256 - 2 + 1]
    merges = [tuple(m.split()) for m in merges]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    vocab_path = work / "vocab.json"
    merges_path = work / "merges.txt"
    vocab_path.write_text(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False))
    merges_path.write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
    return vocab_path, merges_path


def make_tokenizer_json(model_dir: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        vocab_path, merges_path = build_tokenizer_files(Path(tmp))
        vocab = json.loads(vocab_path.read_text())
        merges = [tuple(line.split()) for line in merges_path.read_text().splitlines()[1:] if line]
        tok = CLIPTokenizer(vocab=vocab, merges=merges)
        tok.save_pretrained(tmp + "/out")
        shutil.copy(Path(tmp) / "out" / "tokenizer.json", model_dir / "tokenizer.json")
    # The ids must be open_clip's: check the whole vocabulary, not a sample.
    oc = SimpleTokenizer()
    hf_vocab = json.loads((model_dir / "tokenizer.json").read_text())["model"]["vocab"]
    for token, idx in oc.encoder.items():
        name = {"<start_of_text>": "<|startoftext|>", "<end_of_text>": "<|endoftext|>"}.get(token, token)
        assert hf_vocab[name] == idx, (token, idx, hf_vocab.get(name))
    assert len(hf_vocab) == len(oc.encoder) == 49408


def open_clip_ids(tok: SimpleTokenizer, text: str, context_length: int = 77) -> list[int]:
    """open_clip's ids without the zero padding (id 0 is a real token: '!')."""
    ids = [tok.sot_token_id] + tok.encode(text) + [tok.eot_token_id]
    if len(ids) > context_length:
        ids = ids[:context_length]
        ids[-1] = tok.eot_token_id
    padded = tok([text], context_length=context_length)[0].tolist()
    assert padded[: len(ids)] == ids and all(v == 0 for v in padded[len(ids) :])
    return ids


def unit_gain_init(model: CLIPModel, gen: torch.Generator) -> None:
    """Non-degenerate random weights (CLIP_NOTES.md, "Random weights that test something")."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if name == "logit_scale":
                p.fill_(math.log(100.0))
            elif "layer_norm" in name or "layernorm" in name or "layrnorm" in name:
                if leaf == "weight":
                    p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
                else:
                    p.copy_(0.05 * torch.randn(p.shape, generator=gen))
            elif leaf == "bias":
                p.copy_(0.05 * torch.randn(p.shape, generator=gen))
            elif "position_embedding" in name:
                p.copy_(0.3 * torch.randn(p.shape, generator=gen))
            elif "token_embedding" in name or "class_embedding" in name:
                p.copy_(torch.randn(p.shape, generator=gen))
            else:  # Linear and Conv weights: fan-in scaled
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))


def make_model(model_dir: Path, dims: dict, store_f16: bool, hidden_act: str = "quick_gelu") -> CLIPModel:
    text = dict(
        vocab_size=49408, max_position_embeddings=77, hidden_act=hidden_act, layer_norm_eps=1e-5,
        bos_token_id=0, eos_token_id=2, pad_token_id=1, **dims["text"],
    )
    vision = dict(
        image_size=224, patch_size=32, num_channels=3, hidden_act=hidden_act, layer_norm_eps=1e-5,
        **dims["vision"],
    )
    config = CLIPConfig(text_config=text, vision_config=vision, projection_dim=dims["projection_dim"])
    model = CLIPModel(config).eval()
    gen = torch.Generator().manual_seed(SEED)
    unit_gain_init(model, gen)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    if store_f16:
        # Keep the fixture small: store f16 and make the reference use exactly
        # the rounded weights, so parity stays exact.
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.half().float())
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    # The real checkpoint carries these int64 buffers; a loader must ignore them.
    state["text_model.embeddings.position_ids"] = torch.arange(77, dtype=torch.int64)[None]
    n_pos = (224 // 32) ** 2 + 1
    state["vision_model.embeddings.position_ids"] = torch.arange(n_pos, dtype=torch.int64)[None]
    save_file(state, str(model_dir / "model.safetensors"), metadata={"format": "pt"})

    # config.json in the shape of the real hub file (an old transformers dump).
    cfg = config.to_dict()
    cfg["text_config_dict"] = None
    cfg["vision_config_dict"] = None
    cfg["architectures"] = ["CLIPModel"]
    (model_dir / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True))
    proc = {
        "crop_size": 224, "do_center_crop": True, "do_normalize": True, "do_resize": True,
        "feature_extractor_type": "CLIPFeatureExtractor",
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
        "resample": 3, "size": 224,
    }
    (model_dir / "preprocessor_config.json").write_text(json.dumps(proc, indent=2))
    return model


def exact_u8(pixels: torch.Tensor, processor, what) -> np.ndarray:
    """The uint8 image (CHW) behind a PIL-path processor's tensor, checked to
    normalise back to that tensor exactly, so a PNG of it can stand for it."""
    mean = np.array(processor.image_mean, dtype=np.float32)[:, None, None]
    std = np.array(processor.image_std, dtype=np.float32)[:, None, None]
    arr = pixels[0].numpy()
    u8 = np.rint((arr * std + mean) * 255.0).clip(0, 255).astype(np.uint8)
    again = (u8.astype(np.float32) / 255.0 - mean) / std
    assert np.abs(again - arr).max() < 1e-5, what
    return u8


def synthetic_images(out: Path) -> list[Path]:
    """Edge cases a real photo folder may lack: alpha, grey, odd sizes, upscaling."""
    rng = np.random.default_rng(SEED)
    paths = []
    yy, xx = np.mgrid[0:301, 0:517]
    rgba = np.stack([
        (xx * 255 // 516), (yy * 255 // 300), ((xx + yy) % 256), np.where(xx < 250, 255, (yy * 255 // 300)),
    ], -1).astype(np.uint8)
    p = out / "alpha-517x301.png"
    Image.fromarray(rgba, "RGBA").save(p)
    paths.append(p)
    grey = (rng.random((157, 99)) * 40 + (np.mgrid[0:157, 0:99][0] * 1.3)).astype(np.uint8)
    p = out / "grey-99x157.png"
    Image.fromarray(grey, "L").save(p)
    paths.append(p)
    return paths


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=["tiny", "full"], default="tiny")
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "fixtures")
    ap.add_argument("--hidden-act", choices=["quick_gelu", "gelu"], default="quick_gelu",
                    help="the towers' activation: gelu is LAION's / open_clip's (full size only: "
                         "the tiny gelu model is make_family_fixtures.py's)")
    args = ap.parse_args()
    if args.hidden_act != "quick_gelu" and args.size == "tiny":
        ap.error("--hidden-act gelu is for --size full")
    torch.manual_seed(SEED)
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    out: Path = args.out
    model_name = "tiny-clip" if args.size == "tiny" else "vit-b-32"
    if args.hidden_act == "gelu":
        model_name += "-gelu"
    model_dir = out / model_name
    model_dir.mkdir(parents=True, exist_ok=True)
    (out / "pixels").mkdir(exist_ok=True)
    (out / "images").mkdir(exist_ok=True)

    make_tokenizer_json(model_dir)
    model = make_model(model_dir, TINY if args.size == "tiny" else FULL, store_f16=args.size == "tiny",
                       hidden_act=args.hidden_act)
    # The reloaded model must be the one we computed with (catches a save/load mismatch).
    reloaded = CLIPModel.from_pretrained(model_dir, torch_dtype=torch.float32).eval()

    tok = SimpleTokenizer()
    corpus_path = ROOT / "tests" / "fixtures" / "tokenizer_corpus.json"
    if args.size == "tiny":
        corpus = json.loads(corpus_path.read_text())
        tokens = [{"text": t, "ids": open_clip_ids(tok, t)} for t in corpus]
        (out / "tokens.json").write_text(json.dumps(tokens, ensure_ascii=True, indent=0))

    processor = CLIPImageProcessorPil()
    images = [ROOT / p for p in SAMPLE_IMAGES] + synthetic_images(out / "images")
    golden = {"model": model_name, "seed": SEED, "images": [], "texts": []}
    with torch.no_grad():
        for path in images:
            pil = Image.open(path)
            pixels = processor(images=pil, return_tensors="pt")["pixel_values"]
            # The PIL path resizes and crops in uint8: recover that crop.
            u8 = exact_u8(pixels, processor, path)
            name = path.stem
            Image.fromarray(u8.transpose(1, 2, 0), "RGB").save(out / "pixels" / f"{name}.png")
            raw = reloaded.get_image_features(pixel_values=pixels).pooler_output[0]
            raw_ref = model.get_image_features(pixel_values=pixels).pooler_output[0]
            assert torch.allclose(raw, raw_ref, atol=1e-5)
            rel = os.path.relpath(path, out)
            golden["images"].append({
                "file": rel.replace(os.sep, "/"),
                "pixels_png": f"pixels/{name}.png",
                "features": raw.tolist(),
            })
        for text in TEXTS:
            ids = open_clip_ids(tok, text)
            padded = torch.zeros(1, 77, dtype=torch.long)
            padded[0, : len(ids)] = torch.tensor(ids)
            raw = reloaded.get_text_features(input_ids=padded).pooler_output[0]
            golden["texts"].append({"text": text, "ids": ids, "features": raw.tolist()})

    # Shapes that must not collapse: report the spread of the image embeddings.
    feats = torch.tensor([g["features"] for g in golden["images"]])
    feats = feats / feats.norm(dim=-1, keepdim=True)
    cos = feats @ feats.T
    off = cos[~torch.eye(len(feats), dtype=torch.bool)]
    print(f"pairwise image cosine: min {off.min():.3f} max {off.max():.3f} (degenerate weights give ~1.0)")
    (out / "golden.json").write_text(json.dumps(golden, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
