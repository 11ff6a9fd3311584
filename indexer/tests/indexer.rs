//! The indexer on real files with the tiny fixture model: incremental runs, moves,
//! deletions, and hostile files.

use std::path::Path;

use scry::Library;
use scry_indexer::{index, FailureKind, IndexOptions, Silent, Summary};

mod common;
use common::{copy_dir, copy_photos, model, root};

fn run(lib: &mut Library, root: &Path, follow: bool) -> Summary {
    let mut opts = IndexOptions::default();
    opts.crawl.follow_links = follow;
    // The indexer shares the library through a lock; lend it ours for the run.
    let placeholder = Library::open(&lib.dir().unwrap().with_extension("placeholder")).unwrap();
    let shared = std::sync::RwLock::new(std::mem::replace(lib, placeholder));
    let summary = index(&shared, model(), &[root.to_path_buf()], &opts, &Silent).unwrap();
    *lib = shared.into_inner().unwrap();
    summary
}

fn id_of(lib: &Library, path: &Path) -> Option<u64> {
    lib.local()
        .unwrap()
        .store()
        .id_for_path(&scry::store::path_to_bytes(
            &std::fs::canonicalize(path).unwrap(),
        ))
        .unwrap()
}

#[test]
fn incremental_runs_touch_delete_and_rename() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    copy_photos(&photos);
    let db = tmp.path().join("lib");
    let mut lib = Library::open(&db).unwrap();

    let first = run(&mut lib, &photos, false);
    // 19 images outside the hidden folder; notes.txt and CREDITS.md are not images.
    assert_eq!(first.new, 19, "{first:?}");
    assert_eq!(first.ignored, 2);
    assert_eq!(first.failed, 0, "{:?}", first.failures);
    assert_eq!(lib.len().unwrap(), 19);
    assert!(
        id_of(&lib, &photos.join(".hidden/brick-hidden.png")).is_none(),
        "hidden skipped"
    );
    // The JPEG named .png was decoded by its bytes.
    let rec = lib
        .local()
        .unwrap()
        .store()
        .get(id_of(&lib, &photos.join("food/really-a-jpeg.png")).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(rec.format, "jpeg");
    // EXIF orientation: the sideways-stored photo is recorded upright.
    let side = lib
        .local()
        .unwrap()
        .store()
        .get(id_of(&lib, &photos.join("animals/chelsea-sideways.jpg")).unwrap())
        .unwrap()
        .unwrap();
    let up = lib
        .local()
        .unwrap()
        .store()
        .get(id_of(&lib, &photos.join("animals/chelsea.jpg")).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!((side.width, side.height), (up.width, up.height));
    assert_eq!(side.camera.as_deref(), Some("scry Sample Camera"));

    let second = run(&mut lib, &photos, false);
    assert_eq!(
        (second.embedded, second.unchanged, second.new),
        (0, 19, 0),
        "{second:?}"
    );

    // Re-time one file (same bytes), rewrite another, delete a third, rename a folder.
    let retimed = photos.join("textures/brick.png");
    let bytes = std::fs::read(&retimed).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&retimed, &bytes).unwrap();
    let edited = photos.join("misc/text.png");
    let img = image::open(&edited).unwrap().fliph();
    img.save(&edited).unwrap();
    let edited_old_id = id_of(&lib, &edited).unwrap();
    let deleted = photos.join("science/cell.png");
    let deleted_id = id_of(&lib, &deleted).unwrap();
    std::fs::remove_file(&deleted).unwrap();
    let animal_ids: Vec<u64> = ["chelsea.jpg", "chelsea-sideways.jpg", "horse.png"]
        .iter()
        .map(|f| id_of(&lib, &photos.join("animals").join(f)).unwrap())
        .collect();
    let animal_vecs: Vec<Vec<f32>> = animal_ids
        .iter()
        .map(|&id| lib.local().unwrap().vectors().get(id).unwrap().to_vec())
        .collect();
    std::fs::rename(photos.join("animals"), photos.join("pets")).unwrap();

    let third = run(&mut lib, &photos, false);
    assert_eq!(
        third.embedded, 1,
        "only the edited file is re-embedded: {third:?}"
    );
    assert_eq!(third.changed, 1);
    assert_eq!(third.touched, 1);
    assert_eq!(third.moved, 3);
    assert_eq!(third.removed, 1);
    assert_eq!(lib.len().unwrap(), 18);
    // Renamed files keep their ids and vectors.
    for ((f, id), v) in ["chelsea.jpg", "chelsea-sideways.jpg", "horse.png"]
        .iter()
        .zip(&animal_ids)
        .zip(&animal_vecs)
    {
        assert_eq!(id_of(&lib, &photos.join("pets").join(f)), Some(*id));
        assert_eq!(
            lib.local().unwrap().vectors().get(*id).unwrap(),
            v.as_slice()
        );
    }
    // The edited file has a new id; the old one and the deleted one are gone
    // from the vectors, the catalog and the keyword index.
    assert_ne!(id_of(&lib, &edited), Some(edited_old_id));
    for gone in [deleted_id, edited_old_id] {
        assert!(!lib.local().unwrap().vectors().contains(gone));
        assert!(lib.local().unwrap().store().get(gone).unwrap().is_none());
        let q = lib
            .local()
            .unwrap()
            .vectors()
            .get(animal_ids[0])
            .unwrap()
            .to_vec();
        assert!(lib
            .local()
            .unwrap()
            .nearest_where(&q, 100, &|_| true)
            .iter()
            .all(|(id, _)| *id != gone));
    }
    assert!(lib
        .local()
        .unwrap()
        .keyword()
        .search("cell", 10)
        .unwrap()
        .iter()
        .all(|(id, _)| *id != deleted_id));
    assert!(
        !lib.local()
            .unwrap()
            .keyword()
            .search("pets", 10)
            .unwrap()
            .is_empty(),
        "folder names are keywords"
    );

    // Reopening finds everything as it was.
    drop(lib);
    let lib = Library::open(&db).unwrap();
    assert_eq!(lib.len().unwrap(), 18);
    assert_eq!(lib.local().unwrap().keyword().len(), 18);
}

