//! Fill value messages: the old one (IV.A.2.f, type 0x0004) and the new one (IV.A.2.g, 0x0005).

use crate::hdf5::cursor::Cursor;
use crate::hdf5::error::{unsupported, Parse};
use crate::manifest::{AllocTime, Fill, FillDefined, FillTime};

/// Fill value bytes beyond this are not believed (an element is at most a few KiB).
const MAX_FILL: u64 = 1 << 20;

/// The old message: only a value. libhdf5 reads an empty one as "undefined".
pub(crate) fn parse_old(mut c: Cursor<'_>, alloc_time: AllocTime) -> Parse<Fill> {
    let size = u64::from(c.u32()?);
    let (defined, value) = if size == 0 { (FillDefined::Undefined, None) } else { (FillDefined::User, Some(value(&mut c, size)?)) };
    Ok(Fill { defined, time: FillTime::Ifset, alloc_time, value })
}

/// The new message: allocation time, write time, and whether/which value is defined.
pub(crate) fn parse(mut c: Cursor<'_>) -> Parse<Fill> {
    let at = c.file_pos();
    let version = c.u8()?;
    match version {
        1 | 2 => {
            let alloc_time = alloc(c.u8()?);
            let time = write_time(c.u8()?);
            let defined_flag = c.u8()?;
            let mut fill = Fill { defined: FillDefined::Default, time, alloc_time, value: None };
            // Version 1 always stores a size; version 2 only when a value is defined.
            if version == 1 || defined_flag != 0 {
                let size = u64::from(c.u32()?);
                if size > 0 {
                    fill.value = Some(value(&mut c, size)?);
                }
            }
            fill.defined = match defined_flag {
                0 => FillDefined::Undefined,
                2 => FillDefined::User,
                _ => FillDefined::Default,
            };
            if fill.defined == FillDefined::Undefined {
                fill.value = None;
            } else if fill.value.is_some() {
                fill.defined = FillDefined::User;
            }
            Ok(fill)
        }
        3 => {
            let flags = c.u8()?;
            let alloc_time = alloc(flags & 0x03);
            let time = write_time((flags >> 2) & 0x03);
            let mut fill = Fill { defined: FillDefined::Default, time, alloc_time, value: None };
            if flags & 0x10 != 0 {
                fill.defined = FillDefined::Undefined;
            } else if flags & 0x20 != 0 {
                let size = u64::from(c.u32()?);
                fill.defined = FillDefined::User;
                if size > 0 {
                    fill.value = Some(value(&mut c, size)?);
                }
            }
            Ok(fill)
        }
        v => unsupported(c.structure(), at, format!("fill value message version {v}")),
    }
}

fn value(c: &mut Cursor<'_>, size: u64) -> Parse<Vec<u8>> {
    if size > MAX_FILL {
        return c.fail(format!("fill value of {size} bytes"));
    }
    Ok(c.bytes(size as usize)?.to_vec())
}

fn alloc(v: u8) -> AllocTime {
    match v {
        1 => AllocTime::Early,
        3 => AllocTime::Incr,
        _ => AllocTime::Late,
    }
}

fn write_time(v: u8) -> FillTime {
    match v {
        0 => FillTime::Alloc,
        1 => FillTime::Never,
        _ => FillTime::Ifset,
    }
}
