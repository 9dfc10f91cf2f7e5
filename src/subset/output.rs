//! The subset's points as one GeoParquet table: granule, track, group and row (to join back to
//! the granule), coordinates, UTC time, the value
//! columns in their own numeric types (fill values as nulls), and a WKB point geometry.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use arrow::array::{
    new_null_array, Array, ArrayRef, BinaryArray, DictionaryArray, Float64Array, Int32Array, RecordBatch, StringArray,
    StructArray, TimestampMicrosecondArray, UInt64Array,
};
use arrow::buffer::{Buffer, OffsetBuffer};
use arrow::compute::{cast, concat};
use arrow::datatypes::{DataType, Field, Int32Type, Schema};
use arrow::error::ArrowError;
use geoparquet::writer::{GeoParquetRecordBatchEncoder, GeoParquetWriterEncoding, GeoParquetWriterOptionsBuilder};
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::catalog::{utc, wkb_binary, wkb_field, WriteFailure};

/// One value column: its name, and the pieces the groups that have it contributed, each with the
/// table row it starts at (rows of groups without the column are nulls).
#[derive(Clone, Debug)]
struct Column {
    name: String,
    pieces: Vec<(usize, ArrayRef)>,
}

/// Points selected so far, from any number of granules and groups.
#[derive(Clone, Debug, Default)]
pub struct PointTable {
    /// Granule, track and group of each run of rows, with the run's length.
    runs: Vec<(String, String, String, usize)>,
    row: Vec<u64>,
    lat: Vec<f64>,
    lon: Vec<f64>,
    time: Vec<Option<f64>>,
    columns: Vec<Column>,
}

/// The rows one group contributes.
pub struct GroupRows {
    /// Granule id.
    pub granule: String,
    /// Track id of the group (beam with reference ground track, cycle and region).
    pub track: String,
    /// Geolocated group path.
    pub group: String,
    /// Row of each point in the group's arrays.
    pub rows: Vec<u64>,
    /// Latitude of each point.
    pub lat: Vec<f64>,
    /// Longitudes.
    pub lon: Vec<f64>,
    /// Unix seconds, when the group has a time array.
    pub time: Vec<Option<f64>>,
    /// Value columns: name, and a value (or null) per row in the element type of the array.
    pub columns: Vec<(String, ArrayRef)>,
}

impl PointTable {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.lat.len()
    }

    /// Whether no point was selected.
    pub fn is_empty(&self) -> bool {
        self.lat.is_empty()
    }

    /// Append a group's rows; columns it lacks get nulls, new columns get nulls for earlier rows.
    pub fn append(&mut self, rows: GroupRows) {
        let (before, n) = (self.len(), rows.lat.len());
        self.runs.push((rows.granule, rows.track, rows.group, n));
        self.row.extend(rows.rows);
        self.lat.extend(rows.lat);
        self.lon.extend(rows.lon);
        self.time.extend(rows.time);
        for (name, values) in rows.columns {
            match self.columns.iter_mut().find(|c| c.name == name) {
                Some(c) => c.pieces.push((before, values)),
                None => self.columns.push(Column { name, pieces: vec![(before, values)] }),
            }
        }
    }

    /// The table as GeoParquet written to `out` (`extra` is added as key-value metadata). The
    /// table is consumed: its vectors become the Arrow columns without a copy.
    pub(crate) fn write_geoparquet<W: Write + Send>(self, extra: KeyValue, out: W) -> Result<(), WriteFailure> {
        let n = self.len();
        let PointTable { runs, row, lat, lon, time, columns: values } = self;
        // WKB points (`wkb::point`: little-endian Point, x y) written into one buffer.
        let mut wkb = Vec::with_capacity(n * POINT_WKB);
        for (&x, &y) in lon.iter().zip(&lat) {
            wkb.extend_from_slice(&[1, 1, 0, 0, 0]);
            wkb.extend_from_slice(&x.to_le_bytes());
            wkb.extend_from_slice(&y.to_le_bytes());
        }
        let time: TimestampMicrosecondArray = time.into_iter().map(|t| t.map(|s| (s * 1e6).round() as i64)).collect();
        let mut columns: Vec<ArrayRef> = vec![
            text_column(&runs, |r| &r.0),
            text_column(&runs, |r| &r.1),
            text_column(&runs, |r| &r.2),
            Arc::new(UInt64Array::from(row)),
            Arc::new(Float64Array::from(lat)),
            Arc::new(Float64Array::from(lon)),
            Arc::new(time.with_timezone("UTC")),
        ];
        let text = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        let mut fields = vec![
            Field::new("granule", text.clone(), false),
            Field::new("track_id", text.clone(), false),
            Field::new("group", text, false),
            Field::new("row", DataType::UInt64, false),
            Field::new("latitude", DataType::Float64, false),
            Field::new("longitude", DataType::Float64, false),
            Field::new("time", utc(), true),
        ];
        for c in &values {
            let array = c.concat(n).map_err(|e| WriteFailure::Parquet(ParquetError::General(format!("column `{}`: {e}", c.name))))?;
            fields.push(Field::new(&c.name, array.data_type().clone(), true));
            columns.push(array);
        }
        let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(POINT_WKB, n));
        fields.push(wkb_field("geometry"));
        columns.push(wkb_binary(BinaryArray::new(offsets, Buffer::from_vec(wkb), None)));
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
            .map_err(|e| WriteFailure::Parquet(parquet::errors::ParquetError::General(e.to_string())))?;
        write_parallel(&batch, extra, out)
    }
}

