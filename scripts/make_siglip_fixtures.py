#!/usr/bin/env python3
"""SigLIP / SigLIP 2 (fixed resolution) parity fixtures, from transformers on PyTorch.

CI never runs this: it uses the committed output. Same set-up as make_fixtures.py
(scripts/requirements-fixtures.txt).

    .venv/bin/python scripts/make_siglip_fixtures.py                  # tiny -> tests/fixtures/
    .venv/bin/python scripts/make_siglip_fixtures.py --full DIR       # siglip2-base-patch16-224's shape

SigLIP 2 at fixed resolution (google/siglip2-base-patch16-224, …-so400m-…) is
transformers' `SiglipModel` (model_type "siglip") with Gemma's tokenizer, so one
random-weight `SiglipModel` covers both SigLIP and SigLIP 2 FixRes architectures.
No PyPI package ships Gemma's 256k vocabulary, so the tokenizer is a small BPE
trained here the way Gemma's is built (byte fallback, "▁" for spaces, <pad>=0,
<eos>=1, <bos>=2, <unk>=3, <mask>=4) and saved by transformers' own
`GemmaTokenizer`, so tokenizer.json has the layout transformers writes.

The reference pipeline it pins:
  text   tokenizer (the folder's tokenizer.json) with a Lowercase normaliser in
         front, as transformers' Siglip2Tokenizer does (SigLIP 2 was trained on
         lowercased text); padding="max_length" to max_position_embeddings on the
         right, truncation=True; then `get_text_features(input_ids=...)` WITHOUT an
         attention mask: the model was trained attending to the padding, and pools
         the last position (transformers 5 tokenizers also return attention_mask;
         passing it changes the output and is not how the model was trained).
  image  SiglipImageProcessorPil: the whole image resized to 224x224 bicubic (no
         crop), rescaled, normalised with mean = std = 0.5.

Writes:
  tiny-siglip/              config.json, model.safetensors, tokenizer.json,
                            tokenizer_config.json, special_tokens_map.json,
                            preprocessor_config.json
  golden-siglip.json        token ids for tokenizer_corpus.json + the multilingual
                            corpus; reference pixels (PNG) and image features for
                            golden.json's images; text features for texts
  pixels-siglip/<name>.png  the reference's squashed uint8 image
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

import torch
from PIL import Image
from tokenizers import Tokenizer, models, normalizers, trainers
from transformers import AutoTokenizer, SiglipConfig, SiglipModel
from transformers.models.gemma.tokenization_gemma import GemmaTokenizer
from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402
import make_multilingual_fixtures as mm  # noqa: E402

ROOT = mf.ROOT
FIX = ROOT / "tests" / "fixtures"
SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]

# Text hidden size differs from the vision's and the head projects into it
# (projection_size), so a loader that assumed them equal would fail.
TINY = dict(
    text=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
              max_position_embeddings=64, projection_size=48),
    vision=dict(hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                image_size=224, patch_size=32),
)
# google/siglip2-base-patch16-224
FULL = dict(
    text=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
              max_position_embeddings=64, vocab_size=256000),
    vision=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                image_size=224, patch_size=16),
)

TEXTS = mf.TEXTS + [
    "A Photo Of A CAT",                     # lowercased: the same ids as the first
    "Ein Hund, der im Schnee spielt!",
    "İstanbul'da GÜN BATIMI",               # dotted capital I lowercases to two code points
    "ΟΔΥΣΣΕΥΣ στη θάλασσα",                 # final sigma
    "  spaces   everywhere  ",
    "東京タワーと富士山 " * 20,              # truncated at 64, <eos> kept
]


def corpus() -> list[str]:
    base = json.loads((FIX / "tokenizer_corpus.json").read_text())
    return base + mm.MULTILINGUAL + TEXTS


def train_tokenizer(vocab_size: int) -> GemmaTokenizer:
    """A Gemma-layout BPE with byte fallback, trained on the corpora."""
    raw = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    raw.normalizer = normalizers.Replace(" ", "▁")
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS + byte_tokens,
                                  max_token_length=8,
                                  show_progress=False)
    texts = corpus() + [t.lower() for t in corpus()]
    raw.train_from_iterator(texts * 3, trainer)
    spec = json.loads(raw.to_str())["model"]
    vocab = spec["vocab"]
    assert [vocab[s] for s in SPECIALS] == list(range(5)), "Gemma's special ids"
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in spec["merges"]]
    # big_vision appends <eos> to every SigLIP 2 text ("sticky" when truncated).
    tok = GemmaTokenizer(vocab=vocab, merges=merges, add_bos_token=False, add_eos_token=True)
    return tok


def reference_tokenizer(model_dir: Path, length: int):
    """The folder's tokenizer as transformers loads it, with Siglip2Tokenizer's
    Lowercase normaliser in front and right padding (as trained)."""
    tok = AutoTokenizer.from_pretrained(model_dir)
    backend = tok.backend_tokenizer
    backend.normalizer = normalizers.Sequence([normalizers.Lowercase(), backend.normalizer])
    tok.padding_side = "right"

    def ids(text: str) -> list[int]:
        out = tok(text, padding="max_length", max_length=length, truncation=True)["input_ids"]
        assert len(out) == length, (text, len(out))
        return out

    return ids


def randomise(model: SiglipModel, gen: torch.Generator) -> None:
    """Non-degenerate random weights (CLIP_NOTES.md), as make_fixtures.py does,
    with the attention-pooling probe at unit scale like a class token."""
    mf.unit_gain_init(model, gen)
    with torch.no_grad():
        model.vision_model.head.probe.copy_(torch.randn(model.vision_model.head.probe.shape, generator=gen))
        model.logit_bias.fill_(-10.0)


def build(out: Path, dims: dict, vocab_size: int | None) -> tuple[SiglipModel, object]:
    out.mkdir(parents=True, exist_ok=True)
    tok = train_tokenizer(1200)
    tok.save_pretrained(out)
    text = dict(dims["text"])
    text.setdefault("vocab_size", vocab_size or len(tok))
    text.update(pad_token_id=0, eos_token_id=1, bos_token_id=2)  # Gemma's ids
    config = SiglipConfig(text_config=text, vision_config=dict(dims["vision"]))
    model = SiglipModel(config).eval()
    randomise(model, torch.Generator().manual_seed(mf.SEED))
    model.save_pretrained(out, safe_serialization=True)
    proc = SiglipImageProcessorPil(size={"height": dims["vision"]["image_size"],
                                         "width": dims["vision"]["image_size"]})
    proc.save_pretrained(out)
    reloaded = SiglipModel.from_pretrained(out, dtype=torch.float32).eval()
    return reloaded, reference_tokenizer(out, text["max_position_embeddings"])


def golden(model: SiglipModel, ids_of, out_dir: Path, pixels_dir: Path | None) -> dict:
    proc = SiglipImageProcessorPil.from_pretrained(out_dir)
    result = {"model": out_dir.name, "seed": mf.SEED, "tokens": [], "images": [], "texts": []}
    for text in corpus():
        result["tokens"].append({"text": text, "ids": ids_of(text)})
    reference = json.loads((FIX / "golden.json").read_text())
    with torch.no_grad():
        for entry in reference["images"]:
            path = FIX / entry["file"]
            pil = Image.open(path)
            pixels = proc(images=pil, return_tensors="pt")["pixel_values"]
            u8 = mf.exact_u8(pixels, proc, path)
            feats = model.get_image_features(pixel_values=pixels).pooler_output[0]
            item = {"file": entry["file"], "features": feats.tolist()}
            if pixels_dir is not None:
                pixels_dir.mkdir(parents=True, exist_ok=True)
                name = path.stem
                Image.fromarray(u8.transpose(1, 2, 0), "RGB").save(pixels_dir / f"{name}.png")
                item["pixels_png"] = f"{pixels_dir.name}/{name}.png"
            result["images"].append(item)
        for text in TEXTS:
            ids = ids_of(text)
            feats = model.get_text_features(input_ids=torch.tensor([ids])).pooler_output[0]
            result["texts"].append({"text": text, "ids": ids, "features": feats.tolist()})
        # Why the attention mask is not passed: it changes the output.
        ids = torch.tensor([ids_of(TEXTS[0])])
        masked = model.get_text_features(input_ids=ids, attention_mask=(ids != 0).long()).pooler_output[0]
        plain = model.get_text_features(input_ids=ids).pooler_output[0]
    result["masked_cosine"] = float(torch.nn.functional.cosine_similarity(masked, plain, dim=0))
    feats = torch.tensor([g["features"] for g in result["images"]])
    feats = feats / feats.norm(dim=-1, keepdim=True)
    off = (feats @ feats.T)[~torch.eye(len(feats), dtype=torch.bool)]
    print(f"pairwise image cosine: min {off.min():.3f} max {off.max():.3f} (degenerate weights give ~1.0)")
    print(f"text with vs without attention mask: cosine {result['masked_cosine']:.4f}")
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", type=Path, help="write a full-size SigLIP 2 base (random weights) here")
    args = ap.parse_args()
    torch.manual_seed(mf.SEED)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    if args.full:
        model, ids_of = build(args.full / "siglip2-base", FULL, 256000)
        g = golden(model, ids_of, args.full / "siglip2-base", None)
        (args.full / "golden-siglip.json").write_text(json.dumps(g, indent=0))
        print(f"wrote {args.full}")
        return 0
    out = FIX / "tiny-siglip"
    model, ids_of = build(out, TINY, None)
    g = golden(model, ids_of, out, FIX / "pixels-siglip")
    (FIX / "golden-siglip.json").write_text(json.dumps(g, indent=0))
    print(f"wrote {out} and golden-siglip.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
