#!/usr/bin/env python3
"""Build sample_data/ from scikit-image's bundled sample photos (CC0 / public domain).

CI never runs this; its output is committed. Needs Pillow and network access to PyPI:

    python3 scripts/make_sample_data.py [--wheel path/to/scikit_image-*.whl]

Every photo is scaled to at most 800 px. A few awkward files exercise the crawler:
an upper-case extension, a hidden folder, a non-image, a JPEG named .png, and a
JPEG whose pixels are stored sideways with an EXIF orientation tag.
"""
from __future__ import annotations

import argparse
import glob
import io
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "sample_data"

# (source file in skimage/data, destination, credit, licence as stated by scikit-image)
PHOTOS = [
    ("astronaut.png", "space/astronaut.webp", "NASA (Eileen Collins), via scikit-image", "public domain"),
    ("hubble_deep_field.jpg", "space/hubble_deep_field.jpg", "NASA / Hubble, via scikit-image", "public domain"),
    ("rocket.jpg", "space/rocket.jpg", "SpaceX, via scikit-image", "public domain"),
    ("chelsea.png", "animals/chelsea.jpg", "Stefan van der Walt, via scikit-image", "CC0"),
    ("horse.png", "animals/horse.png", "Andreas Preuss (marauder), via scikit-image", "CC0"),
    ("coffee.png", "food/coffee.png", "Rachel Michetti, via scikit-image", "CC0"),
    ("camera.png", "people/camera.png", "Lav Varshney, via scikit-image", "CC0"),
    ("brick.png", "textures/brick.png", "CC0Textures (Bricks25), via scikit-image", "CC0"),
    ("grass.png", "textures/grass.jpg", "CC0Textures, via scikit-image", "CC0"),
    ("gravel.png", "textures/gravel.png", "CC0Textures (Gravel04), via scikit-image", "CC0"),
    ("cell.png", "science/cell.png", "via scikit-image", "CC0"),
    ("retina.jpg", "science/retina.jpg", "Häggström, Mikael (2014), via scikit-image", "CC0"),
    ("microaneurysms.png", "science/microaneurysms.png", "Andreas Maier, via scikit-image", "CC0"),
    ("clock_motion.png", "misc/clock_motion.png", "Stefan van der Walt, via scikit-image", "public domain"),
    ("text.png", "misc/text.png", "via scikit-image", "public domain"),
    ("coins.png", "misc/COINS.PNG", "Brooklyn Museum via Flickr Commons, via scikit-image", "no known copyright restrictions"),
    ("ihc.png", "science/ihc.png", "via scikit-image (immunohistochemistry)", "no known copyright restrictions"),
]


def fetch_wheel(dest: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "scikit-image==0.26.0", "-d", str(dest)], check=True)
    return Path(glob.glob(str(dest / "scikit_image-*.whl"))[0])


def save(img: Image.Image, path: Path, **kw) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.thumbnail((800, 800), Image.Resampling.LANCZOS)
    fmt = {".jpg": "JPEG", ".png": "PNG", ".webp": "WEBP"}[path.suffix.lower()]
    if fmt == "JPEG" and img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    if fmt == "JPEG":
        kw.setdefault("quality", 90)
    img.save(path, fmt, **kw)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--wheel", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(Path(tmp))
        zf = zipfile.ZipFile(wheel)
        if OUT.exists():
            shutil.rmtree(OUT)
        credits = ["# Sample photos", "", "From scikit-image 0.26.0's bundled data (`skimage/data`), licences as stated in",
                   "`skimage/data/_fetchers.py`. Scaled to at most 800 px by `scripts/make_sample_data.py`.", "",
                   "| file | source | licence |", "| --- | --- | --- |"]
        for src, dst, who, lic in PHOTOS:
            img = Image.open(io.BytesIO(zf.read(f"skimage/data/{src}")))
            img.load()
            save(img, OUT / dst)
            credits.append(f"| {dst} | {who} | {lic} |")

        chelsea = Image.open(io.BytesIO(zf.read("skimage/data/chelsea.png"))).convert("RGB")
        # Stored rotated a quarter turn counter-clockwise; EXIF orientation 6 says
        # "rotate 90° clockwise to display": a viewer (and scry) shows the cat upright.
        sideways = chelsea.transpose(Image.Transpose.ROTATE_90)
        exif = Image.Exif()
        exif[0x0112] = 6
        exif[0x010F] = "scry"  # Make
        exif[0x0110] = "Sample Camera"  # Model
        exif[0x9003] = "2019:07:14 18:30:00"  # DateTimeOriginal lives in the Exif IFD
        exif.get_ifd(0x8769)[0x9003] = "2019:07:14 18:30:00"
        save(sideways, OUT / "animals/chelsea-sideways.jpg", exif=exif.tobytes())
        credits.append("| animals/chelsea-sideways.jpg | chelsea.png stored rotated, EXIF orientation 6 | CC0 |")

        # Awkward files for the crawler.
        save(Image.open(io.BytesIO(zf.read("skimage/data/coffee.png"))).convert("RGB"), OUT / "food/coffee-copy.jpg")
        (OUT / "food/coffee-copy.jpg").rename(OUT / "food/really-a-jpeg.png")
        credits.append("| food/really-a-jpeg.png | coffee.png saved as JPEG under a .png name | CC0 |")
        save(Image.open(io.BytesIO(zf.read("skimage/data/brick.png"))), OUT / ".hidden/brick-hidden.png")
        credits.append("| .hidden/brick-hidden.png | brick.png in a hidden folder (skipped by default) | CC0 |")
        (OUT / "notes.txt").write_text("Not an image: the crawler must skip this file.\n")
        credits += ["", "`notes.txt` is not an image. `misc/COINS.PNG` has an upper-case extension.", ""]
        (OUT / "CREDITS.md").write_text("\n".join(credits))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