/// A text column that repeats one value per run (granule, track, group) as a dictionary: a key
/// per row instead of a copy of the text per row. The file stores it as plain strings
/// ([`write_parallel`]), dictionary-encoded.
fn text_column(runs: &[(String, String, String, usize)], f: fn(&(String, String, String, usize)) -> &str) -> ArrayRef {
    let (mut index, mut values) = (HashMap::new(), Vec::new());
    let mut keys = Vec::with_capacity(runs.iter().map(|r| r.3).sum());
    for r in runs {
        let key = *index.entry(f(r)).or_insert_with(|| {
            values.push(f(r));
            values.len() as i32 - 1
        });
        keys.extend(std::iter::repeat_n(key, r.3));
    }
    Arc::new(DictionaryArray::<Int32Type>::new(Int32Array::from(keys), Arc::new(StringArray::from(values))))
}

/// `schema` with dictionary-typed fields as their value type: the schema the file declares, so
/// readers see the text columns as strings.
fn plain_schema(schema: &Schema) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Dictionary(_, value) => f.as_ref().clone().with_data_type(value.as_ref().clone()),
            _ => f.as_ref().clone(),
        })
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// Rows per row group of the output.
const ROW_GROUP: usize = 65_536;

/// The batch as GeoParquet (WKB, `bbox` covering), written to `out`. Column chunks are
/// independent, so they are encoded and compressed on one worker per core, which take them from a
/// shared queue: this is the one step of a subset that runs after every granule is done. (A thread per column chunk,
/// thirty for a typical subset, cost a thread start and fresh memory each: more CPU and page
/// faults than two workers, for no more parallelism on two cores.)
fn write_parallel<W: Write + Send>(batch: &RecordBatch, extra: KeyValue, out: W) -> Result<(), WriteFailure> {
    let (pq, geo) = (WriteFailure::Parquet, WriteFailure::GeoArrow);
    let options = GeoParquetWriterOptionsBuilder::default()
        .set_encoding(GeoParquetWriterEncoding::WKB)
        .set_generate_covering(true)
        .build();
    let mut encoder = GeoParquetRecordBatchEncoder::try_new(batch.schema().as_ref(), &options).map_err(geo)?;
    let schema = encoder.target_schema();
    let (encoded, geo_metadata) = match points_covering(batch, &schema) {
        Some(done) => done,
        None => {
            let encoded = encoder.encode_record_batch(batch).map_err(geo)?;
            (encoded, encoder.into_keyvalue().map_err(geo)?)
        }
    };
    // The file declares the dictionary-typed text columns as strings; their writers take the
    // dictionaries as they are.
    let schema = Arc::new(plain_schema(&schema));
    let writer = ArrowWriter::try_new(out, schema.clone(), Some(writer_properties(&schema))).map_err(pq)?;
    let (mut file, factory) = writer.into_serialized_writer().map_err(pq)?;
    let rows = encoded.num_rows();
    // A job per column of each row group: its writers (one per Parquet leaf: the `bbox` struct has
    // four), its field and values, and the position of its first leaf in the file. The workers
    // compute the leaves' levels too, so nothing but the queue is built on this thread.
    let mut jobs = Vec::new();
    let mut columns = 0;
    for (index, start) in (0..rows).step_by(ROW_GROUP).enumerate() {
        let part = encoded.slice(start, ROW_GROUP.min(rows - start));
        let mut writers = factory.create_column_writers(index).map_err(pq)?.into_iter();
        columns = writers.len();
        let mut at = index * columns;
        for (field, column) in schema.fields().iter().zip(part.columns()) {
            let n = leaf_count(field.data_type());
            jobs.push((at, writers.by_ref().take(n).collect::<Vec<_>>(), field.clone(), column.clone()));
            at += n;
        }
    }
    let queue = Mutex::new(jobs.into_iter());
    let done: Mutex<Vec<(usize, Result<ArrowColumnChunk, ParquetError>)>> = Mutex::default();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| loop {
                    let job = queue.lock().map(|mut q| q.next());
                    let Ok(Some((at, writers, field, column))) = job else { break };
                    let chunks: Vec<_> = match compute_leaves(&field, &column) {
                        Ok(leaves) if leaves.len() == writers.len() => writers
                            .into_iter()
                            .zip(leaves)
                            .map(|(mut writer, leaf)| writer.write(&leaf).and_then(|()| writer.close()))
                            .collect(),
                        Ok(_) => vec![Err(ParquetError::General(format!("column `{}`: leaves do not match the schema", field.name())))],
                        Err(e) => vec![Err(e)],
                    };
                    if let Ok(mut d) = done.lock() {
                        d.extend(chunks.into_iter().enumerate().map(|(i, c)| (at + i, c)));
                    }
                })
            })
            .collect();
        // Joined here, so a worker's panic is not re-raised: its chunk is missing, reported below.
        for w in workers {
            let _ = w.join();
        }
    });
    let panicked = || pq(ParquetError::General("a column encoder panicked".into()));
    let mut chunks = done.into_inner().map_err(|_| panicked())?;
    chunks.sort_by_key(|(at, _)| *at);
    if chunks.len() != columns * rows.div_ceil(ROW_GROUP) {
        // A job that failed before its leaves reports one error for all of them; a panicked
        // worker's job, nothing.
        return Err(chunks.into_iter().find_map(|(_, c)| c.err()).map_or_else(panicked, pq));
    }
    let mut chunks = chunks.into_iter().map(|(_, c)| c);
    for _ in 0..rows.div_ceil(ROW_GROUP) {
        let mut group = file.next_row_group().map_err(pq)?;
        for chunk in chunks.by_ref().take(columns) {
            chunk.map_err(pq)?.append_to_row_group(&mut group).map_err(pq)?;
        }
        group.close().map_err(pq)?;
    }
    file.append_key_value_metadata(geo_metadata);
    file.append_key_value_metadata(extra);
    file.close().map_err(pq)?;
    Ok(())
}

