//! Kerchunk references: granules as one virtual Zarr v2 hierarchy that fsspec's
//! ReferenceFileSystem serves (kerchunk reference specification, version 1), so xarray and
//! zarr-python read the HDF5 chunks in place.
//!
//! Every HDF5 group becomes a Zarr group (`.zgroup`, its attributes in `.zattrs`), every dataset
//! Zarr can express an array (`.zarray`, `.zattrs` with `_ARRAY_DIMENSIONS`), and every stored
//! chunk a reference `[url, offset, length]` under its chunk key `path/i.j`. Compact datasets are
//! inlined. Each granule's hierarchy sits under its granule id ([`crate::index::granule_id`]);
//! one granule may instead be placed at the root, as kerchunk's `SingleHdf5ToZarr` does.
//! What Zarr cannot express (variable-length strings, szip and other filters without a numcodecs
//! codec, external or virtual storage, chunks that skip different filters) is left out and listed
//! in [`References::skipped`] — never written as a reference that would read wrong values.
//!
//! [`to_json`] and [`to_parquet`] encode the references (JSON, or fsspec's lazy Parquet layout);
//! [`write`] writes them (atomically on local disks).

mod dims;
mod json;
mod output;
mod parquet;
mod zarray;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use serde_json::{json, Value};

pub use json::to_json;
pub use output::{write, write_local, Encoded};
pub use parquet::{to_parquet, DEFAULT_RECORD_SIZE};

use crate::index::granule_id;
use crate::manifest::{ArrayMeta, Datatype, GranuleManifest, Layout, LinkTarget, SourceKind};

/// How netCDF-4 marks a dimension scale that is not a variable (its `NAME` attribute).
const NETCDF_DIM_ONLY: &str = "This is a netCDF dimension but not a netCDF variable";

/// Why references could not be built or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KerchunkError {
    /// `at_root` asks for exactly one granule.
    #[error("only one granule can be exported at the root, got {0}")]
    RootNeedsOneGranule(usize),
    /// Encoding a Parquet reference file failed.
    #[error("{file}: cannot encode the Parquet references")]
    Parquet {
        file: String,
        #[source]
        source: ::parquet::errors::ParquetError,
    },
    /// The output location is unusable, or an object-store write failed.
    #[error(transparent)]
    Store(crate::source::SourceError),
    /// Writing the output failed.
    #[error("{path}: cannot write the references")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// How to lay the granules out.
#[derive(Clone, Debug, Default)]
pub struct ReferenceOptions {
    /// Put the (single) granule's root group at the Zarr root instead of under its granule id.
    pub at_root: bool,
}

/// Where one chunk's bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A byte range of a file.
    Range {
        /// The file (the granule, or the chunk's own `href`).
        url: Arc<str>,
        /// Byte offset.
        offset: u64,
        /// Stored length.
        length: u64,
    },
    /// The encoded chunk itself (compact datasets).
    Inline(Vec<u8>),
}

/// The chunks of one exported array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArrayRefs {
    /// Chunks per dimension (`[1]` for a scalar, as fsspec counts them).
    pub grid: Vec<u64>,
    /// Allocated chunks by grid coordinates (a scalar's only chunk has coordinates `[0]`),
    /// sorted; missing chunks read as the fill value.
    pub chunks: Vec<(Vec<u64>, Target)>,
}

/// Something not exported, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The granule's location.
    pub granule: String,
    /// The HDF5 path (`/` for the whole granule).
    pub path: String,
    /// Why.
    pub reason: String,
}

/// A reference set: the Zarr v2 metadata documents and the chunk references of every array.
#[derive(Clone, Debug, Default)]
pub struct References {
    /// Metadata documents by key (`.zgroup`, `ID/gt1l/.zattrs`, `ID/gt1l/x/.zarray`).
    pub metadata: BTreeMap<String, Value>,
    /// Per exported array, by its key prefix (`ID/gt1l/land_ice_segments/h_li`).
    pub arrays: BTreeMap<String, ArrayRefs>,
    /// What was left out.
    pub skipped: Vec<Skipped>,
}

