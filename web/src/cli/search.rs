//! `scry search`: find images from the terminal.

use std::path::PathBuf;

use anyhow::Context;
use scry::query::{parse_query, Filters, SearchRequest, Term, TextCache, Weighted};
use serde_json::json;

use super::library::{self, LibraryArgs};
use super::ModelArgs;
use crate::views::HitView;

fn date_arg(s: &str) -> Result<i64, String> {
    scry::dates::parse_date(s)
        .ok_or_else(|| format!("{s:?} is not a date: use YYYY-MM-DD (or YYYY-MM, YYYY)"))
}

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// What to look for: text, with optional algebra: "2:golden retriever" + ./pool.jpg - water
    #[arg(default_value = "")]
    query: String,
    /// Search by an image file (repeatable).
    #[arg(long = "image", value_name = "PATH")]
    images: Vec<PathBuf>,
    /// More like this indexed image (repeatable).
    #[arg(long = "like", value_name = "PATH")]
    like: Vec<PathBuf>,
    /// With --like of a video: more like its frame at this moment (seconds, or
    /// M:SS as `scry search` prints a video's time).
    #[arg(long = "at", value_name = "TIME", requires = "like", value_parser = parse_clock)]
    at: Option<f64>,
    /// Number of results.
    #[arg(short = 'k', long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=scry::query::MAX_K as i64))]
    k: u32,
    /// Skip this many results (pagination).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=scry::query::MAX_OFFSET as i64))]
    offset: u32,
    /// Only images under this folder.
    #[arg(long = "in", value_name = "DIR")]
    folder: Option<PathBuf>,
    /// Taken on or after this date (YYYY-MM-DD).
    #[arg(long, value_parser = date_arg, value_name = "DATE")]
    after: Option<i64>,
    /// Taken before this date (YYYY-MM-DD).
    #[arg(long, value_parser = date_arg, value_name = "DATE")]
    before: Option<i64>,
    /// Camera make or model contains this.
    #[arg(long)]
    camera: Option<String>,
    /// Only this format (jpeg, png, webp, gif, bmp, tiff).
    #[arg(long)]
    format: Option<String>,
    /// Shorter side at least this many pixels.
    #[arg(long, value_name = "PIXELS")]
    min_size: Option<u32>,
    /// Only photos taken near this place (EXIF GPS): a town or city ("Lisbon",
    /// "Paris, Texas"), a region or country, or coordinates ("38.72,-9.14").
    /// Also `place:NAME` or "… in CITY" in the query.
    #[arg(long, value_name = "PLACE")]
    near: Option<String>,
    /// How far from --near, in km (default: by the town's size, 5 to 40 km; 10
    /// km around coordinates).
    #[arg(long, value_name = "KM", requires = "near")]
    radius: Option<f64>,
    /// Drop results below a relevance threshold adapted to this query.
    #[arg(long)]
    cutoff: bool,
    /// JSON output.
    #[arg(long, conflicts_with = "paths")]
    json: bool,
    /// Show each result's thumbnail in the terminal (kitty, iTerm2, WezTerm,
    /// Ghostty, sixel terminals such as foot; nothing elsewhere; SCRY_PREVIEW=
    /// kitty|iterm|sixel|none overrides the detection).
    #[arg(long, conflicts_with_all = ["json", "paths"])]
    preview: bool,
    /// One path per line (for pipes).
    #[arg(long)]
    paths: bool,
    /// Read no dates out of the query ("last summer", "March 2019", "2019-06"
    /// are otherwise filters, and said on stderr).
    #[arg(long)]
    literal: bool,
    /// A phrase to leave as text although it reads as a date (repeatable):
    /// `--keep march` for "the march of the penguins".
    #[arg(long, value_name = "PHRASE")]
    keep: Vec<String>,
    /// Only images of this smart album (also `album:NAME` in the query); alone,
    /// lists the album best match first.
    #[arg(long, value_name = "NAME")]
    album: Option<String>,
    /// Only images with this auto-tag (also `tag:NAME` in the query;
    /// repeatable: every one); alone, lists the tag's images, best first.
    #[arg(long = "tag", value_name = "NAME")]
    tags: Vec<String>,
    #[command(flatten)]
    library: LibraryArgs,
    #[command(flatten)]
    model: ModelArgs,
}

