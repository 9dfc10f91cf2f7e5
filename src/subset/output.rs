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
use arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef};
use arrow::error::ArrowError;
use geoparquet::writer::{GeoParquetRecordBatchEncoder, GeoParquetWriterEncoding, GeoParquetWriterOptionsBuilder};
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowRowGroupWriterFactory};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;

use super::SubsetError;
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
    pub(crate) fn write_geoparquet<W: Write + Send>(self, extra: KeyValue, out: W) -> Result<W, WriteFailure> {
        write_parallel(&self.into_batch(None)?, extra, out)
    }

    /// The value columns so far, with the type of the first piece of each: what a streamed output
    /// fixes when it writes its first row group.
    fn value_columns(&self) -> Vec<(String, DataType)> {
        self.columns.iter().map(|c| (c.name.clone(), c.data_type())).collect()
    }

    /// The first `n` rows, taken off the table.
    fn split_front(&mut self, n: usize) -> PointTable {
        let n = n.min(self.len());
        let mut runs = Vec::new();
        let mut left = n;
        let mut whole = 0;
        for r in &mut self.runs {
            if left == 0 {
                break;
            }
            let take = r.3.min(left);
            runs.push((r.0.clone(), r.1.clone(), r.2.clone(), take));
            r.3 -= take;
            left -= take;
            whole += usize::from(r.3 == 0);
        }
        self.runs.drain(..whole);
        let mut columns = Vec::new();
        for c in &mut self.columns {
            let mut front = Vec::new();
            let mut back = Vec::new();
            for (start, piece) in c.pieces.drain(..) {
                let end = start + piece.len();
                if end <= n {
                    front.push((start, piece));
                } else if start >= n {
                    back.push((start - n, piece));
                } else {
                    front.push((start, piece.slice(0, n - start)));
                    back.push((0, piece.slice(n - start, end - n)));
                }
            }
            c.pieces = back;
            if !front.is_empty() {
                columns.push(Column { name: c.name.clone(), pieces: front });
            }
        }
        PointTable {
            runs,
            row: front(&mut self.row, n),
            lat: front(&mut self.lat, n),
            lon: front(&mut self.lon, n),
            time: front(&mut self.time, n),
            columns,
        }
    }

    /// The table as one record batch: text columns as dictionaries, then the value columns (those
    /// of `fixed`, in its order and types, when given: a column this table lacks is all nulls),
    /// then the WKB points.
    fn into_batch(self, fixed: Option<&[(String, DataType)]>) -> Result<RecordBatch, WriteFailure> {
        let n = self.len();
        let failure = |e: String| WriteFailure::Parquet(ParquetError::General(e));
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
        let wanted: Vec<(String, Option<DataType>)> = match fixed {
            Some(f) => f.iter().map(|(name, t)| (name.clone(), Some(t.clone()))).collect(),
            None => values.iter().map(|c| (c.name.clone(), None)).collect(),
        };
        for (name, data_type) in wanted {
            let array = match values.iter().find(|c| c.name == name) {
                Some(c) => c.concat(n, data_type.as_ref()).map_err(|e| failure(format!("column `{name}`: {e}")))?,
                None => new_null_array(data_type.as_ref().unwrap_or(&DataType::Float64), n),
            };
            fields.push(Field::new(&name, array.data_type().clone(), true));
            columns.push(array);
        }
        if let Some(extra) = values.iter().find(|c| fixed.is_some_and(|f| !f.iter().any(|(name, _)| *name == c.name))) {
            return Err(failure(format!("column `{}` is not among the output's columns", extra.name)));
        }
        let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(POINT_WKB, n));
        fields.push(wkb_field("geometry"));
        columns.push(wkb_binary(BinaryArray::new(offsets, Buffer::from_vec(wkb), None)));
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| failure(e.to_string()))
    }
}

impl From<WriteFailure> for SubsetError {
    fn from(f: WriteFailure) -> Self {
        let reason = match f {
            WriteFailure::Parquet(e) => e.to_string(),
            WriteFailure::GeoArrow(e) => e.to_string(),
        };
        SubsetError::Output { path: String::new(), reason }
    }
}

