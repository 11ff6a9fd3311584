//! `scry dupes`: duplicate groups in three tiers, with a suggested keeper.
//! Lists only: nothing is ever deleted or moved.

use scry::dupes::{DupeOptions, Tier};

use super::library::{self, LibraryArgs};
use crate::views::DupeGroupView;

#[derive(Debug, clap::Args)]
pub struct DupesArgs {
    /// Only this tier: exact (same bytes), near (same picture re-encoded, resized,
    /// cropped or with other metadata), similar (bursts and retakes).
    #[arg(long, value_name = "exact|near|similar")]
    tier: Option<Tier>,
    /// Near: most perceptual-hash bits (of 64) that may differ.
    #[arg(long, default_value_t = DupeOptions::default().near_max_bits, value_parser = clap::value_parser!(u32).range(0..=32))]
    near_bits: u32,
    /// Similar: capture times (EXIF) at most this many seconds apart.
    #[arg(long, default_value_t = DupeOptions::default().similar_within_secs, value_name = "SECONDS")]
    similar_within: i64,
    /// Similar: lowest CLIP cosine between two shots.
    #[arg(long, default_value_t = DupeOptions::default().similar_min_cosine, value_name = "COSINE", allow_hyphen_values = true)]
    similar_cosine: f32,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    library: LibraryArgs,
}

pub fn run(args: DupesArgs) -> anyhow::Result<()> {
    if !(-1.0..=1.0).contains(&args.similar_cosine) {
        anyhow::bail!(
            "--similar-cosine must be between -1 and 1, got {}",
            args.similar_cosine
        );
    }
    if args.similar_within < 0 {
        anyhow::bail!("--similar-within must be ≥ 0 seconds");
    }
    let loc = args.library.location()?;
    let lib = library::open_existing(&loc)?;
    let opts = DupeOptions {
        near_max_bits: args.near_bits,
        similar_within_secs: args.similar_within,
        similar_min_cosine: args.similar_cosine,
        ..DupeOptions::default()
    };
    let groups: Vec<DupeGroupView> = scry::dupes::find(&lib, args.tier, &opts)?
        .iter()
        .map(|g| DupeGroupView::new(&lib, g))
        .collect::<scry::Result<_>>()?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "groups": groups }))?
        );
        return Ok(());
    }
    if groups.is_empty() {
        eprintln!(
            "no duplicates{}",
            args.tier.map(|t| format!(" ({t})")).unwrap_or_default()
        );
        return Ok(());
    }
    let mut tier = String::new();
    for g in &groups {
        if g.tier != tier {
            tier = g.tier.clone();
            let n = groups.iter().filter(|x| x.tier == tier).count();
            println!(
                "{tier}: {n} group{} ({})",
                if n == 1 { "" } else { "s" },
                match tier.as_str() {
                    "exact" => "same bytes",
                    "near" => "same picture, re-encoded, resized, cropped or re-tagged",
                    _ => "bursts and retakes: different shots, keep the best",
                }
            );
        }
        println!();
        for m in &g.members {
            let date = m.image.date.as_deref().map(|d| &d[..10]).unwrap_or("");
            let how = if m.keeper {
                "keep ".to_string()
            } else {
                format!("{:.3}", m.cosine)
            };
            println!(
                "  {how:>5}  {:>11}  {date:<10}  {}",
                format!("{}×{}", m.image.width, m.image.height),
                m.image.path
            );
        }
    }
    println!();
    println!("nothing was deleted: the first of each group is the suggested keeper");
    Ok(())
}
