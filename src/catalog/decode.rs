//! Parquet bytes of one granule's three tables → the [`CatalogEntry`] they were written from.
//!
//! The inverse of `encode`: the manifest comes back exactly (arrays, chunks, groups, links,
//! problems), with each chunk's spatial tagging, so every later stage (the Zarr store, subset,
//! serve, exports) works from the catalog alone without re-reading granule headers.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{Array, BinaryArray, ListArray, RecordBatch, StringArray, TimestampMicrosecondArray, UInt32Array, UInt64Array};
use bytes::Bytes;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection, RowSelectionPolicy, RowSelector};
use parquet::arrow::ProjectionMask;
use serde::de::DeserializeOwned;

use super::{CatalogEntry, ChunkSpatial, GeolocationInfo, GranuleInfo, CATALOG_VERSION};
use crate::manifest::{ArrayMeta, ChunkRef, GranuleManifest};

/// Why a catalog file cannot be read back.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct CatalogReadError {
    /// Table file, as `table/granule.parquet`.
    pub file: String,
    /// What is wrong.
    pub reason: String,
}

struct Table {
    file: String,
    batches: Vec<RecordBatch>,
    vz: serde_json::Value,
}

/// Rows per record batch read back at most.
const MAX_BATCH_ROWS: usize = 1 << 16;

/// One table file, its footer parsed and its `vz` metadata checked, ready to read columns of.
struct TableFile {
    file: String,
    bytes: Bytes,
    metadata: ArrowReaderMetadata,
    vz: serde_json::Value,
}

impl TableFile {
    fn open(table: &str, granule: &str, bytes: Bytes) -> Result<TableFile, CatalogReadError> {
        let file = format!("{table}/{granule}.parquet");
        let fail = |reason: String| CatalogReadError { file: file.clone(), reason };
        let metadata = ArrowReaderMetadata::load(&bytes, ArrowReaderOptions::default()).map_err(|e| fail(e.to_string()))?;
        let vz = metadata
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|k| k.key == "vz"))
            .and_then(|k| k.value.as_deref())
            .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok())
            .ok_or_else(|| fail("no `vz` metadata: not a vz catalog file".into()))?;
        let version = vz["catalog_version"].as_str().unwrap_or("?");
        if version != CATALOG_VERSION {
            return Err(fail(format!(
                "catalog version {version}, this vz reads version {CATALOG_VERSION}: re-index with `vz index --force`"
            )));
        }
        Ok(TableFile { file, bytes, metadata, vz })
    }

    fn fail(&self, reason: String) -> CatalogReadError {
        CatalogReadError { file: self.file.clone(), reason }
    }

    fn builder(&self) -> ParquetRecordBatchReaderBuilder<Bytes> {
        // A granule's table in one batch (a few thousand rows; each batch costs a pass of set-up
        // per column), but never a batch sized by an untrusted row count.
        let rows = usize::try_from(self.metadata.metadata().file_metadata().num_rows()).unwrap_or(0);
        ParquetRecordBatchReaderBuilder::new_with_metadata(self.bytes.clone(), self.metadata.clone())
            .with_batch_size(rows.clamp(1, MAX_BATCH_ROWS))
    }

    /// Per test, the rows whose `path` passes it, from one pass over the `path` column alone: the
    /// other columns of the rows left out are then skipped rather than materialised.
    fn rows_where(&self, tests: &[&dyn Fn(&str) -> bool]) -> Result<Vec<RowSelection>, CatalogReadError> {
        let builder = self.builder();
        let at = builder.schema().index_of("path").map_err(|e| self.fail(e.to_string()))?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), [at]);
        let mut runs: Vec<Vec<RowSelector>> = vec![Vec::new(); tests.len()];
        for batch in builder.with_projection(mask).build().map_err(|e| self.fail(e.to_string()))? {
            let batch = batch.map_err(|e| self.fail(e.to_string()))?;
            let paths = batch.column(0).as_any().downcast_ref::<StringArray>().ok_or_else(|| self.fail("column `path` of the wrong type".into()))?;
            for i in 0..paths.len() {
                for (test, runs) in tests.iter().zip(&mut runs) {
                    let take = !paths.is_null(i) && test(paths.value(i));
                    match runs.last_mut() {
                        Some(r) if r.skip != take => r.row_count += 1,
                        _ => runs.push(if take { RowSelector::select(1) } else { RowSelector::skip(1) }),
                    }
                }
            }
        }
        Ok(runs.into_iter().map(RowSelection::from).collect())
    }

    /// Every column (or only `columns`, in any order, when given) of every row (or of `rows`).
    fn read(&self, columns: Option<&[&str]>, rows: Option<RowSelection>) -> Result<Table, CatalogReadError> {
        let mut builder = self.builder();
        if let Some(names) = columns {
            let schema = builder.schema().clone();
            let roots = schema.fields().iter().enumerate().filter(|(_, f)| names.contains(&f.name().as_str())).map(|(i, _)| i);
            let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
            builder = builder.with_projection(mask);
        }
        if let Some(rows) = rows {
            // Skip the rows left out, never decode them: parquet-rs's default decodes every row
            // and filters by a mask when the selected runs are short, as a group's are (~14 rows).
            builder = builder.with_row_selection(rows).with_row_selection_policy(RowSelectionPolicy::Selectors);
        }
        let reader = builder.build().map_err(|e| self.fail(e.to_string()))?;
        let batches = reader.collect::<Result<Vec<_>, _>>().map_err(|e| self.fail(e.to_string()))?;
        Ok(Table { file: self.file.clone(), batches, vz: self.vz.clone() })
    }
}