/// The first `n` elements of `v`, taken off it.
fn front<T>(v: &mut Vec<T>, n: usize) -> Vec<T> {
    let back = v.split_off(n.min(v.len()));
    std::mem::replace(v, back)
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

/// The subset's points as GeoParquet, written as they come: once a row group's worth of points is
/// pending it is encoded and written, while later granules are still being read, so memory holds
/// at most about one row group of points and the encoding overlaps the reads.
///
/// The first row group fixes the value columns (names and types: later pieces are cast, missing
/// ones are nulls); [`PointWriter::check`] refuses a later granule bringing a column that is not
/// among them. A subset smaller than one row group is written at [`PointWriter::finish`], exactly
/// as [`PointTable::write_geoparquet`] writes it.
pub struct PointWriter<W: Write + Send> {
    extra: KeyValue,
    pending: PointTable,
    written: usize,
    /// `None` only while a row group is being written.
    state: Option<Stream<W>>,
}

enum Stream<W: Write + Send> {
    /// Nothing written yet.
    Idle(W),
    /// The file is open with these value columns; `bbox` covers the points written.
    Open { file: OpenFile<W>, values: Vec<(String, DataType)>, bbox: [f64; 4] },
}

impl<W: Write + Send> PointWriter<W> {
    /// A writer into `out`; `extra` is added as key-value metadata.
    pub fn new(out: W, extra: KeyValue) -> Self {
        PointWriter { extra, pending: PointTable::default(), written: 0, state: Some(Stream::Idle(out)) }
    }

    /// Points pushed so far.
    pub fn len(&self) -> usize {
        self.written + self.pending.len()
    }

    /// Whether no point was pushed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `groups` (one granule's) fit the output: once a row group is written, a value
    /// column not among the fixed ones does not.
    ///
    /// # Errors
    /// The reason, naming the column and the output's columns.
    pub fn check(&self, groups: &[GroupRows]) -> Result<(), String> {
        let Some(Stream::Open { values, .. }) = &self.state else { return Ok(()) };
        let new = groups.iter().flat_map(|g| &g.columns).find(|(name, _)| !values.iter().any(|(v, _)| v == name));
        match new {
            Some((name, _)) => Err(format!(
                "column `{name}` is not among the output's value columns ({}), which its first {ROW_GROUP} points fixed; name the columns with --vars",
                values.iter().map(|(v, _)| v.as_str()).collect::<Vec<_>>().join(", ")
            )),
            None => Ok(()),
        }
    }

    /// Append a group's rows; each full row group is encoded and written.
    ///
    /// # Errors
    /// [`SubsetError::Output`] (without a path) when encoding or writing fails.
    pub fn push(&mut self, rows: GroupRows) -> Result<(), SubsetError> {
        self.pending.append(rows);
        while self.pending.len() >= ROW_GROUP {
            let part = self.pending.split_front(ROW_GROUP);
            self.write_row_group(part)?;
        }
        Ok(())
    }

    fn write_row_group(&mut self, part: PointTable) -> Result<(), WriteFailure> {
        let broken = || WriteFailure::Parquet(ParquetError::General("the output failed before".into()));
        let rows = part.len();
        let (file, values, bbox) = match self.state.take().ok_or_else(broken)? {
            Stream::Open { file, values, bbox } => (Ok(file), values, bbox),
            // The first row group: its value columns, then any the rows still pending add.
            Stream::Idle(out) => {
                let mut values = part.value_columns();
                for (name, t) in self.pending.value_columns() {
                    if !values.iter().any(|(v, _)| *v == name) {
                        values.push((name, t));
                    }
                }
                (Err(out), values, [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY])
            }
        };
        let batch = part.into_batch(Some(&values))?;
        let mut file = match file {
            Ok(open) => open,
            Err(out) => OpenFile::open(&batch, out)?,
        };
        let (encoded, b) = points_covering(&batch, &file.target)
            .ok_or_else(|| WriteFailure::Parquet(ParquetError::General("points without coordinates".into())))?;
        file.write(&encoded)?;
        let bbox = [bbox[0].min(b[0]), bbox[1].min(b[1]), bbox[2].max(b[2]), bbox[3].max(b[3])];
        self.state = Some(Stream::Open { file, values, bbox });
        self.written += rows;
        Ok(())
    }

    /// Write what is pending and close the file; gives back the writer it was written to.
    ///
    /// # Errors
    /// [`SubsetError::Output`] (without a path) when encoding or writing fails.
    pub fn finish(mut self) -> Result<W, SubsetError> {
        if matches!(self.state, Some(Stream::Open { .. })) && !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.write_row_group(rest)?;
        }
        let done = match self.state {
            Some(Stream::Idle(out)) => self.pending.write_geoparquet(self.extra, out),
            Some(Stream::Open { file, bbox, .. }) => file.close(geo_metadata(bbox), self.extra),
            None => Err(WriteFailure::Parquet(ParquetError::General("the output failed before".into()))),
        };
        Ok(done?)
    }
}

