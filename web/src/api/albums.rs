//! `/api/albums`: smart albums defined by prompts, with a live preview of what a
//! new threshold would add or drop.

use actix_web::{web, HttpResponse};
use scry::albums::{self, Album};
use serde::Deserialize;
use serde_json::json;

use crate::server::{ApiError, AppState};
use crate::views::{AlbumView, ScoredImageView};

fn invalid(e: scry::Error) -> ApiError {
    match e {
        scry::Error::InvalidArgument(m) => ApiError::bad_request("invalid_album", m),
        other => other.into(),
    }
}

/// Albums are also kept in the settings file, for `scry index --rebuild`; the
/// catalog has them already, so a failure here is logged, not returned.
fn remember(lib: &scry::Library) {
    if let Err(e) = crate::cli::library::remember_albums(lib) {
        tracing::warn!("albums not copied to the settings file: {e:#}");
    }
}

fn writable(state: &AppState) -> Result<(), ApiError> {
    if state.read().is_snapshot() {
        return Err(ApiError {
            status: actix_web::http::StatusCode::CONFLICT,
            code: "read_only",
            message: "the library folder cannot be written (read-only or full disk): albums \
                      cannot be changed now"
                .into(),
        });
    }
    Ok(())
}

async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    let (views, suggested) = web::block(move || -> Result<_, ApiError> {
        let lib = st.read();
        let views: Vec<AlbumView> = lib
            .albums()?
            .iter()
            .map(|a| AlbumView::new(&lib, a))
            .collect::<scry::Result<_>>()?;
        let suggested: Vec<serde_json::Value> = albums::SUGGESTED
            .iter()
            .filter(|s| !views.iter().any(|v| v.name == s.name))
            .map(|s| json!({"name": s.name, "prompts": s.prompts, "threshold": s.threshold}))
            .collect();
        Ok((views, suggested))
    })
    .await??;
    Ok(HttpResponse::Ok().json(json!({"albums": views, "suggested": suggested})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAlbum {
    name: String,
    #[serde(default)]
    prompts: Vec<String>,
    threshold: Option<f32>,
    /// An indexed image as the example ("more like this").
    like: Option<u64>,
}

async fn create(
    state: web::Data<AppState>,
    body: web::Json<NewAlbum>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    albums::check_name(&body.name).map_err(invalid)?;
    writable(&state)?;
    let suggested = albums::suggested(&body.name);
    let mut prompts: Vec<String> = body
        .prompts
        .iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    if prompts.is_empty() && body.like.is_none() {
        match suggested {
            Some(s) => prompts = s.prompts.iter().map(|p| p.to_string()).collect(),
            None => {
                return Err(ApiError::bad_request(
                    "invalid_album",
                    "give at least one prompt or an example image (like)",
                ))
            }
        }
    }
    if let Some(p) = prompts
        .iter()
        .find(|p| p.chars().count() > scry::query::MAX_TEXT_CHARS)
    {
        return Err(ApiError::bad_request(
            "invalid_album",
            format!(
                "a prompt of {} characters; at most {}",
                p.chars().count(),
                scry::query::MAX_TEXT_CHARS
            ),
        ));
    }
    let threshold = body
        .threshold
        .or(suggested.map(|s| s.threshold))
        .unwrap_or(albums::DEFAULT_THRESHOLD);
    albums::check_threshold(threshold).map_err(invalid)?;
    let st = state.clone();
    let view = web::block(move || -> Result<AlbumView, ApiError> {
        let example = match body.like {
            Some(id) => Some(
                st.read()
                    .vector(id)?
                    .ok_or_else(|| ApiError::not_found(format!("no image with id {id}")))?,
            ),
            None => None,
        };
        // Encoding happens before the write lock: readers are never held up by it.
        let vector =
            albums::album_vector(&st.model(), &prompts, example.as_deref()).map_err(invalid)?;
        let album = Album {
            name: body.name.clone(),
            prompts,
            example: match body.like {
                Some(id) => st
                    .read()
                    .meta(id)?
                    .map(|r| r.path_buf().display().to_string()),
                None => None,
            },
            threshold,
            vector,
        };
        let mut lib = st
            .library
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        lib.put_album(album.clone()).map_err(invalid)?;
        remember(&lib);
        Ok(AlbumView::new(&lib, &album)?)
    })
    .await??;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShowParams {
    /// Preview this threshold: what would enter and leave.
    threshold: Option<String>,
    k: Option<String>,
}

fn parse_threshold(v: Option<&str>) -> Result<Option<f32>, ApiError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => {
            let t: f32 = s.parse().map_err(|_| {
                ApiError::bad_request(
                    "invalid_parameter",
                    format!("threshold must be a number, got {s:?}"),
                )
            })?;
            albums::check_threshold(t)
                .map_err(|e| ApiError::bad_request("invalid_parameter", e.to_string()))?;
            Ok(Some(t))
        }
    }
}

async fn show(
    state: web::Data<AppState>,
    name: web::Path<String>,
    params: web::Query<ShowParams>,
) -> Result<HttpResponse, ApiError> {
    let preview = parse_threshold(params.threshold.as_deref())?;
    let k: usize = match params.k.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => 60,
        Some(s) => s
            .parse()
            .ok()
            .filter(|k| (1..=scry::query::MAX_K).contains(k))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_parameter",
                    format!("k must be between 1 and {}, got {s:?}", scry::query::MAX_K),
                )
            })?,
    };
    let st = state.clone();
    let name = name.into_inner();
    let body = web::block(move || -> Result<serde_json::Value, ApiError> {
        let lib = st.read();
        let album = lib.album(&name)?;
        let views = |list: &[(u64, f32)]| -> scry::Result<Vec<ScoredImageView>> {
            ScoredImageView::many(&lib, &list[..list.len().min(k)])
        };
        let threshold = preview.unwrap_or(album.threshold);
        let members = albums::members(&lib, &album, threshold)?;
        let mut out = json!({
            "album": AlbumView::new(&lib, &album)?,
            "threshold": threshold,
            "count": members.len(),
            "images": views(&members)?,
        });
        if preview.is_some() {
            let (enter, leave) = albums::preview(&lib, &album, threshold)?;
            out["entering"] = json!({"count": enter.len(), "images": views(&enter)?});
            out["leaving"] = json!({"count": leave.len(), "images": views(&leave)?});
        }
        Ok(out)
    })
    .await??;
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Update {
    threshold: f32,
}

