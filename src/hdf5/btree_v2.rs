//! Version-2 B-trees (spec III.A.2 "Version 2 B-trees"): header `BTHD`, internal nodes
//! `BTIN`, leaves `BTLF`.
//!
//! Used by dense groups and attributes (record types 5, 6, 8, 9) and by chunk indexes (record
//! types 10, 11). This module only walks the tree and hands back raw records; callers decode
//! them by record type. Internal nodes hold records too (a v2 B-tree keeps records at every
//! level), so a node step returns both its records and its children.
//!
//! The widths of the "number of records" fields in child pointers are not stored: they follow
//! from the node size and record size, exactly as libhdf5 derives them when it opens the tree.

use super::cache::Cache;
use super::checksum::lookup3;
use super::cursor::{bytes_for, Geometry};
use super::error::{bad, Parse};

const HEADER: &str = "v2 B-tree header";
const INTERNAL: &str = "v2 B-tree internal node";
const LEAF: &str = "v2 B-tree leaf node";

/// Signature, version and type before the records of every node, plus the checksum after them.
const NODE_OVERHEAD: u64 = 4 + 1 + 1 + 4;

/// Deepest tree accepted: depth 64 already allows more records than a file can hold.
const MAX_DEPTH: u16 = 64;

/// Per-level limits derived from the node and record sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Level {
    /// Most records a node of this level holds.
    max_records: u64,
    /// Most records in a whole subtree rooted at this level.
    cum_max_records: u64,
    /// Bytes of the "total records in child" field of pointers to nodes of this level.
    cum_width: usize,
}

/// A parsed `BTHD` header plus the derived node geometry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Bt2Header {
    /// Address of the header (for errors).
    pub address: u64,
    /// Record type (5, 6, 8, 9, 10, 11, ...).
    pub record_type: u8,
    /// Bytes per node.
    pub node_size: u32,
    /// Bytes per record.
    pub record_size: u16,
    /// Depth of the tree (0: the root is a leaf).
    pub depth: u16,
    /// The root node, `None` for an empty tree.
    pub root: Option<NodeRef>,
    /// Total records in the tree.
    pub total_records: u64,
    /// Bytes of the "number of records in child" field of every pointer.
    nrec_width: usize,
    /// Limits per level (index = node level, 0 = leaves).
    levels: Vec<Level>,
}

/// Where a node is and what its parent said about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NodeRef {
    /// Absolute address.
    pub address: u64,
    /// Records in the node.
    pub records: u64,
    /// Level of the node (0 = leaf).
    pub level: u16,
}

/// The content of one node.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Node<'a> {
    /// Raw records, `record_size` bytes each, in key order.
    pub records: Vec<&'a [u8]>,
    /// Children (internal nodes only), left to right.
    pub children: Vec<NodeRef>,
}

impl Bt2Header {
    /// Read the header at `address`.
    ///
    /// # Errors
    /// `Need` when the bytes are not cached yet; a format error for a bad signature, version,
    /// checksum or geometry.
    pub(crate) fn read(cache: &Cache, address: u64, geo: Geometry) -> Parse<Bt2Header> {
        let so = u64::from(geo.sizeof_offsets);
        let sl = u64::from(geo.sizeof_lengths);
        let len = 4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + so + 2 + sl + 4;
        let mut c = cache.cursor(HEADER, address, len, geo)?;
        c.signature(b"BTHD")?;
        let version = c.u8()?;
        if version != 0 {
            return bad(HEADER, address, format!("version {version}, expected 0"));
        }
        let record_type = c.u8()?;
        let node_size = c.u32()?;
        let record_size = c.u16()?;
        let depth = c.u16()?;
        let _split = c.u8()?;
        let _merge = c.u8()?;
        let root_addr = c.address()?;
        let root_records = u64::from(c.u16()?);
        let total_records = c.length()?;
        let body = c.pos();
        let stored = c.u32()?;
        if lookup3(&c.buffer()[..body]) != stored {
            return bad(HEADER, address, "checksum mismatch");
        }
        if record_size == 0 || u64::from(node_size) <= NODE_OVERHEAD + u64::from(record_size) {
            return bad(HEADER, address, format!("node size {node_size} cannot hold a record of {record_size} bytes"));
        }
        if depth > MAX_DEPTH {
            return bad(HEADER, address, format!("depth {depth} is implausible"));
        }
        let (nrec_width, levels) = geometry(node_size, record_size, depth, geo.sizeof_offsets, address)?;
        let root = match root_addr {
            None => None,
            Some(a) if a >= geo.eof => {
                return bad(HEADER, address, format!("root node address {a} is past the end of the file"))
            }
            Some(a) => Some(NodeRef { address: a, records: root_records, level: depth }),
        };
        Ok(Bt2Header { address, record_type, node_size, record_size, depth, root, total_records, nrec_width, levels })
    }

