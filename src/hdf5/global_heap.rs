//! Global heap collections (spec III.E): where variable-length attribute data lives.

use super::cache::Cache;
use super::cursor::Geometry;
use super::error::{bad, Parse};

const STRUCTURE: &str = "global heap collection";

/// Object `index` of the collection at `addr`.
pub(crate) fn object(cache: &Cache, addr: u64, index: u32, geo: Geometry) -> Parse<Vec<u8>> {
    let head = 8 + u64::from(geo.sizeof_lengths);
    let mut c = cache.cursor(STRUCTURE, addr, head, geo)?;
    c.signature(b"GCOL")?;
    c.skip(4)?; // version, reserved
    let size = c.length()?;
    if size < head {
        return bad(STRUCTURE, addr, format!("collection size {size}"));
    }
    let mut c = cache.cursor(STRUCTURE, addr, size, geo)?;
    c.skip(head as usize)?;
    let obj_head = 8 + usize::from(geo.sizeof_lengths);
    while c.remaining() >= obj_head {
        let id = c.u16()?;
        c.skip(6)?; // reference count, reserved
        let len = c.length()?;
        if id == 0 {
            break; // free space: no more objects
        }
        if len > c.remaining() as u64 {
            return c.fail(format!("object {id} of {len} bytes overruns the collection"));
        }
        let data = c.bytes(len as usize)?;
        if u32::from(id) == index {
            return Ok(data.to_vec());
        }
        let padded = (len as usize).next_multiple_of(8) - len as usize;
        c.skip(padded.min(c.remaining()))?;
    }
    bad(STRUCTURE, addr, format!("object {index} not found"))
}
