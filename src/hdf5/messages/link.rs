//! Link message (IV.A.2.g), link info (IV.A.2.c), symbol table (IV.A.2.r), attribute info
//! (IV.A.2.v) and external data files (IV.A.2.h) messages.

use crate::hdf5::cursor::Cursor;
use crate::hdf5::error::{unsupported, Parse};

/// Where a link points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LinkDest {
    /// Object header address.
    Hard(u64),
    /// Path in this file.
    Soft(String),
    /// File and path.
    External { file: String, path: String },
    /// User-defined link type.
    Other(u8),
}

/// A decoded link message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Link {
    pub name: String,
    pub dest: LinkDest,
}

pub(crate) fn parse_link(mut c: Cursor<'_>) -> Parse<Link> {
    let at = c.file_pos();
    let version = c.u8()?;
    if version != 1 {
        return unsupported(c.structure(), at, format!("link message version {version}"));
    }
    let flags = c.u8()?;
    let link_type = if flags & 0x08 != 0 { c.u8()? } else { 0 };
    if flags & 0x04 != 0 {
        c.skip(8)?; // creation order
    }
    if flags & 0x10 != 0 {
        c.skip(1)?; // name character set
    }
    let name_len = c.uint(1 << (flags & 0x03))? as usize;
    let name = String::from_utf8_lossy(c.bytes(name_len)?).into_owned();
    let dest = match link_type {
        0 => LinkDest::Hard(c.required_address()?),
        1 => {
            let n = usize::from(c.u16()?);
            LinkDest::Soft(String::from_utf8_lossy(c.bytes(n)?).into_owned())
        }
        64 => {
            let n = usize::from(c.u16()?);
            let raw = c.bytes(n)?;
            let body = raw.get(1..).unwrap_or(&[]); // first byte: version and flags
            let mut parts = body.split(|&b| b == 0);
            let file = String::from_utf8_lossy(parts.next().unwrap_or(&[])).into_owned();
            let path = String::from_utf8_lossy(parts.next().unwrap_or(&[])).into_owned();
            LinkDest::External { file, path }
        }
        t => LinkDest::Other(t),
    };
    Ok(Link { name, dest })
}

/// Dense storage addresses from a link info or attribute info message; `None` when the
/// links/attributes are stored as messages in the header instead.
pub(crate) fn parse_dense_info(mut c: Cursor<'_>, creation_order_width: usize) -> Parse<Option<(u64, u64)>> {
    let at = c.file_pos();
    let version = c.u8()?;
    if version != 0 {
        return unsupported(c.structure(), at, format!("info message version {version}"));
    }
    let flags = c.u8()?;
    if flags & 0x01 != 0 {
        c.skip(creation_order_width)?; // maximum creation index
    }
    let heap = c.address()?;
    let name_index = c.address()?;
    Ok(match (heap, name_index) {
        (Some(h), Some(b)) => Some((h, b)),
        _ => None,
    })
}

/// Symbol table message: (v1 B-tree address, local heap address).
pub(crate) fn parse_symbol_table(mut c: Cursor<'_>) -> Parse<(u64, u64)> {
    Ok((c.required_address()?, c.required_address()?))
}

/// External data files message: local heap address and (name offset, file offset, size) slots.
pub(crate) fn parse_external(mut c: Cursor<'_>) -> Parse<(u64, Vec<(u64, u64, u64)>)> {
    let at = c.file_pos();
    let version = c.u8()?;
    if version != 1 {
        return unsupported(c.structure(), at, format!("external file list version {version}"));
    }
    c.skip(3)?;
    c.skip(2)?; // allocated slots
    let used = usize::from(c.u16()?);
    let heap = c.required_address()?;
    if used * 3 > c.remaining() {
        return c.fail(format!("{used} external file slots in {} bytes", c.remaining()));
    }
    let mut slots = Vec::with_capacity(used);
    for _ in 0..used {
        slots.push((c.length()?, c.length()?, c.length()?));
    }
    Ok((heap, slots))
}
