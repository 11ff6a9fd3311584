//! A bounded load test on loopback: `scry serve` (tiny model, sample_data, with an
//! access token) under mixed traffic — text queries, more-like-this, thumbnails —
//! from 32 and then 128 concurrent keep-alive connections. Every request must
//! succeed; throughput and p50/p99 latency are printed.
//!
//!     cargo test -p scry-web --test load -- --nocapture                       # 3 s per level (CI)
//!     SCRY_LOAD_SECONDS=30 SCRY_LOAD_MAX_REQUESTS=2000000 \
//!         cargo test --release -p scry-web --test load -- --nocapture --test-threads=1   # the full run
//!
//! The client is a minimal HTTP/1.1 client over std's TcpStream, one thread per
//! connection; each level stops by itself after its duration or its request budget
//! (200,000 unless `SCRY_LOAD_MAX_REQUESTS` says otherwise).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{root, Server};

const TOKEN: &str = "load-test-token-0123456789";

fn max_requests() -> usize {
    std::env::var("SCRY_LOAD_MAX_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000)
}

/// One HTTP/1.1 request on a kept-alive connection: (status, body).
fn request(conn: &mut BufReader<TcpStream>, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let req =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n");
    conn.get_mut().write_all(req.as_bytes())?;
    let mut line = String::new();
    conn.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let (mut length, mut chunked) = (0usize, false);
    loop {
        line.clear();
        conn.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let lower = l.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            conn.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim(), 16).map_err(std::io::Error::other)?;
            let mut chunk = vec![0u8; size + 2];
            conn.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        conn.read_exact(&mut body)?;
    }
    Ok((status, body))
}

fn connect(addr: &str) -> BufReader<TcpStream> {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.set_nodelay(true).unwrap();
    BufReader::new(s)
}

