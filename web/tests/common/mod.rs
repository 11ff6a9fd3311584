//! What the tests that run `scry` as a process share.
#![allow(dead_code)]

use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The repository root (sample_data, tests/fixtures).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// sample_data without `phone/`: the 19 photos that the tests counting and
/// ranking sample_data were written for. The phone's files (HEIC, RAW, video,
/// a Live Photo) index only where libheif and ffmpeg are installed, so they
/// are tested apart (`cli::sample_data_indexes_every_phone_file…`). One copy
/// per content of the folder, under Cargo's temporary folder for tests; its
/// path ends in `sample_data`, as the original's does.
pub fn photos() -> PathBuf {
    static PHOTOS: OnceLock<PathBuf> = OnceLock::new();
    PHOTOS
        .get_or_init(|| {
            let src = root().join("sample_data");
            let mut files = Vec::new();
            list_photos(&src, Path::new(""), &mut files);
            files.sort();
            let mut h = std::collections::hash_map::DefaultHasher::new();
            for rel in &files {
                rel.hash(&mut h);
                std::fs::read(src.join(rel)).unwrap().hash(&mut h);
            }
            let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("photos");
            let dir = base.join(format!("{:016x}", h.finish()));
            if !dir.is_dir() {
                // Copied aside, then renamed into place: test binaries may
                // race to make it.
                let tmp = base.join(format!(
                    ".{}-{:?}",
                    std::process::id(),
                    std::thread::current().id()
                ));
                let _ = std::fs::remove_dir_all(&tmp);
                for rel in &files {
                    let to = tmp.join("sample_data").join(rel);
                    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                    std::fs::copy(src.join(rel), to).unwrap();
                }
                if std::fs::rename(&tmp, &dir).is_err() {
                    assert!(dir.is_dir(), "cannot make {}", dir.display());
                    let _ = std::fs::remove_dir_all(&tmp);
                }
            }
            dir.join("sample_data")
        })
        .clone()
}

fn list_photos(dir: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let rel = rel.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            if rel != Path::new("phone") {
                list_photos(&e.path(), &rel, out);
            }
        } else {
            out.push(rel);
        }
    }
}

/// Whether an optional codec or program is on this machine. Without it the
/// test that needs it is skipped (said on stderr), unless `SCRY_REQUIRE_CODECS`
/// is set (CI), where its absence fails.
pub fn codec_here(what: &str, here: bool) -> bool {
    if !here {
        assert!(
            std::env::var_os("SCRY_REQUIRE_CODECS").is_none(),
            "SCRY_REQUIRE_CODECS is set but {what} is missing"
        );
        eprintln!("{what} not found: skipped");
    }
    here
}

pub fn ffmpeg_here() -> bool {
    codec_here("ffmpeg", scry::video::tools().is_ok())
}

pub fn libheif_here() -> bool {
    codec_here(
        "libheif",
        scry::decode::system::optional_codecs()[0].available,
    )
}

pub fn tesseract_here() -> bool {
    codec_here("Tesseract (with English)", scry::ocr::check("eng").is_ok())
}

/// A running `scry serve`, killed when dropped.
pub struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `scry serve ARGS` on a free loopback port, from the repository root;
/// returns it and its address (`127.0.0.1:PORT`), read from the line it prints.
pub fn serve(args: &[&str]) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scry"))
        .arg("serve")
        .args(args)
        .args(["--bind", "127.0.0.1:0"])
        .current_dir(root())
        .env("HF_HUB_OFFLINE", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    // The first line names the address; a server that never prints it fails
    // the test within two minutes rather than holding it for ever.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let _ = tx.send(line);
        // Keep reading, so the server never blocks on a full pipe.
        let mut rest = String::new();
        while stdout.read_line(&mut rest).is_ok_and(|n| n > 0) {
            rest.clear();
        }
    });
    let line = rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("scry serve printed no address within 2 minutes");
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .and_then(|w| w.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    (server, addr)
}

/// `n` small noisy PNGs in seven sub-folders of `dir`, reproducible from `seed`.
pub fn generate_images(dir: &std::path::Path, n: usize, seed: u64) {
    std::fs::create_dir_all(dir).unwrap();
    let mut state = seed | 1;
    for i in 0..n {
        let img = image::RgbImage::from_fn(48, 40, |x, y| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            image::Rgb([
                (x * 5 + i as u32) as u8,
                (y * 6) as u8,
                (state & 0xff) as u8,
            ])
        });
        let sub = dir.join(format!("set{}", i % 7));
        std::fs::create_dir_all(&sub).unwrap();
        img.save(sub.join(format!("img_{i:04}.png"))).unwrap();
    }
}

/// `GET path` from the server at `addr` (`HOST:PORT`), with a bearer token if
/// given: the status and the JSON body (`Null` when not JSON).
pub fn http_get(addr: &str, path: &str, bearer: Option<&str>) -> (u16, serde_json::Value) {
    try_http_get(addr, path, bearer).unwrap_or_else(|e| panic!("GET {path} from {addr}: {e}"))
}

/// [`http_get`], with a refused connection, a timeout or a broken reply as an
/// error to count rather than a panic.
pub fn try_http_get(
    addr: &str,
    path: &str,
    bearer: Option<&str>,
) -> Result<(u16, serde_json::Value), String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let auth = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n{auth}\r\n")
        .map_err(|e| format!("send: {e}"))?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&out);
    let status: u16 = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP reply: {:?}", &text[..text.len().min(80)]))?;
    let body = text.split_once("\r\n\r\n").map(|b| b.1).unwrap_or("");
    Ok((
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    ))
}

/// Waits for a child with its output, for at most `limit`; kills it (and
/// fails) past that.
pub fn wait_output_within(
    child: std::process::Child,
    limit: std::time::Duration,
    what: &str,
) -> std::process::Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY: a plain kill(2) of our own child's pid.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
            panic!("{what} did not finish within {} s", limit.as_secs());
        }
    }
}

/// Runs `scry ARGS` offline from the repository root and returns its stdout;
/// a failure fails the test with scry's stderr.
pub fn run_ok<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(args)
        .current_dir(root())
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The reference's (unnormalised) embedding of `query` by the tiny multilingual
/// text tower (tests/fixtures/golden-multilingual.json).
pub fn multilingual_golden(query: &str) -> Vec<f32> {
    multilingual_goldens()
        .into_iter()
        .find(|(t, _)| t == query)
        .unwrap_or_else(|| panic!("{query:?} is not in golden-multilingual.json"))
        .1
}

/// Every text of golden-multilingual.json with its reference embedding.
pub fn multilingual_goldens() -> Vec<(String, Vec<f32>)> {
    let golden: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("tests/fixtures/golden-multilingual.json")).unwrap(),
    )
    .unwrap();
    golden["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let v = serde_json::from_value(e["embedding"].clone()).unwrap();
            (e["text"].as_str().unwrap().to_string(), v)
        })
        .collect()
}
