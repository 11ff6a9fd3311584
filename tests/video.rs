//! Videos against the reference pipeline (ffmpeg's frames, Pillow, transformers):
//! the same frames at the same times, embeddings within cosine 0.999, the
//! rotation applied, hostile files refused with a clear message; and in a
//! library, a video found by a frame's content at that frame's time. The
//! fixtures come from `scripts/make_video_fixtures.py`.
//!
//! Videos need ffmpeg at run time. Without it these tests say so and skip,
//! unless `SCRY_REQUIRE_CODECS=1` (CI), where its absence fails; the absent
//! case is tested by hiding it (`SCRY_HIDE_CODECS=ffmpeg`) in the indexer's
//! tests.

use std::path::PathBuf;

use serde_json::Value;

use scry::model::cosine;
use scry::query::{search, SearchRequest, Term, TextCache, Weighted};
use scry::store::{ChangeSet, ImageRecord, NewImage};
use scry::Library;

use crate::common::{floats, golden_model, read_json, repo_root};

fn dir() -> PathBuf {
    repo_root().join("tests/fixtures/video")
}

fn entry(file: &str) -> Value {
    read_json(&dir().join("video.json"))["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["file"] == file)
        .unwrap_or_else(|| panic!("{file} in video.json"))
        .clone()
}

/// Whether ffmpeg is here (a failure under `SCRY_REQUIRE_CODECS`).
pub fn ffmpeg_available() -> bool {
    let found = scry::video::tools().is_ok();
    if !found {
        if std::env::var_os("SCRY_REQUIRE_CODECS").is_some() {
            panic!("SCRY_REQUIRE_CODECS is set but ffmpeg is missing");
        }
        eprintln!("ffmpeg not found: video tests skipped");
    }
    found
}

/// Our frames of `file`: times and embeddings.
fn our_frames(file: &str) -> (scry::video::Probe, Vec<(f64, Vec<f32>)>) {
    let model = golden_model();
    let path = dir().join(file);
    let probe = scry::video::probe(&path).unwrap_or_else(|m| panic!("{file}: {m}"));
    let mut got = Vec::new();
    scry::video::frames(&path, &probe, &mut |t, rgb| {
        got.push((t, model.preprocessor().pixels(&rgb)))
    })
    .unwrap_or_else(|m| panic!("{file}: {m}"));
    let pixels: Vec<Vec<f32>> = got.iter().map(|(_, p)| p.clone()).collect();
    let vectors = model.embed_pixels(&pixels, 4).unwrap();
    (
        probe,
        got.into_iter().map(|(t, _)| t).zip(vectors).collect(),
    )
}

#[test]
fn frames_and_embeddings_match_the_reference() {
    if !ffmpeg_available() {
        return;
    }
    for file in ["scenes.mp4", "scenes.webm", "upright.mp4", "sideways.mp4"] {
        let e = entry(file);
        let (probe, ours) = our_frames(file);
        assert_eq!(
            (probe.width, probe.height),
            (
                e["width"].as_u64().unwrap() as u32,
                e["height"].as_u64().unwrap() as u32
            ),
            "{file}: displayed size"
        );
        assert!((probe.duration - e["duration"].as_f64().unwrap()).abs() < 0.01);
        let reference = e["frames"].as_array().unwrap();
        let times: Vec<f64> = ours.iter().map(|(t, _)| *t).collect();
        let want: Vec<f64> = reference
            .iter()
            .map(|f| f["time"].as_f64().unwrap())
            .collect();
        assert_eq!(times, want, "{file}: the frames chosen");
        for ((t, v), r) in ours.iter().zip(reference) {
            let cos = cosine(v, &floats(&r["features"]));
            println!("{file} at {t} s: cosine {cos:.6}");
            assert!(cos >= 0.999, "{file} at {t} s: cosine {cos}");
        }
    }
    // The three shots of scenes.mp4 are three frames, at its cuts.
    assert_eq!(entry("scenes.mp4")["frames"].as_array().unwrap().len(), 3);
}

#[test]
fn a_video_stored_sideways_embeds_like_its_upright_twin() {
    if !ffmpeg_available() {
        return;
    }
    let (probe, sideways) = our_frames("sideways.mp4");
    let (_, upright) = our_frames("upright.mp4");
    // Stored 240 × 320, shown (and read) 320 × 240.
    assert_eq!((probe.width, probe.height), (320, 240));
    let cos = cosine(&sideways[0].1, &upright[0].1);
    println!("sideways against upright: cosine {cos:.4}");
    assert!(cos >= 0.99, "cosine {cos}");
}

#[test]
fn damaged_videos_are_refused_with_a_reason() {
    if !ffmpeg_available() {
        return;
    }
    for file in ["truncated.mp4", "corrupt.mp4"] {
        let path = dir().join(file);
        let err = scry::video::probe(&path)
            .and_then(|p| {
                let mut n = 0;
                scry::video::frames(&path, &p, &mut |_, _| n += 1)?;
                if n == 0 {
                    return Err("no frame".to_string());
                }
                Ok(p)
            })
            .expect_err(file);
        println!("{file}: {err}");
        assert!(
            err.starts_with("corrupt or truncated video") || err == "no frame",
            "{file}: {err}"
        );
    }
    // Detected by their bytes as videos, whatever their names.
    let head = std::fs::read(dir().join("scenes.webm")).unwrap();
    assert_eq!(
        scry::decode::detect(&head),
        Some(scry::decode::Family::Video)
    );
}

#[test]
fn a_phones_tags_give_the_date_camera_and_place() {
    if !ffmpeg_available() {
        return;
    }
    let path = dir().join("tagged.mov");
    let p = scry::video::probe(&path).unwrap();
    assert_eq!(
        p.taken,
        scry::dates::parse_exif_datetime("2023:05:01 12:34:56")
    );
    assert_eq!(p.camera.as_deref(), Some("Apple iPhone 14"));
    let gps = p.gps.expect("the location tag");
    assert!((gps.lat - 48.8584).abs() < 1e-6 && (gps.lon - 2.2945).abs() < 1e-6);
    assert_eq!(
        scry::places::gazetteer().nearest(&gps).map(|pl| pl.country),
        Some("FR".to_string())
    );
    let head = std::fs::read(&path).unwrap();
    assert_eq!(scry::video::container(&head), "mov");
    // A file without tags has none.
    let plain = scry::video::probe(&dir().join("upright.mp4")).unwrap();
    assert_eq!((plain.taken, plain.camera, plain.gps), (None, None, None));
}

/// A library holding scenes.mp4 as the indexer stores it (its poster first),
/// and a photo.
fn library_with_the_video(tmp: &std::path::Path) -> (Library, u64) {
    let e = entry("scenes.mp4");
    let frames: Vec<(u32, Vec<f32>)> = e["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let v = floats(&f["features"]);
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            (
                (f["time"].as_f64().unwrap() * 1000.0) as u32,
                v.iter().map(|x| x / n).collect(),
            )
        })
        .collect();
    let vectors: Vec<Vec<f32>> = frames.iter().map(|(_, v)| v.clone()).collect();
    let poster = scry::video::poster(&vectors);
    let mut order: Vec<usize> = (0..frames.len()).collect();
    order.retain(|&i| i != poster);
    order.insert(0, poster);
    let record = |path: &str, video| ImageRecord {
        path: path.as_bytes().to_vec(),
        size: 1,
        mtime_ns: 0,
        hash: [path.len() as u8; 32],
        width: 320,
        height: 240,
        format: "mp4".into(),
        taken: None,
        camera: None,
        indexed_at: 0,
        gps: None,
        place: None,
        text: None,
        video,
    };
    let dim = vectors[0].len();
    let mut lib = Library::open(tmp).unwrap();
    lib.bind_model(golden_model().id(), dim).unwrap();
    // A photo whose vector is the video's poster turned a little.
    let mut other = vectors[poster].clone();
    other[0] += 0.3;
    let n = other.iter().map(|x| x * x).sum::<f32>().sqrt();
    other.iter_mut().for_each(|x| *x /= n);
    let applied = lib
        .commit(&ChangeSet {
            added: vec![
                NewImage {
                    record: record(
                        "/videos/scenes.mp4",
                        Some(scry::store::Video {
                            duration_ms: 36_000,
                            frames_ms: order.iter().map(|&i| frames[i].0).collect(),
                        }),
                    ),
                    vector: frames[poster].1.clone(),
                    thumbnail: Vec::new(),
                    phash: 0,
                    frames: order[1..].iter().map(|&i| frames[i].1.clone()).collect(),
                },
                NewImage {
                    record: record("/photos/other.jpg", None),
                    vector: other,
                    thumbnail: Vec::new(),
                    phash: 0,
                    frames: Vec::new(),
                },
            ],
            ..Default::default()
        })
        .unwrap();
    (lib, applied.added_ids[0])
}

