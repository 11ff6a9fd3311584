//! `/api/rescan`: re-index one folder now.

use actix_web::web;

pub fn configure(_cfg: &mut web::ServiceConfig) {}
