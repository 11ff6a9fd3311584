//! `/api/tags`: the auto-tags of what the caller can see, with counts (the
//! facets), and the library's own categories.

use actix_web::{web, HttpResponse};
use scry::access::Visibility;
use scry::tags;

use crate::auth::Viewer;
use crate::server::{ApiError, AppState};
use crate::views::{TagCategories, TagCount, TagFacets};

/// How many of the caller's images carry each auto-tag (`tag:NAME` in a
/// query), most first; tags no visible image carries are left out.
#[utoipa::path(get, path = "/api/tags", tag = "tags",
    responses((status = 200, body = TagFacets), (status = 401, description = "Not signed in", body = ApiError)))]
pub(crate) async fn list_tags(
    state: web::Data<AppState>,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    let page = web::block(move || -> Result<TagFacets, ApiError> {
        let lib = st.read();
        let model = st.model_for(&lib)?;
        let (tagger, table) = st.cache.tags.table(&lib, &model, |_| {})?;
        let (images, counted) = match &viewer.visibility {
            Visibility::All => (table.images(), table.facets(|_| true)),
            Visibility::Within(roots) => {
                let filters = scry::query::Filters {
                    within: Some(roots.clone()),
                    ..Default::default()
                };
                let scope = scry::home::Scope {
                    filters: &filters,
                    members: None,
                    exclude: &[],
                };
                let seen: std::collections::HashSet<_> = lib.ids_in(&scope)?.into_iter().collect();
                (seen.len(), table.facets(|id| seen.contains(&id)))
            }
        };
        Ok(TagFacets {
            images,
            vocabulary: tagger.names().len(),
            categories: lib.categories()?,
            tags: counted
                .into_iter()
                .map(|(category, count)| TagCount {
                    tag: tags::keyword(&category),
                    category,
                    count,
                })
                .collect(),
        })
    })
    .await??;
    Ok(HttpResponse::Ok().json(page))
}

/// Adds a category to the library's vocabulary (admins): every image is
/// tagged with it from its stored vector, nothing is re-embedded.
#[utoipa::path(put, path = "/api/tags/categories/{name}", tag = "tags",
    params(("name" = String, Path, description = "1–40 letters, digits, spaces, - or '")),
    responses((status = 200, body = TagCategories),
        (status = 400, description = "Not a category name", body = ApiError),
        (status = 403, description = "Not an admin", body = ApiError),
        (status = 409, description = "The library cannot be written", body = ApiError)))]
pub(crate) async fn add_category(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    change_categories(state, move |lib| {
        lib.add_category(&name).map_err(invalid)?;
        Ok(())
    })
    .await
}

/// Removes one of the library's own categories (admins).
#[utoipa::path(delete, path = "/api/tags/categories/{name}", tag = "tags",
    params(("name" = String, Path, description = "the category or its tag")),
    responses((status = 200, body = TagCategories),
        (status = 400, description = "A built-in category", body = ApiError),
        (status = 403, description = "Not an admin", body = ApiError),
        (status = 404, description = "No such category of the library's own", body = ApiError)))]
pub(crate) async fn remove_category(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    change_categories(state, move |lib| {
        if lib.remove_category(&name).map_err(invalid)? {
            return Ok(());
        }
        Err(ApiError::not_found(format!(
            "the library has no category of its own named {:?}",
            name.as_str()
        )))
    })
    .await
}

fn invalid(e: scry::Error) -> ApiError {
    match e {
        scry::Error::InvalidArgument(m) => ApiError::bad_request("invalid_category", m),
        other => other.into(),
    }
}

/// Runs `change` on the library (which must be writable) and answers the
/// library's own categories after it.
async fn change_categories(
    state: web::Data<AppState>,
    change: impl FnOnce(&mut scry::Library) -> Result<(), ApiError> + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    super::albums::writable(&state)?;
    let st = state.clone();
    let categories = web::block(move || -> Result<Vec<String>, ApiError> {
        let mut lib = st.write();
        change(&mut lib)?;
        Ok(lib.categories()?)
    })
    .await??;
    Ok(HttpResponse::Ok().json(TagCategories { categories }))
}
