//! Local heaps (spec III.D): the names of a symbol-table group's links.

use super::cache::Cache;
use super::cursor::Geometry;
use super::error::{bad, Parse};

const STRUCTURE: &str = "local heap";

/// Where a local heap keeps its data segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LocalHeap {
    pub data: u64,
    pub size: u64,
}

pub(crate) fn read(cache: &Cache, addr: u64, geo: Geometry) -> Parse<LocalHeap> {
    let len = 8 + 2 * u64::from(geo.sizeof_lengths) + u64::from(geo.sizeof_offsets);
    let mut c = cache.cursor(STRUCTURE, addr, len, geo)?;
    c.signature(b"HEAP")?;
    let version = c.u8()?;
    if version != 0 {
        return bad(STRUCTURE, addr, format!("version {version}"));
    }
    c.skip(3)?;
    let size = c.length()?;
    c.length()?; // free list head
    let data = c.required_address()?;
    if data.checked_add(size).is_none_or(|end| end > geo.eof) {
        return bad(STRUCTURE, addr, format!("data segment {data}+{size} extends past the end of the file"));
    }
    Ok(LocalHeap { data, size })
}

impl LocalHeap {
    /// The NUL-terminated string at `offset` in the data segment.
    pub(crate) fn string(&self, cache: &Cache, offset: u64) -> Parse<String> {
        let seg = cache.get(STRUCTURE, self.data, self.size)?;
        let Some(rest) = seg.get(offset as usize..) else {
            return bad(STRUCTURE, self.data, format!("name offset {offset} outside the {}-byte data segment", self.size));
        };
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
    }
}
