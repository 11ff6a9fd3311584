//! `/api/status` and `/api/health`.

use std::sync::atomic::Ordering;

use actix_web::{web, HttpResponse};

use crate::auth::Viewer;
use crate::server::{ApiError, AppState};
use crate::views::{Health, Status};

/// What the caller can see of the library, and the server's state.
#[utoipa::path(get, path = "/api/status", tag = "library",
    responses((status = 200, body = Status), (status = 401, description = "Not signed in", body = ApiError)))]
pub(crate) async fn status(
    state: web::Data<AppState>,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    let v = viewer.clone();
    // Counting a user's images may walk the records: off the async workers.
    let (images, roots) = web::block(move || -> Result<_, ApiError> {
        let lib = st.read();
        let filters = scry::query::Filters {
            within: v.within(),
            ..Default::default()
        };
        let scope = scry::home::Scope {
            filters: &filters,
            members: None,
            exclude: &[],
        };
        let roots: Vec<String> = match v.within() {
            None => lib.roots()?,
            Some(mine) => mine,
        }
        .iter()
        .map(|r| r.display().to_string())
        .collect();
        Ok((lib.count(&scope)?, roots))
    })
    .await??;
    let lib = state.read();
    let last_run = lib
        .last_run()?
        .and_then(|l| l.get("finished_at").and_then(|t| t.as_i64()))
        .map(|t| format!("{}Z", scry::dates::format_datetime(t)));
    let ix = &state.indexing;
    // Progress counts cover every folder: for admins only.
    let progress = |n: usize| viewer.admin.then_some(n);
    Ok(HttpResponse::Ok().json(Status {
        images,
        roots,
        model: state.model().id().to_string(),
        text_model: state.model().text_model().map(|t| t.id().to_string()),
        indexing: state.indexing_running(),
        indexed: progress(ix.done.load(Ordering::Relaxed)),
        queued: progress(
            ix.total
                .load(Ordering::Relaxed)
                .saturating_sub(ix.done.load(Ordering::Relaxed)),
        ),
        last_run,
        formats: scry::decode::system::report(),
    }))
}

/// Whether the server answers (no sign-in needed, nothing about the library).
#[utoipa::path(get, path = "/api/health", tag = "server", security(()),
    responses((status = 200, body = Health)))]
pub(crate) async fn health() -> HttpResponse {
    HttpResponse::Ok().json(Health { ok: true })
}
