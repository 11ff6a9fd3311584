//! Text clean-up applied to a query before CLIP's BPE tokenizer.
//!
//! The CLIP checkpoints we load were trained with text that went through
//! open_clip's `_clean_lower`:
//!
//! ```python
//! whitespace_clean(basic_clean(text)).lower()
//! # basic_clean      = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
//! # whitespace_clean = " ".join(text.split())
//! ```
//!
//! Token ids only match the reference when the text reaching the BPE is
//! byte-for-byte what Python would produce, so this module is a faithful port
//! of that pipeline rather than a "reasonable" normaliser: ftfy 6.3's
//! `fix_text` with its default configuration, CPython's `html.unescape`,
//! `str.split` and `str.lower`. Where the reference has a quirk (for instance
//! ftfy's latin-1 / windows-1252 comparison that can never be true, or
//! `html.unescape` deleting `&#1;`), the quirk is reproduced, because a
//! "fixed" version would tokenize differently from the model's training data.
//!
//! What is deliberately not reproduced:
//!
//! * `fix_surrogates`: a Rust `&str` cannot hold lone UTF-16 surrogates, and
//!   ftfy's own decoders never emit them (they raise instead), so the step is
//!   the identity here.
//! * Python's 4300-digit cap on `int()`: `html.unescape` raises `ValueError`
//!   on a decimal character reference longer than 4300 digits; we treat it as
//!   any other out-of-range reference (U+FFFD).
//! * Unicode versions: CPython 3.11 ships Unicode 14 data while Rust's
//!   `to_lowercase`, the `regex` crate and `unicode-normalization` carry newer
//!   tables, so characters assigned after Unicode 14 may normalise, lowercase
//!   or classify differently.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::bytes::Regex as BytesRegex;
use regex::{Captures, Regex};
use unicode_normalization::UnicodeNormalization;

/// Cleans `text` exactly as open_clip's `_clean_lower` does before BPE.
///
/// The result has ftfy's repairs applied, HTML character references decoded
/// twice (open_clip calls `html.unescape` twice so that double-escaped text
/// such as `&amp;amp;` scraped from the web collapses fully), runs of Python
/// whitespace collapsed to single spaces with none at either end, and
/// everything lower-cased.
pub fn clean_text(text: &str) -> String {
    let fixed = fix_text(text);
    let unescaped = html_unescape(&html_unescape(&fixed));
    // `basic_clean` strips and `whitespace_clean` strips again after joining;
    // splitting on whitespace already drops both ends, so one pass suffices.
    let joined = unescaped
        .split(is_py_space)
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    // Both CPython's `str.lower` and Rust's `to_lowercase` apply the full
    // (multi-character) lowercase mapping and the contextual Final_Sigma rule
    // with the same definition, so "ΟΔΟΣ" becomes "οδος" in both.
    joined.to_lowercase()
}

/// CPython's `str.isspace`, which `str.split()` and `str.strip()` use.
///
/// Unlike `char::is_whitespace` it includes the information separators
/// U+001C..U+001F (bidi class B/S), so they must split words here too.
fn is_py_space(c: char) -> bool {
    matches!(c, '\u{1C}'..='\u{1F}') || c.is_whitespace()
}

// ---------------------------------------------------------------------------
// ftfy.fix_text
// ---------------------------------------------------------------------------

/// ftfy's `max_decode_length`: segments are capped at this many code points.
const MAX_DECODE_LENGTH: usize = 1_000_000;

/// `ftfy.fix_text` with the default `TextFixerConfig`.
///
/// ftfy fixes each line separately (a segment ends just after `\n`) so that
/// one bad line cannot change the decision for the others. HTML unescaping is
/// in "auto" mode: a segment containing `<` looks like real HTML, whose
/// entities must be kept, and ftfy then leaves unescaping off for that
/// segment *and every later one* (it overwrites its config in the loop).
fn fix_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut unescape = true;
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.len();
        for (count, (i, c)) in rest.char_indices().enumerate() {
            if count == MAX_DECODE_LENGTH {
                end = i;
                break;
            }
            if c == '\n' {
                end = i + 1;
                break;
            }
        }
        let (segment, tail) = rest.split_at(end);
        if unescape && segment.contains('<') {
            unescape = false;
        }
        out.push_str(&fix_segment(segment, unescape));
        rest = tail;
    }
    out
}

/// ftfy's `fix_and_explain`: apply every fixer in ftfy's order, then NFC,
/// and repeat until nothing changes, because one repair (say, decoding
/// `&amp;` or mojibake) can expose text that another fixer handles.
fn fix_segment(segment: &str, unescape: bool) -> String {
    let mut text = segment.to_owned();
    loop {
        let orig = text.clone();
        if unescape {
            text = unescape_html(&text);
        }
        text = fix_encoding(&text);
        text = fix_c1_controls(&text);
        text = fix_latin_ligatures(&text);
        text = fix_character_width(&text);
        text = uncurl_quotes(&text);
        text = fix_line_breaks(&text);
        // `fix_surrogates` would go here; see the module docs.
        text = remove_terminal_escapes(&text);
        text = remove_control_chars(&text);
        text = text.nfc().collect();
        if text == orig {
            return text;
        }
    }
}

/// Matches the entity-shaped spans ftfy is willing to decode: only ones with
/// a terminating semicolon, so informal text like "this&not that" survives.
static FTFY_ENTITY_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"&#?[0-9A-Za-z]{1,24};").expect("valid regex"));

/// `ftfy.fixes.unescape_html`.
///
/// Besides the HTML5 names ending in `;`, ftfy decodes all-caps spellings of
/// lowercase entity names (`P&EACUTE;REZ`, from databases that upper-cased
/// their contents) when that spelling means nothing to `html.unescape`.
fn unescape_html(text: &str) -> String {
    FTFY_ENTITY_RE
        .replace_all(text, |caps: &Captures| {
            let m = &caps[0];
            if let Some(value) = entity(m) {
                return value.to_owned();
            }
            if let Some(value) = upper_cased_entity(m) {
                return value;
            }
            if m.starts_with("&#") {
                let unescaped = html_unescape(m);
                // A partial decode (e.g. "&#12abc;" -> "\x0cabc;") keeps the
                // semicolon; ftfy only accepts references consumed whole.
                if unescaped.contains(';') {
                    return m.to_owned();
                }
                return unescaped;
            }
            m.to_owned()
        })
        .into_owned()
}

/// The value of the all-caps variant `m` (e.g. `&NTILDE;`) of a lowercase
/// HTML5 entity, exactly when ftfy's `_build_html_entities` would add it.
fn upper_cased_entity(m: &str) -> Option<String> {
    if m.bytes().any(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let lower = m.to_ascii_lowercase();
    let value = entity(&lower)?;
    if html_unescape(m) != m {
        return None;
    }
    // Python's `str.upper`, like `to_uppercase`, uses the full mapping:
    // `&SZLIG;` becomes "SS".
    Some(value.to_uppercase())
}

/// Looks up a full reference such as `&copy;` or `&copy` in the WHATWG table,
/// which is the same table as Python's `html.entities.html5`.
fn entity(name: &str) -> Option<&'static str> {
    htmlize::ENTITIES
        .get(name.as_bytes())
        .map(|v| std::str::from_utf8(v).expect("entity table is UTF-8"))
}

