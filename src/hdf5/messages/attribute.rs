//! Attribute message (IV.A.2.m), versions 1–3, and decoding attribute values to JSON.

use serde_json::{json, Map, Value};

use super::dataspace::{self, Dataspace};
use super::datatype;
use crate::hdf5::cursor::{Cursor, Geometry};
use crate::hdf5::error::{unsupported, Parse};
use crate::manifest::{Attribute, ByteOrder, Datatype, Scalar, StringPadding};

/// Resolves what attribute decoding cannot find in the message itself: committed (shared)
/// datatypes and global-heap objects (variable-length data). Both may need more bytes.
pub(crate) trait Resolver {
    /// The datatype of the committed datatype object at `address`.
    fn shared_datatype(&self, address: u64) -> Parse<Datatype>;
    /// Object `index` of the global heap collection at `collection`.
    fn heap_object(&self, collection: u64, index: u32) -> Parse<Vec<u8>>;
}

/// Decode an attribute message body.
pub(crate) fn parse(mut c: Cursor<'_>, resolver: &dyn Resolver) -> Parse<Attribute> {
    let at = c.file_pos();
    let geo = c.geo();
    let version = c.u8()?;
    let flags = c.u8()?;
    let name_len = usize::from(c.u16()?);
    let dt_len = usize::from(c.u16()?);
    let ds_len = usize::from(c.u16()?);
    let pad = |n: usize| if version == 1 { n.next_multiple_of(8) } else { n };
    match version {
        1 | 2 => {}
        3 => {
            c.skip(1)?; // name character set
        }
        v => return unsupported(c.structure(), at, format!("attribute message version {v}")),
    }
    let name_raw = c.bytes(pad(name_len))?;
    let name = String::from_utf8_lossy(&name_raw[..name_len.min(name_raw.len())]).trim_end_matches('\0').to_string();
    let dt_at = c.file_pos();
    let dt_raw = c.bytes(pad(dt_len))?;
    let dtype = if flags & 0x01 != 0 {
        let mut s = Cursor::new(dt_raw, dt_at, "shared datatype reference", geo);
        resolver.shared_datatype(shared_address(&mut s)?)?
    } else {
        datatype::parse(&mut Cursor::new(dt_raw, dt_at, "attribute datatype", geo))?
    };
    let ds_at = c.file_pos();
    let ds_raw = c.bytes(pad(ds_len))?;
    if flags & 0x02 != 0 {
        return unsupported("attribute", at, "shared dataspace");
    }
    let space = dataspace::parse(Cursor::new(ds_raw, ds_at, "attribute dataspace", geo))?;
    let count = space.len();
    let elem = dtype.size();
    let needed = count.checked_mul(elem).filter(|&n| n <= c.remaining() as u64);
    let Some(needed) = needed else {
        return c.fail(format!("attribute {name:?} declares {count} elements of {elem} bytes, {} available", c.remaining()));
    };
    let data = c.bytes(needed as usize)?;
    let value = decode_array(&dtype, &space, data, geo, resolver)?;
    Ok(Attribute { name, dtype, shape: space.shape.clone(), value })
}

/// Address in a shared-message reference (versions 1–3, type "committed in object header").
pub(crate) fn shared_address(c: &mut Cursor<'_>) -> Parse<u64> {
    let version = c.u8()?;
    let kind = c.u8()?;
    match version {
        1 => {
            c.skip(6)?;
        }
        2 => {}
        3 if kind == 2 => {}
        3 => return c.fail("shared message in the shared-message heap (SOHM) is not supported"),
        v => return c.fail(format!("shared message version {v}")),
    }
    c.required_address()
}

/// Decode `data` (elements of `dtype` in row-major order) into nested JSON lists of `space`'s shape.
fn decode_array(dtype: &Datatype, space: &Dataspace, data: &[u8], geo: Geometry, r: &dyn Resolver) -> Parse<Value> {
    if space.null {
        return Ok(Value::Null);
    }
    let elem = dtype.size() as usize;
    let mut values = Vec::with_capacity(space.len() as usize);
    for i in 0..space.len() as usize {
        values.push(decode_element(dtype, &data[i * elem..(i + 1) * elem], geo, r)?);
    }
    if space.shape.is_empty() {
        return Ok(values.pop().unwrap_or(Value::Null));
    }
    Ok(nest(&space.shape, &mut values.into_iter()))
}

fn nest(shape: &[u64], it: &mut impl Iterator<Item = Value>) -> Value {
    match shape {
        [] => it.next().unwrap_or(Value::Null),
        [n] => Value::Array(it.take(*n as usize).collect()),
        [n, rest @ ..] => Value::Array((0..*n).map(|_| nest(rest, it)).collect()),
    }
}