/// Parquet leaf columns of an Arrow field: one, or one per leaf of a struct's children.
fn leaf_count(data_type: &DataType) -> usize {
    match data_type {
        DataType::Struct(children) => children.iter().map(|c| leaf_count(c.data_type())).sum(),
        DataType::List(child) | DataType::LargeList(child) | DataType::FixedSizeList(child, _) => leaf_count(child.data_type()),
        _ => 1,
    }
}

/// Bytes of one 2-D WKB point.
const POINT_WKB: usize = 21;

/// The batch with its `bbox` covering column (`schema`: the GeoParquet encoder's target schema),
/// and the `geo` metadata, computed from the coordinate columns: a point's box is the point, so the
/// encoder's pass parsing every WKB value is not needed. `None` for an empty batch (the encoder
/// then writes what GeoParquet says of an empty column) or a schema of another shape.
fn points_covering(batch: &RecordBatch, schema: &Schema) -> Option<(RecordBatch, KeyValue)> {
    let column = |name: &str| batch.column_by_name(name).filter(|_| batch.num_rows() > 0);
    let (lon, lat) = (column("longitude")?.clone(), column("latitude")?.clone());
    let DataType::Struct(fields) = schema.field_with_name("bbox").ok()?.data_type() else { return None };
    let covering = StructArray::try_new(fields.clone(), vec![lon.clone(), lat.clone(), lon.clone(), lat.clone()], None).ok()?;
    let mut columns = batch.columns().to_vec();
    columns.push(Arc::new(covering));
    let encoded = RecordBatch::try_new(Arc::new(schema.clone()), columns).ok()?;
    let range = |a: &ArrayRef| {
        let v = a.as_any().downcast_ref::<Float64Array>()?.values();
        Some(v.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x))))
    };
    let ((x0, x1), (y0, y1)) = (range(&lon)?, range(&lat)?);
    let bbox = serde_json::json!([x0, y0, x1, y1]);
    let geo = format!(
        r#"{{"version":"1.1.0","primary_column":"geometry","columns":{{"geometry":{{"encoding":"WKB","geometry_types":["Point"],"bbox":{bbox},"covering":{{"bbox":{{"xmin":["bbox","xmin"],"ymin":["bbox","ymin"],"xmax":["bbox","xmax"],"ymax":["bbox","ymax"]}}}}}}}}}}"#
    );
    Some((encoded, KeyValue::new("geo".into(), Some(geo))))
}