// ---------------------------------------------------------------------------
// Mojibake repair (ftfy.fix_encoding)
// ---------------------------------------------------------------------------

/// `ftfy.fix_encoding`: re-run single repair steps until the text is stable,
/// since mojibake is often applied more than once (`Ã¢â‚¬â„¢`).
fn fix_encoding(text: &str) -> String {
    let mut text = text.to_owned();
    loop {
        let next = fix_encoding_one_step(&text);
        if next == text {
            return text;
        }
        text = next;
    }
}

/// ftfy's `_fix_encoding_one_step_and_explain`.
fn fix_encoding_one_step(text: &str) -> String {
    if text.is_empty() || text.is_ascii() || !is_bad(text) {
        return text.to_owned();
    }

    // The most likely story is UTF-8 bytes decoded with a single-byte
    // encoding; try each candidate in ftfy's order of likelihood and take the
    // first that round-trips to valid UTF-8.
    let mut latin1_possible = false;
    for (charmap, reverse) in CHARMAPS.iter().zip(CHARMAP_REVERSE.iter()) {
        let Some(mut bytes) = charmap.encode(text, reverse) else {
            continue;
        };
        if charmap.name == "latin-1" {
            latin1_possible = true;
        }
        // In MacRoman a space after byte 0xD0 is a plausible en dash + space,
        // so ftfy does not guess at lost no-break spaces there.
        if charmap.name != "macroman" && ALTERED_UTF8_RE.is_match(&bytes) {
            bytes = restore_byte_a0(&bytes);
        }
        if charmap.sloppy {
            bytes = LOSSY_UTF8_RE
                .replace_all(&bytes, "\u{FFFD}".as_bytes())
                .into_owned();
        }
        let decoded = if bytes.contains(&0xED) || bytes.contains(&0xC0) {
            decode_utf8_variants(&bytes)
        } else {
            String::from_utf8(bytes).ok()
        };
        if let Some(fixed) = decoded {
            return fixed;
        }
    }

    // UTF-8 mojibake embedded in otherwise-correct text can't be fixed by
    // re-decoding everything, so fix the suspicious spans in isolation.
    if UTF8_DETECTOR_RE.is_match(text) {
        let fixed = decode_inconsistent_utf8(text);
        if fixed != text {
            return fixed;
        }
    }

    // ftfy means to leave text alone when it is valid in both latin-1 and
    // windows-1252, but it checks for the name "windows-1252" in a list that
    // only ever holds "sloppy-windows-1252". The reachable behaviour is: if
    // the text is latin-1, reinterpret its C1 controls as strict
    // windows-1252, giving up if any of them is one of the five bytes
    // windows-1252 leaves undefined.
    if latin1_possible {
        let mut fixed = String::with_capacity(text.len());
        let mut ok = true;
        for c in text.chars() {
            if ('\u{80}'..='\u{9F}').contains(&c) {
                if matches!(c, '\u{81}' | '\u{8D}' | '\u{8F}' | '\u{90}' | '\u{9D}') {
                    ok = false;
                    break;
                }
                fixed.push(sloppy_1252_c1(c));
            } else {
                fixed.push(c);
            }
        }
        if ok && fixed != text {
            return fixed;
        }
    }

    if text.chars().any(is_c1) {
        return fix_c1_controls(text);
    }
    text.to_owned()
}

/// A single-byte encoding ftfy considers as the wrong decoder of UTF-8 bytes.
struct Charmap {
    name: &'static str,
    /// ftfy's "sloppy" codecs map their undefined bytes to the Latin-1 code
    /// point of the same number (as browsers do), and use byte 0x1A to stand
    /// for U+FFFD so that text with replacement characters can still be
    /// encoded and partially recovered.
    sloppy: bool,
    /// What bytes 0x80..=0xFF decode to.
    high: &'static [u16; 128],
}

impl Charmap {
    /// `text.encode(name)`, or `None` where Python would raise (which is also
    /// exactly when ftfy's `possible_encoding` regex rejects the text).
    fn encode(&self, text: &str, reverse: &HashMap<char, u8>) -> Option<Vec<u8>> {
        text.chars()
            .map(|c| match c {
                '\u{1A}' if self.sloppy => None,
                '\u{FFFD}' if self.sloppy => Some(0x1A),
                c if c.is_ascii() => Some(c as u8),
                c => reverse.get(&c).copied(),
            })
            .collect()
    }
}

/// ftfy's `CHARMAP_ENCODINGS`, in the order it tries them.
static CHARMAPS: [Charmap; 10] = [
    Charmap {
        name: "latin-1",
        sloppy: false,
        high: &LATIN_1,
    },
    Charmap {
        name: "sloppy-windows-1252",
        sloppy: true,
        high: &SLOPPY_WINDOWS_1252,
    },
    Charmap {
        name: "sloppy-windows-1251",
        sloppy: true,
        high: &SLOPPY_WINDOWS_1251,
    },
    Charmap {
        name: "sloppy-windows-1250",
        sloppy: true,
        high: &SLOPPY_WINDOWS_1250,
    },
    Charmap {
        name: "sloppy-windows-1253",
        sloppy: true,
        high: &SLOPPY_WINDOWS_1253,
    },
    Charmap {
        name: "sloppy-windows-1254",
        sloppy: true,
        high: &SLOPPY_WINDOWS_1254,
    },
    Charmap {
        name: "sloppy-windows-1257",
        sloppy: true,
        high: &SLOPPY_WINDOWS_1257,
    },
    Charmap {
        name: "iso-8859-2",
        sloppy: false,
        high: &ISO_8859_2,
    },
    Charmap {
        name: "macroman",
        sloppy: false,
        high: &MACROMAN,
    },
    Charmap {
        name: "cp437",
        sloppy: false,
        high: &CP437,
    },
];

/// Encoding tables (character -> byte 0x80..=0xFF) for `CHARMAPS`.
static CHARMAP_REVERSE: LazyLock<Vec<HashMap<char, u8>>> = LazyLock::new(|| {
    CHARMAPS
        .iter()
        .map(|cm| {
            cm.high
                .iter()
                .zip(0x80u8..=0xFF)
                .map(|(&cp, byte)| (char::from_u32(u32::from(cp)).expect("BMP"), byte))
                .collect()
        })
        .collect()
});

/// Decodes bytes with ftfy's "utf-8-variants" codec: strict UTF-8 plus the
/// two non-standard forms that leak out of Java and UTF-16 systems, namely
/// `C0 80` for U+0000 and CESU-8 (surrogate pairs each encoded as three
/// bytes). Lone surrogates are an error, as in ftfy.
///
/// ftfy finds these forms with a bytes regex whose `$` also matches before a
/// final `\n`, so a trailing `C0 \n` decodes as U+0000 (swallowing the
/// newline) and a CESU-8 pair may end in that `\n`. Segments end in `\n`, so
/// this is reachable and is reproduced.
fn decode_utf8_variants(bytes: &[u8]) -> Option<String> {
    let len = bytes.len();
    let final_newline = |pos: usize| pos + 1 == len && bytes[pos] == b'\n';
    let mut out = String::with_capacity(len);
    let mut i = 0;
    while i < len {
        let b = bytes[i];
        if b == 0xC0 && i + 1 < len && (bytes[i + 1] == 0x80 || final_newline(i + 1)) {
            out.push('\0');
            i += 2;
            continue;
        }
        if b == 0xED && (i + 1 >= len || bytes[i + 1] >= 0xA0 || final_newline(i + 1)) {
            let s = bytes.get(i..i + 6)?;
            let is_pair = (0xA0..=0xAF).contains(&s[1])
                && (0x80..=0xBF).contains(&s[2])
                && s[3] == 0xED
                && (0xB0..=0xBF).contains(&s[4])
                && ((0x80..=0xBF).contains(&s[5]) || final_newline(i + 5));
            if !is_pair {
                return None;
            }
            let cp = ((u32::from(s[1]) & 0x0F) << 16)
                + ((u32::from(s[2]) & 0x3F) << 10)
                + ((u32::from(s[4]) & 0x0F) << 6)
                + (u32::from(s[5]) & 0x3F)
                + 0x10000;
            out.push(char::from_u32(cp)?);
            i += 6;
            continue;
        }
        let width = match b {
            0x00..=0x7F => 1,
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => return None,
        };
        let chunk = std::str::from_utf8(bytes.get(i..i + width)?).ok()?;
        out.push_str(chunk);
        i += width;
    }
    Some(out)
}

