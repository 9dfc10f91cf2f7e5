//! One DAP variable as read from the XML, and its conversion to an [`ArrayMeta`]
//! (DMR++ `dmrpp:chunks` / `dmrpp:chunk` semantics as written by OPeNDAP's build_dmrpp).

use std::collections::HashMap;
use std::sync::Arc;

use super::filters;
use super::inline;
use super::types::{self, Atomic, Enumeration};
use crate::manifest::{
    AllocTime, ArrayMeta, Attribute, ByteOrder, ChunkRef, Datatype, Fill, FillDefined, FillTime, Layout, StringPadding,
};

/// The base type of a variable element.
#[derive(Clone, Debug)]
pub(crate) enum Kind {
    /// `<Int32>`, `<String>`, ...
    Atomic(Atomic),
    /// `<Enum enum="/path/to/Enumeration">`.
    Enum(String),
    /// `<Structure>`: members are nested variables.
    Structure,
}

/// One `<dmrpp:chunk>`, numbers already parsed.
#[derive(Clone, Debug)]
pub(crate) struct RawChunk {
    pub offset: u64,
    pub length: u64,
    /// `chunkPositionInArray`: element coordinates of the chunk's first element, as a range of
    /// [`VarBuilder::positions`].
    pub position: Option<std::ops::Range<usize>>,
    pub filter_mask: u32,
    pub href: Option<String>,
    pub byte_order: Option<ByteOrder>,
}

/// The attributes of `<dmrpp:chunks>` (kept as text until the type is known).
#[derive(Clone, Debug, Default)]
pub(crate) struct ChunksSpec {
    pub compression: Option<String>,
    pub deflate_levels: Option<String>,
    pub fill: Option<String>,
    pub byte_order: Option<ByteOrder>,
    pub struct_offset: Option<String>,
    pub href: Option<String>,
}

/// Values carried inline in the XML.
#[derive(Clone, Debug)]
pub(crate) enum Inline {
    /// `dmrpp:compact`: raw bytes of the data.
    Compact(Vec<u8>),
    /// `dmrpp:missingdata`: zlib stream of the raw bytes (not yet inflated).
    Missing(Vec<u8>),
    /// `dmrpp:specialstructuredata`: OPeNDAP's structure encoding, decoded from base64 only.
    Special(Vec<u8>),
    /// `dmrpp:vlsa`: the strings.
    Vlsa(Vec<String>),
}

/// A variable (or a Structure member) while its element is open.
#[derive(Clone, Debug)]
pub(crate) struct VarBuilder {
    pub name: String,
    pub path: String,
    pub line: u64,
    pub kind: Kind,
    pub shape: Vec<u64>,
    /// Absolute dimension path per `<Dim name=..>`, `None` for `<Dim size=..>`.
    pub dim_names: Vec<Option<String>>,
    pub attributes: Vec<Attribute>,
    pub members: Vec<VarBuilder>,
    pub chunks: Option<ChunksSpec>,
    pub chunk_dims: Option<Vec<u64>>,
    pub raw_chunks: Vec<RawChunk>,
    /// The `chunkPositionInArray` values of all chunks, one after the other.
    pub positions: Vec<u64>,
    pub inline: Option<Inline>,
    pub fixed_string: Option<(u32, StringPadding)>,
    /// Number of HDF4 `dmrpp:block` elements seen.
    pub blocks: u64,
    /// Problems that make the variable unusable: it is left out of the manifest.
    pub fatal: Vec<String>,
    /// Problems worth reporting; the array is still listed.
    pub notes: Vec<String>,
}

