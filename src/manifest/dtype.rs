//! Element types, as HDF5 describes them (HDF5 File Format Specification, IV.A.2.d).

use serde::{Deserialize, Serialize};

/// Byte order of a numeric type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ByteOrder {
    /// Little-endian.
    Le,
    /// Big-endian.
    Be,
}

/// How a fixed-length string is terminated or padded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StringPadding {
    /// NUL-terminated (C style).
    NullTerm,
    /// Padded with NULs.
    NullPad,
    /// Padded with spaces (Fortran style).
    SpacePad,
}

/// Character set of a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StringCharset {
    /// 7-bit ASCII.
    Ascii,
    /// UTF-8.
    Utf8,
}

/// Kind of an HDF5 reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceKind {
    /// Object reference (an address).
    Object,
    /// Dataset region reference.
    Region,
    /// HDF5 1.12+ reference types (object2, region2, attribute).
    Other,
}

/// One member of a compound type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompoundMember {
    /// Member name.
    pub name: String,
    /// Byte offset of the member inside one element.
    pub offset: u64,
    /// Member type.
    pub dtype: Datatype,
}

/// One named value of an enumeration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnumMember {
    /// Symbolic name.
    pub name: String,
    /// Value, as an integer of the base type.
    pub value: i64,
}

/// One numeric element decoded exactly from its stored bytes (no detour through `f64`, so
/// 64-bit integers keep every bit).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A single-precision float.
    F32(f32),
    /// A double-precision float.
    F64(f64),
}

impl Scalar {
    /// The integer stored in `raw` (its first 8 bytes at most) in `order`, sign-extended when `signed`.
    pub fn integer(raw: &[u8], order: ByteOrder, signed: bool) -> Scalar {
        let n = raw.len().min(8);
        let mut v: u64 = 0;
        for i in 0..n {
            let byte = if order == ByteOrder::Be { raw[i] } else { raw[n - 1 - i] };
            v = (v << 8) | u64::from(byte);
        }
        match signed {
            true if n > 0 && n < 8 && (v >> (8 * n - 1)) & 1 == 1 => Scalar::Int((v | (u64::MAX << (8 * n))) as i64),
            true => Scalar::Int(v as i64),
            false => Scalar::UInt(v),
        }
    }

    /// The value as `f64` (integers beyond 2^53 round).
    pub fn as_f64(self) -> f64 {
        match self {
            Scalar::Int(v) => v as f64,
            Scalar::UInt(v) => v as f64,
            Scalar::F32(v) => f64::from(v),
            Scalar::F64(v) => v,
        }
    }

    /// An integer's bits as `i64` (unsigned values above `i64::MAX` wrap); `None` for floats.
    pub fn to_i64_bits(self) -> Option<i64> {
        match self {
            Scalar::Int(v) => Some(v),
            Scalar::UInt(v) => Some(v as i64),
            Scalar::F32(_) | Scalar::F64(_) => None,
        }
    }
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Int(v) => write!(f, "{v}"),
            Scalar::UInt(v) => write!(f, "{v}"),
            Scalar::F32(v) => write!(f, "{v}"),
            Scalar::F64(v) => write!(f, "{v}"),
        }
    }
}

/// An element type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "class", rename_all = "snake_case")]
pub enum Datatype {
    /// Fixed-point integer.
    Integer { size: u32, signed: bool, order: ByteOrder },
    /// IEEE floating point (f16, f32, f64) or another layout given by its bit fields.
    Float { size: u32, order: ByteOrder },
    /// Time (rarely used, HDF5 class 2).
    Time { size: u32, order: ByteOrder },
    /// Fixed-length (`size` bytes) or variable-length (`size` = None) string.
    String { size: Option<u32>, padding: StringPadding, charset: StringCharset },
    /// Bit field.
    Bitfield { size: u32, order: ByteOrder },
    /// Opaque bytes with an ASCII tag.
    Opaque { size: u32, tag: String },
    /// Compound (record) type.
    Compound { size: u32, members: Vec<CompoundMember> },
    /// Reference to an object or region.
    Reference { size: u32, kind: ReferenceKind },
    /// Enumeration over an integer base type.
    Enum { base: Box<Datatype>, members: Vec<EnumMember> },
    /// Variable-length sequence of `base`.
    Vlen { base: Box<Datatype> },
    /// Fixed-size array of `base`.
    Array { base: Box<Datatype>, dims: Vec<u64> },
    /// Complex number made of two floats (HDF5 2.0 class 11).
    Complex { size: u32, order: ByteOrder },
}

