//! Reading selected rows of 1-D arrays straight from the granule files: the chunks holding the rows
//! are fetched in one coalesced round trip per file, and each is decoded once by the native filter
//! pipeline (`codec::decode_chunk_front_into`), as far as its last wanted row, when its rows are
//! read. No Zarr metadata is built or parsed on this path.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

use arrow::array::{ArrayRef, ArrowPrimitiveType, PrimitiveArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use bytes::Bytes;

use super::SubsetError;
use crate::codec::{decode_chunk_front_into, to_f64_into, ChunkBuffers};
use crate::manifest::{ArrayMeta, ByteOrder, Datatype};
use crate::source::{self, ByteSource, SourceOptions, StatsSnapshot};

/// The chunks one round fetched, per (array path, chunk row index), as stored in the file. Each is
/// decoded when its rows are read, into buffers the next chunk reuses: a round never holds more
/// than one decoded chunk, so its memory is the stored bytes, not the (larger) decoded ones, and
/// no fresh memory is zeroed and faulted in per chunk.
#[derive(Default)]
pub(super) struct Fetched<'a> {
    chunks: HashMap<(&'a str, u64), Stored<'a>>,
    buffers: ChunkBuffers,
    /// Chunks fetched and their stored bytes.
    pub fetched: (u64, u64),
}

/// One chunk of a round.
enum Stored<'a> {
    /// The stored bytes of `array.chunks[index]`, to decode.
    Encoded(Bytes, usize),
    /// Elements as they are: inline data, or the fill value of a chunk never written.
    Raw(Cow<'a, [u8]>),
}

/// Opens each file of a granule once, for all its groups, and counts what was read from it.
pub(super) struct Reader {
    granule: String,
    options: SourceOptions,
    sources: Mutex<HashMap<String, Arc<dyn ByteSource>>>,
}

/// Rows in a chunk of `array` (its first chunk dimension; the whole array when inline).
fn rows_per_chunk(array: &ArrayMeta) -> Option<u64> {
    if array.inline.is_some() {
        return array.shape.first().map(|&n| n.max(1));
    }
    array.chunk_shape.first().copied().filter(|&c| c > 0)
}

impl Reader {
    pub(super) fn new(granule: &str, options: SourceOptions) -> Reader {
        Reader { granule: granule.to_string(), options, sources: Mutex::default() }
    }

    fn fail(&self, array: &ArrayMeta, reason: String) -> SubsetError {
        SubsetError::Read { granule: self.granule.clone(), path: array.path.clone(), reason }
    }

    fn source(&self, url: &str) -> Result<Arc<dyn ByteSource>, SubsetError> {
        let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = sources.get(url) {
            return Ok(s.clone());
        }
        let s: Arc<dyn ByteSource> = Arc::from(
            source::open(url, &self.options)
                .map_err(|e| SubsetError::Fetch { granule: self.granule.clone(), source: e.into() })?,
        );
        sources.insert(url.to_string(), s.clone());
        Ok(s)
    }

    /// Requests, bytes and round trips over every file read so far.
    pub(super) fn stats(&self) -> StatsSnapshot {
        self.sources.lock().unwrap_or_else(PoisonError::into_inner).values().map(|s| s.stats().snapshot()).sum()
    }

    /// Fetch (one concurrent round trip, one coalesced request set per file) and decode the chunks
    /// of each `(array, rows)` (rows sorted) that hold any of the rows. `url` is the granule's file.
    ///
    /// # Errors
    /// When an array is not a readable 1-D numeric array, or a chunk cannot be fetched or decoded.
    pub(super) async fn fetch<'a>(&self, url: &str, wants: &[(&'a ArrayMeta, &[u64])]) -> Result<Fetched<'a>, SubsetError> {
        let mut out = Fetched::default();
        // (array, chunk row index, chunk) of every chunk to fetch, grouped by file.
        let mut by_url: HashMap<&str, Vec<(&'a ArrayMeta, u64, Range<u64>, usize)>> = HashMap::new();
        for &(array, rows) in wants {
            if let Some(why) = &array.unsupported {
                return Err(self.fail(array, why.clone()));
            }
            if array.shape.len() != 1 || array.dtype.scalar(&vec![0; array.dtype.size() as usize]).is_none() {
                return Err(self.fail(array, "not a 1-D numeric array".into()));
            }
            let len = rows_per_chunk(array).ok_or_else(|| self.fail(array, "no chunk shape".into()))?;
            // Chunk by chunk: the rows (sorted) of each are skipped with a binary search, not visited.
            let mut at = 0;
            while let Some(&r) = rows.get(at) {
                let k = r / len;
                at += rows[at..].partition_point(|&x| x / len == k);
                if out.chunks.contains_key(&(array.path.as_str(), k)) {
                    continue;
                }
                if let Some(inline) = &array.inline {
                    out.chunks.insert((array.path.as_str(), k), Stored::Raw(Cow::Borrowed(inline)));
                    continue;
                }
                match array.chunks.binary_search_by(|c| c.coords.first().copied().unwrap_or(0).cmp(&k)) {
                    Ok(i) => {
                        let c = &array.chunks[i];
                        let file = c.file(url);
                        by_url.entry(file).or_default().push((array, k, c.offset..c.offset + c.length, i));
                    }
                    // Not allocated: the fill value (else zeros), as HDF5 reads it.
                    Err(_) => {
                        let size = array.dtype.size() as usize;
                        let one = array.fill.value.clone().filter(|v| v.len() == size).unwrap_or_else(|| vec![0; size]);
                        out.chunks.insert((array.path.as_str(), k), Stored::Raw(Cow::Owned(one.repeat(usize::try_from(len).unwrap_or(0)))));
                    }
                }
            }
        }
        let mut fetches = Vec::new();
        for (file, wanted) in &by_url {
            let source = self.source(file)?;
            let ranges: Vec<Range<u64>> = wanted.iter().map(|w| w.2.clone()).collect();
            fetches.push(async move { source.get_ranges(&ranges).await });
        }
        let got: Vec<Vec<Bytes>> = futures::future::try_join_all(fetches)
            .await
            .map_err(|e| SubsetError::Fetch { granule: self.granule.clone(), source: e.into() })?;
        for ((_, wanted), bytes) in by_url.iter().zip(got) {
            if bytes.len() != wanted.len() {
                return Err(SubsetError::Read {
                    granule: self.granule.clone(),
                    path: String::new(),
                    reason: format!("byte source returned {} ranges for {} asked", bytes.len(), wanted.len()),
                });
            }
            for (&(array, k, _, i), stored) in wanted.iter().zip(bytes) {
                out.fetched.0 += 1;
                out.fetched.1 += stored.len() as u64;
                out.chunks.insert((array.path.as_str(), k), Stored::Encoded(stored, i));
            }
        }
        Ok(out)
    }
}

