//! `/api/dupes`: duplicate groups in three tiers, with a suggested keeper.
//! Read-only: the API never deletes a file.

use std::sync::Mutex;

use actix_web::{web, HttpResponse};
use scry::dupes::{DupeOptions, Tier};
use serde::Deserialize;

use std::path::PathBuf;

use crate::auth::Viewer;
use crate::server::{ApiError, AppState};
use crate::views::{DupeCounts, DupeGroupView, Dupes};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DupesParams {
    /// `exact`, `near`, `similar` or `all` (default).
    tier: Option<String>,
}

/// The last answer, valid while the catalog generation is the same: finding
/// groups walks every image's neighbours.
/// The answers by viewer (their folders) as well.
type Cached = (u64, Option<Tier>, Option<Vec<PathBuf>>, Vec<DupeGroupView>);
static CACHE: Mutex<Vec<Cached>> = Mutex::new(Vec::new());
/// Answers kept (one per recent viewer and tier).
const CACHED: usize = 16;

/// Duplicate groups in three tiers, each with a suggested keeper; read-only.
#[utoipa::path(get, path = "/api/dupes", tag = "library", params(DupesParams),
    responses((status = 200, body = Dupes), (status = 400, description = "An unknown tier", body = ApiError), (status = 401, description = "Not signed in", body = ApiError)))]
pub(crate) async fn dupes(
    state: web::Data<AppState>,
    params: web::Query<DupesParams>,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let tier: Option<Tier> = match params.tier.as_deref().map(str::trim) {
        None | Some("") | Some("all") => None,
        Some(t) => Some(t.parse().map_err(|m: String| {
            ApiError::bad_request("invalid_parameter", format!("tier: {m}"))
        })?),
    };
    let st = state.clone();
    let groups = web::block(move || -> Result<Vec<DupeGroupView>, ApiError> {
        let lib = st.read();
        let generation = lib.generation()?;
        let within = viewer.within();
        let mut cache = CACHE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.retain(|(g, ..)| *g == generation);
        if let Some((.., groups)) = cache.iter().find(|(_, t, w, _)| *t == tier && *w == within) {
            return Ok(groups.clone());
        }
        let opts = DupeOptions {
            within: within.clone(),
            ..DupeOptions::default()
        };
        let groups: Vec<DupeGroupView> = scry::dupes::find(&lib, tier, &opts)?
            .iter()
            .map(|g| DupeGroupView::new(&lib, g))
            .collect::<scry::Result<_>>()?;
        if cache.len() >= CACHED {
            cache.remove(0);
        }
        cache.push((generation, tier, within, groups.clone()));
        Ok(groups)
    })
    .await??;
    let count = |t: &str| groups.iter().filter(|g| g.tier == t).count();
    Ok(HttpResponse::Ok().json(Dupes {
        counts: DupeCounts {
            exact: count("exact"),
            near: count("near"),
            similar: count("similar"),
        },
        groups,
    }))
}
