#!/usr/bin/env python3
"""SigLIP 1 tokenizer parity fixtures: spiece.model as transformers reads it.

CI never runs this: it uses the committed output. Same set-up as make_fixtures.py
(scripts/requirements-fixtures.txt, plus `sentencepiece` and `protobuf`).

    .venv/bin/python scripts/make_siglip1_fixtures.py

SigLIP 1 (google/siglip-base-patch16-224, google/siglip-so400m-patch14-384, …)
ships its tokenizer as a SentencePiece unigram model (spiece.model) and no
tokenizer.json; transformers reads it with `SiglipTokenizer` (a SentencePiece
backend): the text is canonicalised as big_vision does (lower-cased, ASCII
punctuation removed, whitespace runs made one space, stripped), special tokens
typed in the text are split out first, "</s>" is appended, and texts are padded
with "</s>" to 64. Its model weights are the same architecture as SigLIP 2 at
fixed resolution (tests/fixtures/tiny-siglip), so only the tokenizer is new.

No PyPI package ships SigLIP's 32,000-piece vocabulary, so a unigram model is
trained here with SentencePiece's own trainer and its defaults (nmt_nfkc
normalisation, dummy prefix, extra whitespace removed) in SigLIP's id layout
(<pad>=0, </s>=1, <unk>=2, no <s>), 1,000 pieces so that the ids fit the tiny
SigLIP's text vocabulary.

Writes:
  tiny-siglip1/spiece.model, tokenizer_config.json
  golden-siglip1.json   token ids for tokenizer_corpus.json + the multilingual
                        corpus + SigLIP's edge cases, from SiglipTokenizer
"""
from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import sentencepiece as spm
from transformers import SiglipTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_siglip_fixtures as ms  # noqa: E402

FIX = ms.FIX
LENGTH = 64

# What SigLIP's canonicalisation and special-token handling meet in queries.
EDGE = [
    "",
    "   ",
    "!!!",
    "a photo of a cat.",
    "A Photo Of A CAT!!!",
    "dog's   toy\t\n ball",
    "snake_case and kebab-case",
    "</s>",
    "a </s> b",
    "<unk> first",
    "last </s>",
    "a▁b ▁ c",
    "ＦＵＬＬ ｗｉｄｔｈ",
    "ﬁne ﬂowers",
    "naïve café — “quoted” ‘text’",
    "the quick brown fox " * 40,
    "x" * 300,
]


def corpus() -> list[str]:
    return ms.corpus() + EDGE


def train(out: Path) -> Path:
    texts = ms.corpus() + [t.lower() for t in ms.corpus()]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts * 3),
        model_writer=model,
        model_type="unigram",
        vocab_size=1000,
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    out.mkdir(parents=True, exist_ok=True)
    path = out / "spiece.model"
    path.write_bytes(model.getvalue())
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "SiglipTokenizer",
        "model_max_length": LENGTH,
        "do_lower_case": True,
        "eos_token": "</s>",
        "pad_token": "</s>",
        "unk_token": "<unk>",
    }, indent=2) + "\n")
    return path


def main() -> int:
    out = FIX / "tiny-siglip1"
    spiece = train(out)
    tok = SiglipTokenizer(vocab_file=str(spiece))
    tokens = []
    for text in corpus():
        ids = tok(text, padding="max_length", max_length=LENGTH, truncation=True)["input_ids"]
        assert len(ids) == LENGTH, (text, len(ids))
        tokens.append({"text": text, "ids": ids})
    golden = {"tokenizer": "SiglipTokenizer", "spiece": f"{out.name}/spiece.model",
              "vocab_size": tok.vocab_size, "tokens": tokens}
    (FIX / "golden-siglip1.json").write_text(json.dumps(golden, indent=0, ensure_ascii=False))
    print(f"wrote {out} and golden-siglip1.json ({len(tokens)} texts, {tok.vocab_size} pieces)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
