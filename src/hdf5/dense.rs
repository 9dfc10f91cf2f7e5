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

    #[test]
    fn icesat2_root_attributes_with_a_huge_object() {
        // "Processing Parameters" (27 kB) exceeds the managed-object limit: a huge object
        // found through the heap's huge-object B-tree.
        for (rel, n) in [
            ("icesat2/processed_ATL06_20181015100401_02560110_003_01.h5", 49),
            ("icesat2/processed_ATL07-01_20190226002919_09100201_003_02.h5", 48),
        ] {
            let Some(sets) = dense_name_sets(rel, 8) else { return };
            let root = sets.iter().find(|s| s.len() == n).unwrap_or_else(|| panic!("{rel}: {sets:?}"));
            assert!(root.contains(&"Processing Parameters".to_string()) && root.contains(&"citation".to_string()));
        }
    }

    /// A heap deep enough for child indirect blocks: 30000 soft links of ~50-byte names.
    /// Needs `/tmp/biggroup.h5` from h5py (`libver="latest"`, group `g`, links named
    /// `a_rather_long_link_name_to_fill_the_heap_%06d`).
    #[test]
    #[ignore]
    fn heap_with_child_indirect_blocks() {
        let Some(sets) = dense_name_sets("/tmp/biggroup.h5", 5) else { return };
        let mut want: Vec<String> = (0..30000).map(|i| format!("a_rather_long_link_name_to_fill_the_heap_{i:06}")).collect();
        want.sort();
        assert!(sets.contains(&want), "{:?}", sets.iter().map(Vec::len).collect::<Vec<_>>());
    }
}

#[cfg(test)]
mod corruption {
    use super::DenseRef;
    use crate::hdf5::testutil::{find_all, fuzz_flips, load, walk_dense};

    #[test]
    fn bit_flips_fail_cleanly() {
        let Some(file) = load("hdf5/test_large_group_latest.hdf5") else { return };
        let heap = find_all(&file.bytes, b"FRHP")[0];
        let tree = find_all(&file.bytes, b"BTHD")[0];
        let d = DenseRef { heap, name_index: tree };
        assert_eq!(walk_dense(d, &file.cache, file.geo).map(|m| m.len()), Ok(1000));
        let b = &file.bytes;
        let root = u64::from_le_bytes(b[tree as usize + 16..tree as usize + 24].try_into().unwrap());
        let records = u64::from(u16::from_le_bytes([b[tree as usize + 24], b[tree as usize + 25]]));
        let walk = |c: &_| walk_dense(d, c, file.geo);
        // Heap header, B-tree header, records of the root: every flip is caught.
        for range in [heap..heap + 146, tree..tree + 38, root..root + 6 + records * 11] {
            let (failed, passed) = fuzz_flips(&file, range.clone(), 1, &[0, 3, 7], walk);
            assert_eq!(passed, 0, "{range:?}: {passed} corrupted walks succeeded");
            assert!(failed > 0);
        }
        // Everywhere else: no panic, whatever the outcome.
        fuzz_flips(&file, 0..file.bytes.len() as u64, 997, &[4], walk);
    }
}
