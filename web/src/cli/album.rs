//! `scry album`: smart albums defined by prompts.

use std::path::PathBuf;

use anyhow::Context;
use scry::albums::{self, Album};

use super::library::{self, LibraryArgs};
use super::ModelArgs;
use crate::views::{short_f32, AlbumView, ScoredImageView};

#[derive(Debug, clap::Subcommand)]
pub enum AlbumCommand {
    /// Define (or redefine) an album by prompts and/or an example image. A
    /// suggested album (screenshots, receipts, food, pets, people) needs no prompt.
    Add(AddArgs),
    /// List the albums with how many images each holds, and the suggested ones.
    List(ListArgs),
    /// Show an album's images, best match first; with --threshold, what a new
    /// threshold would add or drop.
    Show(ShowArgs),
    /// Mark photos as belonging (--yes) or not (--no), or unmark them (--clear):
    /// the album learns from its marks (a few-shot probe on the stored embeddings).
    Mark(MarkArgs),
    /// Remove an album (the images stay).
    Rm(RmArgs),
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Album name: lower-case letters, digits, - and _ (searched as album:NAME).
    name: String,
    /// A description of what belongs (repeatable), e.g. "a photo of a receipt".
    #[arg(long = "prompt", value_name = "TEXT")]
    prompts: Vec<String>,
    /// An example image (a file; it need not be in the library).
    #[arg(long, value_name = "PATH")]
    example: Option<PathBuf>,
    /// Lowest cosine between an image and the album [default: 0.25, or the suggested album's].
    #[arg(long, value_name = "COSINE", allow_hyphen_values = true)]
    threshold: Option<f32>,
    #[command(flatten)]
    library: LibraryArgs,
    #[command(flatten)]
    model: ModelArgs,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    library: LibraryArgs,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    name: String,
    /// Most images to list.
    #[arg(short = 'k', long, default_value_t = 50)]
    k: usize,
    /// Preview another threshold: the images it would add and drop.
    #[arg(long, value_name = "COSINE", allow_hyphen_values = true)]
    threshold: Option<f32>,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    library: LibraryArgs,
}

#[derive(Debug, clap::Args)]
pub struct MarkArgs {
    name: String,
    /// A photo that belongs (repeatable; a file in the library).
    #[arg(long = "yes", value_name = "PATH")]
    yes: Vec<PathBuf>,
    /// A photo that does not belong (repeatable).
    #[arg(long = "no", value_name = "PATH")]
    no: Vec<PathBuf>,
    /// A photo to unmark (repeatable).
    #[arg(long = "clear", value_name = "PATH")]
    clear: Vec<PathBuf>,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    library: LibraryArgs,
}

#[derive(Debug, clap::Args)]
pub struct RmArgs {
    name: String,
    #[command(flatten)]
    library: LibraryArgs,
}

pub fn run(cmd: AlbumCommand) -> anyhow::Result<()> {
    match cmd {
        AlbumCommand::Add(a) => add(a),
        AlbumCommand::List(a) => list(a),
        AlbumCommand::Show(a) => show(a),
        AlbumCommand::Mark(a) => mark(a),
        AlbumCommand::Rm(a) => rm(a),
    }
}

fn add(args: AddArgs) -> anyhow::Result<()> {
    albums::check_name(&args.name)?;
    let suggested = albums::suggested(&args.name);
    let mut prompts = args.prompts.clone();
    if prompts.is_empty() && args.example.is_none() {
        match suggested {
            Some(s) => prompts = s.prompts.iter().map(|p| p.to_string()).collect(),
            None => anyhow::bail!(
                "album {}: give --prompt TEXT (repeatable) and/or --example PATH",
                args.name
            ),
        }
    }
    let threshold = args
        .threshold
        .or(suggested.map(|s| s.threshold))
        .unwrap_or(albums::DEFAULT_THRESHOLD);
    albums::check_threshold(threshold)?;
    let loc = args.library.location()?;
    let mut lib = library::open_existing_to_write(&loc)?;
    let model = args.model.load()?;
    lib.check_model(model.id())?;
    let example = match &args.example {
        Some(p) => {
            let pixels = model
                .preprocessor()
                .pixels_from_file(p)
                .with_context(|| format!("--example {}", p.display()))?;
            Some(model.embed_pixels(&[pixels], 1)?.remove(0))
        }
        None => None,
    };
    let vector = albums::album_vector(&model, &prompts, example.as_deref())?;
    let album = Album {
        name: args.name.clone(),
        prompts,
        // Absolute: a rebuild run from another folder re-encodes it.
        example: args.example.as_ref().map(|p| {
            std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string()
        }),
        threshold,
        vector,
        owner: None,
        marks: Vec::new(),
        prior: None,
    };
    lib.put_album(album.clone())?;
    library::remember_albums(&lib)?;
    let view = AlbumView::new(&lib, &album)?;
    println!(
        "album {}: {} images at threshold {:.3} (search with album:{})",
        view.name, view.count, view.threshold, view.name
    );
    Ok(())
}