/// A PNG header declaring 50,000 × 50,000 pixels (7.5 GB decoded).
fn png_bomb() -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut c = kind.to_vec();
        c.extend_from_slice(data);
        out.extend_from_slice(&c);
        out.extend_from_slice(&crc32(&c).to_be_bytes());
    }
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in data {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

fn cmyk_jpeg() -> Vec<u8> {
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_CMYK);
    c.set_size(64, 48);
    let mut c = c.start_compress(Vec::new()).unwrap();
    let px: Vec<u8> = (0..64 * 48)
        .flat_map(|i| [(i % 255) as u8, 40, 200, 10])
        .collect();
    c.write_scanlines(&px).unwrap();
    c.finish().unwrap()
}

#[test]
fn hostile_files_are_reported_and_good_ones_indexed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("photos");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let chelsea = std::fs::read(root().join("sample_data/animals/chelsea.jpg")).unwrap();
    std::fs::write(dir.join("good.jpg"), &chelsea).unwrap();
    std::fs::write(dir.join("truncated.jpg"), &chelsea[..chelsea.len() / 3]).unwrap();
    std::fs::write(dir.join("zero.jpg"), b"").unwrap();
    std::fs::write(dir.join("text.jpg"), b"just some text, not a photo\n").unwrap();
    std::fs::write(dir.join("bomb.png"), png_bomb()).unwrap();
    std::fs::write(dir.join("cmyk.jpg"), cmyk_jpeg()).unwrap();
    // A RAW whose previews are gone is unsupported (not an error); a few bytes
    // that only start like a TIFF are corrupt.
    let mut no_preview = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/formats/chelsea.nef"),
    )
    .unwrap();
    for i in 0..no_preview.len() - 1 {
        if no_preview[i] == 0xFF && no_preview[i + 1] == 0xD8 {
            no_preview[i + 1] = 0;
        }
    }
    std::fs::write(dir.join("IMG_0001.NEF"), &no_preview).unwrap();
    std::fs::write(dir.join("IMG_0002.CR2"), b"II*\0raw").unwrap();
    let deep = image::ImageBuffer::from_fn(40, 30, |x, y| {
        image::Rgb([x as u16 * 1000, y as u16 * 2000, 40_000u16])
    });
    image::DynamicImage::ImageRgb16(deep)
        .save(dir.join("deep16.png"))
        .unwrap();
    {
        use image::codecs::gif::GifEncoder;
        let f = std::fs::File::create(dir.join("anim.gif")).unwrap();
        let mut enc = GifEncoder::new(f);
        for shade in [30u8, 200] {
            let frame = image::RgbaImage::from_pixel(32, 32, image::Rgba([shade, 100, 50, 255]));
            enc.encode_frame(image::Frame::new(frame)).unwrap();
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::os::unix::fs::symlink(&dir, dir.join("sub/loop")).unwrap();
        std::os::unix::fs::symlink(dir.join("nowhere.jpg"), dir.join("dangling.jpg")).unwrap();
        let name = std::ffi::OsStr::from_bytes(b"caf\xe9-latin1.jpg");
        std::fs::write(dir.join(name), &chelsea[..]).unwrap();
    }

    let mut lib = Library::open(&tmp.path().join("lib")).unwrap();
    let s = run(&mut lib, &dir, true);
    let reason = |file: &str| -> Option<(FailureKind, String)> {
        s.failures
            .values()
            .flatten()
            .find(|f| {
                f.path.file_name().map(|n| n.to_string_lossy().into_owned())
                    == Some(file.to_string())
            })
            .map(|f| (f.kind, f.reason.clone()))
    };
    println!("{}", serde_json::to_string_pretty(&s).unwrap());
    assert_eq!(reason("zero.jpg").unwrap().0, FailureKind::NotAnImage);
    assert_eq!(reason("text.jpg").unwrap().0, FailureKind::NotAnImage);
    assert_eq!(reason("bomb.png").unwrap().0, FailureKind::TooLarge);
    let (kind, why) = reason("IMG_0001.NEF").unwrap();
    assert_eq!(kind, FailureKind::Unsupported, "{why}");
    assert!(why.contains("no embedded preview"), "{why}");
    assert_eq!(reason("IMG_0002.CR2").unwrap().0, FailureKind::Corrupt);
    assert_eq!(reason("truncated.jpg").unwrap().0, FailureKind::Corrupt);
    assert_eq!(reason("loop").unwrap().0, FailureKind::SymlinkLoop);
    assert_eq!(reason("dangling.jpg").unwrap().0, FailureKind::Unreadable);
    for good in ["good.jpg", "cmyk.jpg", "deep16.png", "anim.gif"] {
        assert!(id_of(&lib, &dir.join(good)).is_some(), "{good} indexed");
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"caf\xe9-latin1.jpg");
        assert!(
            id_of(&lib, &dir.join(name)).is_some(),
            "non-UTF-8 name indexed"
        );
    }
    assert_eq!(s.failed, 7, "{s:?}");
    assert_eq!(s.unsupported, 1);

    // A byte-identical copy of an indexed photo reuses its vector: no model run.
    std::fs::write(dir.join("good-copy.jpg"), &chelsea).unwrap();
    let again = run(&mut lib, &dir, true);
    assert_eq!(
        (again.new, again.copies, again.embedded),
        (1, 1, 0),
        "{again:?}"
    );
    let a = id_of(&lib, &dir.join("good.jpg")).unwrap();
    let b = id_of(&lib, &dir.join("good-copy.jpg")).unwrap();
    assert_ne!(a, b);
    assert_eq!(
        lib.local().unwrap().vectors().get(a),
        lib.local().unwrap().vectors().get(b)
    );
}

