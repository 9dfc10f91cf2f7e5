//! Zarr v3 array metadata (zarr.json) for an HDF5 dataset.
//!
//! Same shape and chunk shape (HDF5 stores edge chunks full-size, like Zarr); `bytes` codec with
//! the file's endianness, then the HDF5 filters in write order as numcodecs codecs: shuffle →
//! `numcodecs.shuffle {elementsize}`, deflate → `numcodecs.zlib {level}` (HDF5 deflate is a zlib
//! stream), fletcher32 → `numcodecs.fletcher32`. The HDF5 fill value becomes `fill_value`.

use serde_json::{json, Map, Value};

use crate::manifest::{ArrayMeta, ByteOrder, Datatype, FillTime, Layout, Scalar};

/// Why an array has no Zarr v3 equivalent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ZarrError {
    /// The element type has no Zarr v3 data type.
    #[error("{path}: no Zarr data type for HDF5 {class} elements")]
    DataType { path: String, class: String },
    /// A filter has no Zarr codec.
    #[error("{path}: no Zarr codec for HDF5 filter {name} (id {id})")]
    Filter { path: String, id: u16, name: String },
    /// The layout cannot be expressed as chunks of the granule.
    #[error("{path}: {reason}")]
    Layout { path: String, reason: String },
}

/// Zarr v3 `data_type` name for an HDF5 element type, if there is one.
pub fn data_type(dtype: &Datatype) -> Option<String> {
    Some(match dtype {
        Datatype::Integer { size, signed, .. } => {
            format!("{}int{}", if *signed { "" } else { "u" }, size * 8)
        }
        Datatype::Float {
            size: 2 | 4 | 8, ..
        } => format!("float{}", dtype.size() * 8),
        Datatype::Complex { size: 8 | 16, .. } => format!("complex{}", dtype.size() * 8),
        Datatype::Enum { base, .. } => return data_type(base),
        // Raw bits: fixed-length strings, opaque and bitfields keep their bytes.
        Datatype::String { size: Some(n), .. }
        | Datatype::Opaque { size: n, .. }
        | Datatype::Bitfield { size: n, .. } => {
            format!("r{}", n * 8)
        }
        _ => return None,
    })
}

fn fill_value(a: &ArrayMeta) -> Value {
    // With fill time "never" libhdf5 writes no fill value anywhere: unallocated chunks read as the
    // caller's buffer, zeros in practice (h5py, hdf5-metno), so the Zarr fill value is zero.
    let raw = a
        .fill
        .value
        .as_deref()
        .filter(|_| a.fill.time != FillTime::Never);
    let Some(raw) = raw else {
        return match &a.dtype {
            Datatype::Float { .. } | Datatype::Integer { .. } | Datatype::Enum { .. } => json!(0),
            Datatype::Complex { .. } => json!([0, 0]),
            _ => Value::Array(vec![json!(0); a.dtype.size() as usize]),
        };
    };
    match a.dtype.scalar(raw) {
        Some(Scalar::Int(v)) => json!(v),
        Some(Scalar::UInt(v)) => json!(v),
        Some(Scalar::F32(v)) => float_json(f64::from(v)),
        Some(Scalar::F64(v)) => float_json(v),
        None => Value::Array(raw.iter().map(|b| json!(b)).collect()),
    }
}

fn float_json(v: f64) -> Value {
    if v.is_nan() {
        json!("NaN")
    } else if v.is_infinite() {
        json!(if v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        json!(v)
    }
}

/// The Zarr v3 `zarr.json` of one array, as the catalog's `arrays.zarr_json` records it: codecs for
/// the whole HDF5 pipeline, chunk keys meaning the stored bytes as they are in the file.
///
/// # Errors
/// When the type, a filter or the layout has no Zarr equivalent.
pub fn array_metadata(a: &ArrayMeta) -> Result<Value, ZarrError> {
    let mut meta = array_skeleton(a)?;
    meta["codecs"] = Value::Array(codecs(a)?);
    Ok(meta)
}

/// Everything of `zarr.json` but the codecs (the caller decides them): only the element type can
/// make this fail.
pub(crate) fn array_skeleton(a: &ArrayMeta) -> Result<Value, ZarrError> {
    let path = a.path.clone();
    let data_type = data_type(&a.dtype).ok_or_else(|| ZarrError::DataType {
        path: path.clone(),
        class: a.dtype.class_name().into(),
    })?;
    let mut attributes = Map::new();
    for at in &a.attributes {
        // Dimension-scale bookkeeping (object references) has no meaning outside the HDF5 file.
        if !matches!(
            at.name.as_str(),
            "DIMENSION_LIST" | "REFERENCE_LIST" | "CLASS" | "NAME"
        ) {
            attributes.insert(at.name.clone(), at.value.clone());
        }
    }
    // Zarr chunk extents must be positive; a zero-length contiguous array has no chunk to read.
    let chunk_shape: Vec<u64> = a.chunk_shape.iter().map(|&c| c.max(1)).collect();
    let mut meta = json!({
        "zarr_format": 3,
        "node_type": "array",
        "shape": a.shape,
        "data_type": data_type,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunk_shape}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": fill_value(a),
        "codecs": [bytes_codec(a)],
        "attributes": attributes,
    });
    if !a.dimensions.is_empty() {
        let names: Vec<Value> = a
            .dimensions
            .iter()
            .map(|d| {
                d.as_deref()
                    .and_then(|p| p.rsplit('/').next())
                    .map_or(Value::Null, |n| json!(n))
            })
            .collect();
        meta["dimension_names"] = Value::Array(names);
    }
    Ok(meta)
}

pub(crate) fn bytes_codec(a: &ArrayMeta) -> Value {
    let endian = if a.dtype.order() == Some(ByteOrder::Be) {
        "big"
    } else {
        "little"
    };
    json!({"name": "bytes", "configuration": {"endian": endian}})
}

/// `bytes`, then the HDF5 filters in write order as numcodecs codecs.
pub(crate) fn codecs(a: &ArrayMeta) -> Result<Vec<Value>, ZarrError> {
    let path = a.path.clone();
    if let Some(reason) = &a.unsupported {
        return Err(ZarrError::Layout {
            path,
            reason: reason.clone(),
        });
    }
    if matches!(a.layout, Layout::External | Layout::Virtual) {
        return Err(ZarrError::Layout {
            path,
            reason: format!("{:?} layout", a.layout).to_lowercase(),
        });
    }
    let mut codecs = vec![bytes_codec(a)];
    for f in &a.filters {
        codecs.push(match f.id {
            1 => json!({"name": "numcodecs.zlib", "configuration": {"level": f.params.first().copied().unwrap_or(6)}}),
            2 => json!({"name": "numcodecs.shuffle", "configuration": {"elementsize": f.params.first().copied().unwrap_or(a.dtype.size() as u32)}}),
            3 => json!({"name": "numcodecs.fletcher32"}),
            _ => return Err(ZarrError::Filter { path, id: f.id, name: f.name.clone() }),
        });
    }
    Ok(codecs)
}
