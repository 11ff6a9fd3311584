//! scry's outer layer: the `scry` command (`cli`), the HTTP server (`server`,
//! `auth`, `api`) and its embedded web UI. The engine (`scry`) and the indexer (`scry-indexer`) know
//! nothing of argv, terminals or HTTP.

pub mod api;
pub mod auth;
pub mod cli;
pub mod metrics;
pub mod server;
pub mod views;
