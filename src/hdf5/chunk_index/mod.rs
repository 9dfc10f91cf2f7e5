//! Chunk indexes: from a chunked layout message to the list of allocated chunks.
//!
//! Layout messages v1–v3 always use a version-1 B-tree; v4/v5 name one of five index types
//! (HDF5 File Format Specification, IV.A.2.i "Data Layout Message", and section VII for the
//! fixed array, extensible array and version-2 B-tree structures).
//!
//! Each index is walked in steps over the [`Cache`]: [`start`] gives the first work items,
//! [`step`] runs one and returns the chunks it found plus further work (child nodes, pages).
//! A step that needs bytes not yet fetched returns `Fault::Need`; the walker fetches and
//! retries it, so all nodes of one tree level are fetched in one round trip.

mod btree_v1;
mod btree_v2;
mod extensible_array;
mod fixed_array;

use crate::manifest::{ChunkIndexKind, ChunkRef, Coords};

use super::cache::Cache;
use super::cursor::Geometry;
use super::error::Parse;

/// Extensible array creation parameters (layout message, index type 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EaParams {
    pub max_bits: u8,
    pub index_elements: u8,
    pub min_pointers: u8,
    pub min_elements: u8,
    pub page_bits: u8,
}

/// Version-2 B-tree creation parameters (layout message, index type 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Bt2Params {
    pub node_size: u32,
    pub split_percent: u8,
    pub merge_percent: u8,
}

/// Everything the layout message (and dataspace, datatype, filter pipeline) says about
/// how to find a dataset's chunks.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ChunkIndexSpec {
    /// Index type.
    pub kind: ChunkIndexKind,
    /// Absolute address of the index (or of the single chunk / first implicit chunk);
    /// `None` when nothing was allocated.
    pub address: Option<u64>,
    /// Layout message version (1..=5). Version 5 changes how filtered chunk sizes are encoded.
    pub layout_version: u8,
    /// Chunk shape in elements, one entry per dataset dimension (no element-size dimension).
    pub chunk_dims: Vec<u64>,
    /// Size of one element in bytes (the layout message's last "dimension").
    pub element_size: u64,
    /// Current dataset shape.
    pub shape: Vec<u64>,
    /// Maximum dataset shape (`None` = unlimited).
    pub maxshape: Vec<Option<u64>>,
    /// Whether the dataset has a filter pipeline (changes the record format of most indexes).
    pub filtered: bool,
    /// Single-chunk index with filters: stored size and filter mask from the layout message.
    pub single_filtered: Option<(u64, u32)>,
    /// Fixed array: page bits.
    pub fa_page_bits: u8,
    /// Extensible array parameters.
    pub ea: Option<EaParams>,
    /// Version-2 B-tree parameters.
    pub bt2: Option<Bt2Params>,
}

impl ChunkIndexSpec {
    /// Unfiltered size of one full chunk in bytes.
    pub(crate) fn chunk_bytes(&self) -> u64 {
        self.chunk_dims.iter().product::<u64>().saturating_mul(self.element_size)
    }

    /// Number of chunks along each dimension for the current shape.
    pub(crate) fn grid(&self) -> Vec<u64> {
        self.shape.iter().zip(&self.chunk_dims).map(|(&n, &c)| if c == 0 { 0 } else { n.div_ceil(c) }).collect()
    }

    /// Number of chunks along each dimension for the maximum shape (unlimited: current grid).
    pub(crate) fn max_grid(&self) -> Vec<u64> {
        self.maxshape
            .iter()
            .zip(&self.chunk_dims)
            .zip(self.grid())
            .map(|((m, &c), g)| match m {
                Some(m) if c > 0 => m.div_ceil(c),
                _ => g,
            })
            .collect()
    }

    /// Chunk grid coordinates of linear chunk index `i` in a row-major grid of `dims`.
    pub(crate) fn unravel(i: u64, dims: &[u64]) -> Coords {
        let mut rest = i;
        let mut out = Coords::zeros(dims.len());
        for (k, &d) in dims.iter().enumerate().rev() {
            if d == 0 {
                continue;
            }
            out[k] = rest % d;
            rest /= d;
        }
        out
    }
}