impl VarBuilder {
    pub(crate) fn new(name: String, path: String, line: u64, kind: Kind) -> Self {
        VarBuilder {
            name,
            path,
            line,
            kind,
            shape: Vec::new(),
            dim_names: Vec::new(),
            attributes: Vec::new(),
            members: Vec::new(),
            chunks: None,
            chunk_dims: None,
            raw_chunks: Vec::new(),
            positions: Vec::new(),
            inline: None,
            fixed_string: None,
            blocks: 0,
            fatal: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// The element type (for a member: without its own dimensions).
    pub(crate) fn dtype(&self, order: ByteOrder, enums: &HashMap<String, Enumeration>) -> Result<Datatype, String> {
        match &self.kind {
            Kind::Atomic(a) => Ok(a.datatype(order, self.fixed_string)),
            Kind::Enum(path) => {
                enums.get(path).map(|e| e.datatype(order)).ok_or_else(|| format!("enumeration {path} is not declared"))
            }
            Kind::Structure => {
                let mut members = Vec::with_capacity(self.members.len());
                for m in &self.members {
                    let mut dt = m.dtype(order, enums)?;
                    // A member's dimensions are part of the element: keep the element size a
                    // number that fits the model (HDF5 caps a type at 2^32 - 1 bytes).
                    let count = m.shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
                    match count.and_then(|n| n.checked_mul(dt.size())) {
                        Some(bytes) if bytes <= u64::from(u32::MAX) => {}
                        _ => return Err(format!("member {} of {:?} elements is too large", m.name, m.shape)),
                    }
                    if !m.shape.is_empty() {
                        dt = Datatype::Array { base: Box::new(dt), dims: m.shape.clone() };
                    }
                    members.push((m.name.clone(), dt));
                }
                let so = match self.chunks.as_ref().and_then(|c| c.struct_offset.as_deref()) {
                    Some(text) => Some(
                        text.split_ascii_whitespace()
                            .map(|t| t.parse::<u64>().map_err(|_| format!("structOffset value `{t}` is not a number")))
                            .collect::<Result<Vec<_>, _>>()?,
                    ),
                    None => None,
                };
                types::compound(members, so.as_deref())
            }
        }
    }

    /// Convert to an array. `Err` carries the reasons the variable cannot be listed.
    pub(crate) fn finish(
        mut self,
        enums: &HashMap<String, Enumeration>,
        versioned: bool,
        max_inline: u64,
    ) -> Result<(ArrayMeta, Vec<String>), Vec<String>> {
        if !self.fatal.is_empty() {
            return Err(self.fatal);
        }
        let stated_order = (self.chunks.as_ref().and_then(|c| c.byte_order))
            .or_else(|| self.raw_chunks.iter().find_map(|c| c.byte_order));
        let order = stated_order.unwrap_or(ByteOrder::Le);
        let dtype = self.dtype(order, enums).map_err(|e| vec![e])?;
        // Taken after `dtype`, which reads `structOffset` from it.
        let spec = self.chunks.take().unwrap_or_default();
        let elements = self.shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
        let data_bytes = elements.and_then(|n| n.checked_mul(dtype.size()));
        let fixed_size = !matches!(dtype, Datatype::String { size: None, .. })
            && !matches!(&dtype, Datatype::Compound { members, .. } if members.iter().any(|m| matches!(m.dtype, Datatype::String { size: None, .. })));

        let mut unsupported = None;
        let mut inline = None;
        let (layout, chunk_shape) = if self.blocks > 0 {
            unsupported =
                Some(format!("HDF4 data ({} dmrpp:block element(s)): vz reads HDF5 byte ranges only", self.blocks));
            (Layout::Contiguous, self.shape.clone())
        } else if let Some(data) = self.inline.take() {
            let bytes = match data {
                Inline::Compact(b) => {
                    if fixed_size && data_bytes != Some(b.len() as u64) {
                        self.notes.push(format!(
                            "dmrpp:compact holds {} bytes, the shape needs {:?}",
                            b.len(),
                            data_bytes
                        ));
                    }
                    b
                }
                Inline::Special(b) => b,
                Inline::Missing(z) => {
                    let limit = match data_bytes {
                        Some(n) if fixed_size && n <= max_inline => n,
                        Some(_) if !fixed_size => max_inline,
                        _ => {
                            return Err(vec![format!(
                                "dmrpp:missingdata for {:?} elements exceeds {max_inline} bytes",
                                elements
                            )])
                        }
                    };
                    let raw = inline::inflate(&z, limit).map_err(|e| vec![format!("dmrpp:missingdata: {e}")])?;
                    if fixed_size && Some(raw.len() as u64) != data_bytes {
                        self.notes.push(format!(
                            "dmrpp:missingdata holds {} bytes, the shape needs {:?}",
                            raw.len(),
                            data_bytes
                        ));
                    }
                    raw
                }
                Inline::Vlsa(items) => {
                    if Some(items.len() as u64) != elements {
                        self.notes.push(format!(
                            "dmrpp:vlsa holds {} strings, the shape has {:?} elements",
                            items.len(),
                            elements
                        ));
                    }
                    inline::vlen_utf8(&items).map_err(|e| vec![format!("dmrpp:vlsa: {e}")])?
                }
            };
            inline = Some(bytes);
            (Layout::Compact, self.shape.clone())
        } else if let Some(cd) = self.chunk_dims.take() {
            if cd.len() != self.shape.len() {
                return Err(vec![format!(
                    "chunkDimensionSizes has {} values for a rank-{} array",
                    cd.len(),
                    self.shape.len()
                )]);
            }
            if cd.contains(&0) {
                return Err(vec!["chunkDimensionSizes contains 0".to_string()]);
            }
            (Layout::Chunked, cd)
        } else {
            (Layout::Contiguous, self.shape.clone())
        };

        let mut chunks = Vec::with_capacity(self.raw_chunks.len());
        if unsupported.is_none() && inline.is_none() {
            if layout == Layout::Contiguous && self.raw_chunks.len() > 1 {
                return Err(vec![format!("{} byte ranges listed for a contiguous array", self.raw_chunks.len())]);
            }
            let grid: Vec<u64> =
                self.shape.iter().zip(&chunk_shape).map(|(&n, &c)| if c == 0 { 0 } else { n.div_ceil(c) }).collect();
            for raw in &self.raw_chunks {
                let position = raw.position.clone().map(|r| &self.positions[r]);
                let coords = match position {
                    Some(pos) if layout == Layout::Chunked => {
                        if pos.len() != chunk_shape.len() {
                            return Err(vec![format!("chunkPositionInArray {pos:?} has the wrong rank")]);
                        }
                        let mut coords = Vec::with_capacity(pos.len());
                        for ((&p, &c), &g) in pos.iter().zip(&chunk_shape).zip(&grid) {
                            if p % c != 0 || p / c >= g.max(1) {
                                return Err(vec![format!(
                                    "chunkPositionInArray {pos:?} is not a chunk origin inside the array (chunk shape {chunk_shape:?}, shape {:?})",
                                    self.shape
                                )]);
                            }
                            coords.push(p / c);
                        }
                        coords
                    }
                    Some(pos) if pos.iter().any(|&p| p != 0) => {
                        return Err(vec![format!("chunkPositionInArray {pos:?} on a contiguous array")]);
                    }
                    _ => vec![0; chunk_shape.len()],
                };
                let href = raw.href.clone().or_else(|| spec.href.clone()).filter(|h| h != super::PLACEHOLDER).map(Arc::new);
                chunks.push(ChunkRef {
                    coords: coords.into(),
                    offset: raw.offset,
                    length: raw.length,
                    filter_mask: raw.filter_mask,
                    href,
                });
            }
            chunks.sort_by(|a, b| a.coords.cmp(&b.coords));
            if chunks.windows(2).any(|w| w[0].coords == w[1].coords) {
                return Err(vec!["two chunks at the same position".to_string()]);
            }
        }

        let levels = match spec.deflate_levels.as_deref() {
            Some(t) => filters::levels(t).map_err(|e| vec![e])?,
            None => Vec::new(),
        };
        let filters = match spec.compression.as_deref() {
            Some(c) => match filters::pipeline(c, &levels, dtype.size(), versioned) {
                Ok(f) => f,
                Err(e) => {
                    unsupported.get_or_insert_with(|| e.clone());
                    self.notes.push(e);
                    Vec::new()
                }
            },
            None => Vec::new(),
        };

        let alloc_time = match layout {
            Layout::Chunked => AllocTime::Incr,
            Layout::Compact => AllocTime::Early,
            _ => AllocTime::Late,
        };
        let mut fill = Fill { defined: FillDefined::Default, time: FillTime::Ifset, alloc_time, value: None };
        if let Some(text) = &spec.fill {
            match types::encode_fill(&dtype, text) {
                Ok(Some(v)) => {
                    fill.defined = FillDefined::User;
                    fill.value = Some(v);
                }
                Ok(None) => {}
                Err(e) => self.notes.push(format!("fillValue `{}`: {e}", shorten(text))),
            }
        }
        if let Some(u) = &unsupported {
            if !self.notes.contains(u) {
                self.notes.push(u.clone());
            }
        }
        let dimensions = if self.dim_names.iter().any(Option::is_some) { self.dim_names } else { Vec::new() };
        // build_dmrpp renames HDF5 objects to DAP-safe names (`Data Fields` → `Data_Fields`,
        // `StructMetadata.0` → `StructMetadata_0`) and keeps the HDF5 path in `fullnamepath`.
        let hdf5_path = self.attributes.iter().find_map(|a| match (&a.name[..], &a.value) {
            ("fullnamepath", serde_json::Value::String(p)) if p.starts_with('/') => Some(p.clone()),
            _ => None,
        });
        if let Some(p) = hdf5_path {
            self.path = p;
        }
        let array = ArrayMeta {
            path: self.path,
            maxshape: self.shape.iter().map(|&n| Some(n)).collect(),
            shape: self.shape,
            dtype,
            layout,
            chunk_shape,
            chunk_index: None,
            filters,
            fill,
            attributes: self.attributes,
            dimensions,
            chunks,
            inline,
            external: Vec::new(),
            unsupported,
        };
        Ok((array, self.notes))
    }
}

/// First 60 characters of a value, for messages.
pub(crate) fn shorten(text: &str) -> String {
    let mut s: String = text.chars().take(60).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}
