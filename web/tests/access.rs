//! A company's shared server: two users on disjoint folders and an admin, on
//! both homes of the library (a folder, and a real Qdrant). Every endpoint of
//! the API is visited from `scry_web::api::ENDPOINTS`: a route this test has no
//! probe for fails it, so no route can be added without a rule that is tested.
//! User A must get nothing of B's — not in results, counts, duplicates, albums,
//! similar images, thumbnails or originals by guessed ids — and still k results
//! of their own; the admin sees both.

#[path = "../../indexer/tests/common/qdrant.rs"]
#[allow(dead_code)]
mod qdrant;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};

use actix_web::{test, web, App};
use scry::access::Access;
use scry_web::api::{Rule, ENDPOINTS};
use scry_web::auth::{Auth, ProxyTrust};
use scry_web::server::{configure, security_headers, AppState};
use serde_json::{json, Value};

mod common;
use common::root;

/// One library, its users and the ids each may see.
struct World {
    state: web::Data<AppState>,
    a_dir: PathBuf,
    b_dir: PathBuf,
    a_ids: HashSet<u64>,
    b_ids: HashSet<u64>,
    ann: String,
    bob: String,
    admin: String,
    /// An image of A's with byte-identical copies in A and in B.
    copied: [u8; 32],
    _tmp: tempfile::TempDir,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in std::fs::read_dir(from).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
    }
}

/// photos/a: animals, science, space and a copy of an animal (11 images);
/// photos/b: food, people, textures, misc and another copy of that animal (10).
fn build(lib: scry::Library) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let photos = std::fs::canonicalize(tmp.path()).unwrap().join("photos");
    let (a_dir, b_dir) = (photos.join("a"), photos.join("b"));
    for sub in ["animals", "science", "space"] {
        copy_dir(&root().join("sample_data").join(sub), &a_dir.join(sub));
    }
    for sub in ["food", "people", "textures", "misc"] {
        copy_dir(&root().join("sample_data").join(sub), &b_dir.join(sub));
    }
    let animal = std::fs::read_dir(a_dir.join("animals"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap();
    std::fs::copy(&animal, a_dir.join("animal-copy.jpg")).unwrap();
    std::fs::copy(&animal, b_dir.join("from-ann.jpg")).unwrap();
    let copied = *blake3::hash(&std::fs::read(&animal).unwrap()).as_bytes();

    let model =
        Arc::new(scry::ClipModel::load_dir(&root().join("tests/fixtures/tiny-clip")).unwrap());
    let lib = RwLock::new(lib);
    let s = scry_indexer::index(
        &lib,
        &model,
        std::slice::from_ref(&photos),
        &Default::default(),
        &scry_indexer::Silent,
    )
    .unwrap();
    assert_eq!((s.failed, s.total), (0, 21), "{s:?}");

    let mut access = Access::default();
    let ann = access
        .add_user("ann", std::slice::from_ref(&a_dir), false)
        .unwrap();
    let bob = access
        .add_user("bob", std::slice::from_ref(&b_dir), false)
        .unwrap();
    let admin = access.add_user("root", &[], true).unwrap();
    access
        .put_group("team-b", std::slice::from_ref(&b_dir))
        .unwrap();
    lib.write().unwrap().set_access(&access).unwrap();

    let (mut a_ids, mut b_ids) = (HashSet::new(), HashSet::new());
    for (id, rec) in lib.read().unwrap().all_records().unwrap() {
        let p = rec.path_buf();
        if p.starts_with(&a_dir) {
            a_ids.insert(id);
        } else {
            assert!(p.starts_with(&b_dir));
            b_ids.insert(id);
        }
    }
    assert_eq!((a_ids.len(), b_ids.len()), (11, 10));
    let mut state = AppState::new(Arc::new(lib), model);
    state.auth = Auth::new(
        None,
        Some(ProxyTrust {
            user_header: "x-forwarded-user".parse().unwrap(),
            groups_header: Some("x-forwarded-groups".parse().unwrap()),
            from: vec!["127.0.0.1".parse().unwrap()],
        }),
    );
    World {
        state: web::Data::new(state),
        a_dir,
        b_dir,
        a_ids,
        b_ids,
        ann,
        bob,
        admin,
        copied,
        _tmp: tmp,
    }
}

fn local() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        build(scry::Library::open(&dir).unwrap())
    })
}