/// How the points are encoded (`schema`: the GeoParquet encoder's target schema): dictionaries only
/// for the repeated text columns (granule, track, group: a handful of values each); coordinates,
/// rows and values are near-unique, so trying a dictionary on them costs a hash per value for
/// nothing. Float columns (coordinates, covering, values) are BYTE_STREAM_SPLIT: their sign,
/// exponent and high mantissa bytes, alike over a region, become long runs that compress, where
/// interleaved they barely do. LZ4_RAW, not zstd level 1: 7 % less wall time for a 10 % larger
/// file (4.95 against 4.50 MB for the Greenland bench subset), and no zstd context set-up per
/// column chunk (see the catalog's `parquet_bytes`). No statistics on the WKB column: min/max of
/// WKB bytes mean nothing and cost a comparison per point (the covering has the real ones).
fn writer_properties(schema: &Schema) -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::LZ4_RAW)
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .set_dictionary_enabled(false)
        .set_column_statistics_enabled(ColumnPath::from("geometry"), EnabledStatistics::None);
    for c in ["granule", "track_id", "group"] {
        b = b.set_column_dictionary_enabled(ColumnPath::from(c), true);
    }
    let float = |t: &DataType| matches!(t, DataType::Float32 | DataType::Float64);
    for field in schema.fields() {
        let mut leaves = Vec::new();
        match field.data_type() {
            DataType::Struct(children) => {
                leaves.extend(children.iter().filter(|c| float(c.data_type())).map(|c| vec![field.name().clone(), c.name().clone()]));
            }
            t if float(t) => leaves.push(vec![field.name().clone()]),
            _ => {}
        }
        for path in leaves {
            b = b.set_column_encoding(ColumnPath::new(path), Encoding::BYTE_STREAM_SPLIT);
        }
    }
    b.build()
}

