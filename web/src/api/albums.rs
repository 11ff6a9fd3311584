//! `/api/albums`: smart albums defined by prompts, with a live preview of what a
//! new threshold would add or drop.

use actix_web::{web, HttpResponse};
use scry::albums::{self, Album};
use serde::Deserialize;

use crate::auth::Viewer;
use crate::server::{ApiError, AppState};
use crate::views::{
    AlbumChange, AlbumPage, AlbumView, Albums, Removed, ScoredImageView, SuggestedAlbum,
};

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

pub(crate) fn writable(state: &AppState) -> Result<(), ApiError> {
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

/// Stores `album` in the locked library (and its settings file) and returns
/// it as `viewer` sees it.
fn save(lib: &mut scry::Library, viewer: &Viewer, album: Album) -> Result<AlbumView, ApiError> {
    lib.put_album(album.clone()).map_err(invalid)?;
    remember(lib);
    Ok(AlbumView::seen(lib, &album, &viewer.visibility)?)
}

/// Whether `viewer` may see album `a`: theirs, or shared.
fn mine_or_shared(viewer: &Viewer, a: &Album) -> bool {
    a.owner.is_none() || (a.owner.is_some() && a.owner == viewer.name)
}

/// The album `name` as `viewer` means it: their own, else the shared one of
/// that name. Another user's album is answered as one that does not exist.
pub(crate) fn resolve(lib: &scry::Library, viewer: &Viewer, name: &str) -> Result<Album, ApiError> {
    let all = lib.albums()?;
    let own = viewer.name.as_deref().and_then(|me| {
        all.iter()
            .find(|a| a.name == name && a.owner.as_deref() == Some(me))
    });
    if let Some(a) = own.or_else(|| all.iter().find(|a| a.name == name && a.owner.is_none())) {
        return Ok(a.clone());
    }
    let names: Vec<&str> = all
        .iter()
        .filter(|a| mine_or_shared(viewer, a))
        .map(|a| a.name.as_str())
        .collect();
    Err(ApiError::not_found(format!(
        "no album named {name:?}; {}",
        if names.is_empty() {
            "there are none yet".to_string()
        } else {
            format!("albums: {}", names.join(", "))
        }
    )))
}

/// Changing a shared album is for admins.
fn may_change(viewer: &Viewer, a: &Album) -> Result<(), ApiError> {
    if a.owner.is_none() && !viewer.admin {
        return Err(ApiError {
            status: actix_web::http::StatusCode::FORBIDDEN,
            code: "admin_only",
            message: format!("album {} is shared: only an admin may change it", a.name),
        });
    }
    Ok(())
}

/// The caller's albums and the shared ones, and the suggested albums not enabled.
#[utoipa::path(get, path = "/api/albums", tag = "albums",
    responses((status = 200, body = Albums), (status = 401, description = "Not signed in", body = ApiError)))]
pub(crate) async fn list(
    state: web::Data<AppState>,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    let (views, suggested) = web::block(move || -> Result<_, ApiError> {
        let lib = st.read();
        let views: Vec<AlbumView> = lib
            .albums()?
            .iter()
            .filter(|a| mine_or_shared(&viewer, a))
            .map(|a| AlbumView::seen(&lib, a, &viewer.visibility))
            .collect::<scry::Result<_>>()?;
        let suggested: Vec<SuggestedAlbum> = albums::SUGGESTED
            .iter()
            .filter(|s| !views.iter().any(|v| v.name == s.name))
            .map(|s| SuggestedAlbum {
                name: s.name.to_string(),
                prompts: s.prompts.iter().map(|p| p.to_string()).collect(),
                threshold: s.threshold,
            })
            .collect();
        Ok((views, suggested))
    })
    .await??;
    Ok(HttpResponse::Ok().json(Albums {
        albums: views,
        suggested,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "receipts", "prompts": ["a photo of a receipt"], "threshold": 0.25}))]
