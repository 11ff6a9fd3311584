#!/usr/bin/env python3
"""Cold start of the `scry` command: wall time and peak RSS, medians of 5, in one run.

    cargo build --release --bin scry --example synthetic_library
    python3 scripts/cold_start.py MODEL_DIR [PHOTOS] [--synthetic 10000,100000]

PHOTOS defaults to sample_data. --synthetic adds a `scry search` row for each
size, on a library of that many synthetic images written for the model by
examples/synthetic_library (kept in /tmp/scry-cold-N for the next run).

Rows (each a fresh process):
  search, text only       reads the text tower alone
  search, text + outside image
                          needs both towers: what every search paid before the
                          towers were read on first use (the baseline)
  index, nothing changed  reads no tower
Ratios are printed against the baseline row.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRY = ROOT / "target" / "release" / "scry"


def measure(args: list[str], n: int = 5) -> tuple[float, float]:
    walls, rss = [], []
    for _ in range(n):
        out = subprocess.run(["/usr/bin/time", "-f", "%e %M", str(SCRY), *args],
                             capture_output=True, text=True, cwd=ROOT)
        if out.returncode != 0:
            sys.exit(f"scry {' '.join(args)} failed: {out.stderr}")
        wall, kb = out.stderr.strip().splitlines()[-1].split()
        walls.append(float(wall))
        rss.append(int(kb) / 1024)
    return statistics.median(walls), statistics.median(rss)


def main() -> int:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    args = sys.argv[1:]
    sizes: list[int] = []
    if "--synthetic" in args:
        i = args.index("--synthetic")
        sizes = [int(x) for x in args[i + 1].split(",")]
        del args[i:i + 2]
    model = args[0]
    photos = args[1] if len(args) > 1 else str(ROOT / "sample_data")
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "lib")
        common = ["--db", db, "--model", model]
        subprocess.run([str(SCRY), "index", photos, *common], check=True, capture_output=True)
        outside = str(ROOT / "tests/fixtures/images/grey-99x157.png")
        rows = [
            ("search, text + outside image (baseline)", ["search", f"a red car + {outside}", *common]),
            ("search, text only", ["search", "a red car", *common]),
            ("index, nothing changed", ["index", *common]),
        ]
        base = None
        for name, args in rows:
            wall, rss = measure(args)
            if base is None:
                base = (wall, rss)
            print(f"{name:42s} {wall:6.2f} s  {rss:7.0f} MiB   "
                  f"({wall / base[0]:.2f}x time, {rss / base[1]:.2f}x memory of the baseline)")
        for n in sizes:
            lib = Path(f"/tmp/scry-cold-{n}")
            if not lib.exists():
                subprocess.run([str(ROOT / "target/release/examples/synthetic_library"),
                                str(lib), str(n), model], check=True)
            wall, rss = measure(["search", "a red car", "--db", str(lib), "--model", model])
            print(f"{'search, text only, ' + format(n, ',') + ' images':42s} {wall:6.2f} s  {rss:7.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