fn list(args: ListArgs) -> anyhow::Result<()> {
    let loc = args.library.location()?;
    let lib = library::open_existing(&loc)?;
    let views: Vec<AlbumView> = lib
        .albums()?
        .iter()
        .map(|a| AlbumView::new(&lib, a))
        .collect::<scry::Result<_>>()?;
    let suggested: Vec<&str> = albums::SUGGESTED
        .iter()
        .map(|s| s.name)
        .filter(|n| !views.iter().any(|v| v.name == *n))
        .collect();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"albums": views, "suggested": suggested})
            )?
        );
        return Ok(());
    }
    if views.is_empty() {
        println!("no albums yet");
    }
    for v in &views {
        let example = v
            .example
            .as_deref()
            .map(|e| format!(" + example {e}"))
            .unwrap_or_default();
        println!(
            "{:<16} {:>6} images  ≥ {:.3}  {}{example}",
            v.name,
            v.count,
            v.threshold,
            v.prompts.join(" | ")
        );
    }
    if !suggested.is_empty() {
        println!(
            "suggested, not enabled: {} (scry album add NAME)",
            suggested.join(", ")
        );
    }
    Ok(())
}

fn show(args: ShowArgs) -> anyhow::Result<()> {
    let loc = args.library.location()?;
    let lib = library::open_existing(&loc)?;
    let album = lib.album(&args.name)?;
    let view = |list: &[(u64, f32)]| -> scry::Result<Vec<ScoredImageView>> {
        ScoredImageView::many(&lib, &list[..list.len().min(args.k)])
    };
    if let Some(t) = args.threshold {
        albums::check_threshold(t)?;
        let (enter, leave) = albums::preview(&lib, &album, t, &scry::access::Visibility::All)?;
        if args.json {
            let out = serde_json::json!({
                "album": album.name, "threshold": short_f32(album.threshold),
                "preview_threshold": short_f32(t),
                "count": albums::members(&lib, &album, t)?.len(),
                "entering": view(&enter)?, "leaving": view(&leave)?,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        } else {
            println!(
                "{}: threshold {:.3} → {t:.3}: {} would enter, {} would leave",
                album.name,
                album.threshold,
                enter.len(),
                leave.len()
            );
            for (sign, list) in [("+", &enter), ("-", &leave)] {
                for v in view(list)? {
                    println!("  {sign} {:.3}  {}", v.score, v.image.path);
                }
            }
        }
        return Ok(());
    }
    let members = albums::members(&lib, &album, album.threshold)?;
    if args.json {
        let out = serde_json::json!({
            "album": AlbumView::new(&lib, &album)?,
            "images": view(&members)?,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "{}: {} images at ≥ {:.3} ({})",
        album.name,
        members.len(),
        album.threshold,
        album.prompts.join(" | ")
    );
    if !album.marks.is_empty() {
        let yes = album.marks.iter().filter(|m| m.yes).count();
        println!(
            "  learns from {yes} photos marked yes and {} marked no (scry album mark)",
            album.marks.len() - yes
        );
    }
    for v in view(&members)? {
        println!("  {:.3}  {}", v.score, v.image.path);
    }
    Ok(())
}

fn mark(args: MarkArgs) -> anyhow::Result<()> {
    let changes: Vec<(&PathBuf, Option<bool>)> = (args.yes.iter().map(|p| (p, Some(true))))
        .chain(args.no.iter().map(|p| (p, Some(false))))
        .chain(args.clear.iter().map(|p| (p, None)))
        .collect();
    if changes.is_empty() {
        anyhow::bail!(
            "album {}: give --yes PATH, --no PATH or --clear PATH (each repeatable)",
            args.name
        );
    }
    let loc = args.library.location()?;
    let mut lib = library::open_existing_to_write(&loc)?;
    let mut album = lib.album(&args.name)?;
    let before: std::collections::HashSet<u64> = albums::members(&lib, &album, album.threshold)?
        .iter()
        .map(|&(id, _)| id)
        .collect();
    // Every path is checked before anything is stored: one unknown photo
    // leaves the album as it was.
    let mut ids = Vec::with_capacity(changes.len());
    for (path, belongs) in &changes {
        ids.push((library::image_at(&lib, path, "")?.1, *belongs));
    }
    for (id, belongs) in ids {
        album = albums::mark(&lib, &album, id, belongs)?;
    }
    lib.put_album(album.clone())?;
    library::remember_albums(&lib)?;
    let after = albums::members(&lib, &album, album.threshold)?;
    let entered = after.iter().filter(|(id, _)| !before.contains(id)).count();
    let stayed = after.len() - entered;
    let left = before.len() - stayed;
    let view = AlbumView::new(&lib, &album)?;
    if args.json {
        let out = serde_json::json!({
            "album": view, "entered": entered, "left": left,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let yes = album.marks.iter().filter(|m| m.yes).count();
    println!(
        "album {}: {} images ({entered} entered, {left} left); learns from {yes} yes and {} no",
        view.name,
        view.count,
        album.marks.len() - yes
    );
    Ok(())
}

fn rm(args: RmArgs) -> anyhow::Result<()> {
    let loc = args.library.location()?;
    let mut lib = library::open_existing_to_write(&loc)?;
    if !lib.remove_album(&args.name)? {
        lib.album(&args.name)?; // the error listing the albums there are
    }
    library::remember_albums(&lib)?;
    println!("removed album {} (its images are untouched)", args.name);
    Ok(())
}
