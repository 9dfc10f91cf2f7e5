//! Chunk index of type 3, a fixed array (spec VII.B "Fixed Array"): header `FAHD`, data
//! block `FADB`, and — when there are more than 2^page_bits elements — data block pages.
//!
//! Element `i` is the chunk whose row-major index over the grid of the MAXIMUM shape is `i`
//! (libhdf5 indexes fixed arrays with the "max down chunks"). A paged data block holds only a
//! bitmap of initialised pages; the pages follow it back to back, each with its own checksum.

use std::sync::Arc;

use super::{ChunkIndexSpec, IndexStep, IndexWork};
use crate::hdf5::cache::Cache;
use crate::hdf5::chunk_element::{bit, check_trailing_checksum, ElementFormat};
use crate::hdf5::cursor::{Cursor, Geometry};
use crate::hdf5::error::{bad, Parse};
use crate::manifest::ChunkRef;

const HEADER: &str = "fixed array header";
const DATA_BLOCK: &str = "fixed array data block";
const PAGE: &str = "fixed array data block page";

/// What the header says, carried to the blocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Array {
    header: u64,
    client_id: u8,
    format: ElementFormat,
    page_bits: u8,
    elements: u64,
    data_block: u64,
}

/// Pending work of this index type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Work {
    /// The index header at this address.
    Header(u64),
    /// The data block of an array.
    DataBlock(Arc<Array>),
    /// Page `n` of a paged data block.
    Page(Arc<Array>, u64),
}

/// First work item for an index whose header is at `address`.
pub(crate) fn start(address: u64) -> Work {
    Work::Header(address)
}

/// Run one work item.
pub(crate) fn step(spec: &ChunkIndexSpec, work: &Work, cache: &Cache, geo: Geometry) -> Parse<IndexStep> {
    match work {
        Work::Header(addr) => header(spec, *addr, cache, geo),
        Work::DataBlock(a) => data_block(spec, a, cache, geo),
        Work::Page(a, n) => page(spec, a, *n, cache, geo),
    }
}

fn header(spec: &ChunkIndexSpec, addr: u64, cache: &Cache, geo: Geometry) -> Parse<IndexStep> {
    let len = 4 + 1 + 1 + 1 + 1 + u64::from(geo.sizeof_lengths) + u64::from(geo.sizeof_offsets) + 4;
    let mut c = cache.cursor(HEADER, addr, len, geo)?;
    check_trailing_checksum(c.buffer(), HEADER, addr)?;
    c.signature(b"FAHD")?;
    let version = c.u8()?;
    if version != 0 {
        return bad(HEADER, addr, format!("version {version}, expected 0"));
    }
    let client_id = c.u8()?;
    let element_size = c.u8()?;
    let format = ElementFormat::new(client_id, element_size, geo, HEADER, addr)?;
    let page_bits = c.u8()?;
    let elements = c.length()?;
    let data_block = c.address()?;
    if page_bits >= 64 {
        return bad(HEADER, addr, format!("page bits {page_bits}"));
    }
    // The data block (all elements) exists only once a chunk was written.
    if data_block.is_some() && elements.checked_mul(format.size).is_none_or(|n| n > geo.eof) {
        return bad(HEADER, addr, format!("{elements} elements of {} bytes cannot fit in the file", format.size));
    }
    let grid_total = spec.max_grid().iter().try_fold(1u64, |acc, &g| acc.checked_mul(g));
    if grid_total.is_none_or(|t| elements > t) {
        return bad(HEADER, addr, format!("{elements} elements, but the chunk grid has {grid_total:?} chunks"));
    }
    let mut step = IndexStep::default();
    if let Some(data_block) = data_block {
        let a = Array { header: addr, client_id, format, page_bits, elements, data_block };
        step.more.push(IndexWork::FixedArray(Work::DataBlock(Arc::new(a))));
    }
    Ok(step)
}

impl Array {
    fn page_elements(&self) -> u64 {
        1u64 << self.page_bits
    }

    fn paged(&self) -> bool {
        self.elements > self.page_elements()
    }

