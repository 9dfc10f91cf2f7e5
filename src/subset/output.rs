//! The subset's points as one GeoParquet file: granule, track, group and row (to join back to
//! the granule), coordinates, UTC time, the value columns in their own numeric types (fill
//! values as nulls), a WKB point geometry and its `bbox` covering.

use std::io::Write;
use std::sync::Arc;

use arrow::array::{new_null_array, Array, ArrayRef};
use arrow::buffer::NullBuffer;
use arrow::compute::{cast, concat};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::error::ArrowError;
use geoparquet::writer::{GeoParquetRecordBatchEncoder, GeoParquetWriterEncoding, GeoParquetWriterOptionsBuilder};
use parquet::arrow::ArrowWriter;
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnDescPtr;

use super::pages::{Encoded, Leaf, Scratch};
use super::SubsetError;
use crate::catalog::{micros, utc, wkb_field, WriteFailure};

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

    /// The value columns so far, with the type of the first piece of each: what the output
    /// fixes when it starts writing.
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

    /// The runs of one text column over rows `rows`.
    fn text_runs(
        &self,
        rows: std::ops::Range<usize>,
        f: fn(&(String, String, String, usize)) -> &str,
    ) -> impl Iterator<Item = (&str, usize)> {
        let mut at = 0;
        self.runs.iter().filter_map(move |r| {
            let (start, end) = (at, at + r.3);
            at = end;
            let n = end.min(rows.end).saturating_sub(start.max(rows.start));
            (n > 0).then(|| (f(r), n))
        })
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

/// Rows per row group of the output.
const ROW_GROUP: usize = 65_536;

/// Rows per data page, at most. Points are encoded a page at a time as they come, so after the
/// last granule only its last page or two are left to encode.
const PAGE_ROWS: usize = 16_384;

/// The subset's points as GeoParquet, written as they come: once the first row group's worth of
/// points is pending, the file's columns are fixed and from then on points are encoded into
/// pages while later granules are still being read, so the encoding overlaps the reads and
/// memory holds about one row group of encoded points.
///
/// The first row group fixes the value columns (names and types: later pieces are cast, missing
/// ones are nulls); [`PointWriter::check`] refuses a later granule bringing a column that is not
/// among them. A subset smaller than one row group is written at [`PointWriter::finish`].
pub struct PointWriter<W: Write + Send> {
    extra: KeyValue,
    pending: PointTable,
    /// `None` only after a failure.
    state: Option<Stream<W>>,
}

enum Stream<W: Write + Send> {
    /// Nothing written yet.
    Idle(W),
    /// The file is open.
    Open(Box<OpenFile<W>>),
}

impl<W: Write + Send> PointWriter<W> {
    /// A writer into `out`; `extra` is added as key-value metadata.
    pub fn new(out: W, extra: KeyValue) -> Self {
        PointWriter { extra, pending: PointTable::default(), state: Some(Stream::Idle(out)) }
    }

    /// Points pushed so far.
    pub fn len(&self) -> usize {
        let encoded = match &self.state {
            Some(Stream::Open(file)) => file.encoded,
            _ => 0,
        };
        encoded + self.pending.len()
    }

    /// Whether no point was pushed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `groups` (one granule's) fit the output: once the file is open, a value column
    /// not among its columns does not.
    ///
    /// # Errors
    /// The reason, naming the column and the output's columns.
    pub fn check(&self, groups: &[GroupRows]) -> Result<(), String> {
        let Some(Stream::Open(file)) = &self.state else { return Ok(()) };
        let values = &file.values;
        let new = groups.iter().flat_map(|g| &g.columns).find(|(name, _)| !values.iter().any(|(v, _)| v == name));
        match new {
            Some((name, _)) => Err(format!(
                "column `{name}` is not among the output's value columns ({}), which its first {ROW_GROUP} points fixed; name the columns with --vars",
                values.iter().map(|(v, _)| v.as_str()).collect::<Vec<_>>().join(", ")
            )),
            None => Ok(()),
        }
    }

    /// Append a group's rows; once the file is open, each full page is encoded.
    ///
    /// # Errors
    /// [`SubsetError::Output`] (without a path) when encoding or writing fails.
    pub fn push(&mut self, rows: GroupRows) -> Result<(), SubsetError> {
        self.pending.append(rows);
        Ok(self.drain(false)?)
    }

    /// Encode what is pending: whole pages, or everything when `last`. Opens the file once a
    /// row group's worth of points is pending (or at the `last` drain). After a failure the
    /// writer is broken: the file would have a partial row group.
    fn drain(&mut self, last: bool) -> Result<(), WriteFailure> {
        let mut file = match self.state.take().ok_or_else(broken)? {
            Stream::Idle(out) if last || self.pending.len() >= ROW_GROUP => Box::new(OpenFile::open(out, self.pending.value_columns())?),
            idle @ Stream::Idle(_) => {
                self.state = Some(idle);
                return Ok(());
            }
            Stream::Open(file) => file,
        };
        file.drain(&mut self.pending, last)?;
        self.state = Some(Stream::Open(file));
        Ok(())
    }

    /// Write what is pending and close the file; gives back the writer it was written to.
    ///
    /// # Errors
    /// [`SubsetError::Output`] (without a path) when encoding or writing fails.
    pub fn finish(mut self) -> Result<W, SubsetError> {
        self.drain(true)?;
        let Some(Stream::Open(mut file)) = self.state.take() else { return Err(broken().into()) };
        if file.group_rows > 0 {
            file.flush()?;
        }
        Ok(file.close(self.extra)?)
    }
}

/// What a writer that failed before answers: the file would have a partial row group.
fn broken() -> WriteFailure {
    WriteFailure::Parquet(ParquetError::General("the output failed before".into()))
}

/// An output file being written, row group by row group.
struct OpenFile<W: Write + Send> {
    file: SerializedFileWriter<W>,
    /// The value columns the file has (between `time` and `geometry`).
    values: Vec<(String, DataType)>,
    /// The file's Parquet columns.
    columns: Vec<ColumnDescPtr>,
    /// The row group being filled: a leaf per column up to `geometry` (the `bbox` covering's four
    /// are copies of the coordinates').
    leaves: Vec<Leaf>,
    group_rows: usize,
    /// Points encoded, in written row groups and the one being filled.
    encoded: usize,
    /// One per encoding thread.
    scratch: Vec<Scratch>,
    /// Box of the points written (xmin, ymin, xmax, ymax).
    bbox: [f64; 4],
}

/// Leaves before the value columns: granule, track_id, group, row, latitude, longitude, time.
const FIXED: usize = 7;

/// Threads that encode a part's leaves. The writer runs beside the granule tasks, which keep
/// every core busy until the last granule is read; from then on it is all that is left, and
/// encoding the last granules' points on one thread left the other core idle for ~10 ms (traced).
const ENCODING_THREADS: usize = 2;

/// Run `job` on every leaf (with its index), `scratch.len()` threads taking leaves from a queue,
/// the last leaf first (the WKB geometry, the widest; then the values, time, coordinates).
fn each_leaf(
    leaves: &mut [Leaf],
    scratch: &mut [Scratch],
    job: impl Fn(usize, &mut Leaf, &mut Scratch) -> Result<(), ParquetError> + Sync,
) -> Result<(), ParquetError> {
    let queue = std::sync::Mutex::new(leaves.iter_mut().enumerate().rev());
    let work = |s: &mut Scratch| -> Result<(), ParquetError> {
        loop {
            let next = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).next();
            let Some((i, leaf)) = next else { return Ok(()) };
            job(i, leaf, s)?;
        }
    };
    let Some((mine, helpers)) = scratch.split_first_mut() else { return Ok(()) };
    std::thread::scope(|scope| {
        let started: Vec<_> = helpers.iter_mut().map(|s| scope.spawn(|| work(s))).collect();
        let mut result = work(mine);
        for helper in started {
            let theirs = helper.join().unwrap_or_else(|_| Err(ParquetError::General("an encoding thread panicked".into())));
            result = result.and(theirs);
        }
        result
    })
}

