//! The subset output's Parquet column chunks, encoded here from the points' own vectors rather
//! than by parquet-rs's Arrow writer, which must treat every column generally: it hashed each
//! row's text to build the dictionaries of the three text columns (a fifth of the output's CPU)
//! and derived levels from Arrow arrays. Here a text column is its runs (one per track), numbers
//! are copied or byte-stream-split straight into the page, and only the pages' LZ4 is real work.
//! parquet-rs still serializes the page headers, the chunk metadata and the footer.
//!
//! Pages are Parquet v1 data pages, LZ4_RAW compressed, as the Arrow writer wrote them: floats
//! BYTE_STREAM_SPLIT, integers PLAIN, text RLE_DICTIONARY over a PLAIN dictionary page, WKB
//! PLAIN. A nullable column's definition levels are one RLE run when no value is null, else
//! bit-packed.

use std::collections::HashMap;
use std::io::Write;

use arrow::array::{Array, ArrayRef, ArrowPrimitiveType, AsArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, TimeUnit, TimestampMicrosecondType,
    UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use bytes::Bytes;
use parquet::basic::{Compression, Encoding, Type as PhysicalType};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::errors::ParquetError;
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::statistics::Statistics;
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

type Result<T> = std::result::Result<T, ParquetError>;

/// Bytes of one 2-D WKB point.
const POINT_WKB: usize = 21;

/// One Parquet leaf column of a row group being written: its data pages so far, with what the
/// chunk's metadata needs (sizes, value and null counts, encodings, min and max).
pub(super) struct Leaf {
    descr: ColumnDescPtr,
    pages: TrackedWrite<Vec<u8>>,
    /// Page headers plus uncompressed page bodies.
    uncompressed: usize,
    rows: usize,
    nulls: usize,
    encoding: Encoding,
    bounds: Option<Bounds>,
    /// Text columns: the dictionary, in key order, and each value's key.
    dictionary: Option<(Vec<String>, HashMap<String, u32>)>,
    /// Whether the chunk gets statistics (not the WKB column: min and max of WKB bytes mean
    /// nothing; the `bbox` covering has the real ones).
    statistics: bool,
}

/// Buffers reused from page to page.
#[derive(Default)]
pub(super) struct Scratch {
    body: Vec<u8>,
    compressed: Vec<u8>,
}

/// Min and max of a chunk's non-null values, in the order Parquet compares the column's type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Bounds {
    Int32(i32, i32),
    UInt32(u32, u32),
    Int64(i64, i64),
    UInt64(u64, u64),
    Float(f32, f32),
    Double(f64, f64),
}

/// A value a numeric page holds: its little-endian bytes and its bounds.
pub(super) trait Value: Copy + PartialOrd {
    const WIDTH: usize;
    fn put(self, out: &mut Vec<u8>);
    fn byte(self, k: usize) -> u8;
    /// `false` for NaN, which statistics leave out.
    fn comparable(self) -> bool {
        true
    }
    fn bounds(min: Self, max: Self) -> Bounds;
}

macro_rules! value {
    ($t:ty, $variant:ident) => {
        impl Value for $t {
            const WIDTH: usize = std::mem::size_of::<$t>();
            #[inline]
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            #[inline]
            fn byte(self, k: usize) -> u8 {
                self.to_le_bytes()[k]
            }
            fn comparable(self) -> bool {
                #[allow(clippy::eq_op)]
                {
                    self == self
                }
            }
            fn bounds(min: Self, max: Self) -> Bounds {
                Bounds::$variant(min, max)
            }
        }
    };
}
value!(i32, Int32);
value!(u32, UInt32);
value!(i64, Int64);
value!(u64, UInt64);
value!(f32, Float);
value!(f64, Double);

