//! Zarr v2 array metadata (`.zarray`) for one HDF5 dataset, as kerchunk and fsspec's
//! ReferenceFileSystem expect it (Zarr storage specification v2).
//!
//! `compressor` is null and the whole HDF5 pipeline goes into `filters` in write order, so the
//! order is exact: numcodecs decodes `filters` in reverse after the compressor. The expressibility
//! rules, the numcodecs ids and the fill decoding are shared with the Zarr v3 metadata
//! (`zarr::metadata`).

use base64::Engine as _;
use serde_json::{json, Value};

use crate::manifest::{ArrayMeta, ByteOrder, Datatype, Layout, Scalar};
use crate::zarr;

/// NumPy type string with byte order (`<f8`, `>i4`, `|i1`, `|S10`, `|V4`) for element types a
/// Zarr v2 reader can decode from the stored bytes; `None` for the rest.
pub(crate) fn typestr(dtype: &Datatype) -> Option<String> {
    let order = |o: ByteOrder, size: u32| match (size, o) {
        (1, _) => '|',
        (_, ByteOrder::Le) => '<',
        (_, ByteOrder::Be) => '>',
    };
    match dtype {
        Datatype::Integer { size: 1 | 2 | 4 | 8, .. }
        | Datatype::Float { size: 2 | 4 | 8, .. }
        | Datatype::Complex { size: 8 | 16, .. } => dtype.numpy(),
        Datatype::String { size: Some(n), .. } if *n > 0 => dtype.numpy(),
        Datatype::Enum { base, .. } => typestr(base),
        // h5py reads bitfields as unsigned integers of the same size.
        Datatype::Bitfield { size: n @ (1 | 2 | 4 | 8), order: o } => Some(format!("{}u{n}", order(*o, *n))),
        Datatype::Opaque { size: n, .. } if *n > 0 => Some(format!("|V{n}")),
        _ => None,
    }
}

/// Zarr v2 `dtype`: a typestr, or for a compound type the NumPy structured-type list
/// (`[["x", "<f4"], ["flag", "|i1"]]`) when its members are simple types packed back to back in
/// offset order (the list form has no offsets, so padding cannot be described). zarr-python 3.1
/// reads no nested or sub-array fields, and one `.zarray` it cannot parse spoils the consolidated
/// metadata of the whole reference set, so those are left out.
fn v2_dtype(dtype: &Datatype) -> Result<Value, String> {
    if let Some(t) = typestr(dtype) {
        return Ok(json!(t));
    }
    match dtype {
        Datatype::Compound { size, members } => {
            let mut sorted: Vec<_> = members.iter().collect();
            sorted.sort_by_key(|m| m.offset);
            let mut fields = Vec::with_capacity(sorted.len());
            let mut next = 0u64;
            for m in sorted {
                if m.offset != next {
                    return Err(format!("compound member {} at byte {} leaves a gap or overlap (expected {next})", m.name, m.offset));
                }
                let t = typestr(&m.dtype).ok_or_else(|| {
                    format!("compound member {}: no Zarr v2 field type for HDF5 {} elements", m.name, m.dtype.class_name())
                })?;
                fields.push(json!([m.name, t]));
                next += m.dtype.size();
            }
            if next != u64::from(*size) || fields.is_empty() {
                return Err(format!("compound members cover {next} of its {size} bytes"));
            }
            Ok(Value::Array(fields))
        }
        Datatype::String { size: None, .. } => Err("variable-length strings have no Zarr v2 fixed-size type".to_string()),
        d => Err(format!("no Zarr v2 data type for HDF5 {} elements", d.class_name())),
    }
}

/// Zarr v2 `fill_value`: what unallocated chunks read as. `null` when they read as zeros (the
/// HDF5 default fill, an all-zero user fill, or fill time "never"): zarr-python then reads
/// zeros, and xarray, which takes a v2 fill value as `_FillValue`, does not mask every zero of
/// arrays that never declared a fill value.
fn fill_value(a: &ArrayMeta) -> Result<Value, String> {
    let Some(raw) = zarr::fill_bytes(a).filter(|r| r.iter().any(|&b| b != 0)) else {
        return Ok(Value::Null);
    };
    let bad = || format!("fill value {raw:02x?} does not fit the {} type", a.dtype.class_name());
    if raw.len() as u64 != a.dtype.size() {
        return Err(bad());
    }
    Ok(match &a.dtype {
        Datatype::String { .. } | Datatype::Opaque { .. } | Datatype::Compound { .. } => {
            json!(base64::engine::general_purpose::STANDARD.encode(raw))
        }
        Datatype::Bitfield { order, .. } => match Scalar::integer(raw, *order, false) {
            Scalar::UInt(v) => json!(v),
            _ => return Err(bad()),
        },
        Datatype::Float { size: 2, order } => zarr::float_json(f16_to_f64([raw[0], raw[1]], *order)),
        Datatype::Complex { size, order } => {
            let half = Datatype::Float { size: size / 2, order: *order };
            let (re, im) = raw.split_at(raw.len() / 2);
            json!([zarr::scalar_json(&half, re).ok_or_else(bad)?, zarr::scalar_json(&half, im).ok_or_else(bad)?])
        }
        other => zarr::scalar_json(other, raw).ok_or_else(bad)?,
    })
}

