//! [`ByteSource`] over a local file: one open file, positioned reads (`pread`), no per-request
//! open as object_store's local store does. Local granules are the common case for indexing.

use std::fmt;
use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use super::{ByteSource, SourceError, Stats};

/// A local file opened once.
pub struct LocalSource {
    path: PathBuf,
    file: Arc<File>,
    size: u64,
    stats: Stats,
}

impl fmt::Display for LocalSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())
    }
}

fn io_error(path: &std::path::Path, range: Range<u64>, e: std::io::Error) -> SourceError {
    let location = path.display().to_string();
    let source = object_store::Error::Generic { store: "local file", source: Box::new(e) };
    SourceError::Read { location, range, source }
}

impl LocalSource {
    /// Open `path`.
    ///
    /// # Errors
    /// When the file does not exist or cannot be opened.
    pub fn open(path: impl Into<PathBuf>) -> Result<LocalSource, SourceError> {
        let path = path.into();
        let not_found = |e: std::io::Error| {
            let location = path.display().to_string();
            let kind = e.kind();
            let source = object_store::Error::NotFound { path: location.clone(), source: Box::new(e) };
            if kind == std::io::ErrorKind::NotFound {
                SourceError::NotFound { location, source }
            } else {
                SourceError::Head { location, source }
            }
        };
        let file = File::open(&path).map_err(not_found)?;
        let size = file.metadata().map_err(not_found)?.len();
        Ok(LocalSource { path, file: Arc::new(file), size, stats: Stats::default() })
    }
}

#[async_trait]
impl ByteSource for LocalSource {
    async fn size(&self) -> Result<u64, SourceError> {
        Ok(self.size)
    }

    async fn get_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>, SourceError> {
        if let Some(r) = ranges.iter().find(|r| r.end > self.size || r.start > r.end) {
            let location = self.path.display().to_string();
            return Err(SourceError::OutOfBounds { location, range: r.clone(), size: self.size });
        }
        self.stats.add_round_trip(ranges.len() as u64);
        let total: u64 = ranges.iter().map(|r| r.end - r.start).sum();
        let out = if total <= INLINE_READ_BYTES {
            // Small reads (header walks: a few KiB per round trip) are served from the page cache
            // in microseconds; handing them to the blocking pool cost more (a thread wake-up and
            // two context switches per round trip) than the read itself.
            read_all(&self.file, &self.path, ranges)?
        } else {
            // Positioned reads need no seek and no reopen, so one blocking task serves the round trip.
            let (file, path, ranges) = (Arc::clone(&self.file), self.path.clone(), ranges.to_vec());
            tokio::task::spawn_blocking(move || read_all(&file, &path, &ranges))
                .await
                .map_err(|e| io_error(&self.path, 0..0, std::io::Error::other(e)))??
        };
        self.stats.add_bytes(out.iter().map(|b| b.len() as u64).sum());
        Ok(out)
    }

    fn stats(&self) -> &Stats {
        &self.stats
    }
}

/// Round trips up to this many bytes are read on the calling task instead of the blocking pool.
const INLINE_READ_BYTES: u64 = 256 * 1024;

fn read_all(file: &File, path: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>, SourceError> {
    ranges
        .iter()
        .map(|r| {
            let mut buf = vec![0u8; (r.end - r.start) as usize];
            file.read_exact_at(&mut buf, r.start).map_err(|e| io_error(path, r.clone(), e))?;
            Ok(Bytes::from(buf))
        })
        .collect()
}
