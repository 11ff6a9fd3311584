//! Dates typed into the search box: "beach last summer", "receipts from March
//! 2019", "snow 2021", "christmas 2018", "from May to July 2020".
//!
//! Deterministic English rules over the words of the query. What is understood
//! becomes a date range (civil days, the photo's local time, as EXIF records it)
//! and is taken out of the text that goes to CLIP; each understood phrase comes
//! back as a [`Chip`] so a person can undo it (`keep`), as in "the march of the
//! penguins". Quoted text, `key:value` words, file paths and the ` + ` / ` - `
//! operators are never read as dates.
//!
//! Conventions (chosen, and documented in the README):
//! - seasons are meteorological and northern: spring March–May, summer
//!   June–August, autumn (fall) September–November, winter December–February
//!   (winter 2019 is the one that begins in December 2019);
//! - a bare month or day ("march", "june 3") is the latest one that has begun;
//!   "last X" is the latest X that ended before today, "this X" the one of this
//!   year (or week, or month);
//! - "last week" / "last month" / "last year" are calendar periods (weeks start
//!   on Monday); "past 3 days" / "last 3 days" / "past week" are rolling and end
//!   today;
//! - a bare season or holiday ("winter", "christmas") stays text: CLIP knows
//!   what they look like. With a year or "last"/"this" a holiday is a date and
//!   its name also stays in the text ("christmas 2018" → CLIP "christmas",
//!   24–26 December 2018);
//! - years are 1900 to next year, so "2041" in a file name stays text.

use crate::dates::{civil_from_days, days_from_civil};

/// A range of civil days, `[start, end)`; either side open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub start: Option<i64>,
    pub end: Option<i64>,
}

impl DayRange {
    fn closed(start: i64, end: i64) -> Self {
        DayRange {
            start: Some(start),
            end: Some(end),
        }
    }

    /// Both ranges at once (two date phrases in one query narrow each other).
    pub fn intersect(self, other: DayRange) -> DayRange {
        DayRange {
            start: tighter(self.start, other.start, i64::max),
            end: tighter(self.end, other.end, i64::min),
        }
    }

    /// Seconds since the epoch of the start (civil time read as UTC, as EXIF dates are kept).
    pub fn after_seconds(&self) -> Option<i64> {
        self.start.map(|d| d * 86_400)
    }

    /// Seconds since the epoch of the (exclusive) end.
    pub fn before_seconds(&self) -> Option<i64> {
        self.end.map(|d| d * 86_400)
    }

    /// "2019", "March 2019", "3 March 2019", "1 May 2020 – 31 July 2020",
    /// "since 1 March 2024", "before 2019".
    pub fn label(&self) -> String {
        match (self.start, self.end) {
            (Some(a), Some(b)) => {
                let (ya, ma, da) = civil_from_days(a);
                let (yb, mb, db) = civil_from_days(b);
                if b == a + 1 {
                    day_label(a)
                } else if ma == 1 && da == 1 && mb == 1 && db == 1 && yb == ya + 1 {
                    format!("{ya}")
                } else if ma == 1 && da == 1 && mb == 1 && db == 1 {
                    format!("{ya} – {}", yb - 1)
                } else if da == 1 && db == 1 && next_month(ya, ma) == (yb, mb) {
                    format!("{} {ya}", MONTHS[ma as usize - 1].1)
                } else {
                    format!("{} – {}", day_label(a), day_label(b - 1))
                }
            }
            (Some(a), None) => format!("since {}", day_label(a)),
            (None, Some(b)) => format!("before {}", day_label(b)),
            (None, None) => "any time".to_string(),
        }
    }
}

fn day_label(d: i64) -> String {
    let (y, m, day) = civil_from_days(d);
    format!("{day} {} {y}", MONTHS[m as usize - 1].1)
}

fn iso(d: i64) -> String {
    let (y, m, day) = civil_from_days(d);
    format!("{y:04}-{m:02}-{day:02}")
}

/// One understood phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chip {
    /// What kind of thing was understood: "date" or "place".
    pub kind: &'static str,
    /// The words as typed ("last summer"), what `keep` takes to undo it.
    pub text: String,
    /// What scry understood ("summer 2026").
    pub label: String,
    /// First day, `YYYY-MM-DD`.
    pub after: Option<String>,
    /// The day after the last one, `YYYY-MM-DD` (exclusive).
    pub before: Option<String>,
}

/// What the search box's text meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Understood {
    /// The query without the understood phrases (what CLIP and keywords get).
    pub rest: String,
    /// Every understood date, narrowed together.
    pub range: Option<DayRange>,
    pub chips: Vec<Chip>,
}

/// Of two optional bounds, the one `pick` prefers (`max` for a start, `min`
/// for an end); either alone when the other is open.
fn tighter(a: Option<i64>, b: Option<i64>, pick: fn(i64, i64) -> i64) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(pick(x, y)),
        (x, y) => x.or(y),
    }
}

/// A typed query once its dates are read: what the CLI and the API search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// The text to search (CLIP and keywords).
    pub text: String,
    /// Capture date on or after, seconds since the epoch: the typed dates and
    /// the explicit bound, narrowed together.
    pub after: Option<i64>,
    /// Capture date before, seconds since the epoch (likewise).
    pub before: Option<i64>,
    /// The understood phrases, for the person to undo.
    pub chips: Vec<Chip>,
}

/// Reads the dates typed into `query` (none when `literal`) and narrows them
/// with the explicit `after`/`before` bounds (seconds). A query of dates only
/// lists the photos of that time: its text becomes "a photo", unless
/// `has_images` (the query also has example images, which carry it).
pub fn read(
    query: &str,
    today: i64,
    keep: &[String],
    literal: bool,
    has_images: bool,
    after: Option<i64>,
    before: Option<i64>,
) -> Reading {
    let understood = (!literal)
        .then(|| understand(query, today, keep))
        .and_then(|u| Some((u.range?, u)));
    let Some((range, u)) = understood else {
        return Reading {
            text: query.to_string(),
            after,
            before,
            chips: Vec::new(),
        };
    };
    Reading {
        text: if u.rest.trim().is_empty() && !has_images {
            "a photo".to_string()
        } else {
            u.rest
        },
        after: tighter(after, range.after_seconds(), i64::max),
        before: tighter(before, range.before_seconds(), i64::min),
        chips: u.chips,
    }
}

