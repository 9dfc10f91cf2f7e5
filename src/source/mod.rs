//! Byte access to granules: local paths, `file://`, `s3://` and `http(s)://`, through object_store.
//!
//! One call to [`ByteSource::get_ranges`] is one sequential round trip: its ranges are coalesced
//! (nearby ranges merged into one request) and fetched concurrently under a bound. [`Stats`]
//! counts requests, bytes and round trips; they are benchmark figures, shown by `vz inspect --stats`.

mod coalesce;
mod error;
mod location;
mod memory;
mod object;
mod stats;

use std::fmt::Display;
use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;

pub use coalesce::coalesce;
pub use error::SourceError;
pub use location::{GranuleLocation, SourceOptions};
pub use memory::MemorySource;
pub use object::ObjectSource;
pub use stats::{Stats, StatsSnapshot};

/// Random access to the bytes of one file.
#[async_trait]
pub trait ByteSource: Send + Sync + Display {
    /// File size in bytes.
    ///
    /// # Errors
    /// When the file cannot be reached or does not exist.
    async fn size(&self) -> Result<u64, SourceError>;

    /// Fetch several byte ranges in one round trip. The result has one entry per requested range,
    /// in order. Ranges must lie inside the file.
    ///
    /// # Errors
    /// When any range cannot be read after retries.
    async fn get_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>, SourceError>;

    /// Request, byte and round-trip counters of this source.
    fn stats(&self) -> &Stats;
}