impl Datatype {
    /// Size of one element in bytes, as stored in the file (vlen data: the 16-byte heap reference).
    pub fn size(&self) -> u64 {
        match self {
            Datatype::Integer { size, .. }
            | Datatype::Float { size, .. }
            | Datatype::Time { size, .. }
            | Datatype::Bitfield { size, .. }
            | Datatype::Opaque { size, .. }
            | Datatype::Compound { size, .. }
            | Datatype::Reference { size, .. }
            | Datatype::Complex { size, .. } => u64::from(*size),
            Datatype::String { size: Some(n), .. } => u64::from(*n),
            Datatype::String { size: None, .. } | Datatype::Vlen { .. } => 16,
            Datatype::Enum { base, .. } => base.size(),
            Datatype::Array { base, dims } => dims.iter().fold(base.size(), |acc, &d| acc.saturating_mul(d)),
        }
    }

    /// Byte order, for types that have one.
    pub fn order(&self) -> Option<ByteOrder> {
        match self {
            Datatype::Integer { order, .. }
            | Datatype::Float { order, .. }
            | Datatype::Time { order, .. }
            | Datatype::Bitfield { order, .. }
            | Datatype::Complex { order, .. } => Some(*order),
            Datatype::Enum { base, .. } => base.order(),
            _ => None,
        }
    }

    /// The HDF5 class name (`integer`, `float`, `string`, ...), as h5py and libhdf5 tools name it.
    pub fn class_name(&self) -> &'static str {
        match self {
            Datatype::Integer { .. } => "integer",
            Datatype::Float { .. } => "float",
            Datatype::Time { .. } => "time",
            Datatype::String { .. } => "string",
            Datatype::Bitfield { .. } => "bitfield",
            Datatype::Opaque { .. } => "opaque",
            Datatype::Compound { .. } => "compound",
            Datatype::Reference { .. } => "reference",
            Datatype::Enum { .. } => "enum",
            Datatype::Vlen { .. } => "vlen",
            Datatype::Array { .. } => "array",
            Datatype::Complex { .. } => "complex",
        }
    }

    /// The value of one element stored as `raw`, for integers (up to 8 bytes), enums (their base
    /// type) and 4- or 8-byte IEEE floats; `None` for other types or a wrong byte count.
    pub fn scalar(&self, raw: &[u8]) -> Option<Scalar> {
        match self {
            Datatype::Integer { size, signed, order } if raw.len() == *size as usize && raw.len() <= 8 => {
                Some(Scalar::integer(raw, *order, *signed))
            }
            Datatype::Float { size: 4, order } => {
                let b: [u8; 4] = raw.try_into().ok()?;
                Some(Scalar::F32(if *order == ByteOrder::Be { f32::from_be_bytes(b) } else { f32::from_le_bytes(b) }))
            }
            Datatype::Float { size: 8, order } => {
                let b: [u8; 8] = raw.try_into().ok()?;
                Some(Scalar::F64(if *order == ByteOrder::Be { f64::from_be_bytes(b) } else { f64::from_le_bytes(b) }))
            }
            Datatype::Enum { base, .. } => base.scalar(raw),
            _ => None,
        }
    }

    /// NumPy type string (`<f4`, `>i2`, `|S7`, `|u1`) for simple types; `None` for the rest.
    pub fn numpy(&self) -> Option<String> {
        let ord = |o: &ByteOrder, size: u32| {
            if size == 1 {
                '|'
            } else if *o == ByteOrder::Le {
                '<'
            } else {
                '>'
            }
        };
        Some(match self {
            Datatype::Integer { size, signed, order } => {
                format!("{}{}{}", ord(order, *size), if *signed { 'i' } else { 'u' }, size)
            }
            Datatype::Float { size, order } => format!("{}f{}", ord(order, *size), size),
            Datatype::Complex { size, order } => format!("{}c{}", ord(order, *size), size),
            Datatype::String { size: Some(n), .. } => format!("|S{n}"),
            Datatype::Enum { base, .. } => return base.numpy(),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_decode_exactly_in_both_byte_orders() {
        let i16be = Datatype::Integer { size: 2, signed: true, order: ByteOrder::Be };
        assert_eq!(i16be.scalar(&[0xff, 0xfe]), Some(Scalar::Int(-2)));
        let u64le = Datatype::Integer { size: 8, signed: false, order: ByteOrder::Le };
        assert_eq!(u64le.scalar(&[0xff; 8]), Some(Scalar::UInt(u64::MAX)));
        let f32le = Datatype::Float { size: 4, order: ByteOrder::Le };
        assert_eq!(f32le.scalar(&3.4028235e38f32.to_le_bytes()), Some(Scalar::F32(3.4028235e38)));
        assert_eq!(f32le.scalar(&[0, 0]), None);
        assert_eq!(Scalar::integer(&[0x80], ByteOrder::Le, true).to_i64_bits(), Some(-128));
        assert_eq!(Scalar::F64(1.5).to_string(), "1.5");
    }
}