/// The batch as GeoParquet (WKB, `bbox` covering), written to `out` in one go.
fn write_parallel<W: Write + Send>(batch: &RecordBatch, extra: KeyValue, out: W) -> Result<W, WriteFailure> {
    let mut file = OpenFile::open(batch, out)?;
    let (encoded, geo) = match points_covering(batch, &file.target) {
        Some((encoded, bbox)) => (encoded, geo_metadata(bbox)),
        // No points: what the GeoParquet encoder writes of an empty column.
        None => {
            let mut encoder = geo_encoder(batch)?;
            let encoded = encoder.encode_record_batch(batch).map_err(WriteFailure::GeoArrow)?;
            (encoded, encoder.into_keyvalue().map_err(WriteFailure::GeoArrow)?)
        }
    };
    file.write(&encoded)?;
    file.close(geo, extra)
}

fn geo_encoder(batch: &RecordBatch) -> Result<GeoParquetRecordBatchEncoder, WriteFailure> {
    let options = GeoParquetWriterOptionsBuilder::default()
        .set_encoding(GeoParquetWriterEncoding::WKB)
        .set_generate_covering(true)
        .build();
    GeoParquetRecordBatchEncoder::try_new(batch.schema().as_ref(), &options).map_err(WriteFailure::GeoArrow)
}

/// An output file being written, row group by row group.
struct OpenFile<W: Write + Send> {
    file: SerializedFileWriter<W>,
    factory: ArrowRowGroupWriterFactory,
    /// What the file declares: the text columns as strings.
    schema: SchemaRef,
    /// The batches' schema with the `bbox` covering (the GeoParquet encoder's target schema).
    target: Schema,
    row_groups: usize,
}

impl<W: Write + Send> OpenFile<W> {
    /// A file for batches of `batch`'s schema.
    fn open(batch: &RecordBatch, out: W) -> Result<Self, WriteFailure> {
        let pq = WriteFailure::Parquet;
        let target = geo_encoder(batch)?.target_schema().as_ref().clone();
        // The file declares the dictionary-typed text columns as strings; their writers take the
        // dictionaries as they are.
        let schema = Arc::new(plain_schema(&target));
        let writer = ArrowWriter::try_new(out, schema.clone(), Some(writer_properties(&schema))).map_err(pq)?;
        let (file, factory) = writer.into_serialized_writer().map_err(pq)?;
        Ok(OpenFile { file, factory, schema, target, row_groups: 0 })
    }

