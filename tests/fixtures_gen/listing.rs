//! The libhdf5 answer key: every group and dataset of a file as libhdf5 reports it (shape,
//! type, layout, chunk index, filters, fill value, and each stored chunk through `H5Dchunk_iter`).

use std::os::raw::{c_char, c_int, c_uint};
use std::path::Path;

use hdf5::dataset::Layout;
use hdf5::{Dataset, File, Group};

use super::ffi;

/// One stored chunk as libhdf5 lists it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LibChunk {
    /// Element offset of the chunk's first element.
    pub origin: Vec<u64>,
    pub addr: u64,
    pub size: u64,
    pub filter_mask: u32,
}

/// One filter of the pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LibFilter {
    pub id: u16,
    pub flags: u32,
    pub params: Vec<u32>,
}

/// Everything compared for one dataset.
#[derive(Clone, Debug)]
pub struct LibDataset {
    pub path: String,
    pub shape: Vec<u64>,
    pub maxshape: Vec<Option<u64>>,
    pub layout: Layout,
    pub chunk_shape: Option<Vec<u64>>,
    pub index_type: Option<u32>,
    /// `H5T_class_t` name, element size, byte order (0 LE, 1 BE, other: none).
    pub class: &'static str,
    pub size: u64,
    pub order: i32,
    pub is_vlen_str: bool,
    pub nmembers: Option<usize>,
    pub filters: Vec<LibFilter>,
    /// `H5D_fill_value_t`: 0 undefined, 1 default, 2 user-defined.
    pub fill_defined: i32,
    pub fill_bytes: Option<Vec<u8>>,
    /// `H5D_alloc_time_t` (1 early, 2 late, 3 incremental) and `H5D_fill_time_t` (0 alloc, 1 never, 2 ifset).
    pub alloc_time: i32,
    pub fill_time: i32,
    /// Contiguous: data address (None when not allocated) and storage size.
    pub contiguous: Option<(u64, u64)>,
    /// Compact: the raw bytes read back in the file's type.
    pub compact_bytes: Option<Vec<u8>>,
    pub chunks: Vec<LibChunk>,
    pub attr_names: Vec<String>,
}

