//! `/api/dupes`: duplicate groups in three tiers, with a suggested keeper.
//! Read-only: the API never deletes a file.

use std::sync::Mutex;

use actix_web::{web, HttpResponse};
use scry::dupes::{DupeOptions, Tier};
use serde::Deserialize;
use serde_json::json;

use crate::server::{ApiError, AppState};
use crate::views::DupeGroupView;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DupesParams {
    tier: Option<String>,
}

/// The last answer, valid while the catalog generation is the same: finding
/// groups walks every image's neighbours.
type Cached = (u64, Option<Tier>, Vec<DupeGroupView>);
static CACHE: Mutex<Option<Cached>> = Mutex::new(None);

async fn dupes(
    state: web::Data<AppState>,
    params: web::Query<DupesParams>,
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
        let mut cache = CACHE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((g, t, groups)) = cache.as_ref() {
            if *g == generation && *t == tier {
                return Ok(groups.clone());
            }
        }
        let groups: Vec<DupeGroupView> = scry::dupes::find(&lib, tier, &DupeOptions::default())?
            .iter()
            .map(|g| DupeGroupView::new(&lib, g))
            .collect::<scry::Result<_>>()?;
        *cache = Some((generation, tier, groups.clone()));
        Ok(groups)
    })
    .await??;
    let count = |t: &str| groups.iter().filter(|g| g.tier == t).count();
    Ok(HttpResponse::Ok().json(json!({
        "counts": {"exact": count("exact"), "near": count("near"), "similar": count("similar")},
        "groups": groups,
    })))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/dupes", web::get().to(dupes));
}
