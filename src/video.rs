//! Videos, through the `ffprobe` and `ffmpeg` programs when they are on PATH
//! (never needed to build scry; a video on a machine without them is reported
//! as unsupported, with what to install).
//!
//! A video is embedded at several frames, chosen where the picture changes:
//! ffmpeg decodes the key frames only (`-skip_frame nokey`: a phone's key
//! frames come every second or two, so this reads a small share of the
//! stream) and its `select` filter keeps the first key frame from
//! [`START_SECONDS`] on, then a key frame when the scene score says the shot
//! changed (above [`SCENE_THRESHOLD`]) or the shot has gone on for
//! [`STEADY_GAP`] gaps, never two within a gap of [`MIN_GAP_SECONDS`] (longer
//! for long videos, so at most [`MAX_FRAMES`] in all). Frames come out of
//! ffmpeg as RGB at the video's displayed size (its rotation applied, as
//! players show it) and are handed over one at a time, so a 4K video never
//! holds more than one frame in memory.
//!
//! ffmpeg runs under a time limit ([`time_limit`]): a damaged file that makes
//! it spin is killed and reported, never a hung indexer.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use image::RgbImage;

use crate::decode::system;

/// What to install for videos.
pub const FFMPEG_INSTALL: &str = "install ffmpeg (Debian/Ubuntu: apt install ffmpeg; Fedora: dnf install ffmpeg-free; macOS: brew install ffmpeg)";
/// Most frames embedded for one video.
pub const MAX_FRAMES: usize = 32;
/// Least time between two embedded frames, in seconds (more for videos longer
/// than `MAX_FRAMES` gaps). Measured on a minute of six 10-second shots (key
/// frames every second): a gap of 10 s found 4 of the shots (a cut 9 s after
/// the first frame falls inside the gap), 5 s found all six.
pub const MIN_GAP_SECONDS: f64 = 5.0;
/// ffmpeg's scene score (0–1, how much of the picture changed) between two
/// key frames above which the second starts a new shot. Key frames a second
/// apart within a shot scored at most 0.04 there, cuts 0.19 to 1.0 (0.3,
/// usual for consecutive frames, missed a cut between two grey pictures).
pub const SCENE_THRESHOLD: f64 = 0.15;
/// A shot that never cuts (a pan, a long take) still gets a frame every this
/// many gaps.
pub const STEADY_GAP: f64 = 3.0;
/// The first frame is taken from this second on (or a third of a shorter
/// video): a video's very first frame is often black or blurred.
pub const START_SECONDS: f64 = 1.0;
/// Largest width or height of a video scry decodes (8K).
pub const MAX_DIMENSION: u32 = 8192;

/// Extensions of video files (videos are told by their bytes too).
pub const EXTENSIONS: &[&str] = &["mp4", "m4v", "mov", "qt", "mkv", "webm", "avi", "3gp"];

/// Whether `path`'s extension is a video's.
pub fn has_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// A Live Photo's or Motion Photo's clip: the video beside `photo` with the
/// same name but for the extension (`IMG_1234.HEIC` → `IMG_1234.MOV`), letter
/// case aside.
pub fn motion_clip(photo: &Path) -> Option<std::path::PathBuf> {
    let stem = photo.file_stem()?.to_string_lossy().to_lowercase();
    std::fs::read_dir(photo.parent()?)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            has_extension(p)
                && p.file_stem()
                    .is_some_and(|s| s.to_string_lossy().to_lowercase() == stem)
                && p.is_file()
        })
}

/// ffmpeg and ffprobe, as found on PATH.
#[derive(Debug)]
pub struct Tools {
    /// ffmpeg's version ("5.1.6-0+deb12u1", from its first line).
    pub version: String,
}

