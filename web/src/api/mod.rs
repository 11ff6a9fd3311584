//! The JSON API, one file per resource.

pub mod images;
pub mod search;
pub mod status;
