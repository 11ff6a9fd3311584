//! `scry model`: fetch the model ahead of time, or show what is loaded.

use clap::Subcommand;
use serde_json::json;

use super::ModelArgs;

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download the model into the Hugging Face cache (needs network access once).
    Fetch(ModelArgs),
    /// Load the model and describe it.
    Info(ModelArgs),
}

pub fn run(cmd: ModelCommand) -> anyhow::Result<()> {
    match cmd {
        ModelCommand::Fetch(args) => {
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
