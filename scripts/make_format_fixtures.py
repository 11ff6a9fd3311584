#!/usr/bin/env python3
"""Make the format fixtures: HEIC, AVIF, JPEG XL and camera RAW files built from
the sample photos, each decoded by the reference pipeline, with golden embeddings
from transformers on the tiny fixture model.

CI never runs this: it uses the committed output under tests/fixtures/formats/.

    python3 -m venv .venv && .venv/bin/pip install --no-deps -r scripts/requirements-fixtures.txt
    .venv/bin/pip install pillow-heif==1.8.1 rawpy==0.28.0
    apt install libjxl-tools          # cjxl and djxl, libjxl's own encoder and decoder
    .venv/bin/python scripts/make_format_fixtures.py

The reference decoders, one per family:
  HEIC          Pillow + pillow-heif (its bundled libheif)
  AVIF          Pillow's own AVIF plugin (libavif)
  JPEG XL       djxl (libjxl) to PNG, read by Pillow
  camera RAW    rawpy's extract_thumb() (LibRaw) where LibRaw opens our container,
                else the embedded JPEG as written; Pillow decodes the JPEG, then
                ImageOps.exif_transpose, then the RAW's own orientation
Everything is then made RGB (alpha over white) and embedded with
CLIPImageProcessorPil + CLIPModel, exactly as scripts/make_fixtures.py does.

RAW containers are written to their published layouts (TIFF/EP and DNG 1.4 IFDs;
Canon's CR2 header; Panasonic's RW2 JpgFromRaw tag; Olympus's maker note; Canon's
CR3 ISO media boxes; Fuji's RAF header) with a JPEG preview and a small fake
sensor strip. Which of them LibRaw accepted is recorded in formats.json.
"""
from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pillow_heif
import rawpy
import torch
from PIL import Image, ImageOps
from transformers import CLIPModel
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "formats"
pillow_heif.register_heif_opener()


def sample(rel: str, short: int = 240) -> Image.Image:
    img = Image.open(ROOT / "sample_data" / rel)
    img = ImageOps.exif_transpose(img)
    w, h = img.size
    s = short / min(w, h)
    return img.convert("RGBA" if img.mode in ("RGBA", "LA", "P") else "RGB").resize(
        (round(w * s), round(h * s)), Image.LANCZOS)


