//! Bounds-checked little-endian reading of one structure's bytes.

use super::error::{bad, Parse};

/// File-wide sizes from the superblock that every structure needs to decode addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    /// Bytes per address ("size of offsets"): 2, 4 or 8.
    pub sizeof_offsets: u8,
    /// Bytes per length ("size of lengths"): 2, 4 or 8.
    pub sizeof_lengths: u8,
    /// Absolute file offset that addresses are relative to (non-zero with a user block).
    pub base_address: u64,
    /// File size: no structure may extend past it.
    pub eof: u64,
}

/// Reads fields from `buf`, whose first byte is at absolute file offset `start`.
/// Running past the end is a format error for `structure`, never a panic.
#[derive(Clone)]
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    start: u64,
    structure: &'static str,
    geo: Geometry,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8], start: u64, structure: &'static str, geo: Geometry) -> Cursor<'a> {
        Cursor { buf, pos: 0, start, structure, geo }
    }

    /// The structure name used in errors.
    #[inline]
    pub(crate) fn structure(&self) -> &'static str {
        self.structure
    }

    /// File geometry.
    #[inline]
    pub(crate) fn geo(&self) -> Geometry {
        self.geo
    }

    /// Position inside the buffer.
    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Absolute file offset of the next byte.
    #[inline]
    pub(crate) fn file_pos(&self) -> u64 {
        self.start + self.pos as u64
    }

    /// Bytes left in the buffer.
    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The whole buffer.
    #[inline]
    pub(crate) fn buffer(&self) -> &'a [u8] {
        self.buf
    }

    /// A format error at the current position.
    pub(crate) fn fail<T>(&self, detail: impl Into<String>) -> Parse<T> {
        bad(self.structure, self.file_pos(), detail)
    }

    /// The error for a read of `n` bytes past the end: out of line, so that the field readers
    /// inlined into every parser loop stay small.
    #[cold]
    #[inline(never)]
    fn truncated<T>(&self, n: usize) -> Parse<T> {
        self.fail(format!("truncated: needs {n} more bytes, {} left", self.remaining()))
    }

    /// Skip `n` bytes.
    #[inline]
    pub(crate) fn skip(&mut self, n: usize) -> Parse<()> {
        self.bytes(n).map(|_| ())
    }

    /// The next `n` bytes.
    #[inline]
    pub(crate) fn bytes(&mut self, n: usize) -> Parse<&'a [u8]> {
        if n > self.remaining() {
            return self.truncated(n);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    #[inline]
    pub(crate) fn u8(&mut self) -> Parse<u8> {
        Ok(self.bytes(1)?[0])
    }

    /// The next `N` bytes as an array (fixed-width fields: no per-byte loop).
    #[inline]
    fn array<const N: usize>(&mut self) -> Parse<[u8; N]> {
        match self.buf[self.pos..].first_chunk::<N>() {
            Some(b) => {
                self.pos += N;
                Ok(*b)
            }
            None => self.truncated(N),
        }
    }

    #[inline]
    pub(crate) fn u16(&mut self) -> Parse<u16> {
        self.array().map(u16::from_le_bytes)
    }

    #[inline]
    pub(crate) fn u32(&mut self) -> Parse<u32> {
        self.array().map(u32::from_le_bytes)
    }

    #[inline]
    pub(crate) fn u64(&mut self) -> Parse<u64> {
        self.array().map(u64::from_le_bytes)
    }

    /// Little-endian unsigned integer of `n` (0..=8) bytes.
    #[inline]
    pub(crate) fn uint(&mut self, n: usize) -> Parse<u64> {
        match n {
            8 => self.u64(),
            4 => self.u32().map(u64::from),
            2 => self.u16().map(u64::from),
            _ if n > 8 => self.fail(format!("integer field of {n} bytes")),
            _ => {
                let b = self.bytes(n)?;
                Ok(b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
            }
        }
    }

    /// A length field ("size of lengths" bytes).
    #[inline]
    pub(crate) fn length(&mut self) -> Parse<u64> {
        self.uint(usize::from(self.geo.sizeof_lengths))
    }

    /// An address field, made absolute; `None` for the undefined address (all bits set).
    #[inline]
    pub(crate) fn address(&mut self) -> Parse<Option<u64>> {
        let n = usize::from(self.geo.sizeof_offsets);
        let raw = self.uint(n)?;
        let undefined = if n == 8 { u64::MAX } else { (1u64 << (8 * n)) - 1 };
        if raw == undefined {
            return Ok(None);
        }
        match raw.checked_add(self.geo.base_address) {
            Some(abs) => Ok(Some(abs)),
            None => self.fail("address overflows"),
        }
    }

    /// An address that must be defined and inside the file.
    #[inline]
    pub(crate) fn required_address(&mut self) -> Parse<u64> {
        let at = self.file_pos();
        match self.address()? {
            Some(a) if a < self.geo.eof => Ok(a),
            Some(a) => bad(self.structure, at, format!("address {a} is past the end of the file ({} bytes)", self.geo.eof)),
            None => bad(self.structure, at, "undefined address where one is required"),
        }
    }

    /// Expect a 4-byte signature.
    #[inline]
    pub(crate) fn signature(&mut self, sig: &[u8; 4]) -> Parse<()> {
        let at = self.file_pos();
        let got = self.bytes(4)?;
        if got != sig {
            return bad(
                self.structure,
                at,
                format!("bad signature {:?}, expected {:?}", String::from_utf8_lossy(got), String::from_utf8_lossy(sig)),
            );
        }
        Ok(())
    }

    /// A NUL-terminated string starting here (the terminator is consumed).
    pub(crate) fn cstr(&mut self) -> Parse<String> {
        let rest = &self.buf[self.pos..];
        let Some(n) = rest.iter().position(|&b| b == 0) else {
            return self.fail("unterminated string");
        };
        let s = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.pos += n + 1;
        Ok(s)
    }
}

/// Bytes needed to hold values up to `max` (used by v2 B-tree and fractal heap encodings).
pub(crate) fn bytes_for(max: u64) -> usize {
    if max == 0 {
        1
    } else {
        (64 - max.leading_zeros() as usize).div_ceil(8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geo() -> Geometry {
        Geometry { sizeof_offsets: 4, sizeof_lengths: 4, base_address: 512, eof: 10_000 }
    }

    #[test]
    fn reads_fields_and_relocates_addresses() {
        let buf = [1, 0, 2, 0, 0, 0, 0x10, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        let mut c = Cursor::new(&buf, 100, "test", geo());
        assert_eq!(c.u16().unwrap(), 1);
        assert_eq!(c.u32().unwrap(), 2);
        assert_eq!(c.address().unwrap(), Some(16 + 512));
        assert_eq!(c.address().unwrap(), None);
        assert!(c.u8().is_err());
    }

    #[test]
    fn byte_widths() {
        assert_eq!(bytes_for(0), 1);
        assert_eq!(bytes_for(255), 1);
        assert_eq!(bytes_for(256), 2);
        assert_eq!(bytes_for(u64::MAX), 8);
    }
}
