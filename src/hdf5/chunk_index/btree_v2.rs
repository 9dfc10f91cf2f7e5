//! TODO: implemented by the v2-structures work (see chunk_index/mod.rs for the contract).

use super::{ChunkIndexSpec, IndexStep};
use crate::hdf5::cache::Cache;
use crate::hdf5::cursor::Geometry;
use crate::hdf5::error::{unsupported, Parse};

/// Pending work of this index type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Work {
    /// The index header at this address.
    Header(u64),
}

/// First work item for an index whose header is at `address`.
pub(crate) fn start(address: u64) -> Work {
    Work::Header(address)
}

/// Run one work item.
pub(crate) fn step(_spec: &ChunkIndexSpec, work: &Work, _cache: &Cache, _geo: Geometry) -> Parse<IndexStep> {
    let Work::Header(addr) = work;
    unsupported("btree_v2", *addr, "not implemented yet")
}
