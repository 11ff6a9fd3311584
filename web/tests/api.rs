//! The JSON API through actix's test service, with the tiny model and a library
//! indexed from sample_data: success shapes and every kind of bad request.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};

use actix_web::{test, web, App};
use scry_web::server::{configure, security_headers, AppState};
use serde_json::Value;

#[allow(unused)]
mod common;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// One library per test binary, indexed once.
fn state() -> web::Data<AppState> {
    static STATE: OnceLock<web::Data<AppState>> = OnceLock::new();
    STATE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap().keep();
            let model = Arc::new(
                scry::ClipModel::load_dir(&root().join("tests/fixtures/tiny-clip")).unwrap(),
            );
            let lib = RwLock::new(scry::Library::open(&dir).unwrap());
            let s = scry_indexer::index(
                &lib,
                &model,
                &[common::photos()],
                &Default::default(),
                &scry_indexer::Silent,
            )
            .unwrap();
            assert_eq!(s.failed, 0);
            web::Data::new(AppState::new(Arc::new(lib), model))
        })
        .clone()
}

macro_rules! app {
    () => {
        test::init_service(
            App::new()
                .app_data(state())
                .wrap(security_headers())
                .configure(configure),
        )
        .await
    };
}

async fn get(uri: &str) -> (u16, Value) {
    let app = app!();
    let resp = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
    let status = resp.status().as_u16();
    let body = test::read_body(resp).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[actix_web::test]
async fn search_returns_scored_hits_with_links() {
    let (status, v) = get("/api/search?q=coffee&k=3").await;
    assert_eq!(status, 200, "{v}");
    let hits = v["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 3);
    // The file-name match ranks first (keyword fusion).
    assert_eq!(hits[0]["name"], "coffee.png");
    for h in hits {
        assert!(h["score"].as_f64().unwrap().abs() <= 1.0);
        let id = h["id"].as_u64().unwrap();
        assert_eq!(h["thumbnail"], format!("/api/images/{id}/thumbnail"));
    }
    assert_eq!(v["has_more"], true);
    // Keys of a hit: the contract the UI relies on.
    let mut keys: Vec<&str> = hits[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "date",
            "display",
            "folder",
            "format",
            "height",
            "id",
            "name",
            "original",
            "path",
            "place",
            "score",
            "thumbnail",
            "width"
        ]
    );
}

#[actix_web::test]
async fn pagination_is_stable_and_filters_apply() {
    let (_, all) = get("/api/search?q=a%20photo&k=10").await;
    let (_, p1) = get("/api/search?q=a%20photo&k=5").await;
    let (_, p2) = get("/api/search?q=a%20photo&k=5&offset=5").await;
    let ids = |v: &Value| {
        v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    let mut joined = ids(&p1);
    joined.extend(ids(&p2));
    assert_eq!(joined, ids(&all));
    let folder = common::photos().join("space");
    let (status, v) = get(&format!("/api/search?q=x&k=10&in={}", folder.display())).await;
    assert_eq!(status, 200);
    let hits = v["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 3, "the three photos under space/");
    assert!(hits
        .iter()
        .all(|h| h["folder"].as_str().unwrap().ends_with("space")));
    let (_, v) = get("/api/search?q=x&k=10&after=2019-07-01&before=2019-08-01").await;
    assert_eq!(
        v["hits"].as_array().unwrap().len(),
        1,
        "only the EXIF-dated photo"
    );
}

#[actix_web::test]
async fn more_like_this_excludes_the_image_itself() {
    let (_, v) = get("/api/search?q=chelsea&k=1").await;
    let id = v["hits"][0]["id"].as_u64().unwrap();
    let (status, v) = get(&format!("/api/images/{id}/similar?k=3")).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["id"].as_u64() != Some(id)));
    let (status, meta) = get(&format!("/api/images/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(meta["id"], id);
}

#[actix_web::test]
async fn bad_requests_are_4xx_json_never_500() {
    let long = "a".repeat(10_000);
    let cases: Vec<(String, u16, &str)> = vec![
        ("/api/search?q=x&k=0".into(), 400, "invalid_parameter"),
        ("/api/search?q=x&k=-1".into(), 400, "invalid_parameter"),
        (
            "/api/search?q=x&k=1000000000".into(),
            400,
            "invalid_parameter",
        ),
        ("/api/search?q=x&bogus=1".into(), 400, "invalid_parameter"),
        (
            "/api/search?q=x&after=yesterday".into(),
            400,
            "invalid_parameter",
        ),
        (format!("/api/search?q={long}"), 400, "invalid_query"),
        ("/api/search?q=a%01b".into(), 400, "invalid_query"),
        ("/api/search?q=%FF%FE".into(), 400, "invalid_parameter"),
        ("/api/search?q=x&radius=5".into(), 400, "invalid_parameter"),
        (
            "/api/search?q=x&near=Xyzzyville".into(),
            400,
            "invalid_parameter",
        ),
        (
            "/api/search?q=x&near=95,10".into(),
            400,
            "invalid_parameter",
        ),
        (
            "/api/search?q=x&near=Lisbon&radius=far".into(),
            400,
            "invalid_parameter",
        ),
        (
            "/api/search?q=x&near=Lisbon&radius=-3".into(),
            400,
            "invalid_parameter",
        ),
        (
            "/api/search?q=place:Xyzzyville".into(),
            400,
            "invalid_query",
        ),
        (
            "/api/search?q=beach%20in%20Paris&near=Lisbon".into(),
            400,
            "invalid_query",
        ),
        ("/api/search?like=987654321".into(), 404, "not_found"),
        ("/api/search?like=abc".into(), 400, "invalid_parameter"),
        ("/api/images/987654321".into(), 404, "not_found"),
        ("/api/images/xyz/thumbnail".into(), 400, "invalid_path"),
        ("/api/nope".into(), 404, "not_found"),
    ];
    for (uri, want, code) in cases {
        let (status, v) = get(&uri).await;
        assert_eq!(status, want, "{uri}: {v}");
        assert_eq!(v["code"], code, "{uri}: {v}");
        assert!(
            v["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{uri}"
        );
    }
    // A place: understood, and the sample photos (no GPS) are not in it.
    let (status, v) = get("/api/search?q=a%20cat%20in%20Lisbon").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["understood"][0]["kind"], "place", "{v}");
    assert_eq!(v["hits"].as_array().unwrap().len(), 0, "{v}");
    // An empty query is valid and returns nothing.
    let (status, v) = get("/api/search?q=").await;
    assert_eq!(status, 200);
    assert_eq!(v["hits"].as_array().unwrap().len(), 0);
}

#[actix_web::test]
async fn uploads_search_by_image_and_refuse_non_images() {
    let app = app!();
    let multipart = |name: &str, bytes: &[u8]| {
        let boundary = "XscryBoundary";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\n3\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        test::TestRequest::post()
            .uri("/api/search")
            .insert_header((
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            ))
            .set_payload(body)
            .to_request()
    };
    let jpeg = std::fs::read(root().join("sample_data/animals/chelsea.jpg")).unwrap();
    let resp = test::call_service(&app, multipart("cat.jpg", &jpeg)).await;
    assert_eq!(resp.status(), 200);
    let v: Value = serde_json::from_slice(&test::read_body(resp).await).unwrap();
    assert_eq!(
        v["hits"][0]["name"], "chelsea.jpg",
        "the same photo is the best match"
    );
    assert!(v["hits"][0]["score"].as_f64().unwrap() > 0.999);
    let resp = test::call_service(&app, multipart("notes.txt", b"not an image")).await;
    assert_eq!(resp.status(), 400);
    let v: Value = serde_json::from_slice(&test::read_body(resp).await).unwrap();
    assert_eq!(v["code"], "invalid_image");
}

#[actix_web::test]
async fn ui_and_headers() {
    let app = app!();
    let resp = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert!(h
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
    assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(h.get("x-frame-options").unwrap(), "DENY");
    assert_eq!(h.get("referrer-policy").unwrap(), "no-referrer");
    let body = test::read_body(resp).await;
    assert!(String::from_utf8_lossy(&body).contains("app.js"));
    // Every file of static/ is embedded and served (a new module cannot be
    // forgotten).
    let mut files: Vec<String> = std::fs::read_dir(root().join("static"))
        .unwrap()
        .map(|e| format!("/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    files.sort();
    assert_eq!(files.len(), scry_web::server::UI_FILES.len(), "{files:?}");
    for path in files.iter().map(String::as_str) {
        let resp = test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
        assert_eq!(resp.status(), 200, "{path}");
    }
    let resp = test::call_service(
        &app,
        test::TestRequest::get().uri("/../Cargo.toml").to_request(),
    )
    .await;
    assert_eq!(resp.status(), 404);
}

/// API contracts pinned by snapshots (tests/snapshots/): every error body, and the
/// shape of a search response with machine-dependent values redacted.
#[actix_web::test]
async fn snapshots_of_responses() {
    let mut errors = Vec::new();
    for uri in [
        "/api/search?q=x&k=0",
        "/api/search?q=x&k=1000000000",
        "/api/search?q=x&bogus=1",
        "/api/search?q=x&after=yesterday",
        "/api/search?q=a%01b",
        "/api/search?q=%FF%FE",
        "/api/search?like=987654321",
        "/api/images/987654321",
        "/api/nope",
    ] {
        let (status, v) = get(uri).await;
        errors.push(serde_json::json!({"uri": uri, "status": status, "body": v}));
    }
    insta::assert_json_snapshot!("errors", errors);

    let (_, v) = get("/api/search?q=coffee&k=3").await;
    insta::assert_json_snapshot!("search_coffee", v, {
        ".took_ms" => "[ms]",
        ".hits[].id" => "[id]",
        ".hits[].score" => "[score]",
        ".hits[].path" => "[path]",
        ".hits[].folder" => "[folder]",
        ".hits[].date" => "[date]",
        ".hits[].thumbnail" => "[url]",
        ".hits[].original" => "[url]",
        ".hits[].display" => "[url]",
    });
}

/// With a token, every API and image request must present it (bearer header or the
/// UI's cookie); the UI shell stays public, and `/?token=` trades a valid token for
/// an HttpOnly cookie.
#[actix_web::test]
async fn access_token_guards_api_and_images() {
    use scry_web::auth::{AccessToken, Auth};
    let token = "0123456789abcdef-secret";
    let shared = state();
    let mut guarded = AppState::new(shared.library.clone(), shared.model());
    guarded.auth = Auth::new(Some(AccessToken::new(token)), None);
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(guarded))
            .wrap(security_headers())
            .configure(configure),
    )
    .await;
    let status_of = |req: test::TestRequest| {
        let app = &app;
        async move { test::call_service(app, req.to_request()).await }
    };
    for uri in [
        "/api/status",
        "/api/search?q=cat",
        "/api/images/1/thumbnail",
    ] {
        let resp = status_of(test::TestRequest::get().uri(uri)).await;
        assert_eq!(resp.status(), 401, "{uri} without a token");
        assert_eq!(resp.headers().get("x-frame-options").unwrap(), "DENY");
        let body: Value = serde_json::from_slice(&test::read_body(resp).await).unwrap();
        assert_eq!(body["code"], "unauthorized", "{uri}");
        for wrong in [
            "Bearer 0123456789abcdef-secreT",
            "Bearer ",
            "Basic abc",
            "Bearer 0123456789abcdef-secret-and-more",
        ] {
            let resp = status_of(
                test::TestRequest::get()
                    .uri(uri)
                    .insert_header(("authorization", wrong)),
            )
            .await;
            assert_eq!(resp.status(), 401, "{uri} with {wrong:?}");
        }
    }
    let ok = status_of(
        test::TestRequest::get()
            .uri("/api/status")
            .insert_header(("authorization", format!("Bearer {token}"))),
    )
    .await;
    assert_eq!(ok.status(), 200);
    let ok = status_of(
        test::TestRequest::get()
            .uri("/api/search?q=cat")
            .insert_header(("cookie", format!("theme=dark; scry_token={token}"))),
    )
    .await;
    assert_eq!(ok.status(), 200);
    // The shell is public (it holds no data); a valid token in the address becomes
    // a cookie and a redirect, a wrong one does not.
    let resp = status_of(test::TestRequest::get().uri("/")).await;
    assert_eq!(resp.status(), 200);
    let resp = status_of(test::TestRequest::get().uri(&format!("/?token={token}"))).await;
    assert_eq!(resp.status(), 303);
    let cookie = resp.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        cookie.starts_with(&format!("scry_token={token};")),
        "{cookie}"
    );
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let resp = status_of(test::TestRequest::get().uri("/?token=guess")).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("set-cookie").is_none());
}

async fn send(req: test::TestRequest) -> (u16, Value) {
    let app = app!();
    let resp = test::call_service(&app, req.to_request()).await;
    let status = resp.status().as_u16();
    let body = test::read_body(resp).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn dupes_finds_the_sample_look_alikes_and_nothing_else() {
    // sample_data holds two pictures stored twice: chelsea.jpg and
    // chelsea-sideways.jpg (rotated pixels + EXIF orientation), coffee.png and
    // really-a-jpeg.png (re-encoded as JPEG). Both are near duplicates.
    let (status, v) = get("/api/dupes").await;
    assert_eq!(status, 200, "{v}");
    let groups = v["groups"].as_array().unwrap();
    let mut found: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            assert_eq!(g["tier"], "near", "{g}");
            assert_eq!(g["members"][0]["keeper"], true);
            assert_eq!(g["members"][0]["id"], g["keeper"]);
            let mut n = names(&g["members"]);
            n.sort();
            n
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            vec!["chelsea-sideways.jpg".to_string(), "chelsea.jpg".into()],
            vec!["coffee.png".to_string(), "really-a-jpeg.png".into()],
        ]
    );
    assert_eq!(v["counts"]["near"], 2);
    let (status, v) = get("/api/dupes?tier=exact").await;
    assert_eq!((status, v["groups"].as_array().unwrap().len()), (200, 0));
    let (status, v) = get("/api/dupes?tier=bursts").await;
    assert_eq!(status, 400);
    assert!(v["message"]
        .as_str()
        .unwrap()
        .contains("exact, near or similar"));
}

#[actix_web::test]
async fn albums_are_defined_previewed_tuned_searched_and_removed() {
    let (_, v) = get("/api/search?q=coffee.png&k=1").await;
    let coffee = v["hits"][0]["id"].as_u64().unwrap();
    assert_eq!(v["hits"][0]["name"], "coffee.png");
    // An album from an example image, strict enough to hold only that picture.
    let (status, v) = send(
        test::TestRequest::post()
            .uri("/api/albums")
            .set_json(serde_json::json!({"name": "my-coffee", "like": coffee, "threshold": 0.98})),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["name"], "my-coffee");
    let strict = v["count"].as_u64().unwrap();
    assert!(strict >= 1);
    let (status, v) = get("/api/albums/my-coffee").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["count"], strict);
    let mut members = names(&v["images"]);
    members.sort();
    assert!(members.contains(&"coffee.png".to_string()), "{members:?}");
    assert!(!members.contains(&"horse.png".to_string()));
    // Live preview of a looser threshold: what would enter, nothing leaves.
    let (status, p) = get("/api/albums/my-coffee?threshold=0.5").await;
    assert_eq!(status, 200, "{p}");
    let entering = p["entering"]["count"].as_u64().unwrap();
    assert_eq!(p["leaving"]["count"], 0);
    assert_eq!(p["count"].as_u64().unwrap(), strict + entering);
    for img in p["entering"]["images"].as_array().unwrap() {
        let s = img["score"].as_f64().unwrap();
        assert!((0.5 - 1e-4..0.98).contains(&s), "{img}");
    }
    // Tuning applies what the preview showed.
    let (status, v) = send(
        test::TestRequest::patch()
            .uri("/api/albums/my-coffee")
            .set_json(serde_json::json!({"threshold": 0.5})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["count"].as_u64().unwrap(), strict + entering);
    let (_, back) = send(
        test::TestRequest::patch()
            .uri("/api/albums/my-coffee")
            .set_json(serde_json::json!({"threshold": 0.98})),
    )
    .await;
    assert_eq!(back["count"], strict);
    // A filter in search: album:NAME alone lists it; with text, only members.
    let (status, v) = get("/api/search?q=album:my-coffee&k=50").await;
    assert_eq!(status, 200, "{v}");
    let mut listed = names(&v["hits"]);
    listed.sort();
    assert_eq!(listed, members);
    let (_, v) = get("/api/search?q=a%20horse&album=my-coffee&k=50").await;
    assert!(names(&v["hits"]).iter().all(|n| members.contains(n)));
    let (_, v) = get("/api/albums").await;
    assert!(names(&v["albums"]).contains(&"my-coffee".to_string()));
    assert!(names(&v["suggested"]).contains(&"receipts".to_string()));
    // Removal, then a 404 that lists what there is.
    let (status, _) = send(test::TestRequest::delete().uri("/api/albums/my-coffee")).await;
    assert_eq!(status, 200);
    let (status, v) = get("/api/albums/my-coffee").await;
    assert_eq!(status, 404, "{v}");
    let (status, v) = get("/api/search?q=album:my-coffee").await;
    assert_eq!(status, 404, "{v}");
    assert!(v["message"].as_str().unwrap().contains("no album named"));
}

#[actix_web::test]
async fn bad_album_requests_are_4xx_json() {
    let post = |body: Value| send(test::TestRequest::post().uri("/api/albums").set_json(body));
    for (body, needle) in [
        (
            serde_json::json!({"name": "Bad Name", "prompts": ["x"]}),
            "lower-case",
        ),
        (
            serde_json::json!({"name": "", "prompts": ["x"]}),
            "lower-case",
        ),
        (
            serde_json::json!({"name": "ok", "prompts": ["x"], "threshold": 2.0}),
            "between -1 and 1",
        ),
        (serde_json::json!({"name": "ok", "prompts": []}), "prompt"),
        (
            serde_json::json!({"name": "ok", "like": 999_999}),
            "no image",
        ),
        (
            serde_json::json!({"name": "ok", "prompt": "x"}),
            "unknown field",
        ),
    ] {
        let (status, v) = post(body.clone()).await;
        assert!((400..500).contains(&status), "{body} → {status} {v}");
        assert!(
            v["message"].as_str().unwrap().contains(needle),
            "{body} → {v}"
        );
    }
    let (status, v) = get("/api/albums/nope?threshold=abc").await;
    assert_eq!(status, 400, "{v}");
    let (status, _) = get("/api/albums/nope").await;
    assert_eq!(status, 404);
}

/// `POST /api/rescan`: a folder inside a root is re-indexed in the background
/// and its new image appears; a folder outside the roots (directly, through `..`
/// or through a symlink), a missing one, a relative path or a bad body is a 400
/// naming it; while another run holds the library, 409 and nothing starts.
#[actix_web::test]
async fn rescan_reindexes_a_folder_inside_the_roots_only() {
    let tmp = tempfile::tempdir().unwrap();
    let base = std::fs::canonicalize(tmp.path()).unwrap();
    let photos = base.join("photos");
    let sub = photos.join("sub");
    let outside = base.join("outside");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::copy(
        root().join("sample_data/animals/chelsea.jpg"),
        sub.join("chelsea.jpg"),
    )
    .unwrap();
    std::os::unix::fs::symlink(&outside, photos.join("link")).unwrap();
    let model = state().model();
    let lib = RwLock::new(scry::Library::open(&base.join("lib")).unwrap());
    scry_indexer::index(
        &lib,
        &model,
        std::slice::from_ref(&photos),
        &Default::default(),
        &scry_indexer::Silent,
    )
    .unwrap();
    let own = web::Data::new(AppState::new(Arc::new(lib), model));
    let app = test::init_service(
        App::new()
            .app_data(own.clone())
            .wrap(security_headers())
            .configure(configure),
    )
    .await;
    let post = |body: String| {
        let app = &app;
        async move {
            let req = test::TestRequest::post()
                .uri("/api/rescan")
                .insert_header(("content-type", "application/json"))
                .set_payload(body)
                .to_request();
            let resp = test::call_service(app, req).await;
            let status = resp.status().as_u16();
            let body = test::read_body(resp).await;
            (
                status,
                serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null),
            )
        }
    };
    let folder = |p: &Path| serde_json::json!({ "folder": p }).to_string();
    let idle = || own.index_lock.try_lock().is_ok();
    async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !cond() {
            assert!(std::time::Instant::now() < deadline, "timed out: {what}");
            actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    // Another run holds the library: 409, nothing started.
    let (hold, release) = std::sync::mpsc::channel::<()>();
    let (held, is_held) = std::sync::mpsc::channel::<()>();
    let lock = own.index_lock.clone();
    let holder = std::thread::spawn(move || {
        let _guard = lock.lock().unwrap();
        held.send(()).unwrap();
        let _ = release.recv();
    });
    is_held.recv().unwrap();
    let (status, busy) = post(folder(&sub)).await;
    assert_eq!(status, 409, "{busy}");
    assert_eq!(busy["code"], "busy");
    drop(hold);
    holder.join().unwrap();

    // A new image in the sub-folder, then a rescan of that folder.
    std::fs::copy(
        root().join("sample_data/space/astronaut.webp"),
        sub.join("astronaut.webp"),
    )
    .unwrap();
    let (status, started) = post(folder(&photos.join("sub/../sub"))).await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["started"], true);
    assert_eq!(started["folder"], sub.display().to_string());
    wait_until("the rescan", idle).await;
    assert_eq!(own.read().len().unwrap(), 2);
    assert!(!own.indexing_running());
    // Still one root: the sub-folder was not added as another.
    assert_eq!(own.read().roots().unwrap(), vec![photos.clone()]);

    // No folder: every root. A deleted image is removed.
    std::fs::remove_file(sub.join("chelsea.jpg")).unwrap();
    let (status, started) = post(String::new()).await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["folder"], Value::Null);
    wait_until("the rescan of every root", idle).await;
    assert_eq!(own.read().len().unwrap(), 1);

    // Refusals, pinned by a snapshot (temporary paths replaced).
    let mut errors = Vec::new();
    for (name, body) in [
        ("outside the roots", folder(&outside)),
        ("escapes with ..", folder(&photos.join("sub/../../outside"))),
        ("escapes through a symlink", folder(&photos.join("link"))),
        ("missing", folder(&photos.join("nope"))),
        ("a file", folder(&sub.join("astronaut.webp"))),
        ("relative", r#"{"folder": "photos/sub"}"#.to_string()),
        ("not a string", r#"{"folder": 3}"#.to_string()),
        ("unknown field", r#"{"path": "/"}"#.to_string()),
        ("not JSON", "folder=/".to_string()),
    ] {
        let (status, v) = post(body).await;
        assert_eq!(status, 400, "{name}: {v}");
        let text = v.to_string().replace(&base.display().to_string(), "[tmp]");
        errors.push(serde_json::json!({"case": name, "status": status, "body": serde_json::from_str::<Value>(&text).unwrap()}));
    }
    assert!(idle(), "a refused rescan starts nothing");
    insta::assert_json_snapshot!("rescan_errors", errors);
}

#[actix_web::test]
async fn cross_site_browser_writes_are_refused() {
    // A page on another site cannot make a visitor's browser change the library.
    for (method, uri, body) in [
        (actix_web::http::Method::POST, "/api/rescan", "{}"),
        (
            actix_web::http::Method::POST,
            "/api/albums",
            r#"{"name":"x","prompts":["a"]}"#,
        ),
        (actix_web::http::Method::DELETE, "/api/albums/x", ""),
    ] {
        for site in ["cross-site", "same-site"] {
            let req = test::TestRequest::default()
                .method(method.clone())
                .uri(uri)
                .insert_header(("Sec-Fetch-Site", site))
                .insert_header(("Content-Type", "application/json"))
                .set_payload(body);
            let (status, v) = send(req).await;
            assert_eq!(status, 403, "{method} {uri} from {site}: {v}");
            assert_eq!(v["code"], "cross_site");
        }
    }
    // Reading stays possible (and scry's own pages are same-origin).
    let req = test::TestRequest::get()
        .uri("/api/albums")
        .insert_header(("Sec-Fetch-Site", "cross-site"));
    assert_eq!(send(req).await.0, 200);
    let req = test::TestRequest::post()
        .uri("/api/albums")
        .insert_header(("Sec-Fetch-Site", "same-origin"))
        .set_json(serde_json::json!({"name": "Bad Name", "prompts": ["a"]}));
    assert_eq!(send(req).await.0, 400, "reaches the handler");
}

/// Files browsers cannot show (HEIC, RAW, JPEG XL) come with a JPEG rendition
/// for the lightbox; the original is still served as it is.
#[actix_web::test]
async fn formats_browsers_cannot_show_get_a_jpeg_rendition() {
    let photos = tempfile::tempdir().unwrap();
    let fixtures = root().join("tests/fixtures/formats");
    let mut files = vec![
        ("chelsea-sideways.raf", "DSCF0007.RAF"),
        ("rocket.jxl", "rocket.jxl"),
    ];
    let heif = scry::decode::system::optional_codecs()[0].available;
    if heif {
        files.push(("chelsea.heic", "IMG_2041.HEIC"));
    }
    for (from, to) in &files {
        std::fs::copy(fixtures.join(from), photos.path().join(to)).unwrap();
    }
    std::fs::copy(
        root().join("sample_data/animals/chelsea.jpg"),
        photos.path().join("chelsea.jpg"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let model =
        Arc::new(scry::ClipModel::load_dir(&root().join("tests/fixtures/tiny-clip")).unwrap());
    let lib = RwLock::new(scry::Library::open(dir.path()).unwrap());
    let s = scry_indexer::index(
        &lib,
        &model,
        &[photos.path().to_path_buf()],
        &Default::default(),
        &scry_indexer::Silent,
    )
    .unwrap();
    assert_eq!(s.new, files.len() + 1, "{s:?}");
    let state = web::Data::new(AppState::new(Arc::new(lib), model));
    let app = test::init_service(App::new().app_data(state).configure(configure)).await;
    let fetch = |uri: String| test::TestRequest::get().uri(&uri).to_request();
    let resp = test::call_service(&app, fetch("/api/search?q=photo&k=10".into())).await;
    let v: Value = serde_json::from_slice(&test::read_body(resp).await).unwrap();
    let hits = v["hits"].as_array().unwrap();
    assert_eq!(hits.len(), files.len() + 1);
    for h in hits {
        let id = h["id"].as_u64().unwrap();
        let name = h["name"].as_str().unwrap();
        if name == "chelsea.jpg" {
            assert_eq!(h["display"], h["original"], "a JPEG is shown as it is");
            continue;
        }
        assert_eq!(h["display"], format!("/api/images/{id}/display"), "{name}");
        let resp = test::call_service(&app, fetch(format!("/api/images/{id}/display"))).await;
        assert_eq!(resp.status(), 200, "{name}");
        assert_eq!(
            resp.headers().get("content-type").unwrap(),
            "image/jpeg",
            "{name}"
        );
        let jpeg = test::read_body(resp).await;
        let img = image::load_from_memory(&jpeg).unwrap();
        assert_eq!(
            (img.width() as u64, img.height() as u64),
            (h["width"].as_u64().unwrap(), h["height"].as_u64().unwrap()),
            "{name}: the rendition is the picture as displayed"
        );
        let resp = test::call_service(&app, fetch(format!("/api/images/{id}/original"))).await;
        let original = test::read_body(resp).await;
        let on_disk = std::fs::read(photos.path().join(name)).unwrap();
        assert_eq!(original.as_ref(), on_disk.as_slice(), "{name}");
    }
}

/// `POST /api/embed`: JSON texts, or multipart texts and images; the vectors are
/// the model's own, normalised; bad input is a 400 naming the problem.
#[actix_web::test]
async fn embed_returns_the_models_normalised_vectors() {
    let app = app!();
    let model = scry::ClipModel::load_dir(&root().join("tests/fixtures/tiny-clip")).unwrap();
    let req = test::TestRequest::post()
        .uri("/api/embed")
        .set_json(serde_json::json!({"texts": ["a photo of a cat", ""]}))
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status(), 200);
    let v: Value = serde_json::from_slice(&test::read_body(resp).await).unwrap();
    assert_eq!(v["dim"], 32);
    assert_eq!(v["model"], model.id());
    let want = model.embed_texts(&["a photo of a cat", ""]).unwrap();
    for (i, w) in want.iter().enumerate() {
        let got: Vec<f32> = v["texts"][i]["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(&got, w, "text {i}");
    }

    let boundary = "XscryEmbed";
    let jpeg = std::fs::read(root().join("sample_data/animals/chelsea.jpg")).unwrap();
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\na cat\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"cat.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes());
    body.extend_from_slice(&jpeg);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = test::TestRequest::post()
        .uri("/api/embed")
        .insert_header((
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        ))
        .set_payload(body)
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status(), 200);
    let v: Value = serde_json::from_slice(&test::read_body(resp).await).unwrap();
    assert_eq!(v["images"][0]["input"], "cat.jpg");
    let want = model
        .embed_image_files(&[root().join("sample_data/animals/chelsea.jpg")], 1)
        .unwrap()
        .remove(0)
        .unwrap();
    let got: Vec<f32> = v["images"][0]["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    let diff = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(diff < 1e-6, "{diff}");
    assert_eq!(v["texts"][0]["input"], "a cat");

    for (body, code) in [
        (serde_json::json!({"texts": []}), "invalid_parameter"),
        (
            serde_json::json!({"texts": vec!["x"; 65]}),
            "invalid_parameter",
        ),
        (serde_json::json!({"words": ["x"]}), "invalid_json"),
    ] {
        let req = test::TestRequest::post()
            .uri("/api/embed")
            .set_json(&body)
            .to_request();
        let resp = test::call_service(&app, req).await;
        assert_eq!(resp.status(), 400, "{body}");
        let v: Value = serde_json::from_slice(&test::read_body(resp).await).unwrap();
        assert_eq!(v["code"], code, "{body}: {v}");
    }
}

/// Every number in `text` after `"key":` (single values and arrays), as written.
fn numbers_after(text: &str, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let pat = format!("\"{key}\":");
    for (i, _) in text.match_indices(&pat) {
        let rest = text[i + pat.len()..].trim_start_matches('[');
        for n in rest.split([',', ']', '}']) {
            let n = n.trim();
            if n.is_empty() || n.parse::<f64>().is_err() {
                break;
            }
            out.push(n.to_string());
            if !text[i + pat.len()..].starts_with('[') {
                break;
            }
        }
    }
    out
}

/// Scores, thresholds and embeddings are written as the f32 they are: the
/// shortest decimal that reads back as the same f32 (`0.1743`, never
/// `0.17430000007152557`), also where a response is built as a JSON value.
#[actix_web::test]
async fn numbers_are_written_as_the_f32_they_are() {
    let app = app!();
    let mut checked = 0;
    let mut texts = Vec::new();
    for req in [
        test::TestRequest::get().uri("/api/search?q=cat&k=20"),
        test::TestRequest::get().uri("/api/albums"),
        test::TestRequest::post()
            .uri("/api/embed")
            .set_json(serde_json::json!({"texts": ["a dog", "a cat"]})),
    ] {
        let resp = test::call_service(&app, req.to_request()).await;
        assert!(resp.status().is_success());
        texts.push(String::from_utf8(test::read_body(resp).await.to_vec()).unwrap());
    }
    for text in &texts {
        for key in ["score", "threshold", "embedding", "cosine"] {
            for n in numbers_after(text, key) {
                let as_f32: f32 = n.parse().unwrap();
                assert_eq!(
                    n,
                    format!("{as_f32}"),
                    "{key}: {n} is not the f32's shortest form"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} numbers found");
}

/// Reads `/metrics` with a Prometheus text parser: the sample named `name`
/// whose labels include `labels`, 0 when absent.
fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(h) => h.iter().map(|c| c.count).fold(0.0, f64::max),
            prometheus_parse::Value::Summary(_) => 0.0,
        })
        .sum()
}

/// `/metrics` parses with a real Prometheus parser, and a search moves the
/// right counters: the route's request count and latency, the query stages,
/// the text cache.
#[actix_web::test]
async fn metrics_parse_and_a_search_moves_the_right_counters() {
    let shared = state();
    let own = web::Data::new(AppState::new(shared.library.clone(), shared.model()));
    let app = test::init_service(App::new().app_data(own).configure(configure)).await;
    macro_rules! scrape {
        () => {{
            let req = test::TestRequest::get().uri("/metrics").to_request();
            let resp = test::call_service(&app, req).await;
            assert_eq!(resp.status(), 200);
            let text = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
            let lines: Vec<std::io::Result<String>> =
                text.lines().map(|l| Ok(l.to_string())).collect();
            (
                prometheus_parse::Scrape::parse(lines.into_iter()).unwrap(),
                text,
            )
        }};
    }
    let (before, text) = scrape!();
    assert!(text.contains("# TYPE scry_library_images gauge"), "{text}");
    assert_eq!(sample(&before, "scry_library_images", &[]), 19.0);
    let search = [
        ("route", "/api/search"),
        ("method", "GET"),
        ("status", "200"),
    ];
    assert_eq!(sample(&before, "scry_http_requests_total", &search), 0.0);
    for _ in 0..2 {
        let resp = test::call_service(
            &app,
            test::TestRequest::get()
                .uri("/api/search?q=a%20red%20fox")
                .to_request(),
        )
        .await;
        assert_eq!(resp.status(), 200);
    }
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/api/images/999999999")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 404);
    let (after, text) = scrape!();
    assert!(text.contains("# TYPE scry_http_requests counter"), "{text}");
    assert_eq!(
        sample(&after, "scry_http_requests_total", &search),
        2.0,
        "{text}"
    );
    let missing = [("route", "/api/images/:id"), ("status", "404")];
    assert_eq!(
        sample(&after, "scry_http_requests_total", &missing),
        1.0,
        "{text}"
    );
    let latency = [
        ("route", "/api/search"),
        ("method", "GET"),
        ("status", "200"),
    ];
    assert_eq!(
        sample(&after, "scry_http_request_duration_seconds_count", &latency),
        2.0,
        "{text}"
    );
    for stage in ["encode", "search", "fuse"] {
        assert_eq!(
            sample(
                &after,
                "scry_query_stage_duration_seconds_count",
                &[("stage", stage)]
            ),
            2.0,
            "{stage}: {text}"
        );
    }
    // The same text twice: encoded once, then from the cache.
    assert_eq!(
        sample(&after, "scry_text_cache_misses_total", &[])
            - sample(&before, "scry_text_cache_misses_total", &[]),
        1.0,
        "{text}"
    );
    assert_eq!(
        sample(&after, "scry_text_cache_hits_total", &[])
            - sample(&before, "scry_text_cache_hits_total", &[]),
        1.0,
        "{text}"
    );
    assert!(
        sample(&after, "scry_process_resident_memory_bytes", &[]) > 1e6,
        "{text}"
    );
    strict_openmetrics_parse(&text);
}

/// The Python (SCRY_OPENAPI_PYTHON, else python3) that imports `module` from
/// the PyPI package `package`; None, said as a skip, when there is none —
/// unless `require` is set to 1, then the test fails.
fn python_with(module: &str, package: &str, require: &str) -> Option<String> {
    let python = std::env::var("SCRY_OPENAPI_PYTHON").unwrap_or_else(|_| "python3".into());
    let has = std::process::Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has {
        assert_ne!(
            std::env::var(require).as_deref(),
            Ok("1"),
            "{package} (PyPI) is required here but {python} cannot import {module}"
        );
        eprintln!("SKIPPED: no {package} for {python} (pip install {package})");
        return None;
    }
    Some(python)
}

/// The scrape read by the Prometheus project's own parser for the format it is
/// in (OpenMetrics, from the `prometheus-client` package of PyPI), which refuses
/// any malformed line, where the Rust parser above skips them. It must also
/// read the two searches the test made. `.ci/run` installs it beside
/// openapi-spec-validator; elsewhere it says it skipped, unless
/// SCRY_REQUIRE_METRICS_PARSER=1.
fn strict_openmetrics_parse(text: &str) {
    let Some(python) = python_with(
        "prometheus_client.openmetrics.parser",
        "prometheus-client",
        "SCRY_REQUIRE_METRICS_PARSER",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metrics.txt");
    std::fs::write(&file, text).unwrap();
    let script = "import sys\n\
        from prometheus_client.openmetrics.parser import text_string_to_metric_families as p\n\
        n = 0\n\
        for f in p(open(sys.argv[1]).read()):\n\
        \x20   for s in f.samples:\n\
        \x20       n += 1\n\
        \x20       if s.name == 'scry_http_requests_total' and s.labels.get('route') == '/api/search' \
        and s.labels.get('status') == '200':\n\
        \x20           print('searches', float(s.value))\n\
        print('samples', n)\n";
    let out = std::process::Command::new(&python)
        .args(["-c", script])
        .arg(&file)
        .output()
        .unwrap();
    let report =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the OpenMetrics parser refused the scrape: {report}"
    );
    assert!(report.contains("searches 2.0"), "{report}");
}

/// The OpenAPI document describes what the server really answers: real
/// responses of the endpoints validate against the schemas documented for
/// their status (JSON Schema 2020-12, the dialect of OpenAPI 3.1).
#[actix_web::test]
async fn real_responses_validate_against_the_openapi_document() {
    let (status, doc) = get("/api/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(
        doc["openapi"].as_str().map(|v| &v[..3]),
        Some("3.1"),
        "{doc}"
    );
    let app = app!();
    let album = test::TestRequest::post()
        .uri("/api/albums")
        .set_json(serde_json::json!({"name": "openapi-check", "prompts": ["a cat"]}));
    let mut cases: Vec<(&str, &str, test::TestRequest)> = vec![
        ("post", "/api/albums", album),
        (
            "get",
            "/api/health",
            test::TestRequest::get().uri("/api/health"),
        ),
        ("get", "/api/me", test::TestRequest::get().uri("/api/me")),
        (
            "get",
            "/api/status",
            test::TestRequest::get().uri("/api/status"),
        ),
        (
            "get",
            "/api/search",
            test::TestRequest::get().uri("/api/search?q=cat&k=5"),
        ),
        (
            "get",
            "/api/search",
            test::TestRequest::get().uri("/api/search?k=0"),
        ),
        (
            "get",
            "/api/search",
            test::TestRequest::get().uri("/api/search?like=999999"),
        ),
        (
            "get",
            "/api/images/{id}",
            test::TestRequest::get().uri("/api/images/1"),
        ),
        (
            "get",
            "/api/images/{id}/similar",
            test::TestRequest::get().uri("/api/images/1/similar?k=3"),
        ),
        (
            "get",
            "/api/dupes",
            test::TestRequest::get().uri("/api/dupes"),
        ),
        (
            "get",
            "/api/albums",
            test::TestRequest::get().uri("/api/albums"),
        ),
        (
            "get",
            "/api/albums/{name}",
            test::TestRequest::get().uri("/api/albums/openapi-check?threshold=0.1&k=3"),
        ),
        (
            "patch",
            "/api/albums/{name}",
            test::TestRequest::patch()
                .uri("/api/albums/openapi-check")
                .set_json(serde_json::json!({"threshold": 0.2})),
        ),
        (
            "delete",
            "/api/albums/{name}",
            test::TestRequest::delete().uri("/api/albums/openapi-check"),
        ),
        (
            "post",
            "/api/embed",
            test::TestRequest::post()
                .uri("/api/embed")
                .set_json(serde_json::json!({"texts": ["a dog"]})),
        ),
        (
            "delete",
            "/api/session",
            test::TestRequest::delete().uri("/api/session"),
        ),
        (
            "post",
            "/api/session",
            test::TestRequest::post()
                .uri("/api/session")
                .set_json(serde_json::json!({"token": "scry_0_0"})),
        ),
    ];
    let mut validated = 0;
    for (method, path, req) in cases.drain(..) {
        let resp = test::call_service(&app, req.to_request()).await;
        let status = resp.status().as_u16().to_string();
        let body: Value = serde_json::from_slice(&test::read_body(resp).await).unwrap();
        let documented = &doc["paths"][path][method]["responses"][&status];
        assert!(
            documented.is_object(),
            "{method} {path} answered {status}, which the document does not list"
        );
        let mut schema = documented["content"]["application/json"]["schema"].clone();
        assert!(
            schema.is_object(),
            "{method} {path} {status}: no JSON schema"
        );
        schema["components"] = doc["components"].clone();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {path} {status}: {errors:?}\n{body}"
        );
        validated += 1;
    }
    assert_eq!(validated, 17);
}

/// `openapi-spec-validator` (PyPI), the reference validator, accepts the
/// document. `.ci/run` installs it (SCRY_OPENAPI_PYTHON names its Python);
/// elsewhere the test says it skipped, unless SCRY_REQUIRE_OPENAPI_VALIDATOR=1.
#[actix_web::test]
async fn openapi_spec_validator_accepts_the_document() {
    let Some(python) = python_with(
        "openapi_spec_validator",
        "openapi-spec-validator",
        "SCRY_REQUIRE_OPENAPI_VALIDATOR",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(
        &file,
        serde_json::to_vec_pretty(scry_web::api::openapi::document()).unwrap(),
    )
    .unwrap();
    let out = std::process::Command::new(&python)
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .unwrap();
    let report =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{report}");
    assert!(report.contains("OK"), "{report}");
}

/// Every example in the OpenAPI document validates against the schema it
/// illustrates.
#[actix_web::test]
async fn every_documented_example_validates_against_its_schema() {
    let doc = serde_json::to_value(scry_web::api::openapi::document()).unwrap();
    fn walk(v: &Value, at: String, out: &mut Vec<(String, Value, Value)>) {
        match v {
            Value::Object(m) => {
                let is_schema = ["type", "properties", "$ref", "allOf", "oneOf"]
                    .iter()
                    .any(|k| m.contains_key(*k));
                if is_schema {
                    let mut schema = v.clone();
                    let examples = schema.as_object_mut().unwrap();
                    let mut found: Vec<Value> = Vec::new();
                    if let Some(e) = examples.remove("example") {
                        found.push(e);
                    }
                    if let Some(Value::Array(es)) = examples.remove("examples") {
                        found.extend(es);
                    }
                    for e in found {
                        out.push((at.clone(), schema.clone(), e));
                    }
                }
                for (k, x) in m {
                    walk(x, format!("{at}/{k}"), out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(&doc, String::new(), &mut found);
    assert!(found.len() >= 5, "examples: {}", found.len());
    for (at, mut schema, example) in found {
        schema["components"] = doc["components"].clone();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&example)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "the example at {at}: {errors:?}\n{example}"
        );
    }
}

/// A server started with `--text-model` answers queries in other languages
/// through that tower: `/api/search` ranks the library by the reference's text
/// vector (golden-multilingual.json) and `/api/status` names the tower.
#[actix_web::test]
async fn a_text_model_answers_queries_in_other_languages() {
    let base = state();
    let tiny = root().join("tests/fixtures/tiny-clip");
    let mut model = scry::ClipModel::load_dir(&tiny).unwrap();
    let tower =
        scry::model::SentenceTower::load_dir(&root().join("tests/fixtures/tiny-multilingual"))
            .unwrap();
    model.set_text_model(Arc::new(tower)).unwrap();
    let paired = web::Data::new(AppState::new(base.library.clone(), Arc::new(model)));
    let app = test::init_service(
        App::new()
            .app_data(paired)
            .wrap(security_headers())
            .configure(configure),
    )
    .await;
    let call = |uri: String| test::TestRequest::get().uri(&uri).to_request();
    let status: Value = test::call_and_read_body_json(&app, call("/api/status".into())).await;
    assert!(
        status["text_model"]
            .as_str()
            .unwrap()
            .ends_with("tiny-multilingual"),
        "{status}"
    );

    let query = "ソファで寝ている猫";
    let want = common::multilingual_golden(query);
    let clip = scry::ClipModel::load_dir(&tiny).unwrap();
    let uri = format!("/api/search?q={}&k=19", utf8_percent(query));
    let v: Value = test::call_and_read_body_json(&app, call(uri.clone())).await;
    let hits = v["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 19, "{v}");
    let paths: Vec<PathBuf> = hits
        .iter()
        .map(|h| PathBuf::from(h["path"].as_str().unwrap()))
        .collect();
    let cos: Vec<f32> = clip
        .embed_image_files(&paths, 8)
        .unwrap()
        .into_iter()
        .map(|e| scry::model::cosine(&e.unwrap(), &want))
        .collect();
    let best = cos.iter().copied().fold(f32::MIN, f32::max);
    assert_eq!(
        cos[0], best,
        "the best by the reference's vector first: {cos:?}"
    );
    assert!(
        cos.windows(2).all(|w| w[0] >= w[1] - 1e-4),
        "ranked by the tower: {cos:?}"
    );

    // The same query on the server without the tower ranks otherwise.
    let plain = test::init_service(
        App::new()
            .app_data(state())
            .wrap(security_headers())
            .configure(configure),
    )
    .await;
    let own: Value = test::call_and_read_body_json(&plain, call(uri)).await;
    let own: Vec<&str> = own["hits"].as_array().unwrap()[..5]
        .iter()
        .map(|h| h["path"].as_str().unwrap())
        .collect();
    let with: Vec<&str> = hits[..5]
        .iter()
        .map(|h| h["path"].as_str().unwrap())
        .collect();
    assert_ne!(own, with, "CLIP's own text tower gave the same ranking");
}

/// `%XX` for every byte outside unreserved ASCII.
fn utf8_percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
