//! The libhdf5 answer keys (`reference_manifests/<dir>/<file>.json`), written by h5py 3.16 over
//! libhdf5 2.0.0 (`H5Dget_chunk_info`, `H5Dget_offset`, `H5Dget_chunk_index_type`, ...): for every
//! dataset its type, layout, filters, fill value and every allocated chunk.

use std::path::Path;

use serde::Deserialize;

/// One file's answer key.
#[derive(Debug, Deserialize)]
pub struct AnswerKey {
    /// File name.
    pub file: String,
    /// File size in bytes.
    pub size: u64,
    /// Tool that wrote the key.
    #[serde(default)]
    pub generator: Option<String>,
    /// Every dataset, one path each (h5py visits an object once, under its first path).
    pub datasets: Vec<KeyDataset>,
}

/// One dataset as libhdf5 reports it.
#[derive(Debug, Deserialize)]
pub struct KeyDataset {
    /// Absolute path.
    pub path: String,
    /// Shape; `None` for a null dataspace (no elements at all).
    pub shape: Option<Vec<u64>>,
    /// Maximum shape, `None` entries unlimited; `None` for a null dataspace.
    pub maxshape: Option<Vec<Option<u64>>>,
    /// Element type.
    #[serde(rename = "type")]
    pub dtype: KeyType,
    /// `contiguous`, `chunked`, `compact` or `virtual` (external storage is `contiguous` + `external`).
    pub layout: String,
    /// NumPy dtype string, as h5py maps the type.
    pub numpy_dtype: String,
    /// Filter pipeline in write order.
    pub filters: Vec<KeyFilter>,
    /// `default`, `user` or `undefined`.
    pub fill_value_defined: String,
    /// `ifset`, `alloc` or `never`.
    pub fill_time: String,
    /// `early`, `late` or `incr`.
    pub alloc_time: String,
    /// The user fill value, only for numeric types.
    #[serde(default)]
    pub fill_value: Option<serde_json::Value>,
    /// Chunk shape (chunked only).
    #[serde(default)]
    pub chunk_shape: Option<Vec<u64>>,
    /// Chunk index type (chunked only): `btree_v1`, `single_chunk`, `implicit`, `fixed_array`,
    /// `extensible_array`, `btree_v2`.
    #[serde(default)]
    pub chunk_index: Option<String>,
    /// Allocated chunks (chunked only).
    #[serde(default)]
    pub chunks: Option<Vec<KeyChunk>>,
    /// Contiguous storage (offset `None`: not allocated).
    #[serde(default)]
    pub contiguous: Option<KeyContiguous>,
    /// Compact storage.
    #[serde(default)]
    pub compact: Option<KeyCompact>,
    /// External storage segments: `[name, offset, size]`.
    #[serde(default)]
    pub external: Option<Vec<(String, u64, u64)>>,
}

/// An element type, reduced to what libhdf5 reports for every class.
#[derive(Debug, Deserialize)]
pub struct KeyType {
    /// HDF5 class name (`integer`, `float`, `string`, `compound`, ...).
    pub class: String,
    /// `H5Tget_size`. For variable-length strings this is the in-memory `char*` size (8), not the
    /// 16-byte heap reference stored in the file.
    pub size: u64,
    /// `LE` / `BE`, for classes with a byte order.
    #[serde(default)]
    pub order: Option<String>,
    /// For strings: variable length or not.
    #[serde(default)]
    pub vlen: Option<bool>,
    /// For compounds: number of members.
    #[serde(default)]
    pub members: Option<usize>,
}

/// One filter of the pipeline.
#[derive(Debug, Deserialize)]
pub struct KeyFilter {
    /// Filter id.
    pub id: u16,
    /// Name as stored or registered (informational).
    pub name: String,
    /// Flags (bit 0: optional).
    pub flags: u16,
    /// Client data.
    pub cd_values: Vec<u32>,
}

/// One allocated chunk: element offset of its first element, byte offset, stored size, filter mask.
#[derive(Debug, Deserialize)]
pub struct KeyChunk(pub Vec<u64>, pub u64, pub u64, pub u32);

/// Contiguous storage.
#[derive(Debug, Deserialize)]
pub struct KeyContiguous {
    /// Byte offset, `None` when storage was never allocated.
    pub offset: Option<u64>,
    /// Storage size in bytes.
    pub size: u64,
}

/// Compact storage.
#[derive(Debug, Deserialize)]
pub struct KeyCompact {
    /// Bytes stored in the object header.
    pub size: u64,
}

impl AnswerKey {
    /// Load an answer key.
    ///
    /// # Errors
    /// When the file cannot be read or is not a valid key.
    pub fn load(path: &Path) -> Result<AnswerKey, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        // Python's json module writes non-finite floats as bare NaN / Infinity, which is not JSON.
        let text = text
            .replace("\"fill_value\": NaN", "\"fill_value\": \"NaN\"")
            .replace("\"fill_value\": Infinity", "\"fill_value\": \"Infinity\"")
            .replace("\"fill_value\": -Infinity", "\"fill_value\": \"-Infinity\"");
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The dataset at `path`, if listed.
    pub fn dataset(&self, path: &str) -> Option<&KeyDataset> {
        self.datasets.iter().find(|d| d.path == path)
    }
}

impl KeyDataset {
    /// The user fill value as a float (`NaN`/`Infinity` keys come as strings), if numeric.
    pub fn fill_f64(&self) -> Option<f64> {
        match self.fill_value.as_ref()? {
            serde_json::Value::Number(n) => n.as_f64(),
            serde_json::Value::String(s) => match s.as_str() {
                "NaN" => Some(f64::NAN),
                "Infinity" => Some(f64::INFINITY),
                "-Infinity" => Some(f64::NEG_INFINITY),
                _ => None,
            },
            _ => None,
        }
    }

    /// The user fill value as an exact integer, if it is one.
    pub fn fill_i128(&self) -> Option<i128> {
        match self.fill_value.as_ref()? {
            serde_json::Value::Number(n) => n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from)),
            _ => None,
        }
    }
}
