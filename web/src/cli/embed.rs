//! `scry embed`: embeddings as JSON, for pipelines and for checking parity from
//! outside.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;

use super::ModelArgs;

#[derive(Debug, clap::Args)]
pub struct EmbedArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Image file to embed (repeatable).
    #[arg(long = "image", value_name = "PATH")]
    images: Vec<PathBuf>,
    /// Text to embed (repeatable). An empty text is valid.
    #[arg(long = "text", value_name = "TEXT")]
    texts: Vec<String>,
    /// Images per forward pass.
    #[arg(long, default_value_t = scry::model::DEFAULT_BATCH_SIZE as u32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    batch_size: u32,
    /// Indent the JSON.
    #[arg(long)]
    pretty: bool,
}

#[derive(Serialize)]
struct Output<'a> {
    model: &'a str,
    /// The text model the texts went through (`--text-model`).
    #[serde(skip_serializing_if = "Option::is_none")]
    text_model: Option<&'a str>,
    dim: usize,
    images: Vec<Item>,
    texts: Vec<Item>,
}

#[derive(Serialize)]
struct Item {
    input: String,
    embedding: Vec<f32>,
}

pub fn run(args: EmbedArgs) -> anyhow::Result<()> {
    if args.images.is_empty() && args.texts.is_empty() {
        anyhow::bail!("nothing to embed: pass --image PATH and/or --text TEXT");
    }
    // Fail on a missing file before spending seconds loading the model.
    for path in &args.images {
        std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    }
    let model = args.model.load()?;
    let mut images = Vec::with_capacity(args.images.len());
    let embedded = model.embed_image_files(&args.images, args.batch_size as usize)?;
    for (path, result) in args.images.iter().zip(embedded) {
        images.push(Item {
            input: path.display().to_string(),
            embedding: result?,
        });
    }
    let texts = model
        .embed_texts(&args.texts)?
        .into_iter()
        .zip(&args.texts)
        .map(|(embedding, t)| Item {
            input: t.clone(),
            embedding,
        })
        .collect();
    let out = Output {
        model: model.id(),
        text_model: model.text_model().map(|t| t.id()),
        dim: model.dim(),
        images,
        texts,
    };
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    if args.pretty {
        serde_json::to_writer_pretty(&mut lock, &out)?;
    } else {
        serde_json::to_writer(&mut lock, &out)?;
    }
    writeln!(lock)?;
    Ok(())
}
