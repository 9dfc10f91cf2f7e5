//! Chunk index of type 5, a version-2 B-tree (spec VII.A "Version 2 B-tree" record types
//! 10 and 11, and IV.A.2.i "Data Layout Message").
//!
//! Type 10 (no filters): chunk address, then the chunk's scaled offset (grid coordinate) in
//! each dimension as 8-byte integers. Type 11 (filters): address, stored size, filter mask,
//! scaled offsets. The stored-size width is, for layout version 4, one byte more than needed
//! for the unfiltered chunk size (capped at 8); layout version 5 (libhdf5 2.0) writes it with
//! "size of lengths" bytes so a filter may grow a chunk. Both equal the header's record size
//! minus the other fields, which is what is used here.

use std::sync::Arc;

use super::{ChunkIndexSpec, IndexStep, IndexWork};
use crate::hdf5::btree_v2::{Bt2Header, NodeRef};
use crate::hdf5::cache::Cache;
use crate::hdf5::cursor::{Cursor, Geometry};
use crate::hdf5::error::{bad, Parse};
use crate::manifest::{ChunkRef, Coords};

const STRUCTURE: &str = "v2 B-tree chunk index";

/// Pending work of this index type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Work {
    /// The B-tree header at this address.
    Header(u64),
    /// One node of the tree.
    Node(Arc<Bt2Header>, NodeRef),
}

/// First work item for an index whose header is at `address`.
pub(crate) fn start(address: u64) -> Work {
    Work::Header(address)
}

/// Run one work item: the header yields the root, a node yields its chunks and children.
pub(crate) fn step(spec: &ChunkIndexSpec, work: &Work, cache: &Cache, geo: Geometry) -> Parse<IndexStep> {
    match work {
        Work::Header(addr) => {
            let tree = Bt2Header::read(cache, *addr, geo)?;
            record_layout(spec, &tree, geo)?;
            let mut step = IndexStep::default();
            if let Some(root) = tree.root {
                if root.records > 0 {
                    step.more.push(IndexWork::BtreeV2(Work::Node(Arc::new(tree), root)));
                }
            }
            Ok(step)
        }
        Work::Node(tree, node) => {
            let size_width = record_layout(spec, tree, geo)?;
            let content = tree.read_node(node, cache, geo)?;
            let mut step = IndexStep::default();
            for rec in &content.records {
                let mut c = Cursor::new(rec, node.address, STRUCTURE, geo);
                if let Some(chunk) = decode(spec, &mut c, size_width)? {
                    step.chunks.push(chunk);
                }
            }
            step.more =
                content.children.into_iter().map(|n| IndexWork::BtreeV2(Work::Node(Arc::clone(tree), n))).collect();
            Ok(step)
        }
    }
}

/// Check the record type and size against the dataset; returns the stored-size width
/// (`None` for unfiltered type-10 records).
fn record_layout(spec: &ChunkIndexSpec, tree: &Bt2Header, geo: Geometry) -> Parse<Option<usize>> {
    let rank = spec.chunk_dims.len() as u64;
    let fixed = u64::from(geo.sizeof_offsets) + 8 * rank;
    let size = u64::from(tree.record_size);
    match tree.record_type {
        10 if size == fixed => Ok(None),
        11 if size > fixed + 4 && size - fixed - 4 <= 8 => Ok(Some((size - fixed - 4) as usize)),
        10 | 11 => bad(
            STRUCTURE,
            tree.address,
            format!("record size {size} does not fit record type {} of a rank-{rank} dataset", tree.record_type),
        ),
        t => bad(STRUCTURE, tree.address, format!("record type {t}, expected 10 or 11 (chunks)")),
    }
}

/// One record; `None` when its address is undefined.
fn decode(spec: &ChunkIndexSpec, c: &mut Cursor<'_>, size_width: Option<usize>) -> Parse<Option<ChunkRef>> {
    let at = c.file_pos();
    let address = c.address()?;
    let (length, filter_mask) = match size_width {
        Some(w) => (c.uint(w)?, c.u32()?),
        None => (spec.chunk_bytes(), 0),
    };
    let mut coords = Coords::new();
    for _ in &spec.chunk_dims {
        coords.push(c.u64()?);
    }
    let Some(offset) = address else { return Ok(None) };
    let eof = c.geo().eof;
    if offset.checked_add(length).is_none_or(|end| end > eof) {
        return bad(STRUCTURE, at, format!("chunk of {length} bytes at {offset} extends past the end of the file ({eof})"));
    }
    Ok(Some(ChunkRef { coords, offset, length, filter_mask, href: None }))
}

#[cfg(test)]
mod tests {
    use crate::hdf5::testutil::check_index_against_key;
    use crate::manifest::ChunkIndexKind;

    fn check(rel: &str) -> usize {
        check_index_against_key(rel, "btree_v2", ChunkIndexKind::BtreeV2, b"BTHD", &[])
    }

    #[test]
    fn chunked_v4_datasets_match_libhdf5() {
        // 7 unfiltered + 7 deflated datasets, including a 10000-chunk tree with internal nodes.
        let n = check("hdf5/chunked_v4_datasets.hdf5");
        assert!(n == 0 || n == 14, "{n}");
    }

    #[test]
    fn btreev2_and_h5fc_match_libhdf5() {
        let n = check("hdf5/btreev2.hdf5");
        assert!(n == 0 || n == 2, "{n}");
        let n = check("hdf5/h5fc_ext1_i.h5") + check("hdf5/h5fc_ext1_s.h5");
        assert!(n == 0 || n == 2, "{n}");
    }
}

#[cfg(test)]
mod corruption {
    use crate::hdf5::testutil::{answer_key, find_all, fuzz_flips, key_chunks, load, spec_from_key, walk_index};
    use crate::manifest::ChunkIndexKind;

    #[test]
    fn bit_flips_fail_cleanly() {
        let rel = "hdf5/chunked_v4_datasets.hdf5";
        let Some(file) = load(rel) else { return };
        let keys = answer_key(rel);
        for path in ["/btree_v2/large_int16", "/filtered_btree_v2/int8"] {
            let ds = keys.iter().find(|d| d["path"] == path).expect("dataset");
            let want = key_chunks(ds);
            let spec = find_all(&file.bytes, b"BTHD")
                .into_iter()
                .map(|h| spec_from_key(ds, ChunkIndexKind::BtreeV2, h))
                .find(|s| walk_index(s, &file.cache, file.geo).is_ok_and(|got| got == want))
                .expect("header");
            let h = spec.address.unwrap_or(0);
            let b = &file.bytes;
            let root = u64::from_le_bytes(b[h as usize + 16..h as usize + 24].try_into().unwrap());
            let record_size = u64::from(u16::from_le_bytes([b[h as usize + 10], b[h as usize + 11]]));
            let records = u64::from(u16::from_le_bytes([b[h as usize + 24], b[h as usize + 25]]));
            let walk = |c: &_| walk_index(&spec, c, file.geo);
            // Header and root node records: every flip is caught.
            for range in [h..h + 38, root..root + 6 + records.min(8) * record_size] {
                let (failed, passed) = fuzz_flips(&file, range.clone(), 1, &[2, 7], walk);
                assert_eq!(passed, 0, "{path} {range:?}: {passed} corrupted walks succeeded");
                assert!(failed > 0);
            }
            if path.ends_with("int8") {
                fuzz_flips(&file, root.saturating_sub(2048)..root + 4096, 3, &[1, 6], walk);
            }
        }
    }
}
