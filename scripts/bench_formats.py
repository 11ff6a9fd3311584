#!/usr/bin/env python3
"""Decode time per format family: scry against the Python reference, same files,
same run, medians of 5, ratios printed.

    .venv/bin/python scripts/bench_formats.py      # needs pillow-heif, rawpy, cjxl

Files (made here from sample_data/animals/chelsea.jpg, upscaled):
  12 MP HEIC (4000x3000, pillow-heif)   reference: Pillow + pillow-heif
  12 MP AVIF (4000x3000, Pillow)        reference: Pillow's AVIF plugin
  12 MP JPEG XL (4000x3000, cjxl)       reference: djxl to PNG, read by Pillow
  24 MP RAW (NEF with a 6000x4000 JPEG preview)
                                        reference: rawpy extract_thumb + Pillow
  1-minute 1080p H.264 video (30 fps, a key frame a second, six shots of 10 s
  slowly zooming into sample photos; ffmpeg)
                                        reference: the same frames through the
                                        fixture script's pipeline (ffmpeg's select
                                        on key frames, read by numpy/Pillow); and
                                        one frame a second (ffmpeg fps=1, every
                                        frame decoded), the usual sampling
scry's figures: a full decode, and the indexer's (scaled for a 224 model input
where the family allows: JPEG and RAW previews in the DCT domain).
"""
from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pillow_heif
import rawpy
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_format_fixtures import jpeg_bytes, make_tiff_raw, thumbnail  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
pillow_heif.register_heif_opener()


def timed(f, n=5) -> float:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        out.append((time.perf_counter() - t) * 1e3)
    return statistics.median(out)


def main() -> int:
    src = Image.open(ROOT / "sample_data/animals/chelsea.jpg").convert("RGB")
    twelve = src.resize((4000, 3000), Image.BICUBIC)
    twenty_four = src.resize((6000, 4000), Image.BICUBIC)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        twelve.save(d / "12mp.heic", format="HEIF", quality=85)
        twelve.save(d / "12mp.avif", format="AVIF", quality=70)
        twelve.save(d / "src.png")
        subprocess.run(["cjxl", str(d / "src.png"), str(d / "12mp.jxl"), "-d", "1.0"],
                       check=True, capture_output=True)
        (d / "src.png").unlink()
        preview = jpeg_bytes(twenty_four, quality=92)
        (d / "24mp.nef").write_bytes(make_tiff_raw("nef", preview, thumbnail(twenty_four), 1))

        # Six shots of 10 s, each slowly zooming into a sample photo.
        shots = ["animals/chelsea.jpg", "food/coffee.png", "animals/horse.png",
                 "people/camera.png", "misc/COINS.PNG", "textures/brick.png"]
        inputs, chains = [], []
        for i, rel in enumerate(shots):
            inputs += ["-loop", "1", "-framerate", "30", "-t", "10", "-i", str(ROOT / "sample_data" / rel)]
            chains.append(f"[{i}]scale=1920:1080,zoompan=z='1+0.002*on':d=1:s=1920x1080:fps=30,"
                          f"trim=duration=10,setsar=1,format=yuv420p[v{i}]")
        graph = ";".join(chains) + ";" + "".join(f"[v{i}]" for i in range(len(shots))) + f"concat=n={len(shots)}:v=1:a=0"
        subprocess.run(["ffmpeg", "-v", "error", "-y", *inputs, "-filter_complex", graph, "-r", "30",
                        "-g", "30", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
                        str(d / "1min-1080p.mp4")], check=True)
        from make_video_fixtures import frames as reference_frames, probe as reference_probe  # noqa: E402

        def video_reference():
            info = reference_probe(d / "1min-1080p.mp4")
            return len(reference_frames(d / "1min-1080p.mp4", info))

        def video_fps1():
            p = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(d / "1min-1080p.mp4"), "-vf", "fps=1",
                                "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"], check=True, capture_output=True)
            return len(p.stdout) // (1920 * 1080 * 3)

        def pil(path):
            return lambda: Image.open(path).convert("RGB").load()

        def djxl():
            out = d / "out.png"
            subprocess.run(["djxl", str(d / "12mp.jxl"), str(out)], check=True, capture_output=True)
            Image.open(out).convert("RGB").load()

        def raw():
            with rawpy.imread(str(d / "24mp.nef")) as r:
                data = r.extract_thumb().data
            Image.open(io.BytesIO(data)).convert("RGB").load()

        reference = {
            "12mp.heic": ("Pillow + pillow-heif", timed(pil(d / "12mp.heic"))),
            "12mp.avif": ("Pillow AVIF", timed(pil(d / "12mp.avif"))),
            "12mp.jxl": ("djxl + Pillow", timed(djxl)),
            "24mp.nef": ("rawpy extract_thumb + Pillow", timed(raw)),
            "1min-1080p.mp4": ("the fixture script's frames", timed(video_reference)),
        }
        fps1_ms = timed(video_fps1)
        picked = video_reference()
        if (d / "out.png").exists():
            (d / "out.png").unlink()
        env = dict(os.environ, SCRY_FORMAT_BENCH_DIR=str(d))
        out = subprocess.run(["cargo", "bench", "--bench", "formats"], cwd=ROOT, env=env,
                             check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            name, ref_ms = reference[r["file"]]
            print(f"{r['file']}: scry full {r['full_ms']:.0f} ms, indexer path {r['indexer_ms']:.0f} ms; "
                  f"{name} {ref_ms:.0f} ms; reference/scry {ref_ms / r['full_ms']:.2f}x full, "
                  f"{ref_ms / r['indexer_ms']:.2f}x indexer path")
            if "frames" in r:
                print(f"  {r['frames']} frames embedded for 60 s (reference picks {picked}); "
                      f"one frame a second (60 frames, every frame decoded): {fps1_ms:.0f} ms, "
                      f"{fps1_ms / r['full_ms']:.2f}x scry's time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
