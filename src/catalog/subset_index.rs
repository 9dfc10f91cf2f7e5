//! The subset index: one granule's catalog entry in vz's own compact binary layout, written beside
//! the three Parquet tables for the reader that needs a few arrays of every granule fast
//! (`vz subset`, and `vz serve`'s `/subset`).
//!
//! Reading those arrays back from the tables cost ~2.4 ms of CPU per granule: three Parquet
//! footers, reader set-up, a pass over every chunk row's path, list columns. That was a sixth of
//! a Greenland subset's CPU, and the first granule's read stood before any chunk was fetched.
//! Here a reader skips the arrays it does not want by their length and decodes the rest
//! directly. It decodes to exactly what [`decode_entry_selected`] gives from the tables (tested);
//! the tables remain the catalog of record, and a catalog without these files (an older vz's) is
//! read from them.
//!
//! Layout, little-endian. Every count is checked against the bytes left before anything is
//! allocated, so a damaged file is an error, never a panic or a huge allocation.
//!
//! ```text
//! "VZSI" u32:version
//! u32:n header(JSON, n bytes)       granule, url, size, source, etag, times, H3 resolution, groups
//! u64:n pool(n bytes)               u32:count, count × u64:offset (from the pool's start), then
//!                                   per shape: u32:cells, cells × u64, u32:wkb length | NONE, wkb,
//!                                   u32:row boxes, row boxes × 4 f64 (xmin ymin xmax ymax; NaN: none)
//! u32:arrays, per array:            u32:n path, u64:n body
//! body:                             u32:n ArrayMeta JSON without its chunks, u32:chunks,
//!                                   u32:n group | NONE (untagged), then per chunk:
//!   u8:dims, dims × u64 coords, u64:offset, u64:length, u32:filter mask, u32:n href | NONE,
//!   when tagged: u64:row start, u64:row end, u64:points, u8:has time, [i64:µs, i64:µs], u32:shape
//! ```
//!
//! A shape (a chunk's H3 cells, WKB track and row boxes) is stored once and referred to by index:
//! every chunk of a geolocated group repeats its latitude chunk's shape. The row boxes are only
//! here, not in the tables (see [`ChunkSpatial::row_boxes`]).
//!
//! Layout 1 (vz before row boxes) is read from the tables instead ([`older_layout`]).
//!
//! [`decode_entry_selected`]: super::decode_entry_selected

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::decode::{CatalogReadError, Selection};
use super::encode::{micros, CatalogError, CatalogFile};
use super::{CatalogEntry, ChunkSpatial, GeolocationInfo, GranuleInfo, CATALOG_VERSION};
use crate::manifest::{ArrayMeta, ChunkRef, GranuleManifest, SourceKind};
use crate::spatial::BBox;

/// Directory of the subset index files under the catalog root (`<granule>.vzs`).
pub const SUBSET_INDEX: &str = "subset-index";

const MAGIC: &[u8; 4] = b"VZSI";
/// Layout version; a reader refuses any other, and [`older_layout`] tells an older one.
const VERSION: u32 = 2;
/// An absent length-prefixed value.
const NONE: u32 = u32::MAX;
/// HDF5's largest rank.
const MAX_DIMS: u8 = 32;
/// Bytes of a chunk record without coordinates, href or tagging: a floor used to bound counts.
const MIN_CHUNK_BYTES: usize = 1 + 8 + 8 + 4 + 4;