    /// Encode `encoded` (in the target schema) as row groups of at most [`ROW_GROUP`] rows and
    /// append them. Column chunks are independent, so they are encoded and compressed on one
    /// worker per core, which take them from a shared queue. (A thread per column chunk, thirty
    /// for a typical subset, cost a thread start and fresh memory each: more CPU and page faults
    /// than two workers, for no more parallelism on two cores.)
    fn write(&mut self, encoded: &RecordBatch) -> Result<(), WriteFailure> {
        let pq = WriteFailure::Parquet;
        let rows = encoded.num_rows();
        // A job per column of each row group: its writers (one per Parquet leaf: the `bbox` struct
        // has four), its field and values, and the position of its first leaf. The workers compute
        // the leaves' levels too, so nothing but the queue is built on this thread.
        let mut jobs = Vec::new();
        let mut columns = 0;
        for (k, start) in (0..rows).step_by(ROW_GROUP).enumerate() {
            let part = encoded.slice(start, ROW_GROUP.min(rows - start));
            let mut writers = self.factory.create_column_writers(self.row_groups + k).map_err(pq)?.into_iter();
            columns = writers.len();
            let mut at = k * columns;
            for (field, column) in self.schema.fields().iter().zip(part.columns()) {
                let n = leaf_count(field.data_type());
                jobs.push((at, writers.by_ref().take(n).collect::<Vec<_>>(), field.clone(), column.clone()));
                at += n;
            }
        }
        let groups = rows.div_ceil(ROW_GROUP);
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
        if chunks.len() != columns * groups {
            // A job that failed before its leaves reports one error for all of them; a panicked
            // worker's job, nothing.
            return Err(chunks.into_iter().find_map(|(_, c)| c.err()).map_or_else(panicked, pq));
        }
        let mut chunks = chunks.into_iter().map(|(_, c)| c);
        for _ in 0..groups {
            let mut group = self.file.next_row_group().map_err(pq)?;
            for chunk in chunks.by_ref().take(columns) {
                chunk.map_err(pq)?.append_to_row_group(&mut group).map_err(pq)?;
            }
            group.close().map_err(pq)?;
        }
        self.row_groups += groups;
        Ok(())
    }

    /// Write the footer with the `geo` and `extra` key-value metadata; gives back the writer.
    fn close(mut self, geo: KeyValue, extra: KeyValue) -> Result<W, WriteFailure> {
        self.file.append_key_value_metadata(geo);
        self.file.append_key_value_metadata(extra);
        self.file.into_inner().map_err(WriteFailure::Parquet)
    }
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
/// and the points' box (xmin, ymin, xmax, ymax), computed from the coordinate columns: a point's box
/// is the point, so the encoder's pass parsing every WKB value is not needed. `None` for an empty
/// batch (the encoder then writes what GeoParquet says of an empty column) or a schema of another
/// shape.
fn points_covering(batch: &RecordBatch, schema: &Schema) -> Option<(RecordBatch, [f64; 4])> {
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
    Some((encoded, [x0, y0, x1, y1]))
}

/// GeoParquet 1.1 `geo` metadata of a WKB point column with its `bbox` covering.
fn geo_metadata(bbox: [f64; 4]) -> KeyValue {
    let bbox = serde_json::json!(bbox);
    let geo = format!(
        r#"{{"version":"1.1.0","primary_column":"geometry","columns":{{"geometry":{{"encoding":"WKB","geometry_types":["Point"],"bbox":{bbox},"covering":{{"bbox":{{"xmin":["bbox","xmin"],"ymin":["bbox","ymin"],"xmax":["bbox","xmax"],"ymax":["bbox","ymax"]}}}}}}}}}}"#
    );
    KeyValue::new("geo".into(), Some(geo))
}

/// How the points are encoded (`schema`: what the file declares, `bbox` covering included): dictionaries only
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
    /// The column's type: that of its first piece (f64 for a column without any).
    fn data_type(&self) -> DataType {
        self.pieces.first().map_or(DataType::Float64, |(_, a)| a.data_type().clone())
    }