async fn update(
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: web::Json<Update>,
) -> Result<HttpResponse, ApiError> {
    albums::check_threshold(body.threshold).map_err(invalid)?;
    writable(&state)?;
    let threshold = body.threshold;
    // The write lock may wait for the indexer: off the async workers.
    let view = web::block(move || -> Result<AlbumView, ApiError> {
        let mut lib = state
            .library
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut album = lib.album(&name)?;
        album.threshold = threshold;
        lib.put_album(album.clone()).map_err(invalid)?;
        remember(&lib);
        Ok(AlbumView::new(&lib, &album)?)
    })
    .await??;
    Ok(HttpResponse::Ok().json(view))
}

async fn remove(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    writable(&state)?;
    let name = name.into_inner();
    let removed = name.clone();
    web::block(move || -> Result<(), ApiError> {
        let mut lib = state
            .library
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !lib.remove_album(&name)? {
            lib.album(&name)?;
        }
        remember(&lib);
        Ok(())
    })
    .await??;
    Ok(HttpResponse::Ok().json(json!({"removed": removed})))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/albums", web::get().to(list))
        .route("/albums", web::post().to(create))
        .route("/albums/{name}", web::get().to(show))
        .route("/albums/{name}", web::patch().to(update))
        .route("/albums/{name}", web::delete().to(remove));
}
