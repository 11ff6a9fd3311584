#!/usr/bin/env python3
"""Builds tests/fixtures/places/: small JPEGs carrying EXIF GPS positions.

Twenty cities, each photographed (as far as EXIF knows) at the position the
gazetteer (data/places.tsv.gz) gives the city, plus three more: one 6 km from
Lisbon's centre (Belém), one 32 km away (Setúbal) and one with no position.
Files are named like a camera's (IMG_0001.jpg …), so a match on a city's name
can only come from the place scry reads, never from the file name.
manifest.json lists file → city, latitude, longitude.

    pip install pillow==13.0.0
    python3 scripts/make_place_fixtures.py

Pixels: sample_data photos, cropped square and scaled to 96 px, mirrored the
second time a photo is used (their licences are in sample_data/CREDITS.md).
"""
import gzip, json, os
from fractions import Fraction
from PIL import Image, ExifTags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests/fixtures/places")
CITIES = ["Lisbon", "Paris", "London", "New York City", "Tokyo", "Sydney", "Cairo",
          "Rio de Janeiro", "Moscow", "Beijing", "Mumbai", "Cape Town", "Mexico City",
          "Toronto", "Berlin", "Rome", "Istanbul", "Buenos Aires", "Seoul", "Nairobi"]
EXTRA = [("Belém", 38.6975, -9.2063), ("Setúbal", 38.5244, -8.8882), (None, None, None)]


def gazetteer():
    best = {}
    with gzip.open(os.path.join(ROOT, "data/places.tsv.gz"), "rt") as f:
        for line in f:
            lat, lon, pop, cc, region, name, _ = line.rstrip("\n").split("\t")
            if name in CITIES and int(pop) > best.get(name, (0,))[0]:
                best[name] = (int(pop), float(lat), float(lon))
    return best


def dms(x):
    x = abs(x)
    d = int(x)
    m = int((x - d) * 60)
    s = Fraction(round(((x - d) * 60 - m) * 60 * 10000), 10000)
    return (Fraction(d), Fraction(m), s)


def sources():
    out = []
    for d, _, files in sorted(os.walk(os.path.join(ROOT, "sample_data"))):
        for f in sorted(files):
            if f.lower().endswith((".jpg", ".png", ".webp")) and "sideways" not in f:
                out.append(os.path.join(d, f))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    g = gazetteer()
    rows = [(c, g[c][1], g[c][2]) for c in CITIES] + EXTRA
    src = sources()
    manifest = []
    for i, (city, lat, lon) in enumerate(rows):
        im = Image.open(src[i % len(src)]).convert("RGB")
        s = min(im.size)
        im = im.crop((0, 0, s, s)).resize((96, 96), Image.LANCZOS)
        if i >= len(src):
            # A second use of a source is mirrored: no two fixtures alike.
            im = im.transpose(Image.FLIP_LEFT_RIGHT)
        exif = Image.Exif()
        exif[ExifTags.Base.Make] = "scry"
        exif[ExifTags.Base.Model] = "fixture"
        if lat is not None:
            gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
            gps[ExifTags.GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
            gps[ExifTags.GPS.GPSLatitude] = dms(lat)
            gps[ExifTags.GPS.GPSLongitudeRef] = "E" if lon >= 0 else "W"
            gps[ExifTags.GPS.GPSLongitude] = dms(lon)
        name = f"IMG_{i + 1:04d}.jpg"
        im.save(os.path.join(OUT, name), "JPEG", quality=85, exif=exif)
        manifest.append({"file": name, "city": city, "lat": lat, "lon": lon})
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
