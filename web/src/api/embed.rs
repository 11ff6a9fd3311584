//! `POST /api/embed`: L2-normalised CLIP embeddings for other programs, as
//! clip-retrieval offers. A JSON body `{"texts": [...]}`, or multipart with `text`
//! fields and `image` files (each repeatable). Limits as for search: 32 MB per
//! upload, and at most 64 texts and 16 images a request.

use actix_multipart::Multipart;
use actix_web::{web, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;

use crate::server::{ApiError, AppState};

const MAX_TEXTS: usize = 64;
const MAX_IMAGES: usize = 16;
const MAX_TEXT_CHARS: usize = 2000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonBody {
    #[serde(default)]
    texts: Vec<String>,
}

async fn embed(
    state: web::Data<AppState>,
    texts: Vec<String>,
    images: Vec<(String, Vec<u8>)>,
) -> Result<HttpResponse, ApiError> {
    if texts.is_empty() && images.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            "nothing to embed: send texts and/or images",
        ));
    }
    if texts.len() > MAX_TEXTS || images.len() > MAX_IMAGES {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            format!("at most {MAX_TEXTS} texts and {MAX_IMAGES} images a request"),
        ));
    }
    if let Some(t) = texts.iter().find(|t| t.chars().count() > MAX_TEXT_CHARS) {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            format!(
                "a text is {} characters; the limit is {MAX_TEXT_CHARS}",
                t.chars().count()
            ),
        ));
    }
    let model = state.model();
    let out = web::block(move || -> Result<serde_json::Value, ApiError> {
        let pre = model.preprocessor();
        let mut pixels = Vec::with_capacity(images.len());
        for (name, bytes) in &images {
            pixels.push(pre.pixels_from_bytes(bytes).map_err(|e| {
                ApiError::bad_request("invalid_image", format!("{name}: {e}"))
            })?);
        }
        let image_vecs = model.embed_pixels(&pixels, pixels.len().max(1))?;
        let text_vecs = model.embed_texts(&texts)?;
        Ok(json!({
            "model": model.id(),
            "dim": model.dim(),
            "texts": texts.iter().zip(text_vecs).map(|(t, e)| json!({"input": t, "embedding": e})).collect::<Vec<_>>(),
            "images": images.iter().zip(image_vecs).map(|((n, _), e)| json!({"input": n, "embedding": e})).collect::<Vec<_>>(),
        }))
    })
    .await??;
    Ok(HttpResponse::Ok().json(out))
}

async fn post_json(
    state: web::Data<AppState>,
    body: web::Json<JsonBody>,
) -> Result<HttpResponse, ApiError> {
    embed(state, body.into_inner().texts, Vec::new()).await
}

async fn post_multipart(
    state: web::Data<AppState>,
    mut form: Multipart,
) -> Result<HttpResponse, ApiError> {
    let (mut texts, mut images) = (Vec::new(), Vec::new());
    while let Some(part) = form.next().await {
        let mut part = part.map_err(|e| ApiError::bad_request("invalid_upload", e.to_string()))?;
        let name = part.name().unwrap_or_default().to_string();
        let file = part
            .content_disposition()
            .and_then(|d| d.get_filename().map(str::to_string));
        let data = super::search::read_part(&mut part).await?;
        match name.as_str() {
            "image" => images.push((
                file.unwrap_or_else(|| format!("image {}", images.len() + 1)),
                data,
            )),
            "text" => texts.push(String::from_utf8(data).map_err(|_| {
                ApiError::bad_request("invalid_upload", "a text field is not UTF-8")
            })?),
            other => {
                return Err(ApiError::bad_request(
                    "invalid_upload",
                    format!("unknown field {other:?}: send text and image fields"),
                ))
            }
        }
    }
    embed(state, texts, images).await
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/embed")
            .route(
                web::post()
                    .guard(actix_web::guard::fn_guard(|ctx| {
                        ctx.head()
                            .headers()
                            .get("content-type")
                            .and_then(|v| v.to_str().ok())
                            .is_some_and(|v| v.starts_with("application/json"))
                    }))
                    .to(post_json),
            )
            .route(web::post().to(post_multipart)),
    );
}