/// ffmpeg and ffprobe when both run here; the error says why not.
pub fn tools() -> Result<&'static Tools, String> {
    static TOOLS: OnceLock<Result<Tools, String>> = OnceLock::new();
    if system::hidden("ffmpeg") {
        return Err("ffmpeg hidden by SCRY_HIDE_CODECS".into());
    }
    TOOLS
        .get_or_init(|| {
            let version = |program: &str| -> Result<String, String> {
                let out = Command::new(program)
                    .arg("-version")
                    .stdin(Stdio::null())
                    .output()
                    .map_err(|e| format!("{program} not found ({e})"))?;
                if !out.status.success() {
                    return Err(format!("{program} -version failed"));
                }
                Ok(version_of(
                    String::from_utf8_lossy(&out.stdout)
                        .lines()
                        .next()
                        .unwrap_or_default(),
                ))
            };
            let ffmpeg = version("ffmpeg")?;
            version("ffprobe")?;
            Ok(Tools { version: ffmpeg })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The version in a `-version` banner's first line: "ffmpeg version 5.1.6-0+deb12u1
/// Copyright …" → "5.1.6-0+deb12u1" (the whole line when it reads otherwise).
pub fn version_of(line: &str) -> String {
    line.split_once(" version ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or(line)
        .trim()
        .to_string()
}

/// The message for a video on a machine without ffmpeg.
pub fn missing_message(why: &str) -> String {
    format!("unsupported format: video needs ffmpeg ({why}); {FFMPEG_INSTALL}")
}

/// What ffprobe says about a video.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// Length in seconds.
    pub duration: f64,
    /// Size as displayed (the rotation applied).
    pub width: u32,
    pub height: u32,
    /// The video codec ("h264", "hevc", "vp9"…).
    pub codec: String,
    /// When it was filmed, seconds since the epoch: the phone's local time
    /// read as UTC where it says one (Apple's creation date), as for EXIF;
    /// else the container's creation time.
    pub taken: Option<i64>,
    /// "Make Model" from the container's tags.
    pub camera: Option<String>,
    /// Where it was filmed (an ISO 6709 location tag).
    pub gps: Option<crate::places::Gps>,
}

/// Runs ffprobe on `path`. The error is a sentence for a person.
pub fn probe(path: &Path) -> Result<Probe, String> {
    tools().map_err(|why| missing_message(&why))?;
    let mut cmd = Command::new("ffprobe");
    cmd.args([
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
    ])
    .args(["-select_streams", "v:0"])
    .arg(path);
    let (out, err) = run(
        cmd,
        time_limit(0.0).min(Duration::from_secs(30)),
        None,
        &mut |_| Ok(()),
    )?;
    let json: serde_json::Value = serde_json::from_slice(&out).map_err(|_| {
        format!(
            "corrupt or truncated video: ffprobe could not read it ({})",
            last_line(&err)
        )
    })?;
    parse_probe(&json).ok_or_else(|| {
        let why = last_line(&err);
        if why.is_empty() {
            "corrupt or truncated video: no video stream".to_string()
        } else {
            format!("corrupt or truncated video: {why}")
        }
    })
}

/// The probe from ffprobe's JSON; `None` without a video stream of known size.
pub fn parse_probe(json: &serde_json::Value) -> Option<Probe> {
    let stream = json.get("streams")?.as_array()?.first()?;
    let format = json.get("format");
    let number = |v: Option<&serde_json::Value>| -> Option<f64> {
        let v = v?;
        v.as_f64().or_else(|| v.as_str()?.parse().ok())
    };
    let (w, h) = (
        stream.get("width")?.as_u64()? as u32,
        stream.get("height")?.as_u64()? as u32,
    );
    if w == 0 || h == 0 {
        return None;
    }
    // A quarter turn swaps the displayed sides: the display matrix's rotation
    // (ffmpeg 5 and later), or the older `rotate` tag.
    let rotation = stream
        .get("side_data_list")
        .and_then(|l| l.as_array())
        .into_iter()
        .flatten()
        .find_map(|d| number(d.get("rotation")))
        .or_else(|| number(stream.get("tags").and_then(|t| t.get("rotate"))))
        .unwrap_or(0.0);
    let quarter = (rotation.round() as i64).rem_euclid(180) == 90;
    let (width, height) = if quarter { (h, w) } else { (w, h) };
    let duration = number(format.and_then(|f| f.get("duration")))
        .or_else(|| number(stream.get("duration")))
        .filter(|d| d.is_finite() && *d >= 0.0)
        .unwrap_or(0.0);
    let tag = |name: &str| -> Option<String> {
        [format.and_then(|f| f.get("tags")), stream.get("tags")]
            .into_iter()
            .flatten()
            .find_map(|t| {
                let obj = t.as_object()?;
                obj.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .and_then(|(_, v)| v.as_str())
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
            })
    };
    let taken = tag("com.apple.quicktime.creationdate")
        .and_then(|s| crate::dates::parse_exif_datetime(&s))
        .or_else(|| {
            tag("creation_time")
                .and_then(|s| crate::dates::parse_exif_datetime(&s))
                // Muxers write the epoch when they know no date.
                .filter(|&t| t > 0)
        });
    let make = tag("com.apple.quicktime.make")
        .or_else(|| tag("com.android.manufacturer"))
        .or_else(|| tag("make"));
    let model = tag("com.apple.quicktime.model")
        .or_else(|| tag("com.android.model"))
        .or_else(|| tag("model"));
    let camera = match (make, model) {
        (Some(make), Some(model)) if model.starts_with(&make) => Some(model),
        (Some(make), Some(model)) => Some(format!("{make} {model}")),
        (make, model) => make.or(model),
    };
    let gps = tag("com.apple.quicktime.location.iso6709")
        .or_else(|| tag("location"))
        .and_then(|s| parse_iso6709(&s));
    Some(Probe {
        duration,
        width,
        height,
        codec: stream
            .get("codec_name")
            .and_then(|c| c.as_str())
            .unwrap_or("unknown")
            .to_string(),
        taken,
        camera,
        gps,
    })
}

/// An ISO 6709 position as phones write it: "+37.3318-122.0312+010.000/".
pub fn parse_iso6709(s: &str) -> Option<crate::places::Gps> {
    let s = s.trim().trim_end_matches('/');
    let signs: Vec<usize> = s
        .char_indices()
        .filter(|&(_, c)| c == '+' || c == '-')
        .map(|(i, _)| i)
        .collect();
    if signs.first() != Some(&0) || signs.len() < 2 {
        return None;
    }
    let end = signs.get(2).copied().unwrap_or(s.len());
    let lat: f64 = s[0..signs[1]].parse().ok()?;
    let lon: f64 = s[signs[1]..end].parse().ok()?;
    crate::places::Gps::new(lat, lon)
}

/// Seconds between two embedded frames of a video this long.
pub fn gap_seconds(duration: f64) -> f64 {
    MIN_GAP_SECONDS.max(duration / MAX_FRAMES as f64)
}

/// ffmpeg's `select` expression for a video this long (see the module's
/// notes). `start`: the first frame's earliest time.
pub fn select_expression(duration: f64, start: f64) -> String {
    let gap = gap_seconds(duration);
    format!(
        "if(isnan(prev_selected_t),gte(t,{start}),gte(t-prev_selected_t,{gap})*(gt(scene,{SCENE_THRESHOLD})+gte(t-prev_selected_t,{steady})))",
        steady = gap * STEADY_GAP
    )
}

/// The ffmpeg arguments that write the chosen frames of `path` to standard
/// output as raw RGB at `width` × `height`, with a `showinfo` line each on
/// standard error (the reference script runs the same).
pub fn frame_arguments(path: &Path, probe: &Probe, start: f64) -> Vec<std::ffi::OsString> {
    let filter = format!(
        "select='{}',scale={}:{},showinfo",
        select_expression(probe.duration, start),
        probe.width,
        probe.height
    );
    let mut args: Vec<std::ffi::OsString> = [
        "-nostdin",
        "-hide_banner",
        "-v",
        "info",
        "-skip_frame",
        "nokey",
        "-i",
    ]
    .iter()
    .map(Into::into)
    .collect();
    args.push(path.as_os_str().to_owned());
    for a in [
        "-an", "-sn", "-dn", "-vf", &filter, "-vsync", "vfr", "-pix_fmt", "rgb24", "-f",
        "rawvideo", "pipe:1",
    ] {
        args.push(a.into());
    }
    args
}

/// How long ffmpeg may take over a video this long before it is stopped.
/// `SCRY_VIDEO_TIMEOUT` (seconds) replaces it, for slow disks or machines.
pub fn time_limit(duration: f64) -> Duration {
    if let Some(s) = std::env::var("SCRY_VIDEO_TIMEOUT")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
    {
        return Duration::from_secs_f64(s);
    }
    Duration::from_secs_f64(60.0 + duration.clamp(0.0, 36_000.0) / 4.0)
}

/// Decodes the chosen frames of `path` and hands each to `each` with its time
/// in seconds, in time order; at most [`MAX_FRAMES`]. Returns how many.
pub fn frames(
    path: &Path,
    probe: &Probe,
    each: &mut dyn FnMut(f64, RgbImage),
) -> Result<usize, String> {
    if probe.width > MAX_DIMENSION || probe.height > MAX_DIMENSION {
        return Err(format!(
            "too large to decode safely ({}×{} video, at most {MAX_DIMENSION} a side)",
            probe.width, probe.height
        ));
    }
    // A video shorter than a second or two may have no key frame after the
    // start: then its first one.
    let start = START_SECONDS.min(probe.duration / 3.0);
    let n = frames_from(path, probe, start, each)?;
    if n > 0 || start == 0.0 {
        return Ok(n);
    }
    frames_from(path, probe, 0.0, each)
}

fn frames_from(
    path: &Path,
    probe: &Probe,
    start: f64,
    each: &mut dyn FnMut(f64, RgbImage),
) -> Result<usize, String> {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(frame_arguments(path, probe, start));
    let size = probe.width as usize * probe.height as usize * 3;
    let (times_tx, times) = std::sync::mpsc::channel();
    let mut n = 0;
    let (_, err) = run(
        cmd,
        time_limit(probe.duration),
        Some(times_tx),
        &mut |out| {
            // Frames are handed over as they are decoded; one is held at a time.
            // showinfo logs a frame's time before ffmpeg writes the frame.
            loop {
                let mut buf = vec![0u8; size];
                match read_full(out, &mut buf)? {
                    0 => return Ok(()),
                    got if got < size => return Err("video ends in the middle of a frame".into()),
                    _ => {}
                }
                let t = times
                    .recv()
                    .map_err(|_| "ffmpeg gave a frame without its time".to_string())?;
                if n < MAX_FRAMES {
                    let img = RgbImage::from_raw(probe.width, probe.height, buf)
                        .expect("buffer of the frame's size");
                    each(t, img);
                    n += 1;
                }
            }
        },
    )?;
    if n == 0 {
        let why = last_line(&err);
        if why.to_ascii_lowercase().contains("invalid") {
            return Err(format!("corrupt or truncated video: {why}"));
        }
    }
    Ok(n)
}

/// The `pts_time` of every frame `showinfo` reported, in order.
pub fn showinfo_times(stderr: &str) -> Vec<f64> {
    stderr
        .lines()
        .filter(|l| l.contains("showinfo") && l.contains(" n:"))
        .filter_map(|l| {
            let rest = &l[l.find("pts_time:")? + "pts_time:".len()..];
            rest.split_whitespace().next()?.parse().ok()
        })
        .collect()
}

fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> Result<usize, String> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("reading ffmpeg's output: {e}")),
        }
    }
    Ok(filled)
}

