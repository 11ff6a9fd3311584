//! Who is asking, and what they may do: every API request goes through
//! [`check`], which finds the endpoint in [`crate::api::ENDPOINTS`], resolves the
//! caller ([`Viewer`]) and applies the endpoint's [`Rule`]. Handlers take the
//! `Viewer` and pass its [`Visibility`] into the engine, which narrows every
//! search and every read of an image to it.
//!
//! A caller is known by (in this order):
//! - a trusted reverse proxy's user header (oauth2-proxy, Authelia, Authentik,
//!   Pomerium set it after single sign-on), only from the addresses named with
//!   `--trust-proxy-from`; the same header from any other address is refused;
//! - a token: `Authorization: Bearer …` or the UI's HttpOnly cookie — a user's
//!   token (checked against its Argon2 hash once, then remembered by its BLAKE3
//!   hash) or the server's own `--token` (an admin);
//! - nothing, on a server with no users, no token and no proxy: the loopback
//!   server of one person, who sees everything.
//!
//! Failed attempts are counted per address: past [`MAX_FAILURES`] in
//! [`FAILURE_WINDOW`], that address gets 429 until the window ends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderName};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, ResponseError};
use scry::access::{Access, Visibility};

use crate::api::Rule;
use crate::server::{ApiError, AppState};

/// Failed authentications an address may make per [`FAILURE_WINDOW`].
pub const MAX_FAILURES: u32 = 10;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// How long the users and groups read from the library are used before they
/// are read again (a `scry user remove` takes effect within this).
const ACCESS_TTL: Duration = Duration::from_secs(1);

/// The cookie the browser UI carries the token in (HttpOnly, SameSite=Strict).
pub const TOKEN_COOKIE: &str = "scry_token";

/// Who is asking, as the handlers see it.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The user's name (`None` on a server without users, or for the server's
    /// own token).
    pub name: Option<String>,
    pub admin: bool,
    pub visibility: Visibility,
    /// How they were recognised: `token`, `proxy` or `open` (no users).
    pub via: &'static str,
}

impl Viewer {
    fn everyone(via: &'static str) -> Self {
        Viewer {
            name: None,
            admin: true,
            visibility: Visibility::All,
            via,
        }
    }

    /// The folders a search is narrowed to (`None`: everything).
    pub fn within(&self) -> Option<Vec<std::path::PathBuf>> {
        self.visibility.within()
    }

    /// Refuses (403) anyone but an admin.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.admin {
            Ok(())
        } else {
            Err(ApiError {
                status: StatusCode::FORBIDDEN,
                code: "admin_only",
                message: "only an admin may do this".into(),
            })
        }
    }

    /// Whether this viewer may see the image at `path`.
    pub fn sees(&self, path: &std::path::Path) -> bool {
        self.visibility.sees(path)
    }
}

impl FromRequest for Viewer {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        // Put there by `check` for every endpoint that is not public.
        std::future::ready(
            req.extensions()
                .get::<Viewer>()
                .cloned()
                .ok_or_else(ApiError::unauthorized),
        )
    }
}

/// The server's own access token (`--token`), kept as its BLAKE3 hash:
/// checking compares two hashes in constant time (`blake3::Hash`'s equality
/// is), so neither the token's bytes nor its length leak through timing.
#[derive(Clone)]
pub struct AccessToken(blake3::Hash);

impl AccessToken {
    pub fn new(token: &str) -> Self {
        Self(blake3::hash(token.as_bytes()))
    }

    pub fn accepts(&self, presented: &str) -> bool {
        blake3::hash(presented.as_bytes()) == self.0
    }
}

/// `--trust-proxy-header`: a reverse proxy that signs people in and names them.
#[derive(Debug, Clone)]
pub struct ProxyTrust {
    pub user_header: HeaderName,
    /// Comma-separated group names (`X-Forwarded-Groups`), mapped to scry groups.
    pub groups_header: Option<HeaderName>,
    /// The proxy's addresses; the header from anywhere else is refused.
    pub from: Vec<IpAddr>,
}

