//! Places on the fixtures of `scripts/make_place_fixtures.py`: JPEGs whose EXIF
//! puts them in twenty cities (and one 6 km and one 32 km from Lisbon, and one
//! nowhere), named IMG_0001.jpg … so that only the place can match a city.

use std::collections::HashSet;
use std::path::PathBuf;

use scry::query::{search, Filters, Given, Read, SearchRequest, TextCache};
use scry::store::{content_hash, ChangeSet, ImageRecord, NewImage};
use scry::Library;

use crate::common::{fixture_dir, golden_model, read_json};

struct Photo {
    path: PathBuf,
    city: Option<String>,
}

fn photos() -> Vec<Photo> {
    let dir = fixture_dir().join("places");
    let manifest = read_json(&dir.join("manifest.json"));
    manifest
        .as_array()
        .unwrap()
        .iter()
        .map(|m| Photo {
            path: dir.join(m["file"].as_str().unwrap()),
            city: m["city"].as_str().map(str::to_string),
        })
        .collect()
}

/// A library of the fixtures as the indexer records them (position from
/// EXIF, place from the gazetteer), each with the model's embedding of its
/// pixels.
fn library(dir: &std::path::Path) -> Library {
    let model = golden_model();
    let mut lib = Library::open(dir).unwrap();
    lib.bind_model(model.id(), model.dim()).unwrap();
    let mut added = Vec::new();
    for p in photos() {
        let bytes = std::fs::read(&p.path).unwrap();
        let meta = scry::metadata::read(&bytes);
        let pixels = model.preprocessor().pixels_from_file(&p.path).unwrap();
        added.push(NewImage {
            record: ImageRecord {
                path: p.path.to_string_lossy().as_bytes().to_vec(),
                size: bytes.len() as u64,
                mtime_ns: 0,
                hash: content_hash(&bytes),
                width: 96,
                height: 96,
                format: "jpeg".into(),
                taken: meta.taken,
                camera: meta.camera,
                indexed_at: 0,
                place: meta.gps.and_then(|g| scry::places::gazetteer().nearest(&g)),
                gps: meta.gps,
                text: None,
                video: None,
            },
            vector: model.embed_pixels(&[pixels], 1).unwrap().remove(0),
            thumbnail: vec![],
            phash: 0,
            frames: Vec::new(),
        });
    }
    lib.commit(&ChangeSet {
        added,
        ..Default::default()
    })
    .unwrap();
    lib.checkpoint().unwrap();
    lib
}

