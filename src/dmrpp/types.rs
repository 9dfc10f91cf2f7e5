//! DAP4 types (DAP4 spec, vol. 1, section 3: atomic types, Enumeration, Structure) mapped to the
//! manifest's HDF5-style [`Datatype`], and fill values / attribute values decoded from their text.

use crate::manifest::{ByteOrder, CompoundMember, Datatype, EnumMember, StringCharset, StringPadding};

/// A DAP4 atomic type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Atomic {
    /// Fixed-point integer of `size` bytes.
    Int { size: u32, signed: bool },
    /// IEEE float of `size` bytes.
    Float { size: u32 },
    /// `String` or `URL`: variable length unless a `dmrpp:FixedLengthStringArray` says otherwise.
    Str,
}

impl Atomic {
    /// The atomic type named by a DAP4 element or `type=` attribute, if it is one.
    pub(crate) fn from_name(name: &str) -> Option<Atomic> {
        use Atomic::{Float, Int, Str};
        Some(match name {
            // Byte is unsigned in DAP4; Char is an 8-bit character, stored as one unsigned byte.
            "Byte" | "UInt8" | "Char" => Int { size: 1, signed: false },
            "Int8" => Int { size: 1, signed: true },
            "Int16" => Int { size: 2, signed: true },
            "UInt16" => Int { size: 2, signed: false },
            "Int32" => Int { size: 4, signed: true },
            "UInt32" => Int { size: 4, signed: false },
            "Int64" => Int { size: 8, signed: true },
            "UInt64" => Int { size: 8, signed: false },
            "Float32" => Float { size: 4 },
            "Float64" => Float { size: 8 },
            "String" | "URL" => Str,
            _ => return None,
        })
    }

    /// The manifest type. `fixed` is the `dmrpp:FixedLengthStringArray` length and padding, if any.
    pub(crate) fn datatype(self, order: ByteOrder, fixed: Option<(u32, StringPadding)>) -> Datatype {
        match self {
            Atomic::Int { size, signed } => Datatype::Integer { size, signed, order },
            Atomic::Float { size } => Datatype::Float { size, order },
            Atomic::Str => match fixed {
                Some((n, padding)) => Datatype::String { size: Some(n), padding, charset: StringCharset::Ascii },
                None => Datatype::String { size: None, padding: StringPadding::NullTerm, charset: StringCharset::Utf8 },
            },
        }
    }
}

/// `pad=` of `dmrpp:FixedLengthStringArray`.
pub(crate) fn padding(pad: Option<&str>) -> StringPadding {
    match pad {
        Some("null_pad") => StringPadding::NullPad,
        Some("space_pad") => StringPadding::SpacePad,
        _ => StringPadding::NullTerm,
    }
}

/// Alignment of a type in a C struct, used for compound offsets when `structOffset` is absent.
fn alignment(dtype: &Datatype) -> u64 {
    match dtype {
        Datatype::Integer { size, .. } | Datatype::Float { size, .. } => u64::from(*size).max(1),
        Datatype::Enum { base, .. } | Datatype::Array { base, .. } => alignment(base),
        Datatype::Compound { members, .. } => members.iter().map(|m| alignment(&m.dtype)).max().unwrap_or(1),
        Datatype::String { size: None, .. } => 8,
        _ => 1,
    }
}

/// Build a compound type from its members. `struct_offset` is `dmrpp:chunks structOffset`: the
/// offsets of members 2..n followed by the total size. Without it, members are laid out with C
/// alignment (what libhdf5 users get from `H5Tinsert` with `HOFFSET`).
pub(crate) fn compound(members: Vec<(String, Datatype)>, struct_offset: Option<&[u64]>) -> Result<Datatype, String> {
    let n = members.len();
    let offsets: Vec<u64>;
    let size: u64;
    match struct_offset {
        Some(so) if so.len() == n && n > 0 => {
            offsets = std::iter::once(0).chain(so[..n - 1].iter().copied()).collect();
            size = so[n - 1];
            for (i, (name, dt)) in members.iter().enumerate() {
                let end = if i + 1 < n { offsets[i + 1] } else { size };
                if offsets[i].checked_add(dt.size()).is_none_or(|e| e > end) {
                    return Err(format!("structOffset places member {name} outside its slot"));
                }
            }
        }
        Some(so) => return Err(format!("structOffset lists {} values for {n} members", so.len())),
        None => {
            let mut off = 0u64;
            let mut v = Vec::with_capacity(n);
            let mut max_align = 1;
            for (_, dt) in &members {
                let a = alignment(dt);
                max_align = max_align.max(a);
                off = off.div_ceil(a).saturating_mul(a);
                v.push(off);
                off = off.saturating_add(dt.size());
            }
            offsets = v;
            size = off.div_ceil(max_align).saturating_mul(max_align);
        }
    }
    let size = u32::try_from(size).map_err(|_| format!("compound size {size} too large"))?;
    let members = members
        .into_iter()
        .zip(offsets)
        .map(|((name, dtype), offset)| CompoundMember { name, offset, dtype })
        .collect();
    Ok(Datatype::Compound { size, members })
}

