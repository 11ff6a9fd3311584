//! `/api/session` (sign in with a token, sign out) and `/api/me` (who is
//! signed in). The UI's sign-in page posts the token here; the answer sets the
//! HttpOnly cookie that the browser then sends with every request.

use crate::views::{Me, SignedOut};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::auth::{self, Viewer};
use crate::server::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "scry_1a2b3c4d_5e6f…"}))]
pub(crate) struct SignIn {
    token: String,
}

/// Signs in with a token: the answer sets the HttpOnly cookie the browser then
/// sends. Wrong tokens count against the address (429 past 10 a minute).
#[utoipa::path(post, path = "/api/session", tag = "session", security(()), request_body = SignIn,
    responses((status = 200, body = Me), (status = 401, description = "Not a valid token", body = ApiError),
        (status = 429, description = "Too many failed sign-ins from this address", body = ApiError)))]
pub(crate) async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<SignIn>,
) -> Result<HttpResponse, ApiError> {
    let ip = auth::peer_ip(&req);
    state.auth.limit(ip)?;
    let token = body.into_inner().token.trim().to_string();
    let viewer = if token.is_empty() || token.len() > 256 {
        None
    } else {
        state.auth.by_token(&state, &token).await?
    };
    let Some(viewer) = viewer else {
        state.auth.sign_in_failed(ip);
        return Err(ApiError {
            status: actix_web::http::StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: "this token is not valid here".into(),
        });
    };
    let https = req.connection_info().scheme() == "https";
    Ok(HttpResponse::Ok()
        .insert_header((header::SET_COOKIE, auth::session_cookie(&token, https)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(me_json(&viewer)))
}

/// Signs out: clears the cookie.
#[utoipa::path(delete, path = "/api/session", tag = "session", security(()),
    responses((status = 200, body = SignedOut)))]
pub(crate) async fn sign_out() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::SET_COOKIE, auth::cleared_cookie()))
        .json(SignedOut { signed_out: true })
}

fn me_json(v: &Viewer) -> Me {
    Me {
        user: v.name.clone(),
        admin: v.admin,
        roots: v
            .within()
            .map(|r| r.iter().map(|p| p.display().to_string()).collect()),
        via: v.via.to_string(),
    }
}

/// Who is signed in, their role and folders.
#[utoipa::path(get, path = "/api/me", tag = "session",
    responses((status = 200, body = Me), (status = 401, description = "Not signed in", body = ApiError)))]
pub(crate) async fn me(viewer: Viewer) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(me_json(&viewer))
}
