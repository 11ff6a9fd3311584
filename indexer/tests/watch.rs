//! Watch mode with the tiny fixture model: bursts are coalesced into one run,
//! edits, moves, deletions and new folders are picked up, and the periodic-rescan
//! fallback works without change events.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use scry::{ClipModel, Library};
use scry_indexer::{index, watch, IndexOptions, Silent, Summary, Trigger, WatchOptions};

fn model() -> &'static ClipModel {
    static M: OnceLock<ClipModel> = OnceLock::new();
    M.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        ClipModel::load_dir(&root.join("tests/fixtures/tiny-clip")).unwrap()
    })
}

/// A small PNG whose pixels depend on `seed`.
fn png(path: &Path, seed: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let img = image::RgbImage::from_fn(40, 32, |x, y| {
        let v = seed.wrapping_mul(2_654_435_761) ^ (x * 7 + y * 13);
        image::Rgb([(v & 0xff) as u8, ((v >> 8) & 0xff) as u8, (x * 6) as u8])
    });
    img.save(path).unwrap();
}

/// Polls `cond` until it holds; fails with `what` after a generous deadline.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn id_of(lib: &RwLock<Library>, path: &Path) -> Option<u64> {
    lib.read().unwrap().id_for_path(path).unwrap()
}

fn vector_of(lib: &RwLock<Library>, path: &Path) -> Option<Vec<f32>> {
    let id = id_of(lib, path)?;
    lib.read().unwrap().vector(id).unwrap()
}

fn paths_under(lib: &RwLock<Library>, folder: &Path) -> usize {
    lib.read()
        .unwrap()
        .all_records()
        .unwrap()
        .iter()
        .filter(|(_, r)| r.path_buf().starts_with(folder))
        .count()
}

/// Stops the watcher when the test ends, failed or not (a failed assertion
/// must not leave the scope waiting for the watcher forever).
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

struct Seen {
    folders: Vec<PathBuf>,
    trigger: Trigger,
    summary: Summary,
}

/// One indexing run of `root` into `lib`.
fn index_once(lib: &RwLock<Library>, root: &Path) -> Summary {
    index(
        lib,
        model(),
        std::slice::from_ref(&root.to_path_buf()),
        &IndexOptions::default(),
        &Silent,
    )
    .unwrap()
}

/// Watches `root` until `stop`, recording every batch in `seen`.
fn watch_recording(
    lib: &RwLock<Library>,
    root: &Path,
    opts: &WatchOptions,
    stop: &AtomicBool,
    seen: &Mutex<Vec<Seen>>,
) -> scry::Result<()> {
    watch(
        lib,
        model(),
        std::slice::from_ref(&root.to_path_buf()),
        opts,
        stop,
        |b| {
            let summary = b.result.as_ref().expect("batch indexed").clone();
            seen.lock().unwrap().push(Seen {
                folders: b.folders.clone(),
                trigger: b.trigger,
                summary,
            });
        },
    )
}