/// Parse an integer written in decimal (or as an integral float, `-9999.0`).
fn parse_int(text: &str) -> Option<i128> {
    let t = text.trim();
    if let Ok(v) = t.parse::<i128>() {
        return Some(v);
    }
    let f = t.parse::<f64>().ok()?;
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 1.8e19).then_some(f as i128)
}

/// Parse a float, accepting the spellings C++ streams write for NaN and infinities.
fn parse_float(text: &str) -> Option<f64> {
    let t = text.trim();
    // Plain numbers (they end in a digit or a point) need no spelling check.
    if t.ends_with(|c: char| c.is_ascii_digit() || c == '.') {
        if let Ok(v) = t.parse::<f64>() {
            return Some(v);
        }
    }
    match t.to_ascii_lowercase().as_str() {
        "nan" | "+nan" | "-nan" | "nanf" => Some(f64::NAN),
        "inf" | "+inf" | "infinity" | "inff" => Some(f64::INFINITY),
        "-inf" | "-infinity" | "-inff" => Some(f64::NEG_INFINITY),
        _ => t.parse::<f64>().ok(),
    }
}

fn put(out: &mut Vec<u8>, le: &[u8], order: ByteOrder) {
    if order == ByteOrder::Be {
        out.extend(le.iter().rev());
    } else {
        out.extend_from_slice(le);
    }
}

/// Encode the values of `tokens` as elements of `dtype` (numbers only; compound and array types
/// take one token per scalar, in member order).
fn encode_tokens<'a>(
    dtype: &Datatype,
    tokens: &mut impl Iterator<Item = &'a str>,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    match dtype {
        Datatype::Integer { size, signed, order } => {
            let t = tokens.next().ok_or("too few values")?;
            let v = parse_int(t).ok_or_else(|| format!("`{t}` is not an integer"))?;
            let bits = size * 8;
            let (lo, hi) =
                if *signed { (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1) } else { (0, (1i128 << bits) - 1) };
            if v < lo || v > hi {
                return Err(format!("{v} does not fit in {size} bytes"));
            }
            put(out, &v.to_le_bytes()[..*size as usize], *order);
        }
        Datatype::Float { size, order } => {
            let t = tokens.next().ok_or("too few values")?;
            let v = parse_float(t).ok_or_else(|| format!("`{t}` is not a number"))?;
            if v.is_finite() && (*size == 4 && (v as f32).is_infinite()) {
                return Err(format!("{t} does not fit in a 4-byte float"));
            }
            match size {
                4 => put(out, &(v as f32).to_le_bytes(), *order),
                8 => put(out, &v.to_le_bytes(), *order),
                _ => return Err(format!("float of {size} bytes")),
            }
        }
        Datatype::Enum { base, .. } => encode_tokens(base, tokens, out)?,
        Datatype::Array { base, dims } => {
            let n = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d)).unwrap_or(u64::MAX);
            if n > 1 << 20 {
                return Err("array member too large for a fill value".into());
            }
            for _ in 0..n {
                encode_tokens(base, tokens, out)?;
            }
        }
        Datatype::Compound { size, members } => {
            let start = out.len();
            out.resize(start + *size as usize, 0);
            for m in members {
                let mut one = Vec::new();
                encode_tokens(&m.dtype, tokens, &mut one)?;
                let at = start + m.offset as usize;
                let slot = out.get_mut(at..at + one.len()).ok_or("member outside the compound")?;
                slot.copy_from_slice(&one);
            }
        }
        other => return Err(format!("cannot encode a fill value of class {}", other.class_name())),
    }
    Ok(())
}