/// Reads the dates out of `query`, with `today` (days since 1970-01-01, the
/// local civil date) as the reference. Phrases in `keep` (as typed, any case)
/// stay text.
pub fn understand(query: &str, today: i64, keep: &[String]) -> Understood {
    let words = words(query);
    let mut removed: Vec<(usize, usize, Option<String>)> = Vec::new();
    let mut range: Option<DayRange> = None;
    let mut chips = Vec::new();
    let cx = Cx { today };
    let mut i = 0;
    while i < words.len() {
        if words[i].opaque {
            i += 1;
            continue;
        }
        // The run of plain words from here (a date never spans an operator or a quote).
        let end = (i..words.len())
            .find(|&j| words[j].opaque)
            .unwrap_or(words.len());
        let run = &words[i..end];
        let found = cx.phrase(run).filter(|m| {
            let text = &query[run[0].start..run[m.len - 1].end];
            !keep
                .iter()
                .any(|k| k.trim().eq_ignore_ascii_case(text.trim()))
        });
        match found {
            Some(m) => {
                let (s, e) = (run[0].start, run[m.len - 1].end);
                let text = query[s..e].to_string();
                let keep_text = m
                    .keep
                    .map(|(a, b)| query[run[a].start..run[b - 1].end].to_string());
                chips.push(Chip {
                    kind: "date",
                    text,
                    label: m.label.unwrap_or_else(|| m.range.label()),
                    after: m.range.start.map(iso),
                    before: m.range.end.map(iso),
                });
                range = Some(match range {
                    Some(r) => r.intersect(m.range),
                    None => m.range,
                });
                removed.push((s, e, keep_text));
                i += m.len;
            }
            None => i += 1,
        }
    }
    Understood {
        rest: tidy(query, &removed),
        range,
        chips,
    }
}

/// The query with the understood spans taken out, whitespace and dangling
/// operators tidied.
pub(crate) fn tidy(query: &str, removed: &[(usize, usize, Option<String>)]) -> String {
    if removed.is_empty() {
        return query.trim().to_string();
    }
    let mut out = String::new();
    let mut at = 0;
    for (s, e, keep) in removed {
        out.push_str(&query[at..*s]);
        if let Some(k) = keep {
            out.push_str(k);
        }
        out.push(' ');
        at = *e;
    }
    out.push_str(&query[at..]);
    // Collapse spaces; drop operators left with nothing on one side.
    let parts: Vec<&str> = out.split_whitespace().collect();
    let mut kept: Vec<&str> = Vec::new();
    for p in parts {
        let is_op = p == "+" || p == "-";
        if is_op && kept.last().is_none_or(|l| *l == "+" || *l == "-") {
            if kept.is_empty() && p == "-" {
                kept.push(p);
            }
            continue;
        }
        kept.push(p);
    }
    while kept.last().is_some_and(|l| *l == "+" || *l == "-") {
        kept.pop();
    }
    // Commas left at the edges of a removed phrase ("snow, 2021").
    let joined = kept.join(" ");
    joined
        .trim_matches(|c: char| c == ',' || c.is_whitespace())
        .replace(" ,", ",")
        .replace(",,", ",")
}

/// A word of the query: its span, its lower-cased core (edge punctuation off),
/// and whether it can be read at all.
#[derive(Debug)]
pub(crate) struct Word {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) core: String,
    /// Quoted, `key:value`, a path, an operator: never part of a date.
    pub(crate) opaque: bool,
}

pub(crate) fn words(query: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut in_quotes = false;
    let mut start = None;
    let mut quoted_word = false;
    let bytes = query.as_bytes();
    let push = |s: usize, e: usize, quoted: bool, out: &mut Vec<Word>| {
        let raw = &query[s..e];
        let core = raw
            .trim_matches(|c: char| matches!(c, ',' | '.' | ';' | '!' | '?' | '(' | ')' | '"'))
            .to_lowercase();
        let opaque = quoted
            || raw.contains(':')
            || raw == "+"
            || raw == "-"
            || raw.starts_with('/')
            || raw.starts_with("./")
            || raw.starts_with("../")
            || raw.starts_with('~')
            || core.is_empty();
        // The word's span without the punctuation around it, so "2019," takes no comma.
        let lead = raw.len() - raw.trim_start_matches(['(', '"']).len();
        let trail = raw.len()
            - raw
                .trim_end_matches([',', '.', ';', '!', '?', ')', '"'])
                .len();
        let (s2, e2) = if lead + trail < raw.len() {
            (s + lead, e - trail)
        } else {
            (s, e)
        };
        out.push(Word {
            start: s2,
            end: e2,
            core,
            opaque,
        });
    };
    for (i, c) in query.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                push(s, i, quoted_word || in_quotes, &mut out);
            }
            quoted_word = false;
            continue;
        }
        if start.is_none() {
            start = Some(i);
            quoted_word = in_quotes;
        }
        if c == '"' {
            in_quotes = !in_quotes;
            quoted_word = true;
        }
    }
    if let Some(s) = start {
        push(s, bytes.len(), quoted_word || in_quotes, &mut out);
    }
    out
}

/// A match at the start of a run of words.
struct Match {
    /// Words taken.
    len: usize,
    range: DayRange,
    /// A label other than the range's own ("summer 2026", "Christmas 2018").
    label: Option<String>,
    /// Words (indexes into the run, `[a, b)`) that stay in the text.
    keep: Option<(usize, usize)>,
}

/// A period before it is placed in a year.
#[derive(Debug, Clone, Copy)]
enum Point {
    /// Days `[start, end)`.
    Span(i64, i64),
    /// A month (and day) of no stated year.
    Month { month: u32, day: Option<u32> },
}

const MONTHS: [(&str, &str); 12] = [
    ("january", "January"),
    ("february", "February"),
    ("march", "March"),
    ("april", "April"),
    ("may", "May"),
    ("june", "June"),
    ("july", "July"),
    ("august", "August"),
    ("september", "September"),
    ("october", "October"),
    ("november", "November"),
    ("december", "December"),
];

fn month_of(w: &str) -> Option<u32> {
    let w = w.trim_end_matches('.');
    if w == "sept" {
        return Some(9);
    }
    MONTHS
        .iter()
        .position(|(full, _)| *full == w || (w.len() == 3 && full.starts_with(w)))
        .map(|i| i as u32 + 1)
}

fn next_month(y: i64, m: u32) -> (i64, u32) {
    if m == 12 {
        (y + 1, 1)
    } else {
        (y, m + 1)
    }
}

fn month_span(y: i64, m: u32) -> (i64, i64) {
    let (ny, nm) = next_month(y, m);
    (days_from_civil(y, m, 1), days_from_civil(ny, nm, 1))
}

fn days_in_month(y: i64, m: u32) -> u32 {
    let (a, b) = month_span(y, m);
    (b - a) as u32
}

fn day_of(w: &str) -> Option<u32> {
    let digits = w
        .strip_suffix("st")
        .or_else(|| w.strip_suffix("nd"))
        .or_else(|| w.strip_suffix("rd"))
        .or_else(|| w.strip_suffix("th"))
        .unwrap_or(w);
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let d: u32 = digits.parse().ok()?;
    (1..=31).contains(&d).then_some(d)
}