#[test]
fn watch_coalesces_bursts_and_follows_edits_moves_deletions_and_new_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = std::fs::canonicalize(tmp.path()).unwrap().join("photos");
    png(&photos.join("a/one.png"), 1);
    png(&photos.join("a/two.png"), 2);
    // The library sits inside the root (hidden, so never crawled): its own writes
    // must not be taken for changes, or every run would trigger another.
    let lib = RwLock::new(Library::open(&photos.join(".scry")).unwrap());
    let first = index_once(&lib, &photos);
    assert_eq!(first.new, 2);

    let opts = WatchOptions {
        quiet: Duration::from_millis(700),
        ..WatchOptions::default()
    };
    let stop = AtomicBool::new(false);
    let seen: Mutex<Vec<Seen>> = Mutex::new(Vec::new());
    let batches = || seen.lock().unwrap().len();
    std::thread::scope(|s| {
        let watcher = s.spawn(|| watch_recording(&lib, &photos, &opts, &stop, &seen));
        let _stop = StopOnDrop(&stop);
        // Ready once a change is seen (a file that is not an image; written until
        // the watches are in place).
        let mut probes = 0;
        wait_for("the watcher to see a first change", || {
            if probes % 60 == 0 {
                std::fs::write(photos.join("probe.txt"), format!("{probes}")).unwrap();
            }
            probes += 1;
            batches() >= 1
        });
        wait_for("the probe's runs to settle", || {
            let n = batches();
            std::thread::sleep(opts.quiet * 2);
            batches() == n
        });
        let before_burst = batches();

        // A burst of 50 images (a camera import): one run, not 50.
        let staging = tmp.path().join("staging");
        for i in 0..50 {
            png(&staging.join(format!("img_{i:02}.png")), 100 + i);
        }
        let import = photos.join("import");
        std::fs::create_dir(&import).unwrap();
        for i in 0..50 {
            let name = format!("img_{i:02}.png");
            std::fs::copy(staging.join(&name), import.join(&name)).unwrap();
        }
        let new_since = |n: usize| -> usize {
            seen.lock().unwrap()[n..]
                .iter()
                .map(|b| b.summary.new)
                .sum()
        };
        wait_for("the 50 imported images", || new_since(before_burst) == 50);
        assert_eq!(lib.read().unwrap().len().unwrap(), 52);
        let burst = batches() - before_burst;
        assert!(
            (1..=2).contains(&burst),
            "50 files in a burst took {burst} runs"
        );

        // Whether a run reported since the `n`th one matches.
        let ran_since = |n: usize, pred: &dyn Fn(&Seen) -> bool| -> bool {
            seen.lock().unwrap()[n..].iter().any(pred)
        };

        // An edited image (other pixels) gets a new vector.
        let edited = photos.join("a/one.png");
        let old = vector_of(&lib, &edited).unwrap();
        let n = batches();
        png(&edited, 999);
        wait_for("the edited image's run", || {
            ran_since(n, &|b| b.summary.changed == 1)
        });
        assert_ne!(vector_of(&lib, &edited).unwrap(), old);

        // A move into a new sub-folder keeps the image (same id, not re-embedded).
        let from = photos.join("a/two.png");
        let to = photos.join("a/sub/two.png");
        let id = id_of(&lib, &from).unwrap();
        let vector = vector_of(&lib, &from).unwrap();
        let n = batches();
        std::fs::create_dir(photos.join("a/sub")).unwrap();
        std::fs::rename(&from, &to).unwrap();
        wait_for("the move's run", || ran_since(n, &|b| b.summary.moved == 1));
        assert_eq!(id_of(&lib, &to), Some(id), "moved, not re-indexed");
        assert_eq!(id_of(&lib, &from), None);
        assert_eq!(vector_of(&lib, &to).unwrap(), vector);
        assert!(ran_since(n, &|b| b.summary.embedded == 0 && b.summary.new == 0));

        // A deleted folder's images leave the library.
        let n = batches();
        std::fs::remove_dir_all(&import).unwrap();
        wait_for("the deleted folder's run", || {
            ran_since(n, &|b| b.summary.removed == 50)
        });
        assert_eq!(lib.read().unwrap().len().unwrap(), 2);
        assert_eq!(paths_under(&lib, &import), 0);

        // A new folder is indexed, and then watched: a second image in it is seen
        // and only that folder is crawled.
        let fresh = photos.join("new/deeper");
        let n = batches();
        png(&fresh.join("x.png"), 7);
        wait_for("the image in the new folder", || {
            ran_since(n, &|b| b.summary.new == 1)
        });
        assert!(id_of(&lib, &fresh.join("x.png")).is_some());
        let n = batches();
        png(&fresh.join("y.png"), 8);
        wait_for("the second image in the new folder", || {
            ran_since(n, &|b| b.summary.new == 1 && b.folders == [fresh.clone()])
        });
        assert!(id_of(&lib, &fresh.join("y.png")).is_some());
        assert_eq!(lib.read().unwrap().len().unwrap(), 4);

        // Quiet now: the runs' own writes to the library (inside the root) never
        // start another run.
        let settled = batches();
        std::thread::sleep(opts.quiet * 3);
        assert_eq!(batches(), settled, "no run without a change");
        assert!(seen
            .lock()
            .unwrap()
            .iter()
            .all(|b| b.trigger == Trigger::Events));

        stop.store(true, Ordering::Relaxed);
        watcher.join().unwrap().unwrap();
    });
}

/// Without change events (network shares, an exhausted inotify limit) the roots
/// are rescanned periodically, and a change is picked up by the next rescan.
#[test]
fn the_periodic_rescan_fallback_picks_up_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = std::fs::canonicalize(tmp.path()).unwrap().join("photos");
    png(&photos.join("one.png"), 1);
    let lib = RwLock::new(Library::open(&tmp.path().join("lib")).unwrap());
    index_once(&lib, &photos);
    let opts = WatchOptions {
        rescan_only: true,
        rescan_every: Duration::from_secs(1),
        ..WatchOptions::default()
    };
    let stop = AtomicBool::new(false);
    let seen: Mutex<Vec<Seen>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        let watcher = s.spawn(|| watch_recording(&lib, &photos, &opts, &stop, &seen));
        png(&photos.join("later/two.png"), 2);
        wait_for("the rescan to pick up the new image", || {
            id_of(&lib, &photos.join("later/two.png")).is_some()
        });
        stop.store(true, Ordering::Relaxed);
        watcher.join().unwrap().unwrap();
    });
    let seen = seen.into_inner().unwrap();
    assert!(!seen.is_empty());
    for s in &seen {
        assert_eq!(s.folders, vec![photos.clone()], "the whole root");
        assert_eq!(s.trigger, Trigger::Rescan);
    }
    assert_eq!(seen.iter().map(|s| s.summary.new).sum::<usize>(), 1);
    assert_eq!(lib.read().unwrap().len().unwrap(), 2);
}
