#!/usr/bin/env python3
"""Peak RSS of `scry index` against library size (issue 5, target 6).

Generates distinct 160x120 BMP images of random pixels (standard library only) in folders of
500, then indexes 1, 3 and 9 folders (500, 1,500 and 4,500 images) into fresh
libraries and prints each run's peak RSS from /usr/bin/time -v. A flat column
means memory is the model plus bounded buffers; what grows is the in-memory
vectors and records (~2 KB per image for ViT-B/32).

    cargo build --release -p scry-web
    python3 scripts/rss_vs_size.py MODEL_DIR [WORK_DIR]
"""
import os
import re
import struct
import subprocess
import sys
import time

W, H, PER_FOLDER, SIZES = 160, 120, 500, (1, 3, 9)


def bmp() -> bytes:
    """A 24-bit BMP of random pixels (distinct bytes, so nothing is a copy)."""
    row = W * 3 + (4 - (W * 3) % 4) % 4
    data = os.urandom(row * H)
    header = struct.pack("<2sIHHI", b"BM", 54 + len(data), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, W, H, 1, 24, 0, len(data), 2835, 2835, 0, 0)
    return header + info + data


def main() -> None:
    model = sys.argv[1]
    work = sys.argv[2] if len(sys.argv) > 2 else "target/rss-vs-size"
    scry = os.path.abspath("target/release/scry")
    photos = os.path.join(work, "photos")
    folders = []
    for f in range(max(SIZES)):
        d = os.path.join(photos, f"part{f}")
        folders.append(d)
        if os.path.isdir(d) and len(os.listdir(d)) == PER_FOLDER:
            continue
        os.makedirs(d, exist_ok=True)
        for i in range(PER_FOLDER):
            with open(os.path.join(d, f"img_{i:04}.bmp"), "wb") as fh:
                fh.write(bmp())
    print(f"{'images':>7}  {'peak RSS':>10}  {'seconds':>8}")
    for n in SIZES:
        db = os.path.join(work, f"lib-{n}")
        subprocess.run(["rm", "-rf", db], check=True)
        started = time.time()
        out = subprocess.run(
            ["/usr/bin/time", "-v", scry, "index", *folders[:n], "--db", db, "--model", model],
            capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
        if out.returncode != 0:
            sys.exit(out.stderr)
        kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1))
        print(f"{n * PER_FOLDER:>7}  {kb / 1024:>7.0f} MiB  {time.time() - started:>8.1f}")


if __name__ == "__main__":
    main()
