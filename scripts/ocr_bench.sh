#!/usr/bin/env bash
# What `scry index --ocr` costs: the same folder indexed from scratch with and
# without it, rounds interleaved, in one run; prints medians and the ratio.
#
#   scripts/ocr_bench.sh MODEL_DIR [FOLDER…]    # default folder: sample_data
#   ROUNDS=7 scripts/ocr_bench.sh target/compare/model/vit-b-32
#
# MODEL_DIR: a CLIP model folder (Hugging Face layout), e.g. the full-size
# random-weight ViT-B/32 scripts/compare.sh makes. Needs Tesseract with
# English (Debian: libtesseract5 tesseract-ocr-eng) and a release build
# (cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:?usage: scripts/ocr_bench.sh MODEL_DIR [FOLDER…]}
shift
FOLDERS=("${@:-sample_data}")
ROUNDS=${ROUNDS:-5}
BIN=target/release/scry
test -x "$BIN" || { echo "build first: cargo build --release"; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

run() { # run NAME EXTRA… : seconds of one fresh `scry index`
    local db="$WORK/$1"; shift
    rm -rf "$db"
    local t0 t1
    t0=$(date +%s.%N)
    HF_HUB_OFFLINE=1 "$BIN" index "${FOLDERS[@]}" --db "$db" --model "$MODEL" --json "$@" > "$WORK/last.json"
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc
}

plain=(); ocr=()
for r in $(seq "$ROUNDS"); do
    plain+=("$(run plain)")
    ocr+=("$(run ocr --ocr)")
done
python3 - "$WORK/last.json" "${plain[*]}" "${ocr[*]}" <<'EOF'
import json, statistics, sys
s = json.load(open(sys.argv[1]))
plain = [float(x) for x in sys.argv[2].split()]
ocr = [float(x) for x in sys.argv[3].split()]
p, o = statistics.median(plain), statistics.median(ocr)
print(f"images: {s['total']}; looked at for text: {s['ocr_checked']}, read by OCR: {s['ocr_read']}, with words: {s['ocr_with_text']}")
print(f"scry index            median {p:6.2f} s  ({', '.join(f'{x:.2f}' for x in plain)})")
print(f"scry index --ocr      median {o:6.2f} s  ({', '.join(f'{x:.2f}' for x in ocr)})")
print(f"--ocr costs {100 * (o / p - 1):+.1f} % ({o / p:.3f}x)")
EOF
