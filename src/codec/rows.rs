//! Reading a range of rows of 1-D numeric arrays: fetch only the chunks that overlap, in one round trip.

use std::ops::Range;

use bytes::Bytes;

use super::numeric::to_f64_into;
use super::{decode_chunk_into, to_f64, ChunkBuffers, CodecError};
use crate::manifest::{ArrayMeta, ChunkRef, Layout};
use crate::source::ByteSource;

/// Rows `rows` of the 1-D numeric array `array`, as `f64`; elements equal to the fill value are NaN.
///
/// Fetches only the chunks overlapping `rows`, in one [`ByteSource::get_ranges`] call. Chunks that are
/// not allocated read as the fill value (the `Fill` value bytes, else 0). An unfiltered chunk
/// (contiguous layouts included) is fetched only for the rows asked for.
///
/// # Errors
/// [`CodecError::Unreadable`] when the array is not 1-D, `rows` exceeds its length, or its layout
/// cannot be read by byte ranges (virtual, external, chunks in another file);
/// [`CodecError::UnsupportedType`] for non-numeric types; decoding and fetching errors otherwise.
pub async fn read_rows_f64(array: &ArrayMeta, source: &dyn ByteSource, rows: Range<u64>) -> Result<Vec<f64>, CodecError> {
    let mut all = read_many_rows_f64(&[array], source, rows).await?;
    Ok(all.pop().unwrap_or_default())
}

/// [`read_rows_f64`] for several arrays of the same length at once: all their chunks in ONE round trip.
///
/// # Errors
/// As [`read_rows_f64`], for the first array that fails.
pub async fn read_many_rows_f64(
    arrays: &[&ArrayMeta],
    source: &dyn ByteSource,
    rows: Range<u64>,
) -> Result<Vec<Vec<f64>>, CodecError> {
    let plans = arrays.iter().map(|a| Plan::new(a, rows.clone())).collect::<Result<Vec<_>, _>>()?;
    let ranges: Vec<Range<u64>> = plans.iter().flat_map(|p| p.ranges()).collect();
    let fetched = if ranges.is_empty() {
        Vec::new()
    } else {
        let path = arrays.first().map(|a| a.path.clone()).unwrap_or_default();
        source.get_ranges(&ranges).await.map_err(|e| CodecError::Source { path, source: Box::new(e) })?
    };
    if fetched.len() != ranges.len() {
        return Err(CodecError::Unreadable {
            path: arrays.first().map(|a| a.path.clone()).unwrap_or_default(),
            reason: format!("byte source returned {} ranges for {} asked", fetched.len(), ranges.len()),
        });
    }
    let mut next = fetched.into_iter();
    plans.iter().map(|p| p.finish(&mut next)).collect()
}

/// Where the bytes of one run of rows come from.
enum Origin<'a> {
    /// Not allocated: fill value.
    Fill,
    /// A whole stored chunk, to decode; its first row.
    Chunk(&'a ChunkRef, u64),
    /// The exact bytes of the rows, unfiltered (fetched or inline).
    Raw,
    /// Inline bytes (compact layout), starting at the array's row 0.
    Inline(&'a [u8]),
}

struct Piece<'a> {
    rows: Range<u64>,
    origin: Origin<'a>,
    /// The byte range to fetch, if any.
    fetch: Option<Range<u64>>,
}

struct Plan<'a> {
    array: &'a ArrayMeta,
    pieces: Vec<Piece<'a>>,
    fill: Option<f64>,
    start: u64,
}

