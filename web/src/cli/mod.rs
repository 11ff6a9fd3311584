//! The `scry` command: argument parsing, logging set-up, error reporting.
//!
//! Errors are printed once, as one line holding the whole chain
//! (`error: what failed: why`), with exit code 1; bad arguments exit with 2.

mod album;
mod dupes;
mod embed;
mod export;
mod index;
pub mod library;
mod model;
mod preview;
mod search;
mod serve;
mod status;
mod tags;
mod user;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Semantic image search: find photos by what you remember of them.
#[derive(Debug, Parser)]
#[command(name = "scry", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Options shared by every command that needs the CLIP model.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArgs {
    /// CLIP model: a folder in Hugging Face layout (config.json, model.safetensors,
    /// tokenizer.json) or a Hugging Face repo id, optionally with @revision.
    #[arg(long, env = "SCRY_MODEL", default_value = scry::model::DEFAULT_MODEL, value_name = "DIR|REPO")]
    pub model: String,
    /// Image encoder arithmetic: f32 (exact); bf16 (about 1.7-2x faster image
    /// encoding on CPUs with AVX-512 BF16); or int8 (int8 weights per channel and
    /// inputs per token, on AMX-INT8, AVX-512 VNNI or AVX-VNNI). Both opt-in
    /// modes keep embeddings at cosine >= 0.999 to f32's.
    #[arg(
        long,
        env = "SCRY_PRECISION",
        default_value = "f32",
        value_name = "f32|bf16|int8"
    )]
    pub precision: scry::Precision,
    /// A text model trained into the image model's space, for queries in other
    /// languages without re-indexing: a sentence-transformers folder or hub repo
    /// (e.g. sentence-transformers/clip-ViT-B-32-multilingual-v1 for
    /// openai/clip-vit-base-patch32). Every text goes through it.
    #[arg(long, env = "SCRY_TEXT_MODEL", value_name = "DIR|REPO")]
    pub text_model: Option<String>,
}

impl ModelArgs {
    /// Loads the model, fetching it on first use unless `HF_HUB_OFFLINE` is set.
    pub fn load(&self) -> anyhow::Result<scry::ClipModel> {
        let spec = scry::ModelSpec::parse(&self.model);
        let mut model = scry::ClipModel::open(&spec, true)?;
        model.set_precision(self.precision)?;
        match self.precision {
            scry::Precision::F32 => {}
            scry::Precision::Bf16 => tracing::info!(
                "image encoder in bf16 (--precision bf16, {})",
                scry::ClipModel::bf16_kernel().unwrap_or("?")
            ),
            scry::Precision::Int8 => tracing::info!(
                "image encoder in int8 (--precision int8, {})",
                scry::ClipModel::int8_kernel().unwrap_or("?")
            ),
        }
        if let Some(text) = self.text_model.as_deref().filter(|t| !t.is_empty()) {
            let spec = scry::ModelSpec::parse(text);
            // A known mismatch is refused before anything is fetched.
            scry::model::sentence::check_pair(&spec.id(), None, model.id(), model.dim())?;
            let tower = scry::model::SentenceTower::open(&spec, true)?;
            model.set_text_model(std::sync::Arc::new(tower))?;
            tracing::info!("texts encoded by {text} (--text-model)");
        }
        Ok(model)
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Index folders of photos (incremental: only new or changed files are read).
    Index(index::IndexArgs),
    /// Search the library by text, image or example.
    Search(search::SearchArgs),
    /// Serve the web UI and the JSON API.
    Serve(serve::ServeArgs),
    /// Show what the library holds.
    Status(status::StatusArgs),
    /// Print CLIP embeddings (L2-normalised) of images and texts as JSON.
    Embed(embed::EmbedArgs),
    /// Find duplicates in three tiers (exact, near, similar shots); deletes nothing.
    Dupes(dupes::DupesArgs),
    /// Smart albums from prompts: add, list, show, rm.
    #[command(subcommand)]
    Album(album::AlbumCommand),
    /// What the library holds, by zero-shot auto-tags (the CLIP paper's prompt
    /// ensembles over a few hundred everyday categories), or one photo's tags.
    Tags(tags::TagsArgs),
    /// Fetch or inspect the CLIP model.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Users of `scry serve` and the folders each sees: add, list, remove, roots, groups, token.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Groups of users sharing folders (and SSO groups a proxy reports): add, list, remove.
    #[command(subcommand)]
    Group(user::GroupCommand),
    /// Export every image's path, metadata and embedding (JSONL, or .npy + JSONL).
    Export(export::ExportArgs),
    /// Print a shell completion script (e.g. `scry completions bash > /etc/bash_completion.d/scry`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff; `scry man | man -l -`).
    Man,
}

/// Runs the command line and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            // One clear line, exit code 2.
            let text = e.render().to_string();
            eprintln!("{}", text.lines().next().unwrap_or("error: bad arguments"));
            return ExitCode::from(2);
        }
    };
    init_logging();
    let result = match cli.command {
        Command::Index(args) => index::run(args),
        Command::Search(args) => search::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Status(args) => status::run(args),
        Command::Embed(args) => embed::run(args),
        Command::Model(cmd) => model::run(cmd),
        Command::Dupes(args) => dupes::run(args),
        Command::Album(cmd) => album::run(cmd),
        Command::Tags(args) => tags::run(args),
        Command::User(cmd) => user::run_user(cmd),
        Command::Group(cmd) => user::run_group(cmd),
        Command::Export(args) => export::run(args),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "scry", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout())
                .map_err(anyhow::Error::from)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, without repeating a cause that the
/// message above it already quotes.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut out = err.to_string();
    for cause in err.chain().skip(1) {
        let c = cause.to_string();
        if !out.contains(&c) {
            out.push_str(": ");
            out.push_str(&c);
        }
    }
    out
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    // sled and tantivy log their own view of a damaged file before scry's error
    // names it and says what to do: keep only scry's (SCRY_LOG=… shows theirs).
    let filter = EnvFilter::try_from_env("SCRY_LOG")
        .unwrap_or_else(|_| EnvFilter::new("warn,sled=off,tantivy=error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .try_init();
}