/// The last line a program wrote to standard error, for messages.
fn last_line(err: &str) -> String {
    err.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("frame=") && !l.starts_with("video:"))
        .unwrap_or_default()
        .to_string()
}

/// Runs `cmd`, handing its standard output to `read` while standard error is
/// collected, and kills it after `limit`. Returns standard output (what
/// `read` left) and standard error.
fn run(
    mut cmd: Command,
    limit: Duration,
    times: Option<std::sync::mpsc::Sender<f64>>,
    read: &mut dyn FnMut(&mut dyn Read) -> Result<(), String>,
) -> Result<(Vec<u8>, String), String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| missing_message(&format!("{program} cannot start: {e}")))?;
    let pid = child.id();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let killed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let killed = killed.clone();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = done_rx.recv_timeout(limit) {
                killed.store(true, std::sync::atomic::Ordering::SeqCst);
                // SAFETY: kill(2) on our own child's pid; it is not reaped
                // before `wait` below, so the pid is still ours.
                unsafe {
                    libc::kill(pid as libc::pid_t, libc::SIGKILL);
                }
            }
        })
    };
    let mut stderr = child.stderr.take().expect("piped");
    let err_reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        let mut lines = std::io::BufReader::new(&mut stderr);
        let mut line = Vec::new();
        while matches!(lines.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            let text = String::from_utf8_lossy(&line);
            if let (Some(tx), Some(&t)) = (&times, showinfo_times(&text).first()) {
                let _ = tx.send(t);
            }
            // ffmpeg's progress lines end in carriage returns: keep the log small.
            if all.len() < 1 << 20 {
                all.push_str(&text);
            }
            line.clear();
        }
        all
    });
    let mut stdout = child.stdout.take().expect("piped");
    let read_result = read(&mut stdout);
    let mut rest = Vec::new();
    if read_result.is_ok() {
        let _ = stdout.read_to_end(&mut rest);
    } else {
        let _ = child.kill();
    }
    drop(stdout);
    let status = child.wait();
    let _ = done_tx.send(());
    let _ = watchdog.join();
    let err = err_reader.join().unwrap_or_default();
    if killed.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(format!(
            "{program} took longer than {} s over this video (a damaged file?): stopped \
             (SCRY_VIDEO_TIMEOUT=SECONDS allows more)",
            limit.as_secs_f64()
        ));
    }
    read_result?;
    let status = status.map_err(|e| format!("{program}: {e}"))?;
    if !status.success() {
        let why = last_line(&err);
        return Err(if why.is_empty() {
            format!("corrupt or truncated video: {program} failed ({status})")
        } else {
            format!("corrupt or truncated video: {why}")
        });
    }
    Ok((rest, err))
}