    fn pages(&self) -> u64 {
        self.elements.div_ceil(self.page_elements())
    }

    /// Bytes before the elements or the page bitmap.
    fn prefix(&self, geo: Geometry) -> u64 {
        4 + 1 + 1 + u64::from(geo.sizeof_offsets)
    }

    fn bitmap_len(&self) -> u64 {
        if self.paged() {
            self.pages().div_ceil(8)
        } else {
            0
        }
    }

    /// Check the block's signature, version, client and owner.
    fn check_prefix(&self, c: &mut Cursor<'_>) -> Parse<()> {
        c.signature(b"FADB")?;
        let version = c.u8()?;
        let client_id = c.u8()?;
        let owner = c.address()?;
        if version != 0 || client_id != self.client_id || owner != Some(self.header) {
            return c.fail(format!(
                "version {version}, client {client_id}, header {owner:?} do not match the header at {}",
                self.header
            ));
        }
        Ok(())
    }

    /// Chunks of `count` elements starting at element `first`, read from `c`.
    fn elements_into(&self, spec: &ChunkIndexSpec, c: &mut Cursor<'_>, first: u64, count: u64, out: &mut Vec<ChunkRef>) -> Parse<()> {
        let grid = spec.max_grid();
        let size = spec.chunk_bytes();
        for i in first..first + count {
            if let Some((offset, length, filter_mask)) = self.format.decode(c, size)? {
                let coords = ChunkIndexSpec::unravel(i, &grid);
                out.push(ChunkRef { coords, offset, length, filter_mask, href: None });
            }
        }
        Ok(())
    }
}

fn data_block(spec: &ChunkIndexSpec, a: &Arc<Array>, cache: &Cache, geo: Geometry) -> Parse<IndexStep> {
    let addr = a.data_block;
    let body = if a.paged() { a.bitmap_len() } else { a.elements * a.format.size };
    let mut c = cache.cursor(DATA_BLOCK, addr, a.prefix(geo) + body + 4, geo)?;
    check_trailing_checksum(c.buffer(), DATA_BLOCK, addr)?;
    a.check_prefix(&mut c)?;
    let mut step = IndexStep::default();
    if a.paged() {
        let bitmap = c.bytes(a.bitmap_len() as usize)?;
        for p in 0..a.pages() {
            if bit(bitmap, p) {
                step.more.push(IndexWork::FixedArray(Work::Page(Arc::clone(a), p)));
            }
        }
    } else {
        a.elements_into(spec, &mut c, 0, a.elements, &mut step.chunks)?;
    }
    Ok(step)
}

fn page(spec: &ChunkIndexSpec, a: &Arc<Array>, n: u64, cache: &Cache, geo: Geometry) -> Parse<IndexStep> {
    let per_page = a.page_elements();
    let first = n * per_page;
    let count = per_page.min(a.elements.saturating_sub(first));
    // Pages follow the data block (prefix, bitmap, checksum); all but the last are full.
    let page_bytes = per_page * a.format.size + 4;
    let addr = a.data_block + a.prefix(geo) + a.bitmap_len() + 4 + n * page_bytes;
    let mut c = cache.cursor(PAGE, addr, count * a.format.size + 4, geo)?;
    check_trailing_checksum(c.buffer(), PAGE, addr)?;
    let mut step = IndexStep::default();
    a.elements_into(spec, &mut c, first, count, &mut step.chunks)?;
    Ok(step)
}

#[cfg(test)]
mod tests {
    use crate::hdf5::testutil::check_index_against_key;
    use crate::manifest::ChunkIndexKind;

    fn check(rel: &str) -> usize {
        check_index_against_key(rel, "fixed_array", ChunkIndexKind::FixedArray, b"FAHD", &[])
    }