fn on_qdrant() -> Option<&'static World> {
    static W: OnceLock<Option<World>> = OnceLock::new();
    W.get_or_init(|| {
        let server = qdrant::QdrantServer::shared()?;
        let url = scry::home::qdrant::QdrantUrl::parse(&server.url("access", false)).unwrap();
        Some(build(scry::Library::connect(&url).unwrap()))
    })
    .as_ref()
}

struct Reply {
    status: u16,
    body: Value,
    text: String,
    cookie: Option<String>,
    retry_after: Option<String>,
    bytes: usize,
}

async fn send(w: &World, req: test::TestRequest) -> Reply {
    let app = test::init_service(
        App::new()
            .app_data(w.state.clone())
            .wrap(security_headers())
            .configure(configure),
    )
    .await;
    let resp = test::call_service(&app, req.to_request()).await;
    let status = resp.status().as_u16();
    let cookie = resp
        .headers()
        .get("set-cookie")
        .map(|c| c.to_str().unwrap().to_string());
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|c| c.to_str().unwrap().to_string());
    let body = test::read_body(resp).await;
    Reply {
        status,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        text: String::from_utf8_lossy(&body).into_owned(),
        cookie,
        retry_after,
        bytes: body.len(),
    }
}

fn as_user(method: &str, uri: &str, token: &str) -> test::TestRequest {
    request(method, uri).insert_header(("authorization", format!("Bearer {token}")))
}

fn request(method: &str, uri: &str) -> test::TestRequest {
    let r = match method {
        "GET" => test::TestRequest::get(),
        "POST" => test::TestRequest::post(),
        "PATCH" => test::TestRequest::patch(),
        "PUT" => test::TestRequest::put(),
        "DELETE" => test::TestRequest::delete(),
        other => panic!("no request for method {other}"),
    };
    r.uri(uri)
}

fn ids(hits: &Value) -> Vec<u64> {
    hits.as_array()
        .unwrap_or_else(|| panic!("not a list: {hits}"))
        .iter()
        .map(|h| h["id"].as_u64().unwrap())
        .collect()
}

/// The album of that name in a `GET /api/albums` answer.
fn album_named<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["albums"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no album {name} in {body}"))
}

fn all_in(got: &[u64], set: &HashSet<u64>) -> bool {
    got.iter().all(|id| set.contains(id))
}

/// A multipart body with one image part (and text fields).
fn multipart(fields: &[(&str, &str)], image: &[u8]) -> (String, Vec<u8>) {
    let b = "scryboundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend(
        format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x.jpg\"\r\n\
             Content-Type: image/jpeg\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend(image);
    body.extend(format!("\r\n--{b}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={b}"), body)
}