impl<'a> Plan<'a> {
    fn new(array: &'a ArrayMeta, rows: Range<u64>) -> Result<Plan<'a>, CodecError> {
        let unreadable = |reason: String| CodecError::Unreadable { path: array.path.clone(), reason };
        if let Some(why) = &array.unsupported {
            return Err(unreadable(why.clone()));
        }
        let &[len] = array.shape.as_slice() else {
            return Err(unreadable(format!("rows are read from 1-D arrays; shape is {:?}", array.shape)));
        };
        if rows.start > rows.end || rows.end > len {
            return Err(unreadable(format!("rows {rows:?} outside 0..{len}")));
        }
        // Check the type now so a string array fails before any fetch.
        to_f64(&array.dtype, &[]).map_err(|_| CodecError::UnsupportedType {
            path: array.path.clone(),
            dtype: format!("{:?}", array.dtype),
        })?;
        let es = array.dtype.size();
        let fill = fill_value(array);
        let mut pieces = Vec::new();
        let start = rows.start;
        if rows.is_empty() {
            return Ok(Plan { array, pieces, fill, start });
        }
        match array.layout {
            Layout::Compact => {
                let inline = array.inline.as_deref().ok_or_else(|| unreadable("compact array without inline bytes".into()))?;
                pieces.push(Piece { rows, origin: Origin::Inline(inline), fetch: None });
            }
            Layout::Contiguous | Layout::Chunked => {
                let c = *array.chunk_shape.first().ok_or_else(|| unreadable("no chunk shape".into()))?;
                if c == 0 {
                    return Err(unreadable("chunk shape of 0 rows".into()));
                }
                let unfiltered = |ch: &ChunkRef| {
                    array.filters.iter().enumerate().all(|(i, _)| i < 32 && ch.filter_mask & (1u32 << i) != 0)
                };
                for k in rows.start / c..=(rows.end - 1) / c {
                    let lo = rows.start.max(k * c);
                    let hi = rows.end.min((k + 1) * c);
                    let found = array.chunks.binary_search_by(|ch| ch.coords.first().copied().unwrap_or(0).cmp(&k));
                    let Ok(i) = found else {
                        pieces.push(Piece { rows: lo..hi, origin: Origin::Fill, fetch: None });
                        continue;
                    };
                    let ch = &array.chunks[i];
                    if ch.href.is_some() {
                        return Err(unreadable(format!("chunk {:?} lies in another file", ch.coords)));
                    }
                    let end = ch.offset.checked_add(ch.length).ok_or_else(|| unreadable("chunk extent overflows".into()))?;
                    if unfiltered(ch) {
                        let a = ch.offset + (lo - k * c) * es;
                        let b = ch.offset + (hi - k * c) * es;
                        if b > end {
                            return Err(unreadable(format!("chunk {:?} holds {} bytes, rows need {}", ch.coords, ch.length, b - ch.offset)));
                        }
                        pieces.push(Piece { rows: lo..hi, origin: Origin::Raw, fetch: Some(a..b) });
                    } else {
                        pieces.push(Piece { rows: lo..hi, origin: Origin::Chunk(ch, k * c), fetch: Some(ch.offset..end) });
                    }
                }
            }
            Layout::External | Layout::Virtual => {
                return Err(unreadable(format!("{:?} layout is not read through byte ranges", array.layout)));
            }
        }
        Ok(Plan { array, pieces, fill, start })
    }

    fn ranges(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        self.pieces.iter().filter_map(|p| p.fetch.clone())
    }

    fn finish(&self, fetched: &mut impl Iterator<Item = Bytes>) -> Result<Vec<f64>, CodecError> {
        let a = self.array;
        let es = a.dtype.size() as usize;
        let typed = |e: CodecError| match e {
            CodecError::UnsupportedType { dtype, .. } => CodecError::UnsupportedType { path: a.path.clone(), dtype },
            CodecError::Corrupt { reason, coords, .. } => CodecError::Corrupt { path: a.path.clone(), coords, reason },
            other => other,
        };
        let rows: u64 = self.pieces.iter().map(|p| p.rows.end - p.rows.start).sum();
        // Every piece converts straight into the column, reserved once.
        let mut out = Vec::with_capacity(usize::try_from(rows).unwrap_or(0));
        let mut buffers = ChunkBuffers::default();
        for p in &self.pieces {
            let n = (p.rows.end - p.rows.start) as usize;
            let bytes = if p.fetch.is_some() { fetched.next() } else { None };
            let before = out.len();
            match &p.origin {
                Origin::Fill => out.resize(before + n, self.fill.unwrap_or(0.0)),
                Origin::Raw => to_f64_into(&a.dtype, bytes.as_deref().unwrap_or_default(), &mut out).map_err(typed)?,
                Origin::Inline(inline) => {
                    let (s, e) = (p.rows.start as usize * es, p.rows.end as usize * es);
                    let slice = inline.get(s..e).ok_or_else(|| CodecError::Unreadable {
                        path: a.path.clone(),
                        reason: format!("inline data of {} bytes, rows need {e}", inline.len()),
                    })?;
                    to_f64_into(&a.dtype, slice, &mut out).map_err(typed)?;
                }
                Origin::Chunk(ch, first) => {
                    let raw = decode_chunk_into(a, ch, bytes.as_deref().unwrap_or_default(), &mut buffers)?;
                    let (s, e) = ((p.rows.start - first) as usize * es, (p.rows.end - first) as usize * es);
                    let slice = raw.get(s..e).ok_or_else(|| CodecError::Corrupt {
                        path: a.path.clone(),
                        coords: ch.coords.to_vec(),
                        reason: format!("decoded {} bytes, rows need {e}", raw.len()),
                    })?;
                    to_f64_into(&a.dtype, slice, &mut out).map_err(typed)?;
                }
            }
            if out.len() - before != n {
                return Err(CodecError::Unreadable {
                    path: a.path.clone(),
                    reason: format!("got {} values for {n} rows", out.len() - before),
                });
            }
        }
        if let Some(f) = self.fill {
            for v in &mut out {
                if *v == f {
                    *v = f64::NAN;
                }
            }
        }
        debug_assert!(out.len() as u64 == self.pieces.last().map_or(0, |p| p.rows.end - self.start));
        Ok(out)
    }
}

/// The value of unwritten elements, as HDF5 reads them: the HDF5 fill value if one is stored,
/// else a numeric `_FillValue` attribute (netCDF-4 / CF), else none.
pub(crate) fn fill_value(array: &ArrayMeta) -> Option<f64> {
    stored_fill(array).or_else(|| fill_attribute(array))
}

/// The value marking missing data, as CF defines it: the `_FillValue` attribute, else the HDF5
/// fill value. (The two agree in netCDF-4 and ICESat-2 files; where they differ, each reader
/// follows its own convention.)
pub(crate) fn missing_value(array: &ArrayMeta) -> Option<f64> {
    fill_attribute(array).or_else(|| stored_fill(array))
}

/// The HDF5 fill value stored in the dataset's fill-value message, as a number.
fn stored_fill(array: &ArrayMeta) -> Option<f64> {
    match to_f64(&array.dtype, array.fill.value.as_deref()?) {
        Ok(v) if v.len() == 1 => Some(v[0]),
        _ => None,
    }
}

/// A numeric `_FillValue` attribute: a number, or a list of one.
fn fill_attribute(array: &ArrayMeta) -> Option<f64> {
    let attr = array.attributes.iter().find(|a| a.name == "_FillValue")?;
    match &attr.value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::Array(v) if v.len() == 1 => v[0].as_f64(),
        _ => None,
    }
}
