//! Reading selected rows of 1-D arrays through the virtual Zarr store: the chunks are prefetched
//! in one coalesced round trip per file, then decoded by zarrs chunk by chunk.

use std::sync::Arc;

use zarrs::array::{Array, ArrayBytes};

use super::SubsetError;
use crate::manifest::{ArrayMeta, ByteOrder, Datatype, Scalar};
use crate::zarr::VirtualStore;

/// The element type as zarrs hands values back: native byte order.
fn native(dtype: &Datatype) -> Option<Datatype> {
    let order = if cfg!(target_endian = "little") { ByteOrder::Le } else { ByteOrder::Be };
    match dtype {
        Datatype::Integer { size, signed, .. } => Some(Datatype::Integer { size: *size, signed: *signed, order }),
        Datatype::Float { size, .. } => Some(Datatype::Float { size: *size, order }),
        Datatype::Enum { base, .. } => native(base),
        _ => None,
    }
}

/// Store keys of the chunks of `array` holding any of `rows` (sorted).
pub(super) fn chunk_keys(granule: &str, array: &ArrayMeta, rows: &[u64]) -> Vec<String> {
    let Some(&len) = array.chunk_shape.first().filter(|&&c| c > 0) else { return Vec::new() };
    let node = VirtualStore::array_path(granule, &array.path);
    let node = node.trim_start_matches('/');
    let mut keys: Vec<String> = Vec::new();
    let mut last = None;
    for &r in rows {
        let c = r / len;
        if last != Some(c) {
            keys.push(VirtualStore::chunk_key(node, &[c]));
            last = Some(c);
        }
    }
    keys
}

/// Values of `rows` (sorted, within the array) of the 1-D numeric `array`.
///
/// # Errors
/// When the array is not 1-D numeric, cannot be opened as Zarr, or a chunk cannot be read.
pub(super) async fn read_rows(store: &Arc<VirtualStore>, granule: &str, array: &ArrayMeta, rows: &[u64]) -> Result<Vec<Scalar>, SubsetError> {
    let fail = |reason: String| SubsetError::Read { granule: granule.to_string(), path: array.path.clone(), reason };
    let dtype = native(&array.dtype).filter(|_| array.shape.len() == 1).ok_or_else(|| fail("not a 1-D numeric array".into()))?;
    let len = array.chunk_shape.first().copied().filter(|&c| c > 0).ok_or_else(|| fail("no chunk shape".into()))?;
    let size = dtype.size() as usize;
    let zarr = Array::async_open(store.clone(), &VirtualStore::array_path(granule, &array.path)).await.map_err(|e| fail(e.to_string()))?;
    let mut out = Vec::with_capacity(rows.len());
    let mut i = 0;
    while i < rows.len() {
        let chunk = rows[i] / len;
        let bytes: ArrayBytes<'static> = zarr.async_retrieve_chunk(&[chunk]).await.map_err(|e| fail(e.to_string()))?;
        let bytes = bytes.into_fixed().map_err(|e| fail(e.to_string()))?;
        while i < rows.len() && rows[i] / len == chunk {
            let at = usize::try_from(rows[i] - chunk * len).unwrap_or(usize::MAX).saturating_mul(size);
            let value = bytes.get(at..at + size).and_then(|raw| dtype.scalar(raw)).ok_or_else(|| fail(format!("row {} outside its chunk", rows[i])))?;
            out.push(value);
            i += 1;
        }
    }
    Ok(out)
}

/// The value marking missing data: the `_FillValue` attribute, else a user-set HDF5 fill value.
pub(super) fn fill_of(array: &ArrayMeta) -> Option<f64> {
    if let Some(attr) = array.attributes.iter().find(|a| a.name == "_FillValue") {
        let v = attr.value.as_array().and_then(|l| l.first()).unwrap_or(&attr.value);
        if let Some(f) = v.as_f64() {
            return Some(f);
        }
    }
    let raw = array.fill.value.as_deref()?;
    array.dtype.scalar(raw).map(|s| s.as_f64())
}
