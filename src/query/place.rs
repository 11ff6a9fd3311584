//! Places typed into the search box: "beach in Lisbon", "snow in Colorado",
//! "dinner near Paris, Texas", or explicitly `place:Lisbon`,
//! `place:"Paris, Texas"`.
//!
//! After "in", "near", "at" or "around", up to three plain words are read as a
//! place when the gazetteer ([`crate::places`]) knows them as a country, a
//! region, or a town or city of at least [`MIN_POPULATION`] people (so "dogs in
//! snow" stays text, and "in nice light" is Nice only until the person undoes
//! it, as with dates). `place:` takes any place the gazetteer knows and says
//! so when it knows none. One place per query: the first one read.

use super::when::{tidy, words, Chip};
use crate::error::{Error, Result};
use crate::places::{gazetteer, Found};

/// Towns and cities read out of plain text need this many people.
pub const MIN_POPULATION: u32 = 50_000;

const PREPOSITIONS: [&str; 4] = ["in", "near", "at", "around"];

/// What the place words of a query meant.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceReading {
    /// The query without the place phrase.
    pub rest: String,
    pub found: Option<Found>,
    /// The understood phrase, for the person to undo (kind "place").
    pub chips: Vec<Chip>,
}

/// Reads the place out of `query`. `place:` is always read (an unknown place
/// is an error naming it); prepositions are not read when `literal`, nor when
/// the phrase (as typed, any case) is in `keep`.
pub fn understand(query: &str, keep: &[String], literal: bool) -> Result<PlaceReading> {
    let kept = |text: &str| {
        keep.iter()
            .any(|k| k.trim().eq_ignore_ascii_case(text.trim()))
    };
    // place:NAME or place:"NAME WITH SPACES".
    if let Some((value, at, end)) = token_value(query, "place:")? {
        if value.trim().is_empty() {
            return Err(Error::InvalidArgument(
                "place: needs a name, as in place:Lisbon or place:\"Paris, Texas\"".into(),
            ));
        }
        let value = value.as_str();
        let found = crate::places::near(value, None).map_err(|e| match e {
            Error::InvalidArgument(m) => Error::InvalidArgument(format!("place:{value}: {m}")),
            other => other,
        })?;
        let text = query[at..end].to_string();
        return Ok(PlaceReading {
            rest: tidy(query, &[(at, end, None)]),
            chips: vec![chip(text, &found)],
            found: Some(found),
        });
    }
    let none = PlaceReading {
        rest: query.trim().to_string(),
        found: None,
        chips: Vec::new(),
    };
    if literal {
        return Ok(none);
    }
    let w = words(query);
    for i in 0..w.len() {
        if w[i].opaque || !PREPOSITIONS.contains(&w[i].core.as_str()) {
            continue;
        }
        for n in (1..=3).rev() {
            let Some(last) = w.get(i + n) else { continue };
            if w[i + 1..=i + n].iter().any(|x| x.opaque) {
                continue;
            }
            // A comma ends the place unless a qualifier follows it ("Paris, Texas").
            let name = &query[w[i + 1].start..last.end];
            if name.matches(',').count() > 1 {
                continue;
            }
            let Some(found) = gazetteer().resolve(name, MIN_POPULATION) else {
                continue;
            };
            let text = &query[w[i].start..last.end];
            if kept(text) || kept(name) {
                continue;
            }
            return Ok(PlaceReading {
                rest: tidy(query, &[(w[i].start, last.end, None)]),
                chips: vec![chip(text.to_string(), &found)],
                found: Some(found),
            });
        }
    }
    Ok(none)
}

fn chip(text: String, found: &Found) -> Chip {
    Chip {
        kind: "place",
        text,
        label: found.label.clone(),
        after: None,
        before: None,
    }
}