    /// The column over all `rows` of the table: nulls where a group lacked it, every piece in
    /// `data_type`, else in [`Column::data_type`] (a later granule storing the array in another
    /// type is cast to it).
    fn concat(&self, rows: usize, data_type: Option<&DataType>) -> Result<ArrayRef, ArrowError> {
        let data_type = data_type.cloned().unwrap_or_else(|| self.data_type());
        let mut parts: Vec<ArrayRef> = Vec::with_capacity(self.pieces.len() * 2 + 1);
        let mut at = 0;
        for (start, piece) in &self.pieces {
            if *start > at {
                parts.push(new_null_array(&data_type, start - at));
            }
            parts.push(if piece.data_type() == &data_type { piece.clone() } else { cast(piece, &data_type)? });
            at = start + piece.len();
        }
        if rows > at || parts.is_empty() {
            parts.push(new_null_array(&data_type, rows.saturating_sub(at)));
        }
        concat(&parts.iter().map(AsRef::as_ref).collect::<Vec<_>>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float32Array, Int8Array};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    /// Rows `rows` of granule `granule`: `h_li` (f32, every 7th row null; stored as f64 when
    /// `h_f64`), and `quality` (i8) when `quality`.
    fn group(granule: &str, rows: std::ops::Range<usize>, quality: bool, h_f64: bool) -> GroupRows {
        let rows: Vec<u64> = rows.map(|r| r as u64).collect();
        let h: Float32Array = rows.iter().map(|&r| (r % 7 != 0).then_some(r as f32)).collect();
        let h: ArrayRef = if h_f64 { arrow::compute::cast(&h, &DataType::Float64).expect("cast") } else { Arc::new(h) };
        let mut columns = vec![("h_li".to_string(), h)];
        if quality {
            let q: Int8Array = rows.iter().map(|&r| Some((r % 100) as i8)).collect();
            columns.insert(0, ("quality".into(), Arc::new(q) as ArrayRef));
        }
        GroupRows {
            granule: granule.into(),
            track: "gt1l".into(),
            group: "/gt1l/land_ice_segments".into(),
            time: vec![Some(1.5e9); rows.len()],
            lat: rows.iter().map(|&r| 60.0 + r as f64 * 1e-5).collect(),
            lon: rows.iter().map(|&r| -40.0 - r as f64 * 1e-5).collect(),
            rows,
            columns,
        }
    }

    /// What a file holds: row group sizes, `row`, `granule`, `h_li`, `quality` (empty when the file
    /// has no such column) and the `geo` bbox.
    #[allow(clippy::type_complexity)]
    fn read_back(bytes: Vec<u8>) -> (Vec<usize>, Vec<u64>, Vec<String>, Vec<Option<f32>>, Vec<Option<i8>>, serde_json::Value) {
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).expect("open");
        let meta = reader.metadata().clone();
        let sizes = meta.row_groups().iter().map(|g| g.num_rows() as usize).collect();
        let geo = meta.file_metadata().key_value_metadata().and_then(|kv| kv.iter().find(|k| k.key == "geo")).and_then(|k| k.value.clone());
        let geo: serde_json::Value = serde_json::from_str(&geo.expect("geo metadata")).expect("geo json");
        // The text columns, fed to the writer as dictionaries, are strings in the file.
        assert_eq!(reader.schema().field_with_name("granule").map(|f| f.data_type().clone()).ok(), Some(DataType::Utf8));
        let (mut row, mut granules, mut h, mut q) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for batch in reader.build().expect("read") {
            let batch = batch.expect("batch");
            let r = batch.column_by_name("row").expect("row").as_any().downcast_ref::<UInt64Array>().expect("u64");
            row.extend(r.values().iter().copied());
            let g = batch.column_by_name("granule").expect("granule").as_any().downcast_ref::<StringArray>().expect("utf8");
            granules.extend(g.iter().map(|v| v.unwrap_or_default().to_string()));
            let v = batch.column_by_name("h_li").expect("h_li").as_any().downcast_ref::<Float32Array>().expect("f32");
            h.extend((0..v.len()).map(|i| v.is_valid(i).then(|| v.value(i))));
            if let Some(v) = batch.column_by_name("quality") {
                let v = v.as_any().downcast_ref::<Int8Array>().expect("i8");
                q.extend((0..v.len()).map(|i| v.is_valid(i).then(|| v.value(i))));
            }
        }
        (sizes, row, granules, h, q, geo["columns"]["geometry"]["bbox"].clone())
    }

    fn extra() -> KeyValue {
        KeyValue::new("vz".into(), Some("{}".into()))
    }

