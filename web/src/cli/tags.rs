//! `scry tags`: what the library holds, by zero-shot auto-tags ([`scry::tags`]).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use scry::tags::{self, Tagger};

use super::library::{self, LibraryArgs};
use super::ModelArgs;

#[derive(Debug, clap::Args)]
pub struct TagsArgs {
    /// One photo's tags with their shares, instead of the whole library's counts.
    #[arg(long, value_name = "PATH")]
    image: Option<PathBuf>,
    /// A category to add to the vocabulary for this run only (repeatable);
    /// nothing is re-embedded.
    #[arg(long = "category", value_name = "NAME")]
    categories: Vec<String>,
    /// Adds a category to the library's vocabulary for good (repeatable):
    /// searches, the server and later runs tag with it (`tag:NAME`).
    #[arg(long = "add", value_name = "NAME")]
    add: Vec<String>,
    /// Removes one of the library's own categories (repeatable).
    #[arg(long = "remove", value_name = "NAME")]
    remove: Vec<String>,
    /// Share of an image's zero-shot distribution a tag needs (0–1).
    #[arg(long, value_name = "SHARE", default_value_t = tags::DEFAULT_MIN_SHARE)]
    min_share: f32,
    /// Most tags to list.
    #[arg(short = 'k', long, default_value_t = 50)]
    k: usize,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    library: LibraryArgs,
    #[command(flatten)]
    model: ModelArgs,
}

pub fn run(args: TagsArgs) -> anyhow::Result<()> {
    let extra: Vec<String> = args
        .categories
        .iter()
        .map(|c| tags::check_category(c).with_context(|| "--category".to_string()))
        .collect::<anyhow::Result<_>>()?;
    let added: Vec<String> = args
        .add
        .iter()
        .map(|c| tags::check_category(c).with_context(|| "--add".to_string()))
        .collect::<anyhow::Result<_>>()?;
    tags::check_min_share(args.min_share).context("--min-share")?;
    let loc = args.library.location()?;
    let mut lib = if args.add.is_empty() && args.remove.is_empty() {
        library::open_existing(&loc)?
    } else {
        library::open_existing_to_write(&loc)?
    };
    for name in &args.remove {
        if lib.remove_category(name).context("--remove")? {
            eprintln!("removed category {name:?}");
        } else {
            anyhow::bail!(
                "--remove {name:?}: the library has no category of its own by that name (its own: {})",
                list(&lib.categories()?)
            );
        }
    }
    for name in &added {
        if lib.add_category(name)? {
            eprintln!("added category {name:?} (tag:{})", tags::keyword(name));
        } else {
            eprintln!("{name:?} is already in the vocabulary");
        }
    }
    // The photo is found before the model is loaded: a wrong path fails fast.
    let image = match &args.image {
        Some(p) => {
            let (full, id) = library::image_at(&lib, p, "--image ")?;
            Some((full, lib.vector(id)?.context("the photo has no vector")?))
        }
        None => None,
    };
    let model = args.model.load()?;
    lib.check_model(model.id())?;
    let stored = lib.categories()?;
    let mut own = stored.clone();
    own.extend(extra);
    let vocabulary = tags::vocabulary(&own);
    // Encoded once per model and vocabulary, then read back from the cache.
    let mut shown = Encoding::new(args.json, vocabulary.len());
    let tagger = Tagger::encode_cached(&model, &vocabulary, &tags::default_cache_dir(), |d| {
        shown.done(d)
    })?
    .with_min_share(args.min_share)?;
    shown.finish();
    if let Some((path, vector)) = image {
        let found: Vec<(String, f32)> = tagger
            .tags(&vector)
            .into_iter()
            .map(|t| (tagger.names()[t.category].clone(), t.share))
            .collect();
        if args.json {
            let list: Vec<serde_json::Value> = found
                .iter()
                .map(|(n, s)| {
                    serde_json::json!({"tag": tags::keyword(n), "category": n,
                        "share": crate::views::short_f32(*s)})
                })
                .collect();
            let out = serde_json::json!({"path": path.display().to_string(), "tags": list});
            println!("{}", serde_json::to_string_pretty(&out)?);
        } else if found.is_empty() {
            println!(
                "{}: no tag clears a share of {}",
                path.display(),
                args.min_share
            );
        } else {
            for (n, s) in &found {
                println!("{:>5.1} %  tag:{}", s * 100.0, tags::keyword(n));
            }
        }
        return Ok(());
    }
    // Tagged as the home hands the vectors over, on every core.
    let table = tags::TagTable::build(&lib, &tagger)?;
    let images = table.images();
    let facets = table.facets(|_| true);
    let shown = &facets[..facets.len().min(args.k)];
    if args.json {
        let list: Vec<serde_json::Value> = shown
            .iter()
            .map(|(n, c)| serde_json::json!({"tag": tags::keyword(n), "category": n, "count": c}))
            .collect();
        let out = serde_json::json!({
            "images": images, "vocabulary": vocabulary.len(), "categories": stored, "tags": list,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "{} images, {} of {} categories found:",
        images,
        facets.len(),
        vocabulary.len()
    );
    if !stored.is_empty() {
        println!("the library's own categories: {}", stored.join(", "));
    }
    for (n, c) in shown {
        println!("{c:>7}  tag:{}", tags::keyword(n));
    }
    Ok(())
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// The progress of encoding a vocabulary, on a terminal (and unless `quiet`).
struct Encoding {
    quiet: bool,
    total: usize,
    shown: bool,
}

impl Encoding {
    fn new(quiet: bool, total: usize) -> Self {
        Encoding {
            quiet: quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()),
            total,
            shown: false,
        }
    }

    /// `done` categories of the total are encoded.
    fn done(&mut self, done: usize) {
        if !self.quiet {
            self.shown = true;
            eprint!(
                "\rencoding the tag vocabulary (once for this model): {done}/{}",
                self.total
            );
            let _ = std::io::stderr().flush();
        }
    }

    fn finish(self) {
        if self.shown {
            eprintln!();
        }
    }
}

/// Makes sure the library's vocabulary is encoded for `model`, saying so on a
/// terminal while it is (once per model and vocabulary; then it is read back).
pub fn warm(
    cache: &tags::TagCache,
    lib: &scry::Library,
    model: &scry::ClipModel,
    quiet: bool,
) -> anyhow::Result<()> {
    let mut shown = Encoding::new(quiet, tags::vocabulary(&lib.categories()?).len());
    cache.tagger(lib, model, |d| shown.done(d))?;
    shown.finish();
    Ok(())
}