impl Bounds {
    fn merge(self, other: Bounds) -> Bounds {
        use Bounds::*;
        match (self, other) {
            (Int32(a, b), Int32(c, d)) => Int32(a.min(c), b.max(d)),
            (UInt32(a, b), UInt32(c, d)) => UInt32(a.min(c), b.max(d)),
            (Int64(a, b), Int64(c, d)) => Int64(a.min(c), b.max(d)),
            (UInt64(a, b), UInt64(c, d)) => UInt64(a.min(c), b.max(d)),
            (Float(a, b), Float(c, d)) => Float(a.min(c), b.max(d)),
            (Double(a, b), Double(c, d)) => Double(a.min(c), b.max(d)),
            (s, _) => s,
        }
    }

    /// As Parquet statistics. A zero bound is written signed the way the format asks (a min of
    /// -0.0, a max of +0.0), so readers that compare with either zero skip nothing they need.
    fn statistics(self, nulls: u64) -> Statistics {
        let nulls = Some(nulls);
        match self {
            Bounds::Int32(a, b) => Statistics::int32(Some(a), Some(b), None, nulls, false),
            Bounds::UInt32(a, b) => Statistics::int32(Some(a as i32), Some(b as i32), None, nulls, false),
            Bounds::Int64(a, b) => Statistics::int64(Some(a), Some(b), None, nulls, false),
            Bounds::UInt64(a, b) => Statistics::int64(Some(a as i64), Some(b as i64), None, nulls, false),
            Bounds::Float(a, b) => {
                let (a, b) = (if a == 0.0 { -0.0 } else { a }, if b == 0.0 { 0.0 } else { b });
                Statistics::float(Some(a), Some(b), None, nulls, false)
            }
            Bounds::Double(a, b) => {
                let (a, b) = (if a == 0.0 { -0.0 } else { a }, if b == 0.0 { 0.0 } else { b });
                Statistics::double(Some(a), Some(b), None, nulls, false)
            }
        }
    }
}

/// A leaf chunk encoded, ready to be appended to a row group (as its own column, or, for the
/// `bbox` covering, as another column with the same values).
pub(super) struct Encoded {
    /// Dictionary page (if any) then data pages, headers included.
    pub chunk: Bytes,
    dictionary_len: usize,
    uncompressed: usize,
    rows: usize,
    encodings: Vec<Encoding>,
    statistics: Option<Statistics>,
    bounds: Option<Bounds>,
}

impl Encoded {
    /// The close result parquet-rs appends the chunk with, as column `descr`.
    pub fn close(&self, descr: ColumnDescPtr) -> Result<ColumnCloseResult> {
        let mut b = ColumnChunkMetaData::builder(descr)
            .set_compression(Compression::LZ4_RAW)
            .set_encodings(self.encodings.clone())
            .set_num_values(self.rows as i64)
            .set_total_compressed_size(self.chunk.len() as i64)
            .set_total_uncompressed_size(self.uncompressed as i64)
            .set_data_page_offset(self.dictionary_len as i64)
            .set_dictionary_page_offset((self.dictionary_len > 0).then_some(0));
        if let Some(s) = &self.statistics {
            b = b.set_statistics(s.clone());
        }
        Ok(ColumnCloseResult {
            bytes_written: self.chunk.len() as u64,
            rows_written: self.rows as u64,
            metadata: b.build()?,
            bloom_filter: None,
            column_index: None,
            offset_index: None,
        })
    }

    /// Min and max of a DOUBLE chunk's values.
    pub fn double_range(&self) -> Option<(f64, f64)> {
        match self.bounds {
            Some(Bounds::Double(a, b)) => Some((a, b)),
            _ => None,
        }
    }
}

impl Leaf {
    /// An empty chunk of column `descr`.
    pub fn new(descr: ColumnDescPtr) -> Self {
        Leaf {
            descr,
            pages: TrackedWrite::new(Vec::new()),
            uncompressed: 0,
            rows: 0,
            nulls: 0,
            encoding: Encoding::PLAIN,
            bounds: None,
            dictionary: None,
            statistics: true,
        }
    }