/// Monday = 0.
fn weekday(day: i64) -> i64 {
    (day + 3).rem_euclid(7)
}

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Seasons: name, first month, label.
const SEASONS: [(&str, u32, &str); 5] = [
    ("spring", 3, "spring"),
    ("summer", 6, "summer"),
    ("autumn", 9, "autumn"),
    ("fall", 9, "autumn"),
    ("winter", 12, "winter"),
];

fn season_span(first_month: u32, y: i64) -> (i64, i64) {
    let start = days_from_civil(y, first_month, 1);
    let (mut ey, mut em) = (y, first_month);
    for _ in 0..3 {
        (ey, em) = next_month(ey, em);
    }
    (start, days_from_civil(ey, em, 1))
}

/// Western Easter Sunday (the anonymous Gregorian computus).
fn easter(y: i64) -> i64 {
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    days_from_civil(y, month as u32, day as u32)
}

/// Holidays: the words, a label, and the days in year `y`.
type HolidayDays = fn(i64) -> (i64, i64);
const HOLIDAYS: [(&[&str], &str, HolidayDays); 10] = [
    (&["christmas", "eve"], "Christmas Eve", |y| {
        let d = days_from_civil(y, 12, 24);
        (d, d + 1)
    }),
    (&["christmas"], "Christmas", |y| {
        let d = days_from_civil(y, 12, 24);
        (d, d + 3)
    }),
    (&["xmas"], "Christmas", |y| {
        let d = days_from_civil(y, 12, 24);
        (d, d + 3)
    }),
    (&["new", "year's", "eve"], "New Year's Eve", |y| {
        let d = days_from_civil(y, 12, 31);
        (d, d + 1)
    }),
    (&["new", "years", "eve"], "New Year's Eve", |y| {
        let d = days_from_civil(y, 12, 31);
        (d, d + 1)
    }),
    (&["new", "year's", "day"], "New Year's Day", |y| {
        let d = days_from_civil(y, 1, 1);
        (d, d + 1)
    }),
    (&["halloween"], "Halloween", |y| {
        let d = days_from_civil(y, 10, 31);
        (d, d + 1)
    }),
    (&["valentine's", "day"], "Valentine's Day", |y| {
        let d = days_from_civil(y, 2, 14);
        (d, d + 1)
    }),
    (&["easter"], "Easter", |y| {
        // Good Friday to Easter Monday.
        let d = easter(y);
        (d - 2, d + 2)
    }),
    (&["thanksgiving"], "Thanksgiving", |y| {
        // The fourth Thursday of November (US), to the Sunday after.
        let first = days_from_civil(y, 11, 1);
        let thursday = first + (3 - weekday(first)).rem_euclid(7) + 21;
        (thursday, thursday + 4)
    }),
];

/// Words taken before a date and dropped with it.
const LEADING: [&str; 6] = ["in", "from", "during", "on", "around", "of"];

struct Cx {
    today: i64,
}

impl Cx {
    fn year(&self) -> i64 {
        civil_from_days(self.today).0
    }

    fn year_of(&self, w: &str) -> Option<i64> {
        if w.len() != 4 || !w.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let y: i64 = w.parse().ok()?;
        (1900..=self.year() + 1).contains(&y).then_some(y)
    }

    /// The latest occurrence that ended before today.
    fn latest_ended(&self, f: impl Fn(i64) -> (i64, i64)) -> (i64, i64) {
        let y = self.year();
        (0..3)
            .map(|back| f(y - back))
            .find(|&(_, end)| end <= self.today)
            .unwrap_or_else(|| f(y - 3))
    }

    /// The longest phrase at the start of `w`, prepositions included.
    fn phrase(&self, w: &[Word]) -> Option<Match> {
        let cores: Vec<&str> = w.iter().map(|w| w.core.as_str()).collect();
        let mut best: Option<Match> = None;
        let mut consider = |m: Option<Match>| {
            if let Some(m) = m {
                if best.as_ref().is_none_or(|b| m.len > b.len) {
                    best = Some(m);
                }
            }
        };
        consider(self.bounded(&cores));
        // "in", "from the", "during the", "the" before a date go with it.
        let mut lead = 0;
        while lead < cores.len() && lead < 2 {
            let c = cores[lead];
            if LEADING.contains(&c) || c == "the" {
                lead += 1;
                if let Some(mut m) = self.bounded(&cores[lead..]) {
                    // "the" goes with "the 90s" and "the summer of 2019", not
                    // with a lone month ("the march of the penguins").
                    if cores[..lead].contains(&"the")
                        && m.len == 1
                        && decade_of(cores[lead]).is_none()
                    {
                        break;
                    }
                    m.len += lead;
                    m.keep = m.keep.map(|(a, b)| (a + lead, b + lead));
                    consider(Some(m));
                }
            } else {
                break;
            }
        }
        best
    }

    /// Ranges and open ranges ("from X to Y", "between X and Y", "since X",
    /// "before X"), else one period.
    fn bounded(&self, c: &[&str]) -> Option<Match> {
        let first = *c.first()?;
        match first {
            "since" | "after" | "before" | "until" | "till" | "til" => {
                let m = self.single(&c[1..])?;
                let range = match first {
                    "since" => DayRange {
                        start: m.range.start,
                        end: None,
                    },
                    "after" => DayRange {
                        start: m.range.end,
                        end: None,
                    },
                    "before" => DayRange {
                        start: None,
                        end: m.range.start,
                    },
                    _ => DayRange {
                        start: None,
                        end: m.range.end,
                    },
                };
                return Some(Match {
                    len: m.len + 1,
                    range,
                    label: None,
                    keep: m.keep.map(|(a, b)| (a + 1, b + 1)),
                });
            }
            _ => {}
        }
        let (skip, joiners): (usize, &[&str]) = match first {
            "from" => (1, &["to", "until", "till", "through", "thru", "-", "–"]),
            "between" => (1, &["and", "-", "–"]),
            _ => (0, &["to", "until", "till", "through", "thru", "-", "–"]),
        };
        let mut best = None;
        // X JOIN Y, with X possibly without its year ("from may to july 2020").
        if let Some((xl, x)) = self.point(&c[skip..]) {
            let at = skip + xl;
            if c.get(at).is_some_and(|j| joiners.contains(j)) {
                if let Some((yl, y)) = self.point(&c[at + 1..]) {
                    if let Some(range) = self.join(x, y) {
                        best = Some(Match {
                            len: at + 1 + yl,
                            range,
                            label: None,
                            keep: None,
                        });
                    }
                }
            }
        }
        // "may-july 2020", "2018-2020": one word with a dash.
        if best.is_none() {
            if let Some(m) = self.dashed(&c[skip..]) {
                return Some(Match {
                    len: m.len + skip,
                    ..m
                });
            }
        }
        if best.is_some() || skip == 1 && first == "between" {
            return best;
        }
        self.single(c)
    }

