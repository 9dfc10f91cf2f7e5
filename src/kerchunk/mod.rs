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

mod build;
mod dims;
mod json;
mod output;
mod parquet;
mod zarray;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};

pub use build::references;
pub(crate) use build::doc;
pub use json::to_json;
pub use output::{write, write_local, Encoded};
pub use parquet::{to_parquet, DEFAULT_RECORD_SIZE};

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

/// Zarr v2 consolidated metadata: every metadata document under `metadata`.
fn consolidated(refs: &References) -> Value {
    let metadata: serde_json::Map<String, Value> = refs.metadata.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    json!({"zarr_consolidated_format": 1, "metadata": metadata})
}

/// A chunk's key under its array: `i.j.k`, `0` for a scalar.
pub(crate) fn chunk_key(coords: &[u64]) -> String {
    coords.iter().map(u64::to_string).collect::<Vec<_>>().join(".")
}