/// One pending piece of an index walk.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum IndexWork {
    /// A version-1 B-tree node (type 1, raw-data chunks) at this address.
    BtreeV1Node(u64),
    /// Fixed-array work.
    FixedArray(fixed_array::Work),
    /// Extensible-array work.
    ExtensibleArray(extensible_array::Work),
    /// Version-2 B-tree work (record types 10 and 11).
    BtreeV2(btree_v2::Work),
}

/// What one step found.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct IndexStep {
    /// Chunks found (allocated ones only; coordinates in chunk-grid units).
    pub chunks: Vec<ChunkRef>,
    /// Further work.
    pub more: Vec<IndexWork>,
}

/// The first step of an index walk. Single-chunk and implicit indexes are answered here
/// without reading anything.
pub(crate) fn start(spec: &ChunkIndexSpec) -> IndexStep {
    let Some(address) = spec.address else { return IndexStep::default() };
    match spec.kind {
        ChunkIndexKind::BtreeV1 => IndexStep { chunks: Vec::new(), more: vec![IndexWork::BtreeV1Node(address)] },
        ChunkIndexKind::SingleChunk => {
            let (length, filter_mask) = spec.single_filtered.unwrap_or((spec.chunk_bytes(), 0));
            let coords = Coords::zeros(spec.chunk_dims.len());
            IndexStep { chunks: vec![ChunkRef { coords, offset: address, length, filter_mask, href: None }], more: vec![] }
        }
        ChunkIndexKind::Implicit => {
            // Chunks lie back to back in row-major order over the grid of the maximum shape.
            let grid = spec.grid();
            let max_grid = spec.max_grid();
            let size = spec.chunk_bytes();
            let total: u64 = max_grid.iter().product();
            let mut chunks = Vec::new();
            for i in 0..total {
                let coords = ChunkIndexSpec::unravel(i, &max_grid);
                if coords.iter().zip(&grid).all(|(c, g)| c < g) {
                    let offset = address + i * size;
                    chunks.push(ChunkRef { coords, offset, length: size, filter_mask: 0, href: None });
                }
            }
            IndexStep { chunks, more: vec![] }
        }
        ChunkIndexKind::FixedArray => {
            IndexStep { chunks: vec![], more: vec![IndexWork::FixedArray(fixed_array::start(address))] }
        }
        ChunkIndexKind::ExtensibleArray => {
            IndexStep { chunks: vec![], more: vec![IndexWork::ExtensibleArray(extensible_array::start(address))] }
        }
        ChunkIndexKind::BtreeV2 => IndexStep { chunks: vec![], more: vec![IndexWork::BtreeV2(btree_v2::start(address))] },
    }
}

/// Run one piece of an index walk, appending the chunks it finds to `out` (the array's own
/// list), and return the further work. On error `out` may hold part of the step's chunks.
pub(crate) fn step_into(spec: &ChunkIndexSpec, work: &IndexWork, cache: &Cache, geo: Geometry, out: &mut Vec<ChunkRef>) -> Parse<Vec<IndexWork>> {
    let step = match work {
        IndexWork::BtreeV1Node(addr) => return btree_v1::step_into(spec, *addr, cache, geo, out),
        IndexWork::FixedArray(w) => fixed_array::step(spec, w, cache, geo),
        IndexWork::ExtensibleArray(w) => extensible_array::step(spec, w, cache, geo),
        IndexWork::BtreeV2(w) => btree_v2::step(spec, w, cache, geo),
    }?;
    out.extend(step.chunks);
    Ok(step.more)
}

/// Run one piece of an index walk.
#[cfg(test)]
pub(crate) fn step(spec: &ChunkIndexSpec, work: &IndexWork, cache: &Cache, geo: Geometry) -> Parse<IndexStep> {
    let mut chunks = Vec::new();
    let more = step_into(spec, work, cache, geo, &mut chunks)?;
    Ok(IndexStep { chunks, more })
}