    /// Read one node: its records and (internal nodes) its children.
    ///
    /// # Errors
    /// `Need` when the bytes are not cached yet; a format error for a bad signature, type,
    /// record count or checksum.
    pub(crate) fn read_node<'c>(&self, node: &NodeRef, cache: &'c Cache, geo: Geometry) -> Parse<Node<'c>> {
        let (structure, sig) = if node.level == 0 { (LEAF, b"BTLF") } else { (INTERNAL, b"BTIN") };
        let Some(level) = self.levels.get(usize::from(node.level)) else {
            return bad(structure, node.address, format!("level {} is deeper than the tree ({})", node.level, self.depth));
        };
        if node.records > level.max_records {
            return bad(
                structure,
                node.address,
                format!("{} records, but a node of level {} holds at most {}", node.records, node.level, level.max_records),
            );
        }
        let rec = u64::from(self.record_size);
        let ptr = self.pointer_size(node.level, geo);
        // Bounded by max_records, so this fits in the node size.
        let used = 6 + node.records * rec + if node.level > 0 { (node.records + 1) * ptr } else { 0 };
        let mut c = cache.cursor(structure, node.address, used + 4, geo)?;
        c.signature(sig)?;
        let version = c.u8()?;
        if version != 0 {
            return bad(structure, node.address, format!("version {version}, expected 0"));
        }
        let record_type = c.u8()?;
        if record_type != self.record_type {
            return bad(structure, node.address, format!("record type {record_type}, the header says {}", self.record_type));
        }
        let mut out = Node::default();
        for _ in 0..node.records {
            out.records.push(c.bytes(usize::from(self.record_size))?);
        }
        if node.level > 0 {
            let child_level = node.level - 1;
            let child_max = self.levels[usize::from(child_level)].max_records;
            let cum_width = if node.level > 1 { self.levels[usize::from(child_level)].cum_width } else { 0 };
            for _ in 0..=node.records {
                let at = c.file_pos();
                let address = c.required_address()?;
                let records = c.uint(self.nrec_width)?;
                if cum_width > 0 {
                    c.skip(cum_width)?; // total records below the child: not needed to walk
                }
                if records > child_max {
                    return bad(structure, at, format!("child claims {records} records, at most {child_max} fit"));
                }
                out.children.push(NodeRef { address, records, level: child_level });
            }
        }
        let body = c.pos();
        let stored = c.u32()?;
        if lookup3(&c.buffer()[..body]) != stored {
            return bad(structure, node.address, "checksum mismatch");
        }
        Ok(out)
    }

    /// Bytes of one child pointer in an internal node of `level`.
    fn pointer_size(&self, level: u16, geo: Geometry) -> u64 {
        let cum = if level > 1 { self.levels[usize::from(level - 1)].cum_width } else { 0 };
        u64::from(geo.sizeof_offsets) + self.nrec_width as u64 + cum as u64
    }
}

/// Derive per-level record limits (libhdf5 `H5B2__hdr_init`): leaves hold
/// `(node_size - overhead) / record_size` records; internal nodes of level `d` hold as many
/// records as fit beside one more child pointer than records.
fn geometry(node_size: u32, record_size: u16, depth: u16, sizeof_offsets: u8, at: u64) -> Parse<(usize, Vec<Level>)> {
    let node = u64::from(node_size);
    let rec = u64::from(record_size);
    let leaf_max = (node - NODE_OVERHEAD) / rec;
    let nrec_width = bytes_for(leaf_max);
    let mut levels = vec![Level { max_records: leaf_max, cum_max_records: leaf_max, cum_width: 0 }];
    for d in 1..=usize::from(depth) {
        let prev = &levels[d - 1];
        let cum_prev = if d > 1 { prev.cum_width as u64 } else { 0 };
        let ptr = u64::from(sizeof_offsets) + nrec_width as u64 + cum_prev;
        if node < NODE_OVERHEAD + ptr {
            return bad(HEADER, at, format!("node size {node_size} cannot hold an internal node of level {d}"));
        }
        let max_records = (node - NODE_OVERHEAD - ptr) / (rec + ptr);
        if max_records == 0 {
            return bad(HEADER, at, format!("node size {node_size} leaves no room for records at level {d}"));
        }
        let cum_max_records =
            (max_records + 1).saturating_mul(prev.cum_max_records).saturating_add(max_records);
        levels.push(Level { max_records, cum_max_records, cum_width: bytes_for(cum_max_records) });
    }
    Ok((nrec_width, levels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_of_a_typical_chunk_tree() {
        // 2-D type-10 records (8 + 2*8 = 24 bytes) in 2048-byte nodes: 84 per leaf.
        let (w, levels) = geometry(2048, 24, 2, 8, 0).unwrap();
        assert_eq!(levels[0].max_records, (2048 - 10) / 24);
        assert_eq!(w, 1);
        // Level 1 pointers: address + 1-byte count = 9 bytes.
        assert_eq!(levels[1].max_records, (2048 - 10 - 9) / (24 + 9));
        assert_eq!(levels[1].cum_max_records, (61 + 1) * 84 + 61);
        assert_eq!(levels[1].cum_width, 2);
    }
}
