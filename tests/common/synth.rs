//! A manifest built straight from an answer key: what a perfect reader would produce. It tests
//! the comparison itself (no mismatches on the truth, the right mismatch on a perturbed copy)
//! independently of the reader.

use serde::de::DeserializeOwned;
use vz::manifest::{
    ArrayMeta, ByteOrder, ChunkRef, CompoundMember, Datatype, ExternalFile, Fill, GranuleManifest, ReferenceKind,
    SourceKind, StringCharset, StringPadding,
};

use super::answer_key::{AnswerKey, KeyChunk, KeyDataset, KeyType};

/// The manifest a perfect reader would produce for `key` (attributes and groups left empty).
///
/// # Panics
/// On a key the model cannot express (then the comparison needs updating too).
pub fn manifest_from_key(key: &AnswerKey) -> GranuleManifest {
    GranuleManifest {
        url: key.file.clone(),
        size: key.size,
        source: SourceKind::Hdf5,
        groups: Vec::new(),
        arrays: key.datasets.iter().map(array_from_key).collect(),
        links: Vec::new(),
        problems: Vec::new(),
    }
}

fn enum_from<T: DeserializeOwned>(name: &str) -> T {
    serde_json::from_value(serde_json::Value::String(name.to_string())).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn array_from_key(kd: &KeyDataset) -> ArrayMeta {
    let dtype = dtype_from_key(&kd.dtype, &kd.numpy_dtype);
    let shape = kd.shape.clone().unwrap_or_default();
    let layout = if kd.external.is_some() { "external" } else { kd.layout.as_str() };
    let chunk_shape = kd.chunk_shape.clone().unwrap_or_else(|| shape.clone());
    let mut chunks: Vec<ChunkRef> = match (&kd.chunks, &kd.contiguous) {
        (Some(list), _) => list
            .iter()
            .map(|KeyChunk(at, offset, length, mask)| ChunkRef {
                coords: at.iter().zip(&chunk_shape).map(|(&e, &c)| e / c).collect(),
                offset: *offset,
                length: *length,
                filter_mask: *mask,
                href: None,
            })
            .collect(),
        (None, Some(c)) if kd.external.is_none() => match c.offset {
            Some(offset) => {
                vec![ChunkRef { coords: vec![0; shape.len()].into(), offset, length: c.size, filter_mask: 0, href: None }]
            }
            None => Vec::new(),
        },
        _ => Vec::new(),
    };
    chunks.sort_by(|a, b| a.coords.cmp(&b.coords));
    let value = kd.fill_value.as_ref().map(|_| encode_fill(kd, &dtype));
    ArrayMeta {
        path: kd.path.clone(),
        shape,
        maxshape: kd.maxshape.clone().unwrap_or_default(),
        layout: enum_from(layout),
        chunk_shape,
        chunk_index: kd.chunk_index.as_deref().map(enum_from),
        filters: kd
            .filters
            .iter()
            .map(|f| vz::manifest::Filter { id: f.id, name: f.name.clone(), flags: f.flags, params: f.cd_values.clone() })
            .collect(),
        fill: Fill {
            defined: enum_from(&kd.fill_value_defined),
            time: enum_from(&kd.fill_time),
            alloc_time: enum_from(&kd.alloc_time),
            value,
        },
        attributes: Vec::new(),
        dimensions: Vec::new(),
        chunks,
        inline: kd.compact.as_ref().map(|c| vec![0; c.size as usize]),
        external: kd
            .external
            .iter()
            .flatten()
            .map(|(name, offset, size)| ExternalFile { name: name.clone(), offset: *offset, size: *size })
            .collect(),
        unsupported: (kd.layout == "virtual").then(|| "virtual dataset: unsupported".to_string()),
        dtype,
    }
}

fn dtype_from_key(t: &KeyType, numpy: &str) -> Datatype {
    let size = t.size as u32;
    let order = match t.order.as_deref() {
        Some("BE") => ByteOrder::Be,
        _ => ByteOrder::Le,
    };
    let signed = numpy.contains('i');
    match t.class.as_str() {
        "integer" => Datatype::Integer { size, signed, order },
        "float" => Datatype::Float { size, order },
        "bitfield" => Datatype::Bitfield { size, order },
        "complex" => Datatype::Complex { size, order },
        "string" => Datatype::String {
            size: (t.vlen != Some(true)).then_some(size),
            padding: StringPadding::NullTerm,
            charset: StringCharset::Ascii,
        },
        "opaque" => Datatype::Opaque { size, tag: String::new() },
        "reference" => Datatype::Reference { size, kind: ReferenceKind::Object },
        "enum" => Datatype::Enum { base: Box::new(Datatype::Integer { size, signed, order }), members: Vec::new() },
        "vlen" => Datatype::Vlen { base: Box::new(Datatype::Integer { size: 1, signed: false, order }) },
        "array" => Datatype::Array {
            base: Box::new(Datatype::Integer { size: 1, signed: false, order }),
            dims: vec![t.size],
        },
        "compound" => Datatype::Compound {
            size,
            members: (0..t.members.unwrap_or(0))
                .map(|i| CompoundMember {
                    name: format!("m{i}"),
                    offset: 0,
                    dtype: Datatype::Integer { size: 1, signed: false, order },
                })
                .collect(),
        },
        other => panic!("type class {other} not in the model"),
    }
}

/// The key's fill value as raw bytes of `dtype`.
fn encode_fill(kd: &KeyDataset, dtype: &Datatype) -> Vec<u8> {
    let (size, order, bits): (u32, ByteOrder, u128) = match dtype {
        Datatype::Integer { size, order, .. } => (*size, *order, kd.fill_i128().expect("integer fill") as u128),
        Datatype::Float { size: 4, order } => (4, *order, u128::from((kd.fill_f64().expect("float fill") as f32).to_bits())),
        Datatype::Float { size: 8, order } => (8, *order, u128::from(kd.fill_f64().expect("float fill").to_bits())),
        Datatype::Enum { base, .. } => return encode_fill(kd, base),
        other => panic!("{}: fill value for {other:?} not synthesised", kd.path),
    };
    let be: Vec<u8> = (0..size).rev().map(|i| (bits >> (8 * i)) as u8).collect();
    match order {
        ByteOrder::Be => be,
        ByteOrder::Le => be.into_iter().rev().collect(),
    }
}