/// What the server knows about identities.
#[derive(Default)]
pub struct Auth {
    /// The server's own token (`--token`): an admin.
    pub token: Option<AccessToken>,
    pub proxy: Option<ProxyTrust>,
    access: Mutex<Option<(Instant, Arc<Access>)>>,
    /// Tokens verified already: BLAKE3 of the token → (user, the hash it matched).
    verified: Mutex<HashMap<blake3::Hash, (String, String)>>,
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Auth {
    pub fn new(token: Option<AccessToken>, proxy: Option<ProxyTrust>) -> Self {
        Auth {
            token,
            proxy,
            ..Default::default()
        }
    }

    /// The users and groups, read from the library at most once a second.
    fn access(&self, state: &AppState) -> Result<Arc<Access>, ApiError> {
        let mut slot = self
            .access
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, a)) = slot.as_ref() {
            if at.elapsed() < ACCESS_TTL {
                return Ok(a.clone());
            }
        }
        let a = Arc::new(state.read().access()?);
        *slot = Some((Instant::now(), a.clone()));
        Ok(a)
    }

    /// Forgets the users read (after a change made by this server).
    pub fn reload(&self) {
        *self
            .access
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// Seconds until `ip` may try again, when it has failed too often.
    fn locked_out(&self, ip: IpAddr) -> Option<u64> {
        let f = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (start, n) = f.get(&ip)?;
        let left = FAILURE_WINDOW.checked_sub(start.elapsed())?;
        (*n >= MAX_FAILURES).then(|| left.as_secs().max(1))
    }

    fn failed(&self, ip: IpAddr) {
        let mut f = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if f.len() > 100_000 {
            f.retain(|_, (start, _)| start.elapsed() < FAILURE_WINDOW);
        }
        let e = f.entry(ip).or_insert((Instant::now(), 0));
        if e.0.elapsed() >= FAILURE_WINDOW {
            *e = (Instant::now(), 0);
        }
        e.1 += 1;
        tracing::warn!("failed authentication from {ip} ({} in this minute)", e.1);
    }

    /// The viewer a token belongs to (the token itself is never logged).
    pub async fn by_token(
        &self,
        state: &web::Data<AppState>,
        token: &str,
    ) -> Result<Option<Viewer>, ApiError> {
        if self.token.as_ref().is_some_and(|t| t.accepts(token)) {
            return Ok(Some(Viewer::everyone("token")));
        }
        let access = self.access(state)?;
        let key = blake3::hash(token.as_bytes());
        let known = self
            .verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .cloned();
        let name = match known {
            // Still valid only while the user has the same token hash.
            Some((name, hash))
                if access
                    .users
                    .get(&name)
                    .is_some_and(|u| u.token_hash == hash) =>
            {
                Some(name)
            }
            _ => {
                // Argon2 is slow by design: off the async workers.
                let (a, t) = (access.clone(), token.to_string());
                let name = web::block(move || a.authenticate(&t).map(str::to_string)).await?;
                if let Some(n) = &name {
                    let mut v = self
                        .verified
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    if v.len() > 10_000 {
                        v.clear();
                    }
                    v.insert(key, (n.clone(), access.users[n].token_hash.clone()));
                }
                name
            }
        };
        Ok(name.and_then(|n| {
            let visibility = access.visibility(&n, &[])?;
            Some(Viewer {
                admin: visibility == Visibility::All,
                name: Some(n),
                visibility,
                via: "token",
            })
        }))
    }

    /// Who sent `req`: `Ok(None)` when it carries no identity at all.
    async fn identify(
        &self,
        state: &web::Data<AppState>,
        req: &HttpRequest,
        ip: Option<IpAddr>,
    ) -> Result<Option<Viewer>, Refusal> {
        if let Some(proxy) = &self.proxy {
            if let Some(user) = req.headers().get(&proxy.user_header) {
                if !ip.is_some_and(|ip| proxy.from.contains(&ip)) {
                    return Err(Refusal::Failed(format!(
                        "the {} header is accepted only from the trusted proxy",
                        proxy.user_header
                    )));
                }
                let user = user.to_str().unwrap_or("").trim().to_string();
                let groups: Vec<String> = proxy
                    .groups_header
                    .as_ref()
                    .and_then(|h| req.headers().get(h))
                    .and_then(|v| v.to_str().ok())
                    .map(|v| {
                        v.split(',')
                            .map(|g| g.trim().to_string())
                            .filter(|g| !g.is_empty())
                            .collect()
                    })
                    .unwrap_or_default();
                let access = self.access(state).map_err(Refusal::Error)?;
                let visibility = access
                    .visibility(&user, &groups)
                    .or_else(|| access.group_visibility(&groups));
                return match visibility {
                    Some(visibility) if !user.is_empty() => Ok(Some(Viewer {
                        admin: visibility == Visibility::All,
                        name: Some(user),
                        visibility,
                        via: "proxy",
                    })),
                    _ => Err(Refusal::Forbidden(format!(
                        "{user:?} is signed in but has no access to this library: an admin \
                         adds them with `scry user add` or maps one of their groups with \
                         `scry group add`"
                    ))),
                };
            }
        }
        match presented_token(req) {
            Some(token) => match self.by_token(state, &token).await {
                Ok(Some(v)) => Ok(Some(v)),
                Ok(None) => Err(Refusal::Failed("this token is not valid here".into())),
                Err(e) => Err(Refusal::Error(e)),
            },
            None => Ok(None),
        }
    }

    /// Whether the server needs no identity at all (no users, no token, no
    /// proxy): one person's loopback server.
    fn open(&self, state: &AppState) -> Result<bool, ApiError> {
        Ok(self.token.is_none() && self.proxy.is_none() && !self.access(state)?.has_users())
    }

    /// Counts a failed sign-in (a wrong token sent to `POST /api/session`).
    pub fn sign_in_failed(&self, ip: Option<IpAddr>) {
        if let Some(ip) = ip {
            self.failed(ip);
        }
    }

    /// 429 for an address that failed too often.
    pub fn limit(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        match ip.and_then(|ip| self.locked_out(ip)) {
            Some(secs) => Err(ApiError {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: "too_many_attempts",
                message: format!(
                    "too many failed sign-ins from this address: try again in {secs} s"
                ),
            }),
            None => Ok(()),
        }
    }
}