/// IEEE binary16 → f64 (exact: every half value is a double).
fn f16_to_f64(b: [u8; 2], order: ByteOrder) -> f64 {
    let bits = if order == ByteOrder::Be { u16::from_be_bytes(b) } else { u16::from_le_bytes(b) };
    let sign = if bits >> 15 == 1 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let frac = f64::from(bits & 0x3ff);
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

/// The `.zarray` of one array, or why Zarr v2 cannot express it.
///
/// Chunks that skipped filters (a non-zero filter mask) can be expressed only when every chunk
/// skipped the same ones: those filters are then left out of the array's pipeline.
pub(crate) fn zarray(a: &ArrayMeta) -> Result<Value, String> {
    zarr::check_layout(a).map_err(|e| strip_path(&e.to_string(), &a.path))?;
    let dtype = v2_dtype(&a.dtype)?;
    let mask = common_filter_mask(a)?;
    let kept = a.filters.iter().enumerate().filter(|(i, _)| *i >= 32 || mask & (1 << i) == 0).map(|(_, f)| f);
    let filters: Vec<Value> = zarr::numcodecs_filters(a, kept)
        .map_err(|e| strip_path(&e.to_string(), &a.path))?
        .into_iter()
        .map(|(id, config)| {
            let mut f = config;
            f.insert("id".into(), json!(id));
            Value::Object(f)
        })
        .collect();
    if a.layout == Layout::Compact {
        if let Some(bytes) = &a.inline {
            let expected = a.shape.iter().try_fold(a.dtype.size(), |n, &d| n.checked_mul(d));
            if expected != Some(bytes.len() as u64) {
                return Err(format!("inline data holds {} bytes, the shape needs {expected:?}", bytes.len()));
            }
        }
    }
    // Zarr v2 chunk sizes are positive; HDF5 gives a zero-length dimension a zero-length block.
    let chunks: Vec<u64> = a.chunk_shape.iter().map(|&c| c.max(1)).collect();
    Ok(json!({
        "zarr_format": 2,
        "shape": a.shape,
        "chunks": chunks,
        "dtype": dtype,
        "fill_value": fill_value(a)?,
        "order": "C",
        "compressor": null,
        "filters": if filters.is_empty() { Value::Null } else { Value::Array(filters) },
        "dimension_separator": ".",
    }))
}

/// The filter mask every chunk shares, or why the chunks disagree.
fn common_filter_mask(a: &ArrayMeta) -> Result<u32, String> {
    let Some(first) = a.chunks.first() else { return Ok(0) };
    match a.chunks.iter().find(|c| c.filter_mask != first.filter_mask) {
        None => Ok(first.filter_mask),
        Some(other) => {
            let n = a.chunks.iter().filter(|c| c.filter_mask != 0).count();
            Err(format!(
                "{n} of {} chunks skip filters (filter mask {:#x} at chunk {:?}, {:#x} at {:?}); \
                 Zarr applies one pipeline to every chunk",
                a.chunks.len(),
                first.filter_mask,
                first.coords,
                other.filter_mask,
                other.coords
            ))
        }
    }
}

/// `zarr` errors start with the array path; the export reports path and reason separately.
fn strip_path(message: &str, path: &str) -> String {
    message.strip_prefix(path).and_then(|m| m.strip_prefix(": ")).unwrap_or(message).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{ChunkRef, Fill, FillDefined, Filter};

    fn array(dtype: Datatype) -> ArrayMeta {
        ArrayMeta {
            path: "/g/x".into(),
            shape: vec![10],
            maxshape: vec![Some(10)],
            dtype,
            layout: Layout::Chunked,
            chunk_shape: vec![4],
            chunk_index: None,
            filters: vec![
                Filter { id: 2, name: "shuffle".into(), flags: 0, params: vec![4] },
                Filter { id: 1, name: "deflate".into(), flags: 0, params: vec![5] },
                Filter { id: 3, name: "fletcher32".into(), flags: 0, params: vec![] },
            ],
            fill: Fill::default(),
            attributes: vec![],
            dimensions: vec![],
            chunks: (0..3).map(|i| ChunkRef { coords: vec![i].into(), offset: 100 * i, length: 50, filter_mask: 0, href: None }).collect(),
            inline: None,
            external: vec![],
            unsupported: None,
        }
    }

    #[test]
    fn types_carry_byte_order_and_filters_keep_write_order() {
        let a = array(Datatype::Float { size: 4, order: ByteOrder::Be });
        let z = zarray(&a).unwrap();
        assert_eq!(z["dtype"], ">f4");
        assert_eq!(
            z["filters"],
            json!([{"id": "shuffle", "elementsize": 4}, {"id": "zlib", "level": 5}, {"id": "fletcher32"}])
        );
        assert_eq!(z["compressor"], Value::Null);
        assert_eq!(z["fill_value"], Value::Null, "zero fill reads as zeros without a declared fill");
        assert_eq!(typestr(&Datatype::Integer { size: 1, signed: true, order: ByteOrder::Le }).as_deref(), Some("|i1"));
        assert_eq!(typestr(&Datatype::Integer { size: 2, signed: false, order: ByteOrder::Le }).as_deref(), Some("<u2"));
    }

    #[test]
    fn fill_values_decode_in_the_files_byte_order() {
        let mut a = array(Datatype::Float { size: 8, order: ByteOrder::Le });
        a.fill = Fill { defined: FillDefined::User, value: Some(f64::NAN.to_le_bytes().to_vec()), ..Fill::default() };
        assert_eq!(zarray(&a).unwrap()["fill_value"], "NaN");
        a.fill.value = Some(f64::NEG_INFINITY.to_le_bytes().to_vec());
        assert_eq!(zarray(&a).unwrap()["fill_value"], "-Infinity");
        let mut i = array(Datatype::Integer { size: 4, signed: true, order: ByteOrder::Be });
        i.fill = Fill { defined: FillDefined::User, value: Some((-7i32).to_be_bytes().to_vec()), ..Fill::default() };
        assert_eq!(zarray(&i).unwrap()["fill_value"], -7);
        let mut s = array(Datatype::String {
            size: Some(3),
            padding: crate::manifest::StringPadding::NullPad,
            charset: crate::manifest::StringCharset::Ascii,
        });
        s.filters.clear();
        s.fill = Fill { defined: FillDefined::User, value: Some(b"ab\0".to_vec()), ..Fill::default() };
        let z = zarray(&s).unwrap();
        assert_eq!((z["dtype"].as_str(), z["fill_value"].as_str()), (Some("|S3"), Some("YWIA")));
        assert_eq!(f16_to_f64([0x00, 0x3c], ByteOrder::Le), 1.0);
        assert_eq!(f16_to_f64([0xc0, 0x00], ByteOrder::Be), -2.0);
    }

    #[test]
    fn filter_masks_drop_shared_skips_and_refuse_mixed_ones() {
        let mut a = array(Datatype::Float { size: 4, order: ByteOrder::Le });
        for c in &mut a.chunks {
            c.filter_mask = 0b010;
        }
        assert_eq!(zarray(&a).unwrap()["filters"], json!([{"id": "shuffle", "elementsize": 4}, {"id": "fletcher32"}]));
        a.chunks[1].filter_mask = 0;
        let err = zarray(&a).unwrap_err();
        assert!(err.contains("2 of 3 chunks skip filters"), "{err}");
    }

    #[test]
    fn unexpressible_arrays_say_why() {
        let mut a = array(Datatype::String {
            size: None,
            padding: crate::manifest::StringPadding::NullTerm,
            charset: crate::manifest::StringCharset::Utf8,
        });
        assert!(zarray(&a).unwrap_err().contains("variable-length strings"));
        a.dtype = Datatype::Float { size: 4, order: ByteOrder::Le };
        a.filters.push(Filter { id: 4, name: "szip".into(), flags: 0, params: vec![] });
        assert_eq!(zarray(&a).unwrap_err(), "no Zarr codec for HDF5 filter szip (id 4)");
        a.filters.pop();
        let member = |name: &str, offset, dtype| crate::manifest::CompoundMember { name: name.into(), offset, dtype };
        let f4 = Datatype::Float { size: 4, order: ByteOrder::Le };
        let i2 = Datatype::Integer { size: 2, signed: true, order: ByteOrder::Be };
        a.dtype = Datatype::Compound { size: 6, members: vec![member("v", 4, i2.clone()), member("x", 0, f4.clone())] };
        assert_eq!(zarray(&a).unwrap()["dtype"], json!([["x", "<f4"], ["v", ">i2"]]));
        let sub = Datatype::Array { base: Box::new(i2.clone()), dims: vec![3] };
        a.dtype = Datatype::Compound { size: 10, members: vec![member("x", 0, f4.clone()), member("v", 4, sub)] };
        assert!(zarray(&a).unwrap_err().contains("compound member v: no Zarr v2 field type for HDF5 array"));
        a.dtype = Datatype::Compound { size: 8, members: vec![member("x", 0, f4), member("y", 6, i2)] };
        assert!(zarray(&a).unwrap_err().contains("leaves a gap"));
        a.dtype = Datatype::Float { size: 4, order: ByteOrder::Le };
        a.layout = Layout::Compact;
        a.inline = Some(vec![0; 12]);
        assert!(zarray(&a).unwrap_err().contains("inline data holds 12 bytes"));
    }
}
