//! The JSON API, one file per resource, and [`ENDPOINTS`]: every route with its
//! access rule. Routes are registered from that table only, and the access
//! middleware ([`crate::auth::check`]) reads the rule from it, so no route can
//! exist without a rule (and the access test, driven by the table, fails for a
//! route it does not know).

pub mod albums;
pub mod dupes;
pub mod embed;
pub mod images;
pub mod openapi;
pub mod rescan;
pub mod search;
pub mod session;
pub mod status;
pub mod tags;

use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use actix_web::web;

/// Who may call an endpoint. What a caller then sees is narrowed to their
/// folders inside the engine (see each endpoint's `enforces`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Anyone (answers nothing about the library).
    Public,
    /// A signed-in user (anyone, on a server without users).
    Signed,
    /// An admin (or the server's own token; anyone on a server without users).
    Admin,
}

/// One route of the API.
pub struct Endpoint {
    pub method: &'static str,
    /// The whole path pattern (`/api/…`, or `/metrics`).
    pub path: &'static str,
    pub rule: Rule,
    /// What a signed-in user gets from it, in words (for the docs and reviews).
    pub enforces: &'static str,
    route: fn() -> actix_web::Route,
}

/// Every API route. Two entries with the same method and path (one guarded)
/// share a rule.
pub static ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: "GET",
        path: "/api/health",
        rule: Rule::Public,
        enforces: "answers {ok: true}; nothing about the library",
        route: || web::get().to(status::health),
    },
    Endpoint {
        method: "POST",
        path: "/api/session",
        rule: Rule::Public,
        enforces: "signs in: a valid token becomes the HttpOnly cookie; wrong tokens count \
                   against the address (429 past 10 a minute)",
        route: || web::post().to(session::sign_in),
    },
    Endpoint {
        method: "DELETE",
        path: "/api/session",
        rule: Rule::Public,
        enforces: "signs out: clears the cookie",
        route: || web::delete().to(session::sign_out),
    },
    Endpoint {
        method: "GET",
        path: "/api/openapi.json",
        rule: Rule::Public,
        enforces: "the API's OpenAPI document; nothing about the library",
        route: || web::get().to(openapi::openapi_json),
    },
    Endpoint {
        method: "GET",
        path: "/metrics",
        rule: Rule::Admin,
        enforces: "counts and timings by route pattern, library size, indexing progress: \
                   no image, path or user in any label; admins only (it covers every folder)",
        route: || web::get().to(crate::metrics::metrics),
    },
    Endpoint {
        method: "GET",
        path: "/api/me",
        rule: Rule::Signed,
        enforces: "the caller's own name, role and folders",
        route: || web::get().to(session::me),
    },
    Endpoint {
        method: "GET",
        path: "/api/search",
        rule: Rule::Signed,
        enforces: "results only from the caller's folders, filtered inside the vector and \
                   keyword search (k results when k are visible); like:ID of an image the \
                   caller cannot see is 404; album: names the caller's or a shared album",
        route: || web::get().to(search::get),
    },
    Endpoint {
        method: "POST",
        path: "/api/search",
        rule: Rule::Signed,
        enforces: "as GET /search, for an uploaded image",
        route: || web::post().to(search::post),
    },
    Endpoint {
        method: "GET",
        path: "/api/images/{id}",
        rule: Rule::Signed,
        enforces: "404 unless the image is under the caller's folders",
        route: || web::get().to(images::meta),
    },
    Endpoint {
        method: "GET",
        path: "/api/images/{id}/thumbnail",
        rule: Rule::Signed,
        enforces: "404 unless the image is under the caller's folders",
        route: || web::get().to(images::thumbnail),
    },
    Endpoint {
        method: "GET",
        path: "/api/images/{id}/original",
        rule: Rule::Signed,
        enforces: "404 unless the image is under the caller's folders (and the file under \
                   a library root)",
        route: || web::get().to(images::original),
    },
    Endpoint {
        method: "GET",
        path: "/api/images/{id}/motion",
        rule: Rule::Signed,
        enforces: "404 unless the photo is under the caller's folders (and its clip under \
                   a library root)",
        route: || web::get().to(images::motion),
    },
    Endpoint {
        method: "GET",
        path: "/api/images/{id}/display",
        rule: Rule::Signed,
        enforces: "404 unless the image is under the caller's folders",
        route: || web::get().to(images::display),
    },
    Endpoint {
        method: "GET",
        path: "/api/images/{id}/similar",
        rule: Rule::Signed,
        enforces: "404 unless the image is visible; similar images only from the caller's \
                   folders",
        route: || web::get().to(images::similar),
    },
    Endpoint {
        method: "GET",
        path: "/api/status",
        rule: Rule::Signed,
        enforces: "the number of images the caller can see and their folders; indexing \
                   progress counts for admins only",
        route: || web::get().to(status::status),
    },
    Endpoint {
        method: "GET",
        path: "/api/dupes",
        rule: Rule::Signed,
        enforces: "groups made from the caller's images only (never through another's)",
        route: || web::get().to(dupes::dupes),
    },
    Endpoint {
        method: "GET",
        path: "/api/albums",
        rule: Rule::Signed,
        enforces: "the caller's own albums and the shared ones, counts of visible members",
        route: || web::get().to(albums::list),
    },
    Endpoint {
        method: "POST",
        path: "/api/albums",
        rule: Rule::Signed,
        enforces: "the album is the caller's (an admin may make it shared); an example image \
                   must be visible",
        route: || web::post().to(albums::create),
    },
    Endpoint {
        method: "GET",
        path: "/api/albums/{name}",
        rule: Rule::Signed,
        enforces: "the caller's or a shared album (another's is 404); members and previews \
                   only from the caller's folders",
        route: || web::get().to(albums::show),
    },
    Endpoint {
        method: "PATCH",
        path: "/api/albums/{name}",
        rule: Rule::Signed,
        enforces: "the caller's own album; a shared one only by an admin (403)",
        route: || web::patch().to(albums::update),
    },
    Endpoint {
        method: "DELETE",
        path: "/api/albums/{name}",
        rule: Rule::Signed,
        enforces: "the caller's own album; a shared one only by an admin (403)",
        route: || web::delete().to(albums::remove),
    },
    Endpoint {
        method: "POST",
        path: "/api/albums/{name}/marks",
        rule: Rule::Signed,
        enforces: "the caller's own album (a shared one only by an admin, 403); the marked \
                   image must be visible (404)",
        route: || web::post().to(albums::mark),
    },
    Endpoint {
        method: "GET",
        path: "/api/tags",
        rule: Rule::Signed,
        enforces: "tag counts over the caller's images only; the library's own categories",
        route: || web::get().to(tags::list_tags),
    },
    Endpoint {
        method: "PUT",
        path: "/api/tags/categories/{name}",
        rule: Rule::Admin,
        enforces: "admins only (403 for users): the vocabulary is the library's",
        route: || web::put().to(tags::add_category),
    },
    Endpoint {
        method: "DELETE",
        path: "/api/tags/categories/{name}",
        rule: Rule::Admin,
        enforces: "admins only (403 for users)",
        route: || web::delete().to(tags::remove_category),
    },
    Endpoint {
        method: "POST",
        path: "/api/rescan",
        rule: Rule::Admin,
        enforces: "admins only (403 for users)",
        route: || web::post().to(rescan::rescan),
    },
    Endpoint {
        method: "POST",
        path: "/api/embed",
        rule: Rule::Signed,
        enforces: "embeds only what the caller sends (no image of the library)",
        route: || web::post().guard(embed::is_json()).to(embed::post_json),
    },
    Endpoint {
        method: "POST",
        path: "/api/embed",
        rule: Rule::Signed,
        enforces: "as above, multipart",
        route: || web::post().to(embed::post_multipart),
    },
];