    /// More rows than one row group holds: every column chunk, encoded by the worker pool, lands
    /// in its own row group in order, and the values read back as written; a column one group
    /// lacks is null there, and a piece of another type is cast to the column's.
    #[test]
    fn several_row_groups_read_back_in_order() {
        let n = ROW_GROUP * 2 + 123;
        let mut table = PointTable::default();
        table.append(group("G0", 0..n / 2, false, false));
        table.append(group("G1", n / 2..n, true, true));
        let Ok(bytes) = table.write_geoparquet(extra(), Vec::new()) else { panic!("encode failed") };
        let (sizes, row, granules, h, q, _) = read_back(bytes);
        assert_eq!(sizes, vec![ROW_GROUP, ROW_GROUP, 123]);
        assert_eq!(row, (0..n as u64).collect::<Vec<_>>());
        assert_eq!(granules, (0..n).map(|r| format!("G{}", usize::from(r >= n / 2))).collect::<Vec<_>>());
        assert_eq!(h, (0..n).map(|r| (r % 7 != 0).then_some(r as f32)).collect::<Vec<_>>());
        assert_eq!(q, (0..n).map(|r| (r >= n / 2).then_some((r % 100) as i8)).collect::<Vec<_>>());
    }

    /// Points pushed group by group, with row groups written as they fill (one boundary falls
    /// inside a group), make the same file contents as the whole table written at once: the
    /// same rows, nulls where a group lacks a column, casts, and the same `geo` bbox.
    #[test]
    fn streamed_output_equals_the_whole_table() {
        let bounds = [0, 30_000, 50_000, 90_000, 120_000, ROW_GROUP * 2 + 500];
        let make = |i: usize| group(&format!("G{i}"), bounds[i]..bounds[i + 1], i == 1, i == 3);
        let mut table = PointTable::default();
        let mut writer = PointWriter::new(Vec::new(), extra());
        for i in 0..bounds.len() - 1 {
            table.append(make(i));
            assert!(writer.check(&[make(i)]).is_ok());
            writer.push(make(i)).expect("push");
        }
        assert_eq!(writer.len(), bounds[bounds.len() - 1]);
        let Ok(whole) = table.write_geoparquet(extra(), Vec::new()) else { panic!("encode failed") };
        let streamed = writer.finish().expect("finish");
        let (sizes, ..) = read_back(streamed.clone());
        assert_eq!(sizes, vec![ROW_GROUP, ROW_GROUP, 500]);
        assert_eq!(read_back(streamed), read_back(whole));
    }

    /// Under one row group the writer writes at `finish`, byte for byte what the table writes.
    #[test]
    fn a_small_subset_is_written_whole() {
        let mut writer = PointWriter::new(Vec::new(), extra());
        writer.push(group("G0", 0..1000, true, false)).expect("push");
        let mut table = PointTable::default();
        table.append(group("G0", 0..1000, true, false));
        let Ok(whole) = table.write_geoparquet(extra(), Vec::new()) else { panic!("encode failed") };
        assert_eq!(writer.finish().expect("finish"), whole);
    }

    /// Once the first row group has fixed the value columns, a granule bringing another column
    /// is refused (the caller reports it as failed) rather than silently losing that column.
    #[test]
    fn a_column_first_seen_after_the_first_row_group_is_refused() {
        let mut writer = PointWriter::new(Vec::new(), extra());
        let later = group("G1", ROW_GROUP..ROW_GROUP + 10, true, false);
        assert!(writer.check(std::slice::from_ref(&later)).is_ok(), "nothing is fixed before the first row group");
        writer.push(group("G0", 0..ROW_GROUP, false, false)).expect("push");
        let why = writer.check(&[later]).expect_err("quality is new");
        assert!(why.contains("`quality`") && why.contains("h_li") && why.contains("--vars"), "{why}");
        writer.push(group("G2", ROW_GROUP..ROW_GROUP + 10, false, false)).expect("push");
        let (sizes, row, ..) = read_back(writer.finish().expect("finish"));
        assert_eq!((sizes, row.len()), (vec![ROW_GROUP, 10], ROW_GROUP + 10));
    }
}