/// The value of `prefix` (`place:`, `text:`) where it starts a word outside
/// quotes: a word, or a phrase in double quotes (straight, or the curly ones
/// phone keyboards type), with the byte range the whole token takes in
/// `query`.
pub(crate) fn token_value(query: &str, prefix: &str) -> Result<Option<(String, usize, usize)>> {
    let Some(at) = find_token(query, prefix) else {
        return Ok(None);
    };
    let value_start = at + prefix.len();
    let tail = &query[value_start..];
    let quoted = [('"', '"'), ('“', '”'), ('„', '“')]
        .into_iter()
        .find(|(open, _)| tail.starts_with(*open));
    Ok(Some(if let Some((open, close)) = quoted {
        let q = &tail[open.len_utf8()..];
        let end = q.find(close).ok_or_else(|| {
            Error::InvalidArgument(format!("{prefix}{tail}: the closing quote is missing"))
        })?;
        (
            q[..end].to_string(),
            at,
            value_start + open.len_utf8() + end + close.len_utf8(),
        )
    } else {
        let len = tail.find(char::is_whitespace).unwrap_or(tail.len());
        (tail[..len].to_string(), at, value_start + len)
    }))
}

/// The byte offset of `prefix` where it starts a word outside quotes.
fn find_token(query: &str, prefix: &str) -> Option<usize> {
    let mut in_quotes = false;
    let mut prev_space = true;
    for (i, c) in query.char_indices() {
        if c == '"' {
            in_quotes = !in_quotes;
        }
        // `get` is None where the prefix's length ends inside a character.
        if !in_quotes
            && prev_space
            && query
                .get(i..i + prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        {
            return Some(i);
        }
        prev_space = c.is_whitespace();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::places::Where;

    fn read(q: &str) -> (String, Option<String>) {
        let r = understand(q, &[], false).unwrap();
        (r.rest, r.found.map(|f| f.label))
    }

    fn country(q: &str) -> Option<String> {
        match understand(q, &[], false).unwrap().found?.place {
            Where::Country(c) => Some(c),
            _ => None,
        }
    }

    #[test]
    fn places_after_prepositions() {
        let (rest, label) = read("beach in Lisbon");
        assert_eq!(rest, "beach");
        assert!(label.unwrap().starts_with("Lisbon, Portugal"));
        let (rest, label) = read("tram near lisboa at night");
        assert_eq!(rest, "tram at night");
        assert!(label.unwrap().starts_with("Lisbon"));
        let (rest, label) = read("skyline in new york city");
        assert_eq!(rest, "skyline");
        assert!(label.unwrap().starts_with("New York City"));
        let (rest, label) = read("cowboys in Paris, Texas");
        assert_eq!(rest, "cowboys");
        assert!(label.unwrap().contains("Texas"));
        assert_eq!(country("surfing in Portugal").as_deref(), Some("PT"));
        let r = understand("vineyards in California", &[], false).unwrap();
        assert_eq!(
            r.found.unwrap().place,
            Where::Region {
                country: "US".into(),
                region: "California".into()
            }
        );
        assert_eq!(r.chips[0].kind, "place");
        assert_eq!(r.chips[0].text, "in California");
    }

    #[test]
    fn ordinary_words_stay_text() {
        for q in [
            "dogs in snow",
            "kids in the garden",
            "a cat in a box",
            "sunset at the beach",
            "lisbon",
            "\"beach in Lisbon\"",
            "in",
        ] {
            let (rest, label) = read(q);
            assert_eq!((rest.as_str(), label), (q.trim(), None), "{q}");
        }
        // Undone, or literal.
        let r = understand("beach in Lisbon", &["in lisbon".into()], false).unwrap();
        assert!(r.found.is_none());
        assert!(understand("beach in Lisbon", &[], true)
            .unwrap()
            .found
            .is_none());
    }

    #[test]
    fn the_place_token() {
        let (rest, label) = read("beach place:Lisbon");
        assert_eq!(rest, "beach");
        assert!(label.unwrap().starts_with("Lisbon"));
        let (rest, label) = read("place:\"Paris, Texas\" cowboys");
        assert_eq!(rest, "cowboys");
        assert!(label.unwrap().contains("Texas"));
        // Small places are fine when asked for by name.
        let (_, label) = read("place:\"Lisbon, Iowa\"");
        assert!(label.unwrap().contains("Iowa"));
        let e = understand("place:Xyzzyville", &[], false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("Xyzzyville"), "{e}");
        assert!(understand("place:", &[], false).is_err());
        assert!(understand("place:\"Paris", &[], false).is_err());
        // Read even when literal: it is explicit syntax.
        assert!(understand("place:Lisbon", &[], true)
            .unwrap()
            .found
            .is_some());
    }
}
