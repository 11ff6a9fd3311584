//! `scry index`: add folders to the library and bring it up to date.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use scry_indexer::{IndexOptions, Progress, Summary};

use scry::home::qdrant::QdrantLibrary;
use scry::home::Location;

use super::library::{self, LibraryArgs, Settings};
use super::ModelArgs;

#[derive(Debug, clap::Args)]
pub struct IndexArgs {
    /// Folders to index (added to the library's roots). Without any, the library's
    /// roots are re-scanned.
    dirs: Vec<PathBuf>,
    #[command(flatten)]
    library: LibraryArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Follow symbolic links (loops are detected and reported).
    #[arg(long)]
    follow_links: bool,
    /// Index hidden files and folders too.
    #[arg(long)]
    hidden: bool,
    /// Re-create the library from the source images (after damage, or to switch
    /// models); keeps its roots.
    #[arg(long)]
    rebuild: bool,
    /// Images per forward pass.
    #[arg(long, default_value_t = scry::model::DEFAULT_BATCH_SIZE as u32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    batch_size: u32,
    /// Also read the text in images (signs, receipts, screenshots) with
    /// Tesseract, so a word in a picture finds it (and `text:"…"` matches it).
    /// Remembered by the library: later runs and a server's rescans keep
    /// reading text until --no-ocr. Only images that look like they hold text
    /// are read.
    #[arg(long)]
    ocr: bool,
    /// The languages to read, as Tesseract names them, joined by + (implies
    /// --ocr) [default: eng].
    #[arg(long, value_name = "LANGS")]
    ocr_lang: Option<String>,
    /// Stop reading text in images (what was read is kept).
    #[arg(long, conflicts_with_all = ["ocr", "ocr_lang"])]
    no_ocr: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Index only share I of N of the files (by a stable hash of the path), for
    /// N workers on N machines sharing one Qdrant collection: `--shard 2/8`.
    /// `--shard 8` alone takes I from JOB_COMPLETION_INDEX (a Kubernetes Indexed
    /// Job), so every pod runs the same command.
    #[arg(long, value_name = "I/N", conflicts_with = "rebuild")]
    shard: Option<String>,
    /// Then keep watching the folders and index new, edited, moved and deleted
    /// images as they change (one line per batch of changes), until stopped.
    #[arg(long)]
    watch: bool,
    /// With --watch: how often to rescan folders whose changes cannot be watched
    /// (network shares, too many folders for the system's watch limit).
    #[arg(long, value_name = "SECONDS", default_value_t = 600, requires = "watch",
          value_parser = clap::value_parser!(u64).range(1..))]
    rescan_every: u64,
}

