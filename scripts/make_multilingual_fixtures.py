#!/usr/bin/env python3
"""Fixtures for the multilingual text tower, from sentence-transformers on PyTorch.

`sentence-transformers/clip-ViT-B-32-multilingual-v1` is a multilingual
DistilBERT whose mean-pooled tokens go through a dense layer into the space of
OpenAI's ViT-B/32: a library indexed with that image model answers queries in
50 languages without re-indexing. This script builds the same architecture at
a tiny size with random weights (its text side projects into tiny-clip's 32-d
space) and pins what the reference makes of a multilingual corpus.

CI never runs this: it uses the committed output. Set-up as for make_fixtures.py,
plus `pip install sentence-transformers`.

    .venv/bin/python scripts/make_multilingual_fixtures.py            # tiny, committed
    .venv/bin/python scripts/make_multilingual_fixtures.py --full DIR # full size, for
                                                                      # scripts/parity_full.sh

Writes:
  tests/fixtures/tiny-multilingual/   a SentenceTransformer folder laid out as the hub
                                      repo is (modules.json, the DistilBERT at the root,
                                      1_Pooling/, 2_Dense/ with pickled PyTorch weights
                                      as the repo's are)
  tests/fixtures/golden-multilingual.json
                                      token ids and unnormalised embeddings of
                                      MULTILINGUAL and make_fixtures.TEXTS

The tokenizer is a WordPiece trained here on the tokenizer corpus and the
multilingual corpus with the recipe of bert-base-multilingual-cased (cased, accents
kept, CJK characters split), since no PyPI package ships that vocabulary.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer, models
from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors, trainers
from tokenizers import models as tok_models
from transformers import DistilBertConfig, DistilBertModel, DistilBertTokenizerFast

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402

ROOT = mf.ROOT
FIX = ROOT / "tests" / "fixtures"

# Queries as people type them, in the scripts the model covers: CJK, Arabic,
# Cyrillic, Devanagari, Greek, Hebrew, Thai, accents, emoji and mixed scripts.
MULTILINGUAL = [
    "ein Hund am Strand",
    "un chien sur la plage",
    "un perro en la playa al atardecer",
    "um cachorro na praia",
    "un cane sulla spiaggia",
    "een hond op het strand",
    "собака на пляже",
    "Кошка спит на диване",
    "كلب على الشاطئ",
    "قطة نائمة على الأريكة",
    "समुद्र तट पर कुत्ता",
    "बिल्ली सोफे पर सो रही है",
    "海灘上的狗",
    "海边的狗",
    "浜辺の犬",
    "ソファで寝ている猫",
    "해변의 개",
    "소파에서 자는 고양이",
    "σκύλος στην παραλία",
    "כלב על החוף",
    "สุนัขบนชายหาด",
    "köpek sahilde",
    "pies na plaży",
    "Hund på stranden",
    "koira rannalla",
    "kutya a tengerparton",
    "câine pe plajă",
    "chó trên bãi biển",
    "anjing di pantai",
    "Straße in München im Schnee",
    "crème brûlée au café",
    "ÉCOLE — Ça va? Ñandú, façade, naïve",
    "🐶 на пляже 🏖️",
    "東京 tower at night 夜景",
    "Paris в дождь 雨",
    "New York مساءً",
    "🎂 birthday party 生日",
    "mañana",
    "İstanbul'da gün batımı",
    "ﬁre ﬂame ligatures",
    "zero\u200bwidth",
    "  spaces   around  ",
    "",
    "a" * 300,
    "собака на пляже, 海边的狗, كلب على الشاطئ. " * 20,  # past 128 tokens
    "ein sehr langer Satz über einen Hund, der am Strand spielt, während die Sonne "
    "untergeht und Kinder eine Sandburg bauen, und noch viel mehr Wörter danach",
]

TINY = dict(dim=48, n_layers=2, n_heads=4, hidden_dim=96, max_position_embeddings=64, out=32, max_seq_length=40)
# sentence-transformers/clip-ViT-B-32-multilingual-v1 (distilbert-base-multilingual-cased).
FULL = dict(dim=768, n_layers=6, n_heads=12, hidden_dim=3072, max_position_embeddings=512, out=512, max_seq_length=128)
FULL_VOCAB = 119547


def train_tokenizer(vocab_size: int) -> Tokenizer:
    corpus = json.loads((FIX / "tokenizer_corpus.json").read_text()) + MULTILINGUAL + mf.TEXTS
    tok = Tokenizer(tok_models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials, min_frequency=1)
    tok.train_from_iterator(corpus * 3, trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    tok.decoder = decoders.WordPiece(prefix="##")
    return tok


def randomise(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Weights that make every part of the arithmetic matter: dense layers at
    unit gain, layer norms away from (1, 0), biases non-zero."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name:
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=gen))
            elif p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=gen) / p.shape[-1] ** 0.5)
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def build(out: Path, dims: dict, vocab_size: int | None) -> SentenceTransformer:
    gen = torch.Generator().manual_seed(mf.SEED)
    torch.manual_seed(mf.SEED)
    if out.exists():
        shutil.rmtree(out)
    with tempfile.TemporaryDirectory() as tmp:
        tf_dir = Path(tmp) / "transformer"
        tok = train_tokenizer(2000)
        fast = DistilBertTokenizerFast(
            tokenizer_object=tok,
            unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]",
            do_lower_case=False, tokenize_chinese_chars=True, strip_accents=False,
            model_max_length=dims["max_position_embeddings"],
        )
        fast.save_pretrained(tf_dir)
        config = DistilBertConfig(
            vocab_size=vocab_size or len(fast),
            dim=dims["dim"], n_layers=dims["n_layers"], n_heads=dims["n_heads"],
            hidden_dim=dims["hidden_dim"], max_position_embeddings=dims["max_position_embeddings"],
            activation="gelu", pad_token_id=fast.pad_token_id,
        )
        bert = DistilBertModel(config).eval()
        randomise(bert, gen)
        bert.save_pretrained(tf_dir, safe_serialization=True)
        transformer = models.Transformer(str(tf_dir), max_seq_length=dims["max_seq_length"])
        pooling = models.Pooling(dims["dim"], pooling_mode="mean")
        dense = models.Dense(dims["dim"], dims["out"], bias=False, activation_function=torch.nn.Identity())
        with torch.no_grad():
            dense.linear.weight.copy_(torch.randn(dense.linear.weight.shape, generator=gen) / dims["dim"] ** 0.5)
        st = SentenceTransformer(modules=[transformer, pooling, dense], device="cpu").eval()
        st.save(str(out), safe_serialization=True)
    # The hub repo keeps its dense layer as a pickled state dict (2_Dense/pytorch_model.bin).
    dense_dir = out / "2_Dense"
    for f in dense_dir.glob("model.safetensors"):
        f.unlink()
    torch.save(dense.state_dict(), dense_dir / "pytorch_model.bin")
    (out / "README.md").unlink(missing_ok=True)
    return SentenceTransformer(str(out), device="cpu").eval()


def golden(st: SentenceTransformer, texts: list[str]) -> list[dict]:
    tok = st.tokenizer
    out = []
    with torch.no_grad():
        embeddings = st.encode(texts, batch_size=8, convert_to_tensor=True, normalize_embeddings=False)
        for text, emb in zip(texts, embeddings):
            features = st.tokenize([text])
            ids = features["input_ids"][0].tolist()
            # One at a time gives the batch's answer (mean pooling skips the padding).
            single = st.encode([text], convert_to_tensor=True, normalize_embeddings=False)[0]
            assert torch.nn.functional.cosine_similarity(single, emb, dim=0) > 0.99999
            out.append({"text": text, "ids": ids, "embedding": [round(float(x), 7) for x in emb]})
    assert tok is not None
    return out


def write_golden(st: SentenceTransformer, path: Path, dims: dict, name: str) -> None:
    corpus = json.loads((FIX / "tokenizer_corpus.json").read_text())
    result = {
        "model": name,
        "seed": mf.SEED,
        "max_seq_length": dims["max_seq_length"],
        "texts": golden(st, MULTILINGUAL + mf.TEXTS),
        "corpus_ids": [st.tokenize([t])["input_ids"][0].tolist() for t in corpus],
    }
    path.write_text(json.dumps(result, ensure_ascii=False, indent=0))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", type=Path, help="build the full-size architecture into this folder")
    args = ap.parse_args()
    if args.full:
        st = build(args.full, FULL, FULL_VOCAB)
        write_golden(st, args.full / "golden-multilingual.json", FULL, "full-multilingual")
        # PyTorch's time for one short query (what a search pays), 2 threads as scry's machine.
        torch.set_num_threads(int(__import__("os").environ.get("TORCH_THREADS", "2")))
        import time
        times = []
        with torch.no_grad():
            for _ in range(30):
                t0 = time.perf_counter()
                st.encode(["собака на пляже"], convert_to_tensor=True)
                times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        print(json.dumps({"reference": "sentence-transformers", "query_ms_median": round(times[15], 2)}))
        print(f"wrote {args.full}")
        return 0
    out = FIX / "tiny-multilingual"
    st = build(out, TINY, None)
    texts = MULTILINGUAL + mf.TEXTS
    write_golden(st, FIX / "golden-multilingual.json", TINY, "tiny-multilingual")
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"wrote {out} ({size / 1e6:.1f} MB) and golden-multilingual.json ({len(texts)} texts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
