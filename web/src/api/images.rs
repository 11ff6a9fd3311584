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
    Ok(picture("image/jpeg", bytes))
}

/// A picture of one image, cacheable by this browser only.
fn picture(mime: &str, bytes: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(mime)
        .insert_header((header::CACHE_CONTROL, "private, max-age=3600"))
        .body(bytes)
}

/// The file of image `id`, read only when it is really under one of the roots
/// (links and `..` resolved first).
async fn read_original(
    state: &web::Data<AppState>,
    id: u64,
) -> Result<(scry::ImageRecord, Vec<u8>), ApiError> {
    let rec = record(state, id)?;
    let roots = state.read().roots()?;
    let path = rec.path_buf();
    let bytes = web::block(move || -> Result<Vec<u8>, ApiError> {
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
        std::fs::read(&real).map_err(|_| ApiError::not_found("the original file cannot be read"))
    })
    .await??;
    Ok((rec, bytes))
}

fn mime_of(format: &str) -> &'static str {
    match format {
        "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "bmp" => "image/bmp",
        "tiff" => "image/tiff",
        "avif" => "image/avif",
        "heic" => "image/heic",
        "jxl" => "image/jxl",
        "dng" => "image/x-adobe-dng",
        _ => "application/octet-stream",
    }
}

async fn original(
    state: web::Data<AppState>,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    let (rec, bytes) = read_original(&state, id.into_inner()).await?;
    Ok(picture(mime_of(&rec.format), bytes))
}

/// Longest side of the JPEG rendition of formats browsers do not display.
const DISPLAY_LONG_SIDE: u32 = 2560;

/// A picture of image `id` the browser can show: the original when browsers
/// display its format, else a JPEG rendition (HEIC, RAW previews, JPEG XL, TIFF),
/// decoded as the indexer does and at most 2560 pixels on its long side.
async fn display(state: web::Data<AppState>, id: web::Path<u64>) -> Result<HttpResponse, ApiError> {
    let (rec, bytes) = read_original(&state, id.into_inner()).await?;
    if crate::views::browser_shows(&rec.format) {
        return Ok(picture(mime_of(&rec.format), bytes));
    }
    let jpeg = web::block(move || -> Result<Vec<u8>, ApiError> {
        // Unsupported here (libheif removed since indexing) or damaged since.
        let decoded =
            scry::decode::decode_full(&bytes, Some(DISPLAY_LONG_SIDE / 2)).map_err(|m| {
                ApiError {
                    status: actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    code: "cannot_display",
                    message: format!("the original cannot be shown: {m}"),
                }
            })?;
        let rgb = scry::preprocess::to_rgb(decoded.image);
        let (w, h) = rgb.dimensions();
        let long = w.max(h);
        let rgb = if long > DISPLAY_LONG_SIDE {
            let (nw, nh) = (
                (w as u64 * DISPLAY_LONG_SIDE as u64 / long as u64).max(1) as u32,
                (h as u64 * DISPLAY_LONG_SIDE as u64 / long as u64).max(1) as u32,
            );
            scry::preprocess::resize_rgb(&rgb, nw, nh)
        } else {
            rgb
        };
        Ok(scry::preprocess::encode_jpeg(&rgb, 90))
    })
    .await??;
    Ok(picture("image/jpeg", jpeg))
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
        .route("/images/{id}/display", web::get().to(display))
        .route("/images/{id}/similar", web::get().to(similar));
}