#[test]
fn a_missing_root_removes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    std::fs::copy(
        root().join("sample_data/food/coffee.png"),
        photos.join("coffee.png"),
    )
    .unwrap();
    let mut lib = Library::open(&tmp.path().join("lib")).unwrap();
    assert_eq!(run(&mut lib, &photos, false).new, 1);
    std::fs::rename(&photos, tmp.path().join("unmounted")).unwrap();
    let s = run(&mut lib, &photos, false);
    assert_eq!(s.removed, 0);
    assert_eq!(lib.len().unwrap(), 1);
    assert!(s.failures.contains_key(&FailureKind::MissingRoot));
}

/// Peak resident memory of this process so far, in MiB (Linux).
fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// The generated hostile corpus (issue 6): every file is indexed or reported with
/// its reason, nothing panics, and the clear cases get the right reason.
///
/// `SCRY_HOSTILE_EMPTY=100000` runs the folder of empty files at full size
/// (CI: 2,000).
#[test]
fn generated_hostile_corpus_is_indexed_or_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("corpus");
    std::fs::create_dir_all(&dir).unwrap();
    let encode = |img: image::DynamicImage, format: image::ImageFormat| -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    };
    let photo = image::open(root().join("sample_data/animals/chelsea.jpg")).unwrap();
    let small = photo.thumbnail(120, 90);
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for (ext, format) in [
        ("png", image::ImageFormat::Png),
        ("jpg", image::ImageFormat::Jpeg),
        ("webp", image::ImageFormat::WebP),
        ("gif", image::ImageFormat::Gif),
        ("tiff", image::ImageFormat::Tiff),
    ] {
        let img = if ext == "jpg" {
            image::DynamicImage::ImageRgb8(small.to_rgb8())
        } else {
            small.clone()
        };
        let bytes = encode(img, format);
        files.push((format!("ok.{ext}"), bytes.clone()));
        files.push((
            format!("truncated.{ext}"),
            bytes[..bytes.len() / 2].to_vec(),
        ));
        files.push((
            format!("header-only.{ext}"),
            bytes[..bytes.len().min(40)].to_vec(),
        ));
        let mut flipped = bytes.clone();
        let mut s: u64 = 0x9E37_79B9;
        for _ in 0..20 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let at = 64 + (s as usize) % (flipped.len() - 64);
            flipped[at] ^= 0x5A;
        }
        files.push((format!("corrupted.{ext}"), flipped));
        // The right bytes behind the wrong extension.
        files.push((format!("misnamed-{ext}.jpeg"), bytes));
    }
    let rgba = small.to_rgba8();
    files.push((
        "one-pixel.png".into(),
        encode(image::DynamicImage::new_rgb8(1, 1), image::ImageFormat::Png),
    ));
    files.push((
        "long-strip.png".into(),
        encode(
            image::DynamicImage::new_rgb8(20_000, 20),
            image::ImageFormat::Png,
        ),
    ));
    files.push((
        "tall-strip.png".into(),
        encode(
            image::DynamicImage::new_luma8(20, 20_000),
            image::ImageFormat::Png,
        ),
    ));
    files.push((
        "grey-alpha.png".into(),
        encode(
            image::DynamicImage::ImageLumaA8(
                image::DynamicImage::ImageRgba8(rgba.clone()).to_luma_alpha8(),
            ),
            image::ImageFormat::Png,
        ),
    ));
    files.push((
        "rgba16.png".into(),
        encode(
            image::DynamicImage::ImageRgba16(image::DynamicImage::ImageRgba8(rgba).to_rgba16()),
            image::ImageFormat::Png,
        ),
    ));
    files.push(("bomb.png".into(), png_bomb()));
    // A JPEG whose header declares 65,000 × 65,000 pixels.
    let mut huge = encode(
        image::DynamicImage::ImageRgb8(small.to_rgb8()),
        image::ImageFormat::Jpeg,
    );
    if let Some(sof) = huge.windows(2).position(|w| w == [0xFF, 0xC0]) {
        huge[sof + 5..sof + 9].copy_from_slice(&[0xFD, 0xE8, 0xFD, 0xE8]);
    }
    files.push(("declared-huge.jpg".into(), huge));
    files.push((
        format!("{}.png", "n".repeat(240)),
        encode(small.clone(), image::ImageFormat::Png),
    ));
    for (name, bytes) in &files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let empties: usize = std::env::var("SCRY_HOSTILE_EMPTY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let empty_dir = dir.join("empty");
    std::fs::create_dir_all(&empty_dir).unwrap();
    for i in 0..empties {
        std::fs::write(empty_dir.join(format!("IMG_{i:06}.JPG")), b"").unwrap();
    }
    #[cfg(unix)]
    {
        // A symlink leaving the root, and one looping back into it.
        let outside = tmp.path().join("outside.png");
        std::fs::write(&outside, encode(small.clone(), image::ImageFormat::Png)).unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("leaves-root.png")).unwrap();
        std::os::unix::fs::symlink(&dir, dir.join("loop")).unwrap();
    }

    let mut lib = Library::open(&tmp.path().join("lib")).unwrap();
    let s = run(&mut lib, &dir, true);
    let reported: std::collections::HashMap<String, FailureKind> = s
        .failures
        .values()
        .flatten()
        .map(|f| {
            (
                f.path.file_name().unwrap().to_string_lossy().into_owned(),
                f.kind,
            )
        })
        .collect();
    let mut indexed = 0;
    for (name, _) in &files {
        let ok = id_of(&lib, &dir.join(name)).is_some();
        indexed += ok as usize;
        assert!(
            ok || reported.contains_key(name),
            "{name}: neither indexed nor reported"
        );
    }
    for name in [
        "ok.png",
        "ok.jpg",
        "ok.webp",
        "ok.gif",
        "ok.tiff",
        "one-pixel.png",
        "long-strip.png",
        "tall-strip.png",
        "grey-alpha.png",
        "rgba16.png",
        "misnamed-png.jpeg",
        "misnamed-webp.jpeg",
        "misnamed-tiff.jpeg",
    ] {
        assert!(
            id_of(&lib, &dir.join(name)).is_some(),
            "{name} should be indexed: {:?}",
            reported.get(name)
        );
    }
    for ext in ["png", "jpg", "webp", "gif", "tiff"] {
        let name = format!("header-only.{ext}");
        assert!(reported.contains_key(&name), "{name} reported");
    }
    assert_eq!(reported["bomb.png"], FailureKind::TooLarge);
    assert_eq!(reported["declared-huge.jpg"], FailureKind::TooLarge);
    assert_eq!(reported["truncated.jpg"], FailureKind::Corrupt);
    let empty_reported = s
        .failures
        .values()
        .flatten()
        .filter(|f| {
            f.path.starts_with(&empty_dir)
                || f.path
                    .starts_with(std::fs::canonicalize(&empty_dir).unwrap())
        })
        .count();
    assert_eq!(empty_reported, empties, "every empty file reported");
    println!(
        "{} hostile files + {empties} empty files: {indexed} indexed, {} reported; peak RSS {} MiB",
        files.len(),
        s.failed,
        peak_rss_mib()
    );
}