/// `ftfy.fixes.restore_byte_a0`: some software "helpfully" turned byte A0
/// (no-break space, very common inside UTF-8 of e.g. `à`) into a plain space
/// before the text was misdecoded; put it back where that makes valid UTF-8.
fn restore_byte_a0(bytes: &[u8]) -> Vec<u8> {
    // A lone " Ã " is almost always the word "à", so keep the space after it
    // and just supply the missing A0 -- except before the Portuguese
    // contractions "às", "àquele"... where the space was the A0 itself.
    let mut grave = Vec::with_capacity(bytes.len() + 8);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == 0xC3 && bytes.get(i + 1) == Some(&b' ') {
            let after = &bytes[i + 2..];
            let excluded = [&b" "[..], b"quele", b"quela", b"quilo", b"s "]
                .iter()
                .any(|p| after.starts_with(p));
            if !excluded {
                grave.extend_from_slice(b"\xC3\xA0 ");
                i += 2;
                continue;
            }
        }
        grave.push(bytes[i]);
        i += 1;
    }
    ALTERED_UTF8_RE
        .replace_all(&grave, |caps: &regex::bytes::Captures| {
            caps[0]
                .iter()
                .map(|&b| if b == b' ' { 0xA0 } else { b })
                .collect::<Vec<u8>>()
        })
        .into_owned()
}

/// UTF-8 sequences that would be valid if one byte A0 had not become a space.
/// Lead bytes are restricted to those that yield likely characters (see
/// ftfy's `chardata.py`); anything looser would "repair" ordinary text.
static ALTERED_UTF8_RE: LazyLock<BytesRegex> = LazyLock::new(|| {
    BytesRegex::new(
        r"(?-u)[\xC2\xC3\xC5\xCE\xD0\xD9][ ]|[\xE2\xE3][ ][\x80-\x84\x86-\x9F\xA1-\xBF]|[\xE0-\xE3][\x80-\x84\x86-\x9F\xA1-\xBF][ ]|[\xF0][ ][\x80-\xBF][\x80-\xBF]|[\xF0][\x80-\xBF][ ][\x80-\xBF]|[\xF0][\x80-\xBF][\x80-\xBF][ ]",
    )
    .expect("valid regex")
});

/// UTF-8 sequences whose continuation bytes were lost to U+FFFD (encoded by
/// the sloppy codecs as 0x1A) or, once per sequence, to '?'. ftfy decodes the
/// whole damaged sequence as a single U+FFFD instead of giving up.
static LOSSY_UTF8_RE: LazyLock<BytesRegex> = LazyLock::new(|| {
    BytesRegex::new(
        r"(?-u)[\xC2-\xDF][\x1A]|[\xC2-\xC3][?]|\xED[\xA0-\xAF][\x1A?]\xED[\xB0-\xBF][\x1A?\x80-\xBF]|\xED[\xA0-\xAF][\x1A?\x80-\xBF]\xED[\xB0-\xBF][\x1A?]|[\xE0-\xEF][\x1A?][\x1A\x80-\xBF]|[\xE0-\xEF][\x1A\x80-\xBF][\x1A?]|[\xF0-\xF4][\x1A?][\x1A\x80-\xBF][\x1A\x80-\xBF]|[\xF0-\xF4][\x1A\x80-\xBF][\x1A?][\x1A\x80-\xBF]|[\xF0-\xF4][\x1A\x80-\xBF][\x1A\x80-\xBF][\x1A?]|\x1A",
    )
    .expect("valid regex")
});

/// Spans that look like UTF-8 decoded as a single-byte encoding.
///
/// ftfy also requires (with a lookbehind the `regex` crate lacks) that the
/// span is not preceded by a "strict" continuation character, so that a few
/// characters inside a larger garble are not fixed on their own; see
/// `utf8_detector_matches`.
static UTF8_DETECTOR_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        "(?:[{UTF8_FIRST_OF_2}][{UTF8_CONTINUATION}]\
         |[{UTF8_FIRST_OF_3}][{UTF8_CONTINUATION}]{{2}}\
         |[{UTF8_FIRST_OF_4}][{UTF8_CONTINUATION}]{{3}})+"
    ))
    .expect("valid regex")
});

/// The lookbehind class of ftfy's `UTF8_DETECTOR_RE`.
static UTF8_CONTINUATION_STRICT_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!("^[{UTF8_CONTINUATION_STRICT}]$")).expect("valid regex"));

/// The matches `re.sub(UTF8_DETECTOR_RE, ...)` would visit, as byte ranges.
///
/// A candidate preceded by a strict continuation character fails the
/// lookbehind, so Python retries one character later; doing the same here
/// keeps the leftmost-first results identical.
fn utf8_detector_matches(text: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut pos = 0;
    while let Some(m) = UTF8_DETECTOR_RE.find_at(text, pos) {
        let rejected = text[..m.start()].chars().next_back().is_some_and(|prev| {
            let mut buf = [0u8; 4];
            UTF8_CONTINUATION_STRICT_RE.is_match(prev.encode_utf8(&mut buf))
        });
        if rejected {
            pos = m.start() + text[m.start()..].chars().next().map_or(1, char::len_utf8);
        } else {
            found.push((m.start(), m.end()));
            pos = m.end();
        }
        if pos > text.len() {
            break;
        }
    }
    found
}

