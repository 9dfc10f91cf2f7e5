//! Datatype message (IV.A.2.d): every class, recursively for compound, enum, array and vlen.

use crate::hdf5::cursor::Cursor;
use crate::hdf5::error::{unsupported, Parse};
use crate::manifest::{
    ByteOrder, CompoundMember, Datatype, EnumMember, ReferenceKind, Scalar, StringCharset, StringPadding,
};

/// Nesting bound against hostile files (HDF5 itself has none, real files use a handful).
const MAX_DEPTH: usize = 32;

/// Decode one datatype starting at the cursor; the cursor ends after it.
pub(crate) fn parse(c: &mut Cursor<'_>) -> Parse<Datatype> {
    parse_at(c, 0)
}

fn order(bits: u32) -> ByteOrder {
    if bits & 1 != 0 {
        ByteOrder::Be
    } else {
        ByteOrder::Le
    }
}

fn parse_at(c: &mut Cursor<'_>, depth: usize) -> Parse<Datatype> {
    if depth > MAX_DEPTH {
        return c.fail("datatype nested too deeply");
    }
    let at = c.file_pos();
    let class_version = c.u8()?;
    let class = class_version & 0x0f;
    let version = class_version >> 4;
    let b = c.bytes(3)?;
    let bits = u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16;
    let size = c.u32()?;
    let dt = match class {
        0 => {
            c.skip(4)?; // bit offset, precision
            Datatype::Integer { size, signed: bits & 0x08 != 0, order: order(bits) }
        }
        1 => {
            let offset = c.u16()?;
            let precision = c.u16()?;
            let layout = [c.u8()?, c.u8()?, c.u8()?, c.u8()?];
            let bias = c.u32()?;
            if bits & 0x40 != 0 {
                return unsupported(c.structure(), at, "VAX-order floating point");
            }
            if !is_ieee(size, offset, precision, layout, bias) {
                return unsupported(
                    c.structure(),
                    at,
                    format!("non-IEEE {size}-byte float layout (precision {precision} at bit {offset}, exponent {}@{}, mantissa {}@{})", layout[1], layout[0], layout[3], layout[2]),
                );
            }
            Datatype::Float { size, order: order(bits) }
        }
        2 => {
            c.skip(2)?;
            Datatype::Time { size, order: order(bits) }
        }
        3 => Datatype::String { size: Some(size), padding: padding(bits & 0x0f), charset: charset((bits >> 4) & 0x0f) },
        4 => {
            c.skip(4)?;
            Datatype::Bitfield { size, order: order(bits) }
        }
        5 => {
            let tag_len = (bits & 0xff) as usize;
            let tag = c.bytes(tag_len)?;
            let tag = String::from_utf8_lossy(tag).trim_end_matches('\0').to_string();
            Datatype::Opaque { size, tag }
        }
        6 => {
            let n = (bits & 0xffff) as usize;
            if n > c.remaining() {
                return c.fail(format!("{n} compound members in {} bytes", c.remaining()));
            }
            let mut members = Vec::with_capacity(n);
            for _ in 0..n {
                members.push(compound_member(c, version, size, depth)?);
            }
            Datatype::Compound { size, members }
        }
        7 => {
            let kind = match bits & 0x0f {
                0 => ReferenceKind::Object,
                1 => ReferenceKind::Region,
                _ => ReferenceKind::Other,
            };
            Datatype::Reference { size, kind }
        }
        8 => {
            let n = (bits & 0xffff) as usize;
            let base = parse_at(c, depth + 1)?;
            if n > c.remaining() {
                return c.fail(format!("{n} enum members in {} bytes", c.remaining()));
            }
            let mut names = Vec::with_capacity(n);
            for _ in 0..n {
                names.push(name(c, version < 3)?);
            }
            let width = base.size() as usize;
            let order = base.order().unwrap_or(ByteOrder::Le);
            let signed = matches!(base, Datatype::Integer { signed: true, .. });
            let mut members = Vec::with_capacity(n);
            for name in names {
                let raw = c.bytes(width)?;
                let value = Scalar::integer(raw, order, signed).to_i64_bits().unwrap_or_default();
                members.push(EnumMember { name, value });
            }
            Datatype::Enum { base: Box::new(base), members }
        }
        9 => {
            let base = parse_at(c, depth + 1)?;
            if bits & 0x0f == 1 {
                Datatype::String { size: None, padding: padding((bits >> 4) & 0x0f), charset: charset((bits >> 8) & 0x0f) }
            } else {
                Datatype::Vlen { base: Box::new(base) }
            }
        }
        10 => {
            let rank = usize::from(c.u8()?);
            if version < 3 {
                c.skip(3)?;
            }
            let mut dims = Vec::with_capacity(rank);
            for _ in 0..rank {
                dims.push(u64::from(c.u32()?));
            }
            if version < 3 {
                c.skip(4 * rank)?; // permutation indices
            }
            let base = parse_at(c, depth + 1)?;
            Datatype::Array { base: Box::new(base), dims }
        }
        11 => {
            let base = parse_at(c, depth + 1)?;
            Datatype::Complex { size, order: base.order().unwrap_or(ByteOrder::Le) }
        }
        k => return unsupported(c.structure(), at, format!("datatype class {k}")),
    };
    Ok(dt)
}