impl Table {
    /// Every column of `bytes` (or only `columns`, in any order, when given), and every row (or
    /// only those whose `path` passes `rows`).
    fn read(
        table: &str,
        granule: &str,
        bytes: Bytes,
        columns: Option<&[&str]>,
        rows: Option<&dyn Fn(&str) -> bool>,
    ) -> Result<Table, CatalogReadError> {
        let file = TableFile::open(table, granule, bytes)?;
        let selection = match rows {
            Some(keep) => file.rows_where(&[keep])?.pop(),
            None => None,
        };
        file.read(columns, selection)
    }

    fn fail(&self, reason: impl Into<String>) -> CatalogReadError {
        CatalogReadError { file: self.file.clone(), reason: reason.into() }
    }

    fn column<'a, T: 'static>(&self, batch: &'a RecordBatch, name: &str) -> Result<&'a T, CatalogReadError> {
        batch
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<T>())
            .ok_or_else(|| self.fail(format!("column `{name}` missing or of the wrong type")))
    }

    fn json<T: DeserializeOwned>(&self, column: &str, text: &str) -> Result<T, CatalogReadError> {
        serde_json::from_str(text).map_err(|e| self.fail(format!("column `{column}`: {e}")))
    }
}

fn opt_str(a: &StringArray, i: usize) -> Option<&str> {
    (!a.is_null(i)).then(|| a.value(i))
}

fn u64_list(a: &ListArray, i: usize) -> Vec<u64> {
    if a.is_null(i) {
        return Vec::new();
    }
    let values = a.value(i);
    if let Some(v) = values.as_any().downcast_ref::<UInt64Array>() {
        v.values().to_vec()
    } else if let Some(v) = values.as_any().downcast_ref::<UInt32Array>() {
        v.values().iter().map(|&x| u64::from(x)).collect()
    } else {
        Vec::new()
    }
}

fn seconds(a: &TimestampMicrosecondArray, i: usize) -> Option<f64> {
    (!a.is_null(i)).then(|| a.value(i) as f64 / 1e6)
}

/// Rebuild the entry of granule `granule` from its three table files.
///
/// # Errors
/// When a file is not a vz catalog file of this version, or a column is missing or malformed.
pub fn decode_entry(granule: &str, granules: Bytes, arrays: Bytes, chunks: Bytes) -> Result<CatalogEntry, CatalogReadError> {
    decode(granule, granules, arrays, chunks, None)
}