def jpeg_bytes(img: Image.Image, exif: Image.Exif | None = None, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    kw = {"quality": quality}
    if exif is not None:
        kw["exif"] = exif.tobytes()
    img.convert("RGB").save(buf, "JPEG", **kw)
    return buf.getvalue()


def to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


# --- TIFF writing -------------------------------------------------------------

SHORT, LONG, ASCII, UNDEF, RATIONAL, SRATIONAL, IFDT = 3, 4, 2, 7, 5, 10, 13


class Blob:
    """Bytes placed after the IFDs; entries may point at them."""

    def __init__(self, data: bytes):
        self.data = data


class Ifd:
    def __init__(self, entries: list, next_ifd: "Ifd | None" = None):
        self.entries = entries  # (tag, type, value)
        self.next_ifd = next_ifd


def tiff(ifd0: Ifd, le: bool = True, magic: int = 42, extra_header: bytes = b"",
         blobs: list[Blob] = (), patch=None) -> bytes:
    """Lays out IFDs (reachable from ifd0 by next / IFD-typed entries) and blobs.

    An entry value may be: a list of ints, a str (ASCII), bytes (UNDEFINED),
    a list of (num, den) (RATIONAL), ('off', Blob), ('len', Blob), or a list of
    Ifd (their offsets)."""
    e = "<" if le else ">"
    ifds: list[Ifd] = []

    def collect(i: Ifd):
        if i in ifds:
            return
        ifds.append(i)
        for _, _, v in i.entries:
            if isinstance(v, list) and v and isinstance(v[0], Ifd):
                for sub in v:
                    collect(sub)
        if i.next_ifd:
            collect(i.next_ifd)

    collect(ifd0)
    all_blobs = list(blobs)
    for i in ifds:
        for _, _, v in i.entries:
            if isinstance(v, tuple) and v[1] not in all_blobs:
                all_blobs.append(v[1])

    def value_bytes(typ, v, offsets) -> bytes:
        if isinstance(v, tuple):
            kind, blob = v
            n = offsets[id(blob)] if kind == "off" else len(blob.data)
            return struct.pack(e + "I", n)
        if isinstance(v, list) and v and isinstance(v[0], Ifd):
            return b"".join(struct.pack(e + "I", offsets[id(x)]) for x in v)
        if typ == ASCII:
            return v.encode() + b"\0"
        if typ == UNDEF:
            return v
        if typ == SHORT:
            return b"".join(struct.pack(e + "H", x) for x in v)
        if typ in (LONG, IFDT):
            return b"".join(struct.pack(e + "I", x) for x in v)
        if typ in (RATIONAL, SRATIONAL):
            f = "I" if typ == RATIONAL else "i"
            return b"".join(struct.pack(e + f + f, n, d) for n, d in v)
        raise ValueError(typ)

    def count_of(typ, v) -> int:
        if isinstance(v, tuple):
            return 1
        if isinstance(v, list) and v and isinstance(v[0], Ifd):
            return len(v)
        if typ == ASCII:
            return len(v) + 1
        if typ == UNDEF:
            return len(v)
        return len(v)

    dummy = {id(x): 0 for x in ifds + all_blobs}
    offsets: dict[int, int] = {}
    pos = 8 + len(extra_header)
    for i in ifds:
        offsets[id(i)] = pos
        n = len(i.entries)
        pos += 2 + 12 * n + 4
        for tag, typ, v in i.entries:
            vb = value_bytes(typ, v, dummy)
            if len(vb) > 4:
                pos += len(vb) + (len(vb) & 1)
    for b in all_blobs:
        offsets[id(b)] = pos
        pos += len(b.data) + (len(b.data) & 1)

    out = bytearray()
    out += (b"II" if le else b"MM") + struct.pack(e + "H", magic) + struct.pack(e + "I", offsets[id(ifd0)])
    out += extra_header
    for i in ifds:
        assert len(out) == offsets[id(i)]
        entries = sorted(i.entries, key=lambda t: t[0])
        n = len(entries)
        out += struct.pack(e + "H", n)
        tail_at = offsets[id(i)] + 2 + 12 * n + 4
        tail = bytearray()
        for tag, typ, v in entries:
            vb = value_bytes(typ, v, offsets)
            t = LONG if typ == IFDT and False else typ
            out += struct.pack(e + "HHI", tag, t, count_of(typ, v))
            if len(vb) <= 4:
                out += vb.ljust(4, b"\0")
            else:
                out += struct.pack(e + "I", tail_at + len(tail))
                tail += vb + (b"\0" if len(vb) & 1 else b"")
        out += struct.pack(e + "I", offsets[id(i.next_ifd)] if i.next_ifd else 0)
        out += tail
    for b in all_blobs:
        assert len(out) == offsets[id(b)]
        out += b.data + (b"\0" if len(b.data) & 1 else b"")
    if patch:
        patch(out, offsets)
    return bytes(out)


def sensor_ifd(make_compression: int = 1, w: int = 64, h: int = 48, extra=()) -> Ifd:
    data = Blob(bytes(np.random.default_rng(7).integers(0, 4096, w * h, dtype=np.uint16).tobytes()))
    return Ifd([
        (0xFE, LONG, [0]),
        (0x100, LONG, [w]), (0x101, LONG, [h]),
        (0x102, SHORT, [16]), (0x103, SHORT, [make_compression]),
        (0x106, SHORT, [32803]),
        (0x111, LONG, ("off", data)), (0x115, SHORT, [1]), (0x116, LONG, [h]),
        (0x117, LONG, ("len", data)),
        (0x828D, SHORT, [2, 2]), (0x828E, UNDEF, bytes([0, 1, 1, 2])),
        *extra,
    ])


def camera_ifd0(make: str, model: str, orientation: int, extra=()) -> list:
    return [(0x10F, ASCII, make), (0x110, ASCII, model), (0x112, SHORT, [orientation]),
            (0x132, ASCII, "2024:06:01 10:11:12"), *extra]


def thumbnail(img: Image.Image, size: int = 80) -> bytes:
    t = img.copy()
    t.thumbnail((size, size))
    return jpeg_bytes(t, quality=75)


def make_dng(preview: bytes, small: bytes, orientation: int) -> bytes:
    raw = sensor_ifd(extra=[(0xC61D, LONG, [4095]), (0xC61A, SHORT, [0])])
    prev = Blob(preview)
    preview_ifd = Ifd([(0xFE, LONG, [1]), (0x100, LONG, [Image.open(io.BytesIO(preview)).width]),
                       (0x101, LONG, [Image.open(io.BytesIO(preview)).height]),
                       (0x102, SHORT, [8, 8, 8]), (0x103, SHORT, [7]), (0x106, SHORT, [6]),
                       (0x111, LONG, ("off", prev)), (0x115, SHORT, [3]),
                       (0x116, LONG, [Image.open(io.BytesIO(preview)).height]), (0x117, LONG, ("len", prev))])
    sb = Blob(small)
    ifd0 = Ifd(camera_ifd0("Canon", "Canon EOS 5D Mark IV", orientation, [
        (0xFE, LONG, [1]), (0x100, LONG, [80]), (0x101, LONG, [53]), (0x103, SHORT, [7]),
        (0x106, SHORT, [6]), (0x111, LONG, ("off", sb)), (0x117, LONG, ("len", sb)),
        (0x14A, LONG, [raw, preview_ifd]),
        (0xC612, UNDEF, bytes([1, 4, 0, 0])), (0xC613, UNDEF, bytes([1, 1, 0, 0])),
        (0xC614, ASCII, "Canon EOS 5D Mark IV"),
        (0xC621, SRATIONAL, [(1, 1), (0, 1), (0, 1), (0, 1), (1, 1), (0, 1), (0, 1), (0, 1), (1, 1)]),
        (0xC628, RATIONAL, [(1, 1), (1, 1), (1, 1)]),
    ]))
    return tiff(ifd0)


def make_tiff_raw(kind: str, preview: bytes, small: bytes, orientation: int) -> bytes:
    prev, sb = Blob(preview), Blob(small)
    if kind == "nef":
        # Nikon: a JpgFromRaw SubIFD (JPEGInterchangeFormat), the raw in another.
        jpg_ifd = Ifd([(0xFE, LONG, [1]), (0x103, SHORT, [6]), (0x201, LONG, ("off", prev)),
                       (0x202, LONG, ("len", prev))])
        raw = sensor_ifd(34713)
        ifd0 = Ifd(camera_ifd0("NIKON CORPORATION", "NIKON D850", orientation, [
            (0xFE, LONG, [1]), (0x103, SHORT, [1]), (0x14A, LONG, [jpg_ifd, raw])]))
        return tiff(ifd0, le=False)
    if kind == "arw":
        # Sony: IFD0 is the preview (JPEG), the raw is in a SubIFD; IFD1 a thumbnail.
        ifd1 = Ifd([(0x103, SHORT, [6]), (0x201, LONG, ("off", sb)), (0x202, LONG, ("len", sb))])
        raw = sensor_ifd(32767)
        ifd0 = Ifd(camera_ifd0("SONY", "ILCE-7M3", orientation, [
            (0xFE, LONG, [1]), (0x103, SHORT, [6]), (0x201, LONG, ("off", prev)),
            (0x202, LONG, ("len", prev)), (0x14A, LONG, [raw])]), next_ifd=ifd1)
        return tiff(ifd0)
    if kind == "pef":
        raw = sensor_ifd(65535)
        ifd0 = Ifd(camera_ifd0("PENTAX", "PENTAX K-1", orientation, [
            (0x103, SHORT, [65535]), (0x106, SHORT, [32803]), (0x201, LONG, ("off", prev)),
            (0x202, LONG, ("len", prev)), (0x14A, LONG, [raw])]))
        return tiff(ifd0, le=False)
    if kind == "cr2":
        # Canon CR2: "CR" 2.0 and the raw IFD offset after the TIFF header; IFD0
        # holds the full-size JPEG as a strip, IFD1 a thumbnail, IFD3 the raw.
        raw = sensor_ifd(6)
        ifd1 = Ifd([(0x103, SHORT, [6]), (0x201, LONG, ("off", sb)), (0x202, LONG, ("len", sb))],
                   next_ifd=Ifd([(0x103, SHORT, [1]), (0x100, LONG, [16]), (0x101, LONG, [16])], next_ifd=raw))
        ifd0 = Ifd(camera_ifd0("Canon", "Canon EOS 5D Mark IV", orientation, [
            (0x100, LONG, [Image.open(io.BytesIO(preview)).width]),
            (0x101, LONG, [Image.open(io.BytesIO(preview)).height]),
            (0x103, SHORT, [6]), (0x111, LONG, ("off", prev)), (0x117, LONG, ("len", prev))]),
            next_ifd=ifd1)

        def patch(out, offsets):
            out[12:16] = struct.pack("<I", offsets[id(raw)])
        return tiff(ifd0, extra_header=b"CR\x02\x00\0\0\0\0", patch=patch)
    if kind == "rw2":
        raw_blob = Blob(bytes(64 * 48 * 2))
        ifd0 = Ifd([(0x01, UNDEF, b"0310"), (0x02, SHORT, [64]), (0x03, SHORT, [48]),
                    (0x2E, UNDEF, preview), (0x10F, ASCII, "Panasonic"), (0x110, ASCII, "DC-GH5"),
                    (0x112, SHORT, [orientation]), (0x111, LONG, ("off", raw_blob)),
                    (0x117, LONG, ("len", raw_blob))])
        return tiff(ifd0, magic=0x55)
    if kind == "orf":
        # Olympus: the preview sits in the maker note's CameraSettings sub-IFD,
        # offsets counted from the start of the note.
        settings_at = 12 + 2 + 12 * 1 + 4
        jpeg_at = settings_at + 2 + 12 * 3 + 4
        note = bytearray(b"OLYMPUS\0II\x03\x00")
        note += struct.pack("<H", 1) + struct.pack("<HHII", 0x2020, IFDT, 1, settings_at) + struct.pack("<I", 0)
        note += struct.pack("<H", 3)
        note += struct.pack("<HHII", 0x100, LONG, 1, 1)
        note += struct.pack("<HHII", 0x101, LONG, 1, jpeg_at)
        note += struct.pack("<HHII", 0x102, LONG, 1, len(preview))
        note += struct.pack("<I", 0)
        assert len(note) == jpeg_at
        note += preview
        exif = Ifd([(0x927C, UNDEF, bytes(note))])
        raw = sensor_ifd()
        ifd0 = Ifd(camera_ifd0("OLYMPUS CORPORATION", "E-M1MarkII", orientation, [
            (0x8769, LONG, [exif]), (0x14A, LONG, [raw])]))
        # The maker note's offsets are relative to itself: it may sit anywhere.
        return tiff(ifd0, magic=0x4F52)
    raise ValueError(kind)


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def make_cr3(preview: bytes, full: bytes, small: bytes, orientation: int) -> bytes:
    cmt1 = tiff(Ifd(camera_ifd0("Canon", "Canon EOS R", orientation)))
    thmb = box(b"THMB", struct.pack(">IHHIHH", 0, 80, 53, len(small), 1, 0) + small)
    meta_uuid = bytes.fromhex("85c0b687820f11e08111f4ce462b6a48")
    moov_uuid = box(b"uuid", meta_uuid + box(b"CNCV", b"CanonCR3_001/00.09.00/00.00.00")
                    + box(b"CMT1", cmt1) + thmb)
    fw, fh = Image.open(io.BytesIO(full)).size

    def trak(offset: int) -> bytes:
        craw = box(b"CRAW", bytes(6) + struct.pack(">H", 1) + bytes(16) + struct.pack(">HH", fw, fh) + bytes(50))
        stsd = box(b"stsd", struct.pack(">II", 0, 1) + craw)
        stsz = box(b"stsz", struct.pack(">III", 0, len(full), 1))
        co64 = box(b"co64", struct.pack(">IIQ", 0, 1, offset))
        stbl = box(b"stbl", stsd + stsz + co64)
        return box(b"trak", box(b"mdia", box(b"minf", stbl)))

    ftyp = box(b"ftyp", b"crx " + struct.pack(">I", 1) + b"crx isom")
    pw, ph = Image.open(io.BytesIO(preview)).size
    prvw = box(b"PRVW", struct.pack(">IHHHHI", 0, 1, pw, ph, 1, len(preview)) + preview)
    prev_uuid = box(b"uuid", bytes.fromhex("eaf42b5e1c984b88b9fbb7dc406e4d16") + bytes(8) + prvw)
    # Lay out twice: the track's offset depends on the boxes before mdat.
    moov = box(b"moov", moov_uuid + trak(0))
    head = ftyp + moov + prev_uuid
    mdat_at = len(head) + 8
    moov = box(b"moov", moov_uuid + trak(mdat_at))
    head = ftyp + moov + prev_uuid
    assert len(head) + 8 == mdat_at
    return head + box(b"mdat", full)


def make_raf(jpeg_with_exif: bytes) -> bytes:
    header = bytearray(b"FUJIFILMCCD-RAW 0201FF383501")
    header += b"X-T3".ljust(32, b"\0") + b"0100" + bytes(20)
    assert len(header) == 84
    cfa = bytes(64 * 48 * 2)
    jpeg_at = 160
    header += struct.pack(">II", jpeg_at, len(jpeg_with_exif))
    cfa_at = jpeg_at + len(jpeg_with_exif)
    header += struct.pack(">IIII", cfa_at, 0, cfa_at, len(cfa))
    header = header.ljust(jpeg_at, b"\0")
    return bytes(header) + jpeg_with_exif + cfa


# --- Reference decoding ---------------------------------------------------------

FLIP = {0: 1, 3: 3, 5: 8, 6: 6}  # LibRaw's flip → EXIF orientation


def orient(img: Image.Image, orientation: int) -> Image.Image:
    method = {2: Image.FLIP_LEFT_RIGHT, 3: Image.ROTATE_180, 4: Image.FLIP_TOP_BOTTOM,
              5: Image.TRANSPOSE, 6: Image.ROTATE_270, 7: Image.TRANSVERSE, 8: Image.ROTATE_90}
    return img.transpose(method[orientation]) if orientation in method else img


def reference_raw(path: Path, written_preview: bytes, orientation: int) -> tuple[Image.Image, str]:
    try:
        with rawpy.imread(str(path)) as raw:
            thumb = raw.extract_thumb()
            flip = raw.sizes.flip
        assert thumb.format == rawpy.ThumbFormat.JPEG, thumb.format
        data, by = bytes(thumb.data), "rawpy"
        orientation = FLIP.get(flip, orientation) if flip else orientation
    except Exception as e:  # LibRaw did not open our container
        data, by = written_preview, f"embedded (LibRaw: {type(e).__name__})"
    img = Image.open(io.BytesIO(data))
    own = img.getexif().get(0x0112, 1)
    img = ImageOps.exif_transpose(img)
    if own == 1:
        img = orient(img, orientation)
    return img, by


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ref").mkdir(exist_ok=True)
    entries = []

    def add(name: str, data: bytes, reference: Image.Image, by: str, twin: str | None = None):
        (OUT / name).write_bytes(data)
        ref = to_rgb(reference)
        ref.save(OUT / "ref" / (name + ".png"))
        entries.append({"file": name, "reference_png": f"ref/{name}.png", "reference": by,
                        "width": ref.width, "height": ref.height, "upright_twin": twin})
        print(f"{name}: {len(data)} bytes, {ref.width}x{ref.height}, reference {by}")

    chelsea = sample("animals/chelsea.jpg")
    coffee = sample("food/coffee.png")
    rocket = sample("space/rocket.jpg")
    alpha = Image.open(ROOT / "tests/fixtures/images/alpha-517x301.png").convert("RGBA")
    sideways_exif = Image.Exif()
    sideways_exif[0x0112] = 6
    sideways = chelsea.transpose(Image.ROTATE_90)  # stored turned; orientation 6 turns it back

    # HEIC: 8-bit, 10-bit, alpha, and stored sideways (irot from the orientation).
    with tempfile.TemporaryDirectory() as tmp:
        def heic(name, img):
            p = Path(tmp) / name
            img.save(p, format="HEIF", quality=90)
            add(name, p.read_bytes(), Image.open(p), f"pillow-heif {pillow_heif.__version__}")

        heic("chelsea.heic", chelsea)
        heic("alpha.heic", alpha)
        sw = sideways.copy()
        p = Path(tmp) / "chelsea-sideways.heic"
        sw.save(p, format="HEIF", quality=90, exif=sideways_exif.tobytes())
        add("chelsea-sideways.heic", p.read_bytes(), Image.open(p), f"pillow-heif {pillow_heif.__version__}",
            "chelsea.heic")
        # 10-bit: pillow-heif writes 16-bit input as 10-bit HEVC.
        arr16 = (np.asarray(rocket.convert("RGB"), dtype=np.uint16) * 257)
        hf = pillow_heif.from_bytes(mode="RGB;16", size=rocket.size, data=arr16.tobytes())
        p = Path(tmp) / "rocket-10bit.heic"
        hf.save(p, quality=90)
        add("rocket-10bit.heic", p.read_bytes(), Image.open(p), f"pillow-heif {pillow_heif.__version__}")

        # AVIF through Pillow's own plugin.
        p = Path(tmp) / "coffee.avif"
        coffee.convert("RGB").save(p, format="AVIF", quality=80)
        add("coffee.avif", p.read_bytes(), Image.open(p), "Pillow AVIF (libavif)")

        # JPEG XL: libjxl's cjxl, lossy and lossless; djxl is the reference.
        for name, img, args in [("rocket.jxl", rocket, ["-d", "1.0"]),
                                ("coffee-lossless.jxl", coffee, ["-d", "0"])]:
            src = Path(tmp) / (name + ".png")
            img.convert("RGB").save(src)
            dst = Path(tmp) / name
            subprocess.run(["cjxl", str(src), str(dst), *args], check=True, capture_output=True)
            back = Path(tmp) / (name + ".out.png")
            subprocess.run(["djxl", str(dst), str(back)], check=True, capture_output=True)
            add(name, dst.read_bytes(), Image.open(back), "djxl (libjxl 0.7)")

        # Camera RAW: one file per container, a preview of the sample inside.
        small = thumbnail(chelsea)
        upright = jpeg_bytes(chelsea)
        turned = jpeg_bytes(sideways)
        raws = [
            ("chelsea.dng", lambda: make_dng(upright, small, 1), upright, 1, None),
            ("chelsea.cr2", lambda: make_tiff_raw("cr2", upright, small, 1), upright, 1, None),
            ("chelsea.nef", lambda: make_tiff_raw("nef", upright, small, 1), upright, 1, None),
            ("chelsea-sideways.nef", lambda: make_tiff_raw("nef", turned, small, 6), turned, 6, "chelsea.nef"),
            ("chelsea.arw", lambda: make_tiff_raw("arw", upright, small, 1), upright, 1, None),
            ("chelsea.pef", lambda: make_tiff_raw("pef", upright, small, 1), upright, 1, None),
            ("chelsea.orf", lambda: make_tiff_raw("orf", upright, small, 1), upright, 1, None),
            ("chelsea.rw2", lambda: make_tiff_raw("rw2", upright, small, 1), upright, 1, None),
            ("chelsea-sideways.cr3", lambda: make_cr3(small, turned, small, 6), turned, 6, "chelsea.nef"),
            ("chelsea-sideways.raf", lambda: make_raf(jpeg_bytes(sideways, sideways_exif)),
             jpeg_bytes(sideways, sideways_exif), 1, "chelsea.nef"),
        ]
        for name, build, written, orientation, twin in raws:
            data = build()
            p = Path(tmp) / name
            p.write_bytes(data)
            ref, by = reference_raw(p, written, orientation)
            add(name, data, ref, by, twin)

    # Golden embeddings from the reference pixels, as make_fixtures.py computes them.
    model = CLIPModel.from_pretrained(ROOT / "tests/fixtures/tiny-clip", torch_dtype=torch.float32).eval()
    processor = CLIPImageProcessorPil()
    with torch.no_grad():
        for e in entries:
            img = Image.open(OUT / e["reference_png"]).convert("RGB")
            pixels = processor(images=img, return_tensors="pt")["pixel_values"]
            e["features"] = model.get_image_features(pixel_values=pixels).pooler_output[0].tolist()
    (OUT / "formats.json").write_text(json.dumps({"entries": entries}, indent=1))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