fn patterns() -> &'static [ResourceDef] {
    static DEFS: std::sync::OnceLock<Vec<ResourceDef>> = std::sync::OnceLock::new();
    DEFS.get_or_init(|| ENDPOINTS.iter().map(|e| ResourceDef::new(e.path)).collect())
}

/// The rule of the endpoint a request is for.
pub fn rule_for(method: &Method, path: &str) -> Option<Rule> {
    ENDPOINTS
        .iter()
        .zip(patterns())
        .find(|(e, def)| e.method == method.as_str() && def.is_match(path))
        .map(|(e, _)| e.rule)
}

/// The resources of the endpoints whose path starts with `prefix`, the
/// prefix taken off: one resource per path, its routes in table order.
fn resources(prefix: &str) -> Vec<actix_web::Resource> {
    let mut paths: Vec<&str> = Vec::new();
    for e in ENDPOINTS.iter().filter(|e| e.path.starts_with(prefix)) {
        if !paths.contains(&e.path) {
            paths.push(e.path);
        }
    }
    paths
        .into_iter()
        .map(|path| {
            let mut resource = web::resource(&path[prefix.len()..]);
            for e in ENDPOINTS.iter().filter(|e| e.path == path) {
                resource = resource.route((e.route)());
            }
            resource
        })
        .collect()
}

/// Registers every endpoint, behind the access check and the request metrics:
/// `/api/…` in one scope (unknown paths there answer a JSON 404), and the rest.
pub fn configure(cfg: &mut web::ServiceConfig) {
    use actix_web::middleware::from_fn;
    let mut api = web::scope("/api")
        .wrap(from_fn(crate::auth::check))
        .wrap(from_fn(crate::metrics::track));
    for r in resources("/api/") {
        api = api.service(r);
    }
    cfg.service(api.default_service(web::to(|| async {
        Err::<actix_web::HttpResponse, _>(crate::server::ApiError::not_found(
            "no such API endpoint",
        ))
    })));
    for e in ENDPOINTS.iter().filter(|e| !e.path.starts_with("/api/")) {
        cfg.service(
            web::resource(e.path)
                .wrap(from_fn(crate::auth::check))
                .wrap(from_fn(crate::metrics::track))
                .route((e.route)()),
        );
    }
}