    #[test]
    fn small_fixed_arrays_match_libhdf5() {
        // dset_btree has maxshape 200x100: chunks are indexed over the maximum grid.
        assert!(matches!(check("hdf5/tdset_idx.h5"), 0 | 3));
        assert!(matches!(check("hdf5/chunked_v4_datasets.hdf5"), 0 | 12));
        assert!(matches!(check("hdf5/test_chunked_datasets_latest.hdf5"), 0 | 7));
        assert!(matches!(check("hdf5/test_odd_datasets_latest.hdf5"), 0 | 2));
        assert!(matches!(check("hdf5/test_ld.h5"), 0 | 7));
        assert!(matches!(check("hdf5/h5fc_ext1_i.h5") + check("hdf5/h5fc_ext1_s.h5"), 0 | 2));
    }

    #[test]
    fn paged_fixed_arrays_match_libhdf5() {
        // 2048 and 5000 chunks: two and five pages of 1024 elements, filtered and not.
        assert!(matches!(check("hdf5/fixed_array_paged_datasets.hdf5"), 0 | 6));
    }

    #[test]
    fn icesat2_fixed_array_matches_libhdf5() {
        assert!(matches!(check("icesat2/variable_subset_ATL24_data.h5"), 0 | 1));
    }
}

#[cfg(test)]
mod corruption {
    use crate::hdf5::testutil::{answer_key, find_all, fuzz_flips, load, spec_from_key, walk_index};
    use crate::manifest::ChunkIndexKind;

    #[test]
    fn bit_flips_fail_cleanly() {
        let Some(file) = load("hdf5/tdset_idx.h5") else { return };
        let keys = answer_key("hdf5/tdset_idx.h5");
        for h in find_all(&file.bytes, b"FAHD") {
            for ds in &keys {
                let spec = spec_from_key(ds, ChunkIndexKind::FixedArray, h);
                if walk_index(&spec, &file.cache, file.geo).is_err() {
                    continue;
                }
                // Every flip in the header or its (unpaged) data block is caught by a checksum.
                let b = &file.bytes;
                let u64_at = |at: u64| u64::from_le_bytes(b[at as usize..at as usize + 8].try_into().unwrap());
                let (esize, count, block) = (u64::from(b[h as usize + 6]), u64_at(h + 8), u64_at(h + 16));
                let walk = |c: &_| walk_index(&spec, c, file.geo);
                for range in [h..h + 28, block..block + 14 + count * esize + 4] {
                    let (failed, passed) = fuzz_flips(&file, range.clone(), 1, &[0, 3, 7], walk);
                    assert_eq!(passed, 0, "{range:?}: {passed} corrupted walks succeeded");
                    assert!(failed > 0);
                }
                // Anywhere in the file: no panic, whatever the outcome.
                fuzz_flips(&file, 0..file.bytes.len() as u64, 7, &[0, 3, 7], |c| walk_index(&spec, c, file.geo));
            }
        }
    }
}

#[cfg(test)]
mod synthetic {
    use bytes::Bytes;

    use super::*;
    use crate::hdf5::checksum::lookup3;
    use crate::hdf5::testutil::spec_from_key;
    use crate::manifest::ChunkIndexKind;

    #[test]
    fn empty_array_larger_than_the_file_is_fine() {
        // 10^12 possible chunks, none written: no data block, nothing to read.
        let mut b = b"FAHD\x00\x00\x08\x0a".to_vec();
        b.extend_from_slice(&1_000_000_000_000u64.to_le_bytes());
        b.extend_from_slice(&u64::MAX.to_le_bytes());
        let sum = lookup3(&b);
        b.extend_from_slice(&sum.to_le_bytes());
        let geo = Geometry { sizeof_offsets: 8, sizeof_lengths: 8, base_address: 0, eof: b.len() as u64 };
        let mut cache = Cache::new(b.len() as u64);
        cache.insert(0, Bytes::from(b));
        let ds = serde_json::json!({"shape": [1_000_000, 1_000_000], "maxshape": [1_000_000, 1_000_000],
            "chunk_shape": [1, 1], "type": {"size": 1}, "filters": []});
        let spec = spec_from_key(&ds, ChunkIndexKind::FixedArray, 0);
        assert_eq!(step(&spec, &Work::Header(0), &cache, geo), Ok(IndexStep::default()));
    }
}