/// `scry serve ARGS` with the access token.
fn serve(args: &[&str]) -> (Server, String) {
    let mut all = args.to_vec();
    all.extend(["--token", TOKEN]);
    common::serve(&all)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[test]
fn mixed_load_at_32_and_128_connections_has_no_failures() {
    let seconds: u64 = std::env::var("SCRY_LOAD_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("lib");
    let tiny = root().join("tests/fixtures/tiny-clip");
    let scry = env!("CARGO_BIN_EXE_scry");
    let status = Command::new(scry)
        .args([
            "index",
            common::photos().to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ])
        .args(["--model", tiny.to_str().unwrap()])
        .current_dir(root())
        .env("HF_HUB_OFFLINE", "1")
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let (_server, addr) = serve(&[
        "--db",
        db.to_str().unwrap(),
        "--model",
        tiny.to_str().unwrap(),
    ]);

    // Ids to ask about, from a first query.
    let (code, body) = request(&mut connect(&addr), "/api/search?q=photo&k=50").unwrap();
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let ids: Vec<u64> = v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_u64().unwrap())
        .collect();
    assert!(ids.len() >= 10, "sample_data is indexed");
    let words = [
        "cat",
        "a red car",
        "coffee",
        "astronaut",
        "rocket launch",
        "moon",
        "horse",
        "coins",
        "text on a page",
        "brick wall",
        "a motorcycle",
        "grass",
    ];

    for connections in [32usize, 128] {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let per_connection = max_requests() / connections;
        let started = Instant::now();
        let results: Vec<(Vec<Duration>, Vec<String>)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..connections)
                .map(|c| {
                    let (addr, ids, words) = (&addr, &ids, &words);
                    s.spawn(move || {
                        let mut conn = connect(addr);
                        let (mut lat, mut failures) = (Vec::new(), Vec::new());
                        let mut i = c;
                        while Instant::now() < deadline && lat.len() < per_connection {
                            let id = ids[i % ids.len()];
                            let path = match i % 3 {
                                // Fresh words (the cache misses) and repeats.
                                0 => format!(
                                    "/api/search?q={}%20{}&k=20",
                                    words[i % words.len()].replace(' ', "%20"),
                                    i % 7
                                ),
                                1 => format!("/api/images/{id}/similar?k=20"),
                                _ => format!("/api/images/{id}/thumbnail"),
                            };
                            let t = Instant::now();
                            match request(&mut conn, &path) {
                                Ok((200, body)) if !body.is_empty() => lat.push(t.elapsed()),
                                Ok((code, _)) => failures.push(format!("{path}: {code}")),
                                Err(e) => {
                                    failures.push(format!("{path}: {e}"));
                                    conn = connect(addr);
                                }
                            }
                            i += connections;
                        }
                        (lat, failures)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let wall = started.elapsed().as_secs_f64();
        let mut all: Vec<Duration> = results.iter().flat_map(|r| r.0.clone()).collect();
        let failures: Vec<&String> = results.iter().flat_map(|r| &r.1).collect();
        all.sort();
        println!(
            "{connections} connections, {seconds} s: {} requests, {} failed, {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms",
            all.len(),
            failures.len(),
            all.len() as f64 / wall,
            percentile(&all, 0.5).as_secs_f64() * 1e3,
            percentile(&all, 0.99).as_secs_f64() * 1e3,
        );
        assert!(
            failures.is_empty(),
            "failed requests: {:?}",
            &failures[..failures.len().min(5)]
        );
        assert!(all.len() >= connections, "every connection was served");
    }
}

/// Small distinct PNGs, deterministic.
fn generate_images(dir: &std::path::Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut s: u64 = 0x5DEE_CE66_D1CE_4E5B;
    for i in 0..n {
        let img = image::RgbImage::from_fn(48, 40, |x, y| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            image::Rgb([(x * 5 + i as u32) as u8, (y * 6) as u8, (s % 256) as u8])
        });
        img.save(dir.join(format!("img_{i:04}.png"))).unwrap();
    }
}

/// `scry serve DIR` indexes in the background while it answers: every request
/// during indexing succeeds, and the images become searchable commit by commit
/// (the count seen by the API rises in steps before indexing ends).
#[test]
fn queries_keep_answering_while_indexing_and_see_each_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    let n = 400;
    generate_images(&photos, n);
    let db = tmp.path().join("lib");
    let tiny = root().join("tests/fixtures/tiny-clip");
    let (_server, addr) = serve(&[
        photos.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--model",
        tiny.to_str().unwrap(),
    ]);
    let mut conn = connect(&addr);
    let mut counts = Vec::new();
    let mut requests = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        assert!(
            Instant::now() < deadline,
            "indexing did not finish: {counts:?}"
        );
        let (code, body) = request(&mut conn, "/api/status").unwrap();
        assert_eq!(code, 200);
        let status: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let images = status["images"].as_u64().unwrap();
        let (code, body) = request(&mut conn, "/api/search?q=a%20photo&k=10").unwrap();
        assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
        let hits: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let found = hits["hits"].as_array().unwrap().len() as u64;
        assert!(
            found >= images.min(10),
            "a search sees at least what status counted"
        );
        requests += 2;
        if counts.last() != Some(&images) {
            counts.push(images);
        }
        if !status["indexing"].as_bool().unwrap() && images == n as u64 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    println!("{requests} requests during indexing, image counts seen: {counts:?}");
    assert!(
        counts.windows(2).all(|w| w[0] < w[1]),
        "never goes back: {counts:?}"
    );
    let steps = counts.iter().filter(|&&c| c > 0 && c < n as u64).count();
    assert!(steps >= 2, "commits visible while indexing: {counts:?}");
}

/// Slow clients cannot starve the server: 256 connections that send half a
/// request head and stall, and 32 that trickle one byte every 200 ms, are cut off
/// after the server's request timeout (5 s) while ordinary requests keep being
/// answered quickly the whole time.
#[test]
fn slow_clients_are_cut_off_and_never_starve_others() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("lib");
    let tiny = root().join("tests/fixtures/tiny-clip");
    let (_server, addr) = serve(&[
        "--db",
        db.to_str().unwrap(),
        "--model",
        tiny.to_str().unwrap(),
    ]);
    let stalled: Vec<TcpStream> = (0..256)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.write_all(b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                .unwrap();
            s
        })
        .collect();
    let started = Instant::now();
    let trickle_done = std::sync::atomic::AtomicUsize::new(0);
    let mut worst = Duration::ZERO;
    std::thread::scope(|s| {
        for _ in 0..32 {
            let (addr, trickle_done) = (&addr, &trickle_done);
            s.spawn(move || {
                let mut c = TcpStream::connect(addr).unwrap();
                let head = format!(
                    "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
                );
                for b in head.bytes() {
                    if c.write_all(&[b]).is_err() {
                        // Closed by the server.
                        trickle_done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            });
        }
        // Meanwhile, ordinary requests on fresh connections.
        while started.elapsed() < Duration::from_secs(7) {
            let t = Instant::now();
            let (code, _) = request(&mut connect(&addr), "/api/status").unwrap();
            assert_eq!(code, 200);
            worst = worst.max(t.elapsed());
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    println!(
        "ordinary requests beside 288 slow clients: slowest {:.1} ms",
        worst.as_secs_f64() * 1e3
    );
    assert!(worst < Duration::from_secs(2), "starved: {worst:?}");
    assert_eq!(
        trickle_done.into_inner(),
        32,
        "every trickling client was cut off before sending its whole head"
    );
    // Every stalled connection was answered 408 or closed, none left hanging.
    for mut s in stalled {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = Vec::new();
        let closed = s.read_to_end(&mut buf);
        let text = String::from_utf8_lossy(&buf);
        assert!(
            closed.is_ok(),
            "a stalled connection is still open: {closed:?}"
        );
        assert!(
            buf.is_empty() || text.starts_with("HTTP/1.1 408"),
            "a stalled client got {text:?}"
        );
    }
}
