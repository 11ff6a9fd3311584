#!/usr/bin/env bash
# scry side by side with HF transformers (PyTorch), ONNX Runtime and hnswlib, on
# this machine, in one run. Prints a table of medians and ratios.
#
#   scripts/compare.sh                 # everything (~30 min on 2 cores, first run)
#   ROUNDS=5 scripts/compare.sh        # more rounds
#
# Sets up, under target/compare/ (reused by later runs):
#   venv/    Python packages from PyPI (pinned, scripts/requirements-compare.txt),
#            then torch's own CUDA runtime wheels, which it loads even on CPU
#   model/   a full-size random-weight ViT-B/32 (scripts/make_fixtures.py --size full;
#            N(0, 1/sqrt(fan_in)) weights: speed does not depend on the values)
#   photos/  real photos of mixed formats and sizes: Debian's mate-backgrounds,
#            gnome-backgrounds and ukui-wallpapers, and scikit-image's samples
#   onnx/    ONNX exports of both towers
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${SCRY_COMPARE_DIR:-target/compare}
mkdir -p "$WORK"
PY="$WORK/venv/bin/python"

if [ ! -f "$WORK/venv/.done" ]; then
    echo "== Python environment ($WORK/venv)"
    python3 -m venv "$WORK/venv"
    "$PY" -m pip install -q --upgrade pip
    "$PY" -m pip install -q --no-deps -r scripts/requirements-compare.txt
    # PyPI's torch imports its CUDA runtime libraries even on CPU: let pip resolve them.
    "$PY" -m pip install -q torch==2.15.0
    touch "$WORK/venv/.done"
fi

if [ ! -f "$WORK/model/vit-b-32/model.safetensors" ]; then
    echo "== Random-weight ViT-B/32 ($WORK/model)"
    "$PY" scripts/make_fixtures.py --size full --out "$WORK/model"
fi

if [ ! -f "$WORK/photos/.done" ]; then
    echo "== Photo folder ($WORK/photos)"
    mkdir -p "$WORK/debs" "$WORK/photos"
    (cd "$WORK/debs" && { apt-get download mate-backgrounds gnome-backgrounds ukui-wallpapers \
        || { apt-get update -qq && apt-get download mate-backgrounds gnome-backgrounds ukui-wallpapers; }; })
    for deb in "$WORK"/debs/*.deb; do
        name=$(basename "$deb" | cut -d_ -f1)
        dpkg-deb -x "$deb" "$WORK/debs/$name"
        find "$WORK/debs/$name" -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' -o -iname '*.webp' \) \
            -exec cp -n {} "$WORK/photos/" \;
    done
    "$PY" -m pip download -q --no-deps scikit-image==0.26.0 -d "$WORK/debs"
    "$PY" - "$WORK" <<'EOF'
import sys, zipfile, pathlib
work = pathlib.Path(sys.argv[1])
wheel = next((work / "debs").glob("scikit_image-*.whl"))
with zipfile.ZipFile(wheel) as z:
    for n in z.namelist():
        if n.startswith("skimage/data/") and n.lower().endswith((".png", ".jpg")):
            (work / "photos" / ("skimage-" + n.rsplit("/", 1)[1])).write_bytes(z.read(n))
EOF
    touch "$WORK/photos/.done"
fi
echo "== $(find "$WORK/photos" -type f ! -name .done | wc -l) photos, $(du -sh "$WORK/photos" | cut -f1)"

echo "== Building scry (release)"
cargo build --release -q -p scry-indexer --example compare

"$PY" scripts/compare.py --work "$WORK" --scry target/release/examples/compare \
    --photos "$WORK/photos" --rounds "${ROUNDS:-3}" | tee "$WORK/table.md"
