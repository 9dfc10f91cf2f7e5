//! Data layout message (IV.A.2.i), versions 1–5: compact, contiguous, chunked, virtual.

use crate::hdf5::chunk_index::{Bt2Params, EaParams};
use crate::hdf5::cursor::Cursor;
use crate::hdf5::error::{unsupported, Parse};
use crate::manifest::ChunkIndexKind;

/// Compact data beyond this is not believed (HDF5 caps object headers at 64 KiB).
const MAX_COMPACT: usize = 1 << 16;

/// The decoded layout of a dataset.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum DataLayout {
    /// Data inside the header.
    Compact { data: Vec<u8> },
    /// One block; `address` None = never written. `size` None (v1/v2) = shape × element size.
    Contiguous { address: Option<u64>, size: Option<u64> },
    /// Chunked; dims exclude the element-size dimension.
    Chunked(ChunkedLayout),
    /// Virtual dataset.
    Virtual,
}

/// Chunked-layout fields.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ChunkedLayout {
    pub version: u8,
    pub kind: ChunkIndexKind,
    pub address: Option<u64>,
    pub chunk_dims: Vec<u64>,
    pub element_size: u64,
    pub single_filtered: Option<(u64, u32)>,
    pub fa_page_bits: u8,
    pub ea: Option<EaParams>,
    pub bt2: Option<Bt2Params>,
}

pub(crate) fn parse(mut c: Cursor<'_>) -> Parse<DataLayout> {
    let at = c.file_pos();
    let version = c.u8()?;
    match version {
        1 | 2 => parse_v1(c, version),
        3..=5 => {
            let class = c.u8()?;
            match class {
                0 => {
                    let n = usize::from(c.u16()?);
                    Ok(DataLayout::Compact { data: c.bytes(n.min(MAX_COMPACT))?.to_vec() })
                }
                1 => {
                    let address = c.address()?;
                    let size = c.length()?;
                    Ok(DataLayout::Contiguous { address, size: Some(size) })
                }
                2 if version == 3 => {
                    let ndims = usize::from(c.u8()?);
                    let address = c.address()?;
                    let dims = dims(&mut c, ndims, 4)?;
                    chunked(version, ChunkIndexKind::BtreeV1, address, dims, &c)
                }
                2 => parse_v4_chunked(c, version),
                3 => Ok(DataLayout::Virtual),
                k => unsupported(c.structure(), at, format!("layout class {k}")),
            }
        }
        v => unsupported(c.structure(), at, format!("layout message version {v}")),
    }
}

fn parse_v1(mut c: Cursor<'_>, version: u8) -> Parse<DataLayout> {
    let ndims = usize::from(c.u8()?);
    let class = c.u8()?;
    c.skip(5)?;
    let address = if class != 0 { c.address()? } else { None };
    let dim_list = dims(&mut c, ndims, 4)?;
    match class {
        0 => {
            let n = c.u32()? as usize;
            Ok(DataLayout::Compact { data: c.bytes(n.min(MAX_COMPACT))?.to_vec() })
        }
        1 => Ok(DataLayout::Contiguous { address, size: None }),
        // As in v3, the last chunk "dimension" is the element size.
        2 => chunked(version, ChunkIndexKind::BtreeV1, address, dim_list, &c),
        k => c.fail(format!("layout class {k}")),
    }
}

fn parse_v4_chunked(mut c: Cursor<'_>, version: u8) -> Parse<DataLayout> {
    let flags = c.u8()?;
    let ndims = usize::from(c.u8()?);
    let width = usize::from(c.u8()?);
    if !(1..=8).contains(&width) {
        return c.fail(format!("dimension size width {width}"));
    }
    let dim_list = dims(&mut c, ndims, width)?;
    let index_type = c.u8()?;
    let mut single_filtered = None;
    let mut fa_page_bits = 0;
    let mut ea = None;
    let mut bt2 = None;
    let kind = match index_type {
        1 => {
            if flags & 0x02 != 0 {
                let size = c.length()?;
                let mask = c.u32()?;
                single_filtered = Some((size, mask));
            }
            ChunkIndexKind::SingleChunk
        }
        2 => ChunkIndexKind::Implicit,
        3 => {
            fa_page_bits = c.u8()?;
            ChunkIndexKind::FixedArray
        }
        4 => {
            ea = Some(EaParams {
                max_bits: c.u8()?,
                index_elements: c.u8()?,
                min_pointers: c.u8()?,
                min_elements: c.u8()?,
                page_bits: c.u8()?,
            });
            ChunkIndexKind::ExtensibleArray
        }
        5 => {
            bt2 = Some(Bt2Params { node_size: c.u32()?, split_percent: c.u8()?, merge_percent: c.u8()? });
            ChunkIndexKind::BtreeV2
        }
        t => return c.fail(format!("chunk index type {t}")),
    };
    let address = c.address()?;
    let mut layout = match chunked(version, kind, address, dim_list, &c)? {
        DataLayout::Chunked(l) => l,
        other => return Ok(other),
    };
    layout.single_filtered = single_filtered;
    layout.fa_page_bits = fa_page_bits;
    layout.ea = ea;
    layout.bt2 = bt2;
    Ok(DataLayout::Chunked(layout))
}

fn dims(c: &mut Cursor<'_>, n: usize, width: usize) -> Parse<Vec<u64>> {
    if n > 33 {
        return c.fail(format!("{n} layout dimensions"));
    }
    (0..n).map(|_| c.uint(width)).collect()
}

fn chunked(version: u8, kind: ChunkIndexKind, address: Option<u64>, mut dims: Vec<u64>, c: &Cursor<'_>) -> Parse<DataLayout> {
    let Some(element_size) = dims.pop() else {
        return c.fail("chunked layout without dimensions");
    };
    if dims.contains(&0) {
        return c.fail("chunk dimension of size 0");
    }
    Ok(DataLayout::Chunked(ChunkedLayout {
        version,
        kind,
        address,
        chunk_dims: dims,
        element_size,
        single_filtered: None,
        fa_page_bits: 0,
        ea: None,
        bt2: None,
    }))
}
