//! Catalog entries → Arrow record batches → Parquet bytes (GeoParquet 1.1 for geometry tables).

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, ListBuilder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder, UInt32Builder,
    UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use bytes::Bytes;
use geoarrow_array::array::WkbArray;
use geoarrow_schema::{Metadata, WkbType};
use geoparquet::writer::{GeoParquetRecordBatchEncoder, GeoParquetWriterEncoding, GeoParquetWriterOptionsBuilder};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use serde_json::json;

use super::{CatalogEntry, ChunkSpatial, CATALOG_VERSION};
use crate::zarr;

/// Rows per Parquet row group of the chunks table: small enough that row-group statistics
/// on `bbox` prune well, large enough to keep the footer small.
const CHUNK_ROW_GROUP: usize = 4096;

/// A failure to encode a catalog table.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// Arrow rejected a batch (a bug: schemas are built here).
    #[error("{granule}: {table} table: {source}")]
    Arrow {
        granule: String,
        table: &'static str,
        #[source]
        source: arrow::error::ArrowError,
    },
    /// Parquet encoding failed.
    #[error("{granule}: {table} table: {source}")]
    Parquet {
        granule: String,
        table: &'static str,
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// GeoParquet metadata could not be built.
    #[error("{granule}: {table} table: {source}")]
    GeoArrow {
        granule: String,
        table: &'static str,
        #[source]
        source: geoarrow_schema::error::GeoArrowError,
    },
    /// The subset index could not serialise a value (a bug: the model serialises).
    #[error("{granule}: subset index: {source}")]
    Json {
        granule: String,
        #[source]
        source: serde_json::Error,
    },
    /// A value does not fit the subset index's lengths.
    #[error("{granule}: subset index: {what} does not fit the layout")]
    TooLarge { granule: String, what: &'static str },
}

/// One encoded file of a granule.
#[derive(Clone, Debug)]
pub struct CatalogFile {
    /// Table name (`granules`, `arrays`, `chunks`), or [`SUBSET_INDEX`](super::SUBSET_INDEX).
    pub table: &'static str,
    /// The file's bytes.
    pub bytes: Bytes,
    /// Rows written.
    pub rows: usize,
}

/// A manifest field as JSON text (the catalog's JSON columns; serialising the model cannot fail).
fn json_text<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A unit enum as its snake_case name (`chunked`, `btree_v1`, `hdf5`).
fn json_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

pub(crate) fn micros(seconds: f64) -> i64 {
    (seconds * 1e6).round() as i64
}

pub(crate) fn utc() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

pub(crate) fn wkb_field(name: &str) -> Field {
    Field::new(name, DataType::Binary, true).with_extension_type(WkbType::new(Arc::new(Metadata::default())))
}

pub(crate) fn wkb_array(values: Vec<Option<&[u8]>>) -> ArrayRef {
    let mut b = BinaryBuilder::new();
    for v in values {
        b.append_option(v);
    }
    wkb_binary(b.finish())
}

/// A binary array of WKB values as a GeoArrow WKB column.
pub(crate) fn wkb_binary(values: arrow::array::BinaryArray) -> ArrayRef {
    let wkb = WkbArray::from((values, WkbType::new(Arc::new(Metadata::default()))));
    geoarrow_array::GeoArrowArray::to_array_ref(&wkb)
}

/// The `vz` key-value metadata: how the file was made, for readers and for re-indexing.
fn vz_metadata(e: &CatalogEntry) -> KeyValue {
    let geolocation: Vec<_> = e
        .geolocation
        .iter()
        .map(|g| json!({"group": g.group, "latitude": g.latitude, "longitude": g.longitude, "time": g.time, "rows": g.rows}))
        .collect();
    let value = json!({
        "catalog_version": CATALOG_VERSION,
        "vz_version": env!("CARGO_PKG_VERSION"),
        "granule": e.info.id,
        "h3_resolution": e.h3_resolution,
        "geolocation": geolocation,
    });
    KeyValue::new("vz".to_string(), Some(value.to_string()))
}

/// Why [`parquet_bytes`] failed.
pub(crate) enum WriteFailure {
    Parquet(parquet::errors::ParquetError),
    GeoArrow(geoarrow_schema::error::GeoArrowError),
}

/// One batch as a Parquet file (LZ4_RAW), GeoParquet 1.1 with a `bbox` covering column when
/// `geometry` (the batch then has a WKB column named `geometry`), plus `extra` key-value metadata.
pub(crate) fn parquet_bytes(
    batch: &RecordBatch,
    geometry: bool,
    extra: KeyValue,
    row_group: usize,
) -> Result<Vec<u8>, WriteFailure> {
    // LZ4_RAW, not zstd: every reader of a zstd column chunk (parquet-rs creates a zstd compressor
    // and decompressor per chunk, duckdb a decompressor) pays zstd's context set-up, whose CPUID
    // probe is a trap to the hypervisor on a cloud VM: ~20 µs each, 18 % of the CPU of reading a
    // granule's catalog back (`vz subset --plan`). LZ4_RAW files are ~18 % larger.
    let props = WriterProperties::builder()
        .set_compression(Compression::LZ4_RAW)
        .set_max_row_group_row_count(Some(row_group))
        .build();
    let mut out = Vec::new();
    let pq = WriteFailure::Parquet;
    if geometry {
        let geo = WriteFailure::GeoArrow;
        let options = GeoParquetWriterOptionsBuilder::default()
            .set_encoding(GeoParquetWriterEncoding::WKB)
            // The covering column of `geometry` is named `bbox` (GeoParquet 1.1 convention).
            .set_generate_covering(true)
            .build();
        let mut encoder = GeoParquetRecordBatchEncoder::try_new(batch.schema().as_ref(), &options).map_err(geo)?;
        let mut writer = ArrowWriter::try_new(&mut out, encoder.target_schema(), Some(props)).map_err(pq)?;
        let encoded = encoder.encode_record_batch(batch).map_err(geo)?;
        writer.write(&encoded).map_err(pq)?;
        writer.append_key_value_metadata(encoder.into_keyvalue().map_err(geo)?);
        writer.append_key_value_metadata(extra);
        writer.close().map_err(pq)?;
    } else {
        let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).map_err(pq)?;
        writer.write(batch).map_err(pq)?;
        writer.append_key_value_metadata(extra);
        writer.close().map_err(pq)?;
    }
    Ok(out)
}