fn file_names(lib: &Library, text: &str, filters: Filters) -> Vec<String> {
    let req = SearchRequest {
        terms: scry::query::parse_query(text).unwrap(),
        filters,
        k: 30,
        offset: 0,
        cutoff: false,
    };
    search(lib, golden_model(), &TextCache::default(), &req)
        .unwrap()
        .hits
        .iter()
        .map(|h| {
            h.record
                .path_buf()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// A typed query read as the CLI and the API read it, on 2026-12-06.
fn typed(query: &str, keep: &[String], given: Given) -> scry::Result<Read> {
    let today = scry::dates::days_from_civil(2026, 12, 6);
    scry::query::read(query, today, keep, false, false, given)
}

/// The photos a typed query finds, its place applied.
fn found(lib: &Library, read: &scry::query::Read) -> Vec<String> {
    file_names(
        lib,
        &read.text,
        Filters {
            place: read.place.clone().map(|f| f.place),
            ..Default::default()
        },
    )
}

/// The photos of "a photo" inside a place.
fn in_place(lib: &Library, place: Option<scry::places::Where>) -> Vec<String> {
    file_names(
        lib,
        "a photo",
        Filters {
            place,
            ..Default::default()
        },
    )
}

fn file_of(city: &str) -> String {
    let p = photos()
        .into_iter()
        .find(|p| p.city.as_deref() == Some(city))
        .unwrap();
    p.path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn exif_positions_are_read_and_placed() {
    let manifest = read_json(&fixture_dir().join("places/manifest.json"));
    for m in manifest.as_array().unwrap() {
        let bytes = std::fs::read(
            fixture_dir()
                .join("places")
                .join(m["file"].as_str().unwrap()),
        )
        .unwrap();
        let meta = scry::metadata::read(&bytes);
        match (m["lat"].as_f64(), m["lon"].as_f64()) {
            (Some(lat), Some(lon)) => {
                let g = meta.gps.unwrap_or_else(|| panic!("{m}: no position read"));
                assert!(
                    (g.lat - lat).abs() < 1e-5 && (g.lon - lon).abs() < 1e-5,
                    "{m}: read {g:?}"
                );
                let place = scry::places::gazetteer().nearest(&g).unwrap();
                let city = m["city"].as_str().unwrap();
                if !matches!(city, "Belém" | "Setúbal") {
                    assert_eq!(place.city, city, "{m}");
                }
            }
            _ => assert_eq!(meta.gps, None, "{m}"),
        }
    }
}

#[test]
fn twenty_cities_found_by_name_radius_and_phrase() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = library(tmp.path());
    let cities: Vec<String> = photos()
        .iter()
        .filter_map(|p| p.city.clone())
        .filter(|c| !matches!(c.as_str(), "Belém" | "Setúbal"))
        .collect();
    assert_eq!(cities.len(), 20);
    for city in &cities {
        let want = file_of(city);
        // By name: the keyword index holds the place's words.
        let hits = file_names(&lib, city, Filters::default());
        assert_eq!(hits.first(), Some(&want), "{city}: {hits:?}");
        // By a radius around the city.
        let near = scry::places::near(city, Some(5.0)).unwrap();
        let hits = in_place(&lib, Some(near.place));
        assert_eq!(hits, std::slice::from_ref(&want), "{city} within 5 km");
        // By "… in CITY" typed into the query.
        let read = typed(&format!("a photo in {city}"), &[], Given::default()).unwrap();
        assert_eq!(read.text, "a photo", "{city}");
        assert_eq!(read.chips[0].kind, "place");
        let hits = found(&lib, &read);
        assert!(hits.contains(&want), "{city}: {hits:?}");
        if city != "Lisbon" {
            assert_eq!(hits.len(), 1, "{city}: {hits:?}");
        }
    }
    // Lisbon's own radius (19 km) holds Belém (6 km) but not Setúbal (32 km);
    // a wider one holds both.
    let lisbon = |km: Option<f64>| {
        let f = scry::places::near("Lisbon", km).unwrap();
        in_place(&lib, Some(f.place))
            .into_iter()
            .collect::<HashSet<_>>()
    };
    let (centre, belem, setubal) = (file_of("Lisbon"), file_of("Belém"), file_of("Setúbal"));
    assert_eq!(lisbon(None), HashSet::from([centre.clone(), belem.clone()]));
    assert_eq!(
        lisbon(Some(40.0)),
        HashSet::from([centre.clone(), belem, setubal])
    );
    // A country: Portugal holds the three Portuguese photos.
    let pt = in_place(&lib, Some(scry::places::Where::Country("PT".into())));
    assert_eq!(pt.len(), 3, "{pt:?}");
    let r = typed("skyline in New York", &[], Given::default()).unwrap();
    let ny = found(&lib, &r);
    assert_eq!(ny, [file_of("New York City")], "{r:?}");
    // The photo with no position is in no place, not even a radius that
    // holds the whole Earth.
    let nowhere = photos().into_iter().find(|p| p.city.is_none()).unwrap();
    let nowhere = nowhere
        .path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(file_names(&lib, "a photo", Filters::default()).contains(&nowhere));
    let earth = in_place(
        &lib,
        Some(scry::places::Where::Near {
            lat: 0.0,
            lon: 0.0,
            km: 20_100.0,
        }),
    );
    assert_eq!(earth.len(), 22);
    assert!(!earth.contains(&nowhere));
}

#[test]
fn the_query_grammar_reads_places_and_dates_together() {
    let r = typed("beach in Lisbon last summer", &[], Given::default()).unwrap();
    assert_eq!(r.text, "beach");
    assert_eq!(
        r.chips.iter().map(|c| c.kind).collect::<Vec<_>>(),
        ["place", "date"]
    );
    assert!(r.after.is_some() && r.before.is_some());
    // Undoing the place chip keeps its words as text.
    let r = typed(
        "beach in Lisbon last summer",
        &["in Lisbon".into()],
        Given::default(),
    )
    .unwrap();
    assert_eq!(r.text, "beach in Lisbon");
    assert!(r.place.is_none());
    assert_eq!(r.chips.len(), 1, "the date alone");
    // A place given beside the query: it is the place, and a query of it
    // alone lists its photos; given and typed together are refused.
    let near = || Given {
        near: Some(scry::places::near("Tokyo", Some(5.0)).unwrap()),
        ..Default::default()
    };
    let r = typed("", &[], near()).unwrap();
    assert_eq!(r.text, "a photo");
    assert!(r.place.unwrap().label.starts_with("Tokyo"));
    assert!(r.chips.is_empty());
    let e = typed("beach in Lisbon", &[], near())
        .unwrap_err()
        .to_string();
    assert!(e.contains("two places"), "{e}");
}
