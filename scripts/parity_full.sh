#!/usr/bin/env bash
# Full-size parity check (not run by CI): random-weight models of the exact
# architectures (OpenAI and LAION ViT-B/32, the multilingual text tower, SigLIP 2
# base), first a CLIP with the exact
# openai/clip-vit-base-patch32 architecture (151 M parameters), reference outputs
# from transformers on PyTorch, compared with scry by the same Rust tests that CI
# runs on the tiny fixture. Prints the cosines.
#
#   scripts/parity_full.sh [OUT_DIR]
#
# Needs network access to PyPI once (for the venv, with sentence-transformers) and
# ~3 GB of disk.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --no-deps -r scripts/requirements-fixtures.txt
fi
OUT=${1:-${TMPDIR:-/tmp}/scry-parity-full}
mkdir -p "$OUT"
"$VENV/bin/python" scripts/make_fixtures.py --size full --out "$OUT"
# Dependencies are optimised even in the dev profile (Cargo.toml), so no release build is needed.
SCRY_PARITY_FIXTURE="$OUT" cargo test -p scry --test tests parity:: -- --nocapture --test-threads 1 2>&1 |
  grep -E "cosine|pixels|Δ|test result|FAILED|panicked"

# LAION's / open_clip's CLIPs: the same architecture with exact GELU.
GELU="$OUT/gelu"
mkdir -p "$GELU"
"$VENV/bin/python" scripts/make_fixtures.py --size full --hidden-act gelu --out "$GELU"
SCRY_PARITY_FIXTURE="$GELU" cargo test -p scry --test tests parity:: -- --nocapture --test-threads 1 2>&1 |
  grep -E "cosine|pixels|Δ|test result|FAILED|panicked"

# The multilingual text tower (sentence-transformers/clip-ViT-B-32-multilingual-v1's
# architecture: DistilBERT 768-d, 6 layers, 119,547 tokens, a dense layer to 512),
# random weights; PyTorch's and scry's time for one query in the same run.
ML="$OUT/multilingual"
TORCH_THREADS=2 "$VENV/bin/python" scripts/make_multilingual_fixtures.py --full "$ML" | grep query_ms
SCRY_MULTILINGUAL_FIXTURE="$ML" cargo test -p scry --test tests families::multilingual -- --nocapture 2>&1 |
  grep -E "cosine|test result|FAILED|panicked"
cargo run -q --release -p scry-indexer --example compare -- text-model "$ML" 30

# SigLIP / SigLIP 2 at fixed resolution (google/siglip2-base-patch16-224's
# architecture: ViT-B/16 with the attention-pooling head, a 12-layer text tower
# over 256,000 tokens padded to 64), random weights.
SIGLIP="$OUT/siglip"
"$VENV/bin/python" scripts/make_siglip_fixtures.py --full "$SIGLIP"
SCRY_SIGLIP_FIXTURE="$SIGLIP" cargo test -p scry --test tests families::siglip -- --nocapture --test-threads 1 2>&1 |
  grep -E "cosine|levels|token ids|test result|FAILED|panicked"
