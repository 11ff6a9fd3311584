//! Watch mode: keeps a library current as files appear, change, move and
//! disappear.
//!
//! - Folders are watched, not files: one recursive watch per root, which on Linux
//!   is one inotify watch per directory (watching every file runs into the
//!   system's limit of watches on a large library). New folders are watched as
//!   they appear.
//! - Bursts are coalesced: after the first event, events are collected until none
//!   has come for a quiet period (or a maximum wait has passed), then the affected
//!   folders are re-indexed in one run. A camera import of 2,000 files is one
//!   batch, not 2,000 commits.
//! - A run over a set of folders crawls only those folders, so moves between them
//!   are recognised by content and removals are detected where they happened.
//! - Where events are unreliable or unavailable (network and FUSE filesystems, an
//!   exhausted inotify limit, a platform without a watcher) the root is rescanned
//!   periodically instead, and the log says so.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use scry::{ClipModel, Library};

use crate::pipeline::{index, read, write, IndexOptions};
use crate::report::{Silent, Summary};

/// How to watch.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// How each batch is indexed.
    pub index: IndexOptions,
    /// A batch is indexed once no event has come for this long…
    pub quiet: Duration,
    /// …or this long after its first event, whichever comes first.
    pub max_wait: Duration,
    /// How often roots without reliable change events are rescanned.
    pub rescan_every: Duration,
    /// Never use change events: rescan every root every `rescan_every`.
    pub rescan_only: bool,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            index: IndexOptions::default(),
            quiet: Duration::from_secs(2),
            max_wait: Duration::from_secs(30),
            rescan_every: DEFAULT_RESCAN_EVERY,
            rescan_only: false,
        }
    }
}

/// The default interval of the periodic-rescan fallback.
pub const DEFAULT_RESCAN_EVERY: Duration = Duration::from_secs(600);

/// More affected folders than this in one batch: their roots are re-indexed.
const MAX_FOLDERS: usize = 32;

/// How often the stop flag is looked at.
const TICK: Duration = Duration::from_millis(200);

/// Why a batch was indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Change events in these folders.
    Events,
    /// The periodic rescan of roots without reliable change events.
    Rescan,
}

/// One re-indexing run of the watcher.
#[derive(Debug)]
pub struct Batch {
    /// The folders that were re-indexed (each inside a root, none inside another).
    pub folders: Vec<PathBuf>,
    pub trigger: Trigger,
    pub result: scry::Result<Summary>,
}

/// Keeps `lib` current with the folders under `roots` until `stop` is set:
/// every batch of changes is indexed with [`index`] over the affected folders
/// only, and reported to `on_batch`. Index the roots once before watching: only
/// changes from then on are seen (and rescans of sub-folders). Events inside the
/// library's own folder are ignored.
pub fn watch(
    lib: &RwLock<Library>,
    model: &ClipModel,
    roots: &[PathBuf],
    opts: &WatchOptions,
    stop: &AtomicBool,
    mut on_batch: impl FnMut(&Batch),
) -> scry::Result<()> {
    let library_dir: Vec<PathBuf> = read(lib).dir().map(Path::to_path_buf).into_iter().collect();
    // A sub-folder indexed on its own must fall under a root, never become one.
    let canonical: Vec<PathBuf> = roots
        .iter()
        .filter_map(|r| std::fs::canonicalize(r).ok())
        .collect();
    write(lib).add_roots(&canonical)?;
    watch_folders(roots, &library_dir, opts, stop, |folders, trigger| {
        let result = index(lib, model, folders, &opts.index, &Silent);
        on_batch(&Batch {
            folders: folders.to_vec(),
            trigger,
            result,
        });
    })
}

/// The watcher without the indexing: [`FolderWatcher::new`] then
/// [`FolderWatcher::run`].
pub fn watch_folders(
    roots: &[PathBuf],
    ignore: &[PathBuf],
    opts: &WatchOptions,
    stop: &AtomicBool,
    reindex: impl FnMut(&[PathBuf], Trigger),
) -> scry::Result<()> {
    FolderWatcher::new(roots, ignore, opts)?.run(stop, reindex)
}