/// `ftfy.fixes.decode_inconsistent_utf8`: fix each mojibake-looking span on
/// its own when the text as a whole mixes encodings. Only spans shorter than
/// the whole text are touched, which keeps the recursion finite.
fn decode_inconsistent_utf8(text: &str) -> String {
    let total = text.chars().count();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end) in utf8_detector_matches(text) {
        out.push_str(&text[last..start]);
        let span = &text[start..end];
        if span.chars().count() < total && is_bad(span) {
            out.push_str(&fix_encoding(span));
        } else {
            out.push_str(span);
        }
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

fn is_c1(c: char) -> bool {
    ('\u{80}'..='\u{9F}').contains(&c)
}

/// A C1 control read as sloppy windows-1252 (holes map to themselves).
fn sloppy_1252_c1(c: char) -> char {
    let cp = SLOPPY_WINDOWS_1252[c as usize - 0x80];
    char::from_u32(u32::from(cp)).expect("BMP")
}

/// `ftfy.fixes.fix_c1_controls`: nobody means C1 controls; like browsers,
/// read them as the windows-1252 characters they almost always were.
fn fix_c1_controls(text: &str) -> String {
    text.chars()
        .map(|c| if is_c1(c) { sloppy_1252_c1(c) } else { c })
        .collect()
}

// ---------------------------------------------------------------------------
// The "badness" heuristic (ftfy.badness)
// ---------------------------------------------------------------------------

/// `ftfy.badness.is_bad`: does the text contain a character sequence that is
/// far likelier to be mojibake than intended? ftfy only attempts re-decoding
/// when this says yes, which is what keeps it from "fixing" real text.
fn is_bad(text: &str) -> bool {
    BADNESS_RE.is_match(text)
}

/// Python's `\s` (`str.isspace`), which includes U+001C..U+001F.
const PY_SPACE: &str = r"\t\n\x0B\x0C\r\x1C-\x20\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}";

/// ftfy's `BADNESS_RE`, alternative for alternative. `\s` and `\w` are
/// spelled out with Python's definitions (`str.isspace`; `str.isalnum` is
/// exactly categories L* and N*, plus `_`).
static BADNESS_RE: LazyLock<Regex> = LazyLock::new(|| {
    let alternatives = [
        format!("[{C1}]"),
        format!(
            "[{BAD}{LOWER_ACCENTED}{UPPER_ACCENTED}{BOX}{START_PUNCTUATION}{END_PUNCTUATION}{CURRENCY}{NUMERIC}{LAW}][{BAD}]"
        ),
        format!("[a-zA-Z][{LOWER_COMMON}{UPPER_COMMON}][{BAD}]"),
        format!(
            "[{BAD}][{LOWER_ACCENTED}{UPPER_ACCENTED}{BOX}{START_PUNCTUATION}{END_PUNCTUATION}{CURRENCY}{NUMERIC}{LAW}]"
        ),
        format!(
            "[{LOWER_ACCENTED}{LOWER_COMMON}{BOX}{END_PUNCTUATION}{CURRENCY}{NUMERIC}][{UPPER_ACCENTED}]"
        ),
        format!("[{BOX}{END_PUNCTUATION}{CURRENCY}{NUMERIC}][{LOWER_ACCENTED}]"),
        format!("[{LOWER_ACCENTED}{BOX}{END_PUNCTUATION}][{CURRENCY}]"),
        format!("[{PY_SPACE}][{UPPER_ACCENTED}][{CURRENCY}]"),
        format!("[{UPPER_ACCENTED}{BOX}][{NUMERIC}{LAW}]"),
        format!(
            "[{LOWER_ACCENTED}{UPPER_ACCENTED}{BOX}{CURRENCY}{END_PUNCTUATION}][{START_PUNCTUATION}][{NUMERIC}]"
        ),
        format!(
            "[{LOWER_ACCENTED}{UPPER_ACCENTED}{CURRENCY}{NUMERIC}{BOX}{LAW}][{END_PUNCTUATION}][{START_PUNCTUATION}]"
        ),
        format!("[{CURRENCY}{NUMERIC}{BOX}][{START_PUNCTUATION}]"),
        format!("[a-z][{UPPER_ACCENTED}][{START_PUNCTUATION}{CURRENCY}]"),
        format!("[{BOX}][{KAOMOJI}]"),
        format!(
            "[{LOWER_ACCENTED}{UPPER_ACCENTED}{CURRENCY}{NUMERIC}{START_PUNCTUATION}{END_PUNCTUATION}{LAW}][{BOX}]"
        ),
        format!("[{BOX}][{END_PUNCTUATION}]"),
        format!("[{LOWER_ACCENTED}{UPPER_ACCENTED}][{START_PUNCTUATION}{END_PUNCTUATION}][\\p{{L}}\\p{{N}}_]"),
        // The ligature œ when not followed by an unaccented Latin letter.
        "[Œœ][^A-Za-z]".to_owned(),
        // Degree signs after capital letters.
        format!("[{UPPER_ACCENTED}]°"),
        // Common windows-1252 two-character mojibake not covered above.
        format!(
            r"[ÂÃÎÐ][€œŠš¢£Ÿž\x{{A0}}\x{{AD}}®©°·»{START_PUNCTUATION}{END_PUNCTUATION}–—´]"
        ),
        "×[²³]".to_owned(),
        // Windows-1252 mojibake of Arabic, which needs the "common"
        // characters and so demands four of them in a row.
        format!(
            "[ØÙ][{COMMON}{CURRENCY}{BAD}{NUMERIC}{START_PUNCTUATION}ŸŠ®°µ»][ØÙ][{COMMON}{CURRENCY}{BAD}{NUMERIC}{START_PUNCTUATION}ŸŠ®°µ»]"
        ),
        // Windows-1252 starts of three-byte South Asian scripts.
        "à[²µ¹¼½¾]".to_owned(),
        // MacRoman mojibake.
        "√[±∂†≠®™´≤≥¥µø]".to_owned(),
        "≈[°¢]".to_owned(),
        "‚Ä[ìîïòôúùû†°¢π]".to_owned(),
        "‚[âó][àä°ê]".to_owned(),
        // Windows-1251 mojibake of U+2000-range punctuation.
        "вЂ".to_owned(),
        // Windows-1251 mojibake of Latin-1 / Cyrillic: needs three characters
        // because the two-character forms occur in real Russian.
        format!(
            "[ВГРС][{C1}{BAD}{START_PUNCTUATION}{END_PUNCTUATION}{CURRENCY}°µ][ВГРС]"
        ),
        // Windows-1251 on top of Latin-1 on top of windows-1252.
        "ГўВЂВ.[A-Za-z ]".to_owned(),
        // Windows-1252 encodings of 'à' and 'á', and of U+A0 itself.
        r"Ã[\x{A0}¡]".to_owned(),
        format!("[a-z][{PY_SPACE}]?[ÃÂ][ ]"),
        "^[ÃÂ][ ]".to_owned(),
        // Â in front of the very character it would encode.
        format!("[a-z.,?!{END_PUNCTUATION}]Â[ {START_PUNCTUATION}{END_PUNCTUATION}]"),
        // Windows-1253 mojibake of U+2000-range punctuation.
        r"β€[™\x{A0}Ά\x{AD}®°]".to_owned(),
        // Windows-1253 mojibake of Latin-1 / Greek.
        format!(
            "[ΒΓΞΟ][{C1}{BAD}{START_PUNCTUATION}{END_PUNCTUATION}{CURRENCY}°][ΒΓΞΟ]"
        ),
        // Windows-1257 mojibake of U+2000-range punctuation.
        "ā€".to_owned(),
    ];
    Regex::new(&alternatives.join("|")).expect("valid regex")
});

// ---------------------------------------------------------------------------
// The character-level fixers
// ---------------------------------------------------------------------------

/// `ftfy.fixes.fix_latin_ligatures`: Latin ligatures in a string are
/// copy-paste artefacts of typesetting (PDFs), and CLIP's vocabulary knows
/// "file" but not "ﬁle". Ligatures of other scripts, and æ/œ which are real
/// letters, are left alone.
fn fix_latin_ligatures(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let replacement = match c {
            'Ĳ' => "IJ",
            'ĳ' => "ij",
            'ŉ' => "ʼn",
            'Ǳ' => "DZ",
            'ǲ' => "Dz",
            'ǳ' => "dz",
            'Ǆ' => "DŽ",
            'ǅ' => "Dž",
            'ǆ' => "dž",
            'Ǉ' => "LJ",
            'ǈ' => "Lj",
            'ǉ' => "lj",
            'Ǌ' => "NJ",
            'ǋ' => "Nj",
            'ǌ' => "nj",
            'ﬀ' => "ff",
            'ﬁ' => "fi",
            'ﬂ' => "fl",
            'ﬃ' => "ffi",
            'ﬄ' => "ffl",
            'ﬅ' => "ſt",
            'ﬆ' => "st",
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push_str(replacement);
    }
    out
}

/// `ftfy.fixes.fix_character_width`: full-width ASCII and half-width kana
/// exist only to line text up in CJK grids; replace each code point of
/// U+FF01..U+FFEF by its NFKC form, and the ideographic space by a space.
fn fix_character_width(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{3000}' => out.push(' '),
            '\u{FF01}'..='\u{FFEF}' => out.extend(std::iter::once(c).nfkc()),
            _ => out.push(c),
        }
    }
    out
}