/// The granule-wide facts.
#[derive(Serialize, Deserialize)]
struct Header {
    catalog_version: String,
    granule: String,
    url: String,
    size: u64,
    source: SourceKind,
    etag: Option<String>,
    last_modified_ms: Option<i64>,
    /// The granule's time range in µs, rounded as the tables store it.
    time_us: Option<(i64, i64)>,
    h3_resolution: u8,
    geolocation: Vec<GeolocationInfo>,
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Counts and lengths in this file are u32 (below [`NONE`]); a larger `what` cannot be written.
fn put_count(out: &mut Vec<u8>, n: usize, granule: &str, what: &'static str) -> Result<(), CatalogError> {
    let n = u32::try_from(n).ok().filter(|&n| n != NONE).ok_or_else(|| CatalogError::TooLarge { granule: granule.to_string(), what })?;
    put_u32(out, n);
    Ok(())
}

fn put_len(out: &mut Vec<u8>, bytes: &[u8], granule: &str) -> Result<(), CatalogError> {
    put_count(out, bytes.len(), granule, "a value longer than 4 GiB")?;
    out.extend_from_slice(bytes);
    Ok(())
}

fn put_opt(out: &mut Vec<u8>, bytes: Option<&[u8]>, granule: &str) -> Result<(), CatalogError> {
    match bytes {
        Some(b) => put_len(out, b, granule),
        None => {
            put_u32(out, NONE);
            Ok(())
        }
    }
}

/// A shape as stored: H3 cells, WKB track, and the row boxes' bytes (4 f64 each, NaN for none).
type Shape<'a> = (&'a [u64], Option<&'a [u8]>, Vec<u8>);

/// Shapes, each stored once.
#[derive(Default)]
struct Pool<'a> {
    index: HashMap<Shape<'a>, u32>,
    shapes: Vec<Shape<'a>>,
}

/// Row boxes as stored: xmin, ymin, xmax, ymax as f64, NaN for a run without a box.
fn row_box_bytes(boxes: &[Option<BBox>]) -> Vec<u8> {
    boxes
        .iter()
        .flat_map(|b| b.map_or([f64::NAN; 4], |b| [b.xmin, b.ymin, b.xmax, b.ymax]))
        .flat_map(f64::to_le_bytes)
        .collect()
}

impl<'a> Pool<'a> {
    fn intern(&mut self, s: &'a ChunkSpatial) -> u32 {
        let key = (s.h3.as_slice(), s.wkb.as_deref(), row_box_bytes(&s.row_boxes));
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = u32::try_from(self.shapes.len()).unwrap_or(NONE);
        self.shapes.push(key.clone());
        self.index.insert(key, i);
        i
    }

    fn encode(&self, granule: &str) -> Result<Vec<u8>, CatalogError> {
        let mut body = Vec::new();
        let mut offsets = Vec::with_capacity(self.shapes.len());
        for (cells, wkb, boxes) in &self.shapes {
            offsets.push(body.len() as u64);
            put_count(&mut body, cells.len(), granule, "a chunk's H3 cells")?;
            for &c in *cells {
                put_u64(&mut body, c);
            }
            put_opt(&mut body, *wkb, granule)?;
            put_count(&mut body, boxes.len() / 32, granule, "a chunk's row boxes")?;
            body.extend_from_slice(boxes);
        }
        let table = 4 + 8 * offsets.len() as u64;
        let mut out = Vec::with_capacity(table as usize + body.len());
        put_count(&mut out, offsets.len(), granule, "the shape pool")?;
        for o in offsets {
            put_u64(&mut out, table + o);
        }
        out.extend_from_slice(&body);
        Ok(out)
    }
}