/// The container's name from the file's first bytes, as the catalog's
/// `format` keeps it: "mp4", "mov", "webm", "mkv" or "avi".
pub fn container(head: &[u8]) -> &'static str {
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        let n = head.len().min(64);
        return if head[..n].windows(4).any(|w| w == b"webm") {
            "webm"
        } else {
            "mkv"
        };
    }
    if head.starts_with(b"RIFF") {
        return "avi";
    }
    if head.get(4..8) == Some(b"ftyp") {
        return match head.get(8..12) {
            Some(b"qt  ") => "mov",
            Some(b"M4V " | b"M4VH" | b"M4VP") => "m4v",
            _ => "mp4",
        };
    }
    "mov"
}

/// The index of the frame whose vector is nearest the mean of all (the
/// video's most typical picture: its poster).
pub fn poster(vectors: &[Vec<f32>]) -> usize {
    let Some(first) = vectors.first() else {
        return 0;
    };
    let mut mean = vec![0f32; first.len()];
    for v in vectors {
        for (m, x) in mean.iter_mut().zip(v) {
            *m += x;
        }
    }
    (0..vectors.len())
        .max_by(|&a, &b| {
            crate::ann::dot(&vectors[a], &mean)
                .total_cmp(&crate::ann::dot(&vectors[b], &mean))
                .then(b.cmp(&a))
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_banners() {
        assert_eq!(
            version_of(
                "ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026 the FFmpeg developers"
            ),
            "5.1.9-0+deb12u1"
        );
        assert_eq!(version_of("ffmpeg version n7.1 Copyright"), "n7.1");
        assert_eq!(version_of("something else"), "something else");
    }

    #[test]
    fn iso6709_positions() {
        let g = parse_iso6709("+37.3318-122.0312+010.000/").unwrap();
        assert!((g.lat - 37.3318).abs() < 1e-9 && (g.lon + 122.0312).abs() < 1e-9);
        let g = parse_iso6709("-33.8688+151.2093/").unwrap();
        assert!((g.lat + 33.8688).abs() < 1e-9 && (g.lon - 151.2093).abs() < 1e-9);
        assert!(parse_iso6709("37.3,-122").is_none());
        assert!(parse_iso6709("+95.0+10.0/").is_none());
    }

    #[test]
    fn probe_reads_rotation_dates_and_cameras() {
        let json = serde_json::json!({
            "streams": [{"codec_name": "hevc", "width": 1920, "height": 1080,
                "side_data_list": [{"side_data_type": "Display Matrix", "rotation": -90}]}],
            "format": {"duration": "61.5", "tags": {
                "creation_time": "2023-05-01T12:34:56.000000Z",
                "com.apple.quicktime.creationdate": "2023-05-01T14:34:56+0200",
                "com.apple.quicktime.make": "Apple",
                "com.apple.quicktime.model": "iPhone 14",
                "com.apple.quicktime.location.ISO6709": "+48.8584+002.2945+035.000/"}}
        });
        let p = parse_probe(&json).unwrap();
        assert_eq!((p.width, p.height), (1080, 1920));
        assert_eq!(p.duration, 61.5);
        assert_eq!(p.codec, "hevc");
        // The phone's wall clock, as EXIF dates are kept.
        assert_eq!(
            p.taken,
            crate::dates::parse_exif_datetime("2023:05:01 14:34:56")
        );
        assert_eq!(p.camera.as_deref(), Some("Apple iPhone 14"));
        assert!((p.gps.unwrap().lat - 48.8584).abs() < 1e-9);
        // No stream of known size: not a video scry can read.
        assert!(parse_probe(&serde_json::json!({"streams": [], "format": {}})).is_none());
        let plain = serde_json::json!({"streams": [{"width": 640, "height": 480}],
            "format": {"tags": {"creation_time": "1970-01-01T00:00:00.000000Z"}}});
        let p = parse_probe(&plain).unwrap();
        assert_eq!((p.width, p.height, p.taken), (640, 480, None));
    }

    #[test]
    fn gaps_cap_the_frames() {
        assert_eq!(gap_seconds(60.0), MIN_GAP_SECONDS);
        // An hour: one frame every 112.5 s at most, so 32 in all.
        assert_eq!(gap_seconds(3600.0), 3600.0 / 32.0);
        assert!(select_expression(60.0, 1.0).contains("gte(t-prev_selected_t,5)"));
        assert!(select_expression(60.0, 1.0).contains("gt(scene,0.15)"));
    }

    #[test]
    fn showinfo_lines_give_times() {
        let err = "[Parsed_showinfo_2 @ 0x1] n:   0 pts:  10240 pts_time:1       pos: 1 fmt:rgb24\n\
                   [Parsed_showinfo_2 @ 0x1] color_range:pc\n\
                   [Parsed_showinfo_2 @ 0x1] n:   1 pts: 122880 pts_time:12.5    pos: 2 fmt:rgb24\n";
        assert_eq!(showinfo_times(err), [1.0, 12.5]);
    }

    #[test]
    fn containers_by_their_bytes() {
        assert_eq!(container(b"\0\0\0\x14ftypqt  \0\0\0\0"), "mov");
        assert_eq!(container(b"\0\0\0\x18ftypisom\0\0\0\0"), "mp4");
        assert_eq!(
            container(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm"),
            "webm"
        );
        assert_eq!(container(b"RIFF\0\0\0\0AVI "), "avi");
    }

    #[test]
    fn the_poster_is_the_most_typical_frame() {
        let v = |a: f32, b: f32| {
            let n = (a * a + b * b).sqrt();
            vec![a / n, b / n]
        };
        // Three frames of one shot and an outlier: the shot's frame nearest
        // their mean (the outlier pulls it its way a little) is the poster.
        let frames = [v(1.0, 0.0), v(0.0, 1.0), v(1.0, 0.1), v(1.0, 0.05)];
        assert_eq!(poster(&frames), 2);
        assert_eq!(poster(&frames[..1]), 0);
        assert_eq!(poster(&[]), 0);
    }
}
