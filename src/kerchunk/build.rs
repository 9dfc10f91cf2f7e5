//! Building the reference set: groups, arrays and chunk references of each granule.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use serde_json::{json, Value};

use super::{dims, zarray, ArrayRefs, KerchunkError, ReferenceOptions, References, Skipped, Target};
use crate::index::granule_id;
use crate::manifest::{ArrayMeta, Attribute, Datatype, GranuleManifest, Layout, LinkTarget, SourceKind};

/// How netCDF-4 marks a dimension scale that is not a variable (its `NAME` attribute).
const NETCDF_DIM_ONLY: &str = "This is a netCDF dimension but not a netCDF variable";

/// `prefix` joined with an HDF5 path, without a leading slash (`""` + `/` → `""`).
fn key(prefix: &str, path: &str) -> String {
    let path = path.trim_matches('/');
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}/{path}"),
    }
}

/// The key of a document (`.zarray`, a chunk key) under `base` (`""`: the root).
pub(crate) fn doc(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_string()
    } else {
        format!("{base}/{name}")
    }
}

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// Build the references of `granules`.
///
/// # Errors
/// When `opts.at_root` is set for other than one granule. Arrays Zarr cannot express, and
/// granules whose id repeats an earlier one, are listed in [`References::skipped`].
pub fn references(granules: &[GranuleManifest], opts: &ReferenceOptions) -> Result<References, KerchunkError> {
    if opts.at_root && granules.len() != 1 {
        return Err(KerchunkError::RootNeedsOneGranule(granules.len()));
    }
    let mut refs = References::default();
    refs.metadata.insert(".zgroup".into(), json!({"zarr_format": 2}));
    let mut ids = HashSet::new();
    for m in granules {
        let prefix = if opts.at_root { String::new() } else { granule_id(&m.url) };
        if !ids.insert(prefix.clone()) {
            refs.skipped.push(Skipped {
                granule: m.url.clone(),
                path: "/".into(),
                reason: format!("granule id {prefix} is already used by another granule"),
            });
            continue;
        }
        add_granule(&mut refs, m, &prefix);
    }
    Ok(refs)
}

fn add_granule(refs: &mut References, m: &GranuleManifest, prefix: &str) {
    let mut groups: BTreeSet<String> = BTreeSet::new();
    let mut group = |refs: &mut References, path: &str, attrs: Option<&[Attribute]>| {
        // Every ancestor is a group too, even one the manifest does not list.
        let mut p = path;
        loop {
            if groups.insert(p.to_string()) {
                refs.metadata.insert(doc(&key(prefix, p), ".zgroup"), json!({"zarr_format": 2}));
            }
            if p == "/" {
                break;
            }
            p = parent(p);
        }
        if let Some(a) = attrs.map(crate::zarr::user_attributes).filter(|a| !a.is_empty()) {
            refs.metadata.insert(doc(&key(prefix, path), ".zattrs"), Value::Object(a));
        }
    };
    group(refs, "/", None);
    for g in &m.groups {
        group(refs, &g.path, Some(&g.attributes));
    }
    let mut phony = dims::PhonyDims::default();
    let lengths: HashMap<&str, u64> =
        m.arrays.iter().filter(|a| a.shape.len() == 1).map(|a| (a.path.as_str(), a.shape[0])).collect();
    let url: Arc<str> = Arc::from(m.url.as_str());
    let mut exported: BTreeMap<&str, String> = BTreeMap::new();
    for a in &m.arrays {
        let built = match left_out(m, a) {
            Some(reason) => Err(reason),
            None => zarray::zarray(a).and_then(|z| chunks(a, &url).map(|c| (z, c))),
        };
        let (zarray, chunks) = match built {
            Ok(built) => built,
            Err(reason) => {
                refs.skipped.push(Skipped { granule: m.url.clone(), path: a.path.clone(), reason });
                continue;
            }
        };
        group(refs, parent(&a.path), None);
        let base = key(prefix, &a.path);
        let mut attrs = crate::zarr::user_attributes(&a.attributes);
        attrs.insert("_ARRAY_DIMENSIONS".into(), json!(phony.names(parent(&a.path), a, |p| lengths.get(p).copied())));
        refs.metadata.insert(doc(&base, ".zarray"), zarray);
        refs.metadata.insert(doc(&base, ".zattrs"), Value::Object(attrs));
        refs.arrays.insert(base.clone(), chunks);
        exported.insert(&a.path, base);
    }
    // A second name of an array (hard or soft link) reads the same chunks.
    for l in &m.links {
        let (LinkTarget::Hard { target } | LinkTarget::Soft { target }) = &l.target else { continue };
        let Some(base) = exported.get(target.as_str()) else { continue };
        let alias = key(prefix, &l.path);
        if refs.metadata.contains_key(&doc(&alias, ".zgroup")) || refs.arrays.contains_key(&alias) {
            continue;
        }
        group(refs, parent(&l.path), None);
        for doc_name in [".zarray", ".zattrs"] {
            if let Some(v) = refs.metadata.get(&doc(base, doc_name)).cloned() {
                refs.metadata.insert(doc(&alias, doc_name), v);
            }
        }
        if let Some(c) = refs.arrays.get(base).cloned() {
            refs.arrays.insert(alias, c);
        }
    }
}