    /// "may-july 2020", "2018-2020", "june–august".
    fn dashed(&self, c: &[&str]) -> Option<Match> {
        let w = *c.first()?;
        let (a, b) = w.split_once('-').or_else(|| w.split_once('–'))?;
        if let (Some(ya), Some(yb)) = (self.year_of(a), self.year_of(b)) {
            return (ya <= yb).then(|| Match {
                len: 1,
                range: DayRange::closed(days_from_civil(ya, 1, 1), days_from_civil(yb + 1, 1, 1)),
                label: None,
                keep: None,
            });
        }
        let (ma, mb) = (month_of(a)?, month_of(b)?);
        let (len, x, y) = match c.get(1).and_then(|w| self.year_of(w)) {
            Some(year) => {
                let (_, end) = month_span(year, mb);
                (
                    2,
                    Point::Month {
                        month: ma,
                        day: None,
                    },
                    Point::Span(end - 1, end),
                )
            }
            None => (
                1,
                Point::Month {
                    month: ma,
                    day: None,
                },
                Point::Month {
                    month: mb,
                    day: None,
                },
            ),
        };
        let range = self.join(x, y)?;
        // "may-july 2020" ends with July, not with its last day alone.
        let range = match (c.get(1).and_then(|w| self.year_of(w)), range.start) {
            (Some(year), Some(s)) => DayRange::closed(s, month_span(year, mb).1),
            _ => range,
        };
        Some(Match {
            len,
            range,
            label: None,
            keep: None,
        })
    }

    /// A range from two points; a yearless start takes the end's year (the
    /// year before when it would come after the end), a yearless end the start's.
    fn join(&self, x: Point, y: Point) -> Option<DayRange> {
        let place = |p: Point, y: i64| -> Option<(i64, i64)> {
            match p {
                Point::Span(a, b) => Some((a, b)),
                Point::Month { month, day } => Some(month_day(y, month, day)?),
            }
        };
        let (a, b) = match (x, y) {
            (Point::Span(a0, a1), Point::Span(b0, b1)) => ((a0, a1), (b0, b1)),
            (Point::Month { .. }, Point::Span(b0, b1)) => {
                let year = civil_from_days(b1 - 1).0;
                let mut a = place(x, year)?;
                if a.0 > b0 {
                    a = place(x, year - 1)?;
                }
                (a, (b0, b1))
            }
            (Point::Span(a0, a1), Point::Month { .. }) => {
                let year = civil_from_days(a0).0;
                let mut b = place(y, year)?;
                if b.1 <= a0 {
                    b = place(y, year + 1)?;
                }
                ((a0, a1), b)
            }
            (Point::Month { .. }, Point::Month { .. }) => {
                // Both without a year: the latest such stretch that has begun.
                let year = self.year();
                let mut a = place(x, year)?;
                if a.0 > self.today {
                    a = place(x, year - 1)?;
                }
                let ay = civil_from_days(a.0).0;
                let mut b = place(y, ay)?;
                if b.1 <= a.0 {
                    b = place(y, ay + 1)?;
                }
                (a, b)
            }
        };
        (a.0 < b.1).then(|| DayRange::closed(a.0, b.1))
    }

    /// A point with no year placed as a person means it alone: the latest one begun.
    fn alone(&self, p: Point) -> Option<(i64, i64)> {
        match p {
            Point::Span(a, b) => Some((a, b)),
            Point::Month { month, day } => {
                let y = self.year();
                let this = month_day(y, month, day)?;
                if this.0 <= self.today {
                    Some(this)
                } else {
                    month_day(y - 1, month, day)
                }
            }
        }
    }

    /// One period, with its own words: relative phrases, holidays, seasons,
    /// months, days, years, decades.
    fn single(&self, c: &[&str]) -> Option<Match> {
        let m = |len: usize, (a, b): (i64, i64)| Match {
            len,
            range: DayRange::closed(a, b),
            label: None,
            keep: None,
        };
        let first = *c.first()?;
        let today = self.today;
        // Relative days.
        match first {
            "today" | "tonight" => return Some(m(1, (today, today + 1))),
            "yesterday" => return Some(m(1, (today - 1, today))),
            _ => {}
        }
        if c.len() >= 4 && c[..4] == ["the", "day", "before", "yesterday"] {
            return Some(m(4, (today - 2, today - 1)));
        }
        if c.len() >= 3 && c[..3] == ["day", "before", "yesterday"] {
            return Some(m(3, (today - 2, today - 1)));
        }
        // "this week", "last month", "last summer", "last friday", "last christmas".
        if matches!(first, "this" | "last" | "past" | "previous") {
            if let Some(found) = self.relative(first, &c[1..]) {
                return Some(Match {
                    len: found.len + 1,
                    keep: found.keep.map(|(a, b)| (a + 1, b + 1)),
                    ..found
                });
            }
        }
        // "3 days ago", "a year ago".
        if c.len() >= 3 && c[2] == "ago" {
            let n: i64 = match c[0] {
                "a" | "an" | "one" => 1,
                w => small_number(w)?,
            };
            if let Some(r) = self.ago(n, c[1]) {
                return Some(m(3, r));
            }
        }
        // Holidays with a year ("christmas 2018", "easter of 2019").
        for (words, label, days) in HOLIDAYS.iter() {
            if c.len() > words.len() && c[..words.len()] == **words {
                let mut at = words.len();
                if c.get(at) == Some(&"of") {
                    at += 1;
                }
                if let Some(y) = c.get(at).and_then(|w| self.year_of(w)) {
                    return Some(Match {
                        len: at + 1,
                        range: {
                            let (a, b) = days(y);
                            DayRange::closed(a, b)
                        },
                        label: Some(format!("{label} {y}")),
                        keep: Some((0, words.len())),
                    });
                }
            }
        }
        // Seasons with a year ("summer 2019", "summer of 2019").
        if let Some(&(_, first_month, label)) = SEASONS.iter().find(|s| s.0 == first) {
            let at = if c.get(1) == Some(&"of") { 2 } else { 1 };
            if let Some(y) = c.get(at).and_then(|w| self.year_of(w)) {
                return Some(Match {
                    len: at + 1,
                    range: {
                        let (a, b) = season_span(first_month, y);
                        DayRange::closed(a, b)
                    },
                    label: Some(format!("{label} {y}")),
                    keep: None,
                });
            }
        }
        // Decades: "1990s", "90s", "'90s", "the nineties" is left to CLIP.
        if let Some(decade) = decade_of(first) {
            return Some(m(
                1,
                (
                    days_from_civil(decade, 1, 1),
                    days_from_civil(decade + 10, 1, 1),
                ),
            ));
        }
        // Everything else is a calendar point.
        let (len, p) = self.point(c)?;
        // A bare "may" is a verb more often than a month; "march" alone is
        // understood (and undoable), "may" needs a day or a year.
        if len == 1 && first == "may" {
            return None;
        }
        Some(m(len, self.alone(p)?))
    }

