//! Decoding stored HDF5 chunks natively: the filter pipeline (HDF5 File Format Specification IV.A.2.l,
//! "Data Storage - Filter Pipeline"), numeric conversion, and reading rows of 1-D arrays.
//!
//! Only the filters science granules use for coordinates are decoded: deflate (1), shuffle (2) and
//! fletcher32 (3). Any other filter is reported as [`CodecError::UnsupportedFilter`], never guessed at.

mod encode;
mod error;
mod fletcher32;
mod numeric;
mod rows;
mod shuffle;

pub use encode::encode_chunk;
pub use error::CodecError;
pub use fletcher32::{checksum as fletcher32_checksum, strip as fletcher32_strip};
pub use numeric::to_f64;
pub(crate) use numeric::to_f64_into;
pub use rows::{read_many_rows_f64, read_rows_f64};
pub(crate) use rows::missing_value;

use crate::manifest::{ArrayMeta, ChunkRef, Filter};

/// Bytes of one full chunk of `array` (chunk shape product times element size), or `None` on overflow.
pub fn full_chunk_bytes(array: &ArrayMeta) -> Option<u64> {
    array.chunk_shape.iter().try_fold(array.dtype.size(), |acc, &c| acc.checked_mul(c))
}

/// Reverse the filter pipeline of `array` over one chunk's stored bytes.
///
/// Filters are undone last-applied first (`ArrayMeta::filters` is in write order), skipping those whose
/// bit is set in `chunk.filter_mask`. Every decompression is bounded by the full chunk size (plus
/// 4 bytes per fletcher32 checksum still to strip), so a hostile stream cannot allocate more.
///
/// # Errors
/// [`CodecError::UnsupportedFilter`] for filters other than deflate, shuffle and fletcher32;
/// [`CodecError::Corrupt`] for a bad zlib stream or a checksum mismatch; [`CodecError::TooLarge`] when
/// a decompressed stream exceeds the bound.
pub fn decode_chunk(array: &ArrayMeta, chunk: &ChunkRef, stored: &[u8]) -> Result<Vec<u8>, CodecError> {
    let mut buffers = ChunkBuffers::default();
    Ok(match pipeline(array, chunk, stored, &mut buffers)? {
        (At::Stored, len) => stored[..len].to_vec(),
        (At::Buffer(i), len) => {
            let mut out = std::mem::take(&mut buffers.buffers[i]);
            out.truncate(len);
            out
        }
    })
}

/// [`decode_chunk`] into `buffers`, which the next chunk reuses: decoding chunk after chunk then
/// allocates (and zeroes) its output memory once rather than once per chunk. The decoded bytes
/// borrow `buffers` (or `stored`, when no filter applies).
///
/// # Errors
/// As [`decode_chunk`].
pub fn decode_chunk_into<'a>(
    array: &ArrayMeta,
    chunk: &ChunkRef,
    stored: &'a [u8],
    buffers: &'a mut ChunkBuffers,
) -> Result<&'a [u8], CodecError> {
    Ok(match pipeline(array, chunk, stored, buffers)? {
        (At::Stored, len) => &stored[..len],
        (At::Buffer(i), len) => &buffers.buffers[i][..len],
    })
}

/// [`decode_chunk_into`], for a reader that needs only the first `front` bytes of the decoded chunk
/// (the rows up to the last one it wants): the result holds at least those (all of the chunk when
/// shorter), and may hold more.
///
/// A chunk whose only active filter is deflate is then inflated only that far, when that is under
/// 3/4 of the chunk: a streaming inflater (zlib-rs) stops exactly there, and costs about 1.25x
/// libdeflate's whole-buffer inflate per byte, so stopping early wins below ~80 % (measured on the
/// bench granules' chunks). Stopping early skips the stream's Adler-32 trailer, as any reader
/// that stops inside a zlib stream does; shuffle and fletcher32 need the whole chunk, so their
/// chunks are decoded whole.
///
/// # Errors
/// As [`decode_chunk`].
pub fn decode_chunk_front_into<'a>(
    array: &ArrayMeta,
    chunk: &ChunkRef,
    stored: &'a [u8],
    front: u64,
    buffers: &'a mut ChunkBuffers,
) -> Result<&'a [u8], CodecError> {
    let full = full_chunk_bytes(array).unwrap_or(u64::MAX);
    let mut active = array.filters.iter().enumerate().filter(|&(i, _)| applies(chunk, i));
    let deflate_only = matches!((active.next(), active.next()), (Some((_, f)), None) if f.id == 1);
    if !deflate_only || front.saturating_mul(4) >= full.saturating_mul(3) {
        return decode_chunk_into(array, chunk, stored, buffers);
    }
    let ChunkBuffers { buffers: [first, _], stream, .. } = buffers;
    let stream = stream.get_or_insert_with(|| flate2::Decompress::new(true));
    let len = inflate_front(stored, front, first, stream).map_err(|reason| CodecError::Corrupt {
        path: array.path.clone(),
        coords: chunk.coords.to_vec(),
        reason: format!("deflate: {reason}"),
    })?;
    Ok(&first[..len])
}

/// What [`decode_chunk_into`] keeps from one chunk to the next: two buffers the filters write
/// into in turn, and the inflaters.
#[derive(Default)]
pub struct ChunkBuffers {
    buffers: [Vec<u8>; 2],
    inflater: Option<libdeflater::Decompressor>,
    /// The streaming inflater of [`decode_chunk_front_into`].
    stream: Option<flate2::Decompress>,
}

/// Whether filter `i` of the pipeline was applied to `chunk` (bit `i` of its filter mask clear).
fn applies(chunk: &ChunkRef, i: usize) -> bool {
    i >= 32 || chunk.filter_mask & (1u32 << i) == 0
}