fn compound_member(c: &mut Cursor<'_>, version: u8, size: u32, depth: usize) -> Parse<CompoundMember> {
    let name = name(c, version < 3)?;
    let offset = if version >= 3 {
        // The offset field is as wide as needed to hold the compound's size.
        let width = crate::hdf5::cursor::bytes_for(u64::from(size)).min(4);
        c.uint(width)?
    } else {
        u64::from(c.u32()?)
    };
    if version == 1 {
        // Old-style array members: dimensionality, reserved, permutation, reserved, 4 dim sizes.
        let rank = usize::from(c.u8()?);
        c.skip(3 + 4 + 4)?;
        let mut dims = Vec::new();
        for i in 0..4 {
            let d = u64::from(c.u32()?);
            if i < rank {
                dims.push(d);
            }
        }
        let base = parse_at(c, depth + 1)?;
        let dtype = if rank > 0 { Datatype::Array { base: Box::new(base), dims } } else { base };
        return Ok(CompoundMember { name, offset, dtype });
    }
    let dtype = parse_at(c, depth + 1)?;
    Ok(CompoundMember { name, offset, dtype })
}

/// A NUL-terminated name, padded to a multiple of 8 bytes in older versions.
fn name(c: &mut Cursor<'_>, padded: bool) -> Parse<String> {
    let start = c.pos();
    let s = c.cstr()?;
    if padded {
        let used = c.pos() - start;
        c.skip(used.next_multiple_of(8) - used)?;
    }
    Ok(s)
}

fn padding(v: u32) -> StringPadding {
    match v {
        0 => StringPadding::NullTerm,
        1 => StringPadding::NullPad,
        _ => StringPadding::SpacePad,
    }
}

fn charset(v: u32) -> StringCharset {
    if v == 1 {
        StringCharset::Utf8
    } else {
        StringCharset::Ascii
    }
}

/// Whether a float's bit fields are those of IEEE 754 half, single or double precision.
fn is_ieee(size: u32, offset: u16, precision: u16, layout: [u8; 4], bias: u32) -> bool {
    // layout = [exponent location, exponent size, mantissa location, mantissa size]
    let standard = match size {
        2 => ([10, 5, 0, 10], 15),
        4 => ([23, 8, 0, 23], 127),
        8 => ([52, 11, 0, 52], 1023),
        _ => return true, // other sizes (e.g. 16-byte long double) are passed through as they are
    };
    offset == 0 && u32::from(precision) == size * 8 && (layout, bias) == standard
}
