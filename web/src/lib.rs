//! scry's outer layer: the `scry` command (`cli`) and, later, the HTTP server and
//! its embedded web UI. The engine (`scry`) and the indexer (`scry-indexer`) know
//! nothing of argv, terminals or HTTP.

pub mod api;
pub mod cli;
pub mod server;
pub mod views;
