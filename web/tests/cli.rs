//! The `scry` command as a person runs it: real process, real exit codes, offline
//! with the committed tiny model.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{generate_images, root};

#[path = "../../indexer/tests/common/qdrant.rs"]
#[allow(dead_code)]
mod qdrant;

fn tiny() -> PathBuf {
    root().join("tests/fixtures/tiny-clip")
}

/// Runs scry with no network and an empty Hugging Face cache.
fn scry(args: &[&str], hf_home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(args)
        .current_dir(root())
        .env("HF_HOME", hf_home)
        // Caches (the encoded tag vocabulary) stay in the test's folder.
        .env("XDG_CACHE_HOME", hf_home)
        .env("HF_HUB_OFFLINE", "1")
        .env_remove("SCRY_MODEL")
        .env_remove("SCRY_PRECISION")
        .env_remove("SCRY_TEXT_MODEL")
        .output()
        .expect("scry runs")
}

/// A failure is one clear line on stderr, a non-zero exit, and never a panic.
fn assert_clean_failure(out: &Output, expect: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "should fail: {stderr}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    for e in expect {
        assert!(stderr.contains(e), "expected {e:?} in {stderr}");
    }
    stderr
}

#[test]
fn embed_prints_normalised_embeddings_as_json() {
    let home = tempfile::tempdir().unwrap();
    let tiny = tiny();
    let out = scry(
        &[
            "embed",
            "--model",
            tiny.to_str().unwrap(),
            "--image",
            "sample_data/animals/chelsea.jpg",
            "--image",
            "sample_data/space/astronaut.webp",
            "--text",
            "a dog",
            "--text",
            "",
        ],
        home.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["dim"], 32);
    assert_eq!(json["images"].as_array().unwrap().len(), 2);
    assert_eq!(json["texts"][0]["input"], "a dog");
    let model = scry::ClipModel::load_dir(&tiny).unwrap();
    let lib = model.embed_texts(&["a dog"]).unwrap().remove(0);
    for item in json["images"]
        .as_array()
        .unwrap()
        .iter()
        .chain(json["texts"].as_array().unwrap())
    {
        let v: Vec<f32> = item["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(v.len(), 32);
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }
    let cli: Vec<f32> = json["texts"][0]["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    assert!(
        cli.iter().zip(&lib).all(|(a, b)| (a - b).abs() < 1e-6),
        "CLI and library agree"
    );
}

#[test]
fn no_model_offline_says_how_to_get_one() {
    let home = tempfile::tempdir().unwrap();
    let out = scry(&["embed", "--text", "a dog"], home.path());
    assert_clean_failure(
        &out,
        &[
            "no CLIP model found",
            "scry model fetch",
            "--model DIR",
            "HF_HUB_OFFLINE",
        ],
    );
    let out = scry(
        &["embed", "--model", "/no/such/model", "--text", "x"],
        home.path(),
    );
    assert_clean_failure(&out, &["/no/such/model"]);
}

#[test]
fn a_cached_hub_model_loads_offline_by_repo_id() {
    let home = tempfile::tempdir().unwrap();
    let commit = "89abcdef0123456789abcdef0123456789abcdef";
    let repo = home.path().join("hub/models--someorg--tiny-clip");
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), commit).unwrap();
    let snap = repo.join("snapshots").join(commit);
    std::fs::create_dir_all(&snap).unwrap();
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "preprocessor_config.json",
    ] {
        std::fs::copy(tiny().join(f), snap.join(f)).unwrap();
    }
    let out = scry(
        &["embed", "--model", "someorg/tiny-clip", "--text", "a cat"],
        home.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["model"], "someorg/tiny-clip");
}

#[test]
fn bad_inputs_fail_with_one_line_naming_the_file() {
    let home = tempfile::tempdir().unwrap();
    let tiny = tiny();
    let m = tiny.to_str().unwrap();
    let out = scry(
        &["embed", "--model", m, "--image", "sample_data/notes.txt"],
        home.path(),
    );
    assert_clean_failure(&out, &["sample_data/notes.txt", "not an image"]);
    let out = scry(
        &["embed", "--model", m, "--image", "sample_data/missing.jpg"],
        home.path(),
    );
    assert_clean_failure(&out, &["sample_data/missing.jpg"]);
    let out = scry(
        &["embed", "--model", m, "--image", "sample_data/animals"],
        home.path(),
    );
    assert_clean_failure(&out, &["sample_data/animals"]);

    // A broken model folder: its config.json is not JSON.
    let broken = tempfile::tempdir().unwrap();
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::copy(tiny.join(f), broken.path().join(f)).unwrap();
    }
    std::fs::write(broken.path().join("config.json"), "not json").unwrap();
    let out = scry(
        &[
            "embed",
            "--model",
            broken.path().to_str().unwrap(),
            "--text",
            "x",
        ],
        home.path(),
    );
    assert_clean_failure(&out, &["config.json", "not valid JSON"]);

    // A truncated JPEG.
    let bytes = std::fs::read(root().join("sample_data/animals/chelsea.jpg")).unwrap();
    let cut = broken.path().join("cut.jpg");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let out = scry(
        &["embed", "--model", m, "--image", cut.to_str().unwrap()],
        home.path(),
    );
    // libjpeg, like Pillow with LOAD_TRUNCATED_IMAGES, can recover a truncated
    // file; either it embeds or it names the file.
    if !out.status.success() {
        assert_clean_failure(&out, &["cut.jpg"]);
    }
}

