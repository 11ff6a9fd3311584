#!/usr/bin/env python3
"""Write tests/fixtures/tokenizer_corpus.json: strings a search box could receive.

The corpus drives the tokenizer parity tests: scripts/make_fixtures.py records
open_clip's token ids for each string, and the Rust text clean-up
(src/model/textclean.rs) is checked against open_clip's `_clean_lower` on it.
It deliberately over-represents what trips tokenizers up: mojibake, HTML
entities, full-width forms, control characters, special-token look-alikes and
very long input.

The output is deterministic (no randomness) and written with ensure_ascii=True,
so control characters, BOMs and odd whitespace survive any editor or diff
tool as \\u escapes. Lone surrogates are left out: they cannot round-trip
through JSON into a Rust `String`.

    python3 scripts/make_tokenizer_corpus.py            # -> tests/fixtures/tokenizer_corpus.json
    python3 scripts/make_tokenizer_corpus.py --out x.json
"""
from __future__ import annotations

import argparse
import json
import unicodedata
from pathlib import Path

PLAIN = [
    "a photo of a cat",
    "a photo of a dog",
    "dog",
    "cat sleeping on a sofa",
    "a red car parked on the street",
    "sunset over the ocean",
    "mountains with snow",
    "a bowl of ramen",
    "people walking in the rain",
    "a black and white photo of a bridge",
    "birthday cake with candles",
    "kids playing football in the park",
    "an astronaut riding a horse",
    "close-up of a bee on a flower",
    "aerial view of a city at night",
    "my dog at the beach last summer",
    "the quick brown fox jumps over the lazy dog",
    "A Photo Of A Cat",
    "A PHOTO OF A CAT",
    "aPhOtO oF a CaT",
    "beach",
    "x",
    "I",
    "a",
    "screenshot",
    "receipt from the grocery store",
    "whiteboard with diagrams",
    "pizza",
    "new york skyline",
    "Eiffel Tower at dusk",
]

PUNCTUATION = [
    "cat!",
    "cat?!",
    "what is this???",
    "dog, cat, bird",
    "dogs; cats: birds",
    "(a cat) [in a box] {on a mat}",
    "red-and-white striped shirt",
    "well-known landmark",
    "e-mail screenshot",
    "C++ code on a screen",
    "file_name_with_underscores.jpg",
    "IMG_2041.JPG",
    "path/to/some/photo.png",
    "https://example.com/photo?id=42&size=large",
    "user@example.com",
    "#sunset #beach",
    "@friend tagged photo",
    "50% off sale sign",
    "$100 bill",
    "5 * 3 = 15",
    "a ~ b ^ c | d",
    "...",
    "!!!",
    "-",
    "'",
    '"quoted"',
    "'single quoted'",
    "--dashes-- and __underscores__",
]

NUMBERS = [
    "2023",
    "photo from 2019",
    "3 dogs",
    "1000 people",
    "3.14159",
    "1,000,000",
    "10:30 pm",
    "2024-01-15",
    "room 101",
    "4k wallpaper",
    "iphone 15 pro max",
    "1st place trophy",
    "90s fashion",
    "x2 speed",
]

CONTRACTIONS = [
    "it's a dog",
    "IT'S A DOG",
    "It's",
    "don't",
    "DON'T",
    "we're at the beach",
    "WE'RE",
    "they've arrived",
    "I'm happy",
    "I'M HAPPY",
    "we'll see",
    "WE'LL",
    "he'd go",
    "HE'D",
    "the dog's ball",
    "the dogs' toys",
    "rock 'n' roll",
    "o'clock",
    "y'all'd've",
    "'s 't 're 've 'm 'll 'd",
    "'S 'T 'RE 'VE 'M 'LL 'D",
]

UNICODE = [
    "café",
    "naïve",
    "résumé",
    "piñata",
    "Zürich",
    "São Paulo",
    "Ångström",
    "crème brûlée",
    "Straße",
    "STRASSE",
    "Ærø",
    "ÉCOLE",
    "İstanbul",
    # The same words in decomposed (NFD) form: ftfy recomposes them.
    unicodedata.normalize("NFD", "café"),
    unicodedata.normalize("NFD", "crème brûlée"),
    unicodedata.normalize("NFD", "Ångström"),
    unicodedata.normalize("NFD", "한국어"),
    "e\u0301",
    "o\u0308\u0304",
    "猫",
    "一只猫在沙发上",
    "東京タワー",
    "ねこ",
    "カタカナ",
    "한국어 사진",
    "кошка",
    "Москва зимой",
    "ПРИВЕТ МИР",
    "قطة",
    "مرحبا بالعالم",
    "חתול",
    "שלום עולם",
    "แมว",
    "สวัสดีครับ",
    "बिल्ली",
    "नमस्ते दुनिया",
    "γάτα",
    "ΟΔΟΣ",
    "ΟΔΟΣ ΑΘΗΝΑΣ",
    "ΣΟΦΙΑ",
    "Σ",
    "ΑΣ.",
    "ΑΣ1",
    "Ἀθῆναι",
    "Ελληνικά",
    "Türkçe ışık",
    "Tiếng Việt",
    "ℌello ℍ",
    "x² + y² = z²",
    "½ price",
    "µ vs μ",
    "Ω ohm",
    "№ 5",
    "©2024",
    "™ brand",
    "°C",
    "…",
    "en–dash and em—dash",
    "•bullet",
    "\u00a0nbsp\u00a0",
]