enum Refusal {
    /// A wrong credential: 401, counted against the address.
    Failed(String),
    /// Known, but with nothing to see here: 403.
    Forbidden(String),
    Error(ApiError),
}

/// The token a request presents: `Authorization: Bearer …` or the UI's cookie.
pub fn presented_token(req: &HttpRequest) -> Option<String> {
    let headers = req.headers();
    if let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return auth.strip_prefix("Bearer ").map(|t| t.trim().to_string());
    }
    headers
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(TOKEN_COOKIE)?.strip_prefix('='))
        .map(str::to_string)
}

/// The address the request came from (the TCP peer: never a header a client
/// could write).
pub fn peer_ip(req: &HttpRequest) -> Option<IpAddr> {
    req.peer_addr().map(|a| a.ip())
}

/// The middleware of `/api`: finds the endpoint, resolves the caller and
/// applies the endpoint's rule; refuses writes from other sites.
pub async fn check(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<
    actix_web::dev::ServiceResponse<actix_web::body::EitherBody<impl actix_web::body::MessageBody>>,
    actix_web::Error,
> {
    let refuse = |req: actix_web::dev::ServiceRequest, e: ApiError| {
        Ok(req.into_response(e.error_response()).map_into_right_body())
    };
    if cross_site_write(req.request()) {
        return refuse(
            req,
            ApiError {
                status: StatusCode::FORBIDDEN,
                code: "cross_site",
                message: "requests that change something must come from scry's own pages".into(),
            },
        );
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return refuse(req, ApiError::internal("no server state"));
    };
    // The path as the router sees it (percent-escapes of plain characters
    // decoded: `/metric%73` is `/metrics`), so no spelling slips past a rule.
    // Unknown paths answer 404 from the default service, to anyone.
    let rule = crate::api::rule_for(req.method(), req.match_info().as_str());
    if matches!(rule, None | Some(Rule::Public)) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let auth = &state.auth;
    let ip = peer_ip(req.request());
    if let Err(e) = auth.limit(ip) {
        return refuse(req, e);
    }
    let viewer = match auth.identify(&state, req.request(), ip).await {
        Ok(Some(v)) => v,
        Ok(None) => match auth.open(&state) {
            Ok(true) => Viewer::everyone("open"),
            Ok(false) => return refuse(req, ApiError::unauthorized()),
            Err(e) => return refuse(req, e),
        },
        Err(Refusal::Failed(m)) => {
            if let Some(ip) = ip {
                auth.failed(ip);
            }
            return refuse(
                req,
                ApiError {
                    status: StatusCode::UNAUTHORIZED,
                    code: "unauthorized",
                    message: m,
                },
            );
        }
        Err(Refusal::Forbidden(m)) => {
            return refuse(
                req,
                ApiError {
                    status: StatusCode::FORBIDDEN,
                    code: "no_access",
                    message: m,
                },
            )
        }
        Err(Refusal::Error(e)) => return refuse(req, e),
    };
    if rule == Some(Rule::Admin) {
        if let Err(e) = viewer.require_admin() {
            return refuse(req, e);
        }
    }
    req.extensions_mut().insert(viewer);
    Ok(next.call(req).await?.map_into_left_body())
}

/// A request that changes something (not GET/HEAD), sent by a browser from
/// another site: another page could otherwise make a visitor's browser start a
/// re-index or edit albums on a loopback server without a token. Browsers mark
/// every request with `Sec-Fetch-Site`; other clients don't send it.
fn cross_site_write(req: &HttpRequest) -> bool {
    if matches!(
        *req.method(),
        actix_web::http::Method::GET | actix_web::http::Method::HEAD
    ) {
        return false;
    }
    req.headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !matches!(v, "same-origin" | "none"))
}

/// The `Set-Cookie` value that signs the browser in with `token`.
pub fn session_cookie(token: &str, secure: bool) -> String {
    format!(
        "{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that signs the browser out.
pub fn cleared_cookie() -> String {
    format!("{TOKEN_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}