pub(crate) struct NewAlbum {
    /// 1–40 of a-z, 0-9, - and _.
    #[schema(pattern = "^[a-z0-9_-]{1,40}$")]
    name: String,
    /// What belongs, in words (a suggested album's name needs none).
    #[serde(default)]
    prompts: Vec<String>,
    /// Lowest cosine to the album's vector (default 0.25).
    #[schema(minimum = -1.0, maximum = 1.0)]
    threshold: Option<f32>,
    /// An indexed image as the example ("more like this").
    like: Option<u64>,
    /// Shared with everyone (admins only); otherwise the album is the
    /// signed-in user's.
    #[serde(default)]
    shared: bool,
}

/// Defines (or redefines) an album: the caller's own, or shared (admins).
#[utoipa::path(post, path = "/api/albums", tag = "albums", request_body = NewAlbum,
    responses((status = 201, body = AlbumView), (status = 400, description = "A bad name, prompt or threshold", body = ApiError), (status = 401, description = "Not signed in", body = ApiError),
        (status = 403, description = "A shared album, by a user", body = ApiError),
        (status = 404, description = "like: no such image (or not one the caller may see)", body = ApiError)))]
pub(crate) async fn create(
    state: web::Data<AppState>,
    body: web::Json<NewAlbum>,
    viewer: Viewer,
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
    if body.shared && !viewer.admin {
        return Err(ApiError {
            status: actix_web::http::StatusCode::FORBIDDEN,
            code: "admin_only",
            message: "only an admin may make a shared album".into(),
        });
    }
    let owner = if body.shared {
        None
    } else {
        viewer.name.clone()
    };
    let st = state.clone();
    let view = web::block(move || -> Result<AlbumView, ApiError> {
        let example = match body.like {
            Some(id) => {
                let lib = st.read();
                let gone = || ApiError::not_found(format!("no image with id {id}"));
                let rec = lib.meta(id)?.ok_or_else(gone)?;
                if !viewer.sees(&rec.path_buf()) {
                    return Err(gone());
                }
                Some(lib.vector(id)?.ok_or_else(gone)?)
            }
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
            owner,
            marks: Vec::new(),
            prior: None,
        };
        save(&mut st.write(), &viewer, album)
    })
    .await??;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ShowParams {
    /// Preview this threshold: what would enter and leave.
    #[param(value_type = Option<f32>)]
    threshold: Option<String>,
    /// Most images listed (default 60).
    #[param(value_type = Option<u32>)]
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

/// An album's images, best first; with `threshold`, what it would add and drop.
#[utoipa::path(get, path = "/api/albums/{name}", tag = "albums",
    params(("name" = String, Path, description = "Album name"), ShowParams),
    responses((status = 200, body = AlbumPage), (status = 401, description = "Not signed in", body = ApiError), (status = 404, description = "No such album for the caller", body = ApiError)))]
pub(crate) async fn show(
    state: web::Data<AppState>,
    name: web::Path<String>,
    params: web::Query<ShowParams>,
    viewer: Viewer,
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
    let body = web::block(move || -> Result<AlbumPage, ApiError> {
        let lib = st.read();
        let album = resolve(&lib, &viewer, &name)?;
        let vis = &viewer.visibility;
        let views = |list: &[(u64, f32)]| -> scry::Result<Vec<ScoredImageView>> {
            ScoredImageView::many(&lib, &list[..list.len().min(k)])
        };
        let threshold = preview.unwrap_or(album.threshold);
        let members = albums::visible_members(&lib, &album, threshold, vis)?;
        let mut out = AlbumPage {
            album: AlbumView::seen(&lib, &album, vis)?,
            threshold,
            count: members.len(),
            images: views(&members)?,
            entering: None,
            leaving: None,
        };
        if preview.is_some() {
            let (enter, leave) = albums::preview(&lib, &album, threshold, vis)?;
            let change = |list: &[(u64, f32)]| -> scry::Result<AlbumChange> {
                Ok(AlbumChange {
                    count: list.len(),
                    images: views(list)?,
                })
            };
            out.entering = Some(change(&enter)?);
            out.leaving = Some(change(&leave)?);
        }
        Ok(out)
    })
    .await??;
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Update {
    threshold: f32,
}

/// Sets an album's threshold.
#[utoipa::path(patch, path = "/api/albums/{name}", tag = "albums",
    params(("name" = String, Path, description = "Album name")), request_body = Update,
    responses((status = 200, body = AlbumView), (status = 401, description = "Not signed in", body = ApiError),
        (status = 403, description = "A shared album, by a user", body = ApiError),
        (status = 404, description = "No such album for the caller", body = ApiError)))]
