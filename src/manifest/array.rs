//! One array (an HDF5 dataset, a DAP variable) and every stored chunk of it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Coords, Datatype};

/// How the array's bytes are laid out in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// Bytes stored inside the object header; see [`ArrayMeta::inline`].
    Compact,
    /// One block; listed as a single chunk whose shape is the array's shape.
    Contiguous,
    /// A grid of chunks found through a chunk index.
    Chunked,
    /// Raw data in other files (HDF5 external storage); see [`ArrayMeta::external`].
    External,
    /// HDF5 virtual dataset: data mapped from other datasets; not representable as byte ranges.
    Virtual,
}

/// The structure HDF5 used to index an array's chunks (layout message v4/v5; v1–v3 is always B-tree v1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChunkIndexKind {
    /// Version 1 B-tree (type 1 nodes).
    BtreeV1,
    /// A single chunk whose address is in the layout message.
    SingleChunk,
    /// Chunks stored back to back, no index (early allocation, no filters).
    Implicit,
    /// Fixed array (fixed maximum dimensions).
    FixedArray,
    /// Extensible array (one unlimited dimension).
    ExtensibleArray,
    /// Version 2 B-tree (record types 10 and 11).
    BtreeV2,
}

/// One stored chunk: where its bytes are and which filters were skipped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRef {
    /// Position in the chunk grid (element offset divided by the chunk shape).
    pub coords: Coords,
    /// Absolute byte offset in the file.
    pub offset: u64,
    /// Stored (possibly compressed) size in bytes.
    pub length: u64,
    /// Bit `i` set: filter `i` of the pipeline was not applied to this chunk.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub filter_mask: u32,
    /// The file holding this chunk, when it is not the granule itself (DMR++ per-chunk `href`).
    /// Behind one thin pointer, as few chunks have one: that keeps a `ChunkRef` at 64 bytes, and
    /// a million-chunk list is written to fresh memory on every read. Chunks naming the same
    /// file may share one `Arc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<Arc<String>>,
}

const _: () = assert!(std::mem::size_of::<ChunkRef>() == 64);

impl ChunkRef {
    /// The URL of the file holding this chunk: its own `href`, else the granule's `url`.
    pub fn file<'a>(&'a self, granule_url: &'a str) -> &'a str {
        self.href.as_deref().map_or(granule_url, String::as_str)
    }
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// One filter of the pipeline, in the order filters were applied when writing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// HDF5 filter id (1 deflate, 2 shuffle, 3 fletcher32, 4 szip, 5 nbit, 6 scaleoffset, 32000+ registered).
    pub id: u16,
    /// Name, from the file or from the registered-filter list.
    pub name: String,
    /// Filter flags (bit 0: optional).
    pub flags: u16,
    /// Client data (`cd_values`).
    pub params: Vec<u32>,
}

impl Filter {
    /// The conventional name of a filter id, as libhdf5 and h5py name them.
    pub fn known_name(id: u16) -> Option<&'static str> {
        Some(match id {
            1 => "deflate",
            2 => "shuffle",
            3 => "fletcher32",
            4 => "szip",
            5 => "nbit",
            6 => "scaleoffset",
            307 => "bzip2",
            32000 => "lzf",
            32001 => "blosc",
            32004 => "lz4",
            32008 => "bitshuffle",
            32013 => "zfp",
            32015 => "zstd",
            32026 => "blosc2",
            _ => return None,
        })
    }
}

/// Whether a fill value is set and by whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillDefined {
    /// No fill value: unwritten elements are undefined.
    Undefined,
    /// The library default (zeros).
    Default,
    /// Set by the writer; see [`Fill::value`].
    User,
}

/// When fill values are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillTime {
    /// On allocation if a value is set.
    Ifset,
    /// Always on allocation.
    Alloc,
    /// Never.
    Never,
}

/// When storage is allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllocTime {
    /// At creation.
    Early,
    /// At first write.
    Late,
    /// Chunk by chunk as written.
    Incr,
}

