//! `scry status`: what the library holds.

use serde_json::json;

use super::library::{self, LibraryArgs};

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    library: LibraryArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: StatusArgs) -> anyhow::Result<()> {
    let loc = args.library.location()?;
    let lib = library::open_existing(&loc)?;
    let roots: Vec<String> = lib
        .roots()?
        .iter()
        .map(|r| r.display().to_string())
        .collect();
    let last = lib.last_run()?;
    let failures = last
        .as_ref()
        .and_then(|l| l.get("failed").and_then(|f| f.as_u64()))
        .unwrap_or(0);
    let images = lib.len()?;
    let mut info = json!({
        "library": loc.to_string(),
        "images": images,
        "roots": roots,
        "model": lib.model()?,
        "last_run": last,
        "ocr": lib.ocr()?,
        "formats": scry::decode::system::report(),
    });
    if let Some(local) = lib.local() {
        info["keyword_documents"] = local.keyword().len().into();
        info["ann_graph_points"] = local.graph().map(|g| g.points()).into();
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
        return Ok(());
    }
    println!("library: {loc}");
    println!("images:  {images}");
    println!(
        "model:   {}",
        lib.model()?.unwrap_or_else(|| "(none yet)".into())
    );
    println!(
        "roots:   {}",
        if roots.is_empty() {
            "(none)".into()
        } else {
            roots.join(", ")
        }
    );
    match &last {
        Some(l) => {
            let when = l
                .get("finished_at")
                .and_then(|t| t.as_i64())
                .map(scry::dates::format_datetime)
                .unwrap_or_default();
            // A worker's run (`--shard`) covers its share of the files only.
            let of = l
                .get("shard")
                .and_then(|s| s.as_str())
                .map(|s| format!(" (worker {s}, its share only)"))
                .unwrap_or_default();
            println!(
                "last run{of}: {when} UTC: {} new, {} changed, {} removed, {failures} failed",
                l["new"], l["changed"], l["removed"]
            );
            if let Some(groups) = l.get("failures").and_then(|f| f.as_object()) {
                for (kind, list) in groups {
                    println!("  {kind}: {}", list.as_array().map_or(0, |a| a.len()));
                }
            }
        }
        None => println!("last run: never"),
    }
    match lib.ocr()? {
        Some(languages) => println!("text in images: read at indexing ({languages})"),
        None => println!("text in images: not read (scry index --ocr)"),
    }
    println!("formats: {}", scry::decode::system::BUILT_IN);
    for c in scry::decode::system::optional_codecs() {
        match (c.available, &c.version) {
            (true, Some(v)) => println!("  {}: yes ({} {v})", c.formats, c.provider),
            (true, None) => println!("  {}: yes ({})", c.formats, c.provider),
            (false, _) => println!("  {}: no: {}", c.formats, c.install),
        }
    }
    Ok(())
}