/// Write one table of a catalog entry.
fn to_parquet(
    e: &CatalogEntry,
    table: &'static str,
    batch: RecordBatch,
    geometry: bool,
    row_group: usize,
) -> Result<CatalogFile, CatalogError> {
    let granule = e.info.id.clone();
    let rows = batch.num_rows();
    let bytes = parquet_bytes(&batch, geometry, vz_metadata(e), row_group).map_err(|f| match f {
        WriteFailure::Parquet(source) => CatalogError::Parquet { granule, table, source },
        WriteFailure::GeoArrow(source) => CatalogError::GeoArrow { granule, table, source },
    })?;
    Ok(CatalogFile { table, bytes: Bytes::from(bytes), rows })
}

fn batch(e: &CatalogEntry, table: &'static str, schema: Schema, columns: Vec<ArrayRef>) -> Result<RecordBatch, CatalogError> {
    RecordBatch::try_new(Arc::new(schema), columns)
        .map_err(|source| CatalogError::Arrow { granule: e.info.id.clone(), table, source })
}

/// One row per stored chunk of every array, with the spatial extent of its rows.
///
/// # Errors
/// When Arrow or Parquet encoding fails.
pub fn encode_chunks(e: &CatalogEntry) -> Result<CatalogFile, CatalogError> {
    struct Row<'a> {
        sort: (u64, &'a str, &'a [u64]),
        array: &'a str,
        group: Option<&'a str>,
        coords: &'a [u64],
        url: &'a str,
        offset: u64,
        length: u64,
        mask: u32,
        spatial: Option<&'a ChunkSpatial>,
    }
    let mut rows: Vec<Row<'_>> = Vec::with_capacity(e.manifest.chunk_count());
    for a in &e.manifest.arrays {
        let tagged = e.spatial.get(&a.path);
        for (i, c) in a.chunks.iter().enumerate() {
            let spatial = tagged.and_then(|(_, s)| s.get(i));
            // Sort by a coarse H3 cell (resolution 2, ~150 km) so that row groups cover small areas.
            let coarse = spatial
                .and_then(|s| s.h3.first())
                .and_then(|&c| h3o::CellIndex::try_from(c).ok())
                .and_then(|c| c.parent(h3o::Resolution::Two))
                .map_or(u64::MAX, u64::from);
            rows.push(Row {
                sort: (coarse, &a.path, &c.coords),
                array: &a.path,
                group: tagged.map(|(g, _)| g.as_str()),
                coords: &c.coords,
                url: c.file(&e.manifest.url),
                offset: c.offset,
                length: c.length,
                mask: c.filter_mask,
                spatial,
            });
        }
    }
    rows.sort_by(|a, b| a.sort.cmp(&b.sort));

    let n = rows.len();
    let mut granule = StringBuilder::new();
    let mut array = StringBuilder::new();
    let mut group = StringBuilder::new();
    let mut chunk = ListBuilder::new(UInt32Builder::new());
    let mut key = StringBuilder::new();
    let mut url = StringBuilder::new();
    let mut offset = UInt64Builder::with_capacity(n);
    let mut length = UInt64Builder::with_capacity(n);
    let mut mask = UInt32Builder::with_capacity(n);
    let mut row_start = UInt64Builder::with_capacity(n);
    let mut row_end = UInt64Builder::with_capacity(n);
    let mut points = UInt64Builder::with_capacity(n);
    let mut t0 = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut t1 = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut h3 = ListBuilder::new(UInt64Builder::new());
    let mut geometry = Vec::with_capacity(n);
    for r in &rows {
        granule.append_value(&e.info.id);
        array.append_value(r.array);
        group.append_option(r.group);
        for &c in r.coords {
            chunk.values().append_value(u32::try_from(c).unwrap_or(u32::MAX));
        }
        chunk.append(true);
        let k: Vec<String> = r.coords.iter().map(u64::to_string).collect();
        key.append_value(if k.is_empty() { "0".to_string() } else { k.join(".") });
        url.append_value(r.url);
        offset.append_value(r.offset);
        length.append_value(r.length);
        mask.append_value(r.mask);
        match r.spatial {
            Some(s) => {
                row_start.append_value(s.rows.start);
                row_end.append_value(s.rows.end);
                points.append_value(s.points);
                t0.append_option(s.time.map(|t| micros(t.0)));
                t1.append_option(s.time.map(|t| micros(t.1)));
                for &c in &s.h3 {
                    h3.values().append_value(c);
                }
                h3.append(true);
                geometry.push(s.wkb.as_deref());
            }
            None => {
                row_start.append_null();
                row_end.append_null();
                points.append_null();
                t0.append_null();
                t1.append_null();
                h3.append(false);
                geometry.push(None);
            }
        }
    }
    let schema = Schema::new(vec![
        Field::new("granule", DataType::Utf8, false),
        Field::new("path", DataType::Utf8, false),
        Field::new("group", DataType::Utf8, true),
        Field::new("chunk", DataType::List(Arc::new(Field::new("item", DataType::UInt32, true))), false),
        Field::new("chunk_key", DataType::Utf8, false),
        Field::new("url", DataType::Utf8, false),
        Field::new("offset", DataType::UInt64, false),
        Field::new("length", DataType::UInt64, false),
        Field::new("filter_mask", DataType::UInt32, false),
        Field::new("row_start", DataType::UInt64, true),
        Field::new("row_end", DataType::UInt64, true),
        Field::new("points", DataType::UInt64, true),
        Field::new("time_min", utc(), true),
        Field::new("time_max", utc(), true),
        Field::new("h3", DataType::List(Arc::new(Field::new("item", DataType::UInt64, true))), true),
        wkb_field("geometry"),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(granule.finish()),
        Arc::new(array.finish()),
        Arc::new(group.finish()),
        Arc::new(chunk.finish()),
        Arc::new(key.finish()),
        Arc::new(url.finish()),
        Arc::new(offset.finish()),
        Arc::new(length.finish()),
        Arc::new(mask.finish()),
        Arc::new(row_start.finish()),
        Arc::new(row_end.finish()),
        Arc::new(points.finish()),
        Arc::new(t0.finish()),
        Arc::new(t1.finish()),
        Arc::new(h3.finish()),
        wkb_array(geometry),
    ];
    let b = batch(e, "chunks", schema, columns)?;
    to_parquet(e, "chunks", b, true, CHUNK_ROW_GROUP)
}

