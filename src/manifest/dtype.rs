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
