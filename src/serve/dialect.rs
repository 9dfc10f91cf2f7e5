//! Array documents as zarr-python and xarray read them.
//!
//! Dimension names: xarray needs `dimension_names` on every array of a group it opens. The
//! store writes them from HDF5 dimension scales; a dimension scale itself, an array without
//! scales, or a dimension without one has none. Served documents name a scale's dimension after
//! the scale, and any other unnamed dimension `phony_dim_<length>` (a name per length, so
//! arrays of one group never disagree about a dimension's size). This is valid core metadata.
//!
//! `_FillValue` attribute: xarray reads a Zarr v3 array's `_FillValue` attribute in its own
//! encoding (a float as the base64 of its little-endian f64, an integer as a number) and fails on
//! the one-element list an HDF5 attribute is. Served documents carry it in xarray's encoding;
//! the Zarr `fill_value` is unchanged (it is the same value).
//!
//! Raw bits:
//! The store describes types Zarr has no numeric equivalent for (fixed-length strings, opaque,
//! compound, bitfields) with the core spec's raw-bits type `r<bits>` and a fill value given as
//! an array of byte values. zarr-python 3.1 does not implement `r<bits>`: one such array makes a
//! whole consolidated group fail to open. It implements the registered extension `raw_bytes`
//! (`{"name": "raw_bytes", "configuration": {"length_bytes": n}}`, fill value in base64),
//! which zarrs in turn does not. `vz serve` speaks zarr-python's form by default (the clients
//! the service is for: zarr-python, xarray); `--raw-bits` serves the core form.

use base64::Engine;
use serde_json::{json, Value};

/// Fill in missing `dimension_names` (see the module docs); `scale` names the array when it is
/// an HDF5 dimension scale. Whether anything changed.
pub(crate) fn fill_dimension_names(meta: &mut Value, scale: Option<&str>) -> bool {
    let Some(shape) = meta["shape"].as_array().cloned() else {
        return false;
    };
    let names: Vec<Value> = match meta["dimension_names"].as_array() {
        Some(names) if names.len() == shape.len() && names.iter().all(Value::is_string) => return false,
        Some(names) if names.len() == shape.len() => names.clone(),
        _ => vec![Value::Null; shape.len()],
    };
    let named: Vec<Value> = names
        .into_iter()
        .zip(&shape)
        .map(|(name, len)| match (name, scale) {
            (Value::String(n), _) => json!(n),
            (_, Some(own)) if shape.len() == 1 => json!(own),
            _ => json!(format!("phony_dim_{}", len.as_u64().unwrap_or(0))),
        })
        .collect();
    meta["dimension_names"] = Value::Array(named);
    true
}

/// Re-encode a one-element `_FillValue` attribute as xarray reads it; whether anything changed.
pub(crate) fn fill_value_attribute_for_xarray(meta: &mut Value) -> bool {
    let Some(dtype) = meta["data_type"].as_str().map(str::to_string) else {
        return false;
    };
    let Some(attrs) = meta["attributes"].as_object_mut() else {
        return false;
    };
    let value = match attrs.get("_FillValue") {
        Some(Value::Array(v)) if v.len() == 1 => v[0].clone(),
        Some(v) => v.clone(),
        None => return false,
    };
    // A fill attribute without a value (undecodable in the file) says nothing: leave it out.
    if value.is_null() {
        attrs.remove("_FillValue");
        return true;
    }
    if !value.is_number() && !value.is_string() {
        return false;
    }
    let encoded = if dtype.starts_with("float") {
        let x = match &value {
            Value::String(s) if s == "NaN" => f64::NAN,
            Value::String(s) if s == "Infinity" => f64::INFINITY,
            Value::String(s) if s == "-Infinity" => f64::NEG_INFINITY,
            v => match v.as_f64() {
                Some(x) => x,
                None => return false,
            },
        };
        json!(base64::engine::general_purpose::STANDARD.encode(x.to_le_bytes()))
    } else if dtype.starts_with("int") || dtype.starts_with("uint") {
        if !value.is_number() {
            return false;
        }
        value
    } else {
        return false;
    };
    attrs.insert("_FillValue".into(), encoded);
    true
}