/// Watches the roots' folders (with change events where they are reliable, with
/// periodic rescans elsewhere) and says which folders to re-index.
pub struct FolderWatcher {
    all_roots: Vec<PathBuf>,
    ignore: Vec<PathBuf>,
    evented: Vec<PathBuf>,
    polled: Vec<PathBuf>,
    watcher: Option<RecommendedWatcher>,
    rx: Receiver<notify::Result<notify::Event>>,
    quiet: Duration,
    max_wait: Duration,
    every: Duration,
}

impl FolderWatcher {
    /// Starts watching `roots`: once this returns, changes are recorded. Paths
    /// under `ignore` (the library's folder) are not changes. Roots whose changes
    /// cannot be watched fall back to periodic rescans, with a warning in the log.
    pub fn new(roots: &[PathBuf], ignore: &[PathBuf], opts: &WatchOptions) -> scry::Result<Self> {
        if roots.is_empty() {
            return Err(scry::Error::InvalidArgument(
                "nothing to watch: the library has no folders".into(),
            ));
        }
        let all_roots = outermost(
            roots
                .iter()
                .map(|r| std::fs::canonicalize(r).unwrap_or_else(|_| r.clone()))
                .collect(),
        );
        let ignore: Vec<PathBuf> = ignore
            .iter()
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
            .collect();
        let every = opts.rescan_every.max(Duration::from_secs(1));

        let (tx, rx) = channel();
        let mut watcher_error = None;
        let mut watcher = if opts.rescan_only {
            None
        } else {
            match RecommendedWatcher::new(
                tx,
                // Linked folders are watched only where the crawl follows them.
                notify::Config::default().with_follow_symlinks(opts.index.crawl.follow_links),
            ) {
                Ok(w) => Some(w),
                Err(e) => {
                    watcher_error = Some(describe(&e));
                    None
                }
            }
        };
        let mut evented = Vec::new();
        let mut polled = Vec::new();
        for root in &all_roots {
            let fallback = if opts.rescan_only {
                Some("periodic rescans were asked for".to_string())
            } else if !root.is_dir() {
                Some("folder not found (not mounted?)".to_string())
            } else if let Some(fs) = remote_filesystem(root) {
                Some(format!(
                    "on a {fs} filesystem, whose change events are unreliable"
                ))
            } else if let Some(w) = watcher.as_mut() {
                match w.watch(root, RecursiveMode::Recursive) {
                    Ok(()) => None,
                    Err(e) => {
                        let _ = w.unwatch(root);
                        Some(describe(&e))
                    }
                }
            } else {
                Some(
                    watcher_error
                        .clone()
                        .unwrap_or_else(|| "no change events".into()),
                )
            };
            match fallback {
                None => {
                    tracing::info!("watching {} for changes", root.display());
                    evented.push(root.clone());
                }
                Some(why) => {
                    tracing::warn!(
                        "{}: {why}; falling back to a rescan every {} s",
                        root.display(),
                        every.as_secs()
                    );
                    polled.push(root.clone());
                }
            }
        }
        if evented.is_empty() {
            watcher = None;
        }
        Ok(FolderWatcher {
            all_roots,
            ignore,
            evented,
            polled,
            watcher,
            rx,
            quiet: opts.quiet,
            max_wait: opts.max_wait,
            every,
        })
    }

    /// The roots watched through change events.
    pub fn watched(&self) -> &[PathBuf] {
        &self.evented
    }

    /// The roots rescanned periodically instead.
    pub fn rescanned(&self) -> &[PathBuf] {
        &self.polled
    }

    /// Events can no longer be trusted: every watched root is rescanned now and
    /// then periodically, and the log says why.
    fn fall_back_to_rescans(&mut self, why: &str, pending: &mut BTreeSet<PathBuf>) {
        tracing::warn!(
            "{why}; falling back to a rescan every {} s of {}",
            self.every.as_secs(),
            list(&self.evented)
        );
        pending.extend(self.evented.iter().cloned());
        self.polled.append(&mut self.evented);
        self.watcher = None;
    }

