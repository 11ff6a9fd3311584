//! Helpers shared by the indexer's test binaries.
#![allow(dead_code)]

pub mod qdrant;
