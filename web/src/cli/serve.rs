//! `scry serve`: the web UI and JSON API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use actix_web::{web, App, HttpServer};
use anyhow::Context;

use super::library::{self, LibraryArgs, Settings};
use super::ModelArgs;
use crate::auth::{AccessToken, Auth, ProxyTrust};
use crate::server::{configure, security_headers, AppState};

/// How long a client may take to send a request's head (408 after that).
pub const REQUEST_HEAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Shortest access token accepted.
const MIN_TOKEN_CHARS: usize = 16;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Folders to index (incrementally) while serving.
    dirs: Vec<PathBuf>,
    /// Address to listen on. Anything but loopback (127.0.0.1, ::1) requires
    /// users (`scry user add`), --token or --trust-proxy-header.
    #[arg(long, default_value = "127.0.0.1:7878", env = "SCRY_BIND")]
    bind: SocketAddr,
    /// An admin access token for the whole server (at least 16 characters; e.g.
    /// `openssl rand -hex 16`). Users have their own (`scry user add`).
    #[arg(long, env = "SCRY_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Keep the library current while serving: index its folders, then watch them
    /// and index new, edited, moved and deleted images as they change.
    #[arg(long)]
    watch: bool,
    /// With --watch: how often to rescan folders whose changes cannot be watched
    /// (network shares, too many folders for the system's watch limit).
    #[arg(long, value_name = "SECONDS", default_value_t = 600, requires = "watch",
          value_parser = clap::value_parser!(u64).range(1..))]
    rescan_every: u64,
    /// Trust this header, set by a signing-in reverse proxy (oauth2-proxy,
    /// Authelia, Authentik, Pomerium), to name the user, e.g. X-Forwarded-User.
    /// Accepted only from --trust-proxy-from; refused from anywhere else.
    #[arg(long, value_name = "HEADER", requires = "trust_proxy_from")]
    trust_proxy_header: Option<String>,
    /// With --trust-proxy-header: the proxy's address (repeatable).
    #[arg(long, value_name = "IP", requires = "trust_proxy_header")]
    trust_proxy_from: Vec<std::net::IpAddr>,
    /// With --trust-proxy-header: the header listing the user's groups
    /// (comma-separated), e.g. X-Forwarded-Groups; each maps to the scry group
    /// of that name.
    #[arg(long, value_name = "HEADER", requires = "trust_proxy_header")]
    trust_proxy_groups_header: Option<String>,
    #[command(flatten)]
    library: LibraryArgs,
    #[command(flatten)]
    model: ModelArgs,
}

