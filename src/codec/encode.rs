//! Applying the filter pipeline (write direction) — the virtual Zarr store needs it for the rare
//! chunk whose filter mask says some filters were skipped: Zarr has one codec chain per array, so
//! such a chunk is decoded and re-encoded with the full chain rather than served as stored.

use std::io::Write;

use super::shuffle::shuffle;
use super::{fletcher32, CodecError};
use crate::manifest::{ArrayMeta, Filter};

/// Apply `filters` (deflate, shuffle, fletcher32; write order) to the raw bytes of one chunk.
///
/// # Errors
/// [`CodecError::UnsupportedFilter`] for any other filter.
pub fn encode_chunk(
    array: &ArrayMeta,
    coords: &[u64],
    filters: &[Filter],
    raw: Vec<u8>,
) -> Result<Vec<u8>, CodecError> {
    let mut buf = raw;
    for f in filters {
        buf = match f.id {
            1 => {
                let level = f.params.first().copied().unwrap_or(6).min(9);
                let mut enc = flate2::write::ZlibEncoder::new(
                    Vec::with_capacity(buf.len() / 2),
                    flate2::Compression::new(level),
                );
                // Writing into a Vec cannot fail.
                enc.write_all(&buf)
                    .and_then(|()| enc.finish())
                    .unwrap_or_default()
            }
            2 => {
                let size = f
                    .params
                    .first()
                    .map_or(array.dtype.size(), |&p| u64::from(p));
                shuffle(&buf, usize::try_from(size).unwrap_or(usize::MAX))
            }
            3 => {
                let sum = fletcher32::checksum(&buf);
                buf.extend_from_slice(&sum.to_le_bytes());
                buf
            }
            _ => {
                return Err(CodecError::UnsupportedFilter {
                    path: array.path.clone(),
                    coords: coords.to_vec(),
                    id: f.id,
                    name: f.name.clone(),
                })
            }
        };
    }
    Ok(buf)
}
