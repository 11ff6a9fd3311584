//! scry's indexer: crawls folders, decodes and embeds new or changed images, and
//! ingests them into a [`scry::Library`], reporting every file it could not index.

pub mod crawl;
pub mod pipeline;
pub mod report;
pub mod shard;
pub mod watch;

pub use crawl::CrawlOptions;
pub use pipeline::{index, IndexOptions};
pub use report::{Failure, FailureKind, Progress, Silent, Summary};
pub use shard::Shard;
pub use watch::{watch, watch_folders, Batch, FolderWatcher, Trigger, WatchOptions};
