//! Filter pipeline message (IV.A.2.l), versions 1 and 2.

use crate::hdf5::cursor::Cursor;
use crate::hdf5::error::{unsupported, Parse};
use crate::manifest::Filter;

pub(crate) fn parse(mut c: Cursor<'_>) -> Parse<Vec<Filter>> {
    let at = c.file_pos();
    let version = c.u8()?;
    let n = usize::from(c.u8()?);
    if version == 1 {
        c.skip(6)?;
    } else if version != 2 {
        return unsupported(c.structure(), at, format!("filter pipeline version {version}"));
    }
    if n > 32 {
        return c.fail(format!("{n} filters (HDF5 allows 32)"));
    }
    let mut filters = Vec::with_capacity(n);
    for _ in 0..n {
        let id = c.u16()?;
        let name_len = if version == 1 || id >= 256 { usize::from(c.u16()?) } else { 0 };
        let flags = c.u16()?;
        let nparams = usize::from(c.u16()?);
        let mut name = String::new();
        if name_len > 0 {
            let raw = c.bytes(if version == 1 { name_len.next_multiple_of(8) } else { name_len })?;
            name = String::from_utf8_lossy(&raw[..name_len]).trim_end_matches('\0').to_string();
        }
        if nparams * 4 > c.remaining() {
            return c.fail(format!("{nparams} filter parameters in {} bytes", c.remaining()));
        }
        let mut params = Vec::with_capacity(nparams);
        for _ in 0..nparams {
            params.push(c.u32()?);
        }
        if version == 1 && nparams % 2 == 1 {
            c.skip(4)?;
        }
        if name.is_empty() {
            name = Filter::known_name(id).unwrap_or("unknown").to_string();
        }
        filters.push(Filter { id, name, flags, params });
    }
    Ok(filters)
}
