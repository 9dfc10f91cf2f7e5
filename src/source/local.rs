//! [`ByteSource`] over a local file: one open file, positioned reads (`pread`), no per-request
//! open as object_store's local store does. Local granules are the common case for indexing.
//!
//! Round trips over 256 KiB are served from a read-only memory map of the file instead: the bytes
//! are handed out as views of the page cache, with no buffer to allocate, fault in and copy into.
//! For the last level of a million-chunk B-tree (53 MB in one coalesced range) that was a third
//! of the read. The trade-off, as in ripgrep: if another process truncates the file while a
//! view is in use, reading past the new end raises `SIGBUS`. A file rewritten in place yields
//! changed bytes, which the parsers already treat as untrusted input.

use std::fmt;
use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use bytes::Bytes;

use super::{ByteSource, SourceError, Stats};

/// A local file opened once.
pub struct LocalSource {
    path: PathBuf,
    file: File,
    size: u64,
    stats: Stats,
    /// The whole file mapped, on the first large read (see the module docs).
    map: OnceLock<Arc<memmap2::Mmap>>,
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
        Ok(LocalSource { path, file, size, stats: Stats::default(), map: OnceLock::new() })
    }

    /// The map, when this round trip is large enough to be served from it and the file still
    /// holds every range (a file that shrank since it was opened is left to `pread` to report).
    fn map_covering(&self, ranges: &[Range<u64>], total: u64) -> Result<Option<&Arc<memmap2::Mmap>>, SourceError> {
        if total <= PREAD_BYTES {
            return Ok(None);
        }
        let map = self.map()?;
        Ok(ranges.iter().all(|r| r.end <= map.len() as u64).then_some(map))
    }

    /// The file mapped read-only, mapped on the first call.
    fn map(&self) -> Result<&Arc<memmap2::Mmap>, SourceError> {
        if let Some(map) = self.map.get() {
            return Ok(map);
        }
        // SAFETY: the map is read-only and private to this process. Another process changing
        // the file changes the bytes we see (handled: they are parsed as untrusted input) or,
        // by truncating it, makes reads past the new end fault; see the module docs.
        let map = unsafe { memmap2::Mmap::map(&self.file) }.map_err(|e| io_error(&self.path, 0..self.size, e))?;
        Ok(self.map.get_or_init(|| Arc::new(map)))
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
        let out = match self.map_covering(ranges, total)? {
            Some(map) => ranges
                .iter()
                .map(|r| {
                    let view = MappedRange { map: Arc::clone(map), range: r.start as usize..r.end as usize };
                    // Start the kernel's read-ahead now, so a cold file is read while earlier
                    // ranges are parsed; advice is only a hint, so its failure changes nothing.
                    let _ = map.advise_range(memmap2::Advice::WillNeed, view.range.start, view.range.len());
                    Bytes::from_owner(view)
                })
                .collect(),
            // Small reads (header walks: a few KiB per round trip) are served from the page cache
            // in microseconds, on the calling task: a hop to the blocking pool cost more (a thread
            // wake-up and two context switches per round trip) than the read itself.
            None => read_all(&self.file, &self.path, ranges)?,
        };
        self.stats.add_bytes(out.iter().map(|b| b.len() as u64).sum());
        Ok(out)
    }

    fn stats(&self) -> &Stats {
        &self.stats
    }
}

/// Round trips up to this many bytes are read with `pread`; larger ones are served from the map.
/// (Chunk reads for indexing, 1-4 MB per round trip, were 8% kernel copies with `pread`.)
const PREAD_BYTES: u64 = 256 * 1024;

/// A range of the mapped file, owned by a [`Bytes`].
struct MappedRange {
    map: Arc<memmap2::Mmap>,
    range: Range<usize>,
}

impl AsRef<[u8]> for MappedRange {
    fn as_ref(&self) -> &[u8] {
        &self.map[self.range.clone()]
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Round trips on both sides of the mapping threshold return the file's bytes, and a range
    /// past the end is an error, not a fault.
    #[tokio::test]
    async fn small_and_mapped_reads_return_the_file_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f.bin");
        let bytes: Vec<u8> = (0..(PREAD_BYTES as usize + 12_345)).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &bytes).expect("write");
        let source = LocalSource::open(&path).expect("open");
        let size = bytes.len() as u64;
        for ranges in [vec![10..20, 100..4_000], vec![0..size], vec![5..PREAD_BYTES / 2, PREAD_BYTES / 2..size - 1]] {
            let got = source.get_ranges(&ranges).await.expect("read");
            for (r, b) in ranges.iter().zip(&got) {
                assert_eq!(&b[..], &bytes[r.start as usize..r.end as usize], "range {r:?}");
            }
        }
        assert!(source.map.get().is_some(), "the large round trips were served from the map");
        let past = source.get_ranges(&[0..size + 1]).await;
        assert!(matches!(past, Err(SourceError::OutOfBounds { .. })), "{past:?}");
    }
}