fn float_value(raw: &[u8], order: ByteOrder) -> Value {
    let be = order == ByteOrder::Be;
    let v = match raw.len() {
        4 => {
            let b = [raw[0], raw[1], raw[2], raw[3]];
            f64::from(if be { f32::from_be_bytes(b) } else { f32::from_le_bytes(b) })
        }
        8 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(raw);
            if be {
                f64::from_be_bytes(b)
            } else {
                f64::from_le_bytes(b)
            }
        }
        2 => {
            let bits = if be { u16::from_be_bytes([raw[0], raw[1]]) } else { u16::from_le_bytes([raw[0], raw[1]]) };
            half_to_f64(bits)
        }
        _ => return Value::Null,
    };
    if v.is_finite() {
        json!(v)
    } else {
        Value::String(v.to_string())
    }
}

fn half_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let frac = f64::from(bits & 0x3ff);
    match exp {
        0 => sign * frac * 2f64.powi(-24),
        31 if frac == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        e => sign * (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

fn text(raw: &[u8], padding: StringPadding) -> Value {
    let s = match padding {
        StringPadding::NullTerm => raw.split(|&b| b == 0).next().unwrap_or(&[]),
        StringPadding::NullPad => {
            let end = raw.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
            &raw[..end]
        }
        StringPadding::SpacePad => {
            let end = raw.iter().rposition(|&b| b != b' ' && b != 0).map_or(0, |p| p + 1);
            &raw[..end]
        }
    };
    Value::String(String::from_utf8_lossy(s).into_owned())
}

fn decode_element(dtype: &Datatype, raw: &[u8], geo: Geometry, r: &dyn Resolver) -> Parse<Value> {
    Ok(match dtype {
        Datatype::Integer { signed, order, .. } => match Scalar::integer(raw, *order, *signed) {
            Scalar::Int(v) => json!(v),
            Scalar::UInt(v) => json!(v),
            other => json!(other.to_string()),
        },
        Datatype::Float { order, .. } => float_value(raw, *order),
        Datatype::String { size: Some(_), padding, .. } => text(raw, *padding),
        Datatype::String { size: None, padding, .. } => match vlen(raw, geo, r)? {
            Some((bytes, len)) => text(&bytes[..len.min(bytes.len())], *padding),
            None => Value::Null,
        },
        Datatype::Enum { base, members } => {
            let v = decode_element(base, raw, geo, r)?;
            match members.iter().find(|m| Some(m.value) == v.as_i64()) {
                Some(m) => Value::String(m.name.clone()),
                None => v,
            }
        }
        Datatype::Compound { members, .. } => {
            let mut obj = Map::new();
            for m in members {
                let start = m.offset as usize;
                let end = start + m.dtype.size() as usize;
                let v = match raw.get(start..end) {
                    Some(b) => decode_element(&m.dtype, b, geo, r)?,
                    None => Value::Null,
                };
                obj.insert(m.name.clone(), v);
            }
            Value::Object(obj)
        }
        Datatype::Array { base, dims } => {
            let space = Dataspace { shape: dims.clone(), maxshape: vec![], null: false };
            decode_array(base, &space, raw, geo, r)?
        }
        Datatype::Vlen { base } => match vlen(raw, geo, r)? {
            Some((bytes, len)) => {
                let elem = base.size() as usize;
                let n = if elem == 0 { 0 } else { len.min(bytes.len() / elem) };
                let items: Parse<Vec<Value>> =
                    (0..n).map(|i| decode_element(base, &bytes[i * elem..(i + 1) * elem], geo, r)).collect();
                Value::Array(items?)
            }
            None => Value::Null,
        },
        Datatype::Reference { kind: crate::manifest::ReferenceKind::Object, size: 8 } => {
            match Scalar::integer(raw, ByteOrder::Le, false) {
                Scalar::UInt(a) => json!(a.saturating_add(geo.base_address)),
                _ => Value::Null,
            }
        }
        _ => Value::Null,
    })
}

/// A variable-length element: sequence length, then a global heap ID (collection address, index).
fn vlen(raw: &[u8], geo: Geometry, r: &dyn Resolver) -> Parse<Option<(Vec<u8>, usize)>> {
    let mut c = Cursor::new(raw, 0, "variable-length element", geo);
    let len = c.u32()? as usize;
    let collection = c.address()?;
    let index = c.u32()?;
    match collection {
        Some(addr) if len > 0 && addr != geo.base_address => Ok(Some((r.heap_object(addr, index)?, len))),
        _ => Ok(Some((Vec::new(), 0))),
    }
}
