//! The `scry` command on a Qdrant library, as a person runs it: a real Qdrant
//! server (`../shared/bin/qdrant`, started by the tests on loopback ports), real
//! processes, kills at random moments, Qdrant stopped in the middle of a run.

#[path = "../../indexer/tests/common/qdrant.rs"]
#[allow(dead_code)]
mod qdrant;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod common;
use common::{generate_images, root};
use qdrant::{QdrantCluster, QdrantServer};
use scry::home::qdrant::QdrantUrl;

fn tiny() -> String {
    root()
        .join("tests/fixtures/tiny-clip")
        .display()
        .to_string()
}

fn scry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(args)
        .current_dir(root())
        .env("HF_HUB_OFFLINE", "1")
        .env_remove("SCRY_MODEL")
        .env_remove("SCRY_DB")
        .env_remove("SCRY_PRECISION")
        .output()
        .expect("scry runs")
}

fn ok(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn connect(url: &str) -> scry::Library {
    scry::Library::connect(&QdrantUrl::parse(url).unwrap()).unwrap()
}

/// Every image once, every point an image on disk.
fn assert_exactly_once(url: &str, n: usize) -> Vec<(PathBuf, Vec<f32>)> {
    let lib = connect(url);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    lib.for_each(true, |it| {
        let p = it.record.path_buf();
        assert!(p.is_file(), "orphan point: {}", p.display());
        assert!(seen.insert(p.clone()), "{} twice", p.display());
        out.push((p, it.vector.unwrap().to_vec()));
    })
    .unwrap();
    assert_eq!(out.len(), n, "every image exactly once");
    assert_eq!(lib.len().unwrap(), n);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn every_command_works_on_a_qdrant_library() {
    let Some(server) = QdrantServer::shared() else {
        return;
    };
    let url = server.url("cli_commands", false);
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    for sub in ["animals", "space", "food"] {
        let from = root().join("sample_data").join(sub);
        for f in std::fs::read_dir(&from).unwrap() {
            let f = f.unwrap();
            std::fs::create_dir_all(photos.join(sub)).unwrap();
            std::fs::copy(f.path(), photos.join(sub).join(f.file_name())).unwrap();
        }
    }
    let p = photos.to_str().unwrap();
    let (tiny, url) = (tiny(), url.as_str());
    let summary = ok(&scry(&[
        "index", p, "--db", url, "--model", &tiny, "--json",
    ]));
    assert_eq!(summary["new"], 8, "{summary}");
    let again = ok(&scry(&["index", "--db", url, "--model", &tiny, "--json"]));
    assert_eq!(
        (again["unchanged"].as_u64(), again["new"].as_u64()),
        (Some(8), Some(0))
    );

    let status = ok(&scry(&["status", "--db", url, "--json"]));
    assert_eq!(status["images"], 8);
    assert_eq!(status["library"], url.split('?').next().unwrap());
    assert_eq!(
        status["roots"][0],
        std::fs::canonicalize(&photos)
            .unwrap()
            .display()
            .to_string()
    );

    let hits = ok(&scry(&[
        "search", "a cat", "--db", url, "--model", &tiny, "--json", "-k", "3",
    ]));
    assert_eq!(hits["hits"].as_array().unwrap().len(), 3, "{hits}");
    let chelsea = photos.join("animals/chelsea.jpg");
    let like = ok(&scry(&[
        "search",
        "--like",
        chelsea.to_str().unwrap(),
        "--db",
        url,
        "--model",
        &tiny,
        "--json",
        "--in",
        photos.join("animals").to_str().unwrap(),
    ]));
    let paths: Vec<&str> = like["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 2, "the other two animals: {like}");
    assert!(paths
        .iter()
        .all(|p| p.contains("/animals/") && !p.ends_with("/chelsea.jpg")));

    let dupes = ok(&scry(&["dupes", "--db", url, "--json"]));
    assert!(dupes["groups"].is_array(), "{dupes}");
    ok(&scry(&[
        "album",
        "add",
        "everything",
        "--prompt",
        "a photo",
        "--threshold",
        "-1",
        "--db",
        url,
        "--model",
        &tiny,
    ]));
    let albums = scry(&["album", "list", "--db", url]);
    assert!(
        String::from_utf8_lossy(&albums.stdout).contains("everything"),
        "{}",
        stderr(&albums)
    );
    let in_album = ok(&scry(&[
        "search",
        "album:everything",
        "--db",
        url,
        "--model",
        &tiny,
        "--json",
        "-k",
        "50",
    ]));
    assert_eq!(in_album["hits"].as_array().unwrap().len(), 8);

    // Users live in the collection's settings, and a rebuild carries them over.
    let animals = photos.join("animals");
    let added = scry(&[
        "user",
        "add",
        "ann",
        "--root",
        animals.to_str().unwrap(),
        "--db",
        url,
    ]);
    let token = String::from_utf8_lossy(&added.stdout).trim().to_string();
    assert!(token.starts_with("scry_"), "{}", stderr(&added));
    ok(&scry(&[
        "index",
        p,
        "--db",
        url,
        "--model",
        &tiny,
        "--rebuild",
        "--json",
    ]));
    let access = connect(url).access().unwrap();
    assert_eq!(access.authenticate(&token), Some("ann"));
    assert_eq!(
        access.users["ann"].roots,
        vec![animals.canonicalize().unwrap()]
    );

    // Another model is refused, with what to do.
    let other = tmp.path().join("other-model");
    std::fs::create_dir_all(&other).unwrap();
    for f in std::fs::read_dir(&tiny).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), other.join(f.file_name())).unwrap();
    }
    let refused = scry(&[
        "search",
        "cat",
        "--db",
        url,
        "--model",
        other.to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("--rebuild"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn an_unreachable_or_missing_qdrant_library_is_one_clear_line() {
    // Nothing listens on the port: one line, exit 1, no panic.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = scry(&[
        "status",
        "--db",
        &format!("qdrant://127.0.0.1:{port}/nothing"),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: ") && err.contains("is Qdrant running"),
        "{err}"
    );
    // A bad URL is a bad argument.
    let out = scry(&["status", "--db", "qdrant://127.0.0.1:notaport/x"]);
    assert!(stderr(&out).contains("port"), "{}", stderr(&out));
    // A library that does not exist says how to make one.
    if let Some(server) = QdrantServer::shared() {
        let out = scry(&[
            "search",
            "cat",
            "--db",
            &server.url("never_made", false),
            "--model",
            &tiny(),
        ]);
        let err = stderr(&out);
        assert!(!out.status.success());
        assert!(err.contains("scry index"), "{err}");
    }
}

/// Runs `scry ARGS` and kills it with SIGKILL once `now()` says so, unless it
/// ended first (or two minutes passed); true if it was killed.
fn run_killed_when(args: &[&str], now: impl Fn() -> bool) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(args)
        .env("HF_HUB_OFFLINE", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() && t.elapsed() < Duration::from_secs(120) && !now() {
        std::thread::sleep(Duration::from_millis(2));
    }
    let killed = child.try_wait().unwrap().is_none();
    if killed {
        child.kill().unwrap();
    }
    child.wait().unwrap();
    killed
}

/// Runs `scry ARGS`, killed with SIGKILL after `delay` unless it ended first.
fn run_killed_after(args: &[&str], delay: Duration) -> bool {
    let until = Instant::now() + delay;
    run_killed_when(args, || Instant::now() >= until)
}

/// Runs `scry ARGS`, killed as soon as the library at `url` holds some but not
/// all of `n` images.
fn run_killed_once(args: &[&str], url: &str, n: usize) -> bool {
    run_killed_when(args, || {
        let stored = QdrantUrl::parse(url)
            .ok()
            .and_then(|u| scry::Library::connect(&u).ok())
            .and_then(|l| l.len().ok())
            .unwrap_or(0);
        stored > 0 && stored < n
    })
}

#[test]
fn kill_9_while_indexing_into_qdrant_loses_and_doubles_nothing() {
    let Some(server) = QdrantServer::shared() else {
        return;
    };
    let rounds: usize = std::env::var("SCRY_KILL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let n: usize = std::env::var("SCRY_KILL_IMAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(240);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("seed {seed}, {rounds} kills over {n} images");
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    generate_images(&photos, n, seed);
    let (tiny, p) = (tiny(), photos.to_str().unwrap().to_string());
    let clean_url = server.url(&format!("kill_clean_{}", std::process::id()), true);
    let url = server.url(&format!("kill_{}", std::process::id()), true);
    let started = Instant::now();
    ok(&scry(&["index", &p, "--db", &clean_url, "--model", &tiny]));
    let run_ms = started.elapsed().as_millis() as u64;
    let mut rng = seed;
    let mut committed: Vec<usize> = Vec::new();
    let mut kills = 0;
    for round in 0..rounds {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // Later kills anywhere in what is left of the work, start-up included.
        let done = committed.last().copied().unwrap_or(0) as u64;
        let left_ms = run_ms * (n as u64 - done.min(n as u64)) / n as u64;
        let delay = 10 + (rng >> 33) % left_ms.max(50);
        let args = ["index", &p, "--db", &url, "--model", &tiny];
        kills += usize::from(if round == 0 {
            // The first kill once some images are stored, whatever the machine's speed.
            run_killed_once(&args, &url, n)
        } else {
            run_killed_after(&args, Duration::from_millis(delay))
        });
        let count = match QdrantUrl::parse(&url).map(|u| scry::Library::connect(&u)) {
            Ok(Ok(lib)) => lib.len().unwrap(),
            _ => 0,
        };
        assert!(
            committed.last().is_none_or(|&c| count >= c),
            "{committed:?} then {count}"
        );
        committed.push(count);
    }
    println!("killed {kills} runs; images stored after each: {committed:?}");
    assert!(kills >= 1, "no run was killed");
    let summary = ok(&scry(&[
        "index", &p, "--db", &url, "--model", &tiny, "--json",
    ]));
    let before = *committed.last().unwrap() as u64;
    // Nothing stored before is embedded again.
    assert_eq!(summary["unchanged"].as_u64().unwrap(), before, "{summary}");
    assert_eq!(
        summary["new"].as_u64().unwrap(),
        n as u64 - before,
        "{summary}"
    );
    let got = assert_exactly_once(&url, n);
    let clean = assert_exactly_once(&clean_url, n);
    for ((p, a), (q, b)) in got.iter().zip(&clean) {
        assert_eq!(p, q);
        let cos: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        assert!(cos > 0.99999, "{}: {cos}", p.display());
    }
}

#[test]
fn qdrant_stopped_in_the_middle_of_a_run_then_back() {
    let Some(server) = QdrantServer::own() else {
        return;
    };
    let n = 400;
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    generate_images(&photos, n, 7);
    let url = server.url("stopped", true);
    let (tiny, p) = (tiny(), photos.to_str().unwrap().to_string());
    let child = Command::new(env!("CARGO_BIN_EXE_scry"))
        .args([
            "index",
            &p,
            "--db",
            &url,
            "--model",
            &tiny,
            "--batch-size",
            "8",
        ])
        .env("HF_HUB_OFFLINE", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Stop Qdrant once some images are in.
    let t = Instant::now();
    loop {
        let stored = QdrantUrl::parse(&url)
            .ok()
            .and_then(|u| scry::Library::connect(&u).ok())
            .and_then(|l| l.len().ok())
            .unwrap_or(0);
        if stored > 0 || t.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill();
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "a failed run exits 1: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let last = err.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: ") && last.contains(&url.split('?').next().unwrap().to_string()),
        "{err}"
    );
    assert!(last.contains("Qdrant running"), "{last}");
    // Back: the next run completes, nothing lost or doubled.
    server.restart();
    let summary = ok(&scry(&[
        "index", &p, "--db", &url, "--model", &tiny, "--json",
    ]));
    assert_eq!(
        summary["new"].as_u64().unwrap() + summary["unchanged"].as_u64().unwrap(),
        n as u64,
        "{summary}"
    );
    assert_exactly_once(&url, n);
}

/// A copy of the tiny model whose weights differ (a mantissa bit flipped in the
/// second half of every tensor's data): another model with other embeddings.
fn other_model(at: &Path) -> String {
    std::fs::create_dir_all(at).unwrap();
    for f in std::fs::read_dir(tiny()).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), at.join(f.file_name())).unwrap();
    }
    let st = at.join("model.safetensors");
    let mut bytes = std::fs::read(&st).unwrap();
    let header = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let data = 8 + header;
    let half = data + (bytes.len() - data) / 2;
    let start = half - (half - data) % 4;
    for w in (start..bytes.len() - 3).step_by(4) {
        bytes[w + 2] ^= 0x40;
    }
    std::fs::write(&st, bytes).unwrap();
    at.display().to_string()
}

fn http_get(port: u16, path: &str) -> (u16, serde_json::Value) {
    common::http_get(&format!("127.0.0.1:{port}"), path, None)
}

fn hits(v: &serde_json::Value) -> Vec<(String, f64)> {
    v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["path"].as_str().unwrap().to_string(),
                h["score"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_model_switch_while_serving_fails_no_query_and_mixes_no_models() {
    let Some(server) = QdrantServer::shared() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    generate_images(&photos, 120, 11);
    let name = format!("switch_{}", std::process::id());
    let url = server.url(&name, true);
    let (a, b) = (tiny(), other_model(&tmp.path().join("model-b")));
    let p = photos.to_str().unwrap().to_string();
    ok(&scry(&["index", &p, "--db", &url, "--model", &a]));
    let search = |model: &str| {
        hits(&ok(&scry(&[
            "search", "a photo", "--db", &url, "--model", model, "--json", "-k", "5",
        ])))
    };
    let before = search(&a);

    let (serve, addr) = common::serve(&["--db", &url, "--model", &a]);
    let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
    let path = "/api/search?q=a%20photo&k=5";
    assert_eq!(hits(&http_get(port, path).1), before);

    // Queries all the while the library is rebuilt with model B.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let answers = std::thread::scope(|s| {
        let asking = s.spawn(|| {
            let mut answers = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                answers.push(http_get(port, path));
            }
            answers
        });
        let rebuilt = scry(&["index", &p, "--db", &url, "--model", &b, "--rebuild"]);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        ok(&rebuilt);
        asking.join().unwrap()
    });
    let after = search(&b);
    assert_ne!(before, after, "model B ranks or scores differently");
    let mut switched = 0;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        let h = hits(body);
        // Each answer is wholly model A's or wholly model B's.
        assert!(h == before || h == after, "a mix: {h:?}");
        switched += usize::from(h == after);
    }
    println!(
        "{} answers during the rebuild, {switched} from the new model",
        answers.len()
    );
    assert_eq!(hits(&http_get(port, path).1), after);
    assert_eq!(http_get(port, "/api/status").1["model"], b.as_str());
    // The old collection is gone; the alias points at the new one.
    let collections = {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", server.http)).unwrap();
        write!(s, "GET /collections HTTP/1.0\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    assert!(
        collections.contains(&format!("\"{name}_v2\"")),
        "{collections}"
    );
    assert!(
        !collections.contains(&format!("\"{name}_v1\"")),
        "{collections}"
    );
    drop(serve);
}