/// `ftfy.fixes.uncurl_quotes`: phones and word processors curl quotes; the
/// training text's apostrophes are mostly straight, so `it’s` should
/// tokenize as `it's`.
fn uncurl_quotes(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{2BC}' | '\u{2018}'..='\u{201B}' => '\'',
            '\u{201C}'..='\u{201F}' => '"',
            _ => c,
        })
        .collect()
}

/// `ftfy.fixes.fix_line_breaks`: every line-break convention (CRLF, CR,
/// U+2028, U+2029 and the C1 NEXT LINE) becomes `\n`. CRLF goes first so it
/// becomes one break, not two.
fn fix_line_breaks(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace(['\r', '\u{2028}', '\u{2029}', '\u{85}'], "\n")
}

/// ANSI terminal escapes such as colour codes, `ESC [ digits/; letter`.
/// Python's `\d` is any Unicode decimal digit, as is the `regex` crate's.
static ANSI_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\x1B\[(?:\d|;)*[a-zA-Z]").expect("valid regex"));

/// `ftfy.fixes.remove_terminal_escapes`: text copied from a terminal carries
/// colour codes that are invisible to the user.
fn remove_terminal_escapes(text: &str) -> String {
    ANSI_RE.replace_all(text, "").into_owned()
}

/// `ftfy.fixes.remove_control_chars`: drop controls that have no visible
/// effect (ftfy's `CONTROL_CHARS` table). Whitespace controls, C1 controls
/// (clues for mojibake), joiners, bidi marks and tag characters are kept.
fn remove_control_chars(text: &str) -> String {
    text.chars()
        .filter(|&c| {
            !matches!(
                c,
                '\u{00}'..='\u{08}'
                    | '\u{0B}'
                    | '\u{0E}'..='\u{1F}'
                    | '\u{7F}'
                    | '\u{206A}'..='\u{206F}'
                    | '\u{FEFF}'
                    | '\u{FFF9}'..='\u{FFFC}'
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------
// html.unescape
// ---------------------------------------------------------------------------

/// CPython's `html._charref`: decimal and hex references with an optional
/// `;`, and anything name-like of up to 32 characters.
static CHARREF_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\x0C <&#;]{1,32};?)").expect("valid regex")
});

/// CPython's `html.unescape`.
///
/// `htmlize::unescape` follows the HTML5 tokenizer, which keeps control
/// characters that Python deletes (`&#1;` -> "") and differs on other edge
/// cases, so only htmlize's entity table (identical to
/// `html.entities.html5`) is used and Python's algorithm is ported here.
fn html_unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    CHARREF_RE
        .replace_all(text, |caps: &Captures| replace_charref(&caps[1]))
        .into_owned()
}

/// CPython's `html._replace_charref`, given the reference without its `&`.
fn replace_charref(s: &str) -> String {
    if let Some(number) = s.strip_prefix('#') {
        let number = number.trim_end_matches(';');
        let parsed = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16),
            None => number.parse::<u32>(),
        };
        // Anything too big for u32 is far beyond U+10FFFF anyway.
        let num = parsed.unwrap_or(u32::MAX);
        return numeric_charref(num);
    }
    let name = format!("&{s}");
    if let Some(value) = entity(&name) {
        return value.to_owned();
    }
    // HTML5's rule for legacy names written without `;`: the longest prefix
    // (at least two characters) that is an entity wins, e.g. "&copyright".
    let boundaries: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
    for &end in boundaries.iter().skip(2).rev() {
        if let Some(value) = entity(&name[..end + 1]) {
            return format!("{value}{}", &s[end..]);
        }
    }
    name
}

/// The numeric half of `html._replace_charref`.
fn numeric_charref(num: u32) -> String {
    let replacement = match num {
        0x00 => "\u{FFFD}",
        0x0D => "\r",
        0x80 => "\u{20AC}",
        0x81 => "\u{81}",
        0x82 => "\u{201A}",
        0x83 => "\u{0192}",
        0x84 => "\u{201E}",
        0x85 => "\u{2026}",
        0x86 => "\u{2020}",
        0x87 => "\u{2021}",
        0x88 => "\u{02C6}",
        0x89 => "\u{2030}",
        0x8A => "\u{0160}",
        0x8B => "\u{2039}",
        0x8C => "\u{0152}",
        0x8D => "\u{8D}",
        0x8E => "\u{017D}",
        0x8F => "\u{8F}",
        0x90 => "\u{90}",
        0x91 => "\u{2018}",
        0x92 => "\u{2019}",
        0x93 => "\u{201C}",
        0x94 => "\u{201D}",
        0x95 => "\u{2022}",
        0x96 => "\u{2013}",
        0x97 => "\u{2014}",
        0x98 => "\u{02DC}",
        0x99 => "\u{2122}",
        0x9A => "\u{0161}",
        0x9B => "\u{203A}",
        0x9C => "\u{0153}",
        0x9D => "\u{9D}",
        0x9E => "\u{017E}",
        0x9F => "\u{0178}",
        0xD800..=0xDFFF | 0x11_0000.. => "\u{FFFD}",
        // Python's `_invalid_codepoints` are deleted outright.
        0x01..=0x08 | 0x0B | 0x0E..=0x1F | 0x7F..=0x9F | 0xFDD0..=0xFDEF => "",
        n if n & 0xFFFE == 0xFFFE => "",
        n => {
            return char::from_u32(n)
                .map(String::from)
                .unwrap_or_else(|| "\u{FFFD}".to_owned())
        }
    };
    replacement.to_owned()
}

// ---------------------------------------------------------------------------
// Tables generated from ftfy 6.3.1 (`chardata.py`, `badness.py`) and
// CPython's codecs. Character-class strings are in `regex` syntax.
// ---------------------------------------------------------------------------

/// Latin-1: bytes 0x80..=0xFF are the code points of the same number.
static LATIN_1: [u16; 128] = {
    let mut table = [0u16; 128];
    let mut i = 0;
    while i < 128 {
        table[i] = 0x80 + i as u16;
        i += 1;
    }
    table
};

