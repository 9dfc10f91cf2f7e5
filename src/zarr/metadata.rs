//! Zarr v3 array metadata (zarr.json) for an HDF5 dataset.
//!
//! Same shape and chunk shape (HDF5 stores edge chunks full-size, like Zarr); `bytes` codec with
//! the file's endianness, then the HDF5 filters in write order as numcodecs codecs: shuffle →
//! `numcodecs.shuffle {elementsize}`, deflate → `numcodecs.zlib {level}` (HDF5 deflate is a zlib
//! stream), fletcher32 → `numcodecs.fletcher32`. The HDF5 fill value becomes `fill_value`.
//!
//! The pieces both Zarr versions share (which arrays are expressible, the numcodecs pipeline, the
//! attributes, dimension names, JSON scalars) are `pub(crate)` here; `kerchunk/` builds Zarr v2
//! metadata from them.

use serde_json::{json, Map, Value};

use crate::manifest::{ArrayMeta, Attribute, ByteOrder, Datatype, Filter, FillTime, Layout, Scalar};

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

/// The fill value's bytes, if unallocated chunks read as something other than zeros: with fill
/// time "never" libhdf5 writes no fill value anywhere, and unallocated chunks read as the
/// caller's buffer, zeros in practice (h5py, hdf5-metno).
pub(crate) fn fill_bytes(a: &ArrayMeta) -> Option<&[u8]> {
    a.fill.value.as_deref().filter(|_| a.fill.time != FillTime::Never)
}

fn fill_value(a: &ArrayMeta) -> Value {
    let Some(raw) = fill_bytes(a) else {
        return match &a.dtype {
            Datatype::Float { .. } | Datatype::Integer { .. } | Datatype::Enum { .. } => json!(0),
            Datatype::Complex { .. } => json!([0, 0]),
            _ => Value::Array(vec![json!(0); a.dtype.size() as usize]),
        };
    };
    scalar_json(&a.dtype, raw).unwrap_or_else(|| Value::Array(raw.iter().map(|b| json!(b)).collect()))
}

/// One numeric element as JSON (integers exact, floats with `NaN`/`Infinity` as strings);
/// `None` for types [`Datatype::scalar`] does not decode.
pub(crate) fn scalar_json(dtype: &Datatype, raw: &[u8]) -> Option<Value> {
    Some(match dtype.scalar(raw)? {
        Scalar::Int(v) => json!(v),
        Scalar::UInt(v) => json!(v),
        Scalar::F32(v) => float_json(f64::from(v)),
        Scalar::F64(v) => float_json(v),
    })
}

/// A float as Zarr metadata writes it: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
pub(crate) fn float_json(v: f64) -> Value {
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

/// Attributes as a JSON object, without the HDF5 dimension-scale bookkeeping (`DIMENSION_LIST`,
/// `REFERENCE_LIST`, `CLASS`, `NAME`: object references that mean nothing outside the HDF5 file),
/// which Zarr expresses as dimension names instead.
pub(crate) fn user_attributes(attributes: &[Attribute]) -> Map<String, Value> {
    let mut out = Map::new();
    for at in attributes {
        if !matches!(at.name.as_str(), "DIMENSION_LIST" | "REFERENCE_LIST" | "CLASS" | "NAME") {
            out.insert(at.name.clone(), at.value.clone());
        }
    }
    out
}

/// Per dimension, the name of the attached dimension scale (the last component of its path).
pub(crate) fn scale_names(a: &ArrayMeta) -> Vec<Option<&str>> {
    a.dimensions.iter().map(|d| d.as_deref().and_then(|p| p.rsplit('/').next())).collect()
}

/// Everything of `zarr.json` but the codecs (the caller decides them): only the element type can
/// make this fail.
pub(crate) fn array_skeleton(a: &ArrayMeta) -> Result<Value, ZarrError> {
    let data_type = data_type(&a.dtype).ok_or_else(|| ZarrError::DataType {
        path: a.path.clone(),
        class: a.dtype.class_name().into(),
    })?;
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
        "attributes": user_attributes(&a.attributes),
    });
    if !a.dimensions.is_empty() {
        let names: Vec<Value> = scale_names(a).into_iter().map(|n| n.map_or(Value::Null, |n| json!(n))).collect();
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

/// `Err` when the array's bytes are not chunks of the granule (declared unsupported, external
/// raw storage, virtual dataset).
pub(crate) fn check_layout(a: &ArrayMeta) -> Result<(), ZarrError> {
    let path = a.path.clone();
    if let Some(reason) = &a.unsupported {
        return Err(ZarrError::Layout { path, reason: reason.clone() });
    }
    if matches!(a.layout, Layout::External | Layout::Virtual) {
        return Err(ZarrError::Layout { path, reason: format!("{:?} layout", a.layout).to_lowercase() });
    }
    Ok(())
}

/// A numcodecs codec: its `id` and configuration.
pub(crate) type NumcodecsFilter = (&'static str, Map<String, Value>);

/// The numcodecs codec of each filter, in write order.
///
/// # Errors
/// When a filter has no numcodecs equivalent (szip, nbit, scaleoffset, plugins).
pub(crate) fn numcodecs_filters<'a>(
    a: &ArrayMeta,
    filters: impl IntoIterator<Item = &'a Filter>,
) -> Result<Vec<NumcodecsFilter>, ZarrError> {
    let mut out = Vec::new();
    for f in filters {
        let mut config = Map::new();
        let id = match f.id {
            1 => {
                config.insert("level".into(), json!(f.params.first().copied().unwrap_or(6)));
                "zlib"
            }
            2 => {
                config.insert("elementsize".into(), json!(f.params.first().copied().unwrap_or(a.dtype.size() as u32)));
                "shuffle"
            }
            3 => "fletcher32",
            _ => return Err(ZarrError::Filter { path: a.path.clone(), id: f.id, name: f.name.clone() }),
        };
        out.push((id, config));
    }
    Ok(out)
}

/// `bytes`, then the HDF5 filters in write order as numcodecs codecs.
pub(crate) fn codecs(a: &ArrayMeta) -> Result<Vec<Value>, ZarrError> {
    check_layout(a)?;
    let mut codecs = vec![bytes_codec(a)];
    for (id, config) in numcodecs_filters(a, &a.filters)? {
        codecs.push(if config.is_empty() {
            json!({"name": format!("numcodecs.{id}")})
        } else {
            json!({"name": format!("numcodecs.{id}"), "configuration": config})
        });
    }
    Ok(codecs)
}