/// The probe of one endpoint: what A, B and the admin get.
async fn probe(w: &World, method: &str, path: &str) {
    let a_id = *w.a_ids.iter().min().unwrap();
    let b_id = *w.b_ids.iter().min().unwrap();
    let with_id = |id: u64| path.replace("{id}", &id.to_string());
    match (method, path) {
        ("GET", "/api/health") => {
            let r = send(w, request("GET", "/api/health")).await;
            assert_eq!((r.status, &r.body), (200, &json!({"ok": true})));
        }
        ("POST", "/api/session") => {
            let r = send(
                w,
                request("POST", "/api/session").set_json(json!({"token": w.ann})),
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["user"], "ann");
            let cookie = r.cookie.unwrap();
            assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
            // The cookie alone signs the browser in, as A.
            let pair = cookie.split(';').next().unwrap().to_string();
            let me = send(w, request("GET", "/api/me").insert_header(("cookie", pair))).await;
            assert_eq!(me.body["user"], "ann");
            let wrong = send(
                w,
                request("POST", "/api/session").set_json(json!({"token": "scry_0_0"})),
            )
            .await;
            assert_eq!(wrong.status, 401);
            assert!(wrong.cookie.is_none());
        }
        ("DELETE", "/api/session") => {
            let r = send(w, request("DELETE", "/api/session")).await;
            assert_eq!(r.status, 200);
            assert!(r.cookie.unwrap().contains("Max-Age=0"));
        }
        ("GET", "/api/me") => {
            let r = send(w, as_user("GET", "/api/me", &w.ann)).await;
            assert_eq!(r.body["user"], "ann");
            assert_eq!(r.body["admin"], false);
            assert_eq!(r.body["roots"], json!([w.a_dir.display().to_string()]));
            let r = send(w, as_user("GET", "/api/me", &w.admin)).await;
            assert_eq!(
                (r.body["user"].as_str(), r.body["admin"].as_bool()),
                (Some("root"), Some(true))
            );
        }
        ("GET", "/api/search") => {
            // A broad query: k of A's own, though B's would rank among them.
            let r = send(w, as_user("GET", "/api/search?q=a%20photo&k=8", &w.ann)).await;
            assert_eq!(r.status, 200, "{}", r.body);
            let got = ids(&r.body["hits"]);
            assert_eq!(got.len(), 8, "k results of A's own");
            assert!(all_in(&got, &w.a_ids), "A got another's image: {got:?}");
            let all = send(w, as_user("GET", "/api/search?q=a%20photo&k=21", &w.admin)).await;
            let all = ids(&all.body["hits"]);
            assert_eq!(all.len(), 21, "the admin sees both");
            assert!(all.iter().any(|i| w.b_ids.contains(i)));
            // B's images do compete for A's query: among the admin's best 8 for it.
            let top: Vec<u64> = all.iter().copied().take(8).collect();
            assert!(top.iter().any(|i| w.b_ids.contains(i)), "{top:?}");
            // Every hit A can reach, page after page, is A's.
            let r = send(w, as_user("GET", "/api/search?q=a%20photo&k=100", &w.ann)).await;
            let got = ids(&r.body["hits"]);
            assert_eq!(got.iter().copied().collect::<HashSet<_>>(), w.a_ids);
            // B's folder by name, B's file name as a keyword: nothing.
            let uri = format!("/api/search?q=food&in={}", w.b_dir.display());
            let r = send(w, as_user("GET", &uri, &w.ann)).await;
            assert!(ids(&r.body["hits"]).is_empty(), "{}", r.body);
            let r = send(w, as_user("GET", "/api/search?q=from-ann&k=30", &w.ann)).await;
            assert!(all_in(&ids(&r.body["hits"]), &w.a_ids));
            // "More like" one of B's images: as if it did not exist.
            for id in &w.b_ids {
                let r = send(w, as_user("GET", &format!("/api/search?like={id}"), &w.ann)).await;
                assert_eq!(r.status, 404, "like:{id}");
                assert_eq!(r.body["message"], format!("no image with id {id}"));
                let r = send(
                    w,
                    as_user("GET", &format!("/api/search?q=like:{id}"), &w.ann),
                )
                .await;
                assert_eq!(r.status, 404);
            }
            let r = send(
                w,
                as_user("GET", &format!("/api/search?like={a_id}&k=5"), &w.ann),
            )
            .await;
            assert_eq!(r.status, 200);
            assert!(all_in(&ids(&r.body["hits"]), &w.a_ids));
            // B's view is B's.
            let r = send(w, as_user("GET", "/api/search?q=a%20photo&k=8", &w.bob)).await;
            let got = ids(&r.body["hits"]);
            assert_eq!(got.len(), 8);
            assert!(all_in(&got, &w.b_ids));
        }
        ("POST", "/api/search") => {
            let bytes = std::fs::read(w.b_dir.join("from-ann.jpg")).unwrap();
            let (ct, body) = multipart(&[("k", "8")], &bytes);
            let r = send(
                w,
                as_user("POST", "/api/search", &w.ann)
                    .insert_header(("content-type", ct))
                    .set_payload(body),
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
            let got = ids(&r.body["hits"]);
            assert_eq!(got.len(), 8);
            assert!(all_in(&got, &w.a_ids));
        }
        ("GET", p) if p.starts_with("/api/images/{id}") => {
            if p.ends_with("/motion") {
                // A Live Photo's clip beside A's photo and beside each of B's.
                let clip = root().join("tests/fixtures/video/upright.mp4");
                for &id in w.b_ids.iter().chain([&a_id]) {
                    let rec = w.state.read().meta(id).unwrap().unwrap();
                    std::fs::copy(&clip, rec.path_buf().with_extension("MOV")).unwrap();
                }
            }
            // Every one of B's ids, guessed: 404, the same as an id that does not exist.
            for &id in &w.b_ids {
                let r = send(w, as_user("GET", &with_id(id), &w.ann)).await;
                assert_eq!(r.status, 404, "A got {path} of B's image {id}");
                assert_eq!(r.body["message"], format!("no image with id {id}"));
            }
            let r = send(w, as_user("GET", &with_id(a_id), &w.ann)).await;
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            assert!(r.bytes > 0);
            if path.ends_with("/similar") {
                let got = ids(&r.body["hits"]);
                assert!(!got.is_empty() && all_in(&got, &w.a_ids), "{got:?}");
            }
            let r = send(w, as_user("GET", &with_id(b_id), &w.admin)).await;
            assert_eq!(r.status, 200, "the admin: {path}");
        }
        ("GET", "/api/status") => {
            let r = send(w, as_user("GET", "/api/status", &w.ann)).await;
            assert_eq!(r.body["images"], 11);
            assert_eq!(r.body["roots"], json!([w.a_dir.display().to_string()]));
            assert!(r.body["indexed"].is_null() && r.body["queued"].is_null());
            let r = send(w, as_user("GET", "/api/status", &w.bob)).await;
            assert_eq!(r.body["images"], 10);
            let r = send(w, as_user("GET", "/api/status", &w.admin)).await;
            assert_eq!(r.body["images"], 21);
            assert!(r.body["indexed"].is_number());
        }
        ("GET", "/api/dupes") => {
            let group_of_copies = |r: &Reply| -> Vec<u64> {
                let groups = r.body["groups"].as_array().unwrap();
                let mut found = Vec::new();
                for g in groups {
                    let members = ids(&g["members"]);
                    assert!(members.len() >= 2);
                    if g["tier"] == "exact" {
                        found.extend(members);
                    }
                }
                found
            };
            let r = send(w, as_user("GET", "/api/dupes?tier=exact", &w.admin)).await;
            assert_eq!(r.status, 200, "{}", r.body);
            let all = group_of_copies(&r);
            assert_eq!(
                all.len(),
                3,
                "the admin's group: the animal and its two copies"
            );
            let r = send(w, as_user("GET", "/api/dupes", &w.ann)).await;
            for g in r.body["groups"].as_array().unwrap() {
                assert!(
                    all_in(&ids(&g["members"]), &w.a_ids),
                    "A sees a group with B's: {g}"
                );
            }
            let mine = group_of_copies(&r);
            assert_eq!(mine.len(), 2, "A's copies only");
            // B has one copy alone: no group, and nothing of A's.
            let r = send(w, as_user("GET", "/api/dupes?tier=exact", &w.bob)).await;
            assert!(group_of_copies(&r).is_empty(), "{}", r.body);
            let _ = w.copied;
        }
        ("GET", "/api/albums") => {
            let r = send(w, as_user("GET", "/api/albums", &w.ann)).await;
            let names: Vec<&str> = r.body["albums"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["name"].as_str().unwrap())
                .collect();
            assert!(names.contains(&"everything"), "the shared album: {names:?}");
            assert!(!names.contains(&"bobs"), "B's own album: {names:?}");
            let shared = album_named(&r.body, "everything");
            assert_eq!(shared["count"], 11, "only A's members counted");
            let likeb = album_named(&r.body, "likeb");
            assert!(likeb["example"].is_null(), "B's path shown to A: {likeb}");
            let r = send(w, as_user("GET", "/api/albums", &w.bob)).await;
            let likeb = album_named(&r.body, "likeb");
            assert!(
                likeb["example"].is_string(),
                "B sees their own photo's path"
            );
        }
        ("POST", "/api/albums") => {
            // Set up by `albums()` before the probes; here the rules of making one.
            let r = send(
                w,
                as_user("POST", "/api/albums", &w.ann)
                    .set_json(json!({"name": "x", "prompts": ["x"], "shared": true})),
            )
            .await;
            assert_eq!(r.status, 403, "a user cannot make a shared album");
            let r = send(
                w,
                as_user("POST", "/api/albums", &w.ann)
                    .set_json(json!({"name": "mine", "like": b_id})),
            )
            .await;
            assert_eq!(r.status, 404, "B's image is no example for A");
            // A's album of the same name as B's: separate.
            let r = send(
                w,
                as_user("POST", "/api/albums", &w.ann)
                    .set_json(json!({"name": "bobs", "prompts": ["a photo"], "threshold": -1.0})),
            )
            .await;
            assert_eq!(r.status, 201, "{}", r.body);
            assert_eq!(r.body["count"], 11);
            let r = send(w, as_user("GET", "/api/albums/bobs", &w.bob)).await;
            assert_eq!(r.body["count"], 10, "B's album is still B's");
        }
        ("GET", "/api/albums/{name}") => {
            let r = send(w, as_user("GET", "/api/albums/everything?k=100", &w.ann)).await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["count"], 11);
            assert!(all_in(&ids(&r.body["images"]), &w.a_ids));
            let r = send(
                w,
                as_user("GET", "/api/albums/everything?k=100&threshold=-0.5", &w.ann),
            )
            .await;
            assert!(all_in(&ids(&r.body["entering"]["images"]), &w.a_ids));
            assert!(all_in(&ids(&r.body["images"]), &w.a_ids));
            let r = send(w, as_user("GET", "/api/albums/bobonly", &w.ann)).await;
            assert_eq!(r.status, 404, "another's album does not exist for A");
            // Nor is it listed among the albums there are.
            let listing = r.body["message"]
                .as_str()
                .unwrap()
                .split(';')
                .nth(1)
                .unwrap();
            assert!(
                listing.contains("everything") && !listing.contains("bobonly"),
                "{listing}"
            );
            // album: in a query names A's or the shared album only.
            let r = send(w, as_user("GET", "/api/search?q=album:bobonly", &w.ann)).await;
            assert_eq!(r.status, 404);
            let r = send(
                w,
                as_user("GET", "/api/search?q=album:everything&k=100", &w.ann),
            )
            .await;
            let got = ids(&r.body["hits"]);
            assert_eq!(got.len(), 11);
            assert!(all_in(&got, &w.a_ids));
            let r = send(w, as_user("GET", "/api/albums/everything?k=100", &w.admin)).await;
            assert_eq!(r.body["count"], 21);
        }
        ("PATCH", "/api/albums/{name}") => {
            let r = send(
                w,
                as_user("PATCH", "/api/albums/everything", &w.ann)
                    .set_json(json!({"threshold": 0.5})),
            )
            .await;
            assert_eq!(r.status, 403, "a shared album is the admins'");
            let r = send(
                w,
                as_user("PATCH", "/api/albums/bobonly", &w.ann).set_json(json!({"threshold": 0.5})),
            )
            .await;
            assert_eq!(r.status, 404);
            let r = send(
                w,
                as_user("PATCH", "/api/albums/bobonly", &w.bob)
                    .set_json(json!({"threshold": -0.9})),
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        ("DELETE", "/api/albums/{name}") => {
            let r = send(w, as_user("DELETE", "/api/albums/bobonly", &w.ann)).await;
            assert_eq!(r.status, 404);
            let r = send(w, as_user("DELETE", "/api/albums/everything", &w.ann)).await;
            assert_eq!(r.status, 403);
            let r = send(w, as_user("GET", "/api/albums/bobonly", &w.bob)).await;
            assert_eq!(r.status, 200, "still there");
        }
        ("POST", "/api/albums/{name}/marks") => {
            let a0 = *w.a_ids.iter().min().unwrap();
            let b0 = *w.b_ids.iter().min().unwrap();
            let mark = |who: &str, id: u64, belongs: bool| {
                as_user("POST", &format!("/api/albums/{who}/marks"), &w.ann)
                    .set_json(json!({"id": id, "belongs": belongs}))
            };
            let r = send(w, mark("everything", a0, false)).await;
            assert_eq!(r.status, 403, "a shared album is the admins'");
            let r = send(w, mark("bobonly", a0, false)).await;
            assert_eq!(r.status, 404, "another's album does not exist for A");
            // B cannot teach an album with A's photo, nor learn that it exists.
            let r = send(
                w,
                as_user("POST", "/api/albums/bobonly/marks", &w.bob)
                    .set_json(json!({"id": a0, "belongs": true})),
            )
            .await;
            assert_eq!(r.status, 404, "{}", r.body);
            let r = send(
                w,
                as_user("POST", "/api/albums/bobonly/marks", &w.bob)
                    .set_json(json!({"id": b0, "belongs": false})),
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["marks"], json!([{"id": b0, "yes": false}]));
            let r = send(w, as_user("GET", "/api/albums/bobonly?k=100", &w.bob)).await;
            assert!(!ids(&r.body["images"]).contains(&b0), "a no is out");
        }
        ("GET", "/api/tags") => {
            // Counts over the caller's own images; each tag's search finds
            // exactly the images counted, all of them the caller's.
            let r = send(w, as_user("GET", "/api/tags", &w.ann)).await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["images"], 11, "{}", r.body);
            let listed = r.body["tags"].as_array().unwrap().clone();
            assert!(!listed.is_empty(), "{}", r.body);
            let total: u64 = listed.iter().map(|t| t["count"].as_u64().unwrap()).sum();
            assert!(total <= 11 * scry::tags::MAX_TAGS as u64, "{}", r.body);
            for t in listed.iter().take(3) {
                let uri = format!("/api/search?q=tag:{}&k=100", t["tag"].as_str().unwrap());
                let found = ids(&send(w, as_user("GET", &uri, &w.ann)).await.body["hits"]);
                assert_eq!(found.len() as u64, t["count"].as_u64().unwrap(), "{t}");
                assert!(all_in(&found, &w.a_ids), "{t}: {found:?}");
            }
            let all = send(w, as_user("GET", "/api/tags", &w.admin)).await;
            assert_eq!(all.body["images"], 21, "{}", all.body);
        }
        ("PUT", "/api/tags/categories/{name}") => {
            let r = send(w, as_user("PUT", "/api/tags/categories/a%2Fb", &w.admin)).await;
            assert_eq!(r.status, 400, "{}", r.body);
            let before = send(w, as_user("GET", "/api/tags", &w.admin)).await;
            let r = send(
                w,
                as_user("PUT", "/api/tags/categories/sea%20kayak", &w.admin),
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["categories"], json!(["sea kayak"]));
            let after = send(w, as_user("GET", "/api/tags", &w.admin)).await;
            assert_eq!(
                after.body["vocabulary"].as_u64().unwrap(),
                before.body["vocabulary"].as_u64().unwrap() + 1
            );
            // Users search with it at once.
            let r = send(w, as_user("GET", "/api/search?q=tag:sea-kayak", &w.ann)).await;
            assert_eq!(r.status, 200, "{}", r.body);
            let r = send(
                w,
                as_user("DELETE", "/api/tags/categories/sea-kayak", &w.admin),
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        ("DELETE", "/api/tags/categories/{name}") => {
            let r = send(w, as_user("DELETE", "/api/tags/categories/dog", &w.admin)).await;
            assert_eq!(r.status, 400, "built in: {}", r.body);
            let r = send(w, as_user("DELETE", "/api/tags/categories/kayak", &w.admin)).await;
            assert_eq!(r.status, 404, "{}", r.body);
            // Gone from the vocabulary: tag:sea-kayak is unknown again.
            let r = send(w, as_user("GET", "/api/search?q=tag:sea-kayak", &w.ann)).await;
            assert_eq!(r.status, 404, "{}", r.body);
            assert!(r.body["message"].as_str().unwrap().contains("sea-kayak"));
        }
        ("POST", "/api/rescan") => {
            // The rule (403 for users) is checked for every Admin route below;
            // the admin may start one.
            let r = send(w, as_user("POST", "/api/rescan", &w.admin)).await;
            assert!(matches!(r.status, 202 | 409), "{} {}", r.status, r.body);
        }
        ("POST", "/api/embed") => {
            let r = send(
                w,
                as_user("POST", "/api/embed", &w.ann).set_json(json!({"texts": ["a cat"]})),
            )
            .await;
            assert_eq!(r.status, 200);
            assert_eq!(r.body["texts"].as_array().unwrap().len(), 1);
            let bytes = std::fs::read(w.a_dir.join("animal-copy.jpg")).unwrap();
            let (ct, body) = multipart(&[("text", "a dog")], &bytes);
            let r = send(
                w,
                as_user("POST", "/api/embed", &w.ann)
                    .insert_header(("content-type", ct))
                    .set_payload(body),
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["images"].as_array().unwrap().len(), 1);
        }
        ("GET", "/metrics") => {
            // Users are refused (checked for every Admin route); the admin's
            // scrape names no image, folder or user.
            let r = send(w, as_user("GET", "/metrics", &w.ann)).await;
            assert_eq!(r.status, 403, "the metrics cover every folder: admins only");
            let r = send(w, as_user("GET", "/metrics", &w.admin)).await;
            assert_eq!(r.status, 200);
            let text = r.text;
            assert!(text.contains("scry_http_requests_total"), "{text}");
            for id in w.a_ids.iter().chain(&w.b_ids) {
                assert!(
                    !text.contains(&format!("/{id}")),
                    "image {id} in the metrics"
                );
            }
            for word in ["photos", "ann", "bob", "animals", "food"] {
                assert!(!text.contains(word), "{word:?} in the metrics");
            }
        }
        ("GET", "/api/openapi.json") => {
            let r = send(w, request("GET", "/api/openapi.json")).await;
            assert_eq!(r.status, 200);
            assert!(r.body["paths"]["/api/search"].is_object());
            for word in ["photos", "ann", "bob"] {
                assert!(
                    !r.text.contains(&format!("\"{word}")),
                    "{word:?} in the document"
                );
            }
        }
        (m, p) => panic!(
            "no access test for {m} {p}: add a probe here saying what a user may get from it"
        ),
    }
}

/// The albums the probes look at: a shared one (by the admin) and B's own.
async fn albums(w: &World) {
    let r = send(
        w,
        as_user("POST", "/api/albums", &w.admin).set_json(
            json!({"name": "everything", "prompts": ["a photo"], "threshold": -1.0, "shared": true}),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // A shared album made from one of B's photos: its path is B's to see.
    let b_photo = *w.b_ids.iter().min().unwrap();
    let r = send(
        w,
        as_user("POST", "/api/albums", &w.admin)
            .set_json(json!({"name": "likeb", "like": b_photo, "threshold": 0.99, "shared": true})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body["example"]
        .as_str()
        .is_some_and(|e| e.starts_with(w.b_dir.to_str().unwrap())));
    for name in ["bobonly", "bobs"] {
        let r = send(
            w,
            as_user("POST", "/api/albums", &w.bob)
                .set_json(json!({"name": name, "prompts": ["a photo"], "threshold": -1.0})),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["count"], 10);
    }
}

async fn every_endpoint(w: &World) {
    albums(w).await;
    let mut seen = HashSet::new();
    for e in ENDPOINTS {
        // Without anyone signed in: only public routes answer.
        let uri = e.path.replace("{id}", "1").replace("{name}", "everything");
        let r = send(w, request(e.method, &uri)).await;
        match e.rule {
            Rule::Public => assert_ne!(r.status, 401, "{} {}", e.method, e.path),
            _ => assert_eq!(r.status, 401, "{} {} without a user", e.method, e.path),
        }
        if e.rule == Rule::Admin {
            for t in [&w.ann, &w.bob] {
                let r = send(w, as_user(e.method, &uri, t)).await;
                assert_eq!(r.status, 403, "{} {}: admins only", e.method, e.path);
            }
        }
        if seen.insert((e.method, e.path)) {
            probe(w, e.method, e.path).await;
        }
    }
    // Every route is in the OpenAPI document, and the document has no other.
    let doc = serde_json::to_value(scry_web::api::openapi::document()).unwrap();
    let mut documented = HashSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let routes: HashSet<(String, String)> = ENDPOINTS
        .iter()
        .map(|e| (e.method.to_string(), e.path.to_string()))
        .collect();
    for r in &routes {
        assert!(
            documented.contains(r),
            "{} {} is not in /api/openapi.json",
            r.0,
            r.1
        );
    }
    for d in &documented {
        assert!(
            routes.contains(d),
            "/api/openapi.json documents {} {}, which no route serves",
            d.0,
            d.1
        );
    }
    // Duplicated entries (one route guarded) share a rule.
    for e in ENDPOINTS {
        for o in ENDPOINTS {
            if (e.method, e.path) == (o.method, o.path) {
                assert_eq!(e.rule, o.rule, "{} {}", e.method, e.path);
            }
        }
    }
}

#[actix_web::test]
async fn every_endpoint_shows_each_user_only_their_images() {
    every_endpoint(local()).await;
}

#[actix_web::test]
async fn every_endpoint_shows_each_user_only_their_images_on_qdrant() {
    let Some(w) = on_qdrant() else { return };
    every_endpoint(w).await;
}

/// A signing-in proxy names the user in a header: accepted from the trusted
/// address only; its groups header maps to scry groups.
#[actix_web::test]
async fn a_trusted_proxy_names_users_and_groups() {
    let w = local();
    let from =
        |ip: &str| request("GET", "/api/me").peer_addr(format!("{ip}:40000").parse().unwrap());
    let r = send(
        w,
        from("127.0.0.1").insert_header(("x-forwarded-user", "ann")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user"], "ann");
    assert_eq!(r.body["via"], "proxy");
    let r = send(
        w,
        request("GET", "/api/search?q=a%20photo&k=30")
            .peer_addr("127.0.0.1:40000".parse().unwrap())
            .insert_header(("x-forwarded-user", "ann")),
    )
    .await;
    assert!(all_in(&ids(&r.body["hits"]), &w.a_ids));
    // The same header from another address: refused, even with a token.
    let r = send(
        w,
        from("10.9.8.7").insert_header(("x-forwarded-user", "root")),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    // Someone scry does not know, in a group it knows: that group's folders.
    let r = send(
        w,
        request("GET", "/api/search?q=a%20photo&k=30")
            .peer_addr("127.0.0.1:40000".parse().unwrap())
            .insert_header(("x-forwarded-user", "carol@example.com"))
            .insert_header(("x-forwarded-groups", "staff, team-b")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let got = ids(&r.body["hits"]);
    assert_eq!(got.len(), 10);
    assert!(all_in(&got, &w.b_ids));
    // Known to the proxy, in no group scry knows: signed in, but nothing here.
    let r = send(
        w,
        from("127.0.0.1").insert_header(("x-forwarded-user", "dave")),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // A's groups from the proxy add to A's own folders.
    let r = send(
        w,
        from("127.0.0.1")
            .insert_header(("x-forwarded-user", "ann"))
            .insert_header(("x-forwarded-groups", "team-b")),
    )
    .await;
    assert_eq!(r.body["roots"].as_array().unwrap().len(), 2);
}

/// Wrong tokens are counted per address: past ten a minute, 429 (even for a
/// right one); other addresses are not affected.
#[actix_web::test]
async fn failed_sign_ins_are_limited_per_address() {
    let w = local();
    let from = |ip: &str, token: &str| {
        as_user("GET", "/api/status", token).peer_addr(format!("{ip}:1").parse().unwrap())
    };
    for i in 0..scry_web::auth::MAX_FAILURES {
        let r = send(w, from("10.0.0.66", &format!("scry_x_{i}"))).await;
        assert_eq!(r.status, 401, "attempt {i}");
    }
    let r = send(w, from("10.0.0.66", &w.ann)).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.body["code"], "too_many_attempts");
    assert_eq!(
        r.retry_after.as_deref(),
        Some(
            scry_web::auth::FAILURE_WINDOW
                .as_secs()
                .to_string()
                .as_str()
        ),
        "a 429 says when to come back"
    );
    let r = send(
        w,
        request("POST", "/api/session")
            .peer_addr("10.0.0.66:1".parse().unwrap())
            .set_json(json!({"token": w.ann})),
    )
    .await;
    assert_eq!(r.status, 429);
    let r = send(w, from("10.0.0.67", &w.ann)).await;
    assert_eq!(r.status, 200);
}

/// A user removed (or given a new token) is refused at once, though the
/// server had verified their token before.
#[actix_web::test]
async fn a_removed_user_or_an_old_token_stops_working() {
    let dir = tempfile::tempdir().unwrap();
    let lib = scry::Library::open(dir.path()).unwrap();
    let model =
        Arc::new(scry::ClipModel::load_dir(&root().join("tests/fixtures/tiny-clip")).unwrap());
    let mut access = Access::default();
    let eve = access
        .add_user("eve", &[dir.path().to_path_buf()], false)
        .unwrap();
    let mut lib = lib;
    lib.set_access(&access).unwrap();
    let state = web::Data::new(AppState::new(Arc::new(RwLock::new(lib)), model));
    let call = |token: String| {
        let state = state.clone();
        async move {
            let app = test::init_service(App::new().app_data(state).configure(configure)).await;
            let req = as_user("GET", "/api/me", &token).to_request();
            test::call_service(&app, req).await.status().as_u16()
        }
    };
    assert_eq!(call(eve.clone()).await, 200);
    let new = access.new_token("eve").unwrap();
    state.library.write().unwrap().set_access(&access).unwrap();
    state.auth.reload();
    assert_eq!(call(eve.clone()).await, 401, "the old token");
    assert_eq!(call(new.clone()).await, 200);
    access.remove_user("eve").unwrap();
    state.library.write().unwrap().set_access(&access).unwrap();
    state.auth.reload();
    assert_eq!(call(new).await, 401, "a removed user");
}

/// Percent-encoded paths reach the same handlers as plain ones: the rules
/// apply to them too (no route is reachable around its rule by spelling).
#[actix_web::test]
async fn encoded_paths_do_not_slip_past_the_rules() {
    let w = local();
    for (method, uri) in [
        ("GET", "/metric%73"),
        ("GET", "/api/%69mages/1"),
        ("GET", "/api/images/%31/original"),
        ("GET", "/api/st%61tus"),
        ("POST", "/api/resca%6E"),
        ("GET", "/api/dupe%73"),
    ] {
        let r = send(w, request(method, uri)).await;
        assert!(
            matches!(r.status, 401 | 404),
            "{method} {uri} without a user: {}",
            r.status
        );
        let r = send(w, as_user(method, uri, &w.ann)).await;
        if uri.contains("resca") || uri.contains("metric") {
            assert!(
                matches!(r.status, 403 | 404),
                "{method} {uri} as a user: {}",
                r.status
            );
        }
    }
}
