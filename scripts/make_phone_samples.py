#!/usr/bin/env python3
"""Make sample_data/phone/: the files a phone or a camera writes, built from the
sample photos (CC0 / public domain, see sample_data/CREDITS.md), so the README's
main command shows every format scry reads.

CI never runs this; its output is committed. Needs the fixture environment of
scripts/make_format_fixtures.py (Pillow, pillow-heif, numpy) and ffmpeg:

    .venv/bin/python scripts/make_phone_samples.py

  IMG_0042.HEIC   a crop of astronaut.webp (the shuttle model), HEIC with an
                  iPhone's EXIF (date, camera, GPS)
  IMG_0042.MOV    its Live Photo clip: 2 s slowly zooming into the same crop
  DSC_0107.NEF    a Nikon RAW whose embedded preview is a crop of rocket.jpg
  DSC_0107.JPG    the camera's JPEG of the same shot (a near-duplicate pair)
  VID_20240501_101500.mp4
                  18 s, three 6 s shots (crops of hubble_deep_field.jpg,
                  retina.jpg and astronaut.webp) with a phone's tags (creation
                  time, make and model, an ISO 6709 location)

Each crop is a different picture from its source photo, so no near-duplicate
group forms between the phone files and the rest of sample_data (the RAW and
its JPEG aside, which are one shot).
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pillow_heif
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_format_fixtures import jpeg_bytes, make_tiff_raw, thumbnail  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data"
OUT = SAMPLES / "phone"


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def crop(rel: str, box: tuple[int, int, int, int]) -> Image.Image:
    return Image.open(SAMPLES / rel).convert("RGB").crop(box)


def phone_exif(model: str, when: str, lat: float, lon: float) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    exif[0x0110] = model
    exif[0x0132] = when
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = when
    gps = exif.get_ifd(0x8825)

    def dms(v: float):
        v = abs(v)
        d = int(v)
        m = int((v - d) * 60)
        s = round(((v - d) * 60 - m) * 60 * 100)
        return (IFDRational(d, 1), IFDRational(m, 1), IFDRational(s, 100))

    gps[1] = "N" if lat >= 0 else "S"
    gps[2] = dms(lat)
    gps[3] = "E" if lon >= 0 else "W"
    gps[4] = dms(lon)
    return exif


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    h264 = ["-c:v", "libx264", "-preset", "medium", "-crf", "26", "-pix_fmt", "yuv420p"]

    # A HEIC from an iPhone, with its Live Photo clip beside it.
    shuttle = crop("space/astronaut.webp", (300, 0, 512, 300))
    shuttle = shuttle.resize((shuttle.width * 2, shuttle.height * 2), Image.Resampling.LANCZOS)
    exif = phone_exif("iPhone 13", "2024:05:01 09:41:00", 28.5729, -80.6490)
    pillow_heif.register_heif_opener()
    shuttle.save(OUT / "IMG_0042.HEIC", format="HEIF", quality=70, exif=exif.tobytes())
    with tempfile.TemporaryDirectory() as tmp:
        still = Path(tmp) / "still.png"
        shuttle.save(still)
        w, h = shuttle.width // 2 * 2, shuttle.height // 2 * 2
        ffmpeg("-loop", "1", "-framerate", "15", "-t", "2", "-i", str(still),
               "-vf", f"scale={w}:{h},zoompan=z='1+0.002*on':d=1:s={w}x{h}:fps=15,setsar=1,format=yuv420p",
               *h264, "-metadata", "creation_time=2024-05-01T13:41:00Z", str(OUT / "IMG_0042.MOV"))

    # A Nikon RAW and the camera's JPEG of the same shot.
    pad = crop("space/rocket.jpg", (120, 0, 520, 427))
    preview = jpeg_bytes(pad, quality=88)
    (OUT / "DSC_0107.NEF").write_bytes(make_tiff_raw("nef", preview, thumbnail(pad), 1))
    small = pad.resize((pad.width * 3 // 4, pad.height * 3 // 4), Image.Resampling.LANCZOS)
    (OUT / "DSC_0107.JPG").write_bytes(jpeg_bytes(small, quality=85))

    # A phone's video: three shots.
    shots = [
        ("space/hubble_deep_field.jpg", (200, 150, 600, 450)),
        ("science/retina.jpg", (60, 200, 460, 500)),
        ("space/astronaut.webp", (120, 0, 420, 225)),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        inputs: list[str] = []
        chains = []
        for i, (rel, box) in enumerate(shots):
            still = Path(tmp) / f"shot{i}.png"
            crop(rel, box).save(still)
            inputs += ["-loop", "1", "-framerate", "2", "-t", "6", "-i", str(still)]
            chains.append(f"[{i}]scale=320:240,setsar=1,format=yuv420p[v{i}]")
        graph = ";".join(chains) + ";" + "".join(f"[v{i}]" for i in range(len(shots))) + f"concat=n={len(shots)}:v=1:a=0"
        ffmpeg(*inputs, "-filter_complex", graph, "-r", "2", "-g", "2", *h264,
               "-metadata", "creation_time=2024-05-01T14:15:00Z", "-metadata", "make=Google",
               "-metadata", "model=Pixel 8", "-metadata", "location=+28.5729-080.6490/",
               str(OUT / "VID_20240501_101500.mp4"))
    for p in sorted(OUT.iterdir()):
        print(f"{p.relative_to(ROOT)}: {p.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
