//! `/api/images/{id}`: metadata, thumbnail, original and similar images. Files are
//! served by catalog id only, never by a path from the client, and only when they
//! are under one of the library's roots.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::search::SearchParams;
use crate::server::{ApiError, AppState};
use crate::views::ImageView;

fn record(state: &AppState, id: u64) -> Result<scry::ImageRecord, ApiError> {
    state
        .read()
        .meta(id)?
        .ok_or_else(|| ApiError::not_found(format!("no image with id {id}")))
}

async fn meta(state: web::Data<AppState>, id: web::Path<u64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(ImageView::new(id, &record(&state, id)?)))
}

async fn thumbnail(
    state: web::Data<AppState>,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let bytes = state
        .read()
        .thumbnail(id)?
        .ok_or_else(|| ApiError::not_found(format!("no image with id {id}")))?;
    Ok(HttpResponse::Ok()
        .content_type("image/jpeg")
        .insert_header((header::CACHE_CONTROL, "private, max-age=3600"))
        .body(bytes))
}

async fn original(
    state: web::Data<AppState>,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let rec = record(&state, id)?;
    let roots = state.read().roots()?;
    let path = rec.path_buf();
    let st = state.clone();
    let bytes = web::block(move || -> Result<Vec<u8>, ApiError> {
        // Resolve links and `..` first: the file must really be under a root.
        let real = std::fs::canonicalize(&path)
            .map_err(|_| ApiError::not_found("the original file is gone"))?;
        let inside = roots
            .iter()
            .filter_map(|r| std::fs::canonicalize(r).ok())
            .any(|r| real.starts_with(r));
        if !inside {
            return Err(ApiError::not_found(
                "the original file is not under an indexed folder",
            ));
        }
        drop(st);
        std::fs::read(&real).map_err(|_| ApiError::not_found("the original file cannot be read"))
    })
    .await??;
    let mime = match rec.format.as_str() {
        "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "bmp" => "image/bmp",
        "tiff" => "image/tiff",
        _ => "application/octet-stream",
    };
    Ok(HttpResponse::Ok()
        .content_type(mime)
        .insert_header((header::CACHE_CONTROL, "private, max-age=3600"))
        .body(bytes))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SimilarParams {
    k: Option<String>,
    offset: Option<String>,
}

async fn similar(
    state: web::Data<AppState>,
    id: web::Path<u64>,
    params: web::Query<SimilarParams>,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    let params = SearchParams {
        like: Some(id.into_inner().to_string()),
        k: p.k,
        offset: p.offset,
        ..Default::default()
    };
    super::search::search_with(state, params).await
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/images/{id}", web::get().to(meta))
        .route("/images/{id}/thumbnail", web::get().to(thumbnail))
        .route("/images/{id}/original", web::get().to(original))
        .route("/images/{id}/similar", web::get().to(similar));
}