/// Why `a` is left out whatever its type, if it is.
fn left_out(m: &GranuleManifest, a: &ArrayMeta) -> Option<String> {
    // The reader dropped something of this array (chunks outside the file, say): its
    // references would read fill values where the file has data.
    if let Some(p) = m.problems.iter().find(|p| p.path == a.path) {
        return Some(format!("its manifest is incomplete: {}", p.reason));
    }
    // netCDF-4 writes a dimension without a coordinate variable as an empty dimension scale:
    // no data, and (for an unlimited dimension) a length that contradicts its variables'.
    if a.attributes.iter().any(|at| at.name == "NAME" && at.value.as_str().is_some_and(|v| v.starts_with(NETCDF_DIM_ONLY))) {
        return Some("a netCDF dimension without a variable (no data); its name stays in _ARRAY_DIMENSIONS".into());
    }
    // A DMR++ carries structure values inline in OPeNDAP's own encoding, not HDF5's bytes.
    if m.source == SourceKind::Dmrpp && a.inline.is_some() && matches!(a.dtype, Datatype::Compound { .. }) {
        return Some("DMR++ structure values are inline in OPeNDAP's encoding, not the file's bytes".into());
    }
    None
}

/// The chunk references of `a`; `Err` when a chunk lies outside the chunk grid (a reference
/// to it would be read as another chunk, or not at all).
fn chunks(a: &ArrayMeta, url: &Arc<str>) -> Result<ArrayRefs, String> {
    let grid: Vec<u64> = if a.shape.is_empty() {
        vec![1]
    } else {
        a.shape.iter().zip(&a.chunk_shape).map(|(&n, &c)| n.div_ceil(c.max(1))).collect()
    };
    if grid.contains(&0) {
        return Ok(ArrayRefs { grid, chunks: Vec::new() });
    }
    let origin = || vec![0; grid.len()];
    if a.layout == Layout::Compact {
        let chunks = a.inline.iter().map(|b| (origin(), Target::Inline(b.clone()))).collect();
        return Ok(ArrayRefs { grid, chunks });
    }
    let mut chunks = Vec::with_capacity(a.chunks.len());
    for c in &a.chunks {
        let coords = if c.coords.is_empty() && a.shape.is_empty() { origin() } else { c.coords.to_vec() };
        if coords.len() != grid.len() || coords.iter().zip(&grid).any(|(i, n)| i >= n) {
            return Err(format!("chunk {:?} lies outside the chunk grid {grid:?}", c.coords));
        }
        let url = c.href.as_deref().map_or_else(|| url.clone(), |h| Arc::from(h.as_str()));
        chunks.push((coords, Target::Range { url, offset: c.offset, length: c.length }));
    }
    chunks.sort_by(|x, y| x.0.cmp(&y.0));
    Ok(ArrayRefs { grid, chunks })
}