impl<W: Write + Send> OpenFile<W> {
    /// A file with value columns `values`: the file declares the fixed columns, the values, the
    /// WKB `geometry` and its `bbox` covering, as the GeoParquet encoder would for that schema.
    fn open(out: W, values: Vec<(String, DataType)>) -> Result<Self, WriteFailure> {
        let pq = WriteFailure::Parquet;
        let mut fields = vec![
            Field::new("granule", DataType::Utf8, false),
            Field::new("track_id", DataType::Utf8, false),
            Field::new("group", DataType::Utf8, false),
            Field::new("row", DataType::UInt64, false),
            Field::new("latitude", DataType::Float64, false),
            Field::new("longitude", DataType::Float64, false),
            Field::new("time", utc(), true),
        ];
        fields.extend(values.iter().map(|(name, t)| Field::new(name, t.clone(), true)));
        fields.push(wkb_field("geometry"));
        // Every point has a box, so the covering is declared required: its columns then have no
        // definition levels, like the coordinates', and can be the coordinates' chunks.
        let target = geo_encoder(&Schema::new(fields))?.target_schema();
        let fields: Vec<Field> =
            target.fields().iter().map(|f| f.as_ref().clone().with_nullable(f.is_nullable() && f.name() != "bbox")).collect();
        let schema = Arc::new(Schema::new_with_metadata(fields, target.metadata().clone()));
        let (file, _) = ArrowWriter::try_new(out, schema, None).map_err(pq)?.into_serialized_writer().map_err(pq)?;
        let columns: Vec<ColumnDescPtr> = file.schema_descr().columns().to_vec();
        if columns.len() != FIXED + values.len() + 1 + 4 {
            return Err(pq(ParquetError::General("the output's columns are not the points' columns".into())));
        }
        let mut open = OpenFile {
            file,
            values,
            columns,
            leaves: Vec::new(),
            group_rows: 0,
            encoded: 0,
            scratch: (0..ENCODING_THREADS).map(|_| Scratch::default()).collect(),
            bbox: [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY],
        };
        open.new_group();
        Ok(open)
    }