fn header_name(flag: &str, v: &str) -> anyhow::Result<actix_web::http::header::HeaderName> {
    actix_web::http::header::HeaderName::from_bytes(v.trim().as_bytes())
        .map_err(|_| anyhow::anyhow!("{flag} {v:?}: not a header name"))
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    if let Some(token) = &args.token {
        if token.chars().count() < MIN_TOKEN_CHARS || token.chars().any(|c| !c.is_ascii_graphic()) {
            anyhow::bail!(
                "--token: use at least {MIN_TOKEN_CHARS} printable ASCII characters without spaces \
                 (e.g. the output of `openssl rand -hex 16`)"
            );
        }
    }
    let proxy = match &args.trust_proxy_header {
        None => None,
        Some(h) => Some(ProxyTrust {
            user_header: header_name("--trust-proxy-header", h)?,
            groups_header: args
                .trust_proxy_groups_header
                .as_deref()
                .map(|g| header_name("--trust-proxy-groups-header", g))
                .transpose()?,
            from: args.trust_proxy_from.clone(),
        }),
    };
    let loc = args.library.location()?;
    let mut settings = Settings::load_at(&loc)?;
    let to_index = settings.add_dirs(&args.dirs)?;
    if args.watch && settings.roots.is_empty() {
        anyhow::bail!(
            "--watch: the library has no folders to watch: pass them, e.g. `scry serve --watch ~/Pictures`"
        );
    }
    // --watch indexes the roots first (changes made while nothing watched).
    let writes = !to_index.is_empty() || args.watch;
    // The model is loaded once, both towers before the first query.
    let loading = std::time::Instant::now();
    let model = Arc::new(args.model.load()?);
    model.load_towers()?;
    let load_time = loading.elapsed();
    // Serving alone only reads: a read-only or full library is served from a copy.
    let library = Arc::new(RwLock::new(if writes {
        library::open(&loc)?
    } else {
        library::open_for_reading(&loc)?
    }));
    {
        let lib = library
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !lib.is_empty()? {
            lib.check_model(model.id())?;
        }
    }
    if writes {
        settings.model = Some(model.id().to_string());
        settings.save_at(&loc)?;
    }
    let users = library
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .access()?
        .users
        .len();
    if !args.bind.ip().is_loopback() && args.token.is_none() && users == 0 && proxy.is_none() {
        anyhow::bail!(
            "--bind {}: other machines could reach this address; add users first \
             (`scry user add NAME --root DIR`), or set an admin token with --token or \
             SCRY_TOKEN (e.g. `openssl rand -hex 16`)",
            args.bind
        );
    }
    // The library's own folder, when it sits inside a root: its writes are not
    // changes to index.
    let own: Vec<std::path::PathBuf> = match &loc {
        scry::home::Location::Folder(dir) => vec![dir.clone()],
        scry::home::Location::Qdrant(_) => Vec::new(),
    };
    let mut state = AppState::new(library, model);
    state.auth = Auth::new(args.token.as_deref().map(AccessToken::new), proxy);
    state.metrics.model_loaded(load_time);
    let state = web::Data::new(state);
    if writes {
        state.indexing.running.store(true, Ordering::Relaxed);
        let shared = state.clone().into_inner();
        let roots = settings.roots.clone();
        let watch = args.watch.then(|| scry_indexer::WatchOptions {
            rescan_every: std::time::Duration::from_secs(args.rescan_every),
            ..Default::default()
        });
        std::thread::Builder::new()
            .name("scry-indexer".into())
            .spawn(move || {
                // Watching starts before the first run: what changes during it
                // is queued, not missed.
                let watcher =
                    watch.as_ref().and_then(|opts| {
                        match scry_indexer::FolderWatcher::new(&roots, &own, opts) {
                            Ok(w) => Some(w),
                            Err(e) => {
                                eprintln!("error: cannot watch the library's folders: {e}");
                                None
                            }
                        }
                    });
                // The same lock as /api/rescan's: one run at a time.
                match shared.index_now(&roots) {
                    Ok(s) => eprintln!(
                        "indexed: {} new, {} changed, {} removed, {} failed; {} images",
                        s.new, s.changed, s.removed, s.failed, s.total
                    ),
                    Err(e) => eprintln!("error: indexing stopped: {e}"),
                }
                if let Some(watcher) = watcher {
                    watch_while_serving(&shared, watcher);
                }
            })?;
    }
    let images = state.read().len()?;
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
            // The sign-in address carries the token: shown on a terminal only,
            // never written into a service's log.
            Some(token) if std::io::IsTerminal::is_terminal(&std::io::stdout()) => {
                println!("scry: serving {images} images at http://{addr}/?token={token}")
            }
            Some(_) => println!(
                "scry: serving {images} images at http://{addr}/: open /?token=<your --token> \
                 once to sign in"
            ),
            None if users > 0 => println!(
                "scry: serving {images} images at http://{addr}/ for {users} user(s): sign in \
                 with your token"
            ),
            None => println!("scry: serving {images} images at http://{addr}/"),
        }
    }
    use std::io::Write;
    std::io::stdout().flush().ok();
    actix_web::rt::System::new().block_on(server.run())?;
    Ok(())
}

/// `serve --watch`: re-indexes what changes, one run at a time with the API's
/// rescans, for as long as the server runs.
fn watch_while_serving(state: &AppState, watcher: scry_indexer::FolderWatcher) {
    let stop = AtomicBool::new(false);
    eprintln!(
        "watching {} folder(s) for changes",
        watcher.watched().len() + watcher.rescanned().len()
    );
    let watched = watcher.run(&stop, |folders, _| match state.index_now(folders) {
        Ok(s) => {
            if let Some(line) = super::index::batch_line(&s) {
                eprintln!("watch: {line}");
            }
        }
        Err(e) => eprintln!("error: indexing the changes stopped: {e}"),
    });
    if let Err(e) = watched {
        eprintln!("error: watching stopped: {e}");
    }
}
