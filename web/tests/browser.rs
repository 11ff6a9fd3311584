//! The web UI in a real browser: indexes sample_data with the tiny model, starts
//! `scry serve` on a free loopback port, and runs tests/browser/ui.test.mjs
//! (playwright-core driving Debian's Chromium): type a query, see the grid, open a
//! result, "more like this", upload an image, reload from the URL, phone layout;
//! any console error fails it. Screenshots land in target/screenshots/.
//!
//! Needs node, `npm ci` in tests/browser and /usr/bin/chromium (`.ci/run` installs
//! them). Without them the test says so and passes, unless SCRY_REQUIRE_BROWSER=1
//! (set by CI), where it fails.

use std::path::Path;
use std::process::{Command, Stdio};

mod common;
use common::root;

fn missing_prerequisite() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!("{chromium} not found (apt-get install chromium)"));
    }
    if !root()
        .join("tests/browser/node_modules/playwright-core")
        .exists()
    {
        return Some("tests/browser/node_modules missing (cd tests/browser && npm ci)".into());
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node not found".into());
    }
    None
}

/// Whether the browser tests can run (else they say why and pass, unless CI
/// requires them).
fn can_run() -> bool {
    if let Some(why) = missing_prerequisite() {
        if std::env::var("SCRY_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("browser test required but {why}");
        }
        eprintln!("SKIPPED the browser test: {why}");
        return false;
    }
    true
}

fn node_test(file: &str, env: &[(&str, &str)]) {
    let out = Command::new("node")
        .args(["--test", file])
        .current_dir(root())
        .envs(env.iter().copied())
        .env("SCREENSHOT_DIR", root().join("target/screenshots"))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "browser test {file} failed");
    assert!(report.contains("# fail 0"), "{report}");
}

/// A server with users: sign in with a token, search, sign out.
#[test]
fn signing_in_to_a_shared_server_in_a_real_browser() {
    if !can_run() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("lib");
    let tiny = root().join("tests/fixtures/tiny-clip");
    let run = |args: &[&str]| {
        let mut args = args.to_vec();
        args.extend(["--db", db.to_str().unwrap()]);
        String::from_utf8(common::run_ok(&args)).unwrap()
    };
    let photos = common::photos();
    run(&[
        "index",
        photos.to_str().unwrap(),
        "--model",
        tiny.to_str().unwrap(),
    ]);
    let animals = std::fs::canonicalize(photos.join("animals")).unwrap();
    let token = run(&["user", "add", "ann", "--root", animals.to_str().unwrap()]);
    let (server, addr) = common::serve(&[
        "--db",
        db.to_str().unwrap(),
        "--model",
        tiny.to_str().unwrap(),
    ]);
    node_test(
        "tests/browser/signin.test.mjs",
        &[
            ("SCRY_URL", &format!("http://{addr}")),
            ("SCRY_TOKEN", token.trim()),
            ("SCRY_USER", "ann"),
            ("SCRY_ROOT", animals.to_str().unwrap()),
        ],
    );
    drop(server);
}

/// A library of `folder` (relative to the repository) made with the tiny
/// model, served: its folder, the server and its address.
fn index_and_serve(folder: &str) -> (tempfile::TempDir, common::Server, String) {
    index_and_serve_with(tempfile::tempdir().unwrap(), folder, &[], &[])
}

/// [`index_and_serve`] in `tmp`, with more `scry index` and `scry serve` arguments.
fn index_and_serve_with(
    tmp: tempfile::TempDir,
    folder: &str,
    extra: &[&str],
    serve_extra: &[&str],
) -> (tempfile::TempDir, common::Server, String) {
    let db = tmp.path().join("lib");
    let tiny = root().join("tests/fixtures/tiny-clip");
    let status = Command::new(env!("CARGO_BIN_EXE_scry"))
        .args([
            "index",
            folder,
            "--db",
            db.to_str().unwrap(),
            "--model",
            tiny.to_str().unwrap(),
        ])
        .args(extra)
        .current_dir(root())
        .env("HF_HUB_OFFLINE", "1")
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "scry index {folder}");
    let mut args = vec![
        "--db",
        db.to_str().unwrap(),
        "--model",
        tiny.to_str().unwrap(),
    ];
    args.extend(serve_extra);
    let (server, addr) = common::serve(&args);
    (tmp, server, addr)
}

/// Places: a library of the GPS fixtures; "in Lisbon" as a chip, the
/// lightbox's place and "Photos from here".
#[test]
fn places_in_a_real_browser() {
    if !can_run() {
        return;
    }
    let (_tmp, server, addr) = index_and_serve("tests/fixtures/places");
    node_test(
        "tests/browser/places.test.mjs",
        &[("SCRY_URL", &format!("http://{addr}"))],
    );
    drop(server);
}