    fn new_group(&mut self) {
        let encoded = FIXED + self.values.len() + 1;
        self.leaves = self.columns[..encoded].iter().map(|c| Leaf::new(c.clone())).collect();
        self.group_rows = 0;
    }

    /// Encode `pending`'s whole pages (everything when `last`), writing each row group as it fills.
    fn drain(&mut self, pending: &mut PointTable, last: bool) -> Result<(), WriteFailure> {
        loop {
            let (room, n) = (ROW_GROUP - self.group_rows, pending.len());
            if n == 0 || (n < room && n < PAGE_ROWS && !last) {
                return Ok(());
            }
            let part = pending.split_front(room.min(n));
            self.encode(&part)?;
            if self.group_rows == ROW_GROUP {
                self.flush()?;
            }
        }
    }

    /// Append `part`'s points to the row group, as pages of at most [`PAGE_ROWS`].
    fn encode(&mut self, part: &PointTable) -> Result<(), WriteFailure> {
        let failure = |e: String| WriteFailure::Parquet(ParquetError::General(e));
        let pq = WriteFailure::Parquet;
        let n = part.len();
        if let Some(extra) = part.columns.iter().find(|c| !self.values.iter().any(|(name, _)| *name == c.name)) {
            return Err(failure(format!("column `{}` is not among the output's columns", extra.name)));
        }
        let values: Vec<ArrayRef> = self
            .values
            .iter()
            .map(|(name, t)| match part.columns.iter().find(|c| c.name == *name) {
                Some(c) => c.concat(n, t).map_err(|e| failure(format!("column `{name}`: {e}"))),
                None => Ok(new_null_array(t, n)),
            })
            .collect::<Result<_, _>>()?;
        let micros: Vec<i64> = part.time.iter().map(|t| t.map_or(0, micros)).collect();
        let time_valid: Option<NullBuffer> =
            part.time.iter().any(Option::is_none).then(|| part.time.iter().map(Option::is_some).collect());
        if self.leaves.len() != FIXED + values.len() + 1 {
            return Err(failure("the output's columns are not the points' columns".into()));
        }
        // Leaf `i`'s pages of `part`, in schema order: granule, track_id, group, row, latitude,
        // longitude, time, the value columns, geometry.
        let leaf_pages = |i: usize, leaf: &mut Leaf, s: &mut Scratch| -> Result<(), ParquetError> {
            for start in (0..n).step_by(PAGE_ROWS) {
                let r = start..n.min(start + PAGE_ROWS);
                match i {
                    0 => leaf.text(part.text_runs(r, |t| &t.0), s)?,
                    1 => leaf.text(part.text_runs(r, |t| &t.1), s)?,
                    2 => leaf.text(part.text_runs(r, |t| &t.2), s)?,
                    3 => leaf.numbers(&part.row[r], None, false, s)?,
                    4 => leaf.numbers(&part.lat[r], None, true, s)?,
                    5 => leaf.numbers(&part.lon[r], None, true, s)?,
                    6 => {
                        let valid = time_valid.as_ref().map(|v| v.slice(r.start, r.len()));
                        leaf.numbers(&micros[r], valid.as_ref(), false, s)?;
                    }
                    i if i < FIXED + values.len() => leaf.array(&values[i - FIXED].slice(r.start, r.len()), s)?,
                    _ => leaf.wkb_points(&part.lon[r.clone()], &part.lat[r], s)?,
                }
            }
            Ok(())
        };
        let threads = if n < PAGE_ROWS { 1 } else { self.scratch.len() };
        each_leaf(&mut self.leaves, &mut self.scratch[..threads], leaf_pages).map_err(pq)?;
        self.group_rows += n;
        self.encoded += n;
        Ok(())
    }