    /// After "this", "last", "past", "previous".
    fn relative(&self, which: &str, c: &[&str]) -> Option<Match> {
        let today = self.today;
        let (y, mo, _) = civil_from_days(today);
        let m = |len: usize, (a, b): (i64, i64)| Match {
            len,
            range: DayRange::closed(a, b),
            label: None,
            keep: None,
        };
        let first = *c.first()?;
        // "past 3 days", "last 2 weeks": rolling, ending today.
        if let Some(n) = small_number(first).or(match first {
            "few" => Some(3),
            _ => None,
        }) {
            let unit = *c.get(1)?;
            let days = match unit.trim_end_matches('s') {
                "day" => n,
                "week" => 7 * n,
                "month" => {
                    let back = month_back(y, mo, n);
                    let (by, bm) = back;
                    let d = civil_from_days(today).2.min(days_in_month(by, bm));
                    return Some(m(2, (days_from_civil(by, bm, d) + 1, today + 1)));
                }
                "year" => {
                    let (_, mo2, d) = civil_from_days(today);
                    let d = d.min(days_in_month(y - n, mo2));
                    return Some(m(2, (days_from_civil(y - n, mo2, d) + 1, today + 1)));
                }
                _ => return None,
            };
            return Some(m(2, (today - days + 1, today + 1)));
        }
        let week_start = today - weekday(today);
        match (which, first) {
            ("past", "week") => return Some(m(1, (today - 6, today + 1))),
            ("past", "month") => return Some(m(1, (today - 29, today + 1))),
            ("past", "year") => return Some(m(1, (today - 364, today + 1))),
            ("this", "week") => return Some(m(1, (week_start, week_start + 7))),
            ("last" | "previous", "week") => return Some(m(1, (week_start - 7, week_start))),
            ("this", "weekend") => return Some(m(1, (week_start + 5, week_start + 7))),
            ("last" | "previous", "weekend") => {
                // The Saturday and Sunday before this week (on a weekend too).
                let sat = week_start - 2;
                return Some(m(1, (sat, sat + 2)));
            }
            ("this", "month") => return Some(m(1, month_span(y, mo))),
            ("last" | "previous", "month") => {
                let (py, pm) = month_back(y, mo, 1);
                return Some(m(1, month_span(py, pm)));
            }
            ("this", "year") => {
                return Some(m(
                    1,
                    (days_from_civil(y, 1, 1), days_from_civil(y + 1, 1, 1)),
                ))
            }
            ("last" | "previous", "year") => {
                return Some(m(
                    1,
                    (days_from_civil(y - 1, 1, 1), days_from_civil(y, 1, 1)),
                ))
            }
            _ => {}
        }
        if which == "past" {
            return None;
        }
        // Weekdays: "last friday" (the latest before today), "this friday" (this week's).
        if let Some(wd) = WEEKDAYS.iter().position(|d| *d == first) {
            let wd = wd as i64;
            let day = if which == "this" {
                week_start + wd
            } else {
                let back = (weekday(today) - wd).rem_euclid(7);
                today - if back == 0 { 7 } else { back }
            };
            return Some(m(1, (day, day + 1)));
        }
        // Seasons.
        if let Some(&(_, first_month, label)) = SEASONS.iter().find(|s| s.0 == first) {
            let f = |yy: i64| season_span(first_month, yy);
            let span = if which == "this" {
                // The one this year (winter: the one that began last December, while it lasts).
                if first_month == 12 && mo <= 2 {
                    f(y - 1)
                } else {
                    f(y)
                }
            } else {
                self.latest_ended(f)
            };
            let start_year = civil_from_days(span.0).0;
            return Some(Match {
                label: Some(format!("{label} {start_year}")),
                ..m(1, span)
            });
        }
        // Holidays: "last christmas".
        for (words, label, days) in HOLIDAYS.iter() {
            if c.len() >= words.len() && c[..words.len()] == **words {
                let span = if which == "this" {
                    days(y)
                } else {
                    self.latest_ended(days)
                };
                let year = civil_from_days(span.0).0;
                return Some(Match {
                    len: words.len(),
                    range: DayRange::closed(span.0, span.1),
                    label: Some(format!("{label} {year}")),
                    keep: Some((0, words.len())),
                });
            }
        }
        // Months: "last march", "this june".
        if let Some(month) = month_of(first) {
            let f = |yy: i64| month_span(yy, month);
            let span = if which == "this" {
                f(y)
            } else {
                self.latest_ended(f)
            };
            return Some(m(1, span));
        }
        None
    }

    /// "N days ago" and the like: that day, calendar week, month or year.
    fn ago(&self, n: i64, unit: &str) -> Option<(i64, i64)> {
        let today = self.today;
        let (y, mo, _) = civil_from_days(today);
        match unit.trim_end_matches('s') {
            "day" => Some((today - n, today - n + 1)),
            "week" => {
                let ws = today - weekday(today) - 7 * n;
                Some((ws, ws + 7))
            }
            "month" => {
                let (py, pm) = month_back(y, mo, n);
                Some(month_span(py, pm))
            }
            "year" => Some((
                days_from_civil(y - n, 1, 1),
                days_from_civil(y - n + 1, 1, 1),
            )),
            _ => None,
        }
    }