EMOJI = [
    "😀",
    "cat 🐱",
    "🐶🐱🐭",
    "👍🏽",
    "👩🏾‍💻",
    "👨‍👩‍👧‍👦",
    "🏳️‍🌈",
    "🇯🇵 flag",
    "🇺🇸🇬🇧🇫🇷",
    "🏴󠁧󠁢󠁷󠁬󠁳󠁿",
    "❤️",
    "♥",
    "☕️ coffee",
    "1️⃣",
    "pizza🍕party",
]

CURLY = [
    "it’s a dog",
    "don’t",
    "‘single’",
    "“double”",
    "“It’s here,” she said",
    "„German“",
    "‹angle› «guillemets»",
    "Dog‘s",
    "ʼokina",
    "‛reversed‟",
]

ENTITIES = [
    "cats &amp; dogs",
    "&lt;b&gt;",
    "&lt;b&gt;bold&lt;/b&gt;",
    "it&#39;s",
    "it&#x27;s",
    "it&#x2019;s",
    "caf&eacute;",
    "&amp;amp;",
    "&amp;lt;tag&amp;gt;",
    "&copy 2020",
    "&copy; 2020",
    "&COPY;",
    "&quot;quoted&quot;",
    "&nbsp;space&nbsp;",
    "a&nbsp;&nbsp;b",
    "5 &lt; 6",
    "x < y &amp; z",
    "<b>bold</b> &amp; more",
    "a <end> &eacute; b",
    "P&EACUTE;REZ",
    "BUNDESSTRA&SZLIG;E",
    "&ntilde; &Ntilde; &NTILDE; &nTILDE;",
    "&notit; &not it",
    "this&not that",
    "&amp",
    "&ampersand",
    "&#128512;",
    "&#x1F600;",
    "&#0;",
    "&#1;",
    "&#128;",
    "&#x80;",
    "&#65533;",
    "&#xD800;",
    "&#1114112;",
    "&#99999999999999999999;",
    "&#59;",
    "&#12abc;",
    "&#;",
    "&#x;",
    "&unknownentity;",
    "&hellip; and &mdash;",
    "Broken text&hellip; it&#x2019;s ﬂubberiﬁc!",
    "&frac12; cup",
    "&Jscr;ohn &HilbertSpace;ancock",
    "&AMP;",
    "&amp;#39;",
    "AT&T",
    "Q&A",
    "R&D department",
    "&",
    "&&",
    "& ;",
]

FULL_WIDTH = [
    "ｃａｔ",
    "ＬＯＵＤ　ＮＯＩＳＥＳ",
    "ｄｏｇ１２３",
    "Ｕﾀｰﾝ",
    "ｶﾞｷﾞ",
    "（括弧）",
    "全角！？",
    "ＡＢＣ－ｘｙｚ",
    "\uffe5100",
]

LIGATURES = [
    "ﬁle",
    "ﬂower",
    "ﬂuﬃeﬆ",
    "ﬀ ﬄ ﬅ",
    "Ĳsselmeer",
    "ǅemal",
    "œuvre",
    "æther",
]

MOJIBAKE = [
    "cafÃ©",
    "donâ€™t",
    "Ã¼ber",
    "Ã¼ber cafÃ©",
    "schÃ¶n",
    "voilÃ  le travail",
    "Ã la mode",
    "â€œquotedâ€\x9d",
    "â€œ like this â€�",
    "â€”",
    "Ã©tÃ©",
    "SÃ£o Paulo",
    "naÃ¯ve",
    "Ã¢â‚¬â„¢",
    "The Mona Lisa doesnÃƒÂ¢Ã¢â€šÂ¬Ã¢â€žÂ¢t have eyebrows.",
    "âœ” No problems",
    "&macr;\\_(ã\x83\x84)_/&macr;",
    "Ð¿Ñ€Ð¸Ð²ÐµÑ‚",
    "Ã¤Ã¶Ã¼ Ã„Ã–Ãœ",
    "í•œêµ­ì–´",
    "æ—¥æœ¬",
    "ðŸ˜€ smile",
    "ÐšÐ¾ÑˆÐºÐ°",
    "Ù…Ø±Ø­Ø¨Ø§",
    "sÃ³",
    "cafÃ© and naïve mixed",
    "ГўВЂВњquotesГўВЂВќ",
    "Ã\xa0 bientôt",
    "\x80\x93 dash",
    "price \x80100",
    "Ã",
    "Â",
    "Â£100",
    "cafÃ©\nnaÃ¯ve",
]