/// The subset index file of a catalog entry.
///
/// # Errors
/// When a value does not fit the layout's lengths, or the array metadata cannot be serialised.
pub fn encode_subset_index(e: &CatalogEntry) -> Result<CatalogFile, CatalogError> {
    let granule = e.info.id.as_str();
    let m = &e.manifest;
    let header = Header {
        catalog_version: CATALOG_VERSION.to_string(),
        granule: granule.to_string(),
        url: m.url.clone(),
        size: m.size,
        source: m.source,
        etag: e.info.etag.clone(),
        last_modified_ms: e.info.last_modified_ms,
        time_us: e.time.map(|(a, b)| (micros(a), micros(b))),
        h3_resolution: e.h3_resolution,
        geolocation: e.geolocation.clone(),
    };
    let mut pool = Pool::default();
    let mut arrays = Vec::with_capacity(m.arrays.len());
    for a in &m.arrays {
        let mut body = Vec::new();
        put_len(&mut body, &to_json(&ArrayMeta { chunks: Vec::new(), ..a.clone() }, granule)?, granule)?;
        put_count(&mut body, a.chunks.len(), granule, "an array's chunk list")?;
        // Tagged as the tables tag it: a group, and a spatial extent for every chunk.
        let tagged = e.spatial.get(&a.path).filter(|(_, s)| s.len() >= a.chunks.len());
        put_opt(&mut body, tagged.map(|(g, _)| g.as_bytes()), granule)?;
        for (i, c) in a.chunks.iter().enumerate() {
            let dims = u8::try_from(c.coords.len()).ok().filter(|&d| d <= MAX_DIMS).ok_or_else(|| CatalogError::TooLarge {
                granule: granule.into(),
                what: "a chunk of more than 32 dimensions",
            })?;
            body.push(dims);
            for &x in c.coords.iter() {
                put_u64(&mut body, x);
            }
            put_u64(&mut body, c.offset);
            put_u64(&mut body, c.length);
            put_u32(&mut body, c.filter_mask);
            let file = c.file(&m.url);
            put_opt(&mut body, (file != m.url).then_some(file.as_bytes()), granule)?;
            if let Some((_, spatial)) = tagged {
                let s = &spatial[i];
                put_u64(&mut body, s.rows.start);
                put_u64(&mut body, s.rows.end);
                put_u64(&mut body, s.points);
                match s.time {
                    Some((t0, t1)) => {
                        body.push(1);
                        body.extend_from_slice(&micros(t0).to_le_bytes());
                        body.extend_from_slice(&micros(t1).to_le_bytes());
                    }
                    None => body.push(0),
                }
                put_u32(&mut body, pool.intern(s));
            }
        }
        arrays.push((a.path.as_bytes(), body));
    }

    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    put_u32(&mut out, VERSION);
    put_len(&mut out, &to_json(&header, granule)?, granule)?;
    let shapes = pool.encode(granule)?;
    put_u64(&mut out, shapes.len() as u64);
    out.extend_from_slice(&shapes);
    put_count(&mut out, arrays.len(), granule, "the array list")?;
    for (path, body) in &arrays {
        put_len(&mut out, path, granule)?;
        put_u64(&mut out, body.len() as u64);
        out.extend_from_slice(body);
    }
    Ok(CatalogFile { table: SUBSET_INDEX, rows: m.arrays.len(), bytes: Bytes::from(out) })
}

fn to_json<T: Serialize>(v: &T, granule: &str) -> Result<Vec<u8>, CatalogError> {
    serde_json::to_vec(v).map_err(|source| CatalogError::Json { granule: granule.to_string(), source })
}

/// A length or count pointing past the end of the file (or of its section).
struct Truncated;

/// Why a subset index cannot be decoded.
enum Damage {
    Truncated,
    Invalid(String),
}

impl From<Truncated> for Damage {
    fn from(_: Truncated) -> Damage {
        Damage::Truncated
    }
}

/// Seconds from the µs the file stores, as the tables' reader converts them.
fn seconds(us: i64) -> f64 {
    us as f64 / 1e6
}

/// Bounds-checked reads from the file.
struct Input<'a> {
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        if n > self.rest.len() {
            return Err(Truncated);
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Truncated> {
        self.take(N)?.try_into().map_err(|_| Truncated)
    }

    fn u8(&mut self) -> Result<u8, Truncated> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, Truncated> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, Truncated> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, Truncated> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// A u32 length and that many bytes; `None` for [`NONE`].
    fn opt(&mut self) -> Result<Option<&'a [u8]>, Truncated> {
        match self.u32()? {
            NONE => Ok(None),
            n => self.take(n as usize).map(Some),
        }
    }

    fn bytes(&mut self) -> Result<&'a [u8], Truncated> {
        self.opt()?.ok_or(Truncated)
    }

    /// A u64 length and that many bytes.
    fn section(&mut self) -> Result<&'a [u8], Truncated> {
        let n = usize::try_from(self.u64()?).map_err(|_| Truncated)?;
        self.take(n)
    }

    /// A count of records of at least `min` bytes each, checked against the bytes left.
    fn count(&mut self, min: usize) -> Result<usize, Truncated> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min) > self.rest.len() {
            return Err(Truncated);
        }
        Ok(n)
    }
}