const SLOPPY_WINDOWS_1252: [u16; 128] = [
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178, 0x00A0, 0x00A1, 0x00A2, 0x00A3,
    0x00A4, 0x00A5, 0x00A6, 0x00A7, 0x00A8, 0x00A9, 0x00AA, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x00AF,
    0x00B0, 0x00B1, 0x00B2, 0x00B3, 0x00B4, 0x00B5, 0x00B6, 0x00B7, 0x00B8, 0x00B9, 0x00BA, 0x00BB,
    0x00BC, 0x00BD, 0x00BE, 0x00BF, 0x00C0, 0x00C1, 0x00C2, 0x00C3, 0x00C4, 0x00C5, 0x00C6, 0x00C7,
    0x00C8, 0x00C9, 0x00CA, 0x00CB, 0x00CC, 0x00CD, 0x00CE, 0x00CF, 0x00D0, 0x00D1, 0x00D2, 0x00D3,
    0x00D4, 0x00D5, 0x00D6, 0x00D7, 0x00D8, 0x00D9, 0x00DA, 0x00DB, 0x00DC, 0x00DD, 0x00DE, 0x00DF,
    0x00E0, 0x00E1, 0x00E2, 0x00E3, 0x00E4, 0x00E5, 0x00E6, 0x00E7, 0x00E8, 0x00E9, 0x00EA, 0x00EB,
    0x00EC, 0x00ED, 0x00EE, 0x00EF, 0x00F0, 0x00F1, 0x00F2, 0x00F3, 0x00F4, 0x00F5, 0x00F6, 0x00F7,
    0x00F8, 0x00F9, 0x00FA, 0x00FB, 0x00FC, 0x00FD, 0x00FE, 0x00FF,
];
const SLOPPY_WINDOWS_1251: [u16; 128] = [
    0x0402, 0x0403, 0x201A, 0x0453, 0x201E, 0x2026, 0x2020, 0x2021, 0x20AC, 0x2030, 0x0409, 0x2039,
    0x040A, 0x040C, 0x040B, 0x040F, 0x0452, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x0098, 0x2122, 0x0459, 0x203A, 0x045A, 0x045C, 0x045B, 0x045F, 0x00A0, 0x040E, 0x045E, 0x0408,
    0x00A4, 0x0490, 0x00A6, 0x00A7, 0x0401, 0x00A9, 0x0404, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x0407,
    0x00B0, 0x00B1, 0x0406, 0x0456, 0x0491, 0x00B5, 0x00B6, 0x00B7, 0x0451, 0x2116, 0x0454, 0x00BB,
    0x0458, 0x0405, 0x0455, 0x0457, 0x0410, 0x0411, 0x0412, 0x0413, 0x0414, 0x0415, 0x0416, 0x0417,
    0x0418, 0x0419, 0x041A, 0x041B, 0x041C, 0x041D, 0x041E, 0x041F, 0x0420, 0x0421, 0x0422, 0x0423,
    0x0424, 0x0425, 0x0426, 0x0427, 0x0428, 0x0429, 0x042A, 0x042B, 0x042C, 0x042D, 0x042E, 0x042F,
    0x0430, 0x0431, 0x0432, 0x0433, 0x0434, 0x0435, 0x0436, 0x0437, 0x0438, 0x0439, 0x043A, 0x043B,
    0x043C, 0x043D, 0x043E, 0x043F, 0x0440, 0x0441, 0x0442, 0x0443, 0x0444, 0x0445, 0x0446, 0x0447,
    0x0448, 0x0449, 0x044A, 0x044B, 0x044C, 0x044D, 0x044E, 0x044F,
];
const SLOPPY_WINDOWS_1250: [u16; 128] = [
    0x20AC, 0x0081, 0x201A, 0x0083, 0x201E, 0x2026, 0x2020, 0x2021, 0x0088, 0x2030, 0x0160, 0x2039,
    0x015A, 0x0164, 0x017D, 0x0179, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x0098, 0x2122, 0x0161, 0x203A, 0x015B, 0x0165, 0x017E, 0x017A, 0x00A0, 0x02C7, 0x02D8, 0x0141,
    0x00A4, 0x0104, 0x00A6, 0x00A7, 0x00A8, 0x00A9, 0x015E, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x017B,
    0x00B0, 0x00B1, 0x02DB, 0x0142, 0x00B4, 0x00B5, 0x00B6, 0x00B7, 0x00B8, 0x0105, 0x015F, 0x00BB,
    0x013D, 0x02DD, 0x013E, 0x017C, 0x0154, 0x00C1, 0x00C2, 0x0102, 0x00C4, 0x0139, 0x0106, 0x00C7,
    0x010C, 0x00C9, 0x0118, 0x00CB, 0x011A, 0x00CD, 0x00CE, 0x010E, 0x0110, 0x0143, 0x0147, 0x00D3,
    0x00D4, 0x0150, 0x00D6, 0x00D7, 0x0158, 0x016E, 0x00DA, 0x0170, 0x00DC, 0x00DD, 0x0162, 0x00DF,
    0x0155, 0x00E1, 0x00E2, 0x0103, 0x00E4, 0x013A, 0x0107, 0x00E7, 0x010D, 0x00E9, 0x0119, 0x00EB,
    0x011B, 0x00ED, 0x00EE, 0x010F, 0x0111, 0x0144, 0x0148, 0x00F3, 0x00F4, 0x0151, 0x00F6, 0x00F7,
    0x0159, 0x016F, 0x00FA, 0x0171, 0x00FC, 0x00FD, 0x0163, 0x02D9,
];
const SLOPPY_WINDOWS_1253: [u16; 128] = [
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x0088, 0x2030, 0x008A, 0x2039,
    0x008C, 0x008D, 0x008E, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x0098, 0x2122, 0x009A, 0x203A, 0x009C, 0x009D, 0x009E, 0x009F, 0x00A0, 0x0385, 0x0386, 0x00A3,
    0x00A4, 0x00A5, 0x00A6, 0x00A7, 0x00A8, 0x00A9, 0x00AA, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x2015,
    0x00B0, 0x00B1, 0x00B2, 0x00B3, 0x0384, 0x00B5, 0x00B6, 0x00B7, 0x0388, 0x0389, 0x038A, 0x00BB,
    0x038C, 0x00BD, 0x038E, 0x038F, 0x0390, 0x0391, 0x0392, 0x0393, 0x0394, 0x0395, 0x0396, 0x0397,
    0x0398, 0x0399, 0x039A, 0x039B, 0x039C, 0x039D, 0x039E, 0x039F, 0x03A0, 0x03A1, 0x00D2, 0x03A3,
    0x03A4, 0x03A5, 0x03A6, 0x03A7, 0x03A8, 0x03A9, 0x03AA, 0x03AB, 0x03AC, 0x03AD, 0x03AE, 0x03AF,
    0x03B0, 0x03B1, 0x03B2, 0x03B3, 0x03B4, 0x03B5, 0x03B6, 0x03B7, 0x03B8, 0x03B9, 0x03BA, 0x03BB,
    0x03BC, 0x03BD, 0x03BE, 0x03BF, 0x03C0, 0x03C1, 0x03C2, 0x03C3, 0x03C4, 0x03C5, 0x03C6, 0x03C7,
    0x03C8, 0x03C9, 0x03CA, 0x03CB, 0x03CC, 0x03CD, 0x03CE, 0x00FF,
];
const SLOPPY_WINDOWS_1254: [u16; 128] = [
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0x008D, 0x008E, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x009E, 0x0178, 0x00A0, 0x00A1, 0x00A2, 0x00A3,
    0x00A4, 0x00A5, 0x00A6, 0x00A7, 0x00A8, 0x00A9, 0x00AA, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x00AF,
    0x00B0, 0x00B1, 0x00B2, 0x00B3, 0x00B4, 0x00B5, 0x00B6, 0x00B7, 0x00B8, 0x00B9, 0x00BA, 0x00BB,
    0x00BC, 0x00BD, 0x00BE, 0x00BF, 0x00C0, 0x00C1, 0x00C2, 0x00C3, 0x00C4, 0x00C5, 0x00C6, 0x00C7,
    0x00C8, 0x00C9, 0x00CA, 0x00CB, 0x00CC, 0x00CD, 0x00CE, 0x00CF, 0x011E, 0x00D1, 0x00D2, 0x00D3,
    0x00D4, 0x00D5, 0x00D6, 0x00D7, 0x00D8, 0x00D9, 0x00DA, 0x00DB, 0x00DC, 0x0130, 0x015E, 0x00DF,
    0x00E0, 0x00E1, 0x00E2, 0x00E3, 0x00E4, 0x00E5, 0x00E6, 0x00E7, 0x00E8, 0x00E9, 0x00EA, 0x00EB,
    0x00EC, 0x00ED, 0x00EE, 0x00EF, 0x011F, 0x00F1, 0x00F2, 0x00F3, 0x00F4, 0x00F5, 0x00F6, 0x00F7,
    0x00F8, 0x00F9, 0x00FA, 0x00FB, 0x00FC, 0x0131, 0x015F, 0x00FF,
];
const SLOPPY_WINDOWS_1257: [u16; 128] = [
    0x20AC, 0x0081, 0x201A, 0x0083, 0x201E, 0x2026, 0x2020, 0x2021, 0x0088, 0x2030, 0x008A, 0x2039,
    0x008C, 0x00A8, 0x02C7, 0x00B8, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x0098, 0x2122, 0x009A, 0x203A, 0x009C, 0x00AF, 0x02DB, 0x009F, 0x00A0, 0x00A1, 0x00A2, 0x00A3,
    0x00A4, 0x00A5, 0x00A6, 0x00A7, 0x00D8, 0x00A9, 0x0156, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x00C6,
    0x00B0, 0x00B1, 0x00B2, 0x00B3, 0x00B4, 0x00B5, 0x00B6, 0x00B7, 0x00F8, 0x00B9, 0x0157, 0x00BB,
    0x00BC, 0x00BD, 0x00BE, 0x00E6, 0x0104, 0x012E, 0x0100, 0x0106, 0x00C4, 0x00C5, 0x0118, 0x0112,
    0x010C, 0x00C9, 0x0179, 0x0116, 0x0122, 0x0136, 0x012A, 0x013B, 0x0160, 0x0143, 0x0145, 0x00D3,
    0x014C, 0x00D5, 0x00D6, 0x00D7, 0x0172, 0x0141, 0x015A, 0x016A, 0x00DC, 0x017B, 0x017D, 0x00DF,
    0x0105, 0x012F, 0x0101, 0x0107, 0x00E4, 0x00E5, 0x0119, 0x0113, 0x010D, 0x00E9, 0x017A, 0x0117,
    0x0123, 0x0137, 0x012B, 0x013C, 0x0161, 0x0144, 0x0146, 0x00F3, 0x014D, 0x00F5, 0x00F6, 0x00F7,
    0x0173, 0x0142, 0x015B, 0x016B, 0x00FC, 0x017C, 0x017E, 0x02D9,
];
const ISO_8859_2: [u16; 128] = [
    0x0080, 0x0081, 0x0082, 0x0083, 0x0084, 0x0085, 0x0086, 0x0087, 0x0088, 0x0089, 0x008A, 0x008B,
    0x008C, 0x008D, 0x008E, 0x008F, 0x0090, 0x0091, 0x0092, 0x0093, 0x0094, 0x0095, 0x0096, 0x0097,
    0x0098, 0x0099, 0x009A, 0x009B, 0x009C, 0x009D, 0x009E, 0x009F, 0x00A0, 0x0104, 0x02D8, 0x0141,
    0x00A4, 0x013D, 0x015A, 0x00A7, 0x00A8, 0x0160, 0x015E, 0x0164, 0x0179, 0x00AD, 0x017D, 0x017B,
    0x00B0, 0x0105, 0x02DB, 0x0142, 0x00B4, 0x013E, 0x015B, 0x02C7, 0x00B8, 0x0161, 0x015F, 0x0165,
    0x017A, 0x02DD, 0x017E, 0x017C, 0x0154, 0x00C1, 0x00C2, 0x0102, 0x00C4, 0x0139, 0x0106, 0x00C7,
    0x010C, 0x00C9, 0x0118, 0x00CB, 0x011A, 0x00CD, 0x00CE, 0x010E, 0x0110, 0x0143, 0x0147, 0x00D3,
    0x00D4, 0x0150, 0x00D6, 0x00D7, 0x0158, 0x016E, 0x00DA, 0x0170, 0x00DC, 0x00DD, 0x0162, 0x00DF,
    0x0155, 0x00E1, 0x00E2, 0x0103, 0x00E4, 0x013A, 0x0107, 0x00E7, 0x010D, 0x00E9, 0x0119, 0x00EB,
    0x011B, 0x00ED, 0x00EE, 0x010F, 0x0111, 0x0144, 0x0148, 0x00F3, 0x00F4, 0x0151, 0x00F6, 0x00F7,
    0x0159, 0x016F, 0x00FA, 0x0171, 0x00FC, 0x00FD, 0x0163, 0x02D9,
];
const MACROMAN: [u16; 128] = [
    0x00C4, 0x00C5, 0x00C7, 0x00C9, 0x00D1, 0x00D6, 0x00DC, 0x00E1, 0x00E0, 0x00E2, 0x00E4, 0x00E3,
    0x00E5, 0x00E7, 0x00E9, 0x00E8, 0x00EA, 0x00EB, 0x00ED, 0x00EC, 0x00EE, 0x00EF, 0x00F1, 0x00F3,
    0x00F2, 0x00F4, 0x00F6, 0x00F5, 0x00FA, 0x00F9, 0x00FB, 0x00FC, 0x2020, 0x00B0, 0x00A2, 0x00A3,
    0x00A7, 0x2022, 0x00B6, 0x00DF, 0x00AE, 0x00A9, 0x2122, 0x00B4, 0x00A8, 0x2260, 0x00C6, 0x00D8,
    0x221E, 0x00B1, 0x2264, 0x2265, 0x00A5, 0x00B5, 0x2202, 0x2211, 0x220F, 0x03C0, 0x222B, 0x00AA,
    0x00BA, 0x03A9, 0x00E6, 0x00F8, 0x00BF, 0x00A1, 0x00AC, 0x221A, 0x0192, 0x2248, 0x2206, 0x00AB,
    0x00BB, 0x2026, 0x00A0, 0x00C0, 0x00C3, 0x00D5, 0x0152, 0x0153, 0x2013, 0x2014, 0x201C, 0x201D,
    0x2018, 0x2019, 0x00F7, 0x25CA, 0x00FF, 0x0178, 0x2044, 0x20AC, 0x2039, 0x203A, 0xFB01, 0xFB02,
    0x2021, 0x00B7, 0x201A, 0x201E, 0x2030, 0x00C2, 0x00CA, 0x00C1, 0x00CB, 0x00C8, 0x00CD, 0x00CE,
    0x00CF, 0x00CC, 0x00D3, 0x00D4, 0xF8FF, 0x00D2, 0x00DA, 0x00DB, 0x00D9, 0x0131, 0x02C6, 0x02DC,
    0x00AF, 0x02D8, 0x02D9, 0x02DA, 0x00B8, 0x02DD, 0x02DB, 0x02C7,
];
const CP437: [u16; 128] = [
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7, 0x00EA, 0x00EB, 0x00E8, 0x00EF,
    0x00EE, 0x00EC, 0x00C4, 0x00C5, 0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9,
    0x00FF, 0x00D6, 0x00DC, 0x00A2, 0x00A3, 0x00A5, 0x20A7, 0x0192, 0x00E1, 0x00ED, 0x00F3, 0x00FA,
    0x00F1, 0x00D1, 0x00AA, 0x00BA, 0x00BF, 0x2310, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB,
    0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556, 0x2555, 0x2563, 0x2551, 0x2557,
    0x255D, 0x255C, 0x255B, 0x2510, 0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F,
    0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x2567, 0x2568, 0x2564, 0x2565, 0x2559,
    0x2558, 0x2552, 0x2553, 0x256B, 0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580,
    0x03B1, 0x00DF, 0x0393, 0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4, 0x03A6, 0x0398, 0x03A9, 0x03B4,
    0x221E, 0x03C6, 0x03B5, 0x2229, 0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248,
    0x00B0, 0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0,
];
// ---- clues
const UTF8_FIRST_OF_2: &str = r"ĂÂÄĀÅÃÆĆČÇĎĐÉĚÊËĖÈĒĘÐĞĢÍÎÏİÌĪĶĹĻŁŃŇŅÑÓÔÖŐÒŌØÕŘŚŠŞŢÞÚÛÜŰÙŪŲŮÝŹŽŻß×ΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩΪΫάέήίВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ";
const UTF8_FIRST_OF_3: &str =
    r"áăâäàāąåãæćčçďéěêëėèēęęģíîïìīįķĺļŕźΰαβγδεζηθικλμνξοабвгдежзийклмноп";