CONTROL = [
    "\ufeffhello",
    "hello\ufeff",
    "a\x00b",
    "\x00",
    "cat\x07dog",
    "a\x08b",
    "\x1b",
    "a\x0bb",
    "a\x0cb",
    "a\x1cb\x1dc\x1ed\x1ff",
    "a\x7fb",
    "a\x85b",
    "a\u2028b",
    "a\u2029b",
    "tab\tseparated\twords",
    "new\nline",
    "crlf\r\nline",
    "cr\rline",
    "\n\n\nleading newlines",
    "trailing newlines\n\n",
    "a\u200bb",
    "zero\u200cwidth\u200djoiner",
    "\u200e\u200fmarks",
    "\u2060word joiner",
    "\u206adeprecated\u206f",
    "obj\ufffcrepl",
    "annot\ufff9a\ufffab\ufffbc",
    "soft\u00adhyphen",
    "\x81\x8d\x8f\x90\x9d",
    "\x9f",
    "\x1a substitute",
    "\ufffd replacement",
    "mixed\x00\x01\x02\x03controls\x04\x05\x06",
    "a\u180eb",
]

WHITESPACE = [
    "",
    " ",
    "   ",
    "\t",
    "\n",
    "\r\n",
    " \t\n\r\x0b\x0c ",
    "\u3000",
    "\u00a0",
    "\u2003\u2009\u200a",
    "\x1c\x1d\x1e\x1f",
    "\u205f\u202f\u1680",
    "  leading",
    "trailing  ",
    "  both  ",
    "many     spaces   between",
    "a\u00a0b\u2003c\u3000d",
]

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|startoftext|>",
    "<|startoftext|>a cat<|endoftext|>",
    "<start_of_text>",
    "<end_of_text>",
    "a <end_of_text> b",
    "<END_OF_TEXT>",
    "<START_OF_TEXT>",
    "<start_of_text>a photo<end_of_text>",
    "&lt;|endoftext|&gt;",
    "&lt;end_of_text&gt;",
    "<|endoftext|",
    "<>",
    "<",
    ">",
    "</w>",
    "cat</w>",
]

TERMINAL = [
    "\x1b[31mred\x1b[0m",
    "\x1b[1;32mbold green\x1b[0m text",
    "I'm blue\x1b[36;44m da ba dee\x1b[0m",
    "\x1b[2J\x1b[Hclear",
    "\x1b[ not an escape",
    "\x1b]0;title\x07",
]

MULTILINE = [
    "line one\nline two &amp; three",
    "plain &amp; first\n<b>html</b> second\nthird &amp; last",
    "first <i>html</i>\nsecond &amp; after",
    "cafÃ©\nsecond line",
]


def long_strings() -> list[str]:
    """A few 300-2000 character inputs, some without any space."""
    words = (
        "a photo of a small brown dog running across a green field "
        "under a bright blue sky with white clouds "
    )
    return [
        (words * 6).strip(),  # ~600 chars with spaces
        "a" * 300,
        "ab" * 500,  # 1000 chars, no spaces
        "supercalifragilisticexpialidocious" * 40,  # 1360 chars, no spaces
        ("cafÃ© " * 70).strip(),  # long mojibake
        ("猫" * 400),
        ("&amp;" * 120),
        "-".join(str(i) for i in range(400)),  # ~1500 chars, no spaces
        ("🐱" * 300),
        ("word " * 400).strip(),  # 2000 chars
    ]


def build() -> list[str]:
    groups = [
        PLAIN,
        PUNCTUATION,
        NUMBERS,
        CONTRACTIONS,
        UNICODE,
        EMOJI,
        CURLY,
        ENTITIES,
        FULL_WIDTH,
        LIGATURES,
        MOJIBAKE,
        CONTROL,
        WHITESPACE,
        SPECIAL_TOKENS,
        TERMINAL,
        MULTILINE,
        long_strings(),
    ]
    corpus: list[str] = []
    seen: set[str] = set()
    for group in groups:
        for s in group:
            if s not in seen:
                seen.add(s)
                corpus.append(s)
    for s in corpus:
        if any(0xD800 <= ord(c) <= 0xDFFF for c in s):
            raise ValueError(f"lone surrogate in corpus string {s!r}")
    return corpus


def main() -> None:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=here.parent / "tests" / "fixtures" / "tokenizer_corpus.json",
    )
    args = parser.parse_args()
    corpus = build()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(corpus, ensure_ascii=True, indent=1) + "\n")
    print(f"wrote {len(corpus)} strings to {args.out}")


if __name__ == "__main__":
    main()