/// The shape pool, its shapes decoded when a chunk that keeps them refers to one.
struct Shapes<'a> {
    pool: &'a [u8],
    count: usize,
}

impl<'a> Shapes<'a> {
    fn new(pool: &'a [u8]) -> Result<Shapes<'a>, Truncated> {
        let count = Input { rest: pool }.count(8)?;
        Ok(Shapes { pool, count })
    }

    fn get(&self, i: u32) -> Result<(Vec<u64>, Option<Vec<u8>>, Vec<Option<BBox>>), Truncated> {
        let i = i as usize;
        if i >= self.count {
            return Err(Truncated);
        }
        let at = Input { rest: self.pool.get(4 + 8 * i..).ok_or(Truncated)? }.u64()?;
        let mut input = Input { rest: self.pool.get(usize::try_from(at).map_err(|_| Truncated)?..).ok_or(Truncated)? };
        let cells = input.count(8)?;
        let raw = input.take(cells * 8)?;
        let h3 = raw.as_chunks::<8>().0.iter().map(|b| u64::from_le_bytes(*b)).collect();
        let wkb = input.opt()?.map(<[u8]>::to_vec);
        let boxes = input.count(32)?;
        let raw = input.take(boxes * 32)?;
        let row_boxes = raw
            .as_chunks::<32>()
            .0
            .iter()
            .map(|b| match b.as_chunks::<8>().0 {
                [x0, y0, x1, y1] => {
                    let [xmin, ymin, xmax, ymax] = [x0, y0, x1, y1].map(|v| f64::from_le_bytes(*v));
                    (!xmin.is_nan()).then_some(BBox { xmin, ymin, xmax, ymax })
                }
                _ => None,
            })
            .collect();
        Ok((h3, wkb, row_boxes))
    }
}

/// Whether `bytes` are a subset index of an older layout, which a reader leaves for the tables
/// (same entry, without row boxes) rather than refuse: a catalog indexed by an older vz stays
/// readable without `vz index --force`.
pub fn older_layout(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC) && bytes.get(4..8).is_some_and(|v| u32::from_le_bytes([v[0], v[1], v[2], v[3]]) < VERSION)
}

/// Rebuild the part of granule `granule`'s entry that `select` asks for, from its subset index:
/// the same entry [`decode_entry_selected`](super::decode_entry_selected) gives from the tables.
///
/// # Errors
/// When the file is not a subset index of this layout and catalog version, is damaged, or is
/// another granule's.
pub fn decode_subset_index(
    granule: &str,
    bytes: &[u8],
    select: &(dyn Fn(&[GeolocationInfo]) -> Selection + Send + Sync),
) -> Result<CatalogEntry, CatalogReadError> {
    decode(granule, bytes, select).map_err(|damage| CatalogReadError {
        file: format!("{SUBSET_INDEX}/{granule}.vzs"),
        reason: match damage {
            Damage::Truncated => "truncated or damaged: a length points past the end of the file".into(),
            Damage::Invalid(reason) => reason,
        },
    })
}