/// The fill value of an array: what unallocated chunks read as.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    /// Whether a value is set.
    pub defined: FillDefined,
    /// When fill values are written.
    pub time: FillTime,
    /// When storage is allocated.
    pub alloc_time: AllocTime,
    /// Raw bytes of one element in the array's type and byte order, when a value is set.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "hex_bytes")]
    pub value: Option<Vec<u8>>,
}

impl Default for Fill {
    fn default() -> Self {
        Fill { defined: FillDefined::Default, time: FillTime::Ifset, alloc_time: AllocTime::Late, value: None }
    }
}

/// A decoded attribute value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttrValue {
    /// A number, string, list or null, decoded from the stored type.
    Json(serde_json::Value),
}

/// One attribute of a group or array.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    /// Attribute name.
    pub name: String,
    /// Stored type.
    pub dtype: Datatype,
    /// Shape (empty: scalar).
    pub shape: Vec<u64>,
    /// Decoded value: a scalar for scalar attributes, a (nested) list otherwise; `null` where
    /// the type cannot be decoded without data vz does not read (references, opaque blobs).
    pub value: serde_json::Value,
}

/// One raw-data segment of an array with external storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalFile {
    /// File name as written in the external file list.
    pub name: String,
    /// Byte offset in that file.
    pub offset: u64,
    /// Number of bytes reserved there.
    pub size: u64,
}

/// One array and every stored chunk of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArrayMeta {
    /// Absolute path, e.g. `/gt1l/land_ice_segments/h_li`.
    pub path: String,
    /// Current shape (empty for a scalar).
    pub shape: Vec<u64>,
    /// Maximum shape; `None` for unlimited dimensions.
    pub maxshape: Vec<Option<u64>>,
    /// Element type.
    pub dtype: Datatype,
    /// Storage layout.
    pub layout: Layout,
    /// Chunk shape. Contiguous and compact arrays are one chunk: their chunk shape is their shape.
    pub chunk_shape: Vec<u64>,
    /// Chunk index structure, for chunked arrays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_index: Option<ChunkIndexKind>,
    /// Filter pipeline in write order (decode in reverse).
    pub filters: Vec<Filter>,
    /// Fill value.
    pub fill: Fill,
    /// Attributes, in the order stored.
    pub attributes: Vec<Attribute>,
    /// Per dimension, the path of the attached dimension scale, if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<Option<String>>,
    /// Every allocated chunk, sorted by coordinates. Missing chunks read as the fill value.
    pub chunks: Vec<ChunkRef>,
    /// Bytes stored inline: compact layout data, or values a DMR++ carries in the XML.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "hex_bytes")]
    pub inline: Option<Vec<u8>>,
    /// External raw-data files (layout `external`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external: Vec<ExternalFile>,
    /// Why the array cannot be read through byte ranges, if it cannot (virtual dataset, unknown message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsupported: Option<String>,
}

impl ArrayMeta {
    /// Number of chunks in the full grid (allocated or not).
    pub fn grid_shape(&self) -> Vec<u64> {
        self.shape
            .iter()
            .zip(&self.chunk_shape)
            .map(|(&n, &c)| if c == 0 { 0 } else { n.div_ceil(c) })
            .collect()
    }

    /// Element offset of a chunk's first element.
    pub fn chunk_origin(&self, chunk: &ChunkRef) -> Vec<u64> {
        chunk.coords.iter().zip(&self.chunk_shape).map(|(&i, &c)| i * c).collect()
    }
}

/// Serialise byte vectors as lowercase hex strings: readable in `--json` and stable.
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(bytes) => {
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                s.serialize_some(&hex)
            }
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else { return Ok(None) };
        if text.len() % 2 != 0 {
            return Err(serde::de::Error::custom("hex string of odd length"));
        }
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).map_err(serde::de::Error::custom))
            .collect::<Result<Vec<u8>, _>>()
            .map(Some)
    }
}
