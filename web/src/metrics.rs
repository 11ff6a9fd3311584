//! Prometheus metrics at `/metrics` (text exposition format, through
//! prometheus-client): requests and their latency per route and status, the
//! stages of a query, the text-embedding cache, the library's size, indexing
//! progress and failures, the model's load time and the process's memory. No
//! label ever holds an image, a path or a user: routes are the patterns
//! (`/api/images/:id`), so the number of series stays bounded.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::{web, HttpResponse};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use crate::server::{ApiError, AppState};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    stage: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.25 ms … 8 s.
    Histogram::new(exponential_buckets(0.00025, 2.0, 16))
}

/// Every metric the server keeps.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Histograms<RequestLabels>,
    stages: Histograms<StageLabels>,
    cache_hits: Counter,
    cache_misses: Counter,
    /// The cache's own counts when last copied into the two counters above.
    cache_seen: (AtomicU64, AtomicU64),
    images: Gauge,
    indexing: Gauge,
    indexed: Gauge,
    queued: Gauge,
    index_failures: Family<KindLabels, Counter>,
    model_load: Gauge<f64, AtomicU64>,
    memory: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "scry_http_requests",
            "HTTP requests by route pattern, method and status",
            requests.clone(),
        );
        let latency: Histograms<RequestLabels> = Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "scry_http_request_duration",
            "Time to answer an HTTP request, by route pattern and method",
            Unit::Seconds,
            latency.clone(),
        );
        let stages: Histograms<StageLabels> = Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "scry_query_stage_duration",
            "Time spent in each stage of a search: encode (query vector), search \
             (candidates), fuse (fusion, cosines, records)",
            Unit::Seconds,
            stages.clone(),
        );
        let cache_hits = Counter::default();
        registry.register(
            "scry_text_cache_hits",
            "Text queries whose embedding came from the cache",
            cache_hits.clone(),
        );
        let cache_misses = Counter::default();
        registry.register(
            "scry_text_cache_misses",
            "Text queries that were encoded by the model",
            cache_misses.clone(),
        );
        let images = Gauge::default();
        registry.register(
            "scry_library_images",
            "Images in the library",
            images.clone(),
        );
        let indexing = Gauge::default();
        registry.register(
            "scry_indexing_running",
            "1 while an indexing run is in progress",
            indexing.clone(),
        );
        let indexed = Gauge::default();
        registry.register(
            "scry_indexing_done",
            "Files handled by the indexing run in progress (or the last one)",
            indexed.clone(),
        );
        let queued = Gauge::default();
        registry.register(
            "scry_indexing_queued",
            "Files the indexing run in progress has still to handle",
            queued.clone(),
        );
        let index_failures = Family::<KindLabels, Counter>::default();
        registry.register(
            "scry_index_failures",
            "Files the server's indexing runs could not index, by kind",
            index_failures.clone(),
        );
        let model_load = Gauge::<f64, AtomicU64>::default();
        registry.register_with_unit(
            "scry_model_load",
            "Time the model took to load (both towers)",
            Unit::Seconds,
            model_load.clone(),
        );
        let memory = Gauge::default();
        registry.register_with_unit(
            "scry_process_resident_memory",
            "Resident memory of the server process",
            Unit::Bytes,
            memory.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            stages,
            cache_hits,
            cache_misses,
            cache_seen: Default::default(),
            images,
            indexing,
            indexed,
            queued,
            index_failures,
            model_load,
            memory,
        }
    }

    /// One answered request.
    pub fn request(&self, route: &str, method: &str, status: u16, took: Duration) {
        let labels = RequestLabels {
            route: route.to_string(),
            method: method.to_string(),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.latency
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// The stages of one search.
    pub fn search(&self, t: &scry::query::Timings) {
        for (stage, d) in [("encode", t.encode), ("search", t.search), ("fuse", t.fuse)] {
            self.stages
                .get_or_create(&StageLabels { stage })
                .observe(d.as_secs_f64());
        }
    }

    /// The failures of one indexing run.
    pub fn index_run(&self, s: &scry_indexer::Summary) {
        for (kind, list) in &s.failures {
            self.index_failures
                .get_or_create(&KindLabels {
                    kind: format!("{kind:?}").to_lowercase(),
                })
                .inc_by(list.len() as u64);
        }
    }

    pub fn model_loaded(&self, took: Duration) {
        self.model_load.set(took.as_secs_f64());
    }

    /// The text exposition of every metric, with the gauges read now.
    fn render(&self, state: &AppState) -> Result<String, ApiError> {
        let (hits, misses) = state.cache.stats();
        let before = self.cache_seen.0.swap(hits, Ordering::Relaxed);
        self.cache_hits.inc_by(hits.saturating_sub(before));
        let before = self.cache_seen.1.swap(misses, Ordering::Relaxed);
        self.cache_misses.inc_by(misses.saturating_sub(before));
        self.images.set(state.read().len()? as i64);
        let ix = &state.indexing;
        let (done, total) = (
            ix.done.load(Ordering::Relaxed),
            ix.total.load(Ordering::Relaxed),
        );
        self.indexing.set(i64::from(state.indexing_running()));
        self.indexed.set(done as i64);
        self.queued.set(total.saturating_sub(done) as i64);
        if let Some(bytes) = resident_bytes() {
            self.memory.set(bytes as i64);
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .map_err(|e| ApiError::internal(format!("metrics: {e}")))?;
        Ok(out)
    }
}

/// Resident memory, from /proc (Linux); `None` elsewhere.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

/// Prometheus metrics (admins).
#[utoipa::path(get, path = "/metrics", tag = "server",
    responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text"),
        (status = 401, description = "Not signed in", body = ApiError), (status = 403, description = "Not an admin", body = ApiError)))]
pub(crate) async fn metrics(
    state: web::Data<AppState>,
    viewer: crate::auth::Viewer,
) -> Result<HttpResponse, ApiError> {
    // The route is Admin in the endpoint table; checked here too.
    viewer.require_admin()?;
    let st = state.clone();
    let body = web::block(move || st.metrics.render(&st)).await??;
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// Counts every request of the scope it wraps, by route pattern and status.
pub async fn track(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().to_string();
    let res = next.call(req).await?;
    if let Some(state) = state {
        // `/api/images/{id}` is labelled `/api/images/:id`: braces are legal in
        // a label value, but some parsers in the wild stop at the first `}`.
        let route = res
            .request()
            .match_pattern()
            .map(|p| p.replace('{', ":").replace('}', ""))
            .unwrap_or_else(|| "unmatched".to_string());
        state
            .metrics
            .request(&route, &method, res.status().as_u16(), started.elapsed());
    }
    Ok(res)
}
