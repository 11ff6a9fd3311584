#!/usr/bin/env python3
"""Makes tests/fixtures/ocr: images with text in them, for the OCR tests.

36 images of the kinds people photograph or save: screenshots, receipts, signs
in photos, slightly rotated text and small text. Each carries words found in no
other image (made-up words and codes, so a search for one has exactly one right
answer) beside ordinary ones. `manifest.json` lists, per file, its kind and the
words a test searches for.

Needs Pillow and the DejaVu fonts (Debian: fonts-dejavu-core). The background
photos come from sample_data (their licences are in sample_data/CREDITS.md).
The output is committed; the tests never run this script.

    python3 scripts/make_ocr_fixtures.py
"""

import json
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "ocr"
FONTS = Path("/usr/share/fonts/truetype/dejavu")

rng = random.Random(17)

SYLLABLES = ["zor", "blat", "quin", "vex", "mar", "tol", "drun", "kel", "pry", "sab",
             "lom", "gri", "tav", "fen", "wox", "hul", "nib", "ras", "jet", "cor"]
used = set()


def made_up_word():
    while True:
        w = "".join(rng.choice(SYLLABLES) for _ in range(3))
        if w not in used:
            used.add(w)
            return w


def code():
    while True:
        c = f"{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}{rng.randint(10, 99)}{rng.randint(100, 999)}"
        if c not in used:
            used.add(c)
            return c


def font(name, size):
    return ImageFont.truetype(str(FONTS / name), size)


COMMON = ["invoice", "total", "meeting", "gate", "coffee", "ticket", "order",
          "welcome", "station", "street", "open", "price", "date", "account"]


def screenshot(i):
    """A settings-like window: a title, label/value rows, a button."""
    w, h = 900, 620
    img = Image.new("RGB", (w, h), (246, 246, 248))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, w, 48], fill=(52, 58, 70))
    title = made_up_word().capitalize()
    d.text((20, 12), f"{title} settings", font=font("DejaVuSans-Bold.ttf", 22), fill="white")
    words = [title.lower()]
    y = 80
    body = font("DejaVuSans.ttf", rng.choice([17, 18, 20]))
    for _ in range(7):
        label = rng.choice(COMMON).capitalize()
        value = made_up_word() if rng.random() < 0.5 else code()
        d.text((30, y), f"{label}:", font=body, fill=(40, 40, 40))
        d.text((260, y), value, font=body, fill=(20, 60, 160))
        if len(words) < 3:
            words.append(value.lower())
        y += 62
    d.rounded_rectangle([w - 200, h - 70, w - 30, h - 25], 8, fill=(30, 110, 220))
    d.text((w - 170, h - 62), "Save", font=font("DejaVuSans-Bold.ttf", 22), fill="white")
    return img, words, "png"


def receipt(i):
    """A till receipt photographed on a table: monospace, slightly turned."""
    pw, ph = 420, 760
    paper = Image.new("RGB", (pw, ph), (250, 248, 240))
    d = ImageDraw.Draw(paper)
    mono = font("DejaVuSansMono.ttf", 19)
    shop = made_up_word().upper()
    d.text((40, 30), f"{shop} MARKET", font=font("DejaVuSansMono-Bold.ttf", 26), fill=(20, 20, 20))
    words = [shop.lower()]
    y = 100
    total = 0.0
    for _ in range(8):
        item = made_up_word()
        price = rng.randint(100, 2999) / 100
        total += price
        d.text((30, y), f"{item:<16}{price:>8.2f}", font=mono, fill=(30, 30, 30))
        if len(words) < 3:
            words.append(item)
        y += 44
    d.text((30, y + 20), f"{'TOTAL':<16}{total:>8.2f}", font=font("DejaVuSansMono-Bold.ttf", 20), fill="black")
    inv = code()
    d.text((30, y + 80), f"INVOICE {inv}", font=mono, fill=(30, 30, 30))
    words.append(inv.lower())
    angle = rng.uniform(-4, 4)
    paper = paper.rotate(angle, expand=True, fillcolor=(120, 90, 60), resample=Image.BICUBIC)
    table = Image.new("RGB", (paper.width + 160, paper.height + 120), (120, 90, 60))
    table.paste(paper, (80, 60))
    return table, words, "jpeg"


