//! fsspec's Parquet reference layout (`fsspec.implementations.reference.LazyReferenceMapper`,
//! written by `kerchunk.df.refs_to_dataframe`):
//!
//! - `.zmetadata`: `{"metadata": {key: document}, "record_size": N}` — every `.zgroup`,
//!   `.zattrs` and `.zarray` as a JSON object; with `"zarr_consolidated_format": 1` added, the
//!   same file is also Zarr v2 consolidated metadata, which zarr-python needs to find group
//!   members (see `json.rs`);
//! - `<array key>/refs.<R>.parq`: the chunk references of one array, one row per chunk of the
//!   grid in C order (chunk number `i` is row `i % N` of record `i / N`), columns `path` (utf8),
//!   `offset` (int64), `size` (int64), `raw` (binary, inline chunk bytes). A chunk that is not
//!   stored has a null `path` and `raw` and reads as the fill value. Records without any stored
//!   chunk are not written (fsspec treats a missing record file as missing chunks).
//!
//! fsspec writes every record with `N` rows; the last record here stops at the last chunk of the
//! grid, which reads the same and keeps small arrays small.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, BinaryBuilder, Int64Array, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use serde_json::json;

use super::{ArrayRefs, Encoded, KerchunkError, References, Target};

/// References per Parquet file, as `kerchunk.df.refs_to_dataframe` defaults.
pub const DEFAULT_RECORD_SIZE: u64 = 100_000;

/// Encode `refs` as fsspec's Parquet reference directory: `.zmetadata` and one
/// `refs.<R>.parq` per record of each array (relative paths).
///
/// # Errors
/// When Arrow or Parquet refuse a batch (should not happen for valid references).
pub fn to_parquet(refs: &References, record_size: u64) -> Result<Encoded, KerchunkError> {
    let record_size = record_size.max(1);
    let mut files = Vec::new();
    for (base, array) in &refs.arrays {
        for (record, rows) in records(array, record_size) {
            let file = format!("{base}/refs.{record}.parq");
            let bytes = encode(&rows).map_err(|source| KerchunkError::Parquet { file: file.clone(), source })?;
            files.push((file, bytes));
        }
    }
    let mut zmetadata = super::consolidated(refs);
    zmetadata["record_size"] = json!(record_size);
    // Last: a reader finds the directory complete once `.zmetadata` is there.
    files.push((".zmetadata".to_string(), zmetadata.to_string().into_bytes()));
    Ok(Encoded::Directory(files))
}

/// Per record holding at least one stored chunk: its number and its rows (`None`: not stored).
/// Chunk coordinates are inside the grid ([`super::references`] checks).
fn records(array: &ArrayRefs, record_size: u64) -> BTreeMap<u64, Vec<Option<&Target>>> {
    let total: u64 = array.grid.iter().product();
    let mut out: BTreeMap<u64, Vec<Option<&Target>>> = BTreeMap::new();
    for (coords, target) in &array.chunks {
        let index = coords.iter().zip(&array.grid).fold(0u64, |acc, (&i, &n)| acc * n + i);
        let (record, row) = (index / record_size, (index % record_size) as usize);
        let rows = out.entry(record).or_insert_with(|| vec![None; (total - record * record_size).min(record_size) as usize]);
        if let Some(slot) = rows.get_mut(row) {
            *slot = Some(target);
        }
    }
    out
}

fn encode(rows: &[Option<&Target>]) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    let mut path = StringBuilder::new();
    let mut raw = BinaryBuilder::new();
    let (mut offset, mut size) = (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()));
    for row in rows {
        match row {
            Some(Target::Range { url, offset: o, length }) if *o != 0 || *length != 0 => {
                path.append_value(url.as_ref());
                offset.push(*o as i64);
                size.push(*length as i64);
                raw.append_null();
            }
            // fsspec reads offset 0 and size 0 as "the whole file": an empty range is empty bytes.
            Some(Target::Range { .. }) => {
                path.append_null();
                offset.push(0);
                size.push(0);
                raw.append_value(b"");
            }
            Some(Target::Inline(bytes)) => {
                path.append_null();
                offset.push(0);
                size.push(0);
                raw.append_value(bytes);
            }
            None => {
                path.append_null();
                offset.push(0);
                size.push(0);
                raw.append_null();
            }
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("path", DataType::Utf8, true),
        Field::new("offset", DataType::Int64, false),
        Field::new("size", DataType::Int64, false),
        Field::new("raw", DataType::Binary, true),
    ]));
    let columns: Vec<ArrayRef> =
        vec![Arc::new(path.finish()), Arc::new(Int64Array::from(offset)), Arc::new(Int64Array::from(size)), Arc::new(raw.finish())];
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_statistics_enabled(EnabledStatistics::None)
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema, Some(props))?;
    writer.write(&batch)?;
    writer.close()?;
    Ok(out)
}
