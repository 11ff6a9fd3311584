//! The HTTP server: shared state, the app (built here so `main` and the tests build
//! the same one), security headers, errors as JSON and the embedded UI.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, ResponseError};
use scry::query::TextCache;
use scry::{ClipModel, Library};
use serde::Serialize;

/// Largest accepted upload (phone photos are 3–20 MB).
pub const MAX_UPLOAD_BYTES: usize = 32 * 1024 * 1024;

/// Progress of a background indexing run, for /api/status.
#[derive(Debug, Default)]
pub struct IndexingState {
    pub running: AtomicBool,
    pub done: AtomicUsize,
    pub total: AtomicUsize,
}

/// What every handler shares.
pub struct AppState {
    pub library: Arc<RwLock<Library>>,
    /// The model queries are encoded with: the library's. A library another
    /// process rebuilt with another model (on Qdrant) brings the new one in.
    model: RwLock<Arc<ClipModel>>,
    pub cache: TextCache,
    pub indexing: Arc<IndexingState>,
    /// Held by the indexing run in progress: one run at a time per library (the
    /// initial index of `scry serve`, the watcher, `POST /api/rescan`).
    pub index_lock: Arc<Mutex<()>>,
    /// Who may ask for what ([`crate::auth`]).
    pub auth: crate::auth::Auth,
    /// What `/metrics` reports.
    pub metrics: crate::metrics::Metrics,
}

/// Feeds the indexer's progress into /api/status.
pub struct StatusProgress(pub Arc<IndexingState>);

impl scry_indexer::Progress for StatusProgress {
    fn start(&self, total: usize) {
        self.0.total.store(total, Ordering::Relaxed);
        self.0.done.store(0, Ordering::Relaxed);
    }
    fn advance(&self, n: usize) {
        self.0.done.fetch_add(n, Ordering::Relaxed);
    }
}

/// `GET /?token=…`: a valid token (the server's or a user's) becomes an
/// HttpOnly cookie and the address bar loses it; anything else serves the UI
/// (which then asks to sign in).
async fn index_page(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let offered = req
        .query_string()
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .map(percent_decode);
    if let Some(offered) = offered {
        let ip = crate::auth::peer_ip(&req);
        state.auth.limit(ip)?;
        if state.auth.by_token(&state, &offered).await?.is_some() {
            let https = req.connection_info().scheme() == "https";
            return Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/"))
                .insert_header((
                    header::SET_COOKIE,
                    crate::auth::session_cookie(&offered, https),
                ))
                .finish());
        }
        state.auth.sign_in_failed(ip);
    }
    asset("index.html")
}

/// Decodes %XX escapes (tokens are printable ASCII; anything else stays as is).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl AppState {
    pub fn new(library: Arc<RwLock<Library>>, model: Arc<ClipModel>) -> Self {
        Self {
            library,
            model: RwLock::new(model),
            cache: TextCache::default(),
            indexing: Arc::new(IndexingState::default()),
            index_lock: Arc::new(Mutex::new(())),
            auth: crate::auth::Auth::default(),
            metrics: crate::metrics::Metrics::new(),
        }
    }

    /// The model queries are encoded with now.
    pub fn model(&self) -> Arc<ClipModel> {
        self.model
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The model of the library as it is now. A shared (Qdrant) library can be
    /// rebuilt with another model by another process while this server runs;
    /// then that model is loaded, so no query mixes two models.
    pub fn model_for(&self, lib: &Library) -> scry::Result<Arc<ClipModel>> {
        let current = self.model();
        if lib.dir().is_some() {
            return Ok(current); // a local library is changed by this process only
        }
        match lib.stored_model()? {
            Some(id) if id != current.id() => {
                let mut slot = self
                    .model
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if slot.id() != id {
                    tracing::warn!("the library now uses model {id}: loading it");
                    let mut model = ClipModel::open(&scry::ModelSpec::parse(&id), true)?;
                    model.set_precision(current.precision())?;
                    if let Some(text) = current.text_model() {
                        // Another image space: queries go through the new model's own
                        // text tower rather than failing every search.
                        if let Err(e) = model.set_text_model(text.clone()) {
                            tracing::warn!("--text-model {} is left out: {e}", text.id());
                        }
                    }
                    // Read now, as `serve` does at start: a server answers both kinds of query.
                    model.load_towers()?;
                    *slot = Arc::new(model);
                }
                Ok(slot.clone())
            }
            _ => Ok(current),
        }
    }

    /// A search with the library's model; if the library switched models while
    /// it ran, it is answered again with the new model (never a mix of two).
    pub fn search(
        &self,
        req: &scry::query::SearchRequest,
    ) -> scry::Result<scry::query::SearchResult> {
        let lib = self.read();
        let mut model = self.model_for(&lib)?;
        for _ in 0..3 {
            let result = scry::query::search(&lib, &model, &self.cache, req)?;
            self.metrics.search(&result.timings);
            let now = self.model_for(&lib)?;
            if now.id() == model.id() {
                return Ok(result);
            }
            model = now;
        }
        let result = scry::query::search(&lib, &model, &self.cache, req)?;
        self.metrics.search(&result.timings);
        Ok(result)
    }

    /// Indexes `folders` (all the library's roots when empty), after any run in
    /// progress; /api/status shows it.
    pub fn index_now(&self, folders: &[PathBuf]) -> scry::Result<scry_indexer::Summary> {
        let _one_at_a_time = self
            .index_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.index_locked(folders)
    }

    /// Starts indexing `folders` (all roots when empty) in a background thread,
    /// unless a run is in progress: then returns `false` and starts nothing.
    /// The outcome of the run is logged.
    pub fn start_index(state: &Arc<Self>, folders: Vec<PathBuf>) -> std::io::Result<bool> {
        let (tx, rx) = std::sync::mpsc::channel();
        let state = state.clone();
        std::thread::Builder::new()
            .name("scry-rescan".into())
            .spawn(move || {
                let _one_at_a_time = match state.index_lock.try_lock() {
                    Ok(g) => g,
                    Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                    Err(std::sync::TryLockError::WouldBlock) => {
                        let _ = tx.send(false);
                        return;
                    }
                };
                let _ = tx.send(true);
                match state.index_locked(&folders) {
                    Ok(s) => eprintln!(
                        "rescanned: {} new, {} changed, {} moved, {} removed, {} failed; {} images",
                        s.new, s.changed, s.moved, s.removed, s.failed, s.total
                    ),
                    Err(e) => eprintln!("error: rescan stopped: {e}"),
                }
            })?;
        Ok(rx.recv().unwrap_or(false))
    }

    /// One run; the caller holds `index_lock`.
    fn index_locked(&self, folders: &[PathBuf]) -> scry::Result<scry_indexer::Summary> {
        let folders = if folders.is_empty() {
            self.read().roots()?
        } else {
            folders.to_vec()
        };
        self.indexing.done.store(0, Ordering::Relaxed);
        self.indexing.total.store(0, Ordering::Relaxed);
        self.indexing.running.store(true, Ordering::Relaxed);
        let result = scry_indexer::index(
            &self.library,
            &self.model(),
            &folders,
            &scry_indexer::IndexOptions::default(),
            &StatusProgress(self.indexing.clone()),
        );
        self.indexing.running.store(false, Ordering::Relaxed);
        if let Ok(summary) = &result {
            self.metrics.index_run(summary);
        }
        result
    }

    /// Read access to the library; a panic elsewhere never locks readers out.
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, Library> {
        self.library
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The library to change (may wait for the indexer: call it off the async
    /// workers).
    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, Library> {
        self.library
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn indexing_running(&self) -> bool {
        self.indexing.running.load(Ordering::Relaxed)
    }
}

/// An API error: `{"code", "message"}` with the right status.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"code": "not_found", "message": "no image with id 7"}))]
pub struct ApiError {
    #[serde(skip)]
    #[schema(ignore)]
    pub status: StatusCode,
    /// A stable word for programs (`not_found`, `invalid_parameter`, …).
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: message.into(),
        }
    }
    pub fn unauthorized() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: "sign in: open the address `scry serve` printed (it ends in ?token=…) or \
                      sign in with your token, or send `Authorization: Bearer <token>`"
                .into(),
        }
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status);
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            // The whole window: by then the address may try again.
            r.insert_header((
                actix_web::http::header::RETRY_AFTER,
                crate::auth::FAILURE_WINDOW.as_secs().to_string(),
            ));
        }
        r.json(self)
    }
}

