//! `/api/search`: GET with a query string, POST multipart with an image.

use std::path::PathBuf;

use actix_multipart::Multipart;
use actix_web::{web, HttpResponse};
use futures_util::StreamExt;
use scry::query::{
    parse_query, take_album, Filters, SearchRequest, Term, Weighted, MAX_K, MAX_OFFSET,
    MAX_TEXT_CHARS,
};
use serde::Deserialize;

use crate::auth::Viewer;
use crate::server::{ApiError, AppState, MAX_UPLOAD_BYTES};
use crate::views::{HitView, QueryEcho, SearchPage};

/// Query parameters; unknown keys are refused (a typo must not silently widen a search).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The query: text, `like:ID`, weights and signs (`2:beach + sunset - people`).
    pub q: Option<String>,
    /// An image id: "more like this".
    #[param(value_type = Option<u64>)]
    #[schema(value_type = Option<u64>)]
    pub like: Option<String>,
    /// With `like` of a video: the moment, in seconds, whose frame to search
    /// like (a hit's `time`); the poster without it.
    #[param(value_type = Option<f64>)]
    #[schema(value_type = Option<f64>)]
    pub at: Option<String>,
    /// Only images under this folder.
    #[serde(rename = "in")]
    pub folder: Option<String>,
    /// Taken on or after this date (YYYY-MM-DD).
    #[param(format = Date)]
    #[schema(format = Date)]
    pub after: Option<String>,
    /// Taken before this date (YYYY-MM-DD).
    #[param(format = Date)]
    #[schema(format = Date)]
    pub before: Option<String>,
    /// Camera make or model contains this.
    pub camera: Option<String>,
    /// File format (jpeg, png, heic, …).
    pub format: Option<String>,
    /// The shorter side has at least this many pixels.
    #[param(value_type = Option<u32>)]
    #[schema(value_type = Option<u32>)]
    pub min_size: Option<String>,
    /// A smart album's name (also `album:NAME` inside `q`).
    pub album: Option<String>,
    /// Only photos taken near this place (EXIF GPS): a town or city
    /// ("Lisbon", "Paris, Texas"), a region, a country, or coordinates
    /// ("38.72,-9.14"). Also `place:NAME` or "… in CITY" inside `q`.
    pub near: Option<String>,
    /// How far from `near`, in km (default: by the town's size, 5 to 40 km).
    #[param(value_type = Option<f64>)]
    #[schema(value_type = Option<f64>)]
    pub radius: Option<String>,
    /// Results per page (1–1000, default 30).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub k: Option<String>,
    /// Results to skip (pagination).
    #[param(value_type = Option<u32>, maximum = 100000)]
    #[schema(value_type = Option<u32>, maximum = 100000)]
    pub offset: Option<String>,
    /// `true`: drop results below a threshold that adapts to the query.
    #[param(value_type = Option<bool>)]
    #[schema(value_type = Option<bool>)]
    pub cutoff: Option<String>,
    /// Phrases of `q` to leave as text although they read as dates (an undone
    /// chip: `march` in "the march of the penguins"), separated by `|`.
    pub keep: Option<String>,
    /// `true`: read no dates out of `q` at all.
    #[param(value_type = Option<bool>)]
    #[schema(value_type = Option<bool>)]
    pub literal: Option<String>,
}

/// A date ("last summer", "March 2019") or a place ("in Lisbon") read out of
/// the query: taken out of the text and applied as a filter. The UI shows it
/// as a removable chip.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(example = json!({"kind": "date", "text": "last summer", "label": "summer 2026",
    "after": "2026-06-01", "before": "2026-09-01"}))]
pub struct Understood {
    /// What was understood: `date` or `place`.
    pub kind: &'static str,
    /// The words as typed; send them in `keep` to undo.
    pub text: String,
    /// What scry understood, for people.
    pub label: String,
    /// First day (YYYY-MM-DD), if bounded.
    pub after: Option<String>,
    /// The day after the last one (YYYY-MM-DD, exclusive), if bounded.
    pub before: Option<String>,
}

fn flag(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("1" | "true" | "yes"))
}

/// `POST /api/search`: an image to search by, and the same fields as the query
/// parameters of `GET /api/search`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct SearchUpload {
    /// The image (JPEG, PNG, WebP, HEIC, …; at most 32 MB).
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
    q: Option<String>,
    k: Option<u32>,
    offset: Option<u32>,
}

fn number<T: std::str::FromStr>(
    name: &str,
    v: &Option<String>,
    default: T,
    max: u64,
) -> Result<T, ApiError> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => {
            let n: u64 = s.parse().map_err(|_| {
                ApiError::bad_request(
                    "invalid_parameter",
                    format!("{name} must be a whole number ≥ 0, got {s:?}"),
                )
            })?;
            if n > max {
                return Err(ApiError::bad_request(
                    "invalid_parameter",
                    format!("{name} must be at most {max}, got {n}"),
                ));
            }
            s.parse()
                .map_err(|_| ApiError::bad_request("invalid_parameter", format!("{name}: {s:?}")))
        }
    }
}

