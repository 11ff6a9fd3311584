#!/usr/bin/env python3
"""Make the video fixtures: short videos built from the sample photos with
ffmpeg, the frames the reference picks from each, and golden embeddings from
transformers on the tiny fixture model.

CI never runs this: it uses the committed output under tests/fixtures/video/.

    python3 -m venv .venv && .venv/bin/pip install --no-deps -r scripts/requirements-fixtures.txt
    apt install ffmpeg
    .venv/bin/python scripts/make_video_fixtures.py

The reference pipeline: ffmpeg picks and decodes the frames (key frames only,
its `select` filter on the scene score with scry's gaps, RGB at the displayed
size, the rotation applied), Pillow holds them, CLIPImageProcessorPil +
CLIPModel embed them, exactly as scripts/make_fixtures.py does for photos. The
selection expression below is scry's (src/video.rs); the Rust tests check that
scry picks the same frames at the same times and embeds them within cosine
0.999.

Files:
  scenes.mp4     H.264, 36 s: three photos of 12 s each (cuts at 12 s and 24 s)
  scenes.webm    the same in VP8 (what a browser plays in the UI test)
  upright.mp4    one photo, 4 s
  sideways.mp4   the same stored turned a quarter (portrait) with a display
                 rotation of 90°: players show it upright, as scry must
  tagged.mov     upright.mp4 in a QuickTime file with a phone's tags (creation
                 time, make and model, an ISO 6709 location)
  truncated.mp4  the first 60 % of scenes.mp4 (its index, at the end, is gone)
  corrupt.mp4    an MP4 header followed by noise
  frame-24.png   scenes.mp4's frame at 24 s as ffmpeg decodes it (a query that
                 must find the video at that time)
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import CLIPModel
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "video"
SAMPLES = ROOT / "sample_data"

# scry's constants (src/video.rs).
MAX_FRAMES = 32
MIN_GAP = 5.0
SCENE = 0.15
STEADY = 3.0
START = 1.0


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def clip(photo: Path, seconds: float, size: str = "320:240") -> list[str]:
    return ["-loop", "1", "-framerate", "2", "-t", str(seconds), "-i", str(photo)], f"scale={size},setsar=1"


def scenes(out: Path, codec: list[str]) -> None:
    photos = [SAMPLES / "animals/chelsea.jpg", SAMPLES / "food/coffee.png", SAMPLES / "animals/horse.png"]
    inputs: list[str] = []
    chains = []
    for i, p in enumerate(photos):
        args, chain = clip(p, 12)
        inputs += args
        chains.append(f"[{i}]{chain},format=yuv420p[v{i}]")
    graph = ";".join(chains) + ";" + "".join(f"[v{i}]" for i in range(len(photos))) + f"concat=n={len(photos)}:v=1:a=0"
    ffmpeg(*inputs, "-filter_complex", graph, "-r", "2", "-g", "2", *codec, str(out))


def probe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
         "-select_streams", "v:0", str(path)],
        check=True, capture_output=True,
    ).stdout
    info = json.loads(out)
    s = info["streams"][0]
    w, h = s["width"], s["height"]
    rotation = next((d.get("rotation", 0) for d in s.get("side_data_list", []) if "rotation" in d), 0)
    if round(rotation) % 180 == 90:
        w, h = h, w
    return {"duration": float(info["format"]["duration"]), "width": w, "height": h}


def select(duration: float, start: float) -> str:
    gap = max(MIN_GAP, duration / MAX_FRAMES)
    return (
        f"if(isnan(prev_selected_t),gte(t,{fmt(start)}),gte(t-prev_selected_t,{fmt(gap)})"
        f"*(gt(scene,{fmt(SCENE)})+gte(t-prev_selected_t,{fmt(gap * STEADY)})))"
    )


def fmt(x: float) -> str:
    # Rust's `{}` for f64: shortest round-trip, no ".0" dropped for integers.
    return repr(float(x)) if x != int(x) else str(int(x))


def frames(path: Path, info: dict) -> list[tuple[float, Image.Image]]:
    def run(start: float):
        vf = f"select='{select(info['duration'], start)}',scale={info['width']}:{info['height']},showinfo"
        p = subprocess.run(
            ["ffmpeg", "-nostdin", "-hide_banner", "-v", "info", "-skip_frame", "nokey", "-i", str(path),
             "-an", "-sn", "-dn", "-vf", vf, "-vsync", "vfr", "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"],
            check=True, capture_output=True,
        )
        times = [float(l.split("pts_time:")[1].split()[0]) for l in p.stderr.decode().splitlines()
                 if "showinfo" in l and " n:" in l]
        size = info["width"] * info["height"] * 3
        raw = p.stdout
        imgs = [Image.fromarray(np.frombuffer(raw[i * size:(i + 1) * size], np.uint8)
                                .reshape(info["height"], info["width"], 3)) for i in range(len(raw) // size)]
        assert len(imgs) == len(times), (len(imgs), len(times))
        return list(zip(times, imgs))[:MAX_FRAMES]

    start = min(START, info["duration"] / 3)
    got = run(start)
    return got if got or start == 0 else run(0.0)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    h264 = ["-c:v", "libx264", "-preset", "medium", "-crf", "23", "-pix_fmt", "yuv420p"]
    scenes(OUT / "scenes.mp4", h264)
    scenes(OUT / "scenes.webm", ["-c:v", "libvpx", "-b:v", "300k", "-pix_fmt", "yuv420p"])
    chelsea = SAMPLES / "animals/chelsea.jpg"
    args, chain = clip(chelsea, 4)
    ffmpeg(*args, "-vf", chain + ",format=yuv420p", "-r", "2", "-g", "2", *h264, str(OUT / "upright.mp4"))
    # Stored turned a quarter counter-clockwise, shown turned back by the
    # display matrix (ffmpeg 5's mov muxer writes `rotate` as one).
    # (written by a stream copy: an encode drops the tag).
    with tempfile.TemporaryDirectory() as tmp:
        stored = Path(tmp) / "stored.mp4"
        ffmpeg(*args, "-vf", chain + ",transpose=2,format=yuv420p", "-r", "2", "-g", "2", *h264, str(stored))
        ffmpeg("-i", str(stored), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(OUT / "sideways.mp4"))
    ffmpeg("-i", str(OUT / "upright.mp4"), "-c", "copy", "-metadata", "creation_time=2023-05-01T12:34:56Z",
           "-metadata", "make=Apple", "-metadata", "model=iPhone 14", "-metadata", "location=+48.8584+002.2945/",
           str(OUT / "tagged.mov"))
    whole = (OUT / "scenes.mp4").read_bytes()
    (OUT / "truncated.mp4").write_bytes(whole[: len(whole) * 6 // 10])
    rng = np.random.default_rng(7)
    (OUT / "corrupt.mp4").write_bytes(whole[:32] + rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())

    model = CLIPModel.from_pretrained(ROOT / "tests/fixtures/tiny-clip", torch_dtype=torch.float32).eval()
    processor = CLIPImageProcessorPil()
    entries = []
    with torch.no_grad():
        for name in ["scenes.mp4", "scenes.webm", "upright.mp4", "sideways.mp4"]:
            info = probe(OUT / name)
            picked = frames(OUT / name, info)
            feats = []
            for t, img in picked:
                pixels = processor(images=img, return_tensors="pt")["pixel_values"]
                feats.append(model.get_image_features(pixel_values=pixels).pooler_output[0].tolist())
                if name == "scenes.mp4" and t == 24.0:
                    img.save(OUT / "frame-24.png")
            entries.append({
                "file": name,
                "duration": info["duration"],
                "width": info["width"],
                "height": info["height"],
                "frames": [{"time": t, "features": f} for (t, _), f in zip(picked, feats)],
            })
            print(name, info, [t for t, _ in picked])
    (OUT / "video.json").write_text(json.dumps({
        "ffmpeg": subprocess.run(["ffmpeg", "-version"], capture_output=True).stdout.decode().splitlines()[0],
        "entries": entries,
    }, indent=1))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