/// Which arrays a partial read keeps ([`decode_entry_selected`]).
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Array paths to decode (metadata and chunks); the others are left out of the manifest.
    pub arrays: HashSet<String>,
    /// Of those, the arrays whose chunks keep their H3 cells and WKB geometry; the chunks of the
    /// others keep rows, points and time only (empty `h3`, no `wkb`).
    pub footprints: HashSet<String>,
}

/// Columns a partial read needs, per table (what [`decode`] reads without the file's geometry,
/// covering, Zarr metadata and JSON of groups, links and problems).
const GRANULE_COLUMNS: [&str; 7] = ["url", "size", "source", "etag", "last_modified", "time_min", "time_max"];
const ARRAY_COLUMNS: [&str; 15] = [
    "path", "group", "shape", "chunk_shape", "dtype", "layout", "filters", "fill", "attributes", "dimensions", "maxshape",
    "chunk_index", "inline", "external", "unsupported",
];
/// The chunks table's, but for [`SHAPE_COLUMNS`]: those are read apart, for the arrays that keep them.
const CHUNK_COLUMNS: [&str; 11] = ["path", "chunk", "url", "offset", "length", "filter_mask", "row_start", "row_end", "points", "time_min", "time_max"];
const SHAPE_COLUMNS: [&str; 2] = ["h3", "geometry"];

/// A partial [`decode_entry`] for readers that need a few arrays (`vz subset`): `select` sees the
/// geolocated groups and names the arrays to keep. The manifest then holds only those arrays (no
/// groups, links or problems), `spatial` only their tagging, and `footprint` is `None`; only the
/// Parquet columns that fill these are decoded.
///
/// # Errors
/// As [`decode_entry`].
pub fn decode_entry_selected(
    granule: &str,
    granules: Bytes,
    arrays: Bytes,
    chunks: Bytes,
    select: &(dyn Fn(&[GeolocationInfo]) -> Selection + Send + Sync),
) -> Result<CatalogEntry, CatalogReadError> {
    decode(granule, granules, arrays, chunks, Some(select))
}