#[test]
fn two_servers_on_one_collection_answer_alike_and_either_can_die() {
    let Some(server) = QdrantServer::shared() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    generate_images(&photos, 60, 5);
    let url = server.url(&format!("replicas_{}", std::process::id()), false);
    let tiny = tiny();
    ok(&scry(&[
        "index",
        photos.to_str().unwrap(),
        "--db",
        &url,
        "--model",
        &tiny,
    ]));
    let (first, a) = common::serve(&["--db", &url, "--model", &tiny]);
    let (second, b) = common::serve(&["--db", &url, "--model", &tiny]);
    let port = |addr: &str| -> u16 { addr.rsplit(':').next().unwrap().parse().unwrap() };
    let (a, b) = (port(&a), port(&b));
    for path in [
        "/api/search?q=a%20photo&k=10",
        "/api/search?q=set3&k=10",
        "/api/search?q=noise&in=&k=5&offset=5",
        "/api/status",
    ] {
        let (sa, ja) = http_get(a, path);
        let (sb, jb) = http_get(b, path);
        assert_eq!((sa, sb), (200, 200), "{path}: {ja} {jb}");
        let strip = |mut j: serde_json::Value| {
            j.as_object_mut().map(|o| o.remove("took_ms"));
            j
        };
        assert_eq!(strip(ja), strip(jb), "{path}");
    }
    // Either can go; the other answers on.
    drop(first);
    let (status, body) = http_get(b, "/api/search?q=a%20photo&k=10");
    assert_eq!(status, 200, "{body}");
    assert_eq!(hits(&body).len(), 10);
    let (third, c) = common::serve(&["--db", &url, "--model", &tiny]);
    drop(second);
    let (status, body) = http_get(port(&c), "/api/search?q=a%20photo&k=10");
    assert_eq!(status, 200, "{body}");
    drop(third);
}