BACKGROUNDS = ["animals/horse.png", "food/coffee.png", "space/rocket.jpg", "textures/brick.png",
               "textures/grass.jpg", "animals/chelsea.jpg", "people/camera.png", "textures/gravel.png"]


def sign(i):
    """A sign in a photo: a board with two lines of large text over a sample photo."""
    bg = Image.open(ROOT / "sample_data" / BACKGROUNDS[i % len(BACKGROUNDS)]).convert("RGB")
    scale = 1000 / max(bg.size)
    bg = bg.resize((round(bg.width * scale), round(bg.height * scale)), Image.BICUBIC)
    d = ImageDraw.Draw(bg)
    big = font("DejaVuSans-Bold.ttf", rng.choice([40, 46, 52]))
    first = made_up_word().upper()
    second = f"GATE {code()}" if i % 2 == 0 else f"{made_up_word().upper()} STREET"
    tw = max(d.textlength(first, font=big), d.textlength(second, font=big))
    x0, y0 = rng.randint(20, max(21, bg.width - int(tw) - 80)), rng.randint(20, max(21, bg.height - 200))
    colour = rng.choice([(0, 90, 50), (20, 40, 120), (250, 250, 250), (200, 30, 30)])
    ink = (0, 0, 0) if colour == (250, 250, 250) else (255, 255, 255)
    d.rectangle([x0, y0, x0 + tw + 50, y0 + 150], fill=colour)
    d.text((x0 + 25, y0 + 15), first, font=big, fill=ink)
    d.text((x0 + 25, y0 + 80), second, font=big, fill=ink)
    # The made-up word or the code of the second line (never STREET or GATE,
    # which other images hold too).
    words = [first.lower(), (second.split()[1] if second.startswith("GATE") else second.split()[0]).lower()]
    return bg, words, "jpeg"


def rotated(i):
    """A printed page turned by 6-12 degrees, as a quick phone photo of it."""
    page = Image.new("RGB", (900, 640), (255, 255, 255))
    d = ImageDraw.Draw(page)
    body = font("DejaVuSerif.ttf", 26)
    words = []
    y = 50
    for _ in range(6):
        a, b = made_up_word(), rng.choice(COMMON)
        d.text((50, y), f"The {b} of {a} is due on Monday", font=body, fill=(10, 10, 10))
        if len(words) < 3:
            words.append(a)
        y += 90
    angle = rng.choice([-1, 1]) * rng.uniform(6, 12)
    return page.rotate(angle, expand=True, fillcolor=(255, 255, 255), resample=Image.BICUBIC), words, "png"


def small(i):
    """Small print: 12-14 pixel text, as in a screenshot of a dense page."""
    page = Image.new("RGB", (760, 520), (255, 255, 255))
    d = ImageDraw.Draw(page)
    body = font("DejaVuSans.ttf", rng.choice([12, 13, 14]))
    words = []
    y = 20
    for _ in range(20):
        a = made_up_word()
        line = f"{rng.choice(COMMON)} {a} {rng.choice(COMMON)} {rng.randint(1, 99)} {rng.choice(COMMON)}"
        d.text((20, y), line, font=body, fill=(0, 0, 0))
        if len(words) < 3 and rng.random() < 0.3:
            words.append(a)
        y += 24
    return page, words, "png"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    manifest = []
    kinds = [("screenshot", screenshot, 10), ("receipt", receipt, 8), ("sign", sign, 8),
             ("rotated", rotated, 5), ("small", small, 5)]
    n = 0
    for kind, make, count in kinds:
        for i in range(count):
            img, words, fmt = make(i)
            n += 1
            name = f"text_{n:02d}.{'png' if fmt == 'png' else 'jpg'}"
            if fmt == "png":
                img.convert("L" if kind in ("rotated", "small") else "RGB").save(OUT / name, optimize=True)
            else:
                img.save(OUT / name, quality=88)
            manifest.append({"file": name, "kind": kind, "words": words})
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{n} images, {sum(len(m['words']) for m in manifest)} words to search, in {OUT}")


if __name__ == "__main__":
    main()