/// Two workers' shares (`--shard 1/2`, `--shard 2/2`), run one after the
/// other on one library: every image once; a worker's run never removes the
/// other share's files; a deletion is the owner's; a file moved from one share
/// to the other is neither lost nor doubled, in either order of the runs.
#[test]
fn shards_split_the_work_and_each_owns_its_files() {
    use scry_indexer::Shard;
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    copy_photos(&photos);
    let photos = std::fs::canonicalize(&photos).unwrap();
    let mut lib = Library::open(&tmp.path().join("lib")).unwrap();
    let shard = |i: u32| Shard { index: i, count: 2 };
    let run_shard = |lib: &mut Library, i: u32| -> Summary {
        let opts = IndexOptions {
            shard: Some(shard(i)),
            ..IndexOptions::default()
        };
        let placeholder = Library::open(&lib.dir().unwrap().with_extension("placeholder")).unwrap();
        let shared = std::sync::RwLock::new(std::mem::replace(lib, placeholder));
        let s = index(
            &shared,
            model(),
            std::slice::from_ref(&photos),
            &opts,
            &Silent,
        )
        .unwrap();
        *lib = shared.into_inner().unwrap();
        s
    };
    let files: Vec<std::path::PathBuf> = walk(&photos);
    let s = run_shard(&mut lib, 0);
    let n0 = s.new;
    assert_eq!((s.removed, s.total), (0, n0), "{s:?}");
    let s = run_shard(&mut lib, 1);
    let n1 = s.new;
    assert_eq!((s.removed, s.total), (0, n0 + n1), "{s:?}");
    assert!(n0 > 0 && n1 > 0, "both shares hold images: {n0} and {n1}");
    // Each image is in the share its path says.
    for (_, rec) in lib.all_records().unwrap() {
        assert!(files.contains(&rec.path_buf()));
    }
    // Again: each worker finds its own share unchanged and removes nothing.
    let s = run_shard(&mut lib, 0);
    assert_eq!((s.unchanged, s.new, s.removed), (n0, 0, 0), "{s:?}");

    // A deletion in share 2 is worker 2's: worker 1 keeps it.
    let victim = files
        .iter()
        .find(|p| shard(1).owns(p) && id_of(&lib, p).is_some())
        .unwrap()
        .clone();
    std::fs::remove_file(&victim).unwrap();
    assert_eq!(run_shard(&mut lib, 0).removed, 0);
    assert_eq!(
        lib.len().unwrap(),
        n0 + n1,
        "worker 1 removed another's file"
    );
    assert_eq!(run_shard(&mut lib, 1).removed, 1);
    assert_eq!(lib.len().unwrap(), n0 + n1 - 1);

    // Moves across shares, both orders of the workers' runs.
    // (share moved from, share moved to, which worker runs first)
    for (old, new, order) in [
        (0u32, 1u32, [0u32, 1]),
        (0, 1, [1, 0]),
        (1, 0, [1, 0]),
        (1, 0, [0, 1]),
    ] {
        let from = walk(&photos)
            .into_iter()
            .find(|p| {
                shard(old).owns(p)
                    && !p.to_string_lossy().contains("moved-")
                    && id_of(&lib, p).is_some()
            })
            .unwrap();
        let to = (0..)
            .map(|k| {
                from.with_file_name(format!(
                    "moved-{k}-{}",
                    from.file_name().unwrap().to_string_lossy()
                ))
            })
            .find(|p| shard(new).owns(p))
            .unwrap();
        let before = lib.len().unwrap();
        std::fs::rename(&from, &to).unwrap();
        run_shard(&mut lib, order[0]);
        run_shard(&mut lib, order[1]);
        assert_eq!(
            lib.len().unwrap(),
            before,
            "{order:?}: neither lost nor doubled"
        );
        assert!(
            id_of(&lib, &to).is_some(),
            "{order:?}: the new path is indexed"
        );
        let gone = scry::store::path_to_bytes(&from);
        assert!(lib
            .local()
            .unwrap()
            .store()
            .id_for_path(&gone)
            .unwrap()
            .is_none());
    }
    // Whatever the order, every file on disk is there once.
    let mut paths: Vec<_> = lib
        .all_records()
        .unwrap()
        .into_iter()
        .map(|(_, r)| r.path_buf())
        .collect();
    paths.sort();
    let mut on_disk = walk(&photos);
    on_disk.sort();
    let images: Vec<_> = on_disk.into_iter().filter(|p| paths.contains(p)).collect();
    assert_eq!(images.len(), paths.len(), "a record of a file not on disk");
    let n = paths.len();
    paths.dedup();
    assert_eq!(paths.len(), n, "a file indexed twice");
}