fn decode(
    granule: &str,
    granules: Bytes,
    arrays: Bytes,
    chunks: Bytes,
    select: Option<&(dyn Fn(&[GeolocationInfo]) -> Selection + Send + Sync)>,
) -> Result<CatalogEntry, CatalogReadError> {
    let partial = select.is_some();
    let g = Table::read("granules", granule, granules, partial.then_some(&GRANULE_COLUMNS[..]), None)?;
    let mut manifest = GranuleManifest {
        url: String::new(),
        size: 0,
        source: crate::manifest::SourceKind::Hdf5,
        groups: Vec::new(),
        arrays: Vec::new(),
        links: Vec::new(),
        problems: Vec::new(),
    };
    let mut info = GranuleInfo { id: granule.to_string(), ..GranuleInfo::default() };
    let (mut footprint, mut time) = (None, None);
    let batch = g.batches.iter().find(|b| b.num_rows() > 0).ok_or_else(|| g.fail("no row"))?;
    manifest.url = g.column::<StringArray>(batch, "url")?.value(0).to_string();
    manifest.size = g.column::<UInt64Array>(batch, "size")?.value(0);
    manifest.source = g.json("source", &format!("\"{}\"", g.column::<StringArray>(batch, "source")?.value(0)))?;
    if !partial {
        manifest.problems = g.json("problems", g.column::<StringArray>(batch, "problems")?.value(0))?;
        manifest.groups = g.json("groups", g.column::<StringArray>(batch, "groups")?.value(0))?;
        manifest.links = g.json("links", g.column::<StringArray>(batch, "links")?.value(0))?;
    }
    info.etag = opt_str(g.column::<StringArray>(batch, "etag")?, 0).map(String::from);
    let modified = g.column::<TimestampMicrosecondArray>(batch, "last_modified")?;
    info.last_modified_ms = (!modified.is_null(0)).then(|| modified.value(0) / 1000);
    let (t0, t1) = (g.column::<TimestampMicrosecondArray>(batch, "time_min")?, g.column::<TimestampMicrosecondArray>(batch, "time_max")?);
    if let (Some(a), Some(b)) = (seconds(t0, 0), seconds(t1, 0)) {
        time = Some((a, b));
    }
    if !partial {
        let geometry = g.column::<BinaryArray>(batch, "geometry")?;
        if !geometry.is_null(0) {
            footprint = Some(geometry.value(0).to_vec());
        }
    }
    let h3_resolution = g.vz["h3_resolution"].as_u64().and_then(|r| u8::try_from(r).ok()).ok_or_else(|| g.fail("no h3_resolution"))?;
    let geolocation: Vec<GeolocationInfo> = g.vz["geolocation"]
        .as_array()
        .map(|groups| {
            groups
                .iter()
                .map(|v| GeolocationInfo {
                    group: v["group"].as_str().unwrap_or_default().to_string(),
                    latitude: v["latitude"].as_str().unwrap_or_default().to_string(),
                    longitude: v["longitude"].as_str().unwrap_or_default().to_string(),
                    time: v["time"].as_str().map(String::from),
                    rows: v["rows"].as_u64().unwrap_or(0),
                })
                .collect()
        })
        .unwrap_or_default();
    let selection = select.map(|f| f(&geolocation));
    let keep = |path: &str| selection.as_ref().is_none_or(|s| s.arrays.contains(path));
    let footprinted = |path: &str| selection.as_ref().is_none_or(|s| s.footprints.contains(path));

    let kept: &dyn Fn(&str) -> bool = &keep;
    let a = Table::read("arrays", granule, arrays, partial.then_some(&ARRAY_COLUMNS[..]), partial.then_some(kept))?;
    let mut groups_of: HashMap<String, String> = HashMap::new();
    for batch in &a.batches {
        let path = a.column::<StringArray>(batch, "path")?;
        let group = a.column::<StringArray>(batch, "group")?;
        let (shape, chunk_shape) = (a.column::<ListArray>(batch, "shape")?, a.column::<ListArray>(batch, "chunk_shape")?);
        let text = |name: &str| a.column::<StringArray>(batch, name);
        let (dtype, layout, filters, fill, attributes, dims) =
            (text("dtype")?, text("layout")?, text("filters")?, text("fill")?, text("attributes")?, text("dimensions")?);
        let (maxshape, chunk_index, external, unsupported) = (text("maxshape")?, text("chunk_index")?, text("external")?, text("unsupported")?);
        let inline = a.column::<BinaryArray>(batch, "inline")?;
        for i in 0..batch.num_rows() {
            if !keep(path.value(i)) {
                continue;
            }
            if let Some(g) = opt_str(group, i) {
                groups_of.insert(path.value(i).to_string(), g.to_string());
            }
            manifest.arrays.push(ArrayMeta {
                path: path.value(i).to_string(),
                shape: u64_list(shape, i),
                maxshape: a.json("maxshape", maxshape.value(i))?,
                dtype: a.json("dtype", dtype.value(i))?,
                layout: a.json("layout", &format!("\"{}\"", layout.value(i)))?,
                chunk_shape: u64_list(chunk_shape, i),
                chunk_index: opt_str(chunk_index, i).map(|k| a.json("chunk_index", &format!("\"{k}\""))).transpose()?,
                filters: a.json("filters", filters.value(i))?,
                fill: a.json("fill", fill.value(i))?,
                attributes: a.json("attributes", attributes.value(i))?,
                dimensions: a.json("dimensions", dims.value(i))?,
                chunks: Vec::new(),
                inline: (!inline.is_null(i)).then(|| inline.value(i).to_vec()),
                external: a.json("external", external.value(i))?,
                unsupported: opt_str(unsupported, i).map(String::from),
            });
        }
    }

    // A partial read decodes H3 cells and geometry (most of the table, and list columns, the
    // slowest kind to decode) only for the chunks that keep them, in a second read of those rows;
    // every chunk of a geolocated group repeats its latitude chunk's cells.
    let chunk_file = TableFile::open("chunks", granule, chunks)?;
    let (c, mut shapes) = if partial {
        let shaped: &dyn Fn(&str) -> bool = &|p: &str| keep(p) && footprinted(p);
        let mut rows = chunk_file.rows_where(&[kept, shaped])?.into_iter();
        let (kept_rows, shaped_rows) = (rows.next(), rows.next());
        let c = chunk_file.read(Some(&CHUNK_COLUMNS[..]), kept_rows)?;
        let f = chunk_file.read(Some(&SHAPE_COLUMNS[..]), shaped_rows)?;
        let mut shapes = Vec::new();
        for batch in &f.batches {
            let (h3, geometry) = (f.column::<ListArray>(batch, "h3")?, f.column::<BinaryArray>(batch, "geometry")?);
            shapes.extend((0..batch.num_rows()).map(|i| (u64_list(h3, i), (!geometry.is_null(i)).then(|| geometry.value(i).to_vec()))));
        }
        (c, shapes.into_iter())
    } else {
        (chunk_file.read(None, None)?, Vec::new().into_iter())
    };
    let index: HashMap<String, usize> = manifest.arrays.iter().enumerate().map(|(i, a)| (a.path.clone(), i)).collect();
    // Per array: (chunk, spatial) pairs, sorted by coordinates below to restore the manifest order.
    let mut found: Vec<Vec<(ChunkRef, Option<ChunkSpatial>)>> = vec![Vec::new(); manifest.arrays.len()];
    for batch in &c.batches {
        let path = c.column::<StringArray>(batch, "path")?;
        let coords = c.column::<ListArray>(batch, "chunk")?;
        let url = c.column::<StringArray>(batch, "url")?;
        let (offset, length) = (c.column::<UInt64Array>(batch, "offset")?, c.column::<UInt64Array>(batch, "length")?);
        let mask = c.column::<UInt32Array>(batch, "filter_mask")?;
        let (row_start, row_end) = (c.column::<UInt64Array>(batch, "row_start")?, c.column::<UInt64Array>(batch, "row_end")?);
        let points = c.column::<UInt64Array>(batch, "points")?;
        let (t0, t1) = (c.column::<TimestampMicrosecondArray>(batch, "time_min")?, c.column::<TimestampMicrosecondArray>(batch, "time_max")?);
        let whole = if partial { None } else { Some((c.column::<ListArray>(batch, "h3")?, c.column::<BinaryArray>(batch, "geometry")?)) };
        for i in 0..batch.num_rows() {
            if !keep(path.value(i)) {
                continue;
            }
            let &slot = index.get(path.value(i)).ok_or_else(|| c.fail(format!("chunk of `{}`, which the arrays table lacks", path.value(i))))?;
            let (h3, wkb) = match (footprinted(path.value(i)), whole) {
                (false, _) => (Vec::new(), None),
                (true, Some((h3, geometry))) => (u64_list(h3, i), (!geometry.is_null(i)).then(|| geometry.value(i).to_vec())),
                (true, None) => shapes.next().ok_or_else(|| c.fail("fewer H3 cells and geometries than chunks read"))?,
            };
            let href = (url.value(i) != manifest.url).then(|| Arc::new(url.value(i).to_string()));
            let chunk = ChunkRef { coords: u64_list(coords, i).into(), offset: offset.value(i), length: length.value(i), filter_mask: mask.value(i), href };
            let spatial = (!row_start.is_null(i)).then(|| ChunkSpatial {
                rows: row_start.value(i)..row_end.value(i),
                points: points.value(i),
                wkb,
                h3,
                time: seconds(t0, i).zip(seconds(t1, i)),
                row_boxes: Vec::new(),
            });
            found[slot].push((chunk, spatial));
        }
    }
    let mut spatial = HashMap::new();
    for (array, mut chunks) in manifest.arrays.iter_mut().zip(found) {
        chunks.sort_by(|x, y| x.0.coords.cmp(&y.0.coords));
        let tagged = chunks.iter().all(|(_, s)| s.is_some());
        if let (Some(group), true) = (groups_of.get(&array.path), tagged) {
            let list = chunks.iter().filter_map(|(_, s)| s.clone()).collect();
            spatial.insert(array.path.clone(), (group.clone(), list));
        }
        array.chunks = chunks.into_iter().map(|(c, _)| c).collect();
    }
    Ok(CatalogEntry { info, manifest, geolocation, spatial, footprint, time, h3_resolution })
}