    /// Write the row group. The `bbox` covering's columns are the longitude and latitude
    /// columns' chunks again (xmin and xmax are the longitude of a point, ymin and ymax its
    /// latitude), encoded and compressed once.
    fn flush(&mut self) -> Result<(), WriteFailure> {
        let pq = WriteFailure::Parquet;
        let leaves = std::mem::take(&mut self.leaves);
        let s = self.scratch.first_mut().ok_or_else(broken)?;
        let encoded: Vec<Encoded> = leaves.into_iter().map(|l| l.finish(s)).collect::<Result<_, _>>().map_err(pq)?;
        let (lat, lon) = (FIXED - 3, FIXED - 2);
        if let (Some((x0, x1)), Some((y0, y1))) = (encoded[lon].double_range(), encoded[lat].double_range()) {
            self.bbox = [self.bbox[0].min(x0), self.bbox[1].min(y0), self.bbox[2].max(x1), self.bbox[3].max(y1)];
        }
        let mut group = self.file.next_row_group().map_err(pq)?;
        for (i, descr) in self.columns.iter().enumerate() {
            let source = match i.checked_sub(encoded.len()) {
                None => &encoded[i],
                Some(k) => &encoded[[lon, lat, lon, lat][k % 4]],
            };
            group.append_column(&source.chunk, source.close(descr.clone()).map_err(pq)?).map_err(pq)?;
        }
        group.close().map_err(pq)?;
        self.new_group();
        Ok(())
    }

    /// Write the footer with the `geo` and `extra` key-value metadata; gives back the writer.
    fn close(mut self, extra: KeyValue) -> Result<W, WriteFailure> {
        let bbox = (self.bbox[0] <= self.bbox[2]).then_some(self.bbox);
        self.file.append_key_value_metadata(geo_metadata(bbox));
        self.file.append_key_value_metadata(extra);
        self.file.into_inner().map_err(WriteFailure::Parquet)
    }
}