impl Column {
    /// The column over all `rows` of the table: nulls where a group lacked it, every piece in the
    /// type of the first (a later granule storing the array in another type is cast to it).
    fn concat(&self, rows: usize) -> Result<ArrayRef, ArrowError> {
        let Some(data_type) = self.pieces.first().map(|(_, a)| a.data_type().clone()) else {
            return Ok(new_null_array(&DataType::Float64, rows));
        };
        let mut parts: Vec<ArrayRef> = Vec::with_capacity(self.pieces.len() * 2 + 1);
        let mut at = 0;
        for (start, piece) in &self.pieces {
            if *start > at {
                parts.push(new_null_array(&data_type, start - at));
            }
            parts.push(if piece.data_type() == &data_type { piece.clone() } else { cast(piece, &data_type)? });
            at = start + piece.len();
        }
        if rows > at {
            parts.push(new_null_array(&data_type, rows - at));
        }
        concat(&parts.iter().map(AsRef::as_ref).collect::<Vec<_>>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float32Array, Int8Array};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    /// More rows than one row group holds: every column chunk, encoded by the worker pool, lands
    /// in its own row group in order, and the values read back as written; a column one group
    /// lacks is null there, and a piece of another type is cast to the column's.
    #[test]
    fn several_row_groups_read_back_in_order() {
        let n = ROW_GROUP * 2 + 123;
        let mut table = PointTable::default();
        for (half, rows) in [(0, 0..n / 2), (1, n / 2..n)] {
            let rows: Vec<u64> = rows.map(|r| r as u64).collect();
            let lat = rows.iter().map(|&r| 60.0 + r as f64 * 1e-5).collect();
            let lon = rows.iter().map(|&r| -40.0 - r as f64 * 1e-5).collect();
            let h: Float32Array = rows.iter().map(|&r| (r % 7 != 0).then_some(r as f32)).collect();
            let columns = if half == 0 {
                vec![("h_li".into(), Arc::new(h) as ArrayRef)]
            } else {
                // A column the first group lacks, and `h_li` stored as f64 by this granule.
                let q: Int8Array = rows.iter().map(|&r| Some((r % 100) as i8)).collect();
                let h = arrow::compute::cast(&h, &DataType::Float64).expect("cast");
                vec![("quality".into(), Arc::new(q) as ArrayRef), ("h_li".into(), h)]
            };
            table.append(GroupRows {
                granule: format!("G{half}"),
                track: "gt1l".into(),
                group: "/gt1l/land_ice_segments".into(),
                time: vec![Some(1.5e9); rows.len()],
                lat,
                lon,
                rows,
                columns,
            });
        }
        let mut bytes = Vec::new();
        let Ok(()) = table.write_geoparquet(KeyValue::new("vz".into(), Some("{}".into())), &mut bytes) else { panic!("encode failed") };
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).expect("open");
        assert_eq!(reader.metadata().num_row_groups(), 3);
        // The text columns, fed to the writer as dictionaries, are strings in the file.
        assert_eq!(reader.schema().field_with_name("granule").map(|f| f.data_type().clone()).ok(), Some(DataType::Utf8));
        let mut granules = Vec::new();
        let (mut row, mut h, mut q) = (Vec::new(), Vec::new(), Vec::new());
        for batch in reader.build().expect("read") {
            let batch = batch.expect("batch");
            let r = batch.column_by_name("row").expect("row").as_any().downcast_ref::<UInt64Array>().expect("u64");
            row.extend(r.values().iter().copied());
            let g = batch.column_by_name("granule").expect("granule").as_any().downcast_ref::<StringArray>().expect("utf8");
            granules.extend(g.iter().map(|v| v.map(String::from)));
            let v = batch.column_by_name("h_li").expect("h_li").as_any().downcast_ref::<Float32Array>().expect("f32");
            h.extend((0..v.len()).map(|i| v.is_valid(i).then(|| v.value(i))));
            let v = batch.column_by_name("quality").expect("quality").as_any().downcast_ref::<Int8Array>().expect("i8");
            q.extend((0..v.len()).map(|i| v.is_valid(i).then(|| v.value(i))));
        }
        assert_eq!(row, (0..n as u64).collect::<Vec<_>>());
        assert_eq!(granules, (0..n).map(|r| Some(format!("G{}", usize::from(r >= n / 2)))).collect::<Vec<_>>());
        assert_eq!(h, (0..n).map(|r| (r % 7 != 0).then_some(r as f32)).collect::<Vec<_>>());
        assert_eq!(q, (0..n).map(|r| (r >= n / 2).then_some((r % 100) as i8)).collect::<Vec<_>>());
    }
}
