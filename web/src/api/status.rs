//! `/api/status` and `/api/health`.

use std::sync::atomic::Ordering;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::server::{ApiError, AppState};

async fn status(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let lib = state.read();
    let roots: Vec<String> = lib
        .roots()?
        .iter()
        .map(|r| r.display().to_string())
        .collect();
    let last_run = lib
        .last_run()?
        .and_then(|l| l.get("finished_at").and_then(|t| t.as_i64()))
        .map(|t| format!("{}Z", scry::dates::format_datetime(t)));
    let ix = &state.indexing;
    Ok(HttpResponse::Ok().json(json!({
        "images": lib.len()?,
        "roots": roots,
        "model": state.model().id(),
        "indexing": state.indexing_running(),
        "indexed": ix.done.load(Ordering::Relaxed),
        "queued": ix.total.load(Ordering::Relaxed).saturating_sub(ix.done.load(Ordering::Relaxed)),
        "last_run": last_run,
        "formats": scry::decode::system::report(),
    })))
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"ok": true}))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/status", web::get().to(status))
        .route("/health", web::get().to(health));
}