    /// Calls `reindex` with the folders to re-index (deduplicated, each inside a
    /// root, none inside another) after each coalesced batch of events, and with
    /// the fallback roots every `rescan_every`, until `stop` is set (checked every
    /// 200 ms and between runs).
    pub fn run(
        mut self,
        stop: &AtomicBool,
        mut reindex: impl FnMut(&[PathBuf], Trigger),
    ) -> scry::Result<()> {
        let mut pending = BTreeSet::new();
        let mut first: Option<Instant> = None;
        let mut last = Instant::now();
        let mut next_rescan = Instant::now() + self.every;
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            let mut deadline = now + TICK;
            if let Some(f) = first {
                deadline = deadline.min(last + self.quiet).min(f + self.max_wait);
            }
            if !self.polled.is_empty() {
                deadline = deadline.min(next_rescan);
            }
            let wait = deadline.saturating_duration_since(now);
            let received = if self.watcher.is_some() {
                self.rx.recv_timeout(wait)
            } else {
                std::thread::sleep(wait);
                Err(RecvTimeoutError::Timeout)
            };
            let mut changed = false;
            match received {
                Ok(Ok(event)) => {
                    if event.need_rescan() {
                        // The kernel's queue overflowed: events were lost.
                        tracing::warn!("change events were lost; rescanning the watched folders");
                        pending.extend(self.evented.iter().cloned());
                        changed = true;
                    }
                    if relevant(&event.kind) {
                        for p in &event.paths {
                            if let Some(f) = affected_folder(p, &self.evented, &self.ignore) {
                                pending.insert(f);
                                changed = true;
                            }
                        }
                    }
                }
                Ok(Err(e)) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => {
                    // A new folder could not be watched: events are incomplete from now.
                    self.fall_back_to_rescans(&describe(&e), &mut pending);
                    changed = true;
                }
                Ok(Err(e)) => {
                    tracing::warn!("watching: {e}; rescanning the folders concerned");
                    let mut any = false;
                    for p in &e.paths {
                        if let Some(f) = affected_folder(p, &self.evented, &self.ignore) {
                            pending.insert(f);
                            any = true;
                        }
                    }
                    if !any {
                        pending.extend(self.evented.iter().cloned());
                    }
                    changed = true;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.fall_back_to_rescans("change events stopped", &mut pending);
                    changed = true;
                }
            }
            let now = Instant::now();
            if changed {
                first.get_or_insert(now);
                last = now;
            }
            if let Some(f) = first {
                if now >= last + self.quiet
                    || now >= f + self.max_wait
                    || stop.load(Ordering::Relaxed)
                {
                    let folders = folders_to_index(std::mem::take(&mut pending), &self.all_roots);
                    first = None;
                    if !folders.is_empty() && !stop.load(Ordering::Relaxed) {
                        reindex(&folders, Trigger::Events);
                    }
                }
            }
            if !self.polled.is_empty()
                && Instant::now() >= next_rescan
                && !stop.load(Ordering::Relaxed)
            {
                reindex(&self.polled, Trigger::Rescan);
                next_rescan = Instant::now() + self.every;
            }
        }
        Ok(())
    }
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe(e: &notify::Error) -> String {
    match e.kind {
        notify::ErrorKind::MaxFilesWatch => {
            "the system's limit of inotify watches is reached (raise fs.inotify.max_user_watches)"
                .into()
        }
        _ => format!("change events are unavailable ({e})"),
    }
}