pub fn run(args: SearchArgs) -> anyhow::Result<()> {
    let (query, inline_album) = scry::query::take_album(&args.query);
    let album = inline_album.or_else(|| args.album.clone());
    // A place and dates typed into the query become filters; the rest is the query.
    let near = match &args.near {
        Some(spec) => Some(
            scry::places::near(spec, args.radius)
                .map_err(|e| anyhow::anyhow!("--near {spec}: {e}"))?,
        ),
        None => None,
    };
    let reading = scry::query::read(
        &query,
        scry::query::when::today_local(),
        &args.keep,
        args.literal,
        !args.images.is_empty() || !args.like.is_empty(),
        scry::query::Given {
            after: args.after,
            before: args.before,
            near,
        },
    )?;
    let (query, chips) = (reading.text, reading.chips);
    let mut tags = reading.tags.clone();
    for t in &args.tags {
        let (_, named) = scry::query::take_tags(&format!("tag:{t}")).context("--tag")?;
        for k in named {
            if !tags.contains(&k) {
                tags.push(k);
            }
        }
    }
    if !args.json && !args.paths {
        for c in &chips {
            eprintln!(
                "understood {:?} as {} (--keep {:?} or --literal to search it as text)",
                c.text, c.label, c.text
            );
        }
    }
    let mut terms = parse_query(&query)?;
    for p in &args.images {
        std::fs::metadata(p).with_context(|| p.display().to_string())?;
        terms.push(Weighted {
            term: Term::ImageFile(p.clone()),
            weight: 1.0,
        });
    }
    let loc = args.library.location()?;
    let lib = library::open_to_search(&loc)?;
    for p in &args.like {
        let c = std::fs::canonicalize(p).with_context(|| p.display().to_string())?;
        let id = lib.id_for_path(&c)?.with_context(|| {
            format!(
                "{}: not in the library (index it, or search with --image)",
                p.display()
            )
        })?;
        terms.push(Weighted {
            term: match args.at {
                Some(at) => Term::LikeFrame(id, at),
                None => Term::Like(id),
            },
            weight: 1.0,
        });
    }
    if terms.is_empty() && album.is_none() && tags.is_empty() {
        anyhow::bail!(
            "nothing to search for: give a text, --image PATH, --like PATH, --album NAME or --tag NAME"
        );
    }
    let model = args.model.load()?;
    lib.check_model(model.id())?;
    let cache = TextCache::new(8);
    if !tags.is_empty() {
        // The vocabulary is encoded once per model: say so while it is.
        super::tags::warm(&cache.tags, &lib, &model, args.json || args.paths)?;
    }
    let folder = match &args.folder {
        Some(f) => Some(std::fs::canonicalize(f).with_context(|| format!("--in {}", f.display()))?),
        None => None,
    };
    let req = SearchRequest {
        terms,
        filters: Filters {
            folder,
            after: reading.after,
            before: reading.before,
            camera: args.camera.clone(),
            format: args.format.clone(),
            min_size: args.min_size,
            place: reading.place.map(|f| f.place),
            text: reading.in_text.clone(),
            album,
            tags,
            // The command line reads the library's files: it sees them all.
            within: None,
        },
        k: args.k as usize,
        offset: args.offset as usize,
        cutoff: args.cutoff,
    };
    let result = scry::query::search(&lib, &model, &cache, &req)?;
    let hits: Vec<HitView> = result.hits.iter().map(HitView::new).collect();
    if args.json {
        let understood: Vec<_> = chips
            .iter()
            .map(|c| json!({"kind": c.kind, "text": c.text, "label": c.label, "after": c.after, "before": c.before}))
            .collect();
        let out = json!({"query": args.query, "understood": understood, "hits": hits, "has_more": result.has_more, "offset": args.offset, "k": args.k});
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if args.paths {
        for h in &hits {
            println!("{}", h.path);
        }
    } else if hits.is_empty() {
        eprintln!("no matches");
    } else {
        let preview = if args.preview {
            super::preview::detect()
        } else {
            None
        };
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        use std::io::Write;
        writeln!(out, "{:>6}  {:<10}  path", "score", "date")?;
        for h in &hits {
            let date = h.date.as_deref().map(|d| &d[..10]).unwrap_or("");
            let place = h
                .place
                .as_ref()
                .map(|p| format!("  ({})", p.label))
                .unwrap_or_default();
            // A video: where in it the best frame is.
            let at = h
                .time
                .map(|t| format!("  at {}", clock(t)))
                .unwrap_or_default();
            writeln!(out, "{:>6.3}  {date:<10}  {}{at}{place}", h.score, h.path)?;
            if let Some(protocol) = preview {
                if let Some(jpeg) = lib.thumbnail(h.id)? {
                    super::preview::show(&mut out, protocol, &jpeg)?;
                }
            }
        }
        if result.has_more {
            writeln!(out, "… more with --offset {}", args.offset + args.k)?;
        }
    }
    Ok(())
}

/// "24", "24.5", "0:24" or "1:02:05" → seconds.
fn parse_clock(s: &str) -> Result<f64, String> {
    let mut total = 0.0;
    for (i, part) in s.trim().split(':').enumerate() {
        let v: f64 = part
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0 && (i == 0 || *v < 60.0))
            .ok_or_else(|| format!("{s:?}: expected seconds (24.5) or M:SS (0:24)"))?;
        if i > 2 {
            return Err(format!("{s:?}: expected seconds (24.5) or M:SS (0:24)"));
        }
        total = total * 60.0 + v;
    }
    Ok(total)
}

/// Seconds as a video player shows them: "0:24", "1:02:05".
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod clock_tests {
    #[test]
    fn times_read_as_a_player_shows_them() {
        assert_eq!(super::clock(24.0), "0:24");
        assert_eq!(super::clock(62.4), "1:02");
        assert_eq!(super::clock(3725.0), "1:02:05");
        assert_eq!(super::parse_clock("0:24"), Ok(24.0));
        assert_eq!(super::parse_clock("24.5"), Ok(24.5));
        assert_eq!(super::parse_clock("1:02:05"), Ok(3725.0));
        assert!(super::parse_clock("1:75").is_err());
        assert!(super::parse_clock("soon").is_err());
    }
}