#[test]
fn a_video_is_found_by_any_of_its_frames_at_that_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let (lib, video) = library_with_the_video(tmp.path());
    let e = entry("scenes.mp4");
    let cache = TextCache::new(8);
    // The frame at 24 s, as a picture: the video, once, at 24 s.
    let req = SearchRequest {
        terms: vec![Weighted {
            term: Term::ImageFile(dir().join("frame-24.png")),
            weight: 1.0,
        }],
        filters: Default::default(),
        k: 10,
        offset: 0,
        cutoff: false,
    };
    let hits = search(&lib, golden_model(), &cache, &req).unwrap().hits;
    assert_eq!(hits.iter().filter(|h| h.id == video).count(), 1);
    assert_eq!(hits[0].id, video, "{hits:?}");
    assert_eq!(hits[0].time, Some(24.0));
    assert!(hits[0].score > 0.999, "{}", hits[0].score);
    // The photo shows no time.
    assert!(hits.iter().all(|h| h.id == video || h.time.is_none()));
    // The catalog keeps the other frames, and a reopened library finds them.
    drop(lib);
    let lib = Library::open(tmp.path()).unwrap();
    let frames = lib.home().frames(&[video, video + 1]).unwrap();
    assert_eq!(frames.len(), 1, "the photo has none");
    assert_eq!((frames[0].0, frames[0].1.len()), (video, 2));
    let rec = lib.meta(video).unwrap().unwrap();
    assert_eq!(rec.video.as_ref().unwrap().frames_ms.len(), 3);
    // Each frame's own vector finds the video at its time.
    for f in e["frames"].as_array().unwrap() {
        let v = floats(&f["features"]);
        let (t, c) = lib.best_frame(video, &rec, &v).unwrap().unwrap();
        assert_eq!(t, f["time"].as_f64().unwrap());
        assert!(c > 0.0);
    }
    // Removing the video removes its frames.
    let mut lib = lib;
    lib.commit(&ChangeSet {
        removed: vec![video],
        ..Default::default()
    })
    .unwrap();
    assert!(lib.home().frames(&[video]).unwrap().is_empty());
    let q = floats(&e["frames"][2]["features"]);
    let hits = lib.nearest(&q, 5, &scry::home::Scope::all()).unwrap();
    assert!(hits.iter().all(|(id, _)| *id != video), "{hits:?}");
}