    /// A page of text given as runs of one value: dictionary keys, run-length encoded.
    pub fn text<'a>(&mut self, runs: impl Iterator<Item = (&'a str, usize)>, s: &mut Scratch) -> Result<()> {
        let (values, keys) = self.dictionary.get_or_insert_with(Default::default);
        let mut key_runs: Vec<(u32, usize)> = Vec::new();
        for (text, n) in runs.filter(|r| r.1 > 0) {
            let key = match keys.get(text) {
                Some(&k) => k,
                None => {
                    let k = u32::try_from(values.len()).map_err(|_| ParquetError::General("too many distinct values".into()))?;
                    keys.insert(text.to_string(), k);
                    values.push(text.to_string());
                    k
                }
            };
            match key_runs.last_mut() {
                Some((k, count)) if *k == key => *count += n,
                _ => key_runs.push((key, n)),
            }
        }
        // Keys take as many bits as the largest needs (at least one), in whole bytes per run.
        let width = (32 - (values.len().max(2) as u32 - 1).leading_zeros()) as u8;
        let rows = key_runs.iter().map(|r| r.1).sum();
        s.body.clear();
        self.levels(&mut s.body, rows, None)?;
        s.body.push(width);
        for (key, n) in key_runs {
            put_varint(&mut s.body, (n as u64) << 1);
            s.body.extend_from_slice(&key.to_le_bytes()[..usize::from(width).div_ceil(8)]);
        }
        self.encoding = Encoding::RLE_DICTIONARY;
        self.page(rows, 0, s)
    }

    /// A page of WKB points, `x` `y`.
    pub fn wkb_points(&mut self, x: &[f64], y: &[f64], s: &mut Scratch) -> Result<()> {
        s.body.clear();
        self.levels(&mut s.body, x.len(), None)?;
        s.body.reserve(x.len() * (4 + POINT_WKB));
        for (x, y) in x.iter().zip(y) {
            s.body.extend_from_slice(&[POINT_WKB as u8, 0, 0, 0, 1, 1, 0, 0, 0]);
            s.body.extend_from_slice(&x.to_le_bytes());
            s.body.extend_from_slice(&y.to_le_bytes());
        }
        self.statistics = false;
        self.encoding = Encoding::PLAIN;
        self.page(x.len(), 0, s)
    }

    /// A page of an Arrow column of numbers (nulls where not valid), in the column's physical
    /// type: INT32 for 8- to 32-bit integers, INT64 for 64-bit ones and microsecond timestamps.
    pub fn array(&mut self, a: &ArrayRef, s: &mut Scratch) -> Result<()> {
        fn widened<T: ArrowPrimitiveType, V: Value>(a: &ArrayRef, f: impl Fn(T::Native) -> V) -> Vec<V> {
            a.as_primitive::<T>().values().iter().map(|&v| f(v)).collect()
        }
        let nulls = a.logical_nulls();
        let valid = nulls.as_ref().filter(|n| n.null_count() > 0);
        match a.data_type() {
            DataType::Float64 => self.numbers(a.as_primitive::<Float64Type>().values(), valid, true, s),
            DataType::Float32 => self.numbers(a.as_primitive::<Float32Type>().values(), valid, true, s),
            DataType::Int32 => self.numbers(a.as_primitive::<Int32Type>().values(), valid, false, s),
            DataType::Int64 => self.numbers(a.as_primitive::<Int64Type>().values(), valid, false, s),
            DataType::UInt32 => self.numbers(a.as_primitive::<UInt32Type>().values(), valid, false, s),
            DataType::UInt64 => self.numbers(a.as_primitive::<UInt64Type>().values(), valid, false, s),
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                self.numbers(a.as_primitive::<TimestampMicrosecondType>().values(), valid, false, s)
            }
            DataType::Int8 => self.numbers(&widened::<Int8Type, i32>(a, i32::from), valid, false, s),
            DataType::Int16 => self.numbers(&widened::<Int16Type, i32>(a, i32::from), valid, false, s),
            DataType::UInt8 => self.numbers(&widened::<UInt8Type, u32>(a, u32::from), valid, false, s),
            DataType::UInt16 => self.numbers(&widened::<UInt16Type, u32>(a, u32::from), valid, false, s),
            t => Err(ParquetError::General(format!("column `{}`: {t} is not written", self.descr.name()))),
        }
    }

    /// A page of numbers, `valid` giving the non-null ones (all when `None`); floats are
    /// byte-stream-split (`split`), other numbers PLAIN.
    pub fn numbers<V: Value>(&mut self, values: &[V], valid: Option<&NullBuffer>, split: bool, s: &mut Scratch) -> Result<()> {
        let rows = values.len();
        s.body.clear();
        self.levels(&mut s.body, rows, valid)?;
        let kept: Vec<V>;
        let values = match valid {
            Some(v) => {
                kept = values.iter().zip(v.iter()).filter_map(|(&x, ok)| ok.then_some(x)).collect();
                &kept[..]
            }
            None => values,
        };
        let mut range: Option<(V, V)> = None;
        for &v in values.iter().filter(|v| v.comparable()) {
            range = Some(match range {
                Some((lo, hi)) => (if v < lo { v } else { lo }, if v > hi { v } else { hi }),
                None => (v, v),
            });
        }
        if let Some((lo, hi)) = range {
            let b = V::bounds(lo, hi);
            self.bounds = Some(self.bounds.map_or(b, |old| old.merge(b)));
        }
        if split {
            // Byte k of every value, then byte k + 1 of every value...: the sign, exponent and
            // high mantissa bytes, alike over a region, become runs that compress.
            let (start, n) = (s.body.len(), values.len());
            s.body.resize(start + n * V::WIDTH, 0);
            let out = &mut s.body[start..];
            for k in 0..V::WIDTH {
                for (o, v) in out[k * n..(k + 1) * n].iter_mut().zip(values) {
                    *o = v.byte(k);
                }
            }
            self.encoding = Encoding::BYTE_STREAM_SPLIT;
        } else {
            s.body.reserve(values.len() * V::WIDTH);
            for v in values {
                v.put(&mut s.body);
            }
            self.encoding = Encoding::PLAIN;
        }
        self.page(rows, rows - values.len(), s)
    }

    /// Definition levels of `rows` values (a nullable column's only): the 4-byte length, then
    /// one RLE run of "present" or, with nulls, the validity bits bit-packed (LSB first, as
    /// Arrow keeps them). A required column has none; a null there is an error.
    fn levels(&self, out: &mut Vec<u8>, rows: usize, valid: Option<&NullBuffer>) -> Result<()> {
        match (self.descr.max_def_level(), valid) {
            (0, None) => Ok(()),
            (0, Some(_)) => Err(ParquetError::General(format!("column `{}` is required but has nulls", self.descr.name()))),
            (1, valid) => {
                let at = out.len();
                out.extend_from_slice(&[0; 4]);
                match valid {
                    None => {
                        put_varint(out, (rows as u64) << 1);
                        out.push(1);
                    }
                    Some(v) => {
                        let groups = rows.div_ceil(8);
                        put_varint(out, ((groups as u64) << 1) | 1);
                        let bits = v.inner().sliced();
                        out.extend_from_slice(&bits.as_slice()[..groups]);
                    }
                }
                let len = (out.len() - at - 4) as u32;
                out[at..at + 4].copy_from_slice(&len.to_le_bytes());
                Ok(())
            }
            (d, _) => Err(ParquetError::General(format!("column `{}`: definition level {d} is not written", self.descr.name()))),
        }
    }

    /// The page in `s.body` (`rows` values, `nulls` of them null), compressed and appended.
    fn page(&mut self, rows: usize, nulls: usize, s: &mut Scratch) -> Result<()> {
        let compressed = lz4(&s.body, &mut s.compressed)?;
        let page = Page::DataPage {
            buf: Bytes::copy_from_slice(compressed),
            num_values: u32::try_from(rows).map_err(|_| ParquetError::General("page too large".into()))?,
            encoding: self.encoding,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        };
        let spec = SerializedPageWriter::new(&mut self.pages).write_page(CompressedPage::new(page, s.body.len()))?;
        self.uncompressed += spec.uncompressed_size;
        self.rows += rows;
        self.nulls += nulls;
        Ok(())
    }

    /// The chunk: a text column's dictionary page first, then the data pages.
    pub fn finish(self, s: &mut Scratch) -> Result<Encoded> {
        let Leaf { descr, pages, mut uncompressed, rows, nulls, encoding, bounds, dictionary, statistics } = self;
        let data = pages.into_inner()?;
        let mut encodings = vec![encoding];
        if descr.max_def_level() > 0 {
            encodings.push(Encoding::RLE);
        }
        let nulls = nulls as u64;
        let (chunk, dictionary_len, statistics) = match dictionary {
            Some((values, _)) => {
                s.body.clear();
                for v in &values {
                    s.body.extend_from_slice(&(v.len() as u32).to_le_bytes());
                    s.body.extend_from_slice(v.as_bytes());
                }
                let compressed = lz4(&s.body, &mut s.compressed)?;
                let page = Page::DictionaryPage {
                    buf: Bytes::copy_from_slice(compressed),
                    num_values: values.len() as u32,
                    encoding: Encoding::PLAIN,
                    is_sorted: false,
                };
                let mut out = TrackedWrite::new(Vec::with_capacity(data.len() + compressed.len() + 64));
                let spec = SerializedPageWriter::new(&mut out).write_page(CompressedPage::new(page, s.body.len()))?;
                uncompressed += spec.uncompressed_size;
                out.write_all(&data)?;
                encodings.insert(0, Encoding::PLAIN);
                let min = values.iter().min().map(|v| ByteArray::from(v.as_str()));
                let max = values.iter().max().map(|v| ByteArray::from(v.as_str()));
                (out.into_inner()?, spec.bytes_written as usize, Some(Statistics::byte_array(min, max, None, Some(nulls), false)))
            }
            None => {
                let stats = statistics.then(|| match bounds {
                    Some(b) => b.statistics(nulls),
                    None => no_bounds(descr.physical_type(), nulls),
                });
                (data, 0, stats)
            }
        };
        Ok(Encoded { chunk: Bytes::from(chunk), dictionary_len, uncompressed, rows, encodings, statistics, bounds })
    }
}

/// Statistics of a chunk without a comparable value (all null or NaN): the null count only.
fn no_bounds(physical: PhysicalType, nulls: u64) -> Statistics {
    let nulls = Some(nulls);
    match physical {
        PhysicalType::INT64 => Statistics::int64(None, None, None, nulls, false),
        PhysicalType::FLOAT => Statistics::float(None, None, None, nulls, false),
        PhysicalType::DOUBLE => Statistics::double(None, None, None, nulls, false),
        PhysicalType::BYTE_ARRAY => Statistics::byte_array(None, None, None, nulls, false),
        _ => Statistics::int32(None, None, None, nulls, false),
    }
}

/// `body` LZ4 (raw block) compressed into `out`, which grows to the largest page seen.
fn lz4<'a>(body: &[u8], out: &'a mut Vec<u8>) -> Result<&'a [u8]> {
    let bound = lz4_flex::block::get_maximum_output_size(body.len());
    if out.len() < bound {
        out.resize(bound, 0);
    }
    let n = lz4_flex::block::compress_into(body, out).map_err(|e| ParquetError::External(Box::new(e)))?;
    Ok(&out[..n])
}

/// `v` as an unsigned LEB128 varint.
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}
