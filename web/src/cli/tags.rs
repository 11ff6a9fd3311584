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
    /// A category to add to the built-in vocabulary for this run (repeatable);
    /// nothing is re-embedded.
    #[arg(long = "category", value_name = "NAME")]
    categories: Vec<String>,
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
    tags::check_min_share(args.min_share).context("--min-share")?;
    let loc = args.library.location()?;
    let lib = library::open_existing(&loc)?;
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
    let vocabulary = tags::vocabulary(&extra);
    let quiet = args.json || !std::io::IsTerminal::is_terminal(&std::io::stderr());
    // Encoded once per model and vocabulary, then read back from the cache.
    let cache = dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("scry")
        .join("tags");
    let mut progressed = false;
    let tagger = Tagger::encode_cached(&model, &vocabulary, &cache, |done| {
        if !quiet {
            progressed = true;
            eprint!(
                "\rencoding the vocabulary (once for this model): {done}/{}",
                vocabulary.len()
            );
            let _ = std::io::stderr().flush();
        }
    })?
    .with_min_share(args.min_share)?;
    if progressed {
        eprintln!();
    }
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
    // Counted as the home hands the vectors over: none is copied.
    let mut counter = tagger.counter();
    lib.for_each(true, |item| {
        if let Some(v) = item.vector {
            counter.add(v);
        }
    })?;
    let images = counter.images();
    let facets = counter.finish();
    let shown = &facets[..facets.len().min(args.k)];
    if args.json {
        let list: Vec<serde_json::Value> = shown
            .iter()
            .map(|(n, c)| serde_json::json!({"tag": tags::keyword(n), "category": n, "count": c}))
            .collect();
        let out = serde_json::json!({
            "images": images, "vocabulary": vocabulary.len(), "tags": list,
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
    for (n, c) in shown {
        println!("{c:>7}  tag:{}", tags::keyword(n));
    }
    Ok(())
}
