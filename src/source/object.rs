//! [`ByteSource`] over any object_store backend.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::sync::OnceCell;

use super::{coalesce, ByteSource, GranuleLocation, SourceError, SourceOptions, Stats};

/// A granule in an object store (local file system, S3, HTTP).
pub struct ObjectSource {
    display: String,
    store: Arc<dyn ObjectStore>,
    path: Path,
    opts: SourceOptions,
    meta: OnceCell<object_store::ObjectMeta>,
    stats: Stats,
}

impl fmt::Display for ObjectSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl ObjectSource {
    /// Open a location (path or URL). Nothing is read until the first request.
    ///
    /// # Errors
    /// When the location is malformed or the store cannot be configured.
    pub fn open(location: &str, opts: &SourceOptions) -> Result<ObjectSource, SourceError> {
        Ok(Self::new(GranuleLocation::parse(location, opts)?, opts.clone()))
    }

    /// A source over an already parsed location.
    pub fn new(location: GranuleLocation, opts: SourceOptions) -> ObjectSource {
        ObjectSource {
            display: location.display,
            store: location.store,
            path: location.path,
            opts,
            meta: OnceCell::new(),
            stats: Stats::default(),
        }
    }

    /// Object metadata (size, ETag, last modification), fetched once.
    ///
    /// # Errors
    /// When the object does not exist or cannot be reached.
    pub async fn meta(&self) -> Result<&object_store::ObjectMeta, SourceError> {
        self.meta
            .get_or_try_init(|| async {
                self.stats.add_round_trip(1);
                self.store.head(&self.path).await.map_err(|source| match source {
                    object_store::Error::NotFound { .. } => {
                        SourceError::NotFound { location: self.display.clone(), source }
                    }
                    source => SourceError::Head { location: self.display.clone(), source },
                })
            })
            .await
    }

    fn read_error(&self, range: Range<u64>, source: object_store::Error) -> SourceError {
        match source {
            object_store::Error::NotFound { .. } => SourceError::NotFound { location: self.display.clone(), source },
            source => SourceError::Read { location: self.display.clone(), range, source },
        }
    }
}

#[async_trait]
impl ByteSource for ObjectSource {
    async fn size(&self) -> Result<u64, SourceError> {
        Ok(self.meta().await?.size)
    }

    async fn get_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>, SourceError> {
        if ranges.is_empty() {
            return Ok(Vec::new());
        }
        let size = self.size().await?;
        if let Some(r) = ranges.iter().find(|r| r.end > size || r.start > r.end) {
            return Err(SourceError::OutOfBounds { location: self.display.clone(), range: r.clone(), size });
        }
        let (merged, owner) = coalesce(ranges, self.opts.coalesce_gap);
        self.stats.add_round_trip(merged.len() as u64);
        let fetched: Vec<Bytes> = futures::stream::iter(merged.iter().cloned())
            .map(|r| async move {
                let bytes = self.store.get_range(&self.path, r.clone()).await.map_err(|e| self.read_error(r.clone(), e))?;
                if bytes.len() as u64 != r.end - r.start {
                    return Err(SourceError::OutOfBounds { location: self.display.clone(), range: r, size });
                }
                self.stats.add_bytes(bytes.len() as u64);
                Ok(bytes)
            })
            .buffered(self.opts.max_concurrency.max(1))
            .try_collect()
            .await?;
        Ok(ranges
            .iter()
            .zip(owner)
            .map(|(r, i)| {
                let start = (r.start - merged[i].start) as usize;
                fetched[i].slice(start..start + (r.end - r.start) as usize)
            })
            .collect())
    }

    fn stats(&self) -> &Stats {
        &self.stats
    }
}
