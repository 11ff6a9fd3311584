//! What the tests that run `scry` as a process share.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The repository root (sample_data, tests/fixtures).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
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
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
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
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let auth = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n{auth}\r\n").unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out);
    let status: u16 = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").map(|b| b.1).unwrap_or("");
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}