#[test]
fn bad_arguments_exit_with_2() {
    let home = tempfile::tempdir().unwrap();
    let out = scry(&["embed", "--batch-size", "0", "--text", "a"], home.path());
    assert_eq!(out.status.code(), Some(2));
    let out = scry(&["frobnicate"], home.path());
    assert_eq!(out.status.code(), Some(2));
    let out = scry(
        &["embed", "--precision", "fp64", "--text", "a"],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--precision"));
}

#[test]
fn precision_bf16_and_int8_embed_images_close_to_f32_or_say_what_the_cpu_lacks() {
    let home = tempfile::tempdir().unwrap();
    let tiny = tiny();
    let embed = |precision: &str| {
        scry(
            &[
                "embed",
                "--model",
                tiny.to_str().unwrap(),
                "--precision",
                precision,
                "--image",
                "sample_data/animals/chelsea.jpg",
            ],
            home.path(),
        )
    };
    let vector = |out: &Output| -> Vec<f32> {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["images"][0]["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    };
    let exact = vector(&embed("f32"));
    for (precision, here, lacks) in [
        ("bf16", scry::ClipModel::bf16_supported(), "AVX-512 BF16"),
        ("int8", scry::ClipModel::int8_supported(), "VNNI"),
    ] {
        let out = embed(precision);
        if !here {
            assert_clean_failure(&out, &[lacks, "f32"]);
            continue;
        }
        let got = vector(&out);
        let cos: f32 = exact.iter().zip(&got).map(|(x, y)| x * y).sum();
        assert!(cos >= 0.999 && exact != got, "{precision}: cosine {cos}");
    }
    assert_clean_failure(&embed("int4"), &["int4", "f32, bf16 or int8"]);
}

#[test]
fn serving_beyond_loopback_needs_a_real_token() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("lib");
    let db = db.to_str().unwrap();
    let model = tiny();
    let model = model.to_str().unwrap();
    let base = ["serve", "--db", db, "--model", model, "--bind", "0.0.0.0:0"];
    let out = scry(&base, home.path());
    assert_clean_failure(&out, &["--bind 0.0.0.0:0", "--token", "SCRY_TOKEN"]);
    let mut short = base.to_vec();
    short.extend(["--token", "hunter2"]);
    assert_clean_failure(&scry(&short, home.path()), &["--token", "16"]);
    let mut spaced = base.to_vec();
    spaced.extend(["--token", "a token with spaces in it"]);
    assert_clean_failure(&scry(&spaced, home.path()), &["--token"]);
}

/// Users are added, changed and removed while the server runs (a local
/// library's catalog is locked by the server; the users file is not), and the
/// server follows within a second or two.
#[test]
fn users_are_managed_while_the_server_runs() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("lib");
    let db = db.to_str().unwrap();
    let model = tiny();
    let model = model.to_str().unwrap();
    let ok = |args: &[&str]| -> String {
        let mut all = args.to_vec();
        all.extend(["--db", db]);
        let out = scry(&all, home.path());
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let fails = |args: &[&str], expect: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--db", db]);
        assert_clean_failure(&scry(&all, home.path()), expect);
    };
    let photos = common::photos();
    ok(&["index", photos.to_str().unwrap(), "--model", model]);
    let (_server, addr) = common::serve(&["--db", db, "--model", model]);
    let get = |path: &str, token: Option<&str>| common::http_get(&addr, path, token);
    // Until there are users, one person's loopback server: no token needed.
    assert_eq!(get("/api/status", None).1["images"], 19);

    let animals = photos.join("animals");
    let animals = animals.to_str().unwrap();
    let food = photos.join("food");
    let food = food.to_str().unwrap();
    let token = ok(&["user", "add", "ann", "--root", animals]);
    let token = token.trim();
    assert!(
        token.starts_with("scry_") && !token.contains(char::is_whitespace),
        "{token:?}"
    );
    let stored = std::fs::read_to_string(Path::new(db).join("access.json")).unwrap();
    assert!(!stored.contains(token) && stored.contains("argon2id"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(Path::new(db).join("access.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the users file is its owner's only: {mode:o}"
        );
    }
    let eventually = |path: &str, token: Option<&str>, want: u16| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (status, body) = get(path, token);
            if status == want {
                return body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{path}: {status} {body}"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    };
    eventually("/api/status", None, 401);
    assert_eq!(eventually("/api/status", Some(token), 200)["images"], 3);

    let list: serde_json::Value = serde_json::from_str(&ok(&["user", "list", "--json"])).unwrap();
    assert_eq!(list[0]["name"], "ann");
    assert_eq!(list[0]["admin"], false);
    fails(&["user", "add", "ann"], &["exists"]);
    fails(&["user", "add", "no spaces"], &["user name"]);
    fails(
        &["user", "roots", "ann", "--root", "/no/such/folder"],
        &["/no/such/folder"],
    );
    fails(&["user", "remove", "bob"], &["bob", "ann"]);
    fails(&["user", "groups", "ann", "--group", "nope"], &["nope"]);

    // A group adds its folders.
    ok(&["group", "add", "kitchen", "--root", food]);
    ok(&["user", "groups", "ann", "--group", "kitchen"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while get("/api/status", Some(token)).1["images"] != 5 {
        assert!(
            std::time::Instant::now() < deadline,
            "the group's folder never appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // A new token retires the old one.
    let new = ok(&["user", "token", "ann"]);
    eventually("/api/status", Some(token), 401);
    eventually("/api/status", Some(new.trim()), 200);
    // The last user removed: the loopback server is one person's again.
    ok(&["user", "remove", "ann"]);
    eventually("/api/status", None, 200);
}

/// With users, a server may listen beyond loopback without --token.
#[test]
fn serving_beyond_loopback_with_users_needs_no_shared_token() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("lib");
    let db = db.to_str().unwrap();
    let model = tiny();
    let out = scry(&["user", "add", "ann", "--db", db], home.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_scry"))
        .args([
            "serve",
            "--db",
            db,
            "--model",
            model.to_str().unwrap(),
            "--bind",
            "0.0.0.0:0",
        ])
        .current_dir(root())
        .env("HF_HUB_OFFLINE", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.contains("sign in with your token"), "{line:?}");
    assert!(!line.contains("token="), "no token printed: {line:?}");
}

/// `--preview` draws each result's thumbnail with the terminal's protocol, and
/// nothing where none is known (here stdout is a pipe).
#[test]
fn search_preview_draws_thumbnails_in_the_terminals_protocol() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("lib");
    let db = db.to_str().unwrap();
    let model = tiny();
    let model = model.to_str().unwrap();
    let out = scry(
        &[
            "index",
            common::photos().to_str().unwrap(),
            "--db",
            db,
            "--model",
            model,
        ],
        home.path(),
    );
    assert!(out.status.success());
    let search = |preview: Option<&str>| -> String {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_scry"));
        cmd.args([
            "search",
            "a cat",
            "-k",
            "3",
            "--preview",
            "--db",
            db,
            "--model",
            model,
        ])
        .current_dir(root())
        .env("HF_HUB_OFFLINE", "1")
        .env_remove("SCRY_PREVIEW");
        if let Some(p) = preview {
            cmd.env("SCRY_PREVIEW", p);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let kitty = search(Some("kitty"));
    assert_eq!(
        kitty.matches("\x1b_Ga=T,f=100,c=16,").count(),
        3,
        "{kitty:?}"
    );
    let iterm = search(Some("iterm"));
    let starts: Vec<&str> = iterm.split("\x1b]1337;File=inline=1;").skip(1).collect();
    assert_eq!(starts.len(), 3);
    for s in starts {
        let b64 = s.split_once(':').unwrap().1.split('\x07').next().unwrap();
        assert!(b64.starts_with("/9j/"), "a JPEG, base64: {}", &b64[..20]);
    }
    let sixel = search(Some("sixel"));
    assert_eq!(sixel.matches("\x1bP").count(), 3, "three sixel images");
    // A pipe, nothing forced: the plain table, no escape at all.
    let plain = search(None);
    assert!(!plain.contains('\x1b'), "{plain:?}");
    assert_eq!(plain.lines().count(), 5, "header, 3 results, more: {plain}");
    assert_eq!(search(Some("none")), plain);
}

/// Small distinct PNGs, deterministic from `seed`.
/// `scry index PHOTOS --db DB --model MODEL EXTRA…`, as owned arguments.
fn index_args(photos: &Path, db: &Path, model: &Path, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "index",
        photos.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// A seed from the clock (tests print it so a failure can be replayed).
fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// The next pseudo-random value (64-bit LCG; its high 31 bits).
fn next_random(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *state >> 33
}

/// Every image of `lib` has, bit for bit, the vector `clean` has for its path.
fn assert_same_vectors_as(lib: &scry::Library, clean: &scry::Library) {
    for (id, rec) in lib.local().unwrap().metas() {
        let clean_id = clean
            .local()
            .unwrap()
            .store()
            .id_for_path(&rec.path)
            .unwrap()
            .expect("same images");
        let (a, b) = (
            lib.local().unwrap().vectors().get(id).unwrap(),
            clean.local().unwrap().vectors().get(clean_id).unwrap(),
        );
        assert!(
            a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
            "vector of {} differs from a clean run",
            String::from_utf8_lossy(&rec.path)
        );
    }
}

/// Runs `scry ARGS` and kills it with SIGKILL after `delay_ms` unless it ended
/// first; true if it was killed.
fn run_killed_after(args: &[String], delay_ms: u64) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(args)
        .env("HF_HUB_OFFLINE", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let until = std::time::Instant::now() + std::time::Duration::from_millis(delay_ms);
    while std::time::Instant::now() < until && child.try_wait().unwrap().is_none() {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let killed = child.try_wait().unwrap().is_none();
    if killed {
        child.kill().unwrap(); // SIGKILL
    }
    child.wait().unwrap();
    killed
}

#[test]
fn kill_9_during_indexing_never_loses_or_duplicates_images() {
    // CI: 6 kills over 300 images. The full run (issue 6):
    //   SCRY_KILL_ROUNDS=20 SCRY_KILL_IMAGES=3000 cargo test -p scry-web --test cli kill_9 -- --nocapture
    let env = |name: &str, default: usize| -> usize {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (rounds, n) = (env("SCRY_KILL_ROUNDS", 6), env("SCRY_KILL_IMAGES", 300));
    let seed = std::env::var("SCRY_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(clock_seed);
    println!("seed {seed} (set SCRY_TEST_SEED to replay), {rounds} kills over {n} images");
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    generate_images(&photos, n, seed);
    let db = tmp.path().join("lib");
    let tiny = tiny();
    let index_into = |db: &Path| index_args(&photos, db, &tiny, &[]);
    let args = index_into(&db);
    // A clean single run first: the reference, and how long a run takes.
    let clean_db = tmp.path().join("clean");
    let clean_args = index_into(&clean_db);
    let clean_args: Vec<&str> = clean_args.iter().map(String::as_str).collect();
    let home = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    assert!(scry(&clean_args, home.path()).status.success());
    let run_ms = started.elapsed().as_millis() as u64;
    let mut rng = seed;
    let mut kills = 0;
    let mut committed = Vec::new();
    for _ in 0..rounds {
        // Anywhere in what is left of the work, start-up included.
        let done = committed.last().copied().unwrap_or(0) as u64;
        let left_ms = run_ms * (n as u64 - done.min(n as u64)) / n as u64;
        let delay = 10 + next_random(&mut rng) % left_ms.max(50);
        kills += usize::from(run_killed_after(&args, delay));
        // The library opens after every kill, and committed work is never lost.
        let count = scry::Library::open(&db).unwrap().len().unwrap();
        assert!(
            committed.last().is_none_or(|&c| count >= c),
            "{committed:?} then {count}"
        );
        committed.push(count);
    }
    println!("killed {kills} runs; images committed after each: {committed:?}");
    let mut json_args: Vec<&str> = args.iter().map(String::as_str).collect();
    json_args.push("--json");
    let out = scry(&json_args, home.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The last run embeds only what no killed run committed.
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let before = *committed.last().unwrap_or(&0) as u64;
    assert_eq!(
        summary["new"].as_u64().unwrap(),
        n as u64 - before,
        "{summary}"
    );
    assert_eq!(summary["unchanged"].as_u64().unwrap(), before, "{summary}");

    let lib = scry::Library::open(&db).unwrap();
    assert_eq!(lib.len().unwrap(), n, "every image exactly once");
    assert_eq!(lib.local().unwrap().store().len(), n);
    assert_eq!(
        lib.local().unwrap().keyword().len() as usize,
        n,
        "no orphan or missing keyword documents"
    );
    let mut paths = std::collections::HashSet::new();
    for item in lib.local().unwrap().store().records() {
        let (id, rec) = item.unwrap();
        assert!(paths.insert(rec.path.clone()), "duplicate path");
        assert!(
            lib.local().unwrap().vectors().contains(id),
            "record without vector"
        );
        assert_eq!(
            lib.local().unwrap().store().id_for_path(&rec.path).unwrap(),
            Some(id)
        );
        assert!(lib
            .local()
            .unwrap()
            .store()
            .thumbnail(id)
            .unwrap()
            .is_some());
    }
    // The same library as one clean run: same images, same vectors bit for bit.
    let clean = scry::Library::open(&clean_db).unwrap();
    assert_same_vectors_as(&lib, &clean);
    assert_eq!(clean.len().unwrap(), n);
}

/// A library of `folder` (relative to the repository) indexed with the tiny
/// model: its folder (the library is `lib` inside; also the HF home), the
/// `--db … --model …` arguments, and the run's JSON summary.
fn indexed(folder: &str) -> (tempfile::TempDir, Vec<String>, serde_json::Value) {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("lib");
    let common = vec![
        "--db".to_string(),
        db.to_string_lossy().into_owned(),
        "--model".to_string(),
        tiny().to_string_lossy().into_owned(),
    ];
    let mut args = vec!["index", folder, "--json"];
    args.extend(common.iter().map(String::as_str));
    let out = scry(&args, home.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = serde_json::from_slice(&out.stdout).unwrap();
    (home, common, summary)
}

#[test]
fn index_then_search_prints_table_paths_and_json() {
    let (home, args, summary) = indexed(common::photos().to_str().unwrap());
    let common: Vec<&str> = args.iter().map(String::as_str).collect();
    let db = home.path().join("lib");
    assert_eq!(summary["new"], 19);
    assert_eq!(summary["failed"], 0);

    let run = |extra: &[&str]| {
        let mut a = vec!["search"];
        a.extend(extra);
        a.extend(&common);
        let out = scry(&a, home.path());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let table = run(&["coffee", "-k", "3"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].contains("score") && lines[0].contains("path"),
        "{table}"
    );
    assert!(
        lines[1].ends_with("sample_data/food/coffee.png"),
        "file-name match first: {table}"
    );
    let paths = run(&["coffee", "-k", "3", "--paths"]);
    assert_eq!(paths.lines().count(), 3);
    assert!(paths.lines().all(|l| Path::new(l).is_file()), "{paths}");
    let chelsea = common::photos().join("animals/chelsea.jpg");
    let json: serde_json::Value = serde_json::from_str(&run(&[
        "--like",
        chelsea.to_str().unwrap(),
        "-k",
        "2",
        "--json",
    ]))
    .unwrap();
    assert_eq!(
        json["hits"][0]["name"], "chelsea-sideways.jpg",
        "the same photo shown upright is the nearest"
    );
    let status = {
        let mut a = vec!["status", "--json", "--db", db.to_str().unwrap()];
        a.truncate(4);
        scry(&a, home.path())
    };
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["images"], 19);

    // Bad arguments: one line, exit code 2.
    let mut a = vec!["search", "x", "--after", "2019-13-45"];
    a.extend(&common);
    let out = scry(&a, home.path());
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr)
            .trim_end()
            .lines()
            .count(),
        1
    );
}

/// Places from the command line: "… in CITY" and `place:` typed into the query,
/// `--near` with `--radius`, the place of each hit, and clear refusals.
#[test]
fn places_from_the_command_line() {
    let (home, args, summary) = indexed("tests/fixtures/places");
    let common: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(summary["new"], 23, "{summary}");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("tests/fixtures/places/manifest.json")).unwrap(),
    )
    .unwrap();
    let file_of = |city: &str| {
        manifest
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["city"] == city)
            .unwrap()["file"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let search = |extra: &[&str]| {
        let mut a = vec!["search"];
        a.extend(extra);
        a.extend(&common);
        scry(&a, home.path())
    };
    let ok = |extra: &[&str]| {
        let out = search(extra);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    // Typed into the query: understood as a place, the rest searched.
    let v: serde_json::Value = serde_json::from_str(&ok(&["in Lisbon", "--json"])).unwrap();
    assert_eq!(v["understood"][0]["kind"], "place", "{v}");
    assert_eq!(v["understood"][0]["text"], "in Lisbon");
    let mut names: Vec<&str> = v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    names.sort();
    let mut want = vec![file_of("Lisbon"), file_of("Belém")];
    want.sort();
    assert_eq!(names, want, "Lisbon and Belém (6 km), not Setúbal (32 km)");
    assert!(v["hits"][0]["place"]["label"]
        .as_str()
        .unwrap()
        .ends_with("Portugal"));
    // --near with a radius; the table names each hit's place.
    let table = ok(&["--near", "Tokyo", "--radius", "5"]);
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{table}");
    assert!(
        rows[0].contains(&file_of("Tokyo")) && rows[0].contains("Japan"),
        "{table}"
    );
    let paths = ok(&["place:\"Buenos Aires\"", "--paths"]);
    assert_eq!(paths.lines().count(), 1, "{paths}");
    assert!(paths.trim().ends_with(&file_of("Buenos Aires")), "{paths}");
    // Undone: "in Lisbon" kept as text searches every photo.
    let all = ok(&["in Lisbon", "--keep", "in Lisbon", "--paths", "-k", "50"]);
    assert_eq!(all.lines().count(), 23, "{all}");
    // Refusals: an unknown place, two places, a radius without a place.
    let out = search(&["place:Xyzzyville"]);
    let err = assert_clean_failure(&out, &["Xyzzyville"]);
    assert!(err.contains("no place"), "{err}");
    let out = search(&["beach in Paris", "--near", "Lisbon"]);
    assert_clean_failure(&out, &["two places"]);
    let out = search(&["x", "--radius", "5"]);
    assert_eq!(out.status.code(), Some(2));
    let out = search(&["x", "--near", "95,10"]);
    assert_clean_failure(&out, &["--near", "latitude"]);
}

/// A damaged library: a clear one-line error naming the damaged part and the way
/// out, never a panic or silently wrong results; `scry index --rebuild` re-creates
/// it from the photos and keeps its roots. A damaged keyword index is re-created
/// from the catalog by itself.
#[test]
fn a_damaged_library_names_the_part_and_rebuild_recovers() {
    fn files(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(files(&p));
            } else {
                out.push(p);
            }
        }
        out
    }
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("lib");
    let dbs = db.to_str().unwrap();
    let model = tiny();
    let model = model.to_str().unwrap();
    let sample = common::photos();
    let index = [
        "index",
        sample.to_str().unwrap(),
        "--db",
        dbs,
        "--model",
        model,
    ];
    assert!(scry(&index, home.path()).status.success());
    let search = [
        "search", "chelsea", "--db", dbs, "--model", model, "--paths",
    ];
    let good = scry(&search, home.path());
    assert!(good.status.success());
    let expected = String::from_utf8_lossy(&good.stdout).to_string();
    assert!(!expected.trim().is_empty());

    // The keyword index overwritten: repaired from the catalog, same results.
    for f in files(&db.join("keyword")) {
        let len = std::fs::metadata(&f).unwrap().len() as usize;
        std::fs::write(&f, vec![0x5Au8; len.max(16)]).unwrap();
    }
    let out = scry(&search, home.path());
    if out.status.success() {
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            expected,
            "same results"
        );
    } else {
        assert_clean_failure(&out, &["keyword", "--rebuild"]);
    }

    // The catalog overwritten and truncated: a clear error that says what to do.
    for (i, f) in files(&db.join("catalog")).iter().enumerate() {
        let len = std::fs::metadata(f).unwrap().len() as usize;
        let garbage = vec![0xA5u8; if i % 2 == 0 { len.max(64) } else { len / 3 }];
        std::fs::write(f, garbage).unwrap();
    }
    let err = assert_clean_failure(&scry(&search, home.path()), &["catalog", "--rebuild"]);
    println!("{err}");

    // The way out: rebuild from the photos; the roots are kept (no folder given).
    let rebuild = ["index", "--rebuild", "--db", dbs, "--model", model];
    let out = scry(&rebuild, home.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = scry(&search, home.path());
    assert!(after.status.success());
    assert_eq!(String::from_utf8_lossy(&after.stdout), expected);
}

/// A full disk: `scry index` stops with a clear error (it used to hang in sled's
/// drop), and once there is space again the next run completes the library.
/// Needs to mount a small tmpfs (root in CI); skipped where mounting is refused.
#[test]
fn a_full_disk_is_a_clear_error_and_the_next_run_completes() {
    struct Mount(PathBuf);
    impl Drop for Mount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let home = tempfile::tempdir().unwrap();
    let mnt = home.path().join("small-disk");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
        .arg(&mnt)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIPPED the full-disk test: cannot mount a tmpfs here");
        return;
    }
    let _mount = Mount(mnt.clone());
    let db = mnt.join("lib");
    let model = tiny();
    let sample = common::photos();
    let args_for = |dir: &Path| -> Vec<String> {
        [
            "index",
            dir.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec()
    };
    // Some images first, then the disk fills up but for a few hundred KB.
    let first = args_for(&sample.join("animals"));
    let first: Vec<&str> = first.iter().map(String::as_str).collect();
    assert!(scry(&first, home.path()).status.success());
    let avail = Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(&mnt)
        .output()
        .unwrap();
    let avail: u64 = String::from_utf8_lossy(&avail.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let filler = mnt.join("filler");
    std::fs::write(&filler, vec![1u8; avail.saturating_sub(900 << 10) as usize]).unwrap();
    // Then 120 noisy images: their thumbnails alone (~4 MB) cannot fit.
    let noise = home.path().join("noise");
    std::fs::create_dir_all(&noise).unwrap();
    let mut state: u32 = 0x9E37_79B9;
    for i in 0..120 {
        image::RgbImage::from_fn(300, 300, |_, _| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            image::Rgb([state as u8, (state >> 8) as u8, (state >> 16) as u8])
        })
        .save(noise.join(format!("noise_{i:03}.png")))
        .unwrap();
    }
    let args = args_for(&noise);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(&args)
        .env("HF_HUB_OFFLINE", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("scry index hangs on a full disk");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "900 KB cannot hold 120 more thumbnails: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap();
    println!("{error}");

    // The part indexed before the disk filled stays searchable, on the full disk
    // and on a read-only mount (sled cannot open in place: a copy is searched).
    let search = [
        "search",
        "a photo",
        "--json",
        "--db",
        db.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
    ];
    let searchable = |what: &str| {
        let out = scry(&search, home.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "search on a {what}: {stderr}");
        assert!(stderr.contains("cannot be written"), "{what}: {stderr}");
        let hits: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let n = hits["hits"].as_array().unwrap().len();
        println!("search on a {what}: {n} results");
        n
    };
    let on_full = searchable("full disk");
    assert!(on_full >= 3, "the animals indexed before");
    let ro = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(ro.success());
    assert_eq!(searchable("read-only mount"), on_full);
    let out = scry(&args, home.path());
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Read-only file system"), "{stderr}");

    // Space again: the same command completes the library.
    let grown = Command::new("mount")
        .args(["-o", "remount,rw,size=64m"])
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(grown.success());
    std::fs::remove_file(&filler).unwrap();
    let out = scry(&args, home.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lib = scry::Library::open(&db).unwrap();
    assert_eq!(lib.len().unwrap(), 3 + 120, "every image, once");
    assert_eq!(lib.local().unwrap().keyword().len(), 3 + 120);
}

/// `scry dupes` and `scry album` on sample_data: the two look-alike pairs, and an
/// album's whole life from the command line.
#[test]
fn dupes_and_albums_from_the_command_line() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("lib");
    let tiny = tiny();
    let with_db = |args: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        a.extend(["--db".to_string(), db.to_str().unwrap().to_string()]);
        a
    };
    let run = |args: Vec<String>| -> Output {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        scry(&a, home.path())
    };
    let ok = |args: Vec<String>| -> String {
        let out = run(args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let model = ["--model", tiny.to_str().unwrap()];
    let photos = common::photos();
    let mut index = with_db(&["index", photos.to_str().unwrap()]);
    index.extend(model.map(String::from));
    ok(index);

    let v: serde_json::Value = serde_json::from_str(&ok(with_db(&["dupes", "--json"]))).unwrap();
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{v}");
    assert!(groups.iter().all(|g| g["tier"] == "near"));
    let text = ok(with_db(&["dupes", "--tier", "near"]));
    assert!(text.contains("near: 2 groups"), "{text}");
    assert!(text.contains("keep"), "{text}");
    assert!(text.contains("nothing was deleted"), "{text}");
    let out = run(with_db(&["dupes", "--tier", "exact"]));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no duplicates (exact)"));
    assert_clean_failure(&run(with_db(&["dupes", "--tier", "bursts"])), &["--tier"]);

    // A suggested album needs no prompt; a custom one takes prompts.
    let mut add = with_db(&["album", "add", "screenshots"]);
    add.extend(model.map(String::from));
    assert!(ok(add).contains("album screenshots:"));
    let mut add = with_db(&[
        "album",
        "add",
        "everything",
        "--prompt",
        "a photo",
        "--threshold",
        "-1",
    ]);
    add.extend(model.map(String::from));
    assert!(ok(add).contains("19 images"));
    let v: serde_json::Value =
        serde_json::from_str(&ok(with_db(&["album", "list", "--json"]))).unwrap();
    let names: Vec<&str> = v["albums"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["everything", "screenshots"]);
    assert_eq!(v["albums"][0]["count"], 19);
    assert!(!v["suggested"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == "screenshots"));
    // Preview: raising the threshold to 1 would drop every image.
    let v: serde_json::Value = serde_json::from_str(&ok(with_db(&[
        "album",
        "show",
        "everything",
        "--threshold",
        "1",
        "--json",
    ])))
    .unwrap();
    assert_eq!(v["leaving"].as_array().unwrap().len(), 19);
    assert_eq!(v["count"], 0);
    // As a search filter.
    let mut search = with_db(&["search", "--album", "everything", "--paths", "-k", "50"]);
    search.extend(model.map(String::from));
    assert_eq!(ok(search).lines().count(), 19);
    // Marks: a photo marked "no" leaves the album, its mark is kept, and
    // clearing it gives back the prompts' album; an unknown photo changes nothing.
    let horse = photos.join("animals/horse.png");
    let horse = horse.to_str().unwrap();
    let members = |v: &serde_json::Value| -> Vec<String> {
        v["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["path"].as_str().unwrap().to_string())
            .collect()
    };
    let show = || -> serde_json::Value {
        serde_json::from_str(&ok(with_db(&[
            "album",
            "show",
            "everything",
            "-k",
            "50",
            "--json",
        ])))
        .unwrap()
    };
    let v: serde_json::Value = serde_json::from_str(&ok(with_db(&[
        "album",
        "mark",
        "everything",
        "--no",
        horse,
        "--json",
    ])))
    .unwrap();
    assert!(v["left"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(v["album"]["marks"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["album"]["marks"][0]["yes"], false, "{v}");
    let now = show();
    assert!(
        !members(&now).iter().any(|p| p.ends_with("horse.png")),
        "{now}"
    );
    assert_eq!(now["album"]["marks"].as_array().unwrap().len(), 1);
    let text = ok(with_db(&["album", "mark", "everything", "--clear", horse]));
    assert!(text.contains("album everything: 19 images"), "{text}");
    assert!(text.contains("0 yes and 0 no"), "{text}");
    assert_eq!(members(&show()).len(), 19);
    let before = show();
    assert_clean_failure(
        &run(with_db(&[
            "album",
            "mark",
            "everything",
            "--yes",
            horse,
            "--no",
            "Cargo.toml",
        ])),
        &["Cargo.toml", "not in the library"],
    );
    assert_eq!(show(), before, "a failed mark stores nothing");
    assert_clean_failure(
        &run(with_db(&["album", "mark", "everything"])),
        &["--yes PATH"],
    );
    assert!(ok(with_db(&["album", "rm", "everything"])).contains("removed album everything"));

    // Auto-tags: the library's counts, one photo's tags, a category added for
    // one run, and clear errors.
    let tags = |extra: &[&str]| -> serde_json::Value {
        let mut a = with_db(&["tags", "--json", "--category", "Kayak"]);
        a.extend(extra.iter().map(|s| s.to_string()));
        a.extend(model.map(String::from));
        serde_json::from_str(&ok(a)).unwrap()
    };
    let v = tags(&[]);
    assert_eq!(v["images"], 19, "{v}");
    // The encoded vocabulary was kept in the cache folder, one file.
    let cached: Vec<_> = std::fs::read_dir(home.path().join("scry").join("tags"))
        .unwrap()
        .collect();
    assert_eq!(cached.len(), 1);
    assert_eq!(v["vocabulary"], scry::tags::VOCABULARY.len() + 1, "{v}");
    // One field of each tag listed.
    let each = |v: &serde_json::Value, key: &str| -> Vec<serde_json::Value> {
        v["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t[key].clone())
            .collect()
    };
    let counts: Vec<u64> = each(&v, "count")
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{v}");
    assert!(counts.iter().all(|&c| (1..=19).contains(&c)), "{v}");
    assert!(counts.iter().sum::<u64>() <= 19 * scry::tags::MAX_TAGS as u64);
    // A lower bar tags at least as much.
    let low = tags(&["--min-share", "0.01", "-k", "1000"]);
    let total = |v: &serde_json::Value| -> u64 {
        each(v, "count").iter().map(|c| c.as_u64().unwrap()).sum()
    };
    assert!(total(&low) >= total(&tags(&["-k", "1000"])), "{low}");
    let one = tags(&["--image", horse, "--min-share", "0.01"]);
    let shares: Vec<f64> = each(&one, "share")
        .iter()
        .map(|s| s.as_f64().unwrap())
        .collect();
    assert!(shares.len() <= scry::tags::MAX_TAGS, "{one}");
    assert!(shares.iter().all(|&s| s >= 0.01), "{one}");
    assert!(shares.windows(2).all(|w| w[0] >= w[1]), "{one}");
    assert!(one["path"].as_str().unwrap().ends_with("horse.png"));
    let mut bad = with_db(&["tags", "--min-share", "0"]);
    bad.extend(model.map(String::from));
    assert_clean_failure(&run(bad), &["--min-share"]);
    let mut bad = with_db(&["tags", "--category", "a/b"]);
    bad.extend(model.map(String::from));
    assert_clean_failure(&run(bad), &["--category", "a/b"]);
    assert_clean_failure(
        &run(with_db(&["tags", "--image", "Cargo.toml"])),
        &["--image Cargo.toml", "not in the library"],
    );
    // `tag:NAME` in a search lists exactly the images the facets count.
    let plain = |extra: &[&str]| -> serde_json::Value {
        let mut a = with_db(&["tags", "--json", "-k", "1000"]);
        a.extend(extra.iter().map(|s| s.to_string()));
        a.extend(model.map(String::from));
        serde_json::from_str(&ok(a)).unwrap()
    };
    let v = plain(&[]);
    let listed = v["tags"].as_array().unwrap().clone();
    for t in listed.iter().take(2) {
        let mut search = with_db(&[
            "search",
            &format!("tag:{}", t["tag"].as_str().unwrap()),
            "--paths",
            "-k",
            "50",
        ]);
        search.extend(model.map(String::from));
        assert_eq!(
            ok(search).lines().count() as u64,
            t["count"].as_u64().unwrap(),
            "{t}"
        );
    }
    // The library's own categories: kept, in every later run's vocabulary,
    // searchable; removed again.
    let added = plain(&["--add", "sea kayak"]);
    assert_eq!(added["vocabulary"], scry::tags::VOCABULARY.len() + 1);
    assert_eq!(added["categories"], serde_json::json!(["sea kayak"]));
    assert_eq!(plain(&[])["vocabulary"], scry::tags::VOCABULARY.len() + 1);
    let mut search = with_db(&["search", "tag:sea-kayak", "--json"]);
    search.extend(model.map(String::from));
    ok(search);
    let mut remove = with_db(&["tags", "--remove", "Sea Kayak", "--json"]);
    remove.extend(model.map(String::from));
    ok(remove);
    assert_eq!(plain(&[])["vocabulary"], scry::tags::VOCABULARY.len());
    let mut search = with_db(&["search", "tag:sea-kayak"]);
    search.extend(model.map(String::from));
    assert_clean_failure(&run(search), &["no tag \"sea-kayak\"", "scry tags"]);
    let mut remove = with_db(&["tags", "--remove", "dog"]);
    remove.extend(model.map(String::from));
    assert_clean_failure(&run(remove), &["--remove", "built-in"]);
    let mut search = with_db(&["search", "tag:a/b"]);
    search.extend(model.map(String::from));
    assert_clean_failure(&run(search), &["tag:a/b"]);
    assert_clean_failure(
        &run(with_db(&["album", "show", "everything"])),
        &["no album named \"everything\"", "screenshots"],
    );
    let mut bad = with_db(&["album", "add", "Bad Name", "--prompt", "x"]);
    bad.extend(model.map(String::from));
    assert_clean_failure(&run(bad), &["lower-case"]);
}

/// A running `scry` whose stdout and stderr lines are read as they come; killed
/// when dropped (a failed assertion leaves no process behind).
struct Running {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(args: &[&str], hf_home: &Path) -> Running {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_scry"))
            .args(args)
            .current_dir(root())
            .env("HF_HOME", hf_home)
            .env("HF_HUB_OFFLINE", "1")
            .env_remove("SCRY_MODEL")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("scry starts");
        let (tx, lines) = std::sync::mpsc::channel();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx2.send(l);
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (20 s at most) for a line containing `text`.
    fn wait_for(&mut self, text: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(text);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => panic!(
                    "no line with {text:?}; the output was:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn png_at(path: &Path, seed: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::RgbImage::from_fn(40, 32, |x, y| {
        image::Rgb([seed, (x * 6) as u8, (y * 7) as u8])
    })
    .save(path)
    .unwrap();
}

/// `scry index --watch` and `scry serve --watch` keep the library current: a new
/// image (in a new folder) and a deleted one are each one printed batch.
#[test]
fn watch_mode_follows_changes_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    generate_images(&photos, 3, 11);
    let db = tmp.path().join("lib");
    let tiny = tiny();
    let common = [
        "--db",
        db.to_str().unwrap(),
        "--model",
        tiny.to_str().unwrap(),
    ];

    let mut args = vec!["index", photos.to_str().unwrap(), "--watch"];
    args.extend(common);
    let mut index = Running::start(&args, home.path());
    index.wait_for("3 new");
    index.wait_for("watching 1 folder(s) for changes");
    png_at(&photos.join("new/extra.png"), 1);
    index.wait_for("watch: 1 new, 0 changed, 0 moved, 0 removed; 4 images");
    std::fs::remove_file(photos.join("set0/img_0000.png")).unwrap();
    index.wait_for("watch: 0 new, 0 changed, 0 moved, 1 removed; 3 images");
    drop(index);

    // While nothing watches, an image arrives: serve --watch indexes it first.
    png_at(&photos.join("new/offline.png"), 2);
    let mut args = vec!["serve", "--watch", "--bind", "127.0.0.1:0"];
    args.extend(common);
    let mut serve = Running::start(&args, home.path());
    serve.wait_for("indexed: 1 new");
    serve.wait_for("watching 1 folder(s) for changes");
    png_at(&photos.join("set1/late.png"), 3);
    serve.wait_for("watch: 1 new, 0 changed, 0 moved, 0 removed; 5 images");

    drop(serve);

    // A file that arrives during the first run (hours, on a large library) is
    // not missed: watching starts before it.
    let big = tmp.path().join("big");
    generate_images(&big, 400, 12);
    let big_db = tmp.path().join("big-lib");
    let args = [
        "index",
        big.to_str().unwrap(),
        "--watch",
        "--db",
        big_db.to_str().unwrap(),
        "--model",
        tiny.to_str().unwrap(),
    ];
    let mut index = Running::start(&args, home.path());
    index.wait_for("indexing 400 new");
    png_at(&big.join("set0/during.png"), 4);
    index.wait_for("400 new, 0 changed");
    index.wait_for("watch: 1 new, 0 changed, 0 moved, 0 removed; 401 images");
    drop(index);

    // --rescan-every needs --watch.
    let mut args = vec!["index", "--rescan-every", "5"];
    args.extend(common);
    assert_eq!(scry(&args, home.path()).status.code(), Some(2));
}

/// `scry index --watch` on a Qdrant library: a new image, a moved one (same
/// bytes, new name: its vector kept) and a deleted one are each one batch, and
/// the collection holds exactly the files on disk.
#[test]
fn watch_mode_follows_changes_on_a_qdrant_library() {
    let Some(server) = qdrant::QdrantServer::shared() else {
        return;
    };
    let url = server.url("cli_watch", false);
    let tmp = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    generate_images(&photos, 3, 21);
    let tiny = tiny();
    let args = [
        "index",
        photos.to_str().unwrap(),
        "--watch",
        "--db",
        &url,
        "--model",
        tiny.to_str().unwrap(),
    ];
    let mut index = Running::start(&args, home.path());
    index.wait_for("3 new");
    index.wait_for("watching 1 folder(s) for changes");
    png_at(&photos.join("new/extra.png"), 5);
    index.wait_for("watch: 1 new, 0 changed, 0 moved, 0 removed; 4 images");
    std::fs::rename(
        photos.join("set0/img_0000.png"),
        photos.join("new/renamed.png"),
    )
    .unwrap();
    index.wait_for("watch: 0 new, 0 changed, 1 moved, 0 removed; 4 images");
    std::fs::remove_file(photos.join("new/extra.png")).unwrap();
    index.wait_for("watch: 0 new, 0 changed, 0 moved, 1 removed; 3 images");
    drop(index);
    let lib = scry::Library::connect(&scry::home::qdrant::QdrantUrl::parse(&url).unwrap()).unwrap();
    let mut paths = Vec::new();
    lib.for_each(false, |it| paths.push(it.record.path_buf()))
        .unwrap();
    paths.sort();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert!(paths.iter().all(|p| p.is_file()), "{paths:?}");
    assert!(paths.contains(&photos.canonicalize().unwrap().join("new/renamed.png")));
}

/// kill -9 during a model switch (`scry index --rebuild --model OTHER`): the
/// library opens after every kill; running the command again (or just `scry
/// index`, once the new model is bound) ends with the library a clean run with
/// the new model makes, albums included.
#[test]
fn kill_9_during_a_model_switch_leaves_a_library_that_opens_and_completes() {
    let rounds: usize = std::env::var("SCRY_KILL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let seed = clock_seed();
    println!("seed {seed}, {rounds} kills");
    let tmp = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    let n = 150;
    generate_images(&photos, n, seed);
    let old_model = tiny();
    // Another model: the same files in another folder (another model id).
    let new_model = tmp.path().join("other-model");
    std::fs::create_dir_all(&new_model).unwrap();
    for f in std::fs::read_dir(&old_model).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), new_model.join(f.file_name())).unwrap();
    }
    let db = tmp.path().join("lib");
    let args = |db: &Path, model: &Path, extra: &[&str]| index_args(&photos, db, model, extra);
    let run = |a: &[String]| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        scry(&a, home.path())
    };
    assert!(run(&args(&db, &old_model, &[])).status.success());
    let album = [
        "album",
        "add",
        "all",
        "--prompt",
        "a photo",
        "--threshold",
        "-1",
        "--db",
        db.to_str().unwrap(),
        "--model",
        old_model.to_str().unwrap(),
    ];
    assert!(scry(&album, home.path()).status.success());
    // The reference: one clean run with the new model; and how long a run takes.
    let clean_db = tmp.path().join("clean");
    let started = std::time::Instant::now();
    assert!(run(&args(&clean_db, &new_model, &[])).status.success());
    let run_ms = started.elapsed().as_millis() as u64;

    let switch = args(&db, &new_model, &["--rebuild"]);
    let mut rng = seed | 1;
    let mut kills = 0;
    for _ in 0..rounds {
        let delay = next_random(&mut rng) % run_ms.max(50);
        kills += usize::from(run_killed_after(&switch, delay));
        let lib = scry::Library::open(&db).expect("opens after every kill");
        assert_eq!(
            lib.local().unwrap().keyword().len() as usize,
            lib.len().unwrap()
        );
    }
    println!("killed {kills} of {rounds} model switches");
    // Finish: plain `scry index` when the new model is bound already, else the
    // switch again.
    let out = run(&args(&db, &new_model, &[]));
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--rebuild"), "{stderr}");
        assert!(run(&switch).status.success());
    }
    let lib = scry::Library::open(&db).unwrap();
    let clean = scry::Library::open(&clean_db).unwrap();
    assert_eq!(lib.len().unwrap(), n);
    assert_eq!(lib.local().unwrap().keyword().len() as usize, n);
    assert_eq!(
        lib.model().unwrap().unwrap(),
        new_model.display().to_string()
    );
    assert_same_vectors_as(&lib, &clean);
    // The album survived the switch, encoded again.
    let albums = lib.albums().unwrap();
    assert_eq!(albums.len(), 1, "{albums:?}");
    assert_eq!(
        scry::albums::members(&lib, &albums[0], albums[0].threshold)
            .unwrap()
            .len(),
        n
    );
    assert!(!db.join(".rebuild-trash").exists());
}

/// Phone and camera files from the command line: HEIC, AVIF, JPEG XL and RAW index
/// with no "unsupported" line when libheif is installed; a RAW and a JPEG of the
/// same shot stay two images in one near-duplicate group; with libheif hidden
/// (`SCRY_HIDE_CODECS`) the HEIC and AVIF files are listed as unsupported with
/// what to install, and `scry status` says which optional formats are there.
#[test]
fn phone_and_camera_formats_index_and_a_missing_codec_says_what_to_install() {
    let home = tempfile::tempdir().unwrap();
    let photos = home.path().join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    let fixtures = root().join("tests/fixtures/formats");
    for (from, to) in [
        ("chelsea.heic", "IMG_2041.HEIC"),
        ("coffee.avif", "coffee.avif"),
        ("rocket.jxl", "rocket.jxl"),
        ("chelsea-sideways.raf", "DSCF0007.RAF"),
        ("chelsea.cr2", "IMG_1234.CR2"),
    ] {
        std::fs::copy(fixtures.join(from), photos.join(to)).unwrap();
    }
    // The camera's own JPEG of the same shot.
    let jpeg = image::open(fixtures.join("ref/chelsea.cr2.png")).unwrap();
    jpeg.to_rgb8().save(photos.join("IMG_1234.JPG")).unwrap();
    let tiny = tiny();
    let heif = common::libheif_here();

    let index = |db: &Path, hide: bool| -> (serde_json::Value, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_scry"));
        cmd.args(index_args(&photos, db, &tiny, &[]))
            .env("HF_HOME", home.path())
            .env("HF_HUB_OFFLINE", "1");
        if hide {
            cmd.env("SCRY_HIDE_CODECS", "libheif");
        }
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut st = Command::new(env!("CARGO_BIN_EXE_scry"));
        st.args(["status", "--json", "--db", db.to_str().unwrap()]);
        if hide {
            st.env("SCRY_HIDE_CODECS", "libheif");
        }
        let status = serde_json::from_slice(&st.output().unwrap().stdout).unwrap();
        (status, text)
    };

    if heif {
        let db = home.path().join("lib");
        let (status, text) = index(&db, false);
        assert!(!text.contains("unsupported"), "{text}");
        assert!(text.contains("6 new"), "{text}");
        assert_eq!(status["images"], 6);
        assert_eq!(
            status["formats"]["optional"][0]["available"], true,
            "{status}"
        );
        let lib = scry::Library::open(&db).unwrap();
        let formats: std::collections::BTreeSet<String> = lib
            .all_records()
            .unwrap()
            .iter()
            .map(|(_, r)| r.format.clone())
            .collect();
        assert_eq!(
            formats.into_iter().collect::<Vec<_>>(),
            ["avif", "cr2", "heic", "jpeg", "jxl", "raf"]
        );
        drop(lib);
        let out = scry(
            &["dupes", "--json", "--db", db.to_str().unwrap()],
            home.path(),
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let pair = v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g.to_string().contains("IMG_1234.CR2"))
            .unwrap_or_else(|| panic!("no group holds the RAW: {v}"));
        assert!(pair.to_string().contains("IMG_1234.JPG"), "{pair}");
    }

    let db = home.path().join("lib-without-libheif");
    let (status, text) = index(&db, true);
    assert!(text.contains("2 unsupported"), "{text}");
    for name in ["IMG_2041.HEIC", "coffee.avif"] {
        let line = text
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} not listed: {text}"));
        assert!(line.contains("needs libheif"), "{line}");
        assert!(line.contains("apt install libheif1"), "{line}");
    }
    assert_eq!(status["images"], 4);
    assert_eq!(
        status["formats"]["optional"][0]["available"], false,
        "{status}"
    );
    assert!(status["formats"]["built_in"]
        .as_str()
        .unwrap()
        .contains("JPEG XL"));
}

/// The README's main job on the whole of sample_data, phone files included:
/// with libheif and ffmpeg here, the HEIC, the Nikon RAW and its JPEG, the
/// video and the Live Photo index with no "unsupported" line, the video has
/// its frames, the RAW and JPEG of one shot are one near-duplicate group, and
/// "in Florida" finds the photo and the video by their GPS. Without the codecs
/// (hidden), the HEIC and the video are listed with what to install, and the
/// rest (RAW included: no system library) is indexed.
#[test]
fn sample_data_indexes_every_phone_file_and_names_missing_codecs() {
    let home = tempfile::tempdir().unwrap();
    let sample = root().join("sample_data");
    let tiny = tiny();
    let index = |db: &Path, hide: bool| -> (serde_json::Value, String) {
        let run = |json: bool| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_scry"));
            cmd.args(index_args(
                &sample,
                db,
                &tiny,
                if json { &["--json"] } else { &[] },
            ))
            .env("HF_HOME", home.path())
            .env("HF_HUB_OFFLINE", "1");
            if hide {
                cmd.env("SCRY_HIDE_CODECS", "libheif,ffmpeg");
            }
            let out = cmd.output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            assert!(
                out.status.success(),
                "{text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            text
        };
        // The summary as JSON, then the same run again as a person reads it
        // (nothing left to do the second time but the report of what is not
        // indexed).
        let summary = serde_json::from_str(&run(true)).unwrap();
        (summary, run(false))
    };
    let phone = |name: &str| sample.join("phone").join(name);

    if common::libheif_here() && common::ffmpeg_here() {
        let db = home.path().join("lib");
        let (s, text) = index(&db, false);
        assert_eq!(s["unsupported"], 0, "{s}");
        assert_eq!(s["failed"], 0, "{s}");
        assert!(!text.contains("unsupported"), "{text}");
        // 19 photos, then a HEIC, a RAW and its JPEG, and a video.
        assert_eq!(
            (s["new"].as_u64(), s["total"].as_u64()),
            (Some(23), Some(23)),
            "{s}"
        );
        assert_eq!(s["motion_clips"], 1, "the Live Photo's clip: {s}");
        assert!(s["frames"].as_u64().unwrap() >= 2, "{s}");
        let lib = scry::Library::open(&db).unwrap();
        let formats: std::collections::BTreeSet<String> = lib
            .all_records()
            .unwrap()
            .iter()
            .filter(|(_, r)| String::from_utf8_lossy(&r.path).contains("/phone/"))
            .map(|(_, r)| r.format.clone())
            .collect();
        assert_eq!(
            formats.into_iter().collect::<Vec<_>>(),
            ["heic", "jpeg", "mp4", "nef"]
        );
        drop(lib);
        let out = scry(
            &["dupes", "--json", "--db", db.to_str().unwrap()],
            home.path(),
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let groups = v["groups"].as_array().unwrap();
        // The two look-alike pairs of the photos, and the camera's pair.
        assert_eq!(groups.len(), 3, "{v}");
        let pair = groups
            .iter()
            .find(|g| g.to_string().contains("DSC_0107.NEF"))
            .unwrap_or_else(|| panic!("no group holds the RAW: {v}"));
        assert!(pair.to_string().contains("DSC_0107.JPG"), "{pair}");
        let out = scry(
            &[
                "search",
                "sky in Florida",
                "--paths",
                "--db",
                db.to_str().unwrap(),
                "--model",
                tiny.to_str().unwrap(),
            ],
            home.path(),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let mut found: Vec<&str> = text.lines().collect();
        found.sort();
        assert_eq!(
            found,
            [
                phone("IMG_0042.HEIC").to_str().unwrap(),
                phone("VID_20240501_101500.mp4").to_str().unwrap()
            ],
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let db = home.path().join("lib-without-codecs");
    let (s, text) = index(&db, true);
    assert_eq!(
        (s["unsupported"].as_u64(), s["failed"].as_u64()),
        (Some(2), Some(0)),
        "{s}"
    );
    assert_eq!(s["total"], 21, "{s}");
    assert!(text.contains("2 unsupported"), "{text}");
    for (name, install) in [
        ("IMG_0042.HEIC", "apt install libheif1"),
        ("VID_20240501_101500.mp4", "apt install ffmpeg"),
    ] {
        let line = text
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} not listed: {text}"));
        assert!(line.contains(install), "{line}");
    }
}

/// Videos from the command line: indexed with no "unsupported" line when
/// ffmpeg is here, found by a frame's content with that frame's time printed,
/// searched like from a moment of them; a Live Photo's clip stays with its
/// photo; without ffmpeg (hidden) the video is listed as unsupported with what
/// to install, and `scry status` says whether video is readable.
#[test]
fn videos_are_found_at_the_frame_that_matches_and_live_photo_clips_stay_with_their_photo() {
    let home = tempfile::tempdir().unwrap();
    let photos = home.path().join("photos");
    std::fs::create_dir_all(photos.join("trip")).unwrap();
    let fixtures = root().join("tests/fixtures/video");
    std::fs::copy(fixtures.join("scenes.mp4"), photos.join("trip/beach.mp4")).unwrap();
    // A Live Photo: the still and its clip, named alike.
    std::fs::copy(
        root().join("sample_data/animals/chelsea.jpg"),
        photos.join("IMG_0001.JPG"),
    )
    .unwrap();
    std::fs::copy(fixtures.join("upright.mp4"), photos.join("IMG_0001.MOV")).unwrap();
    let tiny = tiny();
    let ffmpeg = common::ffmpeg_here();
    let index = |db: &Path, hide: bool| -> (serde_json::Value, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_scry"));
        cmd.args(index_args(&photos, db, &tiny, &[]))
            .env("HF_HOME", home.path())
            .env("HF_HUB_OFFLINE", "1");
        let mut st = Command::new(env!("CARGO_BIN_EXE_scry"));
        st.args(["status", "--json", "--db", db.to_str().unwrap()]);
        if hide {
            cmd.env("SCRY_HIDE_CODECS", "ffmpeg");
            st.env("SCRY_HIDE_CODECS", "ffmpeg");
        }
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let status = serde_json::from_slice(&st.output().unwrap().stdout).unwrap();
        (status, text)
    };
    let ffmpeg_listed = |status: &serde_json::Value| {
        status["formats"]["optional"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["provider"] == "ffmpeg")
            .unwrap_or_else(|| panic!("ffmpeg not among the optional codecs: {status}"))
            ["available"]
            .as_bool()
            .unwrap()
    };

    if ffmpeg {
        let db = home.path().join("lib");
        let (status, text) = index(&db, false);
        assert!(!text.contains("unsupported"), "{text}");
        assert!(text.contains("2 new"), "{text}");
        assert!(text.contains("videos: 3 frames embedded"), "{text}");
        assert!(text.contains("1 Live Photo clips kept"), "{text}");
        assert_eq!(status["images"], 2);
        assert!(ffmpeg_listed(&status));
        let db_arg = db.to_str().unwrap();
        let search = |args: &[&str]| -> (String, Option<serde_json::Value>) {
            let mut all = vec!["search", "--db", db_arg, "--model", tiny.to_str().unwrap()];
            all.extend_from_slice(args);
            let out = scry(&all, home.path());
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            assert!(
                out.status.success(),
                "{text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let json = serde_json::from_str(&text).ok();
            (text, json)
        };
        // The frame at 24 s as a picture finds the video there.
        let frame = fixtures.join("frame-24.png");
        let frame = frame.to_str().unwrap();
        let (text, _) = search(&["--image", frame]);
        let first = text.lines().nth(1).unwrap_or_default();
        assert!(
            first.contains("beach.mp4") && first.contains("at 0:24"),
            "{text}"
        );
        let v = search(&["--image", frame, "--json"]).1.unwrap();
        assert_eq!(v["hits"][0]["time"], 24.0, "{v}");
        assert_eq!(v["hits"][0]["duration"], 36.0, "{v}");
        assert_eq!(v["hits"][0]["format"], "mp4", "{v}");
        // The photo is no video: no time.
        assert!(v["hits"][1].get("time").is_none(), "{v}");
        // More like the video's moment at 0:24: the photo (the video itself is
        // the example, so not a result).
        let video = photos.join("trip/beach.mp4");
        let v = search(&["--like", video.to_str().unwrap(), "--at", "0:24", "--json"])
            .1
            .unwrap();
        let hits = v["hits"].as_array().unwrap();
        assert_eq!(hits.len(), 1, "{v}");
        assert!(
            hits[0]["path"].as_str().unwrap().ends_with("IMG_0001.JPG"),
            "{v}"
        );
        // An unchanged video is not read again.
        let (_, text) = index(&db, false);
        assert!(text.contains("0 new, 0 changed, 2 unchanged"), "{text}");
    }

    let db = home.path().join("lib-without-ffmpeg");
    let (status, text) = index(&db, true);
    assert!(text.contains("1 unsupported"), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("beach.mp4"))
        .unwrap_or_else(|| panic!("the video is not listed: {text}"));
    assert!(
        line.contains("needs ffmpeg") && line.contains("apt install ffmpeg"),
        "{line}"
    );
    // The Live Photo's clip is the photo's, not an unsupported file.
    assert!(!text.contains("IMG_0001.MOV"), "{text}");
    assert_eq!(status["images"], 1);
    assert!(!ffmpeg_listed(&status));
}

/// A video that makes ffmpeg hang (here an ffmpeg that never answers) is
/// stopped at the time limit and reported with the file's name; the rest of
/// the folder is indexed.
#[test]
fn a_video_that_hangs_ffmpeg_is_stopped_and_reported() {
    let (Ok(ffmpeg), Ok(ffprobe)) = (which("ffmpeg"), which("ffprobe")) else {
        common::codec_here("ffmpeg", false);
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let bin = home.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = |name: &str, body: &str| {
        use std::os::unix::fs::PermissionsExt;
        let p = bin.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    // ffprobe answers; ffmpeg says its version, then never decodes (exec: the
    // same process, so stopping it stops the wait).
    script("ffprobe", &format!("exec {} \"$@\"", ffprobe.display()));
    script(
        "ffmpeg",
        &format!(
            "[ \"$1\" = -version ] && exec {} -version\nexec sleep 600",
            ffmpeg.display()
        ),
    );
    let photos = home.path().join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    std::fs::copy(
        root().join("tests/fixtures/video/scenes.mp4"),
        photos.join("stuck.mp4"),
    )
    .unwrap();
    std::fs::copy(
        root().join("sample_data/animals/chelsea.jpg"),
        photos.join("chelsea.jpg"),
    )
    .unwrap();
    let db = home.path().join("lib");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(index_args(&photos, &db, &tiny(), &[]))
        .env("PATH", path)
        .env("SCRY_VIDEO_TIMEOUT", "2")
        .env("HF_HOME", home.path())
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = text
        .lines()
        .find(|l| l.contains("stuck.mp4"))
        .unwrap_or_else(|| panic!("the video is not listed: {text}"));
    assert!(
        line.contains("took longer than 2 s") && line.contains("stopped"),
        "{line}"
    );
    assert!(text.contains("1 new"), "{text}");
}

/// The program `name` on PATH.
fn which(name: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}

/// `scry export` round-trips: the .npy array and its JSONL sidecar, and the
/// JSONL with embeddings, hold for each file the vector `scry embed` gives it.
#[test]
fn export_writes_npy_and_jsonl_with_the_embeddings_of_the_files() {
    let home = tempfile::tempdir().unwrap();
    let photos = home.path().join("photos");
    generate_images(&photos, 5, 31);
    let db = home.path().join("lib");
    let tiny = tiny();
    let args = index_args(&photos, &db, &tiny, &[]);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(scry(&a, home.path()).status.success());

    let base = home.path().join("out/vectors");
    std::fs::create_dir_all(base.parent().unwrap()).unwrap();
    let out = scry(
        &[
            "export",
            "--format",
            "npy",
            "--out",
            base.with_extension("npy").to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ],
        home.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("exported 5 images"));
    let npy = npyz::NpyFile::new(std::fs::File::open(base.with_extension("npy")).unwrap()).unwrap();
    assert_eq!(npy.shape(), &[5, 32]);
    let flat: Vec<f32> = npy.into_vec().unwrap();
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(base.with_extension("jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 5);
    assert!(!home.path().join("out/vectors.npy.partial").exists());

    // What `scry embed` says of the same files.
    let mut embed = vec![
        "embed".to_string(),
        "--model".into(),
        tiny.display().to_string(),
    ];
    for r in &rows {
        embed.push("--image".into());
        embed.push(r["path"].as_str().unwrap().to_string());
    }
    let e: Vec<&str> = embed.iter().map(String::as_str).collect();
    let out = scry(&e, home.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let embedded: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["row"], i);
        let want: Vec<f32> = embedded["images"][i]["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        let got = &flat[i * 32..(i + 1) * 32];
        let diff = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(diff < 1e-6, "{}: {diff}", r["path"]);
    }

    // JSONL with embeddings, to standard output.
    let out = scry(&["export", "--db", db.to_str().unwrap()], home.path());
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    for l in &lines {
        let row = rows.iter().position(|r| r["id"] == l["id"]).unwrap();
        let emb: Vec<f32> = l["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(emb, flat[row * 32..(row + 1) * 32], "{}", l["path"]);
        assert_eq!(l["model"], rows[row]["model"]);
    }
    // npy needs a place for its two files.
    assert_clean_failure(
        &scry(
            &["export", "--format", "npy", "--db", db.to_str().unwrap()],
            home.path(),
        ),
        &["--out"],
    );
}

/// Shell completions and the manual page come from the command definitions.
#[test]
fn completions_and_manual_page_cover_every_command() {
    let home = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = scry(&["completions", shell], home.path());
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        for cmd in ["index", "search", "serve", "export", "dupes", "album"] {
            assert!(text.contains(cmd), "{shell} completions lack {cmd}");
        }
    }
    if Path::new("/bin/bash").exists() {
        // The bash script is valid bash.
        let out = scry(&["completions", "bash"], home.path());
        let script = home.path().join("scry.bash");
        std::fs::write(&script, out.stdout).unwrap();
        let check = Command::new("/bin/bash")
            .arg("-n")
            .arg(&script)
            .status()
            .unwrap();
        assert!(check.success());
    }
    let out = scry(&["man"], home.path());
    assert!(out.status.success());
    let man = String::from_utf8(out.stdout).unwrap();
    assert!(
        man.starts_with(".ie") || man.contains(".TH scry"),
        "{}",
        &man[..200.min(man.len())]
    );
    assert!(man.contains("index") && man.contains("search"));
    assert_clean_failure(&scry(&["completions", "tcsh"], home.path()), &["tcsh"]);
}

/// Text in images from the command line: `scry index --ocr` reads it (and the
/// library remembers the choice until --no-ocr), a word in a picture finds
/// it, `text:"…"` matches the text only, `scry status` says OCR is on; with
/// Tesseract missing (hidden), `--ocr` is one line saying what to install; an
/// unknown language names the package.
#[test]
fn text_in_images_from_the_command_line() {
    let home = tempfile::tempdir().unwrap();
    let photos = home.path().join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    let fixtures = root().join("tests/fixtures/ocr");
    for f in ["text_01.png", "text_27.png", "text_28.png", "text_11.jpg"] {
        std::fs::copy(fixtures.join(f), photos.join(f)).unwrap();
    }
    std::fs::copy(
        root().join("sample_data/animals/chelsea.jpg"),
        photos.join("chelsea.jpg"),
    )
    .unwrap();
    let tiny = tiny();
    let db = home.path().join("lib");
    let index = |extra: &[&str]| {
        scry(
            &index_args(&photos, &db, &tiny, extra)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            home.path(),
        )
    };
    let status = || -> serde_json::Value {
        let out = scry(
            &["status", "--json", "--db", db.to_str().unwrap()],
            home.path(),
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };

    // Without Tesseract: one line with what to install, nothing indexed.
    let out = Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(index_args(&photos, &db, &tiny, &["--ocr"]))
        .env("HF_HUB_OFFLINE", "1")
        .env("SCRY_HIDE_CODECS", "tesseract")
        .output()
        .unwrap();
    assert_clean_failure(
        &out,
        &["--ocr", "apt install libtesseract5 tesseract-ocr-eng"],
    );

    if !common::tesseract_here() {
        return;
    }
    let out = index(&["--ocr-lang", "xq"]);
    assert_clean_failure(&out, &["--ocr", "\"xq\"", "tesseract-ocr-xq"]);
    let out = index(&["--ocr-lang", "eng;rm"]);
    assert_clean_failure(&out, &["--ocr-lang", "eng+deu"]);

    let out = index(&["--ocr"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("text: 5 images looked at"), "{text}");
    assert_eq!(status()["ocr"], "eng");
    let mut st = scry(&["status", "--db", db.to_str().unwrap()], home.path());
    let st_text = String::from_utf8_lossy(&std::mem::take(&mut st.stdout)).to_string();
    assert!(
        st_text.contains("text in images: read at indexing (eng)"),
        "{st_text}"
    );
    assert!(
        st_text.contains("text in images (scry index --ocr): yes (tesseract"),
        "{st_text}"
    );

    let search = |q: &str| -> Vec<String> {
        let out = scry(
            &[
                "search",
                q,
                "--paths",
                "--db",
                db.to_str().unwrap(),
                "--model",
                tiny.to_str().unwrap(),
            ],
            home.path(),
        );
        assert!(
            out.status.success(),
            "{q}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    };
    // A made-up word on the turned page finds it first.
    let hits = search("prynibgri");
    assert!(hits[0].ends_with("text_27.png"), "{hits:?}");
    // The phrase is on both turned pages, and only there.
    let mut hits = search("text:\"due on Monday\"");
    hits.sort();
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert!(
        hits[0].ends_with("text_27.png") && hits[1].ends_with("text_28.png"),
        "{hits:?}"
    );
    assert!(search("text:\"Monday on due\"").is_empty());
    let out = scry(
        &[
            "search",
            "text:\"gate",
            "--db",
            db.to_str().unwrap(),
            "--model",
            tiny.to_str().unwrap(),
        ],
        home.path(),
    );
    assert_clean_failure(&out, &["text:", "closing quote"]);

    // Remembered: a plain run keeps OCR on; --no-ocr turns it off.
    let out = index(&[]);
    assert!(out.status.success());
    assert_eq!(status()["ocr"], "eng");
    let out = index(&["--no-ocr"]);
    assert!(out.status.success());
    assert_eq!(status()["ocr"], serde_json::Value::Null);
    // What was read stays searchable.
    assert!(search("prynibgri")[0].ends_with("text_27.png"));
}

fn json_floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// A library indexed with one image model answers queries in other languages
/// through `--text-model` (a multilingual tower trained into that image
/// space), with no re-indexing: `scry embed` gives the reference's text
/// embedding, `scry search` ranks the library by it, and a text model that is
/// not there says how to get it.
#[test]
fn a_text_model_answers_other_languages_from_the_command_line() {
    let (home, args, summary) = indexed(common::photos().to_str().unwrap());
    assert_eq!(summary["failed"], 0);
    let common: Vec<&str> = args.iter().map(String::as_str).collect();
    let tower = root().join("tests/fixtures/tiny-multilingual");
    let tower = tower.to_str().unwrap();
    let query = "собака на пляже";
    let want = scry::model::normalize(common::multilingual_golden(query));

    // scry embed: the text goes through the text model.
    let out = scry(
        &[
            "embed",
            "--model",
            tiny().to_str().unwrap(),
            "--text-model",
            tower,
            "--text",
            query,
        ],
        home.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        json["text_model"]
            .as_str()
            .unwrap()
            .ends_with("tiny-multilingual"),
        "{json}"
    );
    let got = json_floats(&json["texts"][0]["embedding"]);
    let cos = scry::model::cosine(&got, &want);
    assert!(cos >= 0.99999, "embed --text-model: cosine {cos}");

    // The library's own vectors, as exported, ranked by the reference's text vector.
    let mut a = vec!["export"];
    a.extend(&common[..2]);
    let out = scry(&a, home.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut expected: Vec<(String, f32)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let row: serde_json::Value = serde_json::from_str(l).unwrap();
            let v = json_floats(&row["embedding"]);
            (
                row["path"].as_str().unwrap().to_string(),
                scry::model::cosine(&v, &want),
            )
        })
        .collect();
    expected.sort_by(|a, b| b.1.total_cmp(&a.1));
    let cos_of = |p: &str| expected.iter().find(|(q, _)| q == p).unwrap().1;

    let search = |extra: &[&str]| -> Vec<String> {
        let mut a = vec!["search", query, "-k", "19", "--json"];
        a.extend(extra);
        a.extend(&common);
        let out = scry(&a, home.path());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["path"].as_str().unwrap().to_string())
            .collect()
    };
    let hits = search(&["--text-model", tower]);
    assert_eq!(hits.len(), 19);
    assert_eq!(
        hits[0], expected[0].0,
        "best by the text model's vector first"
    );
    for pair in hits.windows(2) {
        assert!(
            cos_of(&pair[0]) >= cos_of(&pair[1]) - 1e-4,
            "ranked by the text model's vector: {pair:?} ({} < {})",
            cos_of(&pair[0]),
            cos_of(&pair[1])
        );
    }
    // CLIP's own text tower ranks them otherwise (the flag is not ignored).
    let own = search(&[]);
    assert_ne!(
        own[..5],
        hits[..5],
        "CLIP's own tower gave the same ranking"
    );

    // SCRY_TEXT_MODEL does what the flag does.
    let mut a = vec!["search", query, "-k", "19", "--json"];
    a.extend(&common);
    let out = Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(&a)
        .current_dir(root())
        .env("HF_HOME", home.path())
        .env("XDG_CACHE_HOME", home.path())
        .env("HF_HUB_OFFLINE", "1")
        .env("SCRY_TEXT_MODEL", tower)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["hits"][0]["path"], hits[0].as_str());

    // A hub text model that is not cached, offline: one line saying how to get it.
    let mut a = vec![
        "search",
        query,
        "--text-model",
        "sentence-transformers/clip-ViT-B-32-multilingual-v1",
    ];
    a.extend(&common);
    assert_clean_failure(
        &scry(&a, home.path()),
        &[
            "no text model found",
            "scry model fetch sentence-transformers/clip-ViT-B-32-multilingual-v1",
        ],
    );
    // A folder that is not a text model is named.
    let clip = tiny();
    let mut a = vec!["search", query, "--text-model", clip.to_str().unwrap()];
    a.extend(&common);
    assert_clean_failure(&scry(&a, home.path()), &["tiny-clip", "modules.json"]);
}

/// `scry model list` prints the catalogue (the default first, text towers
/// naming their image model); `scry model fetch ID` of a catalogued text
/// tower, offline and uncached, says how to get it.
#[test]
fn the_model_catalogue_lists_and_fetches() {
    let home = tempfile::tempdir().unwrap();
    let out = scry(&["model", "list", "--json"], home.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows[0]["id"], scry::model::DEFAULT_MODEL);
    assert_eq!(rows[0]["default"], true);
    assert!(rows[0]["images_per_s"].as_f64().unwrap() > 0.0);
    let ml = rows
        .iter()
        .find(|r| r["role"] == "text")
        .expect("a text tower in the catalogue");
    assert_eq!(ml["text_for"][0], scry::model::DEFAULT_MODEL);
    assert_eq!(ml["dim"], rows[0]["dim"]);
    let table = scry(&["model", "list"], home.path());
    let table = String::from_utf8(table.stdout).unwrap();
    assert_eq!(
        table.lines().next().unwrap().split_whitespace().next(),
        Some("model")
    );
    assert!(table.contains(ml["id"].as_str().unwrap()), "{table}");

    let out = scry(&["model", "fetch", ml["id"].as_str().unwrap()], home.path());
    assert_clean_failure(&out, &["no text model found", "HF_HUB_OFFLINE"]);
    let out = scry(
        &["model", "fetch", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"],
        home.path(),
    );
    assert_clean_failure(
        &out,
        &[
            "no CLIP model found",
            "laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
        ],
    );
}

#[test]
fn a_siglip_model_embeds_indexes_and_searches() {
    let home = tempfile::tempdir().unwrap();
    let siglip = root().join("tests/fixtures/tiny-siglip");
    let model = siglip.to_str().unwrap();
    let golden: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("tests/fixtures/golden-siglip.json")).unwrap(),
    )
    .unwrap();
    let reference = |key: &str, field: &str, value: &str| -> Vec<f32> {
        let entry = golden[key]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e[field] == value)
            .unwrap_or_else(|| panic!("{value} is not in golden-siglip.json"));
        let v: Vec<f32> = serde_json::from_value(entry["features"].clone()).unwrap();
        scry::model::normalize(v)
    };
    let floats = |v: &serde_json::Value| -> Vec<f32> { serde_json::from_value(v.clone()).unwrap() };

    // scry embed: the reference's embeddings, from the text and from the file.
    let out = scry(
        &[
            "embed",
            "--model",
            model,
            "--text",
            "A Photo Of A CAT",
            "--image",
            "sample_data/animals/chelsea.jpg",
        ],
        home.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["dim"], 48);
    let text = floats(&json["texts"][0]["embedding"]);
    let want = reference("texts", "text", "A Photo Of A CAT");
    assert!(scry::model::cosine(&text, &want) >= 0.99999);
    let image = floats(&json["images"][0]["embedding"]);
    let want = reference("images", "file", "../../sample_data/animals/chelsea.jpg");
    let cos = scry::model::cosine(&image, &want);
    assert!(cos >= 0.999, "chelsea.jpg from the file: cosine {cos}");

    let out = scry(&["model", "info", "--model", model], home.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (info["family"].as_str(), info["dim"].as_u64()),
        (Some("SigLIP"), Some(48))
    );
    assert_eq!(info["text"]["context"], 64);

    // A library indexed with it: image and text searches rank by its embeddings.
    let db = home.path().join("db");
    let db = db.to_str().unwrap();
    let run = |args: &[&str]| -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["--db", db, "--model", model]);
        let out = scry(&all, home.path());
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
    };
    let photos = common::photos();
    run(&["index", photos.to_str().unwrap()]);
    let chelsea = photos.join("animals/chelsea.jpg");
    let like = run(&["search", "--like", chelsea.to_str().unwrap(), "--json"]);
    // The query image itself is left out; its sideways twin (EXIF-rotated on
    // decode) embeds the same.
    let top = &like["hits"][0];
    assert!(
        top["name"] == "chelsea-sideways.jpg" && top["score"].as_f64().unwrap() > 0.999,
        "{like}"
    );
    // The text query's best image, computed here with the library API.
    let m = scry::ClipModel::load_dir(&siglip).unwrap();
    let q = m.embed_texts(&["zqx vlorp"]).unwrap().remove(0);
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&photos, &mut files);
    let best = m
        .embed_image_files(&files, 8)
        .unwrap()
        .into_iter()
        .zip(&files)
        .filter_map(|(e, f)| Some((scry::model::cosine(&e.ok()?, &q), f)))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap();
    let hits = run(&["search", "zqx vlorp", "--json"]);
    let top = hits["hits"][0]["path"].as_str().unwrap();
    assert!(
        best.1.ends_with(top) || top.ends_with(best.1.file_name().unwrap().to_str().unwrap()),
        "search ranks {top} first, the embeddings {}",
        best.1.display()
    );
}
