//! Dense link and attribute storage: a fractal heap of messages indexed by a v2 B-tree
//! (spec IV.A.2.c "Link Info Message", IV.A.2.v "Attribute Info Message").
//! TODO: implemented by the v2-structures work.

use super::cache::Cache;
use super::cursor::Geometry;
use super::error::{unsupported, Parse};

/// Where a group's links or an object's attributes are stored densely.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DenseRef {
    /// Absolute address of the fractal heap header.
    pub heap: u64,
    /// Absolute address of the v2 B-tree indexing the heap by name.
    pub name_index: u64,
}

/// Pending work of a dense-storage walk.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum DenseWork {
    /// Start: read the heap and B-tree headers.
    Start(DenseRef),
}

/// What one step found.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct DenseStep {
    /// Raw message bodies (link messages or attribute messages) found in the heap.
    pub messages: Vec<Vec<u8>>,
    /// Further work.
    pub more: Vec<DenseWork>,
}

/// First work item.
pub(crate) fn start(dense: DenseRef) -> DenseWork {
    DenseWork::Start(dense)
}

/// Run one work item.
pub(crate) fn step(work: &DenseWork, _cache: &Cache, _geo: Geometry) -> Parse<DenseStep> {
    let DenseWork::Start(d) = work;
    unsupported("dense storage", d.heap, "not implemented yet")
}