const UTF8_FIRST_OF_4: &str = r"đðğóšπσру";
const UTF8_CONTINUATION: &str = r"\x{80}-¿\x{20}ĄÆĽŁØŖŚŠŞŤŸŹŽŻŒąæƒľłøŗśšşťźžżœˆˇ˘˛˜˝΄΅ΆΈΉΊΌΎΏЁЂЃЄЅІЇЈЉЊЋЌЎЏёђѓєѕіїјљњћќўџҐґ–—\x{2015}‘’‚“”„†‡•…‰‹›€№™";
const UTF8_CONTINUATION_STRICT: &str =
    r"\x{80}-¿ĄÆĽŁØŖŚŠŞŤŸŹŽŻŒąæƒľłøŗśšşťźžżœˆˇ˘˛˜˝΄΅ΆΈΉΊΌΎΏЁЂЃЄЅІЇЈЉЊЋЌЎЏёђѓєѕіїјљњћќўџҐґ†‡‰‹›€№™";
// ---- categories
const COMMON: &str = r"\x{A0}\x{AD}·´–—\x{2015}…’";
const C1: &str = r"\x{80}-\x{9F}";
const BAD: &str = r"¦¤¨¬¯¸ƒˆˇ˘˛˜†‡‰⌐◊�ªº";
const LAW: &str = r"¶§";
const CURRENCY: &str = r"¢£¥₧€";
const START_PUNCTUATION: &str = r"¡«¿©΄΅‘‚“„•‹\x{F8FF}";
const END_PUNCTUATION: &str = r"®»˝”›™";
const NUMERIC: &str = r"²³¹±¼½¾×µ÷⁄∂∆∏∑√∞∩∫≈≠≡≤≥№";
const KAOMOJI: &str = r"Ò-ÖÙ-Üò-öø-üŐŌŪŲ°";
const UPPER_ACCENTED: &str = r"À-ÑØÜÝĂĀĄĆČĎĐĘĚĒĖĞĢİĪĶĹĽŁĻŃŇŅŒŘŚŞŠŢŤŮŰŸŹŻŽҐ";
const LOWER_ACCENTED: &str = r"ßà-ñăąāćčďđęěēėğģįīķĺľłļœŕśşšťüźżžґﬁﬂ";
const UPPER_COMMON: &str = r"ÞΑ-ΩΆΈΉΊΌΎΏΪΫЁ-Я";
const LOWER_COMMON: &str = r"α-ωάέήίΰа-џ";
const BOX: &str = r"│┌┐┘├┤┬┼═-╬▀▄█▌▐░▒▓";