impl References {
    /// Number of chunk references.
    pub fn chunk_count(&self) -> usize {
        self.arrays.values().map(|a| a.chunks.len()).sum()
    }
}

/// `prefix` joined with an HDF5 path, without a leading slash (`""` + `/` → `""`).
fn key(prefix: &str, path: &str) -> String {
    let path = path.trim_matches('/');
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}/{path}"),
    }
}

fn doc(base: &str, name: &str) -> String {
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
    let mut group = |refs: &mut References, path: &str, attrs: Option<&[crate::manifest::Attribute]>| {
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
    let lengths: std::collections::HashMap<&str, u64> =
        m.arrays.iter().filter(|a| a.shape.len() == 1).map(|a| (a.path.as_str(), a.shape[0])).collect();
    let url: Arc<str> = Arc::from(m.url.as_str());
    let mut exported: BTreeMap<&str, String> = BTreeMap::new();
    for a in &m.arrays {
        // The reader dropped something of this array (chunks outside the file, say): its
        // references would read fill values where the file has data.
        if let Some(p) = m.problems.iter().find(|p| p.path == a.path) {
            let reason = format!("its manifest is incomplete: {}", p.reason);
            refs.skipped.push(Skipped { granule: m.url.clone(), path: a.path.clone(), reason });
            continue;
        }
        // netCDF-4 writes a dimension without a coordinate variable as an empty dimension scale:
        // no data, and (for an unlimited dimension) a length that contradicts its variables'.
        if a.attributes.iter().any(|at| at.name == "NAME" && at.value.as_str().is_some_and(|v| v.starts_with(NETCDF_DIM_ONLY))) {
            let reason = "a netCDF dimension without a variable (no data); its name stays in _ARRAY_DIMENSIONS".to_string();
            refs.skipped.push(Skipped { granule: m.url.clone(), path: a.path.clone(), reason });
            continue;
        }
        // A DMR++ carries structure values inline in OPeNDAP's own encoding, not HDF5's bytes.
        if m.source == SourceKind::Dmrpp && a.inline.is_some() && matches!(a.dtype, Datatype::Compound { .. }) {
            let reason = "DMR++ structure values are inline in OPeNDAP's encoding, not the file's bytes".to_string();
            refs.skipped.push(Skipped { granule: m.url.clone(), path: a.path.clone(), reason });
            continue;
        }
        let zarray = match zarray::zarray(a) {
            Ok(z) => z,
            Err(reason) => {
                refs.skipped.push(Skipped { granule: m.url.clone(), path: a.path.clone(), reason });
                continue;
            }
        };
        let chunks = match chunks(a, &url) {
            Ok(c) => c,
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
        let coords = if c.coords.is_empty() && a.shape.is_empty() { origin() } else { c.coords.clone() };
        if coords.len() != grid.len() || coords.iter().zip(&grid).any(|(i, n)| i >= n) {
            return Err(format!("chunk {:?} lies outside the chunk grid {grid:?}", c.coords));
        }
        let url = c.href.as_deref().map_or_else(|| url.clone(), Arc::from);
        chunks.push((coords, Target::Range { url, offset: c.offset, length: c.length }));
    }
    chunks.sort_by(|x, y| x.0.cmp(&y.0));
    Ok(ArrayRefs { grid, chunks })
}

/// Zarr v2 consolidated metadata: every metadata document under `metadata`.
fn consolidated(refs: &References) -> Value {
    let metadata: serde_json::Map<String, Value> = refs.metadata.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    json!({"zarr_consolidated_format": 1, "metadata": metadata})
}

/// A chunk's key under its array: `i.j.k`, `0` for a scalar.
pub(crate) fn chunk_key(coords: &[u64]) -> String {
    coords.iter().map(u64::to_string).collect::<Vec<_>>().join(".")
}
