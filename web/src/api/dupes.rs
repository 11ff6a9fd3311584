//! `/api/dupes`: duplicate groups in three tiers.

use actix_web::web;

pub fn configure(_cfg: &mut web::ServiceConfig) {}
