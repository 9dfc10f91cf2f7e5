//! [`ByteSource`] over bytes already in memory (tests, fuzzing, small uploads).

use std::fmt;
use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;

use super::{ByteSource, SourceError, Stats};

/// A file held in memory under a display name.
pub struct MemorySource {
    name: String,
    bytes: Bytes,
    stats: Stats,
}

impl MemorySource {
    /// Wrap `bytes`, reported as `name` in errors.
    pub fn new(name: impl Into<String>, bytes: Bytes) -> MemorySource {
        MemorySource { name: name.into(), bytes, stats: Stats::default() }
    }
}

impl fmt::Display for MemorySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[async_trait]
impl ByteSource for MemorySource {
    async fn size(&self) -> Result<u64, SourceError> {
        Ok(self.bytes.len() as u64)
    }

    async fn get_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>, SourceError> {
        let size = self.bytes.len() as u64;
        self.stats.add_round_trip(ranges.len() as u64);
        ranges
            .iter()
            .map(|r| {
                if r.start > r.end || r.end > size {
                    return Err(SourceError::OutOfBounds { location: self.name.clone(), range: r.clone(), size });
                }
                self.stats.add_bytes(r.end - r.start);
                Ok(self.bytes.slice(r.start as usize..r.end as usize))
            })
            .collect()
    }

    fn stats(&self) -> &Stats {
        &self.stats
    }
}
