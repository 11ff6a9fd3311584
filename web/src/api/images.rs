//! `/api/images/{id}`: metadata, thumbnail, original and similar images. Files are
//! served by catalog id only, never by a path from the client, and only when they
//! are under one of the library's roots.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::search::SearchParams;
use crate::auth::Viewer;
use crate::server::{ApiError, AppState};
use crate::views::{ImageView, SearchPage};

/// The record of image `id`, if `viewer` may see it: an image outside their
/// folders is answered exactly as one that does not exist.
fn record(state: &AppState, id: u64, viewer: &Viewer) -> Result<scry::ImageRecord, ApiError> {
    state
        .read()
        .meta(id)?
        .filter(|r| viewer.sees(&r.path_buf()))
        .ok_or_else(|| ApiError::not_found(format!("no image with id {id}")))
}

/// An image's metadata.
#[utoipa::path(get, path = "/api/images/{id}", tag = "images", params(("id" = u64, Path, description = "Image id")),
    responses((status = 200, body = ImageView), (status = 401, description = "Not signed in", body = ApiError), (status = 404, description = "No such image, or not one the caller may see", body = ApiError)))]
pub(crate) async fn meta(
    state: web::Data<AppState>,
    id: web::Path<u64>,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let st = state.clone();
    let view = web::block(move || -> Result<ImageView, ApiError> {
        let rec = record(&st, id, &viewer)?;
        let mut view = ImageView::new(id, &rec);
        view.tags = tags_of(&st, id);
        if rec.video.is_none() && scry::video::motion_clip(&rec.path_buf()).is_some() {
            view.motion = Some(format!("/api/images/{id}/motion"));
        }
        Ok(view)
    })
    .await??;
    Ok(HttpResponse::Ok().json(view))
}

/// The image's auto-tags, from its stored vector and the library's
/// vocabulary (encoded once per model); none when they cannot be had.
fn tags_of(state: &AppState, id: u64) -> Vec<String> {
    let found = (|| -> scry::Result<Vec<String>> {
        let lib = state.read();
        let Some(vector) = lib.vector(id)? else {
            return Ok(Vec::new());
        };
        let model = state.model_for(&lib)?;
        let tagger = state.cache.tags.tagger(&lib, &model, |_| {})?;
        if tagger.dim() != vector.len() {
            return Ok(Vec::new());
        }
        Ok(tagger
            .tags(&vector)
            .iter()
            .map(|t| scry::tags::keyword(&tagger.names()[t.category]))
            .collect())
    })();
    found.unwrap_or_else(|e| {
        tracing::warn!("the tags of image {id}: {e}");
        Vec::new()
    })
}

/// The image's thumbnail (JPEG).
#[utoipa::path(get, path = "/api/images/{id}/thumbnail", tag = "images", params(("id" = u64, Path, description = "Image id")),
    responses((status = 200, description = "JPEG", content_type = "image/jpeg"), (status = 401, description = "Not signed in", body = ApiError), (status = 404, description = "No such image, or not one the caller may see", body = ApiError)))]
pub(crate) async fn thumbnail(
    state: web::Data<AppState>,
    id: web::Path<u64>,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    record(&state, id, &viewer)?;
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

/// Where `path` really is, when it is under one of the library's roots
/// (links and `..` resolved first); never a file outside them.
fn inside_roots(
    roots: &[std::path::PathBuf],
    path: &std::path::Path,
) -> Result<std::path::PathBuf, ApiError> {
    let real = std::fs::canonicalize(path)
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
    Ok(real)
}

/// The file of image `id`, read only when it is really under one of the roots.
async fn read_original(
    state: &web::Data<AppState>,
    id: u64,
    viewer: &Viewer,
) -> Result<(scry::ImageRecord, Vec<u8>), ApiError> {
    let rec = record(state, id, viewer)?;
    let roots = state.read().roots()?;
    let path = rec.path_buf();
    let bytes = web::block(move || -> Result<Vec<u8>, ApiError> {
        let real = inside_roots(&roots, &path)?;
        std::fs::read(&real).map_err(|_| ApiError::not_found("the original file cannot be read"))
    })
    .await??;
    Ok((rec, bytes))
}

/// Streams the file at `path` (under a root, checked by the caller) with
/// `mime`: byte ranges (`Range`, so a video plays from any moment and seeks
/// without being read whole), `ETag` and `Last-Modified` by actix-files.
async fn serve_file(
    req: &HttpRequest,
    roots: Vec<std::path::PathBuf>,
    path: std::path::PathBuf,
    mime: &'static str,
) -> Result<HttpResponse, ApiError> {
    let file = web::block(move || -> Result<actix_files::NamedFile, ApiError> {
        let real = inside_roots(&roots, &path)?;
        actix_files::NamedFile::open(&real)
            .map_err(|_| ApiError::not_found("the original file cannot be read"))
    })
    .await??;
    let mut res = file
        .set_content_type(mime.parse().expect("a media type"))
        .use_etag(true)
        .use_last_modified(true)
        .into_response(req);
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, max-age=3600"),
    );
    Ok(res)
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
        "mp4" => "video/mp4",
        "m4v" => "video/x-m4v",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "avi" => "video/x-msvideo",
        _ => "application/octet-stream",
    }
}