fn date(name: &str, v: &Option<String>) -> Result<Option<i64>, ApiError> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => scry::dates::parse_date(s).map(Some).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_parameter",
                format!("{name} must be a date YYYY-MM-DD, got {s:?}"),
            )
        }),
    }
}

impl SearchParams {
    /// Builds the engine request and says which dates it read out of `q`;
    /// `image` is an uploaded file.
    fn request(
        &self,
        image: Option<Vec<u8>>,
    ) -> Result<(SearchRequest, Vec<Understood>), ApiError> {
        let q = self.q.as_deref().unwrap_or("");
        if q.chars().count() > MAX_TEXT_CHARS {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("the query is longer than {MAX_TEXT_CHARS} characters"),
            ));
        }
        if q.chars().any(|c| c.is_control() && !c.is_whitespace()) {
            return Err(ApiError::bad_request(
                "invalid_query",
                "the query contains control characters",
            ));
        }
        let (q, inline_album) = take_album(q);
        // Dates typed into the box become a filter, the rest is the query.
        let keep: Vec<String> = self
            .keep
            .as_deref()
            .unwrap_or("")
            .split('|')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let has_images =
            self.like.as_deref().is_some_and(|l| !l.trim().is_empty()) || image.is_some();
        let near = match self
            .near
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(spec) => {
                let km = match self
                    .radius
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                {
                    Some(r) => Some(r.parse::<f64>().map_err(|_| {
                        ApiError::bad_request(
                            "invalid_parameter",
                            format!("radius must be a number of km, got {r:?}"),
                        )
                    })?),
                    None => None,
                };
                Some(scry::places::near(spec, km).map_err(|e| {
                    ApiError::bad_request("invalid_parameter", format!("near: {e}"))
                })?)
            }
            None if self.radius.as_deref().is_some_and(|r| !r.trim().is_empty()) => {
                return Err(ApiError::bad_request(
                    "invalid_parameter",
                    "radius needs near (the place to measure from)",
                ))
            }
            None => None,
        };
        let reading = scry::query::read(
            &q,
            scry::query::when::today_local(),
            &keep,
            flag(&self.literal),
            has_images,
            scry::query::Given {
                after: date("after", &self.after)?,
                before: date("before", &self.before)?,
                near,
            },
        )?;
        let q = reading.text;
        let chips: Vec<Understood> = reading
            .chips
            .into_iter()
            .map(|c| Understood {
                kind: c.kind,
                text: c.text,
                label: c.label,
                after: c.after,
                before: c.before,
            })
            .collect();
        let album = inline_album.or_else(|| {
            self.album
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        });
        // Server-side, a term never names a file on the server's disk.
        let mut terms: Vec<Weighted> = parse_query(&q)?
            .into_iter()
            .map(|w| match w.term {
                Term::ImageFile(p) => Weighted {
                    term: Term::Text(p.to_string_lossy().into_owned()),
                    weight: w.weight,
                },
                _ => w,
            })
            .collect();
        if self.at.is_some() && self.like.as_deref().is_none_or(|l| l.trim().is_empty()) {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                "at is the moment of a video given by like: give like too",
            ));
        }
        if let Some(like) = self
            .like
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let id = like.parse().map_err(|_| {
                ApiError::bad_request(
                    "invalid_parameter",
                    format!("like must be an image id, got {like:?}"),
                )
            })?;
            let at = match self.at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => None,
                Some(at) => Some(
                    at.parse::<f64>()
                        .ok()
                        .filter(|s| s.is_finite() && *s >= 0.0)
                        .ok_or_else(|| {
                            ApiError::bad_request(
                                "invalid_parameter",
                                format!("at must be a time in seconds, got {at:?}"),
                            )
                        })?,
                ),
            };
            terms.push(Weighted {
                term: match at {
                    Some(at) => Term::LikeFrame(id, at),
                    None => Term::Like(id),
                },
                weight: 1.0,
            });
        }
        if let Some(bytes) = image {
            terms.push(Weighted {
                term: Term::ImageBytes(bytes),
                weight: 1.0,
            });
        }
        let req = SearchRequest {
            terms,
            filters: Filters {
                folder: self
                    .folder
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(PathBuf::from),
                after: reading.after,
                before: reading.before,
                camera: self.camera.clone().filter(|s| !s.trim().is_empty()),
                format: self.format.clone().filter(|s| !s.trim().is_empty()),
                min_size: number("min_size", &self.min_size, 0u32, 1_000_000)
                    .map(|v| (v > 0).then_some(v))?,
                place: reading.place.map(|f| f.place),
                text: reading.in_text.clone(),
                album,
                tags: reading.tags.clone(),
                within: None,
            },
            k: number("k", &self.k, 30usize, MAX_K as u64)?,
            offset: number("offset", &self.offset, 0usize, MAX_OFFSET as u64)?,
            cutoff: flag(&self.cutoff),
        };
        Ok((req, chips))
    }
}