/// Rewrite an array document's `r<bits>` type (and its fill value) as `raw_bytes`; whether
/// anything changed.
pub(crate) fn raw_bits_as_raw_bytes(meta: &mut Value) -> bool {
    let Some(bits) = meta["data_type"]
        .as_str()
        .and_then(|t| t.strip_prefix('r'))
        .and_then(|b| b.parse::<u64>().ok())
        .filter(|b| b % 8 == 0 && *b > 0)
    else {
        return false;
    };
    let fill: Option<Vec<u8>> = meta["fill_value"].as_array().and_then(|values| {
        values
            .iter()
            .map(|v| v.as_u64().and_then(|b| u8::try_from(b).ok()))
            .collect()
    });
    let Some(fill) = fill else { return false };
    meta["data_type"] = json!({"name": "raw_bytes", "configuration": {"length_bytes": bits / 8}});
    meta["fill_value"] = json!(base64::engine::general_purpose::STANDARD.encode(fill));
    true
}

#[cfg(test)]
mod tests {
    use super::{fill_dimension_names, fill_value_attribute_for_xarray, raw_bits_as_raw_bytes};
    use serde_json::json;

    #[test]
    fn raw_bits_become_raw_bytes_and_numbers_stay() {
        let mut m = json!({"data_type": "r24", "fill_value": [65, 0, 255]});
        assert!(raw_bits_as_raw_bytes(&mut m));
        assert_eq!(m["data_type"], json!({"name": "raw_bytes", "configuration": {"length_bytes": 3}}));
        assert_eq!(m["fill_value"], "QQD/");
        for t in ["float32", "r7", "r", "uint8"] {
            let mut m = json!({"data_type": t, "fill_value": [0]});
            assert!(!raw_bits_as_raw_bytes(&mut m), "{t}");
        }
    }

    #[test]
    fn missing_dimension_names_are_filled() {
        let mut scale = json!({"shape": [5]});
        assert!(fill_dimension_names(&mut scale, Some("delta_time")));
        assert_eq!(scale["dimension_names"], json!(["delta_time"]));
        let mut partial = json!({"shape": [5, 2], "dimension_names": ["delta_time", null]});
        assert!(fill_dimension_names(&mut partial, None));
        assert_eq!(partial["dimension_names"], json!(["delta_time", "phony_dim_2"]));
        let mut done = json!({"shape": [5], "dimension_names": ["x"]});
        assert!(!fill_dimension_names(&mut done, None));
    }

    #[test]
    fn fill_value_attributes_use_xarrays_encoding() {
        let mut f = json!({"data_type": "float32", "attributes": {"_FillValue": [3.4028234663852886e38]}});
        assert!(fill_value_attribute_for_xarray(&mut f));
        let b64 = f["attributes"]["_FillValue"].as_str().expect("string").to_string();
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD.decode(b64).expect("base64");
        assert_eq!(f64::from_le_bytes(raw.try_into().expect("8 bytes")), 3.4028234663852886e38);
        let mut i = json!({"data_type": "int8", "attributes": {"_FillValue": [127]}});
        assert!(fill_value_attribute_for_xarray(&mut i));
        assert_eq!(i["attributes"]["_FillValue"], 127);
        let mut none = json!({"data_type": "int8", "attributes": {}});
        assert!(!fill_value_attribute_for_xarray(&mut none));
        let mut null = json!({"data_type": "int8", "attributes": {"_FillValue": null, "units": "1"}});
        assert!(fill_value_attribute_for_xarray(&mut null));
        assert_eq!(null["attributes"], json!({"units": "1"}));
    }
}