#[cfg(test)]
mod tests {
    use super::clean_text;

    #[test]
    fn curly_quotes_are_straightened() {
        assert_eq!(
            clean_text("It\u{2019}s a \u{201C}quote\u{201D}"),
            "it's a \"quote\""
        );
    }

    #[test]
    fn full_width_and_ideographic_space() {
        assert_eq!(clean_text("ＬＯＵＤ\u{3000}ＮＯＩＳＥＳ"), "loud noises");
    }

    #[test]
    fn latin_ligatures_are_split() {
        assert_eq!(clean_text("\u{FB01}le \u{FB02}ower"), "file flower");
    }

    #[test]
    fn entities_are_decoded_twice() {
        assert_eq!(clean_text("cats &amp; dogs"), "cats & dogs");
        assert_eq!(clean_text("&amp;amp; &lt;b&gt;"), "& <b>");
        assert_eq!(clean_text("&copy 2020"), "\u{A9} 2020");
        assert_eq!(clean_text("P&EACUTE;REZ"), "p\u{E9}rez");
        // A literal '<' turns ftfy's unescaping off; open_clip's own
        // html.unescape still decodes the entity.
        assert_eq!(clean_text("x < y &amp; z"), "x < y & z");
        // Python deletes references to control characters.
        assert_eq!(clean_text("a&#1;b"), "ab");
    }

    #[test]
    fn mojibake_is_repaired() {
        assert_eq!(clean_text("caf\u{C3}\u{A9}"), "caf\u{E9}");
        assert_eq!(clean_text("don\u{E2}\u{20AC}\u{2122}t"), "don't");
        assert_eq!(clean_text("\u{C3}\u{BC}ber"), "\u{FC}ber");
    }

    #[test]
    fn byte_order_mark_is_removed() {
        assert_eq!(clean_text("\u{FEFF}hello"), "hello");
    }

    #[test]
    fn control_characters_and_escapes_are_removed() {
        assert_eq!(clean_text("a\u{0}b\u{7}c\u{1B}d"), "abcd");
        assert_eq!(clean_text("\u{1B}[31mred\u{1B}[0m"), "red");
    }

    #[test]
    fn empty_and_whitespace_only() {
        assert_eq!(clean_text(""), "");
        assert_eq!(clean_text(" \t\r\n\u{3000}\u{A0} "), "");
    }

    #[test]
    fn whitespace_collapses_and_final_sigma_lowercases() {
        assert_eq!(
            clean_text("  A\tdog\r\n on\u{2028}grass "),
            "a dog on grass"
        );
        assert_eq!(clean_text("ΟΔΟΣ"), "οδος");
        assert!(clean_text("ΟΔΟΣ").ends_with('\u{3C2}'));
    }
}