pub fn run(args: IndexArgs) -> anyhow::Result<()> {
    let loc = args.library.location()?;
    let mut settings = Settings::load_at(&loc)?;
    settings.add_dirs(&args.dirs)?;
    if settings.roots.is_empty() {
        anyhow::bail!("nothing to index: pass the folders to index, e.g. `scry index ~/Pictures`");
    }
    // Load the model before touching the library: a missing model fails fast,
    // and a rebuild never starts without one.
    let model = args.model.load()?;
    // Likewise OCR asked for on a machine that cannot do it.
    let asked_ocr: Option<Option<String>> = if args.ocr || args.ocr_lang.is_some() {
        let languages = args
            .ocr_lang
            .as_deref()
            .unwrap_or(scry::ocr::DEFAULT_LANGUAGES);
        scry::ocr::check(languages).map_err(|e| anyhow::anyhow!("--ocr: {e}"))?;
        Some(Some(languages.to_string()))
    } else if args.no_ocr {
        Some(None)
    } else {
        None
    };
    let lib = match &loc {
        Location::Folder(dir) => {
            rebuild_folder(dir, args.rebuild)?;
            library::open(&loc)?
        }
        // A rebuild fills a new collection; searches keep using the old one
        // until it is complete.
        Location::Qdrant(url) if args.rebuild => {
            QdrantLibrary::start_rebuild(url, model.id(), model.dim())?.into()
        }
        Location::Qdrant(_) => library::open(&loc)?,
    };
    let mut lib = lib;
    // OCR: asked for, turned off, or as before (a rebuild finds it in the
    // settings file).
    let ocr = match asked_ocr {
        Some(asked) => asked,
        None => lib.ocr()?.or(settings.ocr.clone()),
    };
    if ocr != lib.ocr()? {
        // A new Qdrant collection is made when the model is bound.
        lib.bind_model(model.id(), model.dim())?;
        lib.set_ocr(ocr.as_deref())?;
    }
    settings.ocr = ocr;
    let lib = std::sync::RwLock::new(lib);
    settings.model = Some(model.id().to_string());
    settings.save_at(&loc)?;

    let shard = args
        .shard
        .as_deref()
        .map(|s| {
            scry_indexer::Shard::parse(s, std::env::var("JOB_COMPLETION_INDEX").ok().as_deref())
        })
        .transpose()
        .map_err(|m| anyhow::anyhow!(m))?;
    if let (Some(s), false) = (shard, args.json) {
        eprintln!("worker {s}: indexing its share of the files");
    }
    let opts = IndexOptions {
        shard,
        crawl: scry_indexer::CrawlOptions {
            follow_links: args.follow_links,
            include_hidden: args.hidden,
        },
        batch_size: args.batch_size as usize,
        ..IndexOptions::default()
    };
    let progress = Reporter::new(!args.json && std::io::stderr().is_terminal());
    // Watching starts before the first run: what changes during it (hours, for
    // a large library) is queued, not missed.
    let watcher = if args.watch {
        Some(start_watching(&lib, &settings.roots, opts.clone(), &args)?)
    } else {
        None
    };
    let summary = scry_indexer::index(&lib, &model, &settings.roots, &opts, &progress)?;
    {
        let mut l = lib
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Albums a rebuild dropped (settings.json keeps their definitions), or
        // carried over with the old model's vectors: made again with this model.
        let carried = args.rebuild && l.qdrant_mut().is_some();
        if (l.albums()?.is_empty() || carried) && !settings.albums.is_empty() {
            let n = library::restore_albums(&mut l, &model, &settings.albums)?;
            if !args.json {
                eprintln!("restored {n} album(s)");
            }
        }
        if args.rebuild {
            if let Some(q) = l.qdrant_mut() {
                // Searches move to the rebuilt collection in one step.
                q.finish_rebuild()?;
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary);
    }
    if let Some((watcher, watch_opts)) = watcher {
        keep_watching(&lib, &model, watcher, &watch_opts, &args)?;
    }
    Ok(())
}

/// `--rebuild` of a local library: each part is moved aside in one rename, then
/// deleted: a kill at any moment leaves parts that are whole (or gone), never
/// half-deleted. Also clears what a killed rebuild set aside.
fn rebuild_folder(dir: &std::path::Path, rebuild: bool) -> anyhow::Result<()> {
    let trash = dir.join(".rebuild-trash");
    if trash.exists() {
        std::fs::remove_dir_all(&trash)
            .with_context(|| format!("cannot remove {}", trash.display()))?;
    }
    if rebuild {
        std::fs::create_dir_all(&trash).with_context(|| trash.display().to_string())?;
        for part in ["catalog", "keyword", "ann"] {
            let p = dir.join(part);
            if p.exists() {
                std::fs::rename(&p, trash.join(part))
                    .with_context(|| format!("cannot move {} aside", p.display()))?;
            }
        }
        std::fs::remove_dir_all(&trash)
            .with_context(|| format!("cannot remove {}", trash.display()))?;
    }
    Ok(())
}

/// `--watch`: one line per batch that changed something, until the process is
/// stopped (Ctrl-C; a kill at any moment leaves a library the next run repairs).
fn start_watching(
    lib: &std::sync::RwLock<scry::Library>,
    roots: &[PathBuf],
    index: IndexOptions,
    args: &IndexArgs,
) -> anyhow::Result<(scry_indexer::FolderWatcher, scry_indexer::WatchOptions)> {
    let opts = scry_indexer::WatchOptions {
        index,
        rescan_every: Duration::from_secs(args.rescan_every),
        ..Default::default()
    };
    // The library may sit inside a root: its own writes are not changes.
    let library_dir: Vec<PathBuf> = lib
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .dir()
        .map(std::path::Path::to_path_buf)
        .into_iter()
        .collect();
    let watcher = scry_indexer::FolderWatcher::new(roots, &library_dir, &opts)?;
    Ok((watcher, opts))
}

/// `--watch`, after the first run: one line per batch that changed something,
/// until the process is stopped.
fn keep_watching(
    lib: &std::sync::RwLock<scry::Library>,
    model: &scry::ClipModel,
    watcher: scry_indexer::FolderWatcher,
    opts: &scry_indexer::WatchOptions,
    args: &IndexArgs,
) -> anyhow::Result<()> {
    eprintln!(
        "watching {} folder(s) for changes{} (Ctrl-C to stop)",
        watcher.watched().len() + watcher.rescanned().len(),
        if watcher.rescanned().is_empty() {
            String::new()
        } else {
            format!(
                ", {} by a rescan every {} s",
                watcher.rescanned().len(),
                args.rescan_every
            )
        }
    );
    let stop = std::sync::atomic::AtomicBool::new(false);
    watcher.run(&stop, |folders, _| {
        match scry_indexer::index(lib, model, folders, &opts.index, &scry_indexer::Silent) {
            Ok(s) if args.json => {
                if let Ok(line) = serde_json::to_string(&s) {
                    println!("{line}");
                }
            }
            Ok(s) => {
                if let Some(line) = batch_line(&s) {
                    println!("watch: {line}");
                }
            }
            Err(e) => eprintln!("error: indexing the changes stopped: {e}"),
        }
    })?;
    Ok(())
}

/// One line for a batch of the watcher, or `None` when it changed nothing.
pub fn batch_line(s: &Summary) -> Option<String> {
    if s.new + s.changed + s.moved + s.removed + s.touched + s.failed == 0 {
        return None;
    }
    let mut line = format!(
        "{} new, {} changed, {} moved, {} removed",
        s.new, s.changed, s.moved, s.removed
    );
    if s.failed > 0 {
        line.push_str(&format!(", {} failed", s.failed));
    }
    line.push_str(&format!("; {} images", s.total));
    Some(line)
}

fn print_summary(s: &Summary) {
    println!(
        "{} new, {} changed, {} unchanged, {} moved, {} removed ({} copies reused, {} re-timed, {} embedded) in {:.1} s; {} images in the library",
        s.new, s.changed, s.unchanged, s.moved, s.removed, s.copies, s.touched, s.embedded, s.seconds, s.total
    );
    if s.placed > 0 {
        println!(
            "{} photos indexed before scry read GPS positions now have their place",
            s.placed
        );
    }
    if s.ocr_checked > 0 {
        println!(
            "text: {} images looked at, {} read by OCR, {} with words in them",
            s.ocr_checked, s.ocr_read, s.ocr_with_text
        );
    }
    if let Some(why) = &s.ocr_skipped {
        println!("text in images was not read: {why}");
    }
    if s.frames > 0 {
        println!("videos: {} frames embedded", s.frames);
    }
    if s.motion_clips > 0 {
        println!(
            "{} Live Photo clips kept with their photos (not indexed apart)",
            s.motion_clips
        );
    }
    if s.ignored > 0 {
        println!("{} files are not images and were ignored", s.ignored);
    }
    if !s.failures.is_empty() {
        println!(
            "Not indexed ({} errors, {} unsupported):",
            s.failed, s.unsupported
        );
        for (kind, list) in &s.failures {
            let name = serde_json::to_value(kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            println!("  {} ({}):", name.replace('_', " "), list.len());
            for f in list.iter().take(20) {
                println!("    {}: {}", f.path.display(), f.reason);
            }
            if list.len() > 20 {
                println!("    … and {} more (use --json for all)", list.len() - 20);
            }
        }
    }
}

/// A progress bar on a terminal; otherwise a log line every few seconds.
struct Reporter {
    bar: Option<indicatif::ProgressBar>,
    state: Mutex<(usize, usize, Instant, Instant)>, // done, total, started, last log
}

impl Reporter {
    fn new(terminal: bool) -> Self {
        let bar = terminal.then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {msg} [{bar:30}] {pos}/{len} images, {per_sec}, ETA {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        let now = Instant::now();
        Self {
            bar,
            state: Mutex::new((0, 0, now, now)),
        }
    }
}

impl Progress for Reporter {
    fn crawling(&self, files: usize) {
        match &self.bar {
            Some(b) => b.set_message(format!("scanning: {files} files")),
            None => tracing::debug!("scanning: {files} files"),
        }
    }

    fn start(&self, total: usize) {
        let mut st = self.state.lock().expect("progress lock");
        st.1 = total;
        st.2 = Instant::now();
        match &self.bar {
            Some(b) => {
                b.set_length(total as u64);
                b.set_message("indexing");
            }
            None if total > 0 => eprintln!("indexing {total} new or changed files"),
            None => {}
        }
    }

    fn advance(&self, n: usize) {
        let mut st = self.state.lock().expect("progress lock");
        st.0 += n;
        match &self.bar {
            Some(b) => b.inc(n as u64),
            None if st.3.elapsed() >= Duration::from_secs(5) => {
                let rate = st.0 as f64 / st.2.elapsed().as_secs_f64().max(1e-3);
                eprintln!("indexed {}/{} ({rate:.1} images/s)", st.0, st.1);
                st.3 = Instant::now();
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