fn geo_encoder(schema: &Schema) -> Result<GeoParquetRecordBatchEncoder, WriteFailure> {
    let options = GeoParquetWriterOptionsBuilder::default()
        .set_encoding(GeoParquetWriterEncoding::WKB)
        .set_generate_covering(true)
        .build();
    GeoParquetRecordBatchEncoder::try_new(schema, &options).map_err(WriteFailure::GeoArrow)
}

/// GeoParquet 1.1 `geo` metadata of a WKB point column with its `bbox` covering; `bbox` is the
/// points' box (none for no points: no geometry types then either).
fn geo_metadata(bbox: Option<[f64; 4]>) -> KeyValue {
    let (types, bbox) = match bbox {
        Some(b) => (r#"["Point"]"#, format!(r#","bbox":{}"#, serde_json::json!(b))),
        None => ("[]", String::new()),
    };
    let geo = format!(
        r#"{{"version":"1.1.0","primary_column":"geometry","columns":{{"geometry":{{"encoding":"WKB","geometry_types":{types}{bbox},"covering":{{"bbox":{{"xmin":["bbox","xmin"],"ymin":["bbox","ymin"],"xmax":["bbox","xmax"],"ymax":["bbox","ymax"]}}}}}}}}}}"#
    );
    KeyValue::new("geo".into(), Some(geo))
}

impl Column {
    /// The column's type: that of its first piece (f64 for a column without any).
    fn data_type(&self) -> DataType {
        self.pieces.first().map_or(DataType::Float64, |(_, a)| a.data_type().clone())
    }

    /// The column over all `rows` of the table in `data_type`: nulls where a group lacked it
    /// (a later granule storing the array in another type is cast to the output's).
    fn concat(&self, rows: usize, data_type: &DataType) -> Result<ArrayRef, ArrowError> {
        let mut parts: Vec<ArrayRef> = Vec::with_capacity(self.pieces.len() * 2 + 1);
        let mut at = 0;
        for (start, piece) in &self.pieces {
            if *start > at {
                parts.push(new_null_array(data_type, start - at));
            }
            parts.push(if piece.data_type() == data_type { piece.clone() } else { cast(piece, data_type)? });
            at = start + piece.len();
        }
        if rows > at || parts.is_empty() {
            parts.push(new_null_array(data_type, rows.saturating_sub(at)));
        }
        concat(&parts.iter().map(AsRef::as_ref).collect::<Vec<_>>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, Float32Array, Float64Array, Int8Array, RecordBatch, StringArray, UInt64Array};
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

    /// `table` written in one go, as the writer writes points that are all pending at the end.
    fn write_whole(table: PointTable) -> Vec<u8> {
        let mut writer = PointWriter::new(Vec::new(), extra());
        writer.pending = table;
        writer.finish().expect("encode")
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
        let (sizes, row, granules, h, q, _) = read_back(write_whole(table));
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
        let whole = write_whole(table);
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
        assert_eq!(writer.finish().expect("finish"), write_whole(table));
    }

    /// Value columns of every integer and float type, with nulls at page offsets that are not
    /// byte-aligned, all-null columns and a time column with gaps, read back as written; the
    /// statistics are the values' min and max.
    #[test]
    fn every_value_type_reads_back() {
        use arrow::array::{Int16Array, Int64Array, UInt16Array, UInt32Array, UInt8Array};
        let n = PAGE_ROWS + 1003;
        let some = |r: usize| r % 5 != 3;
        let columns: Vec<(String, ArrayRef)> = vec![
            ("i8".into(), Arc::new((0..n).map(|r| some(r).then_some((r % 200) as i8)).collect::<Int8Array>())),
            ("i16".into(), Arc::new((0..n).map(|r| some(r).then_some(-(r as i16))).collect::<Int16Array>())),
            ("u8".into(), Arc::new((0..n).map(|r| some(r).then_some((r % 250) as u8)).collect::<UInt8Array>())),
            ("u16".into(), Arc::new((0..n).map(|r| some(r).then_some(r as u16)).collect::<UInt16Array>())),
            ("u32".into(), Arc::new((0..n).map(|r| some(r).then_some(u32::MAX - r as u32)).collect::<UInt32Array>())),
            ("i64".into(), Arc::new((0..n).map(|r| some(r).then_some(r as i64 - 5)).collect::<Int64Array>())),
            ("u64".into(), Arc::new((0..n).map(|r| some(r).then_some(u64::MAX - r as u64)).collect::<UInt64Array>())),
            ("f32".into(), Arc::new((0..n).map(|r| some(r).then_some(r as f32 * 0.5)).collect::<Float32Array>())),
            ("f64".into(), Arc::new((0..n).map(|_| None::<f64>).collect::<Float64Array>())),
        ];
        let mut rows = group("G0", 0..n, false, false);
        rows.columns = columns.clone();
        rows.time = (0..n).map(|r| (r % 3 != 0).then_some(1.5e9 + r as f64)).collect();
        let mut writer = PointWriter::new(Vec::new(), extra());
        // Pushed at an odd offset, so page boundaries fall inside validity bytes.
        let mut head = group("G0", 0..3, false, false);
        head.columns = columns.iter().map(|(name, a)| (name.clone(), a.slice(0, 3))).collect();
        head.time = rows.time[..3].to_vec();
        writer.push(head).expect("push");
        let mut tail = rows;
        tail.rows.drain(..3);
        tail.lat.drain(..3);
        tail.lon.drain(..3);
        tail.time.drain(..3);
        tail.columns = columns.iter().map(|(name, a)| (name.clone(), a.slice(3, n - 3))).collect();
        writer.push(tail).expect("push");
        let bytes = bytes::Bytes::from(writer.finish().expect("finish"));
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes).expect("open");
        let meta = reader.metadata().clone();
        let batches: Vec<RecordBatch> = reader.build().expect("read").collect::<Result<_, _>>().expect("batches");
        let batch = arrow::compute::concat_batches(&batches[0].schema(), &batches).expect("concat");
        for (name, a) in &columns {
            assert_eq!(batch.column_by_name(name).expect(name).as_ref(), a.as_ref(), "{name}");
        }
        let time = batch.column_by_name("time").expect("time").as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
        let want: Vec<Option<i64>> = (0..n).map(|r| (r % 3 != 0).then_some((1.5e9 as i64 + r as i64) * 1_000_000)).collect();
        assert_eq!(time.iter().collect::<Vec<_>>(), want);
        let schema = meta.file_metadata().schema_descr();
        let stats = |name: &str| {
            let i = (0..schema.num_columns()).find(|&i| schema.column(i).path().string() == name).expect(name);
            meta.row_group(0).column(i).statistics().cloned().expect("statistics")
        };
        let some_rows = (0..n).filter(|&r| some(r));
        let (lo, hi) = (some_rows.clone().min().unwrap_or(0), some_rows.max().unwrap_or(0));
        assert_eq!(stats("i16").min_bytes_opt(), Some(&(-(hi as i32)).to_le_bytes()[..]));
        assert_eq!(stats("u64").min_bytes_opt(), Some(&(u64::MAX - hi as u64).to_le_bytes()[..]));
        assert_eq!(stats("u64").max_bytes_opt(), Some(&(u64::MAX - lo as u64).to_le_bytes()[..]));
        assert_eq!(stats("f64").null_count_opt(), Some(n as u64));
        assert_eq!(stats("f64").min_bytes_opt(), None);
        assert_eq!(stats("row").max_bytes_opt(), Some(&((n - 1) as u64).to_le_bytes()[..]));
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