/// One row per array: shape, type, filters, fill value, attributes and its Zarr v3 metadata.
///
/// # Errors
/// When Arrow or Parquet encoding fails.
pub fn encode_arrays(e: &CatalogEntry) -> Result<CatalogFile, CatalogError> {
    let list_u64 = || ListBuilder::new(UInt64Builder::new());
    let (mut granule, mut path, mut group, mut dtype, mut layout) =
        (StringBuilder::new(), StringBuilder::new(), StringBuilder::new(), StringBuilder::new(), StringBuilder::new());
    let (mut shape, mut chunk_shape) = (list_u64(), list_u64());
    let (mut filters, mut fill, mut attributes, mut dims, mut zarr_json, mut problem) = (
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
    );
    let (mut nchunks, mut nbytes) = (UInt64Builder::new(), UInt64Builder::new());
    // What a reader needs to rebuild the manifest exactly (see `decode`).
    let (mut maxshape, mut chunk_index, mut inline, mut external, mut unsupported) =
        (StringBuilder::new(), StringBuilder::new(), BinaryBuilder::new(), StringBuilder::new(), StringBuilder::new());
    for a in &e.manifest.arrays {
        maxshape.append_value(json_text(&a.maxshape));
        chunk_index.append_option(a.chunk_index.map(|k| json_name(&k)));
        inline.append_option(a.inline.as_deref());
        external.append_value(json_text(&a.external));
        unsupported.append_option(a.unsupported.as_deref());
        granule.append_value(&e.info.id);
        path.append_value(&a.path);
        group.append_option(e.spatial.get(&a.path).map(|(g, _)| g.as_str()));
        for &d in &a.shape {
            shape.values().append_value(d);
        }
        shape.append(true);
        for &d in &a.chunk_shape {
            chunk_shape.values().append_value(d);
        }
        chunk_shape.append(true);
        dtype.append_value(json_text(&a.dtype));
        layout.append_value(json_name(&a.layout));
        filters.append_value(json_text(&a.filters));
        fill.append_value(json_text(&a.fill));
        attributes.append_value(json_text(&a.attributes));
        dims.append_value(json_text(&a.dimensions));
        match zarr::array_metadata(a) {
            Ok(meta) => {
                zarr_json.append_value(meta.to_string());
                problem.append_option(a.unsupported.as_deref());
            }
            Err(err) => {
                zarr_json.append_null();
                problem.append_value(err.to_string());
            }
        }
        nchunks.append_value(a.chunks.len() as u64);
        nbytes.append_value(a.chunks.iter().map(|c| c.length).sum());
    }
    let list = || DataType::List(Arc::new(Field::new("item", DataType::UInt64, true)));
    let schema = Schema::new(vec![
        Field::new("granule", DataType::Utf8, false),
        Field::new("path", DataType::Utf8, false),
        Field::new("group", DataType::Utf8, true),
        Field::new("shape", list(), false),
        Field::new("chunk_shape", list(), false),
        Field::new("dtype", DataType::Utf8, false),
        Field::new("layout", DataType::Utf8, false),
        Field::new("filters", DataType::Utf8, false),
        Field::new("fill", DataType::Utf8, false),
        Field::new("attributes", DataType::Utf8, false),
        Field::new("dimensions", DataType::Utf8, false),
        Field::new("zarr_json", DataType::Utf8, true),
        Field::new("problem", DataType::Utf8, true),
        Field::new("chunks", DataType::UInt64, false),
        Field::new("stored_bytes", DataType::UInt64, false),
        Field::new("maxshape", DataType::Utf8, false),
        Field::new("chunk_index", DataType::Utf8, true),
        Field::new("inline", DataType::Binary, true),
        Field::new("external", DataType::Utf8, false),
        Field::new("unsupported", DataType::Utf8, true),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(granule.finish()),
        Arc::new(path.finish()),
        Arc::new(group.finish()),
        Arc::new(shape.finish()),
        Arc::new(chunk_shape.finish()),
        Arc::new(dtype.finish()),
        Arc::new(layout.finish()),
        Arc::new(filters.finish()),
        Arc::new(fill.finish()),
        Arc::new(attributes.finish()),
        Arc::new(dims.finish()),
        Arc::new(zarr_json.finish()),
        Arc::new(problem.finish()),
        Arc::new(nchunks.finish()),
        Arc::new(nbytes.finish()),
        Arc::new(maxshape.finish()),
        Arc::new(chunk_index.finish()),
        Arc::new(inline.finish()),
        Arc::new(external.finish()),
        Arc::new(unsupported.finish()),
    ];
    let b = batch(e, "arrays", schema, columns)?;
    to_parquet(e, "arrays", b, false, 65_536)
}

/// One row for the granule: where it is, what it is, its footprint, time range and counts.
///
/// # Errors
/// When Arrow or Parquet encoding fails.
pub fn encode_granule(e: &CatalogEntry) -> Result<CatalogFile, CatalogError> {
    let m = &e.manifest;
    let one_str = |v: Option<&str>| {
        let mut b = StringBuilder::new();
        b.append_option(v);
        Arc::new(b.finish()) as ArrayRef
    };
    let one_u64 = |v: u64| Arc::new(arrow::array::UInt64Array::from(vec![v])) as ArrayRef;
    let one_time = |v: Option<f64>| {
        let mut b = TimestampMicrosecondBuilder::new().with_timezone("UTC");
        b.append_option(v.map(micros));
        Arc::new(b.finish()) as ArrayRef
    };
    let mut modified = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    modified.append_option(e.info.last_modified_ms.map(|ms| ms * 1000));
    let source = json_name(&m.source);
    let problems = json_text(&m.problems);
    let schema = Schema::new(vec![
        Field::new("granule", DataType::Utf8, false),
        Field::new("url", DataType::Utf8, false),
        Field::new("size", DataType::UInt64, false),
        Field::new("etag", DataType::Utf8, true),
        Field::new("last_modified", utc(), true),
        Field::new("source", DataType::Utf8, true),
        Field::new("time_min", utc(), true),
        Field::new("time_max", utc(), true),
        Field::new("arrays", DataType::UInt64, false),
        Field::new("chunks", DataType::UInt64, false),
        Field::new("stored_bytes", DataType::UInt64, false),
        Field::new("h3_resolution", DataType::UInt64, false),
        Field::new("problems", DataType::Utf8, false),
        Field::new("groups", DataType::Utf8, false),
        Field::new("links", DataType::Utf8, false),
        wkb_field("geometry"),
    ]);
    let columns: Vec<ArrayRef> = vec![
        one_str(Some(&e.info.id)),
        one_str(Some(&m.url)),
        one_u64(m.size),
        one_str(e.info.etag.as_deref()),
        Arc::new(modified.finish()),
        one_str(Some(&source)),
        one_time(e.time.map(|t| t.0)),
        one_time(e.time.map(|t| t.1)),
        one_u64(m.arrays.len() as u64),
        one_u64(m.chunk_count() as u64),
        one_u64(m.arrays.iter().flat_map(|a| &a.chunks).map(|c| c.length).sum()),
        one_u64(u64::from(e.h3_resolution)),
        one_str(Some(&problems)),
        one_str(Some(&json_text(&m.groups))),
        one_str(Some(&json_text(&m.links))),
        wkb_array(vec![e.footprint.as_deref()]),
    ];
    let b = batch(e, "granules", schema, columns)?;
    to_parquet(e, "granules", b, true, 1024)
}
