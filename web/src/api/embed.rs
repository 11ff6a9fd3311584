//! `POST /api/embed`: L2-normalised CLIP embeddings for other programs, as
//! clip-retrieval offers. A JSON body `{"texts": [...]}`, or multipart with `text`
//! fields and `image` files (each repeatable). Limits as for search: 32 MB per
//! upload, and at most 64 texts and 16 images a request.

use actix_multipart::Multipart;
use actix_web::{web, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;

use crate::server::{ApiError, AppState};
use crate::views::{Embedded, Embeddings};

const MAX_TEXTS: usize = 64;
const MAX_IMAGES: usize = 16;
const MAX_TEXT_CHARS: usize = 2000;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct JsonBody {
    /// At most 64, each at most 2000 characters.
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
    let out = web::block(move || -> Result<Embeddings, ApiError> {
        let pre = model.preprocessor();
        let mut pixels = Vec::with_capacity(images.len());
        for (name, bytes) in &images {
            pixels.push(
                pre.pixels_from_bytes(bytes)
                    .map_err(|e| ApiError::bad_request("invalid_image", format!("{name}: {e}")))?,
            );
        }
        let image_vecs = model.embed_pixels(&pixels, pixels.len().max(1))?;
        let text_vecs = model.embed_texts(&texts)?;
        let embedded = |input: String, embedding| Embedded { input, embedding };
        Ok(Embeddings {
            model: model.id().to_string(),
            text_model: model.text_model().map(|t| t.id().to_string()),
            dim: model.dim(),
            texts: texts
                .into_iter()
                .zip(text_vecs)
                .map(|(t, e)| embedded(t, e))
                .collect(),
            images: images
                .into_iter()
                .zip(image_vecs)
                .map(|((n, _), e)| embedded(n, e))
                .collect(),
        })
    })
    .await??;
    Ok(HttpResponse::Ok().json(out))
}

/// L2-normalised CLIP embeddings of texts (JSON) or of texts and images
/// (multipart: `text` fields and `image` files, at most 16).
#[utoipa::path(post, path = "/api/embed", tag = "embed",
    request_body(content((JsonBody = "application/json"), (EmbedUpload = "multipart/form-data"))),
    responses((status = 200, body = Embeddings), (status = 400, description = "Nothing to embed, too many inputs, or not an image", body = ApiError), (status = 401, description = "Not signed in", body = ApiError)))]
pub(crate) async fn post_json(
    state: web::Data<AppState>,
    body: web::Json<JsonBody>,
) -> Result<HttpResponse, ApiError> {
    embed(state, body.into_inner().texts, Vec::new()).await
}

pub(crate) async fn post_multipart(
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

/// The multipart form of `POST /api/embed`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct EmbedUpload {
    /// Texts (repeatable).
    text: Vec<String>,
    /// Images (repeatable).
    #[schema(value_type = Vec<String>, format = Binary)]
    image: Vec<Vec<u8>>,
}

/// Whether a request's body is JSON (else it is multipart).
pub(crate) fn is_json() -> impl actix_web::guard::Guard {
    actix_web::guard::fn_guard(|ctx| {
        ctx.head()
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"))
    })
}