/// Two indexing workers at once on one collection (`--shard 1/2`, `--shard
/// 2/2`), with nothing shared but Qdrant: every image exactly once, each worker
/// an even part of the work; re-runs find everything unchanged.
#[test]
fn two_workers_index_their_shares_into_one_collection_at_once() {
    let Some(server) = QdrantServer::shared() else {
        return;
    };
    let url = server.url("two_workers", false);
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    generate_images(&photos, 300, 41);
    let (p, tiny) = (photos.to_str().unwrap().to_string(), tiny());
    let worker = |i: u32| {
        Command::new(env!("CARGO_BIN_EXE_scry"))
            .args(["index", &p, "--db", &url, "--model", &tiny, "--json"])
            .args(["--shard", &format!("{i}/2")])
            .current_dir(root())
            .env("HF_HUB_OFFLINE", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let started = Instant::now();
    let (a, b) = (worker(1), worker(2));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let took = started.elapsed();
    let (a, b) = (ok(&a), ok(&b));
    let (na, nb) = (a["new"].as_u64().unwrap(), b["new"].as_u64().unwrap());
    assert_eq!(na + nb, 300, "{a}\n{b}");
    assert!(na.abs_diff(nb) <= 60, "uneven shares: {na} and {nb}");
    eprintln!(
        "two workers: {na} + {nb} images in {:.1} s ({:.1} and {:.1} images/s per worker's own time)",
        took.as_secs_f64(),
        na as f64 / a["seconds"].as_f64().unwrap(),
        nb as f64 / b["seconds"].as_f64().unwrap()
    );
    assert_exactly_once(&url, 300);
    // Again, one after the other: each finds its own share unchanged.
    for i in [1, 2] {
        let again = ok(&worker(i).wait_with_output().unwrap());
        assert_eq!(again["new"], 0, "{again}");
        assert_eq!(again["removed"], 0, "{again}");
    }
    assert_exactly_once(&url, 300);
    // A Kubernetes Indexed Job's pod: the share from JOB_COMPLETION_INDEX.
    let pod = Command::new(env!("CARGO_BIN_EXE_scry"))
        .args([
            "index", &p, "--db", &url, "--model", &tiny, "--json", "--shard", "2",
        ])
        .current_dir(root())
        .env("HF_HUB_OFFLINE", "1")
        .env("JOB_COMPLETION_INDEX", "1")
        .output()
        .unwrap();
    assert_eq!(ok(&pod)["unchanged"], nb, "pod 1 is worker 2/2");

    // With both workers running at once: a file moved from one share into the
    // other, and a file deleted. The old path's worker removes it, the new
    // path's worker adds it; neither lost nor doubled.
    let real = std::fs::canonicalize(&photos).unwrap();
    let old = real.join("set0/img_0000.png");
    let moved = (0..)
        .map(|k| real.join(format!("set1/moved_{k}.png")))
        .find(|n| scry_indexer::Shard::of(n, 2) != scry_indexer::Shard::of(&old, 2))
        .unwrap();
    let vector_of = |path: &std::path::Path| {
        assert_exactly_once(&url, 300)
            .into_iter()
            .find(|(p, _)| p == path)
            .map(|(_, v)| v)
    };
    let before = vector_of(&old).expect("indexed");
    std::fs::rename(&old, &moved).unwrap();
    std::fs::remove_file(real.join("set1/img_0001.png")).unwrap();
    let (a, b) = (worker(1), worker(2));
    let (a, b) = (
        common::wait_output_within(a, Duration::from_secs(300), "worker 1/2"),
        common::wait_output_within(b, Duration::from_secs(300), "worker 2/2"),
    );
    let (a, b) = (ok(&a), ok(&b));
    assert_eq!(
        a["removed"].as_u64().unwrap() + b["removed"].as_u64().unwrap(),
        2,
        "the moved file's old path and the deleted file, each by its owner:\n{a}\n{b}"
    );
    let after = assert_exactly_once(&url, 299);
    let v = after
        .iter()
        .find(|(p, _)| *p == moved)
        .map(|(_, v)| v.clone())
        .expect("the moved file is in the library at its new path");
    // Same bytes, same vector (kept as a copy, or embedded again in another batch).
    let cos: f32 = v.iter().zip(&before).map(|(x, y)| x * y).sum();
    assert!(cos > 0.9999, "the moved file's vector: cosine {cos}");
    // `scry status` shows the whole collection, and says the last run was one worker's.
    let status = ok(&scry(&["status", "--json", "--db", &url]));
    assert_eq!(status["images"], 299, "{status}");
    let shard = status["last_run"]["shard"].as_str().unwrap_or_default();
    assert!(shard == "1/2" || shard == "2/2", "{status}");
}

/// The fault test of a real cluster: three Qdrant nodes (one bootstrapping, two
/// joining), a collection of 6 shards with 2 replicas each (write consistency
/// 1). Two indexing workers (`--shard 1/2`, `--shard 2/2`) and two `scry serve`
/// processes, each given every node with a different one first. One node (the
/// first of one worker and one server) gets SIGKILL mid-run and comes back
/// later. Both workers finish with every image exactly once; the queries sent to
/// both servers all the while all succeed; after the restart every replica is
/// active again. An album made during the run survives the workers' writes to
/// the settings.
#[test]
fn a_cluster_loses_a_node_while_two_workers_index_and_two_servers_answer() {
    let Some(cluster) = QdrantCluster::start(3) else {
        return;
    };
    const N: usize = 480;
    let name = "cluster_fault";
    let options = "?shards=6&replicas=2";
    // Node 2 is the first node of worker 2 and of server B: the one killed.
    let url = |first: usize| cluster.url(name, first, options);
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    generate_images(&photos, N, 77);
    let (p, tiny) = (photos.to_str().unwrap().to_string(), tiny());
    let worker = |i: u32, first: usize| {
        Command::new(env!("CARGO_BIN_EXE_scry"))
            .args(["index", &p, "--db", &url(first), "--model", &tiny, "--json"])
            .args(["--shard", &format!("{i}/2"), "--batch-size", "8"])
            .current_dir(root())
            .env("HF_HUB_OFFLINE", "1")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let started = Instant::now();
    let (w1, w2) = (worker(1, 0), worker(2, 2));

    // The servers start once the library exists.
    let t = Instant::now();
    while !scry(&["status", "--db", &url(0)]).status.success() {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "no library after 2 min"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (server_a, a) = common::serve(&["--db", &url(0), "--model", &tiny]);
    let (server_b, b) = common::serve(&["--db", &url(2), "--model", &tiny]);

    // Queries to both servers, all the while, counted.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let asker = {
        let (stop, a, b) = (stop.clone(), a.clone(), b.clone());
        std::thread::spawn(move || {
            let (mut sent, mut failed) = (0usize, Vec::new());
            let queries = ["a%20photo", "set3", "noise%20img", "img_0100"];
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for addr in [&a, &b] {
                    let q = queries[sent % queries.len()];
                    sent += 1;
                    match common::try_http_get(addr, &format!("/api/search?q={q}&k=10"), None) {
                        Ok((200, body)) if body["hits"].is_array() => {}
                        Ok((status, body)) => failed.push(format!("{addr} {q}: {status} {body}")),
                        Err(e) => failed.push(format!("{addr} {q}: {e}")),
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            (sent, failed)
        })
    };

    // Kill node 2 once a part of the images is stored.
    let lib = connect(&url(0));
    let t = Instant::now();
    while lib.len().unwrap_or(0) < N / 10 {
        assert!(t.elapsed() < Duration::from_secs(180), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    cluster.nodes[2].kill();
    let stored_at_kill = lib.len().unwrap();
    let killed_at = started.elapsed();
    // Most of the writing happens with the node down.
    assert!(
        stored_at_kill < N * 3 / 4,
        "{stored_at_kill} of {N} stored before the kill"
    );
    // An album made with the node down, while the workers write their runs
    // to the settings.
    ok(&scry(&[
        "album",
        "add",
        "kept",
        "--prompt",
        "a photo",
        "--db",
        &url(1),
        "--model",
        &tiny,
    ]));

    // Bounded: a worker that hangs fails the test instead of holding CI.
    let limit = Duration::from_secs(600);
    let (w1, w2) = (
        common::wait_output_within(w1, limit, "worker 1/2"),
        common::wait_output_within(w2, limit, "worker 2/2"),
    );
    let took = started.elapsed();
    let (j1, j2) = (ok(&w1), ok(&w2));
    let (n1, n2) = (j1["new"].as_u64().unwrap(), j2["new"].as_u64().unwrap());
    assert_eq!(n1 + n2, N as u64, "{j1}\n{j2}");
    eprintln!(
        "cluster: node killed at {:.1} s with {stored_at_kill} of {N} stored; workers done at {:.1} s: \
         {n1} + {n2} images ({:.1} and {:.1} images/s per worker)\nworker 2's warnings:\n{}",
        killed_at.as_secs_f64(),
        took.as_secs_f64(),
        n1 as f64 / j1["seconds"].as_f64().unwrap(),
        n2 as f64 / j2["seconds"].as_f64().unwrap(),
        stderr(&w2).lines().take(5).collect::<Vec<_>>().join("\n")
    );
    // Every image once, with its vector, while node 2 is still down.
    assert_exactly_once(&url(0), N);
    // Every image searchable, found first by its name, half through each server.
    for i in 0..N {
        let addr = if i % 2 == 0 { &a } else { &b };
        let (status, body) = http_get_addr(addr, &format!("/api/search?q=img_{i:04}&k=3"));
        assert_eq!(status, 200, "{body}");
        let want = format!("img_{i:04}.png");
        assert!(
            hits(&body).first().is_some_and(|h| h.0.ends_with(&want)),
            "{want} is not found first by its name through {addr}: {body}"
        );
    }

    // Node 2 comes back; its replicas catch up.
    cluster.nodes[2].restart();
    let collection = cluster.alias_target(name).expect("the alias");
    cluster.wait("every replica active", Duration::from_secs(180), |c| {
        let states = c.replica_states(&collection);
        states.len() == 12 && states.iter().all(|(_, s)| s == "Active")
    });
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (sent, failed) = asker.join().unwrap();
    eprintln!(
        "cluster: {sent} queries to the two servers, {} failed",
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "{} of {sent} failed: {failed:#?}",
        failed.len()
    );
    assert!(sent >= 20, "only {sent} queries were sent");
    // After the restart, through the node that was killed first.
    assert_exactly_once(&url(2), N);
    let albums = ok(&scry(&["album", "list", "--json", "--db", &url(2)]));
    assert!(
        albums.to_string().contains("kept"),
        "the album survived: {albums}"
    );
    drop((server_a, server_b));
}

fn http_get_addr(addr: &str, path: &str) -> (u16, serde_json::Value) {
    common::http_get(addr, path, None)
}