pub(crate) async fn update(
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: web::Json<Update>,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    albums::check_threshold(body.threshold).map_err(invalid)?;
    writable(&state)?;
    let threshold = body.threshold;
    // The write lock may wait for the indexer: off the async workers.
    let view = web::block(move || -> Result<AlbumView, ApiError> {
        let mut lib = state.write();
        let mut album = resolve(&lib, &viewer, &name)?;
        may_change(&viewer, &album)?;
        album.threshold = threshold;
        save(&mut lib, &viewer, album)
    })
    .await??;
    Ok(HttpResponse::Ok().json(view))
}

/// Removes an album (the images stay).
#[utoipa::path(delete, path = "/api/albums/{name}", tag = "albums",
    params(("name" = String, Path, description = "Album name")),
    responses((status = 200, body = Removed), (status = 401, description = "Not signed in", body = ApiError),
        (status = 403, description = "A shared album, by a user", body = ApiError),
        (status = 404, description = "No such album for the caller", body = ApiError)))]
pub(crate) async fn remove(
    state: web::Data<AppState>,
    name: web::Path<String>,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    writable(&state)?;
    let name = name.into_inner();
    let removed = name.clone();
    web::block(move || -> Result<(), ApiError> {
        let mut lib = state.write();
        let album = resolve(&lib, &viewer, &name)?;
        may_change(&viewer, &album)?;
        lib.remove_album(&album.key())?;
        remember(&lib);
        Ok(())
    })
    .await??;
    Ok(HttpResponse::Ok().json(Removed { removed }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id": 17, "belongs": false}))]
pub(crate) struct NewMark {
    /// The image marked.
    id: u64,
    /// `true`: it belongs; `false`: it does not; `null`: unmark it.
    belongs: Option<bool>,
}

/// Marks a photo as belonging to the album or not (or unmarks it); the album
/// learns from its marks at once (a logistic probe on the stored embeddings,
/// the prompts as its prior) and its new view is returned.
#[utoipa::path(post, path = "/api/albums/{name}/marks", tag = "albums",
    params(("name" = String, Path, description = "Album name")), request_body = NewMark,
    responses((status = 200, body = AlbumView), (status = 401, description = "Not signed in", body = ApiError),
        (status = 403, description = "A shared album, by a user", body = ApiError),
        (status = 404, description = "No such album for the caller, or an image the caller may not see", body = ApiError)))]
pub(crate) async fn mark(
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: web::Json<NewMark>,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    writable(&state)?;
    let NewMark { id, belongs } = body.into_inner();
    let name = name.into_inner();
    let view = web::block(move || -> Result<AlbumView, ApiError> {
        // Read, fit and store under one write lock: two marks at once must
        // not lose one (the fit on a few marks takes milliseconds).
        let mut lib = state.write();
        let album = resolve(&lib, &viewer, &name)?;
        may_change(&viewer, &album)?;
        let gone = || ApiError::not_found(format!("no image with id {id}"));
        let rec = lib.meta(id)?.ok_or_else(gone)?;
        if !viewer.sees(&rec.path_buf()) {
            return Err(gone());
        }
        let album = albums::mark(&lib, &album, id, belongs).map_err(invalid)?;
        save(&mut lib, &viewer, album)
    })
    .await??;
    Ok(HttpResponse::Ok().json(view))
}