/// Runs a search from parameters (also used by /api/images/{id}/similar).
pub async fn search_with(
    state: web::Data<AppState>,
    params: SearchParams,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    run(state, params, None, viewer).await
}

async fn run(
    state: web::Data<AppState>,
    params: SearchParams,
    image: Option<Vec<u8>>,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let (mut req, understood) = params.request(image)?;
    // Only what the viewer may see, inside the search.
    req.filters.within = viewer.within();
    if req.k == 0 {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            "k must be at least 1",
        ));
    }
    let started = std::time::Instant::now();
    let (k, offset) = (req.k, req.offset);
    // Encoding a query is CPU work: off the async workers.
    let st = state.clone();
    let result = web::block(move || -> Result<_, ApiError> {
        if let Some(name) = req.filters.album.take() {
            // The viewer's album of that name, else the shared one.
            req.filters.album = Some(super::albums::resolve(&st.read(), &viewer, &name)?.key());
        }
        Ok(st.search(&req)?)
    })
    .await??;
    let hits: Vec<HitView> = result.hits.iter().map(HitView::new).collect();
    Ok(HttpResponse::Ok().json(SearchPage {
        query: QueryEcho {
            q: params.q,
            like: params.like,
            folder: params.folder,
            after: params.after,
            before: params.before,
        },
        understood,
        hits,
        offset,
        k,
        has_more: result.has_more,
        took_ms: (started.elapsed().as_secs_f64() * 1e4).round() / 10.0,
    }))
}

/// Whether a raw query string percent-decodes to UTF-8 (actix would otherwise
/// replace invalid bytes silently and search for something nobody typed).
fn query_is_utf8(raw: &str) -> bool {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    std::str::from_utf8(&out).is_ok()
}

/// Searches by text, example images and filters; keyword matches on file and
/// folder names are fused with the semantic ranking.
#[utoipa::path(get, path = "/api/search", tag = "search", params(SearchParams),
    responses((status = 200, body = SearchPage),
        (status = 400, description = "A bad parameter", body = ApiError),
        (status = 401, description = "Not signed in", body = ApiError),
        (status = 404, description = "like: an image that does not exist (or the caller cannot see); album: an unknown album", body = ApiError)))]
pub(crate) async fn get(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    params: web::Query<SearchParams>,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    if !query_is_utf8(req.query_string()) {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            "the query string is not valid UTF-8",
        ));
    }
    run(state, params.into_inner(), None, viewer).await
}

/// The bytes of one multipart part, within the upload limit.
pub(crate) async fn read_part(part: &mut actix_multipart::Field) -> Result<Vec<u8>, ApiError> {
    let mut data = Vec::new();
    while let Some(chunk) = part.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request("invalid_upload", e.to_string()))?;
        if data.len() + chunk.len() > MAX_UPLOAD_BYTES {
            return Err(ApiError {
                status: actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                code: "too_large",
                message: format!(
                    "uploads are limited to {} MB",
                    MAX_UPLOAD_BYTES / (1024 * 1024)
                ),
            });
        }
        data.extend_from_slice(&chunk);
    }
    Ok(data)
}

/// Multipart: an `image` file part plus the GET parameters as text fields.
/// Searches by an uploaded image (multipart).
#[utoipa::path(post, path = "/api/search", tag = "search",
    request_body(content = SearchUpload, content_type = "multipart/form-data"),
    responses((status = 200, body = SearchPage),
        (status = 400, description = "Not an image, or a bad field", body = ApiError),
        (status = 401, description = "Not signed in", body = ApiError),
        (status = 413, description = "Larger than 32 MB", body = ApiError)))]
pub(crate) async fn post(
    state: web::Data<AppState>,
    mut form: Multipart,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let mut fields = serde_json::Map::new();
    let mut image: Option<Vec<u8>> = None;
    while let Some(part) = form.next().await {
        let mut part = part.map_err(|e| ApiError::bad_request("invalid_upload", e.to_string()))?;
        let name = part.name().unwrap_or_default().to_string();
        let data = read_part(&mut part).await?;
        if name == "image" {
            image = Some(data);
        } else {
            let text = String::from_utf8(data).map_err(|_| {
                ApiError::bad_request("invalid_upload", format!("field {name} is not UTF-8 text"))
            })?;
            fields.insert(name, text.into());
        }
    }
    let params: SearchParams = serde_json::from_value(fields.into())
        .map_err(|e| ApiError::bad_request("invalid_parameter", e.to_string()))?;
    run(state, params, image, viewer).await
}
