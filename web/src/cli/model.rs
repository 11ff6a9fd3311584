//! `scry model`: fetch the model ahead of time, or show what is loaded.

use clap::Subcommand;
use serde_json::json;

use super::ModelArgs;

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download a model into the Hugging Face cache (needs network access once):
    /// `scry model fetch ID` (an image model, or a text model of the catalogue),
    /// or the --model (and --text-model) given.
    Fetch {
        /// A repo id from `scry model list` (or any CLIP repo in Hugging Face layout).
        id: Option<String>,
        #[command(flatten)]
        args: ModelArgs,
    },
    /// Load the model and describe it.
    Info(ModelArgs),
    /// The models known to work: family, embedding size, languages, image size,
    /// measured speed, licence.
    List {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: ModelCommand) -> anyhow::Result<()> {
    match cmd {
        ModelCommand::List { json } => list(json)?,
        ModelCommand::Fetch { id, mut args } => {
            if let Some(id) = id {
                // A catalogued text tower is fetched as one; anything else as a CLIP model.
                if scry::model::catalogue::image_models_of(&id).is_some() {
                    let spec = scry::ModelSpec::parse(&id);
                    let tower = scry::model::SentenceTower::open(&spec, true)?;
                    println!("{}", tower.dir().display());
                    return Ok(());
                }
                args.model = id;
            }
            let spec = scry::ModelSpec::parse(&args.model);
            let dir = scry::model::hub::resolve(&spec, true)?;
            // Loading proves the download is a usable CLIP model, not just files.
            scry::ClipModel::load_dir(&dir)?;
            println!("{}", dir.display());
            if let Some(text) = &args.text_model {
                let tower = scry::model::SentenceTower::open(&scry::ModelSpec::parse(text), true)?;
                println!("{}", tower.dir().display());
            }
        }
        ModelCommand::Info(args) => {
            let model = args.load()?;
            let c = model.config();
            let info = json!({
                "model": model.id(),
                "dir": model.dir(),
                "dim": model.dim(),
                "family": model.family().name(),
                "image_size": c.vision.image_size,
                "patch_size": c.vision.patch_size,
                "vision": {"hidden": c.vision.hidden_size, "layers": c.vision.num_hidden_layers, "heads": c.vision.num_attention_heads},
                "text": {"hidden": c.text.hidden_size, "layers": c.text.num_hidden_layers, "heads": c.text.num_attention_heads, "context": c.text.max_position_embeddings},
                "text_model": model.text_model().map(|t| json!({"id": t.id(), "dir": t.dir(), "dim": t.dim(), "max_tokens": t.max_len()})),
            });
            println!("{}", serde_json::to_string_pretty(&info)?);
        }
    }
    Ok(())
}

fn list(as_json: bool) -> anyhow::Result<()> {
    use scry::model::catalogue::{Role, CATALOGUE};
    if as_json {
        let rows: Vec<_> = CATALOGUE
            .iter()
            .map(|e| {
                json!({
                    "id": e.id,
                    "family": e.family,
                    "role": match e.role { Role::ImageAndText => "image+text", Role::TextFor(_) => "text" },
                    "text_for": match e.role { Role::TextFor(i) => i.to_vec(), Role::ImageAndText => vec![] },
                    "dim": e.dim,
                    "image_size": e.image_size,
                    "languages": e.languages,
                    "licence": e.licence,
                    "images_per_s": e.images_per_s,
                    "torch_images_per_s": e.torch_images_per_s,
                    "text_ms": e.text_ms,
                    "torch_text_ms": e.torch_text_ms,
                    "default": e.id == scry::model::DEFAULT_MODEL,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let speed = |ours: Option<f64>, theirs: Option<f64>, unit: &str| match (ours, theirs) {
        (Some(a), Some(b)) => format!("{a:.1}{unit} ({b:.1})"),
        (Some(a), None) => format!("{a:.1}{unit}"),
        _ => "-".to_string(),
    };
    let rows: Vec<[String; 8]> = CATALOGUE
        .iter()
        .map(|e| {
            let mut id = e.id.to_string();
            if e.id == scry::model::DEFAULT_MODEL {
                id.push_str(" (default)");
            }
            let family = match e.role {
                Role::ImageAndText => e.family.to_string(),
                Role::TextFor(i) => format!("text for {}", i[0].rsplit('/').next().unwrap_or(i[0])),
            };
            [
                id,
                family,
                e.dim.to_string(),
                e.image_size.map_or("-".into(), |s| s.to_string()),
                e.languages.to_string(),
                speed(e.images_per_s, e.torch_images_per_s, ""),
                speed(e.text_ms, e.torch_text_ms, " ms"),
                e.licence.to_string(),
            ]
        })
        .collect();
    let head = [
        "model",
        "family",
        "dim",
        "image",
        "languages",
        "images/s",
        "text query",
        "licence",
    ];
    let mut width: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&width)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    println!("{}", line(head.to_vec()));
    for r in &rows {
        println!("{}", line(r.iter().map(String::as_str).collect()));
    }
    println!(
        "\nSpeeds: 2-core Sapphire Rapids VM, f32, full-size random weights, batch 8; PyTorch's \
         in the same run in brackets; - not measured yet.\nFetch one with `scry model fetch ID`; use a text model with \
         --text-model ID (no re-indexing)."
    );
    Ok(())
}
