//! Consolidated metadata for the groups of the store, built once at startup.
//!
//! Zarr v3 has no consolidated-metadata extension yet; this is zarr-python 3's inline form, which
//! `zarr.open_group(..., use_consolidated=True)` and xarray's `consolidated=True` read from the
//! group's own `zarr.json`:
//! `"consolidated_metadata": {"kind": "inline", "must_understand": false, "metadata": {...}}`
//! where `metadata` maps every descendant's path relative to the group to its `zarr.json`, and
//! descendant groups carry an empty `consolidated_metadata` (as zarr-python writes them).
//! Every group gets one — not only the root — so that a client can open any group directly with
//! consolidated metadata (xarray's `group=`). A group whose consolidated document would exceed
//! the size limit is served plain (clients then read each `zarr.json`); with many granules that is
//! typically the root alone.

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::zarr::VirtualStore;

/// The `zarr.json` documents served instead of the store's, per node path (`""` for the root):
/// every group whose consolidated document stays within `max_bytes`, and every array `rewrite`
/// changed (it is applied to array documents, returning whether it changed one; consolidated
/// documents list the rewritten form).
pub(crate) fn consolidate(
    store: &VirtualStore,
    max_bytes: usize,
    rewrite: &dyn Fn(&str, &mut Value) -> bool,
) -> HashMap<String, Bytes> {
    // Sorted by path (the store's order), so each group's descendants are one contiguous run.
    let nodes: Vec<(&str, bool, usize)> = store
        .node_paths()
        .map(|(p, is_array)| (p, is_array, store.metadata(p).map_or(0, Bytes::len)))
        .collect();
    let mut out = HashMap::new();
    let parsed: Vec<Option<Value>> = nodes
        .iter()
        .map(|(p, is_array, _)| {
            let mut v: Value = serde_json::from_slice(store.metadata(p)?).ok()?;
            if !is_array {
                v["consolidated_metadata"] = empty();
            } else if rewrite(p, &mut v) {
                out.insert((*p).to_string(), Bytes::from(v.to_string()));
            }
            Some(v)
        })
        .collect();
    for (i, (group, is_array, _)) in nodes.iter().enumerate() {
        if *is_array {
            continue;
        }
        let prefix = if group.is_empty() {
            String::new()
        } else {
            format!("{group}/")
        };
        // Descendants: the paths starting with `group/` are one run in sorted order (not
        // necessarily right after the group: `g/a-b` sorts between `g/a` and `g/a/b`).
        let start = nodes.partition_point(|(p, ..)| *p < prefix.as_str());
        let start = start + usize::from(group.is_empty());
        let end = start + nodes[start..].partition_point(|(p, ..)| p.starts_with(&prefix));
        let estimate: usize = nodes[start..end].iter().map(|(p, _, n)| p.len() + n + 64).sum();
        if estimate > max_bytes {
            continue;
        }
        let Some(Some(mut own)) = parsed.get(i).cloned() else {
            continue;
        };
        let metadata: Map<String, Value> = (start..end)
            .filter_map(|j| {
                let rel = nodes[j].0.strip_prefix(&prefix)?;
                Some((rel.to_string(), parsed[j].clone()?))
            })
            .collect();
        own["consolidated_metadata"] =
            json!({"kind": "inline", "must_understand": false, "metadata": metadata});
        let bytes = own.to_string();
        if bytes.len() <= max_bytes {
            out.insert((*group).to_string(), Bytes::from(bytes));
        }
    }
    out
}

fn empty() -> Value {
    json!({"kind": "inline", "must_understand": false, "metadata": {}})
}

#[cfg(test)]
mod tests {
    use super::consolidate;
    use crate::zarr::{StoreGranule, VirtualStore};

    fn store() -> VirtualStore {
        let array = |path: &str| {
            serde_json::json!({"path": path, "shape": [4], "maxshape": [4],
                "dtype": {"class": "float", "size": 8, "order": "LE"}, "layout": "contiguous",
                "chunk_shape": [4], "filters": [],
                "fill": {"defined": "default", "time": "ifset", "alloc_time": "late"},
                "attributes": [], "chunks": [{"coords": [0], "offset": 0, "length": 32}]})
        };
        let manifest = serde_json::json!({"url": "memory://g", "size": 96, "source": "hdf5", "groups": [],
            "arrays": [array("/a/b/x"), array("/a/y"), array("/a-b"), array("/z")]});
        let manifest = serde_json::from_value(manifest).expect("manifest");
        VirtualStore::new(vec![StoreGranule { id: "g".into(), manifest }], Default::default())
    }

    #[test]
    fn every_group_lists_its_descendants_relative_to_itself() {
        let store = store();
        let docs = consolidate(&store, 1 << 20, &|_, _| false);
        let keys = |node: &str| {
            let v: serde_json::Value = serde_json::from_slice(&docs[node]).expect("json");
            assert_eq!(v["consolidated_metadata"]["kind"], "inline");
            let mut k: Vec<String> = v["consolidated_metadata"]["metadata"]
                .as_object()
                .expect("object")
                .keys()
                .cloned()
                .collect();
            k.sort();
            k
        };
        assert_eq!(keys(""), ["g", "g/a", "g/a-b", "g/a/b", "g/a/b/x", "g/a/y", "g/z"]);
        assert_eq!(keys("g/a"), ["b", "b/x", "y"]);
        assert_eq!(keys("g/a/b"), ["x"]);
        // Arrays have no consolidated document; a tiny limit leaves every group plain.
        assert!(!docs.contains_key("g/z"));
        assert!(consolidate(&store, 100, &|_, _| false).is_empty());
    }
}