/// Whether an event can mean a change: opening and reading (the indexer's own
/// reads among them) cannot.
fn relevant(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// The folder to re-index for a change at `path`: the folder holding it (the
/// root itself for the root), or `None` outside the roots or inside `ignore`.
fn affected_folder(path: &Path, roots: &[PathBuf], ignore: &[PathBuf]) -> Option<PathBuf> {
    if ignore.iter().any(|i| path.starts_with(i)) {
        return None;
    }
    let root = roots.iter().find(|r| path.starts_with(r))?;
    if path == root.as_path() {
        return Some(root.clone());
    }
    path.parent().map(Path::to_path_buf)
}

/// Roots with those inside another dropped, sorted.
fn outermost(mut paths: Vec<PathBuf>) -> Vec<PathBuf> {
    // Path order puts a folder right before what it contains.
    paths.sort();
    paths.dedup();
    let mut out: Vec<PathBuf> = Vec::with_capacity(paths.len());
    for p in paths {
        if !out.last().is_some_and(|l| p.starts_with(l)) {
            out.push(p);
        }
    }
    out
}

/// What to re-index for a set of changed folders: a folder that is gone becomes
/// its nearest existing ancestor inside its root (so removals are seen); folders
/// inside others are dropped; many folders become their roots.
pub(crate) fn folders_to_index(
    changed: impl IntoIterator<Item = PathBuf>,
    roots: &[PathBuf],
) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for folder in changed {
        let Some(root) = roots.iter().find(|r| folder.starts_with(r)) else {
            continue;
        };
        let mut f = folder.as_path();
        while !f.is_dir() && f != root.as_path() {
            match f.parent() {
                Some(p) => f = p,
                None => break,
            }
        }
        if f.is_dir() {
            found.push(f.to_path_buf());
        }
    }
    let found = outermost(found);
    if found.len() > MAX_FOLDERS {
        return outermost(
            found
                .iter()
                .filter_map(|f| roots.iter().find(|r| f.starts_with(r)).cloned())
                .collect(),
        );
    }
    found
}

/// The kind of a network or FUSE filesystem holding `path`, where inotify only
/// sees changes made through this machine.
#[cfg(target_os = "linux")]
fn remote_filesystem(path: &Path) -> Option<&'static str> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: `c` is a valid NUL-terminated path and `st` a writable statfs.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    // f_type's integer type differs between libcs; the magic numbers are 32-bit.
    #[allow(clippy::unnecessary_cast)]
    let magic = st.f_type as u32;
    Some(match magic {
        0x6969 => "NFS",
        0x517B => "SMB",
        0xFF53_4D42 => "CIFS",
        0xFE53_4D42 => "SMB2",
        0x6573_5546 => "FUSE",
        0x0102_1997 => "9P",
        0x00C3_6400 => "Ceph",
        0x5346_414F => "AFS",
        0x0BD0_0BD0 => "Lustre",
        0x4741_5346 => "GlusterFS",
        _ => return None,
    })
}

#[cfg(not(target_os = "linux"))]
fn remote_filesystem(_path: &Path) -> Option<&'static str> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affected_folders_are_resolved_deduplicated_and_collapsed() {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::create_dir_all(root.join("c")).unwrap();
        let roots = vec![root.clone()];
        // A gone folder becomes its nearest existing ancestor; nested ones go.
        let got = folders_to_index(
            [
                root.join("a/b"),
                root.join("a"),
                root.join("c/gone/deeper"),
                PathBuf::from("/elsewhere"),
            ],
            &roots,
        );
        assert_eq!(got, vec![root.join("a"), root.join("c")]);
        // Many folders: the root.
        for i in 0..=MAX_FOLDERS {
            std::fs::create_dir_all(root.join(format!("d{i}"))).unwrap();
        }
        let many = (0..=MAX_FOLDERS).map(|i| root.join(format!("d{i}")));
        assert_eq!(folders_to_index(many, &roots), vec![root.clone()]);
        // The library's own folder and paths outside the roots are no change.
        let lib = root.join("lib");
        assert_eq!(
            affected_folder(&lib.join("catalog/db"), &roots, std::slice::from_ref(&lib)),
            None
        );
        assert_eq!(
            affected_folder(&root.join("a/x.jpg"), &roots, &[lib]),
            Some(root.join("a"))
        );
        assert_eq!(affected_folder(&root, &roots, &[]), Some(root.clone()));
        assert_eq!(affected_folder(Path::new("/etc/x"), &roots, &[]), None);
        assert_eq!(
            outermost(vec![root.join("a/b"), root.join("a-b"), root.join("a")]),
            vec![root.join("a"), root.join("a-b")]
        );
    }
}
