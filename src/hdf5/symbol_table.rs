//! Symbol-table groups (spec III.A.1 type-0 v1 B-tree nodes and III.C symbol table nodes `SNOD`).

use super::cache::Cache;
use super::cursor::Geometry;
use super::error::{bad, Parse};
use super::local_heap::LocalHeap;
use super::messages::link::{Link, LinkDest};

/// What one step of a symbol-table walk found.
#[derive(Debug, Default)]
pub(crate) struct GroupStep {
    /// Child B-tree nodes or SNODs still to read: (address, is_snod).
    pub more: Vec<(u64, bool)>,
    /// Links found.
    pub links: Vec<Link>,
}

/// Read a type-0 v1 B-tree node: children are further nodes or, at level 0, SNODs.
pub(crate) fn btree_node(cache: &Cache, addr: u64, geo: Geometry) -> Parse<GroupStep> {
    const STRUCTURE: &str = "v1 B-tree group node";
    let prefix = 8 + 2 * u64::from(geo.sizeof_offsets);
    let mut c = cache.cursor(STRUCTURE, addr, prefix, geo)?;
    c.signature(b"TREE")?;
    let node_type = c.u8()?;
    if node_type != 0 {
        return bad(STRUCTURE, addr, format!("node type {node_type}, expected 0 (group nodes)"));
    }
    let level = c.u8()?;
    let entries = u64::from(c.u16()?);
    let key = u64::from(geo.sizeof_lengths);
    let body = entries * (key + u64::from(geo.sizeof_offsets)) + key;
    let mut c = cache.cursor(STRUCTURE, addr, prefix + body, geo)?;
    c.skip(prefix as usize)?;
    let mut step = GroupStep::default();
    for _ in 0..entries {
        c.length()?; // key: heap offset of the largest name in the child
        step.more.push((c.required_address()?, level == 0));
    }
    Ok(step)
}

/// Read a symbol table node: one link per entry, names from the local heap.
pub(crate) fn snod(cache: &Cache, addr: u64, heap: &LocalHeap, geo: Geometry) -> Parse<GroupStep> {
    const STRUCTURE: &str = "symbol table node";
    let mut c = cache.cursor(STRUCTURE, addr, 8, geo)?;
    c.signature(b"SNOD")?;
    c.skip(2)?; // version, reserved
    let n = u64::from(c.u16()?);
    let entry = 2 * u64::from(geo.sizeof_offsets) + 24;
    let mut c = cache.cursor(STRUCTURE, addr + 8, n * entry, geo)?;
    let mut step = GroupStep::default();
    for _ in 0..n {
        let name_offset = c.uint(usize::from(geo.sizeof_offsets))?;
        let header = c.address()?;
        let cache_type = c.u32()?;
        c.skip(4)?;
        let scratch = c.bytes(16)?;
        let name = heap.string(cache, name_offset)?;
        let dest = if cache_type == 2 {
            let off = u64::from(u32::from_le_bytes([scratch[0], scratch[1], scratch[2], scratch[3]]));
            LinkDest::Soft(heap.string(cache, off)?)
        } else {
            match header {
                Some(a) if a < geo.eof => LinkDest::Hard(a),
                _ => return bad(STRUCTURE, c.file_pos(), format!("entry {name:?} has no valid object header address")),
            }
        };
        step.links.push(Link { name, dest });
    }
    Ok(step)
}
