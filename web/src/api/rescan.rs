//! `/api/rescan`: re-index one folder now.
//!
//! `POST /api/rescan` with `{"folder": "/abs/path"}` re-indexes that folder (it
//! must exist inside one of the library's roots, after resolving `..` and
//! symlinks); an empty body or `{}` re-indexes every root. The run goes on in the
//! background: 202 `{"started": true, "folder": …}` (`folder` is null for all
//! roots), and /api/status shows its progress. One run at a time: while another
//! is in progress (the initial index, the watcher, an earlier rescan) the answer
//! is 409 `{"code": "busy", …}` and nothing is started.

use std::path::{Path, PathBuf};

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::server::{ApiError, AppState};
use crate::views::RescanStarted;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RescanBody {
    /// An absolute folder inside one of the roots; every root when absent.
    #[schema(value_type = Option<String>)]
    folder: Option<PathBuf>,
}

fn invalid_folder(message: String) -> ApiError {
    ApiError::bad_request("invalid_folder", message)
}

/// The folder, canonical, if it is a folder inside one of the roots.
fn resolve(folder: &Path, roots: &[PathBuf]) -> Result<PathBuf, ApiError> {
    let shown = folder.display();
    if !folder.is_absolute() {
        return Err(invalid_folder(format!(
            "{shown}: give the folder as an absolute path"
        )));
    }
    let canonical = std::fs::canonicalize(folder).map_err(|e| {
        invalid_folder(match e.kind() {
            std::io::ErrorKind::NotFound => format!("{shown}: folder not found"),
            _ => format!("{shown}: cannot open it ({e})"),
        })
    })?;
    if !canonical.is_dir() {
        return Err(invalid_folder(format!("{shown}: not a folder")));
    }
    if !roots.iter().any(|r| canonical.starts_with(r)) {
        let resolved = if canonical != folder {
            format!(" (it is {})", canonical.display())
        } else {
            String::new()
        };
        return Err(invalid_folder(format!(
            "{shown}{resolved}: not inside the library's folders ({})",
            roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(canonical)
}

/// Looks for new, changed and removed photos now, in the background (admins).
#[utoipa::path(post, path = "/api/rescan", tag = "library", request_body(content = Option<RescanBody>),
    responses((status = 202, body = RescanStarted), (status = 400, description = "A folder outside the roots", body = ApiError), (status = 401, description = "Not signed in", body = ApiError),
        (status = 403, description = "Not an admin", body = ApiError),
        (status = 409, description = "A run is in progress, or the library is read-only", body = ApiError)))]
pub(crate) async fn rescan(
    state: web::Data<AppState>,
    body: web::Bytes,
    viewer: crate::auth::Viewer,
) -> Result<HttpResponse, ApiError> {
    // The route is Admin in the endpoint table; checked here too.
    viewer.require_admin()?;
    let body: RescanBody = if body.iter().all(u8::is_ascii_whitespace) {
        RescanBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request("invalid_json", e.to_string()))?
    };
    if state.read().is_snapshot() {
        return Err(ApiError {
            status: StatusCode::CONFLICT,
            code: "read_only",
            message: "the library folder cannot be written (read-only or full disk): it cannot \
                      be re-indexed now"
                .into(),
        });
    }
    let roots = state.read().roots()?;
    let folder = match &body.folder {
        Some(f) => Some(resolve(f, &roots)?),
        None if roots.is_empty() => {
            return Err(ApiError::bad_request(
                "invalid_folder",
                "the library has no folders yet: index one with `scry index FOLDER`",
            ))
        }
        None => None,
    };
    let folders: Vec<PathBuf> = folder.iter().cloned().collect();
    let shared = state.into_inner();
    let started = web::block(move || AppState::start_index(&shared, folders))
        .await?
        .map_err(|e| ApiError::internal(format!("cannot start indexing: {e}")))?;
    if !started {
        return Err(ApiError {
            status: StatusCode::CONFLICT,
            code: "busy",
            message: "an indexing run is in progress; try again when /api/status says it is over"
                .into(),
        });
    }
    Ok(HttpResponse::Accepted().json(RescanStarted {
        started: true,
        folder: folder.map(|f| f.display().to_string()),
    }))
}
