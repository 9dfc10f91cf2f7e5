//! The bytes fetched so far, by absolute file offset.
//!
//! Parsers are plain functions over the cache. When the bytes they need are not there, they
//! return [`Fault::Need`]; the walker gathers every need of one round, fetches them in one
//! coalesced batch and runs the blocked steps again. Round trips thus follow the depth of the
//! metadata tree, not the number of nodes.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::cursor::{Cursor, Geometry};
use super::error::{bad, Fault, Parse};

/// Fetched byte ranges of one file.
#[derive(Default)]
pub(crate) struct Cache {
    blocks: BTreeMap<u64, Bytes>,
    eof: u64,
}

/// How many earlier blocks to look at when the nearest one does not cover a range.
const LOOKBACK: usize = 8;

impl Cache {
    pub(crate) fn new(eof: u64) -> Cache {
        Cache { blocks: BTreeMap::new(), eof }
    }

    /// File size.
    pub(crate) fn eof(&self) -> u64 {
        self.eof
    }

    /// Add fetched bytes starting at `start`.
    pub(crate) fn insert(&mut self, start: u64, bytes: Bytes) {
        if bytes.is_empty() || self.find(start, bytes.len() as u64).is_some() {
            return;
        }
        match self.blocks.get(&start) {
            Some(old) if old.len() >= bytes.len() => {}
            _ => {
                self.blocks.insert(start, bytes);
            }
        }
    }

    fn find(&self, addr: u64, len: u64) -> Option<&[u8]> {
        let end = addr.checked_add(len)?;
        for (&start, block) in self.blocks.range(..=addr).rev().take(LOOKBACK) {
            if start + block.len() as u64 >= end {
                let from = (addr - start) as usize;
                return Some(&block[from..from + len as usize]);
            }
        }
        None
    }

    /// The `len` bytes at absolute offset `addr`, or `Fault::Need` when not fetched yet.
    /// A range past the end of the file is a format error of `structure`.
    pub(crate) fn get(&self, structure: &'static str, addr: u64, len: u64) -> Parse<&[u8]> {
        match addr.checked_add(len) {
            Some(end) if end <= self.eof => {}
            _ => {
                return bad(
                    structure,
                    addr,
                    format!("{len} bytes at byte {addr} extend past the end of the file ({} bytes)", self.eof),
                )
            }
        }
        self.find(addr, len).ok_or(Fault::Need(addr..addr + len))
    }

    /// A cursor over the `len` bytes at `addr`.
    pub(crate) fn cursor(&self, structure: &'static str, addr: u64, len: u64, geo: Geometry) -> Parse<Cursor<'_>> {
        Ok(Cursor::new(self.get(structure, addr, len)?, addr, structure, geo))
    }

    /// Total bytes held (for tests and statistics).
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.blocks.values().map(Bytes::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_covered_ranges_and_reports_needs() {
        let mut c = Cache::new(100);
        c.insert(10, Bytes::from(vec![1u8; 20]));
        c.insert(15, Bytes::from(vec![2u8; 2]));
        assert_eq!(c.get("t", 12, 5).unwrap(), &[1u8; 5]);
        assert_eq!(c.get("t", 25, 10), Err(Fault::Need(25..35)));
        assert!(matches!(c.get("t", 95, 10), Err(Fault::Format { .. })));
        assert_eq!(c.held(), 20);
    }
}