/// Every file under `dir` that the sample data holds as an image.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if !matches!(p.extension().and_then(|x| x.to_str()), Some("txt" | "md")) {
            out.push(p);
        }
    }
    out
}

/// Positions: the indexer records each photo's EXIF GPS position and place;
/// a library indexed before positions were read gets them once on the next
/// run, without decoding or embedding anything.
#[test]
fn positions_are_recorded_and_back_filled_once() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    copy_dir(&root().join("tests/fixtures/places"), &photos);
    let mut lib = Library::open(&tmp.path().join("lib")).unwrap();
    let first = run(&mut lib, &photos, false);
    assert_eq!((first.new, first.placed), (23, 0), "{first:?}");
    let records = |lib: &Library| lib.all_records().unwrap();
    let with_place = |lib: &Library| {
        records(lib)
            .iter()
            .filter(|(_, r)| r.gps.is_some() && r.place.is_some())
            .count()
    };
    assert_eq!(with_place(&lib), 22, "every photo but the one with no GPS");
    let tokyo = records(&lib)
        .into_iter()
        .find(|(_, r)| r.path.ends_with(b"IMG_0005.jpg"))
        .unwrap()
        .1;
    assert_eq!(tokyo.place.unwrap().label(), "Tokyo, Japan");

    // As a library of the first layout: no positions, no mark in the last run.
    let forgotten: Vec<_> = records(&lib)
        .into_iter()
        .map(|(id, mut r)| {
            r.gps = None;
            r.place = None;
            (id, r)
        })
        .collect();
    lib.commit(&scry::store::ChangeSet {
        moved: forgotten,
        ..Default::default()
    })
    .unwrap();
    let mut last = lib.last_run().unwrap().unwrap();
    last.as_object_mut().unwrap().remove("positions_read");
    lib.set_last_run(&last).unwrap();
    assert_eq!(with_place(&lib), 0);
    let generation = lib.generation().unwrap();

    let second = run(&mut lib, &photos, false);
    assert_eq!(
        (second.placed, second.unchanged, second.embedded),
        (22, 23, 0),
        "{second:?}"
    );
    assert_eq!(with_place(&lib), 22);
    assert!(lib.generation().unwrap() != generation);
    // The keyword index has the place words again.
    let hits = lib.keyword("tokyo", 5, &scry::home::Scope::all()).unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    // Once: the next run reads nothing again.
    let third = run(&mut lib, &photos, false);
    assert_eq!(third.placed, 0, "{third:?}");
}
