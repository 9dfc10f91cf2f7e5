//! Version-1 B-tree nodes of type 1 (raw-data chunks): spec III.A.1 "Version 1 B-trees".
//!
//! A node is `TREE`, type, level, entries used, two sibling addresses, then keys and child
//! addresses interleaved. A type-1 key is the chunk's stored size, its filter mask and its
//! element offset in each dimension (plus a trailing 0 for the element-size dimension).

use super::{ChunkIndexSpec, IndexWork};
use crate::hdf5::cache::Cache;
use crate::hdf5::cursor::Geometry;
use crate::hdf5::error::{bad, Parse};
use crate::manifest::{ChunkRef, Coords};

const STRUCTURE: &str = "v1 B-tree chunk node";

/// Read one node, appending a leaf's chunks to `out` (straight into the array's list: no
/// per-leaf vector to copy a million records through) and returning an internal node's
/// children. On error `out` may hold part of the node's chunks; the caller drops them.
pub(crate) fn step_into(spec: &ChunkIndexSpec, addr: u64, cache: &Cache, geo: Geometry, out: &mut Vec<ChunkRef>) -> Parse<Vec<IndexWork>> {
    let prefix = 8 + 2 * u64::from(geo.sizeof_offsets);
    let mut c = cache.cursor(STRUCTURE, addr, prefix, geo)?;
    c.signature(b"TREE")?;
    let node_type = c.u8()?;
    if node_type != 1 {
        return bad(STRUCTURE, addr, format!("node type {node_type}, expected 1 (raw data chunks)"));
    }
    let level = c.u8()?;
    let entries = u64::from(c.u16()?);
    let rank = spec.chunk_dims.len();
    let key_size = 8 + 8 * (rank as u64 + 1);
    let body = entries * (key_size + u64::from(geo.sizeof_offsets)) + key_size;
    let mut c = cache.cursor(STRUCTURE, addr, prefix + body, geo)?;
    c.skip(prefix as usize)?;

    let mut more = Vec::new();
    if level == 0 {
        out.reserve(entries as usize);
    } else {
        more.reserve(entries as usize);
    }
    // An internal node's keys are checked like a leaf's, into a scratch position.
    let mut scratch = Coords::zeros(rank);
    for _ in 0..entries {
        let key_at = c.file_pos();
        let length = u64::from(c.u32()?);
        let filter_mask = c.u32()?;
        let coords = if level == 0 {
            // A leaf's record is filled in place in the list: built on the stack field by
            // field and then copied, its narrow stores stalled the wide loads of the copy
            // (store forwarding fails), a third of a million-chunk read.
            out.push(ChunkRef { coords: Coords::zeros(rank), offset: 0, length, filter_mask, href: None });
            match out.last_mut() {
                Some(record) => &mut record.coords,
                None => unreachable!("a record was just pushed"),
            }
        } else {
            &mut scratch
        };
        for (d, (&chunk, slot)) in spec.chunk_dims.iter().zip(coords.iter_mut()).enumerate() {
            let offset = c.u64()?;
            if chunk == 0 || offset % chunk != 0 {
                return bad(STRUCTURE, key_at, format!("offset {offset} in dimension {d} is not a multiple of the chunk size {chunk}"));
            }
            *slot = offset / chunk;
        }
        c.skip(8)?; // element-size dimension, always 0
        let child = c.required_address()?;
        match out.last_mut() {
            Some(record) if level == 0 => record.offset = child,
            _ => more.push(IndexWork::BtreeV1Node(child)),
        }
    }
    Ok(more)
}
