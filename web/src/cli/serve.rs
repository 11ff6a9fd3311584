//! `scry serve`: the web UI and JSON API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};

use actix_web::{web, App, HttpServer};
use anyhow::Context;

use super::library::{self, LibraryArgs, Settings};
use super::ModelArgs;
use crate::server::{configure, security_headers, AccessToken, AppState, IndexingState};

/// How long a client may take to send a request's head (408 after that).
pub const REQUEST_HEAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Shortest access token accepted.
const MIN_TOKEN_CHARS: usize = 16;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Folders to index (incrementally) while serving.
    dirs: Vec<PathBuf>,
    /// Address to listen on. Anything but loopback (127.0.0.1, ::1) requires --token.
    #[arg(long, default_value = "127.0.0.1:7878", env = "SCRY_BIND")]
    bind: SocketAddr,
    /// Access token required on every API and image request (at least 16
    /// characters; e.g. `openssl rand -hex 16`). Required to bind beyond loopback.
    #[arg(long, env = "SCRY_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[command(flatten)]
    library: LibraryArgs,
    #[command(flatten)]
    model: ModelArgs,
}

/// Feeds the indexer's progress into /api/status.
struct StatusProgress(Arc<IndexingState>);

impl scry_indexer::Progress for StatusProgress {
    fn start(&self, total: usize) {
        self.0.total.store(total, Ordering::Relaxed);
        self.0.done.store(0, Ordering::Relaxed);
    }
    fn advance(&self, n: usize) {
        self.0.done.fetch_add(n, Ordering::Relaxed);
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    if let Some(token) = &args.token {
        if token.chars().count() < MIN_TOKEN_CHARS || token.chars().any(|c| !c.is_ascii_graphic()) {
            anyhow::bail!(
                "--token: use at least {MIN_TOKEN_CHARS} printable ASCII characters without spaces \
                 (e.g. the output of `openssl rand -hex 16`)"
            );
        }
    } else if !args.bind.ip().is_loopback() {
        anyhow::bail!(
            "--bind {}: other machines could reach this address; set an access token with \
             --token or SCRY_TOKEN (e.g. `openssl rand -hex 16`)",
            args.bind
        );
    }
    let dir = args.library.dir()?;
    let mut settings = Settings::load(&dir);
    let to_index = settings.add_dirs(&args.dirs)?;
    // The model is loaded once, before the first query.
    let model = Arc::new(args.model.load()?);
    // Serving alone only reads: a read-only or full library is served from a copy.
    let library = Arc::new(RwLock::new(if to_index.is_empty() {
        library::open_for_reading(&dir)?
    } else {
        library::open(&dir)?
    }));
    {
        let lib = library
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !lib.is_empty() {
            lib.check_model(model.id())?;
        }
    }
    if !to_index.is_empty() {
        settings.model = Some(model.id().to_string());
        settings.save(&dir)?;
    }
    let mut state = AppState::new(library.clone(), model.clone());
    state.token = args.token.as_deref().map(AccessToken::new);
    let state = web::Data::new(state);
    if !to_index.is_empty() {
        let indexing = state.indexing.clone();
        indexing.running.store(true, Ordering::Relaxed);
        let roots = settings.roots.clone();
        std::thread::Builder::new()
            .name("scry-indexer".into())
            .spawn(move || {
                let progress = StatusProgress(indexing.clone());
                let opts = scry_indexer::IndexOptions::default();
                match scry_indexer::index(&library, &model, &roots, &opts, &progress) {
                    Ok(s) => eprintln!(
                        "indexed: {} new, {} changed, {} removed, {} failed; {} images",
                        s.new, s.changed, s.removed, s.failed, s.total
                    ),
                    Err(e) => eprintln!("error: indexing stopped: {e}"),
                }
                indexing.running.store(false, Ordering::Relaxed);
            })?;
    }
    let images = state.read().len();
    let data = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(security_headers())
            .configure(configure)
    })
    // Slow or stalled clients cannot hold connections: a request's head must
    // arrive within REQUEST_HEAD_TIMEOUT, idle keep-alive connections close.
    .client_request_timeout(REQUEST_HEAD_TIMEOUT)
    .client_disconnect_timeout(std::time::Duration::from_secs(2))
    .keep_alive(std::time::Duration::from_secs(15))
    .bind(args.bind)
    .with_context(|| format!("cannot listen on {}", args.bind))?;
    for addr in server.addrs() {
        match &args.token {
            Some(token) => {
                println!("scry: serving {images} images at http://{addr}/?token={token}")
            }
            None => println!("scry: serving {images} images at http://{addr}/"),
        }
    }
    use std::io::Write;
    std::io::stdout().flush().ok();
    actix_web::rt::System::new().block_on(server.run())?;
    Ok(())
}
