//! The bytes fetched so far, by absolute file offset.
//!
//! Parsers are plain functions over the cache. When the bytes they need are not there, they
//! return [`Fault::Need`]; the walker gathers every need of one round, fetches them in one
//! coalesced batch and runs the blocked steps again. Round trips thus follow the depth of the
//! metadata tree, not the number of nodes.

use std::collections::BTreeMap;
use std::ops::Range;

use bytes::{Bytes, BytesMut};

use super::cursor::{Cursor, Geometry};
use super::error::{bad, Fault, Parse};

/// Fetched byte ranges of one file, as disjoint blocks.
#[derive(Default)]
pub(crate) struct Cache {
    blocks: BTreeMap<u64, Bytes>,
    eof: u64,
}

impl Cache {
    pub(crate) fn new(eof: u64) -> Cache {
        Cache { blocks: BTreeMap::new(), eof }
    }

    /// File size.
    pub(crate) fn eof(&self) -> u64 {
        self.eof
    }

    /// Add fetched bytes starting at `start`. Overlapping and adjacent blocks are merged, so
    /// that a structure straddling two fetches is found in one piece.
    pub(crate) fn insert(&mut self, start: u64, bytes: Bytes) {
        let end = start + bytes.len() as u64;
        if bytes.is_empty() || self.find(start, bytes.len() as u64).is_some() {
            return;
        }
        let touching: Vec<u64> = self
            .blocks
            .range(..=end)
            .rev()
            .take_while(|(&s, b)| s + b.len() as u64 >= start)
            .map(|(&s, _)| s)
            .collect();
        if touching.is_empty() {
            self.blocks.insert(start, bytes);
            return;
        }
        // The pieces, in address order, form one contiguous run: each touches the new range.
        let mut pieces: Vec<(u64, Bytes, bool)> =
            touching.iter().rev().filter_map(|s| self.blocks.remove(s).map(|b| (*s, b, false))).collect();
        pieces.push((start, bytes, true));
        // At equal starts the larger piece comes first and becomes the base (see `held_below`).
        pieces.sort_by_key(|(s, b, _)| (*s, std::cmp::Reverse(b.len())));
        let end = pieces.iter().map(|(s, b, _)| s + b.len() as u64).max().unwrap_or(end);
        let mut pieces = pieces.into_iter();
        let Some((lo, first, _)) = pieces.next() else { return };
        if lo + first.len() as u64 >= end {
            // The base covers every other piece (a widened fetch re-reading a held block): keep
            // it as it came, which may be a view of a mapped file, not a buffer to grow.
            self.blocks.insert(lo, first);
            return;
        }
        // The lowest piece is grown in place: the cache holds its only handle, so its buffer is
        // taken over without a copy (and `realloc` moves large blocks by remapping). Only the
        // bytes past its end are copied, where building the union afresh copied every held
        // byte again on each adjacent fetch (`Vec::from(Bytes)` copies too, onto itself).
        let mut merged = first.try_into_mut().unwrap_or_else(|b| BytesMut::from(&b[..]));
        for (s, b, new) in pieces {
            let have = lo + merged.len() as u64;
            debug_assert!(s <= have, "cache pieces are not contiguous");
            let skip = have.saturating_sub(s) as usize;
            if new {
                // Fresh bytes win where they overlap held ones (only that part is copied twice).
                let at = (s - lo) as usize;
                let overlap = skip.min(b.len());
                merged[at..at + overlap].copy_from_slice(&b[..overlap]);
            }
            if let Some(tail) = b.get(skip..) {
                merged.extend_from_slice(tail);
            }
        }
        self.blocks.insert(lo, merged.freeze());
    }

    fn find(&self, addr: u64, len: u64) -> Option<&[u8]> {
        let end = addr.checked_add(len)?;
        let (&start, block) = self.blocks.range(..=addr).next_back()?;
        if start + block.len() as u64 >= end {
            let from = (addr - start) as usize;
            return Some(&block[from..from + len as usize]);
        }
        None
    }

    /// The parts of `range` not held yet, in order.
    pub(crate) fn missing(&self, range: Range<u64>) -> Vec<Range<u64>> {
        let mut out = Vec::new();
        let mut at = range.start;
        // The block that may cover the start, then every block starting inside the range.
        let first = self.blocks.range(..=range.start).next_back().map(|(&s, b)| (s, s + b.len() as u64));
        let inside = self.blocks.range(range.start..range.end).map(|(&s, b)| (s, s + b.len() as u64));
        for (s, e) in first.into_iter().chain(inside) {
            if e <= at {
                continue;
            }
            if s > at {
                out.push(at..s.min(range.end));
            }
            at = at.max(e);
            if at >= range.end {
                break;
            }
        }
        if at < range.end {
            out.push(at..range.end);
        }
        out
    }

    /// The held block that starts below `addr` and reaches it (ends at or after it), if any.
    /// A fetch starting there is widened to re-read a small such block: [`Cache::insert`] then
    /// keeps the new buffer whole instead of appending it to the held block by copying.
    pub(crate) fn held_below(&self, addr: u64) -> Option<Range<u64>> {
        let (&s, b) = self.blocks.range(..addr).next_back()?;
        let end = s + b.len() as u64;
        (end >= addr).then_some(s..end)
    }

    /// Whether the range is already held.
    pub(crate) fn has(&self, addr: u64, len: u64) -> bool {
        self.find(addr, len).is_some()
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

    /// Total bytes held.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.blocks.values().map(Bytes::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_covered_ranges_merges_and_reports_needs() {
        let mut c = Cache::new(100);
        c.insert(10, Bytes::from(vec![1u8; 20]));
        c.insert(15, Bytes::from(vec![2u8; 2]));
        assert_eq!(c.get("t", 12, 5).unwrap(), &[1u8; 5]);
        c.insert(30, Bytes::from(vec![3u8; 10]));
        assert_eq!(c.get("t", 28, 4).unwrap(), &[1, 1, 3, 3]);
        c.insert(35, Bytes::from(vec![4u8; 10]));
        assert_eq!(c.get("t", 33, 4).unwrap(), &[3, 3, 4, 4]);
        assert_eq!(c.get("t", 50, 10), Err(Fault::Need(50..60)));
        assert!(matches!(c.get("t", 95, 10), Err(Fault::Format { .. })));
        assert_eq!(c.held(), 35);
        assert_eq!(c.missing(0..60), vec![0..10, 45..60]);
        assert_eq!(c.missing(12..20), vec![]);
        assert_eq!(c.missing(40..50), vec![45..50]);
    }

    #[test]
    fn a_fetch_covering_held_blocks_is_kept_as_it_came() {
        let mut c = Cache::new(1000);
        c.insert(100, Bytes::from(vec![1u8; 50]));
        let wide = Bytes::from(vec![2u8; 400]);
        let at = wide.as_ptr();
        c.insert(100, wide);
        assert_eq!(c.held(), 400);
        let got = c.get("t", 100, 400).unwrap();
        assert_eq!(got.as_ptr(), at, "no copy of the covering fetch");
        assert_eq!(got, &[2u8; 400][..], "fresh bytes win");
    }
}
