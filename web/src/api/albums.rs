//! `/api/albums`: smart albums defined by prompts.

use actix_web::web;

pub fn configure(_cfg: &mut web::ServiceConfig) {}
