//! The JSON API, one file per resource.

pub mod albums;
pub mod dupes;
pub mod embed;
pub mod images;
pub mod rescan;
pub mod search;
pub mod status;
