//! Dense link and attribute storage: a fractal heap of messages indexed by a v2 B-tree
//! (spec IV.A.2.c "Link Info Message", IV.A.2.v "Attribute Info Message", and the v2 B-tree
//! record types 5, 6, 8 and 9 of III.A.2).
//!
//! The walk reads the heap and B-tree headers, then the tree level by level; every record
//! names a heap object, which is a link message or attribute message body. Messages come
//! back in tree order, not name order.

use std::sync::Arc;

use super::btree_v2::{Bt2Header, NodeRef};
use super::cache::Cache;
use super::cursor::Geometry;
use super::error::{bad, unsupported, Fault, Parse};
use super::fractal_heap::{Checked, FractalHeap};

const STRUCTURE: &str = "dense storage index";

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
    /// One node of the index.
    Node(Arc<FractalHeap>, Arc<Bt2Header>, NodeRef),
    /// One heap object whose blocks were not fetched when its node was read.
    Object(Arc<FractalHeap>, Vec<u8>),
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
///
/// # Errors
/// `Need` for bytes not fetched yet; format errors for malformed structures; unsupported for
/// shared attribute messages, huge heap objects and filtered heaps.
pub(crate) fn step(work: &DenseWork, cache: &Cache, geo: Geometry) -> Parse<DenseStep> {
    let mut out = DenseStep::default();
    match work {
        DenseWork::Start(d) => {
            let heap = FractalHeap::read(cache, d.heap, geo)?;
            let tree = Bt2Header::read(cache, d.name_index, geo)?;
            id_field(&tree, &heap)?;
            if let Some(root) = tree.root.filter(|r| r.records > 0) {
                out.more.push(DenseWork::Node(Arc::new(heap), Arc::new(tree), root));
            }
        }
        DenseWork::Node(heap, tree, node) => {
            let (from, len) = id_field(tree, heap)?;
            let content = tree.read_node(node, cache, geo)?;
            let mut checked = Checked::new();
            for rec in &content.records {
                if matches!(tree.record_type, 8 | 9) && rec[8] & 0x01 != 0 {
                    return unsupported(STRUCTURE, node.address, "shared attribute messages in dense storage");
                }
                let id = &rec[from..from + len];
                match heap.object(id, cache, geo, &mut checked) {
                    Ok(m) => out.messages.push(m),
                    // Fetched next round, together with every other object still missing.
                    Err(Fault::Need(_)) => out.more.push(DenseWork::Object(Arc::clone(heap), id.to_vec())),
                    Err(e) => return Err(e),
                }
            }
            let children = content.children.into_iter();
            out.more.extend(children.map(|n| DenseWork::Node(Arc::clone(heap), Arc::clone(tree), n)));
        }
        DenseWork::Object(heap, id) => out.messages.push(heap.object(id, cache, geo, &mut Checked::new())?),
    }
    Ok(out)
}

/// Where the heap ID sits in a record of this tree: `(start, length)`.
fn id_field(tree: &Bt2Header, heap: &FractalHeap) -> Parse<(usize, usize)> {
    let id = usize::from(heap.id_len);
    let size = usize::from(tree.record_size);
    let (from, expected) = match tree.record_type {
        5 => (4, 4 + id),      // name hash, ID
        6 => (8, 8 + id),      // creation order, ID
        8 => (0, id + 1 + 4 + 4), // ID, flags, creation order, name hash
        9 => (0, id + 1 + 4),  // ID, flags, creation order
        t => return bad(STRUCTURE, tree.address, format!("record type {t}, expected 5, 6, 8 or 9")),
    };
    if size != expected || id < 2 {
        return bad(
            STRUCTURE,
            tree.address,
            format!("record size {size} does not fit type {} with {id}-byte heap IDs", tree.record_type),
        );
    }
    Ok((from, id))
}

#[cfg(test)]
mod tests {
    use crate::hdf5::testutil::dense_name_sets;

    fn names(prefix: &str, n: usize) -> Vec<String> {
        let mut v: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
        v.sort();
        v
    }

    #[test]
    fn all_1000_links_of_a_large_group() {
        let Some(sets) = dense_name_sets("hdf5/test_large_group_latest.hdf5", 5) else { return };
        assert!(sets.contains(&names("data", 1000)), "{:?}", sets.iter().map(Vec::len).collect::<Vec<_>>());
    }

    #[test]
    fn dense_attributes_of_test_attribute_latest() {
        let Some(sets) = dense_name_sets("hdf5/test_attribute_latest.hdf5", 8) else { return };
        let want: Vec<String> = [
            "1D_float", "1D_int", "1D_object_references", "2D_float", "2D_int", "2D_object_references", "2d_string",
            "empty_float", "empty_int", "empty_string", "object_reference", "scalar_float", "scalar_int", "scalar_string",
        ]
        .map(String::from)
        .to_vec();
        // Two objects; both heaps are laid out alike, so crossed pairs resolve too.
        assert!(sets.iter().filter(|s| **s == want).count() >= 2, "{sets:?}");
    }

    #[test]
    fn netcdf4_dense_links_and_attributes() {
        let Some(sets) = dense_name_sets("hdf5/ref_tst_interops4.nc", 8) else { return };
        let mut var = names("att_", 20);
        var.insert(0, "DIMENSION_LIST".to_string());
        assert!(sets.contains(&names("att_", 20)));
        assert!(sets.iter().filter(|s| **s == var).count() >= 20);
        let Some(sets) = dense_name_sets("hdf5/nctest_netcdf4_classic.nc", 8) else { return };
        assert!(sets.iter().any(|s| s.len() == 14 && s.contains(&"_NCProperties".to_string())), "{sets:?}");
        let Some(sets) = dense_name_sets("hdf5/nctest_netcdf4_classic.nc", 5) else { return };
        assert!(sets.iter().any(|s| s.len() == 50), "{:?}", sets.iter().map(Vec::len).collect::<Vec<_>>());
    }
}