/// All groups and datasets of one file.
#[derive(Clone, Debug, Default)]
pub struct LibFile {
    pub groups: Vec<String>,
    pub group_attrs: Vec<(String, Vec<String>)>,
    pub datasets: Vec<LibDataset>,
    /// Soft and external links: (path, "soft" | "external").
    pub symbolic: Vec<(String, &'static str)>,
    /// Objects reached by two hard links: (path walked second, path walked first).
    pub hard_dups: Vec<(String, String)>,
}

/// List a file with libhdf5.
///
/// # Errors
/// When libhdf5 cannot open or walk the file.
pub fn list_file(path: &Path) -> hdf5::Result<LibFile> {
    let f = File::open(path)?;
    let mut out = LibFile::default();
    let mut seen = vec![(f.loc_info()?.token, "/".to_string())];
    walk(&f, &mut out, &mut seen)?;
    out.groups.sort();
    out.datasets.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Depth-first in name order; symbolic links are recorded, not followed; an object reached a
/// second time through another hard link is recorded as a duplicate, not listed again.
fn walk(g: &Group, out: &mut LibFile, seen: &mut Vec<(hdf5::LocationToken, String)>) -> hdf5::Result<()> {
    out.groups.push(g.name());
    out.group_attrs.push((g.name(), g.attr_names()?));
    let mut members = Vec::new();
    g.iter_visit_default(|name, info| {
        members.push((name.to_string(), info.link_type));
        Ok(())
    })?;
    let prefix = g.name().trim_end_matches('/').to_string();
    for (name, kind) in members {
        let path = format!("{prefix}/{name}");
        match kind {
            hdf5::LinkType::Soft => out.symbolic.push((path, "soft")),
            hdf5::LinkType::External => out.symbolic.push((path, "external")),
            hdf5::LinkType::Hard => {
                let info = g.loc_info_by_name(&name)?;
                if let Some((_, first)) = seen.iter().find(|(t, _)| *t == info.token) {
                    out.hard_dups.push((path, first.clone()));
                    continue;
                }
                seen.push((info.token, path));
                match info.loc_type {
                    hdf5::LocationType::Group => walk(&g.group(&name)?, out, seen)?,
                    hdf5::LocationType::Dataset => out.datasets.push(list_dataset(&g.dataset(&name)?)?),
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

fn check(status: c_int, what: &str) -> hdf5::Result<()> {
    if status < 0 {
        return Err(hdf5::Error::from(format!("{what} failed")));
    }
    Ok(())
}

/// List one dataset.
///
/// # Errors
/// When a libhdf5 query fails.
pub fn list_dataset(ds: &Dataset) -> hdf5::Result<LibDataset> {
    let space = ds.space()?;
    let shape: Vec<u64> = space.shape().iter().map(|&n| n as u64).collect();
    let maxshape: Vec<Option<u64>> = space.maxdims().iter().map(|m| m.map(|n| n as u64)).collect();
    let layout = ds.layout();
    let chunk_shape = ds.chunk().map(|c| c.iter().map(|&n| n as u64).collect::<Vec<_>>());
    let id = ds.id();
    hdf5::sync::sync(|| -> hdf5::Result<LibDataset> {
        unsafe {
            let index_type = if layout == Layout::Chunked {
                let mut t: c_uint = 99;
                check(ffi::H5Dget_chunk_index_type(id, &mut t), "H5Dget_chunk_index_type")?;
                Some(t)
            } else {
                None
            };
            let tid = ffi::H5Dget_type(id);
            let class_id = ffi::H5Tget_class(tid);
            let class = usize::try_from(class_id).ok().and_then(|c| ffi::H5T_CLASS_NAMES.get(c)).copied().unwrap_or("?");
            let size = ffi::H5Tget_size(tid) as u64;
            let order = ffi::H5Tget_order(tid);
            let is_vlen_str = ffi::H5Tis_variable_str(tid) > 0;
            let nmembers = if class == "compound" || class == "enum" {
                usize::try_from(ffi::H5Tget_nmembers(tid)).ok()
            } else {
                None
            };

            let dcpl = ffi::H5Dget_create_plist(id);
            let mut filters = Vec::new();
            for i in 0..ffi::H5Pget_nfilters(dcpl).max(0) as c_uint {
                let mut flags: c_uint = 0;
                let mut n: usize = 16;
                let mut cd = [0 as c_uint; 16];
                let mut name = [0 as c_char; 64];
                let mut config: c_uint = 0;
                let fid =
                    ffi::H5Pget_filter2(dcpl, i, &mut flags, &mut n, cd.as_mut_ptr(), 64, name.as_mut_ptr(), &mut config);
                check(fid, "H5Pget_filter2")?;
                filters.push(LibFilter { id: fid as u16, flags, params: cd[..n.min(16)].to_vec() });
            }
            let mut fill_defined: c_int = -1;
            check(ffi::H5Pfill_value_defined(dcpl, &mut fill_defined), "H5Pfill_value_defined")?;
            let fill_bytes = if fill_defined == 2 && !is_vlen_str {
                let mut buf = vec![0u8; size as usize];
                check(ffi::H5Pget_fill_value(dcpl, tid, buf.as_mut_ptr().cast()), "H5Pget_fill_value")?;
                Some(buf)
            } else {
                None
            };
            let (mut alloc_time, mut fill_time): (c_int, c_int) = (-1, -1);
            check(ffi::H5Pget_alloc_time(dcpl, &mut alloc_time), "H5Pget_alloc_time")?;
            check(ffi::H5Pget_fill_time(dcpl, &mut fill_time), "H5Pget_fill_time")?;
            ffi::H5Pclose(dcpl);

            let contiguous = if layout == Layout::Contiguous {
                Some((ffi::H5Dget_offset(id), ffi::H5Dget_storage_size(id)))
            } else {
                None
            };
            let compact_bytes = if layout == Layout::Compact && !is_vlen_str && class != "vlen" {
                let n: u64 = shape.iter().product();
                let mut buf = vec![0u8; (n * size) as usize];
                check(
                    ffi::H5Dread(id, tid, ffi::H5S_ALL, ffi::H5S_ALL, ffi::H5P_DEFAULT, buf.as_mut_ptr().cast()),
                    "H5Dread",
                )?;
                Some(buf)
            } else {
                None
            };
            ffi::H5Tclose(tid);

            let mut chunks = Vec::new();
            if layout == Layout::Chunked {
                ds.chunks_visit(|c| {
                    chunks.push(LibChunk {
                        origin: c.offset.to_vec(),
                        addr: c.addr,
                        size: c.size,
                        filter_mask: c.filter_mask,
                    });
                    0
                })?;
                chunks.sort();
            }
            Ok(LibDataset {
                path: ds.name(),
                shape,
                maxshape,
                layout,
                chunk_shape,
                index_type,
                class,
                size,
                order,
                is_vlen_str,
                nmembers,
                filters,
                fill_defined,
                fill_bytes,
                alloc_time,
                fill_time,
                contiguous,
                compact_bytes,
                chunks,
                attr_names: ds.attr_names()?,
            })
        }
    })
}
