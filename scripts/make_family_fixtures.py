#!/usr/bin/env python3
"""Fixtures for model families beyond OpenAI's CLIP, from the reference on PyTorch.

CI never runs this: it uses the committed output. Same set-up as make_fixtures.py.

    .venv/bin/python scripts/make_family_fixtures.py

Writes:
  tests/fixtures/tiny-clip-gelu/   a random-weight CLIPModel whose towers use exact
                                   GELU (hidden_act "gelu"), as every LAION / open_clip
                                   CLIP in Hugging Face layout does; OpenAI's tokenizer
  tests/fixtures/golden-gelu.json  image embeddings from the reference pixels of
                                   golden.json (the preprocessing is the same) and
                                   text embeddings of make_fixtures.TEXTS
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import torch
from PIL import Image
from transformers import CLIPModel
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402

ROOT = mf.ROOT
FIX = ROOT / "tests" / "fixtures"


def main() -> int:
    torch.manual_seed(mf.SEED)
    out = FIX / "tiny-clip-gelu"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIX / "tiny-clip" / "tokenizer.json", out / "tokenizer.json")
    model = mf.make_model(out, mf.TINY, store_f16=True, hidden_act="gelu")
    reloaded = CLIPModel.from_pretrained(out, torch_dtype=torch.float32).eval()
    assert reloaded.config.text_config.hidden_act == "gelu"
    golden = json.loads((FIX / "golden.json").read_text())
    processor = CLIPImageProcessorPil()
    tok = mf.SimpleTokenizer()
    result = {"model": "tiny-clip-gelu", "seed": mf.SEED, "images": [], "texts": []}
    with torch.no_grad():
        for entry in golden["images"]:
            # The PNG of the reference crop normalises exactly to its tensor.
            crop = Image.open(FIX / entry["pixels_png"]).convert("RGB")
            pixels = processor(images=crop, return_tensors="pt", do_resize=False,
                               do_center_crop=False)["pixel_values"]
            feats = reloaded.get_image_features(pixel_values=pixels).pooler_output[0]
            ref = model.get_image_features(pixel_values=pixels).pooler_output[0]
            assert torch.allclose(feats, ref, atol=1e-5)
            result["images"].append({"file": entry["file"], "pixels_png": entry["pixels_png"],
                                     "features": feats.tolist()})
        for text in mf.TEXTS:
            ids = mf.open_clip_ids(tok, text)
            padded = torch.zeros(1, 77, dtype=torch.long)
            padded[0, : len(ids)] = torch.tensor(ids)
            feats = reloaded.get_text_features(input_ids=padded).pooler_output[0]
            result["texts"].append({"text": text, "ids": ids, "features": feats.tolist()})
    (FIX / "golden-gelu.json").write_text(json.dumps(result, indent=1))
    print(f"wrote {out} and golden-gelu.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
