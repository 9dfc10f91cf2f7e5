//! Dataset-writing helpers for the fixture generators: one call per dataset, recording what
//! storage libhdf5 is expected to choose so the generators can be checked on their own.

use std::io::Write;
use std::path::Path;

use hdf5::dataset::Layout;
use hdf5::plist::dataset_create::AllocTime;
use hdf5::{Dataset, Extent, Group, H5Type, SimpleExtents};

use super::ffi;

/// Chunk index types as `H5Dget_chunk_index_type` reports them (`H5D_chunk_index_t`).
pub const IDX_BTREE_V1: u32 = 0;
pub const IDX_SINGLE: u32 = 1;
pub const IDX_IMPLICIT: u32 = 2;
pub const IDX_FARRAY: u32 = 3;
pub const IDX_EARRAY: u32 = 4;
pub const IDX_BTREE_V2: u32 = 5;

/// What the generator meant a dataset to be stored as.
#[derive(Clone, Debug)]
pub struct Expect {
    pub path: String,
    pub layout: Layout,
    /// For chunked datasets, the chunk index type.
    pub index: Option<u32>,
}

/// A filter of the pipeline, in write order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum F {
    Shuffle,
    Deflate,
    Fletcher,
}

/// How one dataset is created.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    pub shape: Vec<usize>,
    /// Maximum shape; `None` entries are unlimited. Defaults to `shape`.
    pub max: Option<Vec<Option<usize>>>,
    pub chunk: Option<Vec<usize>>,
    pub compact: bool,
    pub filters: Vec<F>,
    pub early: bool,
}

impl Spec {
    pub fn new(shape: &[usize]) -> Spec {
        Spec { shape: shape.to_vec(), ..Spec::default() }
    }
    pub fn chunk(mut self, c: &[usize]) -> Spec {
        self.chunk = Some(c.to_vec());
        self
    }
    pub fn max(mut self, m: &[Option<usize>]) -> Spec {
        self.max = Some(m.to_vec());
        self
    }
    pub fn filters(mut self, f: &[F]) -> Spec {
        self.filters = f.to_vec();
        self
    }
    pub fn compact(mut self) -> Spec {
        self.compact = true;
        self
    }
    pub fn early(mut self) -> Spec {
        self.early = true;
        self
    }
}

/// Collects expectations while datasets are created in one file.
#[derive(Default)]
pub struct Recorder {
    pub expects: Vec<Expect>,
}

impl Recorder {
    /// Create a dataset of `T` (optionally with a fill value), record the expected storage.
    pub fn create<T: H5Type>(
        &mut self, g: &Group, name: &str, spec: &Spec, fill: Option<T>, index: Option<u32>,
    ) -> hdf5::Result<Dataset> {
        let builder = g.new_dataset_builder().empty::<T>();
        let ds = self.build(builder, spec, fill, index, g, name)?;
        Ok(ds)
    }

    /// Same as [`Recorder::create`] for a type given as an existing datatype (big-endian types).
    pub fn create_as<T: H5Type>(
        &mut self, g: &Group, name: &str, dtype: &hdf5::Datatype, spec: &Spec, fill: Option<T>,
        index: Option<u32>,
    ) -> hdf5::Result<Dataset> {
        let builder = g.new_dataset_builder().empty_as(dtype);
        self.build(builder, spec, fill, index, g, name)
    }

    fn build<T: H5Type>(
        &mut self, builder: hdf5::DatasetBuilderEmpty, spec: &Spec, fill: Option<T>, index: Option<u32>, g: &Group,
        name: &str,
    ) -> hdf5::Result<Dataset> {
        let max = spec.max.clone().unwrap_or_else(|| spec.shape.iter().map(|&n| Some(n)).collect());
        let extents: Vec<Extent> = spec.shape.iter().zip(&max).map(|(&n, &m)| Extent::new(n, m)).collect();
        let mut b = builder.shape(SimpleExtents::from_vec(extents)).obj_track_times(false);
        let layout = if let Some(c) = &spec.chunk {
            b = b.chunk(c.clone());
            Layout::Chunked
        } else if spec.compact {
            b = b.layout(Layout::Compact);
            Layout::Compact
        } else {
            b = b.layout(Layout::Contiguous);
            Layout::Contiguous
        };
        for f in &spec.filters {
            b = match f {
                F::Shuffle => b.shuffle(),
                F::Deflate => b.deflate(6),
                F::Fletcher => b.fletcher32(),
            };
        }
        if let Some(v) = fill {
            b = b.fill_value(v);
        }
        if spec.early {
            b = b.alloc_time(Some(AllocTime::Early));
        }
        let ds = b.create(name)?;
        let path = format!("{}/{}", g.name().trim_end_matches('/'), name);
        self.expects.push(Expect { path, layout, index: if layout == Layout::Chunked { index } else { None } });
        Ok(ds)
    }
}

/// Deterministic element values: `f(i)` for the i-th element in C order.
pub fn fill_all<T: H5Type>(ds: &Dataset, f: impl Fn(usize) -> T) -> hdf5::Result<()> {
    let n: usize = ds.shape().iter().product();
    let data: Vec<T> = (0..n).map(f).collect();
    ds.as_writer().write_raw(&data)
}

/// Write one chunk's stored bytes directly (`H5Dwrite_chunk`), at element offset `origin`,
/// with `mask` bits marking filters that were skipped.
pub fn write_chunk(ds: &Dataset, origin: &[u64], bytes: &[u8], mask: u32) -> hdf5::Result<()> {
    let status = hdf5::sync::sync(|| unsafe {
        ffi::H5Dwrite_chunk(ds.id(), ffi::H5P_DEFAULT, mask, origin.as_ptr(), bytes.len(), bytes.as_ptr().cast())
    });
    if status < 0 {
        return Err(hdf5::Error::from(format!("H5Dwrite_chunk failed at {origin:?}")));
    }
    Ok(())
}

/// zlib-compress (what HDF5's deflate filter writes).
pub fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    enc.write_all(bytes).expect("write to Vec");
    enc.finish().expect("finish to Vec")
}

/// Little-endian bytes of `n` i32 values starting at `start`.
pub fn i32_bytes(start: i32, n: usize) -> Vec<u8> {
    (0..n as i32).flat_map(|i| (start + i).to_le_bytes()).collect()
}

/// A big-endian predefined type, copied (the `*_g` globals are only valid once libhdf5 is open,
/// which hdf5-metno guarantees before any file exists).
pub fn be_type(global: &'static ffi::hid_t) -> hdf5::Result<hdf5::Datatype> {
    let id = hdf5::sync::sync(|| unsafe { ffi::H5Tcopy(*global) });
    // SAFETY: `id` is a fresh datatype id owned by nobody else.
    unsafe { hdf5::from_id::<hdf5::Datatype>(id) }
}

/// Size of a file in bytes (for the docs and the size budget).
pub fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