    /// A calendar point: ISO dates, "march 2019", "march 3rd, 2019", "3 march",
    /// "the 3rd of march 2019", "2019", "june" (yearless).
    fn point(&self, c: &[&str]) -> Option<(usize, Point)> {
        let first = *c.first()?;
        // ISO: 2019-06, 2019-06-15, 2019/06/15.
        if let Some(p) = iso_point(first) {
            return Some((1, p));
        }
        if let Some(y) = self.year_of(first) {
            return Some((
                1,
                Point::Span(days_from_civil(y, 1, 1), days_from_civil(y + 1, 1, 1)),
            ));
        }
        // Day first: "3 march 2019", "3rd of march", "the 3rd of march".
        let (c, lead) = if first == "the" && c.len() > 1 && day_of(c[1]).is_some() {
            (&c[1..], 1)
        } else {
            (c, 0)
        };
        if let Some(day) = day_of(c[0]) {
            let at = if c.get(1) == Some(&"of") { 2 } else { 1 };
            let month = month_of(c.get(at)?)?;
            let after = at + 1;
            if let Some(y) = c.get(after).and_then(|w| self.year_of(w)) {
                let d = month_day(y, month, Some(day))?;
                return Some((lead + after + 1, Point::Span(d.0, d.1)));
            }
            return Some((
                lead + after,
                Point::Month {
                    month,
                    day: Some(day),
                },
            ));
        }
        if lead == 1 {
            return None;
        }
        // Month first: "march", "march 2019", "march of 2019", "march 3", "march 3rd, 2019".
        let month = month_of(first)?;
        let mut at = 1;
        let mut day = None;
        if let Some(d) = c.get(1).and_then(|w| day_of(w)) {
            day = Some(d);
            at = 2;
        } else if c.get(1) == Some(&"of") && c.get(2).and_then(|w| self.year_of(w)).is_some() {
            at = 2;
        }
        if let Some(y) = c.get(at).and_then(|w| self.year_of(w)) {
            let d = month_day(y, month, day)?;
            return Some((at + 1, Point::Span(d.0, d.1)));
        }
        // "march of" without a year: only the month.
        let at = if day.is_some() { 2 } else { 1 };
        Some((at, Point::Month { month, day }))
    }
}

/// A month (or a day of it) in a year; None for 31 February.
fn month_day(y: i64, month: u32, day: Option<u32>) -> Option<(i64, i64)> {
    match day {
        None => Some(month_span(y, month)),
        Some(d) if d <= days_in_month(y, month) => {
            let start = days_from_civil(y, month, d);
            Some((start, start + 1))
        }
        Some(_) => None,
    }
}

fn month_back(y: i64, m: u32, n: i64) -> (i64, u32) {
    let total = y * 12 + (m as i64 - 1) - n;
    (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32)
}

fn small_number(w: &str) -> Option<i64> {
    const WORDS: [&str; 12] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
        "twelve",
    ];
    if let Some(i) = WORDS.iter().position(|x| *x == w) {
        return Some(i as i64 + 1);
    }
    if w.is_empty() || w.len() > 3 || !w.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    w.parse().ok().filter(|&n: &i64| n >= 1)
}

fn decade_of(w: &str) -> Option<i64> {
    let w = w.trim_start_matches('\'').trim_start_matches('’');
    let digits = w.strip_suffix("s")?.trim_end_matches('\'');
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match digits.len() {
        4 => {
            let y: i64 = digits.parse().ok()?;
            (y % 10 == 0 && (1900..=2090).contains(&y)).then_some(y)
        }
        2 => {
            let d: i64 = digits.parse().ok()?;
            if d % 10 != 0 {
                return None;
            }
            Some(if d >= 30 { 1900 + d } else { 2000 + d })
        }
        _ => None,
    }
}

fn iso_point(w: &str) -> Option<Point> {
    let sep = if w.contains('-') {
        '-'
    } else if w.contains('/') {
        '/'
    } else {
        return None;
    };
    let parts: Vec<&str> = w.split(sep).collect();
    if parts[0].len() != 4
        || !parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let y: i64 = parts[0].parse().ok()?;
    if !(1900..=9999).contains(&y) {
        return None;
    }
    match parts.len() {
        2 if parts[1].len() <= 2 => {
            let m: u32 = parts[1].parse().ok()?;
            (1..=12).contains(&m).then(|| {
                let (a, b) = month_span(y, m);
                Point::Span(a, b)
            })
        }
        3 if parts[1].len() <= 2 && parts[2].len() <= 2 => {
            let m: u32 = parts[1].parse().ok()?;
            let d: u32 = parts[2].parse().ok()?;
            if !(1..=12).contains(&m) {
                return None;
            }
            let (a, b) = month_day(y, m, Some(d))?;
            Some(Point::Span(a, b))
        }
        _ => None,
    }
}

/// Today's civil date where this process runs (the local time zone), as days since 1970-01-01.
pub fn today_local() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    (now + local_offset_seconds(now)).div_euclid(86_400)
}

#[cfg(unix)]
fn local_offset_seconds(now: i64) -> i64 {
    let t = now as libc::time_t;
    // SAFETY: localtime_r writes into the tm we own; both pointers are valid.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return 0;
        }
        tm.tm_gmtoff
    }
}