impl Fetched<'_> {
    /// The elements of `rows` (sorted) of `array`, run by run: `each` gets the bytes (in the file's
    /// byte order) of consecutive rows in one chunk (most selections are a few long runs). Each
    /// chunk is decoded when the first of its rows is reached.
    fn runs(
        &mut self,
        granule: &str,
        array: &ArrayMeta,
        rows: &[u64],
        mut each: impl FnMut(&[u8]) -> Result<(), String>,
    ) -> Result<(), SubsetError> {
        let fail = |reason: String| SubsetError::Read { granule: granule.to_string(), path: array.path.clone(), reason };
        let len = rows_per_chunk(array).ok_or_else(|| fail("no chunk shape".into()))?;
        let size = array.dtype.size() as usize;
        let mut current = None;
        let mut bytes: &[u8] = &[];
        let mut i = 0;
        while i < rows.len() {
            let k = rows[i] / len;
            let chunk_end = k.saturating_add(1).saturating_mul(len);
            if current != Some(k) {
                current = Some(k);
                bytes = match self.chunks.get(&(array.path.as_str(), k)) {
                    Some(Stored::Raw(raw)) => raw,
                    Some(Stored::Encoded(stored, index)) => {
                        let chunk = array.chunks.get(*index).ok_or_else(|| fail(format!("no chunk {index}")))?;
                        // Decoded up to the last row wanted from it (a subset's rows often end early in a chunk).
                        let last = rows[i + rows[i..].partition_point(|&r| r < chunk_end) - 1];
                        let front = (last - k * len + 1).saturating_mul(size as u64);
                        decode_chunk_front_into(array, chunk, stored, front, &mut self.buffers).map_err(|e| fail(e.to_string()))?
                    }
                    None => return Err(fail(format!("chunk {k} was not fetched"))),
                };
            }
            // The run: consecutive rows up to the chunk's end (compared, not divided: a division
            // per row cost more than the conversion it guards).
            let mut j = i + 1;
            while j < rows.len() && rows[j] == rows[j - 1] + 1 && rows[j] < chunk_end {
                j += 1;
            }
            let first = usize::try_from(rows[i] - k * len).unwrap_or(usize::MAX);
            let run = first.checked_add(j - i).and_then(|end| bytes.get(first.saturating_mul(size)..end.saturating_mul(size)));
            each(run.ok_or_else(|| fail(format!("row {} outside its chunk", rows[j - 1])))?).map_err(fail)?;
            i = j;
        }
        Ok(())
    }

    /// Values of `rows` (sorted) of `array`, whose chunks [`Reader::fetch`] fetched, as `f64`.
    ///
    /// # Errors
    /// When a row's chunk was not fetched or is shorter than the row.
    pub(super) fn f64s(&mut self, granule: &str, array: &ArrayMeta, rows: &[u64]) -> Result<Vec<f64>, SubsetError> {
        let mut out = Vec::with_capacity(rows.len());
        self.runs(granule, array, rows, |run| to_f64_into(&array.dtype, run, &mut out).map_err(|e| e.to_string()))?;
        Ok(out)
    }

    /// Values of `rows` (sorted) of `array` as an Arrow column of the array's own element type
    /// (2-byte floats widen to `f64`), null where a value equals `missing`.
    ///
    /// # Errors
    /// As [`Fetched::f64s`].
    pub(super) fn column(&mut self, granule: &str, array: &ArrayMeta, rows: &[u64], missing: Option<f64>) -> Result<ArrayRef, SubsetError> {
        fn finish<T: ArrowPrimitiveType>(values: Vec<T::Native>, missing: Option<f64>, f: impl Fn(T::Native) -> f64) -> ArrayRef {
            let nulls = missing.map(|m| values.iter().map(|&v| f(v) != m).collect::<NullBuffer>()).filter(|n| n.null_count() > 0);
            Arc::new(PrimitiveArray::<T>::new(values.into(), nulls))
        }
        macro_rules! typed {
            ($arrow:ty, $t:ty, $n:literal, $order:expr) => {{
                let mut values: Vec<$t> = Vec::with_capacity(rows.len());
                let read = match $order {
                    ByteOrder::Le => <$t>::from_le_bytes,
                    ByteOrder::Be => <$t>::from_be_bytes,
                };
                self.runs(granule, array, rows, |run| {
                    values.extend(run.as_chunks::<$n>().0.iter().map(|&b| read(b)));
                    Ok(())
                })?;
                finish::<$arrow>(values, missing, |v| v as f64)
            }};
        }
        let mut dtype = &array.dtype;
        while let Datatype::Enum { base, .. } = dtype {
            dtype = base;
        }
        Ok(match *dtype {
            Datatype::Float { size: 4, order } => typed!(Float32Type, f32, 4, order),
            Datatype::Integer { size: 1, signed: true, order } => typed!(Int8Type, i8, 1, order),
            Datatype::Integer { size: 2, signed: true, order } => typed!(Int16Type, i16, 2, order),
            Datatype::Integer { size: 4, signed: true, order } => typed!(Int32Type, i32, 4, order),
            Datatype::Integer { size: 8, signed: true, order } => typed!(Int64Type, i64, 8, order),
            Datatype::Integer { size: 1, signed: false, order } => typed!(UInt8Type, u8, 1, order),
            Datatype::Integer { size: 2, signed: false, order } => typed!(UInt16Type, u16, 2, order),
            Datatype::Integer { size: 4, signed: false, order } => typed!(UInt32Type, u32, 4, order),
            Datatype::Integer { size: 8, signed: false, order } => typed!(UInt64Type, u64, 8, order),
            _ => finish::<Float64Type>(self.f64s(granule, array, rows)?, missing, |v| v),
        })
    }
}
