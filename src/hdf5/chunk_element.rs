//! Chunk records of the fixed-array and extensible-array chunk indexes (spec VII.B and VII.C,
//! "client ID" 0 and 1), shared by both: an address alone for unfiltered datasets, or
//! address, stored size and filter mask for filtered ones.
//!
//! The stored-size width is one byte more than needed for the unfiltered chunk size (capped
//! at 8) in layout version 4, and "size of lengths" in layout version 5 (libhdf5 2.0). Both
//! equal the array header's element size minus the address and mask, which is what is used.

use super::cursor::{Cursor, Geometry};
use super::error::{bad, Parse};

/// How one array element encodes a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ElementFormat {
    /// Bytes per element.
    pub size: u64,
    /// Width of the stored-size field; `None` for unfiltered chunks (address only).
    pub size_width: Option<usize>,
}

impl ElementFormat {
    /// The format named by an array header's client ID and element size.
    ///
    /// # Errors
    /// A format error for an unknown client ID or an element size that does not fit it.
    pub(crate) fn new(client_id: u8, element_size: u8, geo: Geometry, structure: &'static str, at: u64) -> Parse<Self> {
        let so = u64::from(geo.sizeof_offsets);
        let size = u64::from(element_size);
        match client_id {
            0 if size == so => Ok(ElementFormat { size, size_width: None }),
            1 if size > so + 4 && size - so - 4 <= 8 => {
                Ok(ElementFormat { size, size_width: Some((size - so - 4) as usize) })
            }
            0 | 1 => bad(structure, at, format!("element size {size} does not fit client ID {client_id}")),
            _ => bad(structure, at, format!("client ID {client_id}, expected 0 or 1 (dataset chunks)")),
        }
    }

    /// Decode one element: `(address, stored size, filter mask)`, or `None` when the chunk is
    /// not allocated. `unfiltered_size` is the length of an unfiltered chunk.
    ///
    /// # Errors
    /// A format error when the element is truncated or the chunk lies past the end of the file.
    pub(crate) fn decode(&self, c: &mut Cursor<'_>, unfiltered_size: u64) -> Parse<Option<(u64, u64, u32)>> {
        let at = c.file_pos();
        let address = c.address()?;
        let (length, mask) = match self.size_width {
            Some(w) => (c.uint(w)?, c.u32()?),
            None => (unfiltered_size, 0),
        };
        let Some(offset) = address else { return Ok(None) };
        let eof = c.geo().eof;
        if offset.checked_add(length).is_none_or(|end| end > eof) {
            return bad(
                c.structure(),
                at,
                format!("chunk of {length} bytes at {offset} extends past the end of the file ({eof})"),
            );
        }
        Ok(Some((offset, length, mask)))
    }
}

/// Bit `i` of a libhdf5 bitmap (most significant bit of each byte first); false past the end.
pub(crate) fn bit(map: &[u8], i: u64) -> bool {
    usize::try_from(i / 8).ok().and_then(|b| map.get(b)).is_some_and(|byte| byte & (0x80 >> (i % 8)) != 0)
}

/// Verify the lookup3 checksum stored in the last 4 bytes of `buf`.
///
/// # Errors
/// A format error "checksum mismatch" naming `structure` at `at`.
pub(crate) fn check_trailing_checksum(buf: &[u8], structure: &'static str, at: u64) -> Parse<()> {
    let Some(split) = buf.len().checked_sub(4) else {
        return bad(structure, at, "too short to hold a checksum");
    };
    let stored = u32::from_le_bytes([buf[split], buf[split + 1], buf[split + 2], buf[split + 3]]);
    if super::checksum::lookup3(&buf[..split]) != stored {
        return bad(structure, at, "checksum mismatch");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_is_msb_first() {
        assert!(bit(&[0x80], 0));
        assert!(!bit(&[0x80], 7));
        assert!(bit(&[0x00, 0x01], 15));
        assert!(!bit(&[0xff], 8));
    }
}