fn decode(granule: &str, bytes: &[u8], select: &(dyn Fn(&[GeolocationInfo]) -> Selection + Send + Sync)) -> Result<CatalogEntry, Damage> {
    let mut input = Input { rest: bytes };
    if input.take(4).ok() != Some(&MAGIC[..]) {
        return Err(Damage::Invalid("not a vz subset index".into()));
    }
    let version = input.u32()?;
    if version != VERSION {
        return Err(Damage::Invalid(format!("subset index layout {version}, this vz reads {VERSION}: re-index with `vz index --force`")));
    }
    let header: Header = serde_json::from_slice(input.bytes()?).map_err(|e| Damage::Invalid(format!("header: {e}")))?;
    if header.catalog_version != CATALOG_VERSION {
        return Err(Damage::Invalid(format!(
            "catalog version {}, this vz reads version {CATALOG_VERSION}: re-index with `vz index --force`",
            header.catalog_version
        )));
    }
    if header.granule != granule {
        return Err(Damage::Invalid(format!("holds granule {}", header.granule)));
    }
    let shapes = Shapes::new(input.section()?)?;
    let selection = select(&header.geolocation);

    let mut manifest = GranuleManifest {
        url: header.url,
        size: header.size,
        source: header.source,
        groups: Vec::new(),
        arrays: Vec::new(),
        links: Vec::new(),
        problems: Vec::new(),
    };
    let mut spatial = HashMap::new();
    for _ in 0..input.count(4 + 8)? {
        let path = input.bytes()?;
        let body = input.section()?;
        let Some(path) = std::str::from_utf8(path).ok().filter(|p| selection.arrays.contains(*p)) else { continue };
        let shaped = selection.footprints.contains(path);
        let mut body = Input { rest: body };
        let mut array: ArrayMeta = serde_json::from_slice(body.bytes()?).map_err(|e| Damage::Invalid(format!("{path}: {e}")))?;
        let n = body.count(MIN_CHUNK_BYTES)?;
        let group = body.opt()?.map(|g| String::from_utf8_lossy(g).into_owned());
        let mut chunks: Vec<(ChunkRef, Option<ChunkSpatial>)> = Vec::with_capacity(n);
        for _ in 0..n {
            let dims = body.u8()?;
            if dims > MAX_DIMS {
                return Err(Damage::Invalid(format!("{path}: a chunk of {dims} dimensions")));
            }
            let coords = (0..dims).map(|_| body.u64()).collect::<Result<_, _>>()?;
            let (offset, length, filter_mask) = (body.u64()?, body.u64()?, body.u32()?);
            let href = body.opt()?.map(|h| Arc::new(String::from_utf8_lossy(h).into_owned()));
            let chunk = ChunkRef { coords, offset, length, filter_mask, href };
            let tag = match group {
                None => None,
                Some(_) => {
                    let rows = body.u64()?..body.u64()?;
                    let points = body.u64()?;
                    let time = match body.u8()? {
                        0 => None,
                        _ => Some((seconds(body.i64()?), seconds(body.i64()?))),
                    };
                    let shape = body.u32()?;
                    let (h3, wkb, row_boxes) = if shaped { shapes.get(shape)? } else { (Vec::new(), None, Vec::new()) };
                    Some(ChunkSpatial { rows, points, wkb, h3, time, row_boxes })
                }
            };
            chunks.push((chunk, tag));
        }
        // As the tables' reader: chunks in coordinate order, their tagging alongside.
        chunks.sort_by(|x, y| x.0.coords.cmp(&y.0.coords));
        if let Some(group) = group {
            spatial.insert(path.to_string(), (group, chunks.iter().filter_map(|(_, s)| s.clone()).collect()));
        }
        array.chunks = chunks.into_iter().map(|(c, _)| c).collect();
        manifest.arrays.push(array);
    }
    Ok(CatalogEntry {
        info: GranuleInfo { id: granule.to_string(), etag: header.etag, last_modified_ms: header.last_modified_ms },
        manifest,
        geolocation: header.geolocation,
        spatial,
        footprint: None,
        time: header.time_us.map(|(a, b)| (seconds(a), seconds(b))),
        h3_resolution: header.h3_resolution,
    })
}