impl From<scry::Error> for ApiError {
    fn from(e: scry::Error) -> Self {
        use scry::Error as E;
        match e {
            E::InvalidArgument(m) => ApiError::bad_request("invalid_query", m),
            E::NotFound(m) => ApiError::not_found(m),
            E::ImageData(m) => ApiError::bad_request(
                "invalid_image",
                format!("the uploaded file is not a usable image: {m}"),
            ),
            E::Image { message, .. } => ApiError::bad_request("invalid_image", message),
            // The library's Qdrant is down or refused: worth a retry, not a bug.
            e @ E::Remote { .. } => {
                tracing::error!("{e}");
                ApiError {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    code: "library_unavailable",
                    message: e.to_string(),
                }
            }
            other => {
                tracing::error!("{other}");
                ApiError::internal(other.to_string())
            }
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        ApiError::internal("the server is shutting down")
    }
}

/// Registers every route (API and UI).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::QueryConfig::default()
            .error_handler(|e, _| ApiError::bad_request("invalid_parameter", e.to_string()).into()),
    )
    .app_data(
        web::JsonConfig::default()
            .limit(64 * 1024)
            .error_handler(|e, _| ApiError::bad_request("invalid_json", e.to_string()).into()),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|e, _| ApiError::bad_request("invalid_path", e.to_string()).into()),
    )
    .configure(crate::api::configure)
    .route("/", web::get().to(index_page))
    .route(
        "/{file}",
        web::get().to(|p: web::Path<String>| async move { asset(&p) }),
    );
}

/// The UI's files, embedded so the binary works from any directory.
macro_rules! ui_files {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_bytes!(concat!("../../static/", $name)) as &[u8])),*]
    };
}

/// Every file of `static/` (the UI's ES modules each have one job; see app.js).
pub const UI_FILES: &[(&str, &[u8])] = ui_files![
    "index.html",
    "style.css",
    "app.js",
    "albums.js",
    "api.js",
    "dom.js",
    "dupes.js",
    "grid.js",
    "input.js",
    "lightbox.js",
    "search.js",
    "searchbox.js",
    "signin.js",
    "state.js",
    "status.js",
    "url.js",
    "views.js",
];

/// One of the UI's files.
fn asset(name: &str) -> Result<HttpResponse, ApiError> {
    let Some((_, body)) = UI_FILES.iter().find(|(n, _)| *n == name) else {
        return Err(ApiError::not_found(format!("no such file: {name}")));
    };
    let mime = match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        _ => "text/javascript; charset=utf-8",
    };
    Ok(HttpResponse::Ok()
        .content_type(mime)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(*body))
}

/// Security headers on every response: no inline script, no framing, no sniffing.
pub fn security_headers() -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; \
                 object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
            ),
        ))
        .add((header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .add((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .add((header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
}
