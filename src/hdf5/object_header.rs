//! Object headers v1 and v2 with their continuation blocks (spec IV.A.1): the list of
//! header messages that describe a group, dataset or committed datatype.

use std::collections::HashSet;

use super::cache::Cache;
use super::checksum;
use super::cursor::{Cursor, Geometry};
use super::error::{bad, unsupported, Parse};

const STRUCTURE: &str = "object header";
/// Message type of a header continuation.
const CONTINUATION: u16 = 0x0010;
/// Bounds against hostile files: continuation blocks per header.
const MAX_BLOCKS: usize = 4096;

/// One header message, borrowing its body from the cache.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawMessage<'a> {
    /// Message type (0x0001 dataspace, 0x0003 datatype, ...).
    pub kind: u16,
    /// Message flags (bit 1: shared, bit 7: fail if unknown).
    pub flags: u8,
    /// Body bytes.
    pub body: &'a [u8],
    /// Absolute address of the body (for error messages).
    pub address: u64,
}

impl RawMessage<'_> {
    /// A cursor over the body.
    pub(crate) fn cursor(&self, structure: &'static str, geo: Geometry) -> Cursor<'_> {
        Cursor::new(self.body, self.address, structure, geo)
    }

    /// Whether the body is a shared-message reference rather than the message itself.
    pub(crate) fn is_shared(&self) -> bool {
        self.flags & 0x02 != 0
    }
}

/// Read every message of the object header at `addr`, following continuation blocks.
pub(crate) fn read(cache: &Cache, addr: u64, geo: Geometry) -> Parse<Vec<RawMessage<'_>>> {
    let first = cache.get(STRUCTURE, addr, 4)?;
    if first == b"OHDR" {
        read_v2(cache, addr, geo)
    } else if first[0] == 1 {
        read_v1(cache, addr, geo)
    } else {
        bad(STRUCTURE, addr, format!("unknown object header version {} (no OHDR signature)", first[0]))
    }
}

fn read_v1(cache: &Cache, addr: u64, geo: Geometry) -> Parse<Vec<RawMessage<'_>>> {
    let mut c = cache.cursor(STRUCTURE, addr, 16, geo)?;
    c.skip(2)?; // version, reserved
    let count = usize::from(c.u16()?);
    c.skip(4)?; // reference count
    let size = u64::from(c.u32()?);
    let mut messages = Vec::with_capacity(count.min(1024));
    let mut blocks = vec![(addr + 16, size)];
    let mut seen = HashSet::new();
    while let Some((start, len)) = blocks.pop() {
        if !seen.insert(start) || seen.len() > MAX_BLOCKS {
            return bad(STRUCTURE, addr, "continuation blocks form a cycle or are too many");
        }
        let mut c = cache.cursor(STRUCTURE, start, len, geo)?;
        while c.remaining() >= 8 && messages.len() < count {
            let kind = c.u16()?;
            let body_len = usize::from(c.u16()?);
            let flags = c.u8()?;
            c.skip(3)?;
            let address = c.file_pos();
            let body = c.bytes(body_len)?;
            if kind == CONTINUATION {
                blocks.push(continuation(body, address, geo)?);
            }
            messages.push(RawMessage { kind, flags, body, address });
        }
    }
    Ok(messages)
}

fn read_v2(cache: &Cache, addr: u64, geo: Geometry) -> Parse<Vec<RawMessage<'_>>> {
    let mut c = cache.cursor(STRUCTURE, addr, 6, geo)?;
    c.skip(4)?;
    let version = c.u8()?;
    if version != 2 {
        return unsupported(STRUCTURE, addr, format!("object header version {version}"));
    }
    let flags = c.u8()?;
    let mut prefix = 6u64;
    if flags & 0x20 != 0 {
        prefix += 16; // access, modification, change, birth times
    }
    if flags & 0x10 != 0 {
        prefix += 4; // attribute storage phase change values
    }
    let width = 1usize << (flags & 0x03);
    let mut c = cache.cursor(STRUCTURE, addr, prefix + width as u64, geo)?;
    c.skip(prefix as usize)?;
    let chunk0 = c.uint(width)?;
    let head = prefix + width as u64;
    let total = head + chunk0 + 4;
    let block = cache.get(STRUCTURE, addr, total)?;
    verify(block, addr)?;
    let creation_order = flags & 0x04 != 0;
    let mut messages = Vec::new();
    let mut pending = Vec::new();
    parse_v2_messages(&block[head as usize..total as usize - 4], addr + head, creation_order, geo, &mut messages, &mut pending)?;
    let mut seen = HashSet::new();
    while let Some((start, len)) = pending.pop() {
        if !seen.insert(start) || seen.len() > MAX_BLOCKS {
            return bad(STRUCTURE, addr, "continuation blocks form a cycle or are too many");
        }
        if len < 8 {
            return bad(STRUCTURE, start, format!("continuation block of {len} bytes"));
        }
        let block = cache.get(STRUCTURE, start, len)?;
        if &block[..4] != b"OCHK" {
            return bad(STRUCTURE, start, "continuation block without OCHK signature");
        }
        verify(block, start)?;
        parse_v2_messages(&block[4..block.len() - 4], start + 4, creation_order, geo, &mut messages, &mut pending)?;
    }
    Ok(messages)
}

fn verify(block: &[u8], at: u64) -> Parse<()> {
    let (body, sum) = block.split_at(block.len() - 4);
    let stored = u32::from_le_bytes([sum[0], sum[1], sum[2], sum[3]]);
    if !checksum::verify(body, stored) {
        return bad(STRUCTURE, at, "checksum mismatch");
    }
    Ok(())
}

fn parse_v2_messages<'a>(
    region: &'a [u8],
    start: u64,
    creation_order: bool,
    geo: Geometry,
    out: &mut Vec<RawMessage<'a>>,
    pending: &mut Vec<(u64, u64)>,
) -> Parse<()> {
    let header = if creation_order { 6 } else { 4 };
    let mut c = Cursor::new(region, start, STRUCTURE, geo);
    // What is left after the last message and shorter than a message header is a gap.
    while c.remaining() >= header {
        let kind = u16::from(c.u8()?);
        let body_len = usize::from(c.u16()?);
        let flags = c.u8()?;
        if creation_order {
            c.skip(2)?;
        }
        let address = c.file_pos();
        let body = c.bytes(body_len)?;
        if kind == CONTINUATION {
            pending.push(continuation(body, address, geo)?);
        }
        out.push(RawMessage { kind, flags, body, address });
    }
    Ok(())
}

fn continuation(body: &[u8], address: u64, geo: Geometry) -> Parse<(u64, u64)> {
    let mut c = Cursor::new(body, address, "continuation message", geo);
    let at = c.required_address()?;
    let len = c.length()?;
    if at.checked_add(len).is_none_or(|end| end > geo.eof) {
        return bad("continuation message", address, format!("block {at}+{len} extends past the end of the file"));
    }
    Ok((at, len))
}