/// The raw bytes of a `fillValue` in the array's type and byte order. `Ok(None)`: no usable value
/// (an `unsupported-*` marker, or a variable-length string).
pub(crate) fn encode_fill(dtype: &Datatype, text: &str) -> Result<Option<Vec<u8>>, String> {
    if text.trim_start().starts_with("unsupported") {
        return Ok(None);
    }
    if dtype.size() > 1 << 20 {
        return Err(format!("a {}-byte element is too large for a fill value", dtype.size()));
    }
    match dtype {
        Datatype::String { size: None, .. } => Ok(None),
        // build_dmrpp writes `fillValue=""` for strings whose fill is the library default.
        Datatype::String { size: Some(_), .. } if text.is_empty() => Ok(None),
        Datatype::String { size: Some(n), padding, .. } => {
            let n = *n as usize;
            let b = text.as_bytes();
            if b.len() > n {
                return Err(format!("fill string longer than the {n}-byte string type"));
            }
            let pad = if *padding == StringPadding::SpacePad && !b.is_empty() { b' ' } else { 0 };
            let mut v = b.to_vec();
            v.resize(n, pad);
            Ok(Some(v))
        }
        // build_dmrpp writes a lone `0` for compounds whose fill is the library default (zeros).
        Datatype::Compound { members, .. } if members.len() > 1 && text.trim() == "0" => Ok(None),
        _ => {
            let mut tokens = text.split_ascii_whitespace();
            let mut out = Vec::new();
            encode_tokens(dtype, &mut tokens, &mut out)?;
            if tokens.next().is_some() {
                return Err("more values than the type has fields".into());
            }
            Ok(Some(out))
        }
    }
}

/// The JSON value of one DAP attribute `<Value>` of atomic type `atomic`. Numbers that do not
/// parse, and non-finite floats (JSON has none), are kept as their text.
pub(crate) fn attr_json(atomic: Option<Atomic>, text: String) -> serde_json::Value {
    use serde_json::Value;
    match atomic {
        Some(Atomic::Int { signed: true, .. }) => text.trim().parse::<i64>().map_or(Value::String(text), Value::from),
        Some(Atomic::Int { signed: false, .. }) => text.trim().parse::<u64>().map_or(Value::String(text), Value::from),
        Some(Atomic::Float { .. }) => match parse_float(&text).and_then(serde_json::Number::from_f64) {
            Some(n) => Value::Number(n),
            None => text.trim().into(),
        },
        _ => Value::String(text),
    }
}

/// An enumeration declared by `<Enumeration name basetype>`.
#[derive(Clone, Debug)]
pub(crate) struct Enumeration {
    /// Integer base type.
    pub base: Atomic,
    /// Named values.
    pub members: Vec<EnumMember>,
}

impl Enumeration {
    /// The manifest type, in byte order `order`.
    pub(crate) fn datatype(&self, order: ByteOrder) -> Datatype {
        Datatype::Enum { base: Box::new(self.base.datatype(order, None)), members: self.members.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_values_encode_in_array_order() {
        let i64be = Datatype::Integer { size: 8, signed: true, order: ByteOrder::Be };
        assert_eq!(encode_fill(&i64be, "-9999").unwrap().unwrap(), (-9999i64).to_be_bytes());
        let f32le = Datatype::Float { size: 4, order: ByteOrder::Le };
        assert_eq!(encode_fill(&f32le, "9.96921e+36").unwrap().unwrap(), 9.96921e36f32.to_le_bytes());
        let u8t = Datatype::Integer { size: 1, signed: false, order: ByteOrder::Le };
        assert!(encode_fill(&u8t, "256").is_err());
        assert_eq!(encode_fill(&u8t, "unsupported-byte").unwrap(), None);
    }

    #[test]
    fn compound_layout_from_struct_offset_and_alignment() {
        let f8 = Datatype::Float { size: 8, order: ByteOrder::Le };
        let i2x3 = Datatype::Array {
            base: Box::new(Datatype::Integer { size: 2, signed: true, order: ByteOrder::Le }),
            dims: vec![3],
        };
        let f4x2 = Datatype::Array { base: Box::new(Datatype::Float { size: 4, order: ByteOrder::Le }), dims: vec![2] };
        let members = vec![("a".to_string(), f8), ("b".to_string(), i2x3), ("c".to_string(), f4x2)];
        let Datatype::Compound { size, members: m } = compound(members.clone(), None).unwrap() else { panic!() };
        assert_eq!((size, m[1].offset, m[2].offset), (24, 8, 16));
        let Datatype::Compound { size, members: m } = compound(members, Some(&[8, 14, 22])).unwrap() else { panic!() };
        assert_eq!((size, m[1].offset, m[2].offset), (22, 8, 14));
    }
}