/// Text in images: a library indexed with --ocr; `text:"…"` in the box and
/// the lightbox's Text row.
#[test]
fn text_in_images_in_a_real_browser() {
    if !can_run() {
        return;
    }
    if !common::tesseract_here() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    for f in ["text_01.png", "text_27.png", "text_28.png"] {
        std::fs::copy(root().join("tests/fixtures/ocr").join(f), photos.join(f)).unwrap();
    }
    std::fs::copy(
        root().join("sample_data/animals/chelsea.jpg"),
        photos.join("chelsea.jpg"),
    )
    .unwrap();
    let folder = photos.to_str().unwrap().to_string();
    let (_tmp, server, addr) = index_and_serve_with(tmp, &folder, &["--ocr"], &[]);
    node_test(
        "tests/browser/text.test.mjs",
        &[("SCRY_URL", &format!("http://{addr}"))],
    );
    drop(server);
}

/// Videos: a library of a WebM of three shots and a Live Photo; the frame at
/// 24 s finds the video, which plays from there in the lightbox (the original
/// in byte ranges), and the Live Photo plays its clip.
#[test]
fn videos_in_a_real_browser() {
    if !can_run() {
        return;
    }
    if !common::ffmpeg_here() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    std::fs::create_dir_all(photos.join("trip")).unwrap();
    let video = root().join("tests/fixtures/video/scenes.webm");
    std::fs::copy(&video, photos.join("trip/beach.webm")).unwrap();
    std::fs::copy(
        root().join("sample_data/animals/chelsea.jpg"),
        photos.join("IMG_0001.JPG"),
    )
    .unwrap();
    std::fs::copy(&video, photos.join("IMG_0001.webm")).unwrap();
    let folder = photos.to_str().unwrap().to_string();
    let (_tmp, server, addr) = index_and_serve_with(tmp, &folder, &[], &[]);
    node_test(
        "tests/browser/video.test.mjs",
        &[("SCRY_URL", &format!("http://{addr}"))],
    );
    drop(server);
}

/// Queries in other languages through `scry serve --text-model`: the UI ranks
/// the library by the multilingual tower's vectors (the reference's, from
/// golden-multilingual.json, against the same files' image vectors).
#[test]
fn queries_in_other_languages_in_a_real_browser() {
    if !can_run() {
        return;
    }
    let tower = root().join("tests/fixtures/tiny-multilingual");
    let photos = common::photos();
    let (_tmp, server, addr) = index_and_serve_with(
        tempfile::tempdir().unwrap(),
        photos.to_str().unwrap(),
        &[],
        &["--text-model", tower.to_str().unwrap()],
    );
    // The library is the server's now: the same vectors from the files.
    let files: Vec<String> = std::fs::read_dir(&photos)
        .unwrap()
        .map(|d| d.unwrap().path())
        // Hidden folders are not indexed.
        .filter(|d| d.is_dir() && !d.file_name().unwrap().to_string_lossy().starts_with('.'))
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .map(|f| f.unwrap().path().to_string_lossy().into_owned())
        .collect();
    let mut args = vec![
        "embed".to_string(),
        "--model".into(),
        root()
            .join("tests/fixtures/tiny-clip")
            .to_string_lossy()
            .into_owned(),
    ];
    for f in &files {
        args.extend(["--image".to_string(), f.clone()]);
    }
    let embedded: serde_json::Value = serde_json::from_slice(&common::run_ok(&args)).unwrap();
    let images: Vec<(String, Vec<f32>)> = embedded["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let v = serde_json::from_value(row["embedding"].clone()).unwrap();
            let path = row["input"].as_str().unwrap();
            let name = Path::new(path)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (name, v)
        })
        .collect();
    assert_eq!(images.len(), 19);
    let mut expect = serde_json::Map::new();
    // Queries in other scripts whose top three the scores tell apart (the UI's
    // fusion may order near-ties either way): Cyrillic, CJK, Arabic, Devanagari...
    for (query, want) in common::multilingual_goldens() {
        if query.is_ascii() || query.chars().count() > 40 || expect.len() == 3 {
            continue;
        }
        let mut ranked: Vec<(f32, &str)> = images
            .iter()
            .map(|(n, v)| (scry::model::cosine(v, &want), n.as_str()))
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        if ranked[0].0 - ranked[1].0 > 2e-3 && ranked[1].0 - ranked[2].0 > 2e-3 {
            expect.insert(
                query.clone(),
                ranked[..3]
                    .iter()
                    .map(|(_, n)| serde_json::json!(n))
                    .collect(),
            );
        }
    }
    assert_eq!(
        expect.len(),
        3,
        "three queries with a clear order: {expect:?}"
    );
    println!("expected: {expect:?}");
    node_test(
        "tests/browser/multilingual.test.mjs",
        &[
            ("SCRY_URL", &format!("http://{addr}")),
            (
                "SCRY_EXPECT",
                &serde_json::Value::Object(expect).to_string(),
            ),
        ],
    );
    drop(server);
}

#[test]
fn the_ui_works_in_a_real_browser() {
    if !can_run() {
        return;
    }
    let (_tmp, server, addr) = index_and_serve(common::photos().to_str().unwrap());
    let url = format!("http://{addr}");
    let out = Command::new("node")
        .args(["--test", "tests/browser/ui.test.mjs"])
        .current_dir(root())
        .env("SCRY_URL", &url)
        .env("SCREENSHOT_DIR", root().join("target/screenshots"))
        .output()
        .unwrap();
    drop(server);
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "browser test failed");
    assert!(report.contains("# fail 0"), "{report}");
}