#[cfg(not(unix))]
fn local_offset_seconds(_now: i64) -> i64 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Friday 4 December 2026.
    fn today() -> i64 {
        days_from_civil(2026, 12, 4)
    }

    fn d(s: &str) -> String {
        s.to_string()
    }

    /// (query, rest, first day, day after the last); "" for an open side, None
    /// for no date at all.
    type Case = (
        &'static str,
        &'static str,
        Option<(&'static str, &'static str)>,
    );
    #[rustfmt::skip]
    const CASES: &[Case] = &[
        // The examples.
        ("beach last summer", "beach", Some(("2026-06-01", "2026-09-01"))),
        ("receipts from March 2019", "receipts", Some(("2019-03-01", "2019-04-01"))),
        ("snow 2021", "snow", Some(("2021-01-01", "2022-01-01"))),
        ("christmas 2018", "christmas", Some(("2018-12-24", "2018-12-27"))),
        ("yesterday", "", Some(("2026-12-03", "2026-12-04"))),
        ("2019-06", "", Some(("2019-06-01", "2019-07-01"))),
        ("from May to July 2020", "", Some(("2020-05-01", "2020-08-01"))),
        ("the march of the penguins", "the of the penguins", Some(("2026-03-01", "2026-04-01"))),
        // Years and decades.
        ("dog 2019", "dog", Some(("2019-01-01", "2020-01-01"))),
        ("dog in 2019", "dog", Some(("2019-01-01", "2020-01-01"))),
        ("wedding during 2015", "wedding", Some(("2015-01-01", "2016-01-01"))),
        ("2027 calendar", "calendar", Some(("2027-01-01", "2028-01-01"))),
        ("IMG 2041", "IMG 2041", None),
        ("room 1066", "room 1066", None),
        ("1850 painting", "1850 painting", None),
        ("cars of the 1990s", "cars", Some(("1990-01-01", "2000-01-01"))),
        ("cars of the 90s", "cars", Some(("1990-01-01", "2000-01-01"))),
        ("fashion '80s", "fashion", Some(("1980-01-01", "1990-01-01"))),
        ("2010s skyline", "skyline", Some(("2010-01-01", "2020-01-01"))),
        ("the 20s", "", Some(("2020-01-01", "2030-01-01"))),
        ("1995s", "1995s", None),
        // Months.
        ("March 2019", "", Some(("2019-03-01", "2019-04-01"))),
        ("mar 2019 trip", "trip", Some(("2019-03-01", "2019-04-01"))),
        ("sept 2020", "", Some(("2020-09-01", "2020-10-01"))),
        ("in december of 2020", "", Some(("2020-12-01", "2021-01-01"))),
        ("february 2024", "", Some(("2024-02-01", "2024-03-01"))),
        ("june", "", Some(("2026-06-01", "2026-07-01"))),
        ("december", "", Some(("2026-12-01", "2027-01-01"))),
        ("in january", "", Some(("2026-01-01", "2026-02-01"))),
        ("it may rain", "it may rain", None),
        ("may 2020", "", Some(("2020-05-01", "2020-06-01"))),
        ("in may 2021 garden", "garden", Some(("2021-05-01", "2021-06-01"))),
        ("may 5", "", Some(("2026-05-05", "2026-05-06"))),
        ("last march", "", Some(("2026-03-01", "2026-04-01"))),
        ("last december", "", Some(("2025-12-01", "2026-01-01"))),
        ("this june", "", Some(("2026-06-01", "2026-07-01"))),
        // Days.
        ("march 3 2019", "", Some(("2019-03-03", "2019-03-04"))),
        ("march 3rd, 2019 party", "party", Some(("2019-03-03", "2019-03-04"))),
        ("3 march 2019", "", Some(("2019-03-03", "2019-03-04"))),
        ("3rd of march 2019", "", Some(("2019-03-03", "2019-03-04"))),
        ("on the 3rd of march 2019", "", Some(("2019-03-03", "2019-03-04"))),
        ("july 4th", "", Some(("2026-07-04", "2026-07-05"))),
        ("4th of july fireworks", "fireworks", Some(("2026-07-04", "2026-07-05"))),
        ("december 25", "", Some(("2025-12-25", "2025-12-26"))),
        ("february 29 2024", "", Some(("2024-02-29", "2024-03-01"))),
        ("february 30 2024", "february 30", Some(("2024-01-01", "2025-01-01"))),
        ("2019-06-15", "", Some(("2019-06-15", "2019-06-16"))),
        ("2019/06/15 picnic", "picnic", Some(("2019-06-15", "2019-06-16"))),
        ("2019-13", "2019-13", None),
        ("2019-02-30", "2019-02-30", None),
        // Relative days and weeks.
        ("today", "", Some(("2026-12-04", "2026-12-05"))),
        ("cake today", "cake", Some(("2026-12-04", "2026-12-05"))),
        ("the day before yesterday", "", Some(("2026-12-02", "2026-12-03"))),
        ("this week", "", Some(("2026-11-30", "2026-12-07"))),
        ("last week", "", Some(("2026-11-23", "2026-11-30"))),
        ("previous week", "", Some(("2026-11-23", "2026-11-30"))),
        ("past week", "", Some(("2026-11-28", "2026-12-05"))),
        ("last weekend", "", Some(("2026-11-28", "2026-11-30"))),
        ("this weekend", "", Some(("2026-12-05", "2026-12-07"))),
        ("last 3 days", "", Some(("2026-12-02", "2026-12-05"))),
        ("past 10 days", "", Some(("2026-11-25", "2026-12-05"))),
        ("past two weeks", "", Some(("2026-11-21", "2026-12-05"))),
        ("last friday", "", Some(("2026-11-27", "2026-11-28"))),
        ("last monday", "", Some(("2026-11-30", "2026-12-01"))),
        ("this monday", "", Some(("2026-11-30", "2026-12-01"))),
        ("3 days ago", "", Some(("2026-12-01", "2026-12-02"))),
        ("a week ago", "", Some(("2026-11-23", "2026-11-30"))),
        ("two weeks ago", "", Some(("2026-11-16", "2026-11-23"))),
        // Months and years, relative.
        ("this month", "", Some(("2026-12-01", "2027-01-01"))),
        ("last month", "", Some(("2026-11-01", "2026-12-01"))),
        ("past month", "", Some(("2026-11-05", "2026-12-05"))),
        ("last 3 months", "", Some(("2026-09-05", "2026-12-05"))),
        ("a month ago", "", Some(("2026-11-01", "2026-12-01"))),
        ("2 months ago", "", Some(("2026-10-01", "2026-11-01"))),
        ("this year", "", Some(("2026-01-01", "2027-01-01"))),
        ("last year", "", Some(("2025-01-01", "2026-01-01"))),
        ("past year", "", Some(("2025-12-05", "2026-12-05"))),
        ("last 2 years", "", Some(("2024-12-05", "2026-12-05"))),
        ("a year ago", "", Some(("2025-01-01", "2026-01-01"))),
        ("5 years ago", "", Some(("2021-01-01", "2022-01-01"))),
        // Seasons.
        ("summer 2019", "", Some(("2019-06-01", "2019-09-01"))),
        ("summer of 2019", "", Some(("2019-06-01", "2019-09-01"))),
        ("in the summer of 2019", "", Some(("2019-06-01", "2019-09-01"))),
        ("winter 2019", "", Some(("2019-12-01", "2020-03-01"))),
        ("fall 2020 leaves", "leaves", Some(("2020-09-01", "2020-12-01"))),
        ("autumn 2020", "", Some(("2020-09-01", "2020-12-01"))),
        ("spring 2022", "", Some(("2022-03-01", "2022-06-01"))),
        ("last winter", "", Some(("2025-12-01", "2026-03-01"))),
        ("last autumn", "", Some(("2026-09-01", "2026-12-01"))),
        ("this summer", "", Some(("2026-06-01", "2026-09-01"))),
        ("this winter", "", Some(("2026-12-01", "2027-03-01"))),
        ("winter", "winter", None),
        ("summer dress", "summer dress", None),
        // Holidays.
        ("christmas", "christmas", None),
        ("christmas tree", "christmas tree", None),
        ("last christmas", "christmas", Some(("2025-12-24", "2025-12-27"))),
        ("christmas eve 2020", "christmas eve", Some(("2020-12-24", "2020-12-25"))),
        ("party on new year's eve 2019", "party new year's eve", Some(("2019-12-31", "2020-01-01"))),
        ("halloween 2021 costumes", "halloween costumes", Some(("2021-10-31", "2021-11-01"))),
        ("last halloween", "halloween", Some(("2026-10-31", "2026-11-01"))),
        ("easter 2019", "easter", Some(("2019-04-19", "2019-04-23"))),
        ("easter 2024", "easter", Some(("2024-03-29", "2024-04-02"))),
        ("thanksgiving 2023", "thanksgiving", Some(("2023-11-23", "2023-11-27"))),
        ("valentine's day 2022", "valentine's day", Some(("2022-02-14", "2022-02-15"))),
        // Ranges.
        ("from 2018 to 2020", "", Some(("2018-01-01", "2021-01-01"))),
        ("between 2018 and 2020", "", Some(("2018-01-01", "2021-01-01"))),
        ("2018-2020", "", Some(("2018-01-01", "2021-01-01"))),
        ("may-july 2020", "", Some(("2020-05-01", "2020-08-01"))),
        ("from march 2019 to june 2019", "", Some(("2019-03-01", "2019-07-01"))),
        ("from november to february 2020", "", Some(("2019-11-01", "2020-03-01"))),
        ("from june 2020 to august", "", Some(("2020-06-01", "2020-09-01"))),
        ("from march 3 to march 10 2021", "", Some(("2021-03-03", "2021-03-11"))),
        ("since 2020", "", Some(("2020-01-01", ""))),
        ("since march", "", Some(("2026-03-01", ""))),
        ("after 2020", "", Some(("2021-01-01", ""))),
        ("before 2010", "", Some(("", "2010-01-01"))),
        ("until june 2015", "", Some(("", "2015-07-01"))),
        ("hike before 2010", "hike", Some(("", "2010-01-01"))),
        // Two dates narrow each other.
        ("summer 2019 july 2019", "", Some(("2019-07-01", "2019-08-01"))),
        // Not dates: quotes, keys, operators, paths.
        ("\"summer 2019\"", "\"summer 2019\"", None),
        ("like:2019", "like:2019", None),
        ("beach + 2019", "beach", Some(("2019-01-01", "2020-01-01"))),
        ("2019 + beach", "beach", Some(("2019-01-01", "2020-01-01"))),
        ("beach - 2019", "beach", Some(("2019-01-01", "2020-01-01"))),
        ("./2019/beach.jpg", "./2019/beach.jpg", None),
        ("2:beach", "2:beach", None),
        ("album:2019 dogs", "album:2019 dogs", None),
        ("gate B12", "gate B12", None),
        ("invoice 2023", "invoice", Some(("2023-01-01", "2024-01-01"))),
        ("snow, 2021", "snow", Some(("2021-01-01", "2022-01-01"))),
        ("beach in Lisbon last summer", "beach in Lisbon", Some(("2026-06-01", "2026-09-01"))),
        ("kids building a sandcastle at dusk", "kids building a sandcastle at dusk", None),
        ("", "", None),
    ];

    #[test]
    fn the_phrase_table() {
        assert!(CASES.len() >= 100, "{} phrases", CASES.len());
        let mut failures = Vec::new();
        for (q, rest, want) in CASES {
            let u = understand(q, today(), &[]);
            let got = u.range.map(|r| {
                (
                    r.start.map(iso).unwrap_or_default(),
                    r.end.map(iso).unwrap_or_default(),
                )
            });
            let want = want.map(|(a, b)| (d(a), d(b)));
            if got != want || u.rest != *rest {
                failures.push(format!(
                    "{q:?}: got rest {:?} range {got:?}, want rest {rest:?} range {want:?}",
                    u.rest
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn chips_say_what_was_understood_and_can_be_undone() {
        let u = understand("the march of the penguins", today(), &[]);
        assert_eq!(u.chips.len(), 1);
        assert_eq!(u.chips[0].text, "march");
        assert_eq!(u.chips[0].label, "March 2026");
        assert_eq!(u.chips[0].after.as_deref(), Some("2026-03-01"));
        assert_eq!(u.chips[0].before.as_deref(), Some("2026-04-01"));
        // Undone: the word stays text and no date applies.
        let u = understand("the march of the penguins", today(), &["March".to_string()]);
        assert_eq!(u.rest, "the march of the penguins");
        assert!(u.range.is_none() && u.chips.is_empty());
        // Labels.
        let label = |q: &str| understand(q, today(), &[]).chips[0].label.clone();
        assert_eq!(label("beach last summer"), "summer 2026");
        assert_eq!(label("christmas 2018"), "Christmas 2018");
        assert_eq!(label("snow 2021"), "2021");
        assert_eq!(label("2019-06-15"), "15 June 2019");
        assert_eq!(label("from May to July 2020"), "1 May 2020 – 31 July 2020");
        assert_eq!(label("from 2018 to 2020"), "2018 – 2020");
        assert_eq!(label("since 2020"), "since 1 January 2020");
        assert_eq!(label("before 2010"), "before 1 January 2010");
        assert_eq!(
            understand("receipts from March 2019", today(), &[]).chips[0].text,
            "from March 2019"
        );
    }

    #[test]
    fn weekdays_and_easter() {
        assert_eq!(weekday(days_from_civil(2026, 12, 4)), 4); // Friday
        assert_eq!(weekday(days_from_civil(1970, 1, 1)), 3); // Thursday
        assert_eq!(easter(2000), days_from_civil(2000, 4, 23));
        assert_eq!(easter(2025), days_from_civil(2025, 4, 20));
        assert_eq!(easter(2038), days_from_civil(2038, 4, 25));
    }

    #[test]
    fn today_is_a_plausible_day() {
        let t = today_local();
        let (y, _, _) = civil_from_days(t);
        assert!((2024..2200).contains(&y), "{y}");
    }

    #[test]
    fn a_reading_narrows_typed_dates_with_the_explicit_bounds() {
        let day = |y, m, dd| days_from_civil(y, m, dd) * 86_400;
        // "summer 2020" and --after 2020-07-15: from 15 July to the end of August.
        let r = read(
            "beach summer 2020",
            today(),
            &[],
            false,
            false,
            Some(day(2020, 7, 15)),
            None,
        );
        assert_eq!(r.text, "beach");
        assert_eq!(
            (r.after, r.before),
            (Some(day(2020, 7, 15)), Some(day(2020, 9, 1)))
        );
        assert_eq!(r.chips.len(), 1);
        // --before earlier than the typed end wins; the typed start stays.
        let r = read(
            "snow 2021",
            today(),
            &[],
            false,
            false,
            None,
            Some(day(2021, 3, 1)),
        );
        assert_eq!(
            (r.after, r.before),
            (Some(day(2021, 1, 1)), Some(day(2021, 3, 1)))
        );
        // Only dates: the photos of that time; with an example image, no text.
        assert_eq!(
            read("2019-06", today(), &[], false, false, None, None).text,
            "a photo"
        );
        assert_eq!(
            read("2019-06", today(), &[], false, true, None, None).text,
            ""
        );
        // Literal, or nothing understood: the text and the bounds as given.
        let r = read("snow 2021", today(), &[], true, false, Some(5), Some(9));
        assert_eq!(
            (r.text.as_str(), r.after, r.before, r.chips.len()),
            ("snow 2021", Some(5), Some(9), 0)
        );
        let r = read("red car", today(), &[], false, false, None, Some(9));
        assert_eq!(
            (r.text.as_str(), r.after, r.before),
            ("red car", None, Some(9))
        );
    }
}