/// Where a filter's output starts (each stage's output is a prefix of its buffer).
#[derive(Clone, Copy)]
enum At {
    Stored,
    Buffer(usize),
}

/// The filter pipeline: where the decoded bytes are, and how many.
fn pipeline(array: &ArrayMeta, chunk: &ChunkRef, stored: &[u8], buffers: &mut ChunkBuffers) -> Result<(At, usize), CodecError> {
    let corrupt = |reason: String| CodecError::Corrupt { path: array.path.clone(), coords: chunk.coords.to_vec(), reason };
    let full = full_chunk_bytes(array).ok_or_else(|| corrupt("chunk size overflows".into()))?;
    let active: Vec<(usize, &Filter)> =
        array.filters.iter().enumerate().filter(|&(i, _)| applies(chunk, i)).collect();
    // Check every filter first, so an unsupported one is reported whatever its position.
    for (_, f) in &active {
        if !matches!(f.id, 1..=3) {
            return Err(CodecError::UnsupportedFilter {
                path: array.path.clone(),
                coords: chunk.coords.to_vec(),
                id: f.id,
                name: f.name.clone(),
            });
        }
    }
    let ChunkBuffers { buffers: [first, second], inflater, .. } = buffers;
    let (mut at, mut len) = (At::Stored, stored.len());
    for (pos, (_, f)) in active.iter().enumerate().rev() {
        if f.id == 3 {
            // The checksum trails the data: stripping it shortens the output where it is.
            let data = match at {
                At::Stored => &stored[..len],
                At::Buffer(0) => &first[..len],
                At::Buffer(_) => &second[..len],
            };
            len = fletcher32::strip(data).map_err(corrupt)?.len();
            continue;
        }
        let (src, dst, next) = match at {
            At::Stored => (&stored[..len], &mut *first, 0),
            At::Buffer(0) => (&first[..len], &mut *second, 1),
            At::Buffer(_) => (&second[..len], &mut *first, 0),
        };
        len = if f.id == 1 {
            // Checksums still inside the data at this stage: those applied before this filter.
            let checksums = active[..pos].iter().filter(|(_, g)| g.id == 3).count() as u64;
            let limit = full.saturating_add(4 * checksums);
            let inflater = inflater.get_or_insert_with(libdeflater::Decompressor::new);
            inflate_into(src, limit, dst, inflater).map_err(|e| match e {
                Inflate::TooLarge => CodecError::TooLarge { path: array.path.clone(), coords: chunk.coords.to_vec(), limit },
                Inflate::Bad(msg) => corrupt(format!("deflate: {msg}")),
            })?
        } else {
            let size = f.params.first().map_or(array.dtype.size(), |&p| u64::from(p));
            shuffle::unshuffle_into(src, usize::try_from(size).unwrap_or(usize::MAX), dst)
        };
        at = At::Buffer(next);
    }
    if len as u64 > full {
        return Err(CodecError::TooLarge { path: array.path.clone(), coords: chunk.coords.to_vec(), limit: full });
    }
    Ok((at, len))
}

/// Deflate's largest possible expansion: a length-258 match costs at least two bits.
const MAX_DEFLATE_RATIO: u64 = 1032;

enum Inflate {
    TooLarge,
    Bad(String),
}

/// Inflate one zlib stream (what libhdf5's deflate filter writes) into the front of `out`,
/// refusing output beyond `limit` bytes; returns the inflated length.
///
/// libdeflate inflates a whole buffer at once (~1.7x miniz_oxide's streaming speed on the bench
/// granules), so the output space is there up front: `out` grows (once, for a run of chunks) to at
/// most `limit`, and never beyond what deflate's maximum ratio (1032:1) lets `src` expand to, so a
/// tiny hostile chunk cannot claim a huge buffer.
fn inflate_into(src: &[u8], limit: u64, out: &mut Vec<u8>, inflater: &mut libdeflater::Decompressor) -> Result<usize, Inflate> {
    let most = (src.len() as u64).saturating_mul(MAX_DEFLATE_RATIO).saturating_add(64);
    let cap = usize::try_from(limit.min(most)).map_err(|_| Inflate::TooLarge)?;
    if out.len() < cap {
        out.resize(cap, 0);
    }
    match inflater.zlib_decompress(src, &mut out[..cap]) {
        Ok(n) => Ok(n),
        // Output beyond the buffer: beyond `limit` (the ratio bound cannot be exceeded).
        Err(libdeflater::DecompressionError::InsufficientSpace) => Err(Inflate::TooLarge),
        Err(e) => Err(Inflate::Bad(e.to_string())),
    }
}

/// Inflate the first `front` bytes of one zlib stream into the front of `out` (bounded as in
/// [`inflate_into`]); returns how many there are (fewer only when the stream ends first).
fn inflate_front(src: &[u8], front: u64, out: &mut Vec<u8>, stream: &mut flate2::Decompress) -> Result<usize, String> {
    let most = (src.len() as u64).saturating_mul(MAX_DEFLATE_RATIO).saturating_add(64);
    let cap = usize::try_from(front.min(most)).map_err(|_| "chunk size overflows".to_string())?;
    if out.len() < cap {
        out.resize(cap, 0);
    }
    stream.reset(true);
    match stream.decompress(src, &mut out[..cap], flate2::FlushDecompress::None) {
        Ok(flate2::Status::StreamEnd) => Ok(usize::try_from(stream.total_out()).unwrap_or(cap).min(cap)),
        Ok(_) if stream.total_out() == cap as u64 => Ok(cap),
        Ok(_) => Err("the stream ends early".into()),
        Err(e) => Err(e.to_string()),
    }
}