/// The original file, as it is on disk (a video too), with byte ranges.
#[utoipa::path(get, path = "/api/images/{id}/original", tag = "images", params(("id" = u64, Path, description = "Image id")),
    responses((status = 200, description = "The file, with its format's media type", content_type = "application/octet-stream"),
        (status = 206, description = "The part a `Range` header asked for", content_type = "application/octet-stream"),
        (status = 401, description = "Not signed in", body = ApiError), (status = 404, description = "No such image, or not one the caller may see", body = ApiError)))]
pub(crate) async fn original(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<u64>,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let rec = record(&state, id.into_inner(), &viewer)?;
    let roots = state.read().roots()?;
    serve_file(&req, roots, rec.path_buf(), mime_of(&rec.format)).await
}

/// A Live Photo's or Motion Photo's clip: the video beside the photo with its
/// name (`IMG_1234.MOV` beside `IMG_1234.HEIC`), with byte ranges.
#[utoipa::path(get, path = "/api/images/{id}/motion", tag = "images", params(("id" = u64, Path, description = "Image id")),
    responses((status = 200, description = "The clip", content_type = "video/quicktime"),
        (status = 206, description = "The part a `Range` header asked for", content_type = "video/quicktime"),
        (status = 401, description = "Not signed in", body = ApiError), (status = 404, description = "No such image, or not one the caller may see, or no clip beside it", body = ApiError)))]
pub(crate) async fn motion(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<u64>,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let rec = record(&state, id.into_inner(), &viewer)?;
    let roots = state.read().roots()?;
    let photo = rec.path_buf();
    let clip = web::block(move || scry::video::motion_clip(&photo))
        .await?
        .filter(|_| rec.video.is_none())
        .ok_or_else(|| ApiError::not_found("no motion clip beside this photo"))?;
    let mime = match std::fs::File::open(&clip).ok().and_then(|mut f| {
        let mut head = [0u8; 64];
        std::io::Read::read(&mut f, &mut head)
            .ok()
            .map(|n| head[..n].to_vec())
    }) {
        Some(head) => mime_of(scry::video::container(&head)),
        None => "video/quicktime",
    };
    serve_file(&req, roots, clip, mime).await
}

/// Longest side of the JPEG rendition of formats browsers do not display.
const DISPLAY_LONG_SIDE: u32 = 2560;

/// A picture of image `id` the browser can show: the original when browsers
/// display its format, else a JPEG rendition (HEIC, RAW previews, JPEG XL, TIFF),
/// decoded as the indexer does and at most 2560 pixels on its long side.
/// A picture the browser can show: the original, or a JPEG rendition (at most
/// 2560 px) of formats browsers do not display (HEIC, RAW, JPEG XL, TIFF).
#[utoipa::path(get, path = "/api/images/{id}/display", tag = "images", params(("id" = u64, Path, description = "Image id")),
    responses((status = 200, description = "The original or a JPEG", content_type = "image/jpeg"), (status = 401, description = "Not signed in", body = ApiError), (status = 404, description = "No such image, or not one the caller may see", body = ApiError),
        (status = 415, description = "The file cannot be decoded here now", body = ApiError)))]
pub(crate) async fn display(
    state: web::Data<AppState>,
    id: web::Path<u64>,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    // A video's picture is its poster frame (never read the video whole).
    if record(&state, id, &viewer)?.video.is_some() {
        let jpeg = state
            .read()
            .thumbnail(id)?
            .ok_or_else(|| ApiError::not_found(format!("no image with id {id}")))?;
        return Ok(picture("image/jpeg", jpeg));
    }
    let (rec, bytes) = read_original(&state, id, &viewer).await?;
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SimilarParams {
    /// Results per page (1–1000, default 30).
    #[param(value_type = Option<u32>)]
    k: Option<String>,
    /// Results to skip.
    #[param(value_type = Option<u32>)]
    offset: Option<String>,
}

/// Images like this one ("more like this"), from the caller's folders.
#[utoipa::path(get, path = "/api/images/{id}/similar", tag = "images",
    params(("id" = u64, Path, description = "Image id"), SimilarParams),
    responses((status = 200, body = SearchPage), (status = 401, description = "Not signed in", body = ApiError), (status = 404, description = "No such image, or not one the caller may see", body = ApiError)))]
pub(crate) async fn similar(
    state: web::Data<AppState>,
    id: web::Path<u64>,
    params: web::Query<SimilarParams>,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    let params = SearchParams {
        like: Some(id.into_inner().to_string()),
        k: p.k,
        offset: p.offset,
        ..Default::default()
    };
    super::search::search_with(state, params, viewer).await
}
